package lower

import (
	"slices"
	"strings"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// Executors in a logical plan. The planner still builds a few operators
// itself (window table functions, session windows, recursive unions) and
// hands them over as expr.OperatorRel leaves whose inputs it lowered into
// batch executors; planner.Planner.Lowered records the logical plan each
// of those inputs came from, so the stream lowering reads logical plans
// below them too. A logical node kind that convert does not know is
// lowered with Batch (its inputs recorded the same way) and read through
// convertOp, which knows the executors of those operators.

// convertOp builds the stream node of a batch executor: one lowered from
// a logical plan is converted from that plan; the operators the planner
// builds itself are read from their parameters.
func (sp *streamPlanner) convertOp(op exec.Operator) (*stream.Node, []int, error) {
	if r, ok := sp.lowered[op]; ok {
		return sp.convert(sp.optimize(r))
	}
	switch x := op.(type) {
	case *batch.WindowTVF:
		// A view's windows are fixed when it is created.
		in, wp, err := x.ConstParams()
		if err != nil {
			return nil, nil, err
		}
		child, cm, err := sp.convertOp(in)
		if err != nil {
			return nil, nil, err
		}
		spec := &stream.WindowTVFSpec{Kind: wp.Kind, TSCol: cm[wp.TSCol], Slide: wp.Slide, Size: wp.Size, Offset: wp.Offset}
		nIn := len(child.Types)
		n := &stream.Node{Spec: spec, Inputs: []*stream.Node{child},
			Types:      append(slices.Clone(child.Types), wp.TSType, wp.TSType),
			Names:      append(slices.Clone(child.Names), "window_start", "window_end"),
			StreamKey:  spec.OutputKey(child.StreamKey, nIn),
			AppendOnly: child.AppendOnly,
			Watermarks: spec.OutputWatermarks(child.Watermarks, nIn)}
		return n, append(slices.Clone(cm), nIn, nIn+1), nil
	case *batch.SessionWindowOp:
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot yet maintain SESSION without aggregation").
			WithHint("Aggregate it: GROUP BY the partition columns and window_start and/or window_end.")
	case *batch.RecursiveUnion:
		return nil, nil, notIncremental("WITH RECURSIVE")
	}
	return nil, nil, notIncremental("%s", strings.Fields(op.Explain())[0])
}

// fallback converts a logical node convert has no case for: it is lowered
// with Batch over its inputs, each lowered (and recorded) on its own, and
// the executor is read by convertOp.
func (sp *streamPlanner) fallback(r plan.Rel) (*stream.Node, []int, error) {
	op, err := sp.lowerOp(r)
	if err != nil {
		return nil, nil, err
	}
	return sp.convertOp(op)
}

// lowerOp lowers r into a batch executor whose inputs' executors are
// recorded with their logical plans.
func (sp *streamPlanner) lowerOp(r plan.Rel) (exec.Operator, error) {
	if o, ok := r.(expr.OperatorRel); ok {
		return o.Op, nil
	}
	ins := plan.Inputs(r)
	ops := make([]plan.Rel, len(ins))
	for i, in := range ins {
		op, err := sp.p.LowerBatch(in)
		if err != nil {
			return nil, err
		}
		sp.lowered[op] = in
		ops[i] = expr.OperatorRel{Op: op}
	}
	if len(ins) > 0 {
		r = plan.WithInputs(r, ops)
	}
	return sp.p.LowerBatch(r)
}

// batchCompiler compiles scalars for batch executors, subqueries
// included.
func (sp *streamPlanner) batchCompiler() *expr.Compiler {
	c := &expr.Compiler{Sequences: sp.p.Sequences}
	c.Rel = func(r plan.Rel) (exec.Operator, error) { return sp.p.LowerBatch(r) }
	return c
}

// sessionOf returns the session window operator r is, or nil.
func (sp *streamPlanner) sessionOf(r plan.Rel) (*batch.SessionWindowOp, error) {
	switch r.(type) {
	case expr.OperatorRel:
	case *plan.Scan, *plan.SourceScan, *plan.Filter, *plan.Project, *plan.Sort, *plan.Limit, *plan.Aggregate,
		*plan.Distinct, *plan.Join, *plan.LookupJoin, *plan.ProjectSet, *plan.Window, *plan.SetOp, *plan.Values,
		*plan.VirtualScan, *plan.TableFunction:
		return nil, nil
	}
	op, err := sp.lowerOp(r)
	if err != nil {
		return nil, err
	}
	sw, _ := op.(*batch.SessionWindowOp)
	return sw, nil
}
