// Package stream is the streaming runtime: incremental operators over Arrow
// changelog chunks, the jobs (dataflows) that connect them, and the
// coordinator that cuts the streams into epochs with barriers and commits
// each epoch's state atomically.
//
// # Messages
//
// A dataflow edge carries three kinds of message, in order:
//
//   - a Chunk: an Arrow batch plus one Op per row (insert, delete, or an
//     update as a delete/insert pair of adjacent rows);
//   - a Watermark: no later row on this edge has column Col below Val;
//   - a Barrier: the end of epoch Epoch on this edge.
//
// # Operators
//
// Operators are push-based: an upstream calls Chunk, Watermark and Barrier
// on its downstream directly, inside one goroutine (a fragment). An
// operator with several inputs receives each side's messages with the side
// number; the runtime aligns barriers before it delivers them, so every
// operator sees Barrier exactly once per epoch, after every input's chunks
// of that epoch.
//
// On a barrier a stateful operator writes the state it changed during the
// epoch into the epoch's write batch (Barrier.Writes) and then forwards
// the barrier. When every job has passed the barrier the coordinator
// commits all writes of the epoch, the source positions and the epoch
// number in one pebble commit: after a crash every operator restarts from
// the state of the last committed epoch and every source rewinds to the
// position recorded with it.
package stream

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Op says what a chunk row does to the stream's contents.
type Op uint8

const (
	// Insert adds the row.
	Insert Op = iota
	// Delete removes the row.
	Delete
	// UpdateDelete removes the old version of an updated row; the next row
	// of the chunk is its UpdateInsert.
	UpdateDelete
	// UpdateInsert adds the new version of an updated row.
	UpdateInsert
)

// IsInsert reports whether op adds a row (Insert or UpdateInsert).
func (op Op) IsInsert() bool { return op == Insert || op == UpdateInsert }

// Sign is +1 for inserts and -1 for deletes.
func (op Op) Sign() int64 {
	if op.IsInsert() {
		return 1
	}
	return -1
}

func (op Op) String() string {
	switch op {
	case Insert:
		return "+"
	case Delete:
		return "-"
	case UpdateDelete:
		return "U-"
	case UpdateInsert:
		return "U+"
	}
	return "?"
}

// Chunk is a batch of changes: Arrow columns plus one Op per row.
type Chunk struct {
	Cols []arrow.Array
	Ops  []Op
	N    int
}

// NewChunk returns a chunk over cols with ops (len(ops) rows).
func NewChunk(cols []arrow.Array, ops []Op) *Chunk {
	return &Chunk{Cols: cols, Ops: ops, N: len(ops)}
}

// Batch returns the chunk's columns as a batch, for expression evaluation.
// The batch shares the columns; do not release both.
func (c *Chunk) Batch() *exec.Batch { return &exec.Batch{Cols: c.Cols, N: c.N} }

// Release releases the chunk's columns.
func (c *Chunk) Release() { c.Batch().Release() }

// Share returns a chunk over the same columns (retained for it) and ops,
// for one more receiver; receivers never modify a chunk's columns or
// ops, so each may release or forward its own.
func (c *Chunk) Share() *Chunk {
	for _, a := range c.Cols {
		a.Retain()
	}
	return &Chunk{Cols: append([]arrow.Array(nil), c.Cols...), Ops: c.Ops, N: c.N}
}

// Row returns row i as datums (edges and row-wise paths only).
func (c *Chunk) Row(i int, ts []types.T) []types.Datum { return c.Batch().Row(i, ts) }

// Watermark promises that no later row on the edge has column Col below
// Val (a datum of the column's type).
type Watermark struct {
	Col int
	Val types.Datum
	// Idle says the edge's input has brought no row for its idle timeout
	// (watermark_filter.go): Val advanced with the epoch time, and an
	// operator that takes the minimum of several inputs' watermarks
	// leaves this input out of it until the input brings a row again
	// (union.go, join/join_watermark.go). Operators that pass a
	// watermark on pass the flag with it.
	Idle bool
	// Emit, when set, is the watermark as the table or source declares
	// it, ahead of Val by the view's allowed lateness (late_rows =
	// 'reopen', watermark_filter.go): rows between Val and Emit may still
	// come and update the results they belong to, but an EMIT ON WINDOW
	// CLOSE aggregate emits the windows below Emit (agg/hash_agg.go).
	// Operators that map a watermark onto another column map Emit alike,
	// the exchange and the union take its minimum over their inputs and
	// interval joins derive it as they derive Val; operators that leave
	// it out only make such an aggregate emit later, at Val.
	Emit types.Datum
}

