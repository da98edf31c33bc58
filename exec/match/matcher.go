package match

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Rows gives the matcher the values of rows by handle: handles are the
// caller's (a position in a materialized input, a slot of a row store).
type Rows interface {
	// Gather returns column col of the rows handles, in order; a handle
	// of -1 gives NULL.
	Gather(col int, handles []int64) (arrow.Array, error)
	// Time returns the event time (microseconds) of a row, for WITHIN.
	Time(handle int64) int64
}

// Define is one variable's DEFINE: Cond over Navs, nil Cond for none.
type Define struct {
	Cond expr.Expr
	Navs []plan.MRNav
}

// Spec is what a matcher matches and computes.
type Spec struct {
	Program *Program
	Vars    []string
	Defines []Define // by variable
	// Measures are evaluated over MeasureNavs for every match.
	MeasureNavs []plan.MRNav
	Measures    []expr.Expr
	// Partition are the input columns copied to every match's output row.
	Partition []int
	Skip      plan.MRSkip
	SkipVar   int
	// Within bounds a match's duration (microseconds), 0 for none.
	Within int64
	// InputTypes are the input's column types.
	InputTypes []types.T
}

// step is one row of a partial match: its sequence number in the
// partition and its variable. Histories are persistent lists, newest
// row first, shared by the threads that forked from one another.
type step struct {
	seq  int64
	v    int32
	prev *step
	// hash is a hash of the variables of the history, to find threads
	// that took the same rows as the same variables.
	hash uint64
}

// newStep returns the history prev followed by row seq as variable v.
func newStep(seq int64, v int, prev *step) *step {
	return &step{seq: seq, v: int32(v), prev: prev, hash: stepHash(v, prev)}
}

func stepHash(v int, prev *step) uint64 {
	h := uint64(v+1) * 0x9e3779b97f4a7c15
	if prev != nil {
		h ^= prev.hash*1099511628211 + 0x2545f4914f6cdd1d
	}
	return h
}

// stepSlab is how many steps a Matcher allocates at once: steps are
// small and many (one for every thread and row it is offered), and a
// partial match holds on to few of them.
const stepSlab = 256

// newStep is newStep from the matcher's slab.
func (m *Matcher) newStep(seq int64, v int, prev *step) *step {
	if len(m.slab) == 0 {
		m.slab = make([]step, stepSlab)
	}
	s := &m.slab[0]
	m.slab = m.slab[1:]
	*s = step{seq: seq, v: int32(v), prev: prev, hash: stepHash(v, prev)}
	return s
}

// sameLabels reports whether two histories of one group (so over the same
// rows) classify every row alike.
func sameLabels(a, b *step) bool {
	for a != nil && b != nil {
		if a == b {
			return true
		}
		if a.v != b.v || a.seq != b.seq {
			return false
		}
		a, b = a.prev, b.prev
	}
	return a == nil && b == nil
}

// maxThreads bounds the partial matches of one partition.
const maxThreads = 1 << 17

// thread is a partial match waiting at an opVar instruction.
type thread struct {
	pc   int32
	ok   bool
	hist *step
}

// group holds the threads of the matches that start at one row, in
// preference order, and the best match found so far.
type group struct {
	start   int64
	threads []thread
	best    *step
	hasBest bool
	// t0 is the time of the first row, once timed (for WITHIN).
	t0    int64
	timed bool
}

// startTime returns the time of g's first row in p.
func (m *Matcher) startTime(p *Partition, g *group) int64 {
	if !g.timed {
		g.t0, g.timed = m.rows.Time(p.handle(g.start)), true
	}
	return g.t0
}

// Partition is the matching state of one partition.
type Partition struct {
	// Key is the caller's (the partition's key, for the stream operator).
	Key any
	// handles are the rows from sequence number base on.
	base    int64
	handles []int64
	// n rows were appended, done of them processed.
	n, done int64
	// resume is the first row that may start a match.
	resume  int64
	groups  []*group
	matches int64
}

// Append adds the partition's next row.
func (p *Partition) Append(handle int64) {
	p.handles = append(p.handles, handle)
	p.n++
}

