package types

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
)

// CastContext says in which contexts PostgreSQL applies a cast without
// being asked (pg_cast.castcontext), from weakest to strongest.
type CastContext uint8

const (
	CastNone       CastContext = iota // no cast exists
	CastExplicit                      // only with CAST or ::
	CastAssignment                    // also when storing into a column
	CastImplicit                      // also in expressions
)

// CastKind returns the context in which from converts to to, per
// PostgreSQL's pg_cast table plus its automatic I/O conversion casts
// (to a string type: assignment; from a string type: explicit).
func CastKind(from, to T) CastContext {
	if from.Kind == Unknown {
		return CastImplicit
	}
	if from.Kind == to.Kind {
		if from.Kind == Oid && from.OIDOverride != to.OIDOverride {
			return CastImplicit
		}
		return CastImplicit // same type, typmod coercion only
	}
	f, t := from.Kind, to.Kind
	if (f == Text || f == Varchar) && t == Oid && to.OIDOverride == OIDRegclass {
		return CastImplicit // 'name'::regclass
	}
	if c, ok := pgCasts[[2]Kind{f, t}]; ok {
		return c
	}
	// Automatic I/O conversion casts.
	if to.IsString() {
		return CastAssignment
	}
	if from.IsString() && to.Kind != Record && to.Kind != Array {
		return CastExplicit
	}
	return CastNone
}

// pgCastRows are PostgreSQL's built-in casts (pg_cast) between distinct
// kinds that StreamSQL has: from a kind, in a context, to each of the
// kinds listed.
var pgCastRows = []struct {
	from Kind
	ctx  CastContext
	to   []Kind
}{
	{Int2, CastImplicit, []Kind{Int4, Int8, Float4, Float8, Numeric, Oid}},
	{Int4, CastImplicit, []Kind{Int8, Float4, Float8, Numeric, Oid}},
	{Int4, CastAssignment, []Kind{Int2}},
	{Int4, CastExplicit, []Kind{Bool}},
	{Int8, CastImplicit, []Kind{Float4, Float8, Numeric, Oid}},
	{Int8, CastAssignment, []Kind{Int2, Int4}},
	{Float4, CastImplicit, []Kind{Float8}},
	{Float4, CastAssignment, []Kind{Int2, Int4, Int8, Numeric}},
	{Float8, CastAssignment, []Kind{Float4, Int2, Int4, Int8, Numeric}},
	{Numeric, CastImplicit, []Kind{Float4, Float8}},
	{Numeric, CastAssignment, []Kind{Int2, Int4, Int8}},
	{Bool, CastExplicit, []Kind{Int4}},
	{Oid, CastAssignment, []Kind{Int4, Int8}},
	{Text, CastImplicit, []Kind{Varchar, Char, Name}},
	{Varchar, CastImplicit, []Kind{Text, Char, Name}},
	{Char, CastImplicit, []Kind{Text, Varchar, Name}},
	{Name, CastImplicit, []Kind{Text}},
	{Name, CastAssignment, []Kind{Varchar, Char}},
	{DateKind, CastImplicit, []Kind{TimestampKind, TimestampTZ}},
	{TimestampKind, CastImplicit, []Kind{TimestampTZ}},
	{TimestampKind, CastAssignment, []Kind{DateKind, Time}},
	{TimestampTZ, CastAssignment, []Kind{TimestampKind, DateKind, Time}},
	{Time, CastImplicit, []Kind{Interval}},
	{Interval, CastAssignment, []Kind{Time}},
	{JSONB, CastExplicit, []Kind{Bool, Numeric, Int2, Int4, Int8, Float4, Float8}},
}

// pgCasts is pgCastRows by (from, to), built once.
var pgCasts = func() map[[2]Kind]CastContext {
	m := map[[2]Kind]CastContext{}
	for _, r := range pgCastRows {
		for _, to := range r.to {
			m[[2]Kind{r.from, to}] = r.ctx
		}
	}
	return m
}()

func errCannotCast(from, to T) error {
	return sqlerr.New(sqlerr.CannotCoerce, "cannot cast type %s to %s", from, to)
}

// ErrIntRange is the error of a value out of the range of integer kind k
// (22003).
func ErrIntRange(k Kind) error {
	switch k {
	case Int2:
		return sqlerr.New(sqlerr.NumericValueOutOfRange, "smallint out of range")
	case Int4:
		return sqlerr.New(sqlerr.NumericValueOutOfRange, "integer out of range")
	}
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "bigint out of range")
}

