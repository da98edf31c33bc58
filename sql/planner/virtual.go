package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/catalog/pgcatalog"
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Reads of pg_catalog and information_schema: the tables are computed by
// package pgcatalog when the statement runs, from the catalog and from what
// the session tells the functions through udf.Env.

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
	ts := make([]types.T, len(t.Columns))
	idx := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		name := c.Name
		if rv.Alias != nil && i < len(rv.Alias.Colnames) {
			name = rv.Alias.Colnames[i].GetString_().Sval
		}
		cols[i] = column{table: alias, name: name, t: c.Type, tableOID: t.OID, attNum: int16(i + 1)}
		ts[i], idx[i] = c.Type, i
	}
	cat, path := p.Catalog, p.SearchPath
	rows := func(ctx *exec.Ctx) ([][]types.Datum, error) {
		return t.Rows(snapshotFor(cat, path, &ctx.Env)), nil
	}
	op := batch.NewVirtualScan(t.Schema+"."+t.Name, ts, idx, rows)
	return &fromItem{rel: &relPlan{node: built(op), cols: cols}}, true
}

// snapshotFor gathers what the virtual tables are computed from.
func snapshotFor(cat *catalog.Catalog, path []string, env *udf.Env) *pgcatalog.Snapshot {
	s := &pgcatalog.Snapshot{Catalog: cat, SearchPath: path, User: catalog.DefaultOwner, Database: "streamsql"}
	if env.Catalog != nil {
		s.User, s.Database = env.Catalog.CurrentUser(), env.Catalog.CurrentDatabase()
	}
	if ro, ok := env.Catalog.(interface {
		RelOptions(r *catalog.Relation) []string
	}); ok {
		s.RelOptions = ro.RelOptions
	}
	if rr, ok := env.Catalog.(interface{ Rejects() []pgcatalog.RejectRow }); ok {
		s.Rejects = rr.Rejects
	}
	if cr, ok := env.Catalog.(interface{ Cursors() []pgcatalog.CursorRow }); ok {
		s.Cursors = cr.Cursors
	}
	if ci, ok := env.Catalog.(udf.CatalogInfo); ok {
		s.SearchPath = ci.SearchPath()
		for _, st := range ci.Settings() {
			s.Settings = append(s.Settings, pgcatalog.Setting{Name: st.Name, Value: st.Value, Description: st.Description})
		}
	}
	for _, f := range udf.Procs() {
		args := make([]uint32, len(f.Args))
		for i, a := range f.Args {
			args[i] = udf.ProcTypeOID(a)
		}
		s.Procs = append(s.Procs, pgcatalog.Proc{OID: f.OID, Name: f.Name, ArgTypes: args, RetType: udf.ProcTypeOID(f.Ret),
			Kind: f.Kind, Variadic: f.Variadic, RetSet: f.RetSet, Strict: f.Strict, Volatility: byte(f.Volatility)})
	}
	return s
}
