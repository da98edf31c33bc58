package storage

import (
	"errors"
	"testing"
)

// TestTxnRollbackTo: writes after a savepoint vanish, writes before it
// stay, including deletes and range deletes, and the batch keeps working.
func TestTxnRollbackTo(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	setup := db.Begin()
	for _, k := range []string{"a", "b", "c"} {
		if err := setup.Set([]byte(k), []byte("0")); err != nil {
			t.Fatal(err)
		}
	}
	if err := setup.Commit(); err != nil {
		t.Fatal(err)
	}
	txn := db.Begin()
	if err := txn.Set([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	sp := txn.Savepoint()
	if err := txn.Set([]byte("a"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Delete([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := txn.DeleteRange([]byte("c"), []byte("d")); err != nil {
		t.Fatal(err)
	}
	if err := txn.SetAbsent([]byte("x"), []byte("new"), func([]byte) error { return errors.New("dup") }); err != nil {
		t.Fatal(err)
	}
	if err := txn.RollbackTo(sp); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, txn, "", ""); len(got) != 3 {
		t.Fatalf("after rollback to: %v", got)
	}
	if v, _ := mustGet(t, txn, "a"); v != "1" {
		t.Fatalf("a = %q, want 1", v)
	}
	if len(txn.absent) != 0 {
		t.Fatalf("absent checks survive rollback: %d", len(txn.absent))
	}
	// The batch still takes writes after the rollback.
	if err := txn.Set([]byte("d"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, _ := mustGet(t, db.Latest(), "a"); v != "1" {
		t.Fatalf("committed a = %q, want 1", v)
	}
	if _, ok := mustGet(t, db.Latest(), "x"); ok {
		t.Fatal("rolled back key x committed")
	}
	if _, ok := mustGet(t, db.Latest(), "d"); !ok {
		t.Fatal("key d written after the rollback is missing")
	}

	// Rolling back to a savepoint taken before any write empties the batch.
	txn = db.Begin()
	empty := txn.Savepoint()
	if err := txn.Set([]byte("z"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := txn.RollbackTo(empty); err != nil {
		t.Fatal(err)
	}
	if !txn.Empty() {
		t.Fatal("batch not empty after rollback to the start")
	}
	txn.Rollback()
}

// TestTxnRecheckAtCommit: a check runs again at commit only when another
// transaction committed in between, and its error fails the commit.
func TestTxnRecheckAtCommit(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	parent := db.Begin()
	if err := parent.Set([]byte("p1"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := parent.Commit(); err != nil {
		t.Fatal(err)
	}
	missing := errors.New("parent gone")
	mustExist := func(r Reader) error {
		_, ok, err := r.Get([]byte("p1"))
		if err != nil {
			return err
		}
		if !ok {
			return missing
		}
		return nil
	}
	child := db.Begin()
	if err := child.Set([]byte("c1"), []byte("p1")); err != nil {
		t.Fatal(err)
	}
	child.RecheckAtCommit(mustExist)
	del := db.Begin()
	if err := del.Delete([]byte("p1")); err != nil {
		t.Fatal(err)
	}
	if err := del.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := child.Commit(); !errors.Is(err, missing) {
		t.Fatalf("commit after the parent's delete: %v, want %v", err, missing)
	}
	if _, ok := mustGet(t, db.Latest(), "c1"); ok {
		t.Fatal("child committed although its recheck failed")
	}
}
