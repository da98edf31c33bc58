package planner

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Set-returning functions in the select list (SELECT unnest(a) FROM t).
// They are evaluated by ProjectSet operators between the window functions
// and the final projection, as PostgreSQL does: calls of one level run in
// lockstep, and a call whose arguments hold another set-returning call is
// one level above it. Where PostgreSQL forbids them (CASE, COALESCE,
// aggregate and window arguments, WHERE, ...) the same error is raised.

// srfContext collects the set-returning calls of a query level.
type srfContext struct {
	p *Planner
	// sc is the query level's scope.
	sc    *scope
	calls []*srfCall
}

type srfCall struct {
	fn       *udf.TableFunc
	args     []plan.Scalar
	argTypes []types.T
	key      string
	ph       *srfPlaceholder
	// sqlFn is set, instead of fn, for a set-returning SQL function,
	// which joins laterally (sqlfunc_set.go); pos is the call's.
	sqlFn *catalog.Function
	pos   int
}

// srfPlaceholder stands for a set-returning call's value until its
// ProjectSet is built and its column known.
type srfPlaceholder struct {
	plan.Extension
	t     types.T
	name  string
	level int // 1 for calls without set-returning arguments
	col   int
}

func (x *srfPlaceholder) Type() types.T  { return x.t }
func (x *srfPlaceholder) String() string { return x.name + "()" }

// isSRFName reports whether a function call of this name returns a set.
func isSRFName(name string) bool { return udf.IsTableFunc(name) }

// isSRF reports whether a call of names returns a set: a built-in table
// function, or a user table function found along the path.
func (p *Planner) isSRF(names []*pg.Node) bool {
	if isSRFName(funcName(names)) {
		return true
	}
	if len(names) == 1 && len(p.GoFuncs.Tables(funcName(names))) > 0 {
		return true
	}
	cands, _ := p.sqlFuncCandidates(names)
	for _, f := range cands {
		if f.RetSet {
			return true
		}
	}
	return false
}

// install makes b bind set-returning calls through s. It goes outermost,
// so that it also sees aggregate and window calls and can refuse
// set-returning calls inside their arguments.
func (s *srfContext) install(b *exprBinder) {
	inner := b.hook
	b.hook = func(n *pg.Node) (plan.Scalar, bool, error) {
		if err := s.checkPlacement(n); err != nil {
			return nil, true, err
		}
		if fc := n.GetFuncCall(); fc != nil && fc.Over == nil && !fc.AggStar && s.p.isSRF(fc.Funcname) {
			e, err := s.bindCall(b, fc)
			return e, true, err
		}
		if inner != nil {
			return inner(n)
		}
		return nil, false, nil
	}
}

// checkPlacement refuses set-returning calls in the places PostgreSQL
// refuses them inside a select list.
func (s *srfContext) checkPlacement(n *pg.Node) error {
	var kids []*pg.Node
	var msg string
	hint := true
	switch {
	case n.GetCaseExpr() != nil:
		kids, msg = childNodes(n), "set-returning functions are not allowed in CASE"
	case n.GetCoalesceExpr() != nil:
		kids, msg = childNodes(n), "set-returning functions are not allowed in COALESCE"
	case n.GetFuncCall() != nil:
		fc := n.GetFuncCall()
		switch {
		case fc.Over != nil:
			kids, msg = fc.Args, "window function calls cannot contain set-returning function calls"
			hint = false
		case s.p.isAggregateCall(fc):
			kids, msg = fc.Args, "aggregate function calls cannot contain set-returning function calls"
			if fc.AggFilter != nil {
				kids = append(kids, fc.AggFilter)
			}
		default:
			return nil
		}
	default:
		return nil
	}
	for _, k := range kids {
		if loc, ok := s.p.findSRF(k); ok {
			err := sqlerr.New(sqlerr.FeatureNotSupported, "%s", msg).WithPosition(s.p.pos(loc))
			if hint {
				err = err.WithHint("You might be able to move the set-returning function into a LATERAL FROM item.")
			}
			return err
		}
	}
	return nil
}

