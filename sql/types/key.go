package types

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
)

// Order-preserving key encoding: bytes.Compare on two encodings of one type
// gives the same answer as Compare on the values, so a storage range scan
// follows SQL order. Every encoding is self-delimiting, so keys of several
// columns concatenate.
//
// Layout (ascending): a marker byte, keyNotNull (0x01) or keyNull (0xFF,
// NULLs last), then the value:
//
//	bool              0x00 / 0x01
//	integers, oid     8 bytes big-endian, sign bit flipped
//	date              4 bytes big-endian, sign bit flipped
//	time, timestamp   8 bytes big-endian, sign bit flipped
//	float             8 bytes: IEEE bits, all flipped if negative, else
//	                  sign bit set; -0 is written as 0, NaN as one value
//	                  above +Infinity
//	numeric           a class byte (-Inf, negative, zero, positive, +Inf,
//	                  NaN), then for non-zero finite values the decimal
//	                  exponent (4 bytes) and the digits two per byte (each
//	                  byte 1..100), ending with 0x00; negative values invert
//	                  those bytes. Trailing zeros are dropped, so 1.0 and
//	                  1.00 encode alike (and decode as 1).
//	text-like, bytea  the bytes with 0x00 escaped as 0x00 0xFF, ending with
//	                  0x00 0x01; char(n) drops trailing spaces first
//	interval          the 128-bit compare span (16 bytes, sign flipped);
//	                  decodes to the canonical months/days/micros form
//
// Descending keys are the ascending bytes inverted (NULLs then come first,
// as PostgreSQL sorts them for DESC). AppendKeyNulls places NULL apart
// from the direction: 0x00 before every value, 0xFF after every value.
const (
	keyNotNull byte = 0x01
	keyNull    byte = 0xFF
)

// numeric key classes
const (
	keyNumNegInf byte = 0x01 + iota
	keyNumNeg
	keyNumZero
	keyNumPos
	keyNumPosInf
	keyNumNaN
)

// AppendKey appends the order-preserving encoding of d (nil for NULL) of
// type t. desc inverts the order.
func AppendKey(buf []byte, d Datum, t T, desc bool) []byte {
	start := len(buf)
	if d == nil {
		buf = append(buf, keyNull)
	} else {
		buf = append(buf, keyNotNull)
		buf = appendKeyValue(buf, d, t)
	}
	if desc {
		for i := start; i < len(buf); i++ {
			buf[i] = ^buf[i]
		}
	}
	return buf
}

func appendUint64(buf []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(buf, v) }

func appendKeyValue(buf []byte, d Datum, t T) []byte {
	switch v := d.(type) {
	case bool:
		if v {
			return append(buf, 1)
		}
		return append(buf, 0)
	case int64:
		return appendUint64(buf, uint64(v)^(1<<63))
	case float64:
		return appendUint64(buf, FloatKeyBits(v))
	case *apd.Decimal:
		return appendDecimalKey(buf, v)
	case string:
		if t.Kind == Char {
			v = strings.TrimRight(v, " ")
		}
		return appendEscaped(buf, v)
	case []byte:
		return appendEscapedBytes(buf, v)
	case Date:
		return binary.BigEndian.AppendUint32(buf, uint32(v)^(1<<31))
	case TimeOfDay:
		return appendUint64(buf, uint64(v)^(1<<63))
	case Timestamp:
		return appendUint64(buf, uint64(v)^(1<<63))
	case IntervalValue:
		k := IntervalCompareKey(v)
		buf = appendUint64(buf, uint64(k.Hi)^(1<<63))
		return appendUint64(buf, k.Lo)
	}
	panic(fmt.Sprintf("AppendKey: unexpected datum %T for %s", d, t))
}

