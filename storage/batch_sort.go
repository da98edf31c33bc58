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
	"encoding/binary"
	"math"
	"slices"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
)

// sortBatchMin is the fewest entries worth sorting.
const sortBatchMin = 64

// batchEntry is one point entry of a batch representation: the first 16
// bytes of its user key as two big-endian words (zero-padded), which
// decide most comparisons without reading the key (keys of one table
// share their first 5 bytes), where the key lies and where its record
// lies. It holds no pointers, so that moving entries while sorting costs
// no write barriers.
type batchEntry struct {
	abbr, abbr2 uint64
	kstart      uint32
	klen        uint32
	start, end  uint32
}

// BatchSorter sorts batches before their commit (SortBatch), keeping its
// scratch space from one batch to the next. It is not safe for concurrent
// use.
type BatchSorter struct {
	entries []batchEntry
}

// SortBatch puts the point entries of b (not indexed) in key order, keeping
// the order of entries with equal keys and the place of every range
// deletion, range key and log record.
func SortBatch(b *pebble.Batch) error {
	var s BatchSorter
	return s.Sort(b)
}

// Sort is SortBatch with s's scratch space.
func (s *BatchSorter) Sort(b *pebble.Batch) error {
	if b.Indexed() || b.Count() < sortBatchMin {
		return nil
	}
	repr := b.Repr()
	if uint64(len(repr)) > math.MaxUint32 {
		return nil
	}
	// One allocation of the right size (Count bounds the point entries)
	// instead of doubling from the last batch's.
	entries := slices.Grow(s.entries[:0], int(b.Count()))
	defer func() { s.entries = entries[:0] }()
	sorted := true
	var out []byte // nil until an entry is out of order
	key := func(e *batchEntry) []byte { return repr[e.kstart : e.kstart+e.klen] }
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
				if c := compareAbbr(&x, &y); c != 0 {
					return c
				}
				if c := bytes.Compare(key(&x), key(&y)); c != 0 {
					return c
				}
				return int(x.start) - int(y.start)
			})
		}
		for i := range entries {
			out = append(out, repr[entries[i].start:entries[i].end]...)
		}
	}
	r := batchrepr.Read(repr)
	var prev batchEntry
	for len(r) > 0 {
		start := len(repr) - len(r)
		kind, k, _, ok, err := r.Next()
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
			e := batchEntry{abbr: abbreviate(k), abbr2: abbreviate(k[min(8, len(k)):]), klen: uint32(len(k)), start: uint32(start), end: uint32(end)}
			if len(k) > 0 {
				e.kstart = uint32(uintptr(unsafe.Pointer(&k[0])) - uintptr(unsafe.Pointer(&repr[0])))
			}
			if len(entries) > 0 && sorted && compareAbbr(&prev, &e) >= 0 && bytes.Compare(key(&prev), k) > 0 {
				sorted = false
			}
			entries = append(entries, e)
			prev = e
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

// compareAbbr compares the abbreviations of two keys: the keys compare
// the same way where those differ.
func compareAbbr(x, y *batchEntry) int {
	switch {
	case x.abbr != y.abbr:
		if x.abbr < y.abbr {
			return -1
		}
		return 1
	case x.abbr2 != y.abbr2:
		if x.abbr2 < y.abbr2 {
			return -1
		}
		return 1
	}
	return 0
}

// abbreviate is the first 8 bytes of k as a big-endian number (missing
// bytes 0): keys in this order compare as their abbreviations do where
// those differ.
func abbreviate(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}
