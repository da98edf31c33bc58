package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog/pgcatalog"
	"streamsql/sql/plan"
)

// Reads of pg_catalog and information_schema: a plan.VirtualScan, whose
// rows package pgcatalog computes when the statement runs (lower/).

// lookupVirtual finds the virtual table a range variable names. An
// unqualified name resolves in pg_catalog first (unless the search path
// places pg_catalog later), then along the search path, where a real
// relation earlier in the path wins.
func (p *Planner) lookupVirtual(rv *pg.RangeVar) (*pgcatalog.Table, bool) {
	if rv.Schemaname != "" {
		return pgcatalog.Lookup(rv.Schemaname, rv.Relname)
	}
	path := p.SearchPath
	hasPg := false
	for _, s := range path {
		hasPg = hasPg || s == "pg_catalog"
	}
	if !hasPg {
		path = append([]string{"pg_catalog"}, path...)
	}
	for _, s := range path {
		if t, ok := pgcatalog.Lookup(s, rv.Relname); ok {
			return t, true
		}
		if p.Catalog != nil {
			if _, ok := p.Catalog.Relation(s, rv.Relname); ok {
				return nil, false
			}
		}
	}
	return nil, false
}

// planVirtual plans a scan of the virtual table rv names; ok is false when
// rv names none.
func (p *Planner) planVirtual(rv *pg.RangeVar) (*fromItem, bool) {
	t, ok := p.lookupVirtual(rv)
	if !ok {
		return nil, false
	}
	alias := rv.Relname
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	cols := make([]column, len(t.Columns))
	for i, c := range t.Columns {
		name := c.Name
		if rv.Alias != nil && i < len(rv.Alias.Colnames) {
			name = rv.Alias.Colnames[i].GetString_().Sval
		}
		cols[i] = column{table: alias, name: name, t: c.Type, tableOID: t.OID, attNum: int16(i + 1)}
	}
	node := &plan.VirtualScan{Table: t, Catalog: p.Catalog, SearchPath: p.SearchPath}
	return &fromItem{rel: &relPlan{node: node, cols: cols}}, true
}
