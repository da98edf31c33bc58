package planner

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Recursive SQL functions in materialized views and sinks. Ad hoc, a
// recursive call runs the function's body once per call through the
// session (RecursiveCall). A streaming job has no session, but a
// recursive function that is IMMUTABLE or STABLE and whose body is one
// expression without FROM needs none: its body is compiled once into a
// vectorized expression over its arguments, in which the recursive call
// calls that same expression again with the rows that reach it. CASE
// evaluates a branch only over the rows that take it, so each level of
// the recursion runs over the rows still recursing, and it ends where
// the body's recursion ends. A body that reads tables is refused: a view
// would not see later changes of those tables.

// maxRecursionDepth bounds the levels of a compiled recursive call, as
// the engine bounds per-call evaluation ad hoc (PostgreSQL's 54001).
const maxRecursionDepth = 1000

// recursionDepthKey carries the level of a compiled recursive call in
// its context.
type recursionDepthKey struct{}

// compiledRecursion returns the compiled form of the recursive function
// f for a materialized view (ok false when f cannot run that way).
func (p *Planner) compiledRecursion(f *catalog.Function, pos int) (fn *udf.Scalar, ok bool, err error) {
	if f.Volatility == catalog.Volatile || f.RetSet || f.Statements || p.CompileScalar == nil {
		return nil, false, nil
	}
	if fn := p.recursions[f.OID]; fn != nil && f.OID != 0 {
		return fn, true, nil
	}
	body, err := SQLFunctionBody(f.Body, f.RetType)
	if err != nil {
		return nil, false, inlineError(f, err, pos)
	}
	if body.GetSelectStmt() != nil {
		return nil, false, sqlerr.New(sqlerr.FeatureNotSupported, "SQL function %s calls itself recursively and reads tables: such functions are not supported in materialized views and sinks", f.Signature()).
			WithHint("A recursive function whose body is one expression without FROM runs in a view.").WithPosition(pos)
	}
	// Volatile for the planner, whatever f declares: a call with
	// constant arguments must not be folded while the body compiles.
	fn = &udf.Scalar{Name: f.Name, Args: f.ArgTypes, Ret: f.RetType, Volatility: udf.Volatile, Strict: f.Strict}
	if p.recursions == nil {
		p.recursions = map[uint32]*udf.Scalar{}
	}
	p.recursions[f.OID] = fn
	cols := make([]plan.Scalar, len(f.ArgTypes))
	for i, t := range f.ArgTypes {
		cols[i] = &plan.ColRef{Idx: i, T: t, Name: f.ArgNames[i]}
	}
	// The body inlines afresh: its own recursive calls come back here
	// and find fn.
	saved := p.sqlFuncs
	p.sqlFuncs = sqlFuncState{}
	e, err := p.inlineSQLFunction(nil, f, cols, pos)
	p.sqlFuncs = saved
	if err != nil {
		delete(p.recursions, f.OID)
		return nil, false, err
	}
	eval, err := p.CompileScalar(e)
	if err != nil {
		delete(p.recursions, f.OID)
		return nil, false, err
	}
	sig, argTypes := f.Signature(), f.ArgTypes
	fn.Eval = func(env *udf.Env, args []arrow.Array, n int) (arrow.Array, error) {
		var e udf.Env
		if env != nil {
			e = *env
		}
		ctx := e.Context
		if ctx == nil {
			ctx = context.Background()
		}
		depth, _ := ctx.Value(recursionDepthKey{}).(int)
		if depth >= maxRecursionDepth {
			return nil, sqlerr.New(sqlerr.StatementTooComplex, "stack depth limit exceeded").
				WithHint("SQL function %s calls itself more than %d deep: check its recursion ends.", sig, maxRecursionDepth)
		}
		e.Context = context.WithValue(ctx, recursionDepthKey{}, depth+1)
		out, err := eval(&e, args, n)
		if err == nil || depth > 0 || e.OnRowError == nil || ctx.Err() != nil {
			return out, err
		}
		// The outermost call in a job: the rows that fail are rejected
		// one by one, the others keep their values.
		return rowByRow(&e, eval, sig, argTypes, f.RetType, args, n)
	}
	return fn, true, nil
}

// rowByRow evaluates eval one row at a time, reporting each row it fails
// on to env.OnRowError and giving that row NULL.
func rowByRow(env *udf.Env, eval udf.ScalarFunc, sig string, argTypes []types.T, ret types.T, args []arrow.Array, n int) (arrow.Array, error) {
	out := make([]types.Datum, n)
	one := make([]arrow.Array, len(args))
	vals := make([]types.Datum, len(args))
	for i := 0; i < n; i++ {
		for j, a := range args {
			vals[j] = types.GetDatum(a, i, argTypes[j])
			one[j] = types.ArrayFromDatums(argTypes[j], []types.Datum{vals[j]})
		}
		v, err := eval(env, one, 1)
		for _, a := range one {
			a.Release()
		}
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			env.OnRowError(sig, err, append([]types.Datum(nil), vals...), argTypes)
			continue
		}
		out[i] = types.GetDatum(v, 0, ret)
		v.Release()
	}
	return types.ArrayFromDatums(ret, out), nil
}
