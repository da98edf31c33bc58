package planner

import (
	"encoding/base64"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// User functions in JavaScript and WebAssembly are not inlined: their
// calls bind to the function a language runtime compiled from the
// catalog's definition (udf.UserRuntimes), which the executors call once
// per batch like a built-in.

// UserDef returns the definition a language runtime compiles for f.
func UserDef(f *catalog.Function) (*udf.UserDef, error) {
	d := &udf.UserDef{OID: f.OID, Name: f.Name, Signature: f.Signature(), ArgNames: f.ArgNames, ArgTypes: f.ArgTypes,
		Ret: f.RetType, Set: f.RetSet, Language: f.Language, Body: f.Body, Strict: f.Strict,
		Volatility: udf.Volatility(f.Volatility), Aggregate: f.IsAggregate()}
	if f.Agg != nil && f.Agg.OrderedSet {
		d.NumDirect = f.Agg.NumDirect
		d.OrderedSet = true
	}
	if f.Procedure {
		d.Procedure, d.Cols, d.ColTypes = true, f.OutNames, f.OutTypes
	}
	if f.RetSet {
		if len(f.OutNames) > 0 {
			d.Cols, d.ColTypes = f.OutNames, f.OutTypes
		} else {
			d.Cols, d.ColTypes = []string{f.Name}, []types.T{f.RetType}
		}
	}
	if f.Language == "wasm" {
		bin, err := base64.StdEncoding.DecodeString(f.Body)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "the module of function %s is not valid base64: %v", f.Signature(), err)
		}
		d.Binary = bin
	}
	return d, nil
}

// callUserFunction binds a call of f, a function in a language other
// than SQL, with the bound arguments args.
func (p *Planner) callUserFunction(f *catalog.Function, args []plan.Scalar, pos int) (plan.Scalar, error) {
	if f.RetSet {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning function %s is not supported here", f.Signature()).
			WithHint("Call it in FROM.").WithPosition(pos)
	}
	if err := p.checkStreamVolatility(f); err != nil {
		return nil, err
	}
	fn, err := p.userScalar(f, pos)
	if err != nil {
		return nil, err
	}
	cast, err := p.castToParams(f, args, pos)
	if err != nil {
		return nil, err
	}
	if p.Deps != nil && f.OID != 0 {
		p.Deps[f.OID] = true
	}
	return &plan.Call{Fn: fn, Args: cast, T: f.RetType}, nil
}

// checkStreamVolatility refuses a VOLATILE function in a materialized
// view or sink: its job calls the function again when rows are retracted
// or replayed after a restart, and a different answer would corrupt the
// view. PostgreSQL refuses them where it stores derived values too (index
// expressions, generated columns: 42P17). The rule is one for every
// language; a SQL function is VOLATILE unless declared otherwise, as in
// PostgreSQL.
func (p *Planner) checkStreamVolatility(f *catalog.Function) error {
	if !p.Stream || f.Volatility != catalog.Volatile {
		return nil
	}
	err := streamVolatileError(f.Signature())
	if f.Language == "sql" {
		return err.WithHint("A LANGUAGE sql function is VOLATILE unless declared otherwise: add IMMUTABLE (or STABLE) to CREATE FUNCTION if it gives the same result for the same arguments.")
	}
	return err.WithHint("Declare the function IMMUTABLE (or STABLE) if it gives the same result for the same arguments.")
}

// streamVolatileError is the refusal of VOLATILE function sig in a
// materialized view or sink.
func streamVolatileError(sig string) *sqlerr.Error {
	return sqlerr.New(sqlerr.InvalidObjectDefinition, "materialized views and sinks cannot call VOLATILE function %s", sig).
		WithDetail("A streaming job calls the function again on retraction and after a restart, and needs the same answer each time.")
}

// userScalar compiles f (or takes it from the cache).
func (p *Planner) userScalar(f *catalog.Function, pos int) (*udf.Scalar, error) {
	if !p.UserFuncs.Knows(f.Language) {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "functions in LANGUAGE %s cannot be called here", f.Language).WithPosition(pos)
	}
	d, err := UserDef(f)
	if err != nil {
		return nil, err
	}
	return p.UserFuncs.Scalar(d)
}

