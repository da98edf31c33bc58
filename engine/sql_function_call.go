package engine

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/catalog"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// Recursive SQL functions. The planner inlines SQL functions, which a
// function that calls itself defeats; such a call is evaluated instead
// as PostgreSQL evaluates a SQL function it does not inline: once per
// call, by planning and running its body with the call's argument
// values (SELECT f($1, ...), whose own recursive calls come back here).
// Each level counts against maxSQLCallDepth; beyond it the statement
// fails with PostgreSQL's 54001, as a runaway recursion exhausts
// PostgreSQL's stack. Ad hoc only: views refuse recursion.

// maxSQLCallDepth bounds nested per-call evaluations of SQL functions.
const maxSQLCallDepth = 1000

// sqlCallDepth counts the per-call SQL function evaluations running in
// a session.
type sqlCallDepth struct{ n atomic.Int32 }

// recursiveCall returns the planner's RecursiveCall for statements whose
// scans read through rd.
func (s *Session) recursiveCall(rd func() storage.Reader) func(f *catalog.Function) *udf.Scalar {
	return func(f *catalog.Function) *udf.Scalar {
		oid, sig := f.OID, f.Signature()
		argTypes, ret := f.ArgTypes, f.RetType
		// Volatile whatever f declares: folding a call with constant
		// arguments while planning would evaluate every branch of the
		// body, the one that ends the recursion included.
		return &udf.Scalar{Name: f.Name, Args: argTypes, Ret: ret, Volatility: udf.Volatile, Strict: f.Strict,
			Eval: func(env *udf.Env, args []arrow.Array, n int) (arrow.Array, error) {
				out := make([]types.Datum, n)
				vals := make([]types.Datum, len(args))
			rows:
				for i := 0; i < n; i++ {
					for j, a := range args {
						vals[j] = types.GetDatum(a, i, argTypes[j])
						if vals[j] == nil && f.Strict {
							continue rows
						}
					}
					v, err := s.callSQLFunction(env.Context, oid, sig, vals, rd)
					if err != nil {
						return nil, err
					}
					out[i] = v
				}
				return types.ArrayFromDatums(ret, out), nil
			}}
	}
}

// enterCall starts one per-call evaluation of the SQL function oid,
// counted against maxSQLCallDepth: it returns the function, the context
// to run it in (Background for nil) and done, which ends the evaluation.
func (s *Session) enterCall(ctx context.Context, oid uint32, sig string) (context.Context, *catalog.Function, func(), error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if s.sqlCalls.n.Add(1) > maxSQLCallDepth {
		s.sqlCalls.n.Add(-1)
		return nil, nil, nil, sqlerr.New(sqlerr.StatementTooComplex, "stack depth limit exceeded").
			WithHint("SQL function %s calls itself more than %d deep: check its recursion ends.", sig, maxSQLCallDepth)
	}
	done := func() { s.sqlCalls.n.Add(-1) }
	if err := ctx.Err(); err != nil {
		done()
		return nil, nil, nil, err
	}
	f, ok := s.e.cat.Function(oid)
	if !ok {
		done()
		return nil, nil, nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s does not exist", sig)
	}
	return ctx, f, done, nil
}

// callSQLFunction runs one call of the SQL function oid with the
// argument values args and returns its value.
func (s *Session) callSQLFunction(ctx context.Context, oid uint32, sig string, args []types.Datum, rd func() storage.Reader) (types.Datum, error) {
	ctx, f, done, err := s.enterCall(ctx, oid, sig)
	if err != nil {
		return nil, err
	}
	defer done()
	if f.Statements {
		return s.runBodyStatements(ctx, f, args, rd)
	}
	params := make([]string, len(f.ArgTypes))
	for i, t := range f.ArgTypes {
		params[i] = "$" + strconv.Itoa(i+1) + "::" + t.String()
	}
	text := "SELECT " + udf.QuoteIdent(f.Schema) + "." + udf.QuoteIdent(f.Name) + "(" + strings.Join(params, ", ") + ")"
	stmts, err := parser.Parse(text)
	if err != nil {
		return nil, err
	}
	st := &statement{s: s, st: stmts[0], whole: text}
	p := s.newPlannerFn(st, f.ArgTypes, args, rd)
	p.Context = ctx
	_, op, err := lowerSelect(p, rd, stmts[0].AST.GetSelectStmt())
	if err != nil {
		return nil, err
	}
	ec := s.execCtx(ctx, args)
	defer ec.Mem.Close()
	if err := op.Open(ec); err != nil {
		return nil, err
	}
	defer op.Close()
	for {
		b, err := op.Next(ec)
		if err != nil || b == nil {
			return nil, err
		}
		if b.N == 0 {
			b.Release()
			continue
		}
		v := types.GetDatum(b.Cols[0], 0, f.RetType)
		b.Release()
		return v, nil
	}
}

