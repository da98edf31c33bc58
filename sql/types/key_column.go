package types

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Column-at-a-time forms of the key and value encodings (key.go,
// value.go): they write, for every row of an Arrow column, exactly the
// bytes the row forms write for that row's datum, straight from the typed
// value slices. Operators that key state or hash rows use these on their
// chunks; the row forms serve single datums (a watermark, a decoded row).
// The equivalence is kept by the tests in key_column_test.go.

// Null markers of AppendKeyNulls: a NULL sorts before every value with
// keyNullFirst and after every value with keyNullLast, in either
// direction (AppendKey alone puts NULL last ascending, first descending).
const (
	keyNullFirst byte = 0x00
	keyNullLast  byte = 0xFF
)

// AppendKeyNulls is AppendKey with the place of NULL chosen: before every
// value when nullsFirst, after every value otherwise, whatever desc says.
// AppendKey(buf, d, t, desc) is AppendKeyNulls(buf, d, t, desc, desc).
func AppendKeyNulls(buf []byte, d Datum, t T, desc, nullsFirst bool) []byte {
	if d == nil {
		if nullsFirst {
			return append(buf, keyNullFirst)
		}
		return append(buf, keyNullLast)
	}
	return AppendKey(buf, d, t, desc)
}

// AppendIntKey appends the ascending key of the non-NULL integer v:
// exactly what AppendKey writes for an int64 datum of any integer type,
// without boxing v into a Datum (for loops over typed columns).
func AppendIntKey(buf []byte, v int64) []byte {
	return appendUint64(append(buf, keyNotNull), uint64(v)^(1<<63))
}

// AppendKeys appends to keys[i] the key of row i of arr (a column of
// type t) as AppendKeyNulls(keys[i], row i, t, desc, nullsFirst) would,
// for the first len(keys) rows of arr. Two rows get equal keys exactly
// when they are equal under SQL grouping (NULL equal to NULL, 1.0 = 1.00,
// -0 = 0, NaN = NaN, '1 mon' = '30 days'), so the keys serve hashing as
// well as ordering.
func AppendKeys(keys [][]byte, arr arrow.Array, t T, desc, nullsFirst bool) [][]byte {
	nullMark := keyNullLast
	if nullsFirst {
		nullMark = keyNullFirst
	}
	var mask byte
	if desc {
		mask = 0xFF
	}
	switch a := arr.(type) {
	case *array.Null:
		for i := range keys {
			keys[i] = append(keys[i], nullMark)
		}
		return keys
	case *array.Int64, *array.Timestamp, *array.Time64:
		// Integers, times and timestamps share the 64-bit integer key.
		appendIntKeys(keys, arrow.GetValues[int64](arr.Data(), 1), arr, mask, nullMark)
		return keys
	case *array.Int32:
		appendIntKeys(keys, a.Int32Values(), arr, mask, nullMark)
		return keys
	case *array.Int16:
		appendIntKeys(keys, a.Int16Values(), arr, mask, nullMark)
		return keys
	case *array.Date32:
		vals := a.Date32Values()
		nulls := arr.NullN() > 0
		for i := range keys {
			if nulls && arr.IsNull(i) {
				keys[i] = append(keys[i], nullMark)
				continue
			}
			keys[i] = binary.BigEndian.AppendUint32(append(keys[i], keyNotNull^mask), (uint32(vals[i])^(1<<31))^uint32(mask)*0x01010101)
		}
		return keys
	case *array.Float64:
		appendFloatKeys(keys, a.Float64Values(), arr, mask, nullMark)
		return keys
	case *array.Float32:
		appendFloatKeys(keys, a.Float32Values(), arr, mask, nullMark)
		return keys
	case *array.Boolean:
		for i := range keys {
			switch {
			case arr.IsNull(i):
				keys[i] = append(keys[i], nullMark)
			case a.Value(i):
				keys[i] = append(keys[i], keyNotNull^mask, 1^mask)
			default:
				keys[i] = append(keys[i], keyNotNull^mask, mask)
			}
		}
		return keys
	case *array.MonthDayNanoInterval:
		vals := a.MonthDayNanoIntervalValues()
		m64 := uint64(mask) * 0x0101010101010101
		for i := range keys {
			if arr.IsNull(i) {
				keys[i] = append(keys[i], nullMark)
				continue
			}
			v := vals[i]
			k := IntervalCompareKey(IntervalValue{Months: v.Months, Days: v.Days, Micros: v.Nanoseconds / 1000})
			b := appendUint64(append(keys[i], keyNotNull^mask), (uint64(k.Hi)^(1<<63))^m64)
			keys[i] = appendUint64(b, k.Lo^m64)
		}
		return keys
	case *array.Binary:
		for i := range keys {
			if arr.IsNull(i) {
				keys[i] = append(keys[i], nullMark)
				continue
			}
			start := len(keys[i])
			keys[i] = appendEscapedBytes(append(keys[i], keyNotNull), a.Value(i))
			invert(keys[i][start:], mask)
		}
		return keys
	case *array.String:
		if t.Kind == Numeric {
			appendNumericTextKeys(keys, a, t, mask, nullMark)
			return keys
		}
		trim := t.Kind == Char
		for i := range keys {
			if arr.IsNull(i) {
				keys[i] = append(keys[i], nullMark)
				continue
			}
			s := a.Value(i)
			if trim {
				s = strings.TrimRight(s, " ")
			}
			start := len(keys[i])
			keys[i] = appendEscaped(append(keys[i], keyNotNull), s)
			invert(keys[i][start:], mask)
		}
		return keys
	}
	for i := range keys {
		keys[i] = AppendKeyNulls(keys[i], GetDatum(arr, i, t), t, desc, nullsFirst)
	}
	return keys
}

func invert(b []byte, mask byte) {
	if mask == 0 {
		return
	}
	for i := range b {
		b[i] = ^b[i]
	}
}

func appendIntKeys[V ~int16 | ~int32 | ~int64](keys [][]byte, vals []V, arr arrow.Array, mask, nullMark byte) {
	m64 := uint64(mask) * 0x0101010101010101
	if arr.NullN() == 0 {
		for i := range keys {
			keys[i] = appendUint64(append(keys[i], keyNotNull^mask), (uint64(int64(vals[i]))^(1<<63))^m64)
		}
		return
	}
	for i := range keys {
		if arr.IsNull(i) {
			keys[i] = append(keys[i], nullMark)
			continue
		}
		keys[i] = appendUint64(append(keys[i], keyNotNull^mask), (uint64(int64(vals[i]))^(1<<63))^m64)
	}
}

func appendFloatKeys[V float32 | float64](keys [][]byte, vals []V, arr arrow.Array, mask, nullMark byte) {
	m64 := uint64(mask) * 0x0101010101010101
	nulls := arr.NullN() > 0
	for i := range keys {
		if nulls && arr.IsNull(i) {
			keys[i] = append(keys[i], nullMark)
			continue
		}
		keys[i] = appendUint64(append(keys[i], keyNotNull^mask), FloatKeyBits(float64(vals[i]))^m64)
	}
}

// appendNumericTextKeys encodes a numeric column from its text layout
// without parsing each value into a decimal: plain decimal text
// ([-]digits[.digits]) is cut into sign, exponent and significant digits
// directly; anything else (NaN, Infinity, exponents) goes through the
// datum.
func appendNumericTextKeys(keys [][]byte, a *array.String, t T, mask, nullMark byte) {
	for i := range keys {
		if a.IsNull(i) {
			keys[i] = append(keys[i], nullMark)
			continue
		}
		start := len(keys[i])
		if b, ok := appendNumericTextKey(append(keys[i], keyNotNull), a.Value(i)); ok {
			keys[i] = b
		} else {
			keys[i] = appendKeyValue(append(keys[i][:start], keyNotNull), GetDatum(a, i, t), t)
		}
		invert(keys[i][start:], mask)
	}
}

// appendNumericTextKey appends the ascending key value (after the marker)
// of the plain decimal text s, or reports false when s is not plain.
func appendNumericTextKey(buf []byte, s string) ([]byte, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg = true
		s = s[1:]
	}
	if s == "" {
		return buf, false
	}
	intPart, frac := s, ""
	if p := strings.IndexByte(s, '.'); p >= 0 {
		intPart, frac = s[:p], s[p+1:]
	}
	for _, part := range [2]string{intPart, frac} {
		for j := 0; j < len(part); j++ {
			if part[j] < '0' || part[j] > '9' {
				return buf, false
			}
		}
	}
	if intPart == "" && frac == "" {
		return buf, false
	}
	intPart = strings.TrimLeft(intPart, "0")
	var digits string
	var exp int64
	if intPart != "" {
		// value = 0.<intPart><frac> × 10^len(intPart)
		exp = int64(len(intPart))
		if frac == "" || strings.TrimRight(frac, "0") == "" {
			digits = strings.TrimRight(intPart, "0")
		} else {
			digits = intPart + strings.TrimRight(frac, "0")
		}
	} else {
		f := strings.TrimRight(frac, "0")
		lead := len(f) - len(strings.TrimLeft(f, "0"))
		digits = f[lead:]
		exp = -int64(lead)
	}
	if digits == "" {
		return append(buf, keyNumZero), true
	}
	return appendDecimalDigitsKey(buf, neg, exp, digits), true
}

