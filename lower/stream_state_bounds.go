package lower

import (
	"fmt"
	"slices"
	"strings"

	"streamsql/exec/stream"
	"streamsql/exec/stream/agg"
	"streamsql/exec/stream/join"
	"streamsql/sql/types"
)

// Unbounded state. Most operators keep state bounded by what they read:
// a join or GROUP BY over tables keeps at most as many rows or groups as
// the tables hold, and windows, watermark conditions and deletes free
// the rest. Over an append-only stream (a source, an APPEND ONLY table)
// nothing is ever deleted, so an operator that keeps rows or groups of
// it without a rule to drop them grows for as long as the view runs,
// until the state memory budget spills it all to disk. CREATE
// MATERIALIZED VIEW says so in a NOTICE, and EXPLAIN in a "warning:"
// line under the operator, naming what would bound it:
//
//   - a regular join keeping the rows of an append-only input that no
//     watermark condition cleans (an interval or window join would);
//   - a GROUP BY (or DISTINCT) of an append-only input whose keys grow
//     with time: a time column or the input's stream key, without a
//     window whose watermark closes groups;
//   - an ASOF join over an append-only input without watermarks on both
//     time columns;
//   - a join without an equality condition (a nested loop join), which
//     keeps every row of both inputs.
//
// Forms with a bound get no warning: windowed aggregates, interval and
// window joins with watermarks, aggregates grouped by columns of a fixed
// domain (a symbol, an account).

// StateWarning is an operator of a stream plan whose state has no bound.
type StateWarning struct {
	// Operator is the operator's name as EXPLAIN prints it.
	Operator string
	// Reason says what the state keeps; Hint what would bound it.
	Reason, Hint string
}

// Message is the warning's one-line text.
func (w StateWarning) Message() string { return w.Operator + " " + w.Reason }

// StateWarnings returns the warnings of every operator of the plan under
// n, in EXPLAIN order.
func StateWarnings(n *stream.Node) []StateWarning {
	var out []StateWarning
	seen := map[*stream.Node]bool{}
	var walk func(n *stream.Node)
	walk = func(n *stream.Node) {
		if seen[n] {
			return // a shared node, warned about at its first reader
		}
		seen[n] = true
		out = append(out, nodeStateWarnings(n)...)
		for _, in := range n.Inputs {
			walk(in)
		}
	}
	walk(n)
	return out
}

// nodeStateWarnings returns n's own warnings.
func nodeStateWarnings(n *stream.Node) []StateWarning {
	if n.Spec == nil {
		return nil
	}
	switch s := n.Spec.(type) {
	case *join.HashJoinSpec:
		var out []StateWarning
		for side, rules := range [][]join.JoinCleanup{s.LeftCleanup, s.RightCleanup} {
			if side >= len(n.Inputs) || !n.Inputs[side].AppendOnly || len(rules) > 0 {
				continue
			}
			out = append(out, StateWarning{Operator: "HashJoin",
				Reason: fmt.Sprintf("keeps every row of its append-only %s input (%s): no watermark condition lets it drop rows that can never match again",
					[]string{"left", "right"}[side], inputLabel(n.Inputs[side])),
				Hint: "Bound the join in time: declare WATERMARK FOR on the time columns of both sides and add a condition such as " +
					"a.ts BETWEEN b.ts - INTERVAL '1' MINUTE AND b.ts (an interval join), or join the windows of both sides on window_start."})
		}
		return out
	case *join.NestedLoopJoinSpec:
		if s.OneRowRight {
			return nil
		}
		return []StateWarning{{Operator: "NestedLoopJoin",
			Reason: "keeps every row of both inputs and compares each change with every row of the other input (the join has no equality condition)",
			Hint:   "Add an equality between the two sides to the join condition, or join against an aggregate without GROUP BY (one row)."}}
	case *join.AsofJoinSpec:
		if s.Cleanup || len(n.Inputs) < 2 || !n.Inputs[0].AppendOnly && !n.Inputs[1].AppendOnly {
			return nil
		}
		return []StateWarning{{Operator: "AsofJoin",
			Reason: "keeps every row of its append-only inputs: without watermarks on both time columns no row is ever known to be final",
			Hint:   "Declare WATERMARK FOR on the time columns of both sides (and keep both append-only): rows that no later input can re-pair are then dropped."}}
	case *agg.HashAggSpec:
		if len(s.GroupCols) == 0 || s.WindowCol >= 0 || len(n.Inputs) == 0 || !n.Inputs[0].AppendOnly {
			return nil
		}
		in := n.Inputs[0]
		var growing []string
		for _, c := range s.GroupCols {
			k := in.Types[c].Kind
			if k == types.TimestampKind || k == types.TimestampTZ || k == types.DateKind || slices.Contains(in.StreamKey, c) {
				growing = append(growing, colLabel(in, c))
			}
		}
		if len(growing) == 0 {
			return nil
		}
		what := "GROUP BY"
		if len(s.Aggs) == 0 {
			what = "DISTINCT"
		}
		return []StateWarning{{Operator: "StreamHashAgg",
			Reason: fmt.Sprintf("(%s) keeps a group for every value of %s over an append-only input, keys that grow with time, and no window closes them",
				what, strings.Join(growing, ", ")),
			Hint: "Group by a window of a column with a watermark: FROM TUMBLE(s, ts, INTERVAL '1' MINUTE) ... GROUP BY window_start; " +
				"a window's groups are dropped once the watermark passes its end."}}
	}
	return nil
}

// inputLabel names the relation an input reads: its first leaf's EXPLAIN
// text.
func inputLabel(n *stream.Node) string {
	for n.Source == nil && len(n.Inputs) > 0 {
		n = n.Inputs[0]
	}
	if n.Source != nil {
		return n.Source.Explain()
	}
	return n.Spec.Explain()
}
