package batch

import (
	"streamsql/exec"
	"streamsql/exec/expr"
)

// NestedLoopJoin pairs every left row with every row of the materialized
// right input and keeps the pairs satisfying pred (nil: all pairs, a cross
// join). It serves cross joins and joins without equality keys, of every
// kind. Output as for HashJoin.
type NestedLoopJoin struct {
	joinCore
}

// NewNestedLoopJoin returns a nested loop join of left and right on pred.
func NewNestedLoopJoin(left, right exec.Operator, kind JoinKind, pred expr.Expr) exec.Operator {
	n := &NestedLoopJoin{}
	n.init(left, right, kind, pred)
	n.opName = "NestedLoopJoin"
	n.build = func(ctx *exec.Ctx, rt *table) (pairSource, error) {
		return &loopPairs{core: &n.joinCore, rn: rt.n}, nil
	}
	return n
}

func (n *NestedLoopJoin) Explain() string {
	s := "NestedLoopJoin " + n.kind.String()
	if n.residual != nil {
		s += " on " + n.residual.String()
	} else if n.kind == InnerJoin {
		s = "NestedLoopJoin cross"
	}
	return s
}

// loopPairs yields every (left row, right row) pair, left-major.
type loopPairs struct {
	core *joinCore
	rn   int
	n    int
	l, r int
}

func (p *loopPairs) begin(lb *exec.Batch) { p.n, p.l, p.r = lb.N, 0, 0 }

func (p *loopPairs) fill(li, ri []int32, max int) ([]int32, []int32) {
	matched := p.core.leftMatched
	semi := p.core.kind == SemiJoin || p.core.kind == AntiJoin
	for len(li) < max && p.l < p.n {
		if p.r >= p.rn || semi && matched[p.l] {
			p.l++
			p.r = 0
			continue
		}
		if semi && p.core.residual == nil {
			matched[p.l] = true
			li = append(li, int32(p.l))
			ri = append(ri, int32(p.r))
			p.l++
			p.r = 0
			continue
		}
		k := min(max-len(li), p.rn-p.r)
		for x := 0; x < k; x++ {
			li = append(li, int32(p.l))
			ri = append(ri, int32(p.r+x))
		}
		p.r += k
	}
	return li, ri
}
