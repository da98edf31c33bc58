package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Batch lowers a logical relation into a tree of batch executors, compiling
// its scalars with c (whose hooks give subqueries and nextval()); its
// scans read through the reader that read returns when they open (the
// statement's transaction or snapshot). A relation that is already an
// executor (expr.OperatorRel, the planner's bridge for operators it still
// builds itself) is returned as it is.
func Batch(r plan.Rel, c *expr.Compiler, read func() storage.Reader) (exec.Operator, error) {
	switch x := r.(type) {
	case expr.OperatorRel:
		return x.Op, nil
	case *plan.Scan:
		return batchScan(x, c, read)
	case *plan.SourceScan:
		return newSourceScan(x), nil
	case *plan.VirtualScan:
		return batchVirtualScan(x), nil
	case *plan.TableFunction:
		args, err := c.CompileAll(x.Args)
		if err != nil {
			return nil, err
		}
		op := batch.NewFunctionScan(x.Fn, args, x.ArgTypes())
		if x.Ordinality {
			op = batch.NewOrdinality(op)
		}
		return op, nil
	case *plan.Aggregate:
		in, err := Batch(x.Input, c, read)
		if err != nil {
			return nil, err
		}
		specs := make([]batch.AggSpec, len(x.Aggs))
		for i, a := range x.Aggs {
			specs[i] = batch.AggSpec{Agg: a.Fn, Args: a.Args, ArgTypes: x.ArgTypes(a), Distinct: a.Distinct, Filter: a.Filter, T: a.T}
		}
		return batch.NewHashAgg(in, x.GroupCols, x.GroupTypes(), specs), nil
	case *plan.Window:
		return batchWindow(x, c, read)
	case *plan.ProjectSet:
		in, err := Batch(x.Input, c, read)
		if err != nil {
			return nil, err
		}
		funcs := make([]batch.SetFunc, len(x.Calls))
		for i, call := range x.Calls {
			args, err := c.CompileAll(call.Args)
			if err != nil {
				return nil, err
			}
			ts := make([]types.T, len(call.Args))
			for j, a := range call.Args {
				ts[j] = a.Type()
			}
			funcs[i] = batch.SetFunc{Fn: call.Fn, Args: args, ArgTypes: ts, T: call.T}
		}
		return batch.NewProjectSet(in, funcs), nil
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
		in, err := Batch(x.Input, c, read)
		if err != nil {
			return nil, err
		}
		pred, err := c.Compile(x.Pred)
		if err != nil {
			return nil, err
		}
		return batch.NewFilter(in, pred), nil
	case *plan.Project:
		in, err := Batch(x.Input, c, read)
		if err != nil {
			return nil, err
		}
		exprs, err := c.CompileAll(x.Exprs)
		if err != nil {
			return nil, err
		}
		return batch.NewProject(in, exprs), nil
	case *plan.Limit:
		in, err := Batch(x.Input, c, read)
		if err != nil {
			return nil, err
		}
		lim, err := c.CompileAll([]plan.Scalar{x.Count, x.Offset})
		if err != nil {
			return nil, err
		}
		return batch.NewLimit(in, lim[0], lim[1]), nil
	case *plan.Sort:
		in, err := Batch(x.Input, c, read)
		if err != nil {
			return nil, err
		}
		return batch.NewSort(in, x.Keys), nil
	case *plan.Distinct:
		in, err := Batch(x.Input, c, read)
		if err != nil {
			return nil, err
		}
		if x.On != nil {
			return batch.NewDistinctOn(in, x.On), nil
		}
		return batch.NewDistinct(in), nil
	case *plan.SetOp:
		left, err := Batch(x.Left, c, read)
		if err != nil {
			return nil, err
		}
		right, err := Batch(x.Right, c, read)
		if err != nil {
			return nil, err
		}
		if x.Kind == plan.Union && x.All {
			return batch.NewUnionAll(left, right), nil
		}
		return batch.NewSetOp(left, right, x.Kind, x.All), nil
	case *plan.Join:
		return batchJoin(x, c, read)
	case *plan.LookupJoin:
		return batchLookupJoin(x, c, read)
	}
	return nil, sqlerr.New(sqlerr.InternalError, "no batch executor for plan node %T", r)
}

