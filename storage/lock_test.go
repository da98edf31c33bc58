package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockConflictTable(t *testing.T) {
	// PostgreSQL's row-lock conflict table, row by row.
	want := map[[2]LockMode]bool{}
	modes := []LockMode{LockKeyShare, LockShare, LockNoKeyUpdate, LockUpdate}
	conf := [][]bool{
		{false, false, false, true},
		{false, false, true, true},
		{false, true, true, true},
		{true, true, true, true},
	}
	for i, a := range modes {
		for j, b := range modes {
			want[[2]LockMode{a, b}] = conf[i][j]
		}
	}
	for k, w := range want {
		if got := conflicts(k[0], k[1]); got != w {
			t.Errorf("conflicts(%v, %v) = %v, want %v", k[0], k[1], got, w)
		}
	}
}

func TestLockWaitGrantRelease(t *testing.T) {
	db := openTest(t, t.TempDir())
	ctx := context.Background()
	a, b := db.Begin(), db.Begin()
	if ok, waited, err := a.Lock(ctx, []byte("k"), LockUpdate, WaitBlock, 0); !ok || waited || err != nil {
		t.Fatalf("a: %v %v %v", ok, waited, err)
	}
	// Shared locks among themselves are fine, but not against UPDATE.
	if ok, _, err := b.Lock(ctx, []byte("k"), LockKeyShare, WaitNoWait, 0); ok || !errors.Is(err, ErrLockNotAvailable) {
		t.Fatalf("NOWAIT: %v %v", ok, err)
	}
	if ok, _, err := b.Lock(ctx, []byte("k"), LockShare, WaitSkip, 0); ok || err != nil {
		t.Fatalf("SKIP LOCKED: %v %v", ok, err)
	}
	if _, _, err := b.Lock(ctx, []byte("k"), LockUpdate, WaitBlock, 20*time.Millisecond); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("lock timeout: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		_, waited, err := b.Lock(ctx, []byte("k"), LockUpdate, WaitBlock, 0)
		if err == nil && !waited {
			err = errors.New("did not wait")
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("granted while held: %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	a.Rollback()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	b.Rollback()
	if n := db.locks.heldCount(); n != 0 {
		t.Fatalf("%d lock entries left", n)
	}
}

func TestLockDeadlock(t *testing.T) {
	db := openTest(t, t.TempDir())
	ctx := context.Background()
	a, b := db.Begin(), db.Begin()
	a.Lock(ctx, []byte("x"), LockUpdate, WaitBlock, 0)
	b.Lock(ctx, []byte("y"), LockUpdate, WaitBlock, 0)
	aDone := make(chan error, 1)
	go func() {
		_, _, err := a.Lock(ctx, []byte("y"), LockUpdate, WaitBlock, 0)
		aDone <- err
	}()
	// Let a queue up behind b.
	for {
		db.locks.mu.Lock()
		n := len(db.locks.waits)
		db.locks.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	_, _, err := b.Lock(ctx, []byte("x"), LockUpdate, WaitBlock, 0)
	var de *DeadlockError
	if !errors.As(err, &de) || len(de.Cycle) != 2 {
		t.Fatalf("want a deadlock of two, got %v", err)
	}
	b.Rollback()
	if err := <-aDone; err != nil {
		t.Fatalf("a after b gave up: %v", err)
	}
	a.Rollback()
}

func TestLockCancel(t *testing.T) {
	db := openTest(t, t.TempDir())
	a, b := db.Begin(), db.Begin()
	a.Lock(context.Background(), []byte("k"), LockShare, WaitBlock, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := b.Lock(ctx, []byte("k"), LockUpdate, WaitBlock, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled wait: %v", err)
	}
	// Shared locks do not block each other.
	if ok, waited, err := b.Lock(context.Background(), []byte("k"), LockShare, WaitBlock, 0); !ok || waited || err != nil {
		t.Fatalf("share: %v %v %v", ok, waited, err)
	}
	a.Rollback()
	b.Rollback()
}

// commitOnes commits the value "1" under each of keys.
func commitOnes(t *testing.T, db *DB, keys ...string) {
	t.Helper()
	w := db.Begin()
	for _, k := range keys {
		w.Set([]byte(k), []byte("1"))
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestRepeatableReadSnapshot(t *testing.T) {
	db := openTest(t, t.TempDir())
	commitOnes(t, db, "a", "b", "c")
	rr := db.BeginIso(RepeatableRead)
	rr.StartSnapshot()
	// Another transaction changes b, deletes c and adds d.
	w := db.Begin()
	w.Set([]byte("b"), []byte("2"))
	w.Delete([]byte("c"))
	w.Set([]byte("d"), []byte("2"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	// rr writes a and deletes a range over d.
	rr.Set([]byte("a"), []byte("mine"))
	rr.Set([]byte("e"), []byte("mine"))
	scan := func() string {
		it, err := rr.NewIter(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		s := ""
		for ok := it.First(); ok; ok = it.Next() {
			s += string(it.Key()) + "=" + string(it.Value()) + " "
		}
		return s
	}
	if got, want := scan(), "a=mine b=1 c=1 e=mine "; got != want {
		t.Fatalf("snapshot scan %q, want %q", got, want)
	}
	rr.Delete([]byte("b"))
	if got, want := scan(), "a=mine c=1 e=mine "; got != want {
		t.Fatalf("after delete %q, want %q", got, want)
	}
	if _, ok, _ := rr.Get([]byte("d")); ok {
		t.Fatal("saw a row committed after the snapshot")
	}
	if v, _, _ := rr.Get([]byte("c")); string(v) != "1" {
		t.Fatalf("c = %q", v)
	}
	if err := rr.CheckSnapshotConflict([]byte("c")); !errors.Is(err, ErrSerialization) {
		t.Fatalf("conflict on c: %v", err)
	}
	if err := rr.CheckSnapshotConflict([]byte("a")); err != nil {
		t.Fatalf("no conflict on a: %v", err)
	}
	rr.Rollback()
}

func TestSerializableWriteSkew(t *testing.T) {
	db := openTest(t, t.TempDir())
	commitOnes(t, db, "x", "y")
	// Write skew: each reads both and writes one.
	t1, t2 := db.BeginIso(Serializable), db.BeginIso(Serializable)
	t1.StartSnapshot()
	t2.StartSnapshot()
	t1.Get([]byte("x"))
	t1.Get([]byte("y"))
	t2.Get([]byte("x"))
	t2.Get([]byte("y"))
	t1.Set([]byte("x"), []byte("0"))
	t2.Set([]byte("y"), []byte("0"))
	if err := t1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := t2.Commit(); !errors.Is(err, ErrSerialization) {
		t.Fatalf("write skew committed: %v", err)
	}
	// Under RepeatableRead the same schedule commits (snapshot isolation).
	r1, r2 := db.BeginIso(RepeatableRead), db.BeginIso(RepeatableRead)
	r1.StartSnapshot()
	r2.StartSnapshot()
	r1.Set([]byte("x"), []byte("5"))
	r2.Set([]byte("y"), []byte("5"))
	if err := r1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := r2.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(db.ssi.log) != 0 || len(db.ssi.active) != 0 {
		t.Fatalf("tracker kept %d write sets, %d transactions", len(db.ssi.log), len(db.ssi.active))
	}
}
