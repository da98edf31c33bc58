package planner

// Stored expressions as PostgreSQL prints them. PostgreSQL keeps a policy's
// USING and WITH CHECK, a column default and a CHECK constraint as
// analysed trees and prints them back with its deparser (ruleutils.c,
// pg_get_expr): every operator and boolean expression in parentheses,
// IN lists as "= ANY (ARRAY[...])", BETWEEN as two comparisons, LIKE as
// ~~, the casts the analyser added written out ("(amount)::numeric"),
// typed literals with their type ("'x'::text"), CURRENT_USER and its kind
// in capitals, CASE and subqueries over several indented lines.
//
// StreamSQL stores these expressions as SQL text (what the engine runs),
// so the printer here walks the grammar tree of that text and asks the
// binder, node by node, which types and implicit casts PostgreSQL's
// analyser would have put there: an argument whose bound type differs
// from its own is shown with a cast; an untyped literal becomes a
// constant of the type it was bound to. The output follows pg_get_expr
// with pretty indentation and no pretty parentheses, which is what
// pg_policies, pg_get_expr and pg_get_constraintdef show.

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Indentation steps of ruleutils.c's pretty printer.
const (
	prettyIndentStd = 8
	prettyIndentVar = 4
)

// DeparseExpr returns the stored expression text of relation r as
// PostgreSQL's pg_get_expr prints it. want is the type the expression is
// stored as (boolean for a policy or CHECK, the column's type for a
// default): a cast to it is implicit and not shown, as PostgreSQL hides
// a top-level implicit cast. pretty leaves out the parentheses
// precedence makes unnecessary, as pg_get_expr(e, rel, true) and
// pg_get_constraintdef(oid, true) do.
func (p *Planner) DeparseExpr(r *catalog.Relation, text string, want types.T, pretty bool) (string, error) {
	stmts, err := parser.Parse("SELECT " + text)
	if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil || len(stmts[0].AST.GetSelectStmt().TargetList) != 1 {
		return "", sqlerr.New(sqlerr.DataCorrupted, "stored expression of relation %q is unreadable: %s", r.Name, text)
	}
	n := stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val
	inner := *p
	inner.SQL, inner.Offset, inner.chars = "SELECT "+text, 0, charIndex{}
	inner.RowSecurity = nil
	d := &deparser{p: &inner, sc: policyScope(r), pretty: pretty}
	// The relation's name is taken: a subquery's FROM item of the same
	// name is printed renamed.
	d.names = &rtNames{used: []string{r.Name}, rename: map[string]string{r.Name: r.Name}, sc: d.sc}
	d.shared = &deparseShared{levels: map[*scope]*rtNames{d.sc: d.names}}
	var sb strings.Builder
	bound, err := d.bind(n)
	if err != nil {
		return "", err
	}
	if want.Kind != types.Unknown && !bound.Type().Equal(want) && isUntypedLiteral(n) {
		// A literal default is stored as a constant of the column's type.
		if c, err := inner.coerceAssign(bound, want, 0); err == nil {
			bound = c
		}
	}
	if err := d.coerced(&sb, n, bound, false); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// deparser prints expressions of one query level.
type deparser struct {
	p  *Planner
	sc *scope
	// qualify is set inside subqueries, where PostgreSQL qualifies every
	// column with its table or alias.
	qualify bool
	// indent is ruleutils.c's indentLevel.
	indent int
	// pretty leaves out the parentheses that precedence makes
	// unnecessary (PRETTYFLAG_PAREN, pg_get_constraintdef(oid, true));
	// par is the context of the node being printed.
	pretty bool
	par    parent
	// windows are the named windows of the query level (WINDOW w AS
	// (...)).
	windows map[string]*pg.WindowDef
	// colNames is get_query_def's colNamesVisible: the query level's
	// output names are seen, so each is written out.
	colNames bool
	// wrap is the wrap column of the target list (0: every column on
	// its own line, negative: no wrapping).
	wrap int
	// resultNames name the output columns of the query printed next
	// (a view's column names).
	resultNames []string
	// viewTop is set for the top level of a view, whose names in
	// PostgreSQL 15 include the rule's "old" and "new".
	viewTop bool
	// names are the printed names of this level's FROM items; shared
	// is what all levels of the printed query share.
	names  *rtNames
	shared *deparseShared
}

// parent is what a node is printed inside, for pretty parentheses.
type parent struct {
	kind   parentKind
	op     string // parentOp: the binary operator ("" for a prefix one)
	left   bool   // parentOp: the node is the left operand
	boolop pg.BoolExprType
}

type parentKind int

const (
	parentTop   parentKind = iota // the whole expression
	parentFunc                    // function, COALESCE, CASE and ARRAY arguments: separated by their own syntax
	parentOp                      // an operator's operand
	parentBool                    // an AND, OR or NOT argument
	parentOther                   // IS NULL, casts, = ANY and the like
)

var parOther = parent{kind: parentOther}
var parFunc = parent{kind: parentFunc}

// simple reports whether n needs no parentheses in pretty mode where it
// is printed (ruleutils.c's isSimpleNode).
func (d *deparser) simple(n *pg.Node) bool {
	par := d.par
	if par.kind == parentTop || par.kind == parentFunc {
		return true
	}
	switch {
	case n.GetAExpr() != nil:
		a := n.GetAExpr()
		switch a.Kind {
		case pg.A_Expr_Kind_AEXPR_NULLIF:
			return true
		case pg.A_Expr_Kind_AEXPR_OP, pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
			return opSimple(a.Lexpr != nil, operatorName(a.Name), par)
		case pg.A_Expr_Kind_AEXPR_IN:
			if r := d.splitIn(a); r != nil {
				return d.simple(r)
			}
			if len(a.Rexpr.GetList().GetItems()) == 1 {
				return opSimple(true, operatorName(a.Name), par)
			}
			return false
		case pg.A_Expr_Kind_AEXPR_BETWEEN:
			return boolSimple(pg.BoolExprType_AND_EXPR, par)
		case pg.A_Expr_Kind_AEXPR_NOT_BETWEEN:
			return boolSimple(pg.BoolExprType_OR_EXPR, par)
		case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
			return par.kind == parentBool
		}
		return false
	case n.GetBoolExpr() != nil:
		return boolSimple(n.GetBoolExpr().Boolop, par)
	case n.GetNullTest() != nil, n.GetBooleanTest() != nil, n.GetSubLink() != nil:
		return par.kind == parentBool
	}
	// Names, literals, casts and function-like forms.
	return true
}

// opSimple: an operator needs no parentheses inside AND, OR and NOT, and
// inside an arithmetic operator of lower precedence (or the same, as its
// left operand).
func opSimple(binary bool, op string, par parent) bool {
	switch par.kind {
	case parentBool:
		return true
	case parentOp:
	default:
		return false
	}
	if !binary || op == "" || par.op == "" {
		return false
	}
	lo, hi := strings.ContainsRune("+-", rune(op[0])), strings.ContainsRune("*/%", rune(op[0]))
	plo, phi := strings.ContainsRune("+-", rune(par.op[0])), strings.ContainsRune("*/%", rune(par.op[0]))
	switch {
	case !(lo || hi) || !(plo || phi):
		return false
	case hi && plo:
		return true
	case lo && phi:
		return false
	}
	return par.left
}

// boolSimple: NOT and AND need no parentheses inside AND or OR, OR only
// inside OR.
func boolSimple(t pg.BoolExprType, par parent) bool {
	if par.kind != parentBool {
		return false
	}
	if t == pg.BoolExprType_OR_EXPR {
		return par.boolop == pg.BoolExprType_OR_EXPR
	}
	return par.boolop == pg.BoolExprType_AND_EXPR || par.boolop == pg.BoolExprType_OR_EXPR
}

// open and close write a node's own parentheses, which pretty mode
// leaves to its parent.
func (d *deparser) open(sb *strings.Builder) {
	if !d.pretty {
		sb.WriteByte('(')
	}
}

func (d *deparser) close(sb *strings.Builder) {
	if !d.pretty {
		sb.WriteByte(')')
	}
}

// child prints n inside par.
func (d *deparser) child(sb *strings.Builder, n *pg.Node, par parent) error {
	d.par = par
	return d.expr(sb, n)
}

// coercedIn is coerced inside par.
func (d *deparser) coercedIn(sb *strings.Builder, n *pg.Node, bound plan.Scalar, show bool, par parent) error {
	d.par = par
	return d.coerced(sb, n, bound, show)
}

// bind binds n in the query level's scope, aggregate and window calls
// included (see aggregateHook).
func (d *deparser) bind(n *pg.Node) (plan.Scalar, error) {
	b := d.p.binder(d.sc, "expression")
	b.hook = d.aggregateHook(b)
	return b.bind(n)
}

// isUntypedLiteral reports whether n is a string literal or NULL, which
// PostgreSQL's analyser turns into a constant of the type it is used as.
func isUntypedLiteral(n *pg.Node) bool {
	c := n.GetAConst()
	return c != nil && (c.Isnull || c.GetSval() != nil)
}

// coerced prints n where the binder produced bound for it, which may be
// n's own value under an implicit cast. show writes the cast out, as
// ruleutils.c does for operator and function arguments.
func (d *deparser) coerced(sb *strings.Builder, n *pg.Node, bound plan.Scalar, show bool) error {
	if isUntypedLiteral(n) {
		if c, ok := bound.(*plan.Const); ok {
			// The analyser's coercions have no type modifier; a
			// length coercion on top is not shown.
			writeConst(sb, c.Value, noTypmod(c.T), 0)
			return nil
		}
		if writeRegLiteral(sb, n, bound) {
			return nil
		}
	}
	own, err := d.bind(n)
	if err != nil {
		return err
	}
	if bound == nil || own.Type().Equal(bound.Type()) || !show {
		return d.expr(sb, n)
	}
	d.open(sb)
	if err := d.child(sb, n, parOther); err != nil {
		return err
	}
	d.close(sb)
	sb.WriteString("::")
	sb.WriteString(noTypmod(bound.Type()).String())
	return nil
}

// writeRegLiteral prints a string literal taken as a reg* type ('s' for
// a regclass argument, 's'::regclass), which names an object looked up
// when the statement runs, as PostgreSQL prints such a constant:
// 's'::regclass.
func writeRegLiteral(sb *strings.Builder, n *pg.Node, bound plan.Scalar) bool {
	t := bound.Type()
	c := n.GetAConst()
	if t.Kind != types.Oid || t.OIDOverride == 0 || c == nil || c.GetSval() == nil {
		return false
	}
	sb.WriteString(quoteString(c.GetSval().Sval) + "::" + t.String())
	return true
}

// noTypmod is t without its type modifier (length, precision).
func noTypmod(t types.T) types.T {
	t.Precision, t.Scale, t.Width = 0, 0, 0
	if t.Elem != nil {
		e := noTypmod(*t.Elem)
		t.Elem = &e
	}
	return t
}

// writeConst prints a constant as ruleutils.c's get_const_expr does with
// showtype 0 (with showtype -1 without its type, with 1 always with it).
func writeConst(sb *strings.Builder, v types.Datum, t types.T, showtype int) {
	if v == nil {
		sb.WriteString("NULL")
		if showtype >= 0 {
			sb.WriteString("::" + t.String())
		}
		return
	}
	s := types.FormatText(v, t, nil)
	label := false
	switch t.Kind {
	case types.Int4:
		if strings.HasPrefix(s, "-") {
			sb.WriteString(quoteString(s))
			label = true
		} else {
			sb.WriteString(s)
		}
	case types.Numeric:
		if s != "" && s[0] >= '0' && s[0] <= '9' && strings.ContainsAny(s, "eE.") {
			sb.WriteString(s)
		} else {
			sb.WriteString(quoteString(s))
			label = true
		}
		if t.Width > 0 || t.Scale > 0 {
			label = true
		}
	case types.Bool:
		if v.(bool) {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case types.Unknown:
		sb.WriteString(quoteString(s))
	default:
		sb.WriteString(quoteString(s))
		label = true
	}
	if showtype > 0 || showtype == 0 && label {
		sb.WriteString("::" + t.String())
	}
}

// quoteString is simple_quote_literal with standard_conforming_strings on.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// newline starts a new line at the current indentation plus extra, after
// removing trailing spaces (appendContextKeyword).
func (d *deparser) newline(sb *strings.Builder, extra int) {
	s := strings.TrimRight(sb.String(), " ")
	sb.Reset()
	sb.WriteString(s)
	sb.WriteByte('\n')
	sb.WriteString(strings.Repeat(" ", max(d.indent, 0)+extra))
}

// expr prints n (get_rule_expr), in parentheses in pretty mode where
// its parent needs them.
func (d *deparser) expr(sb *strings.Builder, n *pg.Node) error {
	if d.pretty && !d.simple(n) {
		d.par = parent{}
		sb.WriteByte('(')
		if err := d.node(sb, n); err != nil {
			return err
		}
		sb.WriteByte(')')
		return nil
	}
	return d.node(sb, n)
}

// aConst prints the literal n with its type as writeConst does at
// showType.
func (d *deparser) aConst(sb *strings.Builder, n *pg.Node, showType int) error {
	bound, err := d.bind(n)
	if err != nil {
		return err
	}
	c, ok := bound.(*plan.Const)
	if !ok {
		return sqlerr.New(sqlerr.InternalError, "literal did not bind to a constant")
	}
	writeConst(sb, c.Value, c.T, showType)
	return nil
}

// node prints n.
func (d *deparser) node(sb *strings.Builder, n *pg.Node) error {
	switch {
	case n.GetColumnRef() != nil:
		return d.columnRef(sb, n.GetColumnRef())
	case n.GetAConst() != nil:
		return d.aConst(sb, n, 0)
	case n.GetTypeCast() != nil:
		return d.typeCast(sb, n)
	case n.GetAExpr() != nil:
		return d.aExpr(sb, n)
	case n.GetBoolExpr() != nil:
		return d.boolExpr(sb, n.GetBoolExpr())
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		d.open(sb)
		if err := d.child(sb, nt.Arg, parOther); err != nil {
			return err
		}
		if nt.Nulltesttype == pg.NullTestType_IS_NOT_NULL {
			sb.WriteString(" IS NOT NULL")
		} else {
			sb.WriteString(" IS NULL")
		}
		d.close(sb)
		return nil
	case n.GetBooleanTest() != nil:
		bt := n.GetBooleanTest()
		d.open(sb)
		if err := d.child(sb, bt.Arg, parOther); err != nil {
			return err
		}
		sb.WriteString(map[pg.BoolTestType]string{pg.BoolTestType_IS_TRUE: " IS TRUE", pg.BoolTestType_IS_NOT_TRUE: " IS NOT TRUE",
			pg.BoolTestType_IS_FALSE: " IS FALSE", pg.BoolTestType_IS_NOT_FALSE: " IS NOT FALSE",
			pg.BoolTestType_IS_UNKNOWN: " IS UNKNOWN", pg.BoolTestType_IS_NOT_UNKNOWN: " IS NOT UNKNOWN"}[bt.Booltesttype])
		d.close(sb)
		return nil
	case n.GetSqlvalueFunction() != nil:
		return writeSQLValueFunction(sb, n.GetSqlvalueFunction())
	case n.GetFuncCall() != nil:
		return d.funcCall(sb, n)
	case n.GetGroupingFunc() != nil:
		sb.WriteString("GROUPING(")
		for i, a := range n.GetGroupingFunc().Args {
			if i > 0 {
				sb.WriteString(", ")
			}
			if err := d.child(sb, a, parent{}); err != nil {
				return err
			}
		}
		sb.WriteByte(')')
		return nil
	case n.GetCoalesceExpr() != nil:
		bound, err := d.bind(n)
		if err != nil {
			return err
		}
		var args []plan.Scalar
		if c, ok := bound.(*plan.Coalesce); ok {
			args = c.Args
		}
		sb.WriteString("COALESCE(")
		return d.args(sb, n.GetCoalesceExpr().Args, args, ")")
	case n.GetMinMaxExpr() != nil:
		bound, err := d.bind(n)
		if err != nil {
			return err
		}
		var args []plan.Scalar
		if m, ok := bound.(*plan.MinMax); ok {
			args = m.Args
		}
		if n.GetMinMaxExpr().Op == pg.MinMaxOp_IS_LEAST {
			sb.WriteString("LEAST(")
		} else {
			sb.WriteString("GREATEST(")
		}
		return d.args(sb, n.GetMinMaxExpr().Args, args, ")")
	case n.GetCaseExpr() != nil:
		return d.caseExpr(sb, n)
	case n.GetAArrayExpr() != nil:
		bound, err := d.bind(n)
		if err != nil {
			return err
		}
		var elems []plan.Scalar
		if a, ok := bound.(*plan.ArrayCtor); ok {
			elems = a.Elems
		}
		sb.WriteString("ARRAY[")
		return d.args(sb, n.GetAArrayExpr().Elements, elems, "]")
	case n.GetSubLink() != nil:
		return d.subLink(sb, n)
	case n.GetParamRef() != nil:
		sb.WriteString("$" + strconv.Itoa(int(n.GetParamRef().Number)))
		return nil
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "printing %s is not supported", nodeName(n))
}

// args prints a comma-separated argument list, each argument with the
// cast the binder put on it (bound may be nil: no casts known), then
// closing.
func (d *deparser) args(sb *strings.Builder, nodes []*pg.Node, bound []plan.Scalar, closing string) error {
	for i, a := range nodes {
		if i > 0 {
			sb.WriteString(", ")
		}
		var b plan.Scalar
		if len(bound) == len(nodes) {
			b = bound[i]
		}
		if err := d.coercedIn(sb, a, b, true, parFunc); err != nil {
			return err
		}
	}
	sb.WriteString(closing)
	return nil
}

func (d *deparser) columnRef(sb *strings.Builder, cr *pg.ColumnRef) error {
	var names []string
	for _, f := range cr.Fields {
		if s := f.GetString_(); s != nil {
			names = append(names, s.Sval)
		} else {
			return sqlerr.New(sqlerr.FeatureNotSupported, "printing * is not supported here")
		}
	}
	name, qual := names[len(names)-1], ""
	if len(names) > 1 {
		qual = names[len(names)-2]
	}
	depth, _, col, err := d.sc.resolve(qual, name, 0)
	if err != nil {
		return err
	}
	if d.qualify {
		level := d.levelOf(depth)
		if col.table != "" {
			sb.WriteString(udf.QuoteIdent(level.printed(col.table)) + ".")
		} else if q, ok := d.mergedRef(level, col.name); ok && q != "" {
			sb.WriteString(udf.QuoteIdent(q) + ".")
		}
	}
	sb.WriteString(udf.QuoteIdent(col.name))
	return nil
}

// typeCast prints an explicit cast: a literal cast is a constant of the
// type, anything else "(arg)::type".
func (d *deparser) typeCast(sb *strings.Builder, n *pg.Node) error {
	tc := n.GetTypeCast()
	bound, err := d.bind(n)
	if err != nil {
		return err
	}
	if isUntypedLiteral(tc.Arg) {
		if c, ok := bound.(*plan.Const); ok {
			writeConst(sb, c.Value, c.T, 0)
			return nil
		}
		if writeRegLiteral(sb, tc.Arg, bound) {
			return nil
		}
	}
	own, err := d.bind(tc.Arg)
	if err != nil {
		return err
	}
	if own.Type().Equal(bound.Type()) && tc.Arg.GetAConst() == nil {
		// A cast to the type the value already has changes nothing.
		return d.expr(sb, tc.Arg)
	}
	d.open(sb)
	if err := d.child(sb, tc.Arg, parOther); err != nil {
		return err
	}
	d.close(sb)
	sb.WriteString("::" + bound.Type().String())
	return nil
}

// operatorName is the last name of an operator's (maybe qualified) name.
func operatorName(names []*pg.Node) string {
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1].GetString_().GetSval()
}

func (d *deparser) aExpr(sb *strings.Builder, n *pg.Node) error {
	a := n.GetAExpr()
	op := operatorName(a.Name)
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP, pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		return d.operator(sb, n, a.Lexpr, op, a.Rexpr)
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		// left op ANY (array): the left side takes the cast the binder
		// gives it against the array's elements.
		var left plan.Scalar
		if bound, err := d.bind(n); err == nil {
			if ac, ok := bound.(*plan.ArrayCompare); ok {
				left = ac.Left
			}
		}
		if left == nil {
			if el := a.Rexpr.GetAArrayExpr(); el != nil && len(el.Elements) > 0 {
				if cmp, err := d.bind(pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, a.Name, a.Lexpr, el.Elements[0], 0)); err == nil {
					if c, ok := cmp.(*plan.Call); ok && len(c.Args) == 2 {
						left = c.Args[0]
					}
				}
			}
		}
		d.open(sb)
		if err := d.coercedIn(sb, a.Lexpr, left, true, parOther); err != nil {
			return err
		}
		if a.Kind == pg.A_Expr_Kind_AEXPR_OP_ANY {
			sb.WriteString(" " + op + " ANY (")
		} else {
			sb.WriteString(" " + op + " ALL (")
		}
		if err := d.child(sb, a.Rexpr, parFunc); err != nil {
			return err
		}
		sb.WriteByte(')')
		d.close(sb)
		return nil
	case pg.A_Expr_Kind_AEXPR_IN:
		return d.inList(sb, n)
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN:
		// PostgreSQL's analyser rewrites BETWEEN into two comparisons.
		bounds := a.Rexpr.GetList().GetItems()
		if len(bounds) != 2 {
			return sqlerr.New(sqlerr.InternalError, "BETWEEN without two bounds")
		}
		lo, hi, join := ">=", "<=", pg.BoolExprType_AND_EXPR
		if a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN {
			lo, hi, join = "<", ">", pg.BoolExprType_OR_EXPR
		}
		return d.boolExpr(sb, pg.MakeBoolExprNode(join, []*pg.Node{
			pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, []*pg.Node{pg.MakeStrNode(lo)}, a.Lexpr, bounds[0], 0),
			pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, []*pg.Node{pg.MakeStrNode(hi)}, a.Lexpr, bounds[1], 0),
		}, 0).GetBoolExpr())
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		// The analyser turns a comparison with a NULL literal into a
		// null test.
		if c := a.Rexpr.GetAConst(); c != nil && c.Isnull {
			test := pg.NullTestType_IS_NOT_NULL
			if a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT {
				test = pg.NullTestType_IS_NULL
			}
			return d.node(sb, &pg.Node{Node: &pg.Node_NullTest{NullTest: &pg.NullTest{Arg: a.Lexpr, Nulltesttype: test}}})
		}
		var l, r plan.Scalar
		if bound, err := d.bind(n); err == nil {
			if x, ok := bound.(*plan.IsDistinct); ok {
				l, r = x.Left, x.Right
			}
		}
		d.open(sb)
		if err := d.coercedIn(sb, a.Lexpr, l, true, parOther); err != nil {
			return err
		}
		if a.Kind == pg.A_Expr_Kind_AEXPR_DISTINCT {
			sb.WriteString(" IS DISTINCT FROM ")
		} else {
			sb.WriteString(" IS NOT DISTINCT FROM ")
		}
		if err := d.coercedIn(sb, a.Rexpr, r, true, parOther); err != nil {
			return err
		}
		d.close(sb)
		return nil
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		var l, r plan.Scalar
		if bound, err := d.bind(n); err == nil {
			if x, ok := bound.(*plan.NullIf); ok {
				l, r = x.Left, x.Right
			}
		}
		sb.WriteString("NULLIF(")
		return d.args(sb, []*pg.Node{a.Lexpr, a.Rexpr}, []plan.Scalar{l, r}, ")")
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "printing this operator form is not supported")
}

