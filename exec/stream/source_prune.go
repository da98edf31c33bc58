package stream

import "streamsql/exec/expr"

// Pruning a source's columns.
//
// A generator source (nexmark, datagen) spends most of its time making
// column values, and a query often reads a few of its columns (Nexmark q0
// reads four of bid's seven, not the long url and extra strings). When
// the operator right over a source (past a row id generator) is a
// projection of bare columns, the columns it does not read are never
// looked at: a source that can (ColumnPruner) then fills them with NULLs
// instead of making them. The source's output keeps its shape, so plans,
// positions and state are the same; its watermark and stream key
// columns are always made.

// ColumnPruner is a source spec that can leave out the columns no
// operator reads.
type ColumnPruner interface {
	// PruneColumns returns the spec that makes only the columns used[i]
	// (by output column) and NULLs in the others; ok is false when it
	// has nothing to leave out.
	PruneColumns(used []bool) (spec SourceSpec, ok bool)
}

// PruneSourceColumns lets the sources of plan n that can leave out the
// columns the projection over them does not read.
func PruneSourceColumns(n *Node) {
	for _, in := range n.Inputs {
		PruneSourceColumns(in)
	}
	p, ok := n.Spec.(*ProjectSpec)
	if !ok || len(n.Inputs) != 1 {
		return
	}
	src := n.Inputs[0]
	if _, ok := src.Spec.(*RowIDSpec); ok && len(src.Inputs) == 1 {
		src = src.Inputs[0]
	}
	cp, ok := src.Source.(ColumnPruner)
	if !ok {
		return
	}
	used := make([]bool, len(src.Types))
	for _, e := range p.Exprs {
		c, ok := e.(*expr.ColRef)
		if !ok {
			return
		}
		if c.Idx < len(used) {
			used[c.Idx] = true
		}
	}
	for _, c := range src.Watermarks {
		used[c] = true
	}
	for _, c := range src.StreamKey {
		used[c] = true
	}
	if s, ok := cp.PruneColumns(used); ok {
		src.Source = s
	}
}

// PrunedColumns returns the columns a ColumnPruner of width columns
// leaves out for used (pruned[i] when column i is not used and not in
// keep); ok is false when there are none, or used is not of its width.
func PrunedColumns(used []bool, width int, keep []int) (pruned []bool, ok bool) {
	if len(used) != width {
		return nil, false
	}
	pruned = make([]bool, len(used))
	for i, u := range used {
		pruned[i] = !u
	}
	for _, c := range keep {
		pruned[c] = false
	}
	for _, p := range pruned {
		ok = ok || p
	}
	return pruned, ok
}
