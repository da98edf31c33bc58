package batch

import (
	"fmt"

	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// RecursiveUnion evaluates WITH RECURSIVE: the non-recursive term's rows
// are the first working table; the recursive term, which reads the working
// table through a WorkTableScan, is run again and again over the rows the
// previous run produced, until a run produces none. Every row produced is
// also output. With UNION (not ALL) a row already output is dropped before
// it reaches the output or the next working table, so queries over cyclic
// data end; with UNION ALL a cycle would loop forever, so the number of
// runs is capped (the max_recursive_iterations setting).
//
// State: the rows of the current run (the next working table) and, for
// UNION, a groupTable of every row output; dropped at Close.
type RecursiveUnion struct {
	anchor, recursive exec.Operator
	work              *WorkTable
	all               bool
	maxIter           int

	seen     *groupTable
	mem      *exec.MemAccount
	nextHeld int64 // bytes of next reserved in the statement's account
	workHeld int64 // bytes of the working table reserved
	ids      []uint32
	newRows  []int32
	next     []*exec.Batch // rows of the current run
	inAnchor bool
	running  bool // recursive is open
	done     bool
	iter     int
}

// DefaultMaxRecursiveIterations caps the runs of a recursive term when the
// session does not set max_recursive_iterations.
const DefaultMaxRecursiveIterations = 100000

// NewRecursiveUnion returns anchor UNION [ALL] recursive, where recursive
// reads work. maxIter caps the runs of the recursive term (0: the default,
// or the max_recursive_iterations setting when the session has it).
func NewRecursiveUnion(anchor, recursive exec.Operator, work *WorkTable, all bool, maxIter int) exec.Operator {
	return &RecursiveUnion{anchor: anchor, recursive: recursive, work: work, all: all, maxIter: maxIter}
}

func (r *RecursiveUnion) Open(ctx *exec.Ctx) error {
	r.releaseNext()
	r.work.reset()
	r.inAnchor, r.running, r.done, r.iter = true, false, false, 0
	r.seen.release()
	r.seen = nil
	r.mem = ctx.Mem
	r.mem.Shrink(r.nextHeld + r.workHeld)
	r.nextHeld, r.workHeld = 0, 0
	if !r.all {
		r.seen = accountedGroupTable(r.anchor.Types(), ctx.Mem, "RecursiveUnion")
	}
	return r.anchor.Open(ctx)
}

// limit is the cap on runs for this execution.
func (r *RecursiveUnion) limit(ctx *exec.Ctx) int {
	if r.maxIter > 0 {
		return r.maxIter
	}
	if ctx.Settings != nil {
		if v, ok := ctx.Settings("max_recursive_iterations"); ok {
			var n int
			if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
				return n
			}
		}
	}
	return DefaultMaxRecursiveIterations
}

func (r *RecursiveUnion) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	for !r.done {
		if err := checkCtx(ctx); err != nil {
			return nil, err
		}
		var in exec.Operator
		switch {
		case r.inAnchor:
			in = r.anchor
		case r.running:
			in = r.recursive
		default:
			// A run ended: its rows become the working table.
			r.work.set(r.next)
			r.next = nil
			r.mem.Shrink(r.workHeld)
			r.workHeld, r.nextHeld = r.nextHeld, 0
			if len(r.work.batches) == 0 {
				r.done = true
				return nil, nil
			}
			r.iter++
			if max := r.limit(ctx); r.iter > max {
				return nil, sqlerr.New(sqlerr.StatementTooComplex, "recursive query exceeded %d iterations", max).
					WithHint("A UNION ALL over cyclic data never ends; UNION (without ALL) stops at rows already seen. The limit is the max_recursive_iterations setting.")
			}
			if err := r.recursive.Open(ctx); err != nil {
				r.recursive.Close()
				return nil, err
			}
			r.running = true
			continue
		}
		b, err := in.Next(ctx)
		if err != nil {
			return nil, err
		}
		if b == nil {
			in.Close()
			r.inAnchor, r.running = false, false
			continue
		}
		out, err := r.fresh(b)
		if err != nil {
			return nil, err
		}
		if out != nil {
			sz := batchBytes(out)
			if err := r.mem.Grow("RecursiveUnion", sz); err != nil {
				out.Release()
				return nil, err
			}
			r.nextHeld += sz
			for _, c := range out.Cols {
				c.Retain()
			}
			r.next = append(r.next, exec.NewBatch(out.Cols, out.N))
			return out, nil
		}
	}
	return nil, nil
}