// operator prints a binary or prefix operator with the casts the binder
// put on its operands.
func (d *deparser) operator(sb *strings.Builder, n, l *pg.Node, op string, r *pg.Node) error {
	var args []plan.Scalar
	if bound, err := d.bind(n); err != nil {
		return err
	} else if c, ok := bound.(*plan.Call); ok {
		args = c.Args
		if plan.IsOperatorName(c.Fn.Name) {
			op = c.Fn.Name
		}
	}
	nodes := []*pg.Node{r}
	if l != nil {
		nodes = []*pg.Node{l, r}
	}
	if len(args) != len(nodes) {
		args = make([]plan.Scalar, len(nodes))
	}
	// PostgreSQL compares text with name directly (texteqname and the
	// like), where the binder casts the name to text.
	if len(nodes) == 2 && isComparison(op) {
		for i := range args {
			if c, ok := args[i].(*plan.Cast); ok && c.To.Kind == types.Text && c.Input.Type().Kind == types.Name && args[1-i] != nil && args[1-i].Type().Kind == types.Text {
				args[i] = c.Input
			}
		}
	}
	d.open(sb)
	binaryOp := ""
	if l != nil {
		binaryOp = op
		if err := d.coercedIn(sb, l, args[0], true, parent{kind: parentOp, op: op, left: true}); err != nil {
			return err
		}
		sb.WriteString(" " + op + " ")
	} else {
		sb.WriteString(op + " ")
	}
	if err := d.coercedIn(sb, r, args[len(args)-1], true, parent{kind: parentOp, op: binaryOp}); err != nil {
		return err
	}
	d.close(sb)
	return nil
}

