// Package streamtest is the test harness of the streaming operators: a
// sink that records what an operator emits, chunks built from rows of
// datums, an Env over a real pebble database in a temporary directory,
// a BuildCtx that hands out state ids, and checkpoint barriers committed
// as the coordinator commits them. The operator families under
// exec/stream (agg, join, sortedpart) test with it.
package streamtest

import (
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// Sink is an Operator that records everything it receives.
type Sink struct {
	// Types are the column types of the chunks it receives.
	Types []types.T
	// Rows are "op v1 v2 ..." in arrival order.
	Rows     []string
	WMs      []stream.Watermark
	Barriers []uint64
}

// Chunk records the rows of c as text.
func (s *Sink) Chunk(side int, c *stream.Chunk) error {
	for i := 0; i < c.N; i++ {
		row := make([]types.Datum, len(c.Cols))
		for j, a := range c.Cols {
			row[j] = types.GetDatum(a, i, s.Types[j])
		}
		parts := append([]string{c.Ops[i].String()}, stream.FormatRow(row, s.Types[:len(row)])...)
		s.Rows = append(s.Rows, strings.Join(parts, " "))
	}
	c.Release()
	return nil
}

// Watermark records w.
func (s *Sink) Watermark(side int, w stream.Watermark) error { s.WMs = append(s.WMs, w); return nil }

// TakesIdleMarks: a Sink records idle marks too.
func (s *Sink) TakesIdleMarks() bool { return true }

// Barrier records b's epoch.
func (s *Sink) Barrier(b *stream.Barrier) error { s.Barriers = append(s.Barriers, b.Epoch); return nil }

// Take returns and clears the recorded rows.
func (s *Sink) Take() []string {
	r := s.Rows
	s.Rows = nil
	return r
}

// Contents applies the recorded changes rows as a multiset and returns
// the live rows sorted (ops stripped).
func (s *Sink) Contents(t testing.TB, rows []string) []string {
	t.Helper()
	m := map[string]int{}
	for _, r := range rows {
		op, rest, _ := strings.Cut(r, " ")
		switch op {
		case "+", "U+":
			m[rest]++
		case "-", "U-":
			m[rest]--
			if m[rest] < 0 {
				t.Fatalf("delete of absent row %q", rest)
			}
		}
	}
	var out []string
	for r, n := range m {
		for i := 0; i < n; i++ {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// NullSink counts the rows it receives and drops them (benchmarks).
type NullSink struct{ Rows int }

func (s *NullSink) Chunk(_ int, c *stream.Chunk) error {
	s.Rows += c.N
	c.Release()
	return nil
}
func (s *NullSink) Watermark(int, stream.Watermark) error { return nil }
func (s *NullSink) Barrier(*stream.Barrier) error         { return nil }

// ChunkOf builds a chunk from rows of datums; ops[i] is row i's op.
func ChunkOf(ts []types.T, ops []stream.Op, rows ...[]types.Datum) *stream.Chunk {
	cols := make([]arrow.Array, len(ts))
	for j, t := range ts {
		ds := make([]types.Datum, len(rows))
		for i, r := range rows {
			ds[i] = r[j]
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	return stream.NewChunk(cols, ops)
}

// Row is shorthand for a datum row.
func Row(vs ...types.Datum) []types.Datum { return vs }

// Env returns an Env over a pebble database in a temporary directory
// with a fresh Stats. Reopen with ReopenEnv to test recovery.
func Env(t testing.TB) (*stream.Env, *pebble.DB) {
	t.Helper()
	return ReopenEnv(t, t.TempDir())
}

// ReopenEnv opens (or reopens) the database in dir; Fresh is true.
func ReopenEnv(t testing.TB, dir string) (*stream.Env, *pebble.DB) {
	t.Helper()
	sdb, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	env := &stream.Env{
		Ctx:   &exec.Ctx{Env: udf.Env{Location: time.UTC}},
		State: sdb.Latest(),
		Fresh: true,
		Stats: &stream.Stats{},
	}
	return env, sdb.Pebble()
}

// BuildCtx returns a BuildCtx handing out state ids 1, 2, 3, ...
func BuildCtx(env *stream.Env, node *stream.Node, inputs ...*stream.Node) *stream.BuildCtx {
	return stream.NewBuildCtx(env, node, inputs, []uint32{1, 2, 3, 4, 5, 6, 7, 8})
}

// Open builds spec's operator as node over env, reading inputs and
// sending to out.
func Open(t testing.TB, env *stream.Env, spec stream.Spec, node *stream.Node, out stream.Operator, inputs ...*stream.Node) stream.Operator {
	t.Helper()
	op, err := spec.Build(BuildCtx(env, node, inputs...), stream.Output{Op: out})
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// Barrier passes a checkpoint barrier through op and commits its writes
// to db, as the coordinator would.
func Barrier(t testing.TB, op stream.Operator, db *pebble.DB, epoch uint64) {
	t.Helper()
	barrier(t, op, db, epoch, pebble.Sync)
}

// BarrierNoSync is Barrier committing without a sync, for benchmarks
// that measure the operator rather than the disk.
func BarrierNoSync(t testing.TB, op stream.Operator, db *pebble.DB, epoch uint64) {
	t.Helper()
	barrier(t, op, db, epoch, pebble.NoSync)
}

func barrier(t testing.TB, op stream.Operator, db *pebble.DB, epoch uint64, opts *pebble.WriteOptions) {
	t.Helper()
	b := &stream.Barrier{Epoch: epoch, Writes: db.NewBatch()}
	if err := op.Barrier(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Writes.Commit(opts); err != nil {
		t.Fatal(err)
	}
}

// LateRows reads the late rows job kept as "row event_time watermark".
func LateRows(t testing.TB, env *stream.Env, job uint32) []string {
	t.Helper()
	rs, err := stream.ReadLateRows(env.State, job, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Row)+" "+r.EventTime+" "+r.Watermark)
	}
	return out
}

// CPUTime returns the process's user and system CPU time.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// AggCall returns the aggregate call name(args) over argument columns
// args of types ts, as the planner builds it.
func AggCall(t testing.TB, name string, args []int, ts []types.T) batch.AggSpec {
	t.Helper()
	a, _, err := udf.LookupAggregate(name, ts)
	if err != nil {
		t.Fatal(err)
	}
	return batch.AggSpec{Agg: a, Args: args, ArgTypes: ts, Filter: -1, T: a.ResultType(ts)}
}

// Commit commits the batch w to its database.
func Commit(t testing.TB, w *pebble.Batch) {
	t.Helper()
	if err := w.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// Restart reopens a checkpoint of db, as a job restarting after a crash
// does: a new Env over a copy of the committed state, not Fresh, counting
// into stats (a fresh Stats when nil).
func Restart(t testing.TB, db *pebble.DB, stats *stream.Stats) (*stream.Env, *pebble.DB) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "restart")
	if err := db.Checkpoint(dir); err != nil {
		t.Fatal(err)
	}
	env, db2 := ReopenEnv(t, dir)
	env.Fresh = false
	if stats != nil {
		env.Stats = stats
	}
	return env, db2
}

// StateRows counts the keys of state table id committed in db.
func StateRows(t testing.TB, db *pebble.DB, id uint32) int {
	t.Helper()
	lo, hi := storage.StateSpan(id)
	return CountKeys(t, db, lo, hi)
}

// CountKeys counts the keys in [lo, hi) committed in db.
func CountKeys(t testing.TB, db *pebble.DB, lo, hi []byte) int {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}
