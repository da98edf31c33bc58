package stream_test

// Tests of the coordinator alone: real pebble, real jobs built from plan
// nodes, a counting source whose position is its next value. They check
// the epoch protocol's promises: exactly once across abrupt restarts, a
// failing job does not stop the others, FLUSH covers what was sent
// before it, and DROP frees everything a job wrote.

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/agg"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// coordCounterSpec is a source of the rows (v % groups, v) for v in
// [0, limit), sent in chunks of batch rows; its position is the next v.
type coordCounterSpec struct {
	limit, batch, groups int64
	// pause is slept after every chunk, to spread the input over time.
	pause time.Duration
	// sent counts rows sent by every source opened from the spec.
	sent atomic.Int64
}

func (s *coordCounterSpec) Explain() string { return "TestCounter" }

func (s *coordCounterSpec) Open(_ *stream.BuildCtx, pos []byte) (stream.Source, error) {
	c := &coordCounter{spec: s}
	if len(pos) == 8 {
		c.next = int64(binary.BigEndian.Uint64(pos))
	} else if pos != nil {
		return nil, errors.New("bad counter position")
	}
	return c, nil
}

type coordCounter struct {
	spec *coordCounterSpec
	next int64
}

func (c *coordCounter) Types() []types.T { return []types.T{types.TInt8, types.TInt8} }

func (c *coordCounter) barrier(ctx context.Context, out chan<- stream.Message, e uint64) error {
	return stream.Send(ctx, out, stream.Message{Kind: stream.MsgBarrier, Epoch: e, Pos: binary.BigEndian.AppendUint64(nil, uint64(c.next))})
}

func (c *coordCounter) Run(ctx context.Context, barriers <-chan uint64, out chan<- stream.Message) error {
	for {
		if c.next >= c.spec.limit {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case e := <-barriers:
				if err := c.barrier(ctx, out, e); err != nil {
					return err
				}
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-barriers:
			if err := c.barrier(ctx, out, e); err != nil {
				return err
			}
			continue
		default:
		}
		n := min(c.spec.batch, c.spec.limit-c.next)
		g := array.NewInt64Builder(memory.DefaultAllocator)
		v := array.NewInt64Builder(memory.DefaultAllocator)
		for i := int64(0); i < n; i++ {
			g.Append((c.next + i) % c.spec.groups)
			v.Append(c.next + i)
		}
		ops := make([]stream.Op, n)
		ch := stream.NewChunk([]arrow.Array{g.NewArray(), v.NewArray()}, ops)
		if err := stream.Send(ctx, out, stream.Message{Kind: stream.MsgChunk, Chunk: ch}); err != nil {
			return err
		}
		c.next += n
		c.spec.sent.Add(n)
		if c.spec.pause > 0 {
			time.Sleep(c.spec.pause)
		}
	}
}

// coordFailSpec passes rows through and fails on the value failAt.
type coordFailSpec struct{ failAt int64 }

func (s *coordFailSpec) Explain() string { return "TestFail" }
func (s *coordFailSpec) Build(_ *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	return &coordFail{at: s.failAt, out: out}, nil
}

type coordFail struct {
	at  int64
	out stream.Output
}

func (f *coordFail) Chunk(_ int, c *stream.Chunk) error {
	for _, v := range c.Cols[1].(*array.Int64).Int64Values() {
		if v == f.at {
			c.Release()
			return errors.New("test operator failure")
		}
	}
	return f.out.Chunk(c)
}
func (f *coordFail) Watermark(_ int, w stream.Watermark) error { return f.out.Watermark(w) }
func (f *coordFail) Barrier(b *stream.Barrier) error           { return f.out.Barrier(b) }

// coordJob is the plan counter -> [fail] -> GROUP BY g: count(*), sum(v)
// -> materialize into view id.
func coordJob(t testing.TB, id uint32, src *coordCounterSpec, fail *coordFailSpec) stream.JobSpec {
	t.Helper()
	in := []types.T{types.TInt8, types.TInt8}
	n := &stream.Node{Source: src, Types: in, Names: []string{"g", "v"}, StreamKey: []int{1}, AppendOnly: true}
	if fail != nil {
		n = &stream.Node{Spec: fail, Inputs: []*stream.Node{n}, Types: in, Names: n.Names, StreamKey: n.StreamKey, AppendOnly: true}
	}
	ha := &agg.HashAggSpec{GroupCols: []int{0}, GroupTypes: []types.T{types.TInt8}, WindowCol: -1, AppendOnly: true,
		Aggs: []batch.AggSpec{streamtest.AggCall(t, "count", nil, nil), streamtest.AggCall(t, "sum", []int{1}, []types.T{types.TInt8})}}
	out := []types.T{types.TInt8, types.TInt8, ha.Aggs[1].T}
	n = &stream.Node{Spec: ha, Inputs: []*stream.Node{n}, Types: out, Names: []string{"g", "n", "s"}, StreamKey: []int{0},
		StateTables: []string{"groups", "multisets"}}
	root := &stream.Node{Spec: &stream.MaterializeSpec{ViewID: id, Name: "v", Visible: []int{0, 1, 2}, KeyCols: []int{0}, Types: out},
		Inputs: []*stream.Node{n}, Types: out, Names: n.Names, StreamKey: []int{0}}
	spec := stream.JobSpec{ID: id, Name: "v", Plan: root}
	for i := 0; i < stream.CountStateTables(root); i++ {
		spec.StateIDs = append(spec.StateIDs, id*10+uint32(i))
	}
	return spec
}

