package expr

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Cast evaluation: vector fast paths for the casts between integer and
// float widths and from integer to numeric, and types.Cast row by row for
// everything else.

func (e *Cast) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	in, err := e.Input.Eval(ctx, b)
	if err != nil {
		return nil, err
	}
	if e.Assign {
		if err := checkLength(in, e.To); err != nil {
			in.Release()
			return nil, err
		}
	}
	from := e.Input.Type()
	if from.Equal(e.To) || (from.Kind == e.To.Kind && noModifiers(e.To) && from.Kind != types.Unknown) {
		return in, nil
	}
	defer in.Release()
	if out, ok, err := fastCast(in, from, e.To, b.N); ok || err != nil {
		return out, err
	}
	if in.DataType().ID() == arrow.NULL {
		return types.ConstArray(e.To, nil, b.N), nil
	}
	bld := types.NewBuilder(e.To)
	defer bld.Release()
	bld.Reserve(b.N)
	src := from
	if src.Kind == types.Unknown {
		src = types.TText
	}
	for i := 0; i < b.N; i++ {
		d := types.GetDatum(in, i, src)
		if d == nil {
			bld.AppendNull()
			continue
		}
		v, err := types.Cast(d, src, e.To, ctx.Location)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, v)
	}
	return bld.NewArray(), nil
}

func (e *Cast) Type() types.T { return e.To }

// checkLength is the assignment rule for varchar(n) and char(n): a value
// longer than n characters (trailing spaces aside) is an error.
func checkLength(in arrow.Array, to types.T) error {
	w := to.Width
	if w <= 0 || (to.Kind != types.Varchar && to.Kind != types.Char) {
		return nil
	}
	sa, ok := in.(*array.String)
	if !ok {
		return nil
	}
	for i := 0; i < sa.Len(); i++ {
		if sa.IsValid(i) {
			v := strings.TrimRight(sa.Value(i), " ")
			if utf8.RuneCountInString(v) > int(w) {
				return sqlerr.New(sqlerr.StringDataRightTruncation, "value too long for type %s", to)
			}
		}
	}
	return nil
}

func noModifiers(t types.T) bool {
	return t.Precision == 0 && t.Scale == 0 && t.Width == 0 && t.Kind != types.Char && t.Kind != types.Array
}

func isInt(k types.Kind) bool   { return k == types.Int2 || k == types.Int4 || k == types.Int8 }
func isFloat(k types.Kind) bool { return k == types.Float4 || k == types.Float8 }

// fastCast handles int<->int, int<->float, float<->float and int->numeric
// casts.
func fastCast(in arrow.Array, from, to types.T, n int) (arrow.Array, bool, error) {
	f, t := from.Kind, to.Kind
	switch {
	case isInt(f) && t == types.Numeric && isIntArray(in):
		out, err := udf.IntToNumeric(in, to, n)
		return out, true, err
	case isInt(f) && isInt(t):
		v := int64s(in)
		lo, hi := types.IntRange(t)
		valid := udf.Validity(n, in)
		for i, x := range v[:n] {
			if (x < lo || x > hi) && (valid == nil || in.IsValid(i)) {
				return nil, true, types.ErrIntRange(t)
			}
		}
		return intColumn(v[:n], t, valid), true, nil
	case isInt(f) && isFloat(t):
		v := int64s(in)
		out := make([]float64, n)
		for i, x := range v[:n] {
			out[i] = float64(x)
		}
		return floatColumn(out, t, udf.Validity(n, in)), true, nil
	case isFloat(f) && isFloat(t):
		v := float64s(in)
		valid := udf.Validity(n, in)
		if t == types.Float4 {
			for i, x := range v[:n] {
				if !math.IsInf(x, 0) && math.Abs(x) > math.MaxFloat32 && (valid == nil || in.IsValid(i)) {
					return nil, true, sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: overflow")
				}
			}
		}
		return floatColumn(v[:n], t, valid), true, nil
	case isFloat(f) && isInt(t):
		v := float64s(in)
		lo, hi := types.IntRange(t)
		valid := udf.Validity(n, in)
		out := make([]int64, n)
		for i, x := range v[:n] {
			r := math.RoundToEven(x)
			if math.IsNaN(r) || r < float64(lo) || r >= -float64(lo) || r > float64(hi) {
				if valid == nil || in.IsValid(i) {
					return nil, true, types.ErrIntRange(t)
				}
				continue
			}
			out[i] = int64(r)
		}
		return intColumn(out, t, valid), true, nil
	}
	return nil, false, nil
}

func isIntArray(a arrow.Array) bool {
	switch a.DataType().ID() {
	case arrow.INT16, arrow.INT32, arrow.INT64:
		return true
	}
	return false
}

func int64s(arr arrow.Array) []int64 {
	switch a := arr.(type) {
	case *array.Int64:
		return a.Int64Values()
	case *array.Int32:
		return widen[int64](a.Int32Values())
	case *array.Int16:
		return widen[int64](a.Int16Values())
	}
	panic("int64s: " + arr.DataType().String())
}

func float64s(arr arrow.Array) []float64 {
	switch a := arr.(type) {
	case *array.Float64:
		return a.Float64Values()
	case *array.Float32:
		return widen[float64](a.Float32Values())
	}
	panic("float64s: " + arr.DataType().String())
}

// widen converts values to a wider type of the same kind.
func widen[To int64 | float64, From int16 | int32 | float32](v []From) []To {
	out := make([]To, len(v))
	for i, x := range v {
		out[i] = To(x)
	}
	return out
}

func intColumn(v []int64, k types.Kind, valid []byte) arrow.Array {
	switch k {
	case types.Int2:
		out := make([]int16, len(v))
		for i, x := range v {
			out[i] = int16(x)
		}
		return fixedArray(arrow.PrimitiveTypes.Int16, len(v), bufOrNil(valid), -1, arrow.Int16Traits.CastToBytes(out))
	case types.Int4:
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return fixedArray(arrow.PrimitiveTypes.Int32, len(v), bufOrNil(valid), -1, arrow.Int32Traits.CastToBytes(out))
	}
	out := append([]int64(nil), v...)
	return fixedArray(arrow.PrimitiveTypes.Int64, len(v), bufOrNil(valid), -1, arrow.Int64Traits.CastToBytes(out))
}

func floatColumn(v []float64, k types.Kind, valid []byte) arrow.Array {
	if k == types.Float4 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return fixedArray(arrow.PrimitiveTypes.Float32, len(v), bufOrNil(valid), -1, arrow.Float32Traits.CastToBytes(out))
	}
	out := append([]float64(nil), v...)
	return fixedArray(arrow.PrimitiveTypes.Float64, len(v), bufOrNil(valid), -1, arrow.Float64Traits.CastToBytes(out))
}