// fresh returns the rows of b to output (all of them for UNION ALL, those
// not seen before for UNION), or nil; it takes ownership of b.
func (r *RecursiveUnion) fresh(b *exec.Batch) (*exec.Batch, error) {
	if b.N == 0 {
		b.Release()
		return nil, nil
	}
	if r.seen == nil {
		return b, nil
	}
	if cap(r.ids) < b.N {
		r.ids = make([]uint32, b.N)
	}
	r.newRows = r.seen.assign(b.Cols, b.N, r.ids[:b.N], r.newRows[:0])
	if err := r.seen.charge(r.newRows); err != nil {
		b.Release()
		return nil, err
	}
	switch len(r.newRows) {
	case 0:
		b.Release()
		return nil, nil
	case b.N:
		return b, nil
	}
	out := takeCols(b.Cols, r.newRows)
	b.Release()
	return out, nil
}

func (r *RecursiveUnion) releaseNext() {
	for _, b := range r.next {
		b.Release()
	}
	r.next = nil
}

func (r *RecursiveUnion) Close() {
	if r.inAnchor {
		r.anchor.Close()
	}
	if r.running {
		r.recursive.Close()
	}
	r.inAnchor, r.running = false, false
	r.releaseNext()
	r.work.reset()
	r.seen.release()
	r.seen = nil
	r.mem.Shrink(r.nextHeld + r.workHeld)
	r.nextHeld, r.workHeld = 0, 0
}

func (r *RecursiveUnion) Types() []types.T { return r.anchor.Types() }
func (r *RecursiveUnion) Explain() string {
	if r.all {
		return "RecursiveUnion all"
	}
	return "RecursiveUnion"
}
func (r *RecursiveUnion) Children() []exec.Operator {
	return []exec.Operator{r.anchor, r.recursive}
}

// WorkTable is the working table of a recursive query: the rows of the
// previous run of its recursive term.
type WorkTable struct {
	ts      []types.T
	batches []*exec.Batch
}

// NewWorkTable returns an empty working table with columns ts.
func NewWorkTable(ts []types.T) *WorkTable { return &WorkTable{ts: ts} }

// Set replaces the table's rows with bs and takes ownership of them: a
// stream operator that runs a recursive term over rows it keeps fills
// the term's tables this way.
func (w *WorkTable) Set(bs []*exec.Batch) { w.set(bs) }

func (w *WorkTable) set(bs []*exec.Batch) {
	w.reset()
	w.batches = bs
}

func (w *WorkTable) reset() {
	for _, b := range w.batches {
		b.Release()
	}
	w.batches = nil
}

// WorkTableScan reads a recursive query's working table.
type WorkTableScan struct {
	work *WorkTable
	pos  int
}

// NewWorkTableScan returns a scan of work.
func NewWorkTableScan(work *WorkTable) exec.Operator { return &WorkTableScan{work: work} }

func (s *WorkTableScan) Open(*exec.Ctx) error { s.pos = 0; return nil }

func (s *WorkTableScan) Next(*exec.Ctx) (*exec.Batch, error) {
	if s.pos >= len(s.work.batches) {
		return nil, nil
	}
	b := s.work.batches[s.pos]
	s.pos++
	for _, c := range b.Cols {
		c.Retain()
	}
	return exec.NewBatch(b.Cols, b.N), nil
}

func (s *WorkTableScan) Close()                    {}
func (s *WorkTableScan) Types() []types.T          { return s.work.ts }
func (s *WorkTableScan) Explain() string           { return "WorkTableScan" }
func (s *WorkTableScan) Children() []exec.Operator { return nil }
