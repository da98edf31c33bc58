package udf

import (
	"time"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Date and time arithmetic operators. Calendar arithmetic on timestamptz
// happens in the session time zone (env.Location), as in PostgreSQL.

func dateToTS(d types.Date) types.Timestamp { return types.Timestamp(int64(d) * types.MicrosPerDay) }

// localToUTC interprets a wall-clock timestamp in loc.
func localToUTC(ts types.Timestamp, loc *time.Location) types.Timestamp {
	// The cast resolves DST gaps and overlaps as PostgreSQL does; time.Date
	// leaves the choice unspecified.
	if d, err := types.Cast(ts, types.TTimestamp, types.TTimestampTZ, loc); err == nil {
		return d.(types.Timestamp)
	}
	t := time.UnixMicro(int64(ts)).UTC()
	return types.Timestamp(time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UnixMicro())
}

// utcToLocal returns the wall clock in loc of an instant.
func utcToLocal(ts types.Timestamp, loc *time.Location) types.Timestamp {
	_, off := time.UnixMicro(int64(ts)).In(loc).Zone()
	return ts + types.Timestamp(int64(off)*types.MicrosPerSecond)
}

func errDateRange() error { return sqlerr.New(sqlerr.DatetimeFieldOverflow, "date out of range") }

// tsDiff is timestamp - timestamp: microseconds, then justify_hours.
func tsDiff(a, b types.Timestamp) types.IntervalValue {
	return types.JustifyHours(types.IntervalValue{Micros: int64(a - b)})
}

func (r *registry) addDatetimeOps() {
	d, i4, iv, f8 := types.TDate, types.TInt4, types.TInterval, types.TFloat8
	tm, tsT, tz := types.TTime, types.TTimestamp, types.TTimestampTZ
	row := func(name string, args []types.T, ret types.T, f func(env *Env, a []types.Datum) (types.Datum, error)) {
		r.op(&Scalar{Name: name, Args: args, Ret: ret, Strict: true, Eval: rowFunc(args, ret, true, f)})
	}
	addDays := func(x types.Date, n int64) (types.Datum, error) {
		v := int64(x) + n
		if v < -2451545 || v > 2147483647-2451545 {
			return nil, errDateRange()
		}
		return types.Date(v), nil
	}
	row("+", ts(d, i4), d, func(_ *Env, a []types.Datum) (types.Datum, error) { return addDays(a[0].(types.Date), a[1].(int64)) })
	row("+", ts(i4, d), d, func(_ *Env, a []types.Datum) (types.Datum, error) { return addDays(a[1].(types.Date), a[0].(int64)) })
	row("-", ts(d, i4), d, func(_ *Env, a []types.Datum) (types.Datum, error) { return addDays(a[0].(types.Date), -a[1].(int64)) })
	row("-", ts(d, d), i4, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return int64(a[0].(types.Date)) - int64(a[1].(types.Date)), nil
	})
	addIv := func(env *Env, t types.Timestamp, v types.IntervalValue, tzAware bool) (types.Datum, error) {
		return types.AddInterval(t, v, env.loc(), tzAware)
	}
	neg := func(v types.IntervalValue) types.IntervalValue {
		return types.IntervalValue{Months: -v.Months, Days: -v.Days, Micros: -v.Micros}
	}
	row("+", ts(d, iv), tsT, func(env *Env, a []types.Datum) (types.Datum, error) {
		return addIv(env, dateToTS(a[0].(types.Date)), a[1].(types.IntervalValue), false)
	})
	row("+", ts(iv, d), tsT, func(env *Env, a []types.Datum) (types.Datum, error) {
		return addIv(env, dateToTS(a[1].(types.Date)), a[0].(types.IntervalValue), false)
	})
	row("-", ts(d, iv), tsT, func(env *Env, a []types.Datum) (types.Datum, error) {
		return addIv(env, dateToTS(a[0].(types.Date)), neg(a[1].(types.IntervalValue)), false)
	})
	for _, t := range []types.T{tsT, tz} {
		aware := t.Kind == types.TimestampTZ
		row("+", ts(t, iv), t, func(env *Env, a []types.Datum) (types.Datum, error) {
			return addIv(env, a[0].(types.Timestamp), a[1].(types.IntervalValue), aware)
		})
		row("+", ts(iv, t), t, func(env *Env, a []types.Datum) (types.Datum, error) {
			return addIv(env, a[1].(types.Timestamp), a[0].(types.IntervalValue), aware)
		})
		row("-", ts(t, iv), t, func(env *Env, a []types.Datum) (types.Datum, error) {
			return addIv(env, a[0].(types.Timestamp), neg(a[1].(types.IntervalValue)), aware)
		})
		row("-", ts(t, t), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
			return tsDiff(a[0].(types.Timestamp), a[1].(types.Timestamp)), nil
		})
	}
	row("+", ts(iv, iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		x, y := a[0].(types.IntervalValue), a[1].(types.IntervalValue)
		return types.IntervalValue{Months: x.Months + y.Months, Days: x.Days + y.Days, Micros: x.Micros + y.Micros}, nil
	})
	row("-", ts(iv, iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		x, y := a[0].(types.IntervalValue), a[1].(types.IntervalValue)
		return types.IntervalValue{Months: x.Months - y.Months, Days: x.Days - y.Days, Micros: x.Micros - y.Micros}, nil
	})
	row("-", ts(iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) { return neg(a[0].(types.IntervalValue)), nil })
	row("+", ts(iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) { return a[0], nil })
	row("*", ts(iv, f8), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return IntervalMul(a[0].(types.IntervalValue), a[1].(float64))
	})
	row("*", ts(f8, iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return IntervalMul(a[1].(types.IntervalValue), a[0].(float64))
	})
	row("/", ts(iv, f8), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return IntervalDiv(a[0].(types.IntervalValue), a[1].(float64))
	})
	wrapTime := func(us int64) types.TimeOfDay {
		us %= types.MicrosPerDay
		if us < 0 {
			us += types.MicrosPerDay
		}
		return types.TimeOfDay(us)
	}
	row("+", ts(tm, iv), tm, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return wrapTime(int64(a[0].(types.TimeOfDay)) + a[1].(types.IntervalValue).Micros), nil
	})
	row("+", ts(iv, tm), tm, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return wrapTime(int64(a[1].(types.TimeOfDay)) + a[0].(types.IntervalValue).Micros), nil
	})
	row("-", ts(tm, iv), tm, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return wrapTime(int64(a[0].(types.TimeOfDay)) - a[1].(types.IntervalValue).Micros), nil
	})
	row("-", ts(tm, tm), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return types.IntervalValue{Micros: int64(a[0].(types.TimeOfDay)) - int64(a[1].(types.TimeOfDay))}, nil
	})
	row("+", ts(d, tm), tsT, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return dateToTS(a[0].(types.Date)) + types.Timestamp(a[1].(types.TimeOfDay)), nil
	})
	row("+", ts(tm, d), tsT, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return dateToTS(a[1].(types.Date)) + types.Timestamp(a[0].(types.TimeOfDay)), nil
	})
}
