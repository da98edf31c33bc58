package udf

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/sql/types"
)

// This file holds the column plumbing shared by the function kernels:
// combining validity bitmaps and wrapping Go slices as Arrow arrays
// without a builder.

// validity returns the AND of the validity bitmaps of arrs over n rows as
// a fresh buffer (offset 0), or nil when no row is NULL in any of them.
func validity(n int, arrs ...arrow.Array) *memory.Buffer {
	var out []byte
	for _, a := range arrs {
		if a == nil || a.NullN() == 0 {
			continue
		}
		if a.DataType().ID() == arrow.NULL {
			out = make([]byte, bitutil.BytesForBits(int64(n)))
			return memory.NewBufferBytes(out)
		}
		bm := a.NullBitmapBytes()
		off := a.Data().Offset()
		if out == nil {
			out = make([]byte, bitutil.BytesForBits(int64(n)))
			if off%8 == 0 {
				copy(out, bm[off/8:])
				continue
			}
			for i := 0; i < n; i++ {
				if bitutil.BitIsSet(bm, off+i) {
					bitutil.SetBit(out, i)
				}
			}
			continue
		}
		if off%8 == 0 {
			src := bm[off/8:]
			for j := range out {
				if j < len(src) {
					out[j] &= src[j]
				}
			}
			continue
		}
		for i := 0; i < n; i++ {
			if !bitutil.BitIsSet(bm, off+i) {
				bitutil.ClearBit(out, i)
			}
		}
	}
	if out == nil {
		return nil
	}
	return memory.NewBufferBytes(out)
}

func bufOf(b []byte) *memory.Buffer {
	if b == nil {
		return nil
	}
	return memory.NewBufferBytes(b)
}

// validBits returns the bitmap bytes of a validity buffer (nil for none).
func validBits(v *memory.Buffer) []byte {
	if v == nil {
		return nil
	}
	return v.Bytes()
}

// rowValid reports whether row i is valid in bitmap bm (nil = all valid).
func rowValid(bm []byte, i int) bool { return bm == nil || bitutil.BitIsSet(bm, i) }

func fixedData(dt arrow.DataType, n int, valid *memory.Buffer, vals []byte) arrow.ArrayData {
	nulls := 0
	if valid != nil {
		nulls = n - bitutil.CountSetBits(valid.Bytes(), 0, n)
	}
	return array.NewData(dt, n, []*memory.Buffer{valid, memory.NewBufferBytes(vals)}, nil, nulls, 0)
}

// makeFixed builds a fixed-width column of type dt over vals (whose
// bytes toBytes gives without copying) and validity bitmap valid.
func makeFixed[T any](dt arrow.DataType, vals []T, valid *memory.Buffer, toBytes func([]T) []byte) arrow.Array {
	d := fixedData(dt, len(vals), valid, toBytes(vals))
	defer d.Release()
	return array.MakeFromData(d)
}

func makeInt16(vals []int16, valid *memory.Buffer) arrow.Array {
	return makeFixed(arrow.PrimitiveTypes.Int16, vals, valid, arrow.Int16Traits.CastToBytes)
}

func makeInt32(vals []int32, valid *memory.Buffer) arrow.Array {
	return makeFixed(arrow.PrimitiveTypes.Int32, vals, valid, arrow.Int32Traits.CastToBytes)
}

func makeInt64(vals []int64, valid *memory.Buffer) arrow.Array {
	return makeFixed(arrow.PrimitiveTypes.Int64, vals, valid, arrow.Int64Traits.CastToBytes)
}

func makeFloat32(vals []float32, valid *memory.Buffer) arrow.Array {
	return makeFixed(arrow.PrimitiveTypes.Float32, vals, valid, arrow.Float32Traits.CastToBytes)
}

func makeFloat64(vals []float64, valid *memory.Buffer) arrow.Array {
	return makeFixed(arrow.PrimitiveTypes.Float64, vals, valid, arrow.Float64Traits.CastToBytes)
}

func makeDate32(vals []arrow.Date32, valid *memory.Buffer) arrow.Array {
	return makeFixed(arrow.FixedWidthTypes.Date32, vals, valid, arrow.Date32Traits.CastToBytes)
}

func makeTimestamp(t types.T, vals []arrow.Timestamp, valid *memory.Buffer) arrow.Array {
	return makeFixed(t.ArrowType(), vals, valid, arrow.TimestampTraits.CastToBytes)
}