// AppendValues appends to vals[i], for every row i in sel, the value of
// row i of arr (a column of type t) as AppendValue would encode it.
func AppendValues(vals [][]byte, sel []int32, arr arrow.Array, t T) {
	// Integers, dates, times and timestamps are all varints of their
	// value, whatever its width.
	switch a := arr.(type) {
	case *array.Int64, *array.Timestamp, *array.Time64:
		appendIntValues(vals, sel, arrow.GetValues[int64](arr.Data(), 1), arr)
		return
	case *array.Int32, *array.Date32:
		appendIntValues(vals, sel, arrow.GetValues[int32](arr.Data(), 1), arr)
		return
	case *array.Int16:
		appendIntValues(vals, sel, a.Int16Values(), arr)
		return
	case *array.Float64:
		vs := a.Float64Values()
		appendSelValues(vals, sel, arr, func(b []byte, i int) []byte {
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(vs[i]))
		})
		return
	case *array.Float32:
		vs := a.Float32Values()
		appendSelValues(vals, sel, arr, func(b []byte, i int) []byte {
			return binary.LittleEndian.AppendUint32(b, math.Float32bits(vs[i]))
		})
		return
	case *array.Boolean:
		appendSelValues(vals, sel, arr, func(b []byte, i int) []byte {
			if a.Value(i) {
				return append(b, 1)
			}
			return append(b, 0)
		})
		return
	case *array.String:
		if t.Kind != Numeric {
			appendSelValues(vals, sel, arr, func(b []byte, i int) []byte { return appendLenPrefixed(b, a.Value(i)) })
			return
		}
	case *array.Binary:
		appendSelValues(vals, sel, arr, func(b []byte, i int) []byte { return appendLenPrefixed(b, a.Value(i)) })
		return
	}
	for _, i := range sel {
		vals[i] = AppendValue(vals[i], GetDatum(arr, int(i), t), t)
	}
}

// appendSelValues writes the NULL tag for the NULL rows of sel and, for
// the others, the present tag and what enc appends for the row.
func appendSelValues(vals [][]byte, sel []int32, arr arrow.Array, enc func(b []byte, i int) []byte) {
	for _, i := range sel {
		if arr.IsNull(int(i)) {
			vals[i] = append(vals[i], valNull)
			continue
		}
		vals[i] = enc(append(vals[i], valPresent), int(i))
	}
}

func appendIntValues[V ~int16 | ~int32 | ~int64](vals [][]byte, sel []int32, vs []V, arr arrow.Array) {
	nulls := arr.NullN() > 0
	for _, i := range sel {
		if nulls && arr.IsNull(int(i)) {
			vals[i] = append(vals[i], valNull)
			continue
		}
		vals[i] = binary.AppendVarint(append(vals[i], valPresent), int64(vs[i]))
	}
}

// AppendIntValue appends the value encoding of the non-NULL integer v:
// exactly what AppendValue writes for an int64 datum of an integer,
// date, time or timestamp type, without boxing v into a Datum.
func AppendIntValue(buf []byte, v int64) []byte {
	return binary.AppendVarint(append(buf, valPresent), v)
}
