package format

import (
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// This file converts decoded values (text, JSON scalars, numbers, Go values
// of other codecs) into staging slots for a column type. Text goes through
// the input functions of sql/types, so a value means what the same literal
// means in SQL; the common spellings (plain integers, ISO timestamps) take
// a fast path that gives the same result without allocating.

// numUnit is how a number stored into a timestamp column is read.
type numUnit uint8

const (
	unitGuess  numUnit = iota // by magnitude: seconds, millis, micros or nanos
	unitMilli                 // epoch milliseconds
	unitMicro                 // epoch microseconds
	unitSecond                // epoch seconds
	unitNano                  // epoch nanoseconds
)

// conv converts values for one column.
type conv struct {
	name string
	t    types.T
	st   storage
	unit numUnit
	// plainText: text or unbounded varchar, which store a string as it is.
	plainText bool
	// fast is the JSON value this column reads straight off the input
	// (colOut.valueFast).
	fast fastKind
}

// fastKind names the column types whose commonest JSON spelling is read
// and stored in one step, without a jval in between: a plain integer into
// smallint, integer or bigint, a string without escapes into text, an ISO
// timestamp string into timestamp or timestamptz.
type fastKind uint8

const (
	fastNone fastKind = iota
	fastInt
	fastText
	fastTimestamp
)

func newConv(c Column, unit numUnit) conv {
	cv := conv{name: c.Name, t: c.Type, st: storageOf(c.Type), unit: unit,
		plainText: c.Type.Kind == types.Text || c.Type.Kind == types.Varchar && c.Type.Width == 0}
	switch {
	case c.Type.Kind == types.Int8 || c.Type.Kind == types.Int4 || c.Type.Kind == types.Int2:
		cv.fast = fastInt
	case cv.plainText:
		cv.fast = fastText
	case cv.st == stTimestamp:
		cv.fast = fastTimestamp
	}
	return cv
}

// scratch is a growing byte buffer that staging slots may point into. It is
// reset per message; a slot's view stays valid after the buffer grows
// because it keeps the old backing array alive.
type scratch struct{ buf []byte }

func (s *scratch) reset() { s.buf = s.buf[:0] }

// add appends p and returns the view of the appended bytes.
func (s *scratch) add(p []byte) []byte {
	n := len(s.buf)
	s.buf = append(s.buf, p...)
	return s.buf[n:len(s.buf):len(s.buf)]
}

func (s *scratch) addString(p string) []byte {
	n := len(s.buf)
	s.buf = append(s.buf, p...)
	return s.buf[n:len(s.buf):len(s.buf)]
}

func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (c *conv) errf(code, format string, args ...any) error {
	e := sqlerr.New(code, format, args...)
	e.Message = "column \"" + c.name + "\": " + e.Message
	return e
}

// wrapErr prefixes err's message with the column name, keeping its code.
func (c *conv) wrapErr(err error) error {
	if e, ok := err.(*sqlerr.Error); ok {
		cp := *e
		cp.Message = "column \"" + c.name + "\": " + e.Message
		return &cp
	}
	return c.errf(sqlerr.InvalidTextRepresentation, "%v", err)
}

// setText stores the SQL text form s (a CSV field, a JSON string, a Canal
// value) by the column type's input function.
func (c *conv) setText(sl *slot, s []byte, sc *scratch) error {
	switch c.st {
	case stInt16, stInt32, stInt64:
		if v, ok := parseIntFast(s); ok && c.intInRange(v) {
			sl.i, sl.state = v, slotSet
			return nil
		}
	case stFloat64, stFloat32:
		if plainNumber(s) {
			bits := 64
			if c.st == stFloat32 {
				bits = 32
			}
			if f, err := strconv.ParseFloat(bstr(s), bits); err == nil && !math.IsInf(f, 0) && !(f == 0 && hasNonZeroDigit(s)) {
				sl.f, sl.state = f, slotSet
				return nil
			}
		}
	case stString:
		switch c.t.Kind {
		case types.Text, types.Unknown, types.Name, types.Record:
			if c.t.Kind == types.Name && len(s) > 63 {
				break
			}
			sl.b, sl.state = s, slotSet
			return nil
		case types.Varchar, types.Char:
			if c.t.Width == 0 && c.t.Kind == types.Varchar {
				sl.b, sl.state = s, slotSet
				return nil
			}
		case types.Numeric:
			if out, ok := numericFast(sc, s, c.t); ok {
				sl.b, sl.state = out, slotSet
				return nil
			}
		}
	case stTimestamp:
		if v, ok := parseTimestampFast(s, c.t.Kind == types.TimestampTZ); ok {
			sl.i, sl.state = v, slotSet
			return nil
		}
	case stDate32:
		if d, ok := parseDateFast(s); ok {
			sl.i, sl.state = int64(d), slotSet
			return nil
		}
	}
	d, err := types.ParseText(bstr(s), c.t, time.UTC)
	if err != nil {
		return c.wrapErr(err)
	}
	return c.setDatum(sl, d, sc)
}

func (c *conv) intInRange(v int64) bool {
	switch {
	case c.t.Kind == types.Oid:
		return v >= 0 && v <= math.MaxUint32
	case c.st == stInt16:
		return v >= math.MinInt16 && v <= math.MaxInt16
	case c.st == stInt32:
		return v >= math.MinInt32 && v <= math.MaxInt32
	}
	return true
}

// setDatum stores a Datum of the column's own type.
func (c *conv) setDatum(sl *slot, d types.Datum, sc *scratch) error {
	if d == nil {
		sl.state = slotNull
		return nil
	}
	sl.state = slotSet
	switch v := d.(type) {
	case bool:
		sl.i = 0
		if v {
			sl.i = 1
		}
	case int64:
		sl.i = v
	case float64:
		sl.f = v
	case *apd.Decimal:
		sl.b = sc.add(types.AppendText(sc.buf[len(sc.buf):], v, types.TNumeric, nil))
	case string:
		sl.b = sc.addString(v)
	case []byte:
		sl.b = v
	case types.Date:
		sl.i = int64(v)
	case types.TimeOfDay:
		sl.i = int64(v)
	case types.Timestamp:
		sl.i = int64(v)
	case types.IntervalValue:
		sl.iv = arrow.MonthDayNanoInterval{Months: v.Months, Days: v.Days, Nanoseconds: v.Micros * 1000}
	default:
		return c.errf(sqlerr.InternalError, "unexpected value %T for type %s", d, c.t)
	}
	return nil
}

// setInt stores an integer decoded by a binary codec (Avro, Debezium's
// typed fields) into any numeric, boolean or text column.
func (c *conv) setInt(sl *slot, v int64, sc *scratch) error {
	switch c.st {
	case stInt16, stInt32, stInt64:
		if !c.intInRange(v) {
			return c.errf(sqlerr.NumericValueOutOfRange, "value %d is out of range for type %s", v, c.t)
		}
		sl.i, sl.state = v, slotSet
		return nil
	case stFloat32, stFloat64:
		sl.f, sl.state = float64(v), slotSet
		return nil
	case stTimestamp:
		ts, err := c.epochToTimestamp(v, c.unit)
		if err != nil {
			return err
		}
		sl.i, sl.state = ts, slotSet
		return nil
	}
	if c.t.Kind == types.Numeric || c.t.Kind == types.JSONB || c.t.IsString() {
		var tmp [24]byte
		return c.setText(sl, strconv.AppendInt(tmp[:0], v, 10), sc)
	}
	return c.errf(sqlerr.DatatypeMismatch, "cannot store an integer in a column of type %s", c.t)
}

// Bounds of timestamps in Unix microseconds (4714-11-24 BC to the end of
// int64 microseconds), as sql/types enforces them.
const (
	minTimestampMicros = int64(-210866803200) * 1_000_000
)

// epochToTimestamp reads n in unit as a point in time.
func (c *conv) epochToTimestamp(n int64, unit numUnit) (int64, error) {
	if unit == unitGuess {
		a := n
		if a < 0 {
			a = -a
		}
		switch {
		case a < 100_000_000_000: // before 5138-11-16 in seconds
			unit = unitSecond
		case a < 100_000_000_000_000:
			unit = unitMilli
		case a < 100_000_000_000_000_000:
			unit = unitMicro
		default:
			unit = unitNano
		}
	}
	var us int64
	switch unit {
	case unitSecond:
		if n > math.MaxInt64/1_000_000 || n < minTimestampMicros/1_000_000 {
			return 0, c.errf(sqlerr.DatetimeFieldOverflow, "timestamp out of range: %d seconds", n)
		}
		us = n * 1_000_000
	case unitMilli:
		if n > math.MaxInt64/1000 || n < minTimestampMicros/1000 {
			return 0, c.errf(sqlerr.DatetimeFieldOverflow, "timestamp out of range: %d milliseconds", n)
		}
		us = n * 1000
	case unitMicro:
		us = n
	case unitNano:
		us = n / 1000
		if n%1000 < 0 {
			us--
		}
	}
	if us < minTimestampMicros {
		return 0, c.errf(sqlerr.DatetimeFieldOverflow, "timestamp out of range")
	}
	return us, nil
}

// parseIntFast parses an optionally signed run of decimal digits.
func parseIntFast(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	neg := false
	i := 0
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i = 1
		if len(s) == 1 {
			return 0, false
		}
	}
	var v int64
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + int64(d) // at most 19 characters: 18 digits never overflow
	}
	if len(s) == 19 && s[0] != '-' && s[0] != '+' {
		return 0, false // 19 digits may overflow: leave it to the slow path
	}
	if neg {
		v = -v
	}
	return v, true
}

