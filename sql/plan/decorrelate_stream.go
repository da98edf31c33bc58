package plan

import (
	"streamsql/sql/types"
	"streamsql/udf"
)

// Decorrelation for materialized views. A view cannot run a subquery
// once per row or once per statement: its result must follow every change
// of the subquery's tables. So every subquery of a view's plan becomes a
// join, which the stream engine maintains incrementally:
//
//	EXISTS (SELECT .. WHERE a = outer.b)    ->  semi join on b = a
//	NOT EXISTS (...)                        ->  anti join on b = a
//	x IN (SELECT y ... [WHERE corr])        ->  semi join on x = y [and corr]
//	x NOT IN (SELECT y ... [WHERE a = o.b]) ->  null-aware anti join (below)
//	x op ALL (SELECT y ...), (a, b) NOT IN  ->  anti or semi join on the
//	(SELECT x, y ...)                           comparison IS [NOT] TRUE|FALSE
//	EXISTS (SELECT ...) uncorrelated        ->  semi join against the one
//	                                            row (SELECT count(*) ...),
//	                                            condition count > 0
//	p(x, (SELECT agg ...)) in WHERE         ->  semi join against the one row
//	                                            of the aggregate, condition p
//	(SELECT ...) of at most one row         ->  left join against it, the
//	                                            subquery replaced by its column
//	x IN (...), EXISTS (...) as a value     ->  left joins against counts
//	(select list, under OR)                     (markJoin)
//
// A semi or anti join keeps the rows of a WHERE conjunct exactly: there a
// NULL result and false both drop the row.
//
// NOT IN follows PostgreSQL: x NOT IN S is true when S is empty, NULL
// (the row dropped) when x is NULL or S holds a NULL and no y = x, and
// false when some y = x. A plain anti join on x = y keeps the rows whose
// x equals no y, including those whose x is NULL; a second anti join
// against the aggregate (count(*), count(y)) of S (grouped by the
// correlation columns) then drops those rows for which S is not empty and
// x is NULL or S holds a NULL (count(*) <> count(y)).
//
// A scalar subquery is joined only when its plan provably returns at most
// one row (an aggregate without GROUP BY, possibly filtered by HAVING and
// projected): a subquery that returns two rows is an error in PostgreSQL
// (21000), which a view could only raise long after it was created.
// A correlated scalar subquery over an aggregate without GROUP BY,
//
//	(SELECT f(agg(x)) FROM u WHERE u.a = outer.b AND ...)
//
// becomes a left join on b = a with the aggregate grouped by a; the
// subquery's value is f over the joined aggregate, with count's value for
// no rows (0) where the join found no group, and NULL where its HAVING
// fails. A correlated scalar subquery whose equalities fix the key of
// the relation it reads (a lookup by primary key) is a left join with
// that relation. x op ALL (...), NOT (x op ANY (...)) for other operators
// than =, and row comparisons (NOT IN over several columns) in a WHERE
// conjunct are semi and anti joins whose condition tests the comparison
// for true, false or NULL (quantifiedJoin). Subqueries whose correlation
// is not in the filter under the aggregate (or is not an equality, for
// scalar subqueries), and ALL as a value, stay subqueries, and the stream
// lowering refuses them.

// StreamDecorrelate is the decorrelation rule of view plans (see above).
func StreamDecorrelate() Rule {
	return Rule{Name: "decorrelate-stream", Apply: func(r Rel) (Rel, bool) { return streamDecorrelateTree(r, 0) }}
}

// streamDecorrelateTree rewrites r's inputs, then r; unlike local, it
// descends into aggregates and set-returning projections too.
func streamDecorrelateTree(r Rel, depth int) (Rel, bool) {
	changed := false
	if ins := Inputs(r); len(ins) > 0 {
		outs := make([]Rel, len(ins))
		for i, in := range ins {
			var c bool
			outs[i], c = streamDecorrelateTree(in, depth)
			changed = changed || c
		}
		if changed {
			r = withAnyInputs(r, outs)
		}
	}
	out, ok := streamDecorrelateNode(r)
	if !ok || depth > 64 {
		return out, changed || ok
	}
	out, _ = streamDecorrelateTree(out, depth+1)
	return out, true
}

// withAnyInputs is WithInputs for the nodes it leaves as they are.
func withAnyInputs(r Rel, ins []Rel) Rel {
	switch x := r.(type) {
	case *Aggregate:
		c := *x
		c.Input = ins[0]
		return &c
	case *ProjectSet:
		c := *x
		c.Input = ins[0]
		return &c
	}
	return WithInputs(r, ins)
}

func streamDecorrelateNode(r Rel) (Rel, bool) {
	switch x := r.(type) {
	case *Filter:
		return streamDecorrelateFilter(x)
	case *Project:
		in, exprs, ok := joinScalarSubqueries(x.Input, x.Exprs)
		if !ok {
			return r, false
		}
		return &Project{Input: in, Exprs: exprs}, true
	}
	return r, false
}

