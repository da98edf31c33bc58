package datagen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"

	"streamsql/connector"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Option names. The names follow RisingWave's datagen connector, so a
// CREATE SOURCE written for it works here unchanged.
const (
	optConnector = "connector"
	optRate      = "datagen.rows.per.second"
	optLimit     = "datagen.rows.limit"
	optSplitNum  = "datagen.split.num"
	fieldsPrefix = "fields."
)

// genKind is how a column's values are made.
type genKind uint8

const (
	kindRandom genKind = iota
	kindSequence
)

func (k genKind) String() string {
	if k == kindSequence {
		return "sequence"
	}
	return "random"
}

// class groups the column types that share a generator and its options.
type class uint8

const (
	classInt      class = iota // int2, int4, int8: values are the integers
	classFloat                 // float4, float8
	classNumeric               // numeric: integers scaled by 10^scale
	classString                // varchar, text: random alphanumeric
	classBool                  // boolean
	classDate                  // date: days since 1970-01-01
	classTime                  // timestamp, timestamptz: microseconds
	classInterval              // interval: microseconds
)

// field is the validated generator of one column. Integer-like classes
// (int, numeric, date, timestamp, interval) keep their domain as int64 in
// the column's unit (value, scaled value, day, microsecond).
type field struct {
	name  string
	t     types.T
	cls   class
	kind  genKind
	seed  uint64
	scale int32 // numeric: digits after the point

	// Sequences: value of row i is start + i*step, up to end.
	start, step, end int64
	hasStart, hasEnd bool
	fstart, fstep    float64
	fend             float64
	// Random integer-like values are uniform in [min, max].
	min, max   int64
	fmin, fmax float64
	// maxPast (classTime: microseconds, classDate: days): random values
	// lie in [base-maxPast, base], base being start or the job's base time.
	maxPast int64
	length  int // classString

	// desc is the column's part of EXPLAIN.
	desc string
}

// params lists the options each class accepts per kind (kind and seed are
// accepted everywhere).
var params = map[class]map[genKind][]string{
	classInt:      {kindRandom: {"min", "max"}, kindSequence: {"start", "end", "step"}},
	classFloat:    {kindRandom: {"min", "max"}, kindSequence: {"start", "end", "step"}},
	classNumeric:  {kindRandom: {"min", "max"}, kindSequence: {"start", "end", "step"}},
	classString:   {kindRandom: {"length"}},
	classBool:     {kindRandom: {}},
	classDate:     {kindRandom: {"max_past", "start", "basetime"}, kindSequence: {"start", "end", "step"}},
	classTime:     {kindRandom: {"max_past", "max_past_mode", "start", "basetime"}, kindSequence: {"start", "end", "step"}},
	classInterval: {kindRandom: {"min", "max"}, kindSequence: {"start", "end", "step"}},
}

// Defaults shared with RisingWave: random numbers in [0, 32767], strings of
// 10 characters, timestamps up to one day in the past.
const (
	defaultMax        = 32767
	defaultLength     = 10
	defaultMaxPastTS  = types.MicrosPerDay
	defaultMaxPastDay = 30
	defaultNumScale   = 2
	maxLength         = 1 << 20
)

