package udf

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Date/time functions: the current time, date_trunc, extract/date_part,
// age, justify_*, make_*, to_timestamp/to_date and to_char.

func (r *registry) addDatetimeFuncs() {
	tz, tsT, d, iv, t, f8, n, i4 := types.TTimestampTZ, types.TTimestamp, types.TDate, types.TInterval,
		types.TText, types.TFloat8, types.TNumeric, types.TInt4
	nowFn := func(name string, ret types.T, vol Volatility, f func(env *Env) types.Datum) {
		r.fn(&Scalar{Name: name, Ret: ret, Volatility: vol, Eval: func(env *Env, _ []arrow.Array, n int) (arrow.Array, error) {
			return types.ConstArray(ret, f(env), n), nil
		}})
	}
	txn := func(env *Env) types.Datum { return types.TimeToTimestamp(env.TxnTime) }
	nowFn("now", tz, Stable, txn)
	nowFn("current_timestamp", tz, Stable, txn)
	nowFn("transaction_timestamp", tz, Stable, txn)
	nowFn("statement_timestamp", tz, Stable, func(env *Env) types.Datum { return types.TimeToTimestamp(env.StmtTime) })
	nowFn("clock_timestamp", tz, Volatile, func(*Env) types.Datum { return types.TimeToTimestamp(time.Now()) })
	nowFn("localtimestamp", tsT, Stable, func(env *Env) types.Datum {
		return utcToLocal(types.TimeToTimestamp(env.TxnTime), env.loc())
	})
	nowFn("current_date", d, Stable, func(env *Env) types.Datum {
		return types.Date(floorDiv(int64(utcToLocal(types.TimeToTimestamp(env.TxnTime), env.loc())), types.MicrosPerDay))
	})
	nowFn("localtime", types.TTime, Stable, func(env *Env) types.Datum {
		l := int64(utcToLocal(types.TimeToTimestamp(env.TxnTime), env.loc()))
		return types.TimeOfDay(l - floorDiv(l, types.MicrosPerDay)*types.MicrosPerDay)
	})

	row := r.strictRow
	for _, st := range []types.T{tsT, tz} {
		aware := st.Kind == types.TimestampTZ
		vol := Immutable
		if aware {
			vol = Stable
		}
		r.fn(&Scalar{Name: "date_trunc", Args: ts(t, st), Ret: st, Strict: true, Volatility: vol,
			Eval: rowFunc(ts(t, st), st, true, func(env *Env, a []types.Datum) (types.Datum, error) {
				return truncTimestamp(a[0].(string), a[1].(types.Timestamp), aware, env.loc())
			})})
		r.fn(&Scalar{Name: "date_part", Args: ts(t, st), Ret: f8, Strict: true, Volatility: vol,
			Eval: rowFunc(ts(t, st), f8, true, func(env *Env, a []types.Datum) (types.Datum, error) {
				v, err := extractTimestamp(a[0].(string), a[1].(types.Timestamp), aware, env.loc(), st)
				if err != nil {
					return nil, err
				}
				f, _ := v.Float64()
				return f, nil
			})})
		r.fn(&Scalar{Name: "extract", Args: ts(t, st), Ret: n, Strict: true, Volatility: vol,
			Eval: rowFunc(ts(t, st), n, true, func(env *Env, a []types.Datum) (types.Datum, error) {
				return extractTimestamp(a[0].(string), a[1].(types.Timestamp), aware, env.loc(), st)
			})})
		r.fn(&Scalar{Name: "age", Args: ts(st, st), Ret: iv, Strict: true,
			Eval: rowFunc(ts(st, st), iv, true, func(env *Env, a []types.Datum) (types.Datum, error) {
				return age(a[0].(types.Timestamp), a[1].(types.Timestamp), aware, env.loc()), nil
			})})
		r.fn(&Scalar{Name: "age", Args: ts(st), Ret: iv, Strict: true, Volatility: Stable,
			Eval: rowFunc(ts(st), iv, true, func(env *Env, a []types.Datum) (types.Datum, error) {
				l := int64(utcToLocal(types.TimeToTimestamp(env.TxnTime), env.loc()))
				midnight := types.Timestamp(floorDiv(l, types.MicrosPerDay) * types.MicrosPerDay)
				if aware {
					midnight = localToUTC(midnight, env.loc())
				}
				return age(midnight, a[0].(types.Timestamp), aware, env.loc()), nil
			})})
		r.fn(&Scalar{Name: "to_char", Args: ts(st, t), Ret: t, Strict: true, Volatility: Stable,
			Eval: toCharTimestamps(aware)})
		r.fn(&Scalar{Name: "date_bin", Args: ts(iv, st, st), Ret: st, Strict: true,
			Eval: rowFunc(ts(iv, st, st), st, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
				return dateBin(a[0].(types.IntervalValue), a[1].(types.Timestamp), a[2].(types.Timestamp))
			})})
	}
	row("date_part", ts(t, d), f8, func(env *Env, a []types.Datum) (types.Datum, error) {
		v, err := extractTimestamp(a[0].(string), dateToTS(a[1].(types.Date)), false, env.loc(), d)
		if err != nil {
			return nil, err
		}
		f, _ := v.Float64()
		return f, nil
	})
	row("extract", ts(t, d), n, func(env *Env, a []types.Datum) (types.Datum, error) {
		return extractTimestamp(a[0].(string), dateToTS(a[1].(types.Date)), false, env.loc(), d)
	})
	row("date_part", ts(t, iv), f8, func(_ *Env, a []types.Datum) (types.Datum, error) {
		v, err := extractInterval(a[0].(string), a[1].(types.IntervalValue))
		if err != nil {
			return nil, err
		}
		f, _ := v.Float64()
		return f, nil
	})
	row("extract", ts(t, iv), n, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return extractInterval(a[0].(string), a[1].(types.IntervalValue))
	})
	row("date_part", ts(t, types.TTime), f8, func(env *Env, a []types.Datum) (types.Datum, error) {
		v, err := extractTimestamp(a[0].(string), types.Timestamp(a[1].(types.TimeOfDay)), false, env.loc(), types.TTime)
		if err != nil {
			return nil, err
		}
		f, _ := v.Float64()
		return f, nil
	})
	row("extract", ts(t, types.TTime), n, func(env *Env, a []types.Datum) (types.Datum, error) {
		return extractTimestamp(a[0].(string), types.Timestamp(a[1].(types.TimeOfDay)), false, env.loc(), types.TTime)
	})
	row("date_trunc", ts(t, iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return truncInterval(a[0].(string), a[1].(types.IntervalValue))
	})
	row("justify_days", ts(iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return types.JustifyDays(a[0].(types.IntervalValue)), nil
	})
	row("justify_hours", ts(iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return types.JustifyHours(a[0].(types.IntervalValue)), nil
	})
	row("justify_interval", ts(iv), iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return types.JustifyInterval(a[0].(types.IntervalValue)), nil
	})
	row("make_date", ts(i4, i4, i4), d, func(_ *Env, a []types.Datum) (types.Datum, error) {
		y, m, dd := a[0].(int64), a[1].(int64), a[2].(int64)
		if err := checkYMD(y, m, dd); err != nil {
			return nil, err
		}
		if y < 0 {
			y++
		}
		return types.DateFromYMD(int(y), int(m), int(dd)), nil
	})
	row("make_timestamp", ts(i4, i4, i4, i4, i4, f8), tsT, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return makeTimestampFn(a)
	})
	r.fn(&Scalar{Name: "make_timestamptz", Args: ts(i4, i4, i4, i4, i4, f8), Ret: tz, Strict: true, Volatility: Stable,
		Eval: rowFunc(ts(i4, i4, i4, i4, i4, f8), tz, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			v, err := makeTimestampFn(a)
			if err != nil {
				return nil, err
			}
			return localToUTC(v.(types.Timestamp), env.loc()), nil
		})})
	// make_interval(years, months, weeks, days, hours, mins, secs): the
	// planner passes positional arguments, missing trailing ones are 0.
	miArgs := ts(i4, i4, i4, i4, i4, i4, f8)
	for k := 0; k <= len(miArgs); k++ {
		row("make_interval", miArgs[:k], iv, func(_ *Env, a []types.Datum) (types.Datum, error) {
			var v [7]float64
			for j, x := range a {
				if j == 6 {
					v[j] = x.(float64)
				} else {
					v[j] = float64(x.(int64))
				}
			}
			return types.IntervalValue{Months: int32(v[0]*12 + v[1]), Days: int32(v[2]*7 + v[3]),
				Micros: int64(v[4])*types.MicrosPerHour + int64(v[5])*types.MicrosPerMinute + int64(math.Round(v[6]*1e6))}, nil
		})
	}
	row("to_timestamp", ts(f8), tz, func(_ *Env, a []types.Datum) (types.Datum, error) {
		f := a[0].(float64)
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 9.2e12 {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "timestamp out of range: \"%g\"", f)
		}
		return types.Timestamp(math.Round(f * 1e6)), nil
	})
	r.fn(&Scalar{Name: "to_timestamp", Args: ts(t, t), Ret: tz, Strict: true, Volatility: Stable,
		Eval: rowFunc(ts(t, t), tz, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			v, hasTZ, off, err := parseWithFormat(a[0].(string), a[1].(string))
			if err != nil {
				return nil, err
			}
			if hasTZ {
				return v - types.Timestamp(int64(off)*types.MicrosPerSecond), nil
			}
			return localToUTC(v, env.loc()), nil
		})})
	r.fn(&Scalar{Name: "to_date", Args: ts(t, t), Ret: d, Strict: true, Volatility: Stable,
		Eval: rowFunc(ts(t, t), d, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
			v, _, _, err := parseWithFormat(a[0].(string), a[1].(string))
			if err != nil {
				return nil, err
			}
			return types.Date(floorDiv(int64(v), types.MicrosPerDay)), nil
		})})
	row("to_char", ts(iv, t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		v := a[0].(types.IntervalValue)
		f := tmFields{year: int(v.Months / 12), month: int(v.Months % 12), day: int(v.Days)}
		us := v.Micros
		f.hour = int(us / types.MicrosPerHour)
		us %= types.MicrosPerHour
		f.min = int(us / types.MicrosPerMinute)
		us %= types.MicrosPerMinute
		f.sec = int(us / types.MicrosPerSecond)
		f.usec = int(us % types.MicrosPerSecond)
		f.interval = true
		return toCharTime(f, a[1].(string), ""), nil
	})
	for _, nt := range []types.T{i4, types.TInt8, n, f8} {
		nt := nt
		row("to_char", ts(nt, t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
			var dec *apd.Decimal
			switch v := a[0].(type) {
			case int64:
				dec = apd.New(v, 0)
			case float64:
				dec, _, _ = apd.NewFromString(fmt.Sprintf("%.15g", v))
			case *apd.Decimal:
				dec = v
			}
			return toCharNumber(dec, a[1].(string)), nil
		})
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// tmFields is a broken-down wall-clock time.
type tmFields struct {
	year, month, day, hour, min, sec, usec int
	yday, wday                             int
	interval                               bool
}

func fieldsOf(ts types.Timestamp) tmFields {
	days := floorDiv(int64(ts), types.MicrosPerDay)
	us := int64(ts) - days*types.MicrosPerDay
	y, m, d := types.Date(days).YMD()
	// 1970-01-01, day 0, was a Thursday.
	wday := (days + 4) % 7
	if wday < 0 {
		wday += 7
	}
	return tmFields{year: y, month: m, day: d,
		hour: int(us / types.MicrosPerHour), min: int(us / types.MicrosPerMinute % 60),
		sec: int(us / types.MicrosPerSecond % 60), usec: int(us % types.MicrosPerSecond),
		yday: int(days-int64(types.DateFromYMD(y, 1, 1))) + 1, wday: int(wday)}
}

func fromFields(f tmFields) types.Timestamp {
	days := int64(types.DateFromYMD(f.year, f.month, f.day))
	return types.Timestamp(days*types.MicrosPerDay + int64(f.hour)*types.MicrosPerHour +
		int64(f.min)*types.MicrosPerMinute + int64(f.sec)*types.MicrosPerSecond + int64(f.usec))
}

func unitError(unit string, t types.T) error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "unit \"%s\" not recognized for type %s", unit, t)
}

