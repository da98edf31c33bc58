package types

import (
	"strings"

	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
)

// Numeric values are exact decimals (*apd.Decimal). The display scale of a
// value is its exponent: 1.50 has exponent -2 and prints as 1.50, like
// PostgreSQL's dscale. PostgreSQL also has NaN and ±Infinity numerics.

// DecimalCtx is the context for numeric arithmetic: enough digits for any
// numeric PostgreSQL can store in a column (1000 digits of precision), and
// PostgreSQL's rounding, half away from zero. It is read-only; apd contexts
// are safe for concurrent use.
var DecimalCtx = &apd.Context{
	Precision:   1000,
	MaxExponent: 200000,
	MinExponent: -200000,
	Rounding:    apd.RoundHalfUp,
	Traps:       apd.DefaultTraps,
}

// ParseDecimal parses numeric input text: optional surrounding spaces and
// sign, digits with an optional point and exponent, or NaN / Infinity /
// -Infinity (case-insensitive), as numeric_in accepts.
func ParseDecimal(s string) (*apd.Decimal, error) {
	v := trimSpace(s)
	body := v
	neg := false
	if len(body) > 0 && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "nan":
		if v != body {
			break // a signed NaN is a syntax error
		}
		return &apd.Decimal{Form: apd.NaN}, nil
	case "infinity", "inf":
		return &apd.Decimal{Form: apd.Infinite, Negative: neg}, nil
	}
	if !validDecimalSyntax(body) {
		return nil, errSyntax("numeric", s)
	}
	d, _, err := apd.NewFromString(v)
	if err != nil {
		if strings.Contains(err.Error(), "exponent") {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
		}
		return nil, errSyntax("numeric", s)
	}
	if d.Exponent > 0 {
		// 1e3 is 1000 with scale 0, not a coefficient with a positive exponent.
		if _, err := DecimalCtx.Quantize(d, d, 0); err != nil {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
		}
	}
	if d.Coeff.Sign() == 0 {
		d.Negative = false
	}
	return d, nil
}

// validDecimalSyntax checks digits[.digits][e[+-]digits] with at least one
// digit in the mantissa (".5" and "5." are fine).
func validDecimalSyntax(s string) bool {
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		if n == 0 {
			return false
		}
	}
	return i == len(s)
}

// RoundNumeric applies the typmod of t (numeric(p,s)) to d: rounds to s
// fractional digits, half away from zero, and fails with 22003 "numeric
// field overflow" when the integer part needs more than p-s digits.
// Unconstrained numeric returns d unchanged; NaN passes any typmod.
func RoundNumeric(d *apd.Decimal, t T) (*apd.Decimal, error) {
	if t.Precision <= 0 || d.Form == apd.NaN || d.Form == apd.NaNSignaling {
		return d, nil
	}
	p, s := t.Precision, t.Scale
	if d.Form == apd.Infinite {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "numeric field overflow").
			WithDetail("A field with precision %d, scale %d cannot hold an infinite value.", p, s)
	}
	r := new(apd.Decimal)
	if _, err := DecimalCtx.Quantize(r, d, -s); err != nil {
		return nil, numericOverflow(p, s)
	}
	if r.Coeff.Sign() == 0 {
		r.Negative = false
	} else if int32(r.NumDigits())+r.Exponent > p-s {
		return nil, numericOverflow(p, s)
	}
	return r, nil
}

func numericOverflow(p, s int32) error {
	if p == s {
		return sqlerr.New(sqlerr.NumericValueOutOfRange, "numeric field overflow").
			WithDetail("A field with precision %d, scale %d must round to an absolute value less than 1.", p, s)
	}
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "numeric field overflow").
		WithDetail("A field with precision %d, scale %d must round to an absolute value less than 10^%d.", p, s, p-s)
}
