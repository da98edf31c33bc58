package streamtest

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// LaggingRun drives one operator over a database whose commits lag: the
// writes of epoch e commit only after the barrier of epoch e+1, so a
// cache under a state budget must neither evict nor read back from
// storage what changed in an epoch not yet committed, and refills must
// merge the state of two epochs. Restart reopens the operator from a
// checkpoint of the database.
type LaggingRun struct {
	T    testing.TB
	Node *stream.Node
	In   []types.T // the input's column types
	Env  *stream.Env
	DB   *pebble.DB
	Op   stream.Operator
	Sink *Sink
	// Budget is the state memory budget in bytes (0: unlimited).
	Budget    int64
	Committed uint64
	held      *pebble.Batch
	heldEpoch uint64
}

// StartLagging builds node's operator, which reads chunks of types in
// and sends to sink, over a fresh database.
func StartLagging(t testing.TB, node *stream.Node, in []types.T, sink *Sink, budget int64) *LaggingRun {
	r := &LaggingRun{T: t, Node: node, In: in, Sink: sink, Budget: budget}
	r.Env, r.DB = Env(t)
	r.Open()
	return r
}

// Open builds the operator over r.Env.
func (r *LaggingRun) Open() {
	r.T.Helper()
	r.Env.Committed = func() uint64 { return r.Committed }
	if r.Budget > 0 {
		r.Env.Memory = stream.NewStateMemory(r.Budget)
	}
	op, err := r.Node.Spec.Build(BuildCtx(r.Env, r.Node), stream.Output{Op: r.Sink})
	if err != nil {
		r.T.Fatal(err)
	}
	r.Op = op
}

// Push sends one chunk of rows with ops.
func (r *LaggingRun) Push(ops []stream.Op, rows [][]types.Datum) {
	r.T.Helper()
	if err := r.Op.Chunk(0, ChunkOf(r.In, ops, rows...)); err != nil {
		r.T.Fatal(err)
	}
}

// CommitHeld commits the writes of the last barrier.
func (r *LaggingRun) CommitHeld() {
	r.T.Helper()
	if r.held == nil {
		return
	}
	if err := r.held.Commit(pebble.Sync); err != nil {
		r.T.Fatal(err)
	}
	r.held, r.Committed = nil, r.heldEpoch
}

// Barrier passes the barrier of epoch through the operator, commits the
// previous epoch's writes and holds this one's.
func (r *LaggingRun) Barrier(epoch uint64) {
	r.T.Helper()
	b := &stream.Barrier{Epoch: epoch, Writes: r.DB.NewBatch()}
	if err := r.Op.Barrier(b); err != nil {
		r.T.Fatal(err)
	}
	r.CommitHeld()
	r.held, r.heldEpoch = b.Writes, epoch
}

// Restart commits everything and reopens the operator from a checkpoint
// of the database.
func (r *LaggingRun) Restart() {
	r.T.Helper()
	r.CommitHeld()
	r.Env, r.DB = Restart(r.T, r.DB, r.Env.Stats)
	r.Open()
}

// BarrierBoth passes the barrier of epoch through a, unlimited, and b,
// under a state budget; it fails unless both emitted the same changes
// (in any order: eviction may reorder an epoch's changes), restarts b
// every tenth epoch, and returns a's changes in the order emitted.
func BarrierBoth(t testing.TB, a, b *LaggingRun, epoch uint64) []string {
	t.Helper()
	a.Barrier(epoch)
	b.Barrier(epoch)
	ra, rb := a.Sink.Take(), b.Sink.Take()
	SameChanges(t, epoch, ra, rb)
	if epoch%10 == 0 {
		b.Restart()
	}
	return ra
}
