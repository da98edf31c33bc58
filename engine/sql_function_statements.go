package engine

import (
	"context"
	"slices"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// SQL functions whose body is several statements, or one INSERT,
// UPDATE or DELETE (planner/sqlfunc_statements.go). A call runs the
// statements in turn, as PostgreSQL runs a SQL function it does not
// inline: each is planned with the function's arguments as its
// parameters and runs in the calling statement's transaction, seeing
// the writes of the statements before it; the function's value is the
// first column of the last statement's first row (a SELECT, or a write
// with RETURNING), cast to the return type. A calling statement that
// is not in a transaction block gets a write transaction of its own
// when it calls such a function (callsWritingFunction), so its writes
// commit or roll back with it.

// bodyStatementsText returns the body of a LANGUAGE sql function given
// as BEGIN ATOMIC stmt; ... END as text ("stmt; stmt"), and whether it
// is one SELECT (inlined as before).
func bodyStatementsText(list *pg.Node) (string, bool, error) {
	var stmts []*pg.Node
	if l := list.GetList(); l != nil && len(l.Items) == 1 && l.Items[0].GetList() != nil {
		stmts = l.Items[0].GetList().Items
	}
	texts := make([]string, len(stmts))
	for i, n := range stmts {
		t, err := parser.Deparse(n)
		if err != nil {
			return "", false, err
		}
		texts[i] = t
	}
	return strings.Join(texts, "; "), len(stmts) == 1 && stmts[0].GetSelectStmt() != nil, nil
}

// checkBodyStatements validates the statements of f's body as
// PostgreSQL does at CREATE FUNCTION: each plans with the arguments as
// parameters, and the last gives one column convertible to the return
// type unless the function returns void.
func (s *Session) checkBodyStatements(ctx context.Context, f *catalog.Function, stmts []parser.Statement) error {
	if ctx == nil {
		ctx = context.Background()
	}
	rd := func() storage.Reader { return nil }
	for i, stmt := range stmts {
		verb := planner.StatementVerb(stmt)
		if f.Procedure && transactionVerb(stmt) != "" {
			continue // refused when a CALL reaches it, as in PostgreSQL
		}
		if verb == "" {
			return sqlerr.New(sqlerr.FeatureNotSupported, "SQL function bodies hold SELECT, INSERT, UPDATE and DELETE statements only: %s is not supported", commandName(stmt))
		}
		st := &statement{s: s, st: stmt, whole: f.Body, bodyOf: f}
		p, err := s.plan(ctx, st, slices.Clone(f.ArgTypes), nil, rd)
		if err != nil {
			return bodyStatementError(f, i, err)
		}
		if i < len(stmts)-1 || f.RetType.OIDOverride == types.OIDVoid {
			continue
		}
		want := []types.T{f.RetType}
		if len(f.OutNames) > 0 {
			want = f.OutTypes
		}
		ret := FunctionResult(f)
		if f.Procedure {
			ret = "record"
		}
		switch {
		case verb != "SELECT" && len(p.cols) == 0:
			return sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", ret).
				WithDetail("Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.")
		case f.RetType.Kind == types.Record && len(f.OutNames) == 0:
			// SETOF record: the call's column definition list says.
		case len(p.cols) != len(want) && len(want) == 1:
			return sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", ret).
				WithDetail("Final statement must return exactly one column.")
		case len(p.cols) != len(want):
			return sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", ret).
				WithDetail("Final statement returns %d columns, not %d.", len(p.cols), len(want))
		default:
			for j, c := range p.cols {
				if c.Type.Kind != types.Unknown && types.CastKind(c.Type, want[j]) < types.CastAssignment {
					return sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", ret).
						WithDetail("Actual return type is %s.", c.Type)
				}
			}
		}
	}
	return nil
}

// bodyStatementError places an error of statement i of f's body: its
// position is in the body, not in the statement that met it.
func bodyStatementError(f *catalog.Function, i int, err error) error {
	e := sqlerr.From(err)
	n := *e
	n.Position = 0
	where := "SQL function \"" + f.Name + "\" statement " + strconv.Itoa(i+1)
	if n.Detail == "" {
		n.Detail = where + "."
	} else {
		n.Detail += " (" + where + ")"
	}
	return &n
}

// runBodyStatements runs one call of f, a function with a body of
// several statements, with the argument values args; the calling
// statement reads through rd. It returns the function's value.
func (s *Session) runBodyStatements(ctx context.Context, f *catalog.Function, args []types.Datum, rd func() storage.Reader) (types.Datum, error) {
	rows, cols, err := s.runStatements(ctx, f, args, rd, false)
	if err != nil || f.RetType.OIDOverride == types.OIDVoid {
		return "", err
	}
	if len(rows) == 0 || len(cols) == 0 {
		return nil, nil
	}
	return types.Cast(rows[0][0], cols[0].Type, f.RetType, s.location())
}

// runStatements runs the statements of f's body with the argument
// values args and returns the rows of the last one (its first row only
// unless all) with their columns.
func (s *Session) runStatements(ctx context.Context, f *catalog.Function, args []types.Datum, rd func() storage.Reader, all bool) ([][]types.Datum, []pgwire.Column, error) {
	stmts, _, _, err := planner.BodyStatements(f.Body)
	if err != nil {
		return nil, nil, err
	}
	reader := rd()
	txn, _ := reader.(*storage.Txn)
	if f.SecurityDefiner {
		// The statements plan, check their privileges and run as the
		// owner, as PostgreSQL switches current_user for the call.
		defer s.actAs(routineOwner(f))()
	}
	var rows [][]types.Datum
	var cols []pgwire.Column
	for i, stmt := range stmts {
		if v := transactionVerb(stmt); v != "" {
			return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed in an SQL function", v).
				WithDetail("SQL function %q statement %d.", f.Name, i+1)
		}
		verb := planner.StatementVerb(stmt)
		if verb != "SELECT" {
			switch {
			case s.txn != nil && s.txnReadOnly:
				return nil, nil, sqlerr.New(sqlerr.ReadOnlySQLTransaction, "cannot execute %s in a read-only transaction", verb)
			case txn == nil:
				// The call came through something the statement's text
				// does not name (a view): the statement runs read-only.
				return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s in SQL function %s cannot run in a statement that only reads", verb, f.Signature()).
					WithHint("Call the function by name in the statement, or inside BEGIN ... COMMIT.")
			}
		}
		st := &statement{s: s, st: stmt, whole: f.Body, bodyOf: f}
		p, err := s.plan(ctx, st, slices.Clone(f.ArgTypes), args, rd)
		if err != nil {
			return nil, nil, bodyStatementError(f, i, err)
		}
		x := &execution{ctx: ctx, s: s, args: args, reader: reader, txn: txn}
		res, err := p.run(ctx, x)
		if err != nil {
			return nil, nil, bodyStatementError(f, i, err)
		}
		last := i == len(stmts)-1
		rows, err = collectRows(ctx, res, last && verb == "SELECT" && !all)
		cols = res.Columns()
		res.Close()
		if err != nil {
			return nil, nil, bodyStatementError(f, i, err)
		}
	}
	return rows, cols, nil
}

// collectRows reads res, all of it unless firstOnly, and returns its
// rows (only the first one with firstOnly).
func collectRows(ctx context.Context, res pgwire.Result, firstOnly bool) ([][]types.Datum, error) {
	cols := res.Columns()
	var rows [][]types.Datum
	for {
		rec, err := res.Next(ctx)
		if err != nil || rec == nil {
			return rows, err
		}
		for r := 0; r < int(rec.NumRows()) && len(cols) > 0 && !(firstOnly && len(rows) > 0); r++ {
			row := make([]types.Datum, len(cols))
			for c := range cols {
				row[c] = types.GetDatum(rec.Column(c), r, cols[c].Type)
			}
			rows = append(rows, row)
		}
		rec.Release()
		if firstOnly && len(rows) > 0 {
			return rows, nil
		}
	}
}

// writingFunctions are the names of the SQL functions whose bodies
// write, as of a catalog version.
type writingFunctions struct {
	version uint64
	names   map[string]bool
}

// callsWritingFunction reports whether st, outside a transaction block,
// calls (by name) a SQL function whose body writes, or is a CALL of a
// procedure: it then needs a write transaction of its own, like an
// INSERT.
func (s *Session) callsWritingFunction(st parser.Statement) bool {
	if st.Ext != nil || st.AST == nil {
		return false
	}
	if st.AST.GetCallStmt() != nil {
		return true // a procedure may write
	}
	names := s.e.writingFunctionNames()
	if len(names) == 0 {
		return false
	}
	found := false
	parser.WalkFuncCalls(st.AST, func(name string) {
		if names[name] {
			found = true
		}
	})
	return found
}

// writingFunctionNames returns the names of the SQL functions whose
// bodies write.
func (e *Engine) writingFunctionNames() map[string]bool {
	v := e.cat.Version()
	if w := e.writingFuncs.Load(); w != nil && w.version == v {
		return w.names
	}
	names := map[string]bool{}
	for _, f := range e.cat.Functions() {
		if f.Writes {
			names[f.Name] = true
		}
	}
	e.writingFuncs.Store(&writingFunctions{version: v, names: names})
	return names
}

// isVoidType reports RETURNS void, the result of a function called for
// its effect.
func isVoidType(tn *pg.TypeName) bool {
	if tn == nil || len(tn.ArrayBounds) > 0 || len(tn.Names) == 0 {
		return false
	}
	last := tn.Names[len(tn.Names)-1].GetString_().GetSval()
	return last == "void" && (len(tn.Names) == 1 || tn.Names[0].GetString_().GetSval() == "pg_catalog")
}
