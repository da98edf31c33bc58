package stream

import (
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec/batch"
	"streamsql/sql/types"
)

// ExpandSpec emits every row once per set (GROUP BY GROUPING SETS,
// ROLLUP and CUBE: one aggregation keyed by the set's number and every
// grouping column instead of one aggregation per set). Each row first
// gets copies of the input columns Copy appended after its own columns;
// then, per set, the columns in the set's Nulls (positions after the
// copying, so copies) are NULL and the set's constants follow. The input
// columns themselves are never nulled: the input's stream key with the
// set's number keys the output, and watermarks pass through on them.
// Ops pass through, so an update stays an update in every set.
//
// State: none.
type ExpandSpec struct {
	Copy []int
	Sets []batch.ExpandSet
}

func (s *ExpandSpec) Explain() string {
	e := "StreamExpand "
	if len(s.Copy) > 0 {
		parts := make([]string, len(s.Copy))
		for i, c := range s.Copy {
			parts[i] = "#" + strconv.Itoa(c)
		}
		e += "copy " + strings.Join(parts, ", ") + " into "
	}
	return e + batch.ExplainExpandSets(s.Sets)
}

func (s *ExpandSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	var ts []types.T
	if len(b.Inputs) > 0 {
		ts = slices.Clone(b.Inputs[0].Types)
	}
	for _, c := range s.Copy {
		ts = append(ts, ts[c])
	}
	return &expand{spec: s, types: ts, out: out}, nil
}

type expand struct {
	spec  *ExpandSpec
	types []types.T // input columns, then the copies
	out   Output
}

func (e *expand) Chunk(_ int, c *Chunk) error {
	defer c.Release()
	cols := c.Cols
	if len(e.spec.Copy) > 0 {
		cols = make([]arrow.Array, 0, len(c.Cols)+len(e.spec.Copy))
		cols = append(cols, c.Cols...)
		for _, k := range e.spec.Copy {
			cols = append(cols, c.Cols[k])
		}
	}
	for _, set := range e.spec.Sets {
		out := batch.ExpandColumns(cols, e.types, c.N, set)
		// Each set's chunk has its own ops: the next operator may keep them.
		if err := e.out.Chunk(NewChunk(out, slices.Clone(c.Ops))); err != nil {
			return err
		}
	}
	return nil
}

func (e *expand) Watermark(_ int, w Watermark) error { return e.out.Watermark(w) }

func (e *expand) Barrier(b *Barrier) error { return e.out.Barrier(b) }

// TakesIdleMarks: idle marks pass through (see Output.Watermark).
func (e *expand) TakesIdleMarks() bool { return true }
