package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Row-value expressions: (a, b) = (1, 2), (a, b) < (c, d), (a, b) IN
// ((1, 2), (3, 4)), (a, b) IS DISTINCT FROM (c, d) and (a, b) IN
// (SELECT x, y ...). Comparisons of two row constructors expand into
// comparisons of their fields, as PostgreSQL does: = is the AND of the
// pairs, <> their OR, and an ordering compares left to right, the first
// pair that is not equal deciding (NULL if that pair is NULL).

// rowArgs returns the fields of a row constructor node, or nil.
func rowArgs(n *pg.Node) []*pg.Node {
	if n == nil {
		return nil
	}
	if r := n.GetRowExpr(); r != nil {
		return r.Args
	}
	return nil
}

// bindRowAExpr binds an operator expression with row constructors;
// handled is false when a is not one.
func (b *exprBinder) bindRowAExpr(a *pg.A_Expr) (e plan.Scalar, handled bool, err error) {
	l := rowArgs(a.Lexpr)
	if l == nil {
		return nil, false, nil
	}
	pos := b.p.pos(a.Location)
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		r := rowArgs(a.Rexpr)
		if r == nil {
			return nil, false, nil
		}
		e, err := b.rowCompare(opName(a.Name), l, r, pos)
		return e, true, err
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		r := rowArgs(a.Rexpr)
		if r == nil {
			return nil, false, nil
		}
		if len(l) != len(r) {
			return nil, true, unequalRows(pos)
		}
		terms := make([]plan.Scalar, len(l))
		for i := range l {
			args, _, err := b.bindCommon([]*pg.Node{l[i], r[i]}, "IS DISTINCT FROM", a.Location)
			if err != nil {
				return nil, true, err
			}
			terms[i] = &plan.IsDistinct{Left: args[0], Right: args[1], Negate: a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT}
		}
		if a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT {
			return plan.AndAll(terms), true, nil
		}
		return orAll(terms), true, nil
	case pg.A_Expr_Kind_AEXPR_IN:
		// x IN (r1, r2) is x = r1 OR x = r2; NOT IN is the AND of <>.
		op := opName(a.Name)
		var terms []plan.Scalar
		for _, item := range a.Rexpr.GetList().GetItems() {
			r := rowArgs(item)
			if r == nil {
				return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "IN with a row on the left needs rows on the right").WithPosition(pos)
			}
			t, err := b.rowCompare(op, l, r, pos)
			if err != nil {
				return nil, true, err
			}
			terms = append(terms, t)
		}
		if op == "<>" {
			return plan.AndAll(terms), true, nil
		}
		return orAll(terms), true, nil
	}
	return nil, false, nil
}

func unequalRows(pos int) error {
	return sqlerr.New(sqlerr.SyntaxError, "unequal number of entries in row expressions").WithPosition(pos)
}

func orAll(es []plan.Scalar) plan.Scalar {
	if len(es) == 1 {
		return es[0]
	}
	return &plan.Or{Args: es}
}

// rowCompare binds l op r for two row constructors.
func (b *exprBinder) rowCompare(op string, l, r []*pg.Node, pos int) (plan.Scalar, error) {
	if len(l) != len(r) {
		return nil, unequalRows(pos)
	}
	strict := op
	switch op {
	case "=", "<>":
	case "<=":
		strict = "<"
	case ">=":
		strict = ">"
	case "<", ">":
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "operator %s is not supported for row expressions", op).WithPosition(pos)
	}
	pair := func(op string, i int) (plan.Scalar, error) {
		x, err := b.bind(l[i])
		if err != nil {
			return nil, err
		}
		y, err := b.bind(r[i])
		if err != nil {
			return nil, err
		}
		c, err := b.p.binaryOp(op, x, y, pos)
		if err != nil {
			return nil, err
		}
		if c.Type().Kind != types.Bool {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "row comparison operator must yield type boolean, not type %s", c.Type()).WithPosition(pos)
		}
		return c, nil
	}
	if op == "=" || op == "<>" {
		terms := make([]plan.Scalar, len(l))
		for i := range l {
			t, err := pair(op, i)
			if err != nil {
				return nil, err
			}
			terms[i] = t
		}
		if op == "=" {
			return plan.AndAll(terms), nil
		}
		return orAll(terms), nil
	}
	// Lexicographic: l1 < r1 OR (l1 = r1 AND (l2 < r2 OR (... ln op rn))).
	last := len(l) - 1
	acc, err := pair(op, last)
	if err != nil {
		return nil, err
	}
	for i := last - 1; i >= 0; i-- {
		lt, err := pair(strict, i)
		if err != nil {
			return nil, err
		}
		eq, err := pair("=", i)
		if err != nil {
			return nil, err
		}
		acc = &plan.Or{Args: []plan.Scalar{lt, &plan.And{Args: []plan.Scalar{eq, acc}}}}
	}
	return acc, nil
}

// bindRowSubLink binds (a, b) op ANY/ALL (SELECT x, y ...), IN and NOT IN
// included; rel is the planned subquery and sq its expression so far.
func (b *exprBinder) bindRowSubLink(sl *pg.SubLink, rel *relPlan, sq *plan.Subquery, pos int) (plan.Scalar, error) {
	fields := rowArgs(sl.Testexpr)
	visible := rel.visibleCount()
	if visible > len(fields) {
		return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too many columns").WithPosition(pos)
	}
	if visible < len(fields) {
		return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too few columns").WithPosition(pos)
	}
	op := opName(sl.OperName)
	strict := op
	switch op {
	case "=", "<>", "<", ">":
	case "<=":
		strict = "<"
	case ">=":
		strict = ">"
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "operator %s is not supported for a row compared with a subquery", op).WithPosition(pos)
	}
	ordering := op != "=" && op != "<>"
	for k, f := range fields {
		left, err := b.bind(f)
		if err != nil {
			return nil, err
		}
		right := &plan.ColRef{Idx: k, T: rel.cols[k].t}
		fop := op
		if ordering && k < len(fields)-1 {
			fop = strict
		}
		cmp, err := b.p.binaryOp(fop, left, right, pos)
		if err != nil {
			return nil, err
		}
		call, ok := cmp.(*plan.Call)
		if !ok || call.Type().Kind != types.Bool {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "operator %s must return boolean", op).WithPosition(pos)
		}
		if !call.Args[1].Type().Equal(right.T) {
			// The subquery column takes the operator's type.
			rel.node = projectCast(rel, k, call.Args[1].Type())
		}
		sq.Lefts = append(sq.Lefts, call.Args[0])
		sq.Ops = append(sq.Ops, call.Fn)
		if ordering {
			lt, rt := call.Args[0].Type(), call.Args[1].Type()
			eq, casts, err := udf.LookupOperator("=", lt, rt)
			if err != nil || eq.Ret.Kind != types.Bool || casts[0].Kind != lt.Kind || casts[1].Kind != rt.Kind {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "could not identify an equality operator for types %s and %s", lt, rt).WithPosition(pos)
			}
			sq.RowEqs = append(sq.RowEqs, eq)
		}
	}
	sq.Plan = rel.node
	sq.Kind = plan.AnySubquery
	if sl.SubLinkType == pg.SubLinkType_ALL_SUBLINK {
		sq.Kind = plan.AllSubquery
	}
	return sq, nil
}
