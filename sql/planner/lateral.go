package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"
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
