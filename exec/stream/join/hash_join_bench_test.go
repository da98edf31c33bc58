package join

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// hjBenchChunks returns the chunks of one side: rows (id, k, v) with
// ids from base, k = id mod keys.
func hjBenchChunks(rows, keys, size int, base int64) [][]arrow.Array {
	var out [][]arrow.Array
	for lo := 0; lo < rows; lo += size {
		n := min(size, rows-lo)
		ids := array.NewInt64Builder(types.Mem)
		ks := array.NewInt64Builder(types.Mem)
		vs := array.NewInt64Builder(types.Mem)
		for i := lo; i < lo+n; i++ {
			ids.Append(base + int64(i))
			ks.Append(int64(i*7919) % int64(keys))
			vs.Append(int64(i))
		}
		out = append(out, []arrow.Array{ids.NewArray(), ks.NewArray(), vs.NewArray()})
		ids.Release()
		ks.Release()
		vs.Release()
	}
	return out
}

// BenchmarkStreamHashJoin joins 1M inserts on each side over 100k distinct
// keys (10 rows per key per side, 10M joined rows), alternating 4096-row
// chunks of the two sides, with a checkpoint barrier every 32 chunks. It
// reports input rows per second.
func BenchmarkStreamHashJoin(b *testing.B) {
	const rows, keys, size = 1_000_000, 100_000, 4096
	ts := []types.T{types.TInt8, types.TInt8, types.TInt8}
	left := hjBenchChunks(rows, keys, size, 0)
	right := hjBenchChunks(rows, keys, size, 1<<40)
	defer func() {
		for _, cs := range append(left, right...) {
			for _, a := range cs {
				a.Release()
			}
		}
	}()
	env, db := streamtest.Env(b)
	ops := make([]stream.Op, size)
	out := 0
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		spec := &HashJoinSpec{Kind: batch.InnerJoin, LeftKeys: []int{1}, RightKeys: []int{1},
			LeftTypes: ts, RightTypes: ts, LeftStreamKey: []int{0}, RightStreamKey: []int{0}}
		sink := &streamtest.NullSink{}
		node := &stream.Node{Spec: spec, Types: append(append([]types.T{}, ts...), ts...)}
		op := streamtest.Open(b, env, spec, node, sink)
		for i := range left {
			for side, cs := range [][][]arrow.Array{left, right} {
				cols := cs[i]
				for _, a := range cols {
					a.Retain()
				}
				if err := op.Chunk(side, stream.NewChunk(cols, ops[:cols[0].Len()])); err != nil {
					b.Fatal(err)
				}
			}
			if i%32 == 31 || i == len(left)-1 {
				wb := db.NewBatch()
				if err := op.Barrier(&stream.Barrier{Epoch: uint64(i), Writes: wb}); err != nil {
					b.Fatal(err)
				}
				wb.Close()
			}
		}
		out = sink.Rows
	}
	b.StopTimer()
	if out != rows/keys*rows/keys*keys {
		b.Fatalf("%d joined rows, want %d", out, rows/keys*rows/keys*keys)
	}
	b.ReportMetric(float64(2*rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(out*b.N)/b.Elapsed().Seconds(), "out_rows/s")
}