func normUnit(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	switch u {
	case "microsecond", "microseconds", "us", "usec", "usecs", "useconds":
		return "microseconds"
	case "millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds":
		return "milliseconds"
	case "second", "seconds", "s", "sec", "secs":
		return "second"
	case "minute", "minutes", "m", "min", "mins":
		return "minute"
	case "hour", "hours", "h", "hr", "hrs":
		return "hour"
	case "day", "days", "d":
		return "day"
	case "week", "weeks", "w":
		return "week"
	case "month", "months", "mon", "mons":
		return "month"
	case "quarter", "qtr":
		return "quarter"
	case "year", "years", "y", "yr", "yrs":
		return "year"
	case "decade", "decades", "dec", "decs":
		return "decade"
	case "century", "centuries", "c", "cent":
		return "century"
	case "millennium", "millennia", "mil", "mils", "millenium":
		return "millennium"
	}
	return u
}

// truncYear is the first year of the millennium, century or decade year
// falls in, as date_trunc counts them: millennia and centuries start at
// years ending in 1 (2001, 1901), decades at years ending in 0.
func truncYear(unit string, year int) int {
	switch unit {
	case "millennium":
		return truncYearSpan(year, 1000)
	case "century":
		return truncYearSpan(year, 100)
	case "decade":
		if year > 0 {
			return (year / 10) * 10
		}
		return -((8 - (year - 1)) / 10) * 10
	}
	return year
}

