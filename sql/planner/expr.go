package planner

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// exprHook lets a caller take over binding of a node (aggregate and window
// contexts); ok=false falls through to ordinary binding.
type exprHook func(n *pg.Node) (e plan.Scalar, ok bool, err error)

// exprBinder binds AST expressions in a scope.
type exprBinder struct {
	p     *Planner
	scope *scope
	hook  exprHook
	// where says which clause is bound, for error messages
	// ("aggregate functions are not allowed in WHERE").
	where string
}

func (p *Planner) binder(s *scope, where string) *exprBinder {
	return &exprBinder{p: p, scope: s, where: where}
}

// bind binds n to a typed expression.
func (b *exprBinder) bind(n *pg.Node) (plan.Scalar, error) {
	if n == nil {
		return nil, sqlerr.New(sqlerr.InternalError, "missing expression")
	}
	if err := b.p.checkCanceled(); err != nil {
		return nil, err
	}
	if b.hook != nil {
		e, ok, err := b.hook(n)
		if err != nil {
			return nil, err
		}
		if ok {
			return e, nil
		}
	}
	switch {
	case n.GetColumnRef() != nil:
		return b.bindColumnRef(n.GetColumnRef())
	case n.GetAConst() != nil:
		return b.bindConst(n.GetAConst())
	case n.GetParamRef() != nil:
		pr := n.GetParamRef()
		if e, ok, err := b.bodyParam(int(pr.Number), b.p.pos(pr.Location)); ok {
			return e, err
		}
		return b.p.param(int(pr.Number)-1, b.p.pos(pr.Location))
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		t, err := b.p.typeName(tc.TypeName)
		if err != nil {
			return nil, err
		}
		if ae := tc.Arg.GetAArrayExpr(); ae != nil && len(ae.Elements) == 0 && t.Kind == types.Array {
			// ARRAY[]::int[]: the cast gives the empty array its type.
			return &plan.ArrayCtor{T: t}, nil
		}
		arg, err := b.bind(tc.Arg)
		if err != nil {
			return nil, err
		}
		if t.Kind == types.Interval && len(tc.TypeName.Typmods) > 0 {
			return b.bindIntervalCast(arg, tc.TypeName, b.p.pos(tc.Location))
		}
		return b.p.castExplicit(arg, t, b.p.pos(tc.Location))
	case n.GetAExpr() != nil:
		return b.bindAExpr(n.GetAExpr())
	case n.GetBoolExpr() != nil:
		be := n.GetBoolExpr()
		args := make([]plan.Scalar, len(be.Args))
		for i, a := range be.Args {
			e, err := b.bind(a)
			if err != nil {
				return nil, err
			}
			if e, err = b.p.coerceBool(e, "argument of "+boolOpName(be.Boolop), b.p.pos(be.Location)); err != nil {
				return nil, err
			}
			args[i] = e
		}
		switch be.Boolop {
		case pg.BoolExprType_AND_EXPR:
			return &plan.And{Args: args}, nil
		case pg.BoolExprType_OR_EXPR:
			return &plan.Or{Args: args}, nil
		default:
			return &plan.Not{Input: args[0]}, nil
		}
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		e, err := b.bind(nt.Arg)
		if err != nil {
			return nil, err
		}
		if e.Type().Kind == types.Unknown {
			e, _ = b.p.coerce(e, types.TText, 0)
		}
		return &plan.IsNull{Input: e, Negate: nt.Nulltesttype == pg.NullTestType_IS_NOT_NULL}, nil
	case n.GetBooleanTest() != nil:
		bt := n.GetBooleanTest()
		e, err := b.bind(bt.Arg)
		if err != nil {
			return nil, err
		}
		if e, err = b.p.coerceBool(e, "argument of IS TRUE", b.p.pos(bt.Location)); err != nil {
			return nil, err
		}
		tr, fa := true, false
		switch bt.Booltesttype {
		case pg.BoolTestType_IS_TRUE:
			return &plan.BoolTest{Input: e, Want: &tr}, nil
		case pg.BoolTestType_IS_NOT_TRUE:
			return &plan.BoolTest{Input: e, Want: &tr, Negate: true}, nil
		case pg.BoolTestType_IS_FALSE:
			return &plan.BoolTest{Input: e, Want: &fa}, nil
		case pg.BoolTestType_IS_NOT_FALSE:
			return &plan.BoolTest{Input: e, Want: &fa, Negate: true}, nil
		case pg.BoolTestType_IS_UNKNOWN:
			return &plan.BoolTest{Input: e}, nil
		default:
			return &plan.BoolTest{Input: e, Negate: true}, nil
		}
	case n.GetCaseExpr() != nil:
		return b.bindCase(n.GetCaseExpr())
	case n.GetCoalesceExpr() != nil:
		ce := n.GetCoalesceExpr()
		args, t, err := b.bindCommon(ce.Args, "COALESCE", ce.Location)
		if err != nil {
			return nil, err
		}
		return &plan.Coalesce{Args: args, T: t}, nil
	case n.GetMinMaxExpr() != nil:
		me := n.GetMinMaxExpr()
		name := "GREATEST"
		if me.Op == pg.MinMaxOp_IS_LEAST {
			name = "LEAST"
		}
		args, t, err := b.bindCommon(me.Args, name, me.Location)
		if err != nil {
			return nil, err
		}
		return &plan.MinMax{Args: args, Least: me.Op == pg.MinMaxOp_IS_LEAST, T: t}, nil
	case n.GetFuncCall() != nil:
		return b.bindFuncCall(n.GetFuncCall())
	case n.GetSqlvalueFunction() != nil:
		return b.bindSQLValueFunction(n.GetSqlvalueFunction())
	case n.GetSubLink() != nil:
		return b.bindSubLink(n.GetSubLink())
	case n.GetCollateClause() != nil:
		return b.bind(n.GetCollateClause().Arg)
	case n.GetSetToDefault() != nil:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DEFAULT is not allowed in this context").WithPosition(b.p.pos(n.GetSetToDefault().Location))
	case n.GetAArrayExpr() != nil:
		return b.bindArray(n.GetAArrayExpr())
	case n.GetGroupingFunc() != nil:
		return nil, sqlerr.New(sqlerr.GroupingError, "grouping operations are not allowed in %s", b.whereName()).WithPosition(b.p.pos(n.GetGroupingFunc().Location))
	case n.GetRowExpr() != nil:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "row constructors are not supported yet").WithPosition(b.p.pos(n.GetRowExpr().Location))
	case n.GetAIndirection() != nil:
		return b.bindIndirection(n.GetAIndirection())
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "expression %s is not supported", nodeName(n))
}

