package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec/batch"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/table/index"
)

func (s *Session) planUtility(st *statement, p *planner.Planner, n *pg.Node) (*prepared, error) {
	run := func(f func(x *execution) (string, error)) (*prepared, error) {
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			if err := s.lockUtilityTargets(ctx, n); err != nil {
				return nil, err
			}
			tag, err := f(x)
			if err != nil {
				return nil, err
			}
			return tagResult(tag), nil
		}), nil
	}
	if pr, ok := s.planRoleStmt(n); ok {
		return pr, nil
	}
	switch {
	case n.GetCreateStmt() != nil:
		return run(func(x *execution) (string, error) { return s.createTable(p, n.GetCreateStmt()) })
	case n.GetViewStmt() != nil:
		return run(func(x *execution) (string, error) { return s.createView(st, p, n.GetViewStmt()) })
	case n.GetDropOwnedStmt() != nil:
		return run(func(x *execution) (string, error) { return s.dropOwned(x, n.GetDropOwnedStmt()) })
	case n.GetReassignOwnedStmt() != nil:
		return run(func(x *execution) (string, error) { return s.reassignOwned(n.GetReassignOwnedStmt()) })
	case n.GetCreatePolicyStmt() != nil:
		return run(func(x *execution) (string, error) { return s.createPolicy(p, n.GetCreatePolicyStmt()) })
	case n.GetAlterPolicyStmt() != nil:
		return run(func(x *execution) (string, error) { return s.alterPolicy(p, n.GetAlterPolicyStmt()) })
	case n.GetDropStmt() != nil && n.GetDropStmt().RemoveType == pg.ObjectType_OBJECT_POLICY:
		return run(func(x *execution) (string, error) { return s.dropPolicies(p, n.GetDropStmt()) })
	case n.GetRenameStmt() != nil && n.GetRenameStmt().RenameType == pg.ObjectType_OBJECT_POLICY:
		return run(func(x *execution) (string, error) { return s.renamePolicy(p, n.GetRenameStmt()) })
	case n.GetDefineStmt() != nil && n.GetDefineStmt().Kind == pg.ObjectType_OBJECT_AGGREGATE:
		return run(func(x *execution) (string, error) { return s.createAggregate(p, n.GetDefineStmt()) })
	case n.GetDropStmt() != nil:
		if rt := n.GetDropStmt().RemoveType; rt == pg.ObjectType_OBJECT_FUNCTION || rt == pg.ObjectType_OBJECT_AGGREGATE || rt == pg.ObjectType_OBJECT_PROCEDURE ||
			rt == pg.ObjectType_OBJECT_ROUTINE {
			return run(func(x *execution) (string, error) { return s.dropFunctions(x, p, n.GetDropStmt()) })
		}
		if rt := n.GetDropStmt().RemoveType; rt == pg.ObjectType_OBJECT_TYPE || rt == pg.ObjectType_OBJECT_DOMAIN {
			return run(func(x *execution) (string, error) { return s.dropTypes(p, n.GetDropStmt()) })
		}
		return run(func(x *execution) (string, error) { return s.drop(x, n.GetDropStmt()) })
	case n.GetCreateFunctionStmt() != nil:
		return run(func(x *execution) (string, error) { return s.createFunction(st, p, n.GetCreateFunctionStmt(), false) })
	case n.GetCreateSeqStmt() != nil:
		return run(func(x *execution) (string, error) { return s.createSequence(n.GetCreateSeqStmt()) })
	case n.GetAlterSeqStmt() != nil:
		return run(func(x *execution) (string, error) { return s.alterSequence(n.GetAlterSeqStmt()) })
	case n.GetAlterObjectSchemaStmt() != nil && movesRelation(n.GetAlterObjectSchemaStmt().ObjectType):
		return run(func(x *execution) (string, error) { return s.setRelationSchema(n.GetAlterObjectSchemaStmt()) })
	case n.GetAlterTableStmt() != nil:
		return run(func(x *execution) (string, error) { return s.alterTable(x, p, n.GetAlterTableStmt()) })
	case n.GetAlterOwnerStmt() != nil:
		return run(func(x *execution) (string, error) { return s.alterOwner(n.GetAlterOwnerStmt()) })
	case n.GetRenameStmt() != nil:
		return run(func(x *execution) (string, error) { return s.rename(p, n.GetRenameStmt()) })
	case n.GetCreateSchemaStmt() != nil:
		cs := n.GetCreateSchemaStmt()
		return run(func(x *execution) (string, error) {
			if len(cs.SchemaElts) > 0 {
				return "", sqlerr.New(sqlerr.FeatureNotSupported, "CREATE SCHEMA with elements is not supported")
			}
			if !s.canCreateSchema(s.currentUser()) {
				return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for database %s", s.info.Database)
			}
			if _, ok := s.e.cat.SchemaByName(cs.Schemaname); ok && cs.IfNotExists {
				s.skipping(string(sqlerr.DuplicateSchema), "schema %q already exists", cs.Schemaname)
				return "CREATE SCHEMA", nil
			}
			return "CREATE SCHEMA", s.e.cat.CreateSchemaOwned(cs.Schemaname, s.currentUser(), cs.IfNotExists)
		})
	case n.GetTruncateStmt() != nil:
		return run(func(x *execution) (string, error) {
			for _, rn := range n.GetTruncateStmt().Relations {
				r, err := s.resolveTable(p, rn.GetRangeVar())
				if err != nil {
					return "", err
				}
				if err := s.checkPrivilege(r, 'D'); err != nil {
					return "", err
				}
				if err := r.IndexedTable().Truncate(x.txn); err != nil {
					return "", err
				}
			}
			if err := s.truncateCascade(x, p, n.GetTruncateStmt()); err != nil {
				return "", err
			}
			return "TRUNCATE TABLE", nil
		})
	case n.GetCommentStmt() != nil:
		c := n.GetCommentStmt()
		return run(func(x *execution) (string, error) {
			items := c.Object.GetList().GetItems()
			var parts []string
			for _, it := range items {
				parts = append(parts, it.GetString_().Sval)
			}
			if c.Objtype != pg.ObjectType_OBJECT_TABLE && c.Objtype != pg.ObjectType_OBJECT_VIEW && c.Objtype != pg.ObjectType_OBJECT_MATVIEW {
				return "", sqlerr.New(sqlerr.FeatureNotSupported, "COMMENT ON this kind of object is not supported")
			}
			rv := &pg.RangeVar{Relname: parts[len(parts)-1]}
			if len(parts) > 1 {
				rv.Schemaname = parts[len(parts)-2]
			}
			r, err := s.resolve(p, rv)
			if err != nil {
				return "", err
			}
			_, err = s.e.cat.SetComment(r.OID, c.Comment)
			return "COMMENT", err
		})
	case n.GetDiscardStmt() != nil:
		return run(func(x *execution) (string, error) { return "DISCARD ALL", nil })
	case n.GetDeallocateStmt() != nil:
		return run(func(x *execution) (string, error) { return "DEALLOCATE", nil })
	case n.GetIndexStmt() != nil:
		return run(func(x *execution) (string, error) { return s.createIndex(x, p, n.GetIndexStmt()) })
	case n.GetLockStmt() != nil:
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			return x.s.execLock(ctx, n.GetLockStmt())
		}), nil
	case n.GetCreateTableAsStmt() != nil:
		ctas := n.GetCreateTableAsStmt()
		if ctas.Objtype == pg.ObjectType_OBJECT_TABLE {
			return s.planCreateTableAs(st, ctas)
		}
		if ctas.Objtype != pg.ObjectType_OBJECT_MATVIEW {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CREATE TABLE AS is not supported yet")
		}
		ext, _ := st.st.Ext.(*parser.MatViewExt)
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			tag, notices, err := s.createMatView(ctx, ctas, ext)
			if err != nil {
				return nil, err
			}
			if len(notices) > 0 {
				return &noticeResult{staticResult: staticResult{tag: tag}, notices: notices}, nil
			}
			return tagResult(tag), nil
		}), nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not supported", statementName(n))
}

