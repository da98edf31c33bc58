package storage

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

func dec(s string) types.Datum {
	d, err := types.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// show renders a datum for comparisons in tests.
func show(d types.Datum, t types.T) string {
	if d == nil {
		return "NULL"
	}
	return types.FormatText(d, t, time.UTC)
}

func showRow(row []types.Datum, ts []types.T) string {
	parts := make([]string, len(row))
	for i, d := range row {
		parts[i] = show(d, ts[i])
	}
	return strings.Join(parts, "|")
}

// scanRows returns the rows of span, in scan order, rendered.
func scanRows(t *testing.T, tbl *Table, r Reader, span KeySpan) []string {
	t.Helper()
	it, err := tbl.Scan(r, span)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, showRow(it.Row(), tbl.Types))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func insert(t *testing.T, db *DB, tbl *Table, rows ...[]types.Datum) {
	t.Helper()
	txn := db.Begin()
	if err := tbl.Insert(txn, rows); err != nil {
		txn.Rollback()
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestScanOrder inserts rows in random order and checks that scans return
// them in primary key order for each kind of key.
func TestScanOrder(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	cases := []struct {
		name   string
		pkType types.T
		sorted []types.Datum
	}{
		{"int8", types.TInt8, []types.Datum{int64(-1 << 62), int64(-300), int64(-1), int64(0), int64(1), int64(255), int64(256), int64(1 << 40)}},
		{"int4", types.TInt4, []types.Datum{int64(-2147483648), int64(-5), int64(0), int64(7), int64(2147483647)}},
		{"text", types.TText, []types.Datum{"", "A", "a", "a\x00b", "ab", "b", "é"}},
		{"numeric", types.TNumeric, []types.Datum{dec("-100"), dec("-1.5"), dec("-0.001"), dec("0"), dec("0.5"), dec("2"), dec("10.25"), dec("1e20")}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tbl := &Table{ID: uint32(100 + i), Name: "t_" + c.name, Types: []types.T{types.TText, c.pkType}, ColNames: []string{"v", "k"}, PK: []int{1}}
			perm := rand.New(rand.NewSource(1)).Perm(len(c.sorted))
			var rows [][]types.Datum
			for _, p := range perm {
				rows = append(rows, []types.Datum{fmt.Sprint("row", p), c.sorted[p]})
			}
			insert(t, db, tbl, rows...)
			var want []string
			for p, k := range c.sorted {
				want = append(want, fmt.Sprintf("row%d|%s", p, show(k, c.pkType)))
			}
			got := scanRows(t, tbl, db.Latest(), FullSpan)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("scan order\n got %v\nwant %v", got, want)
			}
			// Range [sorted[1], sorted[3]] and (sorted[1], sorted[3]).
			lo, hi := []types.Datum{c.sorted[1]}, []types.Datum{c.sorted[3]}
			if got := scanRows(t, tbl, db.Latest(), tbl.SpanFor(lo, hi, true, true)); fmt.Sprint(got) != fmt.Sprint(want[1:4]) {
				t.Fatalf("closed range: got %v want %v", got, want[1:4])
			}
			if got := scanRows(t, tbl, db.Latest(), tbl.SpanFor(lo, hi, false, false)); fmt.Sprint(got) != fmt.Sprint(want[2:3]) {
				t.Fatalf("open range: got %v want %v", got, want[2:3])
			}
			if got := scanRows(t, tbl, db.Latest(), tbl.SpanFor(nil, hi, false, false)); fmt.Sprint(got) != fmt.Sprint(want[:3]) {
				t.Fatalf("< range: got %v want %v", got, want[:3])
			}
			if got := scanRows(t, tbl, db.Latest(), tbl.SpanFor(lo, nil, false, false)); fmt.Sprint(got) != fmt.Sprint(want[2:]) {
				t.Fatalf("> range: got %v want %v", got, want[2:])
			}
			// Point lookups, through Get and through a point span.
			for p, k := range c.sorted {
				row, ok, err := tbl.Get(db.Latest(), []types.Datum{k})
				if err != nil || !ok {
					t.Fatalf("Get(%v) = %v %v", k, ok, err)
				}
				if got := showRow(row, tbl.Types); got != want[p] {
					t.Fatalf("Get(%v) = %s, want %s", k, got, want[p])
				}
				span := tbl.SpanFor([]types.Datum{k}, []types.Datum{k}, true, true)
				if !tbl.IsPoint(span) {
					t.Fatalf("span for %v is not a point", k)
				}
				if got := scanRows(t, tbl, db.Latest(), span); len(got) != 1 || got[0] != want[p] {
					t.Fatalf("point span %v = %v", k, got)
				}
			}
		})
	}
}

func TestCompositeKeyPrefixSpan(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := &Table{ID: 7, Name: "c", Types: []types.T{types.TInt4, types.TText, types.TFloat8}, ColNames: []string{"a", "b", "x"}, PK: []int{0, 1}}
	var rows [][]types.Datum
	for a := int64(-2); a <= 2; a++ {
		for _, b := range []string{"z", "m", "a"} {
			rows = append(rows, []types.Datum{a, b, float64(a) / 2})
		}
	}
	insert(t, db, tbl, rows...)
	got := scanRows(t, tbl, db.Latest(), tbl.SpanFor([]types.Datum{int64(-1)}, []types.Datum{int64(-1)}, true, true))
	if want := "[-1|a|-0.5 -1|m|-0.5 -1|z|-0.5]"; fmt.Sprint(got) != want {
		t.Fatalf("a = -1: %v, want %s", got, want)
	}
	if tbl.IsPoint(tbl.SpanFor([]types.Datum{int64(-1)}, []types.Datum{int64(-1)}, true, true)) {
		t.Fatal("prefix span reported as a point")
	}
	got = scanRows(t, tbl, db.Latest(), tbl.SpanFor([]types.Datum{int64(0), "m"}, []types.Datum{int64(1)}, false, true))
	if want := "[0|z|0 1|a|0.5 1|m|0.5 1|z|0.5]"; fmt.Sprint(got) != want {
		t.Fatalf("(0,m) < k <= 1: %v, want %s", got, want)
	}
}

func TestDuplicateKey(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := &Table{ID: 1, Name: "items", Types: []types.T{types.TInt8, types.TText}, ColNames: []string{"id", "name"}, PK: []int{0}}
	insert(t, db, tbl, []types.Datum{int64(1), "one"})

	check := func(err error, detail string) {
		t.Helper()
		e := sqlerr.From(err)
		if err == nil || e.Code != sqlerr.UniqueViolation || !strings.HasPrefix(e.Message, `duplicate key value violates unique constraint "`) || e.Detail != detail {
			t.Fatalf("got %v (%+v), want 23505 with detail %q", err, e, detail)
		}
	}
	txn := db.Begin()
	check(tbl.Insert(txn, [][]types.Datum{{int64(2), "two"}, {int64(1), "again"}}), "Key (id)=(1) already exists.")
	txn.Rollback()
	// Duplicate within one call.
	txn = db.Begin()
	check(tbl.Insert(txn, [][]types.Datum{{int64(3), "a"}, {int64(3), "b"}}), "Key (id)=(3) already exists.")
	txn.Rollback()
	if got := scanRows(t, tbl, db.Latest(), FullSpan); fmt.Sprint(got) != "[1|one]" {
		t.Fatalf("after failed inserts: %v", got)
	}
	// Composite key detail.
	tc := &Table{ID: 2, Name: "pairs", Types: []types.T{types.TInt4, types.TText}, ColNames: []string{"a", "b"}, PK: []int{0, 1}}
	insert(t, db, tc, []types.Datum{int64(1), "x"})
	txn = db.Begin()
	check2 := sqlerr.From(tc.Insert(txn, [][]types.Datum{{int64(1), "x"}}))
	txn.Rollback()
	if check2.Detail != "Key (a, b)=(1, x) already exists." || check2.Message != `duplicate key value violates unique constraint "pairs_pkey"` {
		t.Fatalf("composite: %+v", check2)
	}
	// The detail shows the value as inserted.
	tn := &Table{ID: 6, Name: "n", Types: []types.T{types.TNumeric}, ColNames: []string{"x"}, PK: []int{0}}
	insert(t, db, tn, []types.Datum{dec("1.5")})
	txn = db.Begin()
	check(tn.Insert(txn, [][]types.Datum{{dec("1.50")}}), "Key (x)=(1.50) already exists.")
	txn.Rollback()
	// Two transactions racing for the same new key: the later commit fails.
	t1, t2 := db.Begin(), db.Begin()
	if err := tbl.Insert(t1, [][]types.Datum{{int64(9), "t1"}}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Insert(t2, [][]types.Datum{{int64(9), "t2"}}); err != nil {
		t.Fatal(err)
	}
	if err := t1.Commit(); err != nil {
		t.Fatal(err)
	}
	check(t2.Commit(), "Key (id)=(9) already exists.")
}

func TestPutDeleteTruncateAndOwnWrites(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := &Table{ID: 3, Name: "t", Types: []types.T{types.TInt8, types.TText}, ColNames: []string{"id", "v"}, PK: []int{0}}
	insert(t, db, tbl, []types.Datum{int64(1), "a"}, []types.Datum{int64(2), "b"}, []types.Datum{int64(3), "c"})

	txn := db.Begin()
	if err := tbl.Put(txn, []types.Datum{int64(2), "B"}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Delete(txn, tbl.EncodePK(nil, []types.Datum{int64(3)})); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Insert(txn, [][]types.Datum{{int64(3), "C"}, {int64(4), nil}}); err != nil {
		t.Fatalf("re-insert of a key deleted in the same transaction: %v", err)
	}
	if got := fmt.Sprint(scanRows(t, tbl, txn, FullSpan)); got != "[1|a 2|B 3|C 4|NULL]" {
		t.Fatalf("txn sees %s", got)
	}
	if got := fmt.Sprint(scanRows(t, tbl, db.Latest(), FullSpan)); got != "[1|a 2|b 3|c]" {
		t.Fatalf("others see %s", got)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	txn = db.Begin()
	if err := tbl.Truncate(txn); err != nil {
		t.Fatal(err)
	}
	if got := scanRows(t, tbl, txn, FullSpan); len(got) != 0 {
		t.Fatalf("after truncate txn sees %v", got)
	}
	if _, ok, _ := tbl.Get(txn, []types.Datum{int64(1)}); ok {
		t.Fatal("Get sees a truncated row")
	}
	txn.Rollback()
	if got := fmt.Sprint(scanRows(t, tbl, db.Latest(), FullSpan)); got != "[1|a 2|B 3|C 4|NULL]" {
		t.Fatalf("after rolled back truncate: %s", got)
	}
}

func TestHiddenRowIDAndAddedColumn(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	tbl := &Table{ID: 5, Name: "log", Types: []types.T{types.TText, types.TInt4}, ColNames: []string{"msg", "n"}}
	insert(t, db, tbl, []types.Datum{"x", int64(1)}, []types.Datum{"x", int64(1)}, []types.Datum{"y", nil})
	// Rows without a key are kept in insertion order, duplicates allowed.
	if got := fmt.Sprint(scanRows(t, tbl, db.Latest(), FullSpan)); got != "[x|1 x|1 y|NULL]" {
		t.Fatalf("scan = %s", got)
	}
	db.Close()

	// After restart and ADD COLUMN, old rows read NULL for the new column.
	db = openTest(t, dir)
	defer db.Close()
	wider := &Table{ID: 5, Name: "log", Types: []types.T{types.TText, types.TInt4, types.TBool}, ColNames: []string{"msg", "n", "flag"}}
	insert(t, db, wider, []types.Datum{"z", int64(2), true})
	if got := fmt.Sprint(scanRows(t, wider, db.Latest(), FullSpan)); got != "[x|1|NULL x|1|NULL y|NULL|NULL z|2|t]" {
		t.Fatalf("scan after add column = %s", got)
	}
	it, err := wider.Scan(db.Latest(), FullSpan)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	cols, n, keys, err := it.NextBatch([]int{2, 0}, 10)
	if err != nil || n != 4 || len(keys) != 4 {
		t.Fatalf("NextBatch = %d rows, %d keys, %v", n, len(keys), err)
	}
	flags, msgs := cols[0].(*array.Boolean), cols[1].(*array.String)
	if flags.NullN() != 3 || !flags.Value(3) || msgs.Value(0) != "x" || msgs.Value(3) != "z" {
		t.Fatalf("batch columns: %v %v", flags, msgs)
	}
	// The keys returned address the rows.
	row, ok, err := wider.GetKey(db.Latest(), keys[3])
	if err != nil || !ok || showRow(row, wider.Types) != "z|2|t" {
		t.Fatalf("GetKey = %v %v %v", row, ok, err)
	}
}

func TestNextBatchSizes(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := &Table{ID: 9, Name: "n", Types: []types.T{types.TInt8, types.TFloat8, types.TText}, ColNames: []string{"id", "f", "s"}, PK: []int{0}}
	var rows [][]types.Datum
	for i := 0; i < 2500; i++ {
		rows = append(rows, []types.Datum{int64(i), float64(i) * 1.5, fmt.Sprint("s", i)})
	}
	insert(t, db, tbl, rows...)
	it, err := tbl.Scan(db.Latest(), tbl.SpanFor([]types.Datum{int64(100)}, nil, true, false))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	next := int64(100)
	var sizes []int
	for {
		cols, n, _, err := it.NextBatch([]int{0, 1}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		sizes = append(sizes, n)
		ids, fs := cols[0].(*array.Int64).Int64Values(), cols[1].(*array.Float64).Float64Values()
		for i := range ids {
			if ids[i] != next || fs[i] != float64(next)*1.5 {
				t.Fatalf("row %d: id %d f %v", next, ids[i], fs[i])
			}
			next++
		}
		for _, c := range cols {
			c.Release()
		}
	}
	if fmt.Sprint(sizes) != "[1000 1000 400]" || next != 2500 {
		t.Fatalf("batch sizes %v, next %d", sizes, next)
	}
}

func TestRekeyAfterDroppingKey(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	from := &Table{ID: 4, Name: "r", Types: []types.T{types.TInt8, types.TText}, ColNames: []string{"id", "v"}, PK: []int{0}}
	insert(t, db, from, []types.Datum{int64(2), "b"}, []types.Datum{int64(1), "a"})
	to := &Table{ID: 4, Name: "r", Types: from.Types, ColNames: from.ColNames}
	txn := db.Begin()
	if err := Rekey(txn, from, to); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	insert(t, db, to, []types.Datum{nil, "c"})
	if got := fmt.Sprint(scanRows(t, to, db.Latest(), FullSpan)); got != "[1|a 2|b NULL|c]" {
		t.Fatalf("after rekey: %s", got)
	}
}

func BenchmarkPointGet(b *testing.B) {
	db := openTest(b, b.TempDir())
	defer db.Close()
	tbl := &Table{ID: 1, Name: "b", Types: []types.T{types.TInt8, types.TText, types.TFloat8}, ColNames: []string{"id", "s", "f"}, PK: []int{0}}
	const n = 100_000
	txn := db.Begin()
	rows := make([][]types.Datum, 0, 1000)
	for i := 0; i < n; i++ {
		rows = append(rows, []types.Datum{int64(i), "some text value", float64(i)})
		if len(rows) == cap(rows) {
			if err := tbl.Insert(txn, rows); err != nil {
				b.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	if err := txn.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := db.Pebble().Flush(); err != nil {
		b.Fatal(err)
	}
	snap := db.Snapshot()
	defer snap.Close()
	key := make([]types.Datum, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key[0] = int64(i*7919) % n
		if _, ok, err := tbl.Get(snap, key); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkInsert measures bulk INSERT into a table with a primary key,
// 10,000 rows per transaction.
func BenchmarkInsert(b *testing.B) {
	db := openTest(b, b.TempDir())
	defer db.Close()
	tbl := &Table{ID: 1, Name: "b", Types: []types.T{types.TInt8, types.TText, types.TFloat8}, ColNames: []string{"id", "s", "f"}, PK: []int{0}}
	rows := make([][]types.Datum, 10_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range rows {
			id := int64(i*len(rows) + j)
			rows[j] = []types.Datum{id, "some text value", float64(id)}
		}
		txn := db.Begin()
		if err := tbl.Insert(txn, rows); err != nil {
			b.Fatal(err)
		}
		if err := txn.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
