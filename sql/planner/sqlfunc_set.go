package planner

import (
	"fmt"
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Set-returning SQL functions (RETURNS SETOF type, RETURNS SETOF record,
// RETURNS TABLE (...)) are inlined as PostgreSQL inlines them
// (inline_set_returning_function): a call is the body's query, planned
// below the caller with its arguments as outer references, exactly as a
// written-out subquery would be.
//
//   - In FROM, f(args) is a derived table; with arguments that read the
//     items before it, a LATERAL subquery (joined once per row of them).
//   - In the select list (a function of one column), the call joins the
//     query's rows laterally where a ProjectSet would expand them: a row
//     for which the body returns no rows disappears, as in PostgreSQL.
//   - In a materialized view the same plan is maintained incrementally
//     where the view planner can (a body correlated by equalities in its
//     WHERE, or not at all); otherwise the view is refused with 0A000
//     naming the function.
//
// The body's columns are cast to the declared ones by assignment rules,
// as check_sql_fn_retval does; a STRICT function returns no rows when an
// argument is NULL.

// setFuncColumns returns the columns a call of the set-returning
// function f gives: its TABLE columns, the columns of the table whose
// row type it returns, the column definition list of a call of a SETOF
// record function, or one column named after f.
func (p *Planner) setFuncColumns(f *catalog.Function, coldefs []*pg.Node, pos int) ([]string, []types.T, error) {
	switch {
	case len(f.OutNames) > 0:
		if len(coldefs) > 0 {
			msg := "a column definition list is redundant for a function with OUT parameters"
			if f.RowType != "" {
				msg = "a column definition list is only allowed for functions returning \"record\""
			}
			return nil, nil, sqlerr.New(sqlerr.SyntaxError, "%s", msg).WithPosition(pos)
		}
		return f.OutNames, f.OutTypes, nil
	case f.RetType.Kind == types.Record:
		if len(coldefs) == 0 {
			return nil, nil, sqlerr.New(sqlerr.SyntaxError, "a column definition list is required for functions returning \"record\"").WithPosition(pos)
		}
		names := make([]string, len(coldefs))
		ts := make([]types.T, len(coldefs))
		for i, n := range coldefs {
			cd := n.GetColumnDef()
			t, err := p.typeName(cd.TypeName)
			if err != nil {
				return nil, nil, err
			}
			if slices.Contains(names[:i], cd.Colname) {
				return nil, nil, sqlerr.New(sqlerr.DuplicateColumn, "column name %q specified more than once", cd.Colname).WithPosition(p.pos(cd.Location))
			}
			names[i], ts[i] = cd.Colname, t
		}
		return names, ts, nil
	case len(coldefs) > 0:
		return nil, nil, sqlerr.New(sqlerr.SyntaxError, "a column definition list is only allowed for functions returning \"record\"").WithPosition(pos)
	}
	return []string{f.Name}, []types.T{f.RetType}, nil
}

// SetFunctionBody parses the body of a set-returning SQL function: one
// SELECT (of any shape), with Locations relative to body.
func SetFunctionBody(body string, ret types.T) (*pg.Node, error) {
	return oneSelectBody(body, ret, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning SQL function bodies must be one SELECT"))
}

// setBodySelect parses f's body as SetFunctionBody does, for planning
// (a fresh tree per call, as planning changes it).
func setBodySelect(f *catalog.Function) (*pg.SelectStmt, error) {
	n, err := SetFunctionBody(f.Body, f.RetType)
	if err != nil {
		return nil, err
	}
	return n.GetSelectStmt(), nil
}

// RowTypeColumns resolves the name of a table, view or source used as a
// type (RETURNS SETOF t) to its visible columns: ok is false when no
// relation has that name.
func (p *Planner) RowTypeColumns(tn *pg.TypeName) (name string, names []string, ts []types.T, ok bool) {
	if p.Catalog == nil || len(tn.ArrayBounds) > 0 || len(tn.Typmods) > 0 || len(tn.Names) > 2 {
		return "", nil, nil, false
	}
	rv := &pg.RangeVar{Location: -1}
	for _, n := range tn.Names {
		rv.Schemaname, rv.Relname = rv.Relname, n.GetString_().Sval
	}
	r, err := p.resolveRelation(rv)
	if err != nil {
		return "", nil, nil, false
	}
	for _, c := range r.Columns {
		if !c.Dropped {
			names, ts = append(names, c.Name), append(ts, c.Type)
		}
	}
	name = r.Name
	if rv.Schemaname != "" {
		name = rv.Schemaname + "." + r.Name
	}
	return name, names, ts, true
}

// setFunctionRel plans a call of the set-returning SQL function f with
// args (already cast to its argument types, bound in the scope caller)
// as a query level below caller whose columns are names and ts. It
// returns the level's scope too, correlated when the call reads caller.
// pos is the call's position, for errors.
func (p *Planner) setFunctionRel(f *catalog.Function, args []plan.Scalar, caller *scope, names []string, ts []types.T, pos int) (*relPlan, *scope, error) {
	for _, g := range p.sqlFuncs.stack {
		if g.OID == f.OID && (f.OID != 0 || g == f) {
			return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "SQL function %s calls itself recursively: recursive SQL functions are not supported", f.Signature()).WithPosition(pos)
		}
	}
	if len(p.sqlFuncs.stack) >= maxInlineDepth {
		return nil, nil, sqlerr.New(sqlerr.StatementTooComplex, "SQL functions nested more than %d deep", maxInlineDepth).WithPosition(pos)
	}
	if anySubquery(args) {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "an argument of set-returning SQL function %s cannot hold a subquery", f.Signature()).
			WithHint("Compute the argument in a subquery or join of its own.").WithPosition(pos)
	}
	if p.Deps != nil && f.OID != 0 {
		p.Deps[f.OID] = true
	}
	sel, err := setBodySelect(f)
	if err != nil {
		return nil, nil, inlineError(f, err, pos)
	}
	savedSQL, savedOff, savedStack := p.SQL, p.Offset, p.sqlFuncs.stack
	p.SQL, p.Offset = f.Body, 0
	p.sqlFuncs.stack = append(slices.Clone(savedStack), f)
	rel, child, err := p.planBodyQuery(f, sel, args, caller)
	if err == nil {
		rel, err = p.setFuncResult(f, rel, names, ts)
	}
	p.SQL, p.Offset, p.sqlFuncs.stack = savedSQL, savedOff, savedStack
	if err != nil {
		return nil, nil, inlineError(f, err, pos)
	}
	if f.Strict {
		// No rows when an argument is NULL: a filter over the body's
		// rows on the arguments, read from the caller's row.
		var tests []plan.Scalar
		for _, a := range args {
			if c, ok := a.(*plan.Const); ok {
				if c.Value == nil {
					return &relPlan{node: &plan.Values{Types: ts}, cols: rel.cols}, child, nil
				}
				continue
			}
			tests = append(tests, &plan.Not{Input: &plan.IsNull{Input: outerArg(a, child)}})
		}
		if len(tests) > 0 {
			rel = &relPlan{node: &plan.Filter{Input: rel.node, Pred: plan.AndAll(tests)}, cols: rel.cols}
		}
	}
	return rel, child, nil
}

// outerArg rewrites a, bound in the scope child's parent, to be read in
// child: its columns become outer references, and the scopes they cross
// are marked correlated.
func outerArg(a plan.Scalar, child *scope) plan.Scalar {
	return plan.Rewrite(a, func(e plan.Scalar) (plan.Scalar, bool) {
		switch c := e.(type) {
		case *plan.ColRef:
			child.correlated = true
			return &plan.OuterRef{Depth: 1, Idx: c.Idx, T: c.T, Name: c.Name}, true
		case *plan.OuterRef:
			for x, m := child, 0; x != nil && m <= c.Depth; x, m = x.parent, m+1 {
				x.correlated = true
			}
			return &plan.OuterRef{Depth: c.Depth + 1, Idx: c.Idx, T: c.T, Name: c.Name}, true
		}
		return nil, false
	})
}

// setFuncResult checks the body's columns against the declared ones and
// casts them (assignment rules), as check_sql_fn_retval does.
func (p *Planner) setFuncResult(f *catalog.Function, rel *relPlan, names []string, ts []types.T) (*relPlan, error) {
	var exprs []plan.Scalar
	for i, c := range rel.cols {
		if !c.hidden {
			exprs = append(exprs, &plan.ColRef{Idx: i, T: c.t, Name: c.name})
		}
	}
	ret := f.RetType
	if len(f.OutNames) > 0 {
		ret = types.T{Kind: types.Record}
	}
	mismatch := func() *sqlerr.Error {
		return sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", ret)
	}
	single := len(f.OutNames) == 0 && ret.Kind != types.Record
	switch {
	case single && len(exprs) != 1:
		return nil, mismatch().WithDetail("Final statement must return exactly one column.")
	case len(exprs) > len(ts):
		return nil, mismatch().WithDetail("Final statement returns too many columns.")
	case len(exprs) < len(ts):
		return nil, mismatch().WithDetail("Final statement returns too few columns.")
	}
	cols := make([]column, len(exprs))
	for i, e := range exprs {
		if e.Type().Kind == types.Unknown {
			var err error
			if e, err = p.coerce(e, types.TText, 0); err != nil {
				return nil, err
			}
		}
		if types.CastKind(e.Type(), ts[i]) < types.CastAssignment {
			if single {
				return nil, mismatch().WithDetail("Actual return type is %s.", e.Type())
			}
			return nil, mismatch().WithDetail("Final statement returns %s instead of %s at column %d.", e.Type(), ts[i], i+1)
		}
		c, err := p.coerceAssign(e, ts[i], 0)
		if err != nil {
			return nil, err
		}
		exprs[i] = c
		cols[i] = column{name: names[i], t: ts[i]}
	}
	return &relPlan{node: &plan.Project{Input: rel.node, Exprs: exprs}, cols: cols}, nil
}

// checkSetFunction checks the body of the set-returning SQL function f
// at CREATE, with its arguments as the columns of the calling scope
// cols (a SETOF record function's columns are known at calls only).
func (p *Planner) checkSetFunction(f *catalog.Function, cols []column, args []plan.Scalar) error {
	names, ts := f.OutNames, f.OutTypes
	if len(f.OutNames) == 0 {
		names, ts = []string{f.Name}, []types.T{f.RetType}
	}
	if f.RetType.Kind == types.Record && len(f.OutNames) == 0 {
		sel, err := setBodySelect(f)
		if err != nil {
			return err
		}
		_, _, err = p.planBodyQuery(f, sel, args, &scope{cols: cols})
		return err
	}
	_, _, err := p.setFunctionRel(f, args, &scope{cols: cols}, names, ts, 0)
	if err != nil {
		if e := sqlerr.From(err); e.Position > 0 {
			// Positions are in the body, which may not be the statement.
			n := *e
			n.Position = 0
			return &n
		}
	}
	return err
}

// userSetFunction resolves a call of names with argument types ts among
// the user table functions along the path: nil when none fits. qualified
// reports a schema-qualified name (which then means user functions only).
func (p *Planner) userSetFunction(names []*pg.Node, ts []types.T, pos int) (f *catalog.Function, qualified bool, err error) {
	cands, qualified := p.sqlFuncCandidates(names)
	var sets []*catalog.Function
	var sigs [][]types.T
	for _, f := range cands {
		if f.RetSet {
			sets, sigs = append(sets, f), append(sigs, f.ArgTypes)
		}
	}
	if len(sets) == 0 {
		return nil, qualified, nil
	}
	i, amb := selectSignature(ts, sigs)
	if amb {
		return nil, qualified, ambiguousFunction(funcName(names), ts, pos)
	}
	if i < 0 {
		return nil, qualified, nil
	}
	f = sets[i]
	if err := p.checkStreamVolatility(f); err != nil {
		return nil, qualified, err
	}
	return f, qualified, nil
}

// fromSQLSetFunction plans the set-returning SQL function f called in
// FROM with args, bound in argScope (lateral.go), as a derived table or
// a LATERAL subquery.
func (p *Planner) fromSQLSetFunction(rf *pg.RangeFunction, f *catalog.Function, args []plan.Scalar, argScope *scope, lat *lateralCtx, sc *scope, pos int) (*fromItem, error) {
	if rf.Ordinality && p.Stream {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "WITH ORDINALITY is not supported for SQL function %s in materialized views and sinks", f.Signature()).
			WithHint("Number the rows in the function's body, or call a built-in table function WITH ORDINALITY.").WithPosition(pos)
	}
	names, ts, err := p.setFuncColumns(f, rf.Coldeflist, pos)
	if err != nil {
		return nil, err
	}
	cast, err := p.castToParams(f, args, pos)
	if err != nil {
		return nil, err
	}
	// The arguments were bound in argScope, which has no columns of its
	// own: rebased onto its parent, the caller of the body.
	caller := argScope.parent
	if caller == nil {
		caller = &scope{ctes: sc.ctes}
	}
	for i, a := range cast {
		cast[i] = plan.Rewrite(a, func(e plan.Scalar) (plan.Scalar, bool) {
			if c, ok := e.(*plan.OuterRef); ok {
				if c.Depth == 1 {
					return &plan.ColRef{Idx: c.Idx, T: c.T, Name: c.Name}, true
				}
				return &plan.OuterRef{Depth: c.Depth - 1, Idx: c.Idx, T: c.T, Name: c.Name}, true
			}
			return nil, false
		})
	}
	if fn, ok, err := p.perCallSet(f, names, ts, pos); err != nil {
		return nil, err
	} else if ok {
		alias := f.Name
		if rf.Alias != nil {
			alias = rf.Alias.Aliasname
			if len(names) == 1 && len(rf.Alias.Colnames) == 0 && f.RetType.Kind != types.Record && len(f.OutNames) == 0 {
				names = []string{alias}
			}
		}
		cols := make([]column, len(names))
		for i := range names {
			cols[i] = column{table: alias, name: names[i], t: ts[i]}
			if rf.Alias != nil && i < len(rf.Alias.Colnames) {
				cols[i].name = rf.Alias.Colnames[i].GetString_().Sval
			}
		}
		node := &plan.TableFunction{Fn: fn, Args: args, Ordinality: rf.Ordinality}
		return &fromItem{rel: &relPlan{node: node, cols: withOrdinality(rf, cols, alias)}, lateral: lat.reads(argScope, sc), sqlFunc: f.Signature()}, nil
	}
	rel, child, err := p.setFunctionRel(f, cast, caller, names, ts, pos)
	if err != nil {
		return nil, err
	}
	lateral := lat.reads(child, sc)
	if rf.Ordinality {
		// The rows numbered from 1 in the order the body gives them, per
		// call (a LATERAL call's body runs once per outer row).
		rel = &relPlan{node: &plan.Window{Input: rel.node, Funcs: []plan.WindowCall{{Name: "row_number", T: types.TInt8, Filter: -1,
			Frame: plan.Frame{Mode: plan.RowsFrame, Start: plan.FrameBound{Kind: plan.UnboundedPreceding}, End: plan.FrameBound{Kind: plan.CurrentRow}}}}},
			cols: append(rel.cols, column{name: "ordinality", t: types.TInt8})}
	}
	alias := f.Name
	if rf.Alias != nil {
		alias = rf.Alias.Aliasname
		if len(names) == 1 && len(rf.Alias.Colnames) == 0 && f.RetType.Kind != types.Record && len(f.OutNames) == 0 {
			rel.cols[0].name = alias
		}
	}
	for i := range rel.cols {
		rel.cols[i].table = alias
		if rf.Alias != nil && i < len(rf.Alias.Colnames) {
			rel.cols[i].name = rf.Alias.Colnames[i].GetString_().Sval
		}
	}
	if rf.Alias != nil && len(rf.Alias.Colnames) > len(rel.cols) {
		return nil, sqlerr.New(sqlerr.InvalidColumnReference, "too many column aliases specified for function %s", f.Name).WithPosition(pos)
	}
	return &fromItem{rel: rel, lateral: lateral, sqlFunc: f.Signature()}, nil
}