// truncYearSpan is the first year of the span of years (a millennium, a
// century) year falls in, the spans starting at year 1.
func truncYearSpan(year, span int) int {
	if year > 0 {
		return ((year+span-1)/span-1)*span + 1
	}
	return -((span-1-(year-1))/span)*span + 1
}

func truncTimestamp(unit string, v types.Timestamp, aware bool, loc *time.Location) (types.Datum, error) {
	if aware {
		v = utcToLocal(v, loc)
	}
	f := fieldsOf(v)
	switch normUnit(unit) {
	case "millennium", "century", "decade", "year":
		f.year = truncYear(normUnit(unit), f.year)
		f.month, f.day, f.hour, f.min, f.sec, f.usec = 1, 1, 0, 0, 0, 0
	case "quarter":
		f.month = (f.month-1)/3*3 + 1
		f.day, f.hour, f.min, f.sec, f.usec = 1, 0, 0, 0, 0
	case "month":
		f.day, f.hour, f.min, f.sec, f.usec = 1, 0, 0, 0, 0
	case "week":
		days := floorDiv(int64(v), types.MicrosPerDay)
		dow := (f.wday + 6) % 7 // Monday = 0
		v = types.Timestamp((days - int64(dow)) * types.MicrosPerDay)
		if aware {
			v = localToUTC(v, loc)
		}
		return v, nil
	case "day":
		f.hour, f.min, f.sec, f.usec = 0, 0, 0, 0
	case "hour":
		f.min, f.sec, f.usec = 0, 0, 0
	case "minute":
		f.sec, f.usec = 0, 0
	case "second":
		f.usec = 0
	case "milliseconds":
		f.usec = f.usec / 1000 * 1000
	case "microseconds":
	default:
		t := types.TTimestamp
		if aware {
			t = types.TTimestampTZ
		}
		return nil, unitError(unit, t)
	}
	r := fromFields(f)
	if aware {
		r = localToUTC(r, loc)
	}
	return r, nil
}