// Pending reports whether appended rows wait to be processed.
func (p *Partition) Pending() bool { return p.done < p.n }

// Handles returns the handles of the rows the partition keeps (appended
// and not yet trimmed), oldest first. The slice is the partition's own.
func (p *Partition) Handles() []int64 { return p.handles }

// SetHandles replaces the handles of the rows the partition keeps (the
// caller moved them, oldest first); hs must be as many as Handles.
func (p *Partition) SetHandles(hs []int64) error {
	if len(hs) != len(p.handles) {
		return fmt.Errorf("match: %d handles for a partition that keeps %d rows", len(hs), len(p.handles))
	}
	copy(p.handles, hs)
	return nil
}

// Open reports whether the partition has partial matches.
func (p *Partition) Open() bool { return len(p.groups) > 0 }

// handle returns the handle of row seq, -1 when outside the rows kept.
func (p *Partition) handle(seq int64) int64 {
	if seq < p.base || seq >= p.n {
		return -1
	}
	return p.handles[seq-p.base]
}

// Match is one match found: its partition, number and rows.
type Match struct {
	Part   *Partition
	Number int64
	hist   *step
}

// Matcher runs a Spec over partitions.
type Matcher struct {
	spec Spec
	rows Rows
	ctx  *exec.Ctx

	// out collects the matches found since the last TakeMatches.
	out []Match

	// scratch
	visit   []uint32
	gen     uint32
	onPath  []int32
	budget  int
	seen    map[threadKey][]*step
	succ    []int32
	seqs    []int64
	handles []int64
	reqs    [][]req
	slab    []step
	next    []thread
	groups  []*group // resolved groups, for reuse
	parts   []*Partition
	hists   []*step
}

// threadKey finds threads that may be duplicates.
type threadKey struct {
	pc   int32
	hash uint64
}

// req is one evaluation of a DEFINE: thread t of group g wants row seq.
type req struct {
	p    *Partition
	g    *group
	ti   int
	hist *step // the candidate history: the row as the variable, then the thread's
}

// New returns a matcher of spec reading rows.
func New(ctx *exec.Ctx, spec Spec, rows Rows) *Matcher {
	return &Matcher{spec: spec, rows: rows, ctx: ctx, visit: make([]uint32, len(spec.Program.insts)),
		onPath: make([]int32, spec.Program.iters), reqs: make([][]req, len(spec.Vars)), seen: map[threadKey][]*step{}}
}

// MaxBack is how many rows before a partial match's first row its
// navigations may read (PREV offsets), so that a caller dropping old rows
// keeps them.
func (s Spec) MaxBack() int64 {
	var back int64
	for _, d := range s.Defines {
		for _, n := range d.Navs {
			back = max(back, int64(-n.Phys))
		}
	}
	for _, n := range s.MeasureNavs {
		back = max(back, int64(-n.Phys))
	}
	return back
}

// closure appends to succ the instructions (opVar or opMatch) reachable
// from pc without taking a row, in preference order, each once. Paths
// are followed one by one (not merged by instruction, as a regular
// expression VM would): a repetition's guard depends on the path that
// reached it.
func (m *Matcher) closure(pc int32) error {
	m.gen++
	if m.gen == 0 {
		clear(m.visit)
		m.gen = 1
	}
	m.succ = m.succ[:0]
	m.budget = maxClosure
	return m.follow(pc)
}

// maxClosure bounds the paths one closure follows.
const maxClosure = 1 << 20

func (m *Matcher) follow(pc int32) error {
	for {
		if m.budget--; m.budget < 0 {
			return sqlerr.New(sqlerr.ProgramLimitExceeded, "the PATTERN has too many ways to match no row in a row (more than %d)", maxClosure).
				WithHint("Nest fewer optional parts (*, ?, {0,n}) inside one another.")
		}
		in := m.spec.Program.insts[pc]
		switch in.op {
		case opVar, opMatch:
			if m.visit[pc] != m.gen {
				m.visit[pc] = m.gen
				m.succ = append(m.succ, pc)
			}
			return nil
		case opJmp:
			pc = int32(in.x)
		case opSplit:
			if err := m.follow(int32(in.x)); err != nil {
				return err
			}
			pc = int32(in.y)
		case opIterStart:
			m.onPath[in.v]++
			err := m.follow(pc + 1)
			m.onPath[in.v]--
			return err
		case opIterEnd:
			if m.onPath[in.v] > 0 {
				return nil // an empty repetition
			}
			pc++
		}
	}
}