// bindIntervalCast binds a cast to interval with field and precision
// modifiers (INTERVAL '5' MINUTE, '1:30'::interval hour to minute,
// interval(3)). A literal is parsed under the modifiers, so a bare number
// is in the last field's unit; any other value is cast and then passed
// through interval(x, typmod), which cuts off the lower fields.
func (b *exprBinder) bindIntervalCast(arg plan.Scalar, tn *pg.TypeName, pos int) (plan.Scalar, error) {
	mods := make([]int32, 0, 2)
	for _, m := range tn.Typmods {
		iv, ok := m.GetAConst().GetVal().(*pg.A_Const_Ival)
		if !ok {
			return nil, sqlerr.New(sqlerr.SyntaxError, "interval modifiers must be integer constants").WithPosition(b.p.pos(tn.Location))
		}
		mods = append(mods, iv.Ival.Ival)
	}
	rng, prec := mods[0], udf.IntervalFullPrecision
	if len(mods) > 1 {
		prec = mods[1]
	}
	typmod, err := udf.IntervalTypmod(rng, prec)
	if err != nil {
		return nil, withPos(err, pos)
	}
	if c, ok := arg.(*plan.Const); ok && c.T.Kind == types.Unknown {
		if c.Value == nil {
			return &plan.Const{T: types.TInterval}, nil
		}
		s, _ := c.Value.(string)
		iv, err := udf.ParseIntervalTypmod(s, typmod)
		if err != nil {
			return nil, withPos(err, pos)
		}
		return &plan.Const{Value: iv, T: types.TInterval}, nil
	}
	e, err := b.p.castExplicit(arg, types.TInterval, pos)
	if err != nil {
		return nil, err
	}
	return b.p.call("interval", []plan.Scalar{e, &plan.Const{Value: int64(typmod), T: types.TInt4}}, pos)
}

