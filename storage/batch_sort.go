package storage

// Sorting a batch before its commit. Pebble applies a committed batch to
// its memtable, a skiplist, one entry after another in batch order; each
// insert searches the list from a cached splice, the place of the entry
// before. Entries in key order find their place next to the previous one
// in a step or two; entries in random order (the state of a hash
// aggregation or a join, written group by group as groups were touched)
// each pay a full search from the top of a list of a million keys, a cache
// miss per level. SortBatch puts a batch's point entries in key order so
// that its commit costs the sort instead of those searches.
//
// The order changes nothing that a reader can see: a batch commits
// atomically, entries of one key keep their order (the last write wins as
// before), and range deletions and range keys, whose effect depends on
// which point entries come before them, stay where they are: only the
// point entries between two of them are reordered.

import (
	"bytes"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
)

// sortBatchMin is the fewest entries worth sorting.
const sortBatchMin = 64

// batchEntry is one entry of a batch representation: where its record
// lies and its user key.
type batchEntry struct {
	key        []byte
	start, end int
}

// SortBatch puts the point entries of b (not indexed) in key order, keeping
// the order of entries with equal keys and the place of every range
// deletion, range key and log record.
func SortBatch(b *pebble.Batch) error {
	if b.Indexed() || b.Count() < sortBatchMin {
		return nil
	}
	repr := b.Repr()
	var entries []batchEntry
	sorted := true
	var out []byte // nil until an entry is out of order
	// flush writes the run of point entries in entries to out, in key
	// order; while nothing was out of order, out stays nil and the
	// representation is kept as it is.
	flush := func() {
		if out == nil {
			if sorted {
				return
			}
			out = make([]byte, 0, len(repr))
			out = append(out, repr[:entries[0].start]...)
		}
		if !sorted {
			// Ties (entries of one key) keep their batch order.
			slices.SortFunc(entries, func(x, y batchEntry) int {
				if c := bytes.Compare(x.key, y.key); c != 0 {
					return c
				}
				return x.start - y.start
			})
		}
		for _, e := range entries {
			out = append(out, repr[e.start:e.end]...)
		}
	}
	r := batchrepr.Read(repr)
	for len(r) > 0 {
		start := len(repr) - len(r)
		kind, key, _, ok, err := r.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		end := len(repr) - len(r)
		switch kind {
		case pebble.InternalKeyKindSet, pebble.InternalKeyKindDelete, pebble.InternalKeyKindSingleDelete,
			pebble.InternalKeyKindMerge, pebble.InternalKeyKindDeleteSized, pebble.InternalKeyKindSetWithDelete:
			if n := len(entries); n > 0 && sorted && bytes.Compare(entries[n-1].key, key) > 0 {
				sorted = false
			}
			entries = append(entries, batchEntry{key: key, start: start, end: end})
			continue
		}
		// Any other record ends a run of point entries.
		if len(entries) > 0 {
			flush()
		}
		if out != nil {
			out = append(out, repr[start:end]...)
		}
		entries, sorted = entries[:0], true
	}
	if len(entries) > 0 {
		flush()
	}
	if out == nil {
		return nil
	}
	return b.SetRepr(out)
}