func streamDecorrelateFilter(f *Filter) (Rel, bool) {
	conj := SplitAnd(f.Pred, nil)
	for i, c := range conj {
		j, ok := streamSubqueryJoin(f.Input, c)
		if !ok {
			continue
		}
		for _, b := range conj[:i] {
			if !movable(b) {
				return f, false
			}
		}
		rest := append(append([]Scalar{}, conj[:i]...), conj[i+1:]...)
		return above(j, rest), true
	}
	// Scalar subqueries anywhere in the predicate: join them, filter,
	// and drop their columns again.
	lw := len(f.Input.OutputTypes())
	in, preds, ok := joinScalarSubqueries(f.Input, []Scalar{f.Pred})
	if !ok {
		return f, false
	}
	return &Project{Input: &Filter{Input: in, Pred: preds[0]}, Exprs: columnRefs(f.Input.OutputTypes(), lw)}, true
}

// columnRefs lists references to the first n columns of types ts.
func columnRefs(ts []types.T, n int) []Scalar {
	out := make([]Scalar, n)
	for i := range out {
		out[i] = &ColRef{Idx: i, T: ts[i]}
	}
	return out
}

// streamSubqueryJoin turns conjunct c over input into joins, when it is
// one of the forms in the comment above.
func streamSubqueryJoin(input Rel, c Scalar) (Rel, bool) {
	neg := false
	if n, ok := c.(*Not); ok {
		neg, c = true, n.Input
	}
	lw := len(input.OutputTypes())
	sq, ok := c.(*Subquery)
	if !ok {
		if neg {
			return nil, false
		}
		return scalarSemiJoin(input, c, lw)
	}
	kind := SemiJoin
	if neg {
		kind = AntiJoin
	}
	switch sq.Kind {
	case ExistsSubquery:
		if !sq.Correlated {
			return existsCountJoin(input, sq, kind, lw)
		}
		sp, ok := splitSubquery(sq.Plan, lw, false)
		if !ok || len(sp.corr) == 0 {
			return nil, false
		}
		return sp.join(input, kind, nil, lw), true
	case AnySubquery, AllSubquery:
		sp, ok := splitSubquery(sq.Plan, lw, true)
		if !ok || !movableOuter(sq.Left) {
			return nil, false
		}
		lefts, ops := sq.Lefts, sq.Ops
		if lefts == nil {
			lefts, ops = []Scalar{sq.Left}, []*udf.Scalar{sq.Op}
		}
		if len(lefts) != len(sp.sel) {
			return nil, false
		}
		var conds []Scalar
		for k, l := range lefts {
			if !movableOuter(l) || ops[k] == nil {
				return nil, false
			}
			conds = append(conds, &Call{Fn: ops[k], Args: []Scalar{l, sp.sel[k]}, T: types.TBool})
		}
		if sq.RowEqs != nil {
			// An ordering of rows: one condition, the first pair that is
			// not equal deciding.
			conds = []Scalar{rowOrder(conds, lefts, sq.RowEqs, sp.sel)}
		}
		return quantifiedSubqueryJoin(input, sq, sp, neg, lefts, ops, conds, lw), true
	}
	return nil, false
}

// quantifiedSubqueryJoin builds the conjunct [NOT] lefts op ANY|ALL
// (subquery) in WHERE, conds being the comparisons of lefts with the
// subquery's columns over the join's columns: IN as a semi join, NOT IN
// and <> ALL as notInJoin, the others as quantifiedJoin, unless that
// would be a nested loop join (no equality to hash on) over one column,
// which the subquery's aggregates compute instead (quantifiedValue).
func quantifiedSubqueryJoin(input Rel, sq *Subquery, sp splitSub, neg bool, lefts []Scalar, ops []*udf.Scalar, conds []Scalar, lw int) Rel {
	single := len(conds) == 1
	if sq.Kind == AnySubquery && !neg && (single || ops[0].Name == "=") {
		if j := sp.join(input, SemiJoin, conds, lw); len(j.Keys.Left) > 0 || !single {
			return j
		}
	}
	notIn := single && ((sq.Kind == AnySubquery && neg && ops[0].Name == "=") || (sq.Kind == AllSubquery && !neg && ops[0].Name == "<>"))
	if notIn {
		// x <> ALL S is x NOT IN S.
		eq, ok := conds[0], true
		if ops[0].Name == "<>" {
			var fn *udf.Scalar
			fn, ok = sameTypedOperator("=", lefts[0].Type(), sp.sel[0].Type())
			eq = &Call{Fn: fn, Args: []Scalar{lefts[0], sp.sel[0]}, T: types.TBool}
		}
		if ok {
			if j, ok := notInJoin(input, sp, lefts[0], eq, lw); ok {
				return j
			}
		}
	}
	j := quantifiedJoin(input, sp, sq.Kind == AllSubquery, neg, rowCompare(conds, ops[0].Name), lw)
	if nl, ok := j.(*Join); ok && len(nl.Keys.Left) == 0 && single {
		// No equality to hash on: the aggregates of the subquery
		// instead of a nested loop join.
		if qj, val, ok := quantifiedValue(input, sq); ok {
			if neg {
				val = &Not{Input: val}
			}
			return &Project{Input: &Filter{Input: qj, Pred: val}, Exprs: columnRefs(input.OutputTypes(), lw)}
		}
	}
	return j
}