// bindArray binds ARRAY[a, b, ...]: the elements take their common type
// and the value is the array's text form, the layout arrays have.
func (b *exprBinder) bindArray(a *pg.A_ArrayExpr) (plan.Scalar, error) {
	pos := b.p.pos(a.Location)
	if len(a.Elements) == 0 {
		return nil, sqlerr.New(sqlerr.IndeterminateDatatype, "cannot determine type of empty array").
			WithPosition(pos).WithHint("Explicitly cast to the desired type, for example ARRAY[]::integer[].")
	}
	for _, el := range a.Elements {
		if el.GetAArrayExpr() != nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "multidimensional arrays are not supported").WithPosition(pos)
		}
	}
	elems, t, err := b.bindCommon(a.Elements, "ARRAY", a.Location)
	if err != nil {
		return nil, err
	}
	if t.Kind == types.Unknown {
		t = types.TText
		for i := range elems {
			if elems[i], err = b.p.coerce(elems[i], t, pos); err != nil {
				return nil, err
			}
		}
	}
	if t.Kind == types.Array || t.Kind == types.Record {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "arrays of %s are not supported", t).WithPosition(pos)
	}
	elem := t
	return &plan.ArrayCtor{Elems: elems, T: types.T{Kind: types.Array, Elem: &elem}}, nil
}

func nodeName(n *pg.Node) string {
	s := fmt.Sprintf("%T", n.Node)
	s = strings.TrimPrefix(s, "*pg_query.Node_")
	return s
}

func boolOpName(op pg.BoolExprType) string {
	switch op {
	case pg.BoolExprType_AND_EXPR:
		return "AND"
	case pg.BoolExprType_OR_EXPR:
		return "OR"
	}
	return "NOT"
}

func (b *exprBinder) bindColumnRef(cr *pg.ColumnRef) (plan.Scalar, error) {
	var parts []string
	for _, f := range cr.Fields {
		if f.GetAStar() != nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "* is not allowed here").WithPosition(b.p.pos(cr.Location))
		}
		parts = append(parts, f.GetString_().Sval)
	}
	var qual, name string
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		qual, name = parts[0], parts[1]
	case 3:
		qual, name = parts[1], parts[2]
	default:
		return nil, sqlerr.New(sqlerr.SyntaxError, "improper qualified name (too many dotted names): %s", strings.Join(parts, ".")).WithPosition(b.p.pos(cr.Location))
	}
	depth, idx, col, err := b.scope.resolve(qual, name, b.p.pos(cr.Location))
	if err != nil {
		if e, ok := b.bodyArgByName(qual, name); ok {
			return e, nil
		}
		if i, ok := b.p.statementArg(qual, name); ok {
			return b.p.param(i, b.p.pos(cr.Location))
		}
		return nil, err
	}
	b.p.noteColumn(col)
	if depth == 0 {
		return &plan.ColRef{Idx: idx, T: col.t, Name: name}, nil
	}
	return &plan.OuterRef{Depth: depth, Idx: idx, T: col.t, Name: name}, nil
}

func (b *exprBinder) bindConst(c *pg.A_Const) (plan.Scalar, error) {
	if c.Isnull {
		return &plan.Const{T: types.TUnknown}, nil
	}
	switch v := c.Val.(type) {
	case *pg.A_Const_Ival:
		return &plan.Const{Value: int64(v.Ival.Ival), T: types.TInt4}, nil
	case *pg.A_Const_Fval:
		s := v.Fval.Fval
		// Integer literals too large for int4 arrive as Float.
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				if i >= math.MinInt32 && i <= math.MaxInt32 {
					return &plan.Const{Value: i, T: types.TInt4}, nil
				}
				return &plan.Const{Value: i, T: types.TInt8}, nil
			}
		}
		d, err := types.ParseText(s, types.TNumeric, nil)
		if err != nil {
			return nil, err
		}
		return &plan.Const{Value: d, T: types.TNumeric}, nil
	case *pg.A_Const_Boolval:
		return &plan.Const{Value: v.Boolval.Boolval, T: types.TBool}, nil
	case *pg.A_Const_Sval:
		return &plan.Const{Value: v.Sval.Sval, T: types.TUnknown}, nil
	case *pg.A_Const_Bsval:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "bit string literals are not supported").WithPosition(b.p.pos(c.Location))
	}
	return &plan.Const{T: types.TUnknown}, nil
}