// StepAll steps parts until none has a row pending. check, when set, runs
// before every 64th step (cancellation); drained, when set, is called for
// each partition as it runs out of rows.
func (m *Matcher) StepAll(parts []*Partition, check func() error, drained func(*Partition)) error {
	for rounds := 0; len(parts) > 0; rounds++ {
		if check != nil && rounds%64 == 0 {
			if err := check(); err != nil {
				return err
			}
		}
		if err := m.Step(parts); err != nil {
			return err
		}
		kept := parts[:0]
		for _, p := range parts {
			if p.Pending() {
				kept = append(kept, p)
			} else if drained != nil {
				drained(p)
			}
		}
		parts = kept
	}
	return nil
}

// Step processes the next row of each partition given (each must have
// one pending): it evaluates the DEFINE conditions every thread needs for
// its row, advances the threads, and resolves the groups that are done.
func (m *Matcher) Step(parts []*Partition) error {
	insts := m.spec.Program.insts
	for v := range m.reqs {
		m.reqs[v] = m.reqs[v][:0]
	}
	for _, p := range parts {
		seq := p.done
		h := p.handle(seq)
		if seq >= p.resume {
			g := m.newGroup(seq)
			if err := m.closure(0); err != nil {
				return err
			}
			for _, pc := range m.succ {
				if insts[pc].op == opMatch {
					continue // an empty match is no match; a less preferred path may take rows
				}
				g.threads = append(g.threads, thread{pc: pc})
			}
			if len(g.threads) > 0 {
				p.groups = append(p.groups, g)
			} else {
				m.groups = append(m.groups, g)
			}
		}
		var now int64
		if m.spec.Within > 0 {
			now = m.rows.Time(h)
		}
		for _, g := range p.groups {
			expired := m.spec.Within > 0 && now-m.startTime(p, g) >= m.spec.Within
			for ti := range g.threads {
				t := &g.threads[ti]
				t.ok = false
				if expired {
					continue
				}
				v := insts[t.pc].v
				m.reqs[v] = append(m.reqs[v], req{p: p, g: g, ti: ti, hist: m.newStep(seq, v, t.hist)})
			}
		}
	}
	for v, rs := range m.reqs {
		if len(rs) == 0 {
			continue
		}
		d := m.spec.Defines[v]
		if d.Cond == nil {
			for _, r := range rs {
				r.g.threads[r.ti].ok = true
				r.g.threads[r.ti].hist = r.hist
			}
			continue
		}
		oks, err := m.evalDefine(d, rs)
		if err != nil {
			return err
		}
		for i, r := range rs {
			if oks[i] {
				r.g.threads[r.ti].ok = true
				r.g.threads[r.ti].hist = r.hist
			}
		}
	}
	for _, p := range parts {
		total := 0
		for _, g := range p.groups {
			next := m.next[:0]
			cut := false
			// Only threads of one group can be duplicates: a thread's
			// own successors are at distinct instructions.
			dedup := len(g.threads) > 1
			if dedup {
				clear(m.seen)
			}
			for _, t := range g.threads {
				if !t.ok {
					continue
				}
				if err := m.closure(t.pc + 1); err != nil {
					return err
				}
				for _, pc := range m.succ {
					if insts[pc].op == opMatch {
						g.best, g.hasBest, cut = t.hist, true, true
						break
					}
					// A thread at the same instruction with the same
					// classification of the same rows has the same
					// future: the first (preferred) one is kept.
					if dedup {
						key := threadKey{pc: pc, hash: t.hist.hash}
						dup := false
						for _, o := range m.seen[key] {
							if sameLabels(o, t.hist) {
								dup = true
								break
							}
						}
						if dup {
							continue
						}
						m.seen[key] = append(m.seen[key], t.hist)
					}
					next = append(next, thread{pc: pc, hist: t.hist})
				}
				if cut {
					break
				}
			}
			g.threads = append(g.threads[:0], next...)
			m.next = next[:0]
			total += len(next)
		}
		if total > maxThreads {
			return sqlerr.New(sqlerr.ProgramLimitExceeded, "MATCH_RECOGNIZE holds more than %d partial matches in one partition", maxThreads).
				WithHint("Make the PATTERN less ambiguous (fewer variables that match the same rows), or bound it with WITHIN.")
		}
		p.done++
		m.resolve(p)
	}
	return nil
}

