package batch

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/storage"
)

func scanTestTable(tb testing.TB, rows int) (*storage.DB, *storage.Table) {
	tb.Helper()
	db, err := storage.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tbl := &storage.Table{ID: 42, Name: "t", Types: []types.T{types.TInt8, types.TText, types.TFloat8}, ColNames: []string{"id", "s", "f"}, PK: []int{0}}
	txn := db.Begin()
	batch := make([][]types.Datum, 0, 4096)
	for i := 0; i < rows; i++ {
		batch = append(batch, []types.Datum{int64(i), fmt.Sprint("name-", i%1000), float64(i) / 4})
		if len(batch) == cap(batch) || i == rows-1 {
			if err := tbl.Insert(txn, batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := txn.Commit(); err != nil {
		tb.Fatal(err)
	}
	return db, tbl
}

func TestTableScan(t *testing.T) {
	db, tbl := scanTestTable(t, 10_000)
	defer db.Close()
	ctx := &exec.Ctx{}
	ctx.Context = context.Background()
	cases := []struct {
		span    storage.KeySpan
		explain string
		first   int64
		count   int
	}{
		{storage.FullSpan, "Scan t", 0, 10_000},
		{tbl.SpanFor([]types.Datum{int64(1)}, []types.Datum{int64(5)}, true, true), "Scan t (pk range [1, 5])", 1, 5},
		{tbl.SpanFor([]types.Datum{int64(1)}, []types.Datum{int64(5)}, false, false), "Scan t (pk range (1, 5))", 2, 3},
		{tbl.SpanFor([]types.Datum{int64(9000)}, nil, true, false), "Scan t (pk range [9000, +inf))", 9000, 1000},
		{tbl.SpanFor(nil, []types.Datum{int64(4500)}, false, false), "Scan t (pk range (-inf, 4500))", 0, 4500},
		{tbl.SpanFor([]types.Datum{int64(3)}, []types.Datum{int64(3)}, true, true), "Point lookup t (pk = 3)", 3, 1},
		{tbl.SpanFor([]types.Datum{int64(-3)}, []types.Datum{int64(-3)}, true, true), "Point lookup t (pk = -3)", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.explain, func(t *testing.T) {
			var txn *storage.Txn
			op := NewTableScan(tbl, func() storage.Reader { txn = db.Begin(); return txn }, []int{2, 0}, c.span, "t")
			if got := op.Explain(); got != c.explain {
				t.Fatalf("Explain = %q, want %q", got, c.explain)
			}
			if ts := op.Types(); len(ts) != 2 || ts[0] != types.TFloat8 || ts[1] != types.TInt8 {
				t.Fatalf("Types = %v", ts)
			}
			// Run twice: Open after Close re-runs the scan.
			for run := 0; run < 2; run++ {
				if err := op.Open(ctx); err != nil {
					t.Fatal(err)
				}
				next, n := c.first, 0
				eachBatch(t, ctx, op, func(b *exec.Batch) {
					if b.N > exec.BatchSize {
						t.Fatalf("batch of %d rows", b.N)
					}
					fs, ids := b.Cols[0].(*array.Float64).Float64Values(), b.Cols[1].(*array.Int64).Int64Values()
					for i := range ids {
						if ids[i] != next || fs[i] != float64(next)/4 {
							t.Fatalf("row %d: id %d f %v, want id %d", n, ids[i], fs[i], next)
						}
						next++
						n++
					}
				})
				op.Close()
				txn.Rollback()
				if n != c.count {
					t.Fatalf("run %d: %d rows, want %d", run, n, c.count)
				}
			}
		})
	}
}

func TestTableScanExplainCompositeKey(t *testing.T) {
	tbl := &storage.Table{ID: 1, Name: "c", Types: []types.T{types.TText, types.TInt4}, ColNames: []string{"k", "n"}, PK: []int{0, 1}}
	for _, c := range []struct {
		span storage.KeySpan
		want string
	}{
		{tbl.SpanFor([]types.Datum{"it's", int64(2)}, []types.Datum{"it's", int64(2)}, true, true), "Point lookup c (pk = ('it''s', 2))"},
		{tbl.SpanFor([]types.Datum{"a"}, []types.Datum{"a"}, true, true), "Scan c (pk range ['a', 'a'])"},
		{tbl.SpanFor([]types.Datum{"a", int64(1)}, []types.Datum{"b"}, false, true), "Scan c (pk range (('a', 1), 'b'])"},
	} {
		if got := NewTableScan(tbl, nil, []int{0}, c.span, "c").Explain(); got != c.want {
			t.Errorf("Explain = %q, want %q", got, c.want)
		}
	}
}

// TestTableScanSeesTransaction checks that the reader is taken at Open, so
// a scan inside a transaction sees that transaction's writes.
func TestTableScanSeesTransaction(t *testing.T) {
	db, tbl := scanTestTable(t, 3)
	defer db.Close()
	txn := db.Begin()
	defer txn.Rollback()
	op := NewTableScan(tbl, func() storage.Reader { return txn }, []int{1}, storage.FullSpan, "t")
	ctx := &exec.Ctx{}
	count := func() int {
		if err := op.Open(ctx); err != nil {
			t.Fatal(err)
		}
		defer op.Close()
		n := 0
		eachBatch(t, ctx, op, func(b *exec.Batch) { n += b.N })
		return n
	}
	if n := count(); n != 3 {
		t.Fatalf("%d rows", n)
	}
	if err := tbl.Insert(txn, [][]types.Datum{{int64(100), "new", 1.0}}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 4 {
		t.Fatalf("after insert in the transaction: %d rows", n)
	}
}

// BenchmarkScan reads 1M rows of 3 columns through NewTableScan.
func BenchmarkScan(b *testing.B) {
	const rows = 1_000_000
	db, tbl := scanTestTable(b, rows)
	defer db.Close()
	if err := db.Pebble().Flush(); err != nil {
		b.Fatal(err)
	}
	snap := db.Snapshot()
	defer snap.Close()
	op := NewTableScan(tbl, func() storage.Reader { return snap }, []int{0, 1, 2}, storage.FullSpan, "t")
	ctx := &exec.Ctx{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.Open(ctx); err != nil {
			b.Fatal(err)
		}
		n := 0
		eachBatch(b, ctx, op, func(bt *exec.Batch) { n += bt.N })
		op.Close()
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
