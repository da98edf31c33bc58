package join

import (
	"fmt"
	"testing"

	"streamsql/exec/batch"
)

// nljSpec is a nested loop join of hjSpec's inputs (l.v < r.w, or no
// condition: a cross join).
func nljSpec(t *testing.T, kind batch.JoinKind, residual, oneRow bool) *NestedLoopJoinSpec {
	s := &NestedLoopJoinSpec{HashJoinSpec: *hjSpec(t, kind, residual), OneRowRight: oneRow}
	s.LeftKeys, s.RightKeys = nil, nil
	return s
}

// TestNestedLoopEvictionMatchesUnlimited: a join without keys under a
// budget of a few bytes evicts the stored rows of the sides that may
// spill at every barrier and joins changes with the rows left in
// storage; it emits what the same join without a budget emits, every
// epoch and across restarts, for every join kind with a side that may
// spill (a full join's rows all carry degrees). A DynamicFilter keeps
// its right input at one row.
func TestNestedLoopEvictionMatchesUnlimited(t *testing.T) {
	kinds := []batch.JoinKind{batch.InnerJoin, batch.LeftJoin, batch.RightJoin, batch.SemiJoin, batch.AntiJoin}
	for _, oneRow := range []bool{false, true} {
		for _, kind := range kinds {
			for _, residual := range []bool{false, true} {
				t.Run(fmt.Sprint("oneRow=", oneRow, "/", kind, "/residual=", residual), func(t *testing.T) {
					jcacheCompareGen(t, nljSpec(t, kind, residual, oneRow), 5, oneRow, true)
				})
			}
		}
	}
}

// TestNestedLoopEvictionNoStreamKey: inputs without a stream key keep
// duplicate rows apart by sequence numbers, in storage too.
func TestNestedLoopEvictionNoStreamKey(t *testing.T) {
	spec := nljSpec(t, batch.InnerJoin, true, false)
	spec.LeftStreamKey, spec.RightStreamKey = nil, nil
	jcacheCompareGen(t, spec, 6, false, true)
}
