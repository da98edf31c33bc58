package engine

// CHECK and FOREIGN KEY constraints: their definitions in CREATE TABLE and
// ALTER TABLE. A constraint lives in its table's catalog.Relation (Checks,
// ForeignKeys; a foreign key on the referencing side). Enforcement is in
// table/constraint.

import (
	"fmt"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/lower"
	"streamsql/sql/parser"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/table/constraint"
)

// constraintDef is a CHECK or FOREIGN KEY definition and the column it was
// declared on ("" for a table constraint).
type constraintDef struct {
	c      *pg.Constraint
	column string
}

// isCheckOrFK reports whether a constraint kind is handled in this file.
func isCheckOrFK(t pg.ConstrType) bool {
	return t == pg.ConstrType_CONSTR_CHECK || t == pg.ConstrType_CONSTR_FOREIGN
}

// constraintDefs collects the CHECK and FOREIGN KEY definitions of table
// elements, column constraints first in column order, as PostgreSQL
// names them.
func constraintDefs(elts []*pg.Node) []constraintDef {
	var out []constraintDef
	for _, el := range elts {
		if cd := el.GetColumnDef(); cd != nil {
			for _, cn := range cd.Constraints {
				if c := cn.GetConstraint(); isCheckOrFK(c.Contype) {
					out = append(out, constraintDef{c: c, column: cd.Colname})
				}
			}
		}
	}
	for _, el := range elts {
		if c := el.GetConstraint(); c != nil && isCheckOrFK(c.Contype) {
			out = append(out, constraintDef{c: c})
		}
	}
	return out
}

// addConstraints binds defs and appends them to r (a relation being built
// or a clone being altered). A foreign key naming r itself gets RefRel 0
// when r has no OID yet; createdConstraints fixes it.
func (s *Session) addConstraints(p *planner.Planner, r *catalog.Relation, defs []constraintDef) error {
	for _, d := range defs {
		c := d.c
		if c.Contype == pg.ConstrType_CONSTR_CHECK {
			if c.IsNoInherit || c.SkipValidation {
				return sqlerr.New(sqlerr.FeatureNotSupported, "NO INHERIT and NOT VALID check constraints are not supported")
			}
			text, cols, err := p.BindCheck(r, c.RawExpr)
			if err != nil {
				return err
			}
			name := c.Conname
			if name == "" {
				label := d.column
				if label == "" && len(slices.Compact(slices.Sorted(slices.Values(cols)))) == 1 {
					label = r.Columns[cols[0]].Name
				}
				name = chooseConstraintName(r, label, "check")
			} else if r.ConstraintNameTaken(name) {
				return sqlerr.New(sqlerr.DuplicateObject, "constraint %q for relation %q already exists", name, r.Name)
			}
			r.Checks = append(r.Checks, catalog.Check{Name: name, Expr: text, Columns: cols})
			continue
		}
		fk, err := s.foreignKeyDef(p, r, d)
		if err != nil {
			return err
		}
		r.ForeignKeys = append(r.ForeignKeys, fk)
	}
	return nil
}

// chooseConstraintName picks table_label_suffix (table_suffix without a
// label), adding 1, 2, ... until the name is free, as PostgreSQL does.
func chooseConstraintName(r *catalog.Relation, label, suffix string) string {
	base := r.Name
	if label != "" {
		base += "_" + label
	}
	base += "_" + suffix
	name := base
	for i := 1; r.ConstraintNameTaken(name); i++ {
		name = fmt.Sprintf("%s%d", base, i)
	}
	return name
}

// fkAction converts the grammar's action letter.
func fkAction(a string) (catalog.FKAction, error) {
	switch a {
	case "", "a":
		return catalog.FKNoAction, nil
	case "r", "c", "n":
		return catalog.FKAction(a[0]), nil
	case "d":
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "ON DELETE/UPDATE SET DEFAULT is not supported")
	}
	return 0, sqlerr.New(sqlerr.SyntaxError, "unknown referential action %q", a)
}

