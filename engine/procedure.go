package engine

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Procedures: CREATE [OR REPLACE] PROCEDURE name(args) LANGUAGE sql
// AS $$ stmt; ... $$ (or BEGIN ATOMIC stmt; ... END) and CALL name(args).
// A procedure's body is a SQL function body of several statements
// (sql_function_statements.go): a CALL runs the statements in turn, in
// the CALL's transaction, with the input arguments as their parameters.
// With INOUT or OUT parameters the first row of the last statement gives
// their values, and CALL returns them as one row, as PostgreSQL does.
// COMMIT and ROLLBACK in a body are refused when the CALL reaches them
// (0A000), as PostgreSQL refuses them in SQL-language procedures.

// createProcedure runs CREATE [OR REPLACE] PROCEDURE.
func (s *Session) createProcedure(p *planner.Planner, cf *pg.CreateFunctionStmt) (string, error) {
	schema, name, err := s.funcName(cf.Funcname)
	if err != nil {
		return "", err
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	f := &catalog.Function{Schema: schema, Name: name, Procedure: true, Volatility: catalog.Volatile, Owner: s.currentUser(), Created: time.Now()}
	var modes []byte
	var seen []string
	for i, pn := range cf.Parameters {
		fp := pn.GetFunctionParameter()
		var m byte
		switch fp.Mode {
		case pg.FunctionParameterMode_FUNC_PARAM_IN, pg.FunctionParameterMode_FUNC_PARAM_DEFAULT:
			m = 'i'
		case pg.FunctionParameterMode_FUNC_PARAM_INOUT:
			m = 'b'
		case pg.FunctionParameterMode_FUNC_PARAM_OUT:
			m = 'o'
		case pg.FunctionParameterMode_FUNC_PARAM_VARIADIC:
			// A CALL passes an argument for every parameter, so the
			// VARIADIC one, which takes the trailing arguments, comes
			// last.
			if i != len(cf.Parameters)-1 {
				return "", sqlerr.New(sqlerr.FeatureNotSupported, "a VARIADIC parameter of a procedure must be its last parameter")
			}
			m, f.Variadic = 'v', true
		default:
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "parameter mode %s is not supported", fp.Mode)
		}
		if fp.Name != "" && slices.Contains(seen, fp.Name) {
			return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "parameter name %q used more than once", fp.Name)
		}
		seen = append(seen, fp.Name)
		t, err := p.TypeName(fp.ArgType)
		if err != nil {
			return "", err
		}
		t = baseType(t)
		if f.Variadic && (t.Kind != types.Array || t.Elem == nil) {
			return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "VARIADIC parameter must be an array")
		}
		if m == 'o' && len(f.ArgDefaults) > 0 {
			// A CALL's arguments fill the parameters in order, OUT ones
			// included; defaults are taken for the trailing ones.
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "OUT parameters after one with a default value are not supported")
		}
		if m != 'o' {
			if err := paramDefault(p, &f.ArgDefaults, fp, t, false); err != nil {
				return "", err
			}
		}
		if m != 'o' {
			f.ArgNames, f.ArgTypes = append(f.ArgNames, fp.Name), append(f.ArgTypes, t)
		}
		if m == 'b' || m == 'o' {
			f.OutNames, f.OutTypes = append(f.OutNames, fp.Name), append(f.OutTypes, t)
		}
		modes = append(modes, m)
	}
	if len(f.OutTypes) > 0 {
		f.ArgModes, f.RetType = string(modes), types.T{Kind: types.Record}
	} else {
		f.RetType = types.TVoid
	}
	if f.Variadic {
		f.ArgModes = string(modes)
	}
	var asBody []string
	for _, o := range cf.Options {
		if d := o.GetDefElem(); !routineOption(d, f, &asBody) {
			return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "invalid attribute in procedure definition").
				WithDetail("%s is not allowed for a procedure.", strings.ToUpper(d.Defname))
		}
	}
	switch {
	case f.Language == "" && cf.SqlBody != nil:
		f.Language = "sql"
	case f.Language == "":
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "no language specified")
	case f.Language != "sql" && s.e.udfs.Knows(f.Language):
		return s.createUserProcedure(cf, f, asBody)
	case f.Language != "sql":
		return "", sqlerr.New(sqlerr.UndefinedObject, "language %q does not exist", f.Language)
	}
	var text string
	switch {
	case cf.SqlBody != nil && len(asBody) > 0:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "duplicate function body specified")
	case cf.SqlBody != nil:
		if text, _, err = bodyStatementsText(cf.SqlBody); err != nil {
			return "", err
		}
		f.AtomicBody = true
	case len(asBody) == 1:
		text = asBody[0]
	case len(asBody) > 1:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "only one AS item needed for language \"sql\"")
	default:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "no function body specified")
	}
	stmts, _, writes, err := planner.BodyStatements(text)
	if err != nil {
		return "", err
	}
	f.Body, f.Statements, f.Writes = text, true, writes
	if err := s.checkBodyStatements(p.Context, f, stmts); err != nil {
		return "", err
	}
	if err := s.putRoutine(f, cf.Replace); err != nil {
		return "", err
	}
	return "CREATE PROCEDURE", nil
}

