package planner

import (
	"slices"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// User-defined SQL functions (CREATE FUNCTION ... LANGUAGE sql) are
// inlined where they are called, as PostgreSQL inlines simple SQL
// functions: the body, a single SELECT of one expression, is bound with
// each argument reference replaced by the (cast) argument expression, and
// the result cast to the declared return type. A call therefore costs what
// the written-out expression costs, and streaming plans over it stay
// vectorized.
//
// Resolution follows PostgreSQL: the candidates are the functions of that
// name along the search path (one schema when the name is qualified), a
// function earlier in the path hiding one with the same argument types
// later, and the overload is chosen by the same steps as for built-ins.
// When no user function fits, the call goes to the built-ins.
//
// Recursion cannot be inlined: a call of a function inside its own body,
// directly or through others, runs once per call ad hoc (recursiveCall)
// and is refused in materialized views and sinks.

// maxInlineDepth bounds nesting of inlined functions, as a guard beyond
// the recursion check.
const maxInlineDepth = 32

// sqlFuncState is the inlining state of a Planner.
type sqlFuncState struct {
	// stack holds the functions being inlined, outermost first.
	stack []*catalog.Function
	// defining is the function CREATE FUNCTION is checking: calls to its
	// signature resolve to it, so self-recursion is found.
	defining *catalog.Function
	// frames holds the query bodies being bound, innermost last.
	frames []*funcFrame
}

// bodyShapeError refuses bodies that are not one SELECT of one expression.
func bodyShapeError(what string) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "SQL function bodies must be a single SELECT of one expression without FROM: %s is not supported", what)
}

// oneSelectBody parses a function body that must be one SELECT; notSelect
// is the error for one statement of another kind.
func oneSelectBody(body string, ret types.T, notSelect error) (*pg.Node, error) {
	stmts, err := parser.Parse(body)
	if err != nil {
		return nil, err
	}
	switch {
	case len(stmts) == 0:
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", ret).
			WithDetail("Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.")
	case len(stmts) > 1:
		return nil, bodyShapeError("a body of several statements")
	case stmts[0].Ext != nil || stmts[0].AST.GetSelectStmt() == nil:
		return nil, notSelect
	}
	return stmts[0].AST, nil
}

// SQLFunctionBody parses the body of a LANGUAGE sql function and returns
// its one result expression, with Locations relative to body. Errors carry
// positions in body.
func SQLFunctionBody(body string, ret types.T) (*pg.Node, error) {
	stmt, err := oneSelectBody(body, ret, bodyShapeError("a body that is not a SELECT"))
	if err != nil {
		return nil, err
	}
	sel := stmt.GetSelectStmt()
	if !simpleSelect(sel) {
		return stmt, nil
	}
	return SelectBodyExpr(sel, ret)
}

// simpleSelect reports whether sel is a SELECT of a select list alone
// (no FROM, WHERE, set operation or other clause): such a body inlines
// as its expression. Other bodies are queries (queryBody).
func simpleSelect(sel *pg.SelectStmt) bool {
	return sel.Op == pg.SetOperation_SETOP_NONE && len(sel.ValuesLists) == 0 && len(sel.FromClause) == 0 &&
		sel.WhereClause == nil && len(sel.GroupClause) == 0 && sel.HavingClause == nil && len(sel.WindowClause) == 0 &&
		len(sel.SortClause) == 0 && sel.LimitCount == nil && sel.LimitOffset == nil && len(sel.DistinctClause) == 0 &&
		sel.WithClause == nil && sel.IntoClause == nil
}

// SelectBodyExpr checks that sel is a SELECT of one expression without
// FROM and returns that expression.
func SelectBodyExpr(sel *pg.SelectStmt, ret types.T) (*pg.Node, error) {
	switch {
	case sel.Op != pg.SetOperation_SETOP_NONE:
		return nil, bodyShapeError("a set operation")
	case len(sel.ValuesLists) > 0:
		return nil, bodyShapeError("VALUES")
	case len(sel.FromClause) > 0:
		return nil, bodyShapeError("a FROM clause")
	case sel.WhereClause != nil || len(sel.GroupClause) > 0 || sel.HavingClause != nil || len(sel.WindowClause) > 0 ||
		len(sel.SortClause) > 0 || sel.LimitCount != nil || sel.LimitOffset != nil || len(sel.DistinctClause) > 0 || sel.WithClause != nil:
		return nil, bodyShapeError("a clause other than the select list")
	case sel.IntoClause != nil:
		return nil, bodyShapeError("SELECT INTO")
	}
	if len(sel.TargetList) != 1 {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", ret).
			WithDetail("Final statement must return exactly one column.")
	}
	rt := sel.TargetList[0].GetResTarget()
	if rt == nil || rt.Val == nil {
		return nil, bodyShapeError("this select list")
	}
	if cr := rt.Val.GetColumnRef(); cr != nil {
		if _, star := cr.Fields[len(cr.Fields)-1].Node.(*pg.Node_AStar); star {
			return nil, bodyShapeError("*")
		}
	}
	return rt.Val, nil
}