func (s *Session) foreignKeyDef(p *planner.Planner, r *catalog.Relation, d constraintDef) (fk catalog.ForeignKey, err error) {
	c := d.c
	if c.FkMatchtype != "" && c.FkMatchtype != "s" {
		return fk, sqlerr.New(sqlerr.FeatureNotSupported, "MATCH FULL and MATCH PARTIAL foreign keys are not supported")
	}
	if c.Deferrable || c.Initdeferred {
		return fk, sqlerr.New(sqlerr.FeatureNotSupported, "deferrable foreign keys are not supported")
	}
	if fk.OnDelete, err = fkAction(c.FkDelAction); err != nil {
		return fk, err
	}
	if fk.OnUpdate, err = fkAction(c.FkUpdAction); err != nil {
		return fk, err
	}
	// Referencing columns.
	names := []string{d.column}
	if d.column == "" {
		names = names[:0]
		for _, a := range c.FkAttrs {
			names = append(names, a.GetString_().Sval)
		}
	}
	for _, n := range names {
		i := r.ColumnIndex(n)
		if i < 0 {
			return fk, sqlerr.New(sqlerr.UndefinedColumn, "column %q referenced in foreign key constraint does not exist", n)
		}
		fk.Columns = append(fk.Columns, i)
	}
	// Referenced table: r itself when it names r.
	parent := r
	if rv := c.Pktable; rv.Relname != r.Name || (rv.Schemaname != "" && rv.Schemaname != r.Schema) {
		if parent, err = s.resolve(p, rv); err != nil {
			return fk, err
		}
		if parent.Kind != catalog.KindTable {
			return fk, sqlerr.New(sqlerr.WrongObjectType, "referenced relation %q is not a table", parent.Name)
		}
	}
	fk.RefRel = parent.OID
	if len(c.PkAttrs) == 0 {
		if len(parent.PrimaryKey) == 0 {
			return fk, sqlerr.New(sqlerr.InvalidForeignKey, "there is no primary key for referenced table %q", parent.Name)
		}
		fk.RefColumns = slices.Clone(parent.PrimaryKey)
	} else {
		for _, a := range c.PkAttrs {
			n := a.GetString_().Sval
			i := parent.ColumnIndex(n)
			if i < 0 {
				return fk, sqlerr.New(sqlerr.UndefinedColumn, "column %q referenced in foreign key constraint does not exist", n)
			}
			fk.RefColumns = append(fk.RefColumns, i)
		}
	}
	// PostgreSQL checks persistence after the key, before the types.
	defer func() {
		if err == nil && parent.Temporary() != r.Temporary() {
			if r.Temporary() {
				err = sqlerr.New(sqlerr.InvalidTableDefinition, "constraints on temporary tables may reference only temporary tables")
			} else {
				err = sqlerr.New(sqlerr.InvalidTableDefinition, "constraints on permanent tables may reference only permanent tables")
			}
		}
	}()
	if len(fk.RefColumns) != len(fk.Columns) {
		return fk, sqlerr.New(sqlerr.InvalidForeignKey, "number of referencing and referenced columns for foreign key disagree")
	}
	if _, _, ok := constraint.ReferencedKey(parent, fk.RefColumns); !ok {
		return fk, sqlerr.New(sqlerr.InvalidForeignKey, "there is no unique constraint matching given keys for referenced table %q", parent.Name)
	}
	for k, ci := range fk.Columns {
		ct, pt := r.Columns[ci].Type, parent.Columns[fk.RefColumns[k]].Type
		if ct.OID() != pt.OID() && !(ct.IsInteger() && pt.IsInteger()) {
			return fk, sqlerr.New(sqlerr.DatatypeMismatch, "foreign key constraint %q cannot be implemented", fkName(r, c.Conname, names)).
				WithDetail("Key columns %q and %q are of incompatible types: %s and %s.", r.Columns[ci].Name, parent.Columns[fk.RefColumns[k]].Name, ct, pt)
		}
	}
	if c.Conname != "" && r.ConstraintNameTaken(c.Conname) {
		return fk, sqlerr.New(sqlerr.DuplicateObject, "constraint %q for relation %q already exists", c.Conname, r.Name)
	}
	fk.Name = fkName(r, c.Conname, names)
	if parent == r && r.OID == 0 {
		fk.RefRel = 0
	}
	return fk, nil
}

