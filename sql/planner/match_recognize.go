package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// MATCH_RECOGNIZE binding: the clause's input is the relation it follows;
// its DEFINE conditions and MEASURES are bound as scalars over
// navigations (plan.MRNav), each a column reference to a value the
// matcher reads from the rows of a (partial) match: A.price is the price
// of the last row mapped to A (the candidate row itself in A's DEFINE),
// FIRST/LAST(A.price, n) count rows mapped to A, PREV/NEXT(A.price, n)
// move in the partition from there, sum(A.price) and count(A.*) aggregate
// A's rows, MATCH_NUMBER() and CLASSIFIER() read the match itself. A
// column without a pattern variable reads every row of the match (the
// candidate row in a DEFINE, the last row in a measure).

// mrBinder binds the expressions of one MATCH_RECOGNIZE clause.
type mrBinder struct {
	p    *Planner
	in   *scope // the input's columns
	vars map[string]int
	// define is the variable whose DEFINE is bound, -1 for MEASURES.
	define int
	navs   []plan.MRNav
	keys   map[string]int
	// names are the variables' and the input columns' names, for EXPLAIN.
	varNames, colNames []string
}

// planMatchRecognize plans `rv MATCH_RECOGNIZE (...) [AS alias]`.
func (p *Planner) planMatchRecognize(rv *pg.RangeVar, sc *scope) (*fromItem, error) {
	mr, err := parser.MatchRecognizeOf(rv, p.SQL)
	if err != nil {
		return nil, err
	}
	inRV := &pg.RangeVar{Catalogname: rv.Catalogname, Schemaname: rv.Schemaname, Relname: rv.Relname,
		Inh: rv.Inh, Relpersistence: "p", Location: rv.Location}
	item, err := p.planRangeVar(inRV, sc)
	if err != nil {
		return nil, err
	}
	if item.lookup != nil {
		return nil, lookupNotRight(item.lookup)
	}
	in := item.rel
	inScope := &scope{cols: in.cols}
	node := &plan.MatchRecognize{Input: in.node}
	pos := p.pos(int32(mr.Pos))

	// PARTITION BY and ORDER BY name input columns.
	colOf := func(n *pg.Node, what string) (int, error) {
		e, err := p.binder(inScope, what).bind(n)
		if err != nil {
			return 0, err
		}
		c, ok := e.(*plan.ColRef)
		if !ok {
			return 0, sqlerr.New(sqlerr.FeatureNotSupported, "%s of MATCH_RECOGNIZE must name columns of its input, not expressions", what).
				WithPosition(p.pos(exprLocation(n)))
		}
		return c.Idx, nil
	}
	for _, n := range mr.PartitionBy {
		c, err := colOf(n, "PARTITION BY")
		if err != nil {
			return nil, err
		}
		node.Partition = append(node.Partition, c)
	}
	for _, n := range mr.OrderBy {
		c, err := colOf(n, "ORDER BY")
		if err != nil {
			return nil, err
		}
		node.Order = append(node.Order, c)
	}
	ts := in.cols[node.Order[0]].t
	isTime := ts.Kind == types.TimestampKind || ts.Kind == types.TimestampTZ
	if p.Stream && !isTime {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch,
			"MATCH_RECOGNIZE in a materialized view must be ordered by an event time column (timestamp or timestamp with time zone), not %s", ts).
			WithPosition(p.pos(exprLocation(mr.OrderBy[0])))
	}

	// The pattern and its variables.
	node.Vars = mr.Pattern.Vars()
	vars := map[string]int{}
	for i, v := range node.Vars {
		vars[v] = i
	}
	node.Pattern = mrPattern(mr.Pattern, vars)
	switch mr.Skip {
	case parser.SkipToNextRow:
		node.Skip = plan.MRSkipToNextRow
	case parser.SkipToFirst:
		node.Skip, node.SkipVar = plan.MRSkipToFirst, vars[mr.SkipVar]
	case parser.SkipToLast:
		node.Skip, node.SkipVar = plan.MRSkipToLast, vars[mr.SkipVar]
	}
	if mr.Within != nil {
		if !isTime {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch,
				"WITHIN needs MATCH_RECOGNIZE ordered by a timestamp column, not %s", ts).WithPosition(p.pos(exprLocation(mr.Within)))
		}
		w, err := p.binder(&scope{}, "WITHIN").bind(mr.Within)
		if err != nil {
			return nil, err
		}
		if node.Within, err = p.coerce(w, types.TInterval, p.pos(exprLocation(mr.Within))); err != nil {
			return nil, err
		}
		if refs, _ := plan.ColRefs(node.Within); len(refs) > 0 {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "WITHIN must be a constant interval").WithPosition(p.pos(exprLocation(mr.Within)))
		}
	}

	// DEFINE, one condition per variable.
	node.Defines = make([]plan.MRDefine, len(node.Vars))
	for _, d := range mr.Defines {
		b := &mrBinder{p: p, in: inScope, vars: vars, define: vars[d.Var], keys: map[string]int{}, varNames: node.Vars}
		e, err := b.bind(d.Expr, "DEFINE")
		if err != nil {
			return nil, err
		}
		cond, err := p.coerceBool(e, "argument of DEFINE", p.pos(exprLocation(d.Expr)))
		if err != nil {
			return nil, err
		}
		node.Defines[vars[d.Var]] = plan.MRDefine{Cond: cond, Navs: b.navs}
	}

	// MEASURES.
	mb := &mrBinder{p: p, in: inScope, vars: vars, define: -1, keys: map[string]int{}, varNames: node.Vars}
	seen := map[string]bool{}
	for _, m := range mr.Measures {
		e, err := mb.bind(m.Expr, "MEASURES")
		if err != nil {
			return nil, err
		}
		if seen[m.Name] {
			return nil, sqlerr.New(sqlerr.DuplicateColumn, "measure %q is defined more than once", m.Name).WithPosition(p.pos(int32(m.Pos)))
		}
		seen[m.Name] = true
		node.Measures = append(node.Measures, e)
		node.MeasureNames = append(node.MeasureNames, m.Name)
	}
	node.MeasureNavs = mb.navs
	if len(node.Measures) == 0 && len(node.Partition) == 0 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "MATCH_RECOGNIZE without PARTITION BY needs MEASURES: a match has no columns to show").WithPosition(pos)
	}

	// Output: the partition columns, then the measures.
	alias := rv.Relname
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	var out []column
	for _, c := range node.Partition {
		col := in.cols[c]
		col.table, col.hidden, col.qualifiedOnly = alias, false, false
		out = append(out, col)
	}
	for i, e := range node.Measures {
		for _, c := range node.Partition {
			if in.cols[c].name == node.MeasureNames[i] {
				return nil, sqlerr.New(sqlerr.DuplicateColumn, "measure %q has the name of a PARTITION BY column", node.MeasureNames[i]).WithPosition(pos)
			}
		}
		out = append(out, column{table: alias, name: node.MeasureNames[i], t: e.Type()})
	}
	rel := &relPlan{node: node, cols: out}
	if rv.Alias != nil && len(rv.Alias.Colnames) > 0 {
		rel = renameRel(rel, alias, rv.Alias)
	}
	return &fromItem{rel: rel}, nil
}

