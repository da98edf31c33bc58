package planner

import (
	"strconv"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// cteDef is a WITH query, planned afresh at each reference.
type cteDef struct {
	name     string
	query    *pg.SelectStmt
	colNames []string
	scope    *scope // the scope the WITH clause belongs to

	// recursive is set for the queries of WITH RECURSIVE; see recursive.go.
	recursive bool
	loc       int32
	// planning is set while the query's own body is planned: a non-recursive
	// query's name then means a relation of the catalog, as in PostgreSQL.
	planning bool
	// rec is the state of the recursive term being planned, or nil.
	rec *recTerm
}

// planSelect plans a SELECT (or VALUES, or a set operation). sc carries the
// enclosing scope (for correlation) and receives the query's CTEs.
func (p *Planner) planSelect(s *pg.SelectStmt, sc *scope) (*relPlan, error) {
	if s.WithClause != nil {
		if sc.ctes == nil {
			sc.ctes = map[string]*cteDef{}
		}
		for _, c := range s.WithClause.Ctes {
			cte := c.GetCommonTableExpr()
			q := cte.Ctequery.GetSelectStmt()
			if q == nil {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "data-modifying statements in WITH are not supported").WithPosition(p.pos(cte.Location))
			}
			def := &cteDef{name: cte.Ctename, query: q, scope: sc, recursive: s.WithClause.Recursive, loc: cte.Location}
			for _, a := range cte.Aliascolnames {
				def.colNames = append(def.colNames, a.GetString_().Sval)
			}
			sc.ctes[cte.Ctename] = def
		}
	}
	if s.Op != pg.SetOperation_SETOP_NONE {
		return p.planSetOp(s, sc)
	}
	if len(s.ValuesLists) > 0 {
		rel, err := p.planValues(s.ValuesLists, sc)
		if err != nil {
			return nil, err
		}
		return p.planOrderLimit(s, rel, sc)
	}
	return p.planQuery(s, sc)
}

func (p *Planner) planValues(lists []*pg.Node, sc *scope) (*relPlan, error) {
	var rows [][]plan.Scalar
	width := -1
	for _, l := range lists {
		items := l.GetList().GetItems()
		if width >= 0 && len(items) != width {
			return nil, sqlerr.New(sqlerr.SyntaxError, "VALUES lists must all be the same length")
		}
		width = len(items)
		row := make([]plan.Scalar, len(items))
		b := p.binder(&scope{parent: sc.parent, ctes: sc.ctes}, "VALUES")
		for i, it := range items {
			e, err := b.bind(it)
			if err != nil {
				return nil, err
			}
			row[i] = e
		}
		rows = append(rows, row)
	}
	ts := make([]types.T, width)
	for c := 0; c < width; c++ {
		col := make([]types.T, len(rows))
		for r := range rows {
			col[r] = rows[r][c].Type()
		}
		t, err := udf.CommonType(col, "VALUES")
		if err != nil {
			return nil, err
		}
		if t.Kind == types.Unknown {
			t = types.TText
		}
		ts[c] = t
		for r := range rows {
			e, err := p.coerce(rows[r][c], t, 0)
			if err != nil {
				return nil, err
			}
			rows[r][c] = e
		}
	}
	cols := make([]column, width)
	for i := range cols {
		cols[i] = column{name: "column" + strconv.Itoa(i+1), t: ts[i]}
	}
	return &relPlan{node: &plan.Values{Rows: rows, Types: ts}, cols: cols}, nil
}