func coordOpen(t testing.TB, dir string, interval time.Duration) (*storage.DB, *stream.Coordinator) {
	t.Helper()
	db, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := stream.NewCoordinator(stream.CoordinatorOptions{DB: db, Interval: interval, NewCtx: func(stream.JobSpec) *exec.Ctx {
		return &exec.Ctx{Env: udf.Env{Context: context.Background(), Location: time.UTC}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return db, c
}

// coordStart resumes the job if it committed before, else adds it.
func coordStart(t testing.TB, c *stream.Coordinator, spec stream.JobSpec) {
	t.Helper()
	ok, err := c.HasCommitted(spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		if err := c.Resume(spec); err != nil {
			t.Fatal(err)
		}
		go c.Run()
		return
	}
	go c.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Add(ctx, spec); err != nil {
		t.Fatal(err)
	}
}

// coordView reads the view's committed rows: group -> (count, sum).
func coordView(t *testing.T, db *storage.DB, id uint32) map[int64][2]int64 {
	t.Helper()
	lo, hi := storage.TableSpan(id)
	it, err := db.Latest().NewIter(lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	ts := []types.T{types.TInt8, types.TInt8, types.TNumeric}
	out := map[int64][2]int64{}
	for ok := it.First(); ok; ok = it.Next() {
		row, err := types.DecodeRow(it.Value(), ts)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := row[2].(*apd.Decimal).Int64()
		if err != nil {
			t.Fatal(err)
		}
		out[row[0].(int64)] = [2]int64{row[1].(int64), sum}
	}
	return out
}

// coordTotals sums the view's counts and sums.
func coordTotals(v map[int64][2]int64) (n, sum int64) {
	for _, cs := range v {
		n += cs[0]
		sum += cs[1]
	}
	return n, sum
}

func coordWait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Abrupt stops at random moments (the coordinator closes without a final
// checkpoint, losing every uncommitted epoch, as a crash does) and
// restarts from the last commit: in the end every value is counted
// exactly once, and at every restart the view matches a prefix of the
// input.
func TestCoordinatorExactlyOnceAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	const limit, groups = 40000, 7
	rng := rand.New(rand.NewPCG(7, 11))
	src := &coordCounterSpec{limit: limit, batch: 97, groups: groups, pause: 200 * time.Microsecond}
	for round := 0; ; round++ {
		db, c := coordOpen(t, dir, time.Duration(1+rng.IntN(5))*time.Millisecond)
		// The view as this round starts is a prefix 0..n-1 of the input.
		n, sum := coordTotals(coordView(t, db, 1))
		if sum != n*(n-1)/2 {
			t.Fatalf("round %d: view holds %d rows summing to %d: not the prefix 0..%d", round, n, sum, n-1)
		}
		coordStart(t, c, coordJob(t, 1, src, nil))
		if round < 8 {
			time.Sleep(time.Duration(2+rng.IntN(30)) * time.Millisecond)
			c.Close()
			db.Close()
			continue
		}
		coordWait(t, "the whole input", func() bool {
			n, _ := coordTotals(coordView(t, db, 1))
			return n >= limit
		})
		if err := c.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		v := coordView(t, db, 1)
		n, sum = coordTotals(v)
		if n != limit || sum != limit*(limit-1)/2 {
			t.Fatalf("after %d restarts: %d rows summing to %d, want %d summing to %d", round, n, sum, limit, limit*(limit-1)/2)
		}
		for g := int64(0); g < groups; g++ {
			want := int64(0)
			for v := g; v < limit; v += groups {
				want++
			}
			if v[g][0] != want {
				t.Fatalf("group %d counted %d rows, want %d", g, v[g][0], want)
			}
		}
		// The stops lost epochs that had not committed: their rows were
		// sent again after the restart, and still counted once.
		if src.sent.Load() <= limit {
			t.Fatalf("the sources sent %d rows: no stop lost an uncommitted epoch, the test proves nothing", src.sent.Load())
		}
		t.Logf("%d rows sent for %d in the view", src.sent.Load(), limit)
		if got := c.Jobs(); len(got) != 1 || got[0].Status != "running" || got[0].Committed == 0 {
			t.Fatalf("jobs: %+v", got)
		}
		c.Close()
		db.Close()
		return
	}
}

// A job whose operator fails stops alone: its error is reported, the
// other job keeps committing epochs, and the failed job's view keeps its
// last committed contents.
func TestCoordinatorFailingJobIsolated(t *testing.T) {
	db, c := coordOpen(t, t.TempDir(), 2*time.Millisecond)
	defer db.Close()
	defer c.Close()
	good := &coordCounterSpec{limit: 5000, batch: 50, groups: 3}
	bad := &coordCounterSpec{limit: 5000, batch: 50, groups: 3}
	coordStart(t, c, coordJob(t, 1, good, nil))
	ctx := context.Background()
	// The failure may come before the job's first epoch commits: then
	// Add itself reports it.
	if err := c.Add(ctx, coordJob(t, 2, bad, &coordFailSpec{failAt: 2500})); err != nil && !strings.Contains(err.Error(), "test operator failure") {
		t.Fatal(err)
	}
	coordWait(t, "the failure", func() bool { return c.JobError(2) != nil })
	if err := c.JobError(2); !strings.Contains(err.Error(), "test operator failure") {
		t.Fatalf("job error: %v", err)
	}
	coordWait(t, "the good job's input", func() bool {
		n, _ := coordTotals(coordView(t, db, 1))
		return n == 5000
	})
	before := c.Committed()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Committed() <= before {
		t.Fatalf("no epoch committed after the failure (%d)", before)
	}
	n, sum := coordTotals(coordView(t, db, 2))
	if n >= 2500 || sum != n*(n-1)/2 {
		t.Fatalf("failed view holds %d rows summing to %d: not a committed prefix before the failure", n, sum)
	}
	var statuses []string
	for _, j := range c.Jobs() {
		statuses = append(statuses, j.Status)
	}
	if len(statuses) != 2 || statuses[0] != "running" || !strings.HasPrefix(statuses[1], "failed: ") {
		t.Fatalf("statuses %q", statuses)
	}
}

// FLUSH returns once an epoch covering everything the source had sent
// when it was called has committed.
func TestCoordinatorFlushCoversSentRows(t *testing.T) {
	db, c := coordOpen(t, t.TempDir(), time.Hour) // only FLUSH injects barriers
	defer db.Close()
	defer c.Close()
	src := &coordCounterSpec{limit: 1 << 40, batch: 10, groups: 5}
	coordStart(t, c, coordJob(t, 1, src, nil))
	for i := 0; i < 20; i++ {
		sent := src.sent.Load()
		if err := c.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Rows sent before the call may have been in flight on the
		// source's channel; the barrier follows them.
		if n, _ := coordTotals(coordView(t, db, 1)); n < sent {
			t.Fatalf("flush %d: view counts %d rows, %d were sent before it", i, n, sent)
		}
	}
}

// DROP stops the job and deletes its view rows, its state and its
// positions.
func TestCoordinatorDropFreesEverything(t *testing.T) {
	db, c := coordOpen(t, t.TempDir(), 2*time.Millisecond)
	defer db.Close()
	defer c.Close()
	spec := coordJob(t, 3, &coordCounterSpec{limit: 3000, batch: 100, groups: 50}, nil)
	coordStart(t, c, spec)
	coordWait(t, "the input", func() bool {
		n, _ := coordTotals(coordView(t, db, 3))
		return n == 3000
	})
	if err := c.Drop(spec.ID, spec.StateIDs); err != nil {
		t.Fatal(err)
	}
	count := func(lo, hi []byte) int { return streamtest.CountKeys(t, db.Pebble(), lo, hi) }
	if n := count(storage.TableSpan(spec.ID)); n != 0 {
		t.Fatalf("%d view rows left", n)
	}
	for _, s := range spec.StateIDs {
		if n := count(storage.StateSpan(s)); n != 0 {
			t.Fatalf("%d rows left in state table %d", n, s)
		}
	}
	if n := count(stream.JobSpan(spec.ID)); n != 0 {
		t.Fatalf("%d job records left", n)
	}
	if ok, _ := c.HasCommitted(spec.ID); ok {
		t.Fatal("dropped job still marked committed")
	}
	if len(c.Jobs()) != 0 {
		t.Fatalf("jobs after drop: %+v", c.Jobs())
	}
}