func isComparison(op string) bool {
	switch op {
	case "=", "<>", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// inList prints x [NOT] IN (list) as PostgreSQL's analyser leaves it:
// "x = ANY (ARRAY[...])" ("<> ALL" for NOT IN), or a plain comparison for
// a list of one.
func (d *deparser) inList(sb *strings.Builder, n *pg.Node) error {
	a := n.GetAExpr()
	items := a.Rexpr.GetList().GetItems()
	op := operatorName(a.Name)
	if r := d.splitIn(a); r != nil {
		return d.node(sb, r)
	}
	if len(items) == 1 {
		return d.operator(sb, pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, a.Name, a.Lexpr, items[0], 0), a.Lexpr, op, items[0])
	}
	bound, err := d.bind(n)
	if err != nil {
		return err
	}
	var left plan.Scalar
	var list []plan.Scalar
	if in, ok := bound.(*plan.InList); ok {
		left, list = in.Input, in.List
	}
	// A list of literals takes the left side's own type (the common
	// type); when the operator needs another, the whole array is cast.
	own, err := d.bind(a.Lexpr)
	if err != nil {
		return err
	}
	literals := true
	for _, it := range items {
		literals = literals && isUntypedLiteral(it)
	}
	if left != nil && literals && own.Type().Kind == types.Varchar && left.Type().Kind == types.Varchar {
		// varchar has no operators of its own: PostgreSQL compares it
		// as text.
		left = &plan.Cast{Input: left, To: types.TText}
	}
	d.open(sb)
	if err := d.coercedIn(sb, a.Lexpr, left, true, parOther); err != nil {
		return err
	}
	if op == "=" {
		sb.WriteString(" = ANY (")
	} else {
		sb.WriteString(" " + op + " ALL (")
	}
	if left != nil && literals && !own.Type().Equal(left.Type()) && own.Type().Kind != types.Unknown {
		elems := make([]plan.Scalar, len(items))
		for i, it := range items {
			c, err := d.bind(it)
			if err != nil {
				return err
			}
			if elems[i], err = d.p.coerce(c, noTypmod(own.Type()), 0); err != nil {
				return err
			}
		}
		d.open(sb)
		sb.WriteString("ARRAY[")
		if err := d.args(sb, items, elems, "]"); err != nil {
			return err
		}
		d.close(sb)
		sb.WriteString("::" + noTypmod(left.Type()).String() + "[])")
		d.close(sb)
		return nil
	}
	sb.WriteString("ARRAY[")
	if err := d.args(sb, items, list, "])"); err != nil {
		return err
	}
	d.close(sb)
	return nil
}

// splitIn returns x [NOT] IN (list) as PostgreSQL's analyser builds it
// when some items read columns of the query level (transformAExprIn):
// the other items, if there are two or more, as one = ANY (ARRAY[...]),
// and each remaining item as its own comparison, joined left-deep by OR
// (AND for NOT IN). It is nil when no item reads a column.
func (d *deparser) splitIn(a *pg.A_Expr) *pg.Node {
	items := a.Rexpr.GetList().GetItems()
	var vars, consts []*pg.Node
	for _, it := range items {
		if d.readsColumns(it) {
			vars = append(vars, it)
		} else {
			consts = append(consts, it)
		}
	}
	if len(vars) == 0 {
		return nil
	}
	join := pg.BoolExprType_OR_EXPR
	if operatorName(a.Name) == "<>" {
		join = pg.BoolExprType_AND_EXPR
	}
	var result *pg.Node
	rest := items
	if len(consts) > 1 {
		result = pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_IN, a.Name, a.Lexpr, pg.MakeListNode(consts), a.Location)
		rest = vars
	}
	for _, it := range rest {
		cmp := pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, a.Name, a.Lexpr, it, a.Location)
		if result == nil {
			result = cmp
		} else {
			result = pg.MakeBoolExprNode(join, []*pg.Node{result, cmp}, a.Location)
		}
	}
	return result
}

