package plan

import "streamsql/udf"

// Decorrelation: a subquery in WHERE that the batch executor would run
// once per row (a correlated EXISTS) or that filters rows by membership
// (IN) becomes a join, which reads the subquery's relation once:
//
//	Filter(EXISTS(Filter(R, a = outer.b)))  ->  semi join on b = a
//	Filter(NOT EXISTS(...))                 ->  anti join
//	Filter(x IN (SELECT y ...))             ->  semi join on x = y
//
// Only a conjunct of a filter qualifies: there a NULL result and false
// both drop the row, so a semi join (which returns a row when a match
// exists and drops it otherwise) keeps the same rows. NOT IN does not
// qualify: one NULL in the subquery makes it NULL for every row, which no
// anti join reproduces.
//
// The subquery's relation must read its outer row only in that top
// filter (the correlation), through outer references of depth 1, and
// nowhere below it: every node there must be one of this package's with
// no outer reference or subquery, or a leaf that says so (OuterFree).
// An executor leaf built by the planner cannot say what it reads, so a
// correlated EXISTS over a table scan stays a subquery until scans are
// logical nodes.

// OuterFree is implemented by leaves defined outside this package that
// know they read no outer row.
type OuterFree interface {
	ReadsNoOuterRow() bool
}

// decorrelate is the decorrelate rule on one node.
func decorrelate(r Rel) (Rel, bool) {
	f, ok := r.(*Filter)
	if !ok {
		return r, false
	}
	conj := SplitAnd(f.Pred, nil)
	for i, c := range conj {
		j, ok := subqueryJoin(f.Input, c)
		if !ok {
			continue
		}
		// The conjuncts after c ran on the rows c kept and now run on
		// the rows the join keeps, the same ones; those before it ran on
		// every row and now on fewer, so they must be movable.
		for _, b := range conj[:i] {
			if !movable(b) {
				return r, false
			}
		}
		rest := append(append([]Scalar{}, conj[:i]...), conj[i+1:]...)
		return above(j, rest), true
	}
	return r, false
}

// subqueryJoin turns conjunct c over input into a semi or anti join.
func subqueryJoin(input Rel, c Scalar) (*Join, bool) {
	kind := SemiJoin
	if n, ok := c.(*Not); ok {
		kind, c = AntiJoin, n.Input
	}
	sq, ok := c.(*Subquery)
	if !ok {
		return nil, false
	}
	lw := len(input.OutputTypes())
	switch {
	case sq.Kind == ExistsSubquery && sq.Correlated:
		return existsJoin(input, sq, kind, lw)
	case sq.Kind == AnySubquery && !sq.Correlated && kind == SemiJoin && sq.Lefts == nil &&
		sq.Op != nil && sq.Op.Name == "=" && movable(sq.Left):
		// Run once either way: as an InitPlan or as the join's right input.
		right := sq.Plan
		rt := right.OutputTypes()
		if len(rt) != 1 {
			return nil, false
		}
		j := &Join{Kind: SemiJoin, Left: input, Right: right}
		eq := &Call{Fn: sq.Op, Args: []Scalar{sq.Left, &ColRef{Idx: lw, T: rt[0]}}, T: sq.Type()}
		if !j.Keys.Add(eq, lw, lw+1) {
			j.Residual = eq
		}
		return j, true
	}
	return nil, false
}

// existsJoin builds the join of a correlated EXISTS: the select list
// goes (EXISTS reads no column of it), the top filter's correlated
// conjuncts become the join condition, the others stay on the right.
func existsJoin(input Rel, sq *Subquery, kind JoinKind, lw int) (*Join, bool) {
	p := sq.Plan
	for {
		pr, ok := p.(*Project)
		if !ok {
			break
		}
		p = pr.Input
	}
	f, ok := p.(*Filter)
	if !ok || !outerFree(f.Input) {
		return nil, false
	}
	right, corr, ok := splitFilter(f, lw)
	if !ok || len(corr) == 0 {
		return nil, false
	}
	sp := splitSub{right: right, corr: corr, rw: len(right.OutputTypes())}
	return sp.join(input, kind, nil, lw), true
}

// splitFilter takes apart the top filter f of a subquery whose outer row
// is the left side (lw columns) of a join: corr are the conjuncts that
// read the outer row through depth-1 references, rewritten over the
// join's columns; right is f's input with the other conjuncts still on
// it. ok is false when a conjunct cannot become a join condition (a
// deeper outer reference, a subquery, a volatile function).
func splitFilter(f *Filter, lw int) (right Rel, corr []Scalar, ok bool) {
	var local []Scalar
	for _, c := range SplitAnd(f.Pred, nil) {
		depth1, other := outerRefs(c)
		switch {
		case other:
			return nil, nil, false
		case depth1:
			corr = append(corr, toJoinCols(c, lw))
		default:
			local = append(local, c)
		}
	}
	right = f.Input
	if len(local) > 0 {
		right = &Filter{Input: right, Pred: AndAll(local)}
	}
	return right, corr, true
}

// readsNoOuterRow reports whether none of es (nil ones are skipped) reads
// an outer row or runs anything that stops it from moving out of a
// subquery (see outerRefs).
func readsNoOuterRow(es ...Scalar) bool {
	for _, e := range es {
		if e == nil {
			continue
		}
		if d1, other := outerRefs(e); d1 || other {
			return false
		}
	}
	return true
}

// outerRefs reports whether e reads the outer row through depth-1
// references, and whether it holds anything that stops it from becoming
// a join condition: a deeper outer reference, a subquery, a volatile
// function.
func outerRefs(e Scalar) (depth1, other bool) {
	Visit(e, func(x Scalar) {
		switch n := x.(type) {
		case *OuterRef:
			if n.Depth == 1 {
				depth1 = true
			} else {
				other = true
			}
		case *Subquery, ProcTime:
			other = true
		case *Call:
			if n.Fn.Volatility == udf.Volatile {
				other = true
			}
		}
	})
	return depth1, other
}

// outerFree reports whether r provably reads no outer row and runs
// nothing volatile, so that running it once gives what running it per
// outer row gave.
func outerFree(r Rel) bool {
	switch x := r.(type) {
	case OuterFree:
		return x.ReadsNoOuterRow()
	case *Join:
		if x.Lateral {
			return false
		}
	case *Values, *Filter, *Project, *Limit, *Sort, *Distinct, *SetOp:
	default:
		return false
	}
	ok := outerFreeNode(r)
	for _, in := range Inputs(r) {
		ok = ok && outerFree(in)
	}
	return ok
}
