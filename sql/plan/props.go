package plan

import (
	"fmt"
	"sort"
	"strings"
)

// Stream properties: what the streaming side needs to know about the
// changelog a relational node produces, derived bottom-up from its inputs.
//
//   - Stream key: columns whose values identify a row of the changelog (no
//     two live rows share them), so that a delete or an update can name
//     the row it retracts. A key of no columns means at most one row.
//   - Append-only: the changelog holds inserts only, never a retraction.
//     Append-only inputs let joins and aggregations keep no retraction
//     state.
//   - Watermark columns: columns that carry a watermark (no later row has
//     a smaller value than the last watermark, up to the source's delay),
//     which close windows and let operators drop state.
//   - Monotonic columns: columns whose values never decrease along the
//     changelog (proctime(), a counter).
//
// Every property is conservative: a node that cannot prove one reports
// it unknown (no key, not append-only, no watermark or monotonic
// columns). Operators this package does not know report unknown unless
// they implement PropsProvider.

// Props are the stream properties of a relation's output.
type Props struct {
	// Key lists the stream key columns in ascending order; it is
	// meaningful only when KeyKnown (an empty known key means at most one
	// row).
	Key      []int
	KeyKnown bool
	// AppendOnly is true when the changelog is provably inserts only.
	AppendOnly bool
	// Watermarks and Monotonic list columns, ascending.
	Watermarks []int
	Monotonic  []int
}

// PropsProvider is implemented by relations defined outside this package
// (the planner's leaves) that know their own stream properties.
type PropsProvider interface {
	StreamProps() Props
}

// String renders the properties as plan tests print them:
// "key=[0 1] append-only watermarks=[2] monotonic=[2]", with "key=?"
// when no key is known.
func (p Props) String() string {
	var parts []string
	if p.KeyKnown {
		parts = append(parts, fmt.Sprintf("key=%v", p.Key))
	} else {
		parts = append(parts, "key=?")
	}
	if p.AppendOnly {
		parts = append(parts, "append-only")
	}
	if len(p.Watermarks) > 0 {
		parts = append(parts, fmt.Sprintf("watermarks=%v", p.Watermarks))
	}
	if len(p.Monotonic) > 0 {
		parts = append(parts, fmt.Sprintf("monotonic=%v", p.Monotonic))
	}
	return strings.Join(parts, " ")
}

// StreamProps derives the stream properties of r from its inputs.
func StreamProps(r Rel) Props {
	switch x := r.(type) {
	case PropsProvider:
		return x.StreamProps()
	case *Values:
		// A literal relation is inserted once and never changes; with at
		// most one row, no columns at all identify it.
		p := Props{AppendOnly: true}
		if len(x.Rows) <= 1 {
			p.KeyKnown, p.Key = true, []int{}
		}
		return p
	case *Filter:
		// A subset of the input's rows, unchanged.
		return StreamProps(x.Input)
	case *Sort:
		// A changelog has no order: sorting changes nothing of it.
		return StreamProps(x.Input)
	case *Project:
		return projectProps(x)
	case *Limit:
		// In a stream a limit must retract a row when an earlier one
		// arrives; the rows it keeps are input rows, still keyed alike.
		in := StreamProps(x.Input)
		return Props{Key: in.Key, KeyKnown: in.KeyKnown}
	case *Distinct:
		return distinctProps(x)
	case *SetOp:
		return setOpProps(x)
	case *Join:
		return joinProps(x)
	}
	return Props{}
}

// projectProps maps the input's properties through plain column
// references: a key survives when every key column is projected, a
// watermark or monotonic column wherever it is projected.
func projectProps(x *Project) Props {
	in := StreamProps(x.Input)
	out := Props{AppendOnly: in.AppendOnly}
	at := map[int]int{} // input column -> first output column
	for i, e := range x.Exprs {
		if c, ok := e.(*ColRef); ok {
			if _, seen := at[c.Idx]; !seen {
				at[c.Idx] = i
			}
			if contains(in.Watermarks, c.Idx) {
				out.Watermarks = append(out.Watermarks, i)
			}
			if contains(in.Monotonic, c.Idx) {
				out.Monotonic = append(out.Monotonic, i)
			}
		}
	}
	if in.KeyKnown {
		key := []int{}
		ok := true
		for _, k := range in.Key {
			o, found := at[k]
			if !found {
				ok = false
				break
			}
			key = append(key, o)
		}
		if ok {
			sort.Ints(key)
			out.Key, out.KeyKnown = key, true
		}
	}
	return out
}

