package udf

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Vectorized date and time arithmetic. An interval whose months and days
// are zero (the usual watermark delay, '4 seconds') moves every timestamp
// by the same number of microseconds, so the kernels add integers over the
// value slices; only rows whose interval has months or days take the
// calendar path (types.AddInterval: month ends, days across DST in the
// session time zone), still without boxing values.

// minTimestamp is the earliest finite timestamp, 4714-11-24 00:00:00 BC
// (types' lower bound). A sum below it, or past the int64 range, is
// handed to types.AddInterval for the exact error.
const minTimestamp = int64(-210866803200) * types.MicrosPerSecond

// nullSafe wraps a typed kernel: an argument of Arrow's NULL type (an
// untyped NULL) makes the whole result NULL instead of reaching a type
// assertion.
func nullSafe(ret types.T, f ScalarFunc) ScalarFunc {
	return func(env *Env, args []arrow.Array, n int) (arrow.Array, error) {
		for _, a := range args {
			if a.DataType().ID() == arrow.NULL {
				return types.ConstArray(ret, nil, n), nil
			}
		}
		return f(env, args, n)
	}
}

// addMicros adds us to a timestamp: infinities stay, anything out of range
// is reported (ok false).
func addMicros(t, us int64) (int64, bool) {
	if t == math.MinInt64 || t == math.MaxInt64 {
		return t, true
	}
	r := t + us
	if (t^r)&(us^r) < 0 || r < minTimestamp || r == math.MaxInt64 {
		return 0, false
	}
	return r, true
}

// dateToTimestamp is date2timestamp: midnight of d, infinities kept, and
// 22008 for a date past the last timestamp.
func dateToTimestamp(d types.Date) (types.Timestamp, error) {
	switch d {
	case types.DateNegInfinity:
		return types.TimestampNegInfinity, nil
	case types.DatePosInfinity:
		return types.TimestampPosInfinity, nil
	}
	if int64(d) >= math.MaxInt64/types.MicrosPerDay {
		return 0, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date out of range for timestamp")
	}
	return types.Timestamp(int64(d) * types.MicrosPerDay), nil
}

// tsIntervalKernel is timestamp ± interval (and interval + timestamp,
// date ± interval): tsArg is the argument index of the timestamp (or
// date) column, sub negates the interval, tz does calendar arithmetic in
// the session time zone (timestamptz), ret is the result type.
func tsIntervalKernel(tsArg int, sub, tz bool, ret types.T) ScalarFunc {
	return func(env *Env, args []arrow.Array, n int) (arrow.Array, error) {
		valid := Validity(n, args[0], args[1])
		ivs := args[1-tsArg].(*array.MonthDayNanoInterval).MonthDayNanoIntervalValues()[:n]
		out := make([]arrow.Timestamp, n)
		var err error
		switch a := args[tsArg].(type) {
		case *array.Timestamp:
			err = addIntervals(env, a.TimestampValues()[:n], ivs, out, valid, sub, tz)
		case *array.Date32:
			ts := make([]arrow.Timestamp, n)
			for i, d := range a.Date32Values()[:n] {
				if !rowValid(valid, i) {
					continue
				}
				t, err := dateToTimestamp(types.Date(d))
				if err != nil {
					return nil, err
				}
				ts[i] = arrow.Timestamp(t)
			}
			err = addIntervals(env, ts, ivs, out, valid, sub, tz)
		default:
			err = sqlerr.New(sqlerr.InternalError, "timestamp arithmetic on a %s column", a.DataType())
		}
		if err != nil {
			return nil, err
		}
		return makeTimestamp(ret, out, bufOf(valid)), nil
	}
}

// addIntervals sets out[i] = ts[i] ± ivs[i] for the valid rows.
func addIntervals(env *Env, ts []arrow.Timestamp, ivs []arrow.MonthDayNanoInterval, out []arrow.Timestamp, valid []byte, sub, tz bool) error {
	ts = ts[:len(out)]
	ivs = ivs[:len(out)]
	for i, iv := range ivs {
		if iv.Months == 0 && iv.Days == 0 {
			us := iv.Nanoseconds / 1000
			if sub {
				us = -us
			}
			if r, ok := addMicros(int64(ts[i]), us); ok {
				out[i] = arrow.Timestamp(r)
				continue
			}
		}
		if !rowValid(valid, i) {
			continue
		}
		v := ivOf(iv)
		if sub {
			v = types.IntervalValue{Months: -v.Months, Days: -v.Days, Micros: -v.Micros}
		}
		r, err := types.AddInterval(types.Timestamp(ts[i]), v, env.loc(), tz)
		if err != nil {
			return err
		}
		out[i] = arrow.Timestamp(r)
	}
	return nil
}

