package batch

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/storage"
)

// IndexScan reads the rows of a table that a secondary index holds in a
// key range: it walks the index entries in index order, fetches each row
// by its primary key through one seeking iterator, and decodes only the
// columns asked for straight into Arrow builders, a batch at a time.
type IndexScan struct {
	tbl    *storage.Table
	ix     *storage.Index
	reader func() storage.Reader
	cols   []int
	span   storage.KeySpan
	name   string
	types  []types.T

	// uniq are the distinct columns decoded; slot maps cols onto them.
	uniq []int
	slot []int
	dec  storage.RowDecoder

	// bounds, when set, give span at each Open (bounds with parameters);
	// lo and hi hold its keys from run to run.
	bounds *KeyBounds
	lo, hi []byte

	it    *storage.IndexIter
	fetch *storage.RowFetcher
}

// NewIndexScan returns a scan of columns cols (indexes into tbl.Types) of
// the rows whose entries in ix lie in span (a range of encoded leading
// index values, see storage.Index.Scan). name is the table's name for
// EXPLAIN.
func NewIndexScan(tbl *storage.Table, ix *storage.Index, r func() storage.Reader, cols []int, span storage.KeySpan, name string) exec.Operator {
	s := &IndexScan{tbl: tbl, ix: ix, reader: r, cols: cols, span: span, name: name, types: make([]types.T, len(cols))}
	s.slot = make([]int, len(cols))
	for i, c := range cols {
		s.types[i] = tbl.Types[c]
		s.slot[i] = -1
		for j, u := range s.uniq {
			if u == c {
				s.slot[i] = j
			}
		}
		if s.slot[i] < 0 {
			s.slot[i] = len(s.uniq)
			s.uniq = append(s.uniq, c)
		}
	}
	s.dec = storage.NewRowDecoder(tbl.Types, s.uniq)
	return s
}

// NewIndexScanBounds is NewIndexScan of the entries in the range that b
// gives when the scan opens (b's key columns are ix's). Constant bounds
// are evaluated now.
func NewIndexScanBounds(tbl *storage.Table, ix *storage.Index, r func() storage.Reader, cols []int, b *KeyBounds, name string) exec.Operator {
	if b.Constant() {
		if span, none := b.Span(nil, nil, nil); !none {
			return NewIndexScan(tbl, ix, r, cols, span, name)
		}
	}
	s := NewIndexScan(tbl, ix, r, cols, storage.KeySpan{}, name).(*IndexScan)
	s.bounds = b
	return s
}

// Open starts the scan.
func (s *IndexScan) Open(ctx *exec.Ctx) error {
	s.Close()
	if s.bounds != nil {
		span, none := s.bounds.Span(ctx, s.lo, s.hi)
		s.span, s.lo, s.hi = span, span.Lo, span.Hi
		if none {
			return nil
		}
	}
	r := s.reader()
	it, err := s.ix.Scan(r, s.span)
	if err != nil {
		return err
	}
	f, err := s.tbl.NewRowFetcher(r)
	if err != nil {
		it.Close()
		return err
	}
	s.it, s.fetch = it, f
	return nil
}

// Next returns the next batch, or nil at the end.
func (s *IndexScan) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if s.it == nil {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	builders := make([]array.Builder, len(s.uniq))
	for i, c := range s.uniq {
		builders[i] = types.NewBuilder(s.tbl.Types[c])
	}
	defer func() {
		for _, b := range builders {
			b.Release()
		}
	}()
	n := 0
	for n < exec.BatchSize && s.it.Next() {
		v, ok := s.fetch.Fetch(s.it.PK())
		if !ok {
			return nil, fmt.Errorf("index %s: entry without a row in table %s", s.ix.Name, s.name)
		}
		if err := s.dec.DecodeInto(v, builders); err != nil {
			return nil, fmt.Errorf("table %s: decode row: %w", s.name, err)
		}
		n++
	}
	if n == 0 {
		return nil, s.closeErr()
	}
	arrs := make([]arrow.Array, len(builders))
	for i, b := range builders {
		arrs[i] = b.NewArray()
	}
	out := make([]arrow.Array, len(s.cols))
	used := make([]bool, len(arrs))
	for i, sl := range s.slot {
		if used[sl] {
			arrs[sl].Retain()
		}
		used[sl] = true
		out[i] = arrs[sl]
	}
	return exec.NewBatch(out, n), nil
}

