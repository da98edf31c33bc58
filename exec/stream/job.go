package stream

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/sql/types"

	"streamsql/storage"
)

// Job keys under storage.PrefixEpoch:
//
//	'e' + "epoch"                        -> last committed epoch (8 bytes)
//	'e' + job id (4) + 'c'               -> the job's first committed epoch
//	'e' + job id (4) + 'p' + source (2)  -> the source's position
func jobKey(id uint32, kind byte, extra ...byte) []byte {
	k := make([]byte, 6, 8)
	k[0] = storage.PrefixEpoch
	binary.BigEndian.PutUint32(k[1:], id)
	k[5] = kind
	return append(k, extra...)
}

// JobSpan returns the key span [lo, hi) of job id's epoch records.
func JobSpan(id uint32) (lo, hi []byte) {
	lo = jobKey(id, 0)[:5]
	return lo, storage.PrefixEnd(lo)
}

var epochKey = []byte{storage.PrefixEpoch, 'e', 'p', 'o', 'c', 'h'}

// epochTimeKey holds the time of the committed epoch, in microseconds
// since 1970 (Coordinator.EpochTime).
var epochTimeKey = []byte{storage.PrefixEpoch, 'e', 'p', 'o', 'c', 'h', 'T'}

// JobSpec is what the engine hands the coordinator for one view.
type JobSpec struct {
	// ID is the view's table id; Name its name.
	ID   uint32
	Name string
	// Plan's root is the view's materialize node.
	Plan *Node
	// StateIDs are the state table ids allocated to the plan, in plan
	// order (see BuildCtx.StateTable).
	StateIDs []uint32
	// Upstreams are the ids of the views the job reads.
	Upstreams []uint32
	// Tables are the ids of the tables the job follows.
	Tables []uint32
	// Role is the role the job runs as: the view's or sink's owner, whose
	// rights it reads with and whose name current_user and session_user
	// give inside it ("": the server's user).
	Role string
	// LateRowsMax is how many late rows the job's late row log keeps
	// (the view's late_rows_max; 0: DefaultLateRowsMax).
	LateRowsMax int
}

// CountStateTables returns how many state tables plan needs: every
// instance of a parallel operator has its own.
func CountStateTables(n *Node) int {
	c := 0
	seen := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if seen[n] {
			return // a shared node is built once
		}
		seen[n] = true
		c += len(n.StateTables) * n.Instances()
		for _, in := range n.Inputs {
			walk(in)
		}
	}
	walk(n)
	return c
}

// StateLayout fingerprints how plan lays out its state: for every operator
// that keeps state, in plan order, its kind, its columns and stream key
// and those of its inputs, and how many state tables it has. State written
// by one plan can be read by another only if their layouts are equal, so
// a view whose definition plans differently after an upgrade is not
// resumed over state it would misread.
func StateLayout(plan *Node) string {
	h := sha256.New()
	seen := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if seen[n] {
			h.Write([]byte("shared\n"))
			return
		}
		seen[n] = true
		if len(n.StateTables) > 0 {
			fmt.Fprintf(h, "%T|%d|%d|", n.Spec, len(n.StateTables), n.Instances())
			for _, x := range append([]*Node{n}, n.Inputs...) {
				for _, t := range x.Types {
					fmt.Fprintf(h, "%s,", t)
				}
				fmt.Fprintf(h, "|%v|", x.StreamKey)
			}
			h.Write([]byte{'\n'})
		}
		for _, in := range n.Inputs {
			walk(in)
		}
	}
	walk(plan)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Job runs one view's dataflow as fragments: parts of the plan cut at its
