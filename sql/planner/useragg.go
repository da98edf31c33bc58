package planner

import (
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// User-defined aggregates (CREATE AGGREGATE, Go aggregates) bind like the
// built-ins: an aggregate call resolves to a *udf.Aggregate. The
// user's aggregates along the search path come first, then the Go ones,
// then the built-ins, as for scalar calls.
//
// An aggregate in PostgreSQL's form has support functions: a LANGUAGE sql
// one is inlined over columns (state, arguments...) and compiled by the
// statement's CompileScalar into a function the aggregate calls once per
// batch; one in another language is its compiled function; a built-in
// (int4pl, float8pl, ...) is itself.

// isAggregateCall reports whether fc calls an aggregate (not as a window
// function; the caller checks OVER).
func (p *Planner) isAggregateCall(fc *pg.FuncCall) bool {
	if fc.AggStar || udf.IsAggregate(funcName(fc.Funcname)) {
		return true
	}
	if len(fc.Funcname) == 1 && len(p.GoFuncs.Aggregates(funcName(fc.Funcname))) > 0 {
		return true
	}
	cands, _ := p.sqlFuncCandidates(fc.Funcname)
	for _, f := range cands {
		if f.IsAggregate() {
			return true
		}
	}
	return false
}

// lookupAggregate resolves an aggregate call of names with argument types
// ts, returning the declared argument types.
//
// A VARIADIC aggregate matches with its array expanded to as many
// elements as the call has trailing arguments (the declared types
// returned are then the expanded ones, and packVariadic makes the array),
// or, when the call says VARIADIC (explicit), with the array itself, as in
// PostgreSQL.
func (p *Planner) lookupAggregate(names []*pg.Node, ts []types.T, explicit bool, pos int) (*udf.Aggregate, []types.T, error) {
	display := funcName(names)
	cands, qualified := p.sqlFuncCandidates(names)
	var aggs []*catalog.Function
	var sigs [][]types.T
	for _, f := range cands {
		if !f.IsAggregate() || explicit && !f.Agg.Variadic {
			continue
		}
		sig := f.ArgTypes
		if k := len(sig) - 1; f.Agg.Variadic && !explicit {
			if len(ts) <= k {
				continue
			}
			sig = append([]types.T{}, sig[:k]...)
			for range ts[k:] {
				sig = append(sig, *f.ArgTypes[k].Elem)
			}
		}
		aggs, sigs = append(aggs, f), append(sigs, sig)
	}
	if len(aggs) > 0 {
		i, amb := selectSignature(ts, sigs)
		if amb {
			return nil, nil, ambiguousFunction(display, ts, pos)
		}
		if i >= 0 {
			f := aggs[i]
			fn, err := p.UserAggregate(f, pos)
			if err != nil {
				return nil, nil, err
			}
			if p.Deps != nil && f.OID != 0 {
				p.Deps[f.OID] = true
			}
			return fn, sigs[i], nil
		}
	}
	if qualified || explicit {
		return nil, nil, undefinedFunction(display, ts, pos)
	}
	if len(names) == 1 {
		if g, ok := pickGoFunc(p.GoFuncs.Aggregates(display), func(g *udf.Aggregate) []types.T { return g.Args }, ts); ok {
			return g, g.Args, nil
		}
	}
	fn, args, err := udf.LookupAggregate(display, ts)
	if err != nil {
		return nil, nil, withPos(err, pos)
	}
	return fn, args, nil
}

// UserAggregate compiles the aggregate f.
func (p *Planner) UserAggregate(f *catalog.Function, pos int) (*udf.Aggregate, error) {
	if f.Language != "internal" {
		if !p.UserFuncs.Knows(f.Language) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "aggregates in LANGUAGE %s cannot be called here", f.Language).WithPosition(pos)
		}
		d, err := UserDef(f)
		if err != nil {
			return nil, err
		}
		agg, err := p.UserFuncs.Aggregate(d)
		if err != nil || !f.Agg.Variadic {
			return agg, err
		}
		v := *agg
		v.Variadic = true
		return &v, nil
	}
	a := f.Agg
	d := &udf.SQLAggregateDef{Name: f.Name, OID: f.OID, Args: f.ArgTypes, Ret: f.RetType, Variadic: a.Variadic,
		OrderedSet: a.OrderedSet, NumDirect: a.NumDirect}
	var err error
	if d.Plain, err = p.stateFuncs(f, a.SFunc, catalog.AggSupport{}, a.FinalFunc, a.FinalExtra, a.SType, a.InitCond, pos); err != nil {
		return nil, err
	}
	if a.Moving() {
		m, err := p.stateFuncs(f, a.MSFunc, a.MInvFunc, a.MFinalFunc, a.MFinalExtra, a.MSType, a.MInitCond, pos)
		if err != nil {
			return nil, err
		}
		d.Moving = &m
		// COMBINEFUNC combines states of STYPE; a view keeps the moving
		// form's states, so it combines them only when they are of the
		// same type.
		if a.CombineFunc.IsSet() && a.MSType.Equal(a.SType) {
			if d.Combine, err = p.SupportFunction(a.CombineFunc, []types.T{a.SType, a.SType}, pos); err != nil {
				return nil, err
			}
		}
	}
	return udf.NewSQLAggregate(d), nil
}

