package batch

import (
	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// SetOpKind is UNION, INTERSECT or EXCEPT (the logical plan's).
type SetOpKind = plan.SetOpKind

const (
	Union     = plan.Union
	Intersect = plan.Intersect
	Except    = plan.Except
)

// SetOp computes UNION, INTERSECT and EXCEPT with PostgreSQL's semantics:
// rows compare as IS NOT DISTINCT FROM (NULLs equal); without ALL the
// result has no duplicates; with ALL a row appearing l times on the left
// and r times on the right appears l+r (UNION), min(l, r) (INTERSECT) or
// max(l-r, 0) (EXCEPT) times.
//
// State for INTERSECT and EXCEPT: every distinct row of the right input
// numbered in a groupTable with its remaining count, and which groups have
// been emitted; UNION keeps only the groupTable of rows seen.
type SetOp struct {
	left, right exec.Operator
	kind        SetOpKind
	all         bool

	union   exec.Operator // UNION: the concatenation (deduplicated unless ALL)
	groups  *groupTable
	nRight  int
	counts  []int64
	emitted []bool
	ready   bool
	ids     []uint32
	rows    []int32
}

// NewSetOp returns left <kind> [ALL] right; both have the same types.
func NewSetOp(left, right exec.Operator, kind SetOpKind, all bool) exec.Operator {
	s := &SetOp{left: left, right: right, kind: kind, all: all}
	if kind == Union {
		s.union = &UnionAll{inputs: []exec.Operator{left, right}}
		if !all {
			s.union = NewDistinct(s.union)
		}
	}
	return s
}

func (s *SetOp) Open(ctx *exec.Ctx) error {
	if s.union != nil {
		return s.union.Open(ctx)
	}
	s.groups.release()
	s.groups, s.counts, s.emitted, s.ready, s.nRight = accountedGroupTable(s.left.Types(), ctx.Mem, s.Explain()), s.counts[:0], s.emitted[:0], false, 0
	if err := s.left.Open(ctx); err != nil {
		return err
	}
	return s.right.Open(ctx)
}

func (s *SetOp) ensureIDs(n int) []uint32 {
	if cap(s.ids) < n {
		s.ids = make([]uint32, n)
	}
	return s.ids[:n]
}

// loadRight counts the rows of the right input per distinct row.
func (s *SetOp) loadRight(ctx *exec.Ctx) error {
	for {
		b, err := next(ctx, s.right)
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		ids := s.ensureIDs(b.N)
		s.rows = s.groups.assign(b.Cols, b.N, ids, s.rows[:0])
		if err := s.groups.charge(s.rows); err != nil {
			b.Release()
			return err
		}
		for len(s.counts) < s.groups.n {
			s.counts = append(s.counts, 0)
		}
		for _, id := range ids {
			s.counts[id]++
		}
		b.Release()
	}
	s.nRight = s.groups.n
	return nil
}

func (s *SetOp) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if s.union != nil {
		return s.union.Next(ctx)
	}
	if !s.ready {
		if err := s.loadRight(ctx); err != nil {
			return nil, err
		}
		s.ready = true
	}
	for {
		b, err := nextRows(ctx, s.left)
		if err != nil || b == nil {
			return nil, err
		}
		ids := s.ensureIDs(b.N)
		s.rows = s.groups.assign(b.Cols, b.N, ids, s.rows[:0])
		if err := s.groups.charge(s.rows); err != nil {
			b.Release()
			return nil, err
		}
		for len(s.emitted) < s.groups.n {
			s.emitted = append(s.emitted, false)
		}
		s.rows = s.rows[:0]
		for i, id := range ids {
			inRight := int(id) < s.nRight
			switch {
			case s.kind == Intersect && s.all:
				if inRight && s.counts[id] > 0 {
					s.counts[id]--
					s.rows = append(s.rows, int32(i))
				}
			case s.kind == Intersect:
				if inRight && !s.emitted[id] {
					s.emitted[id] = true
					s.rows = append(s.rows, int32(i))
				}
			case s.all: // EXCEPT ALL
				if inRight && s.counts[id] > 0 {
					s.counts[id]--
				} else {
					s.rows = append(s.rows, int32(i))
				}
			default: // EXCEPT
				if !inRight && !s.emitted[id] {
					s.emitted[id] = true
					s.rows = append(s.rows, int32(i))
				}
			}
		}
		if len(s.rows) == 0 {
			b.Release()
			continue
		}
		out := takeCols(b.Cols, s.rows)
		b.Release()
		return out, nil
	}
}

func (s *SetOp) Close() {
	if s.union != nil {
		s.union.Close()
		return
	}
	s.groups.release()
	s.groups = nil
	s.left.Close()
	s.right.Close()
}

func (s *SetOp) Types() []types.T { return s.left.Types() }
func (s *SetOp) Explain() string {
	str := s.kind.String()
	if s.all {
		str += " all"
	}
	return str
}

// Children lists the two inputs (UNION's internal concatenation is an
// implementation detail).
func (s *SetOp) Children() []exec.Operator { return []exec.Operator{s.left, s.right} }
