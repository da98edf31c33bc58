package agg

// The dedup table of DISTINCT aggregates over one integer column.
//
// count(DISTINCT bidder), count(DISTINCT bidder) FILTER (WHERE price <
// 10000), ... each kept a multiset of their own (a Go map of pointers to
// entries per group): a row paid one map lookup per aggregate it passed
// the FILTER of, every new value cost four allocations per aggregate, and
// the garbage collector scanned every entry. Here the DISTINCT aggregates
// of a hash aggregation that read the same integer column share one table:
// per group, a map from value to entry and, per entry, one count per
// member aggregate (its FILTER decides which counts a row moves). A row
// costs one lookup however many aggregates share the column, and the
// table holds no pointers per entry. Values find their entry through the
// open-addressing table the hash aggregation keys its groups with
// (hashAggTable), one probe run of flat slots instead of a Go map.
//
// Each member still feeds its inner state (count, sum, ...) when its count
// of a value leaves or reaches 0, exactly as aggDistinct does.
//
// Over append-only input a count never drops, so only whether it is 0
// matters: counts stop at 1, and a value seen again changes nothing and
// writes nothing (a hot value used to be rewritten at every barrier).
//
// # State
//
// Persisted as the per-aggregate multisets were, so state written by
// either loads into the other: one table-2 row per member and value whose
// count is not 0 (key: group key, the member's aggregate index, the
// value's key; value: the count, then the value).

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// distinctMaxMembers bounds the members of one table (a bit mask per
// entry says which of them changed).
const distinctMaxMembers = 64

// distinctInts is one dedup table.
type distinctInts struct {
	t      types.T
	once   bool          // append-only input: counts stop at 1
	col    int           // the input column
	aggs   []int         // each member's aggregate index
	inner  []aggState    // each member's inner state
	groups []*dedupGroup // per group id
	ws     [][]int64     // scratch: each member's weights of a chunk
	bufs   [][]int64     // scratch: the weights of members with a FILTER
	one    [1]types.Datum
}

// dedupGroup is one group's entries.
type dedupGroup struct {
	idx    hashAggTable // value (word a of the key) -> entry + 1
	null   int32        // the NULL entry, or -1
	vals   []int64      // per entry
	counts []int64      // entry e, member m: counts[e*members+m]
	dmask  []uint64     // per entry: the members whose count changed since the last flush
	dirty  []int32      // entries with a dmask
	free   []int32
	live   int // entries in use
}

// shareDistinct gives the DISTINCT aggregates over one integer column
// (same column, same type) a shared dedup table each: their states are
// replaced by members of it. It returns the tables.
// appendOnly: the input never retracts.
func shareDistinct(aggs []batch.AggSpec, states []aggState, appendOnly bool) []*distinctInts {
	var out []*distinctInts
	open := map[[2]int]*distinctInts{}
	for k, a := range aggs {
		st, ok := states[k].(*aggDistinct)
		if !ok || len(a.Args) != 1 || len(a.ArgTypes) != 1 {
			continue
		}
		t := a.ArgTypes[0]
		switch t.Kind {
		case types.Int2, types.Int4, types.Int8:
		default:
			continue
		}
		key := [2]int{a.Args[0], int(t.Kind)}
		d := open[key]
		if d == nil || len(d.aggs) == distinctMaxMembers {
			d = &distinctInts{t: t, col: a.Args[0], once: appendOnly}
			open[key] = d
			out = append(out, d)
		}
		states[k] = &aggDistinctMember{d: d, m: len(d.aggs), inner: st.inner}
		d.aggs = append(d.aggs, k)
		d.inner = append(d.inner, st.inner)
	}
	return out
}

func (d *distinctInts) grow(n int) {
	if n > len(d.groups) {
		d.groups = stream.Grow(d.groups, n)
	}
}

func (d *distinctInts) reset(g uint32) { d.groups[g] = nil }

func (d *distinctInts) group(g uint32) *dedupGroup {
	grp := d.groups[g]
	if grp == nil {
		grp = &dedupGroup{null: -1}
		grp.idx.init(8)
		d.groups[g] = grp
	}
	return grp
}