// mrPattern converts the parsed pattern.
func mrPattern(n *parser.PatternNode, vars map[string]int) *plan.MRPattern {
	out := &plan.MRPattern{Min: n.Min, Max: n.Max, Reluctant: n.Reluctant}
	switch n.Kind {
	case parser.PatVar:
		out.Kind, out.Var = plan.MRVar, vars[n.Var]
	case parser.PatConcat:
		out.Kind = plan.MRConcat
	case parser.PatAlt:
		out.Kind = plan.MRAlt
	default:
		out.Kind = plan.MRQuant
	}
	for _, it := range n.Items {
		out.Items = append(out.Items, mrPattern(it, vars))
	}
	return out
}

// exprLocation is the location of an expression node, -1 when unknown.
func exprLocation(n *pg.Node) int32 {
	switch {
	case n.GetColumnRef() != nil:
		return n.GetColumnRef().Location
	case n.GetFuncCall() != nil:
		return n.GetFuncCall().Location
	case n.GetAExpr() != nil:
		return n.GetAExpr().Location
	case n.GetAConst() != nil:
		return n.GetAConst().Location
	case n.GetTypeCast() != nil:
		return n.GetTypeCast().Location
	case n.GetBoolExpr() != nil:
		return n.GetBoolExpr().Location
	}
	return -1
}

// bind binds one DEFINE condition or measure.
func (b *mrBinder) bind(n *pg.Node, where string) (plan.Scalar, error) {
	eb := b.p.binder(&scope{}, where)
	eb.hook = b.hook
	return eb.bind(n)
}