// Cast converts d (non-nil, of type from) to type to with PostgreSQL's
// explicit-cast semantics (CAST(x AS t) / x::t). loc is the session time
// zone for conversions involving timestamptz. A nil d casts to nil.
func Cast(d Datum, from, to T, loc *time.Location) (Datum, error) {
	if d == nil {
		return nil, nil
	}
	if from.Kind == Unknown {
		s, ok := d.(string)
		if !ok {
			return nil, errCannotCast(from, to)
		}
		return castFromString(s, to, loc)
	}
	switch to.Kind {
	case Text, Varchar, Char, Name, Unknown:
		return castToString(d, from, to, loc)
	}
	if from.IsString() {
		s := d.(string)
		if from.Kind == Char {
			s = strings.TrimRight(s, " ")
		}
		if to.Kind == Record || to.Kind == Array {
			return nil, errCannotCast(from, to)
		}
		return castFromString(s, to, loc)
	}
	switch to.Kind {
	case Int2, Int4, Int8:
		return castToInt(d, from, to)
	case Float4, Float8:
		return castToFloat(d, from, to)
	case Numeric:
		return castToNumeric(d, from, to)
	case Bool:
		switch from.Kind {
		case Bool:
			return d, nil
		case Int4:
			return d.(int64) != 0, nil
		case JSONB:
			return castFromJSONB(d.(string), to)
		}
	case Oid:
		switch from.Kind {
		case Oid:
			return d, nil
		case Int2, Int4:
			return int64(uint32(int32(d.(int64)))), nil
		case Int8:
			v := d.(int64)
			if v < 0 || v > math.MaxUint32 {
				return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "OID out of range")
			}
			return int64(uint32(v)), nil
		}
	case DateKind:
		switch from.Kind {
		case DateKind:
			return d, nil
		case TimestampKind, TimestampTZ:
			ts := d.(Timestamp)
			switch ts {
			case TimestampNegInfinity:
				return DateNegInfinity, nil
			case TimestampPosInfinity:
				return DatePosInfinity, nil
			}
			if from.Kind == TimestampTZ {
				ts, _ = utcToLocal(ts, loc)
			}
			day, _ := splitTimestamp(ts)
			return day, nil
		}
	case Time:
		switch from.Kind {
		case Time:
			return d, nil
		case TimestampKind, TimestampTZ:
			ts := d.(Timestamp)
			if !ts.IsFinite() {
				return nil, nil // PostgreSQL yields NULL here
			}
			if from.Kind == TimestampTZ {
				ts, _ = utcToLocal(ts, loc)
			}
			_, tod := splitTimestamp(ts)
			return tod, nil
		case Interval:
			_, r := floorDiv(d.(IntervalValue).Micros, MicrosPerDay)
			return TimeOfDay(r), nil
		}
	case TimestampKind, TimestampTZ:
		switch from.Kind {
		case TimestampKind, TimestampTZ:
			ts := d.(Timestamp)
			if from.Kind == to.Kind || !ts.IsFinite() {
				return ts, nil
			}
			if to.Kind == TimestampTZ {
				return localToUTC(ts, loc), nil
			}
			local, _ := utcToLocal(ts, loc)
			return local, nil
		case DateKind:
			day := d.(Date)
			switch day {
			case DateNegInfinity:
				return TimestampNegInfinity, nil
			case DatePosInfinity:
				return TimestampPosInfinity, nil
			}
			ts := joinTimestamp(day, 0)
			if !timestampInRange(int64(ts)) {
				return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date out of range for timestamp")
			}
			if to.Kind == TimestampTZ {
				ts = localToUTC(ts, loc)
			}
			return ts, nil
		}
	case Interval:
		switch from.Kind {
		case Interval:
			return d, nil
		case Time:
			return IntervalValue{Micros: int64(d.(TimeOfDay))}, nil
		}
	case Bytea:
		if from.Kind == Bytea {
			return d, nil
		}
	case JSONB:
		if from.Kind == JSONB {
			return d, nil
		}
	case Record, Array:
		if from.Kind == to.Kind {
			return d, nil
		}
	}
	return nil, errCannotCast(from, to)
}

func castFromString(s string, to T, loc *time.Location) (Datum, error) {
	if to.Kind == Varchar || to.Kind == Char {
		return applyWidth(s, to, true)
	}
	return ParseText(s, to, loc)
}

func castToString(d Datum, from, to T, loc *time.Location) (Datum, error) {
	var s string
	switch v := d.(type) {
	case string:
		s = v
		if from.Kind == Char && to.Kind != Char {
			// bpchar to text drops the padding.
			s = strings.TrimRight(s, " ")
		}
	case bool:
		// The bool to text cast spells the words out.
		if v {
			s = "true"
		} else {
			s = "false"
		}
	default:
		s = FormatText(d, from, loc)
	}
	switch to.Kind {
	case Varchar, Char:
		return applyWidth(s, to, true)
	case Name:
		return truncateName(s), nil
	}
	return s, nil
}

