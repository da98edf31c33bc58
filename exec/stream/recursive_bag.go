package stream

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/types"
)

// rowBag is a multiset of rows keyed by the key encoding of all their
// columns (the layout of its state table, when it has one): the contents
// of one input of a recursive union, its result, or a signed change of
// either. It remembers the keys it changed since the last barrier
// (dirty) and, for the result, each changed row's count before the
// epoch (orig), from which the emitted changes follow.
type rowBag struct {
	ts    []types.T
	st    *StateTable // nil for a change set
	rows  map[string]*bagRow
	dirty map[string]struct{}
	orig  map[string]int64 // nil unless the bag tracks its epoch's changes
	// cache is the contents as batches, until the next change.
	cache []*exec.Batch
	bytes int64
}

type bagRow struct {
	row []types.Datum
	n   int64
}

func newRowBag(ts []types.T, st *StateTable) *rowBag {
	return &rowBag{ts: ts, st: st, rows: map[string]*bagRow{}, dirty: map[string]struct{}{}}
}

// count returns the count of key.
func (b *rowBag) count(key string) int64 {
	if r := b.rows[key]; r != nil {
		return r.n
	}
	return 0
}

// add adds n (signed) copies of the row of key; row is called only when
// the bag does not hold the key yet.
func (b *rowBag) add(key string, row func() []types.Datum, n int64) {
	if n == 0 {
		return
	}
	r := b.rows[key]
	if b.orig != nil {
		if _, ok := b.orig[key]; !ok {
			old := int64(0)
			if r != nil {
				old = r.n
			}
			b.orig[key] = old
		}
	}
	if b.st != nil {
		b.dirty[key] = struct{}{}
	}
	b.dropCache()
	if r == nil {
		r = &bagRow{row: row()}
		b.rows[key] = r
		b.bytes += int64(len(key))*2 + 64
	}
	r.n += n
	if r.n == 0 {
		delete(b.rows, key)
		b.bytes -= int64(len(key))*2 + 64
	}
}

// addBag adds sign times the rows of o.
func (b *rowBag) addBag(o *rowBag, sign int64) {
	for k, r := range o.rows {
		b.add(k, func() []types.Datum { return r.row }, sign*r.n)
	}
}

func (b *rowBag) empty() bool { return len(b.rows) == 0 }

func (b *rowBag) dropCache() {
	for _, x := range b.cache {
		x.Release()
	}
	b.cache = nil
}

// batches returns the bag's rows with a positive count, each as many
// times as its count; the bag keeps them until its next change.
func (b *rowBag) batches() []*exec.Batch {
	if b.cache == nil {
		b.cache = b.part(1)
		if b.cache == nil {
			b.cache = []*exec.Batch{}
		}
	}
	return b.cache
}

// part returns as batches the rows whose count has the sign sign (+1 or
// -1), each as many times as the count's magnitude; the caller releases
// them.
func (b *rowBag) part(sign int64) []*exec.Batch {
	keys := make([]string, 0, len(b.rows))
	for k, r := range b.rows {
		if r.n*sign > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // a deterministic order
	var out []*exec.Batch
	var rows [][]types.Datum
	flush := func() {
		if len(rows) == 0 {
			return
		}
		out = append(out, datumBatch(b.ts, rows))
		rows = rows[:0]
	}
	for _, k := range keys {
		r := b.rows[k]
		for range r.n * sign {
			rows = append(rows, r.row)
			if len(rows) == 1024 {
				flush()
			}
		}
	}
	flush()
	return out
}

// datumBatch builds a batch of columns ts from rows.
func datumBatch(ts []types.T, rows [][]types.Datum) *exec.Batch {
	cols := make([]arrow.Array, len(ts))
	ds := make([]types.Datum, len(rows))
	for j, t := range ts {
		for i, r := range rows {
			ds[i] = r[j]
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	return exec.NewBatch(cols, len(rows))
}

// retained returns new batches sharing the columns of bs (retained once
// more), for a consumer that releases what it is given.
func retained(bs []*exec.Batch) []*exec.Batch {
	out := make([]*exec.Batch, len(bs))
	for i, b := range bs {
		for _, c := range b.Cols {
			c.Retain()
		}
		out[i] = exec.NewBatch(b.Cols, b.N)
	}
	return out
}