// movesRelation reports the kinds of ALTER ... SET SCHEMA that move a
// relation (setRelationSchema).
func movesRelation(t pg.ObjectType) bool {
	switch t {
	case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_MATVIEW, pg.ObjectType_OBJECT_SEQUENCE:
		return true
	}
	return false
}

func nodeKind(n *pg.Node) string {
	s := strings.TrimPrefix(strings.TrimPrefix(typeName(n.Node), "*pg_query."), "Node_")
	return s
}

func typeName(v any) string { return strings.TrimPrefix(fmtType(v), "*") }

func (s *Session) resolve(p *planner.Planner, rv *pg.RangeVar) (*catalog.Relation, error) {
	return s.resolveName(parser.ObjectName{Schema: rv.Schemaname, Name: rv.Relname})
}

// resolveName finds the relation n names: in its schema when n is
// qualified (42P01 when there is none), else along the search path.
func (s *Session) resolveName(n parser.ObjectName) (*catalog.Relation, error) {
	if n.Schema != "" {
		return s.e.cat.Lookup(s.searchPath(), n.Schema, n.Name)
	}
	return s.e.cat.Resolve(s.searchPath(), n.Name)
}

func (s *Session) resolveTable(p *planner.Planner, rv *pg.RangeVar) (*catalog.Relation, error) {
	r, err := s.resolve(p, rv)
	if err != nil {
		return nil, err
	}
	if r.Kind != catalog.KindTable {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%q is not a table", r.Name)
	}
	return r, nil
}

func (s *Session) schemaFor(rv *pg.RangeVar) string {
	if rv.Schemaname != "" {
		return rv.Schemaname
	}
	return s.currentSchema()
}

