package plan

import (
	"fmt"

	"streamsql/sql/types"
)

// Expand emits every row of Input once per set in Sets: Input's columns,
// with the columns the set lists in Nulls replaced by NULL, then the
// set's Consts as int4 columns (the same number in every set). It feeds
// GROUP BY GROUPING SETS, ROLLUP and CUBE: one aggregation grouped by a
// set number in Consts and every grouping column sees each row once per
// grouping set, with NULL in the columns the set leaves out, instead of
// one aggregation per set over its own copy of the input (Flink's and
// RisingWave's Expand).
type Expand struct {
	Input Rel
	Sets  []ExpandSet
}

// ExpandSet is one copy of every row of an Expand.
type ExpandSet struct {
	// Nulls lists the input columns that are NULL in this set's rows.
	Nulls []int
	// Consts are the values of the columns Expand adds after Input's.
	Consts []int64
}

// OutputTypes returns Input's column types, then one int4 per constant.
func (e *Expand) OutputTypes() []types.T {
	ts := append([]types.T{}, e.Input.OutputTypes()...)
	if len(e.Sets) > 0 {
		for range e.Sets[0].Consts {
			ts = append(ts, types.TInt4)
		}
	}
	return ts
}

// Nulled lists, ascending, the input columns that are NULL in at least
// one set.
func (e *Expand) Nulled() []int {
	var cols []int
	for _, s := range e.Sets {
		cols = append(cols, s.Nulls...)
	}
	return sortedUnique(cols)
}

// String renders the sets for plan trees, the nulled columns and the
// constants of each: "expand nulls=[[] [1]] consts=[[0 0] [1 1]]".
func (e *Expand) String() string {
	nulls := make([][]int, len(e.Sets))
	consts := make([][]int64, len(e.Sets))
	for i, s := range e.Sets {
		nulls[i], consts[i] = s.Nulls, s.Consts
	}
	return fmt.Sprintf("expand nulls=%v consts=%v", nulls, consts)
}

// StreamProps: each input row is emitted once per set, told apart by the
// constants; an input key survives with the constants added when no set
// nulls a key column. Watermarks stay on the columns no set nulls.
func (e *Expand) StreamProps() Props {
	in := StreamProps(e.Input)
	nulled := e.Nulled()
	w := len(e.Input.OutputTypes())
	out := Props{AppendOnly: in.AppendOnly}
	if in.KeyKnown && len(intersect(in.Key, nulled)) == 0 {
		out.KeyKnown = true
		out.Key = append([]int{}, in.Key...)
		for c := w; c < len(e.OutputTypes()); c++ {
			out.Key = append(out.Key, c)
		}
		out.Key = sortedUnique(out.Key)
	}
	for _, c := range in.Watermarks {
		if !contains(nulled, c) {
			out.Watermarks = append(out.Watermarks, c)
		}
	}
	return out
}