// New validates the WITH options of a datagen source with columns cols of
// types ts and returns its Spec.
func New(cols []string, ts []types.T, options map[string]string) (*Spec, error) {
	if len(cols) != len(ts) {
		return nil, fmt.Errorf("datagen: %d column names for %d types", len(cols), len(ts))
	}
	s := &Spec{cols: cols, ts: ts, limit: -1, fields: make([]field, len(cols))}
	perCol := make([]map[string]string, len(cols))
	for i := range perCol {
		perCol[i] = map[string]string{}
	}
	for _, key := range connector.SortedKeys(options) {
		val := options[key]
		lk := strings.ToLower(key)
		switch lk {
		case optConnector:
			if !strings.EqualFold(strings.TrimSpace(val), "datagen") {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "datagen: connector is %q, not \"datagen\"", val)
			}
			continue
		case optRate:
			n, err := parseCount(key, val)
			if err != nil {
				return nil, err
			}
			s.rate = n
			continue
		case optLimit:
			n, err := parseCount(key, val)
			if err != nil {
				return nil, err
			}
			s.limit = n
			continue
		case optSplitNum:
			// Accepted for compatibility: one generator serves the source.
			if n, err := parseCount(key, val); err != nil {
				return nil, err
			} else if n < 1 {
				return nil, badValue(key, val, "must be at least 1")
			}
			continue
		}
		if !strings.HasPrefix(lk, fieldsPrefix) {
			return nil, unknownOption(key)
		}
		rest := key[len(fieldsPrefix):]
		dot := strings.LastIndexByte(rest, '.')
		if dot <= 0 || dot == len(rest)-1 {
			return nil, unknownOption(key)
		}
		col, param := rest[:dot], strings.ToLower(rest[dot+1:])
		idx := connector.ColumnIndex(cols, col)
		if idx < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q named by datagen option %q does not exist", col, key)
		}
		perCol[idx][param] = val
	}
	for i := range cols {
		f, err := newField(i, cols[i], ts[i], perCol[i])
		if err != nil {
			return nil, err
		}
		s.fields[i] = f
	}
	return s, nil
}

func unknownOption(key string) error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized datagen option %q", key).
		WithHint("Valid options are %s, %s, %s and fields.<column>.<kind|seed|min|max|start|end|step|length|max_past|max_past_mode>.", optRate, optLimit, optSplitNum)
}

func badValue(key, val, why string) *sqlerr.Error {
	return connector.BadValue("datagen", key, val, why)
}

// parseCount parses a non-negative integer option.
func parseCount(key, val string) (int64, error) {
	return connector.ParseInt("datagen", key, val, 0, math.MaxInt64)
}

func classOf(t types.T) (class, bool) {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8:
		return classInt, true
	case types.Float4, types.Float8:
		return classFloat, true
	case types.Numeric:
		return classNumeric, true
	case types.Varchar, types.Text:
		return classString, true
	case types.Bool:
		return classBool, true
	case types.DateKind:
		return classDate, true
	case types.TimestampKind, types.TimestampTZ:
		return classTime, true
	case types.Interval:
		return classInterval, true
	}
	return 0, false
}

// fieldParser parses the options of one column.
type fieldParser struct {
	f    *field
	opts map[string]string
}

func (p *fieldParser) key(param string) string { return fieldsPrefix + p.f.name + "." + param }

// value parses option param as a value of the column's type.
func (p *fieldParser) value(param string) (types.Datum, bool, error) {
	s, ok := p.opts[param]
	if !ok {
		return nil, false, nil
	}
	d, err := types.ParseText(s, p.f.t, time.UTC)
	if err != nil {
		return nil, false, badValue(p.key(param), s, err.Error())
	}
	return d, true, nil
}

// interval parses option param as an interval, in microseconds (a month
// counts 30 days, a day 24 hours).
func (p *fieldParser) interval(param string) (int64, bool, error) {
	s, ok := p.opts[param]
	if !ok {
		return 0, false, nil
	}
	d, err := types.ParseText(s, types.TInterval, time.UTC)
	if err != nil {
		return 0, false, badValue(p.key(param), s, err.Error())
	}
	us, ok := intervalMicros(d.(types.IntervalValue))
	if !ok {
		return 0, false, badValue(p.key(param), s, "interval out of range")
	}
	return us, true, nil
}

func intervalMicros(iv types.IntervalValue) (int64, bool) {
	days := int64(iv.Months)*30 + int64(iv.Days)
	if days > math.MaxInt64/types.MicrosPerDay || days < math.MinInt64/types.MicrosPerDay {
		return 0, false
	}
	us := days * types.MicrosPerDay
	r := us + iv.Micros
	if (iv.Micros > 0 && r < us) || (iv.Micros < 0 && r > us) {
		return 0, false
	}
	return r, true
}