func fkName(r *catalog.Relation, given string, cols []string) string {
	if given != "" {
		return given
	}
	return chooseConstraintName(r, strings.Join(cols, "_"), "fkey")
}

// createdConstraints finishes the constraints of a table just created:
// self-references get the table's OID.
func (s *Session) createdConstraints(r *catalog.Relation) error {
	self := false
	for _, fk := range r.ForeignKeys {
		self = self || fk.RefRel == 0
	}
	if !self {
		return nil
	}
	n := r.Clone()
	for i := range n.ForeignKeys {
		if n.ForeignKeys[i].RefRel == 0 {
			n.ForeignKeys[i].RefRel = n.OID
		}
	}
	_, err := s.e.cat.UpdateRelation(n)
	return err
}

// alterConstraint runs ALTER TABLE ADD CONSTRAINT CHECK | FOREIGN KEY and
// DROP CONSTRAINT of those; handled is false for other commands.
func (s *Session) alterConstraint(x *execution, p *planner.Planner, r *catalog.Relation, c *pg.AlterTableCmd) (nr *catalog.Relation, handled bool, err error) {
	switch c.Subtype {
	case pg.AlterTableType_AT_AddConstraint:
		con := c.Def.GetConstraint()
		if con == nil || !isCheckOrFK(con.Contype) {
			return nil, false, nil
		}
		n := r.Clone()
		if err := s.addConstraints(p, n, []constraintDef{{c: con}}); err != nil {
			return nil, true, err
		}
		if err := s.validateNewConstraint(x, p, n, con.Contype == pg.ConstrType_CONSTR_CHECK); err != nil {
			return nil, true, err
		}
		nr, err = s.e.cat.UpdateRelation(n)
		return nr, true, err
	case pg.AlterTableType_AT_DropConstraint:
		if _, isIndex := r.FindIndex(c.Name); isIndex || (len(r.PrimaryKey) > 0 && c.Name == r.Name+"_pkey") {
			return nil, false, nil
		}
		n := r.Clone()
		before := len(n.Checks) + len(n.ForeignKeys)
		n.Checks = slices.DeleteFunc(n.Checks, func(ch catalog.Check) bool { return ch.Name == c.Name })
		n.ForeignKeys = slices.DeleteFunc(n.ForeignKeys, func(f catalog.ForeignKey) bool { return f.Name == c.Name })
		if len(n.Checks)+len(n.ForeignKeys) == before {
			if c.MissingOk {
				s.skipping("00000", "constraint %q of relation %q does not exist", c.Name, r.Name)
				return r, true, nil
			}
			return nil, true, sqlerr.New(sqlerr.UndefinedObject, "constraint %q of relation %q does not exist", c.Name, r.Name)
		}
		nr, err = s.e.cat.UpdateRelation(n)
		return nr, true, err
	}
	return nil, false, nil
}