// bindAll binds nodes, returning the bound expressions and their types.
func (b *exprBinder) bindAll(nodes []*pg.Node) ([]plan.Scalar, []types.T, error) {
	args := make([]plan.Scalar, len(nodes))
	ts := make([]types.T, len(nodes))
	for i, a := range nodes {
		e, err := b.bind(a)
		if err != nil {
			return nil, nil, err
		}
		args[i], ts[i] = e, e.Type()
	}
	return args, ts, nil
}

// bindCommon binds args and coerces them to their common type.
func (b *exprBinder) bindCommon(nodes []*pg.Node, what string, loc int32) ([]plan.Scalar, types.T, error) {
	args, ts, err := b.bindAll(nodes)
	if err != nil {
		return nil, types.T{}, err
	}
	t, err := udf.CommonType(ts, what)
	if err != nil {
		return nil, t, withPos(err, b.p.pos(loc))
	}
	for i := range args {
		if args[i], err = b.p.coerce(args[i], t, b.p.pos(loc)); err != nil {
			return nil, t, err
		}
	}
	return args, t, nil
}

func withPos(err error, pos int) error {
	e := sqlerr.From(err)
	if e.Position == 0 && pos > 0 {
		c := *e
		c.Position = pos
		return &c
	}
	return err
}

func opName(names []*pg.Node) string {
	if len(names) == 0 {
		return "="
	}
	return names[len(names)-1].GetString_().Sval
}

// bindPair binds the two operands of a binary expression, left first.
func (b *exprBinder) bindPair(left, right *pg.Node) (plan.Scalar, plan.Scalar, error) {
	l, err := b.bind(left)
	if err != nil {
		return nil, nil, err
	}
	r, err := b.bind(right)
	if err != nil {
		return nil, nil, err
	}
	return l, r, nil
}

func (b *exprBinder) bindAExpr(a *pg.A_Expr) (plan.Scalar, error) {
	if e, ok, err := b.bindRowAExpr(a); ok {
		return e, err
	}
	pos := b.p.pos(a.Location)
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP, pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE, pg.A_Expr_Kind_AEXPR_SIMILAR:
		op := opName(a.Name)
		if a.Lexpr == nil {
			r, err := b.bind(a.Rexpr)
			if err != nil {
				return nil, err
			}
			return b.p.unaryOp(op, r, pos)
		}
		l, r, err := b.bindPair(a.Lexpr, a.Rexpr)
		if err != nil {
			return nil, err
		}
		return b.p.binaryOp(op, l, r, pos)
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		args, _, err := b.bindCommon([]*pg.Node{a.Lexpr, a.Rexpr}, "IS DISTINCT FROM", a.Location)
		if err != nil {
			return nil, err
		}
		return &plan.IsDistinct{Left: args[0], Right: args[1], Negate: a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT}, nil
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		l, r, err := b.bindPair(a.Lexpr, a.Rexpr)
		if err != nil {
			return nil, err
		}
		eq, err := b.p.binaryOp("=", l, r, pos)
		if err != nil {
			return nil, err
		}
		call := eq.(*plan.Call)
		return &plan.NullIf{Left: call.Args[0], Right: call.Args[1], Eq: call.Fn, T: l.Type()}, nil
	case pg.A_Expr_Kind_AEXPR_IN:
		op := opName(a.Name) // "=" for IN, "<>" for NOT IN
		l, err := b.bind(a.Lexpr)
		if err != nil {
			return nil, err
		}
		list := a.Rexpr.GetList().GetItems()
		nodes := append([]*pg.Node{a.Lexpr}, list...)
		_ = l
		args, _, err := b.bindCommon(nodes, "IN", a.Location)
		if err != nil {
			return nil, err
		}
		eq, err := b.p.binaryOp("=", args[0], args[1], pos)
		if err != nil {
			return nil, err
		}
		return &plan.InList{Input: args[0], List: args[1:], Eq: eq.(*plan.Call).Fn, Negate: op == "<>"}, nil
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN, pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		bounds := a.Rexpr.GetList().GetItems()
		x, err := b.bind(a.Lexpr)
		if err != nil {
			return nil, err
		}
		lo, err := b.bind(bounds[0])
		if err != nil {
			return nil, err
		}
		hi, err := b.bind(bounds[1])
		if err != nil {
			return nil, err
		}
		between := func(lo, hi plan.Scalar) (plan.Scalar, error) {
			ge, err := b.p.binaryOp(">=", x, lo, pos)
			if err != nil {
				return nil, err
			}
			le, err := b.p.binaryOp("<=", x, hi, pos)
			if err != nil {
				return nil, err
			}
			return &plan.And{Args: []plan.Scalar{ge, le}}, nil
		}
		e, err := between(lo, hi)
		if err != nil {
			return nil, err
		}
		if a.Kind == pg.A_Expr_Kind_AEXPR_BETWEEN_SYM || a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
			e2, err := between(hi, lo)
			if err != nil {
				return nil, err
			}
			e = &plan.Or{Args: []plan.Scalar{e, e2}}
		}
		if a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN || a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
			e = &plan.Not{Input: e}
		}
		return e, nil
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		// x op ANY (ARRAY[...]) expands to one comparison per element;
		// any other array value is compared element by element at run time.
		arr := a.Rexpr.GetAArrayExpr()
		if arr == nil {
			return b.bindArrayCompare(a, pos)
		}
		op := opName(a.Name)
		nodes := append([]*pg.Node{a.Lexpr}, arr.Elements...)
		args, _, err := b.bindCommon(nodes, "ARRAY", a.Location)
		if err != nil {
			return nil, err
		}
		var terms []plan.Scalar
		for _, el := range args[1:] {
			t, err := b.p.binaryOp(op, args[0], el, pos)
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
		}
		if len(terms) == 0 {
			return &plan.Const{Value: a.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL, T: types.TBool}, nil
		}
		if a.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL {
			return &plan.And{Args: terms}, nil
		}
		return &plan.Or{Args: terms}, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "operator kind %s is not supported", a.Kind).WithPosition(pos)
}

