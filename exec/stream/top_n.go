package stream

// Group top-N: the rows ranked 1..N by ROW_NUMBER() OVER (PARTITION BY p
// ORDER BY o) in each partition, kept up to date as rows come and go. It
// covers deduplication (N = 1) and "top N per key" queries.
//
// State: one table, storage.StateKey(id, partition key ++ stream key) ->
// the row. A partition keeps every live row of its input (a deleted top
// row lets the next one in), except over append-only input, where rows
// beyond the N-th can never rise and are dropped at once. Changes are
// emitted at the barrier: for each partition that changed, the difference
// between the ranked rows emitted before and now, so a row whose rank
// moved is an update.

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/batch"
	"streamsql/sql/types"
	"streamsql/storage"
)

// TopNSpec ranks rows per partition and keeps the first Limit.
type TopNSpec struct {
	Partition []int
	Order     []batch.SortKey
	Limit     int64
	// Types and StreamKey describe the input.
	Types     []types.T
	StreamKey []int
	// AppendOnly: the input never deletes.
	AppendOnly bool
	// WithRank appends the row number (bigint) to every output row.
	WithRank bool
}

func (s *TopNSpec) Explain() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "StreamGroupTopN limit %d", s.Limit)
	if len(s.Partition) > 0 {
		parts := make([]string, len(s.Partition))
		for i, p := range s.Partition {
			parts[i] = fmt.Sprintf("#%d", p)
		}
		sb.WriteString(" partition by " + strings.Join(parts, ", "))
	}
	keys := make([]string, len(s.Order))
	for i, k := range s.Order {
		keys[i] = k.String()
	}
	sb.WriteString(" order by " + strings.Join(keys, ", "))
	if s.AppendOnly {
		sb.WriteString(" append-only")
	}
	return sb.String()
}

func (s *TopNSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	t := &topN{spec: s, env: b.Env, out: out, state: b.StateTable(),
		parts: map[string]*topNPart{}, dirty: map[string]*topNPart{}, writes: map[string][]types.Datum{}}
	t.outTypes = append([]types.T(nil), s.Types...)
	if s.WithRank {
		t.outTypes = append(t.outTypes, types.TInt8)
	}
	if !b.Env.Fresh {
		if err := t.load(b.Env.State); err != nil {
			return nil, err
		}
	}
	return t, nil
}

type topNRow struct {
	key string // stream key encoding
	row []types.Datum
}

type topNPart struct {
	pkey    string
	rows    []topNRow // sorted by the order keys, then the stream key
	emitted []topNRow // the ranked rows emitted so far
}

type topN struct {
	spec     *TopNSpec
	env      *Env
	out      Output
	state    uint32
	outTypes []types.T

	parts  map[string]*topNPart
	dirty  map[string]*topNPart
	writes map[string][]types.Datum // state key -> row, nil to delete
	buf    []byte
}

func (t *topN) partKey(row []types.Datum) string {
	t.buf = t.buf[:0]
	for _, p := range t.spec.Partition {
		t.buf = types.AppendKey(t.buf, row[p], t.spec.Types[p], false)
	}
	return string(t.buf)
}

func (t *topN) rowKey(row []types.Datum) string {
	t.buf = t.buf[:0]
	for _, k := range t.spec.StreamKey {
		t.buf = types.AppendKey(t.buf, row[k], t.spec.Types[k], false)
	}
	return string(t.buf)
}

// cmp orders rows by the ORDER BY keys, then by stream key so ties rank
// the same way every time.
func (t *topN) cmp(a, b topNRow) int {
	for _, k := range t.spec.Order {
		x, y := a.row[k.Col], b.row[k.Col]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil || y == nil:
			// NULLS FIRST puts NULL before values, whatever the direction.
			if (x == nil) == k.NullsFirst {
				return -1
			}
			return 1
		}
		c := types.Compare(x, y, k.T)
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(a.key, b.key)
}

func (t *topN) part(pk string) *topNPart {
	p := t.parts[pk]
	if p == nil {
		p = &topNPart{pkey: pk}
		t.parts[pk] = p
	}
	return p
}

