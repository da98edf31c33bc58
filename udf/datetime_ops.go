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

func (r *registry) addDatetimeOps() {
	d, i4, iv, f8 := types.TDate, types.TInt4, types.TInterval, types.TFloat8
	tm, tsT, tz := types.TTime, types.TTimestamp, types.TTimestampTZ
	row := func(name string, args []types.T, ret types.T, f func(env *Env, a []types.Datum) (types.Datum, error)) {
		r.op(&Scalar{Name: name, Args: args, Ret: ret, Strict: true, Eval: rowFunc(args, ret, true, f)})
	}
	vec := func(name string, args []types.T, ret types.T, f ScalarFunc) {
		r.op(&Scalar{Name: name, Args: args, Ret: ret, Strict: true, Eval: nullSafe(ret, f)})
	}
	vec("+", ts(d, i4), d, dateIntKernel(0, false))
	vec("+", ts(i4, d), d, dateIntKernel(1, false))
	vec("-", ts(d, i4), d, dateIntKernel(0, true))
	vec("-", ts(d, d), i4, dateDiffKernel)
	vec("+", ts(d, iv), tsT, tsIntervalKernel(0, false, false, tsT))
	vec("+", ts(iv, d), tsT, tsIntervalKernel(1, false, false, tsT))
	vec("-", ts(d, iv), tsT, tsIntervalKernel(0, true, false, tsT))
	for _, t := range []types.T{tsT, tz} {
		aware := t.Kind == types.TimestampTZ
		vec("+", ts(t, iv), t, tsIntervalKernel(0, false, aware, t))
		vec("+", ts(iv, t), t, tsIntervalKernel(1, false, aware, t))
		vec("-", ts(t, iv), t, tsIntervalKernel(0, true, aware, t))
		vec("-", ts(t, t), iv, tsDiffKernel)
	}
	vec("+", ts(iv, iv), iv, intervalAddKernel(false))
	vec("-", ts(iv, iv), iv, intervalAddKernel(true))
	neg := func(v types.IntervalValue) types.IntervalValue {
		return types.IntervalValue{Months: -v.Months, Days: -v.Days, Micros: -v.Micros}
	}
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
