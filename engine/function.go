package engine

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
	"streamsql/udf/js"
	"streamsql/udf/wasm"
)

// CREATE FUNCTION, DROP FUNCTION and SHOW FUNCTIONS. Functions are
// LANGUAGE sql scalar functions whose body is one SELECT of one expression
// (AS $$ SELECT expr $$) or the SQL-standard RETURN expr. The body is
// checked here, as PostgreSQL checks it at CREATE, and inlined by the
// planner wherever the function is called (sql/planner/sqlfunc.go).

// baseType drops type modifiers: PostgreSQL keeps none for function
// arguments and results (varchar(10) is varchar).
func baseType(t types.T) types.T {
	if t.OIDOverride != 0 {
		return t
	}
	b := types.T{Kind: t.Kind}
	if t.Elem != nil {
		e := baseType(*t.Elem)
		b.Elem = &e
	}
	return b
}

// createFunction runs CREATE [OR REPLACE] FUNCTION.
// With aggregate it runs CREATE [OR REPLACE] AGGREGATE name(args) RETURNS
// type LANGUAGE lang AS ..., an aggregate in a language such as
// JavaScript.
func (s *Session) createFunction(st *statement, p *planner.Planner, cf *pg.CreateFunctionStmt, aggregate bool) (string, error) {
	if cf.IsProcedure {
		return s.createProcedure(p, cf)
	}
	schema, name, err := s.funcName(cf.Funcname)
	if err != nil {
		return "", err
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	f := &catalog.Function{Schema: schema, Name: name, Volatility: catalog.Volatile, Owner: s.currentUser(), Created: time.Now()}
	variadic := false
	for i, pn := range cf.Parameters {
		fp := pn.GetFunctionParameter()
		switch fp.Mode {
		case pg.FunctionParameterMode_FUNC_PARAM_IN, pg.FunctionParameterMode_FUNC_PARAM_DEFAULT:
		case pg.FunctionParameterMode_FUNC_PARAM_VARIADIC:
			// The function sees one array argument (an aggregate's
			// accumulate too); calls spread their trailing arguments
			// over it.
			if i != len(cf.Parameters)-1 {
				return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "VARIADIC parameter must be the last input parameter")
			}
			variadic = true
		case pg.FunctionParameterMode_FUNC_PARAM_TABLE:
			t, err := p.TypeName(fp.ArgType)
			if err != nil {
				return "", err
			}
			if slices.Contains(f.OutNames, fp.Name) {
				return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "parameter name %q used more than once", fp.Name)
			}
			f.OutNames = append(f.OutNames, fp.Name)
			f.OutTypes = append(f.OutTypes, baseType(t))
			continue
		default:
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "OUT, INOUT and VARIADIC parameters are not supported")
		}
		t, err := p.TypeName(fp.ArgType)
		if err != nil {
			return "", err
		}
		if err := paramDefault(p, &f.ArgDefaults, fp, baseType(t), aggregate); err != nil {
			return "", err
		}
		for _, prev := range f.ArgNames {
			if fp.Name != "" && prev == fp.Name {
				return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "parameter name %q used more than once", fp.Name)
			}
		}
		if variadic && (t.Kind != types.Array || t.Elem == nil) {
			return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "VARIADIC parameter must be an array")
		}
		f.ArgNames = append(f.ArgNames, fp.Name)
		f.ArgTypes = append(f.ArgTypes, baseType(t))
	}
	if cf.ReturnType == nil {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "function result type must be specified")
	}
	f.RetSet = cf.ReturnType.Setof
	if len(f.OutNames) > 0 {
		f.RetType = types.T{Kind: types.Record}
	} else if isVoidType(cf.ReturnType) && !f.RetSet && !aggregate {
		f.RetType = types.TVoid
	} else if rt, err := p.TypeName(cf.ReturnType); err == nil {
		f.RetType = baseType(rt)
	} else if name, names, ts, ok := p.RowTypeColumns(cf.ReturnType); ok && f.RetSet && !aggregate {
		// RETURNS SETOF table: the table's row type.
		f.RetType, f.RowType, f.OutNames, f.OutTypes = types.T{Kind: types.Record}, name, names, ts
	} else {
		return "", err
	}

	var asBody []string
	asPos := -1
	volatilityGiven := false
	for _, o := range cf.Options {
		d := o.GetDefElem()
		if routineOption(d, f, &asBody) {
			if d.Defname == "as" {
				asPos = int(d.Location)
			}
			continue
		}
		switch d.Defname {
		case "volatility":
			f.Volatility = d.Arg.GetString_().Sval[0]
			volatilityGiven = true
		case "strict":
			f.Strict = d.Arg.GetBoolean().Boolval
		case "parallel", "leakproof", "cost":
			// Accepted: they change nothing for an inlined function.
		default:
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "function option %s is not supported", strings.ToUpper(d.Defname))
		}
	}
	if f.Language == "" {
		if cf.SqlBody == nil {
			return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "no language specified")
		}
		f.Language = "sql"
	}
	if aggregate {
		switch {
		case f.Language == "sql":
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "CREATE AGGREGATE ... LANGUAGE sql is not supported").
				WithHint("Write CREATE AGGREGATE name(args) (SFUNC = ..., STYPE = ...) over SQL functions.")
		case f.RetSet || len(f.OutNames) > 0:
			return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "an aggregate cannot return a set")
		}
		f.Agg = &catalog.AggregateDef{Variadic: variadic}
		f.Volatility = catalog.Immutable
		if ca, ok := st.st.Ext.(*parser.CreateAggregate); ok && ca.OrderedSet {
			if variadic {
				return "", sqlerr.New(sqlerr.FeatureNotSupported, "VARIADIC arguments of ordered-set aggregates are not supported")
			}
			if ca.NumDirect >= len(f.ArgTypes) {
				return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "an ordered-set aggregate must have at least one aggregated argument after ORDER BY")
			}
			f.Agg.OrderedSet, f.Agg.NumDirect = true, ca.NumDirect
		}
	} else {
		f.Variadic = variadic
	}
	if (f.Variadic || len(f.ArgDefaults) > 0) && (f.RetSet || f.Language == "wasm") {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "parameter defaults and VARIADIC parameters of set-returning functions and of functions in LANGUAGE wasm are not supported")
	}
	if f.Language != "sql" {
		if !volatilityGiven {
			f.Volatility = catalog.Immutable // the default for sandboxed languages
		}
		return s.createUserFunction(cf, f, asBody)
	}
	parseBody := planner.SQLFunctionBody
	if f.RetSet {
		parseBody = planner.SetFunctionBody
	}
	// A body of several statements, or of a write, runs per call
	// (sql_function_statements.go).
	text, atomicOne := "", false
	switch {
	case cf.SqlBody != nil && len(asBody) > 0:
	case cf.SqlBody != nil && cf.SqlBody.GetReturnStmt() == nil:
		var err error
		if text, atomicOne, err = bodyStatementsText(cf.SqlBody); err != nil {
			return "", err
		}
	case cf.SqlBody == nil && len(asBody) == 1:
		text = asBody[0]
	}
	if text != "" && (!atomicOne || f.RetType.OIDOverride == types.OIDVoid) {
		stmts, several, writes, err := planner.BodyStatements(text)
		// A void function runs its body per call too: the result of a
		// last SELECT is dropped.
		if err == nil && (several || f.RetType.OIDOverride == types.OIDVoid && len(stmts) > 0) {
			f.Body, f.AtomicBody, f.Statements, f.Writes = text, cf.SqlBody != nil, true, writes
			if err := s.checkBodyStatements(p.Context, f, stmts); err != nil {
				return "", err
			}
			if err := s.putRoutine(f, cf.Replace); err != nil {
				return "", err
			}
			return "CREATE FUNCTION", nil
		}
	}

	var body *pg.Node
	switch {
	case cf.SqlBody != nil && len(asBody) > 0:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "duplicate function body specified")
	case cf.SqlBody != nil && cf.SqlBody.GetReturnStmt() == nil:
		// BEGIN ATOMIC stmt; ... END: one SELECT is a query body.
		var stmts []*pg.Node
		if l := cf.SqlBody.GetList(); l != nil && len(l.Items) == 1 && l.Items[0].GetList() != nil {
			stmts = l.Items[0].GetList().Items
		}
		if len(stmts) != 1 || stmts[0].GetSelectStmt() == nil {
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "BEGIN ATOMIC bodies of other than one SELECT are not supported")
		}
		text, err := parser.Deparse(stmts[0])
		if err != nil {
			return "", err
		}
		f.Body, f.AtomicBody = text, true
		if body, err = parseBody(f.Body, f.RetType); err != nil {
			return "", err
		}
		p.SQL, p.Offset = f.Body, 0
	case cf.SqlBody != nil:
		ret := cf.SqlBody.GetReturnStmt()
		body = ret.Returnval
		text, err := parser.DeparseExpr(body)
		if err != nil {
			return "", err
		}
		f.Body, f.StdBody = "SELECT "+text, true
	case len(asBody) == 1:
		f.Body = asBody[0]
		var err error
		body, err = parseBody(f.Body, f.RetType)
		// Positions in the body become positions in the statement when
		// the body is found as written (a $$ string always is).
		off := -1
		if asPos >= 0 && asPos <= len(st.whole) {
			if i := strings.Index(st.whole[asPos:], f.Body); i >= 0 {
				off = asPos + i
			}
		}
		if err != nil {
			if e := sqlerr.From(err); e.Position > 0 {
				n := *e
				n.Position = 0
				if off >= 0 {
					n.Position = planner.BodyPosition(st.whole, off, e.Position)
				}
				return "", &n
			}
			return "", err
		}
		if off >= 0 {
			p.Offset = off
		} else {
			// Body not found as written: check it on its own text,
			// without positions in the statement.
			p.SQL, p.Offset = f.Body, 0
		}
	case len(asBody) > 1:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "only one AS item needed for language \"sql\"")
	default:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "no function body specified")
	}

	check := f
	if cf.Replace {
		if old, ok := s.e.cat.LookupFunction(f.Schema, f.Name, f.ArgTypes); ok {
			c := *f
			c.OID = old.OID // a body reaching the old version is recursive too
			check = &c
		}
	}
	if err := p.CheckSQLFunction(check, body); err != nil {
		if e := sqlerr.From(err); e.Position > 0 && p.SQL != st.whole {
			n := *e
			n.Position = 0
			return "", &n
		}
		return "", err
	}
	if err := s.putRoutine(f, cf.Replace); err != nil {
		return "", err
	}
	return "CREATE FUNCTION", nil
}