// readsColumns reports whether n names a column of this query level
// (contain_vars_of_level(n, 0)).
func (d *deparser) readsColumns(n *pg.Node) bool {
	if n == nil {
		return false
	}
	if cr := n.GetColumnRef(); cr != nil {
		var names []string
		for _, f := range cr.Fields {
			names = append(names, f.GetString_().GetSval())
		}
		qual := ""
		if len(names) > 1 {
			qual = names[len(names)-2]
		}
		depth, _, _, err := d.sc.resolve(qual, names[len(names)-1], 0)
		return err == nil && depth == 0
	}
	if fc := n.GetFuncCall(); fc != nil {
		for _, a := range fc.Args {
			if d.readsColumns(a) {
				return true
			}
		}
		return false
	}
	for _, c := range childNodes(n) {
		if d.readsColumns(c) {
			return true
		}
	}
	return false
}

func (d *deparser) boolExpr(sb *strings.Builder, be *pg.BoolExpr) error {
	par := parent{kind: parentBool, boolop: be.Boolop}
	if be.Boolop == pg.BoolExprType_NOT_EXPR {
		d.open(sb)
		sb.WriteString("NOT ")
		if err := d.child(sb, be.Args[0], par); err != nil {
			return err
		}
		d.close(sb)
		return nil
	}
	sep := " AND "
	if be.Boolop == pg.BoolExprType_OR_EXPR {
		sep = " OR "
	}
	d.open(sb)
	for i, x := range be.Args {
		if i > 0 {
			sb.WriteString(sep)
		}
		if err := d.child(sb, x, par); err != nil {
			return err
		}
	}
	d.close(sb)
	return nil
}

