package storage

// Key filters: "may this row key exist?" answered from memory.
//
// Checking that a new primary key is free (INSERT, ON CONFLICT, the
// re-check at commit) is a point read that misses, and a miss costs a
// seek in every memtable (skiplists far larger than the CPU caches)
// before the sstables' own Bloom filters answer. A key filter is a Bloom
// filter over every key a user table has held since the filter was
// registered: the table's keys in a snapshot taken at registration, read
// in the background, and every key a commit writes to the table from then
// on, added under the commit lock before the commit applies. Once the
// scan is done, a key the filter has never seen is in neither the newest
// version of the table nor any snapshot taken since the registration, and
// the read is skipped; a key it may have seen (about one in a hundred of
// the missing ones) is read as before. Deleted keys stay in the filter,
// which costs only a read.
//
// Only tables whose rows are written by Txn commits may have a filter
// (Table.Logged: the user tables); a materialized view's rows are written
// by its job's own batches, so a view never has one. A filter grows by
// parts of doubling size and is given up (the table is read as before)
// past maxFilterKeys keys.

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

const (
	// filterFirstKeys is the capacity of a filter's first part.
	filterFirstKeys = 1 << 14
	// maxFilterKeys bounds the keys one filter holds: 10 bits a key, so
	// at most 40 MiB a table.
	maxFilterKeys = 1 << 25
	// filterProbes is the number of bits set per key (10 bits a key, in
	// 512-bit blocks: about 1% false positives).
	filterProbes = 7
)

// bloomBlock is one cache line of a blocked Bloom filter: all the bits of
// a key fall in one block, so a probe costs one cache miss.
type bloomBlock [8]uint64

// bloomPart is a blocked Bloom filter sized for capacity keys. Bits are
// set and read atomically: commits add while readers probe.
type bloomPart struct {
	blocks   []bloomBlock
	capacity int
}

func newBloomPart(capacity int) *bloomPart {
	n := (capacity*10 + 511) / 512
	return &bloomPart{blocks: make([]bloomBlock, n), capacity: capacity}
}

// block is the block of hash h.
func (p *bloomPart) block(h uint64) *bloomBlock {
	return &p.blocks[(uint64(uint32(h>>32))*uint64(len(p.blocks)))>>32]
}

// probeBits returns the start and step of h's probes in its block.
func probeBits(h uint64) (h1, h2 uint32) {
	return uint32(h), uint32(h>>32)*0x9e3779b1 | 1
}

func (p *bloomPart) add(h uint64) {
	b := p.block(h)
	h1, h2 := probeBits(h)
	for i := uint32(0); i < filterProbes; i++ {
		pos := (h1 + i*h2) & 511
		atomic.OrUint64(&b[pos>>6], 1<<(pos&63))
	}
}

func (p *bloomPart) has(h uint64) bool {
	b := p.block(h)
	h1, h2 := probeBits(h)
	for i := uint32(0); i < filterProbes; i++ {
		pos := (h1 + i*h2) & 511
		if atomic.LoadUint64(&b[pos>>6])&(1<<(pos&63)) == 0 {
			return false
		}
	}
	return true
}

// keyFilter is one table's filter.
type keyFilter struct {
	seed maphash.Seed
	// since is the database's commit count at registration: snapshots
	// taken before it may hold keys the filter never saw.
	since uint64
	// mu serializes adds (commits and the background scan).
	mu    sync.Mutex
	parts atomic.Pointer[[]*bloomPart]
	n     int // keys added, under mu
	lastN int // keys added to the newest part, under mu
	// ready is set once the scan of the table's keys is done; dead once
	// the filter is given up.
	ready atomic.Bool
	dead  atomic.Bool
}

func newKeyFilter(since uint64) *keyFilter {
	f := &keyFilter{seed: maphash.MakeSeed(), since: since}
	parts := []*bloomPart{newBloomPart(filterFirstKeys)}
	f.parts.Store(&parts)
	return f
}

func (f *keyFilter) hash(key []byte) uint64 { return maphash.Bytes(f.seed, key) }

// addHashes adds keys by their hashes.
func (f *keyFilter) addHashes(hs []uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range hs {
		if f.dead.Load() {
			return
		}
		parts := *f.parts.Load()
		last := parts[len(parts)-1]
		if f.lastN >= last.capacity {
			if f.n >= maxFilterKeys {
				f.dead.Store(true)
				return
			}
			grown := append(append([]*bloomPart(nil), parts...), newBloomPart(2*last.capacity))
			f.parts.Store(&grown)
			last, f.lastN = grown[len(grown)-1], 0
		}
		last.add(h)
		f.lastN++
		f.n++
	}
}

// usable reports whether the filter answers for reads at the newest
// version.
func (f *keyFilter) usable() bool { return f.ready.Load() && !f.dead.Load() }

