package types

import (
	"math"
	"math/bits"
	"time"

	"streamsql/sql/sqlerr"
)

// Infinite dates and timestamps use the extreme values of their
// representation, as PostgreSQL does (DATEVAL_NOBEGIN/NOEND, DT_NOBEGIN/NOEND).
const (
	DateNegInfinity      Date      = math.MinInt32
	DatePosInfinity      Date      = math.MaxInt32
	TimestampNegInfinity Timestamp = math.MinInt64
	TimestampPosInfinity Timestamp = math.MaxInt64
)

// Julian day numbers of the Unix and PostgreSQL epochs.
const (
	unixEpochJDate     = 2440588
	postgresEpochJDate = 2451545
)

// Range limits PostgreSQL enforces: dates from 4714-11-24 BC (Julian day 0)
// to 5874897-12-31; timestamps to 294276-12-31.
const (
	minDateDays      = -unixEpochJDate                  // 4714-11-24 BC
	maxDateDays      = 2147483493 - unixEpochJDate      // 5874897-12-31
	minTimestampUnix = int64(-210866803200) * 1_000_000 // 4714-11-24 00:00:00 BC
	maxTimestampUnix = int64(math.MaxInt64)             // 294247-01-10: int64 Unix micros end before PostgreSQL's 294277
	maxTimeOfDay     = TimeOfDay(MicrosPerDay)          // 24:00:00 is a valid time
	daysPerMonth     = 30                               // interval month length for comparisons
	monthsPerYear    = 12
)

// date2j converts a proleptic Gregorian date (astronomical year: 0 is 1 BC)
// to a Julian day number, exactly as PostgreSQL's date2j.
func date2j(y, m, d int) int {
	if m > 2 {
		m++
		y += 4800
	} else {
		m += 13
		y += 4799
	}
	century := y / 100
	julian := y*365 - 32167
	julian += y/4 - century + century/4
	julian += 7834*m/256 + d
	return julian
}

// j2date is the inverse of date2j (PostgreSQL's j2date).
func j2date(jd int) (year, month, day int) {
	julian := uint32(jd)
	julian += 32044
	quad := julian / 146097
	extra := (julian-quad*146097)*4 + 3
	julian += 60 + quad*3 + extra/146097
	quad = julian / 1461
	julian -= quad * 1461
	y := int(julian * 4 / 1461)
	if y != 0 {
		julian = (julian+305)%365 + 123
	} else {
		julian = (julian+306)%366 + 123
	}
	y += int(quad * 4)
	year = y - 4800
	q := julian * 2141 / 65536
	day = int(julian - 7834*q/256)
	month = int((q+10)%12 + 1)
	return
}

// DateFromYMD returns the date of an astronomical year, month and day.
func DateFromYMD(y, m, d int) Date { return Date(date2j(y, m, d) - unixEpochJDate) }

// YMD returns the astronomical year (0 is 1 BC), month and day of d.
func (d Date) YMD() (y, m, day int) { return j2date(int(d) + unixEpochJDate) }

// IsFinite reports whether d is neither infinity nor -infinity.
func (d Date) IsFinite() bool { return d != DateNegInfinity && d != DatePosInfinity }

