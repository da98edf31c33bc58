package lower

import (
	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/sortedpart"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// A view's ORDER BY ... LIMIT n OFFSET m and DISTINCT ON are top-N
// problems, planned on the group top-N operator (sortedpart.TopNSpec):
//
//   - the global top-N ranks every row in one partition (an empty
//     partition key) by the ORDER BY keys, ties broken by the stream key,
//     and keeps the rows ranked m+1 to m+n; FETCH FIRST n ROWS WITH TIES
//     also keeps the rows that tie with the (m+n)-th on the ORDER BY keys;
//   - DISTINCT ON (k) keeps the first row of each k by the ORDER BY keys
//     below it: a top-1 partitioned by k.
//
// Both are maintained under retraction: when a kept row goes, the next
// one in order takes its place. The view has no order of its own; a
// SELECT on it without ORDER BY may return its rows in any order, as in
// PostgreSQL.

// limit plans LIMIT/OFFSET over an optional ORDER BY (with projections
// between them) as a global top-N.
func (sp *streamPlanner) limit(x *plan.Limit) (*stream.Node, []int, error) {
	count, hasCount, err := sp.limitValue(x.Count, "LIMIT")
	if err != nil {
		return nil, nil, err
	}
	offset, _, err := sp.limitValue(x.Offset, "OFFSET")
	if err != nil {
		return nil, nil, err
	}
	if !hasCount {
		if offset > 0 {
			return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot yet maintain OFFSET without LIMIT").
				WithHint("Add a LIMIT: the view keeps the rows ranked past the offset up to the limit.")
		}
		// LIMIT NULL / LIMIT ALL: no limit at all.
		return sp.convert(x.Input)
	}
	// Projections between the limit and the sort are applied after the
	// top-N: they keep rows as they are.
	var projs [][]plan.Scalar
	below := x.Input
	for {
		p, ok := below.(*plan.Project)
		if !ok {
			break
		}
		projs = append(projs, p.Exprs)
		below = p.Input
	}
	var keys []plan.SortKey
	if s, ok := below.(*plan.Sort); ok {
		keys, below = s.Keys, s.Input
	} else {
		// LIMIT without ORDER BY keeps any n rows (those first in stream
		// key order): only the projections are above it.
		below = x.Input
		projs = nil
	}
	child, cm, err := sp.convert(below)
	if err != nil {
		return nil, nil, err
	}
	if count == 0 {
		// LIMIT 0: the view stays empty.
		f, err := sp.compiler.Compile(&plan.Const{Value: false, T: types.TBool})
		if err != nil {
			return nil, nil, err
		}
		return sp.projectAll(inherit(child, &stream.FilterSpec{Pred: f}), cm, projs)
	}
	n := sp.topNNode(child, nil, keys, cm, count, offset)
	n.Spec.(*sortedpart.TopNSpec).WithTies = x.WithTies
	n.StateTables = []string{"rows by (order key, stream key): every live row of the input, or its first LIMIT+OFFSET over append-only input"}
	return sp.projectAll(n, cm, projs)
}

// distinctOn plans DISTINCT ON (cols) over the ORDER BY below it as a
// top-1 per value of cols.
func (sp *streamPlanner) distinctOn(x *plan.Distinct) (*stream.Node, []int, error) {
	var keys []plan.SortKey
	below := x.Input
	if s, ok := below.(*plan.Sort); ok {
		keys, below = s.Keys, s.Input
	}
	child, cm, err := sp.convert(below)
	if err != nil {
		return nil, nil, err
	}
	n := sp.topNNode(child, x.On, keys, cm, 1, 0)
	n.StateTables = []string{"rows by (DISTINCT ON key, order key, stream key): every live row, or the first of each key over append-only input; a key is deleted with its last row"}
	return n, cm, nil
}

// topNNode builds a top-N over child (columns of the logical input mapped
// by cm): partition and order keys name logical columns. Its output
// columns are child's.
func (sp *streamPlanner) topNNode(child *stream.Node, partition []int, order []plan.SortKey, cm []int, limit, offset int64) *stream.Node {
	spec := &sortedpart.TopNSpec{Limit: limit, Offset: offset, Types: child.Types, StreamKey: child.StreamKey,
		AppendOnly: child.AppendOnly, WatermarkPartCol: -1, LateSpec: stream.LateSpec{KeepLate: !sp.dropLate}}
	for _, p := range partition {
		spec.Partition = append(spec.Partition, cm[p])
	}
	for _, k := range order {
		k.Col = cm[k.Col]
		spec.Order = append(spec.Order, k)
	}
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{child}, Types: child.Types, Names: child.Names,
		StreamKey: append([]int(nil), child.StreamKey...)}
	if sp.parallel && len(spec.Partition) > 0 {
		// Keep one output key in one instance (see join).
		n.StreamKey = appendMissing(n.StreamKey, spec.Partition, 0)
	}
	return n
}

// projectAll applies the projections projs (outermost first) over n.
func (sp *streamPlanner) projectAll(n *stream.Node, m []int, projs [][]plan.Scalar) (*stream.Node, []int, error) {
	for i := len(projs) - 1; i >= 0; i-- {
		var err error
		if n, m, err = sp.project(n, m, projs[i]); err != nil {
			return nil, nil, err
		}
	}
	return n, m, nil
}

// limitValue evaluates a LIMIT or OFFSET expression, which must be a
// constant in a view; ok is false when e is nil or NULL (no limit).
func (sp *streamPlanner) limitValue(e plan.Scalar, clause string) (v int64, ok bool, err error) {
	if e == nil {
		return 0, false, nil
	}
	bad := false
	plan.Rewrite(e, func(x plan.Scalar) (plan.Scalar, bool) {
		switch x.(type) {
		case *plan.ColRef, *plan.Param, *plan.Subquery, *plan.OuterRef:
			bad = true
		}
		return nil, false
	})
	if bad {
		return 0, false, notIncremental("a %s that is not a constant", clause)
	}
	ce, err := sp.compiler.Compile(e)
	if err != nil {
		return 0, false, err
	}
	d, err := expr.EvalConst(&exec.Ctx{}, ce)
	if err != nil {
		return 0, false, err
	}
	if d == nil {
		return 0, false, nil
	}
	v, isInt := plan.IntValue(d)
	if !isInt {
		return 0, false, sqlerr.New(sqlerr.DatatypeMismatch, "argument of %s must be type bigint", clause)
	}
	if v < 0 {
		if clause == "OFFSET" {
			return 0, false, sqlerr.New(sqlerr.InvalidRowCountInOffset, "OFFSET must not be negative")
		}
		return 0, false, sqlerr.New(sqlerr.InvalidRowCountInLimit, "LIMIT must not be negative")
	}
	return v, true, nil
}