// Barrier ends epoch Epoch on an edge.
type Barrier struct {
	Epoch uint64
	// Time is the epoch's time: temporal filters evaluate now() at it,
	// so every operator of every view sees one time per epoch. Epoch
	// times never go back, also across a restart (the committed epoch's
	// time is stored with it). Zero where no coordinator runs.
	Time time.Time
	// Writes is the batch this epoch's state changes go into. Each job has
	// its own batch per epoch; the coordinator merges them at commit. Only
	// the goroutine that runs the job's operators writes to it.
	Writes *pebble.Batch
	// Stop asks every operator of the job to finish after this barrier.
	Stop bool
	// Also adds a batch of the operator's own to the epoch's writes,
	// committed with them (the operator must not touch it afterwards).
	// Nil in tests: use Writes.
	Also func(w *pebble.Batch)
	// ViewLog hands the coordinator a view's changes of the epoch
	// (sink_view_log.go), for the sinks reading the view that do not
	// commit the epoch; the coordinator releases them. Nil in tests.
	ViewLog func(view uint32, changes *ViewChanges)
	// leave, when set, runs as the barrier leaves its fragment (at an
	// exchange or the job's root), before anything downstream can see
	// it: the fragment writes into Writes what its operators produced
	// while they handled the barrier (the rejects of a user function
	// that failed on a group's result), so those belong to this epoch.
	leave func() error
}

// Leave runs b's leave hook (see Barrier.leave); nil-safe.
func (b *Barrier) Leave() error {
	if b == nil || b.leave == nil {
		return nil
	}
	return b.leave()
}

// Operator is a streaming operator. Calls come from one goroutine.
type Operator interface {
	// Chunk processes a chunk arriving on input side. The operator owns
	// the chunk from here (it releases or forwards it).
	Chunk(side int, c *Chunk) error
	// Watermark processes a watermark arriving on input side.
	Watermark(side int, w Watermark) error
	// Barrier is called once per epoch, after every input delivered its
	// barrier. The operator writes its dirty state to b.Writes and forwards
	// the barrier downstream.
	Barrier(b *Barrier) error
}

// Output is where an operator sends its messages: the next operator's
// input side.
type Output struct {
	Op   Operator
	Side int
}

// Chunk forwards a chunk, dropping empty ones.
func (o Output) Chunk(c *Chunk) error {
	if c == nil || c.N == 0 {
		if c != nil {
			c.Release()
		}
		return nil
	}
	return o.Op.Chunk(o.Side, c)
}

// Watermark forwards a watermark. An idle mark (no value) goes only to
// an operator that takes idle marks.
func (o Output) Watermark(w Watermark) error {
	if w.Val == nil && !TakesIdleMarks(o.Op) {
		return nil
	}
	return o.Op.Watermark(o.Side, w)
}

// An idle mark is a Watermark with Idle set and no value: a watermark
// filter whose input has never brought a row (so it has no watermark to
// move on with the clock) sends one once the input has been idle for its
// idle timeout. Operators that merge inputs (unions, joins, exchanges)
// leave such an input out of the minimum of their inputs' watermarks
// until it brings a row, as they do with an idle input that has a
// watermark; operators that only pass watermarks on forward it. Every
// other operator never sees one (Output.Watermark drops it), so no
// operator that reads a watermark's value has to expect none.

// IdleMarkTaker is implemented by the operators that take idle marks.
type IdleMarkTaker interface {
	TakesIdleMarks() bool
}

// TakesIdleMarks reports whether op takes idle marks.
func TakesIdleMarks(op Operator) bool {
	t, ok := op.(IdleMarkTaker)
	return ok && t.TakesIdleMarks()
}

// Barrier forwards a barrier.
func (o Output) Barrier(b *Barrier) error { return o.Op.Barrier(b) }

