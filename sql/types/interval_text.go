package types

import (
	"math"
	"strconv"
	"strings"

	"streamsql/sql/sqlerr"
)

// Interval input, following PostgreSQL's DecodeInterval with
// IntervalStyle=postgres: "1 year 2 mons", "3 days 04:05:06", "1-2"
// (years-months), "@ 1 minute ago", bare numbers as seconds, fractional
// units spilling into smaller fields ("1.5 days" is 1 day 12:00:00), and
// ISO 8601 durations ("P1Y2M3DT4H5M6S").

// intervalAcc accumulates an interval with room to detect overflow.
type intervalAcc struct {
	months, days int64
	micros       int64
	overflow     bool
	yearOverflow bool // years*12 beyond int32: "interval out of range"
}

func (a *intervalAcc) addMicros(v int64, scale int64) {
	hi, lo := mulInt64(v, scale)
	if hi {
		a.overflow = true
		return
	}
	r, of := addInt64(a.micros, lo)
	a.micros = r
	a.overflow = a.overflow || of
}

// mulInt64 returns a*b and whether it overflowed.
func mulInt64(a, b int64) (bool, int64) {
	if a == 0 || b == 0 {
		return false, 0
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return true, c
	}
	return false, c
}

// addFractMicros adds frac*scale microseconds, rounded (AdjustFractMicroseconds).
func (a *intervalAcc) addFractMicros(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	f := frac * float64(scale)
	us := int64(f)
	if math.Abs(f-float64(us)) >= 0.5 {
		if f > 0 {
			us++
		} else {
			us--
		}
	}
	a.addMicros(us, 1)
}

// addFractDays spills frac*scale days into days and microseconds (AdjustFractDays).
func (a *intervalAcc) addFractDays(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	f := frac * float64(scale)
	d := int64(f)
	a.days += d
	a.addFractMicros(f-float64(d), MicrosPerDay)
}

// addFractYears spills a fraction of scale years into months (AdjustFractYears).
func (a *intervalAcc) addFractYears(frac float64, scale int64) {
	a.months += int64(math.RoundToEven(frac * float64(scale) * 12))
}

// addUnit adds val (+ fval) of unit.
func (a *intervalAcc) addUnit(unit string, val int64, fval float64) bool {
	if us, ok := microsPerUnit[unit]; ok {
		a.addMicros(val, us)
		a.addFractMicros(fval, us)
	} else if years, ok := yearsPerUnit[unit]; ok {
		a.months += val * 12 * years
		a.addFractYears(fval, years)
		if a.months > math.MaxInt32 || a.months < math.MinInt32 {
			a.yearOverflow = true
		}
	} else {
		switch unit {
		case "day":
			a.days += val
			a.addFractMicros(fval, MicrosPerDay)
		case "week":
			a.days += val * 7
			a.addFractDays(fval, 7)
		case "month":
			a.months += val
			a.addFractDays(fval, daysPerMonth)
		default:
			return false
		}
	}
	if val > math.MaxInt32*12000 || val < -math.MaxInt32*12000 {
		a.overflow = true
	}
	return true
}

// The units counted in microseconds, and those counted in years.
var (
	microsPerUnit = map[string]int64{"microsecond": 1, "millisecond": 1000, "second": MicrosPerSecond,
		"minute": MicrosPerMinute, "hour": MicrosPerHour}
	yearsPerUnit = map[string]int64{"year": 1, "decade": 10, "century": 100, "millennium": 1000}
)

var intervalUnits = map[string]string{
	"us": "microsecond", "usec": "microsecond", "usecs": "microsecond", "usecond": "microsecond",
	"useconds": "microsecond", "microsecon": "microsecond", "microsecond": "microsecond", "microseconds": "microsecond",
	"ms": "millisecond", "msec": "millisecond", "msecs": "millisecond", "msecond": "millisecond",
	"mseconds": "millisecond", "millisecon": "millisecond", "millisecond": "millisecond", "milliseconds": "millisecond",
	"s": "second", "sec": "second", "secs": "second", "second": "second", "seconds": "second",
	"m": "minute", "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute",
	"h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
	"d": "day", "day": "day", "days": "day",
	"w": "week", "week": "week", "weeks": "week",
	"mon": "month", "mons": "month", "month": "month", "months": "month",
	"y": "year", "yr": "year", "yrs": "year", "year": "year", "years": "year",
	"dec": "decade", "decs": "decade", "decade": "decade", "decades": "decade",
	"c": "century", "cent": "century", "century": "century", "centuries": "century",
	"mil": "millennium", "mils": "millennium", "millennium": "millennium", "millennia": "millennium",
}

type ivField struct {
	kind byte // 'n' number (maybe signed, fraction, or y-m), 't' time (maybe signed), 'a' word
	s    string
}

func tokenizeInterval(s string) ([]ivField, bool) {
	var fs []ivField
	i := 0
	for i < len(s) {
		c := s[i]
		start := i
		switch {
		case isSpace(c) || c == '@' || c == ',':
			i++
		case isDigit(c) || c == '.' || c == '+' || c == '-':
			i++
			if c == '+' || c == '-' {
				for i < len(s) && isSpace(s[i]) {
					i++
				}
				if i >= len(s) || !(isDigit(s[i]) || s[i] == '.') {
					return nil, false
				}
			}
			kind := byte('n')
			for i < len(s) && (isDigit(s[i]) || s[i] == '.' || s[i] == ':' || s[i] == '-') {
				if s[i] == ':' {
					kind = 't'
				}
				i++
			}
			fs = append(fs, ivField{kind: kind, s: strings.ReplaceAll(s[start:i], " ", "")})
		case isAlpha(c):
			for i < len(s) && isAlpha(s[i]) {
				i++
			}
			fs = append(fs, ivField{kind: 'a', s: s[start:i]})
		default:
			return nil, false
		}
	}
	return fs, true
}