// scaled converts a numeric option to an int64 count of 10^-scale units.
func (p *fieldParser) scaled(param string, d *apd.Decimal) (int64, error) {
	if d.Form != apd.Finite {
		return 0, badValue(p.key(param), p.opts[param], "must be a finite number")
	}
	var q apd.Decimal
	if _, err := types.DecimalCtx.Quantize(&q, d, -p.f.scale); err != nil {
		return 0, badValue(p.key(param), p.opts[param], "out of range")
	}
	v, err := q.Coeff.Int64(), error(nil)
	if !q.Coeff.IsInt64() {
		err = badValue(p.key(param), p.opts[param], "out of range for the generator (at most 18 digits)")
	}
	if q.Negative {
		v = -v
	}
	return v, err
}

// decimalScale is the number of digits after the point of a numeric option.
func decimalScale(s string) int32 {
	d, err := types.ParseDecimal(s)
	if err != nil || d.Exponent >= 0 {
		return 0
	}
	return -d.Exponent
}

func newField(idx int, name string, t types.T, opts map[string]string) (field, error) {
	f := field{name: name, t: t}
	cls, ok := classOf(t)
	if !ok {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "datagen cannot generate column %q of type %s", name, t)
	}
	f.cls = cls
	p := &fieldParser{f: &f, opts: opts}

	if k, ok := opts["kind"]; ok {
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "random":
			f.kind = kindRandom
		case "sequence":
			f.kind = kindSequence
		default:
			return f, badValue(p.key("kind"), k, "must be 'random' or 'sequence'")
		}
	}
	allowed := params[cls]
	valid, ok := allowed[f.kind]
	if !ok {
		return f, badValue(p.key("kind"), opts["kind"], fmt.Sprintf("a %s column supports only kind 'random'", t))
	}
	for param := range opts {
		if param == "kind" || param == "seed" || contains(valid, param) {
			continue
		}
		other := kindSequence
		if f.kind == kindSequence {
			other = kindRandom
		}
		if contains(allowed[other], param) {
			return f, sqlerr.New(sqlerr.InvalidParameterValue, "datagen option %q applies only to kind '%s'", p.key(param), other)
		}
		return f, unknownOption(p.key(param))
	}
	if s, ok := opts["seed"]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return f, badValue(p.key("seed"), s, "must be an integer")
		}
		f.seed = uint64(n)
	}
	f.seed = columnKey(f.seed, idx)

	var err error
	switch cls {
	case classInt:
		err = p.intField()
	case classFloat:
		err = p.floatField()
	case classNumeric:
		err = p.numericField()
	case classString:
		err = p.stringField()
	case classBool:
		f.desc = "random"
	case classDate, classTime:
		err = p.timeField()
	case classInterval:
		err = p.intervalField()
	}
	return f, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *fieldParser) intField() error {
	f := p.f
	get := func(param string, def int64) (int64, bool, error) {
		d, ok, err := p.value(param)
		if err != nil || !ok {
			return def, false, err
		}
		return d.(int64), true, nil
	}
	lo, hi := types.IntRange(f.t.Kind)
	return p.intParams(get, lo, hi, min(defaultMax, hi), 1, func(v int64) string { return fmt.Sprint(v) })
}

// intParams reads the parameters of a field whose values are integers
// (integers, and numerics as integers of their scale): min and max of a
// random field, else start, step and end of a sequence, whose end
// defaults to the end of the range [lo, hi] it runs towards. defMax and
// defStep are the defaults of max and step; get reads a parameter (with
// its default), txt prints a value for messages and descriptions.
func (p *fieldParser) intParams(get func(param string, def int64) (int64, bool, error), lo, hi, defMax, defStep int64, txt func(int64) string) error {
	f := p.f
	if err := rangeParams(f, get, fieldRange[int64]{&f.min, &f.max, &f.start, &f.step, &f.end}, defMax, defStep); err != nil {
		return err
	}
	if f.kind == kindRandom {
		return p.checkMinMax(txt(f.min), txt(f.max))
	}
	if !f.hasEnd {
		// A sequence without end runs to the end of the type's range.
		f.end = hi
		if f.step < 0 {
			f.end = lo
		}
	}
	return p.checkSequence(txt(f.start), txt(f.end), txt(f.step))
}

