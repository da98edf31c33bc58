package batch

import (
	"bytes"
	"cmp"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// SortKey is one ORDER BY key (the logical plan's, sql/plan.SortKey).
type SortKey = plan.SortKey

func sortKeyList(keys []SortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, ", ")
}

// valueCmp compares the non-NULL values at rows i and j of one column.
type valueCmp func(i, j int) int

// newValueCmp returns the comparator of the values of arr, a column of t,
// with PostgreSQL's ordering (C collation for text).
func newValueCmp(arr arrow.Array, t types.T) valueCmp {
	switch a := arr.(type) {
	case *array.Null:
		return func(i, j int) int { return 0 }
	case *array.Boolean:
		return func(i, j int) int { return types.CompareBool(a.Value(i), a.Value(j)) }
	case *array.Int16:
		return orderedCmp(a.Int16Values())
	case *array.Int32:
		return orderedCmp(a.Int32Values())
	case *array.Int64:
		return orderedCmp(a.Int64Values())
	case *array.Date32:
		return orderedCmp(a.Date32Values())
	case *array.Time64:
		return orderedCmp(a.Time64Values())
	case *array.Timestamp:
		return orderedCmp(a.TimestampValues())
	case *array.Float32:
		v := a.Float32Values()
		return func(i, j int) int { return types.CompareFloat(float64(v[i]), float64(v[j])) }
	case *array.Float64:
		v := a.Float64Values()
		return func(i, j int) int { return types.CompareFloat(v[i], v[j]) }
	case *array.MonthDayNanoInterval:
		v := a.MonthDayNanoIntervalValues()
		return func(i, j int) int { return cmpInterval(v[i], v[j]) }
	case *array.Binary:
		return func(i, j int) int { return bytes.Compare(a.Value(i), a.Value(j)) }
	case *array.String:
		switch t.Kind {
		case types.Numeric:
			ds := parseNumerics(a)
			return func(i, j int) int { return types.CompareDecimal(&ds[i], &ds[j]) }
		case types.Char:
			return func(i, j int) int {
				return strings.Compare(strings.TrimRight(a.Value(i), " "), strings.TrimRight(a.Value(j), " "))
			}
		}
		return func(i, j int) int { return strings.Compare(a.Value(i), a.Value(j)) }
	}
	panic(fmt.Sprintf("batch: compare over unsupported array %T", arr))
}

func orderedCmp[V cmp.Ordered](v []V) valueCmp {
	return func(i, j int) int { return cmp.Compare(v[i], v[j]) }
}

func cmpInterval(x, y arrow.MonthDayNanoInterval) int {
	xd, xr := intervalSpan(x)
	yd, yr := intervalSpan(y)
	if c := cmp.Compare(xd, yd); c != 0 {
		return c
	}
	return cmp.Compare(xr, yr)
}

// parseNumerics decodes a numeric column once so that sorting does not
// parse per comparison. NULL and unparsable rows stay zero.
func parseNumerics(a *array.String) []apd.Decimal {
	ds := make([]apd.Decimal, a.Len())
	for i := range ds {
		if a.IsNull(i) {
			continue
		}
		if _, _, err := ds[i].SetString(a.Value(i)); err != nil {
			ds[i].SetInt64(0)
		}
	}
	return ds
}

// rowCmp compares whole rows of a table on a list of sort keys, NULLs and
// directions included.
type rowCmp struct {
	cmps  []valueCmp
	cols  []arrow.Array
	nulls []bool // column has NULLs
	keys  []SortKey
}

func newRowCmp(cols []arrow.Array, keys []SortKey) *rowCmp {
	r := &rowCmp{keys: keys}
	for _, k := range keys {
		c := cols[k.Col]
		r.cols = append(r.cols, c)
		r.cmps = append(r.cmps, newValueCmp(c, k.T))
		r.nulls = append(r.nulls, c.NullN() > 0)
	}
	return r
}

// compare orders rows i and j.
func (r *rowCmp) compare(i, j int) int {
	for k, f := range r.cmps {
		if r.nulls[k] {
			c := r.cols[k]
			in, jn := c.IsNull(i), c.IsNull(j)
			if in || jn {
				if in && jn {
					continue
				}
				if in == r.keys[k].NullsFirst {
					return -1
				}
				return 1
			}
		}
		if c := f(i, j); c != 0 {
			if r.keys[k].Desc {
				return -c
			}
			return c
		}
	}
	return 0
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