// batchJoin builds a join: a lateral join, a hash join on the keys when
// there are any, a nested loop join otherwise.
func batchJoin(j *plan.Join, c *expr.Compiler, read func() storage.Reader) (exec.Operator, error) {
	if j.Lateral || j.Keys.Empty() {
		left, err := Batch(j.Left, c, read)
		if err != nil {
			return nil, err
		}
		right, err := Batch(j.Right, c, read)
		if err != nil {
			return nil, err
		}
		res, err := c.Compile(j.Residual)
		if err != nil {
			return nil, err
		}
		if j.Lateral {
			return batch.NewLateralJoin(left, right, j.Kind, res), nil
		}
		return batch.NewNestedLoopJoin(left, right, j.Kind, res), nil
	}
	h := hashJoinOf(j)
	left, err := Batch(h.left, c, read)
	if err != nil {
		return nil, err
	}
	right, err := Batch(h.right, c, read)
	if err != nil {
		return nil, err
	}
	res, err := c.Compile(h.residual)
	if err != nil {
		return nil, err
	}
	op := batch.NewHashJoin(left, right, j.Kind, h.leftKeys, h.rightKeys, res)
	if h.out == nil {
		return op, nil
	}
	exprs, err := c.CompileAll(h.out)
	if err != nil {
		return nil, err
	}
	return batch.NewProject(op, exprs), nil
}

// hashJoin is a join with equi keys in the form both lowerings build:
// keys that are expressions are projected as extra columns of each input
// (left and right), so that the keys are columns; residual reads the
// widened columns, and out, when not nil, is the projection over the
// join that drops the extra columns again (the result has the join's
// left columns then its right ones).
type hashJoin struct {
	left, right         plan.Rel
	leftKeys, rightKeys []int
	residual            plan.Scalar
	out                 []plan.Scalar
}

// hashJoinOf shapes j (with keys, not lateral) as a hash join.
func hashJoinOf(j *plan.Join) hashJoin {
	lts, rts := j.Left.OutputTypes(), j.Right.OutputTypes()
	lw := len(lts)
	lk, lExtra := plan.KeyColumns(j.Keys.Left, lw)
	rk, rExtra := plan.KeyColumns(j.Keys.Right, len(rts))
	h := hashJoin{left: j.Left, right: j.Right, leftKeys: lk, rightKeys: rk, residual: j.Residual}
	if len(lExtra) > 0 {
		h.left = &plan.Project{Input: j.Left, Exprs: append(columnRefs(lts, 0, j.Names), lExtra...)}
	}
	if len(rExtra) > 0 {
		h.right = &plan.Project{Input: j.Right, Exprs: append(columnRefs(rts, 0, names(j.Names, lw)), rExtra...)}
	}
	if h.residual != nil && len(lExtra) > 0 {
		// Right columns moved past the left key columns.
		h.residual = plan.Rewrite(h.residual, func(x plan.Scalar) (plan.Scalar, bool) {
			if cr, ok := x.(*plan.ColRef); ok && cr.Idx >= lw {
				return &plan.ColRef{Idx: cr.Idx + len(lExtra), T: cr.T, Name: cr.Name}, true
			}
			return nil, false
		})
	}
	if len(lExtra) > 0 || len(rExtra) > 0 {
		h.out = append(columnRefs(lts, 0, j.Names), columnRefs(rts, lw+len(lExtra), names(j.Names, lw))...)
	}
	return h
}

// columnRefs lists references to columns of types ts, from column off on,
// named by names where given.
func columnRefs(ts []types.T, off int, names []string) []plan.Scalar {
	out := make([]plan.Scalar, len(ts))
	for i, t := range ts {
		c := &plan.ColRef{Idx: off + i, T: t}
		if i < len(names) {
			c.Name = names[i]
		}
		out[i] = c
	}
	return out
}

// names returns names from i on (none when there are not that many).
func names(names []string, i int) []string {
	if i >= len(names) {
		return nil
	}
	return names[i:]
}
