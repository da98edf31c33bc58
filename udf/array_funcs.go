package udf

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// The array functions that add, remove, replace and find elements
// (array_append, array_prepend, array_cat, array_remove, array_replace,
// array_position, array_positions) and the || operators over arrays. As
// in PostgreSQL 14 and later they take anycompatiblearray and
// anycompatible: ARRAY[1,2] || 2.5 is numeric[]. None is strict: a NULL
// array is an empty one to append to, and a NULL element is an element.
// Elements are compared by value in the element type (1.0 matches 1 in a
// numeric[]), NULL matching NULL, as PostgreSQL's IS NOT DISTINCT FROM.

func init() { builtins.addArrayFuncs() }

// arrayValue is one array argument: its elements in text form, or null.
type arrayValue struct {
	elems []*string
	null  bool
}

func readArray(d types.Datum, t types.T) (arrayValue, error) {
	if d == nil {
		return arrayValue{null: true}, nil
	}
	s, ok := d.(string)
	if !ok {
		return arrayValue{}, sqlerr.New(sqlerr.DatatypeMismatch, "argument is not an array")
	}
	elems, _, err := ArrayElems(s, t)
	return arrayValue{elems: elems}, err
}

// elemText is d, of the element type t, as an array element.
func elemText(d types.Datum, t types.T, loc *time.Location) *string {
	if d == nil {
		return nil
	}
	s := types.FormatText(d, t, loc)
	return &s
}

// elemMatcher reports whether an element (text form) equals d, NULL
// matching NULL.
func elemMatcher(d types.Datum, t types.T, loc *time.Location) func(e *string) (bool, error) {
	return func(e *string) (bool, error) {
		if e == nil || d == nil {
			return e == nil && d == nil, nil
		}
		v, err := types.ParseText(*e, t, loc)
		if err != nil {
			return false, err
		}
		return types.Compare(v, d, t) == 0, nil
	}
}