func castToInt(d Datum, from, to T) (Datum, error) {
	lo, hi := IntRange(to.Kind)
	switch from.Kind {
	case Int2, Int4, Int8, Oid:
		v := d.(int64)
		if from.Kind == Oid && to.Kind != Int8 {
			v = int64(int32(uint32(v))) // oid to int4 reinterprets the bits
		}
		if v < lo || v > hi {
			return nil, ErrIntRange(to.Kind)
		}
		return v, nil
	case Bool:
		if to.Kind == Int4 {
			if d.(bool) {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case Float4, Float8:
		f := d.(float64)
		if from.Kind == Float4 {
			f = float64(float32(f))
		}
		f = math.RoundToEven(f)
		// Compare against the bounds as floats: hi+1 is exact, hi may not be.
		if math.IsNaN(f) || f < float64(lo) || f >= -float64(lo) {
			return nil, ErrIntRange(to.Kind)
		}
		return int64(f), nil
	case Numeric:
		return decimalToInt(d.(*apd.Decimal), to.Kind)
	case JSONB:
		return castFromJSONB(d.(string), to)
	}
	return nil, errCannotCast(from, to)
}

func decimalToInt(x *apd.Decimal, k Kind) (Datum, error) {
	switch x.Form {
	case apd.NaN, apd.NaNSignaling:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot convert NaN to %s", T{Kind: k})
	case apd.Infinite:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot convert infinity to %s", T{Kind: k})
	}
	var r apd.Decimal
	if _, err := DecimalCtx.Quantize(&r, x, 0); err != nil {
		return nil, ErrIntRange(k)
	}
	v, err := r.Int64()
	lo, hi := IntRange(k)
	if err != nil || v < lo || v > hi {
		return nil, ErrIntRange(k)
	}
	return v, nil
}

func castToFloat(d Datum, from, to T) (Datum, error) {
	var f float64
	switch from.Kind {
	case Int2, Int4, Int8, Oid:
		f = float64(d.(int64))
	case Float4, Float8:
		f = d.(float64)
	case Numeric:
		x := d.(*apd.Decimal)
		var ok bool
		if f, ok = nonFinite(x, math.NaN(), math.Inf(-1), math.Inf(1)); !ok {
			// numeric_float8 goes through the text form and float8in.
			return parseFloat(string(appendDecimal(nil, x)), to)
		}
	case JSONB:
		return castFromJSONB(d.(string), to)
	default:
		return nil, errCannotCast(from, to)
	}
	if to.Kind == Float4 {
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) && !math.IsInf(f, 0) {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: overflow")
		}
		if f32 == 0 && f != 0 {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: underflow")
		}
		return float64(f32), nil
	}
	return f, nil
}

func castToNumeric(d Datum, from, to T) (Datum, error) {
	var x *apd.Decimal
	switch from.Kind {
	case Int2, Int4, Int8, Oid:
		x = apd.New(d.(int64), 0)
	case Float4, Float8:
		f := d.(float64)
		switch {
		case math.IsNaN(f):
			x = &apd.Decimal{Form: apd.NaN}
		case math.IsInf(f, 0):
			x = &apd.Decimal{Form: apd.Infinite, Negative: f < 0}
		default:
			// PostgreSQL converts through "%.*g" with DBL_DIG/FLT_DIG digits.
			var s string
			if from.Kind == Float4 {
				s = strconv.FormatFloat(float64(float32(f)), 'g', 6, 32)
			} else {
				s = strconv.FormatFloat(f, 'g', 15, 64)
			}
			var err error
			if x, err = ParseDecimal(s); err != nil {
				return nil, err
			}
		}
	case Numeric:
		x = d.(*apd.Decimal)
	case JSONB:
		v, err := castFromJSONB(d.(string), TNumeric)
		if err != nil {
			return nil, err
		}
		x = v.(*apd.Decimal)
	default:
		return nil, errCannotCast(from, to)
	}
	return RoundNumeric(x, to)
}

// castFromJSONB converts a jsonb scalar to bool or a number type.
func castFromJSONB(s string, to T) (Datum, error) {
	kind := "null"
	switch {
	case s == "true" || s == "false":
		kind = "boolean"
	case strings.HasPrefix(s, "\""):
		kind = "string"
	case strings.HasPrefix(s, "{"):
		kind = "object"
	case strings.HasPrefix(s, "["):
		kind = "array"
	case s != "null":
		kind = "numeric"
	}
	want := "numeric"
	if to.Kind == Bool {
		want = "boolean"
	}
	if kind != want {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot cast jsonb %s to type %s", kind, to)
	}
	if to.Kind == Bool {
		return s == "true", nil
	}
	x, err := ParseDecimal(s)
	if err != nil {
		return nil, err
	}
	return Cast(x, TNumeric, to, nil)
}
