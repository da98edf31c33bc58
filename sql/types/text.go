package types

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
)

// This file holds the PostgreSQL text format of every type: the output
// functions (typoutput) and input functions (typinput) with the session
// defaults DateStyle=ISO, MDY, IntervalStyle=postgres, extra_float_digits=1.
// Date and time formats live in datetime_text.go, jsonb in jsonb.go.

// AppendText appends the PostgreSQL text output of d (non-nil, of type t).
// loc is the session time zone for timestamptz; nil means UTC.
func AppendText(buf []byte, d Datum, t T, loc *time.Location) []byte {
	switch v := d.(type) {
	case bool:
		if v {
			return append(buf, 't')
		}
		return append(buf, 'f')
	case int64:
		if t.Kind == Oid {
			return strconv.AppendUint(buf, uint64(uint32(v)), 10)
		}
		return strconv.AppendInt(buf, v, 10)
	case float64:
		if t.Kind == Float4 {
			return appendFloat(buf, v, 32)
		}
		return appendFloat(buf, v, 64)
	case *apd.Decimal:
		return appendDecimal(buf, v)
	case string:
		return append(buf, v...)
	case []byte:
		buf = append(buf, '\\', 'x')
		return hex.AppendEncode(buf, v)
	case Date:
		return appendDate(buf, v)
	case TimeOfDay:
		return appendTimeOfDay(buf, int64(v))
	case Timestamp:
		if t.Kind == TimestampTZ {
			return appendTimestampTZ(buf, v, loc)
		}
		return appendTimestamp(buf, v)
	case IntervalValue:
		return appendInterval(buf, v)
	}
	panic("AppendText: unexpected datum type for " + t.String())
}

// FormatText returns the PostgreSQL text output of d (non-nil, of type t).
func FormatText(d Datum, t T, loc *time.Location) string {
	return string(AppendText(nil, d, t, loc))
}

// appendFloat formats like PostgreSQL's float4out/float8out with
// extra_float_digits >= 1: the shortest string that reads back exactly,
// in exponent form when the decimal exponent is < -4 or >= the type's
// digit count (15 for float8, 6 for float4).
func appendFloat(buf []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(buf, "-0"...)
		}
		return append(buf, '0')
	}
	if bitSize == 32 {
		f = float64(float32(f))
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, bitSize)
	i := strings.LastIndexByte(string(e), 'e')
	exp, _ := strconv.Atoi(string(e[i+1:]))
	limit := 15
	if bitSize == 32 {
		limit = 6
	}
	if exp < -4 || exp >= limit {
		return append(buf, e...)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, bitSize)
}

// appendDecimal prints a numeric with its display scale, never in exponent
// form, without a negative zero.
func appendDecimal(buf []byte, d *apd.Decimal) []byte {
	if s, ok := nonFinite(d, "NaN", "-Infinity", "Infinity"); ok {
		return append(buf, s...)
	}
	if d.Negative && d.Coeff.Sign() == 0 {
		var z apd.Decimal
		z.Exponent = d.Exponent
		return append(buf, z.Text('f')...)
	}
	return append(buf, d.Text('f')...)
}

// ParseText parses s by PostgreSQL's input rules for t, including the
// typmod checks a value undergoes when stored into a column of type t
// (numeric(p,s) rounding, varchar(n)/char(n) length, char padding).
func ParseText(s string, t T, loc *time.Location) (Datum, error) {
	switch t.Kind {
	case Bool:
		return parseBool(s)
	case Int2, Int4, Int8:
		return parseInt(s, t)
	case Oid:
		return parseOid(s, t)
	case Float4, Float8:
		return parseFloat(s, t)
	case Numeric:
		d, err := ParseDecimal(s)
		if err != nil {
			return nil, err
		}
		return RoundNumeric(d, t)
	case Text, Unknown, Record, Array:
		return s, nil
	case Varchar, Char:
		return applyWidth(s, t, false)
	case Name:
		return truncateName(s), nil
	case Bytea:
		return parseBytea(s)
	case DateKind:
		return parseDate(s)
	case Time:
		return parseTime(s)
	case TimestampKind:
		return parseTimestamp(s, false, loc)
	case TimestampTZ:
		return parseTimestamp(s, true, loc)
	case Interval:
		return parseInterval(s)
	case JSONB:
		return ParseJSONB(s)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "input of type %s is not supported", t)
}

func errSyntax(typ, s string) error {
	return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: \"%s\"", typ, s)
}

// isSpace is PostgreSQL's scanner_isspace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func parseBool(s string) (Datum, error) {
	v := strings.ToLower(trimSpace(s))
	n := len(v)
	if n > 0 {
		switch v[0] {
		case 't':
			if strings.HasPrefix("true", v) {
				return true, nil
			}
		case 'f':
			if strings.HasPrefix("false", v) {
				return false, nil
			}
		case 'y':
			if strings.HasPrefix("yes", v) {
				return true, nil
			}
		case 'n':
			if strings.HasPrefix("no", v) {
				return false, nil
			}
		case 'o':
			// "o" alone is ambiguous between on and off.
			if n >= 2 && strings.HasPrefix("on", v) {
				return true, nil
			}
			if n >= 2 && strings.HasPrefix("off", v) {
				return false, nil
			}
		case '1':
			if n == 1 {
				return true, nil
			}
		case '0':
			if n == 1 {
				return false, nil
			}
		}
	}
	return nil, errSyntax("boolean", s)
}