// entry returns the entry of v (isNull: of NULL), creating it.
func (d *distinctInts) entry(grp *dedupGroup, v int64, isNull bool) int32 {
	if isNull {
		if grp.null < 0 {
			grp.null = d.newEntry(grp, 0)
		}
		return grp.null
	}
	k := hashAggKey{a: uint64(v)}
	if id := grp.idx.find(&k); id != 0 {
		return int32(id - 1)
	}
	e := d.newEntry(grp, v)
	grp.idx.insert(&k, uint32(e)+1)
	return e
}

func (d *distinctInts) newEntry(grp *dedupGroup, v int64) int32 {
	m := len(d.aggs)
	grp.live++
	if n := len(grp.free); n > 0 {
		e := grp.free[n-1]
		grp.free = grp.free[:n-1]
		grp.vals[e] = v
		clear(grp.counts[int(e)*m : int(e+1)*m])
		return e
	}
	e := int32(len(grp.vals))
	grp.vals = append(grp.vals, v)
	grp.dmask = append(grp.dmask, 0)
	grp.counts = append(grp.counts, make([]int64, m)...)
	return e
}

// add moves member m's count of entry e of group g by w and feeds the
// member's inner state when the count crosses 0.
func (d *distinctInts) add(g uint32, grp *dedupGroup, e int32, m int, w int64) error {
	c := &grp.counts[int(e)*len(d.aggs)+m]
	before := *c
	if d.once && w > 0 {
		if before > 0 {
			return nil
		}
		w = 1
	}
	*c += w
	if grp.dmask[e] == 0 {
		grp.dirty = append(grp.dirty, e)
	}
	grp.dmask[e] |= 1 << m
	var dw int64
	switch {
	case before <= 0 && *c > 0:
		dw = 1
	case before > 0 && *c <= 0:
		dw = -1
	default:
		return nil
	}
	if e == grp.null {
		d.one[0] = nil
	} else {
		d.one[0] = grp.vals[e]
	}
	return d.inner[m].updateRow(g, d.one[:], dw)
}

// update folds a chunk's column into every member at once: ws[m] are
// member m's weights (its FILTER applied; nil: all 0).
func (d *distinctInts) update(ids []uint32, ws [][]int64, col arrow.Array) error {
	switch a := col.(type) {
	case *array.Int64:
		return distinctUpdate(d, ids, ws, col, a.Int64Values())
	case *array.Int32:
		return distinctUpdate(d, ids, ws, col, a.Int32Values())
	case *array.Int16:
		return distinctUpdate(d, ids, ws, col, a.Int16Values())
	case *array.Null:
		return distinctUpdate(d, ids, ws, col, make([]int64, len(ids)))
	}
	return fmt.Errorf("DISTINCT over %s: column is %s", d.t, col.DataType())
}