// stateFuncs binds one form of a PostgreSQL-form aggregate.
func (p *Planner) stateFuncs(f *catalog.Function, sfunc, inv, final catalog.AggSupport, finalExtra bool, stype types.T, init *string, pos int) (udf.StateFuncs, error) {
	sf := udf.StateFuncs{SType: stype, FinalExtra: finalExtra && final.IsSet()}
	stepArgs := append([]types.T{stype}, f.Agg.Aggregated(f.ArgTypes)...)
	var err error
	if sf.SFunc, err = p.SupportFunction(sfunc, stepArgs, pos); err != nil {
		return sf, err
	}
	if inv.IsSet() {
		if sf.InvFunc, err = p.SupportFunction(inv, stepArgs, pos); err != nil {
			return sf, err
		}
	}
	if final.IsSet() {
		finalArgs := f.Agg.FinalArgs(stype, f.ArgTypes, finalExtra)
		if sf.Final, err = p.SupportFunction(final, finalArgs, pos); err != nil {
			return sf, err
		}
	}
	if init != nil {
		if sf.Init, err = types.ParseText(*init, stype, time.UTC); err != nil {
			return sf, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid initial value %q for aggregate %s of state type %s: %v", *init, f.Signature(), stype, err)
		}
	}
	return sf, nil
}

// SupportFunction returns the support function s of an aggregate as a
// function of argument types args: a user function by OID, or a built-in
// by name.
func (p *Planner) SupportFunction(s catalog.AggSupport, args []types.T, pos int) (*udf.Scalar, error) {
	if s.OID == 0 {
		fn, _, err := udf.LookupScalar(s.Name, args)
		if err != nil {
			return nil, withPos(err, pos)
		}
		return fn, nil
	}
	var f *catalog.Function
	if p.Catalog != nil {
		f, _ = p.Catalog.Function(s.OID)
	}
	if f == nil {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function with OID %d does not exist", s.OID).WithPosition(pos)
	}
	if f.Language != "sql" {
		return p.userScalar(f, pos)
	}
	if p.CompileScalar == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "aggregates over LANGUAGE sql functions cannot be called here").WithPosition(pos)
	}
	cols := make([]plan.Scalar, len(f.ArgTypes))
	for i, t := range f.ArgTypes {
		cols[i] = &plan.ColRef{Idx: i, T: t, Name: f.ArgNames[i]}
	}
	e, err := p.inlineSQLFunction(nil, f, cols, pos)
	if err != nil {
		return nil, err
	}
	eval, err := p.CompileScalar(e)
	if err != nil {
		return nil, err
	}
	return &udf.Scalar{Name: f.Name, Args: f.ArgTypes, Ret: f.RetType, Strict: f.Strict, Volatility: udf.Volatility(f.Volatility),
		OID: f.OID, Eval: eval}, nil
}

// packVariadic turns the trailing arguments of a call of a VARIADIC
// aggregate fn, coerced to the array's element type, into the array fn
// takes; a call that said VARIADIC passes the array itself.
func packVariadic(fn *udf.Aggregate, args []plan.Scalar, ts []types.T, explicit bool) ([]plan.Scalar, []types.T) {
	if !fn.Variadic || explicit || len(fn.Args) == 0 {
		return args, ts
	}
	k := len(fn.Args) - 1
	arr := &plan.ArrayCtor{Elems: append([]plan.Scalar{}, args[k:]...), T: fn.Args[k]}
	return append(args[:k:k], arr), append(ts[:k:k], fn.Args[k])
}
