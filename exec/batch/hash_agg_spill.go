package batch

import (
	"encoding/binary"
	"hash/maphash"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/udf"
)

// Spilling hash aggregation (the approach of PostgreSQL 13's hash
// aggregation): once the statement's memory refuses new groups, the
// groups already in memory keep aggregating there and the input rows of
// every other group are written, unchanged, to one of spillParts
// partition files chosen by a hash of the group key. A group is thus
// either wholly in memory or wholly in one partition, with its rows in
// input order (ordered aggregates such as string_agg stay right). When
// the input ends the in-memory groups are emitted and dropped, then each
// partition is aggregated by a HashAgg of its own over the file, which
// spills again with a new hash seed if a partition is still too large,
// down to maxSpillDepth levels. A single group whose state exceeds the
// memory cannot spill: that fails with 53200.

const (
	spillParts    = 16
	maxSpillDepth = 6
	noGroup       = udf.SkipRow
)

// aggSpill is a HashAgg's memory and spill state.
type aggSpill struct {
	mem      *exec.MemAccount
	depth    int
	held     int64 // bytes reserved for groups and accumulators
	accSize  int64 // part of held for growing accumulators and DISTINCT sets
	spilling bool
	seed     maphash.Seed
	seeded   bool
	parts    [spillParts]*spillFile
	hashes   []uint64
	rows     [spillParts][]int32
	child    *HashAgg
	released bool // the in-memory groups were dropped for the partitions
	// registered is the account this aggregation counts itself in as a
	// spiller.
	registered *exec.MemAccount
}

func (s *aggSpill) canSpill() bool { return s.mem.CanSpill() && s.depth < maxSpillDepth }

// headroom is the memory kept free for the growth of groups already in
// memory: half of it with DISTINCT aggregates (a set entry per distinct
// input), a quarter with string_agg and array_agg, none otherwise.
func (s *aggSpill) headroom(h *HashAgg) int64 {
	var r int64
	for i, a := range h.accs {
		if h.aggs[i].Distinct {
			return s.mem.SpillBudget() / 2
		}
		if _, ok := a.(udf.SizedAccumulator); ok {
			r = s.mem.SpillBudget() / 4
		}
	}
	return r
}

// active reports whether partitions remain to be aggregated.
func (s *aggSpill) active() bool {
	if s.child != nil {
		return true
	}
	for _, p := range s.parts {
		if p != nil {
			return true
		}
	}
	return false
}

func (s *aggSpill) reset() {
	if s.child != nil {
		s.child.Close()
		s.child = nil
	}
	for i, p := range s.parts {
		p.remove()
		s.parts[i] = nil
	}
	s.mem.Shrink(s.held)
	s.held, s.accSize, s.spilling, s.released = 0, 0, false, false
}

// finishWriting flushes the partition files.
func (s *aggSpill) finishWriting() error {
	for _, p := range s.parts {
		if p != nil {
			if err := p.finish(); err != nil {
				return err
			}
		}
	}
	return nil
}

