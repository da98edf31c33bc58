package planner

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/exec/expr"
	"streamsql/udf"
)

// rewrite rebuilds e bottom-up, replacing any node for which f returns
// (replacement, true). Subquery plans are not entered.
func rewrite(e expr.Expr, f func(expr.Expr) (expr.Expr, bool)) expr.Expr {
	if e == nil {
		return nil
	}
	if r, ok := f(e); ok {
		return r
	}
	all := func(es []expr.Expr) []expr.Expr {
		out := make([]expr.Expr, len(es))
		for i, x := range es {
			out[i] = rewrite(x, f)
		}
		return out
	}
	switch x := e.(type) {
	case *expr.Cast:
		return &expr.Cast{Input: rewrite(x.Input, f), To: x.To}
	case *expr.Call:
		return &expr.Call{Fn: x.Fn, Args: all(x.Args), T: x.T}
	case *expr.And:
		return &expr.And{Args: all(x.Args)}
	case *expr.Or:
		return &expr.Or{Args: all(x.Args)}
	case *expr.Not:
		return &expr.Not{Input: rewrite(x.Input, f)}
	case *expr.IsNull:
		return &expr.IsNull{Input: rewrite(x.Input, f), Negate: x.Negate}
	case *expr.BoolTest:
		return &expr.BoolTest{Input: rewrite(x.Input, f), Want: x.Want, Negate: x.Negate}
	case *expr.IsDistinct:
		return &expr.IsDistinct{Left: rewrite(x.Left, f), Right: rewrite(x.Right, f), Negate: x.Negate}
	case *expr.Case:
		return &expr.Case{Operand: rewrite(x.Operand, f), Eq: x.Eq, Whens: all(x.Whens), Thens: all(x.Thens), Else: rewrite(x.Else, f), T: x.T}
	case *expr.Coalesce:
		return &expr.Coalesce{Args: all(x.Args), T: x.T}
	case *expr.NullIf:
		return &expr.NullIf{Left: rewrite(x.Left, f), Right: rewrite(x.Right, f), Eq: x.Eq, T: x.T}
	case *expr.MinMax:
		return &expr.MinMax{Args: all(x.Args), Least: x.Least, T: x.T}
	case *expr.InList:
		return &expr.InList{Input: rewrite(x.Input, f), List: all(x.List), Eq: x.Eq, Negate: x.Negate}
	case *expr.Subquery:
		c := *x
		c.Left = rewrite(x.Left, f)
		if x.Lefts != nil {
			c.Lefts = all(x.Lefts)
		}
		return &c
	case *expr.ArrayCompare:
		c := *x
		c.Left, c.Array = rewrite(x.Left, f), rewrite(x.Array, f)
		return &c
	case *expr.ArraySubscript:
		return &expr.ArraySubscript{Array: rewrite(x.Array, f), Index: rewrite(x.Index, f), T: x.T}
	case *expr.RecordField:
		return &expr.RecordField{Input: rewrite(x.Input, f), Idx: x.Idx, Name: x.Name, T: x.T}
	}
	return e
}

// visit calls f on every node of e (not entering subquery plans).
func visit(e expr.Expr, f func(expr.Expr)) {
	rewrite(e, func(x expr.Expr) (expr.Expr, bool) {
		f(x)
		return nil, false
	})
}

// colRefs lists the input columns e reads. pushable is false when e must
// stay where it was bound: it holds a subquery, an outer reference or a
// volatile function.
func colRefs(e expr.Expr) (refs []int, pushable bool) {
	pushable = true
	visit(e, func(x expr.Expr) {
		switch n := x.(type) {
		case *expr.ColRef:
			refs = append(refs, n.Idx)
		case *expr.Subquery, *expr.OuterRef:
			pushable = false
		case *expr.Call:
			if n.Fn.Volatility == udf.Volatile {
				pushable = false
			}
		}
	})
	return refs, pushable
}

