package storage

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

func openTest(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustGet(t *testing.T, r Reader, key string) (string, bool) {
	t.Helper()
	v, ok, err := r.Get([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

func collect(t *testing.T, r Reader, lo, hi string) []string {
	t.Helper()
	var l, h []byte
	if lo != "" {
		l = []byte(lo)
	}
	if hi != "" {
		h = []byte(hi)
	}
	it, err := r.NewIter(l, h)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTxnReadsOwnWritesAndCommits(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()

	setup := db.Begin()
	for _, k := range []string{"a", "b", "c", "d"} {
		if err := setup.Set([]byte(k), []byte("old-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := setup.Commit(); err != nil {
		t.Fatal(err)
	}

	txn := db.Begin()
	txn.Set([]byte("b"), []byte("new-b"))
	txn.Delete([]byte("c"))
	txn.Set([]byte("e"), []byte("new-e"))
	if v, ok := mustGet(t, txn, "b"); !ok || v != "new-b" {
		t.Fatalf("txn Get(b) = %q %v", v, ok)
	}
	if _, ok := mustGet(t, txn, "c"); ok {
		t.Fatal("txn sees its own delete of c as present")
	}
	got := fmt.Sprint(collect(t, txn, "", ""))
	if want := "[a=old-a b=new-b d=old-d e=new-e]"; got != want {
		t.Fatalf("txn scan = %s, want %s", got, want)
	}
	// Others do not see uncommitted writes.
	if v, _ := mustGet(t, db.Latest(), "b"); v != "old-b" {
		t.Fatalf("db sees uncommitted write: %q", v)
	}
	// A range deletion is visible to the transaction's own reads.
	txn.DeleteRange([]byte("a"), []byte("c"))
	if got := fmt.Sprint(collect(t, txn, "", "")); got != "[d=old-d e=new-e]" {
		t.Fatalf("after DeleteRange txn scan = %s", got)
	}
	if _, ok := mustGet(t, txn, "a"); ok {
		t.Fatal("Get sees a key removed by DeleteRange")
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(collect(t, db.Latest(), "", "")); got != "[d=old-d e=new-e]" {
		t.Fatalf("after commit db scan = %s", got)
	}
	if err := txn.Set([]byte("x"), nil); err != ErrTxnDone {
		t.Fatalf("Set after Commit = %v, want ErrTxnDone", err)
	}
}

func TestTxnRollbackLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	txn := db.Begin()
	txn.Set([]byte("k1"), []byte("v"))
	txn.Set([]byte("k2"), []byte("v"))
	txn.Rollback()
	txn.Rollback() // idempotent
	if got := collect(t, db.Latest(), "", ""); len(got) != 0 {
		t.Fatalf("after rollback: %v", got)
	}
	db.Close()
	db = openTest(t, dir)
	defer db.Close()
	if got := collect(t, db.Latest(), "", ""); len(got) != 0 {
		t.Fatalf("after rollback and restart: %v", got)
	}
}

func TestSnapshotIsStable(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	txn := db.Begin()
	txn.Set([]byte("a"), []byte("1"))
	txn.Commit()
	snap := db.Snapshot()
	defer snap.Close()
	txn = db.Begin()
	txn.Set([]byte("a"), []byte("2"))
	txn.Set([]byte("b"), []byte("2"))
	txn.Commit()
	if got := fmt.Sprint(collect(t, snap, "", "")); got != "[a=1]" {
		t.Fatalf("snapshot sees later commit: %s", got)
	}
	if got := fmt.Sprint(collect(t, db.Latest(), "", "")); got != "[a=2 b=2]" {
		t.Fatalf("latest = %s", got)
	}
}

// commitDuplicate fails unless committing tx fails with the tests'
// "duplicate" error and key k keeps the value want of the commit before.
func commitDuplicate(t *testing.T, db *DB, tx *Txn, k, want string) {
	t.Helper()
	if err := tx.Commit(); err == nil || err.Error() != "duplicate" {
		t.Fatalf("commit after a concurrent insert of %s = %v, want duplicate", k, err)
	}
	if v, _ := mustGet(t, db.Latest(), k); v != want {
		t.Fatalf("%s = %q after the failed commit, want the first commit's %q", k, v, want)
	}
}

func TestSetAbsentAcrossTransactions(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	dup := func([]byte) error { return fmt.Errorf("duplicate") }

	// Both check the key while it is absent; the second commit must fail.
	t1, t2 := db.Begin(), db.Begin()
	if err := t1.SetAbsent([]byte("k"), []byte("1"), dup); err != nil {
		t.Fatal(err)
	}
	if err := t2.SetAbsent([]byte("k"), []byte("2"), dup); err != nil {
		t.Fatal(err)
	}
	if err := t1.Commit(); err != nil {
		t.Fatal(err)
	}
	commitDuplicate(t, db, t2, "k", "1")

	// Within a transaction: the second write of a key fails at once.
	t3 := db.Begin()
	if err := t3.SetAbsent([]byte("x"), nil, dup); err != nil {
		t.Fatal(err)
	}
	if err := t3.SetAbsent([]byte("x"), nil, dup); err == nil {
		t.Fatal("duplicate within a transaction accepted")
	}
	// Delete then re-insert of a committed key in one transaction is fine,
	// even when another transaction commits meanwhile.
	t4 := db.Begin()
	t4.Delete([]byte("k"))
	if err := t4.SetAbsent([]byte("k"), []byte("3"), dup); err != nil {
		t.Fatal(err)
	}
	other := db.Begin()
	other.Set([]byte("unrelated"), nil)
	other.Commit()
	if err := t4.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, _ := mustGet(t, db.Latest(), "k"); v != "3" {
		t.Fatalf("k = %q", v)
	}
	t3.Rollback()
}

func TestNextSequence(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	first, err := db.NextSequence("s", 1)
	if err != nil || first != 1 {
		t.Fatalf("first = %d, %v", first, err)
	}
	// Concurrent callers get disjoint ranges.
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				v, err := db.NextSequence("s", 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for j := v; j < v+3; j++ {
					if seen[j] {
						t.Errorf("value %d handed out twice", j)
					}
					seen[j] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	last, _ := db.NextSequence("s", 1)
	other, _ := db.NextSequence("other", 1)
	if other != 1 {
		t.Fatalf("independent sequence starts at %d", other)
	}
	db.Close()
	db = openTest(t, dir)
	defer db.Close()
	after, _ := db.NextSequence("s", 1)
	if after <= last {
		t.Fatalf("after restart got %d, already handed out up to %d", after, last)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{[]byte{1, 2}, []byte{1, 3}},
		{[]byte{1, 0xff}, []byte{2}},
		{[]byte{0xff, 0xff}, nil},
		{[]byte("t\x00\x00\x00\x07"), []byte("t\x00\x00\x00\x08")},
	} {
		if got := PrefixEnd(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", c.in, got, c.want)
		}
	}
	lo, hi := TableSpan(0xffffffff)
	if !bytes.Equal(lo, []byte{'t', 0xff, 0xff, 0xff, 0xff}) || !bytes.Equal(hi, []byte{'u'}) {
		t.Fatalf("TableSpan(max) = %x %x", lo, hi)
	}
}

// TestSetAbsentSeen: a key read as absent and then written without a
// second read is still checked at commit against a transaction that
// committed it in between, from the read on.
func TestSetAbsentSeen(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	dup := func([]byte) error { return fmt.Errorf("duplicate") }

	t1 := db.Begin()
	since := db.CommitCount()
	if _, found, err := t1.Get([]byte("k")); err != nil || found {
		t.Fatalf("k before: found %v, %v", found, err)
	}
	// Another transaction commits k after t1's read.
	t2 := db.Begin()
	if err := t2.SetAbsent([]byte("k"), []byte("2"), dup); err != nil {
		t.Fatal(err)
	}
	if err := t2.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := t1.SetAbsentSeen([]byte("k"), []byte("1"), since, dup); err != nil {
		t.Fatal(err)
	}
	commitDuplicate(t, db, t1, "k", "2")

	// Nothing committed in between: the write stands.
	t3 := db.Begin()
	since = db.CommitCount()
	if err := t3.SetAbsentSeen([]byte("n"), []byte("3"), since, dup); err != nil {
		t.Fatal(err)
	}
	if err := t3.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, _ := mustGet(t, db.Latest(), "n"); v != "3" {
		t.Fatalf("n = %q, want 3", v)
	}
}

// TestCheckSpaceCountsBetweenMeasurements: within the measurement
// interval, commits are counted against the last statfs, and a commit that
// would take free space under twice the reserve measures again.
func TestCheckSpaceCountsBetweenMeasurements(t *testing.T) {
	g := &spaceGuard{reserve: 100}
	if g.recent(1) {
		t.Fatal("no measurement yet, but recent")
	}
	g.measured(1000)
	for range 2 { // asking does not use the measurement up
		if !g.recent(300) {
			t.Fatal("commits well within the last measurement were not counted")
		}
	}
	// 1000 - 600 - 300 = 100 < 2 * reserve: measure again.
	if g.recent(300) {
		t.Fatal("a commit near the reserve did not measure again")
	}
	g.measured(1000)
	g.checkedAt = g.checkedAt.Add(-2 * statfsInterval)
	if g.recent(1) {
		t.Fatal("an old measurement served a commit")
	}
}
