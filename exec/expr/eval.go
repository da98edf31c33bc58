package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Leaves (column references, constants, parameters) and function calls.

func (e *ColRef) Eval(_ *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	if e.Idx < 0 || e.Idx >= len(b.Cols) {
		return nil, sqlerr.New(sqlerr.InternalError, "column %d out of range (batch has %d)", e.Idx, len(b.Cols))
	}
	c := b.Cols[e.Idx]
	c.Retain()
	return c, nil
}

func (e *ColRef) Type() types.T { return e.T }

func (e *OuterRef) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	k := len(ctx.Outer) - e.Depth
	if k < 0 {
		return nil, sqlerr.New(sqlerr.InternalError, "outer reference %s without an outer row", e.String())
	}
	o := ctx.Outer[k]
	return broadcast(e.T, types.GetDatum(o.Batch.Cols[e.Idx], o.Row, e.T), b.N), nil
}

func (e *OuterRef) Type() types.T { return e.T }

func (e *Const) Eval(_ *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	return broadcast(e.T, e.Value, b.N), nil
}

func (e *Const) Type() types.T { return e.T }

func (e *Param) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	if e.Idx < 0 || e.Idx >= len(ctx.Params) {
		return nil, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $%d", e.Idx+1)
	}
	return broadcast(e.T, ctx.Params[e.Idx], b.N), nil
}

func (e *Param) Type() types.T { return e.T }

// broadcast returns a column of n copies of d.
func broadcast(t types.T, d types.Datum, n int) arrow.Array {
	if d == nil && t.Kind == types.Unknown {
		return array.NewNull(n)
	}
	if t.Kind == types.Unknown {
		t = types.TText
	}
	return udf.ConstColumn(t, d, n)
}

func (e *Call) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	args := make([]arrow.Array, len(e.Args))
	argTs := make([]types.T, len(e.Args))
	defer releaseAll(args)
	anyNull := false
	for i, a := range e.Args {
		v, err := a.Eval(ctx, b)
		if err != nil {
			return nil, err
		}
		args[i] = v
		argTs[i] = a.Type()
		if v.NullN() > 0 {
			anyNull = true
		}
	}
	out, err := e.Fn.Call(&ctx.Env, argTs, args, b.N)
	if err != nil {
		return nil, err
	}
	if e.Fn.Strict && anyNull {
		masked := udf.WithValidity(out, udf.Validity(b.N, args...))
		out.Release()
		out = masked
	}
	return out, nil
}

func (e *Call) Type() types.T { return e.T }

// evalPair evaluates the two operands of a binary form over b; on error
// nothing is left to release.
func evalPair(ctx *exec.Ctx, b *exec.Batch, x, y Expr) (l, r arrow.Array, err error) {
	if l, err = x.Eval(ctx, b); err != nil {
		return nil, nil, err
	}
	if r, err = y.Eval(ctx, b); err != nil {
		l.Release()
		return nil, nil, err
	}
	return l, r, nil
}

func releaseBoth(l, r arrow.Array) {
	l.Release()
	r.Release()
}

// evalAll evaluates es over b; on error nothing is left to release.
func evalAll(ctx *exec.Ctx, b *exec.Batch, es []Expr) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(es))
	for i, e := range es {
		v, err := e.Eval(ctx, b)
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}

// EvalBool evaluates a boolean expression and returns, per row, whether
// it is TRUE (NULL and FALSE both give false), as WHERE needs.
func EvalBool(ctx *exec.Ctx, e Expr, b *exec.Batch) ([]bool, error) {
	arr, err := e.Eval(ctx, b)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	out := make([]bool, b.N)
	switch a := arr.(type) {
	case *array.Boolean:
		if a.NullN() == 0 {
			for i := range out {
				out[i] = a.Value(i)
			}
		} else {
			for i := range out {
				out[i] = a.IsValid(i) && a.Value(i)
			}
		}
	case *array.Null:
	default:
		return nil, fmt.Errorf("condition is %s, not boolean", arr.DataType())
	}
	return out, nil
}

// EvalConst evaluates e, which must not reference columns, on one row.
func EvalConst(ctx *exec.Ctx, e Expr) (types.Datum, error) {
	arr, err := e.Eval(ctx, &exec.Batch{N: 1})
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	return types.GetDatum(arr, 0, e.Type()), nil
}
