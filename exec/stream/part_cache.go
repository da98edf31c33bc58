package stream

// The partition cache of the sorted-partition operators (top-N and OVER
// windows): their state is kept per partition (all rows of one partition
// key, in sort order, under one key prefix of the state table), and a
// partition is the unit that is cached, evicted under the state memory
// budget and read back. The cache holds the partitions in memory by key
// and in a list for the clock hand; what a partition holds, how it is
// read back and what it costs in bytes belong to the operator.

import (
	"slices"

	"streamsql/exec/batch"
	"streamsql/storage"
)

// encodePartKeys encodes, for every row of c, its partition key into
// pk[i] and its sort key (order keys, then stream key) into sk[i], with
// ol[i] the length of the order keys, in the layout of partitionedKeys
// (state table st), reusing the buffers.
func encodePartKeys(st *StateTable, c *Chunk, partition []int, order []batch.SortKey, streamKey []int,
	pk, sk [][]byte, ol []int32) ([][]byte, [][]byte, []int32) {
	n := c.N
	pk = topNReset(pk, n)
	sk = topNReset(sk, n)
	np, no := len(partition), len(order)
	for j, col := range partition {
		st.AppendKeyCol(pk, j, c.Cols[col])
	}
	for j, k := range order {
		st.AppendKeyCol(sk, np+j, c.Cols[k.Col])
	}
	ol = slices.Grow(ol[:0], n)[:n]
	for i := range n {
		ol[i] = int32(len(sk[i]))
	}
	for j, col := range streamKey {
		st.AppendKeyCol(sk, np+no+j, c.Cols[col])
	}
	return pk, sk, ol
}

// load runs loadFrom over the whole state table st (the restart load)
// and reports the resident bytes it left.
func (c *partCache[P]) load(st *StateTable, r storage.Reader, loadFrom func(*StateIter) error) error {
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
	c.acct.report(c.bytes)
	return nil
}

// cachedPart is the cache's part of a partition; operators embed it.
type cachedPart struct {
	pkey      string // the partition key (a prefix of the state keys)
	idx       int    // position in the cache's list
	ref       bool   // used since the clock hand last passed
	dirty     bool   // changed in this epoch
	lastWrite uint64 // the last barrier that wrote the partition
}

func (c *cachedPart) cached() *cachedPart { return c }

// partCache is the partitions of one operator instance in memory.
type partCache[P interface{ cached() *cachedPart }] struct {
	env   *Env
	acct  *stateAccount
	parts map[string]P
	list  []P // every partition in memory, for the clock hand
	hand  int
	// bytes is the operator's estimate of its resident state.
	bytes int64
	// evicted: partitions were left in storage (evicted, or not loaded
	// at restart), so a partition not in memory must be read.
	evicted bool
}

func newPartCache[P interface{ cached() *cachedPart }](env *Env, acct *stateAccount) partCache[P] {
	return partCache[P]{env: env, acct: acct, parts: map[string]P{}}
}

// get returns the partition with key pk in memory.
func (c *partCache[P]) get(pk []byte) (P, bool) {
	p, ok := c.parts[string(pk)]
	return p, ok
}

// add puts p in memory.
func (c *partCache[P]) add(p P) {
	cp := p.cached()
	cp.idx = len(c.list)
	c.list = append(c.list, p)
	c.parts[cp.pkey] = p
}

// remove forgets p (its state is committed in storage, or it is empty).
func (c *partCache[P]) remove(p P) {
	cp := p.cached()
	delete(c.parts, cp.pkey)
	last := len(c.list) - 1
	c.list[cp.idx] = c.list[last]
	c.list[cp.idx].cached().idx = cp.idx
	var zero P
	c.list[last] = zero
	c.list = c.list[:last]
}

// shrink reports the resident bytes and, while the budget is exceeded,
// evicts partitions that are clean, committed, not pinned by the
// operator and not recently used, by calling drop (which removes them
// and lowers bytes). It runs at barriers, after the epoch's writes.
func (c *partCache[P]) shrink(pinned func(P) bool, drop func(P)) {
	shrinkPartitions(c.env, c.acct, &c.bytes, &c.list, &c.hand,
		func(p P, committed uint64) bool {
			cp := p.cached()
			return cp.dirty || cp.lastWrite > committed || pinned(p)
		},
		func(p P) bool { cp := p.cached(); r := cp.ref; cp.ref = false; return r },
		func(p P) { drop(p); c.evicted = true })
}
