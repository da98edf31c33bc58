package planner

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// Building executors. The binder's output is logical (sql/plan scalars
// and the relational nodes lower.Batch knows); these helpers compile it
// and build the batch operators the planner still builds itself. They
// move to lower/ as the planner emits logical nodes for them.

// compiler compiles the statement's bound expressions for the executors.
func (p *Planner) compiler() *expr.Compiler {
	return &expr.Compiler{Sequences: p.Sequences, Rel: func(r plan.Rel) (exec.Operator, error) {
		return p.op(&relPlan{node: r})
	}}
}

// compile compiles one bound expression (nil gives nil).
func (p *Planner) compile(s plan.Scalar) (expr.Expr, error) { return p.compiler().Compile(s) }

// compileAll compiles a list of bound expressions.
func (p *Planner) compileAll(ss []plan.Scalar) ([]expr.Expr, error) {
	return p.compiler().CompileAll(ss)
}

// projectCast wraps rel's plan in a projection that casts column i to t.
func projectCast(rel *relPlan, i int, t types.T) plan.Rel {
	exprs := passThrough(rel.cols)
	exprs[i] = &plan.Cast{Input: exprs[i], To: t}
	rel.cols[i].t = t
	return &plan.Project{Input: rel.node, Exprs: exprs}
}

// hashJoin builds a hash join of left and right on keys, with residual
// over the concatenated columns (left, then right). Expression keys are
// projected as extra columns of each input and dropped again above the
// join, so the result has left's columns then right's.
func (p *Planner) hashJoin(lrel, rrel *relPlan, kind batch.JoinKind, keys *plan.EquiKeys, residual plan.Scalar) (plan.Rel, error) {
	lw := len(lrel.cols)
	lk, lExtra := plan.KeyColumns(keys.Left, lw)
	rk, rExtra := plan.KeyColumns(keys.Right, len(rrel.cols))
	left, right := lrel, rrel
	if len(lExtra) > 0 {
		left = &relPlan{node: &plan.Project{Input: lrel.node, Exprs: append(passThrough(lrel.cols), lExtra...)}}
	}
	if len(rExtra) > 0 {
		right = &relPlan{node: &plan.Project{Input: rrel.node, Exprs: append(passThrough(rrel.cols), rExtra...)}}
	}
	lop, err := p.op(left)
	if err != nil {
		return nil, err
	}
	rop, err := p.op(right)
	if err != nil {
		return nil, err
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
	op := batch.NewHashJoin(lop, rop, kind, lk, rk, res)
	if len(lExtra) == 0 && len(rExtra) == 0 {
		return built(op), nil
	}
	out := passThrough(lrel.cols)
	off := lw + len(lExtra)
	for i, c := range rrel.cols {
		out = append(out, &plan.ColRef{Idx: off + i, T: c.t, Name: c.name})
	}
	return &plan.Project{Input: built(op), Exprs: out}, nil
}

// join joins left and right: a lateral join when lateral, a hash join on
// keys when there are any, a nested loop join otherwise; residual is the
// rest of the condition over the concatenated columns.
func (p *Planner) join(left, right *relPlan, kind batch.JoinKind, lateral bool, keys *plan.EquiKeys, residual []plan.Scalar) (plan.Rel, error) {
	if !lateral && !keys.Empty() {
		return p.hashJoin(left, right, kind, keys, plan.AndAll(residual))
	}
	res, err := p.compile(plan.AndAll(residual))
	if err != nil {
		return nil, err
	}
	lop, err := p.op(left)
	if err != nil {
		return nil, err
	}
	rop, err := p.op(right)
	if err != nil {
		return nil, err
	}
	if lateral {
		return built(batch.NewLateralJoin(lop, rop, kind, res)), nil
	}
	return built(batch.NewNestedLoopJoin(lop, rop, kind, res)), nil
}

// passThrough lists column references to every column of an input.
func passThrough(cols []column) []plan.Scalar {
	out := make([]plan.Scalar, len(cols))
	for i, c := range cols {
		out[i] = &plan.ColRef{Idx: i, T: c.t, Name: c.name}
	}
	return out
}