// newGroup returns an empty group starting at row seq, reusing a resolved
// one.
func (m *Matcher) newGroup(seq int64) *group {
	if n := len(m.groups); n > 0 {
		g := m.groups[n-1]
		m.groups = m.groups[:n-1]
		*g = group{start: seq, threads: g.threads[:0]}
		return g
	}
	return &group{start: seq}
}

// Finish ends the partition's input: no thread can take another row.
func (m *Matcher) Finish(p *Partition) {
	for _, g := range p.groups {
		g.threads = nil
	}
	m.resolve(p)
}

// Expire ends the partial matches of p that WITHIN forbids to take any
// row after time wm (the watermark: later rows have later times).
func (m *Matcher) Expire(p *Partition, wm int64) {
	if m.spec.Within <= 0 {
		return
	}
	for _, g := range p.groups {
		if start := m.startTime(p, g); wm >= start && wm-start >= m.spec.Within-1 {
			g.threads = nil
		}
	}
	m.resolve(p)
}

// Deadline returns the earliest watermark at which Expire ends a partial
// match of p; false when none ever will (no WITHIN, or no partial match).
func (m *Matcher) Deadline(p *Partition) (int64, bool) {
	if m.spec.Within <= 0 || len(p.groups) == 0 {
		return 0, false
	}
	d := m.startTime(p, p.groups[0]) + m.spec.Within - 1
	for _, g := range p.groups[1:] {
		d = min(d, m.startTime(p, g)+m.spec.Within-1)
	}
	return d, true
}

// resolve emits the matches of the groups that are done, in start order,
// and applies AFTER MATCH SKIP.
func (m *Matcher) resolve(p *Partition) {
	for len(p.groups) > 0 {
		g := p.groups[0]
		if len(g.threads) > 0 {
			return
		}
		p.groups[0] = nil
		p.groups = p.groups[1:]
		if !g.hasBest {
			m.groups = append(m.groups, g)
			continue
		}
		p.matches++
		m.out = append(m.out, Match{Part: p, Number: p.matches, hist: g.best})
		resume := g.best.seq + 1
		switch m.spec.Skip {
		case plan.MRSkipToNextRow:
			resume = g.start + 1
		case plan.MRSkipToFirst, plan.MRSkipToLast:
			resume = -1
			for s := g.best; s != nil; s = s.prev {
				if int(s.v) == m.spec.SkipVar {
					resume = s.seq
					if m.spec.Skip == plan.MRSkipToLast {
						break
					}
				}
			}
			if resume <= g.start {
				// Skipping to the match's own first row (or to a
				// variable without rows) would find the same match
				// again: go on from the next row.
				resume = g.start + 1
			}
		}
		p.resume = resume
		m.groups = append(m.groups, g)
		for len(p.groups) > 0 && p.groups[0].start < resume {
			m.groups = append(m.groups, p.groups[0])
			p.groups[0] = nil
			p.groups = p.groups[1:]
		}
	}
}

// Trim drops the rows no partial match or navigation can read any more
// and returns their handles (for the caller to free).
func (p *Partition) Trim(maxBack int64) []int64 {
	keep := p.done
	if len(p.groups) > 0 {
		keep = p.groups[0].start
	}
	keep = max(keep, 0)
	keep -= maxBack
	if keep <= p.base {
		return nil
	}
	k := keep - p.base
	dropped := append([]int64(nil), p.handles[:k]...)
	p.handles = append(p.handles[:0], p.handles[k:]...)
	p.base = keep
	return dropped
}

