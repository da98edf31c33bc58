package storage

import (
	"bytes"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// manyKeys is the number of keys from which a check of keys' absence
// reads them in key order through one iterator instead of one point read
// each: a point read sets up an iterator over every level of the LSM,
// while ordered seeks on one iterator mostly step forward.
const manyKeys = 32

// SetAbsentMany is SetAbsent for many keys at once: it writes keys[i] =
// vals[i] for every i, unless one of the keys exists (in the database or
// among the transaction's writes) or repeats an earlier key of keys. Then
// it writes nothing and returns the input index of the first such key, in
// input order (the row a one-by-one insert would have failed on); else -1.
// Commit re-checks the keys as it re-checks SetAbsent's, and reports a
// conflict with dup.
func (t *Txn) SetAbsentMany(keys, vals [][]byte, dup func(key []byte) error) (int, error) {
	if t.done {
		return -1, ErrTxnDone
	}
	if len(keys) < manyKeys || t.deleted {
		// A key this transaction deleted may exist in the database, which
		// SetAbsent tells apart; one by one from a clean start.
		for i := range keys {
			if found, err := t.setAbsent(keys[i], vals[i], dup); err != nil || found {
				return i, err
			}
		}
		return -1, nil
	}
	order := sortedOrder(keys)
	first := -1
	conflict := func(i int) {
		if first < 0 || i < first {
			first = i
		}
	}
	for n := 1; n < len(order); n++ {
		if bytes.Equal(keys[order[n-1]], keys[order[n]]) {
			conflict(max(order[n-1], order[n]))
		}
	}
	if len(t.absent) == 0 {
		t.checkedAt = t.db.commits.Load()
	}
	taken, err := firstTaken(t.batch.NewIter, keys, order)
	if err != nil {
		return -1, err
	}
	if taken >= 0 {
		conflict(taken)
	}
	if first >= 0 {
		return first, nil
	}
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	arena := make([]byte, 0, n)
	own := make([][]byte, len(keys))
	for i := range keys {
		arena = append(arena, keys[i]...)
		own[i] = arena[len(arena)-len(keys[i]) : len(arena) : len(arena)]
		if err := t.Set(keys[i], vals[i]); err != nil {
			return -1, err
		}
	}
	t.absent = append(t.absent, absentGroup{keys: own, dup: dup})
	return -1, nil
}

// sortedOrder returns the indexes of keys in key order.
func sortedOrder(keys [][]byte) []int {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(keys[a], keys[b]) })
	return order
}

// keySuccessor is the smallest key after k.
func keySuccessor(k []byte) []byte {
	return append(append(make([]byte, 0, len(k)+1), k...), 0)
}

// absentTaken returns the first of the keys of groups (SetAbsent's) that r
// holds, in the order they were written, and its group's dup, or a nil
// key: one point read each for a few keys, ordered seeks on one iterator
// for many.
func absentTaken(db *DB, groups []absentGroup) ([]byte, func([]byte) error, error) {
	r := db.pdb
	total := 0
	for i := range groups {
		g := &groups[i]
		for j := range g.len() {
			if !db.absentByFilter(g.at(j)) {
				total++
			}
		}
	}
	if total == 0 {
		return nil, nil, nil
	}
	if total < manyKeys {
		for i := range groups {
			g := &groups[i]
			for j := range g.len() {
				if db.absentByFilter(g.at(j)) {
					continue
				}
				found, err := exists(r.Get(g.at(j)))
				if err != nil {
					return nil, nil, err
				}
				if found {
					return g.at(j), g.dup, nil
				}
			}
		}
		return nil, nil, nil
	}
	ks := make([][]byte, 0, total)
	group := make([]int32, 0, total) // the group of ks[i]
	for i := range groups {
		g := &groups[i]
		for j := range g.len() {
			if db.absentByFilter(g.at(j)) {
				continue
			}
			ks = append(ks, g.at(j))
			group = append(group, int32(i))
		}
	}
	first, err := firstTaken(r.NewIter, ks, sortedOrder(ks))
	if err != nil || first < 0 {
		return nil, nil, err
	}
	return ks[first], groups[group[first]].dup, nil
}

// firstTaken returns the smallest index of keys, given in key order by
// order, that an iterator opened by open holds, or -1: ordered seeks on
// one iterator over the keys' range.
func firstTaken(open func(*pebble.IterOptions) (*pebble.Iterator, error), keys [][]byte, order []int) (int, error) {
	it, err := open(&pebble.IterOptions{LowerBound: keys[order[0]], UpperBound: keySuccessor(keys[order[len(order)-1]])})
	if err != nil {
		return -1, err
	}
	first := -1
	for _, i := range order {
		if it.SeekGE(keys[i]) && bytes.Equal(it.Key(), keys[i]) && (first < 0 || i < first) {
			first = i
		}
	}
	return first, it.Close()
}
