package batch

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/storage"
)

// TableScan reads a table's rows in primary key order, a batch of
// exec.BatchSize rows at a time, decoding only the columns asked for.
type TableScan struct {
	tbl    *storage.Table
	reader func() storage.Reader
	cols   []int
	span   storage.KeySpan
	name   string
	types  []types.T
	// rowID: the scan outputs, after cols, the hidden row id of a table
	// without a primary key (int8).
	rowID bool
	// bounds, when set, give span at each Open (bounds with parameters);
	// lo and hi hold its keys from run to run.
	bounds *KeyBounds
	lo, hi []byte
	none   bool // the bounds admit no row this run

	it *storage.RowIter
}

// NewTableScan returns a scan of the columns cols (indexes into tbl.Types)
// of the rows of tbl in span. r is called at each Open, so every execution
// reads through the current transaction or snapshot. name is the table's
// name for EXPLAIN.
func NewTableScan(tbl *storage.Table, r func() storage.Reader, cols []int, span storage.KeySpan, name string) exec.Operator {
	ts := make([]types.T, len(cols))
	for i, c := range cols {
		ts[i] = tbl.Types[c]
	}
	return &TableScan{tbl: tbl, reader: r, cols: cols, span: span, name: name, types: ts}
}

// NewTableScanBounds is NewTableScan of the rows in the primary key range
// that b gives when the scan opens (b's key columns are tbl's primary key).
// Constant bounds are evaluated now.
func NewTableScanBounds(tbl *storage.Table, r func() storage.Reader, cols []int, b *KeyBounds, name string) exec.Operator {
	if b.Constant() {
		if span, none := b.Span(nil, nil, nil); !none {
			return NewTableScan(tbl, r, cols, span, name)
		}
	}
	s := NewTableScan(tbl, r, cols, storage.KeySpan{}, name).(*TableScan)
	s.bounds = b
	return s
}

// NewTableScanRowID is NewTableScan of a table without a primary key that
// outputs, after the columns cols, each row's hidden row id (int8): the
// storage key its row is kept (and locked) under.
func NewTableScanRowID(tbl *storage.Table, r func() storage.Reader, cols []int, name string) exec.Operator {
	s := NewTableScan(tbl, r, cols, storage.KeySpan{}, name).(*TableScan)
	s.rowID = true
	s.types = append(s.types, types.TInt8)
	return s
}

// Open starts the scan.
func (s *TableScan) Open(ctx *exec.Ctx) error {
	s.Close()
	if s.bounds != nil {
		s.span, s.none = s.bounds.Span(ctx, s.lo, s.hi)
		s.lo, s.hi = s.span.Lo, s.span.Hi
		if s.none {
			return nil
		}
	}
	it, err := s.tbl.Scan(s.reader(), s.span)
	if err != nil {
		return err
	}
	s.it = it
	return nil
}

// Next returns the next batch, or nil at the end.
func (s *TableScan) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if s.it == nil {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cols, n, keys, err := s.it.NextBatch(s.cols, exec.BatchSize)
	if err != nil || n == 0 {
		return nil, err
	}
	if s.rowID {
		b := array.NewInt64Builder(types.Mem)
		defer b.Release()
		b.Reserve(n)
		for _, k := range keys {
			id, err := s.tbl.DecodePK(k)
			if err != nil || len(id) != 1 {
				for _, c := range cols {
					c.Release()
				}
				return nil, fmt.Errorf("scan %s: row id: %v", s.name, err)
			}
			b.Append(id[0].(int64))
		}
		cols = append(cols, b.NewArray())
	}
	return exec.NewBatch(cols, n), nil
}

// Close ends the scan; Open may start it again.
func (s *TableScan) Close() {
	if s.it != nil {
		s.it.Close()
		s.it = nil
	}
}

// Types returns the types of the scanned columns.
func (s *TableScan) Types() []types.T { return s.types }

// Children returns nothing: a scan is a leaf.
func (s *TableScan) Children() []exec.Operator { return nil }

// Explain shows whether the primary key order narrows the scan:
// "Scan t", "Scan t (pk range [1, 5])" or "Point lookup t (pk = 3)".
func (s *TableScan) Explain() string {
	if s.bounds != nil {
		return s.explainBounds()
	}
	sp := s.span
	if sp.Lo == nil && sp.Hi == nil {
		return "Scan " + s.name
	}
	if s.tbl.IsPoint(sp) {
		return fmt.Sprintf("Point lookup %s (pk = %s)", s.name, s.formatKey(sp.Lo))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Scan %s (pk range ", s.name)
	if sp.Lo == nil {
		b.WriteString("(-inf")
	} else {
		if sp.LoInclusive {
			b.WriteByte('[')
		} else {
			b.WriteByte('(')
		}
		b.WriteString(s.formatKey(sp.Lo))
	}
	b.WriteString(", ")
	if sp.Hi == nil {
		b.WriteString("+inf)")
	} else {
		b.WriteString(s.formatKey(sp.Hi))
		if sp.HiInclusive {
			b.WriteByte(']')
		} else {
			b.WriteByte(')')
		}
	}
	b.WriteByte(')')
	return b.String()
}

// explainBounds renders bounds evaluated at Open: "Point lookup t (pk =
// $1)" when they give every key column, else "Scan t (id = $1)",
// "Scan t (id range [$1, +inf))".
func (s *TableScan) explainBounds() string {
	names := make([]string, len(s.tbl.PK))
	for i, c := range s.tbl.PK {
		names[i] = s.tbl.ColNames[c]
	}
	b := s.bounds
	if len(b.Eq) == len(s.tbl.PK) && len(b.Lo) == 0 && len(b.Hi) == 0 {
		parts := make([]string, len(b.Eq))
		for i, e := range b.Eq {
			parts[i] = e.String()
		}
		key := strings.Join(parts, ", ")
		if len(parts) > 1 {
			key = "(" + key + ")"
		}
		return fmt.Sprintf("Point lookup %s (pk = %s)", s.name, key)
	}
	return fmt.Sprintf("Scan %s (%s)", s.name, b.explain(names))
}

// formatKey renders an encoded key prefix as its values: "3", or
// "(1, 'a')" for several columns.
func (s *TableScan) formatKey(k []byte) string {
	vals, err := s.tbl.DecodePK(k)
	if err != nil {
		return fmt.Sprintf("%x", k)
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		t := types.TInt8
		if len(s.tbl.PK) > 0 {
			t = s.tbl.Types[s.tbl.PK[i]]
		}
		switch {
		case v == nil:
			parts[i] = "NULL"
		case t.IsNumeric():
			parts[i] = types.FormatText(v, t, time.UTC)
		default:
			parts[i] = "'" + strings.ReplaceAll(types.FormatText(v, t, time.UTC), "'", "''") + "'"
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