// route finds the in-memory group of each row of b; rows of other groups
// are written to their partitions and get SkipRow.
func (s *aggSpill) route(ctx *exec.Ctx, h *HashAgg, b *exec.Batch, ids []uint32) ([]uint32, error) {
	if !s.seeded {
		s.seed, s.seeded = maphash.MakeSeed(), true
	}
	n := b.N
	h.groups.lookup(h.keyCols, n, ids)
	if cap(s.hashes) < n {
		s.hashes = make([]uint64, n)
	}
	hashes := s.hashes[:n]
	h.groups.hashRows(h.keyCols, n, s.seed, ids, hashes)
	for p := range s.rows {
		s.rows[p] = s.rows[p][:0]
	}
	for i, id := range ids {
		if id == noGroup {
			p := hashes[i] % spillParts
			s.rows[p] = append(s.rows[p], int32(i))
		}
	}
	for p, rows := range s.rows {
		if len(rows) == 0 {
			continue
		}
		if s.parts[p] == nil {
			f, err := newSpillFile(ctx, h.in.Types(), "agg")
			if err != nil {
				return ids, err
			}
			s.parts[p] = f
		}
		var part *exec.Batch
		if len(rows) == n {
			part = b
		} else {
			part = takeCols(b.Cols, rows)
		}
		err := s.parts[p].write(part)
		if part != b {
			part.Release()
		}
		if err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// nextPartition returns the next batch of the partitions' aggregation.
func (h *HashAgg) nextPartition(ctx *exec.Ctx) (*exec.Batch, error) {
	s := &h.spill
	if !s.released {
		// The in-memory groups are out: drop them before the partitions.
		h.releaseGroups()
		s.mem.Shrink(s.held)
		s.held, s.accSize, s.released = 0, 0, true
	}
	for {
		if s.child != nil {
			b, err := s.child.Next(ctx)
			if err != nil || b != nil {
				return b, err
			}
			s.child.Close()
			s.child = nil
		}
		p := -1
		for i, f := range s.parts {
			if f != nil {
				p = i
				break
			}
		}
		if p < 0 {
			return nil, nil
		}
		scan := newSpillScan(s.parts[p])
		s.parts[p] = nil
		child := NewHashAgg(scan, h.groupCols, h.groupTypes, h.aggs).(*HashAgg)
		child.spill.depth = s.depth + 1
		child.spill.registered = ctx.Mem // it takes this aggregation's share
		s.child = child
		if err := child.Open(ctx); err != nil {
			return nil, err
		}
	}
}

// lookup sets ids[i] to the existing group of row i, or noGroup.
func (g *groupTable) lookup(cols []arrow.Array, n int, ids []uint32) {
	if len(cols) == 1 {
		switch a := cols[0].(type) {
		case *array.Int64:
			lookupInts(g, a, a.Int64Values(), ids[:n])
			return
		case *array.Int32:
			lookupInts(g, a, a.Int32Values(), ids[:n])
			return
		}
	}
	g.keys.encode(cols, g.ts, n)
	for i, k := range g.keys.keys {
		id, ok := g.strs[string(k)]
		if !ok {
			id = noGroup
		}
		ids[i] = id
	}
}

func lookupInts[V int32 | int64](g *groupTable, arr arrow.Array, vals []V, ids []uint32) {
	nulls := arr.NullN() > 0
	for i := range ids {
		if nulls && arr.IsNull(i) {
			ids[i] = noGroup
			if g.nullID >= 0 {
				ids[i] = uint32(g.nullID)
			}
			continue
		}
		id, ok := g.ints[int64(vals[i])]
		if !ok {
			id = noGroup
		}
		ids[i] = id
	}
}

// hashRows hashes the keys of the rows whose id is noGroup (after lookup,
// which left the encoded keys in g.keys on the encoded path).
func (g *groupTable) hashRows(cols []arrow.Array, n int, seed maphash.Seed, ids []uint32, out []uint64) {
	if len(cols) == 1 {
		switch a := cols[0].(type) {
		case *array.Int64:
			hashInts(a, a.Int64Values(), seed, ids, out)
			return
		case *array.Int32:
			hashInts(a, a.Int32Values(), seed, ids, out)
			return
		}
	}
	for i, id := range ids[:n] {
		if id == noGroup {
			out[i] = maphash.Bytes(seed, g.keys.keys[i])
		}
	}
}

func hashInts[V int32 | int64](arr arrow.Array, vals []V, seed maphash.Seed, ids []uint32, out []uint64) {
	var buf [8]byte
	nulls := arr.NullN() > 0
	for i, id := range ids {
		if id != noGroup {
			continue
		}
		if nulls && arr.IsNull(i) {
			out[i] = maphash.Bytes(seed, nil)
			continue
		}
		binary.LittleEndian.PutUint64(buf[:], uint64(int64(vals[i])))
		out[i] = maphash.Bytes(seed, buf[:])
	}
}