// columnDef converts a grammar column definition.
func (s *Session) columnDef(p *planner.Planner, table string, cd *pg.ColumnDef) (catalog.Column, bool, error) {
	col := catalog.Column{Name: cd.Colname}
	tn := cd.TypeName
	t, err := p.TypeName(tn)
	if err != nil {
		return col, false, err
	}
	col.Type = t
	if serialType(tn) != "" {
		// The default comes with the column's sequence (createTable).
		col.NotNull = true
	}
	pk := false
	if cd.IsNotNull {
		col.NotNull = true
	}
	// nullable is what an explicit NULL or NOT NULL said, 0 for neither.
	var nullable byte
	nullConflict := func() error {
		return sqlerr.New(sqlerr.SyntaxError, "conflicting NULL/NOT NULL declarations for column %q of table %q", cd.Colname, table)
	}
	if cd.RawDefault != nil {
		d, err := parser.DeparseExpr(cd.RawDefault)
		if err != nil {
			return col, false, err
		}
		col.Default = d
		if q, ok := s.defaultSequence(cd.RawDefault); ok {
			col.Seq = q.OID
		}
	}
	for _, cn := range cd.Constraints {
		c := cn.GetConstraint()
		switch c.Contype {
		case pg.ConstrType_CONSTR_NOTNULL:
			if nullable == 'n' {
				return col, false, nullConflict()
			}
			col.NotNull, nullable = true, 'y'
		case pg.ConstrType_CONSTR_NULL:
			if nullable == 'y' {
				return col, false, nullConflict()
			}
			nullable = 'n'
		case pg.ConstrType_CONSTR_IDENTITY:
			if col.Identity != 0 {
				return col, false, sqlerr.New(sqlerr.SyntaxError, "multiple identity specifications for column %q of table %q", cd.Colname, table)
			}
			col.Identity = c.GeneratedWhen[0]
		case pg.ConstrType_CONSTR_DEFAULT:
			d, err := parser.DeparseExpr(c.RawExpr)
			if err != nil {
				return col, false, err
			}
			col.Default = d
			if q, ok := s.defaultSequence(c.RawExpr); ok {
				col.Seq = q.OID
			}
		case pg.ConstrType_CONSTR_PRIMARY:
			pk = true
			col.NotNull = true
		case pg.ConstrType_CONSTR_UNIQUE: // an index: tableUniques, columnUniques (index.go)
		case pg.ConstrType_CONSTR_CHECK, pg.ConstrType_CONSTR_FOREIGN: // constraintDefs (constraint.go)
		default:
			return col, false, sqlerr.New(sqlerr.FeatureNotSupported, "%s constraints are not supported yet", constraintName(c.Contype))
		}
	}
	if col.Identity != 0 {
		// The sequence and NOT NULL come with createIdentitySequence.
		if col.Default != "" || serialType(tn) != "" {
			return col, false, sqlerr.New(sqlerr.SyntaxError, "both default and identity specified for column %q of table %q", cd.Colname, table)
		}
		if nullable == 'n' {
			return col, false, nullConflict()
		}
		if identityTypeName(col.Type) == "" {
			return col, false, errIdentityType()
		}
	}
	return col, pk, nil
}

// constraintKeywords are the keywords of the constraint kinds that
// differ from their parse-tree names, for messages.
var constraintKeywords = map[pg.ConstrType]string{
	pg.ConstrType_CONSTR_FOREIGN:   "FOREIGN KEY",
	pg.ConstrType_CONSTR_EXCLUSION: "EXCLUDE",
}

// constraintName is the keyword of a constraint kind (CHECK, UNIQUE,
// FOREIGN KEY ...), for messages.
func constraintName(t pg.ConstrType) string {
	if k, ok := constraintKeywords[t]; ok {
		return k
	}
	return strings.TrimPrefix(t.String(), "CONSTR_")
}