func (p *Planner) planSetOp(s *pg.SelectStmt, sc *scope) (*relPlan, error) {
	lsc := &scope{parent: sc.parent, ctes: sc.ctes}
	rsc := &scope{parent: sc.parent, ctes: sc.ctes}
	l, err := p.planSelect(s.Larg, lsc)
	if err != nil {
		return nil, err
	}
	r, err := p.planSelect(s.Rarg, rsc)
	if err != nil {
		return nil, err
	}
	sc.correlated = sc.correlated || lsc.correlated || rsc.correlated
	if sc.parent != nil && (lsc.correlated || rsc.correlated) {
		sc.parent.correlated = true
	}
	var opname string
	kind := plan.Union
	switch s.Op {
	case pg.SetOperation_SETOP_UNION:
		opname = "UNION"
	case pg.SetOperation_SETOP_INTERSECT:
		opname, kind = "INTERSECT", plan.Intersect
	default:
		opname, kind = "EXCEPT", plan.Except
	}
	if l.visibleCount() != r.visibleCount() {
		return nil, sqlerr.New(sqlerr.SyntaxError, "each %s query must have the same number of columns", opname)
	}
	cols := make([]column, len(l.cols))
	lx := make([]plan.Scalar, len(l.cols))
	rx := make([]plan.Scalar, len(r.cols))
	for i := range l.cols {
		t, err := udf.CommonType([]types.T{l.cols[i].t, r.cols[i].t}, opname)
		if err != nil {
			return nil, err
		}
		if t.Kind == types.Unknown {
			t = types.TText
		}
		cols[i] = column{name: l.cols[i].name, t: t}
		if lx[i], err = p.coerce(&plan.ColRef{Idx: i, T: l.cols[i].t}, t, 0); err != nil {
			return nil, err
		}
		if rx[i], err = p.coerce(&plan.ColRef{Idx: i, T: r.cols[i].t}, t, 0); err != nil {
			return nil, err
		}
	}
	node := &plan.SetOp{Kind: kind, All: s.All,
		Left:  &plan.Project{Input: l.node, Exprs: lx},
		Right: &plan.Project{Input: r.node, Exprs: rx}}
	return p.planOrderLimit(s, &relPlan{node: node, cols: cols}, sc)
}

// planOrderLimit applies ORDER BY (over output columns only) and LIMIT to
// a VALUES list or set operation.
func (p *Planner) planOrderLimit(s *pg.SelectStmt, rel *relPlan, sc *scope) (*relPlan, error) {
	if len(s.SortClause) > 0 {
		out := &scope{cols: rel.cols, parent: sc.parent}
		var keys []plan.SortKey
		for _, sn := range s.SortClause {
			sb := sn.GetSortBy()
			idx, err := p.outputColumn(sb.Node, rel.cols, out)
			if err != nil {
				return nil, err
			}
			keys = append(keys, sortKey(idx, rel.cols[idx].t, sb))
		}
		rel = &relPlan{node: rel.node, cols: rel.cols}
		rel.node = &plan.Sort{Input: rel.node, Keys: keys}
	}
	return p.planLimit(s, rel, sc)
}

// outputColumn resolves an ORDER BY item that must name an output column.
func (p *Planner) outputColumn(n *pg.Node, cols []column, out *scope) (int, error) {
	if c := n.GetAConst(); c != nil {
		if iv, ok := c.Val.(*pg.A_Const_Ival); ok {
			i := int(iv.Ival.Ival)
			if i < 1 || i > len(cols) {
				return 0, sqlerr.New(sqlerr.InvalidColumnReference, "ORDER BY position %d is not in select list", i).WithPosition(p.pos(c.Location))
			}
			return i - 1, nil
		}
	}
	e, err := p.binder(out, "ORDER BY").bind(n)
	if err != nil {
		return 0, err
	}
	if cr, ok := e.(*plan.ColRef); ok {
		return cr.Idx, nil
	}
	return 0, sqlerr.New(sqlerr.FeatureNotSupported, "ORDER BY on a UNION/INTERSECT/EXCEPT result must be on one of the result columns")
}

func sortKey(idx int, t types.T, sb *pg.SortBy) plan.SortKey {
	k := plan.SortKey{Col: idx, T: t}
	k.Desc = sb.SortbyDir == pg.SortByDir_SORTBY_DESC
	k.NullsFirst = k.Desc
	switch sb.SortbyNulls {
	case pg.SortByNulls_SORTBY_NULLS_FIRST:
		k.NullsFirst = true
	case pg.SortByNulls_SORTBY_NULLS_LAST:
		k.NullsFirst = false
	}
	return k
}

func (p *Planner) planLimit(s *pg.SelectStmt, rel *relPlan, sc *scope) (*relPlan, error) {
	if s.LimitCount == nil && s.LimitOffset == nil {
		return rel, nil
	}
	ties := s.LimitOption == pg.LimitOption_LIMIT_OPTION_WITH_TIES
	if ties {
		// The grammar refuses WITH TIES without ORDER BY; the Sort is
		// right below the limit (its keys decide the ties).
		if _, ok := rel.node.(*plan.Sort); !ok {
			return nil, sqlerr.New(sqlerr.SyntaxError, "WITH TIES cannot be specified without ORDER BY clause")
		}
		if c := s.LimitCount.GetAConst(); c != nil && c.Isnull {
			return nil, sqlerr.New(sqlerr.InvalidRowCountInLimit, "row count cannot be null in FETCH FIRST ... WITH TIES clause")
		}
	}
	b := p.binder(&scope{parent: sc.parent}, "LIMIT")
	var lim, off plan.Scalar
	var err error
	if s.LimitCount != nil {
		if c := s.LimitCount.GetAConst(); c == nil || !c.Isnull {
			if lim, err = b.bind(s.LimitCount); err != nil {
				return nil, err
			}
			if lim, err = p.coerce(lim, types.TInt8, 0); err != nil {
				return nil, err
			}
		}
	}
	if s.LimitOffset != nil {
		if off, err = b.bind(s.LimitOffset); err != nil {
			return nil, err
		}
		if off, err = p.coerce(off, types.TInt8, 0); err != nil {
			return nil, err
		}
	}
	return &relPlan{node: &plan.Limit{Input: rel.node, Count: lim, Offset: off, WithTies: ties}, cols: rel.cols}, nil
}

