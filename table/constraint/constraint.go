// Package constraint enforces a table's constraints on the write path:
// NOT NULL, CHECK and FOREIGN KEY, for INSERT, UPDATE, DELETE, ON CONFLICT
// DO UPDATE, COPY FROM, the cascaded writes of referential actions, and the
// validation of existing rows by ALTER TABLE ADD CONSTRAINT. (UNIQUE and
// PRIMARY KEY are enforced by the table's indexes in storage; see
// table/index for the ON CONFLICT arbiter.) The definitions live in the
// table's catalog.Relation (Columns[i].NotNull, Checks, ForeignKeys on the
// referencing side); the engine binds them at DDL time.
//
// NOT NULL is checked row by row before a row is written. CHECK
// constraints are planned once per statement and evaluated over whole
// batches of rows; NULL passes, false fails with 23514.
//
// Foreign keys are checked from both sides, after the statement's writes
// to the table (so a row may reference a row written by the same
// statement):
//
//   - a written referencing (child) row must find its parent by a point
//     lookup on the parent's primary key or unique index, inside the
//     transaction; each distinct key is looked up once per batch;
//   - changed or deleted referenced (parent) keys are matched against the
//     child table by one scan per statement and foreign key (there is no
//     index on the referencing columns yet), then NO ACTION / RESTRICT
//     fail with 23503 and CASCADE / SET NULL change the children.
//
// Isolation: each check reads the transaction's own writes over the latest
// committed state. Both checks are registered with storage.Txn's
// commit-time recheck, which repeats them under the commit lock when
// another transaction committed in between: a child cannot commit against
// a parent deleted by a concurrent committed transaction, nor a parent
// delete against a child inserted concurrently. The loser gets 23503.
package constraint

