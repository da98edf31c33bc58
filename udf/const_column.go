package udf

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/types"
)

// ConstColumn returns a column of n copies of d (of type t): the value is
// converted once and its bytes repeated, where a builder would box and
// append it n times. Expressions broadcast every constant operand to the
// batch length, so this runs once per constant per batch. NULLs and the
// layouts not handled here go through types.ConstArray.
func ConstColumn(t types.T, d types.Datum, n int) arrow.Array {
	if d == nil || n == 0 {
		return types.ConstArray(t, d, n)
	}
	switch t.ArrowType().ID() {
	case arrow.INT16:
		if v, ok := d.(int64); ok {
			return makeInt16(repeat(int16(v), n), nil)
		}
	case arrow.INT32:
		if v, ok := d.(int64); ok {
			return makeInt32(repeat(int32(v), n), nil)
		}
	case arrow.INT64:
		if v, ok := d.(int64); ok {
			return makeInt64(repeat(v, n), nil)
		}
	case arrow.FLOAT32:
		if v, ok := d.(float64); ok {
			return makeFloat32(repeat(float32(v), n), nil)
		}
	case arrow.FLOAT64:
		if v, ok := d.(float64); ok {
			return makeFloat64(repeat(v, n), nil)
		}
	case arrow.DATE32:
		if v, ok := d.(types.Date); ok {
			return makeDate32(repeat(arrow.Date32(v), n), nil)
		}
	case arrow.TIMESTAMP:
		if v, ok := d.(types.Timestamp); ok {
			return makeTimestamp(t, repeat(arrow.Timestamp(v), n), nil)
		}
	case arrow.INTERVAL_MONTH_DAY_NANO:
		if v, ok := d.(types.IntervalValue); ok {
			return makeInterval(repeat(arrowIv(v), n), nil)
		}
	case arrow.STRING:
		switch v := d.(type) {
		case string:
			if int64(len(v))*int64(n) <= math.MaxInt32 {
				return repeatString(v, n)
			}
		case *apd.Decimal:
			// The text types.AppendDatum would write.
			return repeatString(v.Text('f'), n)
		}
	}
	return types.ConstArray(t, d, n)
}

func repeat[V any](v V, n int) []V {
	out := make([]V, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// repeatString builds a string column of n copies of s.
func repeatString(s string, n int) arrow.Array {
	offsets := make([]int32, n+1)
	data := make([]byte, 0, len(s)*n)
	for i := 0; i < n; i++ {
		offsets[i] = int32(len(data))
		data = append(data, s...)
	}
	offsets[n] = int32(len(data))
	return stringColumn(offsets, data, nil)
}
