package types

import (
	"math"
	"strconv"
	"strings"
	"time"

	"streamsql/sql/sqlerr"
)

// Text output and input of date, time, timestamp and timestamptz, following
// PostgreSQL's DateStyle=ISO, MDY: output is always ISO 8601 with a space
// between date and time; input accepts ISO dates, month names, MDY
// numeric dates, the ISO "T" separator, numeric zone offsets, zone
// abbreviations and IANA zone names, AM/PM, BC, and the special words
// epoch, infinity, -infinity, now, today, tomorrow and yesterday.

func appendPad(buf []byte, v int64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(s); i < width; i++ {
		buf = append(buf, '0')
	}
	return append(buf, s...)
}

// appendYMD appends YYYY-MM-DD of an astronomical year and reports
// whether the year is BC (the caller appends " BC" at the very end).
func appendYMD(buf []byte, d Date) ([]byte, bool) {
	y, m, day := d.YMD()
	bc := y <= 0
	if bc {
		y = 1 - y
	}
	buf = appendPad(buf, int64(y), 4)
	buf = append(buf, '-')
	buf = appendPad(buf, int64(m), 2)
	buf = append(buf, '-')
	buf = appendPad(buf, int64(day), 2)
	return buf, bc
}

func appendDate(buf []byte, d Date) []byte {
	switch d {
	case DateNegInfinity:
		return append(buf, "-infinity"...)
	case DatePosInfinity:
		return append(buf, "infinity"...)
	}
	buf, bc := appendYMD(buf, d)
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// appendFraction appends ".ffffff" without trailing zeros, or nothing.
func appendFraction(buf []byte, us int64) []byte {
	if us == 0 {
		return buf
	}
	buf = append(buf, '.')
	div := int64(100000)
	for us > 0 {
		buf = append(buf, byte('0'+us/div))
		us %= div
		div /= 10
	}
	return buf
}

// appendTimeOfDay appends HH:MM:SS[.ffffff] of a non-negative number of
// microseconds (hours may exceed 24 for intervals).
func appendTimeOfDay(buf []byte, us int64) []byte {
	h := us / MicrosPerHour
	us -= h * MicrosPerHour
	m := us / MicrosPerMinute
	us -= m * MicrosPerMinute
	s := us / MicrosPerSecond
	us -= s * MicrosPerSecond
	buf = appendPad(buf, h, 2)
	buf = append(buf, ':')
	buf = appendPad(buf, m, 2)
	buf = append(buf, ':')
	buf = appendPad(buf, s, 2)
	return appendFraction(buf, us)
}

func appendTimestamp(buf []byte, ts Timestamp) []byte {
	switch ts {
	case TimestampNegInfinity:
		return append(buf, "-infinity"...)
	case TimestampPosInfinity:
		return append(buf, "infinity"...)
	}
	d, t := splitTimestamp(ts)
	buf, bc := appendYMD(buf, d)
	buf = append(buf, ' ')
	buf = appendTimeOfDay(buf, int64(t))
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

func appendTimestampTZ(buf []byte, ts Timestamp, loc *time.Location) []byte {
	if !ts.IsFinite() {
		return appendTimestamp(buf, ts)
	}
	local, off := utcToLocal(ts, loc)
	d, t := splitTimestamp(local)
	buf, bc := appendYMD(buf, d)
	buf = append(buf, ' ')
	buf = appendTimeOfDay(buf, int64(t))
	buf = appendOffset(buf, off)
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// appendOffset appends a UTC offset as PostgreSQL prints it: +HH, +HH:MM
// or +HH:MM:SS, as short as exact.
func appendOffset(buf []byte, off int) []byte {
	if off < 0 {
		buf = append(buf, '-')
		off = -off
	} else {
		buf = append(buf, '+')
	}
	buf = appendPad(buf, int64(off/3600), 2)
	if off%3600 != 0 {
		buf = append(buf, ':')
		buf = appendPad(buf, int64(off/60%60), 2)
		if off%60 != 0 {
			buf = append(buf, ':')
			buf = appendPad(buf, int64(off%60), 2)
		}
	}
	return buf
}

// appendInterval prints IntervalStyle=postgres: "1 year 2 mons 3 days
// 04:05:06.5", "-1 days +02:00:00", "00:00:00".
func appendInterval(buf []byte, iv IntervalValue) []byte {
	year := int64(iv.Months / 12)
	mon := int64(iv.Months % 12)
	isZero, isBefore := true, false
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if !isZero {
			buf = append(buf, ' ')
		}
		if isBefore && v > 0 {
			buf = append(buf, '+')
		}
		buf = strconv.AppendInt(buf, v, 10)
		buf = append(buf, ' ')
		buf = append(buf, unit...)
		if v != 1 {
			buf = append(buf, 's')
		}
		isBefore = v < 0
		isZero = false
	}
	part(year, "year")
	part(mon, "mon")
	part(int64(iv.Days), "day")
	if isZero || iv.Micros != 0 {
		if !isZero {
			buf = append(buf, ' ')
		}
		us := iv.Micros
		if us < 0 {
			buf = append(buf, '-')
			if us == math.MinInt64 {
				// |MinInt64| does not fit; print via unsigned arithmetic.
				return appendTimeOfDayU(buf, uint64(1)<<63)
			}
			us = -us
		} else if isBefore {
			buf = append(buf, '+')
		}
		buf = appendTimeOfDay(buf, us)
	}
	return buf
}

func appendTimeOfDayU(buf []byte, us uint64) []byte {
	h := us / uint64(MicrosPerHour)
	us -= h * uint64(MicrosPerHour)
	buf = strconv.AppendUint(buf, h, 10)
	buf = append(buf, ':')
	rest := appendTimeOfDay(nil, int64(us))
	return append(buf, rest[3:]...)
}

// dtField is one token of a date/time string.
type dtField struct {
	kind byte   // 'n' number, 'd' date, 't' time, 'z' signed (offset), 'a' alpha
	s    string // lower case
	orig string // original case (zone names)
}

// tokenizeDateTime splits a date/time string into fields the way
// PostgreSQL's ParseDateTime does, simplified.
func tokenizeDateTime(s string) ([]dtField, bool) {
	var fs []dtField
	low := strings.ToLower(s)
	i := 0
	for i < len(s) {
		c := low[i]
		start := i
		switch {
		case isSpace(c) || c == ',':
			i++
			continue
		case isDigit(c):
			for i < len(s) && isDigit(low[i]) {
				i++
			}
			kind := byte('n')
			if i < len(s) && low[i] == ':' {
				kind = 't'
				for i < len(s) && (isDigit(low[i]) || low[i] == ':' || low[i] == '.') {
					i++
				}
			} else if i < len(s) && (low[i] == '-' || low[i] == '/' || low[i] == '.') {
				delim := low[i]
				if delim == '.' {
					kind = 'n'
				} else {
					kind = 'd'
				}
				i++
				if i < len(s) && isAlpha(low[i]) {
					// 02-jan-2024
					for i < len(s) && (isDigit(low[i]) || isAlpha(low[i]) || low[i] == delim) {
						i++
					}
				} else {
					for i < len(s) && (isDigit(low[i]) || low[i] == delim) {
						if low[i] == delim && delim == '.' {
							kind = 'd'
						}
						i++
					}
				}
				if delim == '.' && kind == 'n' && i < len(s) && low[i] == ':' {
					return nil, false
				}
			}
			fs = append(fs, dtField{kind: kind, s: low[start:i], orig: s[start:i]})
		case c == '.':
			i++
			for i < len(s) && isDigit(low[i]) {
				i++
			}
			fs = append(fs, dtField{kind: 'n', s: low[start:i], orig: s[start:i]})
		case c == '+' || c == '-':
			i++
			for i < len(s) && isSpace(low[i]) {
				i++
			}
			if i < len(s) && isDigit(low[i]) {
				for i < len(s) && (isDigit(low[i]) || low[i] == ':' || low[i] == '.') {
					i++
				}
				fs = append(fs, dtField{kind: 'z', s: strings.ReplaceAll(low[start:i], " ", ""), orig: s[start:i]})
			} else if i < len(s) && isAlpha(low[i]) {
				for i < len(s) && isAlpha(low[i]) {
					i++
				}
				fs = append(fs, dtField{kind: 'a', s: string(c) + trimSpace(low[start+1:i]), orig: s[start:i]})
			} else {
				return nil, false
			}
		case isAlpha(c):
			for i < len(s) && (isAlpha(low[i]) || low[i] == '/' || low[i] == '_' ||
				(strings.ContainsRune(low[start:i], '/') && (isDigit(low[i]) || low[i] == '-' || low[i] == '+'))) {
				i++
			}
			if _, isMonth := monthNames[low[start:i]]; isMonth && i+1 < len(s) &&
				(low[i] == '-' || low[i] == '/') && isDigit(low[i+1]) {
				// jan-02-2024
				delim := low[i]
				for i < len(s) && (isDigit(low[i]) || low[i] == delim) {
					i++
				}
				fs = append(fs, dtField{kind: 'd', s: low[start:i], orig: s[start:i]})
				continue
			}
			fs = append(fs, dtField{kind: 'a', s: low[start:i], orig: s[start:i]})
		default:
			return nil, false
		}
	}
	return fs, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

var monthNames = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
	"apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
	"aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10,
	"october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

var dayNames = map[string]bool{
	"sun": true, "sunday": true, "mon": true, "monday": true, "tue": true,
	"tues": true, "tuesday": true, "wed": true, "wednesday": true,
	"thu": true, "thur": true, "thurs": true, "thursday": true, "fri": true,
	"friday": true, "sat": true, "saturday": true,
}

// dtResult is what decodeDateTime found.
type dtResult struct {
	year, mon, day    int
	hasDate           bool
	hour, min, sec    int
	usec              int64
	hasTime           bool
	tzOff             int // seconds east of UTC
	hasTZ             bool
	loc               *time.Location
	special           string // epoch, infinity, -infinity, now, today, tomorrow, yesterday
	bc, ad            bool
	ampm              int // 0 none, 1 am, 2 pm
	yearDigits        int
	monFromName       bool
	dayDone, yearDone bool
	pendingNumbers    []string
}

type dtError struct {
	code string // sqlerr code
	msg  string
}

func (e *dtError) toErr(typ, s string) error {
	switch e.code {
	case sqlerr.DatetimeFieldOverflow:
		if e.msg != "" {
			// "date out of range" / "timestamp out of range"
			return sqlerr.New(e.code, "%s out of range: \"%s\"", e.msg, s)
		}
		return sqlerr.New(e.code, "date/time field value out of range: \"%s\"", s)
	case sqlerr.InvalidTimeZoneDisplacement:
		return sqlerr.New(e.code, "time zone displacement out of range: \"%s\"", s)
	case sqlerr.InvalidParameterValue:
		return sqlerr.New(e.code, "%s", e.msg)
	}
	return sqlerr.New(sqlerr.InvalidDatetimeFormat, "invalid input syntax for type %s: \"%s\"", typ, s)
}

var (
	errDTSyntax = &dtError{code: sqlerr.InvalidDatetimeFormat}
	errDTRange  = &dtError{code: sqlerr.DatetimeFieldOverflow}
)

// decodeDateTime interprets the fields of a date, time or timestamp.
func decodeDateTime(s string) (*dtResult, *dtError) {
	fs, ok := tokenizeDateTime(s)
	if !ok || len(fs) == 0 {
		return nil, errDTSyntax
	}
	r := &dtResult{}
	for i := 0; i < len(fs); i++ {
		f := fs[i]
		switch f.kind {
		case 'd':
			if r.hasDate {
				return nil, errDTSyntax
			}
			if err := r.decodeDate(f.s); err != nil {
				return nil, err
			}
		case 't':
			if r.hasTime {
				return nil, errDTSyntax
			}
			if err := r.decodeTime(f.s); err != nil {
				return nil, err
			}
		case 'z':
			if !r.hasTime && !r.hasDate && r.year == 0 {
				return nil, errDTSyntax
			}
			if r.hasTZ {
				return nil, errDTSyntax
			}
			off, err := parseOffset(f.s)
			if err != nil {
				return nil, err
			}
			r.tzOff, r.hasTZ = off, true
		case 'n':
			if err := r.decodeNumber(f.s, i > 0 && fs[i-1].kind == 'a' && fs[i-1].s == "t"); err != nil {
				return nil, err
			}
		case 'a':
			if err := r.decodeWord(f); err != nil {
				return nil, err
			}
		}
	}
	if r.special != "" {
		if len(fs) != 1 {
			return nil, errDTSyntax
		}
		return r, nil
	}
	// Numbers not yet placed: with a month name, the first is the day and
	// the next the year.
	for _, n := range r.pendingNumbers {
		v, _ := strconv.Atoi(n)
		switch {
		case !r.dayDone && len(n) <= 2 && v <= 31:
			r.day, r.dayDone = v, true
		case !r.yearDone:
			r.year, r.yearDone, r.yearDigits = v, true, len(n)
		default:
			return nil, errDTSyntax
		}
	}
	if r.monFromName {
		if !r.dayDone || !r.yearDone {
			return nil, errDTSyntax
		}
		r.hasDate = true
	}
	if r.ampm != 0 {
		if !r.hasTime || r.hour > 12 || r.hour < 0 {
			return nil, errDTRange
		}
		if r.ampm == 1 && r.hour == 12 {
			r.hour = 0
		} else if r.ampm == 2 && r.hour != 12 {
			r.hour += 12
		}
	}
	if r.hasDate {
		if r.yearDigits <= 2 && r.yearDigits > 0 && !r.bc {
			// Two-digit years: 70-99 are 19xx, 00-69 are 20xx.
			if r.year < 70 {
				r.year += 2000
			} else {
				r.year += 1900
			}
		}
		if r.year <= 0 || r.mon < 1 || r.mon > 12 || r.day < 1 {
			return nil, errDTRange
		}
		if r.bc {
			r.year = 1 - r.year
		}
		if r.day > daysIn(r.year, r.mon) {
			return nil, errDTRange
		}
		jd := date2j(r.year, r.mon, r.day)
		if jd < 0 || jd >= 2147483494 {
			return nil, &dtError{code: sqlerr.DatetimeFieldOverflow, msg: "date"}
		}
	} else if r.bc || r.ad {
		return nil, errDTSyntax
	}
	return r, nil
}

// decodeDate handles a delimited date field: Y-M-D when the first part
// has more than two digits, otherwise M-D-Y (DateStyle MDY); a part may
// be a month name.
func (r *dtResult) decodeDate(s string) *dtError {
	delim := byte('-')
	for i := 0; i < len(s); i++ {
		if s[i] == '-' || s[i] == '/' || s[i] == '.' {
			delim = s[i]
			break
		}
	}
	parts := strings.Split(s, string(delim))
	if len(parts) != 3 {
		return errDTSyntax
	}
	nums := [3]int{}
	monIdx := -1
	for i, p := range parts {
		if p == "" {
			return errDTSyntax
		}
		if isAlpha(p[0]) {
			m, ok := monthNames[p]
			if !ok || monIdx >= 0 {
				return errDTSyntax
			}
			monIdx = i
			nums[i] = m
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil {
			return errDTSyntax
		}
		nums[i] = v
	}
	switch {
	case monIdx == 1 && len(parts[0]) > 2: // 2024-jan-02
		r.year, r.mon, r.day, r.yearDigits = nums[0], nums[1], nums[2], len(parts[0])
	case monIdx == 1: // 02-jan-2024
		r.day, r.mon, r.year, r.yearDigits = nums[0], nums[1], nums[2], len(parts[2])
	case monIdx == 0: // jan-02-2024
		r.mon, r.day, r.year, r.yearDigits = nums[0], nums[1], nums[2], len(parts[2])
	case monIdx == 2:
		return errDTSyntax
	case len(parts[0]) > 2:
		r.year, r.mon, r.day, r.yearDigits = nums[0], nums[1], nums[2], len(parts[0])
	default:
		r.mon, r.day, r.year, r.yearDigits = nums[0], nums[1], nums[2], len(parts[2])
	}
	r.hasDate = true
	return nil
}

// decodeTime handles H:M[:S[.F]].
func (r *dtResult) decodeTime(s string) *dtError {
	h, m, sec, us, ok := splitClock(s)
	if !ok {
		return errDTSyntax
	}
	if h < 0 || h > 24 || m < 0 || m > 59 || sec < 0 || sec > 60 ||
		(h == 24 && (m != 0 || sec != 0 || us != 0)) {
		return errDTRange
	}
	r.hour, r.min, r.sec, r.usec, r.hasTime = int(h), int(m), int(sec), us, true
	return nil
}

// splitClock parses H:M, H:M:S or H:M:S.F (and M:S.F when the fraction
// comes with two parts, as PostgreSQL reads "05:06.5" in intervals: the
// caller decides). The fraction is rounded to microseconds.
func splitClock(s string) (h, m, sec, us int64, ok bool) {
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac = s[i+1:]
		s = s[:i]
		if strings.ContainsAny(frac, ".:") {
			return 0, 0, 0, 0, false
		}
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, 0, false
	}
	var vals [3]int64
	for i, p := range parts {
		if p == "" {
			return 0, 0, 0, 0, false
		}
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return 0, 0, 0, 0, false
		}
		vals[i] = v
	}
	if frac != "" && len(parts) == 2 {
		// "12:34.5" is minutes:seconds.fraction in PostgreSQL.
		us, ok = parseFraction(frac)
		return 0, vals[0], vals[1], us, ok
	}
	us, ok = parseFraction(frac)
	return vals[0], vals[1], vals[2], us, ok
}

// parseFraction turns the digits after a decimal point into microseconds,
// rounding half away from zero at the seventh digit like rint.
func parseFraction(frac string) (int64, bool) {
	if frac == "" {
		return 0, true
	}
	var us int64
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if !isDigit(c) {
			return 0, false
		}
		if i < 6 {
			us = us*10 + int64(c-'0')
		} else if i == 6 {
			if c >= '5' {
				us++
			}
		}
	}
	for i := len(frac); i < 6; i++ {
		us *= 10
	}
	return us, true
}

// parseOffset parses +HH, +HHMM, +HH:MM, +HH:MM:SS (ISO sign: east positive).
func parseOffset(s string) (int, *dtError) {
	neg := s[0] == '-'
	body := s[1:]
	var h, m, sec int
	var err error
	if strings.Contains(body, ":") {
		parts := strings.Split(body, ":")
		if len(parts) > 3 {
			return 0, errDTSyntax
		}
		vals := [3]int{}
		for i, p := range parts {
			if vals[i], err = strconv.Atoi(p); err != nil {
				return 0, errDTSyntax
			}
		}
		h, m, sec = vals[0], vals[1], vals[2]
	} else {
		if strings.Contains(body, ".") {
			return 0, errDTSyntax
		}
		switch len(body) {
		case 1, 2:
			h, _ = strconv.Atoi(body)
		case 3, 4:
			h, _ = strconv.Atoi(body[:len(body)-2])
			m, _ = strconv.Atoi(body[len(body)-2:])
		case 5, 6:
			h, _ = strconv.Atoi(body[:len(body)-4])
			m, _ = strconv.Atoi(body[len(body)-4 : len(body)-2])
			sec, _ = strconv.Atoi(body[len(body)-2:])
		default:
			return 0, errDTSyntax
		}
	}
	if m > 59 || sec > 59 {
		return 0, errDTRange
	}
	if h > 15 {
		return 0, &dtError{code: sqlerr.InvalidTimeZoneDisplacement}
	}
	off := h*3600 + m*60 + sec
	if neg {
		off = -off
	}
	return off, nil
}

func (r *dtResult) decodeNumber(s string, afterT bool) *dtError {
	if strings.HasPrefix(s, ".") {
		// a fraction of seconds after a time
		if !r.hasTime {
			return errDTSyntax
		}
		us, ok := parseFraction(s[1:])
		if !ok {
			return errDTSyntax
		}
		r.usec = us
		return nil
	}
	if strings.Contains(s, ".") {
		return errDTSyntax
	}
	switch {
	case afterT || (r.hasDate && !r.hasTime && (len(s) == 6 || len(s) == 4)):
		// ISO hhmmss / hhmm after a date
		if len(s) != 6 && len(s) != 4 && len(s) != 2 {
			return errDTSyntax
		}
		clock := s[:2]
		rest := s[2:]
		for len(rest) > 0 {
			clock += ":" + rest[:2]
			rest = rest[2:]
		}
		if len(s) == 2 {
			clock += ":00"
		}
		return r.decodeTime(clock)
	case !r.hasDate && !r.monFromName && len(s) == 8:
		r.year, _ = strconv.Atoi(s[:4])
		r.mon, _ = strconv.Atoi(s[4:6])
		r.day, _ = strconv.Atoi(s[6:])
		r.yearDigits, r.hasDate = 4, true
	case !r.hasDate && !r.monFromName && len(s) == 6:
		r.year, _ = strconv.Atoi(s[:2])
		r.mon, _ = strconv.Atoi(s[2:4])
		r.day, _ = strconv.Atoi(s[4:])
		r.yearDigits, r.hasDate = 2, true
	case r.hasDate:
		return errDTSyntax
	default:
		r.pendingNumbers = append(r.pendingNumbers, s)
	}
	return nil
}

func (r *dtResult) decodeWord(f dtField) *dtError {
	w := f.s
	if m, ok := monthNames[w]; ok {
		if r.hasDate || r.monFromName {
			return errDTSyntax
		}
		r.mon, r.monFromName = m, true
		return nil
	}
	if dayNames[w] {
		return nil
	}
	switch w {
	case "am", "a.m.":
		r.ampm = 1
		return nil
	case "pm", "p.m.":
		r.ampm = 2
		return nil
	case "bc":
		r.bc = true
		return nil
	case "ad":
		r.ad = true
		return nil
	case "t":
		return nil
	case "allballs":
		if r.hasTime {
			return errDTSyntax
		}
		r.hasTime = true
		return nil
	case "epoch", "infinity", "+infinity", "-infinity", "now", "today", "tomorrow", "yesterday":
		if r.special != "" {
			return errDTSyntax
		}
		r.special = strings.TrimPrefix(w, "+")
		return nil
	}
	if r.hasTZ {
		return errDTSyntax
	}
	if off, ok := zoneAbbrevs[w]; ok {
		r.tzOff, r.hasTZ = int(off), true
		return nil
	}
	if loc := loadZone(f.orig); loc != nil {
		r.loc, r.hasTZ = loc, true
		return nil
	}
	if !r.hasTime && !r.hasDate && !r.monFromName {
		return errDTSyntax
	}
	return &dtError{code: sqlerr.InvalidParameterValue, msg: "time zone \"" + f.s + "\" not recognized"}
}

// loadZone resolves an IANA zone name case-insensitively (PostgreSQL's
// zone names are case-insensitive; the tz database's files are not).
func loadZone(name string) *time.Location {
	if name == "" || strings.ContainsAny(name, " .\\") {
		return nil
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	// Title-case each segment: america/new_york -> America/New_York.
	b := []byte(strings.ToLower(name))
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '/' || c == '_' || c == '-'
	}
	if loc, err := time.LoadLocation(string(b)); err == nil {
		return loc
	}
	if loc, err := time.LoadLocation(strings.ToUpper(name)); err == nil {
		return loc
	}
	return nil
}

// LoadTimeZone resolves a TimeZone setting the way PostgreSQL's SET TIME
// ZONE does: an IANA name (any case), UTC/GMT/Z, a plain number of hours
// east of UTC ("3", "-5.5"), or a POSIX offset such as "-05:30", whose
// sign counts hours west of UTC (so "-05:30" is UTC+05:30).
func LoadTimeZone(name string) (*time.Location, error) {
	n := trimSpace(name)
	switch strings.ToLower(n) {
	case "utc", "gmt", "z", "zulu", "uct", "universal":
		return time.UTC, nil
	}
	if h, err := strconv.ParseFloat(n, 64); err == nil && !strings.ContainsAny(n, "eEnNiIxX") {
		if math.Abs(h) <= 15 {
			return time.FixedZone(n, int(math.Round(h*3600))), nil
		}
	} else if n != "" && (n[0] == '+' || n[0] == '-' || isDigit(n[0])) {
		s := n
		if isDigit(s[0]) {
			s = "+" + s
		}
		if off, err := parseOffset(s); err == nil {
			return time.FixedZone(n, -off), nil
		}
	}
	if loc := loadZone(n); loc != nil {
		return loc, nil
	}
	return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"TimeZone\": \"%s\"", name)
}