// newUserRuntimes returns the language runtimes of user functions. The
// WebAssembly runtime caps each instance's memory at the server's
// udf_memory_limit (defaults holds the validated server defaults).
func newUserRuntimes(log *slog.Logger, defaults map[string]string) (*udf.UserRuntimes, error) {
	mem := int64(udf.DefaultUDFMemory)
	if v, ok := defaults["udf_memory_limit"]; ok {
		n, err := udf.ParseBytesSetting(v)
		if err != nil {
			return nil, err
		}
		mem = n
	}
	w, err := wasm.New(mem)
	if err != nil {
		return nil, err
	}
	return udf.NewUserRuntimes(map[string]udf.UserRuntime{
		"javascript": js.New(log),
		"wasm":       w,
	}), nil
}

// createUserFunction finishes CREATE FUNCTION for a language other than
// SQL: the runtime compiles the body now, so that a syntax error, a
// missing function or an unsupported type is refused here.
func (s *Session) createUserFunction(cf *pg.CreateFunctionStmt, f *catalog.Function, asBody []string) (string, error) {
	if !s.e.udfs.Knows(f.Language) {
		return "", sqlerr.New(sqlerr.UndefinedObject, "language %q does not exist", f.Language).
			WithHint("The languages are sql, javascript and wasm.")
	}
	switch {
	case cf.SqlBody != nil:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "a RETURN body is only allowed in LANGUAGE sql")
	case len(asBody) == 0:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "no function body specified")
	case len(asBody) > 1:
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "only one AS item needed for language %q", f.Language)
	}
	f.Body = asBody[0]
	if f.RetSet && f.RetType.Kind == types.Record && len(f.OutNames) == 0 {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "function returning SETOF record needs RETURNS TABLE (...) with its columns")
	}
	d, err := planner.UserDef(f)
	if err != nil {
		return "", err
	}
	if err := s.e.udfs.Check(d); err != nil {
		return "", err
	}
	if err := s.putRoutine(f, cf.Replace); err != nil {
		return "", err
	}
	if f.IsAggregate() {
		return "CREATE AGGREGATE", nil
	}
	if f.Procedure {
		return "CREATE PROCEDURE", nil
	}
	return "CREATE FUNCTION", nil
}

