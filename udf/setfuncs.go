package udf

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Set-returning functions over strings and jsonb: regexp_matches,
// jsonb_array_elements[_text], jsonb_object_keys, jsonb_each[_text]. Like
// generate_series and unnest they work in FROM and, those with one column,
// in the select list.

func (r *registry) addSetFuncs() {
	t, j := types.TText, types.TJSONB
	textArr := types.T{Kind: types.Array, Elem: &types.TText}
	col := func(name string, ct types.T) func([]types.T) ([]string, []types.T) {
		return func([]types.T) ([]string, []types.T) { return []string{name}, []types.T{ct} }
	}
	for _, args := range [][]types.T{ts(t, t), ts(t, t, t)} {
		r.tfunc(&TableFunc{Name: "regexp_matches", Args: args, Cols: col("regexp_matches", textArr), Eval: regexpMatches})
	}
	r.tfunc(&TableFunc{Name: "jsonb_array_elements", Args: ts(j), Cols: col("value", j), Eval: jsonbElements(false)})
	r.tfunc(&TableFunc{Name: "jsonb_array_elements_text", Args: ts(j), Cols: col("value", t), Eval: jsonbElements(true)})
	r.tfunc(&TableFunc{Name: "jsonb_object_keys", Args: ts(j), Cols: col("jsonb_object_keys", t), Eval: jsonbObjectKeys})
	pair := func(vt types.T) func([]types.T) ([]string, []types.T) {
		return func([]types.T) ([]string, []types.T) { return []string{"key", "value"}, []types.T{t, vt} }
	}
	r.tfunc(&TableFunc{Name: "jsonb_each", Args: ts(j), Cols: pair(j), Eval: jsonbEach(false)})
	r.tfunc(&TableFunc{Name: "jsonb_each_text", Args: ts(j), Cols: pair(t), Eval: jsonbEach(true)})
	// pg_partition_ancestors(rel): the relation and its ancestors in a
	// partition tree; tables are never partitions here, so just rel (psql
	// reads it to list foreign keys).
	regclass := types.T{Kind: types.Oid, OIDOverride: types.OIDRegclass}
	r.tfunc(&TableFunc{Name: "pg_partition_ancestors", Args: ts(regclass), Cols: col("relid", regclass),
		Eval: func(_ *Env, args []types.Datum, _ []types.T) (RowIter, error) {
			if anyNull(args) {
				return emptyIter{}, nil
			}
			return &rowsIter{ts: []types.T{regclass}, rows: [][]types.Datum{{args[0]}}}, nil
		}})
}

// NewRowsIter yields rows of datums of the column types ts, a batch at
// a time.
func NewRowsIter(ts []types.T, rows [][]types.Datum) RowIter { return &rowsIter{ts: ts, rows: rows} }

// rowsIter yields precomputed rows of datums, a batch at a time.
type rowsIter struct {
	ts   []types.T
	rows [][]types.Datum
}

func (it *rowsIter) Next(max int) ([]arrow.Array, int, error) {
	n := min(max, len(it.rows))
	if n == 0 {
		return nil, 0, nil
	}
	cols := make([]arrow.Array, len(it.ts))
	for c, ct := range it.ts {
		b := types.NewBuilder(ct)
		for _, row := range it.rows[:n] {
			types.AppendDatum(b, row[c])
		}
		cols[c] = b.NewArray()
		b.Release()
	}
	it.rows = it.rows[n:]
	return cols, n, nil
}

func (it *rowsIter) Close() {}

func anyNull(args []types.Datum) bool {
	for _, a := range args {
		if a == nil {
			return true
		}
	}
	return false
}

