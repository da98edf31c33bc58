package engine

import (
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/catalog/pgcatalog"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/storage"
	"streamsql/table/index"
	"streamsql/udf"
)

// Secondary indexes and UNIQUE constraints: CREATE [UNIQUE] INDEX, DROP
// INDEX, UNIQUE in CREATE TABLE and ALTER TABLE ADD/DROP CONSTRAINT. The
// catalog holds an index as part of its table (catalog/index.go); its
// entries are a key range in storage that every write path maintains
// through storage.IndexedTable.
//
// The catalog is not transactional: an index exists for every session as
// soon as its DDL returns. So that an index never misses rows, CREATE INDEX
// (and adding a UNIQUE constraint to an existing table) builds its entries
// in the statement's own transaction and refuses to run inside a
// transaction block, whose rollback would leave the index without them.

// createIndex runs CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON t
// [USING btree] (col [ASC|DESC] [NULLS FIRST|LAST], ...).
func (s *Session) createIndex(x *execution, p *planner.Planner, st *pg.IndexStmt) (string, error) {
	const tag = "CREATE INDEX"
	switch {
	case st.WhereClause != nil:
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "partial indexes (CREATE INDEX ... WHERE) are not supported")
	case st.AccessMethod != "" && st.AccessMethod != "btree":
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "access method %q is not supported: indexes are btree", st.AccessMethod)
	case len(st.IndexIncludingParams) > 0:
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "INCLUDE columns in indexes are not supported")
	case st.NullsNotDistinct:
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "NULLS NOT DISTINCT is not supported")
	}
	r, err := s.resolve(p, st.Relation)
	if err != nil {
		return "", err
	}
	switch r.Kind {
	case catalog.KindTable:
	case catalog.KindMatView:
		// Its rows are written by its job, which keeps no index.
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "indexes on materialized views are not supported")
	default:
		return "", sqlerr.New(sqlerr.WrongObjectType, "cannot create index on %s %q", r.Kind.String(), r.Name).
			WithDetail("Indexes are supported on tables only.")
	}
	ix := catalog.Index{Name: st.Idxname, Unique: st.Unique}
	var names []string
	for _, n := range st.IndexParams {
		e := n.GetIndexElem()
		if e.Expr != nil {
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "index expressions are not supported: index plain columns")
		}
		if len(e.Opclass) > 0 || len(e.Collation) > 0 {
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "operator classes and collations in indexes are not supported")
		}
		i := r.ColumnIndex(e.Name)
		if i < 0 {
			return "", sqlerr.New(sqlerr.UndefinedColumn, "column %q does not exist", e.Name)
		}
		desc := e.Ordering == pg.SortByDir_SORTBY_DESC
		nullsFirst := desc
		switch e.NullsOrdering {
		case pg.SortByNulls_SORTBY_NULLS_FIRST:
			nullsFirst = true
		case pg.SortByNulls_SORTBY_NULLS_LAST:
			nullsFirst = false
		}
		ix.Columns = append(ix.Columns, i)
		ix.Desc = append(ix.Desc, desc)
		ix.NullsFirst = append(ix.NullsFirst, nullsFirst)
		names = append(names, e.Name)
	}
	if ix.Name == "" {
		ix.Name = s.e.cat.ChooseIndexName(r.Schema, r.Name, names, "idx")
	} else if st.IfNotExists && s.relNameTaken(r.Schema, ix.Name) {
		s.skipping(string(sqlerr.DuplicateTable), "relation %q already exists", ix.Name)
		return tag, nil
	}
	if x.txn != nil && !x.auto {
		return "", sqlerr.New(sqlerr.ActiveSQLTransaction, "CREATE INDEX cannot run inside a transaction block")
	}
	txn := x.txn
	if txn == nil {
		// CREATE INDEX is not a write statement: it gets no transaction of
		// its own from the session, so it makes one.
		txn = s.e.db.Begin()
		defer txn.Rollback()
	}
	if _, err := s.e.cat.AddIndex(r.OID, ix, index.Build(txn, r, x.txn == nil)); err != nil {
		return "", err
	}
	return tag, nil
}

