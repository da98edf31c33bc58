package stream

// Per-operator counters. Every edge between two operators of a fragment
// instance (and every edge into an exchange sender, out of an exchange
// receiver or out of a source) goes through a meter: a thin Operator
// that adds a chunk's row count to the upstream node's rows out and the
// downstream node's rows in, remembers the last timestamp watermark that
// crossed it, and marks the downstream node as the one running while the
// call is inside it. That mark (the fragment's cursor) is how counts made
// deeper down the runtime find their operator: late rows an operator
// drops (Env.CountLate), rows a user function rejected, state entries
// evicted at a barrier and the bytes a state account reports.
//
// Costs are per chunk, never per row: one interface call, two additions
// and two pointer stores, nothing locked. The row counts of an instance
// have one writer, the fragment instance's goroutine, which adds to plain
// fields and publishes them to the atomic ones when a barrier passes the
// meter: readers see the rows as of the last barrier, exact at every
// epoch, and no chunk pays for a locked instruction (on this project's
// machines an atomic add or store cost 30-40 ns, more than the rest of an
// edge together). Instances do not share cache lines. Counters are
// kept per node and instance and summed per plan node when read
// (Coordinator.Jobs).
//
// Nodes are numbered in depth-first order from the root, each node before
// its inputs, as EXPLAIN and the console's graph list them.

import (
	"math"
	"sync/atomic"
	"time"

	"streamsql/sql/types"
)

// noWatermark marks a node that has not passed a timestamp watermark.
const noWatermark = math.MinInt64

// nodeCounters are one instance's counters of one plan node.
type nodeCounters struct {
	// in and out are the rows counted since the start, written only by
	// the instance's goroutine; rowsIn and rowsOut publish them.
	in, out         int64
	rowsIn, rowsOut atomic.Int64
	late, rejects   atomic.Int64
	stateBytes      atomic.Int64
	evicted         atomic.Int64
	// wm is the last timestamp watermark the node sent, in microseconds
	// (noWatermark: none yet).
	wm atomic.Int64
	// Keep instances written by different goroutines off one cache line.
	_ [64]byte
}

// publish makes the row counts visible to readers (in the instance's
// goroutine).
func (c *nodeCounters) publish() {
	c.rowsIn.Store(c.in)
	c.rowsOut.Store(c.out)
}

func newNodeCounters() *nodeCounters {
	c := &nodeCounters{}
	c.wm.Store(noWatermark)
	return c
}

// opCursor is the node a fragment instance is running now; the meters
// set it around every call into an operator.
type opCursor struct{ cur *nodeCounters }

// node returns the running node's counters, nil outside a job.
func (e *Env) node() *nodeCounters {
	if e == nil || e.cursor == nil {
		return nil
	}
	return e.cursor.cur
}

// CountLate counts n rows the running operator dropped or set aside as
// late (behind the watermark), for the job and for the operator.
func (e *Env) CountLate(n int64) {
	e.Stats.LateRows.Add(n)
	if c := e.node(); c != nil {
		c.late.Add(n)
	}
}

// countEvicted counts n state entries the running operator evicted.
func (e *Env) countEvicted(n int64) {
	e.Stats.StateEvicted.Add(n)
	if c := e.node(); c != nil {
		c.evicted.Add(n)
	}
}

// meter sits on one edge: from node out's operator to the operator next
// (input side as the caller says), which belongs to node in.
type meter struct {
	next    Operator
	out, in *nodeCounters
	cursor  *opCursor
}

func (m *meter) Chunk(side int, c *Chunk) error {
	n := int64(c.N)
	m.out.out += n
	m.in.in += n
	prev := m.cursor.cur
	m.cursor.cur = m.in
	err := m.next.Chunk(side, c)
	m.cursor.cur = prev
	return err
}

func (m *meter) Watermark(side int, w Watermark) error {
	if ts, ok := w.Val.(types.Timestamp); ok {
		m.out.wm.Store(int64(ts))
	}
	prev := m.cursor.cur
	m.cursor.cur = m.in
	err := m.next.Watermark(side, w)
	m.cursor.cur = prev
	return err
}