// fieldRange points at a field's values of one type: its min and max if
// it is random, its start, step and end if it is a sequence.
type fieldRange[T int64 | float64] struct{ min, max, start, step, end *T }

// rangeParams reads the parameters of f into r: min and max of a random
// field, else start, step and end of a sequence. defMax and defStep are
// the defaults of max and step; get reads a parameter (with its default).
func rangeParams[T int64 | float64](f *field, get func(param string, def T) (T, bool, error), r fieldRange[T], defMax, defStep T) error {
	var err error
	if f.kind == kindRandom {
		if *r.min, _, err = get("min", 0); err != nil {
			return err
		}
		*r.max, _, err = get("max", defMax)
		return err
	}
	if *r.start, f.hasStart, err = get("start", 0); err != nil {
		return err
	}
	if *r.step, _, err = get("step", defStep); err != nil {
		return err
	}
	*r.end, f.hasEnd, err = get("end", 0)
	return err
}

func (p *fieldParser) checkMinMax(lo, hi string) error {
	f := p.f
	bad := f.min > f.max
	if f.cls == classFloat {
		bad = f.fmin > f.fmax
	}
	if bad {
		return sqlerr.New(sqlerr.InvalidParameterValue, "datagen column %q: min %s is greater than max %s", f.name, lo, hi)
	}
	f.desc = fmt.Sprintf("random(min=%s, max=%s)", lo, hi)
	return nil
}

func (p *fieldParser) checkSequence(start, end, step string) error {
	f := p.f
	zero, backwards := f.step == 0, (f.step > 0 && f.end < f.start) || (f.step < 0 && f.end > f.start)
	if f.cls == classFloat {
		zero = f.fstep == 0 || math.IsNaN(f.fstep) || math.IsInf(f.fstep, 0)
		backwards = f.hasEnd && ((f.fstep > 0 && f.fend < f.fstart) || (f.fstep < 0 && f.fend > f.fstart))
	}
	if zero {
		return badValue(p.key("step"), p.opts["step"], "must not be zero")
	}
	if backwards && (f.hasEnd || f.hasStart) {
		return sqlerr.New(sqlerr.InvalidParameterValue, "datagen column %q: sequence from %s by %s never reaches end %s", f.name, start, step, end)
	}
	if f.hasEnd {
		f.desc = fmt.Sprintf("sequence(start=%s, end=%s, step=%s)", start, end, step)
	} else {
		f.desc = fmt.Sprintf("sequence(start=%s, step=%s)", start, step)
	}
	return nil
}

func (p *fieldParser) floatField() error {
	f := p.f
	get := func(param string, def float64) (float64, bool, error) {
		d, ok, err := p.value(param)
		if err != nil || !ok {
			return def, false, err
		}
		v := d.(float64)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false, badValue(p.key(param), p.opts[param], "must be finite")
		}
		return v, true, nil
	}
	fs := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if err := rangeParams(f, get, fieldRange[float64]{&f.fmin, &f.fmax, &f.fstart, &f.fstep, &f.fend}, defaultMax, 1); err != nil {
		return err
	}
	if f.kind == kindRandom {
		return p.checkMinMax(fs(f.fmin), fs(f.fmax))
	}
	return p.checkSequence(fs(f.fstart), fs(f.fend), fs(f.fstep))
}