func (s *Session) createTable(p *planner.Planner, cs *pg.CreateStmt) (string, error) {
	if len(cs.InhRelations) > 0 || cs.Partspec != nil || cs.OfTypename != nil {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "inheritance, partitioning and typed tables are not supported")
	}
	if err := s.expandLike(cs); err != nil {
		return "", err
	}
	schema, err := s.creationSchema(cs.Relation)
	if err != nil {
		return "", err
	}
	if err := checkOnCommit(cs.Oncommit, catalog.IsTempSchema(schema)); err != nil {
		return "", err
	}
	if _, ok := s.e.cat.Relation(schema, cs.Relation.Relname); ok && cs.IfNotExists {
		s.skipping(string(sqlerr.DuplicateTable), "relation %q already exists", cs.Relation.Relname)
		return "CREATE TABLE", nil
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	r := &catalog.Relation{Schema: schema, Name: cs.Relation.Relname, Kind: catalog.KindTable, Owner: s.currentUser(), Created: time.Now()}
	names := map[string]bool{}
	var serials []int
	idents := map[int]*pg.Constraint{}
	for _, el := range cs.TableElts {
		switch {
		case el.GetColumnDef() != nil:
			col, pk, err := s.columnDef(p, r.Name, el.GetColumnDef())
			if err != nil {
				return "", err
			}
			if serialType(el.GetColumnDef().TypeName) != "" {
				serials = append(serials, len(r.Columns))
			}
			if ic := identityOf(el.GetColumnDef()); ic != nil {
				idents[len(r.Columns)] = ic
			}
			if names[col.Name] {
				return "", sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", col.Name)
			}
			names[col.Name] = true
			if pk {
				if len(r.PrimaryKey) > 0 {
					return "", sqlerr.New(sqlerr.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", r.Name)
				}
				r.PrimaryKey = []int{len(r.Columns)}
			}
			r.Columns = append(r.Columns, col)
		case el.GetConstraint() != nil:
			c := el.GetConstraint()
			if c.Contype == pg.ConstrType_CONSTR_UNIQUE {
				continue // tableUniques
			}
			if isCheckOrFK(c.Contype) {
				continue // constraintDefs (constraint.go)
			}
			if c.Contype != pg.ConstrType_CONSTR_PRIMARY {
				return "", sqlerr.New(sqlerr.FeatureNotSupported, "%s constraints are not supported yet", constraintName(c.Contype))
			}
			if len(r.PrimaryKey) > 0 {
				return "", sqlerr.New(sqlerr.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", r.Name)
			}
			for _, k := range c.Keys {
				name := k.GetString_().Sval
				idx := -1
				for i, col := range r.Columns {
					if col.Name == name {
						idx = i
					}
				}
				if idx < 0 {
					return "", sqlerr.New(sqlerr.UndefinedColumn, "column %q named in key does not exist", name)
				}
				r.Columns[idx].NotNull = true
				r.PrimaryKey = append(r.PrimaryKey, idx)
			}
		default:
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "table element %s is not supported", nodeKind(el))
		}
	}
	if len(r.Columns) > 1600 {
		return "", sqlerr.New(sqlerr.TooManyColumns, "tables can have at most 1600 columns")
	}
	seqs, err := s.createSerialSequences(r, serials, idents)
	if err != nil {
		return "", err
	}
	created, err := s.createTableWith(p, r, cs)
	if err != nil {
		_ = s.e.dropSequences(seqs)
		return "", err
	}
	if created.Temporary() {
		s.noteTempCreated(created, cs.Oncommit)
	}
	if err := s.ownSerialSequences(created, seqs); err != nil {
		return "", err
	}
	if err := s.createdConstraints(created); err != nil {
		return "", err
	}
	return "CREATE TABLE", nil
}

// createTableWith checks r's defaults and constraints and creates it.
func (s *Session) createTableWith(p *planner.Planner, r *catalog.Relation, cs *pg.CreateStmt) (*catalog.Relation, error) {
	// Defaults must bind.
	for _, c := range r.Columns {
		if c.Default != "" {
			if err := checkDefault(p, c); err != nil {
				return nil, err
			}
		}
	}
	if err := s.tableUniques(r, cs); err != nil {
		return nil, err
	}
	if err := s.addConstraints(p, r, constraintDefs(cs.TableElts)); err != nil {
		return nil, err
	}
	return s.e.cat.CreateRelation(r)
}

func checkDefault(p *planner.Planner, c catalog.Column) error {
	stmts, err := parser.Parse("SELECT CAST(" + c.Default + " AS " + c.Type.String() + ")")
	if err != nil {
		return err
	}
	inner := *p
	inner.SQL, inner.Offset = stmts[0].SQL, 0
	q, err := inner.PlanSelect(stmts[0].AST.GetSelectStmt())
	if err != nil {
		return err
	}
	// Lowered as well, for what only the lowering refuses.
	return lowerCheck(&inner, q.Plan)
}

func (s *Session) createView(st *statement, p *planner.Planner, vs *pg.ViewStmt) (string, error) {
	sel := vs.Query.GetSelectStmt()
	def, err := parser.Deparse(vs.Query)
	if err != nil {
		return "", err
	}
	p.Deps = map[uint32]bool{}
	q, err := p.PlanSelect(sel)
	if err != nil {
		return "", err
	}
	// Lowered as well, for what only the lowering refuses.
	if err := lowerCheck(p, q.Plan); err != nil {
		return "", err
	}
	if vs.View.Relpersistence != "t" && s.e.usesTemp(p.Deps) {
		s.notice("00000", "view %q will be a temporary view", vs.View.Relname)
		vs.View.Relpersistence = "t"
	}
	schema, err := s.creationSchema(vs.View)
	if err != nil {
		return "", err
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	// The view reads the relations its names found now, whatever the
	// search path of a later reader (as PostgreSQL binds them).
	path := p.SearchPath
	if !catalog.IsTempSchema(schema) {
		path = persistentPath(path)
	}
	r := &catalog.Relation{Schema: schema, Name: vs.View.Relname, Kind: catalog.KindView, Definition: def, Owner: s.currentUser(), Created: time.Now(),
		SearchPath: path}
	if len(vs.Aliases) > len(q.Cols) {
		return "", sqlerr.New(sqlerr.SyntaxError, "CREATE VIEW specifies more column names than columns")
	}
	for i, c := range q.Cols {
		name := c.Name
		if i < len(vs.Aliases) {
			name = vs.Aliases[i].GetString_().Sval
		}
		t := c.Type
		if t.Kind == types.Unknown {
			t = types.TText
		}
		r.Columns = append(r.Columns, catalog.Column{Name: name, Type: t})
	}
	for oid := range p.Deps {
		r.DependsOn = append(r.DependsOn, oid)
	}
	if old, ok := s.e.cat.Relation(schema, r.Name); ok && vs.Replace {
		if old.Kind != catalog.KindView {
			return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a view", r.Name)
		}
		r.OID = old.OID
		_, err = s.e.cat.UpdateRelation(r)
		return "CREATE VIEW", err
	}
	created, err := s.e.cat.CreateRelation(r)
	if err != nil {
		return "", err
	}
	if created.Temporary() {
		s.noteTempCreated(created, pg.OnCommitAction_ONCOMMIT_NOOP)
	}
	return "CREATE VIEW", nil
}

func (s *Session) drop(x *execution, ds *pg.DropStmt) (string, error) {
	var want catalog.RelKind
	var tag, what string
	switch ds.RemoveType {
	case pg.ObjectType_OBJECT_TABLE:
		want, tag, what = catalog.KindTable, "DROP TABLE", "table"
	case pg.ObjectType_OBJECT_VIEW:
		want, tag, what = catalog.KindView, "DROP VIEW", "view"
	case pg.ObjectType_OBJECT_MATVIEW:
		want, tag, what = catalog.KindMatView, "DROP MATERIALIZED VIEW", "materialized view"
	case pg.ObjectType_OBJECT_SEQUENCE:
		want, tag, what = catalog.KindSequence, "DROP SEQUENCE", "sequence"
	case pg.ObjectType_OBJECT_INDEX:
		return s.dropIndexes(x, ds)
	case pg.ObjectType_OBJECT_SCHEMA:
		for _, o := range ds.Objects {
			name := o.GetString_().Sval
			if _, ok := s.e.cat.SchemaByName(name); !ok && ds.MissingOk {
				s.skipping("00000", "schema %q does not exist", name)
				continue
			}
			var cascaded []string
			if ds.Behavior == pg.DropBehavior_DROP_CASCADE {
				cascaded = s.e.schemaCascade(name)
			}
			dropped, err := s.e.cat.DropSchema(name, ds.Behavior == pg.DropBehavior_DROP_CASCADE)
			if err != nil {
				return "", err
			}
			if err := s.e.dropData(x.txn, dropped); err != nil {
				return "", err
			}
			s.cascadeNotice(cascaded)
		}
		return "DROP SCHEMA", nil
	default:
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "DROP %s is not supported", strings.TrimPrefix(ds.RemoveType.String(), "OBJECT_"))
	}
	// What CASCADE takes along is reported once for the statement; its
	// own targets are not reported.
	cascade := ds.Behavior == pg.DropBehavior_DROP_CASCADE
	seen := map[uint32]bool{}
	var cascaded []string
	rangeVar := func(o *pg.Node) *pg.RangeVar {
		var parts []string
		for _, it := range o.GetList().GetItems() {
			parts = append(parts, it.GetString_().Sval)
		}
		rv := &pg.RangeVar{Relname: parts[len(parts)-1]}
		if len(parts) > 1 {
			rv.Schemaname = parts[len(parts)-2]
		}
		return rv
	}
	// Every name is resolved and checked before anything is dropped; a
	// target an earlier one's CASCADE took along is then skipped.
	var targets []*catalog.Relation
	for _, o := range ds.Objects {
		rv := rangeVar(o)
		r, err := s.resolve(nil, rv)
		if err != nil {
			if ds.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
				s.skipping("00000", "%s %q does not exist", what, rv.Relname)
				continue
			}
			if sqlerr.Code(err) == sqlerr.UndefinedTable {
				return "", sqlerr.New(sqlerr.UndefinedTable, "%s %q does not exist", what, rv.Relname)
			}
			return "", err
		}
		if r.Kind != want {
			return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a %s", r.Name, what).WithHint("Use DROP %s to remove a %s.", strings.ToUpper(r.Kind.String()), r.Kind.String())
		}
		if err := s.checkOwner(r); err != nil {
			return "", err
		}
		seen[r.OID] = true
		targets = append(targets, r)
	}
	gone := map[uint32]bool{}
	for _, r := range targets {
		if gone[r.OID] {
			continue
		}
		var also []string
		if cascade {
			also = s.e.relationCascade(r, seen, nil)
		}
		if err := s.dropReferences(r, cascade); err != nil {
			return "", err
		}
		if r.Kind == catalog.KindSequence {
			users, err := s.dropSequenceUsers(r, cascade, gone)
			if err != nil {
				return "", err
			}
			also = append(also, users...)
		}
		dropped, err := s.e.cat.DropRelation(r.OID, cascade)
		if err != nil {
			return "", err
		}
		if err := s.e.dropData(x.txn, dropped); err != nil {
			return "", err
		}
		for _, d := range dropped {
			gone[d.OID] = true
		}
		cascaded = append(cascaded, also...)
	}
	s.cascadeNotice(cascaded)
	return tag, nil
}