// sqlSetCall is a select-list call of a set-returning SQL function.
func (s *srfContext) sqlSetCall(f *catalog.Function, args []plan.Scalar, level int, pos int) (plan.Scalar, error) {
	p := s.p
	names, ts, err := p.setFuncColumns(f, nil, pos)
	if err != nil || len(ts) != 1 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning function %s returns several columns: call it in FROM", f.Signature()).WithPosition(pos)
	}
	if args, err = p.castToParams(f, args, pos); err != nil {
		return nil, err
	}
	if fn, ok, err := p.perCallSet(f, names, ts, pos); err != nil {
		return nil, err
	} else if ok {
		return s.add(fn, args, f.ArgTypes, names[0], ts[0], level), nil
	}
	key := fmt.Sprintf("sql:%d:%p", f.OID, f)
	for _, a := range args {
		key += "|" + plan.Key(a)
	}
	for _, c := range s.calls {
		if c.key == key {
			return c.ph, nil
		}
	}
	c := &srfCall{sqlFn: f, pos: pos, args: args, key: key, ph: &srfPlaceholder{t: ts[0], name: names[0], level: level}}
	s.calls = append(s.calls, c)
	return c.ph, nil
}

// perCallSet returns the table function that runs a call of f per call,
// and true, when the call cannot be inlined: f's body is several
// statements, or the call is recursive. A materialized view refuses
// such a call.
func (p *Planner) perCallSet(f *catalog.Function, names []string, ts []types.T, pos int) (*udf.TableFunc, bool, error) {
	recursive := false
	for _, g := range p.sqlFuncs.stack {
		if g.OID == f.OID && (f.OID != 0 || g == f) {
			recursive = true
		}
	}
	if !recursive && !f.Statements {
		return nil, false, nil
	}
	if p.Stream || p.PerCallSet == nil {
		what := "calls itself recursively: recursive set-returning SQL functions are"
		if !recursive {
			what = "has a body of several statements: such functions are"
		}
		return nil, false, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning SQL function %s %s not supported in materialized views and sinks", f.Signature(), what).WithPosition(pos)
	}
	if p.Deps != nil && f.OID != 0 {
		p.Deps[f.OID] = true
	}
	return p.PerCallSet(f, names, ts), true, nil
}

// sqlSetJoin joins the set-returning SQL function call c laterally to
// the rows cur with columns cols (the call's arguments are over them).
func (s *srfContext) sqlSetJoin(c *srfCall, node plan.Rel, cols []column, args []plan.Scalar) (plan.Rel, error) {
	p := s.p
	caller := &scope{cols: cols}
	if s.sc != nil {
		caller.parent, caller.ctes = s.sc.parent, s.sc.ctes
	}
	rel, child, err := p.setFunctionRel(c.sqlFn, args, caller, []string{c.ph.name}, []types.T{c.ph.t}, c.pos)
	if err != nil {
		return nil, err
	}
	if caller.correlated && s.sc != nil {
		s.sc.correlated = true
	}
	return join(&relPlan{node: node, cols: cols}, rel, plan.InnerJoin, child.correlated, &plan.EquiKeys{}, nil), nil
}
