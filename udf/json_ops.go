package udf

import (
	"bytes"
	"encoding/json"
	"strconv"

	"streamsql/sql/types"
)

// jsonb operators: -> and ->> by key or array index, and @> containment.
// jsonb values are normalized jsonb text; results are re-encoded in
// jsonb's output format.

func (r *registry) addJSONOps() {
	j, t, i4 := types.TJSONB, types.TText, types.TInt4
	get := func(asText bool) func(_ *Env, a []types.Datum) (types.Datum, error) {
		return func(_ *Env, a []types.Datum) (types.Datum, error) {
			var v any
			if err := decodeJSON(a[0].(string), &v); err != nil {
				return nil, err
			}
			var el any
			var ok bool
			switch k := a[1].(type) {
			case string:
				m, isObj := v.(map[string]any)
				if isObj {
					el, ok = m[k]
				}
			case int64:
				arr, isArr := v.([]any)
				if isArr {
					if k < 0 {
						k += int64(len(arr))
					}
					if k >= 0 && k < int64(len(arr)) {
						el, ok = arr[k], true
					}
				}
			}
			if !ok {
				return nil, nil
			}
			if asText {
				switch x := el.(type) {
				case nil:
					return nil, nil
				case string:
					return x, nil
				}
			}
			return encodeJSONB(el), nil
		}
	}
	r.op(&Scalar{Name: "->", Args: ts(j, t), Ret: j, Strict: true, Eval: rowFunc(ts(j, t), j, true, get(false))})
	r.op(&Scalar{Name: "->", Args: ts(j, i4), Ret: j, Strict: true, Eval: rowFunc(ts(j, i4), j, true, get(false))})
	r.op(&Scalar{Name: "->>", Args: ts(j, t), Ret: t, Strict: true, Eval: rowFunc(ts(j, t), t, true, get(true))})
	r.op(&Scalar{Name: "->>", Args: ts(j, i4), Ret: t, Strict: true, Eval: rowFunc(ts(j, i4), t, true, get(true))})
	r.op(&Scalar{Name: "@>", Args: ts(j, j), Ret: types.TBool, Strict: true, Eval: rowFunc(ts(j, j), types.TBool, true,
		func(_ *Env, a []types.Datum) (types.Datum, error) {
			var x, y any
			if err := decodeJSON(a[0].(string), &x); err != nil {
				return nil, err
			}
			if err := decodeJSON(a[1].(string), &y); err != nil {
				return nil, err
			}
			return jsonContains(x, y), nil
		})})
}

func decodeJSON(s string, v *any) error {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	return d.Decode(v)
}

// encodeJSONB prints a value as jsonb's output does: ", " and ": "
// separators, keys sorted by length then bytes.
func encodeJSONB(v any) string {
	var b []byte
	b = appendJSONB(b, v)
	return string(b)
}

func appendJSONB(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case json.Number:
		return append(b, x.String()...)
	case string:
		enc, _ := json.Marshal(x)
		return append(b, enc...)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSONB(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortJSONBKeys(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			enc, _ := json.Marshal(k)
			b = append(append(b, enc...), ": "...)
			b = appendJSONB(b, x[k])
		}
		return append(b, '}')
	}
	return b
}

func sortJSONBKeys(keys []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && jsonbKeyLess(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

func jsonbKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// jsonContains is jsonb @> (structural containment).
func jsonContains(x, y any) bool {
	switch yv := y.(type) {
	case map[string]any:
		xv, ok := x.(map[string]any)
		if !ok {
			return false
		}
		for k, e := range yv {
			xe, ok := xv[k]
			if !ok || !jsonContains(xe, e) {
				return false
			}
		}
		return true
	case []any:
		xv, ok := x.([]any)
		if !ok {
			return false
		}
		for _, e := range yv {
			found := false
			for _, xe := range xv {
				if jsonContains(xe, e) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case json.Number:
		xv, ok := x.(json.Number)
		if !ok {
			return false
		}
		a, _ := strconv.ParseFloat(xv.String(), 64)
		c, _ := strconv.ParseFloat(yv.String(), 64)
		return a == c
	}
	return x == y
}
