package sortedpart

import (
	"math/rand/v2"
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

// overWindowBenchTypes are the benchmark input's columns: id (stream
// key), partition, ts (the order), price (double precision: avg over
// bigint is numeric, whose arithmetic would dominate the measurement).
var overWindowBenchTypes = []types.T{types.TInt8, types.TInt8, types.TInt8, types.TFloat8}

// overWindowBenchData returns total append-only rows in chunks of 4096
// over parts partitions, in time order (ts = id): every row sorts last in
// its partition, as with an event-time ORDER BY.
func overWindowBenchData(total, parts int) []*stream.Chunk {
	const chunkRows = 4096
	r := rand.New(rand.NewPCG(3, 9))
	var chunks []*stream.Chunk
	for start := 0; start < total; start += chunkRows {
		n := min(chunkRows, total-start)
		bs := make([]array.Builder, len(overWindowBenchTypes))
		for j, t := range overWindowBenchTypes {
			bs[j] = types.NewBuilder(t)
			bs[j].Reserve(n)
		}
		for i := range n {
			id := int64(start + i + 1)
			bs[0].(*array.Int64Builder).Append(id)
			bs[1].(*array.Int64Builder).Append(int64(r.IntN(parts)))
			bs[2].(*array.Int64Builder).Append(id)
			bs[3].(*array.Float64Builder).Append(float64(r.IntN(1_000_000)))
		}
		cols := make([]arrow.Array, len(bs))
		for j, b := range bs {
			cols[j] = b.NewArray()
		}
		chunks = append(chunks, stream.NewChunk(cols, make([]stream.Op, n)))
	}
	return chunks
}

// BenchmarkOverWindowAppend measures avg(price) OVER (PARTITION BY p
// ORDER BY ts ROWS 10 PRECEDING) over 10,000 partitions of append-only,
// time-ordered rows, with a barrier every 8 chunks (32k rows) whose
// writes are committed, as in a running job.
func BenchmarkOverWindowAppend(b *testing.B) {
	fn, argTypes, err := udf.LookupAggregate("avg", []types.T{types.TFloat8})
	if err != nil {
		b.Fatal(err)
	}
	spec := &OverWindowSpec{
		Partition: []int{1},
		Order:     []batch.SortKey{{Col: 2, T: types.TInt8}},
		Types:     overWindowBenchTypes,
		StreamKey: []int{0},
		Funcs: []batch.WindowFunc{{Agg: fn, Args: []int{3}, ArgTypes: argTypes, T: fn.ResultType(argTypes), Filter: -1,
			Frame: batch.Frame{Mode: batch.RowsFrame,
				Start: batch.FrameBound{Kind: batch.OffsetPreceding, Offset: &expr.Const{Value: int64(10), T: types.TInt8}},
				End:   batch.FrameBound{Kind: batch.CurrentRow}}}},
		Offsets: []int64{-1},
	}
	const total = 1 << 20
	chunks := overWindowBenchData(total, 10_000)
	defer func() {
		for _, c := range chunks {
			c.Release()
		}
	}()
	base, db := streamtest.Env(b)
	b.ResetTimer()
	rows := 0
	for range b.N {
		env := &stream.Env{Ctx: base.Ctx, State: base.State, Fresh: true, Stats: &stream.Stats{}}
		out := &streamtest.NullSink{}
		op := streamtest.Open(b, env, spec, &stream.Node{Types: overWindowBenchTypes}, out)
		epoch := uint64(0)
		for i, c := range chunks {
			for _, a := range c.Cols {
				a.Retain()
			}
			if err := op.Chunk(0, stream.NewChunk(c.Cols, c.Ops)); err != nil {
				b.Fatal(err)
			}
			if i%8 == 7 || i == len(chunks)-1 {
				epoch++
				streamtest.BarrierNoSync(b, op, db, epoch)
			}
		}
		if out.Rows != total {
			b.Fatalf("emitted %d rows, want %d", out.Rows, total)
		}
		rows += total
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
