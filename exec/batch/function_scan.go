package batch

import (
	"fmt"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// FunctionScan reads a set-returning function in FROM (generate_series,
// unnest, ...). Its arguments are evaluated once at Open.
type FunctionScan struct {
	fn       *udf.TableFunc
	args     []expr.Expr
	argTypes []types.T
	ts       []types.T

	it udf.RowIter
}

// NewFunctionScan returns a scan of fn(args).
func NewFunctionScan(fn *udf.TableFunc, args []expr.Expr, argTypes []types.T) exec.Operator {
	f := &FunctionScan{fn: fn, args: args, argTypes: argTypes}
	if fn.Cols != nil {
		_, f.ts = fn.Cols(argTypes)
	}
	return f
}

func (f *FunctionScan) Open(ctx *exec.Ctx) error {
	f.Close()
	vals := make([]types.Datum, len(f.args))
	for i, a := range f.args {
		d, err := evalConst(ctx, a)
		if err != nil {
			return err
		}
		vals[i] = d
	}
	it, err := f.fn.Eval(&ctx.Env, vals, f.argTypes)
	if err != nil {
		return err
	}
	f.it = it
	return nil
}

func (f *FunctionScan) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if f.it == nil {
		return nil, nil
	}
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	cols, n, err := f.it.Next(exec.BatchSize)
	if err != nil {
		releaseAll(cols)
		return nil, err
	}
	if n == 0 {
		releaseAll(cols)
		f.it.Close()
		f.it = nil
		return nil, nil
	}
	return exec.NewBatch(cols, n), nil
}

func (f *FunctionScan) Close() {
	if f.it != nil {
		f.it.Close()
		f.it = nil
	}
}

func (f *FunctionScan) Types() []types.T { return f.ts }
func (f *FunctionScan) Explain() string {
	return fmt.Sprintf("FunctionScan %s(%s)", f.fn.Name, exprList(f.args))
}
func (f *FunctionScan) Children() []exec.Operator { return nil }
