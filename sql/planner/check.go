package planner

// CHECK constraints are kept in the catalog as SQL text over the table's
// column names. BindCheck validates a new constraint and deparses it;
// PlanChecks binds a table's constraints over its physical row, once per
// statement, so the writer evaluates each one over a whole batch of rows.

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// checkBinder binds a CHECK expression over r's physical row, refusing
// what PostgreSQL refuses there (subqueries, aggregates, window and
// set-returning functions).
func (p *Planner) checkBinder(r *catalog.Relation) *exprBinder {
	b := p.binder(physicalScope(r, r.Name), "check constraints")
	b.hook = func(n *pg.Node) (plan.Scalar, bool, error) {
		if sl := n.GetSubLink(); sl != nil {
			return nil, false, sqlerr.New(sqlerr.FeatureNotSupported, "cannot use subquery in check constraint").WithPosition(p.pos(sl.Location))
		}
		return nil, false, nil
	}
	return b
}

// BindCheck validates the CHECK expression n for table r and returns its
// SQL text and the indexes of the columns it reads.
func (p *Planner) BindCheck(r *catalog.Relation, n *pg.Node) (string, []int, error) {
	e, err := p.checkBinder(r).bind(n)
	if err != nil {
		return "", nil, err
	}
	if _, err := p.coerceBool(e, "argument of CHECK", 0); err != nil {
		return "", nil, err
	}
	text, err := parser.DeparseExpr(n)
	if err != nil {
		return "", nil, err
	}
	var cols []int
	plan.Visit(e, func(x plan.Scalar) {
		if c, ok := x.(*plan.ColRef); ok {
			cols = append(cols, c.Idx)
		}
	})
	return text, cols, nil
}

// PlanChecks binds the CHECK constraints of r over its physical row
// (lower.Checks compiles them for the writer).
func (p *Planner) PlanChecks(r *catalog.Relation) ([]plan.Check, error) {
	if len(r.Checks) == 0 {
		return nil, nil
	}
	out := make([]plan.Check, 0, len(r.Checks))
	for _, c := range r.Checks {
		sql := "SELECT " + c.Expr
		stmts, err := parser.Parse(sql)
		if err != nil || len(stmts) != 1 {
			return nil, sqlerr.New(sqlerr.DataCorrupted, "check constraint %q of relation %q is unreadable: %s", c.Name, r.Name, c.Expr)
		}
		node := stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val
		inner := p.sub(sql)
		e, err := inner.checkBinder(r).bind(node)
		if err != nil {
			return nil, err
		}
		if e, err = inner.coerceBool(e, "argument of CHECK", 0); err != nil {
			return nil, err
		}
		out = append(out, plan.Check{Name: c.Name, Expr: e})
	}
	return out, nil
}