// FloatKeyBits returns the order-preserving bits of f in the key
// encoding: floats equal under SQL "=" get equal bits (-0 as 0, every NaN
// one value above +Infinity), so they also serve as a grouping word.
func FloatKeyBits(f float64) uint64 {
	if math.IsNaN(f) {
		return math.MaxUint64
	}
	if f == 0 {
		f = 0 // -0 and 0 are equal
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}

func floatFromKeyBits(b uint64) float64 {
	if b == math.MaxUint64 {
		return math.NaN()
	}
	if b&(1<<63) != 0 {
		return math.Float64frombits(b &^ (1 << 63))
	}
	return math.Float64frombits(^b)
}

func appendEscaped(buf []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			break
		}
		buf = append(append(buf, s[:i]...), 0, 0xFF)
		s = s[i+1:]
	}
	return append(append(buf, s...), 0x00, 0x01)
}

func appendEscapedBytes(buf []byte, s []byte) []byte {
	for {
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			break
		}
		buf = append(append(buf, s[:i]...), 0, 0xFF)
		s = s[i+1:]
	}
	return append(append(buf, s...), 0x00, 0x01)
}

func appendDecimalKey(buf []byte, d *apd.Decimal) []byte {
	if c, ok := nonFinite(d, keyNumNaN, keyNumNegInf, keyNumPosInf); ok {
		return append(buf, c)
	}
	if d.Coeff.Sign() == 0 {
		return append(buf, keyNumZero)
	}
	digits := d.Coeff.String() // decimal digits of the coefficient
	digits = strings.TrimRight(digits, "0")
	// value = 0.digits × 10^exp
	exp := int64(d.Exponent) + int64(d.NumDigits())
	return appendDecimalDigitsKey(buf, d.Negative, exp, digits)
}

// appendDecimalDigitsKey appends the key of the non-zero finite value
// ±0.digits × 10^exp (digits without trailing zeros).
func appendDecimalDigitsKey(buf []byte, neg bool, exp int64, digits string) []byte {
	if neg {
		buf = append(buf, keyNumNeg)
	} else {
		buf = append(buf, keyNumPos)
	}
	start := len(buf)
	buf = binary.BigEndian.AppendUint32(buf, uint32(int32(exp))^(1<<31))
	for i := 0; i < len(digits); i += 2 {
		hi := digits[i] - '0'
		lo := byte(0)
		if i+1 < len(digits) {
			lo = digits[i+1] - '0'
		}
		buf = append(buf, hi*10+lo+1)
	}
	buf = append(buf, 0)
	if neg {
		for i := start; i < len(buf); i++ {
			buf[i] = ^buf[i]
		}
	}
	return buf
}

func errCorruptKey(t T) error {
	return sqlerr.New(sqlerr.DataCorrupted, "corrupt key for type %s", t)
}

// keyReader reads bytes through an inversion mask (0xFF for desc keys).
type keyReader struct {
	buf  []byte
	mask byte
}

func (r *keyReader) byte1() (byte, bool) {
	if len(r.buf) == 0 {
		return 0, false
	}
	c := r.buf[0] ^ r.mask
	r.buf = r.buf[1:]
	return c, true
}

func (r *keyReader) uint64() (uint64, bool) {
	if len(r.buf) < 8 {
		return 0, false
	}
	v := binary.BigEndian.Uint64(r.buf)
	r.buf = r.buf[8:]
	if r.mask != 0 {
		v = ^v
	}
	return v, true
}

func (r *keyReader) uint32() (uint32, bool) {
	if len(r.buf) < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(r.buf)
	r.buf = r.buf[4:]
	if r.mask != 0 {
		v = ^v
	}
	return v, true
}

func (r *keyReader) escaped() ([]byte, bool) {
	var out []byte
	for i := 0; i < len(r.buf); i++ {
		c := r.buf[i] ^ r.mask
		if c != 0 {
			out = append(out, c)
			continue
		}
		if i+1 >= len(r.buf) {
			return nil, false
		}
		switch r.buf[i+1] ^ r.mask {
		case 0xFF:
			out = append(out, 0)
			i++
		case 0x01:
			r.buf = r.buf[i+2:]
			if out == nil {
				out = []byte{}
			}
			return out, true
		default:
			return nil, false
		}
	}
	return nil, false
}

