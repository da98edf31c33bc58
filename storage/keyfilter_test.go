package storage

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"streamsql/sql/types"
)

func filterTable(id uint32) *Table {
	return &Table{ID: id, Name: fmt.Sprintf("t%d", id), Types: []types.T{types.TInt8, types.TText}, ColNames: []string{"id", "v"}, PK: []int{0}, Logged: true}
}

// rawPut writes rows of tbl without a key check (and without giving the
// table a filter).
func rawPut(t testing.TB, db *DB, tbl *Table, ids []int64) {
	t.Helper()
	txn := db.Begin()
	for _, id := range ids {
		if err := tbl.Put(txn, []types.Datum{id, "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
}

func waitFilterReady(t testing.TB, db *DB, id uint32) *keyFilter {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if m := db.filters.Load(); m != nil && (*m)[id] != nil && (*m)[id].usable() {
			return (*m)[id]
		}
	}
	t.Fatal("key filter not built")
	return nil
}

// TestKeyFilterUnderConcurrentWrites builds a table's filter while four
// writers insert and delete rows, then checks that no key the table holds
// is missed (a miss would let a duplicate primary key in) and that most
// missing keys are answered without a read.
func TestKeyFilterUnderConcurrentWrites(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := filterTable(50)
	var seedIDs []int64
	for i := int64(0); i < 30000; i += 2 {
		seedIDs = append(seedIDs, i)
	}
	rawPut(t, db, tbl, seedIDs)

	const keySpace = 60000
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < 400; i++ {
				txn := db.Begin()
				id := rng.Int63n(keySpace)
				var err error
				if i%5 == 4 {
					err = tbl.Delete(txn, tbl.EncodePK(nil, []types.Datum{id}))
				} else {
					// Insert registers the filter on its first call: the
					// scan runs while the writers go on.
					err = tbl.Insert(txn, [][]types.Datum{{id, "w"}})
				}
				if err != nil {
					txn.Rollback()
					continue
				}
				if err := txn.Commit(); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	f := waitFilterReady(t, db, tbl.ID)

	present := map[int64]bool{}
	it, err := tbl.Scan(db.Latest(), FullSpan)
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
		present[it.Row()[0].(int64)] = true
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	skipped := 0
	txn := db.Begin()
	defer txn.Rollback()
	for id := int64(0); id < keySpace; id++ {
		key := TableKey(tbl.ID, tbl.EncodePK(nil, []types.Datum{id}))
		if present[id] && !f.mayHold(key) {
			t.Fatalf("row %d is in the table but not in its filter", id)
		}
		_, found, err := tbl.Get(txn, []types.Datum{id})
		if err != nil || found != present[id] {
			t.Fatalf("Get(%d) = %v, %v; the table holds it: %v", id, found, err, present[id])
		}
		if !present[id] && db.absentByFilter(key) {
			skipped++
		}
	}
	if missing := keySpace - len(present); skipped < missing*9/10 {
		t.Errorf("the filter answered %d of %d missing keys, want at least 90%%", skipped, missing)
	}
}

// TestKeyFilterOldSnapshot: a snapshot taken before the filter may hold a
// row deleted before the filter was built; it must still read it.
func TestKeyFilterOldSnapshot(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := filterTable(51)
	rawPut(t, db, tbl, []int64{7})
	old := db.BeginIso(RepeatableRead)
	defer old.Rollback()
	old.StartSnapshot()

	del := db.Begin()
	if err := tbl.Delete(del, tbl.EncodePK(nil, []types.Datum{int64(7)})); err != nil {
		t.Fatal(err)
	}
	if err := del.Commit(); err != nil {
		t.Fatal(err)
	}
	db.FilterTableKeys(tbl.ID)
	waitFilterReady(t, db, tbl.ID)
	key := TableKey(tbl.ID, tbl.EncodePK(nil, []types.Datum{int64(7)}))
	if !db.absentByFilter(key) {
		t.Skip("false positive on the one key: nothing to check")
	}
	if _, found, err := tbl.Get(old, []types.Datum{int64(7)}); err != nil || !found {
		t.Fatalf("the older snapshot lost row 7: found %v, %v", found, err)
	}
	fresh := db.BeginIso(RepeatableRead)
	defer fresh.Rollback()
	fresh.StartSnapshot()
	if _, found, err := tbl.Get(fresh, []types.Datum{int64(7)}); err != nil || found {
		t.Fatalf("a new snapshot reads deleted row 7: found %v, %v", found, err)
	}
}

// TestKeyFilterOwnWrites: rows a transaction wrote and has not committed
// are not in the filter yet; its reads and key checks must see them.
func TestKeyFilterOwnWrites(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := filterTable(52)
	db.FilterTableKeys(tbl.ID)
	waitFilterReady(t, db, tbl.ID)
	for _, iso := range []Isolation{ReadCommitted, RepeatableRead} {
		txn := db.BeginIso(iso)
		txn.StartSnapshot()
		if err := tbl.Insert(txn, [][]types.Datum{{int64(1), "a"}}); err != nil {
			t.Fatal(err)
		}
		if _, found, err := tbl.Get(txn, []types.Datum{int64(1)}); err != nil || !found {
			t.Fatalf("%v: own row not read: %v, %v", iso, found, err)
		}
		if err := tbl.Insert(txn, [][]types.Datum{{int64(1), "b"}}); err == nil {
			t.Fatalf("%v: duplicate of an own row accepted", iso)
		}
		txn.Rollback()
	}
	// Committed by another transaction after this one checked: the check
	// at commit sees it.
	a, b := db.Begin(), db.Begin()
	if err := tbl.Insert(a, [][]types.Datum{{int64(2), "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Insert(b, [][]types.Datum{{int64(2), "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err == nil {
		t.Fatal("two transactions inserted primary key 2")
	}
}

// BenchmarkMissingKeyGet reads keys a table does not hold, as a primary
// key check does, with and without the table's key filter.
func BenchmarkMissingKeyGet(b *testing.B) {
	db := openTest(b, b.TempDir())
	defer db.Close()
	filtered, plain := filterTable(60), filterTable(61)
	for lo := int64(0); lo < 400000; lo += 10000 {
		ids := make([]int64, 0, 10000)
		for i := lo; i < lo+10000; i++ {
			ids = append(ids, 2*i)
		}
		rawPut(b, db, filtered, ids)
		rawPut(b, db, plain, ids)
	}
	db.FilterTableKeys(filtered.ID)
	waitFilterReady(b, db, filtered.ID)
	for _, tbl := range []*Table{filtered, plain} {
		name := map[bool]string{true: "filter", false: "read"}[tbl == filtered]
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			txn := db.Begin()
			defer txn.Rollback()
			buf := TableKey(tbl.ID, nil)
			for b.Loop() {
				key := tbl.EncodePK(buf, []types.Datum{2*rng.Int63n(400000) + 1})
				if _, found, err := txn.Get(key); err != nil || found {
					b.Fatal(found, err)
				}
			}
		})
	}
}
