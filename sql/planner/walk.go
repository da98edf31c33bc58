package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"
)

// containsAgg reports whether an AST expression calls an aggregate outside
// of any subquery and not as a window function.
func (p *Planner) containsAgg(n *pg.Node) bool {
	found := false
	var walk func(n *pg.Node)
	walk = func(n *pg.Node) {
		if n == nil || found {
			return
		}
		switch {
		case n.GetGroupingFunc() != nil:
			found = true
		case n.GetFuncCall() != nil:
			fc := n.GetFuncCall()
			if fc.Over == nil && p.isAggregateCall(fc) {
				found = true
				return
			}
			for _, a := range fc.Args {
				walk(a)
			}
			if fc.Over != nil {
				for _, a := range fc.Over.PartitionClause {
					walk(a)
				}
				for _, a := range fc.Over.OrderClause {
					walk(a)
				}
			}
		case n.GetSubLink() != nil:
			walk(n.GetSubLink().Testexpr)
		default:
			for _, c := range childNodes(n) {
				walk(c)
			}
		}
	}
	walk(n)
	return found
}

// childNodes returns the expression children of common AST nodes.
func childNodes(n *pg.Node) []*pg.Node {
	switch {
	case n.GetAExpr() != nil:
		a := n.GetAExpr()
		out := []*pg.Node{a.Lexpr}
		if l := a.Rexpr.GetList(); l != nil {
			return append(out, l.Items...)
		}
		return append(out, a.Rexpr)
	case n.GetBoolExpr() != nil:
		return n.GetBoolExpr().Args
	case n.GetTypeCast() != nil:
		return []*pg.Node{n.GetTypeCast().Arg}
	case n.GetNullTest() != nil:
		return []*pg.Node{n.GetNullTest().Arg}
	case n.GetBooleanTest() != nil:
		return []*pg.Node{n.GetBooleanTest().Arg}
	case n.GetCaseExpr() != nil:
		c := n.GetCaseExpr()
		out := []*pg.Node{c.Arg, c.Defresult}
		for _, w := range c.Args {
			cw := w.GetCaseWhen()
			out = append(out, cw.Expr, cw.Result)
		}
		return out
	case n.GetCoalesceExpr() != nil:
		return n.GetCoalesceExpr().Args
	case n.GetMinMaxExpr() != nil:
		return n.GetMinMaxExpr().Args
	case n.GetCollateClause() != nil:
		return []*pg.Node{n.GetCollateClause().Arg}
	case n.GetResTarget() != nil:
		return []*pg.Node{n.GetResTarget().Val}
	case n.GetSortBy() != nil:
		return []*pg.Node{n.GetSortBy().Node}
	case n.GetList() != nil:
		return n.GetList().Items
	case n.GetAArrayExpr() != nil:
		return n.GetAArrayExpr().Elements
	}
	return nil
}