// shiftCols moves every column reference by delta.
func shiftCols(e expr.Expr, delta int) expr.Expr {
	return rewrite(e, func(x expr.Expr) (expr.Expr, bool) {
		if c, ok := x.(*expr.ColRef); ok {
			return &expr.ColRef{Idx: c.Idx + delta, T: c.T, Name: c.Name}, true
		}
		return nil, false
	})
}

// exprKey is a structural identity of a bound expression, used to match
// GROUP BY and ORDER BY expressions with select-list expressions.
func exprKey(e expr.Expr) string {
	var sb strings.Builder
	writeKey(&sb, e)
	return sb.String()
}

func writeKey(sb *strings.Builder, e expr.Expr) {
	args := func(es ...expr.Expr) {
		sb.WriteByte('(')
		for i, x := range es {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeKey(sb, x)
		}
		sb.WriteByte(')')
	}
	switch x := e.(type) {
	case nil:
		sb.WriteString("nil")
	case *expr.ColRef:
		fmt.Fprintf(sb, "#%d", x.Idx)
	case *expr.OuterRef:
		fmt.Fprintf(sb, "outer%d.%d", x.Depth, x.Idx)
	case *expr.Const:
		fmt.Fprintf(sb, "const[%s:%v]", x.T, x.Value)
	case *expr.Param:
		fmt.Fprintf(sb, "$%d", x.Idx)
	case *expr.Cast:
		fmt.Fprintf(sb, "cast[%s]", x.To)
		args(x.Input)
	case *expr.Call:
		fmt.Fprintf(sb, "call[%s/%p]", x.Fn.Name, x.Fn)
		args(x.Args...)
	case *expr.And:
		sb.WriteString("and")
		args(x.Args...)
	case *expr.Or:
		sb.WriteString("or")
		args(x.Args...)
	case *expr.Not:
		sb.WriteString("not")
		args(x.Input)
	case *expr.IsNull:
		fmt.Fprintf(sb, "isnull[%v]", x.Negate)
		args(x.Input)
	case *expr.BoolTest:
		fmt.Fprintf(sb, "booltest[%v,%v]", x.Want != nil && *x.Want, x.Negate)
		args(x.Input)
	case *expr.IsDistinct:
		fmt.Fprintf(sb, "distinct[%v]", x.Negate)
		args(x.Left, x.Right)
	case *expr.Case:
		sb.WriteString("case")
		args(x.Operand, x.Else)
		args(x.Whens...)
		args(x.Thens...)
	case *expr.Coalesce:
		sb.WriteString("coalesce")
		args(x.Args...)
	case *expr.NullIf:
		sb.WriteString("nullif")
		args(x.Left, x.Right)
	case *expr.MinMax:
		fmt.Fprintf(sb, "minmax[%v]", x.Least)
		args(x.Args...)
	case *expr.InList:
		fmt.Fprintf(sb, "in[%v]", x.Negate)
		args(x.Input)
		args(x.List...)
	case *expr.ArrayCompare:
		fmt.Fprintf(sb, "arraycmp[%s/%p,%v]", x.Op.Name, x.Op, x.All)
		args(x.Left, x.Array)
	case *expr.ArraySubscript:
		sb.WriteString("subscript")
		args(x.Array, x.Index)
	case *expr.RecordField:
		fmt.Fprintf(sb, "field[%d]", x.Idx)
		args(x.Input)
	default:
		fmt.Fprintf(sb, "%p", e)
	}
}

// containsAgg reports whether an AST expression calls an aggregate outside
// of any subquery and not as a window function.
func containsAgg(n *pg.Node) bool {
	found := false
	var walk func(n *pg.Node)
	walk = func(n *pg.Node) {
		if n == nil || found {
			return
		}
		switch {
		case n.GetFuncCall() != nil:
			fc := n.GetFuncCall()
			if fc.Over == nil && (fc.AggStar || udf.IsAggregate(funcName(fc.Funcname))) {
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
