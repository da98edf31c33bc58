package lower

import (
	"fmt"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// WITH RECURSIVE in views. The recursive term is cut in two: the path
// from its top down to the working table (the spine: projections,
// filters, joins, set-returning functions) stays a batch plan, which the
// StreamRecursiveUnion runs over the rows it keeps
// (exec/stream/recursive_union.go); every subtree that hangs off the
// spine and does not read the working table (the edges a transitive
// closure joins, an aggregate over a table) is an ordinary stream plan,
// an input of the operator, and so is the anchor. The spine is
// incremental when it is multilinear in the working table and the inputs
// (projections, filters, set-returning functions, inner joins, and
// lateral joins whose right side reads no table); any other spine (an
// outer or anti join with an input, DISTINCT) is recomputed on change.

// recursiveUnion plans a recursive union.
func (sp *streamPlanner) recursiveUnion(x *plan.RecursiveUnion) (*stream.Node, []int, error) {
	anchor, am, err := sp.convert(x.Anchor)
	if err != nil {
		return nil, nil, err
	}
	ts := x.OutputTypes()
	spec := &stream.RecursiveUnionSpec{Name: x.Work.Name, Types: ts, All: x.All, Incremental: true,
		InputCols: [][]int{am}, InputTypes: [][]types.T{ts}}
	inputs := []*stream.Node{anchor}
	tables := map[*plan.WorkTable]int{x.Work: 0}
	var split func(r plan.Rel) (plan.Rel, error)
	split = func(r plan.Rel) (plan.Rel, error) {
		if !readsWork(r, x.Work) {
			// An input: its own stream plan.
			n, m, err := sp.convert(r)
			if err != nil {
				return nil, err
			}
			wt := &plan.WorkTable{Name: fmt.Sprintf("%s input %d", x.Work.Name, len(inputs)), Types: r.OutputTypes()}
			tables[wt] = len(inputs)
			inputs = append(inputs, n)
			spec.InputCols = append(spec.InputCols, m)
			spec.InputTypes = append(spec.InputTypes, wt.Types)
			return &plan.WorkTableScan{Work: wt}, nil
		}
		var scalars []plan.Scalar
		switch y := r.(type) {
		case *plan.WorkTableScan:
			return r, nil
		case *plan.Filter:
			scalars = []plan.Scalar{y.Pred}
		case *plan.Project:
			scalars = y.Exprs
		case *plan.ProjectSet:
			for _, c := range y.Calls {
				scalars = append(scalars, c.Args...)
			}
			in, err := split(y.Input)
			if err != nil {
				return nil, err
			}
			c := *y
			c.Input = in
			return &c, checkScalars(scalars)
		case *plan.Join:
			scalars = append(append([]plan.Scalar{y.Residual}, y.Keys.Left...), y.Keys.Right...)
			if y.Lateral && readsWork(y.Left, x.Work) {
				// The right side reads the working table's row: it runs
				// per row, in the spine.
				if readsTables(y.Right) {
					return nil, notIncremental("WITH RECURSIVE whose recursive term joins LATERAL a subquery that reads a table")
				}
				left, err := split(y.Left)
				if err != nil {
					return nil, err
				}
				c := *y
				c.Left = left
				return &c, checkScalars(scalars)
			}
			if y.Kind != plan.InnerJoin {
				spec.Incremental = false
			}
		case *plan.Distinct:
			spec.Incremental = false
		default:
			return nil, notIncremental("WITH RECURSIVE whose recursive term has %s over the working table", relKind(r))
		}
		if err := checkScalars(scalars); err != nil {
			return nil, err
		}
		ins := plan.Inputs(r)
		out := make([]plan.Rel, len(ins))
		for i, in := range ins {
			if out[i], err = split(in); err != nil {
				return nil, err
			}
		}
		return plan.WithInputs(r, out), nil
	}
	spine, err := split(x.Recursive)
	if err != nil {
		return nil, nil, err
	}
	compiler := sp.compiler
	spec.Term = func(ops []exec.Operator) (exec.Operator, error) {
		return Batch(bindWorkTables(spine, tables, ops), compiler, nil)
	}
	n := &stream.Node{Spec: spec, Inputs: inputs, Types: ts, StateTables: stream.RecursiveUnionStateTables(len(inputs))}
	for i := range ts {
		n.Names = append(n.Names, anchor.Names[am[i]])
	}
	if x.All {
		n.Types = append(append([]types.T(nil), ts...), types.TInt8)
		n.Names = append(n.Names, "_copy")
	}
	n.StreamKey = identity(len(n.Types))
	return n, identity(len(ts)), nil
}

// checkScalars refuses what a view cannot evaluate per row (a subquery,
// now()).
func checkScalars(es []plan.Scalar) error {
	for _, e := range es {
		if e == nil {
			continue
		}
		if err := perRowError(e); err != nil {
			return err
		}
	}
	return nil
}

// readsWork reports whether r reads the working table w.
func readsWork(r plan.Rel, w *plan.WorkTable) bool {
	if s, ok := r.(*plan.WorkTableScan); ok {
		return s.Work == w
	}
	for _, in := range plan.Inputs(r) {
		if readsWork(in, w) {
			return true
		}
	}
	return false
}

// readsTables reports whether r reads a table, source or view.
func readsTables(r plan.Rel) bool {
	switch r.(type) {
	case *plan.Scan, *plan.SourceScan, *plan.VirtualScan, *plan.LookupJoin:
		return true
	}
	for _, in := range plan.Inputs(r) {
		if readsTables(in) {
			return true
		}
	}
	return false
}

// bindWorkTables returns r with every scan of a work table in tables
// replaced by the executor ops[tables[work]].
func bindWorkTables(r plan.Rel, tables map[*plan.WorkTable]int, ops []exec.Operator) plan.Rel {
	if s, ok := r.(*plan.WorkTableScan); ok {
		if i, ok := tables[s.Work]; ok {
			return expr.OperatorRel{Op: ops[i]}
		}
		return r
	}
	if ps, ok := r.(*plan.ProjectSet); ok {
		c := *ps
		c.Input = bindWorkTables(ps.Input, tables, ops)
		return &c
	}
	ins := plan.Inputs(r)
	if len(ins) == 0 {
		return r
	}
	out := make([]plan.Rel, len(ins))
	for i, in := range ins {
		out[i] = bindWorkTables(in, tables, ops)
	}
	return plan.WithInputs(r, out)
}