func truncInterval(unit string, v types.IntervalValue) (types.Datum, error) {
	years, months := v.Months/12, v.Months%12
	us := v.Micros
	switch normUnit(unit) {
	case "millennium":
		return types.IntervalValue{Months: years / 1000 * 1000 * 12}, nil
	case "century":
		return types.IntervalValue{Months: years / 100 * 100 * 12}, nil
	case "decade":
		return types.IntervalValue{Months: years / 10 * 10 * 12}, nil
	case "year":
		return types.IntervalValue{Months: years * 12}, nil
	case "quarter":
		return types.IntervalValue{Months: years*12 + months/3*3}, nil
	case "month":
		return types.IntervalValue{Months: v.Months}, nil
	case "day":
		return types.IntervalValue{Months: v.Months, Days: v.Days}, nil
	case "hour":
		return types.IntervalValue{Months: v.Months, Days: v.Days, Micros: us / types.MicrosPerHour * types.MicrosPerHour}, nil
	case "minute":
		return types.IntervalValue{Months: v.Months, Days: v.Days, Micros: us / types.MicrosPerMinute * types.MicrosPerMinute}, nil
	case "second":
		return types.IntervalValue{Months: v.Months, Days: v.Days, Micros: us / types.MicrosPerSecond * types.MicrosPerSecond}, nil
	case "milliseconds":
		return types.IntervalValue{Months: v.Months, Days: v.Days, Micros: us / 1000 * 1000}, nil
	case "microseconds":
		return v, nil
	}
	return nil, unitError(unit, types.TInterval)
}

// decUS returns micros/10^scale... as a numeric with the given scale:
// value v (an integer count of 10^-scale units).
func decScaled(v int64, scale int32) *apd.Decimal { return apd.New(v, -scale) }

