package stream_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/agg"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// The per-operator counters of a running job count every row on every
// edge: the source's rows out are the pass-through operator's rows in,
// and so on up to the materialize node, whose rows out are the job's.
func TestOperatorStatsCountRows(t *testing.T) {
	db, c := coordOpen(t, t.TempDir(), 2*time.Millisecond)
	defer db.Close()
	defer c.Close()
	const limit, groups = 5000, 7
	src := &coordCounterSpec{limit: limit, batch: 97, groups: groups}
	coordStart(t, c, coordJob(t, 1, src, &coordFailSpec{failAt: -1}))
	coordWait(t, "all rows sent", func() bool { return src.sent.Load() == limit })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	jobs := c.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	ops := jobs[0].Operators
	want := []struct {
		op      string
		parent  int
		in, out int64
	}{
		{"StreamMaterialize", -1, -1, jobs[0].RowsOut},
		{"StreamHashAgg", 0, limit, -1},
		{"TestFail", 1, limit, limit},
		{"TestCounter", 2, limit, limit},
	}
	if len(ops) != len(want) {
		t.Fatalf("%d operators, want %d: %+v", len(ops), len(want), ops)
	}
	for i, w := range want {
		o := ops[i]
		if o.Node != i || o.Parent != w.parent || len(o.Operator) < len(w.op) || o.Operator[:len(w.op)] != w.op {
			t.Errorf("node %d: %+v, want %s under %d", i, o, w.op, w.parent)
		}
		if w.in >= 0 && o.RowsIn != w.in {
			t.Errorf("%s: rows in %d, want %d", o.Operator, o.RowsIn, w.in)
		}
		if w.out >= 0 && o.RowsOut != w.out {
			t.Errorf("%s: rows out %d, want %d", o.Operator, o.RowsOut, w.out)
		}
	}
	// The aggregate's changes are the materialize node's input.
	if ops[1].RowsOut == 0 || ops[1].RowsOut != ops[0].RowsIn {
		t.Errorf("aggregate sent %d rows, materialize received %d", ops[1].RowsOut, ops[0].RowsIn)
	}
	if jobs[0].RowsOut == 0 || ops[0].RowsOut != jobs[0].RowsOut {
		t.Errorf("materialize sent %d rows, the job counts %d", ops[0].RowsOut, jobs[0].RowsOut)
	}
}

// BenchmarkJobThroughput runs a Nexmark-style aggregation (counter ->
// pass-through -> GROUP BY g: count(*), sum(v) -> materialize) through
// the job runtime: sources, fragment loop, edges and barriers, with
// small chunks so that per-chunk costs (the per-operator counters among
// them) weigh as much as they can.
func BenchmarkJobThroughput(b *testing.B) {
	for _, chunk := range []int64{64, 1024} {
		b.Run("chunk="+strconv.FormatInt(chunk, 10), func(b *testing.B) {
			const rows = 200_000
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				db, c := coordOpen(b, b.TempDir(), 20*time.Millisecond)
				src := &coordCounterSpec{limit: rows, batch: chunk, groups: 1000}
				start := time.Now()
				coordStart(b, c, coordJob(b, 1, src, &coordFailSpec{failAt: -1}))
				coordWait(b, "all rows sent", func() bool { return src.sent.Load() == rows })
				if err := c.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				c.Close()
				db.Close()
			}
			b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
		})
	}
}