// intRange returns the bounds of an integer kind.
// IntRange is the range of the values of integer kind k.
func IntRange(k Kind) (lo, hi int64) {
	switch k {
	case Int2:
		return math.MinInt16, math.MaxInt16
	case Int4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

func parseInt(s string, t T) (Datum, error) {
	v := trimSpace(s)
	// PostgreSQL 15 accepts only an optional sign and decimal digits.
	digits := v
	if len(digits) > 0 && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if digits == "" {
		return nil, errSyntax(t.String(), s)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return nil, errSyntax(t.String(), s)
		}
	}
	if v[0] == '+' {
		v = v[1:]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	lo, hi := IntRange(t.Kind)
	if err != nil || n < lo || n > hi {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value \"%s\" is out of range for type %s", s, t)
	}
	return n, nil
}

func parseOid(s string, t T) (Datum, error) {
	v := trimSpace(s)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value \"%s\" is out of range for type oid", s)
		}
		return nil, errSyntax("oid", s)
	}
	// oidin accepts -2147483648..4294967295; negatives wrap like C's strtoul.
	if n < math.MinInt32 || n > math.MaxUint32 {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value \"%s\" is out of range for type oid", s)
	}
	return int64(uint32(n)), nil
}

func parseFloat(s string, t T) (Datum, error) {
	v := trimSpace(s)
	bitSize := 64
	if t.Kind == Float4 {
		bitSize = 32
	}
	if v == "" || strings.ContainsRune(v, '_') {
		return nil, errSyntax(t.String(), s)
	}
	f, err := strconv.ParseFloat(v, bitSize)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "\"%s\" is out of range for type %s", s, t)
		}
		return nil, errSyntax(t.String(), s)
	}
	if f == 0 && hasNonZeroMantissa(v) {
		// strtod reports underflow as ERANGE, and PostgreSQL rejects it.
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "\"%s\" is out of range for type %s", s, t)
	}
	if math.IsInf(f, 0) {
		l := strings.ToLower(v)
		if !strings.Contains(l, "inf") {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "\"%s\" is out of range for type %s", s, t)
		}
	}
	return f, nil
}

func hasNonZeroMantissa(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == 'e' || c == 'E' {
			return false
		}
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

// applyWidth enforces varchar(n)/char(n) on s. Storing a value (explicit
// false) rejects excess characters unless they are all spaces (22001);
// an explicit cast truncates silently. char(n) pads with spaces to n.
func applyWidth(s string, t T, explicit bool) (string, error) {
	if t.Width <= 0 {
		return s, nil
	}
	n := int(t.Width)
	count := utf8.RuneCountInString(s)
	if count > n {
		// byte offset of the n-th rune
		off, i := 0, 0
		for off = range s {
			if i == n {
				break
			}
			i++
		}
		if !explicit && strings.TrimRight(s[off:], " ") != "" {
			return "", sqlerr.New(sqlerr.StringDataRightTruncation, "value too long for type %s", t)
		}
		return s[:off], nil
	}
	if t.Kind == Char && count < n {
		return s + strings.Repeat(" ", n-count), nil
	}
	return s, nil
}

// truncateName cuts a name to NAMEDATALEN-1 bytes on a character boundary.
func truncateName(s string) string {
	const maxName = 63
	if len(s) <= maxName {
		return s
	}
	n := maxName
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func parseBytea(s string) (Datum, error) {
	if strings.HasPrefix(s, `\x`) {
		out := make([]byte, 0, (len(s)-2)/2)
		for i := 2; i < len(s); {
			c := s[i]
			if isSpace(c) {
				i++
				continue
			}
			hi, ok := unhex(c)
			if !ok {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid hexadecimal digit: \"%s\"", string(firstRune(s[i:])))
			}
			if i+1 >= len(s) {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid hexadecimal data: odd number of digits")
			}
			lo, ok := unhex(s[i+1])
			if !ok {
				if isSpace(s[i+1]) {
					return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid hexadecimal data: odd number of digits")
				}
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid hexadecimal digit: \"%s\"", string(firstRune(s[i+1:])))
			}
			out = append(out, hi<<4|lo)
			i += 2
		}
		return out, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '\\' {
			out = append(out, '\\')
			i += 2
			continue
		}
		if i+3 < len(s) && isOct03(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 4
			continue
		}
		return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type bytea")
	}
	return out, nil
}

func firstRune(s string) []byte {
	_, n := utf8.DecodeRuneInString(s)
	return []byte(s[:n])
}

func isOct(c byte) bool   { return c >= '0' && c <= '7' }
func isOct03(c byte) bool { return c >= '0' && c <= '3' }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
