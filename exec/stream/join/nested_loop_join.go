package join

// NestedLoopJoin is the streaming join without equality keys: every row
// of one side is a candidate match of every row of the other, and the
// join condition decides. It runs as the hash join with an empty join
// key (all rows of a side in one bucket), so it has the hash join's
// output, retraction, degrees, state tables and recovery; a change on
// one side evaluates the condition against every stored row of the other
// side at once (vectorized, in ranges).
//
// Two shapes are planned, and EXPLAIN names them:
//
//   - DynamicFilter: the right side has at most one row (an aggregate
//     without GROUP BY: WHERE v > (SELECT max(v) FROM t2), a scalar
//     subquery, the count of an uncorrelated EXISTS). A left row costs
//     one evaluation; a change of the one row re-evaluates the stored
//     left rows. The state is the left rows and the one row.
//   - NestedLoopJoin: both sides may be large (a.ts BETWEEN b.lo AND
//     b.hi). A change on either side costs one evaluation per stored row
//     of the other, and both sides are kept whole: the state grows with
//     both inputs.
//
// # State layout
//
// That of the hash join (hash_join.go) with an empty join key: each
// side's rows by stream key, so the two tables are the two inputs.

import (
	"strings"

	"streamsql/exec/stream"
)

// NestedLoopJoinSpec describes a join without equality keys; its
// HashJoinSpec has no keys.
type NestedLoopJoinSpec struct {
	HashJoinSpec
	// OneRowRight: the right input has at most one row (DynamicFilter).
	OneRowRight bool
}

// NestedLoopJoinStateTables describes the join's state tables for
// Node.StateTables.
func NestedLoopJoinStateTables(oneRow bool) []string {
	if oneRow {
		return []string{
			"left rows by stream key (removed on delete)",
			"the right side's one row",
		}
	}
	return []string{
		"left rows by stream key (removed on delete; unbounded: every left row is kept)",
		"right rows by stream key (removed on delete; unbounded: every right row is kept)",
	}
}

// Explain implements Spec.
func (s *NestedLoopJoinSpec) Explain() string {
	var sb strings.Builder
	if s.OneRowRight {
		sb.WriteString("DynamicFilter ")
	} else {
		sb.WriteString("NestedLoopJoin ")
	}
	sb.WriteString(s.Kind.String())
	if s.Residual != nil {
		sb.WriteString(" on ")
		sb.WriteString(s.Residual.String())
	}
	if s.OneRowRight {
		sb.WriteString(" against one row")
	}
	return sb.String()
}

// Build implements Spec: the hash join with no keys.
func (s *NestedLoopJoinSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	h := s.HashJoinSpec
	h.LeftKeys, h.RightKeys = nil, nil
	return h.Build(b, out)
}
