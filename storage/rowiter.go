package storage

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// KeySpan is a range of a table's primary keys. Lo and Hi are encoded key
// prefixes (Table.EncodePK of the leading key columns); nil is open. A
// bound matches every key that starts with it, so with PK (a, b) the span
// Lo = enc(1), LoInclusive, Hi = enc(1), HiInclusive is "a = 1".
type KeySpan struct {
	Lo, Hi                   []byte
	LoInclusive, HiInclusive bool
}

// FullSpan is the span of every row.
var FullSpan = KeySpan{}

// SpanFor returns the span between the key prefixes lo and hi (values of
// the leading primary key columns; nil or empty is open). A point lookup is
// lo == hi over every key column, both inclusive.
func (t *Table) SpanFor(lo, hi []types.Datum, loInc, hiInc bool) KeySpan {
	var s KeySpan
	if len(lo) > 0 {
		s.Lo = t.EncodePK([]byte{}, lo)
		s.LoInclusive = loInc
	}
	if len(hi) > 0 {
		s.Hi = t.EncodePK([]byte{}, hi)
		s.HiInclusive = hiInc
	}
	return s
}

// IsPoint reports whether s selects at most one row of t: equal inclusive
// bounds over every key column.
func (t *Table) IsPoint(s KeySpan) bool {
	if s.Lo == nil || !s.LoInclusive || !s.HiInclusive || !bytes.Equal(s.Lo, s.Hi) {
		return false
	}
	vals, err := t.DecodePK(s.Lo)
	return err == nil && len(vals) == t.pkLen()
}

// Bounds returns the storage key range [lo, hi) of span s.
func (t *Table) Bounds(s KeySpan) (lo, hi []byte) { return spanBounds(PrefixTable, t.ID, s) }

// RowIter walks a table's rows in primary key order:
//
//	it, err := tbl.Scan(r, span)
//	defer it.Close()
//	for it.Next() { use(it.Key(), it.Row()) }
//	if err := it.Err(); err != nil { ... }
//
// or a batch of Arrow columns at a time with NextBatch. The two styles may
// be mixed.
type RowIter struct {
	t       *Table
	it      Iter
	started bool // the iterator has been positioned
	valid   bool // the iterator is at an unconsumed row (after NextBatch)
	// lastN is the size of the last batch, what the next reserves.
	lastN int
	key   []byte
	row   []types.Datum
	err   error
}

// minBatchReserve is the rows a first batch reserves room for.
const minBatchReserve = 8

// Scan returns an iterator over the rows of t in span, reading through r.
func (t *Table) Scan(r Reader, span KeySpan) (*RowIter, error) {
	if t.IsPoint(span) {
		// One key: a point read, which skips the older versions of a
		// often-rewritten key (a view's row) that an iterator would walk.
		key := TableKey(t.ID, span.Lo)
		v, found, err := r.Get(key)
		if err != nil {
			return nil, fmt.Errorf("table %s: get: %w", t.Name, err)
		}
		return &RowIter{t: t, it: &pointIter{key: key, val: v, found: found}, lastN: minBatchReserve}, nil
	}
	lo, hi := t.Bounds(span)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return nil, fmt.Errorf("table %s: scan: %w", t.Name, err)
	}
	return &RowIter{t: t, it: it, lastN: minBatchReserve}, nil
}

// advance positions the underlying iterator on the next unconsumed row.
func (ri *RowIter) advance() bool {
	if ri.valid {
		return true
	}
	if !ri.started {
		ri.started = true
		ri.valid = ri.it.First()
	} else {
		ri.valid = ri.it.Next()
	}
	return ri.valid
}

// Next moves to the next row; it returns false at the end or on an error
// (see Err).
func (ri *RowIter) Next() bool {
	if ri.err != nil || !ri.advance() {
		return false
	}
	ri.valid = false
	ri.key = ri.it.Key()[5:]
	ri.row, ri.err = ri.t.decodeRow(ri.it.Value())
	return ri.err == nil
}