// DecodeKey decodes one value written by AppendKey with the same t and
// desc, returning it (nil for NULL) and the rest of buf. Values that
// compare equal but print differently come back in one canonical form
// (numeric without trailing zeros, interval as months/days/micros of the
// compare span, char(n) re-padded).
func DecodeKey(buf []byte, t T, desc bool) (Datum, []byte, error) {
	r := keyReader{buf: buf}
	if desc {
		r.mask = 0xFF
	}
	m, ok := r.byte1()
	if !ok {
		return nil, buf, errCorruptKey(t)
	}
	if raw := buf[0]; raw == keyNullFirst || raw == keyNullLast {
		// either NULL marker (AppendKeyNulls writes both directions)
		return nil, r.buf, nil
	}
	if m != keyNotNull {
		return nil, buf, errCorruptKey(t)
	}
	d, ok := decodeKeyValue(&r, t)
	if !ok {
		return nil, buf, errCorruptKey(t)
	}
	return d, r.buf, nil
}

func decodeKeyValue(r *keyReader, t T) (Datum, bool) {
	switch t.Kind {
	case Bool:
		c, ok := r.byte1()
		return c == 1, ok && c <= 1
	case Int2, Int4, Int8, Oid:
		v, ok := r.uint64()
		return int64(v ^ (1 << 63)), ok
	case Float4, Float8:
		v, ok := r.uint64()
		return floatFromKeyBits(v), ok
	case Numeric:
		return decodeDecimalKey(r)
	case Bytea:
		b, ok := r.escaped()
		return b, ok
	case DateKind:
		v, ok := r.uint32()
		return Date(int32(v ^ (1 << 31))), ok
	case Time:
		v, ok := r.uint64()
		return TimeOfDay(int64(v ^ (1 << 63))), ok
	case TimestampKind, TimestampTZ:
		v, ok := r.uint64()
		return Timestamp(int64(v ^ (1 << 63))), ok
	case Interval:
		hi, ok1 := r.uint64()
		lo, ok2 := r.uint64()
		return intervalFromKey(Int128{Hi: int64(hi ^ (1 << 63)), Lo: lo}), ok1 && ok2
	}
	b, ok := r.escaped()
	if !ok {
		return nil, false
	}
	s := string(b)
	if t.Kind == Char && t.Width > 0 {
		s, _ = applyWidth(s, t, true)
	}
	return s, true
}

func decodeDecimalKey(r *keyReader) (Datum, bool) {
	c, ok := r.byte1()
	if !ok {
		return nil, false
	}
	switch c {
	case keyNumNaN:
		return &apd.Decimal{Form: apd.NaN}, true
	case keyNumNegInf:
		return &apd.Decimal{Form: apd.Infinite, Negative: true}, true
	case keyNumPosInf:
		return &apd.Decimal{Form: apd.Infinite}, true
	case keyNumZero:
		return &apd.Decimal{}, true
	case keyNumNeg, keyNumPos:
	default:
		return nil, false
	}
	neg := c == keyNumNeg
	inner := *r
	if neg {
		inner.mask ^= 0xFF
	}
	e, ok := inner.uint32()
	if !ok {
		return nil, false
	}
	exp := int64(int32(e ^ (1 << 31)))
	var digits []byte
	for {
		b, ok := inner.byte1()
		if !ok {
			return nil, false
		}
		if b == 0 {
			break
		}
		if b > 100 {
			return nil, false
		}
		b--
		digits = append(digits, '0'+b/10, '0'+b%10)
	}
	r.buf = inner.buf
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return nil, false
	}
	var coeff big.Int
	coeff.SetString(string(digits), 10)
	d := new(apd.Decimal)
	d.Coeff.SetMathBigInt(&coeff)
	d.Exponent = int32(exp - int64(len(digits)))
	d.Negative = neg
	if d.Exponent > 0 {
		// show whole numbers without exponent: 1e3 -> 1000
		_, _ = DecimalCtx.Quantize(d, d, 0)
	}
	return d, true
}
