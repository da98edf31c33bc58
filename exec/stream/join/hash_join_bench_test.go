package join

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/udf"
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

// BenchmarkStreamHashJoinInterval is the shape of Nexmark q4 and q9: an
// append-only "auction" side (id, lo, hi, description) joined on id
// with a "bid" side (auction, at, url) under lo <= at AND at <= hi, with
// text columns the residual does not read. 100k auctions, then 1M bids
// (ten per auction, half of them inside the auction's interval), in
// 4096-row chunks with a checkpoint barrier every 32 chunks. It reports
// input rows per second.
func BenchmarkStreamHashJoinInterval(b *testing.B) {
	const auctions, bids, size = 100_000, 1_000_000, 4096
	lt := []types.T{types.TInt8, types.TInt8, types.TInt8, types.TText}
	rt := []types.T{types.TInt8, types.TInt8, types.TText}
	text := strings.Repeat("x", 100)
	var left, right [][]arrow.Array
	for lo := 0; lo < auctions; lo += size {
		bs := []array.Builder{array.NewInt64Builder(types.Mem), array.NewInt64Builder(types.Mem),
			array.NewInt64Builder(types.Mem), array.NewStringBuilder(types.Mem)}
		for i := lo; i < min(lo+size, auctions); i++ {
			bs[0].(*array.Int64Builder).Append(int64(i))
			bs[1].(*array.Int64Builder).Append(int64(i) * 10)
			bs[2].(*array.Int64Builder).Append(int64(i)*10 + 4)
			bs[3].(*array.StringBuilder).Append(text)
		}
		left = append(left, hjBenchBuild(bs))
	}
	for lo := 0; lo < bids; lo += size {
		bs := []array.Builder{array.NewInt64Builder(types.Mem), array.NewInt64Builder(types.Mem), array.NewStringBuilder(types.Mem)}
		for i := lo; i < min(lo+size, bids); i++ {
			a := int64(i*7919) % auctions
			bs[0].(*array.Int64Builder).Append(a)
			bs[1].(*array.Int64Builder).Append(a*10 + int64(i%10))
			bs[2].(*array.StringBuilder).Append(text)
		}
		right = append(right, hjBenchBuild(bs))
	}
	defer func() {
		for _, cs := range append(left, right...) {
			for _, a := range cs {
				a.Release()
			}
		}
	}()
	ge, _, err := udf.LookupOperator(">=", types.TInt8, types.TInt8)
	if err != nil {
		b.Fatal(err)
	}
	le, _, err := udf.LookupOperator("<=", types.TInt8, types.TInt8)
	if err != nil {
		b.Fatal(err)
	}
	at := &expr.ColRef{Idx: 5, T: types.TInt8, Name: "at"}
	residual := &expr.And{Args: []expr.Expr{
		&expr.Call{Fn: ge, Args: []expr.Expr{at, &expr.ColRef{Idx: 1, T: types.TInt8, Name: "lo"}}, T: types.TBool},
		&expr.Call{Fn: le, Args: []expr.Expr{at, &expr.ColRef{Idx: 2, T: types.TInt8, Name: "hi"}}, T: types.TBool},
	}}
	env, db := streamtest.Env(b)
	ops := make([]stream.Op, size)
	out := 0
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		spec := &HashJoinSpec{Kind: batch.InnerJoin, LeftKeys: []int{0}, RightKeys: []int{0},
			LeftTypes: lt, RightTypes: rt, LeftAppendOnly: true, RightAppendOnly: true,
			Residual: residual, ResidualCols: []int{5, 1, 5, 2}}
		sink := &streamtest.NullSink{}
		node := &stream.Node{Spec: spec, Types: append(slices.Clone(lt), rt...)}
		op := streamtest.Open(b, env, spec, node, sink)
		k := 0
		for side, cs := range [][][]arrow.Array{left, right} {
			for _, cols := range cs {
				for _, a := range cols {
					a.Retain()
				}
				if err := op.Chunk(side, stream.NewChunk(cols, ops[:cols[0].Len()])); err != nil {
					b.Fatal(err)
				}
				if k++; k%32 == 0 {
					wb := db.NewBatch()
					if err := op.Barrier(&stream.Barrier{Epoch: uint64(k), Writes: wb}); err != nil {
						b.Fatal(err)
					}
					wb.Close()
				}
			}
		}
		out = sink.Rows
	}
	b.StopTimer()
	if out != bids/2 {
		b.Fatalf("%d joined rows, want %d", out, bids/2)
	}
	b.ReportMetric(float64((auctions+bids)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// hjBenchBuild finishes the builders into one chunk's columns.
func hjBenchBuild(bs []array.Builder) []arrow.Array {
	cols := make([]arrow.Array, len(bs))
	for i, b := range bs {
		cols[i] = b.NewArray()
		b.Release()
	}
	return cols
}