// CheckSQLFunction binds the body expression of f (a new or replacing
// definition, not yet in the catalog) with its arguments as placeholders
// of their declared types, as PostgreSQL validates a body at CREATE. The
// expression's Locations are byte offsets in p.SQL from p.Offset. It
// fails on unknown names, on a result that does not convert to the return
// type (42P13) and on recursion.
func (p *Planner) CheckSQLFunction(f *catalog.Function, body *pg.Node) error {
	args := make([]plan.Scalar, len(f.ArgTypes))
	for i, t := range f.ArgTypes {
		args[i] = &plan.ColRef{Idx: i, T: t, Name: f.ArgNames[i]}
	}
	saved := p.sqlFuncs
	defer func() { p.sqlFuncs = saved }()
	p.sqlFuncs.defining = f
	if f.RetSet {
		// The arguments are the columns of the calling scope here.
		cols := make([]column, len(f.ArgTypes))
		for i, t := range f.ArgTypes {
			cols[i] = column{t: t, hidden: true, qualifiedOnly: true}
		}
		return p.checkSetFunction(f, cols, args)
	}
	p.sqlFuncs.stack = append(slices.Clone(saved.stack), f)
	if sel := body.GetSelectStmt(); sel != nil {
		// The arguments are the columns of the calling scope here.
		cols := make([]column, len(f.ArgTypes))
		for i, t := range f.ArgTypes {
			cols[i] = column{t: t, hidden: true, qualifiedOnly: true}
		}
		b := p.binder(&scope{cols: cols}, "SQL function body")
		_, err := b.queryBody(f, sel, args, 0)
		return err
	}
	e, err := p.bindSQLBody(f, body, args)
	if err != nil {
		return err
	}
	_, err = p.sqlFuncResult(f, e)
	return err
}

// sqlFuncResult casts the bound body e to f's return type (assignment
// rules, as check_sql_fn_retval does).
func (p *Planner) sqlFuncResult(f *catalog.Function, e plan.Scalar) (plan.Scalar, error) {
	if e.Type().Kind == types.Unknown {
		var err error
		if e, err = p.coerce(e, types.TText, 0); err != nil {
			return nil, err
		}
	}
	if types.CastKind(e.Type(), f.RetType) < types.CastAssignment {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", f.RetType).
			WithDetail("Actual return type is %s.", e.Type())
	}
	return p.coerceAssign(e, f.RetType, 0)
}

// bindSQLBody binds body (Locations in p.SQL from p.Offset) with argument
// i ($i+1, or its name) standing for args[i].
func (p *Planner) bindSQLBody(f *catalog.Function, body *pg.Node, args []plan.Scalar) (plan.Scalar, error) {
	b := p.binder(&scope{}, "SQL function body")
	b.hook = func(n *pg.Node) (plan.Scalar, bool, error) {
		if pr := n.GetParamRef(); pr != nil {
			i := int(pr.Number) - 1
			if i < 0 || i >= len(args) {
				return nil, true, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $%d", pr.Number).WithPosition(p.pos(pr.Location))
			}
			return args[i], true, nil
		}
		cr := n.GetColumnRef()
		if cr == nil || len(cr.Fields) > 2 {
			return nil, false, nil
		}
		var parts []string
		for _, fl := range cr.Fields {
			s := fl.GetString_()
			if s == nil {
				return nil, false, nil
			}
			parts = append(parts, s.Sval)
		}
		if len(parts) == 2 && parts[0] != f.Name {
			return nil, false, nil
		}
		name := parts[len(parts)-1]
		for i, an := range f.ArgNames {
			if an != "" && an == name {
				return args[i], true, nil
			}
		}
		return nil, false, nil
	}
	return b.bind(body)
}

