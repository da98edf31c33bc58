package stream

// The keyed cache of operator state: entries kept in memory by a key
// (a prefix of their state keys) and in a list for the clock hand of
// StateCache. The sorted-partition operators (top-N and OVER windows)
// cache whole partitions (all rows of one partition key, in sort order),
// session windows the sessions of one group key, and the lookup join one
// entry per left row; an entry is the unit that is cached, evicted under
// the state memory budget and read back. What an entry holds, how it is
// read back and what it costs in bytes belong to the operator.

import (
	"streamsql/storage"
)

// Load runs loadFrom over the whole state table st (the restart load)
// and reports the resident bytes it left.
func (c *PartCache[P]) Load(st *StateTable, r storage.Reader, loadFrom func(*StateIter) error) error {
	it, err := st.NewIter(r, nil)
	if err != nil {
		return err
	}
	if err := loadFrom(it); err != nil {
		_ = it.Close()
		return err
	}
	if err := it.Close(); err != nil {
		return err
	}
	c.Report()
	return nil
}

// CachedPart is the cache's part of a partition; operators embed it.
type CachedPart struct {
	PKey      string // the partition key (a prefix of the state keys)
	idx       int    // position in the cache's list
	Ref       bool   // used since the clock hand last passed
	Dirty     bool   // changed in this epoch
	LastWrite uint64 // the last barrier that wrote the partition
}

func (c *CachedPart) cached() *CachedPart { return c }

// PartCache is the partitions of one operator instance in memory.
type PartCache[P interface{ cached() *CachedPart }] struct {
	StateCache
	Parts map[string]P
	List  []P // every partition in memory, for the clock hand
}

// NewPartCache returns an empty cache whose resident bytes go to acct.
func NewPartCache[P interface{ cached() *CachedPart }](env *Env, acct *StateAccount) PartCache[P] {
	return PartCache[P]{StateCache: NewStateCache(env, acct), Parts: map[string]P{}}
}

// Get returns the partition with key pk in memory.
func (c *PartCache[P]) Get(pk []byte) (P, bool) {
	p, ok := c.Parts[string(pk)]
	return p, ok
}

// Add puts p in memory.
func (c *PartCache[P]) Add(p P) {
	cp := p.cached()
	cp.idx = len(c.List)
	c.List = append(c.List, p)
	c.Parts[cp.PKey] = p
}

// Remove forgets p (its state is committed in storage, or it is empty).
func (c *PartCache[P]) Remove(p P) {
	cp := p.cached()
	delete(c.Parts, cp.PKey)
	last := len(c.List) - 1
	c.List[cp.idx] = c.List[last]
	c.List[cp.idx].cached().idx = cp.idx
	var zero P
	c.List[last] = zero
	c.List = c.List[:last]
}

// Shrink reports the resident bytes and, while the budget is exceeded,
// evicts partitions that are clean, committed, not pinned by the
// operator and not recently used, by calling drop (which removes them
// and lowers Bytes). It runs at barriers, after the epoch's writes.
func (c *PartCache[P]) Shrink(pinned func(P) bool, drop func(P)) {
	c.StateCache.Shrink(Entries{
		Len: func() int { return len(c.List) },
		Pinned: func(i int, committed uint64) bool {
			p := c.List[i]
			cp := p.cached()
			return cp.Dirty || cp.LastWrite > committed || pinned(p)
		},
		TakeRef: func(i int) bool { cp := c.List[i].cached(); r := cp.Ref; cp.Ref = false; return r },
		Drop: func(i int) bool {
			n := len(c.List)
			drop(c.List[i])
			return len(c.List) < n && i < len(c.List)
		},
	})
}

// Settle goes through waiting, partitions that wait for their last write
// to commit (a partition emptied or changed in place stays in memory until
// then, since storage alone would still show its older rows), and calls
// done for each whose last write is at or before the committed epoch. It
// returns the ones still waiting, in waiting's array.
func (c *PartCache[P]) Settle(waiting []P, committed uint64, done func(P)) []P {
	still := waiting[:0]
	for _, p := range waiting {
		if p.cached().LastWrite > committed {
			still = append(still, p)
			continue
		}
		done(p)
	}
	clear(waiting[len(still):])
	return still
}