// bindCase binds a searched CASE; CASE x WHEN a THEN ... is bound as
// CASE WHEN x = a THEN ...
func (b *exprBinder) bindCase(c *pg.CaseExpr) (plan.Scalar, error) {
	var operand plan.Scalar
	if c.Arg != nil {
		var err error
		if operand, err = b.bind(c.Arg); err != nil {
			return nil, err
		}
	}
	whens := make([]plan.Scalar, 0, len(c.Args))
	resNodes := make([]*pg.Node, 0, len(c.Args)+1)
	for _, w := range c.Args {
		cw := w.GetCaseWhen()
		we, err := b.bind(cw.Expr)
		if err != nil {
			return nil, err
		}
		if operand != nil {
			we, err = b.p.binaryOp("=", operand, we, b.p.pos(cw.Location))
		} else {
			we, err = b.p.coerceBool(we, "argument of CASE/WHEN", b.p.pos(cw.Location))
		}
		if err != nil {
			return nil, err
		}
		whens = append(whens, we)
		resNodes = append(resNodes, cw.Result)
	}
	if c.Defresult != nil {
		resNodes = append(resNodes, c.Defresult)
	}
	res, t, err := b.bindCommon(resNodes, "CASE", c.Location)
	if err != nil {
		return nil, err
	}
	var els plan.Scalar
	if c.Defresult != nil {
		els = res[len(whens)]
	}
	return &plan.Case{Whens: whens, Thens: res[:len(whens)], Else: els, T: t}, nil
}

func funcName(names []*pg.Node) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, n.GetString_().Sval)
	}
	// information_schema holds driver helpers (_pg_expandarray) that are
	// registered with the built-ins.
	if len(parts) > 1 && (parts[0] == "pg_catalog" || parts[0] == "information_schema") {
		parts = parts[1:]
	}
	return strings.Join(parts, ".")
}

func (b *exprBinder) bindFuncCall(fc *pg.FuncCall) (plan.Scalar, error) {
	name := funcName(fc.Funcname)
	pos := b.p.pos(fc.Location)
	if fc.Over != nil {
		return nil, sqlerr.New(sqlerr.WindowingError, "window functions are not allowed in %s", b.whereName()).WithPosition(pos)
	}
	if b.p.isAggregateCall(fc) {
		return nil, sqlerr.New(sqlerr.GroupingError, "aggregate functions are not allowed in %s", b.whereName()).WithPosition(pos)
	}
	if udf.IsWindowOnly(name) {
		return nil, sqlerr.New(sqlerr.WindowingError, "window function %s requires an OVER clause", name).WithPosition(pos)
	}
	nodes, ca := unwrapNamed(fc.Args, fc.FuncVariadic)
	args, ts, err := b.bindAll(nodes)
	if err != nil {
		return nil, err
	}
	if b.p.Stream && udf.IsSequenceFunc(name) {
		// Each call changes a sequence: a job replaying or retracting
		// rows would draw new values.
		return nil, streamVolatileError(name + "()").WithPosition(pos)
	}
	if name == "pg_typeof" && len(args) == 1 {
		return &plan.Const{Value: args[0].Type().String(), T: types.TText}, nil
	}
	if e, ok, err := b.userCall(fc, args, ca, pos); ok {
		return e, err
	}
	if ca.named() {
		// Built-ins take no arguments by name.
		return nil, undefinedCall(funcName(fc.Funcname), ts, ca, pos)
	}
	if e, ok, err := b.p.goCall(fc.Funcname, args, pos); ok {
		return e, err
	}
	e, err := b.p.call(name, args, pos)
	if err != nil && b.p.isSRF(fc.Funcname) {
		// A set-returning function where only the select list may call one.
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning functions are not allowed in %s", b.whereName()).WithPosition(pos)
	}
	return e, err
}

