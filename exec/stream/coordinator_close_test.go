package stream_test

// Tests of the coordinator's Close: it returns only once nothing of any
// job reads the database any more, so that the database can close next
// (pebble reports a reader still open at its close as "leaked iterators"
// or "leaked snapshots", or panics), and it never waits forever.

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/exec"
	"streamsql/exec/stream"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// slowReaderSpec is a source that, like a table source in the middle of
// reading its changelog, holds a snapshot of the database while it runs
// and, once its context ends, lets go of it only when hold closes (or
// after linger, when hold is nil). It sends the rows (0, 0) and (1, 1)
// and then barriers.
type slowReaderSpec struct {
	hold   chan struct{}
	linger time.Duration
	// released counts the snapshots closed.
	released atomic.Int64
}

func (s *slowReaderSpec) Explain() string { return "TestSlowReader" }

func (s *slowReaderSpec) Open(b *stream.BuildCtx, _ []byte) (stream.Source, error) {
	return &slowReader{spec: s, db: b.Env.DB}, nil
}

type slowReader struct {
	spec *slowReaderSpec
	db   *storage.DB
}

func (r *slowReader) Types() []types.T { return []types.T{types.TInt8, types.TInt8} }

func (r *slowReader) Run(ctx context.Context, barriers <-chan uint64, out chan<- stream.Message) error {
	snap := r.db.Snapshot()
	defer func() {
		snap.Close()
		r.spec.released.Add(1)
	}()
	g := array.NewInt64Builder(memory.DefaultAllocator)
	v := array.NewInt64Builder(memory.DefaultAllocator)
	g.AppendValues([]int64{0, 1}, nil)
	v.AppendValues([]int64{0, 1}, nil)
	ch := stream.NewChunk([]arrow.Array{g.NewArray(), v.NewArray()}, make([]stream.Op, 2))
	if err := stream.Send(ctx, out, stream.Message{Kind: stream.MsgChunk, Chunk: ch}); err != nil {
		r.wait()
		return err
	}
	for {
		select {
		case <-ctx.Done():
			r.wait()
			return ctx.Err()
		case e := <-barriers:
			if err := stream.Send(ctx, out, stream.Message{Kind: stream.MsgBarrier, Epoch: e, Pos: binary.BigEndian.AppendUint64(nil, 2)}); err != nil {
				r.wait()
				return err
			}
		}
	}
}

func (r *slowReader) wait() {
	if r.spec.hold != nil {
		<-r.spec.hold
		return
	}
	time.Sleep(r.spec.linger)
}

func slowReaderJob(t testing.TB, id uint32, src *slowReaderSpec, fail *coordFailSpec) stream.JobSpec {
	t.Helper()
	spec := coordJob(t, id, &coordCounterSpec{}, fail)
	// Swap the counter for the slow reader at the plan's leaf.
	n := spec.Plan
	for len(n.Inputs) > 0 {
		n = n.Inputs[0]
	}
	n.Source = src
	return spec
}

func closeTestCoordinator(t testing.TB, db *storage.DB, wait time.Duration) *stream.Coordinator {
	t.Helper()
	c, err := stream.NewCoordinator(stream.CoordinatorOptions{DB: db, Interval: 2 * time.Millisecond, CloseWait: wait,
		NewCtx: func(stream.JobSpec) *exec.Ctx {
			return &exec.Ctx{Env: udf.Env{Context: context.Background(), Location: time.UTC}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// closeWhileHeld closes c while src holds its snapshot: Close must not
// return until src lets go, and then return nil, after which the
// database closes with no reader open.
func closeWhileHeld(t *testing.T, db *storage.DB, c *stream.Coordinator, src *slowReaderSpec) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		close(src.hold)
		t.Fatalf("Close returned (%v) while a source still held its snapshot", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(src.hold)
	if err := <-closed; err != nil {
		t.Fatalf("coordinator close: %v", err)
	}
	if n := src.released.Load(); n != 1 {
		t.Fatalf("Close returned with the source's snapshot still open (%d released)", n)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("database close after the coordinator's: %v", err)
	}
}

// TestCoordinatorCloseWaitsForSources: a source still holding a snapshot
// when its job's context ends is waited for by Close, so the database
// then closes without a leaked reader. Before, a job counted as stopped
// once its fragments returned, and its sources' goroutines could still
// be reading while the database closed (the MATCH_RECOGNIZE differential
// test's "element has outstanding references" at Close after a restart).
func TestCoordinatorCloseWaitsForSources(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := closeTestCoordinator(t, db, 0)
	src := &slowReaderSpec{hold: make(chan struct{})}
	coordStart(t, c, slowReaderJob(t, 1, src, nil))
	coordWait(t, "the rows", func() bool { n, _ := coordTotals(coordView(t, db, 1)); return n == 2 })
	closeWhileHeld(t, db, c, src)
}

// TestCoordinatorCloseWaitsForFailedJobs: a job that failed is no longer
// among the running ones, but its sources may still be returning; Close
// waits for them too.
func TestCoordinatorCloseWaitsForFailedJobs(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := closeTestCoordinator(t, db, 0)
	go c.Run()
	src := &slowReaderSpec{hold: make(chan struct{})}
	// The job fails on its second row, possibly before its first epoch
	// commits (Add then reports it).
	if err := c.Add(context.Background(), slowReaderJob(t, 1, src, &coordFailSpec{failAt: 1})); err != nil && c.JobError(1) == nil {
		t.Fatal(err)
	}
	coordWait(t, "the failure", func() bool { return c.JobError(1) != nil })
	closeWhileHeld(t, db, c, src)
}

// TestCoordinatorCloseDoesNotWaitForever: a source that does not end in
// the close wait makes Close return ErrJobsRunning in about that time,
// naming the job, instead of waiting for it.
func TestCoordinatorCloseDoesNotWaitForever(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := closeTestCoordinator(t, db, 100*time.Millisecond)
	src := &slowReaderSpec{hold: make(chan struct{})}
	coordStart(t, c, slowReaderJob(t, 1, src, nil))
	start := time.Now()
	err = c.Close()
	took := time.Since(start)
	close(src.hold)
	if !errors.Is(err, stream.ErrJobsRunning) || !strings.Contains(err.Error(), ": v") {
		t.Fatalf("close with a source that ignores its end: %v, want ErrJobsRunning naming v", err)
	}
	if took > 5*time.Second {
		t.Fatalf("close took %v with a close wait of 100ms", took)
	}
	t.Log(err)
	coordWait(t, "the source's end", func() bool { return src.released.Load() == 1 })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