// IsFinite reports whether ts is neither infinity nor -infinity.
func (ts Timestamp) IsFinite() bool {
	return ts != TimestampNegInfinity && ts != TimestampPosInfinity
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var monthDays = [2][13]int{
	{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
	{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
}

func daysIn(y, m int) int {
	if isLeap(y) {
		return monthDays[1][m]
	}
	return monthDays[0][m]
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return
}

// splitTimestamp returns the date and time of day of a finite timestamp.
func splitTimestamp(ts Timestamp) (Date, TimeOfDay) {
	d, t := floorDiv(int64(ts), MicrosPerDay)
	return Date(d), TimeOfDay(t)
}

// joinTimestamp is the inverse of splitTimestamp.
func joinTimestamp(d Date, t TimeOfDay) Timestamp {
	return Timestamp(int64(d)*MicrosPerDay + int64(t))
}

func timestampInRange(v int64) bool { return v >= minTimestampUnix && v < maxTimestampUnix }

func errTimestampRange() error {
	return sqlerr.New(sqlerr.DatetimeFieldOverflow, "timestamp out of range")
}

// TimestampToTime converts a timestamp to a time.Time in UTC (for a
// timestamp without time zone, the wall clock reads as UTC).
func TimestampToTime(ts Timestamp) time.Time {
	d, t := floorDiv(int64(ts), MicrosPerSecond)
	return time.Unix(d, t*1000).UTC()
}

// TimeToTimestamp converts t to microseconds since the Unix epoch,
// truncating nanoseconds.
func TimeToTimestamp(t time.Time) Timestamp {
	s := t.Unix()
	return Timestamp(s*MicrosPerSecond + int64(t.Nanosecond()/1000))
}

// DateToTime returns midnight UTC of d.
func DateToTime(d Date) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// zoneOffset returns the UTC offset in seconds of loc at the instant utc
// (a finite timestamp). A nil loc is UTC.
func zoneOffset(utc Timestamp, loc *time.Location) int {
	if loc == nil || loc == time.UTC {
		return 0
	}
	s, _ := floorDiv(int64(utc), MicrosPerSecond)
	_, off := time.Unix(s, 0).In(loc).Zone()
	return off
}

// localToUTC interprets a wall-clock timestamp in loc and returns the
// instant. Like PostgreSQL, an ambiguous wall time (a DST fall-back
// overlap) takes the offset in force after the transition, and a wall
// time in a spring-forward gap the offset in force before it.
func localToUTC(local Timestamp, loc *time.Location) Timestamp {
	if loc == nil || loc == time.UTC || !local.IsFinite() {
		return local
	}
	const day = Timestamp(MicrosPerDay)
	before := zoneOffset(local-day, loc)
	after := zoneOffset(local+day, loc)
	if after != before {
		utc := local - Timestamp(int64(after)*MicrosPerSecond)
		if zoneOffset(utc, loc) == after {
			return utc
		}
		utc = local - Timestamp(int64(before)*MicrosPerSecond)
		if zoneOffset(utc, loc) == before {
			return utc
		}
		return utc
	}
	off := zoneOffset(local-Timestamp(int64(before)*MicrosPerSecond), loc)
	return local - Timestamp(int64(off)*MicrosPerSecond)
}

// utcToLocal returns the wall-clock timestamp of instant utc in loc, and the
// offset in seconds east of UTC.
func utcToLocal(utc Timestamp, loc *time.Location) (Timestamp, int) {
	if !utc.IsFinite() {
		return utc, 0
	}
	off := zoneOffset(utc, loc)
	return utc + Timestamp(int64(off)*MicrosPerSecond), off
}

// AddInterval adds iv to ts the way PostgreSQL's timestamp + interval does:
// months first (clamping the day to the end of the month: 2024-01-31 plus one
// month is 2024-02-29), then days, both on the wall clock (in loc when tz is
// set, so a day across a DST change stays a calendar day), then the
// microseconds on the absolute time line. Infinite timestamps stay infinite.
func AddInterval(ts Timestamp, iv IntervalValue, loc *time.Location, tz bool) (Timestamp, error) {
	if !ts.IsFinite() {
		return ts, nil
	}
	if !tz {
		loc = nil
	}
	if iv.Months != 0 || iv.Days != 0 {
		local, _ := utcToLocal(ts, loc)
		d, tod := splitTimestamp(local)
		if iv.Months != 0 {
			y, m, day := d.YMD()
			mm := int64(y)*12 + int64(m-1) + int64(iv.Months)
			ny, nm := floorDiv(mm, 12)
			if ny < -4713 || ny > 294277 {
				return 0, errTimestampRange()
			}
			y, m = int(ny), int(nm)+1
			if dim := daysIn(y, m); day > dim {
				day = dim
			}
			d = DateFromYMD(y, m, day)
		}
		nd := int64(d) + int64(iv.Days)
		if nd < minDateDays || nd > maxDateDays {
			return 0, errTimestampRange()
		}
		local = joinTimestamp(Date(nd), tod)
		ts = localToUTC(local, loc)
	}
	r, overflow := addInt64(int64(ts), iv.Micros)
	if overflow || !timestampInRange(r) {
		return 0, errTimestampRange()
	}
	return Timestamp(r), nil
}

func addInt64(a, b int64) (int64, bool) {
	c := a + b
	return c, (c > a) != (b > 0)
}

// Int128 is a signed 128-bit integer, used to compare intervals whose total
// span does not fit in 64 bits.
type Int128 struct {
	Hi int64
	Lo uint64
}

// Cmp returns -1, 0 or 1.
func (a Int128) Cmp(b Int128) int {
	switch {
	case a.Hi < b.Hi:
		return -1
	case a.Hi > b.Hi:
		return 1
	case a.Lo < b.Lo:
		return -1
	case a.Lo > b.Lo:
		return 1
	}
	return 0
}

func int128FromInt64(v int64) Int128 {
	return Int128{Hi: v >> 63, Lo: uint64(v)}
}

func (a Int128) add(b Int128) Int128 {
	lo, carry := bits.Add64(a.Lo, b.Lo, 0)
	return Int128{Hi: a.Hi + b.Hi + int64(carry), Lo: lo}
}

// mulInt64 returns a*b for a non-negative multiplier b.
func mulInt128(a int64, b uint64) Int128 {
	neg := a < 0
	ua := uint64(a)
	if neg {
		ua = uint64(-a)
	}
	hi, lo := bits.Mul64(ua, b)
	r := Int128{Hi: int64(hi), Lo: lo}
	if neg {
		// two's complement negation
		lo, borrow := bits.Sub64(0, r.Lo, 0)
		r = Int128{Hi: -r.Hi - int64(borrow), Lo: lo}
	}
	return r
}

// IntervalCompareKey returns the span PostgreSQL compares intervals by:
// months as 30 days, days as 24 hours, in microseconds. Intervals with equal
// keys are equal ('1 mon' = '30 days').
func IntervalCompareKey(iv IntervalValue) Int128 {
	days := int64(iv.Months)*daysPerMonth + int64(iv.Days)
	return mulInt128(days, uint64(MicrosPerDay)).add(int128FromInt64(iv.Micros))
}

// intervalFromKey builds the canonical interval of a compare key: whole
// 30-day months, then days, then microseconds, all of one sign.
func intervalFromKey(k Int128) IntervalValue {
	neg := k.Hi < 0
	if neg {
		lo, borrow := bits.Sub64(0, k.Lo, 0)
		k = Int128{Hi: -k.Hi - int64(borrow), Lo: lo}
	}
	// k < 2^31*30*86400e6 < 2^63*86400e6 fits in a 128-bit division by a day.
	q, r := bits.Div64(uint64(k.Hi), k.Lo, uint64(MicrosPerDay))
	iv := IntervalValue{Months: int32(q / daysPerMonth), Days: int32(q % daysPerMonth), Micros: int64(r)}
	if neg {
		iv = IntervalValue{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}
	}
	return iv
}

// JustifyHours moves whole days out of the microseconds (justify_hours).
func JustifyHours(iv IntervalValue) IntervalValue {
	iv = carryDays(iv)
	balance(&iv.Days, &iv.Micros, MicrosPerDay)
	return iv
}

// JustifyDays moves whole 30-day periods out of the days (justify_days).
func JustifyDays(iv IntervalValue) IntervalValue {
	iv = carryMonths(iv)
	balance(&iv.Months, &iv.Days, daysPerMonth)
	return iv
}

// JustifyInterval applies both justifications with consistent signs
// (justify_interval).
func JustifyInterval(iv IntervalValue) IntervalValue {
	iv = carryMonths(carryDays(iv))
	if iv.Months > 0 && (iv.Days < 0 || (iv.Days == 0 && iv.Micros < 0)) {
		iv.Days += daysPerMonth
		iv.Months--
	} else if iv.Months < 0 && (iv.Days > 0 || (iv.Days == 0 && iv.Micros > 0)) {
		iv.Days -= daysPerMonth
		iv.Months++
	}
	balance(&iv.Days, &iv.Micros, MicrosPerDay)
	return iv
}

// carryDays moves whole days out of the microseconds, keeping the sign
// of each part.
func carryDays(iv IntervalValue) IntervalValue {
	d := iv.Micros / MicrosPerDay
	iv.Micros -= d * MicrosPerDay
	iv.Days += int32(d)
	return iv
}

// carryMonths moves whole 30-day months out of the days, keeping the
// sign of each part.
func carryMonths(iv IntervalValue) IntervalValue {
	m := iv.Days / daysPerMonth
	iv.Days -= m * daysPerMonth
	iv.Months += m
	return iv
}

// balance gives a field hi and the next smaller one lo (unit of which
// make one hi) one sign, moving one hi into lo where they differ.
func balance[L int32 | int64](hi *int32, lo *L, unit L) {
	if *hi > 0 && *lo < 0 {
		*lo += unit
		*hi--
	} else if *hi < 0 && *lo > 0 {
		*lo -= unit
		*hi++
	}
}