func errIntervalSyntax(s string) error {
	return sqlerr.New(sqlerr.InvalidDatetimeFormat, "invalid input syntax for type interval: \"%s\"", s)
}

func errIntervalRange(s string) error {
	return sqlerr.New(sqlerr.IntervalFieldOverflow, "interval field value out of range: \"%s\"", s)
}

func parseInterval(s string) (Datum, error) {
	low := strings.ToLower(trimSpace(s))
	if low == "" {
		return nil, errIntervalSyntax(s)
	}
	var acc intervalAcc
	var ok bool
	if low[0] == 'p' {
		ok = parseISOInterval(low, &acc)
	} else {
		ok = parseClassicInterval(low, &acc)
	}
	if !ok {
		return nil, errIntervalSyntax(s)
	}
	if acc.yearOverflow {
		return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
	}
	if acc.overflow || acc.months > math.MaxInt32 || acc.months < math.MinInt32 ||
		acc.days > math.MaxInt32 || acc.days < math.MinInt32 {
		return nil, errIntervalRange(s)
	}
	return IntervalValue{Months: int32(acc.months), Days: int32(acc.days), Micros: acc.micros}, nil
}

func parseClassicInterval(s string, acc *intervalAcc) bool {
	fs, ok := tokenizeInterval(s)
	if !ok || len(fs) == 0 {
		return false
	}
	unit := ""
	ago := false
	seen := map[string]bool{}
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		switch f.kind {
		case 't':
			body := f.s
			neg := false
			if body[0] == '+' || body[0] == '-' {
				neg = body[0] == '-'
				body = body[1:]
			}
			h, m, sec, us, ok := splitClock(body)
			if !ok || m < 0 || m > 59 || sec < 0 || sec > 59 || seen["time"] {
				return false
			}
			seen["time"] = true
			var t intervalAcc
			t.addMicros(h, MicrosPerHour)
			t.addMicros(m*MicrosPerMinute+sec*MicrosPerSecond+us, 1)
			if neg {
				t.micros = -t.micros
			}
			acc.addMicros(t.micros, 1)
			acc.overflow = acc.overflow || t.overflow
			unit = "day"
		case 'n':
			u := unit
			if u == "" {
				u = "second"
			}
			body := f.s
			neg := false
			if body[0] == '+' || body[0] == '-' {
				neg = body[0] == '-'
				body = body[1:]
			}
			if j := strings.IndexByte(body, '-'); j >= 0 {
				// SQL years-months
				y, err1 := strconv.ParseInt(body[:j], 10, 64)
				m, err2 := strconv.ParseInt(body[j+1:], 10, 64)
				if err1 != nil || err2 != nil || body[:j] == "" || body[j+1:] == "" || y > math.MaxInt32 || m > math.MaxInt32 {
					return false
				}
				v := y*12 + m
				if neg {
					v = -v
				}
				if seen["month"] {
					return false
				}
				seen["month"] = true
				acc.months += v
				break
			}
			ip, fp := body, ""
			if j := strings.IndexByte(body, '.'); j >= 0 {
				ip, fp = body[:j], body[j:]
			}
			if strings.ContainsAny(fp[min(1, len(fp)):], ".") || (ip == "" && len(fp) <= 1) {
				return false
			}
			var val int64
			if ip != "" {
				v, err := strconv.ParseInt(ip, 10, 64)
				if err != nil {
					acc.overflow = true
					return true
				}
				val = v
			}
			var fval float64
			if len(fp) > 1 {
				v, err := strconv.ParseFloat("0"+fp, 64)
				if err != nil {
					return false
				}
				fval = v
			}
			if neg {
				val, fval = -val, -fval
			}
			if seen[u] {
				return false
			}
			seen[u] = true
			acc.addUnit(u, val, fval)
		case 'a':
			if f.s == "ago" {
				if i != len(fs)-1 || ago {
					return false
				}
				ago = true
				continue
			}
			u, ok := intervalUnits[f.s]
			if !ok {
				return false
			}
			unit = u
		}
	}
	if ago {
		acc.months, acc.days, acc.micros = -acc.months, -acc.days, -acc.micros
	}
	return true
}

// parseISOInterval reads P[nY][nM][nW][nD][T[nH][nM][nS]] with signed,
// fractional numbers.
func parseISOInterval(s string, acc *intervalAcc) bool {
	s = s[1:] // 'p'
	if s == "" {
		return false
	}
	inTime := false
	for len(s) > 0 {
		if s[0] == 't' {
			if inTime {
				return false
			}
			inTime = true
			s = s[1:]
			continue
		}
		j := 0
		for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '+') {
			j++
		}
		if j == 0 || j == len(s) {
			return false
		}
		num, des := s[:j], s[j]
		s = s[j+1:]
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return false
		}
		val := int64(f)
		fval := f - float64(val)
		var u string
		switch {
		case !inTime && des == 'y':
			u = "year"
		case !inTime && des == 'm':
			u = "month"
		case !inTime && des == 'w':
			u = "week"
		case !inTime && des == 'd':
			u = "day"
		case inTime && des == 'h':
			u = "hour"
		case inTime && des == 'm':
			u = "minute"
		case inTime && des == 's':
			u = "second"
		default:
			return false
		}
		acc.addUnit(u, val, fval)
	}
	return true
}
