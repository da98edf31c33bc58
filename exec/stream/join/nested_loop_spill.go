package join

// The nested loop join's state under a memory budget.
//
// A join without equality keys keeps each side's rows in one bucket (the
// empty join key), so the hash join's unit of eviction, a join key with
// its rows on both sides, would be the whole state, always written and
// never evictable. A keyless join under a budget therefore evicts rows
// one by one instead: at a barrier, while the budget is exceeded, the
// stored rows of a side that may spill whose storing epoch has committed
// leave memory (the clock hand of stream.StateCache over the slots).
// Such a side is then in memory only in part, the rest in its state
// table, which holds exactly its committed rows:
//
//   - a change on the other side is joined with the rows in memory as
//     before, and with the rows in storage only by scanning the side's
//     table in batches (skipping the rows also in memory and those
//     deleted in an epoch perhaps not committed), each batch joined with
//     the whole chunk at once and then dropped again;
//   - a delete of a row in storage only reads it back first, so that it
//     is removed and retracted as a row in memory is.
//
// The other side's rows may carry degrees (the count of their matches,
// kept for outer, semi and anti joins): a change of a row in storage is
// counted in them as any other, and a row's degree counts the matches it
// finds in storage. A side whose own rows carry degrees spills only when
// the other side is a DynamicFilter's one row that carries none: a
// stored row's degree is then recomputed from that one row whenever the
// row is read back. Otherwise such a side (the preserved side of an
// outer nested loop join, the left side of a semi or anti nested loop
// join) stays in memory, as does a side whose rows watermarks clean and a
// DynamicFilter's one right row, which is bounded by construction.
//
// After a restart each side is loaded until the budget is used; rows of
// a side that may spill beyond that stay in storage.

import (
	"bytes"
	"hash/maphash"
	"slices"

	"streamsql/exec/stream"
)

// nlScanBatch is the number of stored rows joined with a chunk at once.
const nlScanBatch = 1024

// nlSpill is the state of a keyless join's row cache.
type nlSpill struct {
	// can: the side's rows may leave memory; spilled: some have.
	can, spilled [2]bool
	// faulting: rows read back for a delete are replayed; the other
	// side's degrees already count them.
	faulting bool
}

func newNLSpill(h *HashJoin, oneRowRight bool) *nlSpill {
	p := &nlSpill{}
	p.can[1] = !h.tracks[1] && len(h.cleaners[1]) == 0 && !oneRowRight
	p.can[0] = len(h.cleaners[0]) == 0 && (!h.tracks[0] || oneRowRight && !h.tracks[1])
	for side, s := range h.sides {
		if p.can[side] {
			s.rowRemoved = stream.NewRemovedKeys()
		}
	}
	return p
}

// processKeyless is process for a keyless join under a budget: it reads
// back the stored rows that chunk c deletes, joins c with the other
// side's rows in storage only, then with the rows in memory.
func (h *HashJoin) processKeyless(side int, c *stream.Chunk) error {
	if h.spill.spilled[side] {
		if err := h.faultIn(side, c); err != nil {
			return err
		}
	}
	if h.spill.spilled[1-side] {
		if err := h.probeStored(side, c); err != nil {
			return err
		}
		defer func() { h.extra = nil }()
	}
	return h.process(side, c)
}

// residentKeys returns the state keys of the side's rows that are both
// in memory and in storage.
func (s *hjSide) residentKeys() map[string]struct{} {
	keys := map[string]struct{}{}
	for slot := range s.meta {
		if s.meta[slot].flags&(hjLive|hjPersisted) == hjLive|hjPersisted {
			keys[string(s.stateKey(int32(slot)))] = struct{}{}
		}
	}
	return keys
}

// storedOnly returns the filter of a scan of the side's table that keeps
// the rows in storage only.
func (s *hjSide) storedOnly() func(key []byte) bool {
	resident := s.residentKeys()
	return func(key []byte) bool {
		if s.rowRemoved.Has(key) {
			return true
		}
		_, ok := resident[string(key)]
		return ok
	}
}

