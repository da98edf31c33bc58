package lower

import "streamsql/sql/plan"

// Subqueries in a view's filters. The stream engine maintains no semi
// joins, so an IN or EXISTS subquery in a WHERE clause (or in a row-level
// security policy, which the planner puts in a Filter over the scan)
// becomes a left join with the subquery's distinct join keys, and the
// subquery a test of whether the row found a match:
//
//	Filter(p(x IN (SELECT y FROM R)), T)
//	  ->  Project(T's columns, Filter(p(m IS NOT NULL),
//	          LeftJoin(T, Distinct(SELECT y FROM R) AS m ON x = m)))
//
// The distinct keys make every row of T match at most once, so the join
// neither drops nor repeats rows of T; the left join and the DISTINCT are
// both maintained incrementally, so a change of R (a grant deleted, say)
// moves the rows of T it concerns in or out of the view.
//
// The subqueries are those the decorrelate rule can join (sql/plan
// SemiJoinOf): an uncorrelated IN, and a correlated EXISTS whose
// subquery provably reads no outer row below its top filter (not yet
// one over a table scan). The test is exact for EXISTS (true or false,
// never NULL) wherever it stands, NOT EXISTS included. For IN it is exact only where a NULL
// result and false do the same: in a filter, through AND and OR but under
// no NOT (x IN (...) is NULL, not false, when x is NULL or R holds a NULL
// and nothing matched). Other subqueries stay as they are, and the
// lowering refuses them.

// markSubqueries rewrites filter f as above, reporting whether it found
// a subquery to rewrite.
func markSubqueries(f *plan.Filter) (plan.Rel, bool) {
	inTypes := f.Input.OutputTypes()
	cur := f.Input
	width := len(inTypes)
	changed := false
	var mark func(e plan.Scalar, positive bool) plan.Scalar
	mark = func(e plan.Scalar, positive bool) plan.Scalar {
		switch x := e.(type) {
		case *plan.And:
			args := make([]plan.Scalar, len(x.Args))
			for i, a := range x.Args {
				args[i] = mark(a, positive)
			}
			return &plan.And{Args: args}
		case *plan.Or:
			args := make([]plan.Scalar, len(x.Args))
			for i, a := range x.Args {
				args[i] = mark(a, positive)
			}
			return &plan.Or{Args: args}
		case *plan.Not:
			return &plan.Not{Input: mark(x.Input, !positive)}
		case *plan.Subquery:
			if x.Kind != plan.ExistsSubquery && !positive {
				return e
			}
			j, ok := plan.SemiJoinOf(cur, x)
			if !ok || j.Residual != nil || j.Keys.Empty() {
				return e
			}
			keys := make([]plan.Scalar, len(j.Keys.Right))
			for i, k := range j.Keys.Right {
				keys[i] = &plan.ColRef{Idx: i, T: k.Type()}
			}
			right := &plan.Distinct{Input: &plan.Project{Input: j.Right, Exprs: j.Keys.Right}}
			cur = &plan.Join{Kind: plan.LeftJoin, Left: cur, Right: right, Keys: plan.EquiKeys{Left: j.Keys.Left, Right: keys}}
			m := &plan.IsNull{Input: &plan.ColRef{Idx: width, T: keys[0].Type()}, Negate: true}
			width += len(keys)
			changed = true
			return m
		}
		return e
	}
	pred := mark(f.Pred, true)
	if !changed {
		return f, false
	}
	return &plan.Project{Input: &plan.Filter{Input: cur, Pred: pred}, Exprs: columnRefs(inTypes, 0, nil)}, true
}