// Env is what operators need from the job that runs them.
type Env struct {
	// Ctx evaluates expressions (time zone, settings).
	Ctx *exec.Ctx
	// State reads committed state (the last committed epoch): operators
	// load their state from it when the job starts.
	State storage.Reader
	// Fresh is true when the job starts with no committed epoch (a new
	// view, or one whose first epoch never committed): there is no state
	// to load.
	Fresh bool
	// Stats counts rows in and out and rejects for SHOW JOBS.
	Stats *Stats
	// DB is the database (sources read tables and their changelogs).
	DB *storage.DB
	// Views finds running views, for views defined on views.
	Views *Views
	// AttachEpoch is, for a fresh job, the barrier after which it joins
	// the running dataflow: its view sources start from their upstream's
	// contents as committed at that epoch.
	AttachEpoch uint64
	// CatchUp is set for a sink or view job that resumes behind its
	// upstream views (ALTER SINK | MATERIALIZED VIEW ... RESUME, a build
	// retried in the background): its view sources attach when the
	// coordinator says (CatchUpAttach) and replay the epochs they missed
	// from the job's view log first.
	CatchUp bool
	// ViewLogJob is the id of the job whose view log the job's view
	// sources replay (0: the job keeps no view log); ViewLogOwner names
	// it in messages and ViewLogHint says what to do when its log
	// overflowed. ViewLogNet replays the net change per key (a view).
	ViewLogJob   uint32
	ViewLogOwner string
	ViewLogHint  string
	ViewLogNet   bool
	// ViewLogKeyed is set for a sink whose format keeps one row per key
	// (SinkSpec.keyed): without a recorded position in a view it is
	// rebuilt from a snapshot of the view (ViewSourceSpec.Open).
	ViewLogKeyed bool
	// WaitCommitted blocks until epoch e has committed.
	WaitCommitted func(ctx context.Context, e uint64) error
	// Committed returns the last committed epoch.
	Committed func() uint64
	// Running is closed once the coordinator runs, after every job that
	// resumes at the server's start has attached to the views it reads:
	// a resumed source sends what it catches up on only then, so that
	// every reader of its view receives it (nil: at once).
	Running <-chan struct{}
	// Memory is the budget of operator state in memory; nil: unlimited
	// (state_cache.go).
	Memory *StateMemory

	// Late is the job's log of late rows kept (late_rows.go); nil when
	// opening it failed with lateErr, or in tests.
	Late    *LateLog
	lateErr error

	// accounts are the job's state accounts, shared by the copies of
	// the Env its fragments hold.
	accounts *StateAccounts
	// stops are what the job's operators keep running beside its
	// goroutines, stopped when the job ends (job.go); shared like
	// accounts. nil outside a job.
	stops *jobStops
	// cursor is the operator the fragment instance runs now (its own
	// per fragment; nil outside a job): operator_stats.go.
	cursor *opCursor
}

// Spec describes one operator of a stream plan: the planner fills it, the
// job builds the operator from it. Each operator file defines its Spec.
type Spec interface {
	// Build returns the operator, sending to out. State tables come from
	// b.NewStateTable, in a fixed order per operator.
	Build(b *BuildCtx, out Output) (Operator, error)
	// Explain is the operator's line in EXPLAIN (without children).
	Explain() string
}

// BuildCtx is what a Spec needs to build its operator.
type BuildCtx struct {
	Env *Env
	// Inputs are the input nodes (for their types and keys).
	Inputs []*Node
	// Node is the node being built.
	Node *Node
	// Instance is which instance of Node is being built (0 ..
	// Node.Instances()-1), stable across restarts of the job.
	Instance int
	// stateIDs hands out the job's state table ids in plan order.
	stateIDs []uint32
	nextID   int
}

// NewBuildCtx returns the BuildCtx of node, with inputs, handing out the
// state table ids stateIDs in order (the ids a job stores in its catalog
// entry); tests of operators outside this package build with it.
func NewBuildCtx(env *Env, node *Node, inputs []*Node, stateIDs []uint32) *BuildCtx {
	return &BuildCtx{Env: env, Node: node, Inputs: inputs, stateIDs: stateIDs}
}

// nextStateID returns the id of the operator's next state table. Ids are
// stable across restarts: the job's ids are stored in its catalog entry
// and handed out in the same plan order every time the plan is built.
func (b *BuildCtx) nextStateID() uint32 {
	if b.nextID >= len(b.stateIDs) {
		panic("stream: more state tables than allocated")
	}
	id := b.stateIDs[b.nextID]
	b.nextID++
	return id
}