// nav returns the column reference of a navigation, adding it once.
func (b *mrBinder) nav(n plan.MRNav) *plan.ColRef {
	if b.colNames == nil {
		for _, c := range b.in.cols {
			b.colNames = append(b.colNames, c.name)
		}
	}
	name := n.String(b.varNames, b.colNames)
	k := n.Key()
	if i, ok := b.keys[k]; ok {
		return &plan.ColRef{Idx: i, T: n.T, Name: name}
	}
	b.keys[k] = len(b.navs)
	b.navs = append(b.navs, n)
	return &plan.ColRef{Idx: len(b.navs) - 1, T: n.T, Name: name}
}

// colRef resolves `col` or `var.col` (or `var.*` when star is allowed):
// the variable (-1 for none), the input column and its type.
func (b *mrBinder) colRef(cr *pg.ColumnRef, star bool) (v, col int, t types.T, isStar bool, err error) {
	pos := b.p.pos(cr.Location)
	var parts []string
	for i, f := range cr.Fields {
		if f.GetAStar() != nil {
			if !star || i != len(cr.Fields)-1 {
				return 0, 0, types.T{}, false, sqlerr.New(sqlerr.FeatureNotSupported, "* is not allowed here").WithPosition(pos)
			}
			isStar = true
			continue
		}
		parts = append(parts, f.GetString_().Sval)
	}
	v = -1
	name := ""
	switch {
	case isStar && len(parts) == 1:
		vi, ok := b.vars[parts[0]]
		if !ok {
			return 0, 0, types.T{}, false, undefinedVar(parts[0], pos)
		}
		return vi, -1, types.T{}, true, nil
	case isStar:
		return 0, 0, types.T{}, false, sqlerr.New(sqlerr.FeatureNotSupported, "* is not allowed here").WithPosition(pos)
	case len(parts) == 1:
		name = parts[0]
	case len(parts) == 2:
		vi, ok := b.vars[parts[0]]
		if !ok {
			return 0, 0, types.T{}, false, undefinedVar(parts[0], pos)
		}
		v, name = vi, parts[1]
	default:
		return 0, 0, types.T{}, false, sqlerr.New(sqlerr.SyntaxError, "improper qualified name in MATCH_RECOGNIZE: a column is var.column").WithPosition(pos)
	}
	_, idx, c, err := b.in.resolve("", name, pos)
	if err != nil {
		return 0, 0, types.T{}, false, err
	}
	b.p.noteColumn(c)
	return v, idx, c.t, false, nil
}

func undefinedVar(name string, pos int) error {
	return sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", name).
		WithHint("Inside MATCH_RECOGNIZE, qualify columns with a pattern variable of the PATTERN.").WithPosition(pos)
}

// intArg reads the constant offset argument of a navigation function.
func (b *mrBinder) intArg(n *pg.Node, fn string) (int, error) {
	c := n.GetAConst()
	if c == nil || c.GetIval() == nil || c.GetIval().Ival < 0 {
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "the offset of %s must be a non-negative integer constant", fn).
			WithPosition(b.p.pos(exprLocation(n)))
	}
	return int(c.GetIval().Ival), nil
}

