package storage

import (
	"fmt"
	"testing"
)

// keysVals makes n keys "p0000".."p(n-1)" in the order of ids, with
// values equal to the keys.
func keysVals(prefix string, ids []int) (keys, vals [][]byte) {
	for _, id := range ids {
		k := []byte(fmt.Sprintf("%s%04d", prefix, id))
		keys, vals = append(keys, k), append(vals, k)
	}
	return keys, vals
}

// TestSetAbsentMany checks the ordered check of many keys: it must report
// the row a one-by-one insert would fail on, from the database, from the
// transaction's own writes and from the input itself, write nothing then,
// and fail at commit on a key another transaction committed meanwhile.
func TestSetAbsentMany(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	dup := func([]byte) error { return fmt.Errorf("duplicate") }
	reversed := func(n int) []int {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = n - 1 - i
		}
		return ids
	}
	seed := db.Begin()
	if err := seed.Set([]byte("k0050"), []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := seed.Commit(); err != nil {
		t.Fatal(err)
	}

	for _, n := range []int{5, 100} { // below and above manyKeys
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			// k0050 exists in the database; with the keys in descending
			// order a one-by-one insert fails at input row n-1-50.
			tx := db.Begin()
			defer tx.Rollback()
			keys, vals := keysVals("k", reversed(max(n, 51)))
			i, err := tx.SetAbsentMany(keys, vals, dup)
			if err != nil || i != len(keys)-1-50 {
				t.Fatalf("conflict at %d (%v), want %d", i, err, len(keys)-1-50)
			}
			if _, ok := mustGet(t, tx, "k0051"); ok {
				t.Fatal("rows written although the check failed")
			}

			// A repeat within the input: the later of the two fails.
			keys, vals = keysVals(fmt.Sprintf("r%d-", n), append(reversed(n), n/2))
			if i, err := tx.SetAbsentMany(keys, vals, dup); err != nil || i != n {
				t.Fatalf("repeat found at %d (%v), want %d", i, err, n)
			}

			// Two conflicts: the earlier input row is reported, whatever the
			// key order.
			keys, vals = keysVals("s", reversed(n)) // written by tx
			if i, err := tx.SetAbsentMany(keys, vals, dup); err != nil || i != -1 {
				t.Fatalf("fresh keys refused at %d (%v)", i, err)
			}
			keys2, vals2 := keysVals("t", reversed(n))
			keys2[n/3], vals2[n/3] = []byte(fmt.Sprintf("s%04d", 0)), []byte("x")
			keys2[n-1], vals2[n-1] = []byte(fmt.Sprintf("s%04d", n-1)), []byte("x")
			if i, err := tx.SetAbsentMany(keys2, vals2, dup); err != nil || i != n/3 {
				t.Fatalf("conflict at %d (%v), want the earlier row %d", i, err, n/3)
			}

			// A key committed by another transaction after the check fails
			// this one at commit.
			u := fmt.Sprintf("u%d-", n)
			keys, vals = keysVals(u, reversed(n))
			if i, err := tx.SetAbsentMany(keys, vals, dup); err != nil || i != -1 {
				t.Fatalf("fresh keys refused at %d (%v)", i, err)
			}
			other := db.Begin()
			if err := other.Set([]byte(fmt.Sprintf("%s%04d", u, n/2)), []byte("theirs")); err != nil {
				t.Fatal(err)
			}
			if err := other.Commit(); err != nil {
				t.Fatal(err)
			}
			commitDuplicate(t, db, tx, fmt.Sprintf("%s%04d", u, n/2), "theirs")
		})
	}

	// Without a conflict every row is there after the commit.
	tx := db.Begin()
	keys, vals := keysVals("w", reversed(300))
	if i, err := tx.SetAbsentMany(keys, vals, dup); err != nil || i != -1 {
		t.Fatalf("refused at %d (%v)", i, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, db.Latest(), "w", "x"); len(got) != 300 {
		t.Fatalf("%d rows after commit, want 300", len(got))
	}
}