// funcName splits a possibly qualified function name; an unqualified one
// goes to the current schema.
func (s *Session) funcName(names []*pg.Node) (schema, name string, err error) {
	var parts []string
	for _, n := range names {
		parts = append(parts, n.GetString_().Sval)
	}
	name = parts[len(parts)-1]
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	} else {
		schema = s.currentSchema()
	}
	if schema == "" {
		return "", "", sqlerr.New(sqlerr.UndefinedSchema, "no schema has been selected to create in")
	}
	if schema == "pg_catalog" || schema == "information_schema" {
		return "", "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for schema %s", schema)
	}
	return schema, name, nil
}

// dropFunctions runs DROP FUNCTION|PROCEDURE|AGGREGATE|ROUTINE [IF EXISTS]
// name[(types)], ... [CASCADE | RESTRICT].
func (s *Session) dropFunctions(x *execution, p *planner.Planner, ds *pg.DropStmt) (string, error) {
	aggregate := ds.RemoveType == pg.ObjectType_OBJECT_AGGREGATE
	word := strings.ToLower(objectName(ds.RemoveType))
	tag := "DROP " + objectName(ds.RemoveType)
	for _, o := range ds.Objects {
		owa := o.GetObjectWithArgs()
		f, err := s.lookupRoutine(p, owa, ds.RemoveType)
		if err != nil {
			if ds.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedFunction {
				s.skipping("00000", "%s %s does not exist", word, functionSignatureAsWritten(owa))
				continue
			}
			if aggregate && sqlerr.Code(err) == sqlerr.UndefinedFunction {
				e := *sqlerr.From(err)
				e.Message = strings.Replace(e.Message, "function", "aggregate", 1)
				return "", &e
			}
			return "", err
		}
		switch {
		case aggregate && !f.IsAggregate():
			return "", sqlerr.New(sqlerr.WrongObjectType, "function %s(%s) is not an aggregate", f.Name, catalog.TypeList(f.ArgTypes))
		case !aggregate && f.IsAggregate() && ds.RemoveType != pg.ObjectType_OBJECT_ROUTINE:
			return "", sqlerr.New(sqlerr.WrongObjectType, "%q is an aggregate function", f.Name).
				WithHint("Use DROP AGGREGATE to drop aggregate functions.")
		}
		cascade := ds.Behavior == pg.DropBehavior_DROP_CASCADE
		if err := s.refuseCascadeInBlock(f, cascade); err != nil {
			return "", err
		}
		dropped, fns, err := s.e.cat.DropFunction(f.OID, cascade)
		if err != nil {
			return "", err
		}
		for _, d := range fns {
			s.e.udfs.Forget(d.OID)
			s.noteRoutine(d.OID, d)
		}
		if err := s.e.dropData(x.txn, dropped); err != nil {
			return "", err
		}
		// The aggregates over f, then the relations that called it, in
		// dependency order (dropped lists them deepest first).
		var also []string
		for _, a := range fns {
			if a.OID != f.OID {
				also = append(also, "function "+a.Signature())
			}
		}
		for i := len(dropped) - 1; i >= 0; i-- {
			also = append(also, dropped[i].Description())
		}
		s.cascadeNotice(also)
	}
	return tag, nil
}