// dropData deletes the rows of dropped relations.
func (e *Engine) dropData(txn *storage.Txn, dropped []*catalog.Relation) error {
	for _, r := range dropped {
		if r.Kind.HasRows() {
			lo, hi := storage.TableSpan(r.OID)
			if err := txn.DeleteRange(lo, hi); err != nil {
				return err
			}
		}
	}
	if err := index.DropAll(txn, dropped); err != nil {
		return err
	}
	if err := e.dropSequenceValues(dropped); err != nil {
		return err
	}
	if err := e.dropSequences(e.ownedSequences(dropped)); err != nil {
		return err
	}
	return e.dropStreaming(dropped)
}

func (s *Session) alterTable(x *execution, p *planner.Planner, at *pg.AlterTableStmt) (string, error) {
	r, err := s.resolve(p, at.Relation)
	if err != nil {
		if at.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
			s.skipping("00000", "relation %q does not exist", at.Relation.Relname)
			return "ALTER TABLE", nil
		}
		return "", err
	}
	if rs, ok := ownerOnly(at); ok {
		return alterTag(at.Objtype), s.alterRelationOwner(r, at.Objtype, rs)
	}
	if err := s.checkOwner(r); err != nil {
		return "", err
	}
	if r.Kind != catalog.KindTable {
		return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a table", r.Name)
	}
	// The subcommands handled apart, each by the file of its concept: a
	// handler says whether the command was its own.
	handlers := []func(r *catalog.Relation, c *pg.AlterTableCmd) (*catalog.Relation, bool, error){
		func(r *catalog.Relation, c *pg.AlterTableCmd) (*catalog.Relation, bool, error) {
			return s.alterUnique(x, r, c)
		},
		s.alterRowSecurity,
		func(r *catalog.Relation, c *pg.AlterTableCmd) (*catalog.Relation, bool, error) {
			return s.alterConstraint(x, p, r, c)
		},
		s.alterIdentity,
	}