func makeInterval(vals []arrow.MonthDayNanoInterval, valid *memory.Buffer) arrow.Array {
	return makeFixed(arrow.FixedWidthTypes.MonthDayNanoInterval, vals, valid, arrow.MonthDayNanoIntervalTraits.CastToBytes)
}

// makeBool builds a boolean column from a []bool.
func makeBool(vals []bool, valid *memory.Buffer) arrow.Array {
	n := len(vals)
	bits := make([]byte, bitutil.BytesForBits(int64(n)))
	for i, v := range vals {
		if v {
			bitutil.SetBit(bits, i)
		}
	}
	d := fixedData(arrow.FixedWidthTypes.Boolean, n, valid, bits)
	defer d.Release()
	return array.MakeFromData(d)
}

// MakeBool builds a boolean column from values and an optional validity
// bitmap (nil means no NULLs); it is exported for exec/expr.
func MakeBool(vals []bool, valid []byte) arrow.Array {
	var vb *memory.Buffer
	if valid != nil {
		vb = memory.NewBufferBytes(valid)
	}
	return makeBool(vals, vb)
}

// Validity is validity for exec/expr: the AND of the inputs' validity
// bitmaps over n rows, or nil when no row is NULL.
func Validity(n int, arrs ...arrow.Array) []byte { return validBits(validity(n, arrs...)) }

// WithValidity returns arr with its validity replaced by the AND of its own
// and valid (a bitmap over arr's rows). arr is not released.
func WithValidity(arr arrow.Array, valid []byte) arrow.Array {
	n := arr.Len()
	own := validity(n, arr)
	merged := make([]byte, bitutil.BytesForBits(int64(n)))
	copy(merged, valid)
	if own != nil {
		ob := own.Bytes()
		for j := range merged {
			merged[j] &= ob[j]
		}
	}
	d := arr.Data()
	if d.Offset() != 0 || arr.DataType().ID() == arrow.NULL {
		// rebuild through a copy with offset 0
		c, err := array.Concatenate([]arrow.Array{arr}, types.Mem)
		if err != nil {
			panic(err)
		}
		defer c.Release()
		d = c.Data()
	}
	bufs := append([]*memory.Buffer{memory.NewBufferBytes(merged)}, d.Buffers()[1:]...)
	nulls := n - bitutil.CountSetBits(merged, 0, n)
	nd := array.NewData(d.DataType(), n, bufs, d.Children(), nulls, 0)
	defer nd.Release()
	return array.MakeFromData(nd)
}

// datums reads row i of each argument column.
func rowDatums(dst []types.Datum, args []arrow.Array, ts []types.T, i int) []types.Datum {
	dst = dst[:0]
	for j, a := range args {
		dst = append(dst, types.GetDatum(a, i, ts[j]))
	}
	return dst
}

// rowFunc makes a ScalarFunc from a per-row function of datums: the
// general (slow) path for functions whose cost is dominated by the work
// per value anyway (string formatting, date arithmetic on calendars).
// NULL arguments are passed as nil; strict functions never see them
// because the row is skipped and set NULL.
func rowFunc(argTs []types.T, ret types.T, strict bool, f func(env *Env, args []types.Datum) (types.Datum, error)) ScalarFunc {
	return func(env *Env, args []arrow.Array, n int) (arrow.Array, error) {
		ts := argTs
		if len(args) > len(ts) && len(ts) > 0 { // variadic
			ts = make([]types.T, len(args))
			copy(ts, argTs)
			for j := len(argTs); j < len(args); j++ {
				ts[j] = argTs[len(argTs)-1]
			}
		}
		b := types.NewBuilder(ret)
		defer b.Release()
		b.Reserve(n)
		row := make([]types.Datum, 0, len(args))
	rows:
		for i := 0; i < n; i++ {
			if strict {
				for _, a := range args {
					if a.IsNull(i) {
						b.AppendNull()
						continue rows
					}
				}
			}
			row = rowDatums(row, args, ts, i)
			d, err := f(env, row)
			if err != nil {
				return nil, err
			}
			types.AppendDatum(b, d)
		}
		return b.NewArray(), nil
	}
}

func typesMem() memory.Allocator { return types.Mem }