import (
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/lower"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Catalog is what checking needs of the catalog: the tables foreign keys
// name.
type Catalog interface {
	ByOID(oid uint32) (*catalog.Relation, bool)
	Relations() []*catalog.Relation
}

// Env is the statement's side of checking.
type Env struct {
	Catalog Catalog
	// Ctx evaluates CHECK expressions; its time zone renders values in
	// messages.
	Ctx *exec.Ctx
	// PlanChecks binds the CHECK constraints of a table, reading through
	// r (the statement's reader, or the transaction in a cascade).
	PlanChecks func(rel *catalog.Relation, r storage.Reader) ([]lower.Check, error)
}

// Table is one table's constraints, prepared for a statement.
type Table struct {
	env    *Env
	rel    *catalog.Relation
	checks []lower.Check
	// out are the table's foreign keys; in are the foreign keys of other
	// tables (or this one) that reference it.
	out, in []*fkLink
	// validating: checking existing rows for ALTER TABLE ADD CONSTRAINT.
	validating bool
}

// Prepare prepares the constraints of rel for one statement reading
// through r.
func Prepare(env *Env, rel *catalog.Relation, r storage.Reader) (*Table, error) {
	t := &Table{env: env, rel: rel}
	if len(rel.Checks) > 0 {
		var err error
		if t.checks, err = env.PlanChecks(rel, r); err != nil {
			return nil, err
		}
	}
	var err error
	if t.out, err = foreignKeyLinks(env.Catalog, rel, rel.ForeignKeys); err != nil {
		return nil, err
	}
	for _, c := range env.Catalog.Relations() {
		for _, fk := range c.ForeignKeys {
			if fk.RefRel != rel.OID {
				continue
			}
			child := c
			if c.OID == rel.OID {
				child = rel
			}
			l, err := newFKLink(fk, child, rel)
			if err != nil {
				return nil, err
			}
			t.in = append(t.in, l)
		}
	}
	return t, nil
}

// Validating returns the constraints that ALTER TABLE ADD CONSTRAINT
// checks the existing rows of rel against with CheckNew: checks (a CHECK
// just added) and fks (a FOREIGN KEY just added).
func Validating(env *Env, rel *catalog.Relation, checks []lower.Check, fks []catalog.ForeignKey) (*Table, error) {
	out, err := foreignKeyLinks(env.Catalog, rel, fks)
	if err != nil {
		return nil, err
	}
	return &Table{env: env, rel: rel, checks: checks, out: out, validating: true}, nil
}

// NotNull checks row of rel against the NOT NULL constraints (primary
// key columns are NOT NULL); loc renders the failing row.
func NotNull(rel *catalog.Relation, row []types.Datum, ctx *exec.Ctx) error {
	for i, c := range rel.Columns {
		if c.Dropped || c.Hidden {
			continue
		}
		if row[i] == nil && (c.NotNull || slices.Contains(rel.PrimaryKey, i)) {
			return notNullViolation(rel, i, row, ctx)
		}
	}
	return nil
}

func notNullViolation(rel *catalog.Relation, col int, row []types.Datum, ctx *exec.Ctx) error {
	return sqlerr.New(sqlerr.NotNullViolation, "null value in column %q of relation %q violates not-null constraint", rel.Columns[col].Name, rel.Name).
		WithDetail("Failing row contains (%s).", RowText(rel, row, ctx))
}

// RowText renders a row of rel for "Failing row contains (...)".
func RowText(rel *catalog.Relation, row []types.Datum, ctx *exec.Ctx) string {
	var parts []string
	for i, c := range rel.Columns {
		if c.Dropped || c.Hidden {
			continue
		}
		if row[i] == nil {
			parts = append(parts, "null")
		} else {
			parts = append(parts, types.FormatText(row[i], c.Type, ctx.Env.Location))
		}
	}
	return strings.Join(parts, ", ")
}

// RowsBatch builds a batch of whole physical rows of rel.
func RowsBatch(rel *catalog.Relation, rows [][]types.Datum) *exec.Batch {
	cols := make([]arrow.Array, len(rel.Columns))
	ds := make([]types.Datum, len(rows))
	for j, c := range rel.Columns {
		for i, r := range rows {
			ds[i] = r[j]
		}
		cols[j] = types.ArrayFromDatums(c.Type, ds)
	}
	return exec.NewBatch(cols, len(rows))
}

// ReferencedKey finds how rows of parent are looked up by the values of
// cols: by the primary key (index nil) or a unique index. order[k] is the
// position in cols of the lookup key's k-th column.
func ReferencedKey(parent *catalog.Relation, cols []int) (order []int, index *storage.Index, ok bool) {
	match := func(key []int) ([]int, bool) {
		if len(key) != len(cols) {
			return nil, false
		}
		order := make([]int, len(key))
		for k, c := range key {
			j := slices.Index(cols, c)
			if j < 0 {
				return nil, false
			}
			order[k] = j
		}
		return order, true
	}
	if o, ok := match(parent.PrimaryKey); ok {
		return o, nil, true
	}
	for i := range parent.Indexes {
		ix := &parent.Indexes[i]
		if !ix.Unique {
			continue
		}
		if o, ok := match(ix.Columns); ok {
			return o, ix.Storage(), true
		}
	}
	return nil, nil, false
}

// maxCascadeDepth bounds chains of cascaded actions (a cycle of ON DELETE
// CASCADE keys through self-references ends when rows run out, but a
// bound keeps a bug from recursing forever).
const maxCascadeDepth = 1000

// fkLink is a foreign key resolved for checking.
type fkLink struct {
	fk            catalog.ForeignKey
	child, parent *catalog.Relation
	ptbl          *storage.Table
	// order[k] is the position in fk.Columns of the lookup key's k-th
	// column; index is nil for a lookup by the parent's primary key.
	order    []int
	index    *storage.Index
	keyTypes []types.T
}

// foreignKeyLinks resolves fks of child.
func foreignKeyLinks(cat Catalog, child *catalog.Relation, fks []catalog.ForeignKey) ([]*fkLink, error) {
	var out []*fkLink
	for _, fk := range fks {
		parent := child
		if fk.RefRel != child.OID {
			p, ok := cat.ByOID(fk.RefRel)
			if !ok {
				return nil, sqlerr.New(sqlerr.UndefinedTable, "table referenced by foreign key %q does not exist", fk.Name)
			}
			parent = p
		}
		l, err := newFKLink(fk, child, parent)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func newFKLink(fk catalog.ForeignKey, child, parent *catalog.Relation) (*fkLink, error) {
	order, index, ok := ReferencedKey(parent, fk.RefColumns)
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidForeignKey, "there is no unique constraint matching given keys for referenced table %q", parent.Name)
	}
	l := &fkLink{fk: fk, child: child, parent: parent, ptbl: parent.Table(), order: order, index: index}
	for _, j := range order {
		l.keyTypes = append(l.keyTypes, parent.Columns[fk.RefColumns[j]].Type)
	}
	return l, nil
}

// childKey is the lookup key of a child row (cast to the parent's types);
// ok is false when a referencing column is NULL (MATCH SIMPLE: no check).
func (l *fkLink) childKey(row []types.Datum) (key []types.Datum, ok bool, err error) {
	key = make([]types.Datum, len(l.order))
	for k, j := range l.order {
		ci := l.fk.Columns[j]
		d := row[ci]
		if d == nil {
			return nil, false, nil
		}
		if ct := l.child.Columns[ci].Type; ct.OID() != l.keyTypes[k].OID() {
			if d, err = types.Cast(d, ct, l.keyTypes[k], nil); err != nil {
				return nil, false, err
			}
		}
		key[k] = d
	}
	return key, true, nil
}

// parentKey is the lookup key of a parent row; ok is false when a
// referenced column is NULL (possible for a unique index).
func (l *fkLink) parentKey(row []types.Datum) ([]types.Datum, bool) {
	key := make([]types.Datum, len(l.order))
	for k, j := range l.order {
		if key[k] = row[l.fk.RefColumns[j]]; key[k] == nil {
			return nil, false
		}
	}
	return key, true
}

func (l *fkLink) encode(buf []byte, key []types.Datum) []byte {
	for k, d := range key {
		buf = types.AppendKey(buf, d, l.keyTypes[k], false)
	}
	return buf
}

// parentExists looks the parent row of key up.
func (l *fkLink) parentExists(r storage.Reader, key []types.Datum) (bool, error) {
	if l.index != nil {
		_, found, err := l.index.Lookup(r, l.ptbl, key)
		return found, err
	}
	_, found, err := r.Get(storage.TableKey(l.ptbl.ID, l.ptbl.EncodePK(nil, key)))
	return found, err
}

// keyText renders "(a, b)=(1, 2)" for messages: names are the child's
// (child) or the parent's columns, values in the constraint's order.
func (l *fkLink) keyText(ctx *exec.Ctx, row []types.Datum, child bool) string {
	rel, cols := l.parent, l.fk.RefColumns
	if child {
		rel, cols = l.child, l.fk.Columns
	}
	names, vals := "", ""
	for i, ci := range cols {
		if i > 0 {
			names, vals = names+", ", vals+", "
		}
		names += rel.Columns[ci].Name
		if row[ci] == nil {
			vals += "null"
		} else {
			vals += types.FormatText(row[ci], rel.Columns[ci].Type, ctx.Env.Location)
		}
	}
	return "(" + names + ")=(" + vals + ")"
}

func (l *fkLink) missingParent(ctx *exec.Ctx, row []types.Datum) error {
	return sqlerr.New(sqlerr.ForeignKeyViolation, "insert or update on table %q violates foreign key constraint %q", l.child.Name, l.fk.Name).
		WithDetail("Key %s is not present in table %q.", l.keyText(ctx, row, true), l.parent.Name)
}

func (l *fkLink) stillReferenced(ctx *exec.Ctx, parentRow []types.Datum) error {
	return sqlerr.New(sqlerr.ForeignKeyViolation, "update or delete on table %q violates foreign key constraint %q on table %q", l.parent.Name, l.fk.Name, l.child.Name).
		WithDetail("Key %s is still referenced from table %q.", l.keyText(ctx, parentRow, false), l.child.Name)
}

// CheckNew checks rows written in txn against the CHECK constraints and
// the foreign keys they hold.
func (t *Table) CheckNew(txn *storage.Txn, rows [][]types.Datum) error {
	if err := t.CheckChecks(rows); err != nil {
		return err
	}
	return t.CheckParents(txn, rows)
}

// CheckChecks evaluates the CHECK constraints over rows (to be written),
// a batch at a time.
func (t *Table) CheckChecks(rows [][]types.Datum) error {
	if len(t.checks) == 0 {
		return nil
	}
	for start := 0; start < len(rows); start += exec.BatchSize {
		part := rows[start:min(start+exec.BatchSize, len(rows))]
		b := RowsBatch(t.rel, part)
		for _, c := range t.checks {
			a, err := c.Expr.Eval(t.env.Ctx, b)
			if err != nil {
				b.Release()
				return err
			}
			bm := a.(*array.Boolean)
			bad := -1
			for i := range part {
				if bm.IsValid(i) && !bm.Value(i) {
					bad = i
					break
				}
			}
			a.Release()
			if bad >= 0 {
				b.Release()
				if t.validating {
					return sqlerr.New(sqlerr.CheckViolation, "check constraint %q of relation %q is violated by some row", c.Name, t.rel.Name)
				}
				return sqlerr.New(sqlerr.CheckViolation, "new row for relation %q violates check constraint %q", t.rel.Name, c.Name).
					WithDetail("Failing row contains (%s).", RowText(t.rel, part[bad], t.env.Ctx))
			}
		}
		b.Release()
	}
	return nil
}

// CheckParents checks that the parent row of every row written in txn
// exists, and registers the same check to be repeated at commit.
func (t *Table) CheckParents(txn *storage.Txn, rows [][]types.Datum) error {
	if len(t.out) == 0 || len(rows) == 0 {
		return nil
	}
	for _, l := range t.out {
		seen := map[string]bool{}
		var keys [][]types.Datum
		var buf []byte
		for _, row := range rows {
			key, ok, err := l.childKey(row)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			buf = l.encode(buf[:0], key)
			if seen[string(buf)] {
				continue
			}
			seen[string(buf)] = true
			found, err := l.parentExists(txn, key)
			if err != nil {
				return err
			}
			if !found {
				return l.missingParent(t.env.Ctx, row)
			}
			keys = append(keys, key)
		}
		if len(keys) == 0 {
			continue
		}
		l, ctx := l, t.env.Ctx
		txn.RecheckAtCommit(func(r storage.Reader) error {
			for _, key := range keys {
				found, err := l.parentExists(r, key)
				if err != nil {
					return err
				}
				if !found {
					row := make([]types.Datum, len(l.child.Columns))
					for k, j := range l.order {
						row[l.fk.Columns[j]] = key[k]
					}
					return l.missingParent(ctx, row)
				}
			}
			return nil
		})
	}
	return nil
}

// AfterUpdate checks the rows an UPDATE wrote in txn (news[i] replaced
// olds[i]) and acts on the rows that referenced the old ones.
func (t *Table) AfterUpdate(txn *storage.Txn, olds, news [][]types.Datum) error {
	if err := t.CheckChecks(news); err != nil {
		return err
	}
	if len(t.out) > 0 {
		// Only rows whose referencing columns changed need their parent.
		var changed [][]types.Datum
		for i := range news {
			for _, l := range t.out {
				if !sameColumns(l.child, olds[i], news[i], l.fk.Columns) {
					changed = append(changed, news[i])
					break
				}
			}
		}
		if err := t.CheckParents(txn, changed); err != nil {
			return err
		}
	}
	return t.referencedChanged(txn, olds, news, 0)
}

// AfterDelete acts on the rows that referenced the ones deleted in txn.
func (t *Table) AfterDelete(txn *storage.Txn, olds [][]types.Datum) error {
	return t.referencedChanged(txn, olds, nil, 0)
}

// sameColumns reports whether rows a and b of rel agree on cols.
func sameColumns(rel *catalog.Relation, a, b []types.Datum, cols []int) bool {
	for _, c := range cols {
		if (a[c] == nil) != (b[c] == nil) {
			return false
		}
		if a[c] != nil && types.Compare(a[c], b[c], rel.Columns[c].Type) != 0 {
			return false
		}
	}
	return true
}

// childMatch is a child row that references a changed parent key.
type childMatch struct {
	key    []byte
	row    []types.Datum
	parent int // index into the changed parents
}

// referencedChanged enforces the foreign keys that reference t.rel after
// parent rows olds were deleted (news nil) or replaced by news.
func (t *Table) referencedChanged(txn *storage.Txn, olds, news [][]types.Datum, depth int) error {
	if len(t.in) == 0 || len(olds) == 0 {
		return nil
	}
	if depth > maxCascadeDepth {
		return sqlerr.New(sqlerr.ProgramLimitExceeded, "foreign key actions nest deeper than %d tables", maxCascadeDepth)
	}
	for _, l := range t.in {
		// The parent keys that went away, encoded, to the row they left.
		gone := map[string]int{}
		for i, old := range olds {
			key, ok := l.parentKey(old)
			if !ok {
				continue
			}
			if news != nil && sameColumns(l.parent, old, news[i], l.fk.RefColumns) {
				continue
			}
			gone[string(l.encode(nil, key))] = i
		}
		if len(gone) == 0 {
			continue
		}
		matches, err := l.referencing(txn, gone)
		if err != nil {
			return err
		}
		action := l.fk.OnDelete
		if news != nil {
			action = l.fk.OnUpdate
		}
		switch action {
		case catalog.FKCascade, catalog.FKSetNull:
			if err := t.cascade(txn, l, action, matches, news, depth); err != nil {
				return err
			}
			continue
		}
		for _, m := range matches {
			if action == catalog.FKNoAction {
				// NO ACTION looks at the end of the statement: a key
				// written again (by another row) satisfies the child.
				key, _ := l.parentKey(olds[m.parent])
				if found, err := l.parentExists(txn, key); err != nil {
					return err
				} else if found {
					continue
				}
			}
			return l.stillReferenced(t.env.Ctx, olds[m.parent])
		}
		l, gone, ctx := l, gone, t.env.Ctx
		txn.RecheckAtCommit(func(r storage.Reader) error {
			ms, err := l.referencing(r, gone)
			if err != nil || len(ms) == 0 {
				return err
			}
			for _, m := range ms {
				key, _ := l.parentKey(olds[m.parent])
				if found, err := l.parentExists(r, key); err != nil || !found {
					if err != nil {
						return err
					}
					return l.stillReferenced(ctx, olds[m.parent])
				}
			}
			return nil
		})
	}
	return nil
}

// referencing scans the child table for rows whose key is in gone.
func (l *fkLink) referencing(r storage.Reader, gone map[string]int) ([]childMatch, error) {
	it, err := l.child.Table().Scan(r, storage.KeySpan{})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []childMatch
	var buf []byte
	for it.Next() {
		row := it.Row()
		key, ok, err := l.childKey(row)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		buf = l.encode(buf[:0], key)
		if i, hit := gone[string(buf)]; hit {
			out = append(out, childMatch{key: append([]byte(nil), it.Key()...), row: row, parent: i})
		}
	}
	return out, it.Err()
}

// cascade applies ON DELETE/UPDATE CASCADE or SET NULL to the matching
// child rows, then the child's own referencing tables in turn.
func (t *Table) cascade(txn *storage.Txn, l *fkLink, action catalog.FKAction, matches []childMatch, news [][]types.Datum, depth int) error {
	if len(matches) == 0 {
		return nil
	}
	child := l.child
	ctc, err := Prepare(t.env, child, txn)
	if err != nil {
		return err
	}
	it := child.IndexedTable()
	olds := make([][]types.Datum, 0, len(matches))
	var updated [][]types.Datum
	for _, m := range matches {
		olds = append(olds, m.row)
		if action == catalog.FKCascade && news == nil {
			if err := it.Delete(txn, m.key, m.row); err != nil {
				return err
			}
			continue
		}
		nr := append([]types.Datum(nil), m.row...)
		for j, ci := range l.fk.Columns {
			if action == catalog.FKSetNull {
				nr[ci] = nil
				if child.Columns[ci].NotNull || slices.Contains(child.PrimaryKey, ci) {
					return notNullViolation(child, ci, nr, t.env.Ctx)
				}
				continue
			}
			v := news[m.parent][l.fk.RefColumns[j]]
			if pt, ct := l.parent.Columns[l.fk.RefColumns[j]].Type, child.Columns[ci].Type; pt.OID() != ct.OID() {
				if v, err = types.Cast(v, pt, ct, nil); err != nil {
					return err
				}
			}
			nr[ci] = v
		}
		if err := replaceRow(txn, child, it, m.key, m.row, nr); err != nil {
			return err
		}
		updated = append(updated, nr)
	}
	if updated == nil {
		return ctc.referencedChanged(txn, olds, nil, depth+1)
	}
	return ctc.referencedChanged(txn, olds, updated, depth+1)
}

// replaceRow writes nr over old (stored under the encoded key pk) in a
// table, moving it when its primary key changed.
func replaceRow(txn *storage.Txn, rel *catalog.Relation, it *storage.IndexedTable, pk []byte, old, nr []types.Datum) error {
	if len(rel.PrimaryKey) > 0 && !sameColumns(rel, old, nr, rel.PrimaryKey) {
		if err := it.Delete(txn, pk, old); err != nil {
			return err
		}
		return it.Insert(txn, [][]types.Datum{nr})
	}
	return it.Update(txn, pk, old, nr)
}