// planQuery plans SELECT ... FROM ... WHERE ... GROUP BY ... HAVING ...
// window ... ORDER BY ... LIMIT.
func (p *Planner) planQuery(s *pg.SelectStmt, sc *scope) (*relPlan, error) {
	if s.IntoClause != nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "SELECT INTO is not supported")
	}
	if len(s.LockingClause) > 0 {
		// The engine locks the rows of a top-level SELECT ... FOR UPDATE
		// and plans it without the clause; one met here is nested.
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FOR UPDATE/SHARE is supported at the top level of a SELECT only, not in subqueries, views or WITH queries")
	}
	from, err := p.planFromWhere(s.FromClause, s.WhereClause, sc)
	if err != nil {
		return nil, err
	}
	sc.cols = from.cols

	// Expand the target list (stars) into nodes and names.
	type target struct {
		node *pg.Node
		name string
		col  *column // a star-expanded column
		idx  int
	}
	var targets []target
	for _, tn := range s.TargetList {
		rt := tn.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			qual := ""
			if len(cr.Fields) > 1 {
				qual = cr.Fields[len(cr.Fields)-2].GetString_().Sval
			}
			found := false
			for i, c := range from.cols {
				if c.hidden || (qual == "" && c.qualifiedOnly) {
					continue
				}
				if qual != "" && (c.table != qual || c.table == "") {
					continue
				}
				cc := c
				p.noteColumn(c)
				targets = append(targets, target{name: c.name, col: &cc, idx: i})
				found = true
			}
			if qual != "" && !found && !sc.hasTable(qual) {
				return nil, sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", qual).WithPosition(p.pos(cr.Location))
			}
			if qual == "" && len(s.FromClause) == 0 {
				return nil, sqlerr.New(sqlerr.SyntaxError, "SELECT * with no tables specified is not valid").WithPosition(p.pos(cr.Location))
			}
			continue
		}
		name := rt.Name
		if name == "" {
			name = deriveName(rt.Val)
		}
		targets = append(targets, target{node: rt.Val, name: name})
	}

	hasAgg := len(s.GroupClause) > 0 || s.HavingClause != nil
	for _, t := range targets {
		if t.node != nil && p.containsAgg(t.node) {
			hasAgg = true
		}
	}
	for _, sn := range s.SortClause {
		if p.containsAgg(sn.GetSortBy().Node) {
			hasAgg = true
		}
	}

	// The binding context for targets, HAVING and ORDER BY.
	cur := from
	bind := p.binder(sc, "SELECT")
	var agg *aggContext
	var group []plan.Scalar
	if hasAgg {
		agg, err = p.newAggContext(s, sc, from)
		if err != nil {
			return nil, err
		}
		bind = agg.postBinder()
		group = agg.group
	}
	// SESSION in this FROM clause is partitioned by the GROUP BY columns.
	p.bindSessionPartitions(from.node, from.cols, group)
	win := &windowContext{p: p, defs: map[string]*pg.WindowDef{}}
	for _, wn := range s.WindowClause {
		wd := wn.GetWindowDef()
		win.defs[wd.Name] = wd
	}
	win.install(bind)
	srf := &srfContext{p: p, sc: sc}
	srf.install(bind)

	// Bind targets.
	outExprs := make([]plan.Scalar, 0, len(targets))
	outCols := make([]column, 0, len(targets))
	for _, t := range targets {
		var e plan.Scalar
		if t.col != nil {
			if agg != nil {
				var err error
				e, err = agg.starColumn(t.idx, t.col)
				if err != nil {
					return nil, err
				}
			} else {
				e = &plan.ColRef{Idx: t.idx, T: t.col.t, Name: t.col.name}
			}
			c := *t.col
			c.hidden = false
			c.qualifiedOnly = false
			c.t = e.Type()
			outCols = append(outCols, c)
		} else {
			var err error
			if e, err = bind.bind(t.node); err != nil {
				return nil, err
			}
			if e.Type().Kind == types.Unknown {
				if e, err = p.coerce(e, types.TText, 0); err != nil {
					return nil, err
				}
			}
			c := column{name: t.name, t: e.Type()}
			if cr, ok := e.(*plan.ColRef); ok && agg == nil && cr.Idx < len(from.cols) {
				c.tableOID, c.attNum = from.cols[cr.Idx].tableOID, from.cols[cr.Idx].attNum
			}
			outCols = append(outCols, c)
		}
		outExprs = append(outExprs, e)
	}

	// HAVING.
	var having plan.Scalar
	if s.HavingClause != nil {
		hb := agg.postBinder()
		hb.where = "HAVING"
		h, err := hb.bind(s.HavingClause)
		if err != nil {
			return nil, err
		}
		if having, err = p.coerceBool(h, "argument of HAVING", 0); err != nil {
			return nil, err
		}
	}

	// ORDER BY: output columns by position or name, else expressions over
	// the input, added as hidden output columns.
	distinct := len(s.DistinctClause) > 0
	distinctOn := distinct && s.DistinctClause[0] != nil && s.DistinctClause[0].Node != nil
	var keys []plan.SortKey
	for _, sn := range s.SortClause {
		sb := sn.GetSortBy()
		idx := -1
		if c := sb.Node.GetAConst(); c != nil {
			if iv, ok := c.Val.(*pg.A_Const_Ival); ok {
				i := int(iv.Ival.Ival)
				if i < 1 || i > len(outCols) {
					return nil, sqlerr.New(sqlerr.InvalidColumnReference, "ORDER BY position %d is not in select list", i).WithPosition(p.pos(c.Location))
				}
				idx = i - 1
			}
		}
		if cr := sb.Node.GetColumnRef(); idx < 0 && cr != nil && len(cr.Fields) == 1 && cr.Fields[0].GetString_() != nil {
			name := cr.Fields[0].GetString_().Sval
			for i, c := range outCols {
				if c.name == name && (targets[i].node != nil || true) {
					if idx >= 0 {
						// Same name twice: ambiguous only if the expressions differ.
						if plan.Key(outExprs[idx]) != plan.Key(outExprs[i]) {
							return nil, sqlerr.New(sqlerr.AmbiguousColumn, "ORDER BY %q is ambiguous", name).WithPosition(p.pos(cr.Location))
						}
						continue
					}
					idx = i
				}
			}
		}
		if idx < 0 {
			e, err := bind.bind(sb.Node)
			if err != nil {
				return nil, err
			}
			for i, oe := range outExprs {
				if plan.Key(oe) == plan.Key(e) {
					idx = i
					break
				}
			}
			if idx < 0 {
				if distinct && !distinctOn {
					return nil, sqlerr.New(sqlerr.InvalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list").WithPosition(p.pos(sb.Location))
				}
				idx = len(outExprs)
				outExprs = append(outExprs, e)
				outCols = append(outCols, column{name: "?sort?", t: e.Type(), hidden: true})
			}
		}
		keys = append(keys, sortKey(idx, outCols[idx].t, sb))
	}
	var onCols []int
	if distinctOn {
		for _, dn := range s.DistinctClause {
			e, err := bind.bind(dn)
			if err != nil {
				return nil, err
			}
			if c := dn.GetAConst(); c != nil {
				if iv, ok := c.Val.(*pg.A_Const_Ival); ok {
					e = outExprs[int(iv.Ival.Ival)-1]
				}
			}
			idx := -1
			for i, oe := range outExprs {
				if plan.Key(oe) == plan.Key(e) {
					idx = i
					break
				}
			}
			if idx < 0 {
				idx = len(outExprs)
				outExprs = append(outExprs, e)
				outCols = append(outCols, column{name: "?distinct?", t: e.Type(), hidden: true})
			}
			onCols = append(onCols, idx)
		}
	}

	// Assemble: [agg] -> [having] -> [windows] -> project -> distinct -> sort -> limit.
	if agg != nil {
		cur, err = agg.build()
		if err != nil {
			return nil, err
		}
		if having != nil {
			cur = &relPlan{node: &plan.Filter{Input: cur.node, Pred: having}, cols: cur.cols}
		}
	}
	if len(win.funcs) > 0 {
		// Set-returning calls run above the windows: their arguments may
		// read window results.
		n := len(outExprs)
		all := append(append([]plan.Scalar{}, outExprs...), srf.allArgs()...)
		cur, all, err = win.build(cur, all)
		if err != nil {
			return nil, err
		}
		outExprs = all[:n]
		srf.setArgs(all[n:])
	}
	if len(srf.calls) > 0 {
		if cur, outExprs, err = srf.build(cur, outExprs); err != nil {
			return nil, err
		}
	}
	rel := &relPlan{node: &plan.Project{Input: cur.node, Exprs: outExprs}, cols: outCols}
	if distinctOn {
		// Sort by the DISTINCT ON keys (then the ORDER BY), keep the first row per key.
		for i := 0; i < len(keys) && i < len(onCols); i++ {
			match := false
			for _, c := range onCols {
				if keys[i].Col == c {
					match = true
				}
			}
			if !match {
				return nil, sqlerr.New(sqlerr.InvalidColumnReference, "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
			}
		}
		var dkeys []plan.SortKey
		for i, c := range onCols {
			if i < len(keys) && keys[i].Col == c {
				dkeys = append(dkeys, keys[i])
			} else {
				dkeys = append(dkeys, plan.SortKey{Col: c, T: outCols[c].t})
			}
		}
		if len(keys) > len(onCols) {
			dkeys = append(dkeys, keys[len(onCols):]...)
		}
		rel.node = &plan.Distinct{Input: &plan.Sort{Input: rel.node, Keys: dkeys}, On: onCols}
		if len(keys) > 0 {
			rel.node = &plan.Sort{Input: rel.node, Keys: keys}
		}
	} else {
		if distinct {
			rel.node = &plan.Distinct{Input: rel.node}
		}
		if len(keys) > 0 {
			rel.node = &plan.Sort{Input: rel.node, Keys: keys}
		}
	}
	rel, err = p.planLimit(s, rel, sc)
	if err != nil {
		return nil, err
	}
	// Drop hidden sort columns.
	if len(outCols) > len(targets) {
		exprs := make([]plan.Scalar, len(targets))
		for i := range exprs {
			exprs[i] = &plan.ColRef{Idx: i, T: outCols[i].t, Name: outCols[i].name}
		}
		rel = &relPlan{node: &plan.Project{Input: rel.node, Exprs: exprs}, cols: outCols[:len(targets)]}
	}
	return rel, nil
}

// deriveName gives a result column the name PostgreSQL would.
func deriveName(n *pg.Node) string {
	switch {
	case n.GetColumnRef() != nil:
		f := n.GetColumnRef().Fields
		if s := f[len(f)-1].GetString_(); s != nil {
			return s.Sval
		}
	case n.GetFuncCall() != nil:
		f := n.GetFuncCall().Funcname
		return f[len(f)-1].GetString_().Sval
	case n.GetGroupingFunc() != nil:
		return "grouping"
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		if name := deriveName(tc.Arg); name != "?column?" {
			return name
		}
		names := tc.TypeName.Names
		s := names[len(names)-1].GetString_().Sval
		switch s {
		case "int4":
			return "int4"
		case "bool":
			return "bool"
		}
		return s
	case n.GetCaseExpr() != nil:
		return "case"
	case n.GetCoalesceExpr() != nil:
		return "coalesce"
	case n.GetMinMaxExpr() != nil:
		if n.GetMinMaxExpr().Op == pg.MinMaxOp_IS_LEAST {
			return "least"
		}
		return "greatest"
	case n.GetAExpr() != nil && n.GetAExpr().Kind == pg.A_Expr_Kind_AEXPR_NULLIF:
		return "nullif"
	case n.GetSqlvalueFunction() != nil:
		if f, ok := sqlValueFunctions[n.GetSqlvalueFunction().Op]; ok {
			return f.column
		}
	case n.GetSubLink() != nil:
		sl := n.GetSubLink()
		switch sl.SubLinkType {
		case pg.SubLinkType_EXISTS_SUBLINK:
			return "exists"
		case pg.SubLinkType_EXPR_SUBLINK:
			if sel := sl.Subselect.GetSelectStmt(); sel != nil && len(sel.TargetList) == 1 {
				rt := sel.TargetList[0].GetResTarget()
				if rt.Name != "" {
					return rt.Name
				}
				return deriveName(rt.Val)
			}
		case pg.SubLinkType_ARRAY_SUBLINK:
			return "array"
		}
	case n.GetAConst() != nil:
		if _, ok := n.GetAConst().Val.(*pg.A_Const_Boolval); ok {
			return "bool"
		}
	}
	return "?column?"
}
