package js

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"
	"github.com/dop251/goja"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Values cross between SQL and JavaScript column by column: an argument
// column becomes a slice of JavaScript values before the rows run, and the
// results are appended to a typed builder. The mapping:
//
//	boolean                          boolean
//	smallint, integer, real, double  number
//	bigint                           number (BigInt beyond ±2^53)
//	numeric                          number (results: number, BigInt or a decimal string)
//	text, varchar, char              string
//	bytea                            Uint8Array (results: also ArrayBuffer or an array of bytes)
//	time, interval                   string, PostgreSQL's text ('09:30:00', '1 day 02:00:00';
//	                                 results: any text PostgreSQL accepts, such as 'PT90M')
//	date, timestamp, timestamptz     Date (millisecond precision)
//	jsonb                            the parsed value (object, array, number, ...)
//	arrays of the above              Array
//	NULL                             null (undefined is NULL too in results)

// supported reports whether t crosses into JavaScript.
func supported(t types.T) bool {
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Numeric,
		types.Text, types.Varchar, types.Char, types.DateKind, types.TimestampKind, types.TimestampTZ, types.JSONB,
		types.Bytea, types.Time, types.Interval:
		return true
	case types.Array:
		return t.Elem != nil && t.Elem.Kind != types.Array && supported(*t.Elem)
	}
	return false
}

// instance helpers for values that need the runtime (Date, JSON).
type conv struct {
	vm        *goja.Runtime
	dateCtor  goja.Value
	jsonParse goja.Callable
	jsonStr   goja.Callable
}

func newConv(vm *goja.Runtime) (*conv, error) {
	c := &conv{vm: vm, dateCtor: vm.Get("Date")}
	j := vm.Get("JSON").ToObject(vm)
	var ok bool
	if c.jsonParse, ok = goja.AssertFunction(j.Get("parse")); !ok {
		return nil, fmt.Errorf("JSON.parse is missing")
	}
	if c.jsonStr, ok = goja.AssertFunction(j.Get("stringify")); !ok {
		return nil, fmt.Errorf("JSON.stringify is missing")
	}
	return c, nil
}

const maxSafeInt = 1<<53 - 1

