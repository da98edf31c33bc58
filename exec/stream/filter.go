package stream

import (
	"streamsql/exec/expr"
)

// FilterSpec keeps the rows for which Pred is true. An update pair whose
// halves disagree becomes a lone delete or insert, so the output stays a
// valid changelog. Watermarks pass through.
//
// State: none.
type FilterSpec struct {
	Pred expr.Expr
}

func (s *FilterSpec) Explain() string { return "StreamFilter " + s.Pred.String() }

func (s *FilterSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	return &filter{env: b.Env, pred: s.Pred, out: out}, nil
}

type filter struct {
	env  *Env
	pred expr.Expr
	out  Output
	idx  []int
}

func (f *filter) Chunk(_ int, c *Chunk) error {
	keep, err := expr.EvalBool(f.env.Ctx, f.pred, c.Batch())
	if err != nil {
		c.Release()
		return err
	}
	f.idx = f.idx[:0]
	ops := make([]Op, 0, c.N)
	for i := 0; i < c.N; i++ {
		op := c.Ops[i]
		if op == UpdateDelete && i+1 < c.N && keep[i] != keep[i+1] {
			// The update pair crosses the predicate: a lone delete or insert.
			if keep[i] {
				f.idx = append(f.idx, i)
				ops = append(ops, Delete)
			} else {
				f.idx = append(f.idx, i+1)
				ops = append(ops, Insert)
			}
			i++
			continue
		}
		if keep[i] {
			f.idx = append(f.idx, i)
			ops = append(ops, op)
		}
	}
	if len(f.idx) == c.N {
		return f.out.Chunk(c)
	}
	b := expr.Take(c.Batch(), f.idx)
	c.Release()
	return f.out.Chunk(&Chunk{Cols: b.Cols, Ops: ops, N: b.N})
}

func (f *filter) Watermark(_ int, w Watermark) error { return f.out.Watermark(w) }
func (f *filter) Barrier(b *Barrier) error           { return f.out.Barrier(b) }

// TakesIdleMarks: idle marks pass through (see Output.Watermark).
func (f *filter) TakesIdleMarks() bool { return true }
