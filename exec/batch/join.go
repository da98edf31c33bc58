package batch

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// JoinKind is the kind of a join (the logical plan's).
type JoinKind = plan.JoinKind

const (
	InnerJoin = plan.InnerJoin
	LeftJoin  = plan.LeftJoin
	RightJoin = plan.RightJoin
	FullJoin  = plan.FullJoin
	SemiJoin  = plan.SemiJoin
	AntiJoin  = plan.AntiJoin
)

// pairSource yields the candidate (left row, right row) pairs of the
// current left batch: equal keys for a hash join, every pair for a nested
// loop join. Pairs of one left row are consecutive.
type pairSource interface {
	// begin starts a new left batch.
	begin(lb *exec.Batch)
	// fill appends up to max pairs to li, ri; none means the batch is done.
	fill(li, ri []int32, max int) ([]int32, []int32)
}

// joinCore is the part shared by HashJoin and NestedLoopJoin: it reads
// left batches, takes candidate pairs from a pairSource, applies the
// residual predicate over the concatenated row, and emits matches, NULL
// padded unmatched rows and semi/anti rows as the kind requires.
//
// State: the materialized right input (the build side) with a matched flag
// per row for RIGHT and FULL joins, and the current left batch with a
// matched flag per row; both are rebuilt at every Open.
type joinCore struct {
	left, right exec.Operator
	kind        JoinKind
	residual    expr.Expr
	ts          []types.T
	leftTypes   []types.T
	rightTypes  []types.T

	// build prepares the pair source once the right side is materialized.
	build func(ctx *exec.Ctx, r *table) (pairSource, error)

	src          pairSource
	rt           *table
	rightMatched []bool
	lb           *exec.Batch
	leftMatched  []bool
	leftDone     bool
	tailPos      int // next right row to check for unmatched output
	done         bool
	li, ri       []int32
	idx          []int32

	// Memory (hash_join_spill.go): the build side is reserved in the
	// statement's account; a hash join past the limit becomes a grace
	// hash join, a nested loop join fails with 53200.
	opName    string
	spillable bool
	// partition turns a build side that did not fit (the batches held
	// and the one refused) into a grace hash join.
	partition func(ctx *exec.Ctx, held []*exec.Batch, cur *exec.Batch) (*graceJoin, error)
	depth     int
	mem       *exec.MemAccount
	held      int64
	grace     *graceJoin
	// registered is the account a hash join counts itself in as a
	// spiller.
	registered *exec.MemAccount
}

// equalities are the conditions leftKeys[i] = rightKeys[i] for EXPLAIN,
// the right columns numbered after the left ones.
func (j *joinCore) equalities(leftKeys, rightKeys []int) []string {
	out := make([]string, len(leftKeys))
	for i := range leftKeys {
		out[i] = fmt.Sprintf("#%d = #%d", leftKeys[i], len(j.leftTypes)+rightKeys[i])
	}
	return out
}

func (j *joinCore) init(left, right exec.Operator, kind JoinKind, residual expr.Expr) {
	j.left, j.right, j.kind, j.residual = left, right, kind, residual
	j.leftTypes, j.rightTypes = left.Types(), right.Types()
	j.ts = append([]types.T(nil), j.leftTypes...)
	if kind != SemiJoin && kind != AntiJoin {
		j.ts = append(j.ts, j.rightTypes...)
	}
}

func (j *joinCore) Open(ctx *exec.Ctx) error {
	j.reset()
	if j.spillable && j.registered != ctx.Mem {
		ctx.Mem.AddSpiller()
		j.registered = ctx.Mem
	}
	if err := j.left.Open(ctx); err != nil {
		return err
	}
	return j.right.Open(ctx)
}

func (j *joinCore) reset() {
	j.rt.release()
	j.rt, j.src = nil, nil
	if j.lb != nil {
		j.lb.Release()
		j.lb = nil
	}
	j.leftDone, j.done, j.tailPos = false, false, 0
	j.rightMatched = j.rightMatched[:0]
	if j.grace != nil {
		j.grace.close()
		j.grace = nil
	}
	j.mem.Shrink(j.held)
	j.held = 0
}

func (j *joinCore) Close() {
	j.reset()
	j.left.Close()
	j.right.Close()
}

func (j *joinCore) Types() []types.T { return j.ts }
func (j *joinCore) Children() []exec.Operator {
	return []exec.Operator{j.left, j.right}
}

