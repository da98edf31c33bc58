package lower

import (
	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/storage"
)

// Statement is what lowering the plans of one statement needs besides the
// plans: where its scans read, and the rewrites a subquery's plan gets
// before it is lowered.
type Statement struct {
	// Read returns the reader of the running statement (its transaction
	// or a snapshot); scans call it when they open.
	Read func() storage.Reader
	// Rewrite runs the logical rewrites on a subquery's plan (the
	// planner's, planner.Planner.Rewrite); nil runs none.
	Rewrite func(plan.Rel) plan.Rel
}

// Compiler returns the statement's expression compiler: its subqueries are
// rewritten and lowered with Batch.
func (s *Statement) Compiler() *expr.Compiler {
	c := &expr.Compiler{}
	c.Rel = func(r plan.Rel) (exec.Operator, error) {
		if op, ok := r.(expr.OperatorRel); ok {
			return op.Op, nil
		}
		if s.Rewrite != nil {
			r = s.Rewrite(r)
		}
		return Batch(r, s.Compiler(), s.Read)
	}
	return c
}

// Batch lowers a relation (a query's plan, as the planner returns it) into
// batch executors.
func (s *Statement) Batch(r plan.Rel) (exec.Operator, error) {
	return Batch(r, s.Compiler(), s.Read)
}