// faultIn reads back the rows in storage only that chunk c of side
// deletes (for an input without a stream key, every stored row equal to
// a deleted one).
func (h *HashJoin) faultIn(side int, c *stream.Chunk) error {
	s := h.sides[side]
	var skip func([]byte) bool
	var keys hjKeys // h.sk is the replay's
	seen := map[string]struct{}{}
	for i, op := range c.Ops {
		if op.IsInsert() {
			continue
		}
		if skip == nil {
			if err := keys.encode(c.Cols, h.skCols[side], c.N, h.seed, h.loc()); err != nil {
				return err
			}
			skip = s.storedOnly()
		}
		sk := keys.keys[i]
		if !s.noSK && s.lookupPK(sk, keys.hashes[i]) >= 0 {
			continue
		}
		if _, ok := seen[string(sk)]; ok {
			continue
		}
		seen[string(sk)] = struct{}{}
		prefix := bytes.Clone(sk)
		found := false
		h.spill.faulting = true
		err := h.replay(func(sd int, hs *hjSide, fn func(*stream.Chunk, []uint64) error) error {
			if sd != side {
				return nil
			}
			return hs.scanPrefix(h.env.State, prefix, hjLoadBatch, skip, func(c *stream.Chunk, seqs []uint64) error {
				found = true
				return fn(c, seqs)
			})
		})
		h.spill.faulting = false
		if err != nil {
			return err
		}
		if found {
			h.cache.CountRead()
		}
	}
	return nil
}

// tempSlots copies the n rows of cols into free slots of the side that
// no index links (freed by freeTemp).
func (s *hjSide) tempSlots(c *stream.Chunk) []int32 {
	rows := make([]int32, c.N)
	slots := make([]int32, c.N)
	for i := range rows {
		rows[i] = int32(i)
		slots[i] = s.alloc()
		s.meta[slots[i]] = hjRowMeta{bucket: -1, pkNext: -1}
	}
	for j, col := range s.cols {
		col.copyIn(c.Cols[j], rows, slots)
	}
	return slots
}

// freeTemp frees the slots of tempSlots.
func (s *hjSide) freeTemp(slots []int32) {
	for _, col := range s.cols {
		col.free(slots)
	}
	s.free = append(s.free, slots...)
}

// probeStored joins chunk c of side with the other side's rows in
// storage only, before c changes the state: it emits their joined rows
// and the changes of their degrees, and counts each row's matches in
// h.extra for process.
func (h *HashJoin) probeStored(side int, c *stream.Chunk) error {
	s, other := h.sides[side], 1-side
	o := h.sides[other]
	h.extra = slices.Grow(h.extra[:0], c.N)[:c.N]
	clear(h.extra)
	// A delete of a row not in the state emits nothing (as in applyRow).
	if err := h.sk.encode(c.Cols, h.skCols[side], c.N, h.seed, h.loc()); err != nil {
		return err
	}
	present := make([]bool, c.N)
	inserted := map[string]int{}
	for i, op := range c.Ops {
		sk := string(h.sk.keys[i])
		if op.IsInsert() {
			present[i] = true
			inserted[sk]++
			continue
		}
		switch {
		case inserted[sk] > 0:
			inserted[sk]--
			present[i] = true
		case s.byPK != nil:
			present[i] = s.lookupPK(h.sk.keys[i], h.sk.hashes[i]) >= 0
		}
	}
	cs := s.tempSlots(c)
	defer s.freeTemp(cs)
	read := false
	err := o.scanPrefix(h.env.State, nil, nlScanBatch, o.storedOnly(), func(bc *stream.Chunk, _ []uint64) error {
		defer bc.Release()
		read = true
		ts := o.tempSlots(bc)
		defer o.freeTemp(ts)
		if h.tracks[other] {
			if err := h.storedDegrees(other, bc, ts); err != nil {
				return err
			}
		}
		for lo := 0; lo < c.N; {
			hi := lo
			h.pairRow, h.pairSlot, h.pairStart = h.pairRow[:0], h.pairSlot[:0], h.pairStart[:0]
			for hi < c.N && (hi == lo || len(h.pairRow) < hjPairLimit || c.Ops[hi-1] == stream.UpdateDelete) {
				h.pairStart = append(h.pairStart, int32(len(h.pairRow)))
				if present[hi] {
					h.pairSlot = append(h.pairSlot, ts...)
					for range ts {
						h.pairRow = append(h.pairRow, int32(hi))
					}
				}
				hi++
			}
			h.pairStart = append(h.pairStart, int32(len(h.pairRow)))
			if err := h.evalResidual(side, c); err != nil {
				return err
			}
			for i := lo; i < hi; i++ {
				ins := c.Ops[i].IsInsert()
				outOp := stream.Insert
				if !ins {
					outOp = stream.Delete
				}
				h.extra[i] += h.matchPairs(side, o, other, cs[i], i-lo, ins, outOp)
			}
			if len(h.outOps) >= hjOutLimit {
				if err := h.flush(); err != nil {
					return err
				}
			}
			lo = hi
		}
		return h.flush()
	})
	if read {
		h.cache.CountRead()
	}
	return err
}

