package lower

import (
	"slices"

	"streamsql/exec/stream"
	"streamsql/exec/stream/join"
)

// lookupJoin plans a lookup join as a stream node over its left input.
func (sp *streamPlanner) lookupJoin(x *lookupJoin) (*stream.Node, []int, error) {
	left, lm, err := sp.convert(x.left)
	if err != nil {
		return nil, nil, err
	}
	lw := len(x.left.Types())
	nl := len(left.Types)
	m := make([]int, 0, lw+len(x.rightCols))
	m = append(m, lm[:lw]...)
	for j := range x.rightCols {
		m = append(m, nl+j)
	}
	spec := &join.LookupJoinSpec{Kind: x.kind, Table: x.table, RightCols: x.rightCols,
		LeftTypes: left.Types, LeftStreamKey: left.StreamKey, LeftAppendOnly: left.AppendOnly}
	for _, k := range x.keys {
		// A key is computed once per left row, like a select list.
		rk, err := remapProcTime(k, lm, left)
		if err != nil {
			return nil, nil, err
		}
		ck, err := sp.compiler.Compile(rk)
		if err != nil {
			return nil, nil, err
		}
		spec.Keys = append(spec.Keys, ck)
	}
	if x.residual != nil {
		// Evaluated once per inserted left row; a delete replays the
		// stored result instead.
		out := &stream.Node{AppendOnly: true}
		res, err := remapProcTime(x.residual, m, out)
		if err != nil {
			return nil, nil, err
		}
		if spec.Residual, err = sp.compiler.Compile(res); err != nil {
			return nil, nil, err
		}
	}
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{left},
		Types:      slices.Clone(left.Types),
		Names:      slices.Clone(left.Names),
		StreamKey:  slices.Clone(left.StreamKey),
		AppendOnly: left.AppendOnly,
		Watermarks: slices.Clone(left.Watermarks)}
	for _, c := range x.rightCols {
		n.Types = append(n.Types, x.table.Types[c])
		n.Names = append(n.Names, x.table.ColNames[c])
	}
	if !left.AppendOnly {
		n.StateTables = []string{"what each left row emitted: left stream key -> the table row it was joined with (or padded with NULLs); deleted with the left row"}
	}
	return n, m, nil
}