// rowCompare is the comparison of a row with a subquery's row from the
// comparisons of their columns: all of them for =, any for <> (row
// comparison is only = or <>), with SQL's three-valued AND and OR.
func rowCompare(conds []Scalar, op string) Scalar {
	switch {
	case len(conds) == 1:
		return conds[0]
	case op == "<>":
		return &Or{Args: conds}
	}
	return &And{Args: conds}
}

// rowOrder is the ordering of a row with a subquery's row, as
// PostgreSQL compares rows: conds[0] OR (l0 = r0 AND (conds[1] OR ...)),
// conds being the columns' orderings (strict but for the last).
func rowOrder(conds, lefts []Scalar, eqs []*udf.Scalar, sel []Scalar) Scalar {
	last := len(conds) - 1
	acc := conds[last]
	for k := last - 1; k >= 0; k-- {
		eq := &Call{Fn: eqs[k], Args: []Scalar{lefts[k], sel[k]}, T: types.TBool}
		acc = &Or{Args: []Scalar{conds[k], &And{Args: []Scalar{eq, acc}}}}
	}
	return acc
}

// quantifiedJoin keeps the rows of input for which cmp op ANY/ALL (the
// subquery), or its negation, is true, as a semi or anti join with cmp
// (over the join's columns) in the condition, with PostgreSQL's NULL
// rules. A comparison with the subquery's rows is true, false or NULL;
// ANY is true when one is true, false when all are false (or there are
// none), NULL otherwise; ALL is false when one is false, true when all
// are true (or there are none), NULL otherwise. In WHERE only true keeps
// the row, so:
//
//	x op ANY S       semi join on cmp IS TRUE (the plain semi join above)
//	NOT x op ANY S   anti join on cmp IS NOT FALSE (no row true or NULL)
//	x op ALL S       anti join on cmp IS NOT TRUE (no row false or NULL)
//	NOT x op ALL S   semi join on cmp IS FALSE (one row false)
//
// The condition has no equality between the sides (unless the subquery's
// correlation gives one), so the join is usually a nested loop join.
func quantifiedJoin(input Rel, sp splitSub, all, neg bool, cmp Scalar, lw int) Rel {
	kind, test := SemiJoin, &BoolTest{Input: cmp, Want: ptrBool(true)}
	switch {
	case !all && neg:
		kind, test = AntiJoin, &BoolTest{Input: cmp, Want: ptrBool(false), Negate: true}
	case all && !neg:
		kind, test = AntiJoin, &BoolTest{Input: cmp, Want: ptrBool(true), Negate: true}
	case all && neg:
		kind, test = SemiJoin, &BoolTest{Input: cmp, Want: ptrBool(false)}
	}
	return sp.join(input, kind, []Scalar{test}, lw)
}

func ptrBool(b bool) *bool { return &b }

// movableOuter reports whether e reads only input columns and runs
// nothing volatile.
func movableOuter(e Scalar) bool {
	if e == nil {
		return true
	}
	d1, other := outerRefs(e)
	return !d1 && !other && movable(e)
}

// splitSub is a subquery plan taken apart for a join: right is the
// relation it reads, corr its correlation conjuncts over the join's
// columns (the outer row's columns first, right's after lw), sel its
// select list over the join's columns.
type splitSub struct {
	right Rel
	corr  []Scalar
	sel   []Scalar
	rw    int
}

// splitSubquery takes p apart: an optional projection (the select list),
// over a filter whose conjuncts read the outer row through depth-1
// references (the correlation) or not (they stay on the right), over a
// relation that reads no outer row. withSel: the select list is needed
// (IN), so it must read no outer row.
func splitSubquery(p Rel, lw int, withSel bool) (splitSub, bool) {
	var sel []Scalar
	if pr, ok := p.(*Project); ok {
		sel, p = pr.Exprs, pr.Input
	}
	var sp splitSub
	right := p
	if f, ok := p.(*Filter); ok && !streamOuterFree(f) {
		if !streamOuterFree(f.Input) {
			return sp, false
		}
		if right, sp.corr, ok = splitFilter(f, lw); !ok {
			return sp, false
		}
	} else if !streamOuterFree(p) {
		return sp, false
	}
	sp.right, sp.rw = right, len(right.OutputTypes())
	if withSel {
		if sel == nil {
			ts := right.OutputTypes()
			for i, t := range ts {
				sel = append(sel, &ColRef{Idx: i, T: t})
			}
		}
		if !readsNoOuterRow(sel...) {
			return sp, false
		}
		for _, e := range sel {
			sp.sel = append(sp.sel, toJoinCols(e, lw))
		}
	}
	return sp, true
}