func extractTimestamp(unit string, v types.Timestamp, aware bool, loc *time.Location, t types.T) (*apd.Decimal, error) {
	u := normUnit(unit)
	if u == "epoch" {
		if t.Kind == types.DateKind {
			return apd.New(int64(v)/types.MicrosPerSecond, 0), nil
		}
		return decScaled(int64(v), 6), nil
	}
	var off int
	if aware {
		_, off = time.UnixMicro(int64(v)).In(loc).Zone()
		v = utcToLocal(v, loc)
	}
	f := fieldsOf(v)
	isDate, isTime := t.Kind == types.DateKind, t.Kind == types.Time
	if isTime {
		switch u {
		case "microseconds", "milliseconds", "second", "minute", "hour":
		default:
			return nil, unitError(unit, t)
		}
		f = fieldsOf(v)
	}
	secUS := int64(f.sec)*types.MicrosPerSecond + int64(f.usec)
	switch u {
	case "microseconds", "milliseconds", "second", "minute", "hour":
		if isDate {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "unit \"%s\" not supported for type date", unit)
		}
	}
	switch u {
	case "microseconds":
		return apd.New(secUS, 0), nil
	case "milliseconds":
		return decScaled(secUS, 3), nil
	case "second":
		return decScaled(secUS, 6), nil
	case "minute":
		return apd.New(int64(f.min), 0), nil
	case "hour":
		return apd.New(int64(f.hour), 0), nil
	case "day":
		return apd.New(int64(f.day), 0), nil
	case "month":
		return apd.New(int64(f.month), 0), nil
	case "quarter":
		return apd.New(int64((f.month-1)/3+1), 0), nil
	case "year":
		y := f.year
		if y <= 0 {
			y--
		}
		return apd.New(int64(y), 0), nil
	case "decade":
		if f.year >= 0 {
			return apd.New(int64(f.year/10), 0), nil
		}
		return apd.New(-int64((8-(f.year-1))/10), 0), nil
	case "century":
		if f.year > 0 {
			return apd.New(int64((f.year+99)/100), 0), nil
		}
		return apd.New(-int64((99-(f.year-1))/100), 0), nil
	case "millennium":
		if f.year > 0 {
			return apd.New(int64((f.year+999)/1000), 0), nil
		}
		return apd.New(-int64((999-(f.year-1))/1000), 0), nil
	case "dow":
		return apd.New(int64(f.wday), 0), nil
	case "isodow":
		w := f.wday
		if w == 0 {
			w = 7
		}
		return apd.New(int64(w), 0), nil
	case "doy":
		return apd.New(int64(f.yday), 0), nil
	case "week":
		_, w := time.Date(f.year, time.Month(f.month), f.day, 0, 0, 0, 0, time.UTC).ISOWeek()
		return apd.New(int64(w), 0), nil
	case "isoyear":
		y, _ := time.Date(f.year, time.Month(f.month), f.day, 0, 0, 0, 0, time.UTC).ISOWeek()
		return apd.New(int64(y), 0), nil
	case "julian":
		return apd.New(int64(types.Date(floorDiv(int64(v), types.MicrosPerDay)))+2440588, 0), nil
	case "timezone", "timezone_hour", "timezone_minute":
		if !aware {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "unit \"%s\" not supported for type %s", unit, t)
		}
		switch u {
		case "timezone":
			return apd.New(int64(off), 0), nil
		case "timezone_hour":
			return apd.New(int64(off/3600), 0), nil
		}
		return apd.New(int64(off/60%60), 0), nil
	}
	return nil, unitError(unit, t)
}

func extractInterval(unit string, v types.IntervalValue) (*apd.Decimal, error) {
	us := v.Micros
	switch normUnit(unit) {
	case "epoch":
		// A year is 365.25 days and a month 30 days, as in PostgreSQL.
		secs := new(apd.Decimal)
		years := int64(v.Months / 12)
		months := int64(v.Months % 12)
		whole := decScaled(years*36525*864, 0) // 365.25 days * 86400 = 31557600 per year
		_ = whole
		total := years*31557600 + months*30*86400 + int64(v.Days)*86400
		_, _ = types.DecimalCtx.Add(secs, apd.New(total, 0), decScaled(us, 6))
		return secs, nil
	case "microseconds":
		return apd.New(us%types.MicrosPerMinute, 0), nil
	case "milliseconds":
		return decScaled(us%types.MicrosPerMinute, 3), nil
	case "second":
		return decScaled(us%types.MicrosPerMinute, 6), nil
	case "minute":
		return apd.New(us/types.MicrosPerMinute%60, 0), nil
	case "hour":
		return apd.New(us/types.MicrosPerHour, 0), nil
	case "day":
		return apd.New(int64(v.Days), 0), nil
	case "month":
		return apd.New(int64(v.Months%12), 0), nil
	case "quarter":
		return apd.New(int64(v.Months%12/3+1), 0), nil
	case "year":
		return apd.New(int64(v.Months/12), 0), nil
	case "decade":
		return apd.New(int64(v.Months/120), 0), nil
	case "century":
		return apd.New(int64(v.Months/1200), 0), nil
	case "millennium":
		return apd.New(int64(v.Months/12000), 0), nil
	}
	return nil, unitError(unit, types.TInterval)
}

