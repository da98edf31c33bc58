package types

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
)

// PostgreSQL's binary wire format (typsend/typreceive), as drivers such as
// pgx and JDBC use it: big-endian fixed-width numbers, dates and timestamps
// relative to 2000-01-01, numeric as base-10000 digits with weight, sign
// and display scale, jsonb as a version byte (1) and the text.

// numeric sign words
const (
	numericPos    = 0x0000
	numericNeg    = 0x4000
	numericNaN    = 0xC000
	numericPInf   = 0xD000
	numericNInf   = 0xF000
	pgDateInfHigh = math.MaxInt32
	pgDateInfLow  = math.MinInt32
)

// AppendBinary appends the binary wire representation of d (non-nil, of
// type t).
func AppendBinary(buf []byte, d Datum, t T) ([]byte, error) {
	switch t.Kind {
	case Bool:
		if d.(bool) {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case Int2:
		return binary.BigEndian.AppendUint16(buf, uint16(d.(int64))), nil
	case Int4:
		return binary.BigEndian.AppendUint32(buf, uint32(d.(int64))), nil
	case Int8:
		return binary.BigEndian.AppendUint64(buf, uint64(d.(int64))), nil
	case Oid:
		return binary.BigEndian.AppendUint32(buf, uint32(d.(int64))), nil
	case Float4:
		return binary.BigEndian.AppendUint32(buf, math.Float32bits(float32(d.(float64)))), nil
	case Float8:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(d.(float64))), nil
	case Numeric:
		return appendNumericBinary(buf, d.(*apd.Decimal)), nil
	case Text, Varchar, Char, Name, Unknown:
		return append(buf, d.(string)...), nil
	case JSONB:
		buf = append(buf, 1)
		return append(buf, d.(string)...), nil
	case Bytea:
		return append(buf, d.([]byte)...), nil
	case DateKind:
		v := d.(Date)
		switch v {
		case DatePosInfinity:
			return binary.BigEndian.AppendUint32(buf, uint32(int32(pgDateInfHigh))), nil
		case DateNegInfinity:
			return binary.BigEndian.AppendUint32(buf, uint32(int64(pgDateInfLow)&0xFFFFFFFF)), nil
		}
		return binary.BigEndian.AppendUint32(buf, uint32(int32(v)-PGEpochDays)), nil
	case Time:
		return binary.BigEndian.AppendUint64(buf, uint64(d.(TimeOfDay))), nil
	case TimestampKind, TimestampTZ:
		v := d.(Timestamp)
		if !v.IsFinite() {
			return binary.BigEndian.AppendUint64(buf, uint64(v)), nil
		}
		return binary.BigEndian.AppendUint64(buf, uint64(int64(v)-PGEpochMicros)), nil
	case Interval:
		v := d.(IntervalValue)
		buf = binary.BigEndian.AppendUint64(buf, uint64(v.Micros))
		buf = binary.BigEndian.AppendUint32(buf, uint32(v.Days))
		return binary.BigEndian.AppendUint32(buf, uint32(v.Months)), nil
	}
	return buf, sqlerr.New(sqlerr.FeatureNotSupported, "binary output of type %s is not supported", t)
}

// appendNumericBinary writes numeric_send's format.
func appendNumericBinary(buf []byte, d *apd.Decimal) []byte {
	header := func(ndigits, weight int16, sign, dscale uint16) {
		buf = binary.BigEndian.AppendUint16(buf, uint16(ndigits))
		buf = binary.BigEndian.AppendUint16(buf, uint16(weight))
		buf = binary.BigEndian.AppendUint16(buf, sign)
		buf = binary.BigEndian.AppendUint16(buf, dscale)
	}
	if sign, ok := nonFinite[uint16](d, numericNaN, numericNInf, numericPInf); ok {
		header(0, 0, sign, 0)
		return buf
	}
	dscale := 0
	if d.Exponent < 0 {
		dscale = int(-d.Exponent)
	}
	s := d.Coeff.String()
	var intPart, frac string
	switch {
	case d.Exponent >= 0:
		if s != "0" {
			intPart = s + strings.Repeat("0", int(d.Exponent))
		}
	case len(s) > dscale:
		intPart, frac = s[:len(s)-dscale], s[len(s)-dscale:]
	default:
		frac = strings.Repeat("0", dscale-len(s)) + s
	}
	intPart = strings.TrimLeft(intPart, "0")
	if r := len(intPart) % 4; r != 0 {
		intPart = strings.Repeat("0", 4-r) + intPart
	}
	if r := len(frac) % 4; r != 0 {
		frac += strings.Repeat("0", 4-r)
	}
	all := intPart + frac
	groups := make([]int16, 0, len(all)/4)
	for i := 0; i < len(all); i += 4 {
		g := int16((all[i]-'0'))*1000 + int16(all[i+1]-'0')*100 + int16(all[i+2]-'0')*10 + int16(all[i+3]-'0')
		groups = append(groups, g)
	}
	weight := len(intPart)/4 - 1
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 {
		groups = groups[:len(groups)-1]
	}
	sign := uint16(numericPos)
	if d.Negative && len(groups) > 0 {
		sign = numericNeg
	}
	if len(groups) == 0 {
		weight = 0
	}
	header(int16(len(groups)), int16(weight), sign, uint16(dscale))
	for _, g := range groups {
		buf = binary.BigEndian.AppendUint16(buf, uint16(g))
	}
	return buf
}

