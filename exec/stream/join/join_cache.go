package join

// The hash join's state cache: accounting, eviction of join keys and
// reading them back (see "State larger than memory" in hash_join.go).
//
// The unit of eviction is one join key with its rows on both sides: an
// outer join's degrees of one side's rows count matching rows of the
// other side, so a key is either wholly in memory or wholly in storage.
// A key is evicted only when its last write (on either side) belongs to
// a committed epoch, so storage holds exactly its rows. A row whose join
// key is in neither side's memory reads the key's rows of both sides back
// (one prefix scan of each state table, whose keys start with the join
// key) and replays them through the join with the output discarded, which
// rebuilds the buckets and the degrees. The hashes of the evicted keys
// (and of the keys a restart left in storage) are remembered, so that a
// key never stored, the common case of a join keyed by a value that keeps
// changing (a price, an order id), costs no read: a hash not in the set
// means no stored rows. A hash stays in the set after its key is read
// back (another key may share it; an extra read is only slower); past
// hjStoredMax hashes the set is dropped and every missing key is read, as
// if all were stored, until a restart builds it again.
// Keys whose last rows were removed in an epoch that may not have
// committed are remembered until it has, so such a read never finds
// their stale rows.

import (
	"bytes"
	"encoding/binary"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// Estimated bytes of a row besides its columns and keys (its metadata,
// bucket entry and stream-key index entry), and of a bucket besides its
// key.
const (
	hjRowBytes    = int64(unsafe.Sizeof(hjRowMeta{})) + 4 + 24
	hjBucketBytes = int64(unsafe.Sizeof(hjBucket{})) + 24
)

// hjCache is the join's state cache; nil without a memory budget.
// StateCache.Evicted: keys exist in storage that are not in memory.
type hjCache struct {
	stream.StateCache
	// removed are the join keys whose last rows were removed in an
	// epoch perhaps not committed.
	removed *stream.RemovedKeys
	// seen are the keys looked up in storage during one chunk.
	seen map[string]struct{}
	// loaded collects the slots replayed from storage, per side.
	loaded [2][]int32
	// cold are, per side and rule, the evicted rows a watermark deletes
	// from storage (a min-heap on v).
	cold [2][]stream.Heap[string]
	// rowCols is the estimated fixed-width bytes of a row's columns.
	rowCols [2]int64
	// stored holds the hashes of the join keys that may have rows in
	// storage only; nil once it outgrew hjStoredMax (every key may).
	stored map[uint64]struct{}
	// scans counts the keys looked up in storage.
	scans int64
}

// hjStoredMax bounds the set of stored key hashes of one join (about 20
// bytes each).
const hjStoredMax = 4 << 20

// markStored remembers that join key hash may have rows in storage only.
func (c *hjCache) markStored(hash uint64) {
	if c.stored == nil {
		return
	}
	if len(c.stored) >= hjStoredMax {
		c.stored = nil
		return
	}
	c.stored[hash] = struct{}{}
}

// mayBeStored reports whether a key of hash may have rows in storage.
func (c *hjCache) mayBeStored(hash uint64) bool {
	if c.stored == nil {
		return true
	}
	_, ok := c.stored[hash]
	return ok
}

func newHJCache(h *HashJoin, acct *stream.StateAccount) *hjCache {
	c := &hjCache{StateCache: stream.NewStateCache(h.env, acct), removed: stream.NewRemovedKeys(), seen: map[string]struct{}{},
		stored: map[uint64]struct{}{}}
	for side, s := range h.sides {
		s.cache, s.removed = true, c.removed
		for _, col := range s.cols {
			switch col.(type) {
			case *hjVarCol:
				c.rowCols[side] += 21
			default:
				c.rowCols[side] += 9
			}
		}
		c.cold[side] = make([]stream.Heap[string], len(h.cleaners[side]))
	}
	return c
}

// estimate returns the join's estimated bytes in memory.
func (h *HashJoin) estimate() int64 {
	c := h.cache
	var n int64
	for side, s := range h.sides {
		n += int64(s.live)*(hjRowBytes+c.rowCols[side]) + int64(s.keyHeap.size()-s.keyGarbage)
		n += int64(len(s.buckets)-len(s.freeBuckets)) * hjBucketBytes
		for _, col := range s.cols {
			if v, ok := col.(*hjVarCol); ok {
				n += int64(v.heap.size() - v.garbage)
			}
		}
		for _, cl := range h.cleaners[side] {
			n += int64(cl.heap.Len()) * 16
		}
		for k := range c.cold[side] {
			for _, e := range c.cold[side][k].Items() {
				n += 40 + int64(len(e.Val))
			}
		}
	}
	return n + int64(len(c.stored))*20
}

// rowBytes estimates slot's bytes in memory.
func (h *HashJoin) rowBytes(side int, slot int32) int64 {
	s := h.sides[side]
	n := hjRowBytes + h.cache.rowCols[side] + int64(s.meta[slot].keyLen)
	for _, col := range s.cols {
		if v, ok := col.(*hjVarCol); ok {
			n += int64(v.ln[slot])
		}
	}
	return n
}

// settle runs at a barrier after the epoch's writes: it dates the
// buckets and removed keys written during the epoch, forgets removed keys
// whose epoch has committed, reports the state's size and evicts keys
// while the budget is exceeded (stream.StateCache's policy over the
// buckets of both sides; a key goes with its bucket on the other side).
func (h *HashJoin) settle(epoch uint64) {
	c := h.cache
	for _, s := range h.sides {
		for _, b := range s.touched {
			if int(b) < len(s.buckets) {
				s.buckets[b].lastWrite = epoch
			}
		}
		s.touched = s.touched[:0]
	}
	c.removed.Date(epoch)
	c.removed.Forget(h.env.CommittedEpoch())
	c.Bytes = h.estimate()
	n0 := len(h.sides[0].buckets)
	// at resolves position i of the hand to a side and bucket, and finds
	// the key's bucket on the other side (-1: none); the hand asks about
	// one position several times in a row.
	lastI, lastSide, lastB, lastOB := -1, 0, int32(0), int32(0)
	at := func(i int) (side int, b, ob int32) {
		if i == lastI {
			return lastSide, lastB, lastOB
		}
		side, b = 0, int32(i)
		if i >= n0 {
			side, b = 1, int32(i-n0)
		}
		bk := &h.sides[side].buckets[b]
		ob = -1
		if len(bk.rows) > 0 {
			ob = h.sides[1-side].findBucket(bk.hash, []byte(bk.key))
		}
		lastI, lastSide, lastB, lastOB = i, side, b, ob
		return side, b, ob
	}
	evicted := c.Shrink(stream.Entries{
		Len: func() int { return n0 + len(h.sides[1].buckets) },
		Pinned: func(i int, committed uint64) bool {
			side, b, ob := at(i)
			s, o := h.sides[side], h.sides[1-side]
			bk := &s.buckets[b]
			switch {
			case len(bk.rows) == 0 || bk.lastWrite > committed:
				return true
			case ob >= 0 && o.buckets[ob].lastWrite > committed:
				return true
			case c.removed.Has([]byte(bk.key)):
				return true // rows of the key were removed in an epoch perhaps not committed
			}
			return !h.evictable(s, b) || ob >= 0 && !h.evictable(o, ob)
		},
		TakeRef: func(i int) bool {
			side, b, ob := at(i)
			bk := &h.sides[side].buckets[b]
			ref := bk.ref
			bk.ref = false
			if ob >= 0 {
				obk := &h.sides[1-side].buckets[ob]
				ref = ref || obk.ref
				obk.ref = false
			}
			return ref
		},
		Drop: func(i int) bool {
			side, b, ob := at(i)
			if ob >= 0 {
				h.evictBucket(1-side, ob)
			}
			h.evictBucket(side, b)
			lastI = -1
			return false
		},
	})
	if evicted == 0 {
		return
	}
	for _, s := range h.sides {
		s.releaseDeferred()
	}
	c.Bytes = h.estimate()
	c.Report()
}

// evictable reports whether every row of bucket b is stored as it is.
func (h *HashJoin) evictable(s *hjSide, b int32) bool {
	for _, slot := range s.buckets[b].rows {
		if s.meta[slot].flags != hjLive|hjPersisted {
			return false
		}
	}
	return true
}

// evictBucket drops bucket b of side and its rows from memory. Rows with
// cleanup rules are remembered by value, so watermarks still delete them
// from storage.
func (h *HashJoin) evictBucket(side int, b int32) {
	s := h.sides[side]
	c := h.cache
	c.markStored(s.buckets[b].hash)
	for len(s.buckets[b].rows) > 0 {
		rows := s.buckets[b].rows
		slot := rows[len(rows)-1]
		for k := range h.cleaners[side] {
			if v, ok := h.cleanGet[side][k](slot); ok {
				c.cold[side][k].Push(v, string(s.stateKey(slot)))
			}
		}
		c.Bytes -= h.rowBytes(side, slot)
		s.unlink(slot, false)
	}
	c.Bytes -= hjBucketBytes
}

// fetchMissing reads back, before chunk c of side is processed, the keys
// of its rows that are in neither side's memory.
func (h *HashJoin) fetchMissing(side int, c *stream.Chunk) error {
	cc := h.cache
	if err := h.missJK.encode(c.Cols, h.jkCols[side], c.N, h.seed, h.loc()); err != nil {
		return err
	}
	clear(cc.seen)
	fetched := false
	for i := 0; i < c.N; i++ {
		if h.missJK.hasNull[i] {
			continue
		}
		key, hash := h.missJK.keys[i], h.missJK.hashes[i]
		if h.sides[0].findBucket(hash, key) >= 0 || h.sides[1].findBucket(hash, key) >= 0 {
			continue
		}
		if cc.removed.Has(key) || !cc.mayBeStored(hash) {
			continue // removed or never stored: memory knows it has no rows
		}
		if _, ok := cc.seen[string(key)]; ok {
			continue
		}
		cc.seen[string(key)] = struct{}{}
		if err := h.fetchKey(bytes.Clone(key)); err != nil {
			return err
		}
		fetched = true
	}
	if fetched {
		// Rows read back may already be below a cleanup bound.
		for s := range 2 {
			h.sweep(s)
		}
	}
	return nil
}

// fetchKey loads join key jk's stored rows of both sides (left first, so
// that replaying the right rows computes every degree).
func (h *HashJoin) fetchKey(jk []byte) error {
	h.cache.scans++
	found := false
	err := h.replay(func(side int, s *hjSide, fn func(*stream.Chunk, []uint64) error) error {
		return s.scanPrefix(h.env.State, jk, hjLoadBatch, func(c *stream.Chunk, seqs []uint64) error {
			found = true
			return fn(c, seqs)
		})
	})
	if found {
		h.cache.CountRead()
	}
	return err
}

// replay feeds the rows scan yields for each side through the join with
// the output discarded and marks them stored.
func (h *HashJoin) replay(scan func(side int, s *hjSide, fn func(*stream.Chunk, []uint64) error) error) error {
	h.loading = true
	for _, s := range h.sides {
		s.loading = true
	}
	defer func() {
		h.loading, h.loadSeqs = false, nil
		for _, s := range h.sides {
			s.loading = false
		}
	}()
	for side, s := range h.sides {
		if err := scan(side, s, h.loadChunk(side, s)); err != nil {
			return err
		}
	}
	if h.cache != nil {
		for side, s := range h.sides {
			for _, slot := range h.cache.loaded[side] {
				if s.meta[slot].flags&hjLive != 0 {
					s.meta[slot].flags = hjLive | hjPersisted
				}
			}
			h.cache.loaded[side] = h.cache.loaded[side][:0]
		}
	}
	return nil
}

// recoverPartial loads the stored state at restart up to the memory
// budget: whole join keys in key order until the budget is used, then
// only rows with a NULL join key (which never leave memory); the other
// keys are read back when rows need them. The left side sets the first
// key left out; if the right side's rows of the keys before it exceed the
// budget too, the right side stops earlier and the left rows of the keys
// after its stop are evicted again, so that every key is wholly in memory
// or wholly in storage.
func (h *HashJoin) recoverPartial(budget int64) error {
	var bound [2][]byte // the first join key each side left in storage
	var lastKey []byte
	err := h.replay(func(side int, s *hjSide, fn func(*stream.Chunk, []uint64) error) error {
		full := false
		lastKey = lastKey[:0]
		return s.scan(h.env.State, 256, func(c *stream.Chunk, seqs []uint64) error {
			if err := h.missJK.encode(c.Cols, h.jkCols[side], c.N, h.seed, h.loc()); err != nil {
				c.Release()
				return err
			}
			if len(h.cleaners[side]) > 0 {
				if err := h.sk.encode(c.Cols, h.skCols[side], c.N, h.seed, h.loc()); err != nil {
					c.Release()
					return err
				}
			}
			var keep []int
			for i := 0; i < c.N; i++ {
				jk := h.missJK.keys[i]
				load := h.missJK.hasNull[i]
				switch {
				case load:
				case bound[side] != nil:
				case side == 1 && bound[0] != nil && bytes.Compare(jk, bound[0]) >= 0:
				case !full || bytes.Equal(jk, lastKey):
					load = true
					lastKey = append(lastKey[:0], jk...)
				default:
					bound[side] = bytes.Clone(jk)
				}
				if load {
					keep = append(keep, i)
					continue
				}
				h.cache.Evicted = true
				h.cache.markStored(h.missJK.hashes[i])
				h.coldRow(side, c, i, seqs)
			}
			if len(keep) < c.N {
				kc, kseqs := hjTakeRows(c, keep, seqs)
				c.Release()
				c, seqs = kc, kseqs
			}
			if err := fn(c, seqs); err != nil {
				return err
			}
			if !full && h.estimate() > budget {
				full = true
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if b := bound[1]; b != nil && (bound[0] == nil || bytes.Compare(b, bound[0]) < 0) {
		s := h.sides[0]
		for k := range s.buckets {
			if len(s.buckets[k].rows) > 0 && s.buckets[k].key >= string(b) {
				h.evictBucket(0, int32(k))
			}
		}
		s.releaseDeferred()
	}
	for s := range 2 {
		h.sweep(s)
	}
	return nil
}

// coldRow remembers row i of a stored chunk left in storage at restart
// for the side's cleanup rules (h.missJK and h.sk hold the chunk's keys).
func (h *HashJoin) coldRow(side int, c *stream.Chunk, i int, seqs []uint64) {
	if len(h.cleaners[side]) == 0 {
		return
	}
	s := h.sides[side]
	key := slices.Clone(h.missJK.keys[i])
	key = append(key, h.sk.keys[i]...)
	if s.noSK {
		key = binary.BigEndian.AppendUint64(key, seqs[i])
	}
	for k, cl := range h.cleaners[side] {
		d := types.GetDatum(c.Cols[cl.rule.Col], i, s.types[cl.rule.Col])
		if v, ok := joinDatumInt(d); ok {
			h.cache.cold[side][k].Push(v, string(key))
		}
	}
}

// hjTakeRows returns the rows keep of c (and their sequence numbers).
func hjTakeRows(c *stream.Chunk, keep []int, seqs []uint64) (*stream.Chunk, []uint64) {
	cols := make([]arrow.Array, len(c.Cols))
	for j, a := range c.Cols {
		cols[j] = expr.TakeArray(a, keep)
	}
	var ks []uint64
	if seqs != nil {
		for _, i := range keep {
			ks = append(ks, seqs[i])
		}
	}
	return stream.NewChunk(cols, make([]stream.Op, len(keep))), ks
}