// userTable compiles the table function f.
func (p *Planner) userTable(f *catalog.Function, pos int) (*udf.TableFunc, error) {
	if !p.UserFuncs.Knows(f.Language) {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "functions in LANGUAGE %s cannot be called here", f.Language).WithPosition(pos)
	}
	d, err := UserDef(f)
	if err != nil {
		return nil, err
	}
	return p.UserFuncs.Table(d)
}

// lookupTableFunc resolves a table function call of names with argument
// types ts: a user table function along the path first (as for scalar
// calls), then the built-ins. It returns the declared argument types.
func (p *Planner) lookupTableFunc(names []*pg.Node, ts []types.T, pos int) (*udf.TableFunc, []types.T, error) {
	f, qualified, err := p.userSetFunction(names, ts, pos)
	if err != nil {
		return nil, nil, err
	}
	display := funcName(names)
	if f != nil {
		fn, err := p.userTable(f, pos)
		if err != nil {
			return nil, nil, err
		}
		if p.Deps != nil && f.OID != 0 {
			p.Deps[f.OID] = true
		}
		return fn, f.ArgTypes, nil
	}
	if qualified {
		return nil, nil, undefinedFunction(display, ts, pos)
	}
	if len(names) == 1 {
		if g, ok := pickGoFunc(p.GoFuncs.Tables(display), func(g *udf.TableFunc) []types.T { return g.Args }, ts); ok {
			return g, g.Args, nil
		}
	}
	return udf.LookupTableFunc(funcName(names), ts)
}

// pickGoFunc picks the one of fns (functions of one name an embedding
// program registered in Go, udf.GoFunctions) whose argument types (args)
// the call's types ts fit; ok is false when none or several fit.
func pickGoFunc[F any](fns []F, args func(F) []types.T, ts []types.T) (fn F, ok bool) {
	sigs := make([][]types.T, len(fns))
	for i, f := range fns {
		sigs[i] = args(f)
	}
	if i, amb := selectSignature(ts, sigs); i >= 0 && !amb {
		return fns[i], true
	}
	return fn, false
}

// goCall binds a call of a function an embedding program registered in
// Go (udf.GoFunctions); ok is false when none of that name fits.
func (p *Planner) goCall(names []*pg.Node, args []plan.Scalar, pos int) (e plan.Scalar, ok bool, err error) {
	if len(names) != 1 {
		return nil, false, nil
	}
	fns := p.GoFuncs.Scalars(funcName(names))
	if len(fns) == 0 {
		return nil, false, nil
	}
	ts := make([]types.T, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	fn, ok := pickGoFunc(fns, func(f *udf.Scalar) []types.T { return f.Args }, ts)
	if !ok {
		return nil, false, nil // the built-ins may fit
	}
	cast := make([]plan.Scalar, len(args))
	for j, a := range args {
		if cast[j], err = p.coerce(a, fn.Args[j], pos); err != nil {
			return nil, true, err
		}
	}
	return &plan.Call{Fn: fn, Args: cast, T: fn.Ret}, true, nil
}

// castToParams returns the bound arguments of a call of f cast to f's
// parameter types.
func (p *Planner) castToParams(f *catalog.Function, args []plan.Scalar, pos int) ([]plan.Scalar, error) {
	cast := append([]plan.Scalar(nil), args...)
	if err := p.coerceArgs(cast, make([]types.T, len(cast)), f.ArgTypes, pos); err != nil {
		return nil, err
	}
	return cast, nil
}

// anySubquery reports whether one of es holds a subquery.
func anySubquery(es []plan.Scalar) bool {
	var sub bool
	for _, e := range es {
		plan.Visit(e, func(x plan.Scalar) {
			if _, ok := x.(*plan.Subquery); ok {
				sub = true
			}
		})
	}
	return sub
}