// column converts rows [0, n) of arr (of type t) into dst.
func (c *conv) column(dst []goja.Value, arr arrow.Array, t types.T, n int) ([]goja.Value, error) {
	dst = dst[:0]
	switch a := arr.(type) {
	case *array.Int32:
		vals := a.Int32Values()
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				dst = append(dst, goja.Null())
				continue
			}
			dst = append(dst, c.vm.ToValue(int64(vals[i])))
		}
		return dst, nil
	case *array.Int64:
		vals := a.Int64Values()
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				dst = append(dst, goja.Null())
				continue
			}
			dst = append(dst, c.int64Value(vals[i]))
		}
		return dst, nil
	case *array.Float64:
		vals := a.Float64Values()
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				dst = append(dst, goja.Null())
				continue
			}
			dst = append(dst, c.vm.ToValue(vals[i]))
		}
		return dst, nil
	case *array.String:
		if t.Kind == types.Text || t.Kind == types.Varchar || t.Kind == types.Char {
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					dst = append(dst, goja.Null())
					continue
				}
				dst = append(dst, c.vm.ToValue(a.Value(i)))
			}
			return dst, nil
		}
	}
	for i := 0; i < n; i++ {
		v, err := c.toJS(types.GetDatum(arr, i, t), t)
		if err != nil {
			return nil, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

func (c *conv) int64Value(v int64) goja.Value {
	if v > maxSafeInt || v < -maxSafeInt {
		return c.vm.ToValue(big.NewInt(v))
	}
	return c.vm.ToValue(v)
}

// toJS converts one SQL value of type t.
func (c *conv) toJS(d types.Datum, t types.T) (goja.Value, error) {
	if d == nil {
		return goja.Null(), nil
	}
	switch t.Kind {
	case types.Bool:
		return c.vm.ToValue(d.(bool)), nil
	case types.Int2, types.Int4:
		return c.vm.ToValue(d.(int64)), nil
	case types.Int8:
		return c.int64Value(d.(int64)), nil
	case types.Float4, types.Float8:
		return c.vm.ToValue(d.(float64)), nil
	case types.Numeric:
		f, err := d.(*apd.Decimal).Float64()
		if err != nil {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "numeric value %s out of range for JavaScript", d.(*apd.Decimal).String())
		}
		return c.vm.ToValue(f), nil
	case types.Text, types.Varchar, types.Char:
		return c.vm.ToValue(d.(string)), nil
	case types.DateKind:
		return c.date(types.DateToTime(d.(types.Date)).UnixMilli())
	case types.TimestampKind, types.TimestampTZ:
		return c.date(types.TimestampToTime(d.(types.Timestamp)).UnixMilli())
	case types.Bytea:
		buf := c.vm.NewArrayBuffer(append([]byte(nil), d.([]byte)...))
		return c.vm.New(c.vm.Get("Uint8Array"), c.vm.ToValue(buf))
	case types.Time, types.Interval:
		return c.vm.ToValue(types.FormatText(d, t, time.UTC)), nil
	case types.JSONB:
		return c.jsonParse(goja.Undefined(), c.vm.ToValue(d.(string)))
	case types.Array:
		elems, err := udf.ParseArray(d.(string))
		if err != nil {
			return nil, err
		}
		vals := make([]any, len(elems))
		for i, e := range elems {
			if e == nil {
				vals[i] = goja.Null()
				continue
			}
			ed, err := types.ParseText(*e, *t.Elem, time.UTC)
			if err != nil {
				return nil, err
			}
			v, err := c.toJS(ed, *t.Elem)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		return c.vm.NewArray(vals...), nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "type %s is not supported in JavaScript functions", t)
}

func (c *conv) date(ms int64) (goja.Value, error) {
	return c.vm.New(c.dateCtor, c.vm.ToValue(ms))
}

// resultError is a result value that does not convert to the return type.
func resultError(format string, args ...any) error {
	return sqlerr.New(sqlerr.DatatypeMismatch, format, args...)
}

// fromJS converts a JavaScript result to a SQL value of type t (nil for
// null and undefined).
func (c *conv) fromJS(v goja.Value, t types.T) (types.Datum, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	switch t.Kind {
	case types.Bool:
		return v.ToBoolean(), nil
	case types.Int2, types.Int4, types.Int8:
		return intResult(v, t)
	case types.Float4, types.Float8:
		if b, ok := v.Export().(*big.Int); ok {
			f, _ := new(big.Float).SetInt(b).Float64()
			return f, nil
		}
		return v.ToFloat(), nil
	case types.Numeric:
		var s string
		switch x := v.Export().(type) {
		case *big.Int:
			s = x.String()
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				s = strconv.FormatFloat(x, 'f', -1, 64)
				if math.IsInf(x, 1) {
					s = "Infinity"
				} else if math.IsInf(x, -1) {
					s = "-Infinity"
				}
			} else {
				s = strconv.FormatFloat(x, 'g', -1, 64)
			}
		default:
			s = v.String()
		}
		d, err := types.ParseText(s, t, time.UTC)
		if err != nil {
			return nil, err
		}
		return d, nil
	case types.Text, types.Varchar, types.Char:
		return v.String(), nil
	case types.DateKind, types.TimestampKind, types.TimestampTZ:
		var tm time.Time
		switch x := v.Export().(type) {
		case time.Time:
			tm = x.UTC()
		case int64:
			tm = time.UnixMilli(x).UTC()
		case float64:
			tm = time.UnixMicro(int64(x * 1000)).UTC()
		case string:
			return types.ParseText(x, t, time.UTC)
		default:
			return nil, resultError("JavaScript value %s cannot be returned as %s", v.String(), t)
		}
		if t.Kind == types.DateKind {
			y, m, d := tm.Date()
			return types.DateFromYMD(y, int(m), d), nil
		}
		return types.TimeToTimestamp(tm), nil
	case types.Bytea:
		return c.bytesResult(v, t)
	case types.Time, types.Interval:
		x, ok := v.Export().(string)
		if !ok {
			return nil, resultError("JavaScript value %s cannot be returned as %s: give its text as a string", v.String(), t)
		}
		return types.ParseText(x, t, time.UTC)
	case types.JSONB:
		s, err := c.jsonStr(goja.Undefined(), v)
		if err != nil {
			return nil, err
		}
		if goja.IsUndefined(s) {
			return nil, nil
		}
		return types.NormalizeJSONB(s.String())
	case types.Array:
		obj := v.ToObject(c.vm)
		if obj.ClassName() != "Array" {
			return nil, resultError("JavaScript value %s cannot be returned as %s: not an array", v.String(), t)
		}
		n := int(obj.Get("length").ToInteger())
		elems := make([]string, n)
		nulls := make([]bool, n)
		for i := 0; i < n; i++ {
			ed, err := c.fromJS(obj.Get(strconv.Itoa(i)), *t.Elem)
			if err != nil {
				return nil, err
			}
			if ed == nil {
				nulls[i] = true
				continue
			}
			elems[i] = types.FormatText(ed, *t.Elem, time.UTC)
		}
		return udf.FormatArrayText(elems, nulls), nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "type %s is not supported in JavaScript functions", t)
}

// bytesResult converts a Uint8Array (or another typed array of bytes), an
// ArrayBuffer, an array of numbers 0..255 or a string in bytea's text form.
func (c *conv) bytesResult(v goja.Value, t types.T) (types.Datum, error) {
	switch x := v.Export().(type) {
	case []byte:
		return append([]byte(nil), x...), nil
	case goja.ArrayBuffer:
		return append([]byte(nil), x.Bytes()...), nil
	case string:
		return types.ParseText(x, t, time.UTC)
	case []any:
		out := make([]byte, len(x))
		for i, e := range x {
			n, ok := e.(int64)
			if !ok || n < 0 || n > 255 {
				return nil, resultError("JavaScript array element %v cannot be a byte of %s", e, t)
			}
			out[i] = byte(n)
		}
		return out, nil
	}
	return nil, resultError("JavaScript value %s cannot be returned as %s: give a Uint8Array", v.String(), t)
}

func intResult(v goja.Value, t types.T) (types.Datum, error) {
	var i int64
	switch x := v.Export().(type) {
	case int64:
		i = x
	case *big.Int:
		if !x.IsInt64() {
			return nil, outOfRange(t)
		}
		i = x.Int64()
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, outOfRange(t)
		}
		r := math.RoundToEven(x)
		if r < -9.223372036854775808e18 || r >= 9.223372036854775808e18 {
			return nil, outOfRange(t)
		}
		i = int64(r)
	case string:
		p, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: %q", t, x)
		}
		i = p
	case bool:
		if x {
			i = 1
		}
	default:
		return nil, resultError("JavaScript value %s cannot be returned as %s", v.String(), t)
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch t.Kind {
	case types.Int2:
		lo, hi = math.MinInt16, math.MaxInt16
	case types.Int4:
		lo, hi = math.MinInt32, math.MaxInt32
	}
	if i < lo || i > hi {
		return nil, outOfRange(t)
	}
	return i, nil
}

func outOfRange(t types.T) error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "%s out of range", t)
}
