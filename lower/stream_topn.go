package lower

import (
	"slices"

	"streamsql/exec/stream"
	"streamsql/exec/stream/sortedpart"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// topN recognizes the group top-N pattern, a filter on ROW_NUMBER() over a
// window (with a projection between them or not):
//
//	SELECT ... FROM (SELECT ..., row_number() OVER (PARTITION BY p ORDER BY o) AS rn FROM t) WHERE rn <= N
//
// and plans it as a StreamGroupTopN. With rank() instead of row_number()
// it is the top-N with ties: the rows ranked N or better are the first N
// and those that tie with the N-th. ok is false when f is not that
// pattern.
func (sp *streamPlanner) topN(f *plan.Filter) (n *stream.Node, m []int, ok bool, err error) {
	var proj []plan.Scalar
	below := f.Input
	if p, isProj := below.(*plan.Project); isProj {
		below, proj = p.Input, p.Exprs
	}
	w, isWin := below.(*plan.Window)
	if !isWin {
		return nil, nil, false, nil
	}
	win, part, order, funcs := w.Input, w.Partition, w.Order, w.Funcs
	if len(funcs) != 1 || funcs[0].Name != "row_number" && funcs[0].Name != "rank" || len(order) == 0 {
		return nil, nil, false, nil
	}
	rnCol := len(win.OutputTypes())
	isRn := func(idx int) bool {
		if proj == nil {
			return idx == rnCol
		}
		c, ok := proj[idx].(*plan.ColRef)
		return ok && c.Idx == rnCol
	}
	limit := int64(-1)
	var rest []plan.Scalar
	for _, c := range plan.SplitAnd(f.Pred, nil) {
		if l, ok := rowNumberBound(c, isRn); ok && limit < 0 {
			limit = l
			continue
		}
		rest = append(rest, c)
	}
	if limit < 1 {
		return nil, nil, false, nil
	}
	child, cm, err := sp.convert(win)
	if err != nil {
		return nil, nil, true, err
	}
	spec := &sortedpart.TopNSpec{Limit: limit, Types: child.Types, StreamKey: child.StreamKey,
		AppendOnly: child.AppendOnly, WithRank: true, WithTies: funcs[0].Name == "rank", WatermarkPartCol: -1, LateSpec: stream.LateSpec{KeepLate: !sp.dropLate}}
	for _, p := range part {
		c := cm[p]
		if spec.WatermarkPartCol < 0 && slices.Contains(child.Watermarks, c) {
			// A window behind the watermark is final: its partition can
			// leave the state. The column goes first in the partition
			// key so that those partitions form one key range.
			spec.WatermarkPartCol = c
			spec.Partition = slices.Insert(spec.Partition, 0, c)
			continue
		}
		spec.Partition = append(spec.Partition, c)
	}
	for _, k := range order {
		k.Col = cm[k.Col]
		spec.Order = append(spec.Order, k)
	}
	n = &stream.Node{Spec: spec, Inputs: []*stream.Node{child},
		Types:       append(append([]types.T(nil), child.Types...), types.TInt8),
		Names:       append(append([]string(nil), child.Names...), funcs[0].Name),
		StreamKey:   append([]int(nil), child.StreamKey...),
		StateTables: []string{"rows by (partition, order key, stream key): every live row of a partition, or its top N over append-only input; a partition is deleted with its last row"}}
	if spec.WatermarkPartCol >= 0 {
		// The watermark passes through (the column keeps its index), at
		// the barrier after the changes it covers.
		n.Watermarks = []int{spec.WatermarkPartCol}
		n.StateTables[0] += ", or once the watermark passes its partition column"
	}
	if sp.parallel {
		// Keep one output key in one instance (see join).
		n.StreamKey = appendMissing(n.StreamKey, spec.Partition, 0)
	}
	m = append(append([]int(nil), cm[:rnCol]...), len(child.Types))
	if proj != nil {
		if n, m, err = sp.project(n, m, proj); err != nil {
			return nil, nil, true, err
		}
	}
	if len(rest) > 0 {
		if n, err = sp.filterConds(n, rest, m); err != nil {
			return nil, nil, true, err
		}
	}
	return n, m, true, nil
}

// rowNumberBound reads "rn <= k", "rn < k", "rn = 1" (or reversed) as the
// limit it sets.
func rowNumberBound(c plan.Scalar, isRn func(int) bool) (int64, bool) {
	call, ok := c.(*plan.Call)
	if !ok || len(call.Args) != 2 {
		return 0, false
	}
	op := call.Fn.Name
	col, isCol := call.Args[0].(*plan.ColRef)
	k, isConst := call.Args[1].(*plan.Const)
	if !isCol || !isConst {
		col, isCol = call.Args[1].(*plan.ColRef)
		k, isConst = call.Args[0].(*plan.Const)
		flip := map[string]string{"<=": ">=", ">=": "<=", "<": ">", ">": "<", "=": "="}
		op = flip[op]
	}
	if !isCol || !isConst || !isRn(col.Idx) {
		return 0, false
	}
	v, ok := plan.IntValue(k.Value)
	if !ok {
		return 0, false
	}
	switch op {
	case "<=":
		return v, true
	case "<":
		return v - 1, true
	case "=":
		if v == 1 {
			return 1, true
		}
	}
	return 0, false
}