// validateNewConstraint checks the existing rows of n against its last
// CHECK (isCheck) or FOREIGN KEY constraint, the one just added.
func (s *Session) validateNewConstraint(x *execution, p *planner.Planner, n *catalog.Relation, isCheck bool) error {
	var checks []lower.Check
	var fks []catalog.ForeignKey
	if isCheck {
		all, err := p.PlanChecks(n)
		if err != nil {
			return err
		}
		if checks, err = lowering(p, func() storage.Reader { return x.reader }).Checks(all[len(all)-1:]); err != nil {
			return err
		}
	} else {
		fks = n.ForeignKeys[len(n.ForeignKeys)-1:]
	}
	cons, err := constraint.Validating(s.constraintEnv(s.execCtx(x.context(), x.args)), n, checks, fks)
	if err != nil {
		return err
	}
	it, err := n.Table().Scan(x.txn, storage.KeySpan{})
	if err != nil {
		return err
	}
	defer it.Close()
	var rows [][]types.Datum
	for it.Next() {
		rows = append(rows, it.Row())
		if len(rows) == exec.BatchSize {
			if err := cons.CheckNew(x.txn, rows); err != nil {
				return err
			}
			rows = rows[:0]
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return cons.CheckNew(x.txn, rows)
}

// dropReferences handles the foreign keys of other tables that reference
// r when r is dropped: without CASCADE they block the drop (2BP01), with
// it they are dropped.
func (s *Session) dropReferences(r *catalog.Relation, cascade bool) error {
	var lines []string
	var children []*catalog.Relation
	for _, c := range s.e.cat.Relations() {
		if c.OID == r.OID {
			continue
		}
		found := false
		for _, fk := range c.ForeignKeys {
			if fk.RefRel == r.OID {
				found = true
				lines = append(lines, fmt.Sprintf("constraint %s on table %s depends on table %s", fk.Name, c.Name, r.Name))
			}
		}
		if found {
			children = append(children, c)
		}
	}
	if len(children) == 0 {
		return nil
	}
	if !cascade {
		return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop table %s because other objects depend on it", r.Name).
			WithDetail("%s", strings.Join(lines, "\n")).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	for _, c := range children {
		n := c.Clone()
		n.ForeignKeys = slices.DeleteFunc(n.ForeignKeys, func(f catalog.ForeignKey) bool { return f.RefRel == r.OID })
		if _, err := s.e.cat.UpdateRelation(n); err != nil {
			return err
		}
	}
	return nil
}

// truncateReferences enforces that TRUNCATE of a referenced table also
// truncates the tables referencing it: with CASCADE they are returned
// (and the tables that reference those, and so on), else 0A000.
func (s *Session) truncateReferences(targets []*catalog.Relation, cascade bool) ([]*catalog.Relation, error) {
	in := map[uint32]bool{}
	for _, t := range targets {
		in[t.OID] = true
	}
	var extra []*catalog.Relation
	for changed := true; changed; {
		changed = false
		for _, c := range s.e.cat.Relations() {
			if in[c.OID] {
				continue
			}
			for _, fk := range c.ForeignKeys {
				if !in[fk.RefRel] {
					continue
				}
				if !cascade {
					p, _ := s.e.cat.ByOID(fk.RefRel)
					return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot truncate a table referenced in a foreign key constraint").
						WithDetail("Table %q references %q.", c.Name, p.Name).
						WithHint("Truncate table %q at the same time, or use TRUNCATE ... CASCADE.", c.Name)
				}
				in[c.OID], changed = true, true
				extra = append(extra, c)
				break
			}
		}
	}
	return extra, nil
}

// columnConstraints adds the CHECK and REFERENCES constraints of a column
// added by ALTER TABLE ADD COLUMN, checking the rows it was filled in.
func (s *Session) columnConstraints(x *execution, p *planner.Planner, r *catalog.Relation, cd *pg.ColumnDef) (*catalog.Relation, error) {
	defs := constraintDefs([]*pg.Node{{Node: &pg.Node_ColumnDef{ColumnDef: cd}}})
	for _, d := range defs {
		n := r.Clone()
		if err := s.addConstraints(p, n, []constraintDef{d}); err != nil {
			return nil, err
		}
		if err := s.validateNewConstraint(x, p, n, d.c.Contype == pg.ConstrType_CONSTR_CHECK); err != nil {
			return nil, err
		}
		var err error
		if r, err = s.e.cat.UpdateRelation(n); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// truncateCascade handles the tables referencing those TRUNCATE empties:
// it fails without CASCADE and empties them too with it.
func (s *Session) truncateCascade(x *execution, p *planner.Planner, ts *pg.TruncateStmt) error {
	var targets []*catalog.Relation
	for _, rn := range ts.Relations {
		r, err := s.resolveTable(p, rn.GetRangeVar())
		if err != nil {
			return err
		}
		targets = append(targets, r)
	}
	extra, err := s.truncateReferences(targets, ts.Behavior == pg.DropBehavior_DROP_CASCADE)
	if err != nil {
		return err
	}
	for _, r := range extra {
		if err := r.IndexedTable().Truncate(x.txn); err != nil {
			return err
		}
	}
	return nil
}

// renameInChecks rewrites the CHECK expressions of table oid after its
// column oldName became newName (they are stored as SQL text).
func (e *Engine) renameInChecks(oid uint32, oldName, newName string) error {
	r, ok := e.cat.ByOID(oid)
	if !ok || len(r.Checks) == 0 {
		return nil
	}
	n := r.Clone()
	for i, c := range n.Checks {
		stmts, err := parser.Parse("SELECT " + c.Expr)
		if err != nil || len(stmts) != 1 {
			return sqlerr.New(sqlerr.DataCorrupted, "check constraint %q of relation %q is unreadable: %s", c.Name, r.Name, c.Expr)
		}
		node := stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val
		renameColumnRefs(node.ProtoReflect(), oldName, newName)
		if n.Checks[i].Expr, err = parser.DeparseExpr(node); err != nil {
			return err
		}
	}
	_, err := e.cat.UpdateRelation(n)
	return err
}

// renameColumnRefs renames the column references called oldName in a
// grammar tree.
func renameColumnRefs(m protoreflect.Message, oldName, newName string) {
	if cr, ok := m.Interface().(*pg.ColumnRef); ok {
		if len(cr.Fields) > 0 {
			if last := cr.Fields[len(cr.Fields)-1].GetString_(); last != nil && last.Sval == oldName {
				last.Sval = newName
			}
		}
		return
	}
	eachChild(m, func(c protoreflect.Message) bool {
		renameColumnRefs(c, oldName, newName)
		return true
	})
}

// dropColumnReferences handles the foreign keys of other tables that
// reference column name of r, and r's policies that read it, when it is
// dropped: without CASCADE they block the drop (2BP01), with it they are
// dropped.
func (e *Engine) dropColumnReferences(r *catalog.Relation, name string, cascade bool) error {
	i := r.ColumnIndex(name)
	if i < 0 {
		return nil
	}
	var lines []string
	for _, c := range e.cat.Relations() {
		if c.OID == r.OID {
			continue
		}
		uses := func(f catalog.ForeignKey) bool { return f.RefRel == r.OID && slices.Contains(f.RefColumns, i) }
		if !slices.ContainsFunc(c.ForeignKeys, uses) {
			continue
		}
		if !cascade {
			for _, f := range c.ForeignKeys {
				if uses(f) {
					lines = append(lines, fmt.Sprintf("constraint %s on table %s depends on column %s of table %s", f.Name, c.Name, name, r.Name))
				}
			}
			continue
		}
		n := c.Clone()
		n.ForeignKeys = slices.DeleteFunc(n.ForeignKeys, uses)
		if _, err := e.cat.UpdateRelation(n); err != nil {
			return err
		}
	}
	pl, err := e.dropColumnPolicies(r, name, cascade)
	if err != nil {
		return err
	}
	lines = append(lines, pl...)
	if len(lines) > 0 {
		return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop column %s of table %s because other objects depend on it", name, r.Name).
			WithDetail("%s", strings.Join(lines, "\n")).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	return nil
}
