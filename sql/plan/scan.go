package plan

import (
	"strings"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// Scan reads the stored rows of a table or materialized view: the columns
// Cols (positions in Rel.Columns), in the order of its primary key or of
// one of its secondary indexes, narrowed to the key range that Bounds
// describe. Bounds are scalars (constants, parameters, immutable
// functions of them) evaluated when the scan opens, so that one plan
// serves every set of arguments: SELECT v FROM t WHERE id = $1 is a point
// lookup whatever $1 is.
type Scan struct {
	Rel  *catalog.Relation
	Cols []int
	// RowID makes the scan output, after Cols, the hidden row id (int8)
	// of a table without a primary key: the key its row is stored and
	// locked under.
	RowID bool
	// Index is the position in Rel.Indexes of the secondary index read,
	// or -1 for the primary key order (the table itself). An index scan
	// fetches each entry's row by primary key.
	Index  int
	Bounds KeyBounds
}

// KeyBounds narrow a scan to the keys that start with the values Eq (one
// for each leading key column) and whose next key column lies between Lo
// and Hi. Every value is a scalar of the key column's type or one cast to
// it when the scan opens; a value that the column's type cannot hold
// exactly makes an equality match nothing and leaves a range open on that
// side. Lo and Hi list candidate bounds (a > $1 AND a >= $2), of which
// the tightest applies. A NULL value matches nothing. The predicate the
// bounds come from stays above the scan: bounds only narrow.
type KeyBounds struct {
	Eq     []Scalar
	Lo, Hi []Bound
}

// Bound is one end of a key range.
type Bound struct {
	Value     Scalar
	Inclusive bool
}

// Empty reports bounds that narrow nothing: the whole relation is read.
func (b *KeyBounds) Empty() bool { return len(b.Eq) == 0 && len(b.Lo) == 0 && len(b.Hi) == 0 }

// Scalars lists every value of the bounds.
func (b *KeyBounds) Scalars() []Scalar {
	out := append([]Scalar{}, b.Eq...)
	for _, x := range b.Lo {
		out = append(out, x.Value)
	}
	for _, x := range b.Hi {
		out = append(out, x.Value)
	}
	return out
}

// KeyColumns returns the positions in Rel.Columns of the scan's key
// columns: the primary key's, or the index's (nil for a table without a
// primary key read in row id order).
func (s *Scan) KeyColumns() []int {
	if s.Index >= 0 {
		return s.Rel.Indexes[s.Index].Columns
	}
	if s.Rel.Kind == catalog.KindMatView && len(s.Rel.PrimaryKey) == 0 {
		return s.Rel.ViewKey
	}
	return s.Rel.PrimaryKey
}

// OutputTypes returns the types of Cols, then int8 for the row id.
func (s *Scan) OutputTypes() []types.T {
	ts := make([]types.T, 0, len(s.Cols)+1)
	for _, c := range s.Cols {
		ts = append(ts, s.Rel.Columns[c].Type)
	}
	if s.RowID {
		ts = append(ts, types.TInt8)
	}
	return ts
}

// String renders the scan for plan trees: "scan t", "scan t key a = $1",
// "scan t@t_b_idx key b = 'x', c >= 5", "scan t rowid".
func (s *Scan) String() string {
	var sb strings.Builder
	sb.WriteString("scan " + s.Rel.Name)
	if s.Index >= 0 {
		sb.WriteString("@" + s.Rel.Indexes[s.Index].Name)
	}
	if s.RowID {
		sb.WriteString(" rowid")
	}
	if s.Bounds.Empty() {
		return sb.String()
	}
	sb.WriteString(" key " + keyBoundsText(s.Rel, s.KeyColumns(), &s.Bounds))
	return sb.String()
}

// keyBoundsText renders bounds b on the key columns keys of r:
// "a = $1, b >= 5".
func keyBoundsText(r *catalog.Relation, keys []int, b *KeyBounds) string {
	name := func(i int) string {
		if i < len(keys) {
			return r.Columns[keys[i]].Name
		}
		return "?"
	}
	var parts []string
	for i, e := range b.Eq {
		parts = append(parts, name(i)+" = "+e.String())
	}
	next := name(len(b.Eq))
	for _, x := range b.Lo {
		parts = append(parts, next+bracketOp(">", x.Inclusive)+x.Value.String())
	}
	for _, x := range b.Hi {
		parts = append(parts, next+bracketOp("<", x.Inclusive)+x.Value.String())
	}
	return strings.Join(parts, ", ")
}

func bracketOp(op string, inclusive bool) string {
	if inclusive {
		return " " + op + "= "
	}
	return " " + op + " "
}