// TakeMatches returns the matches found since the last call.
func (m *Matcher) TakeMatches() []Match {
	out := m.out
	m.out = nil
	return out
}

// navHandle returns the row a navigation reads over hist (newest first),
// -1 for none.
func (m *Matcher) navHandle(p *Partition, n *plan.MRNav, hist *step) int64 {
	seq := int64(-1)
	switch n.Kind {
	case plan.NavLast:
		k := n.Offset
		for s := hist; s != nil; s = s.prev {
			if n.Var < 0 || int(s.v) == n.Var {
				if k == 0 {
					seq = s.seq
					break
				}
				k--
			}
		}
	case plan.NavFirst:
		m.seqs = m.seqs[:0]
		for s := hist; s != nil; s = s.prev {
			if n.Var < 0 || int(s.v) == n.Var {
				m.seqs = append(m.seqs, s.seq)
			}
		}
		if n.Offset < len(m.seqs) {
			seq = m.seqs[len(m.seqs)-1-n.Offset]
		}
	}
	if seq < 0 {
		return -1
	}
	return p.handle(seq + int64(n.Phys))
}

// navColumns computes the navigations navs for each history (with the
// match numbers for MATCH_NUMBER()).
func (m *Matcher) navColumns(navs []plan.MRNav, parts []*Partition, hists []*step, numbers []int64) ([]arrow.Array, error) {
	cols := make([]arrow.Array, 0, len(navs))
	fail := func(err error) ([]arrow.Array, error) {
		for _, c := range cols {
			c.Release()
		}
		return nil, err
	}
	n := len(hists)
	for k := range navs {
		nav := &navs[k]
		switch nav.Kind {
		case plan.NavLast, plan.NavFirst:
			m.handles = m.handles[:0]
			for i, h := range hists {
				m.handles = append(m.handles, m.navHandle(parts[i], nav, h))
			}
			arr, err := m.rows.Gather(nav.Col, m.handles)
			if err != nil {
				return fail(err)
			}
			cols = append(cols, arr)
		case plan.NavAgg:
			arr, err := m.aggregate(nav, parts, hists)
			if err != nil {
				return fail(err)
			}
			cols = append(cols, arr)
		case plan.NavMatchNumber:
			b := array.NewInt64Builder(types.Mem)
			b.AppendValues(numbers, nil)
			cols = append(cols, b.NewArray())
			b.Release()
		case plan.NavClassifier:
			b := array.NewStringBuilder(types.Mem)
			for _, h := range hists {
				if h == nil {
					b.AppendNull()
				} else {
					b.Append(m.spec.Vars[h.v])
				}
			}
			cols = append(cols, b.NewArray())
			b.Release()
		default:
			return fail(fmt.Errorf("match_recognize: navigation kind %d", nav.Kind))
		}
		if cols[len(cols)-1].Len() != n {
			return fail(fmt.Errorf("match_recognize: navigation %d gave %d values for %d rows", k, cols[len(cols)-1].Len(), n))
		}
	}
	return cols, nil
}

