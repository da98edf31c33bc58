package plan

import (
	"sort"

	"streamsql/catalog"
)

// Stream properties of the leaves and of the nodes whose properties
// follow from their own parameters. They start where a stream starts: a
// table's changelog is keyed by its primary key and is append-only when
// the table is APPEND ONLY; a source is an append-only stream; each read
// column with a WATERMARK FOR carries a watermark.

// StreamProps: a table's changelog is keyed by its primary key (or by
// the row id a scan outputs for a table without one), append-only for an
// APPEND ONLY table, with a watermark on each read WATERMARK FOR column.
// A materialized view's changelog is keyed by its key columns and may
// retract any row.
func (s *Scan) StreamProps() Props {
	var out Props
	key := s.Rel.PrimaryKey
	if s.Rel.Kind == catalog.KindMatView {
		key = s.Rel.ViewKey
	} else {
		out.AppendOnly = s.Rel.AppendOnly
		out.Watermarks = watermarkColumns(s.Rel, s.Cols)
	}
	switch {
	case s.RowID:
		out.Key, out.KeyKnown = []int{len(s.Cols)}, true
	case len(key) > 0:
		out.Key, out.KeyKnown = positions(key, s.Cols)
	}
	return out
}

// StreamProps: a source is an append-only stream, identified by no
// column it outputs, with a watermark on each read WATERMARK FOR column.
func (s *SourceScan) StreamProps() Props {
	return Props{AppendOnly: true, Watermarks: watermarkColumns(s.Rel, s.Cols)}
}

// StreamProps: the group columns identify an aggregation's row (no
// columns: its one row); a row changes as its group does, so the output
// is not append-only. A group column that carries a watermark keeps it: a
// group behind the watermark gets no more rows.
func (a *Aggregate) StreamProps() Props {
	in := StreamProps(a.Input)
	out := Props{Key: allColumns(len(a.GroupCols)), KeyKnown: true}
	for i, c := range a.GroupCols {
		if contains(in.Watermarks, c) {
			out.Watermarks = append(out.Watermarks, i)
		}
	}
	return out
}

// StreamProps: the rows a set-returning call gives for one input row are
// not told apart by any output column; the input's columns keep their
// watermarks.
func (p *ProjectSet) StreamProps() Props {
	in := StreamProps(p.Input)
	return Props{AppendOnly: in.AppendOnly, Watermarks: in.Watermarks, Monotonic: in.Monotonic}
}

// StreamProps: each left row meets at most one table row (the lookup is
// by primary key), so the left's properties hold for the output; a later
// change of the table does not revise emitted rows.
func (l *LookupJoin) StreamProps() Props {
	in := StreamProps(l.Join.Left)
	return Props{Key: in.Key, KeyKnown: in.KeyKnown, AppendOnly: in.AppendOnly, Watermarks: in.Watermarks, Monotonic: in.Monotonic}
}

// StreamProps: a table function of constants gives its rows once.
func (f *TableFunction) StreamProps() Props { return Props{AppendOnly: true} }

// watermarkColumns lists the positions in cols (columns of r) of r's
// WATERMARK FOR columns, ascending.
func watermarkColumns(r *catalog.Relation, cols []int) []int {
	var out []int
	for _, w := range r.Watermarks {
		ci := r.ColumnIndex(w.Column)
		for i, c := range cols {
			if c == ci && !contains(out, i) {
				out = append(out, i)
			}
		}
	}
	sort.Ints(out)
	return out
}

// positions maps the columns key (of a relation) to their positions in
// cols, sorted; ok is false when one is not read.
func positions(key, cols []int) ([]int, bool) {
	out := make([]int, 0, len(key))
	for _, k := range key {
		found := false
		for i, c := range cols {
			if c == k {
				out = append(out, i)
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	sort.Ints(out)
	return out, true
}
