package agg

// Session windows under the state memory budget (stream.StateMemory).
//
// A partition is the unit that is cached, evicted and read back: its rows
// are under one key prefix of the rows table (the partition key), and its
// sessions are derived from them. At a barrier, while the instance is
// over its share of the budget, partitions are evicted that are clean
// (unchanged since their last write), committed (that write's epoch has
// committed) and have no session changed since it last emitted (a
// session queued for the watermark may go: its entry in the heap below
// takes the place of its queue entry). Storage then holds all of an
// evicted partition,
// and memory keeps only its key and, in a heap, the last time of each of
// its sessions: a watermark that passes one of them reads the partition
// back and closes the session through the normal path, and a row of an
// evicted partition reads it back by a prefix scan before it applies.
// A partition read back is exactly as it was, since what is committed is
// what was emitted.

import (
	"fmt"

	"streamsql/exec/batch"
)

// cached puts a new partition in the cache (under a budget).
func (o *sessionAgg) cached(p *sessionPart) {
	if o.acct == nil {
		return
	}
	p.PKey = string(p.key)
	o.cache.Add(p)
}

// uncached forgets a partition left without sessions.
func (o *sessionAgg) uncached(p *sessionPart) {
	if o.acct == nil || p.gone {
		return
	}
	p.gone = true
	o.cache.Remove(p)
	o.cache.Bytes -= p.bytes
	p.bytes = 0
}

// used marks p recently used for the clock hand.
func (o *sessionAgg) used(p *sessionPart) *sessionPart {
	p.Ref = true
	return p
}

// markDirty records that p changed in this epoch.
func (o *sessionAgg) markDirty(p *sessionPart) {
	if o.acct == nil || p.Dirty {
		return
	}
	p.Dirty = true
	o.dirtyParts = append(o.dirtyParts, p)
}

// sessionRowBytes estimates the resident bytes of one row.
func sessionRowBytes(r *sessionRow) int64 {
	return int64(64 + len(r.key) + 24*len(r.vals))
}

// partBytes estimates the resident bytes of p: its rows, its sessions
// with their aggregate state and last output, and the cache entries.
func (o *sessionAgg) partBytes(p *sessionPart) int64 {
	b := int64(160 + 2*len(p.key) + 24*len(p.vals))
	for i := range p.rows {
		b += sessionRowBytes(&p.rows[i])
	}
	b += int64(len(p.wins)) * int64(96+24*len(o.outTypes)+48*len(o.states))
	return b
}

// shrink runs after the epoch's writes: the partitions written become
// clean as of epoch, and while the instance is over its share of the
// budget the evictable ones go to storage.
func (o *sessionAgg) shrink(epoch uint64) {
	if o.acct == nil {
		return
	}
	for _, p := range o.dirtyParts {
		p.Dirty = false
		p.LastWrite = epoch
		if p.gone {
			continue
		}
		nb := o.partBytes(p)
		o.cache.Bytes += nb - p.bytes
		p.bytes = nb
	}
	clear(o.dirtyParts)
	o.dirtyParts = o.dirtyParts[:0]
	o.cache.Shrink(func(p *sessionPart) bool {
		for _, w := range p.wins {
			if w.changed {
				return true
			}
		}
		return false
	}, o.evict)
}

// evict leaves p in storage: its sessions' last times go to the heap the
// watermark reads.
func (o *sessionAgg) evict(p *sessionPart) {
	for _, w := range p.wins {
		o.pushEvicted(w.last, p.PKey)
		o.freeSlot(w.slot)
		w.dead = true
		w.out = nil
	}
	p.wins, p.rows = nil, nil
	o.dropPart(p)
	o.evictedKeys[p.PKey] = struct{}{}
}

// pushEvicted keeps the last time of a session of the evicted partition
// pk for the watermark and, with Reopen, while it is not shown, for the
// emit watermark (advanceEmit).
func (o *sessionAgg) pushEvicted(last int64, pk string) {
	o.evicted.Push(last, pk)
	if o.reopen && (!o.hasEmit || o.openAt(last, o.emitWM)) {
		o.evictedShow.Push(last, pk)
	}
}

// readBack reads the evicted partition with key pk from storage and
// derives its sessions, which are queued for the watermark; a key that
// is not evicted reads nothing.
func (o *sessionAgg) readBack(pk string) error {
	if _, ok := o.evictedKeys[pk]; !ok {
		return nil
	}
	delete(o.evictedKeys, pk)
	var p *sessionPart
	var n int64
	err := o.rows.Scan(o.env.State, []byte(pk), func(_, v []byte) error {
		var err error
		p, err = o.loadRow(v)
		n++
		return err
	})
	if err != nil {
		return fmt.Errorf("session aggregate: read back partition: %w", err)
	}
	o.env.Stats.StateReads.Add(n)
	if p == nil {
		return nil
	}
	if err := o.derive(p); err != nil {
		return err
	}
	p.bytes = o.partBytes(p)
	o.cache.Bytes += p.bytes
	return nil
}

// readBackClosing reads back the evicted partitions that have a session
// the watermark has passed, so that close finds it in memory.
func (o *sessionAgg) readBackClosing() error {
	for o.evicted.Len() > 0 {
		top := o.evicted.Min()
		if o.openAt(top.Key, o.wm) {
			return nil
		}
		o.evicted.Pop()
		if err := o.readBack(top.Val); err != nil {
			return err
		}
	}
	return nil
}

// sessionSkip follows the partitions a restart leaves in storage.
type sessionSkip struct {
	on   bool
	has  bool
	key  string // the partition being skipped
	last int64  // the last time of its current session
}

// skipRow follows the stored row with value v without loading it: only
// the last time of each session of its partition is kept.
func (o *sessionAgg) skipRow(s *sessionSkip, _, v []byte) error {
	_, _, row, ts, err := o.decodeRow(v)
	if err != nil {
		return err
	}
	pk := string(o.rows.AppendKey(nil, row[:len(o.partTypes)]...))
	switch {
	case !s.has || pk != s.key:
		o.endSkip(s)
		s.has, s.key = true, pk
	case !batch.SessionContinues(s.last, int64(ts), o.gap):
		o.pushEvicted(s.last, s.key)
	}
	s.last = int64(ts)
	return nil
}

// endSkip closes the partition being skipped: its last session goes to
// the heap and the partition counts as evicted.
func (o *sessionAgg) endSkip(s *sessionSkip) {
	if !s.has {
		return
	}
	o.pushEvicted(s.last, s.key)
	o.evictedKeys[s.key] = struct{}{}
	o.cache.Evicted = true
	s.has = false
}
