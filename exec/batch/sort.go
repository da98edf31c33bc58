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
//
// Memory: the input batches are reserved in the statement's account
// (twice: the rows and their sorted copy). When the account refuses a
// batch, the rows held so far become a sorted run on disk and the sort
// finishes as an external merge sort (sort_external.go).
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
	held   int64 // bytes reserved in the statement's account

	mem     *exec.MemAccount
	runs    []*sortRun
	merge   *merger
	emitted int // rows the merge has produced
	// registered is the account this sort counts itself in as a spiller.
	registered *exec.MemAccount
	// spillRows is the rows per batch of runs and merges: small enough
	// that fanIn batches fit in memory.
	spillRows int
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
	if s.registered != ctx.Mem {
		ctx.Mem.AddSpiller()
		s.registered = ctx.Mem
	}
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
	if s.merge != nil {
		s.merge.close()
		s.merge = nil
	}
	for _, r := range s.runs {
		r.file.remove()
	}
	s.runs, s.emitted = nil, 0
	s.mem.Shrink(s.held)
	s.held = 0
}

// sortPerm returns the stable order of the rows of t by keys.
func sortPerm(t *table, keys []SortKey, perm []int32) []int32 {
	perm = iota32(perm, 0, t.n)
	if len(keys) == 0 || t.n < 2 {
		return perm
	}
	rc := newRowCmp(t.cols, keys)
	// Ties go to the earlier row: a stable order, from the unstable (and
	// much faster) pattern-defeating quicksort.
	slices.SortFunc(perm, func(a, b int32) int {
		if c := rc.compare(int(a), int(b)); c != 0 {
			return c
		}
		return int(a - b)
	})
	return perm
}

func (s *Sort) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if !s.sorted {
		if s.end == 0 {
			return nil, nil
		}
		if err := s.load(ctx); err != nil {
			return nil, err
		}
		s.sorted = true
		if s.merge == nil && (s.end < 0 || s.end > s.data.n) {
			s.end = s.data.n
		}
	}
	if s.merge != nil {
		return s.nextMerged(ctx)
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

// load reads the whole input: into memory and sorted there when it fits,
// else into sorted runs on disk that a merger then merges.
func (s *Sort) load(ctx *exec.Ctx) error {
	s.mem = ctx.Mem
	ts := s.in.Types()
	var batches []*exec.Batch
	rows := 0
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	// spill writes the rows held as a sorted run and frees them.
	spill := func() error {
		t, err := concatBatches(batches, ts, rows)
		if err != nil {
			return err
		}
		for _, b := range batches {
			b.Release()
		}
		if s.spillRows == 0 {
			s.spillRows = exec.BatchSize
			if lim := s.mem.SpillBudget(); lim > 0 && rows > 0 {
				w := max(1, s.held/2/int64(rows))
				s.spillRows = int(max(16, min(int64(exec.BatchSize), lim/32/w)))
			}
		}
		batches, rows = batches[:0], 0
		run, perm, err := writeRun(ctx, t, s.keys, ts, s.perm, s.spillRows)
		t.release()
		s.perm = perm[:0]
		s.mem.Shrink(s.held)
		s.held = 0
		if err != nil {
			return err
		}
		s.runs = append(s.runs, run)
		return nil
	}
	for {
		b, err := nextRows(ctx, s.in)
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		// The rows, their sorted copy and the permutation.
		sz := 2*batchBytes(b) + 4*int64(b.N)
		if len(batches) > 0 && s.mem.OverBudget(s.held, sz) || !s.mem.TryGrow(sz) {
			if !s.mem.CanSpill() {
				b.Release()
				return s.mem.OutOfMemory("Sort", sz)
			}
			if len(batches) > 0 {
				if err := spill(); err != nil {
					b.Release()
					return err
				}
			}
			if !s.mem.TryGrow(sz) {
				// One batch is always taken, if need be past the
				// limit: it becomes a run of its own.
				s.mem.ForceGrow(sz)
			}
		}
		s.held += sz
		batches = append(batches, b)
		rows += b.N
	}
	if len(s.runs) == 0 {
		t, err := concatBatches(batches, ts, rows)
		if err != nil {
			return err
		}
		s.data = t
		s.perm = sortPerm(t, s.keys, s.perm)
		return nil
	}
	if rows > 0 {
		if err := spill(); err != nil {
			return err
		}
	}
	if err := s.mergePasses(ctx, ts); err != nil {
		return err
	}
	m, err := newMerger(ctx, s.runs, s.keys, ts, s.spillRows)
	if err != nil {
		return err
	}
	s.runs, s.merge = nil, m
	return nil
}

// fanIn is how many runs one merge reads at once: as many as one batch
// each (and its keys) fits in half the sort's share of the statement's memory.
func (s *Sort) fanIn() int {
	const most = 256
	lim := s.mem.SpillBudget()
	if lim <= 0 {
		return most
	}
	var bytes, batches int64
	for _, r := range s.runs {
		bytes += r.file.cw.n
		batches += int64(r.file.n)
	}
	if batches == 0 {
		return most
	}
	per := 2 * bytes / batches // a batch and its encoded keys
	return int(max(2, min(most, lim/2/max(per, 1))))
}

// mergePasses merges consecutive runs into longer ones until at most
// fanIn remain.
func (s *Sort) mergePasses(ctx *exec.Ctx, ts []types.T) error {
	for f := s.fanIn(); len(s.runs) > f; f = s.fanIn() {
		var next []*sortRun
		for lo := 0; lo < len(s.runs); lo += f {
			group := s.runs[lo:min(lo+f, len(s.runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			run, err := mergeToRun(ctx, group, s.keys, ts, s.spillRows)
			if err != nil {
				s.runs = append(next, s.runs[lo+len(group):]...)
				return err
			}
			next = append(next, run)
		}
		s.runs = next
	}
	return nil
}

// mergeToRun merges runs into one new run (removing theirs).
func mergeToRun(ctx *exec.Ctx, runs []*sortRun, keys []SortKey, ts []types.T, rows int) (*sortRun, error) {
	m, err := newMerger(ctx, runs, keys, ts, rows)
	if err != nil {
		return nil, err
	}
	defer m.close()
	f, err := newSpillFile(ctx, ts, "sort")
	if err != nil {
		return nil, err
	}
	var n int64
	for {
		b, err := m.next(ctx)
		if err != nil {
			f.remove()
			return nil, err
		}
		if b == nil {
			break
		}
		err = f.write(b)
		n += int64(b.N)
		b.Release()
		if err != nil {
			f.remove()
			return nil, err
		}
	}
	if err := f.finish(); err != nil {
		f.remove()
		return nil, err
	}
	return &sortRun{file: f, rows: n}, nil
}

// nextMerged returns the next batch of the merge, cut to OFFSET/LIMIT.
func (s *Sort) nextMerged(ctx *exec.Ctx) (*exec.Batch, error) {
	for {
		if s.end >= 0 && s.emitted >= s.end {
			return nil, nil
		}
		b, err := s.merge.next(ctx)
		if err != nil || b == nil {
			return nil, err
		}
		lo, hi := s.emitted, s.emitted+b.N
		s.emitted = hi
		from, to := max(lo, s.pos), hi
		if s.end >= 0 {
			to = min(to, s.end)
		}
		if from >= to {
			b.Release()
			continue
		}
		if from == lo && to == hi {
			return b, nil
		}
		out := sliceCols(b.Cols, from-lo, to-lo)
		b.Release()
		return out, nil
	}
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
