package udf

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// jsonb operators: -> and ->> by key or array index, #> and #>> by path,
// key existence (? ?| ?&), concatenation (||), deletion (- #-) and
// containment (@> <@).
// jsonb values are normalized jsonb text; results are re-encoded in
// jsonb's output format.

func (r *registry) addJSONOps() {
	j, t, i4 := types.TJSONB, types.TText, types.TInt4
	get := func(asText bool) func(_ *Env, a []types.Datum) (types.Datum, error) {
		return func(_ *Env, a []types.Datum) (types.Datum, error) {
			v, err := decodeJSONB(a[0])
			if err != nil {
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
			return jsonbElement(el, asText), nil
		}
	}
	r.op(&Scalar{Name: "->", Args: ts(j, t), Ret: j, Strict: true, Eval: rowFunc(ts(j, t), j, true, get(false))})
	r.op(&Scalar{Name: "->", Args: ts(j, i4), Ret: j, Strict: true, Eval: rowFunc(ts(j, i4), j, true, get(false))})
	r.op(&Scalar{Name: "->>", Args: ts(j, t), Ret: t, Strict: true, Eval: rowFunc(ts(j, t), t, true, get(true))})
	r.op(&Scalar{Name: "->>", Args: ts(j, i4), Ret: t, Strict: true, Eval: rowFunc(ts(j, i4), t, true, get(true))})
	r.op(&Scalar{Name: "@>", Args: ts(j, j), Ret: types.TBool, Strict: true, Eval: rowFunc(ts(j, j), types.TBool, true,
		func(_ *Env, a []types.Datum) (types.Datum, error) {
			x, y, err := decodeJSONBPair(a)
			if err != nil {
				return nil, err
			}
			return jsonContainsTop(x, y), nil
		})})
	r.addJSONPathOps()
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

// parseArrayText reads a one-dimensional array literal ({a,"b c",NULL})
// into its elements, as array_in does for text[].
func parseArrayText(s string) (elems []string, nulls []bool, err error) {
	bad := func() error {
		return sqlerr.New(sqlerr.InvalidTextRepresentation, "malformed array literal: \"%s\"", s)
	}
	p := strings.TrimSpace(s)
	if strings.HasPrefix(p, "[") { // dimension decoration [lo:hi]=
		eq := strings.IndexByte(p, '=')
		if eq < 0 {
			return nil, nil, bad()
		}
		p = strings.TrimSpace(p[eq+1:])
	}
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, nil, bad()
	}
	body := p[1 : len(p)-1]
	if strings.TrimSpace(body) == "" {
		return nil, nil, nil
	}
	var cur strings.Builder
	quoted, inQuotes, escaped, sawAny := false, false, false, false
	flush := func() error {
		v := cur.String()
		if !quoted {
			v = strings.TrimRight(v, " \t\n\r\v\f")
			if v == "" && !sawAny {
				return bad()
			}
		}
		isNull := !quoted && strings.EqualFold(v, "null")
		if isNull {
			v = ""
		}
		elems = append(elems, v)
		nulls = append(nulls, isNull)
		cur.Reset()
		quoted, sawAny = false, false
		return nil
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case escaped:
			cur.WriteByte(c)
			escaped, sawAny = false, true
		case c == '\\':
			escaped = true
		case inQuotes:
			if c == '"' {
				inQuotes = false
			} else {
				cur.WriteByte(c)
			}
		case c == '"':
			if sawAny && !quoted {
				return nil, nil, bad()
			}
			inQuotes, quoted = true, true
		case c == ',':
			if err := flush(); err != nil {
				return nil, nil, err
			}
		case c == '{' || c == '}':
			return nil, nil, bad() // nested arrays are not one-dimensional
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			if sawAny && !quoted {
				cur.WriteByte(c)
			}
		default:
			if quoted {
				return nil, nil, bad()
			}
			cur.WriteByte(c)
			sawAny = true
		}
	}
	if inQuotes || escaped {
		return nil, nil, bad()
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	return elems, nulls, nil
}

// addJSONPathOps registers the jsonb operators beyond -> and ->>:
// #> and #>> (path), ? ?| ?& (key existence), || (concatenation),
// - and #- (deletion) and <@ (contained in).
func (r *registry) addJSONPathOps() {
	j, t, i4, b := types.TJSONB, types.TText, types.TInt4, types.TBool
	tArr := types.T{Kind: types.Array, Elem: &types.TText}
	op := func(name string, args []types.T, ret types.T, f func(a []types.Datum) (types.Datum, error)) {
		r.op(&Scalar{Name: name, Args: args, Ret: ret, Strict: true,
			Eval: rowFunc(args, ret, true, func(_ *Env, a []types.Datum) (types.Datum, error) { return f(a) })})
	}
	path := func(asText bool) func(a []types.Datum) (types.Datum, error) {
		return func(a []types.Datum) (types.Datum, error) {
			v, keys, nulls, err := decodeJSONBKeys(a)
			if err != nil {
				return nil, err
			}
			el, ok := jsonPath(v, keys, nulls)
			if !ok {
				return nil, nil
			}
			return jsonbElement(el, asText), nil
		}
	}
	op("#>", ts(j, tArr), j, path(false))
	op("#>>", ts(j, tArr), t, path(true))

	op("?", ts(j, t), b, func(a []types.Datum) (types.Datum, error) {
		v, err := decodeJSONB(a[0])
		if err != nil {
			return nil, err
		}
		return jsonHasKey(v, a[1].(string)), nil
	})
	exists := func(all bool) func(a []types.Datum) (types.Datum, error) {
		return func(a []types.Datum) (types.Datum, error) {
			v, keys, nulls, err := decodeJSONBKeys(a)
			if err != nil {
				return nil, err
			}
			for i, k := range keys {
				if nulls[i] {
					continue // NULL keys are ignored
				}
				if jsonHasKey(v, k) != all {
					return !all, nil
				}
			}
			return all, nil
		}
	}
	op("?|", ts(j, tArr), b, exists(false))
	op("?&", ts(j, tArr), b, exists(true))

	op("||", ts(j, j), j, func(a []types.Datum) (types.Datum, error) {
		x, y, err := decodeJSONBPair(a)
		if err != nil {
			return nil, err
		}
		return encodeJSONB(jsonConcat(x, y)), nil
	})

	op("-", ts(j, t), j, func(a []types.Datum) (types.Datum, error) {
		v, err := decodeJSONB(a[0])
		if err != nil {
			return nil, err
		}
		return encodeJSONBOrErr(jsonDeleteKeys(v, []string{a[1].(string)}, nil))
	})
	op("-", ts(j, tArr), j, func(a []types.Datum) (types.Datum, error) {
		v, keys, nulls, err := decodeJSONBKeys(a)
		if err != nil {
			return nil, err
		}
		return encodeJSONBOrErr(jsonDeleteKeys(v, keys, nulls))
	})
	op("-", ts(j, i4), j, func(a []types.Datum) (types.Datum, error) {
		v, err := decodeJSONB(a[0])
		if err != nil {
			return nil, err
		}
		arr, ok := v.([]any)
		if !ok {
			if _, isObj := v.(map[string]any); isObj {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot delete from object using integer index")
			}
			return nil, errJSONScalarDelete()
		}
		return encodeJSONB(jsonDeleteIndex(arr, a[1].(int64))), nil
	})
	op("#-", ts(j, tArr), j, func(a []types.Datum) (types.Datum, error) {
		v, keys, nulls, err := decodeJSONBKeys(a)
		if err != nil {
			return nil, err
		}
		for _, isNull := range nulls {
			if isNull {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "path element at position %d is null", 1+slices.Index(nulls, true))
			}
		}
		return encodeJSONBOrErr(jsonDeletePath(v, keys, 0))
	})

	op("<@", ts(j, j), b, func(a []types.Datum) (types.Datum, error) {
		x, y, err := decodeJSONBPair(a)
		if err != nil {
			return nil, err
		}
		return jsonContainsTop(y, x), nil
	})
}