func (j *joinCore) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if j.done {
		return nil, nil
	}
	if j.grace != nil {
		return j.grace.next(ctx)
	}
	if j.rt == nil {
		rt, err := j.loadBuild(ctx)
		if err != nil {
			return nil, err
		}
		if rt == nil {
			// The build side did not fit: a grace hash join now.
			return j.grace.next(ctx)
		}
		j.rt = rt
		if j.kind == RightJoin || j.kind == FullJoin {
			j.rightMatched = make([]bool, rt.n)
		}
		if rt.n == 0 && (j.kind == InnerJoin || j.kind == SemiJoin || j.kind == RightJoin) {
			// Nothing can match: the left side need not be read.
			j.done = true
			return nil, nil
		}
		if j.src, err = j.build(ctx, rt); err != nil {
			return nil, err
		}
	}
	for {
		if err := checkCtx(ctx); err != nil {
			return nil, err
		}
		if j.lb == nil {
			if j.leftDone {
				out := j.rightTail()
				if out == nil {
					j.done = true
				}
				return out, nil
			}
			lb, err := j.left.Next(ctx)
			if err != nil {
				return nil, err
			}
			if lb == nil {
				j.leftDone = true
				continue
			}
			if lb.N == 0 {
				lb.Release()
				continue
			}
			j.lb = lb
			if cap(j.leftMatched) < lb.N {
				j.leftMatched = make([]bool, lb.N)
			}
			j.leftMatched = j.leftMatched[:lb.N]
			clear(j.leftMatched)
			j.src.begin(lb)
		}
		j.li, j.ri = j.src.fill(j.li[:0], j.ri[:0], exec.BatchSize)
		if len(j.li) > 0 {
			out, err := j.matchPairs(ctx)
			if err != nil {
				return nil, err
			}
			if out != nil {
				return out, nil
			}
			continue
		}
		out := j.leftTail()
		j.lb.Release()
		j.lb = nil
		if out != nil {
			return out, nil
		}
	}
}

// matchPairs applies the residual to the candidate pairs, records matches
// and returns the joined rows (nil for semi and anti joins, which emit at
// the end of the left batch).
func (j *joinCore) matchPairs(ctx *exec.Ctx) (*exec.Batch, error) {
	li, ri := j.li, j.ri
	if j.residual != nil {
		cols := make([]arrow.Array, 0, len(j.leftTypes)+len(j.rightTypes))
		cols = append(cols, takeCols(j.lb.Cols, li).Cols...)
		cols = append(cols, takeCols(j.rt.cols, ri).Cols...)
		pair := exec.NewBatch(cols, len(li))
		var err error
		j.idx, err = selectRows(ctx, j.residual, pair, j.idx)
		if err != nil {
			pair.Release()
			return nil, err
		}
		if len(j.idx) == len(li) && j.kind != SemiJoin && j.kind != AntiJoin {
			j.markMatched(li, ri)
			return pair, nil
		}
		pair.Release()
		for k, p := range j.idx {
			li[k], ri[k] = li[p], ri[p]
		}
		li, ri = li[:len(j.idx)], ri[:len(j.idx)]
	}
	j.markMatched(li, ri)
	if j.kind == SemiJoin || j.kind == AntiJoin || len(li) == 0 {
		return nil, nil
	}
	cols := append(takeCols(j.lb.Cols, li).Cols, takeCols(j.rt.cols, ri).Cols...)
	return exec.NewBatch(cols, len(li)), nil
}

func (j *joinCore) markMatched(li, ri []int32) {
	for _, l := range li {
		j.leftMatched[l] = true
	}
	if j.rightMatched != nil {
		for _, r := range ri {
			j.rightMatched[r] = true
		}
	}
}

// leftTail emits, at the end of a left batch, its unmatched rows (NULL
// padded for LEFT and FULL, bare for ANTI) or its matched rows (SEMI).
func (j *joinCore) leftTail() *exec.Batch {
	want := false
	switch j.kind {
	case LeftJoin, FullJoin, AntiJoin:
	case SemiJoin:
		want = true
	default:
		return nil
	}
	j.idx = j.idx[:0]
	for i, m := range j.leftMatched {
		if m == want {
			j.idx = append(j.idx, int32(i))
		}
	}
	if len(j.idx) == 0 {
		return nil
	}
	out := takeCols(j.lb.Cols, j.idx)
	if j.kind == LeftJoin || j.kind == FullJoin {
		for _, t := range j.rightTypes {
			out.Cols = append(out.Cols, nullColumn(t, len(j.idx)))
		}
	}
	return out
}

// rightTail emits the right rows no left row matched, NULL padded on the
// left, for RIGHT and FULL joins; nil when there are no more.
func (j *joinCore) rightTail() *exec.Batch {
	if j.kind != RightJoin && j.kind != FullJoin {
		return nil
	}
	j.idx = j.idx[:0]
	for j.tailPos < j.rt.n && len(j.idx) < exec.BatchSize {
		if !j.rightMatched[j.tailPos] {
			j.idx = append(j.idx, int32(j.tailPos))
		}
		j.tailPos++
	}
	if len(j.idx) == 0 {
		return nil
	}
	cols := make([]arrow.Array, 0, len(j.ts))
	for _, t := range j.leftTypes {
		cols = append(cols, nullColumn(t, len(j.idx)))
	}
	cols = append(cols, takeCols(j.rt.cols, j.idx).Cols...)
	return exec.NewBatch(cols, len(j.idx))
}
