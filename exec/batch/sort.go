package batch

import (
	"fmt"
	"slices"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// Sort materializes its input and emits it ordered by keys. The sort is
// stable: rows equal on every key keep their input order.
//
// TopN is the same with LIMIT/OFFSET applied to the sorted result.
type Sort struct {
	in   exec.Operator
	keys []SortKey

	topN          bool
	limit, offset expr.Expr

	data   *table
	perm   []int32
	pos    int
	end    int
	sorted bool
}

// NewSort returns in sorted by keys.
func NewSort(in exec.Operator, keys []SortKey) exec.Operator {
	return &Sort{in: in, keys: keys}
}

// NewTopN returns the rows offset..offset+limit of in sorted by keys.
func NewTopN(in exec.Operator, keys []SortKey, limit, offset expr.Expr) exec.Operator {
	return &Sort{in: in, keys: keys, topN: true, limit: limit, offset: offset}
}

func (s *Sort) Open(ctx *exec.Ctx) error {
	s.reset()
	if s.topN {
		lim, off, err := evalLimits(ctx, s.limit, s.offset)
		if err != nil {
			return err
		}
		s.pos, s.end = int(min(off, int64(1<<62))), -1
		if lim >= 0 {
			s.end = int(min(off+lim, int64(1<<62)))
		}
	} else {
		s.end = -1
	}
	return s.in.Open(ctx)
}

func (s *Sort) reset() {
	s.data.release()
	s.data, s.perm, s.sorted, s.pos = nil, s.perm[:0], false, 0
}

// sortPerm returns the stable order of the rows of t by keys.
func sortPerm(t *table, keys []SortKey, perm []int32) []int32 {
	perm = iota32(perm, 0, t.n)
	if len(keys) == 0 || t.n < 2 {
		return perm
	}
	rc := newRowCmp(t.cols, keys)
	slices.SortStableFunc(perm, func(a, b int32) int { return rc.compare(int(a), int(b)) })
	return perm
}

func (s *Sort) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if !s.sorted {
		if s.end == 0 {
			return nil, nil
		}
		t, err := materialize(ctx, s.in, s.in.Types())
		if err != nil {
			return nil, err
		}
		s.data = t
		s.perm = sortPerm(t, s.keys, s.perm)
		s.sorted = true
		if s.end < 0 || s.end > t.n {
			s.end = t.n
		}
	}
	if s.pos >= s.end {
		return nil, nil
	}
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	hi := min(s.pos+exec.BatchSize, s.end)
	out := takeCols(s.data.cols, s.perm[s.pos:hi])
	s.pos = hi
	return out, nil
}

func (s *Sort) Close() {
	s.reset()
	s.in.Close()
}

func (s *Sort) Types() []types.T { return s.in.Types() }
func (s *Sort) Explain() string {
	if s.topN {
		str := fmt.Sprintf("TopN %s", sortKeyList(s.keys))
		if s.limit != nil {
			str += " limit " + s.limit.String()
		}
		if s.offset != nil {
			str += " offset " + s.offset.String()
		}
		return str
	}
	return "Sort " + sortKeyList(s.keys)
}
func (s *Sort) Children() []exec.Operator { return []exec.Operator{s.in} }