cmds:
	for _, cn := range at.Cmds {
		c := cn.GetAlterTableCmd()
		for _, h := range handlers {
			if nr, ok, err := h(r, c); ok {
				if err != nil {
					return "", err
				}
				r = nr
				continue cmds
			}
		}
		switch c.Subtype {
		case pg.AlterTableType_AT_AddColumn:
			col, pk, err := s.columnDef(p, r.Name, c.Def.GetColumnDef())
			if err != nil {
				return "", err
			}
			if pk {
				return "", sqlerr.New(sqlerr.FeatureNotSupported, "adding a primary key column is not supported")
			}
			if r.ColumnIndex(col.Name) >= 0 && c.MissingOk {
				s.skipping(string(sqlerr.DuplicateColumn), "column %q of relation %q already exists", col.Name, r.Name)
				continue
			}
			if col.Default != "" {
				if err := checkDefault(p, col); err != nil {
					return "", err
				}
			}
			// A serial or identity column comes with its sequence.
			var serials []int
			if serialType(c.Def.GetColumnDef().TypeName) != "" {
				serials = []int{0}
			}
			one := &catalog.Relation{Schema: r.Schema, Name: r.Name, Owner: r.Owner, Columns: []catalog.Column{col}}
			seqs, err := s.createSerialSequences(one, serials, map[int]*pg.Constraint{0: identityOf(c.Def.GetColumnDef())})
			if err != nil {
				return "", err
			}
			col = one.Columns[0]
			nr, err := s.e.addColumn(r, col)
			if err != nil {
				_ = s.e.dropSequences(seqs)
				return "", err
			}
			if err := s.ownSerialSequences(nr, seqs); err != nil {
				return "", err
			}
			if err := s.fillColumn(x, p, r, nr, col); err != nil {
				return "", err
			}
			if nr, err = s.columnUniques(x, nr, c.Def.GetColumnDef()); err != nil {
				return "", err
			}
			if nr, err = s.columnConstraints(x, p, nr, c.Def.GetColumnDef()); err != nil {
				return "", err
			}
			r = nr
		case pg.AlterTableType_AT_DropColumn:
			if r.ColumnIndex(c.Name) < 0 && c.MissingOk {
				s.skipping("00000", "column %q of relation %q does not exist", c.Name, r.Name)
				continue
			}
			nr, err := s.e.dropColumn(x.txn, r, c.Name, c.Behavior == pg.DropBehavior_DROP_CASCADE)
			if err != nil {
				return "", err
			}
			r = nr
		case pg.AlterTableType_AT_ColumnDefault, pg.AlterTableType_AT_SetNotNull, pg.AlterTableType_AT_DropNotNull:
			i := r.ColumnIndex(c.Name)
			if i < 0 {
				return "", sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", c.Name, r.Name)
			}
			nr := r.Clone()
			switch c.Subtype {
			case pg.AlterTableType_AT_ColumnDefault:
				nr.Columns[i].Default = ""
				if c.Def != nil {
					d, err := parser.DeparseExpr(c.Def)
					if err != nil {
						return "", err
					}
					nr.Columns[i].Default = d
				}
			case pg.AlterTableType_AT_SetNotNull:
				nr.Columns[i].NotNull = true
			default:
				nr.Columns[i].NotNull = false
			}
			if r, err = s.e.cat.UpdateRelation(nr); err != nil {
				return "", err
			}
		default:
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "ALTER TABLE %s is not supported", strings.TrimPrefix(c.Subtype.String(), "AT_"))
		}
	}
	return "ALTER TABLE", nil
}

// The column changes of ALTER TABLE, shared by the statement and by the
// upstream DDL that tables fed by change streams apply
// (auto.schema.change, table_schema_change.go). Each changes the catalog
// (its own commit) and puts what it does to stored rows into txn.

// addColumn is ALTER TABLE r ADD COLUMN col: rows stored before read NULL
// for it (the statement then fills in a default, fillColumn).
func (e *Engine) addColumn(r *catalog.Relation, col catalog.Column) (*catalog.Relation, error) {
	if r.ColumnIndex(col.Name) >= 0 {
		return nil, sqlerr.New(sqlerr.DuplicateColumn, "column %q of relation %q already exists", col.Name, r.Name)
	}
	return e.cat.AddColumn(r.OID, col)
}

// dropColumn is ALTER TABLE r DROP COLUMN name [CASCADE]: foreign keys and
// relations that use the column block it (2BP01) unless cascade; the
// indexes on it go, and a table that loses its primary key is re-keyed by
// a hidden row id.
func (e *Engine) dropColumn(txn *storage.Txn, r *catalog.Relation, name string, cascade bool) (*catalog.Relation, error) {
	if err := e.dropColumnReferences(r, name, cascade); err != nil {
		return nil, err
	}
	nr, dropped, err := e.cat.DropColumn(r.OID, name, cascade)
	if err != nil {
		return nil, err
	}
	if err := e.dropData(txn, dropped); err != nil {
		return nil, err
	}
	// The sequence the column owns (serial, identity, OWNED BY) goes
	// with it.
	if err := e.dropSequences(e.columnSequences(r.OID, r.Columns[r.ColumnIndex(name)].AttNum)); err != nil {
		return nil, err
	}
	if len(r.PrimaryKey) != len(nr.PrimaryKey) {
		// The key column went away: re-key the rows by a hidden row id.
		if err := storage.Rekey(txn, r.Table(), nr.Table()); err != nil {
			return nil, err
		}
	}
	if err := index.AfterDropColumn(txn, r, nr); err != nil {
		return nil, err
	}
	return nr, nil
}

