package storage

import (
	"errors"
	"fmt"
	"testing"
)

// writeFlushed writes n keys and flushes them into an sstable, so that
// an iterator over them opens a table through pebble's file cache.
func writeFlushed(t *testing.T, db *DB, n int) {
	t.Helper()
	b := db.Pebble().NewBatch()
	for i := range n {
		if err := b.Set(fmt.Appendf(nil, "k%04d", i), []byte("v"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Pebble().Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestCloseReportsLeakedIterator: an iterator left open over an sstable
// makes Close return ErrLeakedReaders (pebble's "leaked iterators"),
// never panic, and a second Close returns the same error. Pebble on its
// own panics ("element has outstanding references") when the DB drops
// its file cache under the open table.
func TestCloseReportsLeakedIterator(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	writeFlushed(t, db, 100)
	it, err := db.Latest().NewIter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !it.First() {
		t.Fatal("no key")
	}
	err = db.Close()
	if !errors.Is(err, ErrLeakedReaders) {
		t.Fatalf("Close with an open iterator: %v, want ErrLeakedReaders", err)
	}
	t.Log(err)
	if err2 := db.Close(); err2 != err {
		t.Fatalf("second Close: %v, want the first's %v", err2, err)
	}
}

// TestCloseReportsLeakedSnapshot: a snapshot left open makes Close
// return ErrLeakedReaders.
func TestCloseReportsLeakedSnapshot(t *testing.T) {
	db := openTest(t, t.TempDir())
	writeFlushed(t, db, 10)
	snap := db.Snapshot()
	if _, _, err := snap.Get([]byte("k0001")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); !errors.Is(err, ErrLeakedReaders) {
		t.Fatalf("Close with an open snapshot: %v, want ErrLeakedReaders", err)
	}
}

// TestCloseAfterReadersClosed: with every reader closed Close returns nil,
// releases the directory and the database opens again with its data.
func TestCloseAfterReadersClosed(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	writeFlushed(t, db, 100)
	snap := db.Snapshot()
	if got := len(collect(t, snap, "", "")); got != 100 {
		t.Fatalf("%d keys, want 100", got)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	db = openTest(t, dir)
	defer db.Close()
	if got := len(collect(t, db.Latest(), "", "")); got != 100 {
		t.Fatalf("after reopening: %d keys, want 100", got)
	}
}
