package batch

import (
	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Plan inspection: the stream planner reads a batch plan as its logical
// plan and rebuilds it from streaming operators. These accessors expose
// each operator's parameters.

// FilterParams returns the filter's input and predicate.
func (f *Filter) Params() (exec.Operator, expr.Expr) { return f.in, f.pred }

// Params returns the projection's input and expressions.
func (p *Project) Params() (exec.Operator, []expr.Expr) { return p.in, p.exprs }

// Params returns the aggregation's input, group columns and types, and
// aggregates.
func (h *HashAgg) Params() (exec.Operator, []int, []types.T, []AggSpec) {
	return h.in, h.groupCols, h.groupTypes, h.aggs
}

// JoinParams describes a join.
type JoinParams struct {
	Left, Right         exec.Operator
	Kind                JoinKind
	LeftKeys, RightKeys []int // nil for a nested loop join
	Residual            expr.Expr
}

// Params returns the join's parameters.
func (h *HashJoin) Params() JoinParams {
	return JoinParams{Left: h.left, Right: h.right, Kind: h.kind, LeftKeys: h.leftKeys, RightKeys: h.rightKeys, Residual: h.residual}
}

// Params returns the join's parameters.
func (n *NestedLoopJoin) Params() JoinParams {
	return JoinParams{Left: n.left, Right: n.right, Kind: n.kind, Residual: n.residual}
}

// Params returns the scanned table, columns and key span.
func (s *TableScan) Params() (*storage.Table, []int, storage.KeySpan) { return s.tbl, s.cols, s.span }

// Params returns the rows and column types.
func (v *Values) Params() ([][]expr.Expr, []types.T) { return v.rows, v.ts }

// Params returns the inputs.
func (u *UnionAll) Params() []exec.Operator { return u.inputs }

// Params returns the input and sort keys, and for a top-N sort its limit
// and offset.
func (s *Sort) Params() (exec.Operator, []SortKey, bool, expr.Expr, expr.Expr) {
	return s.in, s.keys, s.topN, s.limit, s.offset
}

// Params returns the input, limit and offset.
func (l *Limit) Params() (exec.Operator, expr.Expr, expr.Expr) { return l.in, l.limit, l.offset }

// Params returns the input and the DISTINCT ON columns (nil: all).
func (d *Distinct) Params() (exec.Operator, []int) { return d.in, d.onCols }

// Params returns the buffered input.
func (b *Buffer) Params() exec.Operator { return b.in }

// Params returns the input, the partition columns, the order keys and
// the window functions.
func (w *Window) Params() (exec.Operator, []int, []SortKey, []WindowFunc) {
	return w.in, w.partition, w.order, w.funcs
}