// sqlFuncCandidates returns the user functions a call of names may mean,
// and whether the name was qualified with a schema other than pg_catalog
// and information_schema, which hold built-ins (then only user functions
// qualify).
func (p *Planner) sqlFuncCandidates(names []*pg.Node) ([]*catalog.Function, bool) {
	var parts []string
	for _, n := range names {
		parts = append(parts, n.GetString_().Sval)
	}
	name := parts[len(parts)-1]
	var schemas []string
	qualified := len(parts) > 1
	if qualified {
		if s := parts[len(parts)-2]; s == "pg_catalog" || s == "information_schema" {
			return nil, false
		}
		schemas = []string{parts[len(parts)-2]}
	} else {
		schemas = p.SearchPath
	}
	var out []*catalog.Function
	add := func(f *catalog.Function) {
		for _, g := range out {
			if catalog.SameArgs(g.ArgTypes, f.ArgTypes) {
				return // hidden by one earlier in the path
			}
		}
		out = append(out, f)
	}
	if d := p.sqlFuncs.defining; d != nil && d.Name == name && (slices.Contains(schemas, d.Schema)) {
		add(d)
	}
	if p.Catalog == nil || !p.Catalog.HasFunctionNamed(name) {
		return out, qualified
	}
	for _, s := range schemas {
		if s == "pg_catalog" {
			continue
		}
		for _, f := range p.Catalog.FunctionsNamed(s, name) {
			add(f)
		}
	}
	return out, qualified
}

