package lower

import (
	"slices"

	"streamsql/exec/stream"
	"streamsql/exec/stream/join"
	"streamsql/sql/plan"
)

// lookupJoin plans a lookup join as a stream node over its left input.
func (sp *streamPlanner) lookupJoin(x *plan.LookupJoin) (*stream.Node, []int, error) {
	left, lm, err := sp.convert(x.Join.Left)
	if err != nil {
		return nil, nil, err
	}
	lw := len(x.Join.Left.OutputTypes())
	nl := len(left.Types)
	m := make([]int, 0, lw+len(x.RightCols))
	m = append(m, lm[:lw]...)
	for j := range x.RightCols {
		m = append(m, nl+j)
	}
	tbl := x.Table.Table()
	spec := &join.LookupJoinSpec{Kind: x.Join.Kind, Table: tbl, RightCols: x.RightCols,
		LeftTypes: left.Types, LeftStreamKey: left.StreamKey, LeftAppendOnly: left.AppendOnly}
	for _, k := range x.Keys {
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
	if x.Residual != nil {
		// Evaluated once per inserted left row; a delete replays the
		// stored result instead.
		out := &stream.Node{AppendOnly: true}
		res, err := remapProcTime(x.Residual, m, out)
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
	for _, c := range x.RightCols {
		n.Types = append(n.Types, tbl.Types[c])
		n.Names = append(n.Names, tbl.ColNames[c])
	}
	if !left.AppendOnly {
		n.StateTables = []string{"what each left row emitted: left stream key -> the table row it was joined with (or padded with NULLs); deleted with the left row"}
	}
	return n, m, nil
}
