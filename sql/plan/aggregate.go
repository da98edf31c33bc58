package plan

import (
	"fmt"
	"strings"

	"streamsql/sql/types"
	"streamsql/udf"
)

// Aggregate groups the rows of Input by the columns GroupCols and computes
// Aggs over each group. Its rows are the group columns in order, then one
// column per aggregate; without group columns there is exactly one row,
// also for no input (SELECT count(*) FROM t). The planner projects the
// group keys, the aggregates' arguments, their FILTER conditions and the
// expressions of ORDER BY inside a call as columns of Input.
type Aggregate struct {
	Input     Rel
	GroupCols []int
	Aggs      []AggCall
}

// AggCall is one aggregate call: Fn over the columns Args of the
// aggregate's input, of the distinct argument tuples only when Distinct,
// over the rows whose column Filter is true when Filter >= 0 (FILTER
// (WHERE ...)), giving a value of type T.
type AggCall struct {
	Fn       *udf.Aggregate
	Args     []int
	Distinct bool
	Filter   int
	T        types.T
	// Order is the call's own ordering: ORDER BY inside the call (the
	// columns of Input the rows are ordered by, for order-sensitive
	// aggregates such as array_agg), or the WITHIN GROUP ordering of an
	// ordered-set aggregate (one key over its last argument). Operators
	// keep each group's rows of an ordered call in this order.
	Order []AggOrder
}

// AggOrder is one key of an aggregate's ordering.
type AggOrder struct {
	Col              int
	T                types.T
	Desc, NullsFirst bool
}

// Descending reports whether an ordered-set aggregate sorts its values
// in descending order (WITHIN GROUP (ORDER BY x DESC)).
func (a AggCall) Descending() bool {
	return a.Fn.WithinGroup && len(a.Order) > 0 && a.Order[0].Desc
}

func (a AggCall) String() string {
	var sb strings.Builder
	sb.WriteString(a.Fn.Name + "(")
	if a.Distinct {
		sb.WriteString("DISTINCT ")
	}
	if len(a.Args) == 0 {
		sb.WriteString("*")
	}
	for i, c := range a.Args {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "#%d", c)
	}
	for i, o := range a.Order {
		switch {
		case i > 0:
			sb.WriteString(", ")
		case a.Fn.WithinGroup:
			sb.WriteString(") WITHIN GROUP (ORDER BY ")
		default:
			sb.WriteString(" ORDER BY ")
		}
		fmt.Fprintf(&sb, "#%d", o.Col)
		if o.Desc {
			sb.WriteString(" DESC")
		}
		if o.NullsFirst != o.Desc {
			if o.NullsFirst {
				sb.WriteString(" NULLS FIRST")
			} else {
				sb.WriteString(" NULLS LAST")
			}
		}
	}
	sb.WriteString(")")
	if a.Filter >= 0 {
		fmt.Fprintf(&sb, " FILTER (WHERE #%d)", a.Filter)
	}
	return sb.String()
}

// GroupTypes returns the types of the group columns.
func (a *Aggregate) GroupTypes() []types.T {
	in := a.Input.OutputTypes()
	ts := make([]types.T, len(a.GroupCols))
	for i, c := range a.GroupCols {
		ts[i] = in[c]
	}
	return ts
}

// ArgTypes returns the types of call's argument columns.
func (a *Aggregate) ArgTypes(call AggCall) []types.T {
	in := a.Input.OutputTypes()
	ts := make([]types.T, len(call.Args))
	for i, c := range call.Args {
		ts[i] = in[c]
	}
	return ts
}

// OutputTypes returns the group columns' types, then the aggregates'.
func (a *Aggregate) OutputTypes() []types.T {
	ts := a.GroupTypes()
	for _, c := range a.Aggs {
		ts = append(ts, c.T)
	}
	return ts
}

// String renders the aggregation for plan trees: "aggregate group by #0:
// count(*), sum(#1) FILTER (WHERE #2)".
func (a *Aggregate) String() string {
	return "aggregate" + prefixed(" group by ", cols(a.GroupCols)) + prefixed(": ", list(a.Aggs))
}