// hook takes over column references and the pattern functions.
func (b *mrBinder) hook(n *pg.Node) (plan.Scalar, bool, error) {
	if cr := n.GetColumnRef(); cr != nil {
		v, col, t, _, err := b.colRef(cr, false)
		if err != nil {
			return nil, true, err
		}
		return b.nav(plan.MRNav{Kind: plan.NavLast, Var: v, Col: col, T: t}), true, nil
	}
	fc := n.GetFuncCall()
	if fc == nil || fc.Over != nil || len(fc.Funcname) != 1 {
		return nil, false, nil
	}
	name := funcName(fc.Funcname)
	pos := b.p.pos(fc.Location)
	switch name {
	case "first", "last", "prev", "next":
		if len(fc.Args) < 1 || len(fc.Args) > 2 {
			return nil, true, sqlerr.New(sqlerr.UndefinedFunction, "function %s takes a column and an optional offset", name).WithPosition(pos)
		}
		off := 0
		if name == "prev" || name == "next" {
			off = 1
		}
		if len(fc.Args) == 2 {
			o, err := b.intArg(fc.Args[1], name)
			if err != nil {
				return nil, true, err
			}
			off = o
		}
		var nav plan.MRNav
		arg := fc.Args[0]
		if inner := arg.GetFuncCall(); inner != nil && (name == "prev" || name == "next") {
			in := funcName(inner.Funcname)
			if in != "first" && in != "last" {
				return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "%s in MATCH_RECOGNIZE navigates from a column or FIRST/LAST of one", name).WithPosition(pos)
			}
			e, ok, err := b.hook(arg)
			if err != nil || !ok {
				return nil, true, err
			}
			nav = b.navs[e.(*plan.ColRef).Idx]
		} else {
			cr := arg.GetColumnRef()
			if cr == nil {
				return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "the first argument of %s in MATCH_RECOGNIZE must be a column (var.column)", name).
					WithPosition(b.p.pos(exprLocation(arg)))
			}
			v, col, t, _, err := b.colRef(cr, false)
			if err != nil {
				return nil, true, err
			}
			nav = plan.MRNav{Kind: plan.NavLast, Var: v, Col: col, T: t}
		}
		switch name {
		case "first":
			nav.Kind, nav.Offset = plan.NavFirst, off
		case "last":
			nav.Offset = off
		case "prev":
			nav.Phys -= off
		case "next":
			if b.define >= 0 {
				return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "NEXT is not supported in DEFINE: a row is classified without looking ahead").WithPosition(pos)
			}
			if b.p.Stream {
				return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "NEXT is not supported in a materialized view's MATCH_RECOGNIZE").WithPosition(pos)
			}
			nav.Phys += off
		}
		return b.nav(nav), true, nil
	case "match_number":
		if len(fc.Args) != 0 {
			return nil, true, sqlerr.New(sqlerr.UndefinedFunction, "function match_number takes no arguments").WithPosition(pos)
		}
		if b.define >= 0 {
			return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "MATCH_NUMBER() is not supported in DEFINE").WithPosition(pos)
		}
		return b.nav(plan.MRNav{Kind: plan.NavMatchNumber, Var: -1, T: types.TInt8}), true, nil
	case "classifier":
		if len(fc.Args) != 0 {
			return nil, true, sqlerr.New(sqlerr.UndefinedFunction, "function classifier takes no arguments").WithPosition(pos)
		}
		return b.nav(plan.MRNav{Kind: plan.NavClassifier, Var: -1, T: types.TText}), true, nil
	}
	if !b.p.isAggregateCall(fc) {
		return nil, false, nil
	}
	if fc.AggDistinct || fc.AggFilter != nil || len(fc.AggOrder) > 0 || fc.AggWithinGroup {
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "DISTINCT, FILTER and ORDER BY are not supported in aggregates of MATCH_RECOGNIZE").WithPosition(pos)
	}
	nav := plan.MRNav{Kind: plan.NavAgg, Var: -1, Col: -1}
	var argTypes []types.T
	switch {
	case fc.AggStar:
		nav.Star = true
	case len(fc.Args) == 1 && fc.Args[0].GetColumnRef() != nil:
		v, col, t, star, err := b.colRef(fc.Args[0].GetColumnRef(), true)
		if err != nil {
			return nil, true, err
		}
		nav.Var, nav.Col, nav.Star = v, col, star
		if !star {
			argTypes = []types.T{t}
		}
	default:
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "an aggregate in MATCH_RECOGNIZE takes one column (var.column) or var.*").WithPosition(pos)
	}
	lookupName := fc.Funcname
	if nav.Star && name != "count" {
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "only count takes var.* in MATCH_RECOGNIZE").WithPosition(pos)
	}
	fn, declared, err := b.p.lookupAggregate(lookupName, argTypes, false, pos)
	if err != nil {
		return nil, true, err
	}
	if fn.WithinGroup || fn.OrderedSet || fn.Variadic {
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "aggregate %s is not supported in MATCH_RECOGNIZE", name).WithPosition(pos)
	}
	if len(argTypes) == 1 && len(declared) == 1 && !declared[0].Equal(argTypes[0]) && !declared[0].Equal(types.TUnknown) {
		// The aggregate reads its declared type: the matcher casts the
		// column to it.
		argTypes = declared
	}
	nav.Agg = fn
	nav.T = fn.ResultType(argTypes)
	if len(argTypes) == 1 {
		nav.AggArg = argTypes[0]
	}
	return b.nav(nav), true, nil
}