func distinctUpdate[V int16 | int32 | int64](d *distinctInts, ids []uint32, ws [][]int64, col arrow.Array, vals []V) error {
	nulls := col.NullN() > 0
	for i, g := range ids {
		moved := false
		for _, w := range ws {
			if w != nil && w[i] != 0 {
				moved = true
				break
			}
		}
		if !moved {
			continue
		}
		grp := d.group(g)
		e := d.entry(grp, int64(vals[i]), nulls && col.IsNull(i))
		for m, w := range ws {
			if w != nil && w[i] != 0 {
				if err := d.add(g, grp, e, m, w[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// flush calls write for every member count changed since the last flush
// (n == 0: delete it) and frees the entries whose counts are all 0.
func (d *distinctInts) flush(g uint32, write func(m int, isNull bool, v, n int64) error) error {
	grp := d.groups[g]
	if grp == nil {
		return nil
	}
	members := len(d.aggs)
	for _, e := range grp.dirty {
		mask := grp.dmask[e]
		grp.dmask[e] = 0
		counts := grp.counts[int(e)*members : int(e+1)*members]
		isNull := e == grp.null
		for m := range members {
			if mask&(1<<m) != 0 {
				if err := write(m, isNull, grp.vals[e], counts[m]); err != nil {
					return err
				}
			}
		}
		if !allZero(counts) {
			continue
		}
		if isNull {
			grp.null = -1
		} else {
			grp.idx.delete(hashAggKey{a: uint64(grp.vals[e])})
		}
		grp.free = append(grp.free, e)
		grp.live--
	}
	grp.dirty = grp.dirty[:0]
	return nil
}

func allZero(counts []int64) bool {
	for _, c := range counts {
		if c != 0 {
			return false
		}
	}
	return true
}

// keys calls fn for every member count of group g that may be stored.
func (d *distinctInts) keys(g uint32, fn func(m int, isNull bool, v int64) error) error {
	grp := d.groups[g]
	if grp == nil {
		return nil
	}
	members := len(d.aggs)
	each := func(e int32, isNull bool) error {
		for m := range members {
			if grp.counts[int(e)*members+m] != 0 || grp.dmask[e]&(1<<m) != 0 {
				if err := fn(m, isNull, grp.vals[e]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, s := range grp.idx.slots {
		if s.id == 0 {
			continue
		}
		if err := each(int32(s.id-1), false); err != nil {
			return err
		}
	}
	if grp.null >= 0 {
		return each(grp.null, true)
	}
	return nil
}

// entries is the number of entries group g holds.
func (d *distinctInts) entries(g uint32) int {
	if grp := d.groups[g]; grp != nil {
		return grp.live
	}
	return 0
}

// entryBytes estimates one entry's bytes in memory.
func (d *distinctInts) entryBytes() int { return 40 + 8*len(d.aggs) }

// valueKey appends the table-2 value key of v (isNull: of NULL).
func (d *distinctInts) valueKey(buf []byte, isNull bool, v int64) []byte {
	if isNull {
		return types.AppendKey(buf, nil, d.t, false)
	}
	return types.AppendIntKey(buf, v)
}

// aggDistinctMember is one DISTINCT aggregate of a shared dedup table:
// the table keeps its counts, the member its inner state.
type aggDistinctMember struct {
	d     *distinctInts
	m     int
	inner aggState
}

func (a *aggDistinctMember) grow(n int)     { a.d.grow(n); a.inner.grow(n) }
func (a *aggDistinctMember) reset(g uint32) { a.d.reset(g); a.inner.reset(g) }

// set is nil: the hash aggregation writes the shared table itself.
func (a *aggDistinctMember) set(uint32) *aggMultiset { return nil }

func (a *aggDistinctMember) load(g uint32, _ []byte, n int64, vals []types.Datum) error {
	if len(vals) != 1 {
		return hashAggCorruptSet()
	}
	var v int64
	isNull := vals[0] == nil
	if !isNull {
		x, ok := vals[0].(int64)
		if !ok {
			return hashAggCorruptSet()
		}
		v = x
	}
	grp := a.d.group(g)
	e := a.d.entry(grp, v, isNull)
	grp.counts[int(e)*len(a.d.aggs)+a.m] = n
	return distinctLoaded(a.inner, g, n, vals)
}

// update folds this member alone (the hash aggregation folds all members
// of a table at once through distinctInts.update).
func (a *aggDistinctMember) update(ids []uint32, w []int64, args []arrow.Array) error {
	ws := make([][]int64, len(a.d.aggs))
	ws[a.m] = w
	return a.d.update(ids, ws, args[0])
}

func (a *aggDistinctMember) updateRow(g uint32, args []types.Datum, w int64) error {
	var v int64
	isNull := args[0] == nil
	if !isNull {
		v = args[0].(int64)
	}
	grp := a.d.group(g)
	return a.d.add(g, grp, a.d.entry(grp, v, isNull), a.m, w)
}

func (a *aggDistinctMember) result(g uint32) (types.Datum, error) { return a.inner.result(g) }
func (a *aggDistinctMember) encode(buf []byte, g uint32) []byte   { return a.inner.encode(buf, g) }
func (a *aggDistinctMember) decode(buf []byte, g uint32) ([]byte, error) {
	return a.inner.decode(buf, g)
}
