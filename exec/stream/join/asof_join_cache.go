package join

// The ASOF join under the state memory budget (stream.StateMemory).
//
// A join key is the unit that is cached, evicted and read back: its rows
// of both sides are under one key prefix of the two state tables, and a
// change of either side needs the other side's rows of the same key. At
// a barrier, while the instance is over its share of the budget, keys
// are evicted whose rows are clean (unchanged since their last write)
// and committed (that write's epoch has committed); storage then holds
// exactly their rows. Memory keeps the evicted keys in a set, and, when
// watermarks clean the state, the earliest time at which a watermark
// may clean each of them, in two heaps: one for the rules the right
// watermark drives, one for those both watermarks drive (see "Cleanup by
// watermarks" in asof_join.go). A row of an evicted key reads the key's
// rows of both sides back by two prefix scans before it applies; a
// watermark that reaches a heap entry reads its key back so the cleanup
// finds it in memory. A stale heap entry (its key was read back since)
// is skipped.
//
// A restart under a budget loads no rows: it scans the keys of both
// tables once, and every join key starts evicted, with its heap entries.

import (
	"bytes"
	"container/heap"
	"fmt"

	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// Estimated bytes of a join key in memory besides its key (the part, its
// map and list entries) and of a row besides its key and values.
const (
	asofPartBytes = 160
	asofRowBytes  = 72
)

// part returns the rows of join key pk: in memory, read back from
// storage when evicted, or (with create) a new empty entry; nil when
// there are none and create is false.
func (j *asofJoin) part(pk string, create bool) (*asofPart, error) {
	if p := j.parts[pk]; p != nil {
		p.Ref = true
		return p, nil
	}
	if _, ok := j.evicted[pk]; ok {
		p, err := j.readBack(pk)
		if err != nil || p != nil {
			return p, err
		}
	}
	if !create {
		return nil, nil
	}
	p := &asofPart{}
	j.addPart(pk, p)
	return p, nil
}

// addPart puts p in memory under join key pk.
func (j *asofJoin) addPart(pk string, p *asofPart) {
	j.parts[pk] = p
	if j.acct != nil {
		p.PKey, p.Ref = pk, true
		j.cache.Add(p)
	}
}

// removePart forgets p, left without rows (its deletes are in the
// epoch's writes) or evicted.
func (j *asofJoin) removePart(pk string, p *asofPart) {
	delete(j.parts, pk)
	if j.acct == nil || p.gone {
		return
	}
	p.gone = true
	j.cache.Remove(p)
	j.cache.Bytes -= p.bytes
	p.bytes = 0
}

// markDirty records that p changed in this epoch.
func (j *asofJoin) markDirty(p *asofPart) {
	if j.acct == nil || p.Dirty {
		return
	}
	p.Dirty = true
	j.dirtyParts = append(j.dirtyParts, p)
}

// partBytes estimates the resident bytes of p.
func (j *asofJoin) partBytes(p *asofPart) int64 {
	b := int64(asofPartBytes + 2*len(p.PKey))
	for side := range p.rows {
		for _, r := range p.rows[side] {
			b += asofRowBytes + int64(len(r.sk)) + 24*int64(len(r.row))
			for _, d := range r.row {
				if s, ok := d.(string); ok {
					b += int64(len(s))
				}
			}
		}
	}
	return b
}

// shrink runs after the epoch's writes: the keys written become clean as
// of epoch, and while the instance is over its share of the budget the
// evictable ones go to storage.
func (j *asofJoin) shrink(epoch uint64) {
	if j.acct == nil {
		return
	}
	for _, p := range j.dirtyParts {
		p.Dirty, p.LastWrite = false, epoch
		if p.gone {
			continue
		}
		nb := j.partBytes(p)
		j.cache.Bytes += nb - p.bytes
		p.bytes = nb
	}
	clear(j.dirtyParts)
	j.dirtyParts = j.dirtyParts[:0]
	j.cache.Shrink(func(*asofPart) bool { return false }, j.evict)
}

// evict leaves p in storage: its key goes to the evicted set and, when
// watermarks clean the state, to the heaps.
func (j *asofJoin) evict(p *asofPart) {
	pk := p.PKey
	j.removePart(pk, p)
	j.evicted[pk] = struct{}{}
	var first [2][]byte
	var second []byte
	if len(p.rows[0]) > 0 {
		first[0] = p.rows[0][0].time()
	}
	for k, r := range p.rows[1] {
		if k == 0 {
			first[1] = r.time()
		} else if k == 1 {
			second = r.time()
		}
	}
	var nearest []byte
	if first[0] != nil && !j.spec.backward() {
		if k := j.nearest(p.rows[1], first[0]); k >= 0 {
			nearest = p.rows[1][k].time()
		}
	}
	j.pushCold(pk, first[0], first[1], second, nearest)
}

// pushCold records when a watermark may clean evicted key pk, given the
// time of its first left row (left0), of its first two right rows
// (right0, right1) and, for a forward match, of the nearest right row to
// its first left row (nil where there is none).
func (j *asofJoin) pushCold(pk string, left0, right0, right1, nearest []byte) {
	if !j.spec.Cleanup {
		return
	}
	push := func(h int, t []byte) {
		if t != nil {
			heap.Push(&j.cold[h], asofCold{time: bytes.Clone(t), pk: pk})
		}
	}
	if j.spec.backward() {
		// Left rows go when the right watermark passes them; the first
		// right row when a later one is behind both watermarks.
		push(0, left0)
		push(1, right1)
	} else {
		// Left rows go when their nearest right row is behind the right
		// watermark; right rows when behind both.
		push(0, nearest)
		push(1, right0)
	}
}

// readBackCold reads back the evicted keys a watermark may now clean:
// heap 0 up to the right watermark, heap 1 up to the lower of both.
func (j *asofJoin) readBackCold() error {
	wl, wr := j.sides[0].wm, j.sides[1].wm
	lo := wl
	if bytes.Compare(wr, lo) < 0 {
		lo = wr
	}
	for h, bound := range [2][]byte{wr, lo} {
		for j.cold[h].Len() > 0 && bytes.Compare(j.cold[h][0].time, bound) <= 0 {
			c := heap.Pop(&j.cold[h]).(asofCold)
			if _, ok := j.evicted[c.pk]; !ok {
				continue
			}
			if _, err := j.readBack(c.pk); err != nil {
				return err
			}
		}
	}
	return nil
}

// readBack reads the rows of evicted join key pk from storage, whose
// committed state holds exactly them, into memory; nil when it has none.
func (j *asofJoin) readBack(pk string) (*asofPart, error) {
	delete(j.evicted, pk)
	p := &asofPart{}
	var n int64
	for side := range j.sides {
		s := &j.sides[side]
		err := s.state.Scan(j.env.State, []byte(pk), func(k, v []byte) error {
			row, err := s.state.DecodeValue(v)
			if err != nil {
				return sqlerr.Wrap(fmt.Errorf("asof join state: %w", err), sqlerr.DataCorrupted)
			}
			rpk, ar, ok := j.encode(side, row)
			if !ok || rpk != pk || rpk+string(ar.sk) != string(k) {
				return sqlerr.New(sqlerr.DataCorrupted, "asof join state: key does not match its row")
			}
			p.rows[side] = append(p.rows[side], ar)
			n++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("asof join: read back a join key: %w", err)
		}
	}
	j.env.Stats.StateReads.Add(n)
	if n == 0 {
		return nil, nil
	}
	j.addPart(pk, p)
	// Clean as of the last write, which committed.
	p.LastWrite = j.env.CommittedEpoch()
	p.bytes = j.partBytes(p)
	j.cache.Bytes += p.bytes
	return p, nil
}

// index follows the committed state at a restart under a budget without
// loading it: every join key starts evicted, with its heap entries.
func (j *asofJoin) index(r storage.Reader) error {
	type keyTimes struct{ left0, right0, right1, nearest []byte }
	keys := map[string]*keyTimes{}
	var order []string
	for side := range j.sides {
		s := &j.sides[side]
		nk := len(s.keys)
		err := s.state.Scan(r, nil, func(k, _ []byte) error {
			_, rest, err := s.state.DecodeKey(k, nk)
			if err != nil {
				return sqlerr.Wrap(fmt.Errorf("asof join state: %w", err), sqlerr.DataCorrupted)
			}
			pk := string(k[:len(k)-len(rest)])
			_, afterTime, err := s.state.DecodeKey(k, nk+1)
			if err != nil {
				return sqlerr.Wrap(fmt.Errorf("asof join state: %w", err), sqlerr.DataCorrupted)
			}
			t := rest[:len(rest)-len(afterTime)]
			kt := keys[pk]
			if kt == nil {
				kt = &keyTimes{}
				keys[pk] = kt
				order = append(order, pk)
			}
			switch {
			case side == 0:
				if kt.left0 == nil {
					kt.left0 = bytes.Clone(t)
				}
			case kt.right0 == nil:
				kt.right0 = bytes.Clone(t)
			case kt.right1 == nil:
				kt.right1 = bytes.Clone(t)
			}
			// The nearest right row of a forward match to the first left
			// row is the first at or after it (after, for "<").
			if side == 1 && kt.left0 != nil && kt.nearest == nil {
				c := bytes.Compare(t, kt.left0)
				if c > 0 || (c == 0 && j.spec.Op == "<=") {
					kt.nearest = bytes.Clone(t)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, pk := range order {
		kt := keys[pk]
		j.evicted[pk] = struct{}{}
		j.pushCold(pk, kt.left0, kt.right0, kt.right1, kt.nearest)
	}
	j.cache.Evicted = len(order) > 0
	j.cache.Report()
	return nil
}

// asofCold is a heap entry: evicted join key pk may be cleaned once the
// heap's watermark reaches time (key-encoded).
type asofCold struct {
	time []byte
	pk   string
}

// asofColdHeap is a min-heap of asofCold by time.
type asofColdHeap []asofCold

func (h asofColdHeap) Len() int           { return len(h) }
func (h asofColdHeap) Less(a, b int) bool { return bytes.Compare(h[a].time, h[b].time) < 0 }
func (h asofColdHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *asofColdHeap) Push(x any)        { *h = append(*h, x.(asofCold)) }
func (h *asofColdHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = asofCold{}
	*h = old[:len(old)-1]
	return x
}
