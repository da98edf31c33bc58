package types

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"

	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
)

// Compact value encoding for stored rows (not order-preserving). Each
// value starts with a tag byte, valNull or valPresent, then:
//
//	bool              1 byte
//	integers, oid     zig-zag varint
//	float4            4 bytes IEEE (little-endian); float8 8 bytes
//	numeric           form byte (finite+, finite-, NaN, +Inf, -Inf),
//	                  for finite: zig-zag varint exponent, uvarint length
//	                  and big-endian coefficient bytes
//	text-like, bytea  uvarint length, bytes
//	date, time,
//	timestamp         zig-zag varint
//	interval          zig-zag varints: months, days, micros
//
// A row is a uvarint column count followed by its values. Decoding a row
// written with fewer columns than the table now has yields NULL for the
// missing trailing columns, so ADD COLUMN needs no rewrite.
const (
	valNull    byte = 0
	valPresent byte = 1
)

const (
	numFinitePos byte = iota
	numFiniteNeg
	numNaN
	numPosInf
	numNegInf
)

// AppendValue appends the compact encoding of d (nil for NULL) of type t.
func AppendValue(buf []byte, d Datum, t T) []byte {
	if d == nil {
		return append(buf, valNull)
	}
	buf = append(buf, valPresent)
	switch v := d.(type) {
	case bool:
		if v {
			return append(buf, 1)
		}
		return append(buf, 0)
	case int64:
		return binary.AppendVarint(buf, v)
	case float64:
		if t.Kind == Float4 {
			return binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(v)))
		}
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
	case *apd.Decimal:
		if c, ok := nonFinite(v, numNaN, numNegInf, numPosInf); ok {
			return append(buf, c)
		}
		if v.Negative && v.Coeff.Sign() != 0 {
			buf = append(buf, numFiniteNeg)
		} else {
			buf = append(buf, numFinitePos)
		}
		buf = binary.AppendVarint(buf, int64(v.Exponent))
		return appendLenPrefixed(buf, v.Coeff.MathBigInt().Bytes())
	case string:
		return appendLenPrefixed(buf, v)
	case []byte:
		return appendLenPrefixed(buf, v)
	case Date:
		return binary.AppendVarint(buf, int64(v))
	case TimeOfDay:
		return binary.AppendVarint(buf, int64(v))
	case Timestamp:
		return binary.AppendVarint(buf, int64(v))
	case IntervalValue:
		buf = binary.AppendVarint(buf, int64(v.Months))
		buf = binary.AppendVarint(buf, int64(v.Days))
		return binary.AppendVarint(buf, v.Micros)
	}
	panic(fmt.Sprintf("AppendValue: unexpected datum %T for %s", d, t))
}

// appendLenPrefixed appends s after its length as a uvarint: the value
// encoding of text, bytea and a numeric's coefficient.
func appendLenPrefixed[S string | []byte](buf []byte, s S) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

func errCorruptValue(t T) error {
	return sqlerr.New(sqlerr.DataCorrupted, "corrupt stored value for type %s", t)
}

// DecodeValue decodes one value written by AppendValue for type t and
// returns the rest of buf.
func DecodeValue(buf []byte, t T) (Datum, []byte, error) {
	if len(buf) == 0 {
		return nil, buf, errCorruptValue(t)
	}
	if buf[0] == valNull {
		return nil, buf[1:], nil
	}
	if buf[0] != valPresent {
		return nil, buf, errCorruptValue(t)
	}
	b := buf[1:]
	varint := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	bytesField := func() ([]byte, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, false
		}
		out := b[n : n+int(l)]
		b = b[n+int(l):]
		return out, true
	}
	fail := func() (Datum, []byte, error) { return nil, buf, errCorruptValue(t) }
	switch t.Kind {
	case Bool:
		if len(b) < 1 {
			return fail()
		}
		return b[0] == 1, b[1:], nil
	case Int2, Int4, Int8, Oid:
		v, ok := varint()
		if !ok {
			return fail()
		}
		return v, b, nil
	case Float4:
		if len(b) < 4 {
			return fail()
		}
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), b[4:], nil
	case Float8:
		if len(b) < 8 {
			return fail()
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
	case Numeric:
		if len(b) < 1 {
			return fail()
		}
		form := b[0]
		b = b[1:]
		switch form {
		case numNaN:
			return &apd.Decimal{Form: apd.NaN}, b, nil
		case numPosInf:
			return &apd.Decimal{Form: apd.Infinite}, b, nil
		case numNegInf:
			return &apd.Decimal{Form: apd.Infinite, Negative: true}, b, nil
		case numFinitePos, numFiniteNeg:
		default:
			return fail()
		}
		exp, ok := varint()
		if !ok || exp < math.MinInt32 || exp > math.MaxInt32 {
			return fail()
		}
		cb, ok := bytesField()
		if !ok {
			return fail()
		}
		var bi big.Int
		bi.SetBytes(cb)
		d := new(apd.Decimal)
		d.Coeff.SetMathBigInt(&bi)
		d.Exponent = int32(exp)
		d.Negative = form == numFiniteNeg
		return d, b, nil
	case Bytea:
		v, ok := bytesField()
		if !ok {
			return fail()
		}
		return append([]byte(nil), v...), b, nil
	case DateKind:
		v, ok := varint()
		if !ok {
			return fail()
		}
		return Date(v), b, nil
	case Time:
		v, ok := varint()
		if !ok {
			return fail()
		}
		return TimeOfDay(v), b, nil
	case TimestampKind, TimestampTZ:
		v, ok := varint()
		if !ok {
			return fail()
		}
		return Timestamp(v), b, nil
	case Interval:
		m, ok1 := varint()
		d, ok2 := varint()
		us, ok3 := varint()
		if !ok1 || !ok2 || !ok3 {
			return fail()
		}
		return IntervalValue{Months: int32(m), Days: int32(d), Micros: us}, b, nil
	}
	v, ok := bytesField()
	if !ok {
		return fail()
	}
	return string(v), b, nil
}

// EncodeRow appends the encoding of a row of values of types ts.
func EncodeRow(buf []byte, row []Datum, ts []T) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(row)))
	for i, d := range row {
		buf = AppendValue(buf, d, ts[i])
	}
	return buf
}

// DecodeRow decodes a row written by EncodeRow for the column types ts.
// Columns missing at the end of an older, shorter row decode as NULL.
func DecodeRow(buf []byte, ts []T) ([]Datum, error) {
	n, k := binary.Uvarint(buf)
	if k <= 0 {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "corrupt stored row header")
	}
	if n > uint64(len(ts)) {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "stored row has %d columns, table has %d", n, len(ts))
	}
	buf = buf[k:]
	row := make([]Datum, len(ts))
	for i := 0; i < int(n); i++ {
		d, rest, err := DecodeValue(buf, ts[i])
		if err != nil {
			return nil, fmt.Errorf("column %d: %w", i+1, err)
		}
		row[i] = d
		buf = rest
	}
	if len(buf) != 0 {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "stored row has %d trailing bytes", len(buf))
	}
	return row, nil
}