// toJoinCols rewrites a subquery conjunct over the join's columns: outer
// references of depth 1 become left columns, the subquery's columns right
// ones.
func toJoinCols(c Scalar, lw int) Scalar {
	return Rewrite(c, func(x Scalar) (Scalar, bool) {
		switch n := x.(type) {
		case *OuterRef:
			if n.Depth == 1 {
				return &ColRef{Idx: n.Idx, T: n.T, Name: n.Name}, true
			}
		case *ColRef:
			return &ColRef{Idx: lw + n.Idx, T: n.T, Name: n.Name}, true
		case *Subquery:
			return x, true
		}
		return nil, false
	})
}

// join joins input with the subquery's relation: the correlation and
// conds become keys where they are equalities, the residual otherwise.
func (sp splitSub) join(input Rel, kind JoinKind, conds []Scalar, lw int) *Join {
	j := &Join{Kind: kind, Left: input, Right: sp.right}
	var residual []Scalar
	for _, c := range append(append([]Scalar{}, sp.corr...), conds...) {
		if !j.Keys.Add(c, lw, lw+sp.rw) {
			residual = append(residual, c)
		}
	}
	j.Residual = AndAll(residual)
	return j
}

// notInJoin builds x NOT IN (subquery): an anti join on the correlation
// and x = y, then an anti join against the aggregate of the subquery's
// rows per correlation key (see the comment at the top).
func notInJoin(input Rel, sp splitSub, x, eq Scalar, lw int) (Rel, bool) {
	anti := sp.join(input, AntiJoin, []Scalar{eq}, lw)
	nk := len(sp.corr)
	if anti.Residual != nil || len(anti.Keys.Left) != nk+1 {
		// x = y or a correlation conjunct is not a hash key: the NULL
		// rules below need equality keys.
		return nil, false
	}
	// The aggregate's input: the correlation's right key expressions,
	// then y (x = y is the last key).
	exprs := append([]Scalar{}, anti.Keys.Right...)
	count, _, err := udf.LookupAggregate("count", nil)
	if err != nil {
		return nil, false
	}
	countY, _, err := udf.LookupAggregate("count", []types.T{exprs[nk].Type()})
	if err != nil {
		return nil, false
	}
	groups := make([]int, nk)
	for i := range groups {
		groups[i] = i
	}
	agg := &Aggregate{Input: &Project{Input: sp.right, Exprs: exprs}, GroupCols: groups, Aggs: []AggCall{
		{Fn: count, Filter: -1, T: types.TInt8},
		{Fn: countY, Args: []int{nk}, Filter: -1, T: types.TInt8},
	}}
	n := &ColRef{Idx: lw + nk, T: types.TInt8, Name: "count"}
	nv := &ColRef{Idx: lw + nk + 1, T: types.TInt8, Name: "count"}
	gt, ok1 := operator(">", n, &Const{Value: int64(0), T: types.TInt8})
	ne, ok2 := operator("<>", n, nv)
	if !ok1 || !ok2 {
		return nil, false
	}
	j := &Join{Kind: AntiJoin, Left: anti, Right: agg,
		Residual: &And{Args: []Scalar{gt, &Or{Args: []Scalar{&IsNull{Input: x}, ne}}}}}
	for i := 0; i < nk; i++ {
		j.Keys.Left = append(j.Keys.Left, anti.Keys.Left[i])
		j.Keys.Right = append(j.Keys.Right, &ColRef{Idx: i, T: exprs[i].Type()})
	}
	return j, true
}

// operator builds the call of the binary operator op on l and r, of
// types it takes as they are.
func operator(op string, l, r Scalar) (Scalar, bool) {
	fn, argTypes, err := udf.LookupOperator(op, l.Type(), r.Type())
	if err != nil || !argTypes[0].Equal(l.Type()) || !argTypes[1].Equal(r.Type()) {
		return nil, false
	}
	return &Call{Fn: fn, Args: []Scalar{l, r}, T: fn.ResultType(argTypes)}, true
}

