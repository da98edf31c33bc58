package format

// JSON encoding of rows, for sinks.
//
// JSONEncoder writes rows of Arrow columns as JSON objects, one field per
// column in column order. It binds to a chunk's columns once (one typed
// writer per column over the column's value slice) and then writes rows
// without per-value interface calls or allocations for the common types.
// Values are spelled so that FORMAT ... ENCODE JSON reads them back into
// the same column types:
//
//	boolean                      true / false
//	smallint, integer, bigint    a number
//	real, double precision       a number; NaN and ±Infinity as strings
//	numeric                      a number (exact digits); NaN as a string
//	jsonb                        the JSON value itself
//	bytea                        a base64 string
//	date, time, timestamp[tz],   a string in PostgreSQL's text output
//	interval, text, arrays ...   (timestamptz in UTC, "+00")

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// JSONEncoder writes rows of a fixed set of columns as JSON objects.
type JSONEncoder struct {
	types []types.T
	// fields[i] is `"name":` with the separating comma before every field
	// but the first.
	fields [][]byte
	cols   []jsonCol
}

// jsonCol writes row i of a bound column (non-null).
type jsonCol struct {
	arr   arrow.Array
	write func(buf []byte, i int) []byte
}

// NewJSONEncoder returns an encoder of rows with the given column names
// and types.
func NewJSONEncoder(names []string, ts []types.T) *JSONEncoder {
	e := &JSONEncoder{types: ts, cols: make([]jsonCol, len(ts))}
	for i, n := range names {
		var f []byte
		if i > 0 {
			f = append(f, ',')
		}
		f = appendJSONText(f, n)
		e.fields = append(e.fields, append(f, ':'))
	}
	return e
}

// Bind makes the encoder write rows of cols (the columns in order).
func (e *JSONEncoder) Bind(cols []arrow.Array) {
	for i, a := range cols {
		e.cols[i] = jsonCol{arr: a, write: jsonWriter(a, e.types[i])}
	}
}

// AppendRow appends row i of the bound columns as a JSON object.
func (e *JSONEncoder) AppendRow(buf []byte, i int) []byte {
	buf = append(buf, '{')
	for c := range e.cols {
		buf = append(buf, e.fields[c]...)
		buf = e.appendValue(buf, c, i)
	}
	return append(buf, '}')
}

// AppendFields appends row i of the columns idx as a JSON object.
func (e *JSONEncoder) AppendFields(buf []byte, i int, idx []int) []byte {
	buf = append(buf, '{')
	for n, c := range idx {
		f := e.fields[c]
		if c > 0 {
			f = f[1:]
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, f...)
		buf = e.appendValue(buf, c, i)
	}
	return append(buf, '}')
}

func (e *JSONEncoder) appendValue(buf []byte, c, i int) []byte {
	col := &e.cols[c]
	if col.arr.IsNull(i) {
		return append(buf, "null"...)
	}
	return col.write(buf, i)
}

// jsonWriter returns the writer of a's values.
func jsonWriter(a arrow.Array, t types.T) func([]byte, int) []byte {
	switch a := a.(type) {
	case *array.Boolean:
		return func(buf []byte, i int) []byte { return strconv.AppendBool(buf, a.Value(i)) }
	case *array.Int16:
		vs := a.Int16Values()
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, int64(vs[i]), 10) }
	case *array.Int32:
		vs := a.Int32Values()
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, int64(vs[i]), 10) }
	case *array.Int64:
		vs := a.Int64Values()
		if t.Kind == types.Oid {
			return func(buf []byte, i int) []byte { return strconv.AppendUint(buf, uint64(uint32(vs[i])), 10) }
		}
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, vs[i], 10) }
	case *array.Float32:
		vs := a.Float32Values()
		return func(buf []byte, i int) []byte { return appendJSONFloat(buf, float64(vs[i]), 32) }
	case *array.Float64:
		vs := a.Float64Values()
		return func(buf []byte, i int) []byte { return appendJSONFloat(buf, vs[i], 64) }
	case *array.String:
		switch t.Kind {
		case types.Numeric:
			return func(buf []byte, i int) []byte {
				s := a.Value(i)
				if s == "" || s[0] == 'N' || s[0] == 'I' || s[len(s)-1] == 'y' {
					return appendJSONText(buf, s)
				}
				return append(buf, s...)
			}
		case types.JSONB:
			return func(buf []byte, i int) []byte { return append(buf, a.Value(i)...) }
		}
		return func(buf []byte, i int) []byte { return appendJSONText(buf, a.Value(i)) }
	case *array.Timestamp:
		return timestampWriter(a, t)
	case *array.Binary:
		return func(buf []byte, i int) []byte {
			v := a.Value(i)
			buf = append(buf, '"')
			buf = base64.StdEncoding.AppendEncode(buf, v)
			return append(buf, '"')
		}
	}
	// Dates, times, timestamps and intervals: their text output.
	return func(buf []byte, i int) []byte {
		buf = append(buf, '"')
		buf = types.AppendText(buf, types.GetDatum(a, i, t), t, nil)
		return append(buf, '"')
	}
}

func appendJSONFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bits)
}

const hexDigits = "0123456789abcdef"

// appendJSONText appends s as a JSON string.
func appendJSONText(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// timestampWriter writes timestamps as PostgreSQL's text output without a
// datum per value: the date part is formatted once per day (consecutive
// rows are mostly of the same day), the time of day by hand.
func timestampWriter(a *array.Timestamp, t types.T) func([]byte, int) []byte {
	const microsPerDay = 86_400_000_000
	const firstADDay = -719162 // 0001-01-01, in days since 1970-01-01
	vs := a.TimestampValues()
	tz := t.Kind == types.TimestampTZ
	lastDay := int64(math.MinInt64)
	var date []byte
	return func(buf []byte, i int) []byte {
		v := int64(vs[i])
		day := v / microsPerDay
		if v%microsPerDay < 0 {
			day--
		}
		if day < firstADDay || types.Timestamp(v) == types.TimestampNegInfinity || types.Timestamp(v) == types.TimestampPosInfinity {
			buf = append(buf, '"')
			buf = types.AppendText(buf, types.Timestamp(v), t, nil)
			return append(buf, '"')
		}
		if day != lastDay {
			date = types.AppendText(date[:0], types.Date(day), types.TDate, nil)
			lastDay = day
		}
		buf = append(buf, '"')
		buf = append(buf, date...)
		buf = append(buf, ' ')
		us := v - day*microsPerDay
		sec := us / 1_000_000
		us -= sec * 1_000_000
		h, m, s := sec/3600, sec/60%60, sec%60
		buf = append(buf, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
		if us != 0 {
			buf = append(buf, '.')
			for div := int64(100000); us > 0; div /= 10 {
				buf = append(buf, byte('0'+us/div))
				us %= div
			}
		}
		if tz {
			buf = append(buf, '+', '0', '0')
		}
		return append(buf, '"')
	}
}
