package types

import (
	"bytes"
	"cmp"
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
)

// Compare orders two non-nil datums of type t the way PostgreSQL's default
// btree operator class does, returning -1, 0 or 1: text bytewise (the C
// collation), char(n) ignoring trailing spaces, floats with NaN above
// everything and equal to itself and -0 equal to 0, numerics by value
// (1.0 = 1.00, NaN above Infinity), intervals by their 30-day-month span.
func Compare(a, b Datum, t T) int {
	switch x := a.(type) {
	case bool:
		return CompareBool(x, b.(bool))
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return CompareFloat(x, b.(float64))
	case *apd.Decimal:
		return CompareDecimal(x, b.(*apd.Decimal))
	case string:
		y := b.(string)
		if t.Kind == Char {
			x, y = strings.TrimRight(x, " "), strings.TrimRight(y, " ")
		}
		return strings.Compare(x, y)
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case Date:
		return cmp.Compare(x, b.(Date))
	case TimeOfDay:
		return cmp.Compare(x, b.(TimeOfDay))
	case Timestamp:
		return cmp.Compare(x, b.(Timestamp))
	case IntervalValue:
		return IntervalCompareKey(x).Cmp(IntervalCompareKey(b.(IntervalValue)))
	}
	panic("Compare: unexpected datum type for " + t.String())
}

// CompareBool orders false before true, returning -1, 0 or 1.
func CompareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// CompareFloat orders floats as PostgreSQL does, returning -1, 0 or 1:
// NaN equals NaN and sorts above every other value; -0 equals 0.
func CompareFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CompareDecimal orders numerics as PostgreSQL does, returning -1, 0 or
// 1: by value (1.0 = 1.00), -Infinity < finite < Infinity < NaN, and NaN
// equal to NaN.
func CompareDecimal(a, b *apd.Decimal) int {
	ra, rb := decimalRank(a), decimalRank(b)
	if ra != rb || ra != 1 {
		return cmp.Compare(int64(ra), int64(rb))
	}
	return a.Cmp(b)
}

// nonFinite picks nan, negInf or posInf for a numeric NaN, -Infinity or
// +Infinity; ok is false for a finite value.
func nonFinite[V any](d *apd.Decimal, nan, negInf, posInf V) (v V, ok bool) {
	switch {
	case d.Form == apd.Finite:
		return v, false
	case d.Form != apd.Infinite:
		return nan, true
	case d.Negative:
		return negInf, true
	}
	return posInf, true
}

func decimalRank(d *apd.Decimal) int {
	if r, ok := nonFinite(d, 3, 0, 2); ok {
		return r
	}
	return 1
}