// createUserProcedure finishes CREATE PROCEDURE in a sandboxed language
// (JavaScript): the runtime compiles the body now, so that a syntax error
// or an unsupported type is refused here.
func (s *Session) createUserProcedure(cf *pg.CreateFunctionStmt, f *catalog.Function, asBody []string) (string, error) {
	if f.SecurityDefiner {
		// A sandboxed body reads no tables: there is nothing to run as
		// its owner.
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "SECURITY DEFINER is not supported for procedures in LANGUAGE %s", f.Language)
	}
	return s.createUserFunction(cf, f, asBody)
}

// callUserProcedure runs f, a procedure in a sandboxed language, with
// the input parameters' values in, and returns the output parameters'.
func (s *Session) callUserProcedure(ctx context.Context, f *catalog.Function, in []types.Datum) ([]types.Datum, error) {
	d, err := planner.UserDef(f)
	if err != nil {
		return nil, err
	}
	pr, err := s.e.udfs.Procedure(d)
	if err != nil {
		return nil, err
	}
	env := s.execCtx(ctx, nil).Env
	return pr.Call(&env, in)
}

// transactionVerb names a COMMIT, ROLLBACK, ... statement; "" for any
// other statement.
func transactionVerb(st parser.Statement) string {
	if st.AST == nil || st.AST.GetTransactionStmt() == nil {
		return ""
	}
	return strings.ReplaceAll(strings.TrimPrefix(st.AST.GetTransactionStmt().Kind.String(), "TRANS_STMT_"), "_", " ")
}

