package lower

import (
	"slices"

	"streamsql/exec/stream"
	"streamsql/exec/stream/join"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// asofJoin plans an ASOF join as a stream node over its two inputs, with
// computed keys and times projected under it as for a hash join.
func (sp *streamPlanner) asofJoin(x *plan.AsofJoin) (*stream.Node, []int, error) {
	s := asofShapeOf(x)
	left, right, lm, rm, err := sp.convertSides(mergeProjects(s.left), mergeProjects(s.right))
	if err != nil {
		return nil, nil, err
	}
	spec := &join.AsofJoinSpec{Kind: x.Kind, Op: x.Op,
		LeftTime: lm[s.leftTime], RightTime: rm[s.rightTime],
		LeftTypes: left.Types, RightTypes: right.Types, LeftNames: left.Names, RightNames: right.Names,
		LeftStreamKey: left.StreamKey, RightStreamKey: right.StreamKey}
	for k := range s.leftKeys {
		spec.LeftKeys = append(spec.LeftKeys, lm[s.leftKeys[k]])
		spec.RightKeys = append(spec.RightKeys, rm[s.rightKeys[k]])
	}
	spec.Cleanup = left.AppendOnly && right.AppendOnly &&
		slices.Contains(left.Watermarks, spec.LeftTime) && slices.Contains(right.Watermarks, spec.RightTime)
	lw := len(s.left.OutputTypes())
	m := make([]int, 0, lw+len(s.right.OutputTypes()))
	m = append(m, lm[:lw]...)
	for i := range s.right.OutputTypes() {
		m = append(m, len(left.Types)+rm[i])
	}
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{left, right},
		Types:      append(append([]types.T(nil), left.Types...), right.Types...),
		Names:      append(append([]string(nil), left.Names...), right.Names...),
		StreamKey:  slices.Clone(left.StreamKey),
		Watermarks: slices.Clone(left.Watermarks)}
	if sp.parallel {
		// A left row's changes must come from one instance even when an
		// update moves it to another key.
		n.StreamKey = appendMissing(n.StreamKey, spec.LeftKeys, 0)
	}
	n.StateTables = join.AsofJoinStateTables(spec.Cleanup)
	if s.out == nil {
		return n, m, nil
	}
	return sp.project(n, m, s.out)
}
