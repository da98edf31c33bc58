package udf

import (
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// The JSON aggregates (jsonb_agg, json_agg, jsonb_object_agg,
// json_object_agg) and
// first_value/last_value as aggregates. All of them depend on the order
// of their input, which the planner gives them (ORDER BY inside the call);
// they keep their rows per group and build the result at Finish, where
// the session's time zone is known.

func (r *registry) addJSONAggregates() {
	for _, name := range []string{"jsonb_agg", "json_agg"} {
		r.agg(&Aggregate{Name: name, Args: ts(Any), Ret: types.TJSONB, Ordered: true,
			New: func(a []types.T) Accumulator { return &jsonAggAcc{ts: a} }})
	}
	// json_object_agg gives jsonb, as json_agg does: there is no json
	// type (a key given twice keeps its last value).
	for _, name := range []string{"jsonb_object_agg", "json_object_agg"} {
		r.agg(&Aggregate{Name: name, Args: ts(Any, Any), Ret: types.TJSONB, Ordered: true,
			New: func(a []types.T) Accumulator { return &jsonAggAcc{ts: a, object: true} }})
	}
	// first_value and last_value as aggregates: a StreamSQL extension
	// (PostgreSQL has them only as window functions).
	for _, name := range []string{"first_value", "last_value"} {
		last := name == "last_value"
		r.agg(&Aggregate{Name: name, Args: ts(Any), Ordered: true,
			RetFn: func(a []types.T) types.T { return textish(a[0]) },
			New:   func(a []types.T) Accumulator { return &firstLastAcc{t: textish(a[0]), last: last} }})
	}
}

// jsonAggAcc is jsonb_agg/json_agg (one argument) or jsonb_object_agg
// (key, value), over the rows of each group in input order.
type jsonAggAcc struct {
	ts     []types.T
	object bool
	rows   [][][]types.Datum
	size   int64
}

// Size implements SizedAccumulator.
func (a *jsonAggAcc) Size() int64 { return a.size }

func (a *jsonAggAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.rows = growTo(a.rows, ng)
	for i, g := range groups[:n] {
		if g == SkipRow {
			continue
		}
		row := make([]types.Datum, len(args))
		for j, c := range args {
			row[j] = types.GetDatum(c, i, textish(a.ts[j]))
		}
		if a.object && row[0] == nil {
			return sqlerr.New(sqlerr.InvalidParameterValue, "field name must not be null")
		}
		a.rows[g] = append(a.rows[g], row)
		a.size += 48
	}
	return nil
}

func (a *jsonAggAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *jsonAggAcc) Finish(env *Env, ng int) (arrow.Array, error) {
	a.rows = growTo(a.rows, ng)
	b := types.NewBuilder(types.TJSONB)
	defer b.Release()
	for g := 0; g < ng; g++ {
		d, err := JSONAggregate(a.object, a.rows[g], a.ts, envLocation(env))
		if err != nil {
			return nil, err
		}
		types.AppendDatum(b, d)
	}
	return b.NewArray(), nil
}

func (a *jsonAggAcc) Release() { a.rows, a.size = nil, 0 }

// JSONAggregate builds jsonb_agg's array (object: jsonb_object_agg's
// object) from rows in order; nil for no rows.
func JSONAggregate(object bool, rows [][]types.Datum, ts []types.T, loc *time.Location) (types.Datum, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	var sb strings.Builder
	if object {
		sb.WriteByte('{')
	} else {
		sb.WriteByte('[')
	}
	for i, r := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		if object {
			if r[0] == nil {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "field name must not be null")
			}
			sb.WriteString(jsonString(types.FormatText(r[0], textish(ts[0]), loc)))
			sb.WriteString(": ")
			appendJSONValue(&sb, r[1], textish(ts[1]), loc)
			continue
		}
		appendJSONValue(&sb, r[0], textish(ts[0]), loc)
	}
	if object {
		sb.WriteByte('}')
	} else {
		sb.WriteByte(']')
	}
	return types.ParseJSONB(sb.String())
}

// appendJSONValue writes d as to_jsonb does: numbers and booleans bare,
// jsonb as it is, date and time values in ISO 8601, arrays as JSON arrays,
// everything else as a JSON string of its text.
func appendJSONValue(sb *strings.Builder, d types.Datum, t types.T, loc *time.Location) {
	if d == nil {
		sb.WriteString("null")
		return
	}
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.JSONB:
		sb.WriteString(types.FormatText(d, t, loc))
		return
	case types.Float4, types.Float8:
		if f := d.(float64); math.IsNaN(f) || math.IsInf(f, 0) {
			sb.WriteString(jsonString(types.FormatText(d, t, loc)))
			return
		}
		sb.WriteString(types.FormatText(d, t, loc))
		return
	case types.Numeric:
		s := types.FormatText(d, t, loc)
		if s == "NaN" || strings.HasSuffix(s, "Infinity") {
			sb.WriteString(jsonString(s))
			return
		}
		sb.WriteString(s)
		return
	case types.TimestampKind, types.TimestampTZ:
		s := strings.Replace(types.FormatText(d, t, loc), " ", "T", 1)
		if t.Kind == types.TimestampTZ {
			// to_json writes the offset with minutes: +00:00.
			if k := strings.LastIndexAny(s, "+-"); k > 10 && len(s)-k == 3 {
				s += ":00"
			}
		}
		sb.WriteString(jsonString(s))
		return
	case types.Array:
		elems, _, err := ArrayElems(d.(string), t)
		if err == nil {
			et := elemType(t)
			sb.WriteByte('[')
			for i, e := range elems {
				if i > 0 {
					sb.WriteString(", ")
				}
				if e == nil {
					sb.WriteString("null")
					continue
				}
				v, err := types.ParseText(*e, et, loc)
				if err != nil {
					sb.WriteString(jsonString(*e))
					continue
				}
				appendJSONValue(sb, v, et, loc)
			}
			sb.WriteByte(']')
			return
		}
	}
	sb.WriteString(jsonString(types.FormatText(d, t, loc)))
}

// firstLastAcc is first_value or last_value as an aggregate: the value of
// the group's first (last) row in input order, NULL included.
type firstLastAcc struct {
	t    types.T
	last bool
	has  []bool
	vals []types.Datum
}

func (a *firstLastAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.has, a.vals = growTo(a.has, ng), growTo(a.vals, ng)
	for i, g := range groups[:n] {
		if g == SkipRow || (a.has[g] && !a.last) {
			continue
		}
		a.has[g] = true
		a.vals[g] = types.GetDatum(args[0], i, a.t)
	}
	return nil
}

func (a *firstLastAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *firstLastAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.has, a.vals = growTo(a.has, ng), growTo(a.vals, ng)
	b := types.NewBuilder(a.t)
	defer b.Release()
	for g := 0; g < ng; g++ {
		types.AppendDatum(b, a.vals[g])
	}
	return b.NewArray(), nil
}

func (a *firstLastAcc) Release() { a.has, a.vals = nil, nil }