// TakesIdleMarks is the metered operator's.
func (m *meter) TakesIdleMarks() bool { return TakesIdleMarks(m.next) }

func (m *meter) Barrier(b *Barrier) error {
	m.out.publish()
	m.in.publish()
	prev := m.cursor.cur
	m.cursor.cur = m.in
	err := m.next.Barrier(b)
	m.cursor.cur = prev
	return err
}

// opNode is one plan node of a running job with its instances' counters.
type opNode struct {
	node     *Node
	operator string
	parent   int // -1 for the root
	inst     []*nodeCounters
}

// jobOps numbers a job's plan nodes and holds their counters. The
// instances' counters are added while the job is built, before it runs
// or is listed; afterwards only the counters change.
type jobOps struct {
	nodes []opNode
	index map[*Node]int
}

func newJobOps(plan *Node) *jobOps {
	o := &jobOps{index: map[*Node]int{}}
	var walk func(n *Node, parent int)
	walk = func(n *Node, parent int) {
		if _, ok := o.index[n]; ok {
			return // a shared node, numbered under its first consumer
		}
		id := len(o.nodes)
		o.index[n] = id
		op := ""
		switch {
		case n.Source != nil:
			op = n.Source.Explain()
		case n.Spec != nil:
			op = n.Spec.Explain()
		}
		o.nodes = append(o.nodes, opNode{node: n, operator: op, parent: parent})
		for _, in := range n.Inputs {
			walk(in, id)
		}
	}
	walk(plan, -1)
	return o
}

// counters returns new counters for one instance of n.
func (o *jobOps) counters(n *Node) *nodeCounters {
	c := newNodeCounters()
	i := o.index[n]
	o.nodes[i].inst = append(o.nodes[i].inst, c)
	return c
}

// OperatorStats are one plan node's counters, summed over its instances.
type OperatorStats struct {
	// Node is the node's number (depth-first from the root, each node
	// before its inputs); Parent its consumer's (-1 for the root).
	Node, Parent int
	// Operator is the node's EXPLAIN line.
	Operator string
	// RowsIn and RowsOut are the rows (changes) the node received and
	// sent; a source's rows in are the rows it decoded.
	RowsIn, RowsOut int64
	// LateRows are the rows it dropped or set aside as late.
	LateRows int64
	// Rejects are the source messages it could not decode, or the rows a
	// user function failed on inside it.
	Rejects int64
	// StateBytes is its state's estimated memory (as reported to the
	// state budget) and StateEvicted the entries it evicted.
	StateBytes, StateEvicted int64
	// Watermark is the lowest, over its instances, of the last timestamp
	// watermark each sent (zero: none sent, or not a timestamp).
	Watermark time.Time
}

// stats sums the counters per node. The root (a materialize or sink
// node) sends nothing downstream: its rows out are the job's, the
// changes it wrote to its view or sink.
func (o *jobOps) stats(jobRowsOut int64) []OperatorStats {
	out := make([]OperatorStats, len(o.nodes))
	for i, n := range o.nodes {
		s := OperatorStats{Node: i, Parent: n.parent, Operator: n.operator}
		low, seen := int64(noWatermark), false
		for _, c := range n.inst {
			s.RowsIn += c.rowsIn.Load()
			s.RowsOut += c.rowsOut.Load()
			s.LateRows += c.late.Load()
			s.Rejects += c.rejects.Load()
			s.StateBytes += c.stateBytes.Load()
			s.StateEvicted += c.evicted.Load()
			if w := c.wm.Load(); w != noWatermark && (!seen || w < low) {
				low, seen = w, true
			}
		}
		if n.parent < 0 {
			s.RowsOut = jobRowsOut
		}
		if seen {
			s.Watermark = time.UnixMicro(low).UTC()
		}
		out[i] = s
	}
	return out
}