// aggregate computes an aggregate navigation over the rows of each
// history mapped to its variable.
func (m *Matcher) aggregate(nav *plan.MRNav, parts []*Partition, hists []*step) (arrow.Array, error) {
	var groups []uint32
	m.handles = m.handles[:0]
	for i, h := range hists {
		for s := h; s != nil; s = s.prev {
			if nav.Var < 0 || int(s.v) == nav.Var {
				groups = append(groups, uint32(i))
				m.handles = append(m.handles, parts[i].handle(s.seq))
			}
		}
	}
	// Rows were gathered newest first: aggregates whose result depends on
	// order read them oldest first.
	for i, j := 0, len(groups)-1; i < j; i, j = i+1, j-1 {
		groups[i], groups[j] = groups[j], groups[i]
		m.handles[i], m.handles[j] = m.handles[j], m.handles[i]
	}
	var args []arrow.Array
	var argTypes []types.T
	if !nav.Star {
		arr, err := m.rows.Gather(nav.Col, m.handles)
		if err != nil {
			return nil, err
		}
		defer arr.Release()
		colT := m.spec.InputTypes[nav.Col]
		argT := nav.AggArg
		if argT.Equal(types.T{}) || argT.Equal(colT) {
			argT = colT
		} else {
			cast := &expr.Cast{Input: &expr.ColRef{Idx: 0, T: colT}, To: argT}
			c, err := cast.Eval(m.ctx, &exec.Batch{Cols: []arrow.Array{arr}, N: arr.Len()})
			if err != nil {
				return nil, err
			}
			defer c.Release()
			arr = c
		}
		args, argTypes = []arrow.Array{arr}, []types.T{argT}
	}
	acc := nav.Agg.New(argTypes)
	defer acc.Release()
	if err := acc.Update(groups, len(hists), args, len(groups)); err != nil {
		return nil, err
	}
	return acc.Finish(&m.ctx.Env, len(hists))
}

// evalDefine evaluates a DEFINE for the requests.
func (m *Matcher) evalDefine(d Define, rs []req) ([]bool, error) {
	m.parts, m.hists = m.parts[:0], m.hists[:0]
	for _, r := range rs {
		m.parts, m.hists = append(m.parts, r.p), append(m.hists, r.hist)
	}
	cols, err := m.navColumns(d.Navs, m.parts, m.hists, nil)
	if err != nil {
		return nil, err
	}
	b := &exec.Batch{Cols: cols, N: len(rs)}
	defer b.Release()
	return expr.EvalBool(m.ctx, d.Cond, b)
}

// Output computes the output rows of matches: the partition columns, then
// the measures.
func (m *Matcher) Output(matches []Match) (*exec.Batch, error) {
	n := len(matches)
	parts := make([]*Partition, n)
	hists := make([]*step, n)
	numbers := make([]int64, n)
	firsts := make([]int64, n)
	for i, mt := range matches {
		parts[i], hists[i], numbers[i] = mt.Part, mt.hist, mt.Number
		s := mt.hist
		for s.prev != nil {
			s = s.prev
		}
		firsts[i] = mt.Part.handle(s.seq)
	}
	var cols []arrow.Array
	for _, c := range m.spec.Partition {
		arr, err := m.rows.Gather(c, firsts)
		if err != nil {
			releaseAll(cols)
			return nil, err
		}
		cols = append(cols, arr)
	}
	navs, err := m.navColumns(m.spec.MeasureNavs, parts, hists, numbers)
	if err != nil {
		releaseAll(cols)
		return nil, err
	}
	nb := &exec.Batch{Cols: navs, N: n}
	defer nb.Release()
	for _, e := range m.spec.Measures {
		arr, err := e.Eval(m.ctx, nb)
		if err != nil {
			releaseAll(cols)
			return nil, err
		}
		cols = append(cols, arr)
	}
	return &exec.Batch{Cols: cols, N: n}, nil
}

func releaseAll(cols []arrow.Array) {
	for _, c := range cols {
		c.Release()
	}
}

// WithinMicros evaluates the interval of WITHIN (an expression of
// constants and parameters) to microseconds.
func WithinMicros(ctx *exec.Ctx, e expr.Expr) (int64, error) {
	d, err := expr.EvalConst(ctx, e)
	if err != nil {
		return 0, err
	}
	iv, ok := d.(types.IntervalValue)
	if !ok {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "WITHIN must be a non-NULL interval")
	}
	if iv.Months != 0 {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "WITHIN must not contain months or years").
			WithDetail("A month has no fixed length; use days instead.")
	}
	const maxDays = 100_000_000
	if iv.Days > maxDays || iv.Days < -maxDays {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "WITHIN is too large")
	}
	us := int64(iv.Days)*types.MicrosPerDay + iv.Micros
	if us <= 0 {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "WITHIN must be positive")
	}
	return us, nil
}
