package agg

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/storage"
)

// hashAggBenchInput is a TUMBLE-like input (k int8, window_start
// timestamp, v int8): 1000 keys, a new window every million rows, and
// with retract > 0 that share of rows deleting an earlier row of the
// current window.
type hashAggBenchInput struct {
	chunks []*stream.Chunk
	wms    []types.Datum // watermark after chunk i, or nil
	rows   int
}

func hashAggBenchData(total int, retract float64) *hashAggBenchInput {
	const chunkRows = 4096
	const perWindow = 1 << 20
	r := rand.New(rand.NewPCG(1, 2))
	in := &hashAggBenchInput{rows: total}
	type live struct{ k, v int64 }
	var window []live
	win := int64(0)
	for start := 0; start < total; start += chunkRows {
		n := min(chunkRows, total-start)
		kb := array.NewInt64Builder(types.Mem)
		wb := array.NewTimestampBuilder(types.Mem, &arrow.TimestampType{Unit: arrow.Microsecond})
		vb := array.NewInt64Builder(types.Mem)
		kb.Reserve(n)
		wb.Reserve(n)
		vb.Reserve(n)
		ops := make([]stream.Op, n)
		var wm types.Datum
		for i := range n {
			if (start+i)%perWindow == 0 && start+i > 0 {
				win += 60_000_000
				window = window[:0]
				wm = types.Timestamp(win)
			}
			if len(window) > 0 && r.Float64() < retract {
				j := r.IntN(len(window))
				row := window[j]
				window[j] = window[len(window)-1]
				window = window[:len(window)-1]
				kb.Append(row.k)
				vb.Append(row.v)
				ops[i] = stream.Delete
			} else {
				row := live{k: int64(r.IntN(1000)), v: int64(r.IntN(1_000_000))}
				window = append(window, row)
				kb.Append(row.k)
				vb.Append(row.v)
			}
			wb.Append(arrow.Timestamp(win))
		}
		cols := []arrow.Array{kb.NewArray(), wb.NewArray(), vb.NewArray()}
		kb.Release()
		wb.Release()
		vb.Release()
		in.chunks = append(in.chunks, stream.NewChunk(cols, ops))
		in.wms = append(in.wms, wm)
	}
	return in
}

func benchHashAgg(b *testing.B, retract float64) {
	const total = 10_000_000
	data := hashAggBenchData(total, retract)
	spec, _ := hashAggWindowSpec(b, false)
	spec.AppendOnly = retract == 0
	dir := b.TempDir()
	env, db := hashAggBenchEnv(b, dir)
	cpu0 := streamtest.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink := &streamtest.NullSink{}
		node := &stream.Node{Spec: spec}
		op := streamtest.Open(b, env, spec, node, sink)
		epoch := uint64(0)
		for ci, c := range data.chunks {
			// The operator owns (and releases) the chunk it gets.
			for _, col := range c.Cols {
				col.Retain()
			}
			if err := op.Chunk(0, &stream.Chunk{Cols: c.Cols, Ops: c.Ops, N: c.N}); err != nil {
				b.Fatal(err)
			}
			if data.wms[ci] != nil {
				if err := op.Watermark(0, stream.Watermark{Col: 1, Val: data.wms[ci]}); err != nil {
					b.Fatal(err)
				}
			}
			if ci%25 == 24 { // a barrier about every 100,000 rows
				epoch++
				bt := &stream.Barrier{Epoch: epoch, Writes: db.NewBatch()}
				if err := op.Barrier(bt); err != nil {
					b.Fatal(err)
				}
				bt.Writes.Close()
			}
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	// Rows per second of process CPU time (GC included): steadier than
	// wall time when other processes share the cores.
	b.ReportMetric(float64(total)*float64(b.N)/(streamtest.CPUTime()-cpu0).Seconds(), "rows/cpu-s")
}

// BenchmarkHashAggTumbleCountSum: count(*) and sum(v) per (k,
// window_start) over 10M inserted rows.
func BenchmarkHashAggTumbleCountSum(b *testing.B) { benchHashAgg(b, 0) }

// BenchmarkHashAggRetract: the same with 20% of the rows deleting an
// earlier row.
func BenchmarkHashAggRetract(b *testing.B) { benchHashAgg(b, 0.2) }

func hashAggBenchEnv(b *testing.B, dir string) (*stream.Env, *pebble.DB) {
	sdb, err := storage.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sdb.Close() })
	return &stream.Env{Ctx: &exec.Ctx{}, Fresh: true, Stats: &stream.Stats{}}, sdb.Pebble()
}