// Key returns the current row's encoded primary key (the storage key
// without the table prefix), valid until the next call to Next.
func (ri *RowIter) Key() []byte { return ri.key }

// Row returns the current row (all physical columns).
func (ri *RowIter) Row() []types.Datum { return ri.row }

// Err returns the error that stopped the iteration, if any.
func (ri *RowIter) Err() error { return ri.err }

// Close releases the iterator.
func (ri *RowIter) Close() error {
	if ri.it == nil {
		return nil
	}
	err := closeIter(&ri.it)
	if ri.err == nil {
		ri.err = err
	}
	return err
}

// NextBatch decodes up to max further rows, returning the columns cols
// (indexes into the table's physical columns) as Arrow arrays of n rows,
// and the rows' encoded primary keys. n is 0 at the end. The caller
// releases the arrays.
func (ri *RowIter) NextBatch(cols []int, max int) (out []arrow.Array, n int, keys [][]byte, err error) {
	if ri.err != nil {
		return nil, 0, nil, ri.err
	}
	if max <= 0 || !ri.advance() {
		return nil, 0, nil, nil // the end: no builders made
	}
	// Decode each distinct column once; a column asked for twice shares
	// its array.
	uniq := make([]int, 0, len(cols))
	slot := make([]int, len(cols))
	for i, c := range cols {
		if c < 0 || c >= len(ri.t.Types) {
			return nil, 0, nil, fmt.Errorf("table %s: column %d out of range", ri.t.Name, c)
		}
		slot[i] = -1
		for j, u := range uniq {
			if u == c {
				slot[i] = j
			}
		}
		if slot[i] < 0 {
			slot[i] = len(uniq)
			uniq = append(uniq, c)
		}
	}
	builders := make([]array.Builder, len(uniq))
	for i, c := range uniq {
		builders[i] = types.NewBuilder(ri.t.Types[c])
		// Grow on demand: a point lookup asks for a full batch but gets
		// one row; a long scan reserves what its last batch held.
		builders[i].Reserve(min(max, ri.lastN))
	}
	defer func() {
		for _, b := range builders {
			b.Release()
		}
	}()
	dec := newRowDecoder(ri.t.Types, uniq)
	var keyArena []byte
	var keyEnds []int
	for n < max && ri.advance() {
		ri.valid = false
		k := ri.it.Key()[5:]
		keyArena = append(keyArena, k...)
		keyEnds = append(keyEnds, len(keyArena))
		if err := dec.decodeInto(ri.it.Value(), builders); err != nil {
			ri.err = fmt.Errorf("table %s: decode row: %w", ri.t.Name, err)
			return nil, 0, nil, ri.err
		}
		n++
	}
	if n == 0 {
		return nil, 0, nil, nil
	}
	ri.lastN = n
	if n < minBatchReserve {
		ri.lastN = minBatchReserve
	}
	arrs := make([]arrow.Array, len(uniq))
	for i, b := range builders {
		arrs[i] = b.NewArray()
	}
	out = make([]arrow.Array, len(cols))
	used := make([]bool, len(uniq))
	for i, s := range slot {
		if used[s] {
			arrs[s].Retain()
		}
		used[s] = true
		out[i] = arrs[s]
	}
	keys = make([][]byte, n)
	start := 0
	for i, end := range keyEnds {
		keys[i] = keyArena[start:end:end]
		start = end
	}
	return out, n, keys, nil
}

// pointIter is the Iter over the one row of a point span.
type pointIter struct {
	key, val     []byte
	found, valid bool
}

func (p *pointIter) First() bool { p.valid = p.found; return p.valid }
func (p *pointIter) Valid() bool { return p.valid }
func (p *pointIter) Next() bool  { p.valid = false; return false }
func (p *pointIter) SeekGE(k []byte) bool {
	p.valid = p.found && bytes.Compare(p.key, k) >= 0
	return p.valid
}
func (p *pointIter) Key() []byte   { return p.key }
func (p *pointIter) Value() []byte { return p.val }
func (p *pointIter) Close() error  { return nil }
