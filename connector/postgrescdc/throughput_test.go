package postgrescdc

import (
	"context"
	"os"
	"testing"
	"time"

	"streamsql/exec/stream"
)

// TestThroughput measures the rows per second of the snapshot and of
// the stream (one large transaction, and many small ones) with a
// consumer that only counts. It runs when PGCDC_MEASURE is set.
func TestThroughput(t *testing.T) {
	if os.Getenv("PGCDC_MEASURE") == "" {
		t.Skip("set PGCDC_MEASURE=1 to measure")
	}
	const n = 200_000
	u := newUpstream(t, kvDDL)
	u.exec("INSERT INTO "+u.table+" SELECT g, g, 'row ' || g FROM generate_series(1, $1::int) g", n)
	spec := u.spec(kvCols, []int{0})
	ep := newEpochs()
	src, err := spec.Open(&stream.BuildCtx{Env: ep.env()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	barriers := make(chan uint64)
	out := make(chan stream.Message, 16)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, barriers, out) }()
	go func() {
		for e := uint64(1); ctx.Err() == nil; e++ {
			time.Sleep(100 * time.Millisecond)
			select {
			case barriers <- e:
			case <-ctx.Done():
			}
		}
	}()
	rows := 0
	wait := func(target int) time.Duration {
		t0 := time.Now()
		for rows < target {
			select {
			case m := <-out:
				switch m.Kind {
				case stream.MsgChunk:
					rows += m.Chunk.N
					m.Chunk.Release()
				case stream.MsgBarrier:
					ep.commit(m.Epoch)
				}
			case err := <-done:
				t.Fatal(err)
			case <-time.After(30 * time.Second):
				t.Fatalf("stuck at %d rows", rows)
			}
		}
		return time.Since(t0)
	}
	d := wait(n)
	t.Logf("snapshot: %d rows in %v: %.0f rows/s", n, d, n/d.Seconds())
	u.exec("INSERT INTO "+u.table+" SELECT g, g, 'row ' || g FROM generate_series($1::int + 1, $1::int * 2) g", n)
	d = wait(2 * n)
	t.Logf("stream, one transaction: %d rows in %v: %.0f rows/s", n, d, n/d.Seconds())
	u.exec("UPDATE " + u.table + " SET v = v + 1 WHERE id <= 100000")
	d = wait(2*n + 200_000)
	t.Logf("stream, one transaction of 100,000 updates (200,000 rows out): %v: %.0f updates/s", d, 100_000/d.Seconds())
}