// correlatedScalarJoin builds the left join of a correlated scalar
// subquery over an aggregate without GROUP BY (see the comment at the
// top) and returns it with the subquery's value over the join's columns.
func correlatedScalarJoin(input Rel, sq *Subquery) (Rel, Scalar, bool) {
	p := sq.Plan
	if pr, ok := p.(*Project); ok && len(pr.Exprs) != 1 {
		return nil, nil, false
	}
	j, vals, having, ok := correlatedAggJoin(input, p)
	if !ok {
		return keyedScalarJoin(input, sq)
	}
	if len(vals) != 1 {
		return nil, nil, false
	}
	if having != nil {
		// No row, so NULL, where HAVING fails; the left join returns one
		// row per outer row either way.
		v := vals[0]
		return j, &Case{Whens: []Scalar{having}, Thens: []Scalar{v}, Else: &Const{T: v.Type()}, T: v.Type()}, true
	}
	return j, vals[0], true
}

// keyedScalarJoin builds a correlated scalar subquery whose correlation
// equalities fix the whole stream key of the relation it reads, so that
// it returns at most one row (the lookup of a row by its primary key):
//
//	(SELECT c.name FROM customers c WHERE c.id = o.cust)
//	  ->  LeftJoin(o, customers, o.cust = c.id), the value c.name
//
// The left join returns the row found or NULLs, as the subquery returns
// its one row or none (NULL).
func keyedScalarJoin(input Rel, sq *Subquery) (Rel, Scalar, bool) {
	lw := len(input.OutputTypes())
	sp, ok := splitSubquery(sq.Plan, lw, true)
	if !ok || len(sp.sel) != 1 || len(sp.corr) == 0 {
		return nil, nil, false
	}
	j := sp.join(input, LeftJoin, nil, lw)
	if j.Residual != nil {
		return nil, nil, false
	}
	props := StreamProps(sp.right)
	if !props.KeyKnown || len(props.Key) == 0 {
		return nil, nil, false
	}
	fixed := map[int]bool{}
	for _, r := range j.Keys.Right {
		if c, ok := r.(*ColRef); ok {
			fixed[c.Idx] = true
		}
	}
	for _, k := range props.Key {
		if !fixed[k] {
			return nil, nil, false
		}
	}
	return j, sp.sel[0], true
}

// correlatedAggJoin builds the left join of input with p, an aggregate
// without GROUP BY over a filter correlated with input's row by
// equalities (under an optional projection and an optional HAVING
// filter): the aggregate grouped by the correlation columns. It returns
// the join, p's columns over the join's columns (count of no rows is 0
// where the join found no group) and the HAVING condition over them (nil:
// none).
func correlatedAggJoin(input Rel, p Rel) (*Join, []Scalar, Scalar, bool) {
	lw := len(input.OutputTypes())
	var top []Scalar
	if pr, ok := p.(*Project); ok {
		top, p = pr.Exprs, pr.Input
	}
	var having Scalar
	if f, ok := p.(*Filter); ok {
		having, p = f.Pred, f.Input
	}
	agg, ok := p.(*Aggregate)
	if !ok || len(agg.GroupCols) > 0 || len(agg.Aggs) == 0 || !readsRowOnly(having) {
		return nil, nil, nil, false
	}
	q := agg.Input
	var args []Scalar
	if pr, ok := q.(*Project); ok {
		args, q = pr.Exprs, pr.Input
	}
	f, ok := q.(*Filter)
	if !ok || !streamOuterFree(f.Input) {
		return nil, nil, nil, false
	}
	xts := f.Input.OutputTypes()
	xw := len(xts)
	if args == nil {
		args = columnRefs(xts, xw)
	}
	for _, a := range args {
		if !movableOuter(a) {
			return nil, nil, nil, false
		}
	}
	right, corr, ok := splitFilter(f, lw)
	if !ok {
		return nil, nil, nil, false
	}
	var keys EquiKeys
	for _, c := range corr {
		if !keys.Add(c, lw, lw+xw) {
			return nil, nil, nil, false
		}
	}
	if len(keys.Left) == 0 {
		return nil, nil, nil, false
	}
	nargs, nk := len(args), len(keys.Left)
	groups := make([]int, nk)
	for i := range groups {
		groups[i] = nargs + i
	}
	grouped := &Aggregate{Input: &Project{Input: right, Exprs: append(append([]Scalar{}, args...), keys.Right...)},
		GroupCols: groups, Aggs: agg.Aggs}
	j := &Join{Kind: LeftJoin, Left: input, Right: grouped}
	for i := range keys.Left {
		j.Keys.Left = append(j.Keys.Left, keys.Left[i])
		j.Keys.Right = append(j.Keys.Right, &ColRef{Idx: i, T: keys.Right[i].Type()})
	}
	// aggCol is aggregate i over the join's columns; count of no rows is
	// 0 where the join found no group.
	aggCol := func(i int) Scalar {
		a := agg.Aggs[i]
		c := &ColRef{Idx: lw + nk + i, T: a.T, Name: a.Fn.Name}
		if a.Fn.Name == "count" {
			return &Coalesce{Args: []Scalar{c, &Const{Value: int64(0), T: a.T}}, T: a.T}
		}
		return c
	}
	// overJoin rewrites an expression over the aggregate's row and the
	// outer row over the join's columns.
	overJoin := func(e Scalar) Scalar {
		return Rewrite(e, func(x Scalar) (Scalar, bool) {
			switch c := x.(type) {
			case *ColRef:
				return aggCol(c.Idx), true
			case *OuterRef:
				return &ColRef{Idx: c.Idx, T: c.T, Name: c.Name}, true
			}
			return nil, false
		})
	}
	var vals []Scalar
	if top == nil {
		for i := range agg.Aggs {
			vals = append(vals, aggCol(i))
		}
	}
	for _, e := range top {
		if !readsRowOnly(e) {
			return nil, nil, nil, false
		}
		vals = append(vals, overJoin(e))
	}
	if having != nil {
		having = overJoin(having)
	}
	return j, vals, having, true
}

