package batch

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
)

// memSrc replays prepared batches (retaining them for the consumer).
type memSrc struct {
	ts      []types.T
	batches []*exec.Batch
	pos     int
}

func (m *memSrc) Open(*exec.Ctx) error { m.pos = 0; return nil }
func (m *memSrc) Next(*exec.Ctx) (*exec.Batch, error) {
	if m.pos >= len(m.batches) {
		return nil, nil
	}
	b := m.batches[m.pos]
	m.pos++
	for _, c := range b.Cols {
		c.Retain()
	}
	return exec.NewBatch(b.Cols, b.N), nil
}
func (m *memSrc) Close()                    {}
func (m *memSrc) Types() []types.T          { return m.ts }
func (m *memSrc) Explain() string           { return "MemSrc" }
func (m *memSrc) Children() []exec.Operator { return nil }

// intBatches builds rows of int64 columns; col j of row i is f(j, i).
func intBatches(rows, ncols int, f func(j, i int) int64) *memSrc {
	m := &memSrc{ts: i8s(ncols)}
	for lo := 0; lo < rows; lo += exec.BatchSize {
		hi := min(lo+exec.BatchSize, rows)
		cols := make([]arrow.Array, ncols)
		for j := range cols {
			b := array.NewInt64Builder(types.Mem)
			for i := lo; i < hi; i++ {
				b.Append(f(j, i))
			}
			cols[j] = b.NewArray()
			b.Release()
		}
		m.batches = append(m.batches, exec.NewBatch(cols, hi-lo))
	}
	return m
}

// benchCtx is a statement context with a memory account as the server
// gives one (1GB, spilling to a temporary directory), so benchmarks
// include the accounting.
func benchCtx(b *testing.B) *exec.Ctx {
	ctx := newCtx()
	ctx.Mem = exec.NewMemAccount(exec.NewMemPool(0), 1<<30, b.TempDir())
	return ctx
}

func drain(b *testing.B, op exec.Operator) int {
	bs, err := Collect(benchCtx(b), op)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, x := range bs {
		n += x.N
		x.Release()
	}
	return n
}

func BenchmarkHashAggInt64Keys(b *testing.B) {
	const rows = 1 << 20
	in := intBatches(rows, 2, func(j, i int) int64 {
		if j == 0 {
			return int64((i * 7919) % 1000)
		}
		return int64(i)
	})
	op := NewHashAgg(in, []int{0}, i8s(1), []AggSpec{{Agg: aggSum, Args: []int{1}, ArgTypes: i8s(1), Filter: -1, T: types.TInt8}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := drain(b, op); n != 1000 {
			b.Fatalf("%d groups", n)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkHashJoin(b *testing.B) {
	const probe, build = 1 << 20, 1 << 16
	left := intBatches(probe, 2, func(j, i int) int64 { return int64((i * 31) % (2 * build)) })
	right := intBatches(build, 2, func(j, i int) int64 { return int64(i) })
	op := NewHashJoin(left, right, InnerJoin, []int{0}, []int{0}, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := drain(b, op); n != probe/2 {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(probe+build)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkSortInt64(b *testing.B) {
	const rows = 1 << 20
	in := intBatches(rows, 2, func(j, i int) int64 {
		if j == 0 {
			return int64((uint64(i) * 0x9E3779B97F4A7C15) >> 20)
		}
		return int64(i)
	})
	op := NewSort(in, []SortKey{{Col: 0, T: types.TInt8}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := drain(b, op); n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
