package planner

// Function, aggregate and window calls as PostgreSQL prints them:
// name(args) with the casts the chosen signature puts on the arguments;
// count(*), DISTINCT, ORDER BY and FILTER (WHERE ...) of an aggregate;
// OVER with the window's name or its PARTITION BY, ORDER BY and frame;
// and the functions the grammar gives a syntax of their own (EXTRACT,
// SUBSTRING, POSITION, TRIM, OVERLAY, AT TIME ZONE), which ruleutils.c's
// get_func_sql_syntax prints in that syntax when they were written so.

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/types"
	"streamsql/udf"
)

// aggCallRef is what an aggregate call binds to while printing: its
// result type and its arguments with the casts its signature puts on
// them.
type aggCallRef struct {
	plan.Extension
	t    types.T
	args []plan.Scalar
}

func (x *aggCallRef) Type() types.T  { return x.t }
func (x *aggCallRef) String() string { return "aggregate()" }

// aggregateHook binds aggregate and window calls, which the scalar
// binder refuses, to their result type, so that the expressions around
// them (HAVING count(*) > 1) bind as the analyser typed them.
func (d *deparser) aggregateHook(b *exprBinder) exprHook {
	return func(n *pg.Node) (plan.Scalar, bool, error) {
		fc := n.GetFuncCall()
		if fc == nil || fc.Over == nil && !d.p.isAggregateCall(fc) {
			return nil, false, nil
		}
		name := funcName(fc.Funcname)
		if fc.Over != nil && udf.IsWindowOnly(name) {
			w := &windowContext{p: d.p, defs: d.windows}
			e, err := w.bindCall(b, fc)
			return e, true, err
		}
		argNodes := fc.Args
		if fc.AggWithinGroup && len(fc.AggOrder) == 1 {
			argNodes = append(append([]*pg.Node{}, fc.Args...), fc.AggOrder[0].GetSortBy().Node)
		}
		var args []plan.Scalar
		var ts []types.T
		if !fc.AggStar {
			for _, a := range argNodes {
				e, err := b.bind(a)
				if err != nil {
					return nil, true, err
				}
				args, ts = append(args, e), append(ts, e.Type())
			}
		}
		fn, argTypes, err := d.p.lookupAggregate(fc.Funcname, ts, fc.FuncVariadic, 0)
		if err != nil {
			return nil, true, err
		}
		if err := d.p.coerceArgs(args, ts, argTypes, 0); err != nil {
			return nil, true, err
		}
		return &aggCallRef{t: fn.ResultType(ts), args: args}, true, nil
	}
}

// funcCall prints a function, aggregate or window call.
func (d *deparser) funcCall(sb *strings.Builder, n *pg.Node) error {
	fc := n.GetFuncCall()
	var args []plan.Scalar
	bound, err := d.bind(n)
	if err != nil {
		return err
	}
	switch b := bound.(type) {
	case *plan.Call:
		args = b.Args
	case *aggCallRef:
		args = b.args
	}
	name := fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval()
	if fc.Funcformat == pg.CoercionForm_COERCE_SQL_SYNTAX {
		if ok, err := d.sqlSyntaxCall(sb, fc, name, args); ok || err != nil {
			return err
		}
	}
	if len(args) != len(fc.Args) {
		args = nil
	}
	sb.WriteString(udf.QuoteIdent(name) + "(")
	if fc.AggDistinct {
		sb.WriteString("DISTINCT ")
	}
	switch {
	case fc.AggStar:
		sb.WriteByte('*')
	case fc.AggWithinGroup:
		if err := d.args(sb, fc.Args, args, ") WITHIN GROUP (ORDER BY "); err != nil {
			return err
		}
		if err := d.aggOrder(sb, fc.AggOrder); err != nil {
			return err
		}
	default:
		if err := d.args(sb, fc.Args, args, ""); err != nil {
			return err
		}
		if len(fc.AggOrder) > 0 {
			sb.WriteString(" ORDER BY ")
			if err := d.aggOrder(sb, fc.AggOrder); err != nil {
				return err
			}
		}
	}
	if fc.AggFilter != nil {
		sb.WriteString(") FILTER (WHERE ")
		if err := d.child(sb, fc.AggFilter, parent{}); err != nil {
			return err
		}
	}
	sb.WriteByte(')')
	if fc.Over != nil {
		sb.WriteString(" OVER ")
		w := fc.Over
		if w.Name != "" && w.Refname == "" && len(w.PartitionClause) == 0 && len(w.OrderClause) == 0 && w.FrameOptions&frameNonDefault == 0 {
			sb.WriteString(udf.QuoteIdent(w.Name))
			return nil
		}
		return d.windowSpec(sb, w)
	}
	return nil
}

// aggOrder prints an aggregate's ORDER BY items.
func (d *deparser) aggOrder(sb *strings.Builder, items []*pg.Node) error {
	for i, it := range items {
		s := it.GetSortBy()
		if i > 0 {
			sb.WriteString(", ")
		}
		if err := d.sortGroupItem(sb, s.Node); err != nil {
			return err
		}
		writeSortDirection(sb, s)
	}
	return nil
}