// readsRowOnly reports whether e reads no row of an enclosing query but
// the one of depth 1 and runs nothing volatile.
func readsRowOnly(e Scalar) bool {
	if e == nil {
		return true
	}
	if _, other := outerRefs(e); other {
		return false
	}
	return movable(Rewrite(e, func(x Scalar) (Scalar, bool) {
		if o, ok := x.(*OuterRef); ok {
			return &ColRef{Idx: o.Idx, T: o.T, Name: o.Name}, true
		}
		return nil, false
	}))
}

// markJoin computes an IN or EXISTS subquery as a value (in the select
// list, under OR): left joins against the subquery's rows counted per
// correlation key and IN value (m), and for IN per correlation key alone
// (n rows, nv non-NULL values). EXISTS is m > 0; x IN S is true when m >
// 0, false when S is empty, NULL when x is NULL or S holds a NULL, and
// false otherwise, as in PostgreSQL.
func markJoin(input Rel, sq *Subquery) (Rel, Scalar, bool) {
	lw := len(input.OutputTypes())
	var conds []Scalar
	var sp splitSub
	var ok bool
	switch sq.Kind {
	case ExistsSubquery:
		sp, ok = splitSubquery(sq.Plan, lw, false)
	case AnySubquery:
		if sq.Lefts != nil || sq.Op == nil || sq.Op.Name != "=" || !movableOuter(sq.Left) {
			return nil, nil, false
		}
		sp, ok = splitSubquery(sq.Plan, lw, true)
		if !ok || len(sp.sel) != 1 {
			return nil, nil, false
		}
		conds = []Scalar{&Call{Fn: sq.Op, Args: []Scalar{sq.Left, sp.sel[0]}, T: types.TBool}}
	}
	if !ok {
		return nil, nil, false
	}
	keys := sp.join(input, SemiJoin, conds, lw)
	if keys.Residual != nil {
		return nil, nil, false
	}
	count, _, err := udf.LookupAggregate("count", nil)
	if err != nil {
		return nil, nil, false
	}
	nk := len(keys.Keys.Left)
	leftJoin := func(in Rel, right Rel, n int) *Join {
		j := &Join{Kind: LeftJoin, Left: in, Right: right}
		for i := 0; i < n; i++ {
			j.Keys.Left = append(j.Keys.Left, keys.Keys.Left[i])
			j.Keys.Right = append(j.Keys.Right, &ColRef{Idx: i, T: keys.Keys.Right[i].Type()})
		}
		return j
	}
	groups := func(n int) []int {
		g := make([]int, n)
		for i := range g {
			g[i] = i
		}
		return g
	}
	zero := &Const{Value: int64(0), T: types.TInt8}
	orZero := func(c Scalar) Scalar { return &Coalesce{Args: []Scalar{c, zero}, T: types.TInt8} }
	aggIn := &Project{Input: sp.right, Exprs: keys.Keys.Right}
	j1 := leftJoin(input, &Aggregate{Input: aggIn, GroupCols: groups(nk), Aggs: []AggCall{{Fn: count, Filter: -1, T: types.TInt8}}}, nk)
	matched, ok := operator(">", orZero(&ColRef{Idx: lw + nk, T: types.TInt8, Name: "count"}), zero)
	if !ok {
		return nil, nil, false
	}
	if sq.Kind == ExistsSubquery {
		return j1, matched, true
	}
	nc := nk - 1
	countY, _, err := udf.LookupAggregate("count", []types.T{keys.Keys.Right[nc].Type()})
	if err != nil {
		return nil, nil, false
	}
	j2 := leftJoin(j1, &Aggregate{Input: aggIn, GroupCols: groups(nc), Aggs: []AggCall{
		{Fn: count, Filter: -1, T: types.TInt8},
		{Fn: countY, Args: []int{nc}, Filter: -1, T: types.TInt8},
	}}, nc)
	w := lw + nk + 1 + nc
	n := &ColRef{Idx: w, T: types.TInt8, Name: "count"}
	nv := &ColRef{Idx: w + 1, T: types.TInt8, Name: "count"}
	empty, ok1 := operator("=", orZero(n), zero)
	hasNull, ok2 := operator("<>", n, nv)
	if !ok1 || !ok2 {
		return nil, nil, false
	}
	val := &Case{
		Whens: []Scalar{matched, empty, &Or{Args: []Scalar{&IsNull{Input: sq.Left}, hasNull}}},
		Thens: []Scalar{&Const{Value: true, T: types.TBool}, &Const{Value: false, T: types.TBool}, &Const{T: types.TBool}},
		Else:  &Const{Value: false, T: types.TBool},
		T:     types.TBool,
	}
	return j2, val, true
}

