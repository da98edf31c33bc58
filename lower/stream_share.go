package lower

import (
	"reflect"
	"slices"

	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/udf"
)

// Common subplans. A query that reads the same aggregation twice (Nexmark
// q5 counts the bids per auction and window in two subqueries, one of
// them joined with the other's maximum per window) plans it once: the
// stream node of the aggregation gets one consumer per reader, and the
// job builds its operator, and everything under it, once and fans its
// output out to all of them (stream.Node, exec/stream/fanout.go). Only
// aggregations are looked up: they keep the state and do the work, and
// what they read comes along with them.
//
// Two aggregations are the same when their logical trees are equal
// value for value (reflect.DeepEqual: a difference anywhere, a column's
// name included, keeps them apart) and are made only of scans, filters,
// projections, window functions and aggregations over expressions that
// give the same result for the same row (no volatile function, no
// subquery, no processing time). An EMIT ON WINDOW CLOSE view shares
// nothing: only one of its aggregations emits on close.

// sharedRel is an aggregation planned already.
type sharedRel struct {
	rel plan.Rel
	n   *stream.Node
	m   []int
}

// sharedAgg returns the node planned already for an aggregation equal to
// x, and its column map.
func (sp *streamPlanner) sharedAgg(x *plan.Aggregate) (*stream.Node, []int, bool) {
	if sp.eowc || sp.noShare || !shareable(x) {
		return nil, nil, false
	}
	for _, s := range sp.shared {
		if reflect.DeepEqual(s.rel, plan.Rel(x)) {
			return s.n, slices.Clone(s.m), true
		}
	}
	return nil, nil, false
}

// share records the node planned for the aggregation x.
func (sp *streamPlanner) share(x *plan.Aggregate, n *stream.Node, m []int) {
	if sp.eowc || sp.noShare || !shareable(x) {
		return
	}
	sp.shared = append(sp.shared, sharedRel{rel: x, n: n, m: slices.Clone(m)})
}

// shareable reports whether r is made only of the relations and
// expressions a shared subplan may hold.
func shareable(r plan.Rel) bool {
	var scalars []plan.Scalar
	switch x := r.(type) {
	case *plan.Aggregate:
		for _, a := range x.Aggs {
			if a.Fn == nil || a.Fn.User {
				return false
			}
		}
	case *plan.Project:
		scalars = x.Exprs
	case *plan.Filter:
		scalars = []plan.Scalar{x.Pred}
	case *plan.WindowTVF:
		scalars = x.Durations()
	case *plan.SourceScan:
		return true
	case *plan.Scan:
		scalars = slices.Clone(x.Bounds.Eq)
		for _, b := range append(slices.Clone(x.Bounds.Lo), x.Bounds.Hi...) {
			scalars = append(scalars, b.Value)
		}
	default:
		return false
	}
	for _, e := range scalars {
		if !sameForSameRow(e) {
			return false
		}
	}
	for _, in := range plan.Inputs(r) {
		if !shareable(in) {
			return false
		}
	}
	return true
}

// sameForSameRow reports whether e gives one result per input row.
func sameForSameRow(e plan.Scalar) bool {
	ok := true
	plan.Visit(e, func(x plan.Scalar) {
		switch n := x.(type) {
		case *plan.Subquery, *plan.OuterRef, plan.ProcTime:
			ok = false
		case *plan.Call:
			if n.Fn == nil || n.Fn.Volatility == udf.Volatile {
				ok = false
			}
		}
	})
	return ok
}