// relNameTaken reports whether schema has a relation or an index called
// name.
func (s *Session) relNameTaken(schema, name string) bool {
	if _, ok := s.e.cat.Relation(schema, name); ok {
		return true
	}
	_, _, ok := s.e.cat.IndexByName(schema, name)
	return ok
}

// dropIndexes runs DROP INDEX [IF EXISTS] name, ... [CASCADE]. Nothing
// depends on an index but its own constraint, so CASCADE changes nothing.
func (s *Session) dropIndexes(x *execution, ds *pg.DropStmt) (string, error) {
	for _, o := range ds.Objects {
		var parts []string
		for _, it := range o.GetList().GetItems() {
			parts = append(parts, it.GetString_().Sval)
		}
		name := parts[len(parts)-1]
		schemas := s.searchPath()
		if len(parts) > 1 {
			schemas = []string{parts[len(parts)-2]}
		}
		var r *catalog.Relation
		var ix catalog.Index
		for _, sc := range schemas {
			if rr, i, ok := s.e.cat.IndexByName(sc, name); ok {
				r, ix = rr, i
				break
			}
		}
		if r == nil {
			if ds.MissingOk {
				s.skipping("00000", "index %q does not exist", name)
				continue
			}
			return "", sqlerr.New(sqlerr.UndefinedObject, "index %q does not exist", name)
		}
		if ix.Constraint {
			return "", sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop index %s because constraint %s on table %s requires it", ix.Name, ix.Name, r.Name).
				WithHint("You can drop constraint %s on table %s instead.", ix.Name, r.Name)
		}
		if _, err := s.e.cat.DropIndex(r.OID, ix.Name); err != nil {
			return "", err
		}
		if err := storage.DropIndex(x.txn, ix.OID); err != nil {
			return "", err
		}
	}
	return "DROP INDEX", nil
}

// uniqueConstraint converts a UNIQUE constraint on columns cols of r into
// its index (named by the caller when Conname is empty).
func uniqueConstraint(r *catalog.Relation, c *pg.Constraint, cols []string) (catalog.Index, error) {
	switch {
	case c.NullsNotDistinct:
		return catalog.Index{}, sqlerr.New(sqlerr.FeatureNotSupported, "UNIQUE NULLS NOT DISTINCT is not supported")
	case c.Deferrable:
		return catalog.Index{}, sqlerr.New(sqlerr.FeatureNotSupported, "DEFERRABLE unique constraints are not supported")
	case len(c.Including) > 0:
		return catalog.Index{}, sqlerr.New(sqlerr.FeatureNotSupported, "INCLUDE columns in unique constraints are not supported")
	case c.Indexname != "":
		return catalog.Index{}, sqlerr.New(sqlerr.FeatureNotSupported, "UNIQUE USING INDEX is not supported")
	}
	ix := catalog.Index{Name: c.Conname, Unique: true, Constraint: true}
	for _, name := range cols {
		i := r.ColumnIndex(name)
		if i < 0 {
			return ix, sqlerr.New(sqlerr.UndefinedColumn, "column %q named in key does not exist", name)
		}
		if slices.Contains(ix.Columns, i) {
			return ix, sqlerr.New(sqlerr.DuplicateColumn, "column %q appears twice in unique constraint", name)
		}
		ix.Columns = append(ix.Columns, i)
		ix.Desc = append(ix.Desc, false)
		ix.NullsFirst = append(ix.NullsFirst, false)
	}
	return ix, nil
}

// keyNames returns the column names of a table constraint's key list.
func keyNames(keys []*pg.Node) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.GetString_().Sval
	}
	return out
}

// tableUniques adds to r (a table being created from cs) the indexes of
// its UNIQUE constraints, column and table ones in the order written, and
// names those without a name as PostgreSQL does (t_col_key).
func (s *Session) tableUniques(r *catalog.Relation, cs *pg.CreateStmt) error {
	for _, el := range cs.TableElts {
		var c *pg.Constraint
		var cols []string
		if cd := el.GetColumnDef(); cd != nil {
			for _, cn := range cd.Constraints {
				if cc := cn.GetConstraint(); cc.Contype == pg.ConstrType_CONSTR_UNIQUE {
					ix, err := uniqueConstraint(r, cc, []string{cd.Colname})
					if err != nil {
						return err
					}
					r.Indexes = append(r.Indexes, ix)
				}
			}
			continue
		}
		if c = el.GetConstraint(); c == nil || c.Contype != pg.ConstrType_CONSTR_UNIQUE {
			continue
		}
		cols = keyNames(c.Keys)
		ix, err := uniqueConstraint(r, c, cols)
		if err != nil {
			return err
		}
		r.Indexes = append(r.Indexes, ix)
	}
	s.e.cat.NameIndexes(r)
	return nil
}