// lookupFunctionForDrop finds the one function a DROP names: by name and
// argument types, or by name alone when it has one overload.
func (s *Session) lookupFunctionForDrop(p *planner.Planner, owa *pg.ObjectWithArgs) (*catalog.Function, error) {
	var parts []string
	for _, n := range owa.Objname {
		parts = append(parts, n.GetString_().Sval)
	}
	name := parts[len(parts)-1]
	schemas := s.searchPath()
	if len(parts) > 1 {
		schemas = []string{parts[len(parts)-2]}
	}
	display := strings.Join(parts, ".")
	if owa.ArgsUnspecified {
		var found []*catalog.Function
		for _, sc := range schemas {
			if fs := s.e.cat.FunctionsNamed(sc, name); len(fs) > 0 {
				found = fs
				break
			}
		}
		switch len(found) {
		case 0:
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "could not find a function named %q", display)
		case 1:
			return found[0], nil
		}
		return nil, sqlerr.New(sqlerr.AmbiguousFunction, "function name %q is not unique", display).
			WithHint("Specify the argument list to select the function unambiguously.")
	}
	args, err := routineArgTypes(p, owa)
	if err != nil {
		return nil, err
	}
	for _, sc := range schemas {
		if f, ok := s.e.cat.LookupFunction(sc, name, args); ok {
			return f, nil
		}
	}
	return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", display, catalog.TypeList(args))
}

