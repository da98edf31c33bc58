package planner

// Row-level security in plans. The engine decides which policies of a
// table bind a role and combines them into one predicate, as SQL text over
// the table's column names (Planner.RowSecurity); the planner binds that
// text where the table is scanned and puts it in a Filter right over the
// scan, below every predicate of the query, so a query's own conditions
// see only rows the policies let through (the rewrites keep a lower
// filter's conjuncts first, and AND evaluates a later conjunct only on
// rows the earlier ones did not reject). Writes bind their policies over
// the target's physical row (PlanPolicyExpr) and apply them in the writer.
//
// A policy expression is bound as if the querying role wrote it, in the
// same planner: tables its subqueries read are checked for that role's
// privileges, as in PostgreSQL. A policy whose subquery reads its own
// table (directly or through other policies) is refused at planning, as
// PostgreSQL refuses it ("infinite recursion detected in policy").

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// policyBinder binds a policy expression of table r over sc (what names
// the clause for errors: "POLICY USING expression").
func (p *Planner) policyBinder(sc *scope, what string) *exprBinder {
	return p.binder(sc, what)
}

// BindPolicy validates the USING or WITH CHECK expression n of a policy
// on r (what: "POLICY USING expression" or "POLICY WITH CHECK
// expression") and returns its SQL text.
func (p *Planner) BindPolicy(r *catalog.Relation, n *pg.Node, what string) (string, error) {
	sc := policyScope(r)
	e, err := p.policyBinder(sc, what).bind(n)
	if err != nil {
		return "", err
	}
	if _, err := p.coerceBool(e, "argument of "+what, 0); err != nil {
		return "", err
	}
	return parser.DeparseExpr(n)
}

// policyScope is r's physical row for a policy expression: references to
// it are the policy's, not reads of the querying role (no column
// privileges are noted for them).
func policyScope(r *catalog.Relation) *scope {
	sc := physicalScope(r, r.Name)
	for i := range sc.cols {
		sc.cols[i].privOID, sc.cols[i].privAtt = 0, 0
	}
	return sc
}

// bindPolicyText binds policy SQL text of relation r over sc in a planner
// that shares p's dependencies.
func (p *Planner) bindPolicyText(r *catalog.Relation, text string, sc *scope) (plan.Scalar, error) {
	sql := "SELECT " + text
	stmts, err := parser.Parse(sql)
	if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil || len(stmts[0].AST.GetSelectStmt().TargetList) != 1 {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "row-level security policy of relation %q is unreadable: %s", r.Name, text)
	}
	if p.rlsActive == nil {
		p.rlsActive = map[uint32]bool{}
	}
	if p.rlsActive[r.OID] {
		return nil, sqlerr.New(sqlerr.InvalidObjectDefinition, "infinite recursion detected in policy for relation %q", r.Name)
	}
	p.rlsActive[r.OID] = true
	defer delete(p.rlsActive, r.OID)
	inner := *p
	inner.SQL, inner.Offset, inner.chars = sql, 0, charIndex{}
	e, err := inner.policyBinder(sc, "POLICY USING expression").bind(stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val)
	if err != nil {
		return nil, err
	}
	return inner.coerceBool(e, "argument of POLICY USING expression", 0)
}

// PlanPolicyExpr binds the policy SQL text of r over its physical row,
// for the writer's filters and checks (the engine compiles it).
func (p *Planner) PlanPolicyExpr(r *catalog.Relation, text string) (plan.Scalar, error) {
	return p.bindPolicyText(r, text, policyScope(r))
}

// secured puts r's row-level security predicate for the planner's role
// over the scan fi of r, whose columns are r's physical columns idx (and
// maybe a hidden row id after them).
func (p *Planner) secured(r *catalog.Relation, fi *fromItem, idx []int) (*fromItem, error) {
	if p.RowSecurity == nil || !r.RowSecurity {
		return fi, nil
	}
	text, err := p.RowSecurity(r, p.Role)
	if err != nil || text == "" {
		return fi, err
	}
	sc := &scope{}
	for k, c := range fi.rel.cols {
		col := column{table: r.Name, t: c.t, hidden: true}
		if k < len(idx) {
			rc := r.Columns[idx[k]]
			col.name, col.hidden, col.tableOID, col.attNum = rc.Name, false, r.OID, rc.AttNum
		}
		sc.cols = append(sc.cols, col)
	}
	pred, err := p.bindPolicyText(r, text, sc)
	if err != nil {
		return nil, err
	}
	fi.rel = &relPlan{node: &plan.Filter{Input: fi.rel.node, Pred: pred}, cols: fi.rel.cols}
	fi.secured = true
	return fi, nil
}