// Node is one operator of a stream plan, with its stream properties.
type Node struct {
	// Spec builds the operator; Source is set instead on leaf nodes.
	Spec   Spec
	Source SourceSpec
	Inputs []*Node
	// Types and Names of the output columns.
	Types []types.T
	Names []string
	// StreamKey are the output columns that identify a row of the
	// changelog (unique among live rows).
	StreamKey []int
	// AppendOnly: the output never deletes or updates.
	AppendOnly bool
	// Watermarks are the output columns that carry watermarks.
	Watermarks []int
	// StateTables says how many state tables the operator uses and, for
	// EXPLAIN, what each holds and when it is cleaned.
	StateTables []string
	// Parallelism is how many instances of the operator run, each in its
	// own goroutine with its share of the keys (0 means 1). Operators
	// connected without an exchange have the same parallelism.
	Parallelism int
}

// Instances returns how many instances of n run.
func (n *Node) Instances() int {
	if n.Parallelism < 1 {
		return 1
	}
	return n.Parallelism
}

// Stats are a job's counters.
type Stats struct {
	RowsIn, RowsOut atomic.Int64
	// LateRows counts rows dropped because they were behind the watermark.
	LateRows atomic.Int64
	// StateBytes is the estimated memory of the job's operator state;
	// StateEvicted counts state entries dropped from memory to keep within
	// the budget, StateReads the entries read back from storage.
	StateBytes, StateEvicted, StateReads atomic.Int64
	// StateCleaned counts state entries deleted because the watermark
	// passed them (join rows that can no longer match).
	StateCleaned atomic.Int64
	// Rejects counts source messages that could not be decoded (kept in
	// the rejects relation, not passed on).
	Rejects atomic.Int64
	// lags are the source splits' lags by split name: how far reading is
	// behind the end of the split (a Kafka partition's high watermark
	// minus the offset the source has reached).
	lags sync.Map
	// sourceErr is the error a source is retrying after (reconnecting to
	// its upstream), nil while it reads.
	sourceErr errorText
	// SinkLagEpochs and SinkLagRows are how far a logged sink's delivery
	// is behind: epochs committed to its log and not yet delivered, and
	// their records (sink_log.go).
	SinkLagEpochs, SinkLagRows atomic.Int64
	// SinkLagBytes are the bytes (as stored) of those epochs.
	SinkLagBytes atomic.Int64
	// LoggedSink is set when the job is a sink with a sink log.
	LoggedSink atomic.Bool
	// sinkErr is the error a sink's delivery is retrying after.
	sinkErr errorText
}

// errorText is the error something retries after, read and set from
// different goroutines.
type errorText struct{ msg atomic.Pointer[string] }

func (e *errorText) set(err error) {
	if err == nil {
		e.msg.Store(nil)
		return
	}
	msg := err.Error()
	e.msg.Store(&msg)
}

func (e *errorText) get() string {
	if p := e.msg.Load(); p != nil {
		return *p
	}
	return ""
}

// SetSinkError records that a sink's delivery retries after err; nil
// clears it.
func (s *Stats) SetSinkError(err error) { s.sinkErr.set(err) }

// SinkError is the error a sink's delivery is retrying after, "" if none.
func (s *Stats) SinkError() string { return s.sinkErr.get() }

// SetSourceError records that a source retries after err; nil clears it.
func (s *Stats) SetSourceError(err error) { s.sourceErr.set(err) }

// SourceError is the error a source is retrying after, "" if none.
func (s *Stats) SourceError() string { return s.sourceErr.get() }

// SetLag records split's lag.
func (s *Stats) SetLag(split string, lag int64) {
	v, _ := s.lags.LoadOrStore(split, new(atomic.Int64))
	v.(*atomic.Int64).Store(lag)
}

// Lags returns the splits' lags by split name.
func (s *Stats) Lags() map[string]int64 {
	out := map[string]int64{}
	s.lags.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// waitRunning waits until env's coordinator runs (Env.Running).
func (env *Env) waitRunning(ctx context.Context) error {
	if env.Running == nil {
		return nil
	}
	select {
	case <-env.Running:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
