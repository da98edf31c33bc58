package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// Batch lowers a logical relation into a tree of batch executors, compiling
// its scalars with c (whose hooks give subqueries and nextval()). A
// relation that is already an executor (expr.OperatorRel, the planner's
// bridge for operators it still builds itself) is returned as it is.
func Batch(r plan.Rel, c *expr.Compiler) (exec.Operator, error) {
	switch x := r.(type) {
	case expr.OperatorRel:
		return x.Op, nil
	case *plan.Values:
		rows := make([][]expr.Expr, len(x.Rows))
		for i, row := range x.Rows {
			cr, err := c.CompileAll(row)
			if err != nil {
				return nil, err
			}
			rows[i] = cr
		}
		return batch.NewValues(rows, x.Types), nil
	case *plan.Filter:
		in, err := Batch(x.Input, c)
		if err != nil {
			return nil, err
		}
		pred, err := c.Compile(x.Pred)
		if err != nil {
			return nil, err
		}
		return batch.NewFilter(in, pred), nil
	case *plan.Project:
		in, err := Batch(x.Input, c)
		if err != nil {
			return nil, err
		}
		exprs, err := c.CompileAll(x.Exprs)
		if err != nil {
			return nil, err
		}
		return batch.NewProject(in, exprs), nil
	case *plan.Limit:
		in, err := Batch(x.Input, c)
		if err != nil {
			return nil, err
		}
		lim, err := c.CompileAll([]plan.Scalar{x.Count, x.Offset})
		if err != nil {
			return nil, err
		}
		return batch.NewLimit(in, lim[0], lim[1]), nil
	case *plan.Sort:
		in, err := Batch(x.Input, c)
		if err != nil {
			return nil, err
		}
		return batch.NewSort(in, x.Keys), nil
	case *plan.Distinct:
		in, err := Batch(x.Input, c)
		if err != nil {
			return nil, err
		}
		if x.On != nil {
			return batch.NewDistinctOn(in, x.On), nil
		}
		return batch.NewDistinct(in), nil
	case *plan.SetOp:
		left, err := Batch(x.Left, c)
		if err != nil {
			return nil, err
		}
		right, err := Batch(x.Right, c)
		if err != nil {
			return nil, err
		}
		if x.Kind == plan.Union && x.All {
			return batch.NewUnionAll(left, right), nil
		}
		return batch.NewSetOp(left, right, x.Kind, x.All), nil
	}
	return nil, sqlerr.New(sqlerr.InternalError, "no batch executor for plan node %T", r)
}
