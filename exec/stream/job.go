package stream

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"sync"

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

func jobSpan(id uint32) (lo, hi []byte) {
	lo = jobKey(id, 0)[:5]
	return lo, storage.PrefixEnd(lo)
}

var epochKey = []byte{storage.PrefixEpoch, 'e', 'p', 'o', 'c', 'h'}

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
}

// CountStateTables returns how many state tables plan needs.
func CountStateTables(n *Node) int {
	c := len(n.StateTables)
	for _, in := range n.Inputs {
		c += CountStateTables(in)
	}
	return c
}

// Job runs one view's dataflow: a goroutine per source and one driver
// goroutine that aligns the sources' barriers and pushes every message
// through the operators.
type Job struct {
	spec  JobSpec
	env   *Env
	coord *Coordinator

	sources []*jobSource
	msgs    chan srcMsg
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	// start: the job takes part in every epoch after it.
	start uint64

	mu        sync.Mutex
	err       error
	committed uint64
	// hasCommitted: the job's first-epoch marker has been written.
	hasCommitted bool
	tablePos     map[uint32]uint64 // followed table -> position at the last barrier
}

type jobSource struct {
	spec     SourceSpec
	src      Source
	out      Output
	barriers chan uint64
	// follows: barriers come from an upstream view, not the coordinator.
	follows bool
	table   uint32 // followed table id, or 0
}

type srcMsg struct {
	src int
	m   Message
}

// build constructs the job's operators and opens its sources.
func (j *Job) build() error {
	bc := &BuildCtx{Env: j.env, stateIDs: j.spec.StateIDs}
	sink := &jobSink{job: j}
	if err := j.buildNode(bc, j.spec.Plan, Output{Op: sink}); err != nil {
		return err
	}
	if bc.nextID != len(bc.stateIDs) {
		return fmt.Errorf("job %s: plan uses %d state tables, %d allocated", j.spec.Name, bc.nextID, len(bc.stateIDs))
	}
	return nil
}

func (j *Job) buildNode(bc *BuildCtx, n *Node, out Output) error {
	bc.Node, bc.Inputs = n, n.Inputs
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
		js := &jobSource{spec: n.Source, src: src, out: out, barriers: make(chan uint64, 256)}
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
		if err := j.buildNode(bc, in, Output{Op: op, Side: i}); err != nil {
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

func (a *aligner) Barrier(b *Barrier) error {
	a.seen++
	if a.seen < a.n {
		return nil
	}
	a.seen = 0
	return a.Operator.Barrier(b)
}

// jobSink is above the root: it hands the epoch's writes to the
// coordinator.
type jobSink struct{ job *Job }

func (s *jobSink) Chunk(_ int, c *Chunk) error        { c.Release(); return nil }
func (s *jobSink) Watermark(_ int, _ Watermark) error { return nil }
func (s *jobSink) Barrier(b *Barrier) error           { s.job.coord.collect(s.job, b); return nil }

// run starts the sources and the driver. It returns at once.
func (j *Job) run() {
	j.msgs = make(chan srcMsg, 16)
	for i, s := range j.sources {
		ch := make(chan Message, 4)
		go func() {
			defer j.recoverPanic()
			if err := s.src.Run(j.ctx, s.barriers, ch); err != nil && j.ctx.Err() == nil {
				j.coord.fail(j, fmt.Errorf("source %s: %w", s.spec.Explain(), err))
			}
		}()
		go func() {
			for {
				select {
				case m := <-ch:
					select {
					case j.msgs <- srcMsg{src: i, m: m}:
					case <-j.ctx.Done():
						return
					}
				case <-j.ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(j.done)
		defer j.recoverPanic()
		if err := j.drive(); err != nil && j.ctx.Err() == nil {
			j.coord.fail(j, err)
		}
	}()
}

func (j *Job) recoverPanic() {
	if r := recover(); r != nil {
		j.coord.fail(j, fmt.Errorf("internal error: %v\n%s", r, debug.Stack()))
	}
}

// drive is the driver loop: it aligns barriers across the sources (the
// messages a source sends after its barrier wait until every source has
// sent the same barrier) and pushes messages into the operators.
func (j *Job) drive() error {
	n := len(j.sources)
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
		s := j.sources[i]
		switch m.Kind {
		case MsgChunk:
			j.env.Stats.RowsIn.Add(int64(m.Chunk.N))
			return s.out.Chunk(m.Chunk)
		case MsgWatermark:
			return s.out.Watermark(m.WM)
		}
		// A barrier.
		if arrived == 0 {
			epoch = m.Epoch
		} else if m.Epoch != epoch {
			return fmt.Errorf("job %s: barrier %d from source %d while aligning %d", j.spec.Name, m.Epoch, i, epoch)
		}
		blocked[i], pos[i] = true, m.Pos
		arrived++
		if arrived < n {
			return nil
		}
		if err := j.barrier(epoch, pos, m.Stop); err != nil {
			return err
		}
		arrived = 0
		for k := range blocked {
			blocked[k] = false
		}
		// Replay what arrived behind the barrier, in order per source.
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
		case sm := <-j.msgs:
			if err := handle(sm.src, sm.m); err != nil {
				return err
			}
		}
	}
}

// barrier passes an aligned barrier through the operators with the
// epoch's write batch, after recording the source positions.
func (j *Job) barrier(epoch uint64, pos [][]byte, stop bool) error {
	w := j.env.DB.Pebble().NewBatch()
	for i, p := range pos {
		if p != nil {
			if err := w.Set(jobKey(j.spec.ID, 'p', byte(i>>8), byte(i)), p, nil); err != nil {
				return err
			}
		}
	}
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], epoch)
	tp := map[uint32]uint64{}
	for i, s := range j.sources {
		if s.table != 0 && len(pos[i]) == 8 {
			p := binary.BigEndian.Uint64(pos[i])
			if old, ok := tp[s.table]; !ok || p < old {
				tp[s.table] = p
			}
		}
	}
	j.mu.Lock()
	first := !j.hasCommitted
	j.hasCommitted = true
	j.tablePos = tp
	j.mu.Unlock()
	if first {
		if err := w.Set(jobKey(j.spec.ID, 'c'), e[:], nil); err != nil {
			return err
		}
	}
	b := &Barrier{Epoch: epoch, Writes: w, Stop: stop}
	// Every leaf gets the barrier; aligners pass it on once per operator.
	for _, s := range j.sources {
		if err := s.out.Barrier(b); err != nil {
			w.Close()
			return err
		}
	}
	return nil
}

// minTablePos returns the job's lowest position on table t, and whether
// the job follows t at all (a job that has not passed a barrier yet pins
// the whole log: position 0).
func (j *Job) minTablePos(t uint32) (uint64, bool) {
	follows := false
	for _, s := range j.sources {
		if s.table == t {
			follows = true
		}
	}
	if !follows {
		return 0, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.tablePos[t], true
}