// routineArgTypes returns the argument types a DROP, ALTER or GRANT
// names a routine by.
func routineArgTypes(p *planner.Planner, owa *pg.ObjectWithArgs) ([]types.T, error) {
	var args []types.T
	for _, a := range owa.Objargs {
		t, err := p.TypeName(a.GetTypeName())
		if err != nil {
			return nil, err
		}
		args = append(args, baseType(t))
	}
	return args, nil
}

// showFunctions is SHOW FUNCTIONS [FROM schema]: the user functions of a
// schema (the current one by default) with their signatures.
func (s *Session) showFunctions(schema string) (*prepared, error) {
	cols := []pgwire.Column{
		{Name: "Name", Type: types.TText}, {Name: "Arguments", Type: types.TText}, {Name: "Return Type", Type: types.TText},
		{Name: "Language", Type: types.TText}, {Name: "Volatility", Type: types.TText}, {Name: "Strict", Type: types.TBool},
		{Name: "Body", Type: types.TText},
	}
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		sc := s.schemaOrCurrent(schema)
		var rows [][]types.Datum
		for _, f := range s.e.cat.Functions() {
			if f.Schema != sc {
				continue
			}
			rows = append(rows, []types.Datum{f.Name, FunctionArguments(f), FunctionResult(f), f.Language,
				volatilityName(f.Volatility), f.Strict, FunctionBodyText(f)})
		}
		return memResult(cols, rows, "SHOW"), nil
	}}, nil
}

func volatilityName(v byte) string {
	switch v {
	case catalog.Immutable:
		return "immutable"
	case catalog.Stable:
		return "stable"
	}
	return "volatile"
}

// paramDefault appends the DEFAULT of parameter fp, of type t, to
// defaults, checked as PostgreSQL checks it at CREATE: once a parameter
// has one, every later input parameter needs one (42P13), and the
// expression must convert to t; aggregates take none.
func paramDefault(p *planner.Planner, defaults *[]string, fp *pg.FunctionParameter, t types.T, aggregate bool) error {
	if fp.Defexpr == nil {
		if len(*defaults) > 0 {
			return sqlerr.New(sqlerr.InvalidFunctionDefinition, "input parameters after one with a default value must also have defaults")
		}
		return nil
	}
	if aggregate {
		return sqlerr.New(sqlerr.FeatureNotSupported, "aggregates cannot have parameter defaults")
	}
	text, err := parser.DeparseExpr(fp.Defexpr)
	if err != nil {
		return err
	}
	if k := fp.Defexpr.GetAConst(); k != nil && k.GetSval() != nil {
		// A string literal takes the parameter's type, and PostgreSQL
		// keeps (and prints) it with the cast: 'x'::text.
		text += "::" + t.String()
	}
	if _, err := p.ParamDefault(text, t); err != nil {
		return err
	}
	*defaults = append(*defaults, text)
	return nil
}

