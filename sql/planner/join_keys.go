package planner

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/plan"
)

// Equi-join keys.
//
// A join condition "l = r" is a hash join key when l reads only the left
// input and r only the right one. Often both are plain columns of one type,
// but the binder inserts implicit casts when the types differ (int4 = int8
// becomes int8(k) = id; varchar = text becomes text(v) = t), and users
// write keys such as lower(a.email) = b.email. Such keys are computed by a
// projection under the join, so the hash join operators (batch and
// streaming) only ever see key columns of equal types.

// hashJoin builds a hash join of left and right on keys, with residual
// over the concatenated columns (left, then right). Expression keys are
// projected as extra columns of each input and dropped again above the
// join, so the result has left's columns then right's.
func (p *Planner) hashJoin(lrel, rrel *relPlan, kind batch.JoinKind, keys *plan.EquiKeys, residual plan.Scalar) (exec.Operator, error) {
	left, right := lrel.op, rrel.op
	lw, rw := len(lrel.cols), len(rrel.cols)
	lk, lExtra := plan.KeyColumns(keys.Left, lw)
	rk, rExtra := plan.KeyColumns(keys.Right, rw)
	if len(lExtra) == 0 && len(rExtra) == 0 {
		res, err := p.compile(residual)
		if err != nil {
			return nil, err
		}
		return batch.NewHashJoin(left, right, kind, lk, rk, res), nil
	}
	var err error
	if len(lExtra) > 0 {
		if left, err = p.newProject(left, append(passThrough(lrel.cols), lExtra...)); err != nil {
			return nil, err
		}
	}
	if len(rExtra) > 0 {
		if right, err = p.newProject(right, append(passThrough(rrel.cols), rExtra...)); err != nil {
			return nil, err
		}
	}
	if residual != nil && len(lExtra) > 0 {
		// Right columns moved past the left key columns.
		residual = plan.Rewrite(residual, func(x plan.Scalar) (plan.Scalar, bool) {
			if c, ok := x.(*plan.ColRef); ok && c.Idx >= lw {
				return &plan.ColRef{Idx: c.Idx + len(lExtra), T: c.T, Name: c.Name}, true
			}
			return nil, false
		})
	}
	res, err := p.compile(residual)
	if err != nil {
		return nil, err
	}
	op := batch.NewHashJoin(left, right, kind, lk, rk, res)
	out := passThrough(lrel.cols)
	off := lw + len(lExtra)
	for i, c := range rrel.cols {
		out = append(out, &plan.ColRef{Idx: off + i, T: c.t, Name: c.name})
	}
	return p.newProject(op, out)
}

// join joins left and right: a lateral join when lateral, a hash join on
// keys when there are any, a nested loop join otherwise; residual is the
// rest of the condition over the concatenated columns.
func (p *Planner) join(left, right *relPlan, kind batch.JoinKind, lateral bool, keys *plan.EquiKeys, residual []plan.Scalar) (exec.Operator, error) {
	if !lateral && !keys.Empty() {
		return p.hashJoin(left, right, kind, keys, plan.AndAll(residual))
	}
	res, err := p.compile(plan.AndAll(residual))
	if err != nil {
		return nil, err
	}
	if lateral {
		return batch.NewLateralJoin(left.op, right.op, kind, res), nil
	}
	return batch.NewNestedLoopJoin(left.op, right.op, kind, res), nil
}

// passThrough lists column references to every column of an input.
func passThrough(cols []column) []plan.Scalar {
	out := make([]plan.Scalar, len(cols))
	for i, c := range cols {
		out[i] = &plan.ColRef{Idx: i, T: c.t, Name: c.name}
	}
	return out
}