// storedDegrees sets the degrees of the stored rows of side read back
// into slots ts (chunk bc): their matches among the other side's rows,
// which are all in memory (see the file comment).
func (h *HashJoin) storedDegrees(side int, bc *stream.Chunk, ts []int32) error {
	o := h.sides[1-side]
	var rows []int32
	if b := o.findBucket(maphash.Bytes(h.seed, nil), nil); b >= 0 {
		rows = o.buckets[b].rows
	}
	h.pairRow, h.pairSlot, h.pairStart = h.pairRow[:0], h.pairSlot[:0], h.pairStart[:0]
	for i := range bc.N {
		h.pairStart = append(h.pairStart, int32(len(h.pairRow)))
		h.pairSlot = append(h.pairSlot, rows...)
		for range rows {
			h.pairRow = append(h.pairRow, int32(i))
		}
	}
	h.pairStart = append(h.pairStart, int32(len(h.pairRow)))
	if err := h.evalResidual(side, bc); err != nil {
		return err
	}
	for i, slot := range ts {
		d := int32(0)
		for p := h.pairStart[i]; p < h.pairStart[i+1]; p++ {
			if h.matched[p] {
				d++
			}
		}
		h.sides[side].meta[slot].degree = d
	}
	return nil
}

// evictRow drops a stored row of side from memory.
func (h *HashJoin) evictRow(side int, slot int32) {
	h.cache.Bytes -= h.rowBytes(side, slot)
	h.sides[side].unlink(slot, false)
	h.spill.spilled[side] = true
	h.cache.Evicted = true
}

// settleKeyless is settle for a keyless join: it dates the rows removed
// during the epoch and evicts stored, committed rows of the sides that
// may spill while the budget is exceeded.
func (h *HashJoin) settleKeyless(epoch uint64) {
	c := h.cache
	committed := h.env.CommittedEpoch()
	for _, s := range h.sides {
		s.touched = s.touched[:0]
		if s.rowRemoved != nil {
			s.rowRemoved.Date(epoch)
			s.rowRemoved.Forget(committed)
		}
	}
	c.removed.Date(epoch)
	c.removed.Forget(committed)
	c.Bytes = h.estimate()
	n0 := len(h.sides[0].meta)
	at := func(i int) (int, int32) {
		if i < n0 {
			return 0, int32(i)
		}
		return 1, int32(i - n0)
	}
	evicted := c.Shrink(stream.Entries{
		Len: func() int { return n0 + len(h.sides[1].meta) },
		Pinned: func(i int, committed uint64) bool {
			side, slot := at(i)
			s := h.sides[side]
			return !h.spill.can[side] || s.meta[slot].flags != hjLive|hjPersisted || s.epochs[slot] > committed
		},
		TakeRef: func(int) bool { return false },
		Drop: func(i int) bool {
			h.evictRow(at(i))
			return false
		},
	})
	h.evicted(evicted)
}

// recoverKeyless loads the stored state at restart: each side in turn
// (left first), joined with what is loaded of the other side and stored
// of it (which computes the degrees); rows of a side that may spill stay
// in storage once the join's estimate exceeds budget.
func (h *HashJoin) recoverKeyless(budget int64) error {
	h.loading = true
	for _, s := range h.sides {
		s.loading = true
	}
	defer func() {
		h.loading, h.loadSeqs, h.extra = false, nil, nil
		for _, s := range h.sides {
			s.loading = false
		}
	}()
	for side, s := range h.sides {
		load := h.loadChunk(side, s)
		err := s.scan(h.env.State, 256, func(c *stream.Chunk, seqs []uint64) error {
			if h.spill.spilled[1-side] {
				if err := h.probeStored(side, c); err != nil {
					c.Release()
					return err
				}
			}
			if err := load(c, seqs); err != nil {
				return err
			}
			h.extra = nil
			loaded := h.cache.loaded[side]
			h.cache.loaded[side] = loaded[:0]
			evict := h.spill.can[side] && budget >= 0 && h.estimate() > budget
			for _, slot := range loaded {
				if s.meta[slot].flags&hjLive == 0 {
					continue
				}
				s.meta[slot].flags = hjLive | hjPersisted
				if s.epochs != nil {
					s.epochs[slot] = 0
				}
				if evict {
					h.evictRow(side, slot)
				}
			}
			s.releaseDeferred()
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, s := range h.sides {
		s.markLoaded()
	}
	return nil
}
