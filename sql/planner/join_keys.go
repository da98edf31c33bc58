package planner

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/plan"
	"streamsql/sql/types"
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

// joinKeys collects the key pairs of one join: expressions over the left
// input and over the right input (right columns numbered from 0).
type joinKeys struct {
	left, right []plan.Scalar
}

func (k *joinKeys) empty() bool { return len(k.left) == 0 }

// equiKeyExprs recognizes "a = b" where one side reads only columns left
// of split and the other only columns in [split, end), with both sides of
// the same type kind. r is returned over the right input's columns.
func equiKeyExprs(c plan.Scalar, split, end int) (l, r plan.Scalar, ok bool) {
	call, isCall := c.(*plan.Call)
	if !isCall || call.Fn.Name != "=" || len(call.Args) != 2 {
		return nil, nil, false
	}
	a, b := widen(call.Args[0], call.Args[1])
	if a.Type().Kind != b.Type().Kind {
		return nil, nil, false
	}
	side := func(e plan.Scalar) int { // 0 left, 1 right, -1 neither or both
		refs, pushable := plan.ColRefs(e)
		if !pushable || len(refs) == 0 {
			return -1
		}
		s := -1
		for _, x := range refs {
			cur := 0
			if x >= split {
				cur = 1
				if x >= end {
					return -1
				}
			}
			if s >= 0 && s != cur {
				return -1
			}
			s = cur
		}
		return s
	}
	sa, sb := side(a), side(b)
	switch {
	case sa == 0 && sb == 1:
		return a, plan.ShiftCols(b, -split), true
	case sa == 1 && sb == 0:
		return b, plan.ShiftCols(a, -split), true
	}
	return nil, nil, false
}

// widen casts the narrower side of a cross-width integer or float
// equality (int4 = int8, float4 = float8, which compare without casts) to
// the wider type, so that both sides hash alike.
func widen(a, b plan.Scalar) (plan.Scalar, plan.Scalar) {
	rank := func(k types.Kind) (family, width int) {
		switch k {
		case types.Int2:
			return 1, 2
		case types.Int4:
			return 1, 4
		case types.Int8:
			return 1, 8
		case types.Float4:
			return 2, 4
		case types.Float8:
			return 2, 8
		}
		return 0, 0
	}
	at, bt := a.Type(), b.Type()
	fa, wa := rank(at.Kind)
	fb, wb := rank(bt.Kind)
	switch {
	case fa == 0 || fa != fb || wa == wb:
	case wa < wb:
		a = &plan.Cast{Input: a, To: bt}
	default:
		b = &plan.Cast{Input: b, To: at}
	}
	return a, b
}

// add records conjunct c as a key if it is one; see equiKeyExprs.
func (k *joinKeys) add(c plan.Scalar, split, end int) bool {
	l, r, ok := equiKeyExprs(c, split, end)
	if ok {
		k.left, k.right = append(k.left, l), append(k.right, r)
	}
	return ok
}

// hashJoin builds a hash join of left and right on keys, with residual
// over the concatenated columns (left, then right). Expression keys are
// projected as extra columns of each input and dropped again above the
// join, so the result has left's columns then right's.
func (p *Planner) hashJoin(lrel, rrel *relPlan, kind batch.JoinKind, keys *joinKeys, residual plan.Scalar) (exec.Operator, error) {
	left, right := lrel.op, rrel.op
	lw, rw := len(lrel.cols), len(rrel.cols)
	lk, lExtra := keyColumns(keys.left, lw)
	rk, rExtra := keyColumns(keys.right, rw)
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
func (p *Planner) join(left, right *relPlan, kind batch.JoinKind, lateral bool, keys *joinKeys, residual []plan.Scalar) (exec.Operator, error) {
	if !lateral && !keys.empty() {
		return p.hashJoin(left, right, kind, keys, andAll(residual))
	}
	res, err := p.compile(andAll(residual))
	if err != nil {
		return nil, err
	}
	if lateral {
		return batch.NewLateralJoin(left.op, right.op, kind, res), nil
	}
	return batch.NewNestedLoopJoin(left.op, right.op, kind, res), nil
}

// keyColumns gives each key its column in an input of width w: a plain
// column reference keeps its column, any other expression becomes an
// extra column appended after w (equal expressions share one).
func keyColumns(keys []plan.Scalar, w int) (cols []int, extra []plan.Scalar) {
	seen := map[string]int{}
	for _, e := range keys {
		if c, ok := e.(*plan.ColRef); ok {
			cols = append(cols, c.Idx)
			continue
		}
		k := plan.Key(e)
		idx, ok := seen[k]
		if !ok {
			idx = w + len(extra)
			seen[k] = idx
			extra = append(extra, e)
		}
		cols = append(cols, idx)
	}
	return cols, extra
}

// passThrough lists column references to every column of an input.
func passThrough(cols []column) []plan.Scalar {
	out := make([]plan.Scalar, len(cols))
	for i, c := range cols {
		out[i] = &plan.ColRef{Idx: i, T: c.t, Name: c.name}
	}
	return out
}