// existsCountJoin builds an uncorrelated [NOT] EXISTS: a semi join against
// the one row of SELECT count(*) over the subquery, on count > 0 (EXISTS)
// or count = 0 (NOT EXISTS).
func existsCountJoin(input Rel, sq *Subquery, kind JoinKind, lw int) (Rel, bool) {
	if !streamOuterFree(sq.Plan) {
		return nil, false
	}
	count, _, err := udf.LookupAggregate("count", nil)
	if err != nil {
		return nil, false
	}
	agg := &Aggregate{Input: sq.Plan, Aggs: []AggCall{{Fn: count, Filter: -1, T: types.TInt8}}}
	op := ">"
	if kind == AntiJoin {
		op = "="
	}
	cond, ok := operator(op, &ColRef{Idx: lw, T: types.TInt8, Name: "count"}, &Const{Value: int64(0), T: types.TInt8})
	if !ok {
		return nil, false
	}
	return &Join{Kind: SemiJoin, Left: input, Right: agg, Residual: cond}, true
}

// scalarSemiJoin turns a conjunct holding one uncorrelated scalar
// subquery that returns exactly one row into a semi join against that
// row, with the conjunct (the subquery replaced by the row's column) as
// the condition.
func scalarSemiJoin(input Rel, c Scalar, lw int) (Rel, bool) {
	var sq *Subquery
	n := 0
	Visit(c, func(x Scalar) {
		if s, ok := x.(*Subquery); ok {
			sq = s
			n++
		}
	})
	if n != 1 || !joinableScalar(sq) || !exactlyOneRow(sq.Plan) {
		return nil, false
	}
	cond := Rewrite(c, func(x Scalar) (Scalar, bool) {
		if x == Scalar(sq) {
			return &ColRef{Idx: lw, T: sq.T}, true
		}
		return nil, false
	})
	if !movableOuter(cond) {
		return nil, false
	}
	return &Join{Kind: SemiJoin, Left: input, Right: sq.Plan, Residual: cond}, true
}

// joinableScalar reports whether sq is a scalar subquery a join can
// compute: uncorrelated, one column, at most one row.
func joinableScalar(sq *Subquery) bool {
	return sq.Kind == ScalarSubquery && !sq.Correlated && len(sq.Plan.OutputTypes()) == 1 &&
		atMostOneRow(sq.Plan) && streamOuterFree(sq.Plan)
}

// joinScalarSubqueries left-joins input with every joinable scalar
// subquery in exprs and returns exprs reading their columns instead.
func joinScalarSubqueries(input Rel, exprs []Scalar) (Rel, []Scalar, bool) {
	changed := false
	out := make([]Scalar, len(exprs))
	for i, e := range exprs {
		out[i] = Rewrite(e, func(x Scalar) (Scalar, bool) {
			sq, ok := x.(*Subquery)
			if !ok {
				return nil, false
			}
			if sq.Kind == AnySubquery || sq.Kind == AllSubquery {
				j, val, ok := quantifiedValue(input, sq)
				if !ok {
					return x, true
				}
				input, changed = j, true
				return val, true
			}
			if sq.Kind == ExistsSubquery {
				j, val, ok := markJoin(input, sq)
				if !ok {
					return x, true
				}
				input, changed = j, true
				return val, true
			}
			if sq.Kind == ArraySubquery {
				j, val, ok := arraySubqueryJoin(input, sq)
				if !ok {
					return x, true
				}
				input, changed = j, true
				return val, true
			}
			if sq.Kind == ScalarSubquery && sq.Correlated {
				j, val, ok := correlatedScalarJoin(input, sq)
				if !ok {
					return x, true
				}
				input, changed = j, true
				return val, true
			}
			if !joinableScalar(sq) {
				return x, true
			}
			w := len(input.OutputTypes())
			input = &Join{Kind: LeftJoin, Left: input, Right: sq.Plan}
			changed = true
			return &ColRef{Idx: w, T: sq.T}, true
		})
	}
	return input, out, changed
}