func (p *fieldParser) numericField() error {
	f := p.f
	names := []string{"min", "max"}
	if f.kind == kindSequence {
		names = []string{"start", "end", "step"}
	}
	// The scale of the values: the column's, or else enough for the options
	// given (and two digits for random values).
	if f.t.Precision > 0 {
		f.scale = f.t.Scale
	} else {
		if f.kind == kindRandom {
			f.scale = defaultNumScale
		}
		for _, n := range names {
			if s, ok := p.opts[n]; ok {
				f.scale = max(f.scale, decimalScale(s))
			}
		}
		if f.scale > 18 {
			f.scale = 18
		}
	}
	// Values must fit the column's precision, and int64.
	lo, hi := int64(math.MinInt64+1), int64(math.MaxInt64)
	if f.t.Precision > 0 && f.t.Precision <= 18 {
		hi = pow10(f.t.Precision) - 1
		lo = -hi
	}
	get := func(param string, def int64) (int64, bool, error) {
		d, ok, err := p.value(param)
		if err != nil || !ok {
			return def, false, err
		}
		v, err := p.scaled(param, d.(*apd.Decimal))
		return v, true, err
	}
	txt := func(v int64) string { return string(appendScaled(nil, v, f.scale)) }
	defMax := defaultMax * pow10(f.scale)
	if defMax > hi || f.scale > 13 {
		defMax = hi
	}
	return p.intParams(get, lo, hi, defMax, pow10(f.scale), txt)
}

func pow10(n int32) int64 {
	r := int64(1)
	for ; n > 0; n-- {
		r *= 10
	}
	return r
}

func (p *fieldParser) stringField() error {
	f := p.f
	f.length = defaultLength
	if f.t.Width > 0 && int(f.t.Width) < f.length {
		f.length = int(f.t.Width)
	}
	if s, ok := p.opts["length"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > maxLength {
			return badValue(p.key("length"), s, fmt.Sprintf("must be an integer from 0 to %d", maxLength))
		}
		if f.t.Width > 0 && n > int(f.t.Width) {
			return badValue(p.key("length"), s, fmt.Sprintf("longer than the column's type %s", f.t))
		}
		f.length = n
	}
	f.desc = fmt.Sprintf("random(length=%d)", f.length)
	return nil
}

// Bounds of the integer-like time domains.
const (
	minDateDays = -2440588              // 4714-11-24 BC
	maxDateDays = 2147483493 - 2440588  // 5874897-12-31
	minTSMicros = -210866803200_000_000 // 4714-11-24 00:00:00 BC
	maxTSMicros = math.MaxInt64 - 1
)

