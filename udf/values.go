package udf

import (
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
)

// intT is the Go type of one of the integer layouts.
type intT interface{ ~int16 | ~int32 | ~int64 }

// ints returns the value slice of an integer column of Go type A.
func ints[A intT](arr arrow.Array) []A {
	switch a := arr.(type) {
	case *array.Int16:
		return any(a.Int16Values()).([]A)
	case *array.Int32:
		return any(a.Int32Values()).([]A)
	case *array.Int64:
		return any(a.Int64Values()).([]A)
	}
	panic("ints: not an integer column")
}

// makeInts wraps a slice of any integer width as its column.
func makeInts[R intT](vals []R, valid []byte) arrow.Array {
	vb := bufOf(valid)
	switch v := any(vals).(type) {
	case []int16:
		return makeInt16(v, vb)
	case []int32:
		return makeInt32(v, vb)
	case []int64:
		return makeInt64(v, vb)
	}
	panic("makeInts")
}

// asInt64s returns an integer column widened to int64 (no copy for int64).
func asInt64s(arr arrow.Array) []int64 {
	switch a := arr.(type) {
	case *array.Int64:
		return a.Int64Values()
	case *array.Int32:
		out := make([]int64, a.Len())
		for i, v := range a.Int32Values() {
			out[i] = int64(v)
		}
		return out
	case *array.Int16:
		out := make([]int64, a.Len())
		for i, v := range a.Int16Values() {
			out[i] = int64(v)
		}
		return out
	}
	panic("asInt64s: not an integer column")
}

// asFloat64s returns a float column widened to float64.
func asFloat64s(arr arrow.Array) []float64 {
	switch a := arr.(type) {
	case *array.Float64:
		return a.Float64Values()
	case *array.Float32:
		out := make([]float64, a.Len())
		for i, v := range a.Float32Values() {
			out[i] = float64(v)
		}
		return out
	}
	return asFloatAny(arr)
}

func asFloatAny(arr arrow.Array) []float64 {
	ints := asInt64s(arr)
	out := make([]float64, len(ints))
	for i, v := range ints {
		out[i] = float64(v)
	}
	return out
}

// decimalAt parses row i of a numeric column.
func decimalAt(arr *array.String, i int) (*apd.Decimal, error) {
	d, _, err := apd.NewFromString(arr.Value(i))
	if err != nil {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "corrupt numeric value %q", arr.Value(i))
	}
	return d, nil
}

// numText formats a numeric result as canonical text (no negative zero).
func numText(d *apd.Decimal) string {
	if d.IsZero() {
		d.Negative = false
	}
	if d.Form == apd.NaN {
		return "NaN"
	}
	if d.Form == apd.Infinite {
		if d.Negative {
			return "-Infinity"
		}
		return "Infinity"
	}
	return d.Text('f')
}

func errDivZero() error { return sqlerr.New(sqlerr.DivisionByZero, "division by zero") }

// SQLSTATEs not (yet) in sqlerr's table.
const (
	codeInvalidPowerArg = "2201F" // invalid_argument_for_power_function
	codeInvalidLogArg   = "2201E" // invalid_argument_for_logarithm
)

// ErrNoRetract is returned by Accumulator.Retract for aggregates that
// cannot remove a row from their own state (min, max, string_agg).
var ErrNoRetract = errors.New("aggregate cannot retract")

// ErrNoMerge is returned by a StateMerger whose aggregate has no merge
// function.
var ErrNoMerge = errors.New("aggregate cannot merge states")