func decodeJSONB(d types.Datum) (any, error) {
	var v any
	err := decodeJSON(d.(string), &v)
	return v, err
}

// decodeJSONBPair decodes the two jsonb operands of a binary operator.
func decodeJSONBPair(a []types.Datum) (x, y any, err error) {
	if x, err = decodeJSONB(a[0]); err != nil {
		return nil, nil, err
	}
	y, err = decodeJSONB(a[1])
	return x, y, err
}

// decodeJSONBKeys decodes the operands of the operators that take a jsonb
// value and a text[] of keys or path elements (#> ?| - #-).
func decodeJSONBKeys(a []types.Datum) (v any, keys []string, nulls []bool, err error) {
	if v, err = decodeJSONB(a[0]); err != nil {
		return nil, nil, nil, err
	}
	keys, nulls, err = parseArrayText(a[1].(string))
	return v, keys, nulls, err
}

// encodeJSONBOrErr encodes the result of a jsonb edit that may fail.
func encodeJSONBOrErr(v any, err error) (types.Datum, error) {
	if err != nil {
		return nil, err
	}
	return encodeJSONB(v), nil
}

// jsonbElement is the result of an extraction: jsonb for -> and #>; text
// for ->> and #>> (asText), where a JSON string gives its contents and a
// JSON null gives SQL NULL.
func jsonbElement(el any, asText bool) types.Datum {
	if asText {
		return jsonbText(el)
	}
	return encodeJSONB(el)
}

func errJSONScalarDelete() error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "cannot delete from scalar")
}

