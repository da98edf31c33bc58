package storage

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// logTestTable is a logged table (id int8 primary key, s text, n int8).
func logTestTable() *Table {
	return &Table{ID: 91, Name: "lt", Types: []types.T{types.TInt8, types.TText, types.TInt8}, ColNames: []string{"id", "s", "n"}, PK: []int{0}, Logged: true}
}

// readAllLog reads t's changelog after pos up to the database's last seq
// in batches of at most max changes (more only for a batch of one block),
// rendering each change as "op id s", and checks that no batch ends inside
// an update pair and that positions move forward to the last seq.
func readAllLog(t *testing.T, db *DB, tbl *Table, pos uint64, max int) []string {
	t.Helper()
	var out []string
	upTo := db.LogSeq()
	for pos < upTo {
		lb, err := tbl.ReadLog(db.Latest(), pos, upTo, []int{0, 1}, max)
		if err != nil {
			t.Fatal(err)
		}
		if len(lb.Ops) == 0 {
			break
		}
		if lb.Last <= pos || lb.Last > upTo {
			t.Fatalf("batch after %d ends at %d (log ends at %d)", pos, lb.Last, upTo)
		}
		if lb.Ops[len(lb.Ops)-1] == LogUpdateDelete {
			t.Fatalf("batch after %d ends inside an update pair", pos)
		}
		if len(lb.Ops) > max+logBlockRows {
			t.Fatalf("batch of %d changes, max %d", len(lb.Ops), max)
		}
		ids, ss := lb.Cols[0].(*array.Int64), lb.Cols[1].(*array.String)
		for i, op := range lb.Ops {
			pk, err := tbl.DecodePK(lb.Keys[i])
			if err != nil {
				t.Fatal(err)
			}
			if pk[0].(int64) != ids.Value(i) {
				t.Fatalf("change %d: key %v, row id %d", i, pk[0], ids.Value(i))
			}
			out = append(out, fmt.Sprintf("%d %d %s", op, ids.Value(i), ss.Value(i)))
		}
		for _, c := range lb.Cols {
			c.Release()
		}
		pos = lb.Last
	}
	if pos != upTo {
		t.Fatalf("reading stopped at %d, log ends at %d", pos, upTo)
	}
	return out
}

func logRow(id int64, s string) []types.Datum { return []types.Datum{id, s, id * 10} }

