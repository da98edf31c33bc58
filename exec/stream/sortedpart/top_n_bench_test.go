package sortedpart

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// topNBenchTypes are the benchmark input's columns: id (stream key),
// partition, ts (the order), price, url.
var topNBenchTypes = []types.T{types.TInt8, types.TInt8, types.TInt8, types.TInt8, types.TText}

// topNBenchData returns total rows in chunks of 4096 over parts
// partitions. ts grows with some noise, so about half the rows of a
// partition beat its latest row. With retract > 0 that share of the rows
// deletes a live row inserted before.
func topNBenchData(total, parts int, retract float64) []*stream.Chunk {
	const chunkRows = 4096
	r := rand.New(rand.NewPCG(7, 8))
	type live struct{ id, p, ts, v int64 }
	var alive []live
	var chunks []*stream.Chunk
	urls := []string{"https://www.nexmark.com/a/b/c/item.htm?query=1", "https://www.nexmark.com/d/e/f/item.htm?query=2"}
	next := int64(0)
	for start := 0; start < total; start += chunkRows {
		n := min(chunkRows, total-start)
		bs := make([]array.Builder, len(topNBenchTypes))
		for j, t := range topNBenchTypes {
			bs[j] = types.NewBuilder(t)
			bs[j].Reserve(n)
		}
		ops := make([]stream.Op, n)
		for i := range n {
			var l live
			if len(alive) > 0 && r.Float64() < retract {
				j := r.IntN(len(alive))
				l = alive[j]
				alive[j] = alive[len(alive)-1]
				alive = alive[:len(alive)-1]
				ops[i] = stream.Delete
			} else {
				next++
				l = live{id: next, p: int64(r.IntN(parts)), ts: next + int64(r.IntN(2*parts)), v: int64(r.IntN(1_000_000))}
				if retract > 0 {
					alive = append(alive, l)
				}
			}
			bs[0].(*array.Int64Builder).Append(l.id)
			bs[1].(*array.Int64Builder).Append(l.p)
			bs[2].(*array.Int64Builder).Append(l.ts)
			bs[3].(*array.Int64Builder).Append(l.v)
			bs[4].(*array.StringBuilder).Append(urls[l.id%2])
		}
		cols := make([]arrow.Array, len(bs))
		for j, b := range bs {
			cols[j] = b.NewArray()
			b.Release()
		}
		chunks = append(chunks, stream.NewChunk(cols, ops))
	}
	return chunks
}

func benchTopN(b *testing.B, spec *TopNSpec, chunks []*stream.Chunk, total int) {
	env, db := streamtest.Env(b)
	var committed uint64
	env.Committed = func() uint64 { return committed }
	cpu0 := streamtest.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink := &streamtest.NullSink{}
		op := streamtest.Open(b, env, spec, &stream.Node{Spec: spec}, sink)
		epoch := uint64(0)
		for ci, c := range chunks {
			// The operator owns (and releases) the chunk it gets.
			for _, col := range c.Cols {
				col.Retain()
			}
			if err := op.Chunk(0, &stream.Chunk{Cols: c.Cols, Ops: c.Ops, N: c.N}); err != nil {
				b.Fatal(err)
			}
			if ci%25 == 24 { // a barrier about every 100,000 rows
				epoch++
				streamtest.BarrierNoSync(b, op, db, epoch)
				committed = epoch
			}
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(total)*float64(b.N)/(streamtest.CPUTime()-cpu0).Seconds(), "rows/cpu-s")
}

// BenchmarkTopNDedup: the latest row (ORDER BY ts DESC) of each of
// 100,000 partitions over 2M appended rows, as Nexmark q18.
func BenchmarkTopNDedup(b *testing.B) {
	const total = 2_000_000
	chunks := topNBenchData(total, 100_000, 0)
	spec := &TopNSpec{Partition: []int{1}, Order: []batch.SortKey{{Col: 2, Desc: true, NullsFirst: true, T: types.TInt8}},
		Limit: 1, Types: topNBenchTypes, StreamKey: []int{0}, AppendOnly: true, WithRank: true, WatermarkPartCol: -1}
	benchTopN(b, spec, chunks, total)
}

// BenchmarkTopNRetract3: the three highest prices of each of 10,000
// partitions over 2M rows of which 20% delete an earlier row.
func BenchmarkTopNRetract3(b *testing.B) {
	const total = 2_000_000
	chunks := topNBenchData(total, 10_000, 0.2)
	spec := &TopNSpec{Partition: []int{1}, Order: []batch.SortKey{{Col: 3, Desc: true, NullsFirst: true, T: types.TInt8}},
		Limit: 3, Types: topNBenchTypes, StreamKey: []int{0}, WithRank: true, WatermarkPartCol: -1}
	benchTopN(b, spec, chunks, total)
}
