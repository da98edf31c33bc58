package batch

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// LateralJoin joins each left row with the rows its right plan produces
// for it: FROM a, LATERAL (SELECT ... WHERE x = a.k) and set-returning
// functions over earlier FROM items (FROM a, unnest(a.arr)). The right plan
// reads the left row through outer references of depth 1: the row is
// pushed on ctx.Outer while the plan runs. INNER and LEFT joins; the
// predicate, if any, is evaluated over the concatenated row (left, then
// right), and a LEFT join pads a left row that kept no right row.
//
// State: none beyond the current left batch; the right plan is opened and
// drained once per left row.
type LateralJoin struct {
	left, right exec.Operator
	kind        JoinKind
	pred        expr.Expr
	leftTs      []types.T
	rightTs     []types.T
	ts          []types.T

	idx []int32
	sel []int32
}

// NewLateralJoin returns the lateral join of left and right (kind InnerJoin
// or LeftJoin) with an optional predicate.
func NewLateralJoin(left, right exec.Operator, kind JoinKind, pred expr.Expr) exec.Operator {
	lt, rt := left.Types(), right.Types()
	ts := append(append([]types.T(nil), lt...), rt...)
	return &LateralJoin{left: left, right: right, kind: kind, pred: pred, leftTs: lt, rightTs: rt, ts: ts}
}

func (j *LateralJoin) Open(ctx *exec.Ctx) error { return j.left.Open(ctx) }

func (j *LateralJoin) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	for {
		lb, err := next(ctx, j.left)
		if err != nil || lb == nil {
			return nil, err
		}
		out, err := j.joinBatch(ctx, lb)
		lb.Release()
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
}

// joinBatch joins every row of lb; nil when no row comes out.
func (j *LateralJoin) joinBatch(ctx *exec.Ctx, lb *exec.Batch) (*exec.Batch, error) {
	var parts []*exec.Batch
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	total := 0
	for i := 0; i < lb.N; i++ {
		part, err := j.joinRow(ctx, lb, i)
		if err != nil {
			return nil, err
		}
		if part != nil {
			parts = append(parts, part)
			total += part.N
		}
	}
	switch len(parts) {
	case 0:
		return nil, nil
	case 1:
		out := parts[0]
		parts = nil
		return out, nil
	}
	cols := make([]arrow.Array, len(j.ts))
	in := make([]arrow.Array, len(parts))
	for c := range cols {
		for k, p := range parts {
			in[k] = p.Cols[c]
		}
		a, err := array.Concatenate(in, types.Mem)
		if err != nil {
			releaseAll(cols[:c])
			return nil, err
		}
		cols[c] = a
	}
	return exec.NewBatch(cols, total), nil
}

// joinRow runs the right plan for left row i and returns its joined rows.
func (j *LateralJoin) joinRow(ctx *exec.Ctx, lb *exec.Batch, i int) (*exec.Batch, error) {
	ctx.Outer = append(ctx.Outer, exec.OuterRow{Batch: lb, Row: i, Types: j.leftTs})
	err := j.right.Open(ctx)
	var t *table
	if err == nil {
		t, err = materialize(ctx, j.right, j.rightTs, "LateralJoin")
	}
	j.right.Close()
	ctx.Outer = ctx.Outer[:len(ctx.Outer)-1]
	if err != nil {
		return nil, err
	}
	defer t.release()
	var out *exec.Batch
	if t.n > 0 {
		j.idx = j.idx[:0]
		for k := 0; k < t.n; k++ {
			j.idx = append(j.idx, int32(i))
		}
		out = takeCols(lb.Cols, j.idx)
		for _, c := range t.cols {
			c.Retain()
			out.Cols = append(out.Cols, c)
		}
		if j.pred != nil {
			var err error
			j.sel, err = selectRows(ctx, j.pred, out, j.sel)
			if err != nil {
				out.Release()
				return nil, err
			}
			if len(j.sel) < out.N {
				kept := takeCols(out.Cols, j.sel)
				out.Release()
				out = kept
			}
		}
		if out.N == 0 {
			out.Release()
			out = nil
		}
	}
	if out == nil && j.kind == LeftJoin {
		out = takeCols(lb.Cols, []int32{int32(i)})
		for _, rt := range j.rightTs {
			out.Cols = append(out.Cols, nullColumn(rt, 1))
		}
	}
	return out, nil
}

func (j *LateralJoin) Close()           { j.left.Close() }
func (j *LateralJoin) Types() []types.T { return j.ts }
func (j *LateralJoin) Explain() string {
	s := "LateralJoin " + j.kind.String()
	if j.pred != nil {
		s += " on " + j.pred.String()
	}
	return s
}
func (j *LateralJoin) Children() []exec.Operator { return []exec.Operator{j.left, j.right} }