// perCallSet returns the planner's PerCallSet for statements whose scans
// read through rd: a call of a set-returning SQL function that cannot be
// inlined runs its body once per call (callSetFunction) and gives the
// rows as a table function.
func (s *Session) perCallSet(rd func() storage.Reader) func(f *catalog.Function, names []string, ts []types.T) *udf.TableFunc {
	return func(f *catalog.Function, names []string, ts []types.T) *udf.TableFunc {
		oid, sig, strict := f.OID, f.Signature(), f.Strict
		return &udf.TableFunc{Name: f.Name, Args: f.ArgTypes, OID: oid,
			Cols: func([]types.T) ([]string, []types.T) { return names, ts },
			Eval: func(env *udf.Env, args []types.Datum, _ []types.T) (udf.RowIter, error) {
				if strict && slices.Contains(args, nil) {
					return udf.NewRowsIter(ts, nil), nil
				}
				rows, err := s.callSetFunction(env.Context, oid, sig, args, names, ts, rd)
				if err != nil {
					return nil, err
				}
				return udf.NewRowsIter(ts, rows), nil
			}}
	}
}

// callSetFunction runs one call of the set-returning SQL function oid
// with the argument values args and returns its rows, of the columns
// names and types ts.
func (s *Session) callSetFunction(ctx context.Context, oid uint32, sig string, args []types.Datum, names []string, ts []types.T, rd func() storage.Reader) ([][]types.Datum, error) {
	ctx, f, done, err := s.enterCall(ctx, oid, sig)
	if err != nil {
		return nil, err
	}
	defer done()
	var rows [][]types.Datum
	var cols []pgwire.Column
	if f.Statements {
		rows, cols, err = s.runStatements(ctx, f, args, rd, true)
	} else {
		rows, cols, err = s.runSetBody(ctx, f, args, names, ts, rd)
	}
	if err != nil {
		return nil, err
	}
	if len(cols) != len(ts) {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "function return row and query-specified return row do not match").
			WithDetail("Returned row contains %d attributes, but query expects %d.", len(cols), len(ts))
	}
	loc := s.location()
	for _, row := range rows {
		for j := range row {
			if row[j], err = types.Cast(row[j], cols[j].Type, ts[j], loc); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

// runSetBody runs the one-SELECT body of the set-returning SQL function
// f with the argument values args, as SELECT * FROM f($1, ...), whose
// recursive calls come back to callSetFunction.
func (s *Session) runSetBody(ctx context.Context, f *catalog.Function, args []types.Datum, names []string, ts []types.T, rd func() storage.Reader) ([][]types.Datum, []pgwire.Column, error) {
	params := make([]string, len(f.ArgTypes))
	for i, t := range f.ArgTypes {
		params[i] = "$" + strconv.Itoa(i+1) + "::" + t.String()
	}
	text := "SELECT * FROM " + udf.QuoteIdent(f.Schema) + "." + udf.QuoteIdent(f.Name) + "(" + strings.Join(params, ", ") + ")"
	if f.RetType.Kind == types.Record && len(f.OutNames) == 0 {
		defs := make([]string, len(names))
		for i, n := range names {
			defs[i] = udf.QuoteIdent(n) + " " + ts[i].String()
		}
		text += " AS r(" + strings.Join(defs, ", ") + ")"
	}
	stmts, err := parser.Parse(text)
	if err != nil {
		return nil, nil, err
	}
	st := &statement{s: s, st: stmts[0], whole: text}
	p, err := s.plan(ctx, st, slices.Clone(f.ArgTypes), args, rd)
	if err != nil {
		return nil, nil, err
	}
	res, err := p.run(ctx, &execution{ctx: ctx, s: s, args: args, reader: rd()})
	if err != nil {
		return nil, nil, err
	}
	defer res.Close()
	rows, err := collectRows(ctx, res, false)
	return rows, res.Columns(), err
}
