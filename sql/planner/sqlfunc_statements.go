package planner

import (
	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// A LANGUAGE sql function whose body is several statements, or one
// INSERT, UPDATE or DELETE, cannot be inlined. As PostgreSQL runs such a
// function, each call runs the statements in turn, each seeing the
// writes of those before it, and returns the first row of the last one
// (a SELECT, or a write with RETURNING); the engine runs them
// (RecursiveCall). Each statement is planned on its own with the
// function's arguments as its parameters (BodyOf).

// BodyStatements parses the body of a LANGUAGE sql function. several
// reports a body that must run per call: more than one statement, or
// one that is not a SELECT; writes reports an INSERT, UPDATE or DELETE
// among them.
func BodyStatements(body string) (stmts []parser.Statement, several, writes bool, err error) {
	stmts, err = parser.Parse(body)
	if err != nil {
		return nil, false, false, err
	}
	for _, st := range stmts {
		if st.Ext == nil && st.AST != nil && StatementVerb(st) != "SELECT" && StatementVerb(st) != "" {
			writes = true
		}
	}
	several = len(stmts) > 1 || len(stmts) == 1 && (stmts[0].Ext != nil || stmts[0].AST.GetSelectStmt() == nil)
	return stmts, several, writes, nil
}

// StatementVerb names a statement a function body may hold: SELECT,
// INSERT, UPDATE or DELETE; "" for any other.
func StatementVerb(st parser.Statement) string {
	if st.Ext != nil || st.AST == nil {
		return ""
	}
	switch n := st.AST; {
	case n.GetSelectStmt() != nil && n.GetSelectStmt().IntoClause == nil:
		return "SELECT"
	case n.GetInsertStmt() != nil:
		return "INSERT"
	case n.GetUpdateStmt() != nil:
		return "UPDATE"
	case n.GetDeleteStmt() != nil:
		return "DELETE"
	}
	return ""
}

// statementArg resolves a column reference that names no column, in a
// body statement planned on its own, to an argument of BodyOf: name, or
// fn.name.
func (p *Planner) statementArg(qual, name string) (int, bool) {
	f := p.BodyOf
	if f == nil || qual != "" && qual != f.Name {
		return 0, false
	}
	for i, an := range f.ArgNames {
		if an != "" && an == name {
			return i, true
		}
	}
	return 0, false
}

// statementsCall binds a call of f, whose body runs statement by
// statement: ad hoc it runs per call. A function that writes must be
// VOLATILE (PostgreSQL's 0A000, "INSERT is not allowed in a non-volatile
// function"); a materialized view refuses the call, since its job does
// not run statements inside the dataflow (a VOLATILE one is refused
// before, with 42P17).
func (p *Planner) statementsCall(f *catalog.Function, args []plan.Scalar, pos int) (plan.Scalar, error) {
	if f.Writes && f.Volatility != catalog.Volatile {
		verb := "INSERT"
		if stmts, _, _, err := BodyStatements(f.Body); err == nil {
			for _, st := range stmts {
				if v := StatementVerb(st); v != "SELECT" && v != "" {
					verb = v
					break
				}
			}
		}
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed in a non-volatile function", verb).
			WithDetail("In SQL function %s.", f.Signature()).WithPosition(pos)
	}
	if p.Stream || p.RecursiveCall == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "SQL function %s has a body of several statements: such functions are not supported in materialized views and sinks", f.Signature()).
			WithHint("Write the function as one SELECT to use it in a view.").WithPosition(pos)
	}
	return p.perCall(f, args, pos)
}