// plainNumber reports whether s is a JSON-style number (no spaces, no words).
func plainNumber(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

func hasNonZeroDigit(s []byte) bool {
	for _, c := range s {
		if c == 'e' || c == 'E' {
			return false
		}
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

func digits2(s []byte) (int, bool) {
	a, b := s[0]-'0', s[1]-'0'
	if a > 9 || b > 9 {
		return 0, false
	}
	return int(a)*10 + int(b), true
}

func daysInMonth(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDateFast parses exactly YYYY-MM-DD.
func parseDateFast(s []byte) (types.Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y1, ok1 := digits2(s[0:2])
	y2, ok2 := digits2(s[2:4])
	m, ok3 := digits2(s[5:7])
	d, ok4 := digits2(s[8:10])
	if !(ok1 && ok2 && ok3 && ok4) {
		return 0, false
	}
	y := y1*100 + y2
	if y == 0 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m) {
		return 0, false
	}
	return types.DateFromYMD(y, m, d), true
}

// parseTimestampFast parses YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|±HH[:MM]], the
// spelling of RFC 3339 and of PostgreSQL's output. Anything else (other
// spellings, leap seconds, 24:00:00, more than 6 fraction digits) goes to
// the full input function. For timestamp without time zone an offset is
// ignored, as PostgreSQL does; for timestamptz a missing zone means UTC.
func parseTimestampFast(s []byte, tz bool) (int64, bool) {
	if len(s) < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	day, ok := parseDateFast(s[:10])
	if !ok {
		return 0, false
	}
	h, ok1 := digits2(s[11:13])
	mi, ok2 := digits2(s[14:16])
	se, ok3 := digits2(s[17:19])
	if !(ok1 && ok2 && ok3) || h > 23 || mi > 59 || se > 59 {
		return 0, false
	}
	us := int64(h)*types.MicrosPerHour + int64(mi)*types.MicrosPerMinute + int64(se)*types.MicrosPerSecond
	i := 19
	if i < len(s) && s[i] == '.' {
		i++
		scale := int64(100000)
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if n == 6 {
				return 0, false
			}
			us += int64(s[i]-'0') * scale
			scale /= 10
			n++
			i++
		}
		if n == 0 {
			return 0, false
		}
	}
	off := 0
	if i < len(s) {
		if off, i, ok = zoneOffset(s, i); !ok {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	ts := int64(day)*types.MicrosPerDay + us
	if tz {
		ts -= int64(off) * types.MicrosPerSecond
	}
	return ts, true
}

// zoneOffset reads the ISO 8601 zone designator at s[i:]: Z, or ±hh,
// ±hhmm or ±hh:mm with hours up to 15. It returns the offset in seconds
// east of UTC and the index after the designator.
func zoneOffset(s []byte, i int) (off, next int, ok bool) {
	if i >= len(s) {
		return 0, i, false
	}
	switch s[i] {
	case 'Z', 'z':
		return 0, i + 1, true
	case '+', '-':
	default:
		return 0, i, false
	}
	sign := 1
	if s[i] == '-' {
		sign = -1
	}
	i++
	if i+2 > len(s) {
		return 0, i, false
	}
	oh, ok := digits2(s[i : i+2])
	if !ok || oh > 15 {
		return 0, i, false
	}
	i += 2
	om := 0
	if i < len(s) && s[i] == ':' {
		if i+3 > len(s) {
			return 0, i, false
		}
		i++
	}
	if i+2 <= len(s) {
		if om, ok = digits2(s[i : i+2]); !ok || om > 59 {
			return 0, i, false
		}
		i += 2
	}
	return sign * (oh*3600 + om*60), i, true
}

// numericFast stores a plain decimal -?(0|[1-9][0-9]*)(.[0-9]+)? as numeric
// text without going through apd: numeric_out prints such input as it is
// (with its scale), a numeric(p,s) column pads the fraction to s digits.
// Input that needs rounding, an exponent, leading zeros or a negative zero
// goes to the input function.
func numericFast(sc *scratch, s []byte, t types.T) ([]byte, bool) {
	i := 0
	if len(s) > 0 && s[0] == '-' {
		i = 1
	}
	if i >= len(s) || s[i] < '0' || s[i] > '9' || s[i] == '0' && i+1 < len(s) && s[i+1] != '.' {
		return nil, false
	}
	intStart := i
	nonZero := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		nonZero = nonZero || s[i] != '0'
		i++
	}
	intDigits := i - intStart
	if intDigits == 1 && s[intStart] == '0' {
		intDigits = 0
	}
	frac := 0
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			nonZero = nonZero || s[i] != '0'
			i++
		}
		frac = i - j
		if frac == 0 {
			return nil, false
		}
	}
	if i != len(s) || (s[0] == '-' && !nonZero) || len(s) > 100 {
		return nil, false
	}
	if t.Precision == 0 {
		return s, true
	}
	scale := int(t.Scale)
	if frac > scale || intDigits > int(t.Precision)-scale {
		return nil, false
	}
	out := sc.add(s)
	if frac < scale {
		if frac == 0 {
			sc.buf = append(sc.buf, '.')
		}
		for k := frac; k < scale; k++ {
			sc.buf = append(sc.buf, '0')
		}
		out = sc.buf[len(sc.buf)-len(s)-(scale-frac)-boolInt(frac == 0) : len(sc.buf) : len(sc.buf)]
	}
	return out, true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
