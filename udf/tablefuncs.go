package udf

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Set-returning functions usable in FROM: generate_series and unnest.

func (r *registry) addTableFuncs() {
	one := func(name string) func(args []types.T) ([]string, []types.T) {
		return func(args []types.T) ([]string, []types.T) { return []string{name}, []types.T{args[0]} }
	}
	for _, t := range []types.T{types.TInt4, types.TInt8, types.TNumeric} {
		r.tfunc(&TableFunc{Name: "generate_series", Args: ts(t, t), Cols: one("generate_series"), Eval: genSeries})
		r.tfunc(&TableFunc{Name: "generate_series", Args: ts(t, t, t), Cols: one("generate_series"), Eval: genSeries})
	}
	for _, t := range []types.T{types.TTimestamp, types.TTimestampTZ} {
		r.tfunc(&TableFunc{Name: "generate_series", Args: ts(t, t, types.TInterval), Cols: one("generate_series"), Eval: genSeries})
	}
}

// seriesIter yields a series a batch at a time.
type seriesIter struct {
	t    types.T
	next func() (types.Datum, bool, error)
}

// arrayRows iterates over the elements of an array given in its text
// form: row makes the value of each from its position (from 0), the
// array's lower bound and its text (nil for a NULL element). A NULL array
// has no rows; notArray is the error for a value that is not an array.
func arrayRows(arr types.Datum, arrType, rowType types.T, notArray string, row func(i, lower int, e *string) (types.Datum, error)) (RowIter, error) {
	if arr == nil {
		return emptyIter{}, nil
	}
	s, ok := arr.(string)
	if !ok {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "%s", notArray)
	}
	elems, lower, err := ArrayElems(s, arrType)
	if err != nil {
		return nil, err
	}
	i := 0
	return &seriesIter{t: rowType, next: func() (types.Datum, bool, error) {
		if i >= len(elems) {
			return nil, false, nil
		}
		i++
		v, err := row(i-1, lower, elems[i-1])
		return v, true, err
	}}, nil
}

func (s *seriesIter) Next(max int) ([]arrow.Array, int, error) {
	b := types.NewBuilder(s.t)
	defer b.Release()
	n := 0
	for n < max {
		d, ok, err := s.next()
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			break
		}
		types.AppendDatum(b, d)
		n++
	}
	if n == 0 {
		return nil, 0, nil
	}
	return []arrow.Array{b.NewArray()}, n, nil
}

func (s *seriesIter) Close() {}

// emptyIter yields no rows (a NULL argument).
type emptyIter struct{}

func (emptyIter) Next(int) ([]arrow.Array, int, error) { return nil, 0, nil }
func (emptyIter) Close()                               {}

func genSeries(env *Env, args []types.Datum, argTypes []types.T) (RowIter, error) {
	for _, a := range args {
		if a == nil {
			return emptyIter{}, nil
		}
	}
	t := argTypes[0]
	switch t.Kind {
	case types.Int4, types.Int8:
		cur, stop, step := args[0].(int64), args[1].(int64), int64(1)
		if len(args) == 3 {
			step = args[2].(int64)
		}
		if step == 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "step size cannot equal zero")
		}
		done := false
		return &seriesIter{t: t, next: func() (types.Datum, bool, error) {
			if done || (step > 0 && cur > stop) || (step < 0 && cur < stop) {
				return nil, false, nil
			}
			v := cur
			r := cur + step
			if ((cur ^ r) & (step ^ r)) < 0 {
				done = true // the next value would overflow: stop after this one
			}
			cur = r
			return v, true, nil
		}}, nil
	case types.Numeric:
		cur := new(apd.Decimal).Set(args[0].(*apd.Decimal))
		stop := args[1].(*apd.Decimal)
		step := apd.New(1, 0)
		if len(args) == 3 {
			step = args[2].(*apd.Decimal)
		}
		if step.IsZero() {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "step size cannot equal zero")
		}
		return &seriesIter{t: t, next: func() (types.Datum, bool, error) {
			c := cur.Cmp(stop)
			if (step.Sign() > 0 && c > 0) || (step.Sign() < 0 && c < 0) {
				return nil, false, nil
			}
			v := new(apd.Decimal).Set(cur)
			_, _ = types.DecimalCtx.Add(cur, cur, step)
			return v, true, nil
		}}, nil
	case types.TimestampKind, types.TimestampTZ:
		cur, stop := args[0].(types.Timestamp), args[1].(types.Timestamp)
		step := args[2].(types.IntervalValue)
		dir := CompareInterval(step, types.IntervalValue{})
		if dir == 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "step size cannot equal zero")
		}
		return &seriesIter{t: t, next: func() (types.Datum, bool, error) {
			if (dir > 0 && cur > stop) || (dir < 0 && cur < stop) {
				return nil, false, nil
			}
			v := cur
			// PostgreSQL adds the step to the previous value each time.
			next, err := types.AddInterval(cur, step, env.loc(), t.Kind == types.TimestampTZ)
			if err != nil {
				return nil, false, err
			}
			cur = next
			return v, true, nil
		}}, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "generate_series(%s) is not supported", t)
}

// unnestZip is unnest of several arrays: row i holds element i of each
// array, NULL past an array's end; a NULL array counts as empty.
func unnestZip(env *Env, args []types.Datum, argTypes []types.T) (RowIter, error) {
	cts := make([]types.T, len(args))
	var rows [][]types.Datum
	for c, a := range args {
		if argTypes[c].Kind != types.Array {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "argument %d of unnest is not an array", c+1)
		}
		cts[c] = elemType(argTypes[c])
		if a == nil {
			continue
		}
		s, ok := a.(string)
		if !ok {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "argument %d of unnest is not an array", c+1)
		}
		elems, _, err := ArrayElems(s, argTypes[c])
		if err != nil {
			return nil, err
		}
		for i, e := range elems {
			if i == len(rows) {
				rows = append(rows, make([]types.Datum, len(args)))
			}
			if e == nil {
				continue
			}
			if rows[i][c], err = types.Cast(*e, types.TText, cts[c], envLocation(env)); err != nil {
				return nil, err
			}
		}
	}
	return &rowsIter{ts: cts, rows: rows}, nil
}