// closeErr ends the scan at its end, reporting what the iterators met.
func (s *IndexScan) closeErr() error {
	err := s.it.Close()
	if ferr := s.fetch.Close(); err == nil {
		err = ferr
	}
	s.it, s.fetch = nil, nil
	return err
}

// Close ends the scan; Open may start it again.
func (s *IndexScan) Close() {
	if s.it != nil {
		s.it.Close()
		s.fetch.Close()
		s.it, s.fetch = nil, nil
	}
}

// Types returns the types of the scanned columns.
func (s *IndexScan) Types() []types.T { return s.types }

// Children returns nothing: a scan is a leaf.
func (s *IndexScan) Children() []exec.Operator { return nil }

// Explain names the index and the condition it serves, in PostgreSQL's
// words: "Index Scan using t_b_idx on t (b = 5)" or "(b range [1, 5])".
func (s *IndexScan) Explain() string {
	sp := s.span
	head := fmt.Sprintf("Index Scan using %s on %s", s.ix.Name, s.name)
	if s.bounds != nil {
		names := make([]string, len(s.ix.Cols))
		for i, c := range s.ix.Cols {
			names[i] = s.tbl.ColNames[c]
		}
		return head + " (" + s.bounds.explain(names) + ")"
	}
	if sp.Lo != nil && sp.LoInclusive && sp.HiInclusive && string(sp.Lo) == string(sp.Hi) {
		names, vals := s.decode(sp.Lo)
		parts := make([]string, len(vals))
		for i := range vals {
			parts[i] = names[i] + " = " + vals[i]
		}
		return head + " (" + strings.Join(parts, " AND ") + ")"
	}
	// A range: equal leading values, then bounds on one more column.
	loN, loV := s.decode(sp.Lo)
	_, hiV := s.decode(sp.Hi)
	n := max(len(loV), len(hiV))
	var parts []string
	for i := 0; i < n-1; i++ {
		parts = append(parts, loN[i]+" = "+loV[i])
	}
	lo, hi := "(-inf", "+inf)"
	if len(loV) == n {
		lo = bracket(sp.LoInclusive, "[", "(") + loV[n-1]
	}
	if len(hiV) == n {
		hi = hiV[n-1] + bracket(sp.HiInclusive, "]", ")")
	}
	if n-1 < len(s.ix.Desc) && s.ix.Desc[n-1] {
		// Descending keys hold the range upside down; show it in value order.
		lo, hi = "(-inf", "+inf)"
		if len(hiV) == n {
			lo = bracket(sp.HiInclusive, "[", "(") + hiV[n-1]
		}
		if len(loV) == n {
			hi = loV[n-1] + bracket(sp.LoInclusive, "]", ")")
		}
	}
	parts = append(parts, s.tbl.ColNames[s.ix.Cols[n-1]]+" range "+lo+", "+hi)
	return head + " (" + strings.Join(parts, " AND ") + ")"
}

func bracket(inclusive bool, in, ex string) string {
	if inclusive {
		return in
	}
	return ex
}

// decode renders an encoded prefix of index values as SQL literals, with
// the names of their columns.
func (s *IndexScan) decode(k []byte) (names, vals []string) {
	for i := 0; i < len(s.ix.Cols) && len(k) > 0; i++ {
		c := s.ix.Cols[i]
		t := s.tbl.Types[c]
		d, rest, err := types.DecodeKey(k, t, i < len(s.ix.Desc) && s.ix.Desc[i])
		if err != nil {
			break
		}
		k = rest
		names = append(names, s.tbl.ColNames[c])
		switch {
		case d == nil:
			vals = append(vals, "NULL")
		case t.IsNumeric():
			vals = append(vals, types.FormatText(d, t, time.UTC))
		default:
			vals = append(vals, "'"+strings.ReplaceAll(types.FormatText(d, t, time.UTC), "'", "''")+"'")
		}
	}
	return names, vals
}