// specialTimestamp resolves epoch/infinity/now/today... relative to the
// current time in loc.
func specialTimestamp(w string, loc *time.Location) Timestamp {
	switch w {
	case "epoch":
		return 0
	case "infinity":
		return TimestampPosInfinity
	case "-infinity":
		return TimestampNegInfinity
	case "now":
		return TimeToTimestamp(time.Now())
	}
	now, _ := utcToLocal(TimeToTimestamp(time.Now()), loc)
	d, _ := splitTimestamp(now)
	switch w {
	case "tomorrow":
		d++
	case "yesterday":
		d--
	}
	return localToUTC(joinTimestamp(d, 0), loc)
}

func parseDate(s string) (Datum, error) {
	r, e := decodeDateTime(s)
	if e != nil {
		return nil, e.toErr("date", s)
	}
	switch r.special {
	case "infinity":
		return DatePosInfinity, nil
	case "-infinity":
		return DateNegInfinity, nil
	case "epoch":
		return Date(0), nil
	case "now", "today", "tomorrow", "yesterday":
		d, _ := splitTimestamp(specialTimestamp(r.special, nil))
		return d, nil
	}
	if !r.hasDate {
		return nil, errDTSyntax.toErr("date", s)
	}
	return DateFromYMD(r.year, r.mon, r.day), nil
}

