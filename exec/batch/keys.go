package batch

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/types"
)

// Key encoding for hashing: each row's values are appended to a byte
// string in which two rows encode equal exactly when PostgreSQL's "="
// (with NULL equal to NULL, IS NOT DISTINCT FROM) says they are equal.
// Every value starts with a null marker byte, so a NULL never collides
// with a value. The encoding is not order-preserving; it is only hashed.

const (
	keyNull  = 0
	keyValue = 1
)

// rowKeys holds one key per row of a batch, reusing its buffers across
// batches.
type rowKeys struct {
	keys    [][]byte
	hasNull []bool // some key column is NULL in this row
}

// encode computes the keys of rows 0..n-1 over cols.
func (k *rowKeys) encode(cols []arrow.Array, ts []types.T, n int) {
	if cap(k.keys) < n {
		k.keys = append(k.keys[:cap(k.keys)], make([][]byte, n-cap(k.keys))...)
	}
	if cap(k.hasNull) < n {
		k.hasNull = make([]bool, n)
	}
	k.keys = k.keys[:n]
	k.hasNull = k.hasNull[:n]
	for i := range k.keys {
		k.keys[i] = k.keys[i][:0]
		k.hasNull[i] = false
	}
	for j, c := range cols {
		appendKeys(k.keys, k.hasNull, c, ts[j])
	}
}

// appendKeys appends the encoding of every row of c to keys[row].
func appendKeys(keys [][]byte, hasNull []bool, c arrow.Array, t types.T) {
	n := len(keys)
	nulls := c.NullN() > 0
	mark := func(i int) bool {
		if nulls && c.IsNull(i) {
			keys[i] = append(keys[i], keyNull)
			hasNull[i] = true
			return true
		}
		return false
	}
	switch a := c.(type) {
	case *array.Null:
		for i := 0; i < n; i++ {
			keys[i] = append(keys[i], keyNull)
			hasNull[i] = true
		}
	case *array.Boolean:
		for i := 0; i < n; i++ {
			if !mark(i) {
				v := byte(0)
				if a.Value(i) {
					v = 1
				}
				keys[i] = append(keys[i], keyValue, v)
			}
		}
	case *array.Int16:
		vals := a.Int16Values()
		for i := 0; i < n; i++ {
			if !mark(i) {
				keys[i] = binary.LittleEndian.AppendUint16(append(keys[i], keyValue), uint16(vals[i]))
			}
		}
	case *array.Int32:
		appendKeys32(keys, a.Int32Values(), mark)
	case *array.Date32:
		appendKeys32(keys, a.Date32Values(), mark)
	case *array.Int64:
		appendKeys64(keys, a.Int64Values(), mark)
	case *array.Time64:
		appendKeys64(keys, a.Time64Values(), mark)
	case *array.Timestamp:
		appendKeys64(keys, a.TimestampValues(), mark)
	case *array.Float32:
		vals := a.Float32Values()
		for i := 0; i < n; i++ {
			if !mark(i) {
				keys[i] = binary.LittleEndian.AppendUint64(append(keys[i], keyValue), floatKeyBits(float64(vals[i])))
			}
		}
	case *array.Float64:
		vals := a.Float64Values()
		for i := 0; i < n; i++ {
			if !mark(i) {
				keys[i] = binary.LittleEndian.AppendUint64(append(keys[i], keyValue), floatKeyBits(vals[i]))
			}
		}
	case *array.MonthDayNanoInterval:
		vals := a.MonthDayNanoIntervalValues()
		for i := 0; i < n; i++ {
			if !mark(i) {
				d, r := intervalSpan(vals[i])
				b := binary.LittleEndian.AppendUint64(append(keys[i], keyValue), uint64(d))
				keys[i] = binary.LittleEndian.AppendUint64(b, uint64(r))
			}
		}
	case *array.String:
		for i := 0; i < n; i++ {
			if !mark(i) {
				s := a.Value(i)
				switch t.Kind {
				case types.Numeric:
					s = normalizeNumeric(s)
				case types.Char:
					s = strings.TrimRight(s, " ")
				}
				b := binary.AppendUvarint(append(keys[i], keyValue), uint64(len(s)))
				keys[i] = append(b, s...)
			}
		}
	case *array.Binary:
		for i := 0; i < n; i++ {
			if !mark(i) {
				v := a.Value(i)
				b := binary.AppendUvarint(append(keys[i], keyValue), uint64(len(v)))
				keys[i] = append(b, v...)
			}
		}
	default:
		panic(fmt.Sprintf("batch: key over unsupported array %T", c))
	}
}

type int32ish interface{ ~int32 }
type int64ish interface{ ~int64 }

func appendKeys32[V int32ish](keys [][]byte, vals []V, mark func(int) bool) {
	for i := range keys {
		if !mark(i) {
			keys[i] = binary.LittleEndian.AppendUint32(append(keys[i], keyValue), uint32(vals[i]))
		}
	}
}

func appendKeys64[V int64ish](keys [][]byte, vals []V, mark func(int) bool) {
	for i := range keys {
		if !mark(i) {
			keys[i] = binary.LittleEndian.AppendUint64(append(keys[i], keyValue), uint64(vals[i]))
		}
	}
}

// floatKeyBits maps equal floats to equal bits: -0 to 0, every NaN to one.
func floatKeyBits(f float64) uint64 {
	if f == 0 {
		return 0
	}
	if f != f {
		return 0x7ff8000000000001
	}
	return math.Float64bits(f)
}

// intervalSpan normalizes an interval the way PostgreSQL compares them
// (a month is 30 days, a day 24 hours): whole days, then microseconds in
// [0, one day).
func intervalSpan(v arrow.MonthDayNanoInterval) (days int64, micros int64) {
	days = int64(v.Months)*30 + int64(v.Days)
	us := v.Nanoseconds / 1000
	d := us / types.MicrosPerDay
	r := us % types.MicrosPerDay
	if r < 0 {
		r += types.MicrosPerDay
		d--
	}
	return days + d, r
}

// normalizeNumeric returns a canonical text of a numeric value so that
// values equal as numbers (1.0 and 1.00, -0 and 0) are equal as strings.
func normalizeNumeric(s string) string {
	if strings.ContainsAny(s, "eE") {
		d, _, err := apd.NewFromString(s)
		if err != nil {
			return s
		}
		s = d.Text('f')
	}
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}