var dayTab = [2][12]int{{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}, {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}}

func leap(y int) int {
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 1
	}
	return 0
}

// borrow makes a negative field of a difference positive by borrowing
// from the next larger field, base units at a time.
func borrow(field, next *int, base int) {
	for *field < 0 {
		*field += base
		*next--
	}
}

// age is timestamp_age: a symbolic difference in years, months and days.
func age(a, b types.Timestamp, aware bool, loc *time.Location) types.IntervalValue {
	la, lb := a, b
	if aware {
		la, lb = utcToLocal(a, loc), utcToLocal(b, loc)
	}
	t1, t2 := fieldsOf(la), fieldsOf(lb)
	fsec := t1.usec - t2.usec
	sec := t1.sec - t2.sec
	mn := t1.min - t2.min
	hr := t1.hour - t2.hour
	mday := t1.day - t2.day
	mon := t1.month - t2.month
	yr := t1.year - t2.year
	neg := a < b
	if neg {
		fsec, sec, mn, hr, mday, mon, yr = -fsec, -sec, -mn, -hr, -mday, -mon, -yr
	}
	borrow(&fsec, &sec, 1000000)
	borrow(&sec, &mn, 60)
	borrow(&mn, &hr, 60)
	borrow(&hr, &mday, 24)
	for mday < 0 {
		if neg {
			mday += dayTab[leap(t1.year)][t1.month-1]
		} else {
			mday += dayTab[leap(t2.year)][t2.month-1]
		}
		mon--
	}
	borrow(&mon, &yr, 12)
	if neg {
		fsec, sec, mn, hr, mday, mon, yr = -fsec, -sec, -mn, -hr, -mday, -mon, -yr
	}
	return types.IntervalValue{Months: int32(yr*12 + mon), Days: int32(mday),
		Micros: int64(hr)*types.MicrosPerHour + int64(mn)*types.MicrosPerMinute + int64(sec)*types.MicrosPerSecond + int64(fsec)}
}

func dateBin(stride types.IntervalValue, src, origin types.Timestamp) (types.Datum, error) {
	if stride.Months != 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "timestamps cannot be binned into intervals containing months or years")
	}
	s := int64(stride.Days)*types.MicrosPerDay + stride.Micros
	if s <= 0 {
		return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "stride must be greater than zero")
	}
	delta := int64(src - origin)
	return origin + types.Timestamp(floorDiv(delta, s)*s), nil
}

func checkYMD(y, m, d int64) error {
	if y == 0 || m < 1 || m > 12 || d < 1 {
		return sqlerr.New(sqlerr.DatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", y, m, d)
	}
	yy := int(y)
	if yy < 0 {
		yy++
	}
	if int(d) > dayTab[leap(yy)][m-1] {
		return sqlerr.New(sqlerr.DatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", y, m, d)
	}
	return nil
}

func makeTimestampFn(a []types.Datum) (types.Datum, error) {
	y, m, d, h, mi := a[0].(int64), a[1].(int64), a[2].(int64), a[3].(int64), a[4].(int64)
	sec := a[5].(float64)
	if err := checkYMD(y, m, d); err != nil {
		return nil, err
	}
	if h < 0 || h > 24 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "time field value out of range: %d:%02d:%02g", h, mi, sec)
	}
	yy := int(y)
	if yy < 0 {
		yy++
	}
	days := int64(types.DateFromYMD(yy, int(m), int(d)))
	return types.Timestamp(days*types.MicrosPerDay + h*types.MicrosPerHour + mi*types.MicrosPerMinute + int64(math.Round(sec*1e6))), nil
}