// writeSQLValueFunction prints CURRENT_USER and its kind, in capitals.
func writeSQLValueFunction(sb *strings.Builder, f *pg.SQLValueFunction) error {
	name, ok := map[pg.SQLValueFunctionOp]string{
		pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE: "CURRENT_DATE", pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME: "CURRENT_TIME",
		pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N: "CURRENT_TIME", pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP: "CURRENT_TIMESTAMP",
		pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N: "CURRENT_TIMESTAMP", pg.SQLValueFunctionOp_SVFOP_LOCALTIME: "LOCALTIME",
		pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N: "LOCALTIME", pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP: "LOCALTIMESTAMP",
		pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N: "LOCALTIMESTAMP", pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE: "CURRENT_ROLE",
		pg.SQLValueFunctionOp_SVFOP_CURRENT_USER: "CURRENT_USER", pg.SQLValueFunctionOp_SVFOP_USER: "USER",
		pg.SQLValueFunctionOp_SVFOP_SESSION_USER: "SESSION_USER", pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG: "CURRENT_CATALOG",
		pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA: "CURRENT_SCHEMA",
	}[f.Op]
	if !ok {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing SQL value function %v is not supported", f.Op)
	}
	sb.WriteString(name)
	switch f.Op {
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N,
		pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
		sb.WriteString("(" + strconv.Itoa(int(f.Typmod)) + ")")
	}
	return nil
}