// BenchmarkOperatorPipeline pushes chunks through pass-through -> GROUP
// BY g: count(*), sum(v) (1000 groups), as the operators of a Nexmark
// aggregation, directly ("direct") and with a meter on each edge as the
// job runtime puts them ("metered"): the difference is the cost of the
// per-operator counters. Both run in one process, alternately, so that
// the load of a shared machine weighs on both alike.
func BenchmarkOperatorPipeline(b *testing.B) {
	in := []types.T{types.TInt8, types.TInt8}
	for _, rows := range []int{64, 1024} {
		g := array.NewInt64Builder(memory.DefaultAllocator)
		v := array.NewInt64Builder(memory.DefaultAllocator)
		for i := 0; i < rows; i++ {
			g.Append(int64(i*7919) % 1000)
			v.Append(int64(i))
		}
		cols := []arrow.Array{g.NewArray(), v.NewArray()}
		ops := make([]stream.Op, rows)
		for _, metered := range []bool{false, true} {
			name := "direct"
			if metered {
				name = "metered"
			}
			b.Run(name+"/chunk="+strconv.Itoa(rows), func(b *testing.B) {
				env, _ := streamtest.Env(b)
				wrap := func(op stream.Operator) stream.Operator {
					if metered {
						return stream.Metered(op)
					}
					return op
				}
				ha := &agg.HashAggSpec{GroupCols: []int{0}, GroupTypes: []types.T{types.TInt8}, WindowCol: -1, AppendOnly: true,
					Aggs: []batch.AggSpec{streamtest.AggCall(b, "count", nil, nil), streamtest.AggCall(b, "sum", []int{1}, []types.T{types.TInt8})}}
				src := &stream.Node{Types: in, Names: []string{"g", "v"}, StreamKey: []int{1}, AppendOnly: true}
				out := []types.T{types.TInt8, types.TInt8, ha.Aggs[1].T}
				node := &stream.Node{Spec: ha, Inputs: []*stream.Node{src}, Types: out, StreamKey: []int{0}, StateTables: []string{"groups", "multisets"}}
				aggOp, err := ha.Build(stream.NewBuildCtx(env, node, node.Inputs, []uint32{901, 902}), stream.Output{Op: wrap(&streamtest.NullSink{})})
				if err != nil {
					b.Fatal(err)
				}
				pass, err := (&coordFailSpec{failAt: -1}).Build(nil, stream.Output{Op: wrap(aggOp)})
				if err != nil {
					b.Fatal(err)
				}
				first := wrap(pass)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for _, c := range cols {
						c.Retain()
					}
					if err := first.Chunk(0, stream.NewChunk(cols, ops)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// nopOp takes chunks and does nothing with them.
type nopOp struct{}

func (nopOp) Chunk(int, *stream.Chunk) error        { return nil }
func (nopOp) Watermark(int, stream.Watermark) error { return nil }
func (nopOp) Barrier(*stream.Barrier) error         { return nil }

// BenchmarkMeterEdge is the cost of metered edges per chunk: a chunk
// through three operators that pass it on, into one that does nothing,
// without meters and with one on each edge.
func BenchmarkMeterEdge(b *testing.B) {
	for _, metered := range []bool{false, true} {
		name := "direct"
		if metered {
			name = "metered"
		}
		b.Run(name, func(b *testing.B) {
			var op stream.Operator = nopOp{}
			for k := 0; k < 3; k++ {
				if metered {
					op = stream.Metered(op)
				}
				op = passOp{op}
			}
			c := stream.NewChunk(nil, make([]stream.Op, 64))
			for i := 0; i < b.N; i++ {
				if err := op.Chunk(0, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// passOp passes chunks on.
type passOp struct{ next stream.Operator }

func (p passOp) Chunk(side int, c *stream.Chunk) error        { return p.next.Chunk(side, c) }
func (p passOp) Watermark(side int, w stream.Watermark) error { return p.next.Watermark(side, w) }
func (p passOp) Barrier(b *stream.Barrier) error              { return p.next.Barrier(b) }

// Under a state budget far below what the aggregation holds, its
// evictions and state bytes are counted at it: the job's totals are its
// own (the only operator with state).
func TestOperatorStatsCountEvictions(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := stream.NewCoordinator(stream.CoordinatorOptions{DB: db, Interval: 2 * time.Millisecond,
		StateMemory: stream.NewStateMemory(4 << 10),
		NewCtx: func(stream.JobSpec) *exec.Ctx {
			return &exec.Ctx{Env: udf.Env{Context: context.Background(), Location: time.UTC}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const limit, groups = 20000, 2000
	src := &coordCounterSpec{limit: limit, batch: 97, groups: groups, pause: 100 * time.Microsecond}
	coordStart(t, c, coordJob(t, 1, src, nil))
	coordWait(t, "all rows sent", func() bool { return src.sent.Load() == limit })
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := c.Jobs()[0]
	agg := j.Operators[1]
	if agg.StateEvicted == 0 || agg.StateEvicted != j.StateEvicted || agg.StateBytes <= 0 || agg.StateBytes != j.StateBytes {
		t.Fatalf("aggregate: evicted %d, %d bytes; job: evicted %d, %d bytes", agg.StateEvicted, agg.StateBytes, j.StateEvicted, j.StateBytes)
	}
	for _, o := range j.Operators {
		if o.Node != 1 && (o.StateEvicted != 0 || o.StateBytes != 0) {
			t.Errorf("%s: evicted %d, %d bytes", o.Operator, o.StateEvicted, o.StateBytes)
		}
	}
}