// dateIntKernel is date ± integer (days): infinities stay, 22008 outside
// PostgreSQL's date range. dateArg is the date column's argument index.
func dateIntKernel(dateArg int, sub bool) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		valid := Validity(n, args[0], args[1])
		ds := args[dateArg].(*array.Date32).Date32Values()[:n]
		days := ints[int32](args[1-dateArg])[:n]
		out := make([]arrow.Date32, n)
		for i, d := range ds {
			if d == arrow.Date32(types.DateNegInfinity) || d == arrow.Date32(types.DatePosInfinity) {
				out[i] = d
				continue
			}
			k := int64(days[i])
			if sub {
				k = -k
			}
			v := int64(d) + k
			if v < minDate || v > maxDate {
				if rowValid(valid, i) {
					return nil, errDateRange()
				}
				continue
			}
			out[i] = arrow.Date32(v)
		}
		return makeDate32(out, bufOf(valid)), nil
	}
}

// The finite date range in days since 1970-01-01: 4714-11-24 BC to
// 5874897-12-31, as IS_VALID_DATE.
const (
	minDate = -2440588
	maxDate = 2147483493 - 2440588
)

// dateDiffKernel is date - date in days (int4).
func dateDiffKernel(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
	valid := Validity(n, args[0], args[1])
	x := args[0].(*array.Date32).Date32Values()[:n]
	y := args[1].(*array.Date32).Date32Values()[:n]
	out := make([]int32, n)
	for i := range out {
		a, b := x[i], y[i]
		if !isFiniteDate(a) || !isFiniteDate(b) {
			if rowValid(valid, i) {
				return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "cannot subtract infinite dates")
			}
			continue
		}
		out[i] = int32(a - b)
	}
	return makeInt32(out, bufOf(valid)), nil
}

func isFiniteDate(d arrow.Date32) bool {
	return d != arrow.Date32(types.DateNegInfinity) && d != arrow.Date32(types.DatePosInfinity)
}

// tsDiffKernel is timestamp - timestamp: microseconds, justify_hours.
func tsDiffKernel(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
	valid := Validity(n, args[0], args[1])
	x := args[0].(*array.Timestamp).TimestampValues()[:n]
	y := args[1].(*array.Timestamp).TimestampValues()[:n]
	out := make([]arrow.MonthDayNanoInterval, n)
	for i := range out {
		if !rowValid(valid, i) {
			continue
		}
		a, b := int64(x[i]), int64(y[i])
		if a == math.MinInt64 || a == math.MaxInt64 || b == math.MinInt64 || b == math.MaxInt64 {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
		}
		d := a - b
		if (a^b)&(a^d) < 0 {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
		}
		// justify_hours: whole days out of the microseconds, same sign.
		days := d / types.MicrosPerDay
		us := d - days*types.MicrosPerDay
		out[i] = arrow.MonthDayNanoInterval{Days: int32(days), Nanoseconds: us * 1000}
	}
	return makeInterval(out, bufOf(valid)), nil
}

// intervalAddKernel is interval ± interval, field by field, with 22008
// when a field overflows (interval_pl / interval_mi).
func intervalAddKernel(sub bool) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		valid := Validity(n, args[0], args[1])
		x := args[0].(*array.MonthDayNanoInterval).MonthDayNanoIntervalValues()[:n]
		y := args[1].(*array.MonthDayNanoInterval).MonthDayNanoIntervalValues()[:n]
		out := make([]arrow.MonthDayNanoInterval, n)
		for i := range out {
			a, b := x[i], y[i]
			bm, bd, bus := int64(b.Months), int64(b.Days), b.Nanoseconds/1000
			if sub {
				bm, bd, bus = -bm, -bd, -bus
			}
			m := int64(a.Months) + bm
			d := int64(a.Days) + bd
			au := a.Nanoseconds / 1000
			us := au + bus
			if m != int64(int32(m)) || d != int64(int32(d)) || (au^us)&(bus^us) < 0 ||
				us > math.MaxInt64/1000 || us < math.MinInt64/1000 {
				if rowValid(valid, i) {
					return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
				}
				continue
			}
			out[i] = arrow.MonthDayNanoInterval{Months: int32(m), Days: int32(d), Nanoseconds: us * 1000}
		}
		return makeInterval(out, bufOf(valid)), nil
	}
}