func parseTime(s string) (Datum, error) {
	if v := trimSpace(s); (len(v) == 4 || len(v) == 6) && strings.Trim(v, "0123456789") == "" {
		// hhmm / hhmmss
		s2 := "T" + v
		r, e := decodeDateTime(s2)
		if e == nil && r.hasTime {
			return TimeOfDay(int64(r.hour)*MicrosPerHour + int64(r.min)*MicrosPerMinute + int64(r.sec)*MicrosPerSecond), nil
		}
	}
	r, e := decodeDateTime(s)
	if e != nil {
		return nil, e.toErr("time", s)
	}
	if r.special != "" {
		if r.special == "now" {
			_, t := splitTimestamp(TimeToTimestamp(time.Now()))
			return t, nil
		}
		return nil, errDTSyntax.toErr("time", s)
	}
	if !r.hasTime {
		return nil, errDTSyntax.toErr("time", s)
	}
	t := TimeOfDay(int64(r.hour)*MicrosPerHour + int64(r.min)*MicrosPerMinute + int64(r.sec)*MicrosPerSecond + r.usec)
	if t > maxTimeOfDay {
		return nil, errDTRange.toErr("time", s)
	}
	return t, nil
}

func parseTimestamp(s string, tz bool, loc *time.Location) (Datum, error) {
	typ := "timestamp"
	if tz {
		typ = "timestamp with time zone"
	}
	r, e := decodeDateTime(s)
	if e != nil {
		return nil, e.toErr(typ, s)
	}
	if r.special != "" {
		if !tz && r.special != "now" {
			return specialTimestamp(r.special, nil), nil
		}
		if !tz {
			local, _ := utcToLocal(specialTimestamp("now", nil), loc)
			return local, nil
		}
		return specialTimestamp(r.special, loc), nil
	}
	if !r.hasDate {
		return nil, errDTSyntax.toErr(typ, s)
	}
	d := DateFromYMD(r.year, r.mon, r.day)
	if int64(d) > maxTimestampUnix/MicrosPerDay || int64(d) < minTimestampUnix/MicrosPerDay {
		return nil, (&dtError{code: sqlerr.DatetimeFieldOverflow, msg: "timestamp"}).toErr(typ, s)
	}
	tod := int64(r.hour)*MicrosPerHour + int64(r.min)*MicrosPerMinute + int64(r.sec)*MicrosPerSecond + r.usec
	local := int64(d)*MicrosPerDay + tod
	if !timestampInRange(local) || local/MicrosPerDay != int64(d) && (local < 0) != (int64(d) < 0) {
		return nil, (&dtError{code: sqlerr.DatetimeFieldOverflow, msg: "timestamp"}).toErr(typ, s)
	}
	ts := Timestamp(local)
	if !tz {
		return ts, nil
	}
	switch {
	case r.loc != nil:
		ts = localToUTC(ts, r.loc)
	case r.hasTZ:
		ts -= Timestamp(int64(r.tzOff) * MicrosPerSecond)
	default:
		ts = localToUTC(ts, loc)
	}
	if !timestampInRange(int64(ts)) {
		return nil, errTimestampRange()
	}
	return ts, nil
}