// timeField handles date, timestamp and timestamptz columns. Their start may
// be left to the base time of the job, so checks that need it run at Open.
func (p *fieldParser) timeField() error {
	f := p.f
	date := f.cls == classDate
	toUnit := func(param string, us int64) (int64, error) {
		if !date {
			return us, nil
		}
		if us%types.MicrosPerDay != 0 {
			return 0, badValue(p.key(param), p.opts[param], "must be a whole number of days for a date column")
		}
		return us / types.MicrosPerDay, nil
	}
	startParam := "start"
	if _, ok := p.opts["basetime"]; ok {
		if _, both := p.opts["start"]; both {
			return sqlerr.New(sqlerr.InvalidParameterValue, "datagen column %q: give start or basetime, not both", f.name)
		}
		startParam = "basetime"
	}
	get := func(param string) (int64, bool, error) {
		d, ok, err := p.value(param)
		if err != nil || !ok {
			return 0, false, err
		}
		switch v := d.(type) {
		case types.Date:
			if !v.IsFinite() {
				return 0, false, badValue(p.key(param), p.opts[param], "must be finite")
			}
			return int64(v), true, nil
		case types.Timestamp:
			if !v.IsFinite() {
				return 0, false, badValue(p.key(param), p.opts[param], "must be finite")
			}
			return int64(v), true, nil
		}
		return 0, false, fmt.Errorf("datagen: unexpected %T for %s", d, f.t)
	}
	var err error
	if f.start, f.hasStart, err = get(startParam); err != nil {
		return err
	}
	startText := "now"
	if f.hasStart {
		startText = p.opts[startParam]
	}
	if f.kind == kindRandom {
		if mode, ok := p.opts["max_past_mode"]; ok && !strings.EqualFold(strings.TrimSpace(mode), "absolute") {
			if strings.EqualFold(strings.TrimSpace(mode), "relative") {
				return sqlerr.New(sqlerr.FeatureNotSupported, "datagen option %q = 'relative' is not supported: generated rows must not depend on when they are generated, so that a restart replays them", p.key("max_past_mode"))
			}
			return badValue(p.key("max_past_mode"), mode, "must be 'absolute'")
		}
		past, ok, err := p.interval("max_past")
		if err != nil {
			return err
		}
		if !ok {
			past = defaultMaxPastTS
			if date {
				past = defaultMaxPastDay * types.MicrosPerDay
			}
		}
		if past < 0 {
			return badValue(p.key("max_past"), p.opts["max_past"], "must not be negative")
		}
		if f.maxPast, err = toUnit("max_past", past); err != nil {
			return err
		}
		f.desc = fmt.Sprintf("random(start=%s, max_past=%s)", startText, types.FormatText(types.IntervalValue{Micros: past}, types.TInterval, time.UTC))
		return nil
	}
	stepUS, ok, err := p.interval("step")
	if err != nil {
		return err
	}
	if !ok {
		stepUS = types.MicrosPerSecond
		if date {
			stepUS = types.MicrosPerDay
		}
	}
	if f.step, err = toUnit("step", stepUS); err != nil {
		return err
	}
	if f.step == 0 {
		return badValue(p.key("step"), p.opts["step"], "must not be zero")
	}
	if f.end, f.hasEnd, err = get("end"); err != nil {
		return err
	}
	endText := ""
	if f.hasEnd {
		endText = ", end=" + p.opts["end"]
		if f.hasStart && ((f.step > 0 && f.end < f.start) || (f.step < 0 && f.end > f.start)) {
			return sqlerr.New(sqlerr.InvalidParameterValue, "datagen column %q: sequence from %s never reaches end %s", f.name, startText, p.opts["end"])
		}
	} else if date {
		f.end = maxDateDays
		if f.step < 0 {
			f.end = minDateDays
		}
	} else {
		f.end = maxTSMicros
		if f.step < 0 {
			f.end = minTSMicros
		}
	}
	f.desc = fmt.Sprintf("sequence(start=%s%s, step=%s)", startText, endText, types.FormatText(types.IntervalValue{Micros: stepUS}, types.TInterval, time.UTC))
	return nil
}

// intervalField handles interval columns, generated as microseconds and
// shown as days plus time.
func (p *fieldParser) intervalField() error {
	f := p.f
	ivText := func(us int64) string { return types.FormatText(microsInterval(us), types.TInterval, time.UTC) }
	var err error
	var ok bool
	if f.kind == kindRandom {
		if f.min, _, err = p.interval("min"); err != nil {
			return err
		}
		if f.max, ok, err = p.interval("max"); err != nil {
			return err
		} else if !ok {
			f.max = types.MicrosPerHour
		}
		return p.checkMinMax(ivText(f.min), ivText(f.max))
	}
	if f.start, f.hasStart, err = p.interval("start"); err != nil {
		return err
	}
	if f.step, ok, err = p.interval("step"); err != nil {
		return err
	} else if !ok {
		f.step = types.MicrosPerSecond
	}
	if f.end, f.hasEnd, err = p.interval("end"); err != nil {
		return err
	}
	if !f.hasEnd {
		f.end = math.MaxInt64
		if f.step < 0 {
			f.end = math.MinInt64
		}
	}
	return p.checkSequence(ivText(f.start), ivText(f.end), ivText(f.step))
}

// microsInterval splits microseconds into days and time, as justify_hours.
func microsInterval(us int64) types.IntervalValue {
	return types.IntervalValue{Days: int32(us / types.MicrosPerDay), Micros: us % types.MicrosPerDay}
}
