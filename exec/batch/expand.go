package batch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/types"
)

// ExpandSet is one copy of every input row of an Expand: the columns in
// Nulls are NULL, and the constants Consts (int4) follow the input's
// columns.
type ExpandSet struct {
	Nulls  []int
	Consts []int64
}

// ExpandColumns returns the columns of one set's copy of n rows cols of
// types ts: the input columns shared (retained) but for the nulled ones,
// then the set's constants.
func ExpandColumns(cols []arrow.Array, ts []types.T, n int, set ExpandSet) []arrow.Array {
	out := make([]arrow.Array, 0, len(cols)+len(set.Consts))
	for i, c := range cols {
		if slices.Contains(set.Nulls, i) {
			out = append(out, nullColumn(ts[i], n))
			continue
		}
		c.Retain()
		out = append(out, c)
	}
	for _, v := range set.Consts {
		out = append(out, types.ConstArray(types.TInt4, v, n))
	}
	return out
}

// ExplainExpandSets renders sets as EXPLAIN shows them: "(#1=null 0 1),
// (0 0)".
func ExplainExpandSets(sets []ExpandSet) string {
	parts := make([]string, len(sets))
	for i, s := range sets {
		var f []string
		for _, c := range s.Nulls {
			f = append(f, fmt.Sprintf("#%d=null", c))
		}
		for _, c := range s.Consts {
			f = append(f, fmt.Sprint(c))
		}
		parts[i] = "(" + strings.Join(f, " ") + ")"
	}
	return strings.Join(parts, ", ")
}

// Expand emits every input batch once per set (GROUP BY GROUPING SETS,
// ROLLUP and CUBE feed one aggregation this way).
type Expand struct {
	in   exec.Operator
	sets []ExpandSet
	ts   []types.T
	// cur is the input batch being expanded, next the set to emit next.
	cur  *exec.Batch
	next int
}

// NewExpand returns an expansion of in into sets.
func NewExpand(in exec.Operator, sets []ExpandSet) exec.Operator {
	ts := append([]types.T{}, in.Types()...)
	if len(sets) > 0 {
		for range sets[0].Consts {
			ts = append(ts, types.TInt4)
		}
	}
	return &Expand{in: in, sets: sets, ts: ts}
}

func (e *Expand) Open(ctx *exec.Ctx) error { return e.in.Open(ctx) }

func (e *Expand) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if e.cur == nil || e.next == len(e.sets) {
		e.cur.Release()
		e.cur = nil
		b, err := nextRows(ctx, e.in)
		if err != nil || b == nil {
			return nil, err
		}
		e.cur, e.next = b, 0
	}
	set := e.sets[e.next]
	e.next++
	return exec.NewBatch(ExpandColumns(e.cur.Cols, e.in.Types(), e.cur.N, set), e.cur.N), nil
}

func (e *Expand) Close() {
	e.cur.Release()
	e.cur = nil
	e.in.Close()
}
func (e *Expand) Types() []types.T          { return e.ts }
func (e *Expand) Explain() string           { return "Expand " + ExplainExpandSets(e.sets) }
func (e *Expand) Children() []exec.Operator { return []exec.Operator{e.in} }
