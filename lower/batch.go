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
// its scalars with c (whose hook gives subqueries their operators); its
// scans read through the reader that read returns when they open (the
// statement's transaction or snapshot). A relation that is already an
// executor (expr.OperatorRel: the plan of a compiled subquery turned back
// into a scalar, expr.Logical) is returned as it is.
func Batch(r plan.Rel, c *expr.Compiler, read func() storage.Reader) (exec.Operator, error) {
	l := &batchLowering{c: c, read: read, work: map[*plan.WorkTable]*batch.WorkTable{}}
	return l.lower(r)
}

// batchLowering is the context of one batch lowering: the compiler and
// reader every node uses, and the executor work table of each recursive
// union being lowered, which its work table scans read.
type batchLowering struct {
	c    *expr.Compiler
	read func() storage.Reader
	work map[*plan.WorkTable]*batch.WorkTable
}

// lower lowers one node and its inputs.
func (l *batchLowering) lower(r plan.Rel) (exec.Operator, error) {
	c, read := l.c, l.read
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
		in, err := l.lower(x.Input)
		if err != nil {
			return nil, err
		}
		specs := make([]batch.AggSpec, len(x.Aggs))
		for i, a := range x.Aggs {
			specs[i] = batch.AggSpec{Agg: a.Fn, Args: a.Args, ArgTypes: x.ArgTypes(a), Distinct: a.Distinct, Filter: a.Filter, T: a.T,
				Order: aggOrder(a.Order, nil)}.OrderFirst()
		}
		return batch.NewHashAgg(in, x.GroupCols, x.GroupTypes(), specs), nil
	case *plan.Window:
		return l.window(x)
	case *plan.WindowTVF:
		return l.windowTVF(x)
	case *plan.SessionWindow:
		return l.sessionWindow(x)
	case *plan.MatchRecognize:
		return l.matchRecognize(x)
	case *plan.Expand:
		in, err := l.lower(x.Input)
		if err != nil {
			return nil, err
		}
		return batch.NewExpand(in, expandSets(x)), nil
	case *plan.ProjectSet:
		in, err := l.lower(x.Input)
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
		in, err := l.lower(x.Input)
		if err != nil {
			return nil, err
		}
		pred, err := c.Compile(x.Pred)
		if err != nil {
			return nil, err
		}
		return batch.NewFilter(in, pred), nil
	case *plan.Project:
		in, err := l.lower(x.Input)
		if err != nil {
			return nil, err
		}
		exprs, err := c.CompileAll(x.Exprs)
		if err != nil {
			return nil, err
		}
		return batch.NewProject(in, exprs), nil
	case *plan.Limit:
		in, err := l.lower(x.Input)
		if err != nil {
			return nil, err
		}
		lim, err := c.CompileAll([]plan.Scalar{x.Count, x.Offset})
		if err != nil {
			return nil, err
		}
		if x.WithTies {
			s, ok := x.Input.(*plan.Sort)
			if !ok {
				return nil, sqlerr.New(sqlerr.InternalError, "WITH TIES over %T, not a sort", x.Input)
			}
			ties := make([]int, len(s.Keys))
			for i, k := range s.Keys {
				ties[i] = k.Col
			}
			return batch.NewLimitWithTies(in, lim[0], lim[1], ties), nil
		}
		return batch.NewLimit(in, lim[0], lim[1]), nil
	case *plan.Sort:
		in, err := l.lower(x.Input)
		if err != nil {
			return nil, err
		}
		return batch.NewSort(in, x.Keys), nil
	case *plan.Distinct:
		in, err := l.lower(x.Input)
		if err != nil {
			return nil, err
		}
		if x.On != nil {
			return batch.NewDistinctOn(in, x.On), nil
		}
		return batch.NewDistinct(in), nil
	case *plan.SetOp:
		left, err := l.lower(x.Left)
		if err != nil {
			return nil, err
		}
		right, err := l.lower(x.Right)
		if err != nil {
			return nil, err
		}
		if x.Kind == plan.Union && x.All {
			return batch.NewUnionAll(left, right), nil
		}
		return batch.NewSetOp(left, right, x.Kind, x.All), nil
	case *plan.Join:
		return l.join(x)
	case *plan.LookupJoin:
		return l.lookupJoin(x)
	case *plan.AsofJoin:
		return l.asofJoin(x)
	case *plan.RecursiveUnion:
		work := batch.NewWorkTable(x.Work.Types)
		l.work[x.Work] = work
		anchor, err := l.lower(x.Anchor)
		if err != nil {
			return nil, err
		}
		rec, err := l.lower(x.Recursive)
		if err != nil {
			return nil, err
		}
		return batch.NewRecursiveUnion(anchor, rec, work, x.All, 0), nil
	case *plan.WorkTableScan:
		work, ok := l.work[x.Work]
		if !ok {
			return nil, sqlerr.New(sqlerr.InternalError, "work table scan of %q outside its recursive union", x.Work.Name)
		}
		return batch.NewWorkTableScan(work), nil
	}
	return nil, sqlerr.New(sqlerr.InternalError, "no batch executor for plan node %T", r)
}

// join builds a join: a lateral join, a hash join on the keys when
// there are any (hashJoinOf), a nested loop join otherwise.
func (l *batchLowering) join(j *plan.Join) (exec.Operator, error) {
	c := l.c
	if j.Lateral || j.Keys.Empty() {
		left, err := l.lower(j.Left)
		if err != nil {
			return nil, err
		}
		right, err := l.lower(j.Right)
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
	left, err := l.lower(h.left)
	if err != nil {
		return nil, err
	}
	right, err := l.lower(h.right)
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
	switch {
	case j.Kind == plan.SemiJoin || j.Kind == plan.AntiJoin:
		// The join's rows are its left input's: drop the left key
		// expressions (the right side's never show).
		if len(lExtra) > 0 {
			h.out = columnRefs(lts, 0, j.Names)
		}
	case len(lExtra) > 0 || len(rExtra) > 0:
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

// aggOrder converts an aggregate call's ordering, its columns mapped
// through m (nil: unchanged).
func aggOrder(keys []plan.AggOrder, m []int) []batch.AggOrder {
	if len(keys) == 0 {
		return nil
	}
	out := make([]batch.AggOrder, len(keys))
	for i, k := range keys {
		c := k.Col
		if m != nil {
			c = m[c]
		}
		out[i] = batch.AggOrder{Col: c, T: k.T, Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	return out
}

// expandSets returns the sets of an Expand for its operators.
func expandSets(x *plan.Expand) []batch.ExpandSet {
	sets := make([]batch.ExpandSet, len(x.Sets))
	for i, s := range x.Sets {
		sets[i] = batch.ExpandSet{Nulls: s.Nulls, Consts: s.Consts}
	}
	return sets
}