// exactlyOneRow reports whether r provably returns one row: an aggregate
// without GROUP BY, projected or sorted.
func exactlyOneRow(r Rel) bool {
	switch x := r.(type) {
	case *Aggregate:
		return len(x.GroupCols) == 0
	case *Project:
		return exactlyOneRow(x.Input)
	case *Sort:
		return exactlyOneRow(x.Input)
	case *Values:
		return len(x.Rows) == 1
	}
	return false
}

// atMostOneRow reports whether r provably returns no more than one row.
func atMostOneRow(r Rel) bool {
	switch x := r.(type) {
	case *Filter:
		return atMostOneRow(x.Input)
	case *Project:
		return atMostOneRow(x.Input)
	case *Sort:
		return atMostOneRow(x.Input)
	case *Distinct:
		return atMostOneRow(x.Input)
	case *Values:
		return len(x.Rows) <= 1
	}
	return exactlyOneRow(r)
}

// AtMostOneRow reports whether r provably returns no more than one row
// (an aggregate without GROUP BY, filtered or projected): the stream
// lowering joins such a side without keys as a dynamic filter.
func AtMostOneRow(r Rel) bool { return atMostOneRow(r) }

// streamOuterFree is outerFree knowing the leaves and nodes of view
// plans: table and source scans, aggregates, set-returning projections.
func streamOuterFree(r Rel) bool {
	free := readsNoOuterRow
	ok := true
	switch x := r.(type) {
	case *Scan:
		ok = free(x.Bounds.Scalars()...)
	case *SourceScan, *Aggregate, *Sort, *Distinct, *SetOp:
	case *Values:
		for _, row := range x.Rows {
			ok = ok && free(row...)
		}
	case *Filter:
		ok = free(x.Pred)
	case *Project:
		ok = free(x.Exprs...)
	case *ProjectSet:
		for _, c := range x.Calls {
			ok = ok && free(c.Args...)
		}
	case *Join:
		ok = !x.Lateral && free(x.Keys.Left...) && free(x.Keys.Right...) && free(x.Residual)
	default:
		return outerFree(r)
	}
	for _, in := range Inputs(r) {
		ok = ok && streamOuterFree(in)
	}
	return ok
}

// arraySubqueryJoin builds ARRAY(SELECT x FROM u [WHERE u.a = outer.b
// AND ...] [ORDER BY ...]) as array_agg(x ORDER BY ...) over the
// subquery's rows: for a correlated one, the left join with that
// aggregate grouped by the correlation (as a correlated scalar subquery
// over an aggregate), else the left join with its one row. No rows give
// an empty array, not NULL, as in PostgreSQL. The value is the
// aggregate's column over the join.
func arraySubqueryJoin(input Rel, sq *Subquery) (Rel, Scalar, bool) {
	p := sq.Plan
	// ORDER BY a column not selected sorts a projection with hidden
	// columns, which a projection above drops.
	col := 0
	var keys []SortKey
	if pr, ok := p.(*Project); ok {
		if s, ok := pr.Input.(*Sort); ok && len(pr.Exprs) == 1 {
			c, ok := pr.Exprs[0].(*ColRef)
			if !ok {
				return nil, nil, false
			}
			col, keys, p = c.Idx, s.Keys, s.Input
		}
	}
	if s, ok := p.(*Sort); ok && keys == nil {
		keys, p = s.Keys, s.Input
	}
	ts := p.OutputTypes()
	if col >= len(ts) || sq.T.Elem == nil || !ts[col].Equal(*sq.T.Elem) {
		return nil, nil, false
	}
	fn, _, err := udf.LookupAggregate("array_agg", []types.T{ts[col]})
	if err != nil {
		return nil, nil, false
	}
	call := AggCall{Fn: fn, Args: []int{col}, Filter: -1, T: sq.T}
	for _, k := range keys {
		call.Order = append(call.Order, AggOrder{Col: k.Col, T: k.T, Desc: k.Desc, NullsFirst: k.NullsFirst})
	}
	agg := &Aggregate{Input: p, Aggs: []AggCall{call}}
	empty := func(v Scalar) Scalar {
		return &Coalesce{Args: []Scalar{v, &Const{Value: "{}", T: sq.T}}, T: sq.T}
	}
	if !sq.Correlated {
		if !streamOuterFree(p) {
			return nil, nil, false
		}
		w := len(input.OutputTypes())
		return &Join{Kind: LeftJoin, Left: input, Right: agg}, empty(&ColRef{Idx: w, T: sq.T}), true
	}
	j, vals, having, ok := correlatedAggJoin(input, agg)
	if !ok || len(vals) != 1 || having != nil {
		return nil, nil, false
	}
	return j, empty(vals[0]), true
}