// caseExpr prints CASE over several lines, as pretty indentation does.
func (d *deparser) caseExpr(sb *strings.Builder, n *pg.Node) error {
	ce := n.GetCaseExpr()
	bound, err := d.bind(n)
	if err != nil {
		return err
	}
	c, _ := bound.(*plan.Case)
	d.newline(sb, 0)
	sb.WriteString("CASE")
	if ce.Arg != nil {
		sb.WriteByte(' ')
		if err := d.child(sb, ce.Arg, parFunc); err != nil {
			return err
		}
	}
	d.indent += prettyIndentVar
	for i, w := range ce.Args {
		cw := w.GetCaseWhen()
		d.newline(sb, 0)
		sb.WriteString("WHEN ")
		if ce.Arg != nil {
			// The comparison's right side, cast as the binder did.
			var rhs plan.Scalar
			if c != nil && i < len(c.Whens) {
				if call, ok := c.Whens[i].(*plan.Call); ok && len(call.Args) == 2 {
					rhs = call.Args[1]
				}
			}
			if err := d.coercedIn(sb, cw.Expr, rhs, true, parFunc); err != nil {
				return err
			}
		} else if err := d.child(sb, cw.Expr, parFunc); err != nil {
			return err
		}
		sb.WriteString(" THEN ")
		var then plan.Scalar
		if c != nil && i < len(c.Thens) {
			then = c.Thens[i]
		}
		if err := d.coercedIn(sb, cw.Result, then, true, parFunc); err != nil {
			return err
		}
	}
	d.newline(sb, 0)
	sb.WriteString("ELSE ")
	if ce.Defresult != nil {
		var els plan.Scalar
		if c != nil {
			els = c.Else
		}
		if err := d.coercedIn(sb, ce.Defresult, els, true, parFunc); err != nil {
			return err
		}
	} else {
		writeConst(sb, nil, bound.Type(), 0)
	}
	d.indent -= prettyIndentVar
	d.newline(sb, 0)
	sb.WriteString("END")
	return nil
}

