package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Boolean connectives with SQL's three-valued logic, and the IS tests.
// AND and OR evaluate their arguments left to right and only on the rows
// still undecided, so "x <> 0 AND 10 / x > 1" never divides by zero.

func boolValues(arr arrow.Array, n int) (vals, nulls []bool, err error) {
	vals, nulls = make([]bool, n), make([]bool, n)
	switch a := arr.(type) {
	case *array.Boolean:
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				nulls[i] = true
			} else {
				vals[i] = a.Value(i)
			}
		}
	case *array.Null:
		for i := range nulls {
			nulls[i] = true
		}
	default:
		return nil, nil, fmt.Errorf("argument of boolean operator is %s", arr.DataType())
	}
	return vals, nulls, nil
}

// evalBools evaluates the boolean x over b into values and NULL flags.
func evalBools(ctx *exec.Ctx, b *exec.Batch, x Expr) (vals, nulls []bool, err error) {
	arr, err := x.Eval(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	defer arr.Release()
	return boolValues(arr, b.N)
}

func triArray(vals, nulls []bool) arrow.Array {
	var valid []byte
	for i, nl := range nulls {
		if nl {
			if valid == nil {
				valid = make([]byte, (len(nulls)+7)/8)
				for j := range valid {
					valid[j] = 0xff
				}
			}
			valid[i/8] &^= 1 << (i % 8)
		}
	}
	return udf.MakeBool(vals, valid)
}

// evalConnective evaluates AND (decider false) or OR (decider true).
func evalConnective(ctx *exec.Ctx, b *exec.Batch, args []Expr, decider bool) (arrow.Array, error) {
	n := b.N
	val := make([]bool, n)
	null := make([]bool, n)
	for i := range val {
		val[i] = !decider
	}
	nw := &narrowing{cur: b}
	defer nw.release()
	for k, a := range args {
		cur := nw.cur
		// A chain of many thousand terms takes long even for one batch.
		if k%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		arr, err := a.Eval(ctx, cur)
		if err != nil {
			return nil, err
		}
		v, nl, err := boolValues(arr, cur.N)
		arr.Release()
		if err != nil {
			return nil, err
		}
		var undecided []int
		for j := 0; j < cur.N; j++ {
			i := nw.row(j)
			switch {
			case nl[j]:
				null[i] = true
				undecided = append(undecided, j)
			case v[j] == decider:
				val[i] = decider
				null[i] = false
			default:
				undecided = append(undecided, j)
			}
		}
		if k == len(args)-1 || len(undecided) == 0 {
			break
		}
		if len(undecided) < cur.N {
			nw.to(undecided)
		}
	}
	for i := range val {
		if val[i] == decider {
			null[i] = false
		}
	}
	return triArray(val, null), nil
}

func (e *And) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	return evalConnective(ctx, b, e.Args, false)
}

func (e *And) Type() types.T { return types.TBool }

func (e *Or) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	return evalConnective(ctx, b, e.Args, true)
}

func (e *Or) Type() types.T { return types.TBool }

func (e *Not) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	v, nl, err := evalBools(ctx, b, e.Input)
	if err != nil {
		return nil, err
	}
	for i := range v {
		v[i] = !v[i]
	}
	return triArray(v, nl), nil
}

func (e *Not) Type() types.T { return types.TBool }

func (e *IsNull) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	arr, err := e.Input.Eval(ctx, b)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	out := make([]bool, b.N)
	for i := range out {
		out[i] = arr.IsNull(i) != e.Negate
	}
	return udf.MakeBool(out, nil), nil
}

func (e *IsNull) Type() types.T { return types.TBool }

func (e *BoolTest) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	v, nl, err := evalBools(ctx, b, e.Input)
	if err != nil {
		return nil, err
	}
	out := make([]bool, b.N)
	for i := range out {
		var r bool
		if e.Want == nil {
			r = nl[i]
		} else {
			r = !nl[i] && v[i] == *e.Want
		}
		out[i] = r != e.Negate
	}
	return udf.MakeBool(out, nil), nil
}

func (e *BoolTest) Type() types.T { return types.TBool }

func (e *IsDistinct) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	l, r, err := evalPair(ctx, b, e.Left, e.Right)
	if err != nil {
		return nil, err
	}
	defer releaseBoth(l, r)
	lt, rt := e.Left.Type(), e.Right.Type()
	if lt.Kind == types.Unknown {
		lt = rt
	}
	out := make([]bool, b.N)
	for i := range out {
		ln, rn := l.IsNull(i), r.IsNull(i)
		var distinct bool
		switch {
		case ln && rn:
			distinct = false
		case ln || rn:
			distinct = true
		default:
			distinct = types.Compare(types.GetDatum(l, i, lt), types.GetDatum(r, i, rt), lt) != 0
		}
		out[i] = distinct != e.Negate
	}
	return udf.MakeBool(out, nil), nil
}

func (e *IsDistinct) Type() types.T { return types.TBool }