// TestChangelogBlocks: a transaction's changes go into the changelog in
// blocks, one entry per block, and read back in order whatever the batch
// size: an update pair at a block's edge stays in one block, a rollback to
// a savepoint inside a block drops exactly the changes after it, and
// entries of one change (the format before blocks) read along with
// blocks.
func TestChangelogBlocks(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := logTestTable()
	var want []string
	ins := func(txn *Txn, from, to int64, s string) {
		t.Helper()
		var rows [][]types.Datum
		for id := from; id < to; id++ {
			rows = append(rows, logRow(id, s))
			want = append(want, fmt.Sprintf("%d %d %s", LogInsert, id, s))
		}
		if err := tbl.Insert(txn, rows); err != nil {
			t.Fatal(err)
		}
	}
	// One commit of 2,500 inserts.
	txn := db.Begin()
	ins(txn, 0, 2500, "a")
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	// Inserts up to one short of a block, then an update whose pair
	// straddles the block's edge; a rollback to a savepoint inside a
	// block; deletes.
	txn = db.Begin()
	ins(txn, 10000, 10000+logBlockRows-1, "b")
	pk := tbl.EncodePK(nil, []types.Datum{int64(5)})
	if err := tbl.PutKey(txn, pk, logRow(5, "u")); err != nil {
		t.Fatal(err)
	}
	want = append(want, fmt.Sprintf("%d 5 a", LogUpdateDelete), fmt.Sprintf("%d 5 u", LogUpdateInsert))
	ins(txn, 20000, 20010, "c")
	sp := txn.Savepoint()
	mark := len(want)
	ins(txn, 30000, 30500, "gone")
	if err := txn.RollbackTo(sp); err != nil {
		t.Fatal(err)
	}
	want = want[:mark]
	ins(txn, 40000, 40003, "d")
	for _, id := range []int64{1, 2} {
		if err := tbl.Delete(txn, tbl.EncodePK(nil, []types.Datum{id})); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%d %d a", LogDelete, id))
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	// An entry of one change as written before blocks, then a small
	// commit.
	seq := db.LogSeq() + 1
	b := db.Pebble().NewBatch()
	key := tbl.EncodePK(nil, []types.Datum{int64(50000)})
	old := append([]byte{LogInsert}, binary.AppendUvarint(nil, uint64(len(key)))...)
	old = types.EncodeRow(append(old, key...), logRow(50000, "old"), tbl.Types)
	if err := b.Set(LogKey(tbl.ID, seq), old, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(logSeqKey, binary.BigEndian.AppendUint64(nil, seq), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.CommitBatch(b); err != nil {
		t.Fatal(err)
	}
	b.Close()
	db.logSeq.Store(seq)
	want = append(want, fmt.Sprintf("%d 50000 old", LogInsert))
	txn = db.Begin()
	ins(txn, 60000, 60002, "e")
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}

	if n := db.LogSeq(); n != uint64(len(want)) {
		t.Fatalf("log seq %d, want %d changes", n, len(want))
	}
	for _, max := range []int{1, 7, 1000, 4096, 1 << 20} {
		if got := readAllLog(t, db, tbl, 0, max); !slices.Equal(got, want) {
			t.Fatalf("max %d: read %d changes, want %d; first difference at %d", max, len(got), len(want), firstDiff(got, want))
		}
	}
	// From a position at a commit's end.
	if got := readAllLog(t, db, tbl, 2500, 100); !slices.Equal(got, want[2500:]) {
		t.Fatalf("from 2500: first difference at %d", firstDiff(got, want[2500:]))
	}
	// From a position inside a block (not one a reader of whole blocks
	// reaches): the changes after it.
	if got := readAllLog(t, db, tbl, 1000, 4096); !slices.Equal(got, want[1000:]) {
		t.Fatalf("from 1000: first difference at %d", firstDiff(got, want[1000:]))
	}
	// One entry per block, not per change.
	lo, hi := LogSpan(tbl.ID, 0, 1<<62)
	entries := len(collectKV(t, db.Latest(), lo, hi))
	if max := 3 + 2 + 1 + 1; entries > max {
		t.Fatalf("%d changelog entries for %d changes, want at most %d", entries, len(want), max)
	}
	if n, err := LogChanges(db.Latest(), tbl.ID); err != nil || n != len(want) {
		t.Fatalf("LogChanges = %d, %v; want %d", n, err, len(want))
	}
}

// collectKV returns the keys in [lo, hi).
func collectKV(t *testing.T, r Reader, lo, hi []byte) [][]byte {
	t.Helper()
	it, err := r.NewIter(lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, slices.Clone(it.Key()))
	}
	return out
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestReadLogSizedByChanges: a reader that follows small commits (the
// stream job of a table written by single-row INSERTs, an epoch every few
// milliseconds) gets a batch sized by the changes there are, not by its
// maximum: reserving max rows per call made 90 % of the bytes a pgbench
// server allocated.
func TestReadLogSizedByChanges(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := logTestTable()
	for id := int64(1); id <= 3; id++ {
		txn := db.Begin()
		if err := tbl.Insert(txn, [][]types.Datum{logRow(id, "x")}); err != nil {
			t.Fatal(err)
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	upTo := db.LogSeq()
	const max = 4096
	lb, err := tbl.ReadLog(db.Latest(), upTo-2, upTo, []int{0, 1}, max)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range lb.Cols {
			c.Release()
		}
	}()
	if len(lb.Ops) != 2 || lb.Last != upTo {
		t.Fatalf("read %d changes up to %d, want 2 up to %d", len(lb.Ops), lb.Last, upTo)
	}
	if cap(lb.Ops) > 2 || cap(lb.Keys) > 2 {
		t.Fatalf("a batch of 2 changes reserved %d ops and %d keys (max %d)", cap(lb.Ops), cap(lb.Keys), max)
	}
	if ids := lb.Cols[0].(*array.Int64); ids.Value(0) != 2 || ids.Value(1) != 3 {
		t.Fatalf("ids %d, %d; want 2, 3", ids.Value(0), ids.Value(1))
	}
}
