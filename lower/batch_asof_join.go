package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/plan"
)

// asofShape is an ASOF join with its key and time expressions made
// columns: inputs projected with the computed ones appended, as
// hashJoinOf does for hash joins, and out (when not nil) the projection
// that drops them again over the join's output.
type asofShape struct {
	left, right         plan.Rel
	leftKeys, rightKeys []int
	leftTime, rightTime int
	out                 []plan.Scalar
}

func asofShapeOf(x *plan.AsofJoin) asofShape {
	lts, rts := x.Left.OutputTypes(), x.Right.OutputTypes()
	lw := len(lts)
	lc, lExtra := plan.KeyColumns(append(append([]plan.Scalar{}, x.Keys.Left...), x.LeftTime), lw)
	rc, rExtra := plan.KeyColumns(append(append([]plan.Scalar{}, x.Keys.Right...), x.RightTime), len(rts))
	nk := len(x.Keys.Left)
	s := asofShape{left: x.Left, right: x.Right, leftKeys: lc[:nk], rightKeys: rc[:nk], leftTime: lc[nk], rightTime: rc[nk]}
	if len(lExtra) > 0 {
		s.left = &plan.Project{Input: x.Left, Exprs: append(columnRefs(lts, 0, x.Names), lExtra...)}
	}
	if len(rExtra) > 0 {
		s.right = &plan.Project{Input: x.Right, Exprs: append(columnRefs(rts, 0, names(x.Names, lw)), rExtra...)}
	}
	if len(lExtra) > 0 || len(rExtra) > 0 {
		s.out = append(columnRefs(lts, 0, x.Names), columnRefs(rts, lw+len(lExtra), names(x.Names, lw))...)
	}
	return s
}

// asofJoin builds the batch form of an ASOF join: the right input is
// materialized and sorted by time per key, and each left row searched.
func (l *batchLowering) asofJoin(x *plan.AsofJoin) (exec.Operator, error) {
	s := asofShapeOf(x)
	left, err := l.lower(s.left)
	if err != nil {
		return nil, err
	}
	right, err := l.lower(s.right)
	if err != nil {
		return nil, err
	}
	var op exec.Operator = batch.NewAsofJoin(left, right, x.Kind, s.leftKeys, s.rightKeys, s.leftTime, s.rightTime, x.Op)
	if s.out != nil {
		exprs, err := l.c.CompileAll(s.out)
		if err != nil {
			return nil, err
		}
		op = batch.NewProject(op, exprs)
	}
	return op, nil
}