// userCall binds a call of a user function; ok is false when the call is
// left to the built-ins.
func (b *exprBinder) userCall(fc *pg.FuncCall, args []plan.Scalar, ca callArgs, pos int) (e plan.Scalar, ok bool, err error) {
	p := b.p
	cands, qualified := p.sqlFuncCandidates(fc.Funcname)
	cands = slices.DeleteFunc(cands, (*catalog.Function).IsAggregate)
	if len(cands) == 0 && !qualified {
		return nil, false, nil
	}
	if qualified && len(cands) == 0 && p.Catalog != nil {
		schema := fc.Funcname[len(fc.Funcname)-2].GetString_().Sval
		if _, ok := p.Catalog.SchemaByName(schema); !ok && schema != "information_schema" {
			return nil, true, sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", schema).WithPosition(pos)
		}
	}
	ts := make([]types.T, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	i, m, amb := pickRoutine(cands, ca, ts)
	display := funcName(fc.Funcname)
	if amb {
		return nil, true, ambiguousFunction(display, ts, pos)
	}
	if i < 0 {
		if !qualified && !ca.named() {
			return nil, false, nil // a built-in may fit
		}
		return nil, true, undefinedCall(display, ts, ca, pos)
	}
	f := cands[i]
	if f.Procedure {
		return nil, true, procedureCalled(display, ts, pos)
	}
	if args, err = p.arrangeArgs(f, args, m, pos); err != nil {
		return nil, true, err
	}
	if fc.AggDistinct || len(fc.AggOrder) > 0 || fc.AggFilter != nil || fc.AggWithinGroup {
		return nil, true, sqlerr.New(sqlerr.WrongObjectType, "DISTINCT, ORDER BY, FILTER or WITHIN GROUP specified, but %s is not an aggregate function", f.Name).WithPosition(pos)
	}
	if f.Language != "sql" || f.RetSet {
		e, err = p.callUserFunction(f, args, pos)
		return e, true, err
	}
	if err := p.checkStreamVolatility(f); err != nil {
		return nil, true, withPos(err, pos)
	}
	e, err = p.inlineSQLFunction(b, f, args, pos)
	return e, true, err
}

// inlineSQLFunction binds a call of f with the bound arguments args; b is
// the caller's binder (nil where the arguments are not columns of a query,
// as for an aggregate's support functions).
func (p *Planner) inlineSQLFunction(b *exprBinder, f *catalog.Function, args []plan.Scalar, pos int) (plan.Scalar, error) {
	if f.Statements {
		return p.statementsCall(f, args, pos)
	}
	for _, g := range p.sqlFuncs.stack {
		if g.OID == f.OID && (f.OID != 0 || g == f) {
			return p.recursiveCall(f, args, pos)
		}
	}
	if len(p.sqlFuncs.stack) >= maxInlineDepth {
		return nil, sqlerr.New(sqlerr.StatementTooComplex, "SQL functions nested more than %d deep", maxInlineDepth).WithPosition(pos)
	}
	if p.Deps != nil && f.OID != 0 {
		p.Deps[f.OID] = true
	}
	cast, err := p.castToParams(f, args, pos)
	if err != nil {
		return nil, err
	}
	if f.Strict {
		for _, a := range cast {
			if c, ok := a.(*plan.Const); ok && c.Value == nil {
				return &plan.Const{T: f.RetType}, nil
			}
		}
	}
	body, err := SQLFunctionBody(f.Body, f.RetType)
	if err != nil {
		return nil, inlineError(f, err, pos)
	}
	savedSQL, savedOff, savedState := p.SQL, p.Offset, p.sqlFuncs
	p.SQL, p.Offset = f.Body, 0
	p.sqlFuncs.stack = append(slices.Clone(savedState.stack), f)
	var e plan.Scalar
	if sel := body.GetSelectStmt(); sel != nil {
		if b == nil {
			err = sqlerr.New(sqlerr.FeatureNotSupported, "SQL function %s reads tables: it cannot be an aggregate's support function", f.Signature())
		} else {
			e, err = b.queryBody(f, sel, cast, pos)
		}
	} else {
		e, err = p.bindSQLBody(f, body, cast)
		if err == nil {
			e, err = p.sqlFuncResult(f, foldStrictNulls(e))
		}
	}
	p.SQL, p.Offset, p.sqlFuncs = savedSQL, savedOff, savedState
	if err != nil {
		return nil, inlineError(f, err, pos)
	}
	if !f.Strict {
		return e, nil
	}
	// STRICT: NULL when any argument that may be NULL is.
	var nullTests []plan.Scalar
	for _, a := range cast {
		if c, ok := a.(*plan.Const); ok && c.Value != nil {
			continue
		}
		nullTests = append(nullTests, &plan.IsNull{Input: a})
	}
	switch len(nullTests) {
	case 0:
		return e, nil
	case 1:
	default:
		nullTests = []plan.Scalar{&plan.Or{Args: nullTests}}
	}
	return &plan.Case{Whens: nullTests, Thens: []plan.Scalar{&plan.Const{T: f.RetType}}, Else: e, T: f.RetType}, nil
}

// recursiveCall binds a call of f made inside f's own body (directly or
// through other functions): it cannot be inlined, so ad hoc it runs the
// body once per call (with a depth limit, 54001, as PostgreSQL's stack
// depth limit), as PostgreSQL evaluates a SQL function it does not
// inline. A materialized view compiles a deterministic one without FROM
// (sqlfunc_recursive.go) and refuses the others: its job would run
// statements inside the dataflow.
func (p *Planner) recursiveCall(f *catalog.Function, args []plan.Scalar, pos int) (plan.Scalar, error) {
	if p.Stream {
		fn, ok, err := p.compiledRecursion(f, pos)
		if err != nil {
			return nil, err
		}
		if ok {
			return p.callOf(f, fn, args, pos)
		}
	}
	if p.Stream || p.RecursiveCall == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "SQL function %s calls itself recursively: recursive SQL functions are not supported in materialized views and sinks", f.Signature()).WithPosition(pos)
	}
	if f.RetSet {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning SQL function %s calls itself recursively: recursive set-returning SQL functions are not supported", f.Signature()).WithPosition(pos)
	}
	return p.perCall(f, args, pos)
}

// perCall is a call of f that the engine evaluates by running f's body
// once per call with the argument values (RecursiveCall).
func (p *Planner) perCall(f *catalog.Function, args []plan.Scalar, pos int) (plan.Scalar, error) {
	return p.callOf(f, p.RecursiveCall(f), args, pos)
}

// callOf is a call of f evaluated by fn, its arguments cast to f's
// parameter types.
func (p *Planner) callOf(f *catalog.Function, fn *udf.Scalar, args []plan.Scalar, pos int) (plan.Scalar, error) {
	cast, err := p.castToParams(f, args, pos)
	if err != nil {
		return nil, err
	}
	if p.Deps != nil && f.OID != 0 {
		p.Deps[f.OID] = true
	}
	return &plan.Call{Fn: fn, Args: cast, T: f.RetType}, nil
}