// windowSpec prints a window's definition (get_rule_windowspec): the
// window it refines, PARTITION BY, ORDER BY and a frame other than the
// default.
func (d *deparser) windowSpec(sb *strings.Builder, w *pg.WindowDef) error {
	sb.WriteByte('(')
	space := false
	sep := func() {
		if space {
			sb.WriteByte(' ')
		}
		space = true
	}
	if w.Refname != "" {
		sep()
		sb.WriteString(udf.QuoteIdent(w.Refname))
	}
	if len(w.PartitionClause) > 0 && w.Refname == "" {
		sep()
		sb.WriteString("PARTITION BY ")
		for i, p := range w.PartitionClause {
			if i > 0 {
				sb.WriteString(", ")
			}
			if err := d.sortGroupItem(sb, p); err != nil {
				return err
			}
		}
	}
	if len(w.OrderClause) > 0 {
		sep()
		sb.WriteString("ORDER BY ")
		if err := d.aggOrder(sb, w.OrderClause); err != nil {
			return err
		}
	}
	if o := w.FrameOptions; o&frameNonDefault != 0 {
		sep()
		sb.WriteString(frameWord(o, "GROUPS ", frameBit{frameRange, "RANGE "}, frameBit{frameRows, "ROWS "}))
		const frameBetween = 0x00010
		if o&frameBetween != 0 {
			sb.WriteString("BETWEEN ")
		}
		// bound writes the frame's start, or with shift 1 its end (whose
		// option bits are the start's shifted left by one).
		bound := func(shift uint, off *pg.Node) error {
			if w := frameWord(o, "", frameBit{frameStartUnbPreceding << shift, "UNBOUNDED PRECEDING "},
				frameBit{frameStartUnbFollowing << shift, "UNBOUNDED FOLLOWING "}, frameBit{frameStartCurrentRow << shift, "CURRENT ROW "}); w != "" {
				sb.WriteString(w)
				return nil
			}
			if o&((frameStartOffPreceding|frameStartOffFollowing)<<shift) == 0 {
				return nil
			}
			if err := d.child(sb, off, parent{}); err != nil {
				return err
			}
			sb.WriteString(frameWord(o, " FOLLOWING ", frameBit{frameStartOffPreceding << shift, " PRECEDING "}))
			return nil
		}
		if err := bound(0, w.StartOffset); err != nil {
			return err
		}
		if o&frameBetween != 0 {
			sb.WriteString("AND ")
			if err := bound(1, w.EndOffset); err != nil {
				return err
			}
		}
		const frameExcludeGroup, frameExcludeTies = 0x10000, 0x20000
		sb.WriteString(frameWord(o, "", frameBit{frameExcludeCurrentRow, "EXCLUDE CURRENT ROW "},
			frameBit{frameExcludeGroup, "EXCLUDE GROUP "}, frameBit{frameExcludeTies, "EXCLUDE TIES "}))
		trimSpaces(sb)
	}
	sb.WriteByte(')')
	return nil
}

// sqlSyntaxCall prints a call written in the grammar's own syntax the
// way get_func_sql_syntax does, its arguments without their implicit
// casts; ok is false for a call PostgreSQL prints as name(args) (the
// regular-expression SUBSTRING(x FROM 'pattern')).
func (d *deparser) sqlSyntaxCall(sb *strings.Builder, fc *pg.FuncCall, name string, args []plan.Scalar) (ok bool, err error) {
	nodes := fc.Args
	if len(args) != len(nodes) {
		args = make([]plan.Scalar, len(nodes))
	}
	arg := func(i int) error { return d.coercedIn(sb, nodes[i], args[i], false, parOther) }
	seq := func(parts ...any) (bool, error) {
		for _, p := range parts {
			switch p := p.(type) {
			case string:
				sb.WriteString(p)
			case int:
				if err := arg(p); err != nil {
					return true, err
				}
			}
		}
		return true, nil
	}
	textArg := func(i int) bool {
		return args[i] != nil && (args[i].Type().Kind == types.Text || args[i].Type().Kind == types.Varchar)
	}
	switch {
	case name == "extract" && len(nodes) == 2 && nodes[0].GetAConst() != nil:
		return seq("EXTRACT("+nodes[0].GetAConst().GetSval().GetSval()+" FROM ", 1, ")")
	case name == "timezone" && len(nodes) == 2:
		return seq("(", 1, " AT TIME ZONE ", 0, ")")
	case name == "substring" && len(nodes) == 3 && textArg(1):
		return seq("SUBSTRING(", 0, " SIMILAR ", 1, " ESCAPE ", 2, ")")
	case name == "substring" && len(nodes) == 3 && !textArg(1):
		return seq("SUBSTRING(", 0, " FROM ", 1, " FOR ", 2, ")")
	case name == "substring" && len(nodes) == 2 && !textArg(1):
		return seq("SUBSTRING(", 0, " FROM ", 1, ")")
	case name == "position" && len(nodes) == 2:
		return seq("POSITION((", 1, ") IN (", 0, "))")
	case name == "overlay" && len(nodes) == 4:
		return seq("OVERLAY(", 0, " PLACING ", 1, " FROM ", 2, " FOR ", 3, ")")
	case name == "overlay" && len(nodes) == 3:
		return seq("OVERLAY(", 0, " PLACING ", 1, " FROM ", 2, ")")
	case (name == "btrim" || name == "ltrim" || name == "rtrim") && (len(nodes) == 1 || len(nodes) == 2):
		side := map[string]string{"btrim": "BOTH", "ltrim": "LEADING", "rtrim": "TRAILING"}[name]
		if len(nodes) == 2 {
			return seq("TRIM("+side+" ", 1, " FROM ", 0, ")")
		}
		return seq("TRIM("+side+" FROM ", 0, ")")
	}
	return false, nil
}

// frameBit is a window frame option bit and the SQL it prints.
type frameBit struct {
	bit  int32
	word string
}

// frameWord returns the word of the first of bits that options o set, or
// otherwise.
func frameWord(o int32, otherwise string, bits ...frameBit) string {
	for _, b := range bits {
		if o&b.bit != 0 {
			return b.word
		}
	}
	return otherwise
}