func (t *topN) Chunk(_ int, c *Chunk) error {
	defer c.Release()
	for i := 0; i < c.N; i++ {
		row := c.Row(i, t.spec.Types)
		r := topNRow{key: t.rowKey(row), row: row}
		p := t.part(t.partKey(row))
		t.dirty[p.pkey] = p
		at, found := slices.BinarySearchFunc(p.rows, r, t.cmp)
		if c.Ops[i].IsInsert() {
			if found {
				p.rows[at] = r
			} else {
				p.rows = slices.Insert(p.rows, at, r)
			}
			t.writes[p.pkey+r.key] = row
			if t.spec.AppendOnly && int64(len(p.rows)) > t.spec.Limit {
				for _, gone := range p.rows[t.spec.Limit:] {
					t.writes[p.pkey+gone.key] = nil
				}
				p.rows = p.rows[:t.spec.Limit]
			}
			continue
		}
		if !found {
			// Over append-only input a row beyond the N-th is gone
			// already; otherwise the input deleted a row it never sent.
			if t.spec.AppendOnly {
				continue
			}
			return fmt.Errorf("top-N: delete of a row not in its partition")
		}
		p.rows = slices.Delete(p.rows, at, at+1)
		t.writes[p.pkey+r.key] = nil
	}
	return nil
}

func (t *topN) Watermark(int, Watermark) error { return nil }

func (t *topN) Barrier(b *Barrier) error {
	ob := newRowBuilder(t.outTypes)
	emit := func(op Op, r topNRow, rank int) {
		row := r.row
		if t.spec.WithRank {
			row = append(slices.Clip(row), int64(rank))
		}
		ob.append(op, row)
	}
	for pk, p := range t.dirty {
		n := min(int64(len(p.rows)), t.spec.Limit)
		top := p.rows[:n]
		old := make(map[string]int, len(p.emitted))
		for i, r := range p.emitted {
			old[r.key] = i
		}
		for i, r := range top {
			if j, ok := old[r.key]; ok {
				delete(old, r.key)
				if (j == i || !t.spec.WithRank) && sameRow(p.emitted[j].row, r.row, t.spec.Types) {
					continue
				}
				emit(UpdateDelete, p.emitted[j], j+1)
				emit(UpdateInsert, r, i+1)
				continue
			}
			emit(Insert, r, i+1)
		}
		for j, r := range p.emitted {
			if _, gone := old[r.key]; gone {
				emit(Delete, r, j+1)
			}
		}
		p.emitted = append(p.emitted[:0], top...)
		if len(p.rows) == 0 {
			delete(t.parts, pk)
		}
	}
	clear(t.dirty)
	var val []byte
	for k, row := range t.writes {
		key := storage.StateKey(t.state, []byte(k))
		if row == nil {
			if err := b.Writes.Delete(key, nil); err != nil {
				return err
			}
			continue
		}
		val = types.EncodeRow(val[:0], row, t.spec.Types)
		if err := b.Writes.Set(key, val, nil); err != nil {
			return err
		}
	}
	clear(t.writes)
	if c := ob.chunk(); c != nil {
		if err := t.out.Chunk(c); err != nil {
			return err
		}
	}
	return t.out.Barrier(b)
}

func sameRow(a, b []types.Datum, ts []types.T) bool {
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) {
			return false
		}
		if a[i] != nil && types.Compare(a[i], b[i], ts[i]) != 0 {
			return false
		}
	}
	return true
}

// load rebuilds the partitions from the committed state: the emitted
// rows are the top N of each, as the last committed barrier left them.
func (t *topN) load(r storage.Reader) error {
	lo, hi := storage.StateSpan(t.state)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		row, err := types.DecodeRow(it.Value(), t.spec.Types)
		if err != nil {
			it.Close()
			return err
		}
		p := t.part(t.partKey(row))
		key := t.rowKey(row)
		if !bytes.HasSuffix(it.Key(), []byte(key)) {
			it.Close()
			return fmt.Errorf("top-N state: key does not match its row")
		}
		p.rows = append(p.rows, topNRow{key: key, row: row})
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, p := range t.parts {
		slices.SortFunc(p.rows, t.cmp)
		n := min(int64(len(p.rows)), t.spec.Limit)
		p.emitted = append([]topNRow(nil), p.rows[:n]...)
	}
	return nil
}

// rowBuilder collects rows of datums into a chunk (for operators that
// emit few rows per epoch, such as top-N).
type rowBuilder struct {
	bs  []array.Builder
	ops []Op
}

func newRowBuilder(ts []types.T) *rowBuilder {
	r := &rowBuilder{bs: make([]array.Builder, len(ts))}
	for i, t := range ts {
		r.bs[i] = types.NewBuilder(t)
	}
	return r
}

func (r *rowBuilder) append(op Op, row []types.Datum) {
	for j, d := range row {
		types.AppendDatum(r.bs[j], d)
	}
	r.ops = append(r.ops, op)
}

// chunk returns the rows as a chunk, or nil if there are none, and
// releases the builders.
func (r *rowBuilder) chunk() *Chunk {
	defer func() {
		for _, b := range r.bs {
			b.Release()
		}
	}()
	if len(r.ops) == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(r.bs))
	for i, b := range r.bs {
		cols[i] = b.NewArray()
	}
	return NewChunk(cols, r.ops)
}