// planCall plans CALL name(args): the arguments are evaluated as a
// one-row query, cast to the procedure's parameter types, and the
// procedure's body runs with the input ones.
func (s *Session) planCall(p *planner.Planner, rd func() storage.Reader, cs *pg.CallStmt) (*prepared, error) {
	fc := cs.Funccall
	for _, a := range fc.Args {
		if parser.HasSubquery(a) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot use subquery in CALL argument")
		}
	}
	// A string literal, NULL, or a parameter of no given type is of
	// unknown type to the choice of procedure, as in a function call; a
	// parameter then takes the type of the procedure's parameter.
	given := slices.Clone(p.ParamTypes)
	var nodes []*pg.Node
	var unknown []bool
	var sel *pg.SelectStmt
	setArgs := func(args []*pg.Node) {
		nodes, unknown = args, make([]bool, len(args))
		for i, a := range args {
			if k := a.GetAConst(); k != nil && (k.Isnull || k.GetSval() != nil) {
				unknown[i] = true
			}
			if r := a.GetParamRef(); r != nil && r.Number > 0 && (int(r.Number) > len(given) || given[r.Number-1].Kind == types.Unknown) {
				unknown[i] = true
			}
		}
		sel = &pg.SelectStmt{Op: pg.SetOperation_SETOP_NONE, LimitOption: pg.LimitOption_LIMIT_OPTION_DEFAULT}
		for _, a := range args {
			sel.TargetList = append(sel.TargetList, pg.MakeResTargetNodeWithVal(a, -1))
		}
	}
	setArgs(planner.CallArgNodes(fc))
	var actual []types.T
	var op exec.Operator
	var argCols []pgwire.Column
	planArgs := func() error {
		op, argCols, actual = nil, nil, nil
		if len(nodes) == 0 {
			return nil
		}
		q, o, err := planBatchSelect(p, rd, sel)
		if err != nil {
			return err
		}
		op, argCols, actual = o, outputColumns(q.Cols), nil
		for i, c := range argCols {
			if unknown[i] {
				c.Type = types.TUnknown
			}
			actual = append(actual, c.Type)
		}
		return nil
	}
	if err := planArgs(); err != nil {
		return nil, err
	}
	f, arranged, err := p.ResolveProcedure(fc, actual)
	if err != nil {
		return nil, err
	}
	// The arguments in the procedure's parameter order, with defaults
	// and the VARIADIC array.
	retype := !slices.Equal(arranged, nodes)
	setArgs(arranged)
	_, ts, _ := f.CallParams()
	for i, a := range nodes {
		if r := a.GetParamRef(); r != nil && unknown[i] {
			if retype = true; int(r.Number) > len(given) {
				given = append(given, make([]types.T, int(r.Number)-len(given))...)
			}
			given[r.Number-1] = ts[i]
		}
	}
	if retype {
		p.ParamTypes = given
		if err := planArgs(); err != nil {
			return nil, err
		}
	}
	if p.Deps == nil {
		p.Deps, p.ColDeps = map[uint32]bool{}, map[uint32]map[int16]bool{}
	}
	p.Deps[f.OID] = true // EXECUTE is checked when the CALL runs
	args := func(ctx context.Context, x *execution) ([]types.Datum, error) {
		if op == nil {
			return nil, nil
		}
		res := newRowsResult(ctx, x.s.execCtx(ctx, x.args), op, argCols, "SELECT")
		defer res.Close()
		rows, err := collectRows(ctx, res, true)
		if err != nil || len(rows) == 0 {
			return nil, err
		}
		return rows[0], nil
	}
	var cols []pgwire.Column
	for i, n := range f.OutNames {
		if n == "" {
			n = "column" + strconv.Itoa(i+1)
		}
		cols = append(cols, pgwire.Column{Name: n, Type: f.OutTypes[i]})
	}
	reads, readCols, viewReads := depList(p.Deps), p.ColDeps, p.ViewReads
	oid, sig := f.OID, f.Signature()
	return &prepared{params: p.FinishParams(), cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if err := x.s.checkReads(reads, readCols, viewReads); err != nil {
			return nil, err
		}
		vals, err := args(ctx, x)
		if err != nil {
			return nil, err
		}
		return x.s.callProcedure(ctx, x, oid, sig, actual, vals, cols)
	}}, nil
}

// callProcedure runs one CALL of procedure oid with the argument values
// vals (of the types actual): the body's statements with the input
// arguments, then the output parameters' values as one row of cols.
func (s *Session) callProcedure(ctx context.Context, x *execution, oid uint32, sig string, actual []types.T, vals []types.Datum, cols []pgwire.Column) (pgwire.Result, error) {
	ctx, f, done, err := s.enterCall(ctx, oid, sig)
	if err != nil {
		return nil, err
	}
	defer done()
	_, ts, modes := f.CallParams()
	if len(ts) != len(vals) || len(f.OutTypes) != len(cols) {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "procedure %s changed since the CALL was planned", sig)
	}
	loc := s.location()
	var in []types.Datum
	for i, v := range vals {
		c, err := types.Cast(v, actual[i], ts[i], loc)
		if err != nil {
			return nil, err
		}
		if modes[i] != 'o' {
			in = append(in, c)
		}
	}
	if f.Language != "sql" {
		out, err := s.callUserProcedure(ctx, f, in)
		if err != nil || len(cols) == 0 {
			return tagResult("CALL"), err
		}
		return memResult(cols, [][]types.Datum{out}, "CALL"), nil
	}
	rows, res, err := s.runStatements(ctx, f, in, func() storage.Reader { return x.reader }, false)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return tagResult("CALL"), nil
	}
	out := make([]types.Datum, len(cols))
	if len(rows) > 0 {
		for i := range out {
			if out[i], err = types.Cast(rows[0][i], res[i].Type, cols[i].Type, loc); err != nil {
				return nil, err
			}
		}
	}
	return memResult(cols, [][]types.Datum{out}, "CALL"), nil
}

