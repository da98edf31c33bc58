package planner

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// LATERAL.
//
// A LATERAL subquery in FROM, and a function in FROM (lateral without the
// keyword, as in PostgreSQL), may name the columns of the FROM items
// before it. It is bound in a scope whose parent is a scope of those
// columns, so such names become outer references of depth 1, exactly as in
// a correlated subquery; the item is then joined with a LateralJoin, which
// runs it once per row of the items before it with that row as the outer
// row. An item that names none of them is planned and joined as usual.

// lateralCtx is the scope of the columns before a FROM item.
type lateralCtx struct {
	cols *scope
}

// lateralScope returns the scope to bind a lateral item's expressions in
// (directly, for function arguments) or to plan its query under.
func (p *Planner) lateralScope(sc *scope) (*scope, *lateralCtx) {
	if len(sc.lateral) == 0 {
		return &scope{parent: sc.parent, ctes: sc.ctes}, nil
	}
	ls := &scope{cols: sc.lateral, parent: sc.parent, ctes: sc.ctes}
	return &scope{parent: ls, ctes: sc.ctes}, &lateralCtx{cols: ls}
}

// reads reports whether the item bound in inner reads the columns before
// it (or anything further out, whose depth counts the lateral level too);
// it marks sc correlated when the item reads the enclosing query.
func (l *lateralCtx) reads(inner, sc *scope) bool {
	if l == nil {
		if inner.correlated {
			sc.correlated = true
		}
		return false
	}
	if l.cols.correlated {
		sc.correlated = true
	}
	return inner.correlated
}

// planLateralSubselect plans FROM ..., LATERAL (SELECT ...) alias.
func (p *Planner) planLateralSubselect(rs *pg.RangeSubselect, sc *scope) (*fromItem, error) {
	sub, lat := p.lateralScope(sc)
	rel, err := p.planSelect(rs.Subquery.GetSelectStmt(), sub)
	if err != nil {
		return nil, err
	}
	lateral := lat.reads(sub, sc)
	name := ""
	if rs.Alias != nil {
		name = rs.Alias.Aliasname
	}
	return &fromItem{rel: renameRel(rel, name, rs.Alias), lateral: lateral}, nil
}

// fromScalarFunction plans a function in FROM that returns one value
// (`FROM upper(x)`, `FROM pg_proc p, pg_get_functiondef(p.oid) d`) as
// PostgreSQL does: one row, in a column named by the column alias, else
// the table alias, else the function, numbered 1 WITH ORDINALITY. It is
// the lateral subquery `LATERAL (SELECT f(...) AS name)`. ok is false when
// no function of one value fits the call either (the caller's error
// stands).
func (p *Planner) fromScalarFunction(rf *pg.RangeFunction, fc *pg.FuncCall, name string, sc *scope) (item *fromItem, ok bool, err error) {
	if p.isAggregateCall(fc) {
		return nil, true, sqlerr.New(sqlerr.GroupingError, "aggregate functions are not allowed in functions in FROM").WithPosition(p.pos(fc.Location))
	}
	alias := &pg.Alias{Aliasname: name}
	col := name
	if i := strings.LastIndexByte(col, '.'); i >= 0 {
		col = col[i+1:]
	}
	if rf.Alias != nil {
		alias.Aliasname, col = rf.Alias.Aliasname, rf.Alias.Aliasname
		if len(rf.Alias.Colnames) > 0 {
			col = rf.Alias.Colnames[0].GetString_().Sval
		}
	}
	targets := []*pg.Node{pg.MakeResTargetNodeWithNameAndVal(col, &pg.Node{Node: &pg.Node_FuncCall{FuncCall: fc}}, fc.Location)}
	if rf.Ordinality {
		ord := "ordinality"
		if rf.Alias != nil && len(rf.Alias.Colnames) > 1 {
			ord = rf.Alias.Colnames[1].GetString_().Sval
		}
		one := &pg.Node{Node: &pg.Node_TypeCast{TypeCast: &pg.TypeCast{Arg: pg.MakeAConstIntNode(1, -1),
			TypeName: &pg.TypeName{Names: []*pg.Node{pg.MakeStrNode("pg_catalog"), pg.MakeStrNode("int8")}, Location: -1}, Location: -1}}}
		targets = append(targets, pg.MakeResTargetNodeWithNameAndVal(ord, one, -1))
	}
	if rf.Alias != nil && len(rf.Alias.Colnames) > len(targets) {
		return nil, true, sqlerr.New(sqlerr.InvalidColumnReference, "table \"%s\" has %d columns available but %d columns specified",
			rf.Alias.Aliasname, len(targets), len(rf.Alias.Colnames))
	}
	sub := &pg.RangeSubselect{Lateral: true, Alias: alias,
		Subquery: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: &pg.SelectStmt{TargetList: targets, Op: pg.SetOperation_SETOP_NONE}}}}
	item, err = p.planLateralSubselect(sub, sc)
	if sqlerr.Code(err) == sqlerr.UndefinedFunction {
		return nil, false, nil
	}
	return item, true, err
}
