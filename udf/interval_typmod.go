package udf

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Interval type modifiers: INTERVAL '5' MINUTE, INTERVAL '1:30' HOUR TO
// MINUTE, interval(3). PostgreSQL packs a field range (a bit mask of the
// fields the value may have) and a fractional-second precision into one
// typmod. The range does two things:
//
//   - when parsing text, a number without a unit is in the range's last
//     field ('5' MINUTE is five minutes, not five seconds), and under
//     MINUTE TO SECOND "mm:ss" is minutes and seconds;
//   - afterwards, fields below the range are cut off ('1 day 2:30' HOUR is
//     1 day 02:00:00), and seconds are rounded to the precision.
//
// The length coercion function interval(interval, integer) applies the
// second step to values computed at run time.

// Interval range bits, PostgreSQL's INTERVAL_MASK of each datetime field.
const (
	IntervalMonth  int32 = 1 << 1
	IntervalYear   int32 = 1 << 2
	IntervalDay    int32 = 1 << 3
	IntervalHour   int32 = 1 << 10
	IntervalMinute int32 = 1 << 11
	IntervalSecond int32 = 1 << 12
	// IntervalFullRange is "no range given".
	IntervalFullRange int32 = 0x7FFF
	// IntervalFullPrecision is "no precision given".
	IntervalFullPrecision int32 = 0xFFFF
	maxIntervalPrecision  int32 = 6
)

// IntervalTypmod packs a range mask and a precision (IntervalFullPrecision
// for none) as PostgreSQL's INTERVAL_TYPMOD does. It checks the precision
// the way intervaltypmodin does: negative is an error, above 6 becomes 6.
func IntervalTypmod(rangeMask, precision int32) (int32, error) {
	if precision != IntervalFullPrecision {
		if precision < 0 {
			return 0, sqlerr.New(sqlerr.InvalidParameterValue, "INTERVAL(%d) precision must not be negative", precision)
		}
		precision = min(precision, maxIntervalPrecision)
	}
	if !validIntervalRange(rangeMask) {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "invalid INTERVAL type modifier")
	}
	return rangeMask<<16 | precision, nil
}

func validIntervalRange(r int32) bool {
	switch r {
	case IntervalFullRange, IntervalYear, IntervalMonth, IntervalYear | IntervalMonth, IntervalDay, IntervalHour,
		IntervalMinute, IntervalSecond, IntervalDay | IntervalHour, IntervalDay | IntervalHour | IntervalMinute,
		IntervalDay | IntervalHour | IntervalMinute | IntervalSecond, IntervalHour | IntervalMinute,
		IntervalHour | IntervalMinute | IntervalSecond, IntervalMinute | IntervalSecond:
		return true
	}
	return false
}

func splitIntervalTypmod(typmod int32) (rng, prec int32) {
	if typmod < 0 {
		return IntervalFullRange, IntervalFullPrecision
	}
	return typmod >> 16 & 0x7FFF, typmod & 0xFFFF
}

// ParseIntervalTypmod parses interval text as a cast to interval with
// typmod does (interval_in with a typmod).
func ParseIntervalTypmod(s string, typmod int32) (types.IntervalValue, error) {
	rng, _ := splitIntervalTypmod(typmod)
	d, err := types.ParseText(intervalTextForRange(s, rng), types.TInterval, nil)
	if err != nil {
		// Report the text as written, not as rewritten.
		if _, err2 := types.ParseText(s, types.TInterval, nil); err2 != nil {
			return types.IntervalValue{}, err2
		}
		return types.IntervalValue{}, err
	}
	return AdjustInterval(d.(types.IntervalValue), typmod)
}