// renameColumn is ALTER TABLE r RENAME COLUMN oldName TO newName.
// The definitions of the views and sinks that read the column are
// rewritten to the new name (rename_column_refs.go).
func (e *Engine) renameColumn(r *catalog.Relation, oldName, newName string) error {
	i := r.ColumnIndex(oldName)
	if i < 0 {
		return sqlerr.New(sqlerr.UndefinedColumn, "column %q does not exist", oldName)
	}
	deps, err := e.renameInDependents(r, r.Columns[i].AttNum, oldName, newName)
	if err != nil {
		return err
	}
	if _, err := e.cat.RenameColumn(r.OID, oldName, newName); err != nil {
		return err
	}
	if err := e.renameInChecks(r.OID, oldName, newName); err != nil {
		return err
	}
	if err := e.renameInPolicies(r.OID, oldName, newName); err != nil {
		return err
	}
	for _, d := range deps {
		if _, err := e.cat.UpdateRelation(d); err != nil {
			return err
		}
	}
	return nil
}

// fillColumn writes a new column's default (an identity column's next
// values) into existing rows.
func (s *Session) fillColumn(x *execution, p *planner.Planner, old, nr *catalog.Relation, col catalog.Column) error {
	def := col.Default
	if col.Identity != 0 {
		def = fmt.Sprintf("nextval(%d::regclass)", col.Seq)
	}
	if def == "" {
		return nil
	}
	stmts, err := parser.Parse("SELECT CAST(" + def + " AS " + col.Type.String() + ")")
	if err != nil {
		return err
	}
	inner := *p
	inner.SQL, inner.Offset = stmts[0].SQL, 0
	return fillRows(x.txn, nr, func() (types.Datum, error) {
		q, err := inner.PlanSelect(stmts[0].AST.GetSelectStmt())
		if err != nil {
			return nil, err
		}
		op, err := lowering(&inner, func() storage.Reader { return x.reader }).Batch(q.Plan)
		if err != nil {
			return nil, err
		}
		bs, err := batch.Collect(s.execCtx(x.context(), nil), op)
		if err != nil {
			return nil, err
		}
		v := types.GetDatum(bs[0].Cols[0], 0, col.Type)
		for _, b := range bs {
			b.Release()
		}
		if col.NotNull && v == nil {
			return nil, sqlerr.New(sqlerr.NotNullViolation, "column %q of relation %q contains null values", col.Name, nr.Name)
		}
		return v, nil
	})
}

// fillRows writes value() (called once per row) into the last column of
// every row of nr, a table whose last column was just added.
func fillRows(txn *storage.Txn, nr *catalog.Relation, value func() (types.Datum, error)) error {
	tbl := nr.Table()
	it, err := tbl.Scan(txn, storage.KeySpan{})
	if err != nil {
		return err
	}
	var keys [][]byte
	var rows [][]types.Datum
	for it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
		rows = append(rows, it.Row())
	}
	it.Close()
	for i, row := range rows {
		v, err := value()
		if err != nil {
			return err
		}
		row[len(row)-1] = v
		if err := tbl.PutKey(txn, keys[i], row); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) rename(p *planner.Planner, rs *pg.RenameStmt) (string, error) {
	switch rs.RenameType {
	case pg.ObjectType_OBJECT_COLUMN:
		r, err := s.resolve(p, rs.Relation)
		if err != nil {
			return "", err
		}
		return "ALTER TABLE", s.e.renameColumn(r, rs.Subname, rs.Newname)
	case pg.ObjectType_OBJECT_SEQUENCE:
		return "ALTER SEQUENCE", s.renameSequence(rs)
	case pg.ObjectType_OBJECT_FUNCTION, pg.ObjectType_OBJECT_PROCEDURE, pg.ObjectType_OBJECT_ROUTINE:
		return s.renameRoutine(p, rs)
	case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_MATVIEW:
		r, err := s.resolve(p, rs.Relation)
		if err != nil {
			return "", err
		}
		_, err = s.e.cat.RenameRelation(r.OID, rs.Newname)
		if rs.RenameType == pg.ObjectType_OBJECT_VIEW {
			return "ALTER VIEW", err
		}
		return "ALTER TABLE", err
	}
	return "", sqlerr.New(sqlerr.FeatureNotSupported, "this kind of RENAME is not supported")
}

