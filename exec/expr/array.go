package expr

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Expressions over array values. Arrays are held in their PostgreSQL text
// form, so these nodes split each row's array into elements, convert the
// elements to the type the consumer needs, and then work on whole columns:
// a comparison against every element of every row is one operator call
// over the flattened (row, element) pairs.

func (e *ArrayCompare) Type() types.T   { return types.TBool }
func (e *ArraySubscript) Type() types.T { return e.T }
func (e *RecordField) Type() types.T    { return e.T }

func (e *RecordField) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	in, err := e.Input.Eval(ctx, b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	it := e.Input.Type()
	bld := types.NewBuilder(e.T)
	defer bld.Release()
	bld.Reserve(b.N)
	for i := 0; i < b.N; i++ {
		if in.IsNull(i) {
			bld.AppendNull()
			continue
		}
		s, _ := types.GetDatum(in, i, it).(string)
		fields, err := udf.SplitRecord(s)
		if err != nil {
			return nil, err
		}
		if e.Idx >= len(fields) || fields[e.Idx] == nil {
			bld.AppendNull()
			continue
		}
		d, err := types.ParseText(*fields[e.Idx], e.T, ctx.Location)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d)
	}
	return bld.NewArray(), nil
}

func (e *ArrayCompare) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	left, arr, err := evalPair(ctx, b, e.Left, e.Array)
	if err != nil {
		return nil, err
	}
	defer releaseBoth(left, arr)
	at := e.Array.Type()
	decided := make([]bool, b.N)
	null := make([]bool, b.N)
	// Flatten: rows[k] is the input row of pair k, elems the element.
	var rows []int
	elems := types.NewBuilder(e.ElemT)
	defer elems.Release()
	for i := 0; i < b.N; i++ {
		if arr.IsNull(i) {
			null[i] = true
			continue
		}
		s, _ := types.GetDatum(arr, i, at).(string)
		vals, _, err := udf.ArrayElems(s, at)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			rows = append(rows, i)
			if v == nil {
				elems.AppendNull()
				continue
			}
			d, err := types.ParseText(*v, e.ElemT, ctx.Location)
			if err != nil {
				return nil, err
			}
			types.AppendDatum(elems, d)
		}
	}
	if len(rows) > 0 {
		right := elems.NewArray()
		defer right.Release()
		l := TakeArray(left, rows)
		defer l.Release()
		cmp, err := e.Op.Call(&ctx.Env, []types.T{e.Left.Type(), e.ElemT}, []arrow.Array{l, right}, len(rows))
		if err != nil {
			return nil, err
		}
		defer cmp.Release()
		bc, _ := cmp.(*array.Boolean)
		for k, i := range rows {
			switch {
			case l.IsNull(k) || right.IsNull(k) || bc == nil || bc.IsNull(k):
				null[i] = true
			case bc.Value(k) != e.All:
				decided[i] = true
			}
		}
	}
	return anyResult(decided, null, e.All), nil
}

func (e *ArraySubscript) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	arr, idx, err := evalPair(ctx, b, e.Array, e.Index)
	if err != nil {
		return nil, err
	}
	defer releaseBoth(arr, idx)
	at := e.Array.Type()
	ix := int64s(idx)
	bld := types.NewBuilder(e.T)
	defer bld.Release()
	bld.Reserve(b.N)
	for i := 0; i < b.N; i++ {
		if arr.IsNull(i) || idx.IsNull(i) {
			bld.AppendNull()
			continue
		}
		s, _ := types.GetDatum(arr, i, at).(string)
		vals, lower, err := udf.ArrayElems(s, at)
		if err != nil {
			return nil, err
		}
		k := ix[i] - int64(lower)
		if k < 0 || k >= int64(len(vals)) || vals[k] == nil {
			bld.AppendNull()
			continue
		}
		d, err := types.ParseText(*vals[k], e.T, ctx.Location)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d)
	}
	return bld.NewArray(), nil
}