// foldStrictNulls replaces a call of a strict function with a NULL
// constant argument by NULL, as PostgreSQL's constant folding does for
// any such call (evaluate_function) once an inlined body has its
// arguments: so fact(NULL), whose body reads NULL * fact(NULL - 1),
// gives NULL instead of recursing without end.
func foldStrictNulls(e plan.Scalar) plan.Scalar {
	return plan.Rewrite(e, func(x plan.Scalar) (plan.Scalar, bool) {
		c, ok := x.(*plan.Call)
		if !ok || c.Fn == nil {
			return nil, false
		}
		args := make([]plan.Scalar, len(c.Args))
		null := false
		for i, a := range c.Args {
			args[i] = foldStrictNulls(a)
			if k, ok := args[i].(*plan.Const); ok && k.Value == nil {
				null = true
			}
		}
		if null && c.Fn.Strict {
			return &plan.Const{T: c.T}, true
		}
		return &plan.Call{Fn: c.Fn, Args: args, T: c.T}, true
	})
}

// inlineError reports an error met inside f's body at the call: its
// position in the body means nothing in the caller's query.
func inlineError(f *catalog.Function, err error, pos int) error {
	e := sqlerr.From(err)
	if e.Code == sqlerr.FeatureNotSupported && strings.Contains(e.Message, "recursive") {
		return e
	}
	n := *e
	n.Position = pos
	if n.Detail == "" {
		n.Detail = "In SQL function " + f.Signature() + "."
	}
	return &n
}

// BodyPosition maps a 1-based character position within body, which
// starts at byte off of sql, to the position within sql.
func BodyPosition(sql string, off, pos int) int {
	if pos <= 0 || off < 0 || off > len(sql) {
		return pos
	}
	return utf8.RuneCountInString(sql[:off]) + pos
}

// selectSignature picks among candidate argument lists for actual types,
// following PostgreSQL's func_select_candidate in outline: reachability
// by implicit casts, then exact matches, then the most exact matches,
// then preferred types where a conversion is needed, then unknown
// arguments taken as strings. It returns -1 when none fits, with ambiguous
// set when several remain.
func selectSignature(actual []types.T, cands [][]types.T) (int, bool) {
	var live []int
	for i, c := range cands {
		if len(c) != len(actual) {
			continue
		}
		ok := true
		for j, a := range actual {
			if a.Kind != types.Unknown && a.OID() != c[j].OID() && types.CastKind(a, c[j]) != types.CastImplicit {
				ok = false
				break
			}
		}
		if ok {
			live = append(live, i)
		}
	}
	if len(live) <= 1 {
		if len(live) == 1 {
			return live[0], false
		}
		return -1, false
	}
	score := func(keep func(i int) int) {
		best := -1
		var out []int
		for _, i := range live {
			switch s := keep(i); {
			case s > best:
				best, out = s, []int{i}
			case s == best:
				out = append(out, i)
			}
		}
		live = out
	}
	// PostgreSQL's rules in order: most exact type matches, then most
	// preferred types where a conversion is needed, then most unknown
	// arguments that can be strings.
	for _, match := range []func(a, c types.T) bool{
		func(a, c types.T) bool { return a.Kind != types.Unknown && a.OID() == c.OID() },
		func(a, c types.T) bool { return a.Kind != types.Unknown && a.OID() != c.OID() && preferredType(c) },
		func(a, c types.T) bool { return a.Kind == types.Unknown && isStringKind(c.Kind) },
	} {
		score(func(i int) int {
			n := 0
			for j, a := range actual {
				if match(a, cands[i][j]) {
					n++
				}
			}
			return n
		})
		if len(live) == 1 {
			return live[0], false
		}
	}
	return -1, true
}

func preferredType(t types.T) bool {
	switch t.Kind {
	case types.Bool, types.Float8, types.Text, types.TimestampTZ, types.Interval:
		return true
	}
	return false
}

func isStringKind(k types.Kind) bool {
	return k == types.Text || k == types.Varchar || k == types.Char || k == types.Name
}

// ambiguousFunction is PostgreSQL's error for a call that more than one
// function's signature fits equally well.
func ambiguousFunction(display string, ts []types.T, pos int) error {
	return sqlerr.New(sqlerr.AmbiguousFunction, "function %s(%s) is not unique", display, catalog.TypeList(ts)).
		WithHint("Could not choose a best candidate function. You might need to add explicit type casts.").WithPosition(pos)
}

// undefinedFunction is PostgreSQL's error for a call no function fits.
func undefinedFunction(display string, ts []types.T, pos int) error {
	return sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", display, catalog.TypeList(ts)).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").WithPosition(pos)
}