func (s *Session) planExplain(st *statement, p *planner.Planner, rd func() storage.Reader, es *pg.ExplainStmt) (*prepared, error) {
	opts, err := parseExplainOptions(es.Options)
	if err != nil {
		return nil, err
	}
	if ctas := es.Query.GetCreateTableAsStmt(); ctas != nil && ctas.Objtype == pg.ObjectType_OBJECT_MATVIEW {
		return s.explainStream(ctas, nil, opts.logical)
	}
	sel := es.Query.GetSelectStmt()
	if sel == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "EXPLAIN supports SELECT only for now")
	}
	q, op, err := planBatchSelect(p, rd, sel)
	if err != nil {
		return nil, err
	}
	// EXPLAIN needs the privileges the query would, as in PostgreSQL.
	reads, readCols, viewReads := depList(p.Deps), p.ColDeps, p.ViewReads
	text := batch.ExplainTree(op)
	switch {
	case opts.logical && opts.verbose:
		text = plan.RelTreeProps(q.Plan)
	case opts.logical:
		text = plan.RelTree(q.Plan)
	}
	cols := []pgwire.Column{{Name: "QUERY PLAN", Type: types.TText}}
	return &prepared{params: p.FinishParams(), cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if err := x.s.checkReads(reads, readCols, viewReads); err != nil {
			return nil, err
		}
		var rows [][]types.Datum
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			rows = append(rows, []types.Datum{line})
		}
		return memResult(cols, rows, "EXPLAIN"), nil
	}}, nil
}

// planExt handles the streaming extension statements.
func (s *Session) planExt(st *statement) (*prepared, error) {
	switch e := st.st.Ext.(type) {
	case *parser.Flush:
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			if err := s.e.coord.Flush(ctx); err != nil {
				return nil, err
			}
			return tagResult("FLUSH"), nil
		}), nil
	case *parser.Explain:
		if mv, ok := e.Stmt.Ext.(*parser.MatViewExt); ok && e.Stmt.AST.GetCreateTableAsStmt() != nil {
			return s.explainStream(e.Stmt.AST.GetCreateTableAsStmt(), mv, extExplainLogical(e.Options))
		}
	case *parser.CreateSource:
		return tagged(func(ctx context.Context) (string, error) {
			return s.createSource(s.newPlanner(st, nil, nil, s.e.db.Latest()), e)
		}), nil
	case *parser.CreateSink:
		return tagged(func(ctx context.Context) (string, error) {
			return s.createSink(ctx, e)
		}), nil
	case *parser.AlterSinkResume:
		return tagged(func(ctx context.Context) (string, error) {
			return s.alterSinkResume(ctx, e)
		}), nil
	case *parser.AlterMatViewResume:
		return tagged(func(ctx context.Context) (string, error) {
			return s.alterMatViewResume(ctx, e)
		}), nil
	case *parser.AlterRename:
		return tagged(func(ctx context.Context) (string, error) {
			return s.alterRename(e)
		}), nil
	case *parser.AlterSubscription:
		return tagged(func(ctx context.Context) (string, error) {
			return s.alterSubscription(ctx, e)
		}), nil
	case *parser.CreateSubscription:
		return tagged(func(ctx context.Context) (string, error) {
			return s.createSubscription(ctx, e)
		}), nil
	case *parser.DropObjects:
		return tagged(func(ctx context.Context) (string, error) {
			return s.dropObjects(e)
		}), nil
	case *parser.MatViewExt:
		return s.planUtility(st, s.newPlanner(st, nil, nil, s.e.db.Latest()), st.st.AST)
	case *parser.CreateAggregate:
		return tagged(func(ctx context.Context) (string, error) {
			return s.createFunction(st, s.newPlanner(st, nil, nil, s.e.db.Latest()), st.st.AST.GetCreateFunctionStmt(), true)
		}), nil
	case *parser.CreateTableExt:
		return tagged(func(ctx context.Context) (string, error) {
			return s.createTableExt(ctx, s.newPlanner(st, nil, nil, s.e.db.Latest()), st.st.AST.GetCreateStmt(), e)
		}), nil
	case *parser.Subscribe:
		return s.planSubscribeStmt(st, e)
	case *parser.FetchWith:
		return s.planFetch(e.Fetch, e.Options)
	case *parser.ShowObjects:
		return s.planShowObjects(e)
	case *parser.ShowCreate:
		return s.planShowCreate(e)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not supported yet", strings.ToUpper(strings.Fields(st.st.SQL)[0]+" "+strings.Fields(st.st.SQL + " x")[1]))
}

func (s *Session) planShowObjects(e *parser.ShowObjects) (*prepared, error) {
	var kind catalog.RelKind
	switch strings.ToLower(e.What) {
	case "tables":
		kind = catalog.KindTable
	case "views":
		kind = catalog.KindView
	case "materialized views":
		kind = catalog.KindMatView
	case "sources":
		kind = catalog.KindSource
	case "sinks":
		kind = catalog.KindSink
	case "jobs":
		return s.showJobs()
	case "subscriptions":
		return s.showSubscriptions(e.Schema)
	case "functions":
		return s.showFunctions(e.Schema)
	case "schemas":
		cols := []pgwire.Column{{Name: "Name", Type: types.TText}}
		return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
			var rows [][]types.Datum
			for _, sc := range s.e.cat.Schemas() {
				rows = append(rows, []types.Datum{sc.Name})
			}
			return memResult(cols, rows, "SHOW"), nil
		}}, nil
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "SHOW %s is not supported yet", e.What)
	}
	cols := []pgwire.Column{{Name: "Name", Type: types.TText}}
	schema := e.Schema
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		sc := s.schemaOrCurrent(schema)
		var rows [][]types.Datum
		for _, r := range s.e.cat.Relations() {
			if r.Kind == kind && r.Schema == sc {
				rows = append(rows, []types.Datum{r.Name})
			}
		}
		return memResult(cols, rows, "SHOW"), nil
	}}, nil
}

func fmtType(v any) string { return fmt.Sprintf("%T", v) }