// jsonArrayIndex reads a path element as an array subscript; negative
// counts from the end. ok is false when it is not an integer or out of
// range.
func jsonArrayIndex(k string, n int) (int, bool) {
	i, err := strconv.Atoi(strings.TrimSpace(k))
	if err != nil {
		return 0, false
	}
	if i < 0 {
		i += n
	}
	return i, i >= 0 && i < n
}

// jsonPath follows keys (object keys or array subscripts) from v, as
// jsonb_extract_path does; a NULL key or a missing step gives ok=false.
func jsonPath(v any, keys []string, nulls []bool) (any, bool) {
	for i, k := range keys {
		if nulls[i] {
			return nil, false
		}
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[k]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			idx, ok := jsonArrayIndex(k, len(x))
			if !ok {
				return nil, false
			}
			v = x[idx]
		default:
			return nil, false
		}
	}
	return v, true
}

// jsonHasKey is jsonb ? key: an object key, or a string element of an
// array (a scalar string counts as a one-element array).
func jsonHasKey(v any, k string) bool {
	switch x := v.(type) {
	case map[string]any:
		_, ok := x[k]
		return ok
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s == k {
				return true
			}
		}
	case string:
		return x == k
	}
	return false
}

// jsonConcat is jsonb || jsonb: objects merge (the right side wins),
// arrays concatenate, and any other value is taken as a one-element array.
func jsonConcat(x, y any) any {
	xo, xIsObj := x.(map[string]any)
	yo, yIsObj := y.(map[string]any)
	if xIsObj && yIsObj {
		out := make(map[string]any, len(xo)+len(yo))
		for k, e := range xo {
			out[k] = e
		}
		for k, e := range yo {
			out[k] = e
		}
		return out
	}
	asArray := func(v any) []any {
		if a, ok := v.([]any); ok {
			return a
		}
		return []any{v}
	}
	xa, ya := asArray(x), asArray(y)
	return append(append(make([]any, 0, len(xa)+len(ya)), xa...), ya...)
}

// jsonDeleteKeys is jsonb - text and jsonb - text[]: it drops the keys from
// an object, or the string elements equal to one of them from an array.
func jsonDeleteKeys(v any, keys []string, nulls []bool) (any, error) {
	drop := make(map[string]bool, len(keys))
	for i, k := range keys {
		if nulls == nil || !nulls[i] {
			drop[k] = true
		}
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if !drop[k] {
				out[k] = e
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok && drop[s] {
				continue
			}
			out = append(out, e)
		}
		return out, nil
	}
	if len(keys) == 0 {
		return v, nil
	}
	return nil, errJSONScalarDelete()
}

// jsonDeleteIndex drops element i (negative counts from the end); an index
// out of range leaves the array as it is.
func jsonDeleteIndex(arr []any, i int64) []any {
	n := int64(len(arr))
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return arr
	}
	return append(append(make([]any, 0, n-1), arr[:i]...), arr[i+1:]...)
}

// jsonDeletePath is jsonb #- text[]: it removes the value at the path and
// leaves the document unchanged when the path does not exist.
func jsonDeletePath(v any, keys []string, depth int) (any, error) {
	if len(keys) == 0 {
		return v, nil
	}
	switch x := v.(type) {
	case map[string]any:
		e, ok := x[keys[0]]
		if !ok {
			return v, nil
		}
		out := make(map[string]any, len(x))
		for k, el := range x {
			out[k] = el
		}
		if len(keys) == 1 {
			delete(out, keys[0])
			return out, nil
		}
		sub, err := jsonDeletePath(e, keys[1:], depth+1)
		if err != nil {
			return nil, err
		}
		out[keys[0]] = sub
		return out, nil
	case []any:
		i, err := strconv.Atoi(strings.TrimSpace(keys[0]))
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidTextRepresentation,
				"path element at position %d is not an integer: \"%s\"", depth+1, keys[0])
		}
		idx, ok := jsonArrayIndex(strconv.Itoa(i), len(x))
		if !ok {
			return v, nil
		}
		if len(keys) == 1 {
			return jsonDeleteIndex(x, int64(idx)), nil
		}
		sub, err := jsonDeletePath(x[idx], keys[1:], depth+1)
		if err != nil {
			return nil, err
		}
		out := append([]any(nil), x...)
		out[idx] = sub
		return out, nil
	}
	if depth == 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "cannot delete path in scalar")
	}
	return v, nil
}

// jsonContainsTop is jsonb @> at the top level, where an array also
// contains a bare scalar that is one of its elements.
func jsonContainsTop(x, y any) bool {
	if xa, ok := x.([]any); ok {
		switch y.(type) {
		case map[string]any, []any:
		default:
			for _, e := range xa {
				if jsonContains(e, y) {
					return true
				}
			}
			return false
		}
	}
	return jsonContains(x, y)
}
