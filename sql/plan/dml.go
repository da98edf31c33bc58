package plan

import (
	"fmt"
	"strings"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// Data-modifying statements. INSERT, UPDATE and DELETE are plan nodes too:
// each names its target table and says, in scalars over the table's
// physical row (every column in attnum order, dropped ones included as
// NULL), what it writes and what it returns. The batch lowering
// (lower.Write) compiles them for the engine's writer, which applies them
// to the statement's transaction with the table's constraints and
// indexes.
//
// Their rows are not a relation's rows: OutputTypes are the RETURNING
// list's types, the rows a statement with RETURNING sends back.

// Insert writes the rows of Input, whole physical rows of Table (the
// target list mapped onto the columns, the others set to their
// DEFAULT), into Table.
type Insert struct {
	Table *catalog.Relation
	Input Rel
	// OnConflict says what happens to a row whose key exists; nil means
	// the unique violation is an error.
	OnConflict *OnConflict
	// Checks are Table's CHECK constraints, which every row written
	// (inserted, or updated by DO UPDATE) must pass.
	Checks []Check
	// Returning is the RETURNING list over the physical row written.
	Returning []Scalar
}

// ConflictAction is what INSERT ... ON CONFLICT does with a row whose
// arbiter key exists.
type ConflictAction int

// The actions of ON CONFLICT.
const (
	DoNothing ConflictAction = iota
	DoUpdate
)

// OnConflict is the ON CONFLICT clause of an INSERT.
type OnConflict struct {
	Action ConflictAction
	// Arbiter is the unique constraint that detects the conflict.
	Arbiter ConflictArbiter
	// DO UPDATE: Set computes the new physical row over the pair
	// [existing row..., excluded row...], and Where (nil: always) picks
	// the rows that are updated.
	Set   []Scalar
	Where Scalar
}

// ConflictArbiter says which unique constraint INSERT ... ON CONFLICT
// checks for an existing row.
type ConflictArbiter struct {
	// Any is DO NOTHING without a conflict target: every unique
	// constraint (the primary key and each unique index) is an arbiter.
	Any bool
	// Index is the arbiter unique index; nil means the primary key.
	Index *catalog.Index
}

// Update changes the rows of Table that lie within Bounds (a range of its
// storage key, evaluated when the statement runs) and pass Filter (nil:
// every row): Set computes each one's new physical row from the old one.
// UPDATE ... FROM reaches here with the joined relations as correlated
// subqueries of Set and Filter.
type Update struct {
	Table  *catalog.Relation
	Bounds KeyBounds
	Filter Scalar
	Set    []Scalar
	// Checks are Table's CHECK constraints, which every new row must
	// pass.
	Checks    []Check
	Returning []Scalar
}

// Delete removes the rows of Table within Bounds that pass Filter.
// DELETE ... USING reaches here with an EXISTS subquery in Filter.
type Delete struct {
	Table     *catalog.Relation
	Bounds    KeyBounds
	Filter    Scalar
	Returning []Scalar
}

// Check is a CHECK constraint of a table, bound over its physical row: a
// row passes unless Expr is false on it.
type Check struct {
	Name string
	Expr Scalar
}

// OutputTypes returns the types of the RETURNING list.
func (i *Insert) OutputTypes() []types.T { return scalarTypes(i.Returning) }

// OutputTypes returns the types of the RETURNING list.
func (u *Update) OutputTypes() []types.T { return scalarTypes(u.Returning) }

// OutputTypes returns the types of the RETURNING list.
func (d *Delete) OutputTypes() []types.T { return scalarTypes(d.Returning) }

func scalarTypes(es []Scalar) []types.T {
	ts := make([]types.T, len(es))
	for i, e := range es {
		ts[i] = e.Type()
	}
	return ts
}

// String renders the insert for plan trees: "insert t on conflict (a) do
// update set b = excluded.b returning (a)"; its input follows indented.
func (i *Insert) String() string {
	var sb strings.Builder
	sb.WriteString("insert " + i.Table.Name)
	if oc := i.OnConflict; oc != nil {
		sb.WriteString(" on conflict")
		switch {
		case oc.Arbiter.Any:
		case oc.Arbiter.Index != nil:
			sb.WriteString(" " + oc.Arbiter.Index.Name)
		default:
			sb.WriteString(" " + columnNames(i.Table, i.Table.PrimaryKey))
		}
		if oc.Action == DoNothing {
			sb.WriteString(" do nothing")
		} else {
			n := len(i.Table.Columns)
			set := make([]Scalar, len(oc.Set))
			for k, e := range oc.Set {
				set[k] = excludedNames(e, n)
			}
			sb.WriteString(" do update set " + assignments(i.Table, set))
			if oc.Where != nil {
				fmt.Fprintf(&sb, " where %s", excludedNames(oc.Where, n))
			}
		}
	}
	writeChecks(&sb, i.Checks)
	writeReturning(&sb, i.Returning)
	return sb.String()
}

// String renders the update: "update t key a = 1 set b = 'x' filter
// (c > 2) returning (a)"; SET shows the assigned columns only.
func (u *Update) String() string {
	var sb strings.Builder
	sb.WriteString("update " + u.Table.Name)
	writeTarget(&sb, u.Table, &u.Bounds, u.Filter)
	sb.WriteString(" set " + assignments(u.Table, u.Set))
	writeChecks(&sb, u.Checks)
	writeReturning(&sb, u.Returning)
	return sb.String()
}

// String renders the delete: "delete t key a = 1 filter (c > 2)".
func (d *Delete) String() string {
	var sb strings.Builder
	sb.WriteString("delete " + d.Table.Name)
	writeTarget(&sb, d.Table, &d.Bounds, d.Filter)
	writeReturning(&sb, d.Returning)
	return sb.String()
}

func writeTarget(sb *strings.Builder, r *catalog.Relation, b *KeyBounds, filter Scalar) {
	if !b.Empty() {
		sb.WriteString(" key " + keyBoundsText(r, r.StorageKey(), b))
	}
	if filter != nil {
		fmt.Fprintf(sb, " filter %s", filter)
	}
}

func writeChecks(sb *strings.Builder, cs []Check) {
	for _, c := range cs {
		fmt.Fprintf(sb, " check %s %s", c.Name, c.Expr)
	}
}

func writeReturning(sb *strings.Builder, es []Scalar) {
	if len(es) > 0 {
		sb.WriteString(" returning (" + list(es) + ")")
	}
}

// assignments lists "col = value" for each column of set (a whole
// physical row) that is not just the old value of that column.
func assignments(r *catalog.Relation, set []Scalar) string {
	var parts []string
	for i, e := range set {
		if c, ok := e.(*ColRef); ok && c.Idx == i {
			continue
		}
		name := "?"
		if i < len(r.Columns) {
			name = r.Columns[i].Name
		}
		parts = append(parts, name+" = "+e.String())
	}
	return strings.Join(parts, ", ")
}

// excludedNames names the columns of the excluded row (from column n on)
// in e "excluded.name", for plan trees.
func excludedNames(e Scalar, n int) Scalar {
	return Rewrite(e, func(x Scalar) (Scalar, bool) {
		if c, ok := x.(*ColRef); ok && c.Idx >= n {
			return &ColRef{Idx: c.Idx, T: c.T, Name: "excluded." + c.Name}, true
		}
		return nil, false
	})
}

func columnNames(r *catalog.Relation, cols []int) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = r.Columns[c].Name
	}
	return "(" + strings.Join(names, ", ") + ")"
}