func (b *exprBinder) whereName() string {
	if b.where == "" {
		return "this context"
	}
	return b.where
}

// sqlValueFunctions maps each SQL-standard value function (CURRENT_DATE,
// USER, ...) to the column name PostgreSQL gives it and the function that
// computes it.
var sqlValueFunctions = map[pg.SQLValueFunctionOp]struct{ column, fn string }{
	pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:        {"current_date", "current_date"},
	pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME:        {"current_time", "localtime"},
	pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:      {"current_time", "localtime"},
	pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP:   {"current_timestamp", "now"},
	pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N: {"current_timestamp", "now"},
	pg.SQLValueFunctionOp_SVFOP_LOCALTIME:           {"localtime", "localtime"},
	pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N:         {"localtime", "localtime"},
	pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP:      {"localtimestamp", "localtimestamp"},
	pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:    {"localtimestamp", "localtimestamp"},
	pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:        {"current_role", "current_user"},
	pg.SQLValueFunctionOp_SVFOP_CURRENT_USER:        {"current_user", "current_user"},
	pg.SQLValueFunctionOp_SVFOP_USER:                {"user", "current_user"},
	pg.SQLValueFunctionOp_SVFOP_SESSION_USER:        {"session_user", "session_user"},
	pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:     {"current_catalog", "current_database"},
	pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:      {"current_schema", "current_schema"},
}

func (b *exprBinder) bindSQLValueFunction(f *pg.SQLValueFunction) (plan.Scalar, error) {
	return b.p.call(sqlValueFunctions[f.Op].fn, nil, b.p.pos(f.Location))
}

func (b *exprBinder) bindSubLink(sl *pg.SubLink) (plan.Scalar, error) {
	pos := b.p.pos(sl.Location)
	sel := sl.Subselect.GetSelectStmt()
	child := &scope{parent: b.scope}
	rel, err := b.p.planSelect(sel, child)
	if err != nil {
		return nil, err
	}
	sq := &plan.Subquery{Plan: rel.node, Correlated: child.correlated, OuterTypes: typesOf(b.scope.cols)}
	visible := rel.visibleCount()
	switch sl.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK:
		sq.Kind = plan.ExistsSubquery
		return sq, nil
	case pg.SubLinkType_EXPR_SUBLINK:
		if visible != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery must return only one column").WithPosition(pos)
		}
		sq.Kind = plan.ScalarSubquery
		sq.T = rel.cols[0].t
		if sq.T.Kind == types.Unknown {
			sq.T = types.TText
		}
		return sq, nil
	case pg.SubLinkType_ANY_SUBLINK, pg.SubLinkType_ALL_SUBLINK:
		if rowArgs(sl.Testexpr) != nil {
			return b.bindRowSubLink(sl, rel, sq, pos)
		}
		if visible != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too many columns").WithPosition(pos)
		}
		left, err := b.bind(sl.Testexpr)
		if err != nil {
			return nil, err
		}
		op := opName(sl.OperName)
		right := &plan.ColRef{Idx: 0, T: rel.cols[0].t}
		cmp, err := b.p.binaryOp(op, left, right, pos)
		if err != nil {
			return nil, err
		}
		call, ok := cmp.(*plan.Call)
		if !ok || call.Fn.Ret.Kind != types.Bool {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "operator %s must return boolean", op).WithPosition(pos)
		}
		// The subquery column must have the operator's right type.
		if !call.Args[1].Type().Equal(right.T) {
			c, ok := call.Args[1].(*plan.Cast)
			if !ok {
				return nil, sqlerr.New(sqlerr.DatatypeMismatch, "cannot compare subquery column").WithPosition(pos)
			}
			_ = c
			rel.node = projectCast(rel, 0, call.Args[1].Type())
			sq.Plan = rel.node
		}
		sq.Kind = plan.AnySubquery
		if sl.SubLinkType == pg.SubLinkType_ALL_SUBLINK {
			sq.Kind = plan.AllSubquery
		}
		sq.Left = call.Args[0]
		sq.Op = call.Fn
		return sq, nil
	case pg.SubLinkType_ARRAY_SUBLINK:
		if visible != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery must return only one column").WithPosition(pos)
		}
		et := rel.cols[0].t
		if et.Kind == types.Unknown {
			et = types.TText
			rel.node = projectCast(rel, 0, et)
			sq.Plan = rel.node
		}
		if et.Kind == types.Array || et.Kind == types.Record {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ARRAY(subquery) of %s is not supported", et).WithPosition(pos)
		}
		sq.Kind = plan.ArraySubquery
		sq.T = types.T{Kind: types.Array, Elem: &et}
		return sq, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this kind of subquery is not supported").WithPosition(pos)
}

