package plan

import (
	"fmt"

	"streamsql/sql/types"
)

// AsofJoin joins each row of Left with the one row of Right that has
// equal Keys and is nearest to it in time on the side Op names:
//
//	FROM trades t ASOF JOIN quotes q MATCH_CONDITION (t.ts >= q.ts) ON t.sym = q.sym
//
// pairs every trade with the latest quote of its symbol at or before the
// trade. LeftTime Op RightTime must hold; among the right rows for which
// it does, the nearest is the one with the greatest RightTime for ">="
// and ">" and the least for "<=" and "<". A row whose keys or time are
// NULL matches nothing. Kind is InnerJoin (left rows without a match are
// dropped) or LeftJoin (they are padded with NULLs). Several right rows
// of one key with the same time are all equally near: one of them is
// taken (the streaming operator takes the first in stream key order).
//
// Filters above the join are not pushed into its inputs: a condition on
// the right side changes which row is nearest.
type AsofJoin struct {
	Kind        JoinKind
	Left, Right Rel
	Keys        EquiKeys
	// LeftTime reads the left columns, RightTime the right ones
	// (numbered from 0); both have the same type.
	LeftTime, RightTime Scalar
	// Op is ">=", ">", "<=" or "<".
	Op string
	// Names are the output columns' names, for EXPLAIN.
	Names []string
}

// OutputTypes returns the left columns' types, then the right ones'.
func (a *AsofJoin) OutputTypes() []types.T {
	return append(append([]types.T{}, a.Left.OutputTypes()...), a.Right.OutputTypes()...)
}

// Backward reports whether the nearest right row is the latest one at or
// before the left row's time (">=" and ">").
func (a *AsofJoin) Backward() bool { return a.Op == ">=" || a.Op == ">" }

// String renders the join for plan trees: "asof join inner key #1 = #0
// match #2 >= #1".
func (a *AsofJoin) String() string {
	s := "asof join " + a.Kind.String()
	for i := range a.Keys.Left {
		s += fmt.Sprintf(" key %s = %s", a.Keys.Left[i], a.Keys.Right[i])
	}
	return s + fmt.Sprintf(" match %s %s %s", a.LeftTime, a.Op, a.RightTime)
}

// StreamProps: each left row gives at most one output row (an inner
// join) or exactly one (a left join), so the left's key identifies the
// output; a change on the right side re-pairs earlier left rows, so the
// output is never append-only. The left side's watermarks hold.
func (a *AsofJoin) StreamProps() Props {
	l := StreamProps(a.Left)
	return Props{Key: l.Key, KeyKnown: l.KeyKnown, Watermarks: l.Watermarks, Monotonic: l.Monotonic}
}
