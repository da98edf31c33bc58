package lower

import (
	"slices"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/agg"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// sessionAgg plans an aggregation over SESSION as one StreamSessionAgg:
// the logical plan is Aggregate(Project(session window)), where the
// projection computes the group keys (partition columns and window
// columns) and the aggregate arguments. ok is false when x is not over a
// SESSION.
func (sp *streamPlanner) sessionAgg(x *plan.Aggregate) (n *stream.Node, m []int, ok bool, err error) {
	groupCols, groupTypes := x.GroupCols, x.GroupTypes()
	proj, isProj := x.Input.(*plan.Project)
	if !isProj {
		return nil, nil, false, nil
	}
	exprs := proj.Exprs
	sw, isSession := proj.Input.(*plan.SessionWindow)
	if !isSession {
		return nil, nil, false, nil
	}
	aggs := make([]batch.AggSpec, len(x.Aggs))
	for i, a := range x.Aggs {
		aggs[i] = batch.AggSpec{Agg: a.Fn, Args: a.Args, ArgTypes: x.ArgTypes(a), Distinct: a.Distinct, Filter: a.Filter, T: a.T,
			Order: aggOrder(a.Order, nil)}.OrderFirst()
	}
	unsupported := func(format string, args ...any) error {
		return sqlerr.New(sqlerr.FeatureNotSupported, "materialized views over SESSION: "+format, args...).
			WithHint("Group by the partition columns and window_start and/or window_end, and aggregate columns of the relation.")
	}
	for _, a := range aggs {
		if err := agg.Maintainable(a); err != nil {
			return nil, nil, true, err
		}
	}
	// A view's gap is fixed when it is created: it is evaluated here,
	// without statement arguments.
	gap, err := sp.compiler.Compile(sw.Gap)
	if err != nil {
		return nil, nil, true, err
	}
	params, err := batch.ResolveSession(&exec.Ctx{}, batch.SessionParams{TSCol: sw.TSCol, TSType: sw.TSType, PartCols: sw.Partition}, gap)
	if err != nil {
		return nil, nil, true, err
	}
	inTypes := sw.Input.OutputTypes()
	nIn := len(inTypes)
	startCol, endCol := nIn, nIn+1

	// The group columns: partition columns and window columns.
	group := make([]int, len(groupCols))
	hasWindow := false
	for i, g := range groupCols {
		ref, isRef := exprs[g].(*plan.ColRef)
		switch {
		case !isRef:
			return nil, nil, true, unsupported("GROUP BY %s is not a column", exprs[g])
		case ref.Idx == startCol:
			group[i], hasWindow = agg.SessionStartCol, true
		case ref.Idx == endCol:
			group[i], hasWindow = agg.SessionEndCol, true
		default:
			k := slices.Index(params.PartCols, ref.Idx)
			if k < 0 {
				return nil, nil, true, unsupported("GROUP BY %s is not a partition column", exprs[g])
			}
			group[i] = k
		}
	}
	if !hasWindow {
		return nil, nil, true, unsupported("GROUP BY must include window_start or window_end (one output row per session)")
	}

	child, cm, err := sp.convert(sw.Input)
	if err != nil {
		return nil, nil, true, err
	}
	// Below the operator: partition columns, the time, then the
	// aggregate arguments and filters.
	pre := make([]plan.Scalar, 0, len(params.PartCols)+1+len(exprs))
	for _, c := range params.PartCols {
		pre = append(pre, &plan.ColRef{Idx: c, T: inTypes[c], Name: child.Names[cm[c]]})
	}
	pre = append(pre, &plan.ColRef{Idx: params.TSCol, T: params.TSType, Name: child.Names[cm[params.TSCol]]})
	argCol := map[int]int{} // projection column -> pre column
	arg := func(c int) (int, error) {
		if k, seen := argCol[c]; seen {
			return k, nil
		}
		refsWindow := false
		plan.Visit(exprs[c], func(e plan.Scalar) {
			if r, isRef := e.(*plan.ColRef); isRef && r.Idx >= nIn {
				refsWindow = true
			}
		})
		if refsWindow {
			return 0, unsupported("aggregate arguments cannot use window_start or window_end")
		}
		argCol[c] = len(pre)
		pre = append(pre, exprs[c])
		return len(pre) - 1, nil
	}
	specs := make([]batch.AggSpec, len(aggs))
	for i, a := range aggs {
		s := a
		s.Args = make([]int, len(a.Args))
		for j, c := range a.Args {
			if s.Args[j], err = arg(c); err != nil {
				return nil, nil, true, err
			}
		}
		if a.Filter >= 0 {
			if s.Filter, err = arg(a.Filter); err != nil {
				return nil, nil, true, err
			}
		}
		specs[i] = s
	}

	below, _, err := sp.project(child, cm, pre)
	if err != nil {
		return nil, nil, true, err
	}
	k := len(params.PartCols)
	spec := &agg.SessionAggSpec{TSCol: k, Gap: params.Gap, Group: group, Aggs: specs, AppendOnly: child.AppendOnly, LateSpec: stream.LateSpec{KeepLate: !sp.dropLate}}
	for i := 0; i < k; i++ {
		spec.PartCols = append(spec.PartCols, i)
	}
	tsWM := slices.Contains(below.Watermarks, k)
	n = &stream.Node{Spec: spec, Inputs: []*stream.Node{below}}
	for i, g := range group {
		n.Types = append(n.Types, groupTypes[i])
		n.StreamKey = append(n.StreamKey, i)
		switch g {
		case agg.SessionStartCol:
			n.Names = append(n.Names, "window_start")
		case agg.SessionEndCol:
			n.Names = append(n.Names, "window_end")
			if tsWM {
				// Sessions that can still change end after the
				// watermark on the time column.
				n.Watermarks = append(n.Watermarks, i)
			}
		default:
			n.Names = append(n.Names, below.Names[g])
		}
	}
	for _, a := range specs {
		n.Types = append(n.Types, a.T)
		n.Names = append(n.Names, a.Agg.Name)
	}
	if sp.eowc && !sp.eowcDone {
		if !tsWM {
			return nil, nil, true, sqlerr.New(sqlerr.FeatureNotSupported,
				"EMIT ON WINDOW CLOSE over SESSION needs a watermark on the session's time column (declare WATERMARK FOR on it): without one, no session ever closes")
		}
		spec.EmitOnClose = true
		sp.eowcDone = true
		// With an allowed lateness a shown session's row is corrected
		// (retracted, and inserted again once it ends before the
		// watermark) while the session is kept.
		spec.Reopen = sp.lateness != 0
		n.AppendOnly = !spec.Reopen
	}
	n.StateTables = []string{"rows: (partition key, time, aggregate arguments) -> count (a session's rows are deleted once the watermark passes its end)",
		"the last watermark"}
	return n, identity(len(n.Types)), true, nil
}