// distinctProps: DISTINCT makes every column together a key (DISTINCT ON
// its On columns). Over an append-only input a full DISTINCT emits each
// new row once and never takes it back; DISTINCT ON keeps the first row of
// a group by an order, which a later row can displace.
func distinctProps(x *Distinct) Props {
	in := StreamProps(x.Input)
	out := Props{Watermarks: in.Watermarks, Monotonic: in.Monotonic, KeyKnown: true}
	if x.On != nil {
		out.Key = sortedCopy(x.On)
		return out
	}
	out.Key = allColumns(len(x.OutputTypes()))
	out.AppendOnly = in.AppendOnly
	return out
}

// setOpProps: UNION, INTERSECT and EXCEPT without ALL return distinct
// rows (every column a key). Rows of a UNION or INTERSECT once present
// stay present while both inputs only grow; a row arriving on EXCEPT's
// right side retracts one of its result. Interleaving two inputs keeps a
// watermark only where both inputs have it, and no monotonic column.
func setOpProps(x *SetOp) Props {
	l, r := StreamProps(x.Left), StreamProps(x.Right)
	out := Props{Watermarks: intersect(l.Watermarks, r.Watermarks)}
	if !x.All {
		out.Key, out.KeyKnown = allColumns(len(x.OutputTypes())), true
	}
	if x.Kind != Except {
		out.AppendOnly = l.AppendOnly && r.AppendOnly
	}
	if x.Kind != Union {
		// INTERSECT and EXCEPT return left rows only: the left's
		// watermarks hold for them.
		out.Watermarks = l.Watermarks
	}
	return out
}

// joinProps: the output of an inner or outer join is identified by the
// left key and the right key together (a null-padded row by its one side's
// key); when the equi-join keys cover one side's stream key, each row of
// the other side meets at most one row of it and the other side's key
// alone suffices. Only an inner join of append-only inputs is append-only
// (an outer join retracts its null-padded row when a match arrives). An
// equi-join key column keeps a watermark when both sides have one on it.
func joinProps(x *Join) Props {
	l, r := StreamProps(x.Left), StreamProps(x.Right)
	lw := len(x.Left.OutputTypes())
	if x.Lateral {
		return Props{}
	}
	switch x.Kind {
	case SemiJoin, AntiJoin:
		// Left rows, each at most once; an anti join retracts a left
		// row when its first match arrives.
		out := Props{Key: l.Key, KeyKnown: l.KeyKnown, Watermarks: l.Watermarks, Monotonic: l.Monotonic}
		out.AppendOnly = x.Kind == SemiJoin && l.AppendOnly && r.AppendOnly
		return out
	}
	out := Props{}
	if x.Kind == InnerJoin {
		out.AppendOnly = l.AppendOnly && r.AppendOnly
	}
	lkeys, rkeys := keyColumnRefs(x.Keys.Left), keyColumnRefs(x.Keys.Right)
	switch {
	case r.KeyKnown && covers(rkeys, r.Key) && l.KeyKnown && (x.Kind == InnerJoin || x.Kind == LeftJoin):
		out.Key, out.KeyKnown = l.Key, true
	case l.KeyKnown && covers(lkeys, l.Key) && r.KeyKnown && (x.Kind == InnerJoin || x.Kind == RightJoin):
		out.Key, out.KeyKnown = shift(r.Key, lw), true
	case l.KeyKnown && r.KeyKnown:
		out.Key, out.KeyKnown = append(append([]int{}, l.Key...), shift(r.Key, lw)...), true
	}
	if x.Kind == InnerJoin {
		for i := range lkeys {
			lc, rc := lkeys[i], rkeys[i]
			if lc >= 0 && rc >= 0 && contains(l.Watermarks, lc) && contains(r.Watermarks, rc) {
				out.Watermarks = append(out.Watermarks, lc, lw+rc)
			}
		}
		out.Watermarks = sortedUnique(out.Watermarks)
	}
	return out
}

// keyColumnRefs gives, for each join key, its column when it is a plain
// column reference, else -1.
func keyColumnRefs(keys []Scalar) []int {
	out := make([]int, len(keys))
	for i, k := range keys {
		out[i] = -1
		if c, ok := k.(*ColRef); ok {
			out[i] = c.Idx
		}
	}
	return out
}

// covers reports whether every column of key is among cols.
func covers(cols, key []int) bool {
	for _, k := range key {
		if !contains(cols, k) {
			return false
		}
	}
	return true
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func shift(xs []int, d int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = x + d
	}
	return out
}

func allColumns(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func sortedCopy(xs []int) []int {
	out := append([]int{}, xs...)
	sort.Ints(out)
	return out
}

func sortedUnique(xs []int) []int {
	sort.Ints(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// RelTreeProps renders r as RelTree does, with each node's stream
// properties after its types.
func RelTreeProps(r Rel) string {
	var sb strings.Builder
	writeRel(&sb, r, 0, func(n Rel) string { return StreamProps(n).String() })
	return sb.String()
}