// subLink prints EXISTS, IN, ANY, ALL, scalar and ARRAY subqueries.
func (d *deparser) subLink(sb *strings.Builder, n *pg.Node) error {
	sl := n.GetSubLink()
	sel := sl.Subselect.GetSelectStmt()
	if sel == nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing this subquery is not supported")
	}
	if sl.SubLinkType == pg.SubLinkType_ARRAY_SUBLINK {
		sb.WriteString("ARRAY(")
	} else {
		sb.WriteByte('(')
	}
	paren := true
	switch sl.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK:
		sb.WriteString("EXISTS ")
	case pg.SubLinkType_ANY_SUBLINK, pg.SubLinkType_ALL_SUBLINK:
		var left plan.Scalar
		bound, err := d.bind(n)
		if err != nil {
			return err
		}
		if sq, ok := bound.(*plan.Subquery); ok {
			left = sq.Left
		} else if nt, ok := bound.(*plan.Not); ok {
			if sq, ok := nt.Input.(*plan.Subquery); ok {
				left = sq.Left
			}
		}
		if err := d.coercedIn(sb, sl.Testexpr, left, true, parOther); err != nil {
			return err
		}
		op := operatorName(sl.OperName)
		if op == "" {
			op = "="
		}
		switch {
		case sl.SubLinkType == pg.SubLinkType_ANY_SUBLINK && op == "=":
			sb.WriteString(" IN ")
		case sl.SubLinkType == pg.SubLinkType_ANY_SUBLINK:
			sb.WriteString(" " + op + " ANY ")
		default:
			sb.WriteString(" " + op + " ALL ")
		}
	case pg.SubLinkType_EXPR_SUBLINK, pg.SubLinkType_ARRAY_SUBLINK:
		paren = false
	default:
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing this subquery is not supported")
	}
	if paren {
		sb.WriteByte('(')
	}
	if err := d.query(sb, sel); err != nil {
		return err
	}
	if paren {
		sb.WriteString("))")
	} else {
		sb.WriteByte(')')
	}
	return nil
}