// lookupRoutine finds the one routine a DROP, ALTER or GRANT of kind
// (FUNCTION, PROCEDURE or ROUTINE, which finds any of them; others as
// lookupFunctionForDrop) names. Named without arguments, only routines
// of that kind count; named with
// argument types, a procedure is also found by all its parameters' types
// (OUT ones included), and a routine of the other kind is refused with
// 42809, as PostgreSQL does.
func (s *Session) lookupRoutine(p *planner.Planner, owa *pg.ObjectWithArgs, kind pg.ObjectType) (*catalog.Function, error) {
	proc, routine := kind == pg.ObjectType_OBJECT_PROCEDURE, kind == pg.ObjectType_OBJECT_ROUTINE
	if kind != pg.ObjectType_OBJECT_FUNCTION && !proc && !routine {
		return s.lookupFunctionForDrop(p, owa)
	}
	word := "function"
	switch {
	case proc:
		word = "procedure"
	case routine:
		word = "routine"
	}
	var parts []string
	for _, n := range owa.Objname {
		parts = append(parts, n.GetString_().Sval)
	}
	name, display := parts[len(parts)-1], strings.Join(parts, ".")
	schemas := s.searchPath()
	if len(parts) > 1 {
		schemas = []string{parts[len(parts)-2]}
	}
	if owa.ArgsUnspecified {
		var found []*catalog.Function
		for _, sc := range schemas {
			fs := slices.DeleteFunc(s.e.cat.FunctionsNamed(sc, name), func(f *catalog.Function) bool { return !routine && f.Procedure != proc })
			if len(fs) > 0 {
				found = fs
				break
			}
		}
		switch len(found) {
		case 0:
			if routine {
				word = "function" // as PostgreSQL words it
			}
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "could not find a %s named %q", word, display)
		case 1:
			return found[0], nil
		}
		return nil, sqlerr.New(sqlerr.AmbiguousFunction, "%s name %q is not unique", word, display).
			WithHint("Specify the argument list to select the %s unambiguously.", word)
	}
	f, err := s.lookupFunctionForDrop(p, owa)
	if err != nil && (proc || routine) && sqlerr.Code(err) == sqlerr.UndefinedFunction {
		notFound := err
		args, err := routineArgTypes(p, owa)
		if err != nil {
			return nil, err
		}
		for _, sc := range schemas {
			for _, g := range s.e.cat.FunctionsNamed(sc, name) {
				if _, all, _ := g.CallParams(); g.Procedure && catalog.SameArgs(all, args) {
					return g, nil
				}
			}
		}
		if routine {
			return nil, notFound
		}
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "procedure %s(%s) does not exist", display, catalog.TypeList(args))
	}
	if err != nil {
		return nil, err
	}
	if !routine && f.Procedure != proc {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%s(%s) is not a %s", f.Name, catalog.TypeList(f.ArgTypes), word)
	}
	return f, nil
}

// renameRoutine runs ALTER FUNCTION|PROCEDURE|ROUTINE name(types) RENAME
// TO.
func (s *Session) renameRoutine(p *planner.Planner, rs *pg.RenameStmt) (string, error) {
	tag := "ALTER " + objectName(rs.RenameType)
	f, err := s.lookupRoutine(p, rs.Object.GetObjectWithArgs(), rs.RenameType)
	if err != nil {
		return "", err
	}
	if err := s.checkRoutineOwner(f); err != nil {
		return "", err
	}
	if err := s.checkCreateIn(f.Schema); err != nil {
		return "", err
	}
	return tag, s.alterRoutine(f.OID, func() error { return s.e.cat.RenameFunction(f.OID, rs.Newname) })
}

// checkRoutineOwner fails with 42501 unless the current role owns f
// (through its roles) or is a superuser.
func (s *Session) checkRoutineOwner(f *catalog.Function) error {
	if s.isSuperuser() || s.e.cat.RolesInheritedBy(s.currentUser())[routineOwner(f)] {
		return nil
	}
	return sqlerr.New(sqlerr.InsufficientPrivilege, "must be owner of %s %s", f.KindName(), f.Name)
}
