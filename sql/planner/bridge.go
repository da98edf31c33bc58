package planner

import (
	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// The bridge to executors: window table functions, session windows and
// recursive unions are still built by the planner as batch executors,
// which enter logical plans as opaque leaves (expr.OperatorRel). Their
// inputs are lowered through Planner.LowerBatch. Everything else the
// planner returns is logical, and the engine lowers it (lower/). This
// file, and with it the planner's imports of exec/, goes when those three
// become logical nodes.

// BatchLowering turns a logical relation into batch executors.
type BatchLowering func(plan.Rel) (exec.Operator, error)

// op lowers rel's plan into a batch executor, for the operators the
// planner still builds itself. The executor replaces the plan in rel, so
// that asking again gives the same executor.
func (p *Planner) op(rel *relPlan) (exec.Operator, error) {
	if b, ok := rel.node.(expr.OperatorRel); ok {
		return b.Op, nil
	}
	if p.LowerBatch == nil {
		return nil, sqlerr.New(sqlerr.InternalError, "planner has no batch lowering")
	}
	op, err := p.LowerBatch(p.rewrite(rel.node))
	if err != nil {
		return nil, err
	}
	rel.node = expr.OperatorRel{Op: op}
	return op, nil
}

// built wraps an executor the planner built into a logical plan.
func built(op exec.Operator) plan.Rel { return expr.OperatorRel{Op: op} }