// exchanges, each instance of a fragment in its own goroutine. Sources
// run in goroutines of their own and feed the fragment they belong to.
type Job struct {
	spec  JobSpec
	env   *Env
	coord *Coordinator

	sources []*jobSource
	frags   []*fragment
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	// start: the job takes part in every epoch after it.
	start uint64
	// catchUp: a sink resumed behind its views; until start its view
	// sources replay the sink's view log (sink_view_log.go).
	catchUp bool

	mu        sync.Mutex
	err       error
	committed uint64
	// hasCommitted: the job's first-epoch marker has been written.
	hasCommitted bool
	// rejects is the job's reject log (rejects.go).
	rejects *RejectLog
	// srcPos are the table sources' positions as of the last committed
	// epoch; epochPos those recorded at barriers not committed yet.
	srcPos   []uint64
	epochPos map[uint64]map[int]uint64
	// writes are the fragments' write batches per epoch, gathered by the
	// root fragment when the barrier reaches it.
	writes map[uint64][]*pebble.Batch
	// ops are the plan nodes' counters (operator_stats.go).
	ops *jobOps
	// viewLogs are the view's change blocks per epoch (Barrier.ViewLog).
	viewLogs map[uint64]map[uint32]*ViewChanges
	// shared are the plan nodes several consumers read (fanout.go).
	shared map[*Node]*sharedRT
}

// sharedRT is a node several consumers read, as built: per instance, the
// fragment it runs in and the fanout to its consumers.
type sharedRT struct {
	frags []*fragment
	fans  []*fanout
}

type jobSource struct {
	spec     SourceSpec
	src      Source
	barriers chan uint64
	// follows: barriers come from an upstream view, not the coordinator.
	follows bool
	table   uint32 // followed table id, or 0
	frag    *fragment
	sender  int // flat sender id in frag
}

type srcMsg struct {
	src int
	m   Message
}

// fragment is one instance of a fragment: the operators one goroutine
// runs, fed through inbox by its senders (sources, or the instances of
// the fragments below its exchanges).
type fragment struct {
	job     *Job
	env     *Env
	inbox   chan srcMsg
	senders []fragSender
	leaves  []fragLeaf
	// rejects arrived from the sources since the last barrier.
	rejects []Reject
	// cursor is the operator running now, for the per-operator counters.
	cursor *opCursor
}

type fragSender struct {
	leaf   int
	source int // index in Job.sources, or -1
	// node counts a source's rows and rejects (nil for exchanges).
	node *nodeCounters
}

// fragLeaf is where one input of the fragment enters its operators.
type fragLeaf struct {
	out   Output
	first int // flat id of its first sender
	merge exchangeMerge
}

// build constructs the job's fragments and opens its sources.
func (j *Job) build() error {
	j.writes = map[uint64][]*pebble.Batch{}
	j.ops = newJobOps(j.spec.Plan)
	j.shared = map[*Node]*sharedRT{}
	for n := range SharedNodes(j.spec.Plan) {
		j.shared[n] = &sharedRT{}
	}
	bc := &BuildCtx{stateIDs: j.spec.StateIDs}
	sink := &jobSink{job: j}
	if j.spec.Plan.Instances() != 1 {
		return fmt.Errorf("job %s: the root runs in %d instances", j.spec.Name, j.spec.Plan.Instances())
	}
	// What the root sends goes to no operator: its rows in count nowhere.
	above := newNodeCounters()
	if err := j.buildFragments(bc, j.spec.Plan, func(int) (Output, *nodeCounters) { return Output{Op: sink}, above }); err != nil {
		return err
	}
	if bc.nextID != len(bc.stateIDs) {
		return fmt.Errorf("job %s: plan uses %d state tables, %d allocated", j.spec.Name, bc.nextID, len(bc.stateIDs))
	}
	j.srcPos = make([]uint64, len(j.sources))
	j.epochPos = map[uint64]map[int]uint64{}
	if !j.env.Fresh {
		l, err := OpenRejectLog(j.env.State, j.spec.ID)
		if err != nil {
			return err
		}
		j.rejects = l
		j.env.Stats.Rejects.Store(l.Count())
	}
	return nil
}

