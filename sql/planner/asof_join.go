package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// ASOF joins (plan.AsofJoin): `l ASOF [LEFT] JOIN r MATCH_CONDITION
// (l.ts >= r.ts) ON l.k = r.k`. The parser marks the join's right side
// (parser.AsofJoin); the planner checks what the operators need: the
// right side is a relation named in FROM, the ON condition is equalities
// between the two sides (the keys rows are matched within), and the
// match condition compares one expression over the left side with one
// over the right side by >=, >, <= or <.

// planAsofJoin plans j, an ASOF join whose right side is rv and whose
// match condition is cond.
func (p *Planner) planAsofJoin(j *pg.JoinExpr, rv *pg.RangeVar, cond *pg.Node, sc *scope) (*relPlan, error) {
	pos := p.pos(rv.Location)
	kind, ok := joinKinds[j.Jointype]
	if !ok || kind != plan.InnerJoin && kind != plan.LeftJoin {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "an ASOF join is INNER or LEFT").WithPosition(pos)
	}
	if j.IsNatural || len(j.UsingClause) > 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "an ASOF join takes ON, not USING or NATURAL").WithPosition(pos)
	}
	outer := sc.lateral
	defer func() { sc.lateral = outer }()
	sc.lateral = nil
	l, err := p.planFromItem(j.Larg, sc)
	if err != nil {
		return nil, err
	}
	if l.lookup != nil {
		return nil, lookupNotRight(l.lookup)
	}
	r, err := p.planFromItem(&pg.Node{Node: &pg.Node_RangeVar{RangeVar: rv}}, sc)
	if err != nil {
		return nil, err
	}
	if r.lookup != nil || r.lateral {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "the right side of an ASOF join is a plain relation").WithPosition(pos)
	}
	lw := len(l.rel.cols)
	cols := append(append([]column{}, l.rel.cols...), r.rel.cols...)
	js := &scope{cols: cols, parent: sc.parent, ctes: sc.ctes}

	// The match condition: left_time op right_time, either way round.
	mc, err := p.binder(js, "MATCH_CONDITION").bind(cond)
	if err != nil {
		return nil, err
	}
	call, ok := mc.(*plan.Call)
	op := ""
	if ok && len(call.Args) == 2 {
		op = call.Fn.Name
	}
	if op != ">=" && op != ">" && op != "<=" && op != "<" {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"MATCH_CONDITION must compare a left-side expression with a right-side one by >=, >, <= or <").
			WithPosition(p.pos(asofLocation(cond, rv.Location)))
	}
	a, b := call.Args[0], call.Args[1]
	sa, sb := plan.JoinSide(a, lw, len(cols)), plan.JoinSide(b, lw, len(cols))
	switch {
	case sa == 0 && sb == 1:
	case sa == 1 && sb == 0:
		a, b, op = b, a, flipOp(op)
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"MATCH_CONDITION must compare an expression over the left side of the ASOF join with one over its right side").
			WithPosition(p.pos(asofLocation(cond, rv.Location)))
	}
	if a.Type().Kind != b.Type().Kind {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "MATCH_CONDITION compares %s with %s: cast one side to the other's type",
			a.Type(), b.Type()).WithPosition(p.pos(asofLocation(cond, rv.Location)))
	}
	aj := &plan.AsofJoin{Kind: kind, Left: l.rel.node, Right: r.rel.node, LeftTime: a, RightTime: plan.ShiftCols(b, -lw), Op: op}

	on, err := p.bindJoinOn(js, j.Quals)
	if err != nil {
		return nil, err
	}
	for _, c := range on {
		if k, ok := c.(*plan.Const); ok {
			if v, _ := k.Value.(bool); v {
				continue // ON TRUE: one key for all rows
			}
		}
		if !aj.Keys.Add(c, lw, len(cols)) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported,
				"the ON condition of an ASOF join must be equalities between its two sides: %s is not", c).
				WithPosition(p.pos(asofLocation(j.Quals, rv.Location))).
				WithHint("Filter the rows in WHERE, or in a subquery on the left side.")
		}
	}
	for _, c := range cols {
		aj.Names = append(aj.Names, c.name)
	}
	rel := &relPlan{node: aj, cols: cols}
	if j.Alias != nil {
		rel = renameRel(rel, j.Alias.Aliasname, j.Alias)
	}
	return rel, nil
}

// asofLocation returns where expression n is written (an operator's
// position), or def.
func asofLocation(n *pg.Node, def int32) int32 {
	switch {
	case n.GetAExpr() != nil:
		return n.GetAExpr().Location
	case n.GetBoolExpr() != nil:
		return n.GetBoolExpr().Location
	}
	return nodeLocation(n, def)
}
