package planner

import (
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// Helpers that build logical nodes out of planned relations.

// projectCast wraps rel's plan in a projection that casts column i to t.
func projectCast(rel *relPlan, i int, t types.T) plan.Rel {
	exprs := passThrough(rel.cols)
	exprs[i] = &plan.Cast{Input: exprs[i], To: t}
	rel.cols[i].t = t
	return &plan.Project{Input: rel.node, Exprs: exprs}
}

// join joins left and right: keys are the equalities of the condition
// and residual the rest, over the concatenated columns.
func join(left, right *relPlan, kind plan.JoinKind, lateral bool, keys *plan.EquiKeys, residual []plan.Scalar) plan.Rel {
	names := make([]string, 0, len(left.cols)+len(right.cols))
	for _, c := range append(append([]column{}, left.cols...), right.cols...) {
		names = append(names, c.name)
	}
	return &plan.Join{Kind: kind, Left: left.node, Right: right.node, Lateral: lateral, Keys: *keys,
		Residual: plan.AndAll(residual), Names: names}
}

// passThrough lists column references to every column of an input.
func passThrough(cols []column) []plan.Scalar {
	out := make([]plan.Scalar, len(cols))
	for i, c := range cols {
		out[i] = &plan.ColRef{Idx: i, T: c.t, Name: c.name}
	}
	return out
}