// intervalTextForRange gives unit-less numbers the unit of the range's
// last field and reads "mm:ss" as minutes under MINUTE TO SECOND.
func intervalTextForRange(s string, rng int32) string {
	if rng == IntervalFullRange {
		return s
	}
	unit := "second"
	switch rng {
	case IntervalYear:
		unit = "year"
	case IntervalMonth, IntervalYear | IntervalMonth:
		unit = "month"
	case IntervalDay:
		unit = "day"
	case IntervalHour, IntervalDay | IntervalHour:
		unit = "hour"
	case IntervalMinute, IntervalHour | IntervalMinute, IntervalDay | IntervalHour | IntervalMinute:
		unit = "minute"
	}
	fields := strings.Fields(s)
	if len(fields) == 0 || strings.HasPrefix(strings.ToLower(fields[0]), "p") || strings.HasPrefix(fields[0], "@") {
		return s // ISO 8601 and "@ ..." forms carry their own units
	}
	out := make([]string, 0, len(fields)+1)
	for i, f := range fields {
		switch {
		// A number before a time field ('1 2:03') is days, whatever the range.
		case isPlainNumber(f) && (i+1 == len(fields) || !startsWithLetter(fields[i+1]) && !strings.Contains(fields[i+1], ":")):
			out = append(out, f, unit)
		case rng == IntervalMinute|IntervalSecond && strings.Count(f, ":") == 1 && isPlainNumber(strings.Replace(f, ":", "", 1)):
			sign := ""
			if f[0] == '+' || f[0] == '-' {
				sign, f = f[:1], f[1:]
			}
			out = append(out, sign+"0:"+f)
		default:
			out = append(out, f)
		}
	}
	return strings.Join(out, " ")
}

func isPlainNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

func startsWithLetter(s string) bool {
	c := s[0] | 0x20
	return c >= 'a' && c <= 'z'
}

// intervalScales[p] is the microsecond step of precision p.
var intervalScales = [...]int64{1000000, 100000, 10000, 1000, 100, 10, 1}

// AdjustInterval cuts off the fields below typmod's range and rounds the
// seconds to its precision (AdjustIntervalForTypmod).
func AdjustInterval(iv types.IntervalValue, typmod int32) (types.IntervalValue, error) {
	rng, prec := splitIntervalTypmod(typmod)
	const hour, minute = 3600 * types.MicrosPerSecond, 60 * types.MicrosPerSecond
	switch rng {
	case IntervalFullRange, IntervalSecond, IntervalDay | IntervalHour | IntervalMinute | IntervalSecond,
		IntervalHour | IntervalMinute | IntervalSecond, IntervalMinute | IntervalSecond:
	case IntervalYear:
		iv.Months = iv.Months / 12 * 12
		iv.Days, iv.Micros = 0, 0
	case IntervalMonth, IntervalYear | IntervalMonth:
		iv.Days, iv.Micros = 0, 0
	case IntervalDay:
		iv.Micros = 0
	case IntervalHour, IntervalDay | IntervalHour:
		iv.Micros = iv.Micros / hour * hour
	case IntervalMinute, IntervalHour | IntervalMinute, IntervalDay | IntervalHour | IntervalMinute:
		iv.Micros = iv.Micros / minute * minute
	default:
		return iv, sqlerr.New(sqlerr.InternalError, "unrecognized interval typmod: %d", typmod)
	}
	if prec != IntervalFullPrecision {
		if prec < 0 || prec > maxIntervalPrecision {
			return iv, sqlerr.New(sqlerr.InvalidParameterValue, "interval(%d) precision must be between %d and %d", prec, 0, maxIntervalPrecision)
		}
		sc := intervalScales[prec]
		if iv.Micros >= 0 {
			iv.Micros = (iv.Micros + sc/2) / sc * sc
		} else {
			iv.Micros = -((-iv.Micros + sc/2) / sc * sc)
		}
	}
	return iv, nil
}

// addIntervalTypmod registers interval(interval, integer), the length
// coercion function of casts to interval with a typmod.
func (r *registry) addIntervalTypmod() {
	iv := types.TInterval
	r.fn(&Scalar{Name: "interval", Args: ts(iv, types.TInt4), Ret: iv, Strict: true,
		Eval: func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
			in := args[0].(*array.MonthDayNanoInterval)
			mods := args[1].(*array.Int32).Values()
			valid := validity(n, args[0], args[1])
			vb := validBits(valid)
			out := make([]arrow.MonthDayNanoInterval, n)
			for i := 0; i < n; i++ {
				if !rowValid(vb, i) {
					continue
				}
				x := in.Value(i)
				adj, err := AdjustInterval(types.IntervalValue{Months: x.Months, Days: x.Days, Micros: x.Nanoseconds / 1000}, mods[i])
				if err != nil {
					return nil, err
				}
				out[i] = arrow.MonthDayNanoInterval{Months: adj.Months, Days: adj.Days, Nanoseconds: adj.Micros * 1000}
			}
			return makeInterval(out, valid), nil
		}})
}
