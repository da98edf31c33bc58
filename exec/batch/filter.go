package batch

import (
	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// Filter passes the rows for which a boolean predicate is true (NULL
// counts as false).
type Filter struct {
	in   exec.Operator
	pred expr.Expr
	sel  []int32
}

// NewFilter returns a filter of in by pred.
func NewFilter(in exec.Operator, pred expr.Expr) exec.Operator {
	return &Filter{in: in, pred: pred}
}

func (f *Filter) Open(ctx *exec.Ctx) error { return f.in.Open(ctx) }

func (f *Filter) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	for {
		b, err := next(ctx, f.in)
		if err != nil || b == nil {
			return nil, err
		}
		f.sel, err = selectRows(ctx, f.pred, b, f.sel)
		if err != nil {
			b.Release()
			return nil, err
		}
		switch len(f.sel) {
		case 0:
			b.Release()
			continue
		case b.N:
			return b, nil
		}
		out := takeCols(b.Cols, f.sel)
		b.Release()
		return out, nil
	}
}

func (f *Filter) Close()                    { f.in.Close() }
func (f *Filter) Types() []types.T          { return f.in.Types() }
func (f *Filter) Explain() string           { return "Filter " + f.pred.String() }
func (f *Filter) Children() []exec.Operator { return []exec.Operator{f.in} }

// selectRows evaluates the predicate pred over b and returns the
// positions of the rows where it is true, reusing buf.
func selectRows(ctx *exec.Ctx, pred expr.Expr, b *exec.Batch, buf []int32) ([]int32, error) {
	mask, err := pred.Eval(ctx, b)
	if err != nil {
		return nil, err
	}
	defer mask.Release()
	return selectedRows(mask, buf)
}