// regexpMatches is regexp_matches(string, pattern [, flags]): one text[]
// of the capture groups (or the whole match) per match, every match with
// the g flag.
func regexpMatches(_ *Env, args []types.Datum, _ []types.T) (RowIter, error) {
	if anyNull(args) {
		return emptyIter{}, nil
	}
	src, pat, flags := args[0].(string), args[1].(string), ""
	if len(args) > 2 {
		flags = args[2].(string)
	}
	for _, f := range flags {
		if !strings.ContainsRune("gicnswx", f) {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid regular expression option: \"%c\"", f)
		}
	}
	re, err := compileRegex(pat, strings.Contains(flags, "i"))
	if err != nil {
		return nil, err
	}
	limit := 1
	if strings.Contains(flags, "g") {
		limit = -1
	}
	var rows [][]types.Datum
	for _, m := range re.FindAllStringSubmatchIndex(src, limit) {
		var elems []string
		var nulls []bool
		if len(m) == 2 {
			elems, nulls = []string{src[m[0]:m[1]]}, []bool{false}
		}
		for g := 1; g < len(m)/2; g++ {
			if m[2*g] < 0 {
				elems, nulls = append(elems, ""), append(nulls, true)
			} else {
				elems, nulls = append(elems, src[m[2*g]:m[2*g+1]]), append(nulls, false)
			}
		}
		rows = append(rows, []types.Datum{FormatArrayText(elems, nulls)})
	}
	return &rowsIter{ts: []types.T{{Kind: types.Array, Elem: &types.TText}}, rows: rows}, nil
}

// jsonbText is the value of a jsonb element as ->> gives it: strings
// unquoted, JSON null as SQL NULL, anything else in jsonb text.
func jsonbText(v any) types.Datum {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return x
	}
	return encodeJSONB(v)
}

func jsonbElements(asText bool) func(*Env, []types.Datum, []types.T) (RowIter, error) {
	return func(_ *Env, args []types.Datum, _ []types.T) (RowIter, error) {
		if anyNull(args) {
			return emptyIter{}, nil
		}
		v, err := decodeJSONB(args[0])
		if err != nil {
			return nil, err
		}
		arr, ok := v.([]any)
		if !ok {
			what := "a scalar"
			if _, obj := v.(map[string]any); obj {
				what = "an object"
			}
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot extract elements from %s", what)
		}
		ct := types.TJSONB
		rows := make([][]types.Datum, len(arr))
		for i, e := range arr {
			if asText {
				rows[i] = []types.Datum{jsonbText(e)}
			} else {
				rows[i] = []types.Datum{encodeJSONB(e)}
			}
		}
		if asText {
			ct = types.TText
		}
		return &rowsIter{ts: []types.T{ct}, rows: rows}, nil
	}
}

// jsonbObject decodes an object argument and returns its keys in jsonb
// order (by length, then bytes).
func jsonbObject(d types.Datum, fn string) (map[string]any, []string, error) {
	v, err := decodeJSONB(d)
	if err != nil {
		return nil, nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		// PostgreSQL's jsonb_object_keys names what it got; jsonb_each
		// and jsonb_each_text say "a non-object".
		what := "a scalar"
		if _, isArr := v.([]any); isArr {
			what = "an array"
		}
		if strings.HasPrefix(fn, "jsonb_each") {
			what = "a non-object"
		}
		return nil, nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot call %s on %s", fn, what)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sortJSONBKeys(keys)
	return obj, keys, nil
}

func jsonbObjectKeys(_ *Env, args []types.Datum, _ []types.T) (RowIter, error) {
	if anyNull(args) {
		return emptyIter{}, nil
	}
	_, keys, err := jsonbObject(args[0], "jsonb_object_keys")
	if err != nil {
		return nil, err
	}
	rows := make([][]types.Datum, len(keys))
	for i, k := range keys {
		rows[i] = []types.Datum{k}
	}
	return &rowsIter{ts: []types.T{types.TText}, rows: rows}, nil
}

func jsonbEach(asText bool) func(*Env, []types.Datum, []types.T) (RowIter, error) {
	name := "jsonb_each"
	vt := types.TJSONB
	if asText {
		name, vt = "jsonb_each_text", types.TText
	}
	return func(_ *Env, args []types.Datum, _ []types.T) (RowIter, error) {
		if anyNull(args) {
			return emptyIter{}, nil
		}
		obj, keys, err := jsonbObject(args[0], name)
		if err != nil {
			return nil, err
		}
		rows := make([][]types.Datum, len(keys))
		for i, k := range keys {
			var v types.Datum = encodeJSONB(obj[k])
			if asText {
				v = jsonbText(obj[k])
			}
			rows[i] = []types.Datum{k, v}
		}
		return &rowsIter{ts: []types.T{types.TText, vt}, rows: rows}, nil
	}
}
