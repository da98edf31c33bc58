package plan

import (
	"streamsql/sql/types"
	"streamsql/udf"
)

// Quantified comparisons with a subquery as values, for views. A view
// cannot compare each outer row with every row of the subquery (a nested
// loop join, whose state keeps both inputs whole); for one column and a
// comparison operator the subquery's rows reduce to four aggregates per
// correlation key, which a left join brings to each outer row:
//
//	n = count(*), nv = count(y), lo = min(y), hi = max(y)
//
//	x > ANY S   true where x > lo      x < ANY S   true where x < hi
//	x >= ANY S  true where x >= lo     x <= ANY S  true where x <= hi
//	x <> ANY S  true where x <> lo OR x <> hi
//
// and x op ANY S is false where S is empty (n = 0), NULL where x is NULL,
// true where the test above holds, NULL where S holds a NULL (n <> nv),
// and false otherwise, which is PostgreSQL's rule: true when one
// comparison is true, false when all are false (or there are none), NULL
// otherwise. x op ALL S is NOT (x negop ANY S) with negop the negated
// operator (> and <=, >= and <, = and <>), three-valued NOT included:
// ALL is false when one comparison is false, true when all are true.
// x = ANY S (IN) needs the rows equal to x, not extremes: it is the
// counting left join of markJoin, and x <> ALL S its negation.
//
// The aggregates are grouped by the subquery's correlation equalities
// (as a correlated scalar subquery over an aggregate, correlatedAggJoin);
// an uncorrelated subquery gives one row, joined as a dynamic filter.
// min and max keep their input per group to follow deletes, but no outer
// row is stored against a subquery row: a change of the subquery updates
// one aggregate row, which re-evaluates the outer rows of its key.

// negatedOp is the operator whose result is the negation of op's on
// non-NULL operands.
var negatedOp = map[string]string{"<": ">=", ">=": "<", ">": "<=", "<=": ">", "=": "<>", "<>": "="}

// quantifiedValue computes x op ANY|ALL (subquery of one column) as a
// value over a left join of input (see above); it returns the join and
// the value over its columns.
func quantifiedValue(input Rel, sq *Subquery) (Rel, Scalar, bool) {
	if sq.Lefts != nil || sq.Op == nil || !movableOuter(sq.Left) || len(sq.Plan.OutputTypes()) != 1 {
		return nil, nil, false
	}
	op := sq.Op.Name
	if sq.Kind == AllSubquery {
		neg, ok := negatedOp[op]
		if !ok {
			return nil, nil, false
		}
		fn, ok := sameTypedOperator(neg, sq.Left.Type(), sq.Plan.OutputTypes()[0])
		if !ok {
			return nil, nil, false
		}
		any := *sq
		any.Kind, any.Op = AnySubquery, fn
		j, v, ok := quantifiedValue(input, &any)
		if !ok {
			return nil, nil, false
		}
		return j, &Not{Input: v}, true
	}
	if sq.Kind != AnySubquery {
		return nil, nil, false
	}
	if op == "=" {
		return markJoin(input, sq)
	}
	if _, ok := negatedOp[op]; !ok {
		return nil, nil, false
	}
	return extremumJoin(input, sq)
}

// sameTypedOperator looks op up for operands of types l and r, and
// returns it only when it takes them as they are.
func sameTypedOperator(op string, l, r types.T) (*udf.Scalar, bool) {
	fn, argTypes, err := udf.LookupOperator(op, l, r)
	if err != nil || !argTypes[0].Equal(l) || !argTypes[1].Equal(r) || fn.Ret.Kind != types.Bool {
		return nil, false
	}
	return fn, true
}

// extremumJoin builds x op ANY S for an ordering operator or <> from the
// aggregates n, nv, lo and hi of S (see above).
func extremumJoin(input Rel, sq *Subquery) (Rel, Scalar, bool) {
	yt := sq.Plan.OutputTypes()[0]
	var calls []AggCall
	for _, name := range []string{"count", "count", "min", "max"} {
		var args []types.T
		if len(calls) > 0 {
			args = []types.T{yt}
		}
		fn, argTypes, err := udf.LookupAggregate(name, args)
		if err != nil || (len(args) > 0 && !argTypes[0].Equal(yt)) {
			return nil, nil, false
		}
		c := AggCall{Fn: fn, Filter: -1, T: fn.ResultType(args)}
		if len(args) > 0 {
			c.Args = []int{0}
		}
		calls = append(calls, c)
	}
	agg := &Aggregate{Input: sq.Plan, Aggs: calls}
	var j Rel
	var vals []Scalar
	if streamOuterFree(sq.Plan) {
		lw := len(input.OutputTypes())
		j = &Join{Kind: LeftJoin, Left: input, Right: agg}
		for i, c := range calls {
			var v Scalar = &ColRef{Idx: lw + i, T: c.T, Name: c.Fn.Name}
			if c.Fn.Name == "count" {
				v = &Coalesce{Args: []Scalar{v, &Const{Value: int64(0), T: types.TInt8}}, T: types.TInt8}
			}
			vals = append(vals, v)
		}
	} else {
		cj, cv, having, ok := correlatedAggJoin(input, agg)
		if !ok || having != nil || len(cv) != len(calls) {
			return nil, nil, false
		}
		j, vals = cj, cv
	}
	n, nv, lo, hi := vals[0], vals[1], vals[2], vals[3]
	x := sq.Left
	cmp := func(e Scalar) Scalar { return &Call{Fn: sq.Op, Args: []Scalar{x, e}, T: types.TBool} }
	var holds Scalar
	switch sq.Op.Name {
	case ">", ">=":
		holds = cmp(lo)
	case "<", "<=":
		holds = cmp(hi)
	default: // <>
		holds = &Or{Args: []Scalar{cmp(lo), cmp(hi)}}
	}
	zero := &Const{Value: int64(0), T: types.TInt8}
	empty, ok1 := operator("=", n, zero)
	hasNull, ok2 := operator("<>", n, nv)
	if !ok1 || !ok2 {
		return nil, nil, false
	}
	null := &Const{T: types.TBool}
	val := &Case{
		Whens: []Scalar{empty, &IsNull{Input: x}, holds, hasNull},
		Thens: []Scalar{&Const{Value: false, T: types.TBool}, null, &Const{Value: true, T: types.TBool}, null},
		Else:  &Const{Value: false, T: types.TBool},
		T:     types.TBool,
	}
	return j, val, true
}