// findSRF finds a set-returning call in an AST expression (not entering
// subqueries, which are separate query levels).
func (p *Planner) findSRF(n *pg.Node) (loc int32, found bool) {
	var walk func(n *pg.Node)
	walk = func(n *pg.Node) {
		if n == nil || found {
			return
		}
		if fc := n.GetFuncCall(); fc != nil {
			if fc.Over == nil && !fc.AggStar && p.isSRF(fc.Funcname) {
				loc, found = fc.Location, true
				return
			}
			for _, a := range fc.Args {
				walk(a)
			}
			return
		}
		if n.GetSubLink() != nil {
			walk(n.GetSubLink().Testexpr)
			return
		}
		for _, c := range childNodes(n) {
			walk(c)
		}
	}
	walk(n)
	return loc, found
}

func (s *srfContext) bindCall(b *exprBinder, fc *pg.FuncCall) (plan.Scalar, error) {
	p := s.p
	name := funcName(fc.Funcname)
	pos := p.pos(fc.Location)
	if fc.AggDistinct || len(fc.AggOrder) > 0 || fc.AggFilter != nil || fc.FuncVariadic {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "DISTINCT, ORDER BY, FILTER or VARIADIC specified, but %s is not an aggregate function", name).WithPosition(pos)
	}
	args := make([]plan.Scalar, len(fc.Args))
	ts := make([]types.T, len(fc.Args))
	level := 1
	for i, a := range fc.Args {
		e, err := b.bind(a)
		if err != nil {
			return nil, err
		}
		plan.Visit(e, func(x plan.Scalar) {
			if ph, ok := x.(*srfPlaceholder); ok && ph.level+1 > level {
				level = ph.level + 1
			}
		})
		args[i], ts[i] = e, e.Type()
	}
	if f, _, err := p.userSetFunction(fc.Funcname, ts, pos); err != nil {
		return nil, withPos(err, pos)
	} else if f != nil && f.Language == "sql" {
		return s.sqlSetCall(f, args, level, pos)
	}
	fn, argTypes, err := p.lookupTableFunc(fc.Funcname, ts, pos)
	if err != nil {
		return nil, withPos(err, pos)
	}
	if err := p.coerceArgs(args, ts, argTypes, pos); err != nil {
		return nil, err
	}
	_, cts := fn.Cols(ts)
	if len(cts) != 1 && fn.Name == "unnest" {
		// unnest of several arrays is PostgreSQL's ROWS FROM (unnest(a),
		// unnest(b), ...), which exists in FROM only: no such function.
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = t.String()
		}
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function unnest(%s) does not exist", strings.Join(names, ", ")).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").WithPosition(pos)
	}
	if len(cts) != 1 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s returns several columns: call it in FROM", name).WithPosition(pos)
	}
	return s.add(fn, args, ts, name, cts[0], level), nil
}

// add records a call of the table function fn of one column of type t
// with args of types ts, and returns its placeholder.
func (s *srfContext) add(fn *udf.TableFunc, args []plan.Scalar, ts []types.T, name string, t types.T, level int) plan.Scalar {
	key := fmt.Sprintf("%p", fn)
	for _, a := range args {
		key += "|" + plan.Key(a)
	}
	// The same call twice is one set, as it would give the same rows.
	for _, c := range s.calls {
		if c.key == key {
			return c.ph
		}
	}
	c := &srfCall{fn: fn, args: args, argTypes: ts, key: key, ph: &srfPlaceholder{t: t, name: name, level: level}}
	s.calls = append(s.calls, c)
	return c.ph
}

// args returns every call's arguments, in call order (for rewriting by
// the window planner).
func (s *srfContext) allArgs() []plan.Scalar {
	var out []plan.Scalar
	for _, c := range s.calls {
		out = append(out, c.args...)
	}
	return out
}