// FunctionArguments renders f's parameters as pg_get_function_arguments
// does: "s character varying, c character varying".
func FunctionArguments(f *catalog.Function) string {
	if f.Procedure {
		// Every parameter with its mode: "IN x integer, OUT y text".
		names, ts, modes := f.CallParams()
		parts := make([]string, len(ts))
		for i, t := range ts {
			parts[i] = map[byte]string{'i': "IN ", 'b': "INOUT ", 'o': "OUT ", 'v': "VARIADIC "}[modes[i]]
			if names[i] != "" {
				parts[i] += names[i] + " "
			}
			parts[i] += t.String()
			if d := i - (len(ts) - len(f.ArgDefaults)); d >= 0 {
				parts[i] += " DEFAULT " + f.ArgDefaults[d]
			}
		}
		return strings.Join(parts, ", ")
	}
	parts := make([]string, len(f.ArgTypes))
	for i, t := range f.ArgTypes {
		parts[i] = t.String()
		if f.ArgNames[i] != "" {
			parts[i] = f.ArgNames[i] + " " + parts[i]
		}
		if f.IsVariadic() && i == len(f.ArgTypes)-1 {
			parts[i] = "VARIADIC " + parts[i]
		}
		if d := i - (len(f.ArgTypes) - len(f.ArgDefaults)); d >= 0 {
			parts[i] += " DEFAULT " + f.ArgDefaults[d]
		}
	}
	if a := f.Agg; a != nil && a.OrderedSet {
		// pg_get_function_arguments: "double precision ORDER BY double precision".
		ordered := "ORDER BY " + strings.Join(parts[a.NumDirect:], ", ")
		if a.NumDirect == 0 {
			return ordered
		}
		return strings.Join(parts[:a.NumDirect], ", ") + " " + ordered
	}
	return strings.Join(parts, ", ")
}

// FunctionResult renders f's result as pg_get_function_result does:
// "integer", "SETOF integer", "TABLE(x integer, y text)"; "" (NULL) for a
// procedure.
func FunctionResult(f *catalog.Function) string {
	switch {
	case f.Procedure:
		return ""
	case f.RowType != "":
		return "SETOF " + f.RowType
	case len(f.OutNames) > 0:
		cols := make([]string, len(f.OutNames))
		for i, n := range f.OutNames {
			cols[i] = udf.QuoteIdent(n) + " " + f.OutTypes[i].String()
		}
		return "TABLE(" + strings.Join(cols, ", ") + ")"
	case f.RetSet:
		return "SETOF " + f.RetType.String()
	}
	return f.RetType.String()
}

// FunctionBodyText is the body as written for AS, "RETURN expr" for a
// SQL-standard body.
func FunctionBodyText(f *catalog.Function) string {
	if f.AtomicBody {
		return "BEGIN ATOMIC\n " + f.Body + ";\nEND"
	}
	if f.StdBody {
		return "RETURN " + strings.TrimPrefix(f.Body, "SELECT ")
	}
	return f.Body
}

// The user functions as the catalog functions (pg_get_functiondef,
// pg_function_is_visible, regproc, ...) see them.

var _ udf.UserFunctions = catalogReader{}

// UserFunction implements udf.UserFunctions.
func (c catalogReader) UserFunction(oid uint32) (udf.UserFunction, bool) {
	f, ok := c.s.e.cat.Function(oid)
	if !ok {
		return udf.UserFunction{}, false
	}
	def := FunctionDef(f)
	if f.IsAggregate() {
		def = c.s.e.AggregateDef(f)
	}
	return udf.UserFunction{
		Visible:    c.functionVisible(f),
		Arguments:  FunctionArguments(f),
		Result:     FunctionResult(f),
		Definition: def,
	}, true
}

// functionVisible: no function with f's name and argument types comes
// before f along the search path.
func (c catalogReader) functionVisible(f *catalog.Function) bool {
	for _, sc := range c.s.searchPath() {
		if g, ok := c.s.e.cat.LookupFunction(sc, f.Name, f.ArgTypes); ok {
			return g.OID == f.OID
		}
	}
	return false
}

