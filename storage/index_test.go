package storage

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// indexEntries renders every entry of ix as "values -> pk", in key order.
func indexEntries(t *testing.T, r Reader, tbl *Table, ix *Index) []string {
	t.Helper()
	lo, hi := IndexSpan(ix.ID)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for ok := it.First(); ok; ok = it.Next() {
		vals, err := ix.decodeValues(tbl, it.Key())
		if err != nil {
			t.Fatal(err)
		}
		pk, err := tbl.DecodePK(it.Value())
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = show(v, tbl.Types[ix.Cols[i]])
		}
		out = append(out, fmt.Sprintf("%s -> %v", strings.Join(parts, ","), pk))
	}
	return out
}

// rebuilt renders the entries ix would have if built from scratch from the
// table's rows.
func rebuilt(t *testing.T, db *DB, tbl *Table, ix *Index) []string {
	t.Helper()
	txn := db.Begin()
	defer txn.Rollback()
	if err := DropIndex(txn, ix.ID); err != nil {
		t.Fatal(err)
	}
	if err := BuildIndex(txn, tbl, ix); err != nil {
		t.Fatal(err)
	}
	return indexEntries(t, txn, tbl, ix)
}

func indexTestTable(pk []int) *Table {
	return &Table{ID: 77, Name: "t", Types: []types.T{types.TInt8, types.TText, types.TInt8}, ColNames: []string{"id", "s", "n"}, PK: pk, Logged: true}
}

