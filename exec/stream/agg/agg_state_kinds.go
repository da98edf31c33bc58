package agg

// Which state an aggregate call gets beyond the core kinds of
// agg_state.go, and which calls a view cannot maintain.
//
//	approx_count_distinct   counts per (register, rho) of a HyperLogLog
//	                        sketch (agg_state_hll.go)
//	var/stddev over floats, exact sums of x, y, x*x, y*y, x*y
//	corr, covar_*, regr_*   (agg_state_moments.go)
//	var/stddev over         exact numeric N, sum(x), sum(x*x)
//	integers and numerics   (agg_state_moments.go)
//	bit_and/or/xor          a count of one-bits per bit position
//	ORDER BY inside a call  a multiset keyed by (ordering keys, arguments),
//	                        so its entries come out in the call's order
//	                        (agg_state_ordered.go)
//	WITHIN GROUP and the    a multiset of argument tuples, recomputed
//	rest                    through the registry's accumulator
//
// A spec carries the ORDER BY columns of an ordered call as the call's
// first arguments (batch.AggSpec.OrderFirst), so that they reach the state
// with the other arguments and are persisted with its multiset entries.

import (
	"fmt"
	"strings"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Maintainable returns an error when a view cannot maintain the call a.
func Maintainable(a batch.AggSpec) error {
	if a.Distinct && a.Ordered() {
		return sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot yet maintain the aggregate %s() with both DISTINCT and ORDER BY", a.Agg.Name)
	}
	if a.Agg.User {
		return nil // their own state, or recomputed (agg_user.go)
	}
	if a.Agg.New == nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot yet maintain the aggregate %s()", a.Agg.Name)
	}
	return nil
}

// newAggStateMore returns the state of the aggregates this file lists,
// ok false for the others.
func newAggStateMore(a batch.AggSpec, env *stream.Env) (aggState, bool) {
	if a.Ordered() {
		return newAggOrdered(a, env), true
	}
	name := a.Agg.Name
	var in types.T
	if len(a.ArgTypes) > 0 {
		in = a.ArgTypes[0]
	}
	switch {
	case name == "approx_count_distinct" && len(a.ArgTypes) == 1:
		return &aggHLL{t: in, aggSetState: setState(a.ArgTypes)}, true
	case udf.IsRegrAggregate(name) && len(a.ArgTypes) == 2:
		return &aggMoments{fn: name, pair: true}, true
	case (name == "bit_and" || name == "bit_or" || name == "bit_xor") && len(a.ArgTypes) == 1:
		return &aggBits{fn: name}, true
	}
	v, ok := varianceKinds[name]
	if !ok || len(a.ArgTypes) != 1 {
		return nil, false
	}
	switch in.Kind {
	case types.Float4, types.Float8:
		return &aggMoments{fn: name, sample: v.sample, sqrt: v.sqrt}, true
	case types.Int2, types.Int4, types.Int8, types.Numeric:
		return &aggNumVar{sample: v.sample, sqrt: v.sqrt}, true
	}
	return nil, false
}

var varianceKinds = map[string]struct{ sample, sqrt bool }{
	"stddev": {true, true}, "stddev_samp": {true, true}, "stddev_pop": {false, true},
	"variance": {true, false}, "var_samp": {true, false}, "var_pop": {false, false},
}

// explainAggOrder writes a call's ordering for EXPLAIN: the argument
// positions it orders by (an ordered call's first arguments, an
// ordered-set aggregate's last) and their direction.
func explainAggOrder(sb *strings.Builder, a batch.AggSpec) {
	for i, o := range a.Order {
		if i == 0 {
			if a.Agg.WithinGroup {
				sb.WriteString(" within group order by")
			} else {
				sb.WriteString(" order by")
			}
		} else {
			sb.WriteString(",")
		}
		col := o.Col
		if a.Agg.WithinGroup {
			col = len(a.Args) - 1
		}
		fmt.Fprintf(sb, " #%d", a.Args[col])
		if o.Desc {
			sb.WriteString(" desc")
		}
	}
}
