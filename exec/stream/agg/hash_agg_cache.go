package agg

// The hash aggregation's state cache: accounting, eviction and reading
// evicted groups back (see "State larger than memory" in hash_agg.go).

import (
	"bytes"

	"streamsql/exec"
	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// Estimated bytes of a group in memory besides its key and state: its
// slots in the per-group slices, the key datums, the emitted row and the
// hash table entry; and of one multiset entry.
const (
	hashAggGroupBytes = 256
	hashAggEntryBytes = 112
)

// account records group g's estimated size; stateLen is the length of its
// encoded compact state.
func (h *hashAgg) account(g uint32, stateLen int) {
	n := hashAggGroupBytes + 3*len(h.skey[g]) + 2*stateLen
	for _, s := range h.states {
		if set := s.set(g); set != nil {
			n += len(set.m) * hashAggEntryBytes
		}
	}
	for _, d := range h.dedups {
		n += d.entries(g) * d.entryBytes()
	}
	h.cache.Bytes += int64(n) - int64(h.gbytes[g])
	h.gbytes[g] = int32(min(n, 1<<31-1))
}

// shrink reports the state's size and evicts groups while the budget is
// exceeded (stream.StateCache's policy over the group ids). It runs at
// barriers, after the epoch's writes.
func (h *hashAgg) shrink() {
	if h.cache.Acct == nil {
		return
	}
	h.removed.Forget(h.env.CommittedEpoch())
	h.cache.Shrink(stream.Entries{
		Len: func() int { return len(h.rowCount) },
		Pinned: func(i int, committed uint64) bool {
			g := uint32(i)
			return g == hashAggTrash || !h.alive[g] || h.dirty[g] || !h.persisted[g] || h.lastWrite[g] > committed
		},
		TakeRef: func(i int) bool { r := h.ref[i]; h.ref[i] = false; return r },
		Drop: func(i int) bool {
			g := uint32(i)
			if h.winCol >= 0 && h.winOK[g] {
				h.rememberEvicted(h.win[g], bytes.Clone(h.stateKey(g)))
			}
			h.freeGroup(g)
			return false
		},
	})
}

// rememberEvicted records that the group with state key sk of window v
// is only in storage.
func (h *hashAgg) rememberEvicted(v int64, sk []byte) {
	m := h.evictedWin[v]
	if m == nil {
		m = map[string]struct{}{}
		h.evictedWin[v] = m
	}
	m[string(sk)] = struct{}{}
}

// fetchMissed reads the groups created by assign while the state is
// partly in memory back from storage, where they exist.
func (h *hashAgg) fetchMissed() error {
	defer func() { h.missed = h.missed[:0] }()
	for _, g := range h.missed {
		if err := h.fetch(g); err != nil {
			return err
		}
	}
	return nil
}

// fetch loads new group g's committed state, if it has one.
func (h *hashAgg) fetch(g uint32) error {
	sk := h.stateKey(g)
	if h.removed.Has(sk) {
		return nil
	}
	if h.winCol >= 0 && h.winOK[g] {
		if m := h.evictedWin[h.win[g]]; m != nil {
			delete(m, string(sk))
			if len(m) == 0 {
				delete(h.evictedWin, h.win[g])
			}
		}
	}
	val, found, err := h.groups.groups.Get(h.env.State, sk)
	if err != nil || !found {
		return err
	}
	h.cache.CountRead()
	keys := make([]types.Datum, len(h.spec.GroupTypes))
	for j, t := range h.spec.GroupTypes {
		if keys[j], val, err = types.DecodeValue(val, t); err != nil {
			return err
		}
	}
	if h.rowCount[g], val, err = aggVarint(val); err != nil {
		return err
	}
	stateLen := len(val)
	if _, err = h.decodeGroup(val, g); err != nil {
		return err
	}
	h.keys[g] = keys
	h.persisted[g] = true
	h.ref[g] = true
	if h.withSets {
		it, err := h.groups.sets.NewIter(h.env.State, sk)
		if err != nil {
			return err
		}
		for it.First(); it.Valid(); it.Next() {
			if err := h.loadSetEntry(g, it.Key()[len(sk):], it.Value()); err != nil {
				it.Close()
				return err
			}
		}
		if err := it.Close(); err != nil {
			return err
		}
	}
	h.account(g, stateLen)
	if h.spec.Phase != PhaseLocal && (!h.eoc || h.emitted(g)) {
		row, err := h.outputRow(g)
		if err != nil {
			return err
		}
		h.prev[g] = row
	}
	return nil
}

// fetchWindows reads back the evicted groups of the windows from from up
// to below wm, so that closing (or emitting) them emits and frees them
// like the groups in memory.
func (h *hashAgg) fetchWindows(from, wm int64) error {
	for _, v := range windowsBelow(h.evictedWin, wm) {
		if v < from {
			continue
		}
		var keys [][]types.Datum
		// The group values come from the state key; assign then reads
		// each group's state (and its stored values) once.
		for sk := range h.evictedWin[v] {
			rest := []byte(sk)
			ks := make([]types.Datum, len(h.spec.GroupTypes))
			var err error
			for j, t := range h.spec.GroupTypes {
				if ks[j], rest, err = types.DecodeKey(rest, t, false); err != nil {
					return err
				}
			}
			keys = append(keys, ks)
		}
		delete(h.evictedWin, v)
		for len(keys) > 0 {
			part := keys[:min(len(keys), exec.BatchSize)]
			keys = keys[len(part):]
			c := h.keyChunk(part)
			ids := make([]uint32, len(part))
			err := h.assign(c, ids, nil)
			c.Release()
			if err != nil {
				return err
			}
		}
	}
	return nil
}