func errBinary(t T, format string, args ...any) error {
	return sqlerr.New(sqlerr.InvalidBinaryRepresentation, "invalid binary representation for type %s: %s", t, fmt.Sprintf(format, args...))
}

// ParseBinary decodes the binary wire representation b of a value of type t.
func ParseBinary(b []byte, t T) (Datum, error) {
	need := func(n int) error {
		if len(b) != n {
			return errBinary(t, "expected %d bytes, got %d", n, len(b))
		}
		return nil
	}
	switch t.Kind {
	case Bool:
		if err := need(1); err != nil {
			return nil, err
		}
		return b[0] != 0, nil
	case Int2:
		if err := need(2); err != nil {
			return nil, err
		}
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case Int4:
		if err := need(4); err != nil {
			return nil, err
		}
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case Int8:
		if err := need(8); err != nil {
			return nil, err
		}
		return int64(binary.BigEndian.Uint64(b)), nil
	case Oid:
		if err := need(4); err != nil {
			return nil, err
		}
		return int64(binary.BigEndian.Uint32(b)), nil
	case Float4:
		if err := need(4); err != nil {
			return nil, err
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
	case Float8:
		if err := need(8); err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case Numeric:
		d, err := parseNumericBinary(b, t)
		if err != nil {
			return nil, err
		}
		return RoundNumeric(d, t)
	case Text, Varchar, Char, Name, Unknown:
		if err := CheckUTF8(b); err != nil {
			return nil, err
		}
		s := string(b)
		switch t.Kind {
		case Varchar, Char:
			return applyWidth(s, t, false)
		case Name:
			return truncateName(s), nil
		}
		return s, nil
	case JSONB:
		if len(b) == 0 || b[0] != 1 {
			return nil, errBinary(t, "unsupported jsonb version number")
		}
		if err := CheckUTF8(b[1:]); err != nil {
			return nil, err
		}
		return ParseJSONB(string(b[1:]))
	case Bytea:
		return append([]byte(nil), b...), nil
	case DateKind:
		if err := need(4); err != nil {
			return nil, err
		}
		v := int32(binary.BigEndian.Uint32(b))
		switch v {
		case pgDateInfHigh:
			return DatePosInfinity, nil
		case pgDateInfLow:
			return DateNegInfinity, nil
		}
		return Date(int64(v) + PGEpochDays), nil
	case Time:
		if err := need(8); err != nil {
			return nil, err
		}
		v := int64(binary.BigEndian.Uint64(b))
		if v < 0 || v > MicrosPerDay {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "time out of range")
		}
		return TimeOfDay(v), nil
	case TimestampKind, TimestampTZ:
		if err := need(8); err != nil {
			return nil, err
		}
		v := int64(binary.BigEndian.Uint64(b))
		if v == math.MaxInt64 || v == math.MinInt64 {
			return Timestamp(v), nil
		}
		r, of := addInt64(v, PGEpochMicros)
		if of || !timestampInRange(r) {
			return nil, errTimestampRange()
		}
		return Timestamp(r), nil
	case Interval:
		if err := need(16); err != nil {
			return nil, err
		}
		return IntervalValue{
			Micros: int64(binary.BigEndian.Uint64(b)),
			Days:   int32(binary.BigEndian.Uint32(b[8:])),
			Months: int32(binary.BigEndian.Uint32(b[12:])),
		}, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "binary input of type %s is not supported", t)
}

func parseNumericBinary(b []byte, t T) (*apd.Decimal, error) {
	if len(b) < 8 {
		return nil, errBinary(t, "short numeric header")
	}
	ndigits := int(int16(binary.BigEndian.Uint16(b)))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := int(binary.BigEndian.Uint16(b[6:]))
	switch sign {
	case numericNaN:
		return &apd.Decimal{Form: apd.NaN}, nil
	case numericPInf:
		return &apd.Decimal{Form: apd.Infinite}, nil
	case numericNInf:
		return &apd.Decimal{Form: apd.Infinite, Negative: true}, nil
	case numericPos, numericNeg:
	default:
		return nil, errBinary(t, "invalid sign in external \"numeric\" value")
	}
	if ndigits < 0 || len(b) != 8+2*ndigits || dscale > 0x3FFF {
		return nil, errBinary(t, "invalid length in external \"numeric\" value")
	}
	var sb strings.Builder
	for i := 0; i < ndigits; i++ {
		g := binary.BigEndian.Uint16(b[8+2*i:])
		if g >= 10000 {
			return nil, errBinary(t, "invalid digit in external \"numeric\" value")
		}
		fmt.Fprintf(&sb, "%04d", g)
	}
	var coeff big.Int
	if ndigits > 0 {
		coeff.SetString(sb.String(), 10)
	}
	d := new(apd.Decimal)
	d.Coeff.SetMathBigInt(&coeff)
	d.Exponent = int32((weight - ndigits + 1) * 4)
	d.Negative = sign == numericNeg && coeff.Sign() != 0
	// Display scale: exactly dscale fraction digits, as numeric_recv.
	if _, err := DecimalCtx.Quantize(d, d, int32(-dscale)); err != nil {
		return nil, errBinary(t, "numeric value out of range")
	}
	return d, nil
}