// BenchmarkHashAggDistinctFilters is Nexmark q16's shape: per group
// (half the rows in 4 hot groups, the rest over 10,000), count(*) and
// three filtered counts, and count(DISTINCT x) with and without three
// FILTERs over two columns (bidder: 3/4 of the rows among 100 hot values;
// auction: half), 1M appended rows, a barrier every 100,000.
func BenchmarkHashAggDistinctFilters(b *testing.B) {
	const total, chunkRows = 1_000_000, 4096
	r := rand.New(rand.NewPCG(3, 4))
	pick := func(hotShare float64, hot, all int) int64 {
		if r.Float64() < hotShare {
			return int64(r.IntN(hot))
		}
		return int64(r.IntN(all))
	}
	var chunks []*stream.Chunk
	for start := 0; start < total; start += chunkRows {
		n := min(chunkRows, total-start)
		gb, bb, ab := array.NewInt64Builder(types.Mem), array.NewInt64Builder(types.Mem), array.NewInt64Builder(types.Mem)
		fbs := []*array.BooleanBuilder{array.NewBooleanBuilder(types.Mem), array.NewBooleanBuilder(types.Mem), array.NewBooleanBuilder(types.Mem)}
		for range n {
			gb.Append(pick(0.5, 4, 10_000))
			bb.Append(pick(0.75, 100, 100_000))
			ab.Append(pick(0.5, 100, 100_000))
			rank := r.IntN(3)
			for f, fb := range fbs {
				fb.Append(f == rank)
			}
		}
		cols := []arrow.Array{gb.NewArray(), bb.NewArray(), ab.NewArray()}
		for _, fb := range fbs {
			cols = append(cols, fb.NewArray())
		}
		chunks = append(chunks, stream.NewChunk(cols, make([]stream.Op, n)))
	}
	aggs := []batch.AggSpec{streamtest.AggCall(b, "count", nil, nil)}
	for f := 3; f < 6; f++ {
		aggs = append(aggs, hashAggFiltered(streamtest.AggCall(b, "count", nil, nil), f))
	}
	for col := 1; col <= 2; col++ {
		aggs = append(aggs, hashAggDistinct(streamtest.AggCall(b, "count", []int{col}, []types.T{types.TInt8})))
		for f := 3; f < 6; f++ {
			aggs = append(aggs, hashAggFiltered(hashAggDistinct(streamtest.AggCall(b, "count", []int{col}, []types.T{types.TInt8})), f))
		}
	}
	spec := &HashAggSpec{GroupCols: []int{0}, GroupTypes: []types.T{types.TInt8}, Aggs: aggs, AppendOnly: true, WindowCol: -1}
	env, db := hashAggBenchEnv(b, b.TempDir())
	cpu0 := streamtest.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op := streamtest.Open(b, env, spec, &stream.Node{Spec: spec}, &streamtest.NullSink{})
		epoch := uint64(0)
		for ci, c := range chunks {
			for _, col := range c.Cols {
				col.Retain()
			}
			if err := op.Chunk(0, &stream.Chunk{Cols: c.Cols, Ops: c.Ops, N: c.N}); err != nil {
				b.Fatal(err)
			}
			if ci%25 == 24 {
				epoch++
				bt := &stream.Barrier{Epoch: epoch, Writes: db.NewBatch()}
				if err := op.Barrier(bt); err != nil {
					b.Fatal(err)
				}
				if err := bt.Writes.Commit(pebble.NoSync); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/(streamtest.CPUTime()-cpu0).Seconds(), "rows/cpu-s")
}
