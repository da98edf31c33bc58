package types

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"
)

// Mem is the allocator used for all column buffers.
var Mem memory.Allocator = memory.DefaultAllocator

// NewBuilder returns an Arrow builder for a column of t.
func NewBuilder(t T) array.Builder {
	return array.NewBuilder(Mem, t.ArrowType())
}

// GetDatum returns row i of a column of type t as a Datum. It is meant for
// the edges (wire output, row-wise fallbacks), not for hot loops, which use
// the typed value slices.
func GetDatum(arr arrow.Array, i int, t T) Datum {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		s := a.Value(i)
		if t.Kind == Numeric {
			d, _, err := apd.NewFromString(s)
			if err != nil {
				panic(fmt.Sprintf("corrupt numeric %q in column: %v", s, err))
			}
			return d
		}
		return s
	case *array.Binary:
		return a.Value(i)
	case *array.Date32:
		return Date(a.Value(i))
	case *array.Time64:
		return TimeOfDay(a.Value(i))
	case *array.Timestamp:
		return Timestamp(a.Value(i))
	case *array.MonthDayNanoInterval:
		v := a.Value(i)
		return IntervalValue{Months: v.Months, Days: v.Days, Micros: v.Nanoseconds / 1000}
	case *array.Null:
		return nil
	}
	panic(fmt.Sprintf("GetDatum: unsupported array %T", arr))
}

// AppendDatum appends d (of type t, or nil) to b, a builder made by NewBuilder(t).
func AppendDatum(b array.Builder, d Datum) {
	if d == nil {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(d.(bool))
	case *array.Int16Builder:
		bb.Append(int16(d.(int64)))
	case *array.Int32Builder:
		bb.Append(int32(d.(int64)))
	case *array.Int64Builder:
		bb.Append(d.(int64))
	case *array.Float32Builder:
		bb.Append(float32(d.(float64)))
	case *array.Float64Builder:
		bb.Append(d.(float64))
	case *array.StringBuilder:
		switch v := d.(type) {
		case string:
			bb.Append(v)
		case *apd.Decimal:
			bb.Append(v.Text('f'))
		default:
			panic(fmt.Sprintf("AppendDatum: %T into string column", d))
		}
	case *array.BinaryBuilder:
		bb.Append(d.([]byte))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(d.(Date)))
	case *array.Time64Builder:
		bb.Append(arrow.Time64(d.(TimeOfDay)))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(d.(Timestamp)))
	case *array.MonthDayNanoIntervalBuilder:
		v := d.(IntervalValue)
		bb.Append(arrow.MonthDayNanoInterval{Months: v.Months, Days: v.Days, Nanoseconds: v.Micros * 1000})
	case *array.NullBuilder:
		bb.AppendNull()
	default:
		panic(fmt.Sprintf("AppendDatum: unsupported builder %T", b))
	}
}

// ArrayFromDatums builds a column of t from datums.
func ArrayFromDatums(t T, ds []Datum) arrow.Array {
	b := NewBuilder(t)
	defer b.Release()
	b.Reserve(len(ds))
	for _, d := range ds {
		AppendDatum(b, d)
	}
	return b.NewArray()
}

// ConstArray builds a column of n copies of d.
func ConstArray(t T, d Datum, n int) arrow.Array {
	b := NewBuilder(t)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		AppendDatum(b, d)
	}
	return b.NewArray()
}