// bindArrayCompare binds "x op ANY|ALL (array)" where the array is a
// value (a column, a parameter, ARRAY(subquery)) rather than a literal
// list. An untyped x takes the element type, as in PostgreSQL.
func (b *exprBinder) bindArrayCompare(a *pg.A_Expr, pos int) (plan.Scalar, error) {
	arr, err := b.bind(a.Rexpr)
	if err != nil {
		return nil, err
	}
	left, err := b.bind(a.Lexpr)
	if err != nil {
		return nil, err
	}
	if arr.Type().Kind == types.Unknown {
		// '{a,b}' takes the array type of the left side.
		lt := left.Type()
		if lt.Kind == types.Unknown {
			lt = types.TText
		}
		if arr, err = b.p.coerce(arr, types.T{Kind: types.Array, Elem: &lt}, pos); err != nil {
			return nil, err
		}
	}
	at := arr.Type()
	if at.Kind != types.Array || at.Elem == nil {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "op ANY/ALL (array) requires array on right side").WithPosition(pos)
	}
	if left.Type().Kind == types.Unknown {
		if left, err = b.p.coerce(left, *at.Elem, pos); err != nil {
			return nil, err
		}
	}
	op := opName(a.Name)
	cmp, err := b.p.binaryOp(op, left, &plan.ColRef{T: *at.Elem}, pos)
	if err != nil {
		return nil, err
	}
	call, ok := cmp.(*plan.Call)
	if !ok || call.Fn.Ret.Kind != types.Bool {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "op ANY/ALL (array) requires operator to yield boolean").WithPosition(pos)
	}
	return &plan.ArrayCompare{Left: call.Args[0], Array: arr, Op: call.Fn, ElemT: call.Args[1].Type(), All: a.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL}, nil
}

// bindIndirection binds array subscripts (indkey[0], prattrs[s]) and the
// field selection the drivers use on _pg_expandarray's records
// ((keys).x). Slices and other composite values are not supported.
func (b *exprBinder) bindIndirection(ind *pg.A_Indirection) (plan.Scalar, error) {
	e, err := b.bind(ind.Arg)
	if err != nil {
		return nil, err
	}
	for _, n := range ind.Indirection {
		if f := n.GetString_(); f != nil {
			idx, ft, ok := udf.RecordField(e.Type(), f.Sval)
			if !ok {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "field selection .%s is not supported on type %s", f.Sval, e.Type())
			}
			e = &plan.RecordField{Input: e, Idx: idx, Name: f.Sval, T: ft}
			continue
		}
		ix := n.GetAIndices()
		if ix == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this indirection is not supported")
		}
		if ix.IsSlice {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "array slices are not supported")
		}
		t := e.Type()
		if t.Kind != types.Array || t.Elem == nil {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "cannot subscript type %s because it does not support subscripting", t)
		}
		i, err := b.bind(ix.Uidx)
		if err != nil {
			return nil, err
		}
		if i, err = b.p.coerce(i, types.TInt8, 0); err != nil {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "array subscript must have type integer")
		}
		e = &plan.ArraySubscript{Array: e, Index: i, T: *t.Elem}
	}
	return e, nil
}