// Random inserts, updates and deletes through IndexedTable leave every
// index holding exactly the entries a rebuild from the rows gives, for
// tables with and without a primary key, ascending and descending.
func TestIndexMaintenanceMatchesRebuild(t *testing.T) {
	for _, pk := range [][]int{{0}, nil} {
		t.Run(fmt.Sprintf("pk=%v", pk), func(t *testing.T) {
			db := openTest(t, t.TempDir())
			tbl := indexTestTable(pk)
			byS := &Index{ID: 1001, Name: "t_s_idx", Cols: []int{1, 2}, Desc: []bool{false, true}}
			byN := &Index{ID: 1002, Name: "t_n_key", Cols: []int{2}, Unique: true}
			it := NewIndexedTable(tbl, []*Index{byS, byN})
			rng := rand.New(rand.NewSource(5))
			nextN := int64(0)
			for round := 0; round < 30; round++ {
				txn := db.Begin()
				for i := 0; i < 20; i++ {
					nextN++
					var s types.Datum = fmt.Sprintf("s%d", rng.Intn(4))
					var n types.Datum = nextN
					if rng.Intn(5) == 0 {
						n = nil // NULLs never conflict
					}
					if rng.Intn(7) == 0 {
						s = nil
					}
					if err := it.Insert(txn, [][]types.Datum{{int64(round*100 + i), s, n}}); err != nil {
						t.Fatal(err)
					}
				}
				// Update or delete some rows.
				rows, err := tbl.Scan(txn, FullSpan)
				if err != nil {
					t.Fatal(err)
				}
				var keys [][]byte
				var olds [][]types.Datum
				for rows.Next() {
					keys = append(keys, slices.Clone(rows.Key()))
					olds = append(olds, rows.Row())
				}
				rows.Close()
				for i := range keys {
					switch rng.Intn(8) {
					case 0:
						if err := it.Delete(txn, keys[i], olds[i]); err != nil {
							t.Fatal(err)
						}
					case 1:
						nr := slices.Clone(olds[i])
						nr[1] = fmt.Sprintf("s%d", rng.Intn(4))
						if err := it.Update(txn, keys[i], olds[i], nr); err != nil {
							t.Fatal(err)
						}
					case 2:
						nextN++
						nr := slices.Clone(olds[i])
						nr[2] = nextN
						if err := it.Update(txn, keys[i], olds[i], nr); err != nil {
							t.Fatal(err)
						}
					}
				}
				if rng.Intn(4) == 0 {
					txn.Rollback()
					continue
				}
				if err := txn.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			snap := db.Snapshot()
			defer snap.Close()
			for _, ix := range it.Indexes {
				got, want := indexEntries(t, snap, tbl, ix), rebuilt(t, db, tbl, ix)
				if len(got) < 100 {
					t.Fatalf("%s: only %d entries, the test proves little", ix.Name, len(got))
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: maintained entries differ from a rebuild\ngot  %v\nwant %v", ix.Name, got, want)
				}
			}
		})
	}
}

// A unique index refuses a duplicate in the same transaction and, at
// commit, one committed by another transaction meanwhile; NULLs never
// conflict.
func TestUniqueIndexConflicts(t *testing.T) {
	db := openTest(t, t.TempDir())
	tbl := indexTestTable([]int{0})
	ix := &Index{ID: 2001, Name: "t_n_key", Cols: []int{2}, Unique: true}
	it := NewIndexedTable(tbl, []*Index{ix})

	txn := db.Begin()
	if err := it.Insert(txn, [][]types.Datum{{int64(1), "a", int64(5)}, {int64(2), "b", nil}, {int64(3), "c", nil}}); err != nil {
		t.Fatal(err)
	}
	err := it.Insert(txn, [][]types.Datum{{int64(4), "d", int64(5)}})
	if e := sqlerr.From(err); e == nil || e.Code != sqlerr.UniqueViolation || e.Message != `duplicate key value violates unique constraint "t_n_key"` || e.Detail != "Key (n)=(5) already exists." {
		t.Fatalf("duplicate in one transaction: %v", err)
	}
	txn.Rollback()

	a, b := db.Begin(), db.Begin()
	if err := it.Insert(a, [][]types.Datum{{int64(1), "a", int64(7)}}); err != nil {
		t.Fatal(err)
	}
	if err := it.Insert(b, [][]types.Datum{{int64(2), "b", int64(7)}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	err = b.Commit()
	if e := sqlerr.From(err); e == nil || e.Code != sqlerr.UniqueViolation || e.Detail != "Key (n)=(7) already exists." {
		t.Fatalf("concurrent duplicate at commit: %v", err)
	}

	// Deleting the holder frees the value, also for a later transaction.
	txn = db.Begin()
	if err := it.Delete(txn, tbl.EncodePK(nil, []types.Datum{int64(1)}), []types.Datum{int64(1), "a", int64(7)}); err != nil {
		t.Fatal(err)
	}
	if err := it.Insert(txn, [][]types.Datum{{int64(9), "z", int64(7)}}); err != nil {
		t.Fatalf("re-insert after delete: %v", err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	pk, found, err := ix.Lookup(db.Latest(), tbl, []types.Datum{int64(7)})
	if err != nil || !found {
		t.Fatalf("lookup: %v %v", found, err)
	}
	if got, _ := tbl.DecodePK(pk); fmt.Sprint(got) != "[9]" {
		t.Errorf("lookup of 7: pk %v, want [9]", got)
	}

	// Building a unique index over duplicates fails and names a value.
	txn = db.Begin()
	defer txn.Rollback()
	if err := it.Insert(txn, [][]types.Datum{{int64(10), "z", int64(8)}}); err != nil {
		t.Fatal(err)
	}
	bys := &Index{ID: 2002, Name: "t_s_key", Cols: []int{1}, Unique: true}
	err = BuildIndex(txn, tbl, bys)
	if e := sqlerr.From(err); e == nil || e.Message != `could not create unique index "t_s_key"` || e.Detail != "Key (s)=(z) is duplicated." {
		t.Fatalf("build over duplicates: %v", err)
	}
}

// Scans of an index range return the rows' keys in index order, with
// descending columns reversed.
func TestIndexScanSpans(t *testing.T) {
	db := openTest(t, t.TempDir())
	tbl := indexTestTable([]int{0})
	ix := &Index{ID: 3001, Name: "t_n_idx", Cols: []int{2}, Desc: []bool{true}}
	it := NewIndexedTable(tbl, []*Index{ix})
	txn := db.Begin()
	for i := int64(1); i <= 10; i++ {
		if err := it.Insert(txn, [][]types.Datum{{i, "x", i % 4}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	scan := func(span KeySpan) string {
		ii, err := ix.Scan(db.Latest(), span)
		if err != nil {
			t.Fatal(err)
		}
		defer ii.Close()
		var ids []string
		for ii.Next() {
			pk, _ := tbl.DecodePK(ii.PK())
			ids = append(ids, fmt.Sprint(pk[0]))
		}
		return strings.Join(ids, " ")
	}
	enc := func(v int64) []byte { return ix.EncodeValues([]byte{}, tbl, []types.Datum{v}) }
	if got := scan(KeySpan{Lo: enc(2), Hi: enc(2), LoInclusive: true, HiInclusive: true}); got != "2 6 10" {
		t.Errorf("n = 2: %s", got)
	}
	// Descending: n in [1, 2] is the key range [enc(2), enc(1)].
	if got := scan(KeySpan{Lo: enc(2), Hi: enc(1), LoInclusive: true, HiInclusive: true}); got != "2 6 10 1 5 9" {
		t.Errorf("n in [1, 2]: %s", got)
	}
	if got := scan(KeySpan{}); got != "3 7 2 6 10 1 5 9 4 8" {
		t.Errorf("all: %s", got)
	}
}
