package planner

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// Building executors. The binder's output is logical (sql/plan scalars);
// these helpers compile it and build the batch operators that run it.
// They are the planner's half of the batch lowering: once the planner
// emits logical relational nodes, they move to lower/.

// compiler compiles the statement's bound expressions for the executors.
func (p *Planner) compiler() *expr.Compiler {
	return &expr.Compiler{Sequences: p.Sequences}
}

// compile compiles one bound expression (nil gives nil).
func (p *Planner) compile(s plan.Scalar) (expr.Expr, error) { return p.compiler().Compile(s) }

// compileAll compiles a list of bound expressions.
func (p *Planner) compileAll(ss []plan.Scalar) ([]expr.Expr, error) {
	return p.compiler().CompileAll(ss)
}

// compileRows compiles rows of bound expressions (VALUES).
func (p *Planner) compileRows(rows [][]plan.Scalar) ([][]expr.Expr, error) {
	out := make([][]expr.Expr, len(rows))
	for i, r := range rows {
		c, err := p.compileAll(r)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// newProject builds a projection of in computing exprs.
func (p *Planner) newProject(in exec.Operator, exprs []plan.Scalar) (exec.Operator, error) {
	c, err := p.compileAll(exprs)
	if err != nil {
		return nil, err
	}
	return batch.NewProject(in, c), nil
}

// newFilter builds a filter of in on pred.
func (p *Planner) newFilter(in exec.Operator, pred plan.Scalar) (exec.Operator, error) {
	c, err := p.compile(pred)
	if err != nil {
		return nil, err
	}
	return batch.NewFilter(in, c), nil
}

// newValues builds a VALUES operator over rows of bound expressions.
func (p *Planner) newValues(rows [][]plan.Scalar, ts []types.T) (exec.Operator, error) {
	c, err := p.compileRows(rows)
	if err != nil {
		return nil, err
	}
	return batch.NewValues(c, ts), nil
}

// projectCast wraps rel's operator in a projection that casts column i to t.
func projectCast(rel *relPlan, i int, t types.T) exec.Operator {
	exprs := make([]expr.Expr, len(rel.cols))
	for j, c := range rel.cols {
		exprs[j] = &expr.ColRef{Idx: j, T: c.t, Name: c.name}
		if j == i {
			exprs[j] = &expr.Cast{Input: exprs[j], To: t}
		}
	}
	rel.cols[i].t = t
	return batch.NewProject(rel.op, exprs)
}

// hashJoin builds a hash join of left and right on keys, with residual
// over the concatenated columns (left, then right). Expression keys are
// projected as extra columns of each input and dropped again above the
// join, so the result has left's columns then right's.
func (p *Planner) hashJoin(lrel, rrel *relPlan, kind batch.JoinKind, keys *plan.EquiKeys, residual plan.Scalar) (exec.Operator, error) {
	left, right := lrel.op, rrel.op
	lw, rw := len(lrel.cols), len(rrel.cols)
	lk, lExtra := plan.KeyColumns(keys.Left, lw)
	rk, rExtra := plan.KeyColumns(keys.Right, rw)
	if len(lExtra) == 0 && len(rExtra) == 0 {
		res, err := p.compile(residual)
		if err != nil {
			return nil, err
		}
		return batch.NewHashJoin(left, right, kind, lk, rk, res), nil
	}
	var err error
	if len(lExtra) > 0 {
		if left, err = p.newProject(left, append(passThrough(lrel.cols), lExtra...)); err != nil {
			return nil, err
		}
	}
	if len(rExtra) > 0 {
		if right, err = p.newProject(right, append(passThrough(rrel.cols), rExtra...)); err != nil {
			return nil, err
		}
	}
	if residual != nil && len(lExtra) > 0 {
		// Right columns moved past the left key columns.
		residual = plan.Rewrite(residual, func(x plan.Scalar) (plan.Scalar, bool) {
			if c, ok := x.(*plan.ColRef); ok && c.Idx >= lw {
				return &plan.ColRef{Idx: c.Idx + len(lExtra), T: c.T, Name: c.Name}, true
			}
			return nil, false
		})
	}
	res, err := p.compile(residual)
	if err != nil {
		return nil, err
	}
	op := batch.NewHashJoin(left, right, kind, lk, rk, res)
	out := passThrough(lrel.cols)
	off := lw + len(lExtra)
	for i, c := range rrel.cols {
		out = append(out, &plan.ColRef{Idx: off + i, T: c.t, Name: c.name})
	}
	return p.newProject(op, out)
}

// join joins left and right: a lateral join when lateral, a hash join on
// keys when there are any, a nested loop join otherwise; residual is the
// rest of the condition over the concatenated columns.
func (p *Planner) join(left, right *relPlan, kind batch.JoinKind, lateral bool, keys *plan.EquiKeys, residual []plan.Scalar) (exec.Operator, error) {
	if !lateral && !keys.Empty() {
		return p.hashJoin(left, right, kind, keys, plan.AndAll(residual))
	}
	res, err := p.compile(plan.AndAll(residual))
	if err != nil {
		return nil, err
	}
	if lateral {
		return batch.NewLateralJoin(left.op, right.op, kind, res), nil
	}
	return batch.NewNestedLoopJoin(left.op, right.op, kind, res), nil
}

// passThrough lists column references to every column of an input.
func passThrough(cols []column) []plan.Scalar {
	out := make([]plan.Scalar, len(cols))
	for i, c := range cols {
		out[i] = &plan.ColRef{Idx: i, T: c.t, Name: c.name}
	}
	return out
}