// mayHold reports whether key may have been written to the table.
func (f *keyFilter) mayHold(key []byte) bool {
	h := f.hash(key)
	for _, p := range *f.parts.Load() {
		if p.has(h) {
			return true
		}
	}
	return false
}

// filterID returns the table id of a table row key, if key is one.
func filterID(key []byte) (uint32, bool) {
	if len(key) < 5 || key[0] != PrefixTable {
		return 0, false
	}
	return binary.BigEndian.Uint32(key[1:5]), true
}

// keyFilterOf returns the filter of the table key belongs to, or nil.
func (db *DB) keyFilterOf(key []byte) *keyFilter {
	m := db.filters.Load()
	if m == nil {
		return nil
	}
	id, ok := filterID(key)
	if !ok {
		return nil
	}
	return (*m)[id]
}

// absentByFilter reports whether key is certainly not in the newest
// version of the database (a false answer says nothing).
func (db *DB) absentByFilter(key []byte) bool { return db.absentFromSnapshot(key, math.MaxUint64) }

// absentFromSnapshot reports whether key is certainly not in a snapshot
// taken when the database's commit count was commits: only a filter
// registered no later than the snapshot saw every key it holds.
func (db *DB) absentFromSnapshot(key []byte, commits uint64) bool {
	f := db.keyFilterOf(key)
	return f != nil && f.usable() && commits >= f.since && !f.mayHold(key)
}

// FilterTableKeys gives table id a key filter, if it has none: every row
// write of the table must be a Txn commit (a user table). The filter is
// built in the background and used once built.
func (db *DB) FilterTableKeys(id uint32) {
	if m := db.filters.Load(); m != nil && (*m)[id] != nil {
		return
	}
	db.commitMu.Lock()
	old := db.filters.Load()
	if db.filtersClosed || old != nil && (*old)[id] != nil {
		db.commitMu.Unlock()
		return
	}
	f := newKeyFilter(db.commits.Load())
	m := make(map[uint32]*keyFilter, 1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[id] = f
	db.filters.Store(&m)
	snap := db.pdb.NewSnapshot()
	db.filterWG.Add(1)
	db.commitMu.Unlock()
	go db.buildKeyFilter(id, f, snap)
}

// ForgetTableKeys drops table id's filter (the table is dropped).
func (db *DB) ForgetTableKeys(id uint32) {
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	old := db.filters.Load()
	if old == nil || (*old)[id] == nil {
		return
	}
	m := make(map[uint32]*keyFilter, len(*old))
	for k, v := range *old {
		if k != id {
			m[k] = v
		}
	}
	(*old)[id].dead.Store(true)
	db.filters.Store(&m)
}

// buildKeyFilter adds the keys of table id in snap to f, then makes f
// usable.
func (db *DB) buildKeyFilter(id uint32, f *keyFilter, snap *pebble.Snapshot) {
	defer db.filterWG.Done()
	defer snap.Close()
	lo, hi := TableSpan(id)
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		f.dead.Store(true)
		return
	}
	defer it.Close()
	hs := make([]uint64, 0, 1024)
	for ok := it.First(); ok; ok = it.Next() {
		hs = append(hs, f.hash(it.Key()))
		if len(hs) == cap(hs) {
			f.addHashes(hs)
			hs = hs[:0]
			if f.dead.Load() || db.filterStop.Load() {
				f.dead.Store(true)
				return
			}
		}
	}
	if it.Error() != nil {
		f.dead.Store(true)
		return
	}
	f.addHashes(hs)
	f.ready.Store(true)
}

// noteFilteredKeys adds the row keys b writes to the tables with a
// filter; called under commitMu before b applies.
func (db *DB) noteFilteredKeys(b *pebble.Batch) {
	m := db.filters.Load()
	if m == nil || len(*m) == 0 {
		return
	}
	var (
		cur *keyFilter
		buf [64]uint64
	)
	hs := buf[:0]
	flush := func() {
		if cur != nil && len(hs) > 0 {
			cur.addHashes(hs)
		}
		hs = hs[:0]
	}
	r := b.Reader()
	for {
		kind, key, _, ok, err := r.Next()
		if err != nil {
			// Keys that cannot be read cannot be noted: no filter
			// can answer any more.
			for _, f := range *m {
				f.dead.Store(true)
			}
			return
		}
		if !ok {
			break
		}
		if kind != pebble.InternalKeyKindSet && kind != pebble.InternalKeyKindSetWithDelete && kind != pebble.InternalKeyKindMerge {
			continue
		}
		id, isRow := filterID(key)
		if !isRow {
			continue
		}
		f := (*m)[id]
		if f == nil {
			continue
		}
		if f != cur {
			flush()
			cur = f
		}
		hs = append(hs, f.hash(key))
	}
	flush()
}

// closeKeyFilters stops the background scans and waits for them.
func (db *DB) closeKeyFilters() {
	db.commitMu.Lock()
	db.filtersClosed = true
	db.commitMu.Unlock()
	db.filterStop.Store(true)
	db.filterWG.Wait()
}