func (r *registry) addArrayFuncs() {
	arr, elem, i4 := AnyCompatibleArray, AnyCompatible, types.TInt4
	i4arr := types.T{Kind: types.Array, Elem: &types.TInt4}
	// arrayFunc registers an array function; f gets the arguments, the
	// element type and the session's time zone, and retArg names the
	// argument whose (array) type is the result type, or -1 for ret.
	arrayFunc := func(name string, args []types.T, ret types.T, retArg int, f func(a []types.Datum, ats []types.T, et types.T, loc *time.Location) (types.Datum, error)) *Scalar {
		s := &Scalar{Name: name, Args: args, Ret: ret, Volatility: Immutable,
			Eval: func(*Env, []arrow.Array, int) (arrow.Array, error) {
				return nil, sqlerr.New(sqlerr.InternalError, "%s needs its argument types", name)
			},
			EvalTyped: func(env *Env, ats []types.T, cols []arrow.Array, n int) (arrow.Array, error) {
				et := types.TText
				for j, d := range args {
					if d.Kind == types.Array && ats[j].Kind == types.Array && ats[j].Elem != nil {
						et = *ats[j].Elem
					}
				}
				rt := ret
				if retArg >= 0 {
					rt = ats[retArg]
				}
				loc := envLocation(env)
				return rowFunc(ats, rt, false, func(_ *Env, a []types.Datum) (types.Datum, error) {
					return f(a, ats, et, loc)
				})(env, cols, n)
			}}
		if retArg >= 0 {
			s.RetFn = func(ats []types.T) types.T {
				if ats[retArg].Kind == types.Array && ats[retArg].Elem != nil {
					return ats[retArg]
				}
				return ret
			}
		}
		return s
	}
	appendElem := func(a []types.Datum, ats []types.T, et types.T, loc *time.Location) (types.Datum, error) {
		x, err := readArray(a[0], ats[0])
		if err != nil {
			return nil, err
		}
		return formatArrayElems(append(x.elems, elemText(a[1], et, loc))), nil
	}
	prependElem := func(a []types.Datum, ats []types.T, et types.T, loc *time.Location) (types.Datum, error) {
		x, err := readArray(a[1], ats[1])
		if err != nil {
			return nil, err
		}
		return formatArrayElems(append([]*string{elemText(a[0], et, loc)}, x.elems...)), nil
	}
	cat := func(a []types.Datum, ats []types.T, _ types.T, _ *time.Location) (types.Datum, error) {
		x, err := readArray(a[0], ats[0])
		if err != nil {
			return nil, err
		}
		y, err := readArray(a[1], ats[1])
		if err != nil {
			return nil, err
		}
		if x.null && y.null {
			return nil, nil
		}
		return formatArrayElems(append(x.elems, y.elems...)), nil
	}
	remove := func(a []types.Datum, ats []types.T, et types.T, loc *time.Location) (types.Datum, error) {
		x, err := readArray(a[0], ats[0])
		if err != nil || x.null {
			return nil, err
		}
		match := elemMatcher(a[1], et, loc)
		out := x.elems[:0:0]
		for _, e := range x.elems {
			m, err := match(e)
			if err != nil {
				return nil, err
			}
			if !m {
				out = append(out, e)
			}
		}
		return formatArrayElems(out), nil
	}
	replace := func(a []types.Datum, ats []types.T, et types.T, loc *time.Location) (types.Datum, error) {
		x, err := readArray(a[0], ats[0])
		if err != nil || x.null {
			return nil, err
		}
		match, to := elemMatcher(a[1], et, loc), elemText(a[2], et, loc)
		out := make([]*string, len(x.elems))
		for i, e := range x.elems {
			m, err := match(e)
			if err != nil {
				return nil, err
			}
			out[i] = e
			if m {
				out[i] = to
			}
		}
		return formatArrayElems(out), nil
	}
	// positions returns the 1-based positions of the matches from start,
	// the first only when first is set.
	positions := func(a []types.Datum, ats []types.T, et types.T, loc *time.Location, start int, first bool) ([]int, bool, error) {
		x, err := readArray(a[0], ats[0])
		if err != nil || x.null {
			return nil, false, err
		}
		match := elemMatcher(a[1], et, loc)
		var out []int
		for i := max(start, 1) - 1; i < len(x.elems); i++ {
			m, err := match(x.elems[i])
			if err != nil {
				return nil, false, err
			}
			if m {
				out = append(out, i+1)
				if first {
					break
				}
			}
		}
		return out, true, nil
	}
	position := func(a []types.Datum, ats []types.T, et types.T, loc *time.Location) (types.Datum, error) {
		start := 1
		if len(a) > 2 {
			if a[2] == nil {
				return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "initial position must not be null")
			}
			start = int(a[2].(int64))
		}
		ps, ok, err := positions(a, ats, et, loc, start, true)
		if err != nil || !ok || len(ps) == 0 {
			return nil, err
		}
		return int64(ps[0]), nil
	}
	allPositions := func(a []types.Datum, ats []types.T, et types.T, loc *time.Location) (types.Datum, error) {
		ps, ok, err := positions(a, ats, et, loc, 1, false)
		if err != nil || !ok {
			return nil, err
		}
		texts := make([]*string, len(ps))
		for i, p := range ps {
			texts[i] = elemText(int64(p), types.TInt4, loc)
		}
		return formatArrayElems(texts), nil
	}

	r.fn(arrayFunc("array_append", ts(arr, elem), arr, 0, appendElem))
	r.fn(arrayFunc("array_prepend", ts(elem, arr), arr, 1, prependElem))
	r.fn(arrayFunc("array_cat", ts(arr, arr), arr, 0, cat))
	r.fn(arrayFunc("array_remove", ts(arr, elem), arr, 0, remove))
	r.fn(arrayFunc("array_replace", ts(arr, elem, elem), arr, 0, replace))
	r.fn(arrayFunc("array_position", ts(arr, elem), i4, -1, position))
	r.fn(arrayFunc("array_position", ts(arr, elem, i4), i4, -1, position))
	r.fn(arrayFunc("array_positions", ts(arr, elem), i4arr, -1, allPositions))
	r.op(arrayFunc("||", ts(arr, elem), arr, 0, appendElem))
	r.op(arrayFunc("||", ts(elem, arr), arr, 1, prependElem))
	r.op(arrayFunc("||", ts(arr, arr), arr, 0, cat))
}
