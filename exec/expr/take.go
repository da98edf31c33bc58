package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/exec"
	"streamsql/sql/types"
)

// Take returns a new batch holding rows idx of b, in that order (typed
// copies per column). b is not released.
func Take(b *exec.Batch, idx []int) *exec.Batch {
	cols := make([]arrow.Array, len(b.Cols))
	for j, c := range b.Cols {
		cols[j] = TakeArray(c, idx)
	}
	return &exec.Batch{Cols: cols, N: len(idx)}
}

// Filter returns the rows of b where mask (a boolean column of b.N rows)
// is true; NULL counts as false. b is not released.
func Filter(b *exec.Batch, mask arrow.Array) (*exec.Batch, error) {
	m, ok := mask.(*array.Boolean)
	if !ok {
		return nil, fmt.Errorf("filter mask is %s, not boolean", mask.DataType())
	}
	idx := make([]int, 0, b.N)
	for i := 0; i < b.N; i++ {
		if m.IsValid(i) && m.Value(i) {
			idx = append(idx, i)
		}
	}
	if len(idx) == b.N {
		for _, c := range b.Cols {
			c.Retain()
		}
		return &exec.Batch{Cols: append([]arrow.Array(nil), b.Cols...), N: b.N}, nil
	}
	return Take(b, idx), nil
}

// takeValidity builds the validity bitmap of rows idx of arr, or nil.
func takeValidity(arr arrow.Array, idx []int) (*memory.Buffer, int) {
	if arr.NullN() == 0 {
		return nil, 0
	}
	bits := make([]byte, bitutil.BytesForBits(int64(len(idx))))
	nulls := 0
	for k, i := range idx {
		if arr.IsValid(i) {
			bitutil.SetBit(bits, k)
		} else {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	return memory.NewBufferBytes(bits), nulls
}

func takeFixed[T any](vals []T, idx []int) []T {
	out := make([]T, len(idx))
	for k, i := range idx {
		out[k] = vals[i]
	}
	return out
}

// takeWidth copies rows idx of a fixed-width array whose values are as
// wide as W: the bits move as they are, whatever the values mean.
func takeWidth[W arrow.FixedWidthType](arr arrow.Array, idx []int, valid *memory.Buffer, nulls int) arrow.Array {
	vals := arrow.GetValues[W](arr.Data(), 1)
	return fixedArray(arr.DataType(), len(idx), valid, nulls, arrow.GetBytes(takeFixed(vals, idx)))
}

func fixedArray(dt arrow.DataType, n int, valid *memory.Buffer, nulls int, data []byte) arrow.Array {
	if valid == nil {
		// No bitmap: no NULLs. An unknown count (-1) without a bitmap
		// would make arrow count bits that do not exist.
		nulls = 0
	}
	d := array.NewData(dt, n, []*memory.Buffer{valid, memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// varArray is a string or binary array with 32-bit offsets.
type varArray[T string | []byte] interface {
	ValueLen(i int) int
	Value(i int) T
}

// takeVar copies rows idx of a variable-width array a of type dt.
func takeVar[T string | []byte](a varArray[T], dt arrow.DataType, idx []int, valid *memory.Buffer, nulls int) arrow.Array {
	offs := make([]int32, len(idx)+1)
	size := 0
	for k, i := range idx {
		size += a.ValueLen(i)
		offs[k+1] = int32(size)
	}
	data := make([]byte, 0, size)
	for _, i := range idx {
		data = append(data, a.Value(i)...)
	}
	d := array.NewData(dt, len(idx), []*memory.Buffer{valid, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// TakeArray returns rows idx of arr as a new array.
func TakeArray(arr arrow.Array, idx []int) arrow.Array {
	n := len(idx)
	dt := arr.DataType()
	valid, nulls := takeValidity(arr, idx)
	switch a := arr.(type) {
	case *array.Int16:
		return takeWidth[int16](a, idx, valid, nulls)
	case *array.Int32, *array.Float32, *array.Date32:
		return takeWidth[int32](a, idx, valid, nulls)
	case *array.Int64, *array.Float64, *array.Time64, *array.Timestamp:
		return takeWidth[int64](a, idx, valid, nulls)
	case *array.MonthDayNanoInterval:
		return takeWidth[arrow.MonthDayNanoInterval](a, idx, valid, nulls)
	case *array.Boolean:
		bits := make([]byte, bitutil.BytesForBits(int64(n)))
		for k, i := range idx {
			if a.Value(i) {
				bitutil.SetBit(bits, k)
			}
		}
		return fixedArray(dt, n, valid, nulls, bits)
	case *array.String:
		return takeVar(a, dt, idx, valid, nulls)
	case *array.Binary:
		return takeVar(a, dt, idx, valid, nulls)
	case *array.Null:
		return array.NewNull(n)
	}
	// Anything else: a builder-based copy.
	bld := array.NewBuilder(types.Mem, dt)
	defer bld.Release()
	for _, i := range idx {
		if arr.IsNull(i) || bld.AppendValueFromString(arr.ValueStr(i)) != nil {
			bld.AppendNull()
		}
	}
	return bld.NewArray()
}

func bufOrNil(b []byte) *memory.Buffer {
	if b == nil {
		return nil
	}
	return memory.NewBufferBytes(b)
}