// LookupUserFunctions implements udf.UserFunctions.
func (c catalogReader) LookupUserFunctions(name string) []uint32 {
	schema, fn, qualified := splitQualified(name)
	schemas := c.s.searchPath()
	if qualified {
		schemas = []string{schema}
	}
	for _, sc := range schemas {
		if fs := c.s.e.cat.FunctionsNamed(sc, fn); len(fs) > 0 {
			out := make([]uint32, len(fs))
			for i, f := range fs {
				out[i] = f.OID
			}
			return out
		}
	}
	return nil
}

// FunctionDef renders f as pg_get_functiondef does.
func FunctionDef(f *catalog.Function) string {
	var b strings.Builder
	kind, quote := "FUNCTION", "$function$"
	if f.Procedure {
		kind, quote = "PROCEDURE", "$procedure$"
	}
	b.WriteString("CREATE OR REPLACE " + kind + " " + udf.QuoteIdent(f.Schema) + "." + udf.QuoteIdent(f.Name) + "(" + FunctionArguments(f) + ")\n")
	if !f.Procedure {
		b.WriteString(" RETURNS " + FunctionResult(f) + "\n")
	}
	b.WriteString(" LANGUAGE " + f.Language + "\n")
	switch {
	case f.Procedure:
	case f.Volatility == catalog.Immutable:
		b.WriteString(" IMMUTABLE\n")
	case f.Volatility == catalog.Stable:
		b.WriteString(" STABLE\n")
	}
	if f.Strict {
		b.WriteString(" STRICT\n")
	}
	if f.SecurityDefiner {
		b.WriteString(" SECURITY DEFINER\n")
	}
	if f.StdBody || f.AtomicBody {
		b.WriteString(FunctionBodyText(f) + "\n")
	} else {
		b.WriteString("AS " + quote + f.Body + quote + "\n")
	}
	return b.String()
}

// firstFunctionOID is the smallest OID a new user function may take:
// above every built-in's, so pg_proc never lists two rows with one OID.
func firstFunctionOID() uint32 {
	var max uint32
	for _, p := range udf.Procs() {
		max = maxOID(max, p.OID)
	}
	for _, o := range udf.Operators() {
		max = maxOID(max, o.OID)
	}
	return max + 1
}

func maxOID(a, b uint32) uint32 {
	if b > a {
		return b
	}
	return a
}

// functionSignatureAsWritten renders a DROP FUNCTION's name and argument
// types as PostgreSQL's notices do: the names as written, qualified as
// the parser resolved them ("f(text,pg_catalog.int4)"), "f()" with no list.
func functionSignatureAsWritten(owa *pg.ObjectWithArgs) string {
	var parts []string
	for _, n := range owa.Objname {
		parts = append(parts, n.GetString_().Sval)
	}
	var args []string
	for _, a := range owa.Objargs {
		var names []string
		for _, n := range a.GetTypeName().GetNames() {
			names = append(names, n.GetString_().Sval)
		}
		t := strings.Join(names, ".")
		if len(a.GetTypeName().GetArrayBounds()) > 0 {
			t += "[]"
		}
		args = append(args, t)
	}
	return strings.Join(parts, ".") + "(" + strings.Join(args, ",") + ")"
}

// routineOption applies to f the options of CREATE FUNCTION that CREATE
// PROCEDURE takes too: AS (its strings appended to body), LANGUAGE and
// SECURITY; it says whether d was one of them.
func routineOption(d *pg.DefElem, f *catalog.Function, body *[]string) bool {
	switch d.Defname {
	case "as":
		for _, it := range d.Arg.GetList().GetItems() {
			*body = append(*body, it.GetString_().Sval)
		}
	case "language":
		f.Language = strings.ToLower(d.Arg.GetString_().Sval)
	case "security":
		f.SecurityDefiner = d.Arg.GetBoolean().Boolval
	default:
		return false
	}
	return true
}