// setArgs puts rewritten arguments back (the inverse of allArgs).
func (s *srfContext) setArgs(args []plan.Scalar) {
	i := 0
	for _, c := range s.calls {
		c.args = args[i : i+len(c.args)]
		i += len(c.args)
	}
}

// build stacks one ProjectSet per level over cur and resolves the
// placeholders in outs.
func (s *srfContext) build(cur *relPlan, outs []plan.Scalar) (*relPlan, []plan.Scalar, error) {
	resolve := func(e plan.Scalar) plan.Scalar {
		return plan.Rewrite(e, func(x plan.Scalar) (plan.Scalar, bool) {
			if ph, ok := x.(*srfPlaceholder); ok {
				return &plan.ColRef{Idx: ph.col, T: ph.t, Name: ph.name}, true
			}
			return nil, false
		})
	}
	top := 0
	for _, c := range s.calls {
		top = max(top, c.ph.level)
	}
	cols := append([]column{}, cur.cols...)
	node := cur.node
	for level := 1; level <= top; level++ {
		var calls []plan.SetCall
		var phs []*srfPlaceholder
		var sqlCall *srfCall
		n := 0
		for _, c := range s.calls {
			if c.ph.level != level {
				continue
			}
			n++
			if c.sqlFn != nil {
				sqlCall = c
			}
		}
		if sqlCall != nil && n > 1 && !s.p.Stream && s.p.PerCallSet != nil {
			// In step with other set-returning calls: each SQL function
			// runs per call, as a table function of the ProjectSet.
			for _, c := range s.calls {
				if c.ph.level == level && c.sqlFn != nil {
					c.fn = s.p.PerCallSet(c.sqlFn, []string{c.ph.name}, []types.T{c.ph.t})
					if s.p.Deps != nil && c.sqlFn.OID != 0 {
						s.p.Deps[c.sqlFn.OID] = true
					}
					c.sqlFn = nil
				}
			}
			sqlCall = nil
		}
		if sqlCall != nil {
			// A SQL function's rows join laterally; run in step with
			// other set-returning calls they would need ROWS FROM.
			if n > 1 {
				return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning SQL function %s cannot run in step with other set-returning functions in one select list", sqlCall.sqlFn.Signature()).
					WithHint("Call it in FROM, with LATERAL.").WithPosition(sqlCall.pos)
			}
			args := make([]plan.Scalar, len(sqlCall.args))
			for i, a := range sqlCall.args {
				args[i] = resolve(a)
			}
			j, err := s.sqlSetJoin(sqlCall, node, cols, args)
			if err != nil {
				return nil, nil, err
			}
			node = j
			sqlCall.ph.col = len(cols)
			cols = append(cols, column{name: sqlCall.ph.name, t: sqlCall.ph.t, hidden: true})
			continue
		}
		for _, c := range s.calls {
			if c.ph.level != level {
				continue
			}
			args := make([]plan.Scalar, len(c.args))
			for i, a := range c.args {
				args[i] = resolve(a)
			}
			calls = append(calls, plan.SetCall{Fn: c.fn, Args: args, T: c.ph.t})
			phs = append(phs, c.ph)
		}
		node = &plan.ProjectSet{Input: node, Calls: calls}
		for _, ph := range phs {
			ph.col = len(cols)
			cols = append(cols, column{name: ph.name, t: ph.t, hidden: true})
		}
	}
	resolved := make([]plan.Scalar, len(outs))
	for i, e := range outs {
		resolved[i] = resolve(e)
	}
	return &relPlan{node: node, cols: cols}, resolved, nil
}

// withOrdinality adds the bigint ordinality column of
// fn(...) WITH ORDINALITY to a table function's columns.
func withOrdinality(rf *pg.RangeFunction, cols []column, alias string) []column {
	if !rf.Ordinality {
		return cols
	}
	c := column{table: alias, name: "ordinality", t: types.TInt8}
	if rf.Alias != nil && len(rf.Alias.Colnames) > len(cols) {
		c.name = rf.Alias.Colnames[len(cols)].GetString_().Sval
	}
	return append(cols, c)
}