// buildFragments builds the instances of the fragment whose top is n,
// then the fragments below its exchanges. The order is fixed, so state
// table ids go to the same instances on every build. out gives instance
// k's downstream and the counters of the node it belongs to.
func (j *Job) buildFragments(bc *BuildCtx, n *Node, out func(k int) (Output, *nodeCounters)) error {
	var exs []*exchangeRT
	seen := map[*Node]*exchangeRT{}
	for k := 0; k < n.Instances(); k++ {
		// A fragment that reads a shared node built already runs in
		// that node's fragment.
		f, err := j.sharedFragment(n, n, k)
		if err != nil {
			return err
		}
		if f == nil {
			f = j.newFragment()
		}
		o, in := out(k)
		bc.Instance = k
		if err := j.buildNode(bc, f, n, o, in, seen, &exs); err != nil {
			return err
		}
	}
	for _, ex := range exs {
		spec := ex.node.Spec.(*ExchangeSpec)
		err := j.buildFragments(bc, ex.node.Inputs[0], func(k int) (Output, *nodeCounters) {
			// The exchange's rows in are counted where they are sent.
			return Output{Op: &exchangeSender{ctx: j.ctx, ex: ex, spec: spec, idx: k}}, j.ops.counters(ex.node)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// sharedFragment returns instance k of the fragment of the first shared
// node built already that the fragment whose top is top reaches from x
// (without crossing an exchange), or nil.
func (j *Job) sharedFragment(top, x *Node, k int) (*fragment, error) {
	if _, ok := x.Spec.(*ExchangeSpec); ok || x.Source != nil {
		return nil, nil
	}
	if rt := j.shared[x]; rt != nil && len(rt.frags) > 0 {
		if x.Instances() != top.Instances() {
			return nil, fmt.Errorf("job %s: a shared operator runs in %d instances, a reader's fragment in %d", j.spec.Name, x.Instances(), top.Instances())
		}
		if k < len(rt.frags) {
			return rt.frags[k], nil
		}
		return nil, nil // this instance is not built yet
	}
	for _, in := range x.Inputs {
		if f, err := j.sharedFragment(top, in, k); f != nil || err != nil {
			return f, err
		}
	}
	return nil, nil
}

func (j *Job) newFragment() *fragment {
	env := *j.env
	ctx := *j.env.Ctx
	ctx.Cache = nil
	env.Ctx = &ctx
	f := &fragment{job: j, env: &env, inbox: make(chan srcMsg, 16), cursor: &opCursor{}}
	env.cursor = f.cursor
	ctx.OnRowError = f.functionReject
	j.frags = append(j.frags, f)
	return f
}

// FormatRow is the text of each value of a row of types ts, NULL for a
// NULL, as rejects and tests show rows.
func FormatRow(vals []types.Datum, ts []types.T) []string {
	parts := make([]string, len(vals))
	for i, d := range vals {
		if d == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = types.FormatText(d, ts[i], time.UTC)
		}
	}
	return parts
}

// functionReject records a row a user function failed on (it threw, ran
// out of time or memory): the function's result for the row is NULL, the
// row joins the job's rejects at the next barrier, and the job goes on.
// It runs in the fragment's goroutine, as every operator call does.
func (f *fragment) functionReject(fn string, err error, args []types.Datum, argTypes []types.T) {
	j := f.job
	raw := "(" + strings.Join(FormatRow(args, argTypes), ", ") + ")"
	if len(raw) > maxRejectRaw {
		raw = raw[:maxRejectRaw]
	}
	if len(f.rejects) == 0 { // one log line per fragment and epoch
		if j.coord != nil {
			j.coord.log.Warn("user function failed on a row; its result is NULL and the row is in rejects",
				"job", j.spec.Name, "function", fn, "args", raw, "err", err)
		}
	}
	f.rejects = append(f.rejects, Reject{Relation: j.spec.Name, Split: "function " + fn, Offset: -1,
		Raw: []byte(raw), Error: err.Error(), Time: time.Now()})
	j.env.Stats.Rejects.Add(1)
	if c := f.cursor.cur; c != nil {
		c.rejects.Add(1)
	}
}

// maxRejectRaw bounds the arguments a function reject keeps.
const maxRejectRaw = 1024

func (f *fragment) addLeaf(out Output, senders, source int, ts []types.T) int {
	l := fragLeaf{out: out, first: len(f.senders),
		merge: exchangeMerge{types: ts, n: senders, cols: map[int]*wmCol{}}}
	f.leaves = append(f.leaves, l)
	for k := 0; k < senders; k++ {
		f.senders = append(f.senders, fragSender{leaf: len(f.leaves) - 1, source: source})
	}
	return l.first
}

// buildNode builds n's operator in f and those of its inputs; n sends to
// out, which belongs to the node counted by in.
func (j *Job) buildNode(bc *BuildCtx, f *fragment, n *Node, out Output, in *nodeCounters, seen map[*Node]*exchangeRT, exs *[]*exchangeRT) error {
	bc.Env, bc.Node, bc.Inputs = f.env, n, n.Inputs
	rt, k := j.shared[n], bc.Instance
	if rt != nil && k < len(rt.fans) {
		// Built already: one more consumer. Its meter counts the node's
		// rows out nowhere, the first consumer's does.
		if rt.frags[k] != f {
			return fmt.Errorf("job %s: the readers of a shared operator run in different fragments", j.spec.Name)
		}
		rt.fans[k].outs = append(rt.fans[k].outs,
			Output{Op: &meter{next: out.Op, out: newNodeCounters(), in: in, cursor: f.cursor}, Side: out.Side})
		return nil
	}
	nc := j.ops.counters(n)
	out = Output{Op: &meter{next: out.Op, out: nc, in: in, cursor: f.cursor}, Side: out.Side}
	if rt != nil {
		if k != len(rt.fans) {
			return fmt.Errorf("job %s: instance %d of a shared operator built out of order", j.spec.Name, k)
		}
		fan := &fanout{outs: []Output{out}}
		rt.fans, rt.frags = append(rt.fans, fan), append(rt.frags, f)
		out = Output{Op: fan}
	}
	// State accounts opened while the operator is built are its own.
	f.cursor.cur = nc
	defer func() { f.cursor.cur = nil }()
	if ex, ok := n.Spec.(*ExchangeSpec); ok {
		rt := seen[n]
		if rt == nil {
			rt = &exchangeRT{node: n}
			seen[n] = rt
			*exs = append(*exs, rt)
		}
		first := f.addLeaf(out, n.Inputs[0].Instances(), -1, ex.Types)
		rt.receivers = append(rt.receivers, exchangeReceiver{f: f, first: first})
		return nil
	}
	if n.Source != nil {
		idx := len(j.sources)
		var pos []byte
		if !j.env.Fresh {
			v, found, err := j.env.State.Get(jobKey(j.spec.ID, 'p', byte(idx>>8), byte(idx)))
			if err != nil {
				return err
			}
			if found {
				pos = v
			}
		}
		src, err := n.Source.Open(bc, pos)
		if err != nil {
			return err
		}
		js := &jobSource{spec: n.Source, src: src, barriers: make(chan uint64, 256), frag: f}
		js.sender = f.addLeaf(out, 1, idx, n.Types)
		f.senders[js.sender].node = nc
		if _, ok := src.(interface{ followsUpstream() }); ok {
			js.follows = true
		}
		if ts, ok := n.Source.(*TableSourceSpec); ok {
			js.table = ts.Table.ID
		}
		j.sources = append(j.sources, js)
		return nil
	}
	op, err := n.Spec.Build(bc, out)
	if err != nil {
		return err
	}
	if len(n.Inputs) > 1 {
		op = &aligner{Operator: op, n: len(n.Inputs)}
	}
	for i, in := range n.Inputs {
		if err := j.buildNode(bc, f, in, Output{Op: op, Side: i}, nc, seen, exs); err != nil {
			return err
		}
	}
	return nil
}

// aligner passes a multi-input operator's barrier on once every input
// delivered it.
type aligner struct {
	Operator
	n, seen int
}

// TakesIdleMarks is the aligned operator's.
func (a *aligner) TakesIdleMarks() bool { return TakesIdleMarks(a.Operator) }

func (a *aligner) Barrier(b *Barrier) error {
	a.seen++
	if a.seen < a.n {
		return nil
	}
	a.seen = 0
	return a.Operator.Barrier(b)
}

// jobSink is above the root: it hands the epoch's writes, those of
// every fragment, to the coordinator.
type jobSink struct{ job *Job }

func (s *jobSink) Chunk(_ int, c *Chunk) error        { c.Release(); return nil }
func (s *jobSink) Watermark(_ int, _ Watermark) error { return nil }
func (s *jobSink) Barrier(b *Barrier) error {
	if err := b.Leave(); err != nil {
		return err
	}
	j := s.job
	j.mu.Lock()
	ws := j.writes[b.Epoch]
	delete(j.writes, b.Epoch)
	vl := j.viewLogs[b.Epoch]
	delete(j.viewLogs, b.Epoch)
	j.mu.Unlock()
	j.coord.collect(j, b.Epoch, ws, vl)
	return nil
}

// run starts the sources and the fragments. It returns at once. done
// closes once every goroutine of the job has returned (sources, their
// forwarders and the fragments) and what its operators keep running
// beside them (a sink's drainer) has stopped: after that nothing of the
// job reads or writes the database, so a closing engine may close it.
func (j *Job) run() {
	j.coord.started(j)
	var wg sync.WaitGroup
	for _, s := range j.sources {
		ch := make(chan Message, 4)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer j.recoverPanic()
			if err := s.src.Run(j.ctx, s.barriers, ch); err != nil && j.ctx.Err() == nil {
				j.coord.fail(j, fmt.Errorf("source %s: %w", s.spec.Explain(), err))
			}
		}()
		go func() {
			defer wg.Done()
			defer j.recoverPanic()
			for {
				select {
				case m := <-ch:
					if sendFrag(j.ctx, s.frag.inbox, srcMsg{src: s.sender, m: m}) != nil {
						return
					}
				case <-j.ctx.Done():
					return
				}
			}
		}()
	}
	for _, f := range j.frags {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A fragment that ended stops the job's other goroutines too
			// (fail cancels only the job the coordinator still runs).
			defer j.cancel()
			defer j.recoverPanic()
			if err := f.run(); err != nil && j.ctx.Err() == nil {
				j.coord.fail(j, err)
			}
		}()
	}
	go func() {
		defer close(j.done)
		defer j.coord.ended(j)
		defer j.recoverPanic()
		wg.Wait()
		j.env.stop()
		j.env.releaseState()
	}()
}

// abandon stops a job whose build failed or was given up: its context
// ends, what its operators started (a sink writer's drainer) stops and is
// waited for, and the sources it opened but never ran let go of what they
// hold (a view source its upstream link).
func (j *Job) abandon() {
	j.cancel()
	j.env.stop()
	for _, s := range j.sources {
		if a, ok := s.src.(interface{ abandon() }); ok {
			a.abandon()
		}
	}
}

// jobStops are the stop functions of what a job's operators run beside
// the job's own goroutines (a logged sink's drainer), called in the
// reverse order of registration when the job ends or is abandoned.
type jobStops struct {
	mu    sync.Mutex
	fns   []func()
	ended bool
}

// OnStop registers stop, which ends something an operator started and
// waits for it, to be called once when the job ends: after its sources
// and fragments have returned, before the job counts as done (a job
// that already ended calls it at once). Outside a job (tests that run
// an operator alone) the caller stops it itself.
func (e *Env) OnStop(stop func()) {
	if e == nil || e.stops == nil {
		return
	}
	e.stops.mu.Lock()
	if !e.stops.ended {
		e.stops.fns = append(e.stops.fns, stop)
		e.stops.mu.Unlock()
		return
	}
	e.stops.mu.Unlock()
	stop()
}

// stop calls the registered stop functions, once.
func (e *Env) stop() {
	if e == nil || e.stops == nil {
		return
	}
	e.stops.mu.Lock()
	fns := e.stops.fns
	e.stops.fns, e.stops.ended = nil, true
	e.stops.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func (j *Job) recoverPanic() {
	if r := recover(); r != nil {
		j.coord.fail(j, fmt.Errorf("internal error: %v\n%s", r, debug.Stack()))
	}
}

// run is a fragment instance's loop: it aligns barriers across its
// senders (what a sender sends after its barrier waits until every sender
// has sent the same barrier) and pushes messages into the operators.
func (f *fragment) run() error {
	j := f.job
	n := len(f.senders)
	blocked := make([]bool, n)
	held := make([][]Message, n)
	pos := make([][]byte, n)
	arrived := 0
	var epoch uint64

	var handle func(i int, m Message) error
	handle = func(i int, m Message) error {
		if blocked[i] {
			held[i] = append(held[i], m)
			return nil
		}
		s := f.senders[i]
		leaf := &f.leaves[s.leaf]
		switch m.Kind {
		case MsgChunk:
			if s.source >= 0 {
				j.env.Stats.RowsIn.Add(int64(m.Chunk.N))
				s.node.in += int64(m.Chunk.N) // published by the source's meter
			}
			return leaf.out.Chunk(m.Chunk)
		case MsgWatermark:
			if w, ok := leaf.merge.add(i-leaf.first, m.WM); ok {
				return leaf.out.Watermark(w)
			}
			return nil
		case MsgRejects:
			j.env.Stats.Rejects.Add(int64(len(m.Rejects)))
			if s.node != nil {
				s.node.rejects.Add(int64(len(m.Rejects)))
			}
			f.rejects = append(f.rejects, m.Rejects...)
			return nil
		case MsgSchemaChange:
			return fmt.Errorf("job %s: a source sent a schema change; only tables apply them", j.spec.Name)
		}
		// A barrier.
		if arrived == 0 {
			epoch = m.Epoch
		} else if m.Epoch != epoch {
			return fmt.Errorf("job %s: barrier %d from sender %d while aligning %d", j.spec.Name, m.Epoch, i, epoch)
		}
		blocked[i], pos[i] = true, m.Pos
		arrived++
		if arrived < n {
			return nil
		}
		if err := f.barrier(epoch, pos, m.Stop); err != nil {
			return err
		}
		arrived = 0
		for k := range blocked {
			blocked[k] = false
		}
		// Replay what arrived behind the barrier, in order per sender.
		for k := range held {
			q := held[k]
			held[k] = nil
			for x, hm := range q {
				if blocked[k] {
					held[k] = append(held[k], q[x:]...)
					break
				}
				if err := handle(k, hm); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for {
		select {
		case <-j.ctx.Done():
			return nil
		case sm := <-f.inbox:
			if err := handle(sm.src, sm.m); err != nil {
				return err
			}
		}
	}
}

// barrier passes an aligned barrier through the fragment's operators
// with the fragment's write batch for the epoch, after recording its
// sources' positions.
func (f *fragment) barrier(epoch uint64, pos [][]byte, stop bool) error {
	j := f.job
	w := j.env.DB.Pebble().NewBatch()
	j.mu.Lock()
	for i, s := range f.senders {
		if s.source < 0 || pos[i] == nil {
			continue
		}
		if err := w.Set(jobKey(j.spec.ID, 'p', byte(s.source>>8), byte(s.source)), pos[i], nil); err != nil {
			j.mu.Unlock()
			return err
		}
		if j.sources[s.source].table != 0 && len(pos[i]) == 8 {
			if j.epochPos[epoch] == nil {
				j.epochPos[epoch] = map[int]uint64{}
			}
			j.epochPos[epoch][s.source] = binary.BigEndian.Uint64(pos[i])
		}
	}
	if len(f.rejects) > 0 {
		err := j.writeRejects(w, f.rejects)
		f.rejects = nil
		if err != nil {
			j.mu.Unlock()
			return err
		}
	}
	first := !j.hasCommitted
	j.hasCommitted = true
	j.writes[epoch] = append(j.writes[epoch], w)
	j.mu.Unlock()
	if first {
		var e [8]byte
		binary.BigEndian.PutUint64(e[:], epoch)
		if err := w.Set(jobKey(j.spec.ID, 'c'), e[:], nil); err != nil {
			return err
		}
	}
	b := &Barrier{Epoch: epoch, Writes: w, Stop: stop, Also: func(extra *pebble.Batch) {
		j.mu.Lock()
		j.writes[epoch] = append(j.writes[epoch], extra)
		j.mu.Unlock()
	}, ViewLog: func(view uint32, changes *ViewChanges) {
		j.mu.Lock()
		if j.viewLogs == nil {
			j.viewLogs = map[uint64]map[uint32]*ViewChanges{}
		}
		if j.viewLogs[epoch] == nil {
			j.viewLogs[epoch] = map[uint32]*ViewChanges{}
		}
		j.viewLogs[epoch][view].Release()
		j.viewLogs[epoch][view] = changes
		j.mu.Unlock()
	}}
	// Rejects of functions that fail while the operators handle the
	// barrier (a group's result) belong to this epoch too.
	b.leave = func() error {
		if len(f.rejects) == 0 {
			return nil
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		err := j.writeRejects(w, f.rejects)
		f.rejects = nil
		return err
	}
	if j.coord != nil {
		b.Time = j.coord.EpochTime(epoch)
	}
	// Every leaf gets the barrier; aligners pass it on once per operator.
	for i := range f.leaves {
		if err := f.leaves[i].out.Barrier(b); err != nil {
			return err
		}
	}
	return nil
}

// committedEpoch adopts the source positions recorded at epoch e's
// barrier, now that e committed.
func (j *Job) committedEpoch(e uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for ep, m := range j.epochPos {
		if ep > e {
			continue
		}
		if ep == e {
			for i, p := range m {
				j.srcPos[i] = p
			}
		}
		delete(j.epochPos, ep)
	}
}

// minTablePos returns the job's lowest position on table t, and whether
// the job follows t at all (a job that has not passed a barrier yet pins
// the whole log: position 0).
func (j *Job) minTablePos(t uint32) (uint64, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	follows := false
	var min uint64
	for i, s := range j.sources {
		if s.table != t {
			continue
		}
		if !follows || j.srcPos[i] < min {
			min = j.srcPos[i]
		}
		follows = true
	}
	return min, follows
}

// CommittedPositions reads, from r (a consistent snapshot), the last
// committed epoch and job id's source positions recorded with it, by
// source index; an entry is nil when that source recorded none.
func CommittedPositions(r storage.Reader, id uint32) (uint64, [][]byte, error) {
	var epoch uint64
	v, found, err := r.Get(epochKey)
	if err != nil {
		return 0, nil, err
	}
	if found && len(v) == 8 {
		epoch = binary.BigEndian.Uint64(v)
	}
	lo := jobKey(id, 'p')
	it, err := r.NewIter(lo, storage.PrefixEnd(lo))
	if err != nil {
		return 0, nil, err
	}
	var pos [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(lo)+2 {
			continue
		}
		idx := int(binary.BigEndian.Uint16(k[len(lo):]))
		for len(pos) <= idx {
			pos = append(pos, nil)
		}
		pos[idx] = append([]byte(nil), it.Value()...)
	}
	return epoch, pos, it.Close()
}
