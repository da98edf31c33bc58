// Package planner binds parsed statements against the catalog and turns
// them into logical plans (sql/plan): names are resolved to columns, types
// and function overloads are chosen with PostgreSQL's rules, implicit
// casts are inserted, and the statement becomes relational nodes (scans,
// table functions, aggregation, windows, lookup joins, Values, Filter,
// Project, Limit, Sort, Distinct, SetOp, Join; Insert, Update, Delete)
// over logical scalars. The engine lowers them (lower/): into batch
// executors, or a view's query into a stream job.
//
// A Planner is made per statement; its plan serves any arguments (the
// engine caches one plan per statement text and parameter types):
// predicates on the primary key or an index become key bounds whose
// values, parameters included, are evaluated when the scan opens.
package planner

import (
	"context"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Planner plans one statement.
type Planner struct {
	Catalog *catalog.Catalog
	// recursions are the recursive SQL functions compiled for a view
	// (sqlfunc_recursive.go), by OID.
	recursions map[uint32]*udf.Scalar
	// SearchPath lists the schemas for unqualified names.
	SearchPath []string
	// ParamTypes holds the $n types: hints from the client (Unknown = infer);
	// the planner fills in inferred types.
	ParamTypes []types.T
	// ParamValues are the arguments when known (execution); nil when only
	// describing.
	ParamValues []types.Datum
	// SQL is the whole query string and Offset the byte offset of this
	// statement in it, for error positions.
	SQL    string
	Offset int
	// Stream says the plan is for a materialized view or sink, lowered
	// into a stream job: table scans stay scans of the whole table (they
	// become changelog readers), never index scans.
	Stream bool
	// NoRewrites turns the logical rewrites (rewrite.go) off: plan tests
	// print the plan as bound.
	NoRewrites bool

	// RowIDs makes scans of tables without a primary key output their
	// hidden row id as the hidden column RowIDColumn (for SELECT ... FOR
	// UPDATE, which locks rows by it).
	RowIDs bool
	// Deps collects the relations the statement reads (for view
	// dependencies), and the OIDs of the user functions it calls.
	Deps map[uint32]bool
	// ColDeps collects, when not nil, the columns (by attnum) of each
	// relation that the statement reads by name or through *: a role
	// without SELECT on a whole relation needs it on these columns.
	ColDeps map[uint32]map[int16]bool
	// ViewReads collects, when Deps is not nil, what the views the
	// statement reads read in turn: a view's query runs with its owner's
	// rights, so the caller checks each entry's reads as its Owner, at
	// every level of nested views.
	ViewReads []ViewRead

	// RowSecurity returns the row-level security predicate that role's
	// reads of table r must pass, as SQL text over r's column names, ""
	// when no policy binds role (policy.go); nil plans without row
	// security. Role is the role the scans are planned for: "" for the
	// statement's, a view's owner for the view's query.
	RowSecurity func(r *catalog.Relation, role string) (string, error)
	Role        string
	// rlsActive holds the tables whose policies are being bound, to
	// refuse a policy that reads its own table.
	rlsActive map[uint32]bool
	// UserFuncs compiles user functions in languages other than SQL
	// (JavaScript, WebAssembly); nil refuses calls of them.
	UserFuncs *udf.UserRuntimes
	// GoFuncs are functions an embedding program wrote in Go; they come
	// before the built-ins of the same name.
	GoFuncs *udf.GoFunctions
	// CompileScalar compiles a bound expression over columns into a
	// function (the support functions of aggregates declared in
	// PostgreSQL's form); nil refuses such aggregates.
	CompileScalar func(plan.Scalar) (udf.ScalarFunc, error)
	// RecursiveCall returns the function that evaluates a call of the
	// SQL function f by running its body once per call (a recursive call
	// cannot be inlined); nil refuses recursion.
	RecursiveCall func(f *catalog.Function) *udf.Scalar
	// PerCallSet returns the table function that evaluates a call of the
	// set-returning SQL function f, with the columns names and ts, by
	// running its body once per call: a recursive call, a body of several
	// statements, or a call in step with other set-returning calls of a
	// select list. nil refuses those.
	PerCallSet func(f *catalog.Function, names []string, ts []types.T) *udf.TableFunc
	// BodyOf is the SQL function one of whose body statements is planned
	// on its own (a body of several statements, run per call): its
	// arguments are the parameters $1..$n, and a column reference that
	// names no column but one of its arguments reads that parameter.
	BodyOf *catalog.Function

	// sqlFuncs is the state of SQL function inlining (sqlfunc.go).
	sqlFuncs sqlFuncState
	// sessions are the SESSION calls whose partition is not bound yet
	// (session_window.go).
	sessions map[*plan.SessionWindow]sessionCols
	// Context ends planning early (CancelRequest, statement_timeout); nil
	// means never.
	Context context.Context

	// chars converts byte offsets in SQL to character positions.
	chars charIndex
	// ticks counts checkCanceled calls.
	ticks uint
}

// checkCanceled reports a cancelled statement. It looks at the context on
// every 1,024th call only, so that the binder can call it for every node.
func (p *Planner) checkCanceled() error {
	p.ticks++
	if p.ticks%1024 != 0 || p.Context == nil {
		return nil
	}
	if err := p.Context.Err(); err != nil {
		return &sqlerr.Error{Code: sqlerr.QueryCanceled, Message: "canceling statement due to user request", Cause: err}
	}
	return nil
}

// ViewRead is what one view's query reads, to be checked with the rights
// of the view's owner (PostgreSQL checks the relations a view reads as the
// view's owner, when the query that reads the view runs).
type ViewRead struct {
	// View is the view's OID, Owner the role whose rights its query has.
	View  uint32
	Owner string
	// Deps and ColDeps are the view query's Planner.Deps and ColDeps.
	Deps    map[uint32]bool
	ColDeps map[uint32]map[int16]bool
}

// relPlan is a planned relation: its logical plan and its output columns.
type relPlan struct {
	node plan.Rel
	cols []column
}

// sub returns a planner for SQL text planned inside p's statement (a
// view's definition, a CHECK, a DEFAULT): it shares p's catalog, search
// path, lowering, sequences and functions.
func (p *Planner) sub(sql string) *Planner {
	return &Planner{Catalog: p.Catalog, SearchPath: p.SearchPath, SQL: sql,
		UserFuncs: p.UserFuncs, GoFuncs: p.GoFuncs, CompileScalar: p.CompileScalar, RecursiveCall: p.RecursiveCall, PerCallSet: p.PerCallSet}
}

func (r *relPlan) visibleCount() int {
	n := 0
	for _, c := range r.cols {
		if !c.hidden {
			n++
		}
	}
	return n
}

// pos converts a byte offset within the statement to a 1-based character
// position within the whole query string.
func (p *Planner) pos(loc int32) int {
	if loc < 0 {
		return 0
	}
	off := p.Offset + int(loc)
	if off > len(p.SQL) {
		off = len(p.SQL)
	}
	return p.chars.count(p.SQL, off) + 1
}

// charIndex counts the characters before a byte offset of one text. The
// binder asks for the position of every node, mostly in increasing order:
// counting from the previous answer keeps a statement's positions linear in
// its length (counting from the start each time made a 100,000-term AND
// chain take minutes), and ASCII text needs no counting at all.
type charIndex struct {
	checked, ascii bool
	off, chars     int // the last answer
}

func (c *charIndex) count(s string, off int) int {
	if !c.checked {
		c.checked, c.ascii = true, isASCII(s)
	}
	if c.ascii {
		return off
	}
	// Offsets are node locations, which fall on character boundaries.
	if off >= c.off {
		c.chars += utf8.RuneCountInString(s[c.off:off])
	} else if off > c.off/2 {
		c.chars -= utf8.RuneCountInString(s[off:c.off])
	} else {
		c.chars = utf8.RuneCountInString(s[:off])
	}
	c.off = off
	return c.chars
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (p *Planner) param(idx int, pos int) (plan.Scalar, error) {
	if idx < 0 || idx >= 65535 {
		return nil, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $%d", idx+1).WithPosition(pos)
	}
	for len(p.ParamTypes) <= idx {
		p.ParamTypes = append(p.ParamTypes, types.TUnknown)
	}
	return &plan.Param{Idx: idx, T: p.ParamTypes[idx]}, nil
}

// coerce converts e to type t implicitly (assignment rules when assign).
func (p *Planner) coerce(e plan.Scalar, t types.T, pos int) (plan.Scalar, error) {
	return p.convert(e, t, pos, types.CastImplicit)
}

func (p *Planner) coerceAssign(e plan.Scalar, t types.T, pos int) (plan.Scalar, error) {
	return p.convert(e, t, pos, types.CastAssignment)
}

func (p *Planner) castExplicit(e plan.Scalar, t types.T, pos int) (plan.Scalar, error) {
	return p.convert(e, t, pos, types.CastExplicit)
}

func (p *Planner) convert(e plan.Scalar, t types.T, pos int, ctx types.CastContext) (plan.Scalar, error) {
	from := e.Type()
	if from.Equal(t) {
		return e, nil
	}
	if t.Kind == types.Unknown {
		return e, nil
	}
	if r, ok, err := p.convertReg(e, t, pos, ctx); ok {
		return r, err
	}
	switch x := e.(type) {
	case *plan.Const:
		if x.Value == nil {
			return &plan.Const{T: t}, nil
		}
		if from.Kind == types.Unknown {
			s, _ := x.Value.(string)
			pt := t
			if ctx == types.CastExplicit && (t.Kind == types.Varchar || t.Kind == types.Char) && t.Width > 0 {
				// An explicit cast truncates where input would fail.
				pt = types.T{Kind: t.Kind}
			}
			d, err := types.ParseText(s, pt, nil)
			if err == nil && !pt.Equal(t) {
				d, err = types.Cast(d, pt, t, nil)
			}
			if err != nil {
				return nil, withPos(err, pos)
			}
			return &plan.Const{Value: d, T: t}, nil
		}
	case *plan.Param:
		if from.Kind == types.Unknown {
			p.ParamTypes[x.Idx] = t
			return &plan.Param{Idx: x.Idx, T: t}, nil
		}
	}
	if from.Kind == types.Unknown {
		// An unknown-typed non-constant (e.g. a subquery over a literal).
		return &plan.Cast{Input: e, To: t}, nil
	}
	k := types.CastKind(from, t)
	if k == types.CastNone || k < ctx {
		if ctx == types.CastExplicit || k == types.CastNone {
			return nil, sqlerr.New(sqlerr.CannotCoerce, "cannot cast type %s to %s", from, t).WithPosition(pos)
		}
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "cannot convert type %s to %s implicitly", from, t).WithPosition(pos)
	}
	if c, ok := e.(*plan.Const); ok {
		d, err := types.Cast(c.Value, from, t, nil)
		if err == nil {
			return &plan.Const{Value: d, T: t}, nil
		}
	}
	return &plan.Cast{Input: e, To: t}, nil
}

func (p *Planner) coerceBool(e plan.Scalar, what string, pos int) (plan.Scalar, error) {
	t := e.Type()
	if t.Kind == types.Bool {
		return e, nil
	}
	if t.Kind == types.Unknown {
		return p.coerce(e, types.TBool, pos)
	}
	return nil, sqlerr.New(sqlerr.DatatypeMismatch, "%s must be type boolean, not type %s", what, t).WithPosition(pos)
}

func (p *Planner) binaryOp(op string, l, r plan.Scalar, pos int) (plan.Scalar, error) {
	if l.Type().Kind == types.Unknown && r.Type().Kind == types.Unknown {
		// Two untyped literals: resolve as text, as PostgreSQL does.
		var err error
		if l, err = p.coerce(l, types.TText, pos); err != nil {
			return nil, err
		}
		if r, err = p.coerce(r, types.TText, pos); err != nil {
			return nil, err
		}
	}
	fn, argTypes, err := udf.LookupOperator(op, l.Type(), r.Type())
	if err != nil {
		return nil, withPos(err, pos)
	}
	if l, err = p.coerce(l, argTypes[0], pos); err != nil {
		return nil, err
	}
	if r, err = p.coerce(r, argTypes[1], pos); err != nil {
		return nil, err
	}
	args := []plan.Scalar{l, r}
	return &plan.Call{Fn: fn, Args: args, T: fn.ResultType([]types.T{l.Type(), r.Type()})}, nil
}

func (p *Planner) unaryOp(op string, a plan.Scalar, pos int) (plan.Scalar, error) {
	// Fold -<numeric literal> so that -2147483648 stays an integer.
	if c, ok := a.(*plan.Const); ok && op == "-" && c.Value != nil {
		switch v := c.Value.(type) {
		case int64:
			if c.T.Kind == types.Int8 && v == 2147483648 {
				return &plan.Const{Value: -v, T: types.TInt4}, nil
			}
		}
	}
	fn, argTypes, err := udf.LookupUnaryOperator(op, a.Type())
	if err != nil {
		return nil, withPos(err, pos)
	}
	if a, err = p.coerce(a, argTypes[0], pos); err != nil {
		return nil, err
	}
	return &plan.Call{Fn: fn, Args: []plan.Scalar{a}, T: fn.ResultType([]types.T{a.Type()})}, nil
}

// coerceArgs casts each argument to the type the chosen function
// declares for it and records its new type in ts; arguments past the
// declared ones stay as they are.
func (p *Planner) coerceArgs(args []plan.Scalar, ts, argTypes []types.T, pos int) error {
	for i := range args {
		if i < len(argTypes) {
			var err error
			if args[i], err = p.coerce(args[i], argTypes[i], pos); err != nil {
				return err
			}
			ts[i] = args[i].Type()
		}
	}
	return nil
}

func (p *Planner) call(name string, args []plan.Scalar, pos int) (plan.Scalar, error) {
	ts := make([]types.T, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	fn, argTypes, err := udf.LookupScalar(name, ts)
	if err != nil {
		return nil, withPos(err, pos)
	}
	if err := p.coerceArgs(args, ts, argTypes, pos); err != nil {
		return nil, err
	}
	return &plan.Call{Fn: fn, Args: args, T: fn.ResultType(ts)}, nil
}

// TypeName resolves a grammar type name with its modifiers.
func (p *Planner) TypeName(tn *pg.TypeName) (types.T, error) { return p.typeName(tn) }

func (p *Planner) typeName(tn *pg.TypeName) (types.T, error) {
	var parts []string
	for _, n := range tn.Names {
		parts = append(parts, n.GetString_().Sval)
	}
	name := parts[len(parts)-1]
	var mods []int32
	if name != "interval" {
		for _, m := range tn.Typmods {
			c := m.GetAConst()
			if c == nil {
				return types.T{}, sqlerr.New(sqlerr.SyntaxError, "type modifiers must be simple constants or identifiers").WithPosition(p.pos(tn.Location))
			}
			iv, ok := c.Val.(*pg.A_Const_Ival)
			if !ok {
				return types.T{}, sqlerr.New(sqlerr.SyntaxError, "type modifiers must be integers").WithPosition(p.pos(tn.Location))
			}
			mods = append(mods, iv.Ival.Ival)
		}
	}
	t, err := types.ParseTypeName(name, mods, len(tn.ArrayBounds))
	if err != nil {
		code := sqlerr.UndefinedObject
		if len(mods) > 0 {
			code = sqlerr.InvalidParameterValue
		}
		return types.T{}, sqlerr.New(code, "%s", err.Error()).WithPosition(p.pos(tn.Location))
	}
	return t, nil
}

// convertReg handles the casts between names and the reg* types
// ('trades'::regclass, oid::regclass::text), which look names up in the
// catalog when the statement runs; ok is false for any other conversion.
func (p *Planner) convertReg(e plan.Scalar, t types.T, pos int, ctx types.CastContext) (plan.Scalar, bool, error) {
	from := e.Type()
	nameLike := func(k types.Kind) bool {
		return k == types.Text || k == types.Varchar || k == types.Name || k == types.Char
	}
	switch {
	case t.Kind == types.Oid && t.OIDOverride != 0 && (nameLike(from.Kind) || from.Kind == types.Unknown):
		if c, isConst := e.(*plan.Const); isConst && c.Value == nil {
			return &plan.Const{T: t}, true, nil
		}
		arg := e
		if from.Kind != types.Text {
			var err error
			if arg, err = p.convert(e, types.TText, pos, types.CastExplicit); err != nil {
				return nil, true, err
			}
		}
		r, err := p.call(udf.RegInFunc(t.OIDOverride), []plan.Scalar{arg}, pos)
		return r, true, err
	case from.Kind == types.Oid && from.OIDOverride != 0 && nameLike(t.Kind) && ctx != types.CastImplicit:
		r, err := p.call(udf.RegOutFunc(from.OIDOverride), []plan.Scalar{e}, pos)
		if err != nil || t.Kind == types.Text {
			return r, true, err
		}
		r, err = p.convert(r, t, pos, ctx)
		return r, true, err
	}
	return nil, false, nil
}

// noteColumn records that the statement reads c (ColDeps).
func (p *Planner) noteColumn(c column) {
	if p.ColDeps == nil || c.privOID == 0 {
		return
	}
	m := p.ColDeps[c.privOID]
	if m == nil {
		m = map[int16]bool{}
		p.ColDeps[c.privOID] = m
	}
	m[c.privAtt] = true
}