// columnUniques adds the UNIQUE constraints of a column just added by
// ALTER TABLE ADD COLUMN to r, building them over the existing rows.
func (s *Session) columnUniques(x *execution, r *catalog.Relation, cd *pg.ColumnDef) (*catalog.Relation, error) {
	for _, cn := range cd.Constraints {
		if c := cn.GetConstraint(); c.Contype == pg.ConstrType_CONSTR_UNIQUE {
			var err error
			if r, err = s.addUnique(x, r, c, []string{cd.Colname}); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// addUnique adds a UNIQUE constraint over cols to the existing table r.
func (s *Session) addUnique(x *execution, r *catalog.Relation, c *pg.Constraint, cols []string) (*catalog.Relation, error) {
	ix, err := uniqueConstraint(r, c, cols)
	if err != nil {
		return nil, err
	}
	if ix.Name == "" {
		ix.Name = s.e.cat.ChooseIndexName(r.Schema, r.Name, cols, "key")
	}
	if !x.auto {
		return nil, sqlerr.New(sqlerr.ActiveSQLTransaction, "ALTER TABLE ADD UNIQUE cannot run inside a transaction block")
	}
	return s.e.cat.AddIndex(r.OID, ix, index.Build(x.txn, r, false))
}

// alterUnique handles the ALTER TABLE subcommands that concern UNIQUE
// constraints: ADD [CONSTRAINT name] UNIQUE (cols) and DROP CONSTRAINT of
// one. ok is false for any other subcommand.
func (s *Session) alterUnique(x *execution, r *catalog.Relation, c *pg.AlterTableCmd) (nr *catalog.Relation, ok bool, err error) {
	switch c.Subtype {
	case pg.AlterTableType_AT_AddConstraint:
		con := c.Def.GetConstraint()
		if con == nil || con.Contype != pg.ConstrType_CONSTR_UNIQUE {
			return nil, false, nil
		}
		nr, err = s.addUnique(x, r, con, keyNames(con.Keys))
		return nr, true, err
	case pg.AlterTableType_AT_DropConstraint:
		ix, found := r.FindIndex(c.Name)
		if !found || !ix.Constraint {
			return nil, false, nil
		}
		if nr, err = s.e.cat.DropIndex(r.OID, ix.Name); err != nil {
			return nil, true, err
		}
		return nr, true, storage.DropIndex(x.txn, ix.OID)
	}
	return nil, false, nil
}

// indexObject describes a secondary index (kind ObjRelation, its own OID)
// or a UNIQUE constraint (ObjConstraint of its index's OID) for the
// catalog functions (pg_get_indexdef, pg_get_constraintdef).
func (c catalogReader) indexObject(kind pgcatalog.ObjectKind, oid uint32) (udf.ObjectInfo, bool) {
	if kind != pgcatalog.ObjRelation && kind != pgcatalog.ObjConstraint || oid < catalog.FirstUserOID {
		return udf.ObjectInfo{}, false
	}
	r, ix, ok := c.s.e.cat.IndexByOID(oid)
	if !ok || kind == pgcatalog.ObjConstraint && !ix.Constraint {
		return udf.ObjectInfo{}, false
	}
	o := udf.ObjectInfo{Schema: r.Schema, Name: ix.Name, Kind: 'i', Definition: pgcatalog.SecondaryIndexDef(r, ix)}
	o.Visible = c.snapshot().Visible(r.Schema, r.Name)
	if kind == pgcatalog.ObjConstraint {
		o.Kind, o.Definition = 'c', pgcatalog.UniqueConstraintDef(r, ix)
	}
	return o, true
}
