package planner

// Window table functions in FROM: tumble(rel, ts, size [, offset]),
// hop(rel, ts, slide, size [, offset]), cumulate(rel, ts, step,
// max_size [, offset]) and session(rel, ts, gap) (session_window.go).
// PostgreSQL's grammar reads them as an ordinary function call whose
// first argument is a column reference; here that reference names a
// relation (table, view, materialized view or CTE), the second a time
// column of it, and the rest are intervals made of constants and
// parameters. The result is the relation's columns followed by
// window_start and window_end, qualified by the relation's name or the
// call's alias.
//
// The call becomes a plan.WindowTVF (plan.SessionWindow for session)
// whose durations are interval scalars of constants and parameters; they
// are evaluated when the operator opens, so a size given as $1 needs no
// plan of its own per argument.

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// windowTVFKind recognizes the name of a window table function.
func windowTVFKind(name string) (plan.WindowKind, bool) {
	switch name {
	case "tumble":
		return plan.TumbleWindow, true
	case "hop":
		return plan.HopWindow, true
	case "cumulate":
		return plan.CumulateWindow, true
	case "session":
		return plan.SessionWindowKind, true
	}
	return 0, false
}

// planWindowTVF plans a window table function call in FROM.
func (p *Planner) planWindowTVF(rf *pg.RangeFunction, fc *pg.FuncCall, kind plan.WindowKind, sc *scope) (*fromItem, error) {
	if kind == plan.SessionWindowKind {
		return p.planSession(rf, fc, sc)
	}
	pos := p.pos(fc.Location)
	names := kind.DurationNames()
	if len(fc.Args) < 2+len(names) || len(fc.Args) > 3+len(names) {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "%s takes a relation, a time column, %s and an optional offset, not %d arguments", kind, strings.Join(names, ", "), len(fc.Args)).WithPosition(pos)
	}
	rv, in, err := p.windowTVFInput(rf, fc, kind, sc, pos)
	if err != nil {
		return nil, err
	}

	// The time column: a plain column of the relation.
	cr := fc.Args[1].GetColumnRef()
	if cr == nil {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "the second argument of %s must be a column of %q", kind, rv.Relname).WithPosition(p.pos(nodeLocation(fc.Args[1], fc.Location)))
	}
	tsExpr, err := p.binder(&scope{cols: in.rel.cols}, "FROM").bind(fc.Args[1])
	if err != nil {
		return nil, err
	}
	ref, ok := tsExpr.(*plan.ColRef)
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "the second argument of %s must be a column of %q", kind, rv.Relname).WithPosition(p.pos(cr.Location))
	}
	if err := windowTimeType(kind, ref.T); err != nil {
		return nil, withPos(err, pos)
	}

	// The durations, evaluated when the operator opens.
	durs := make([]plan.Scalar, len(fc.Args)-2)
	for i, a := range fc.Args[2:] {
		what := "offset"
		if i < len(names) {
			what = names[i]
		}
		if durs[i], err = p.windowInterval(a, kind, what); err != nil {
			return nil, err
		}
	}
	node := &plan.WindowTVF{Input: in.rel.node, Kind: kind, TSCol: ref.Idx, TSType: ref.T}
	if kind == plan.TumbleWindow {
		node.Slide, node.Size = durs[0], durs[0]
		durs = durs[1:]
	} else {
		node.Slide, node.Size = durs[0], durs[1]
		durs = durs[2:]
	}
	if len(durs) > 0 {
		node.Offset = durs[0]
	}

	table := rv.Relname
	cols := append([]column{}, in.rel.cols...)
	cols = append(cols,
		column{table: table, name: "window_start", t: ref.T},
		column{table: table, name: "window_end", t: ref.T})
	rel := &relPlan{node: node, cols: cols}
	if rf.Alias != nil {
		rel = renameRel(rel, rf.Alias.Aliasname, rf.Alias)
	}
	return &fromItem{rel: rel}, nil
}

// windowTimeType checks the type of a window table function's time
// column (22023).
func windowTimeType(kind plan.WindowKind, t types.T) error {
	switch t.Kind {
	case types.TimestampKind, types.TimestampTZ:
		return nil
	}
	return sqlerr.New(sqlerr.InvalidParameterValue, "the time column of %s must be of type timestamp or timestamp with time zone, not %s", kind, t)
}

// windowTVFInput plans the relation a window table function reads, its
// first argument, refusing WITH ORDINALITY and a relation with a column
// named like those the function adds.
func (p *Planner) windowTVFInput(rf *pg.RangeFunction, fc *pg.FuncCall, kind plan.WindowKind, sc *scope, pos int) (*pg.RangeVar, *fromItem, error) {
	if rf.Ordinality {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "WITH ORDINALITY is not supported for %s", kind).WithPosition(pos)
	}
	rv, err := p.windowTVFRelation(fc.Args[0], kind)
	if err != nil {
		return nil, nil, err
	}
	in, err := p.planRangeVar(rv, sc)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range in.rel.cols {
		if !c.hidden && (c.name == "window_start" || c.name == "window_end") {
			return nil, nil, sqlerr.New(sqlerr.DuplicateColumn, "column %q of %q conflicts with the column %s adds", c.name, rv.Relname, kind).
				WithHint("Rename the column in a view or CTE.").WithPosition(pos)
		}
	}
	return rv, in, nil
}

// windowTVFRelation reads the first argument, a possibly schema-qualified
// relation name written as a column reference.
func (p *Planner) windowTVFRelation(n *pg.Node, kind plan.WindowKind) (*pg.RangeVar, error) {
	cr := n.GetColumnRef()
	var parts []string
	if cr != nil {
		for _, f := range cr.Fields {
			if f.GetString_() == nil {
				parts = nil
				break
			}
			parts = append(parts, f.GetString_().Sval)
		}
	}
	if len(parts) == 0 || len(parts) > 2 {
		loc := int32(-1)
		if cr != nil {
			loc = cr.Location
		}
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "the first argument of %s must be the name of a table, view, source or CTE", kind).
			WithHint("Use a CTE or a view to window a subquery or a join.").WithPosition(p.pos(nodeLocation(n, loc)))
	}
	rv := &pg.RangeVar{Relname: parts[len(parts)-1], Inh: true, Location: cr.Location}
	if len(parts) == 2 {
		rv.Schemaname = parts[0]
	}
	return rv, nil
}

// nodeLocation returns the location of a few expression nodes, or def.
func nodeLocation(n *pg.Node, def int32) int32 {
	switch {
	case n.GetColumnRef() != nil:
		return n.GetColumnRef().Location
	case n.GetAConst() != nil:
		return n.GetAConst().Location
	case n.GetTypeCast() != nil:
		if tc := n.GetTypeCast(); tc.Location >= 0 || tc.Arg == nil {
			return tc.Location
		}
		return nodeLocation(n.GetTypeCast().Arg, def)
	case n.GetFuncCall() != nil:
		return n.GetFuncCall().Location
	}
	return def
}

// PostgreSQL's interval field bits (INTERVAL_MASK in datetime.h) as they
// appear in the first type modifier of INTERVAL 'n' unit.
const (
	intervalMonth  = 1 << 1
	intervalYear   = 1 << 2
	intervalDay    = 1 << 3
	intervalHour   = 1 << 10
	intervalMinute = 1 << 11
	intervalSecond = 1 << 12
)

// intervalFieldUnits name the interval fields, smallest first: a bare
// number in INTERVAL 'n' HOUR TO MINUTE counts the smallest field named.
var intervalFieldUnits = []struct {
	mask int32
	name string
}{
	{intervalSecond, "second"}, {intervalMinute, "minute"}, {intervalHour, "hour"},
	{intervalDay, "day"}, {intervalMonth, "month"}, {intervalYear, "year"},
}

// windowInterval binds a window duration argument: an interval made of
// constants and parameters (an immutable function of them included),
// which the operator evaluates when it opens.
func (p *Planner) windowInterval(n *pg.Node, kind plan.WindowKind, what string) (plan.Scalar, error) {
	pos := p.pos(nodeLocation(n, -1))
	e, err := p.binder(&scope{}, "FROM").bind(windowIntervalNode(n))
	if err != nil {
		return nil, err
	}
	bound := e
	if e, err = p.coerce(bound, types.TInterval, pos); err != nil {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must be an interval, not %s", kind, what, bound.Type()).WithPosition(pos)
	}
	if !paramFoldable(e) {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must be a constant interval", kind, what).WithPosition(pos)
	}
	return e, nil
}

// windowIntervalNode applies the field of INTERVAL '30' MINUTE to a bare
// number ('30' is 30 minutes, not 30 seconds) by rewriting the literal to
// '30 minute'; anything else is bound as written.
func windowIntervalNode(n *pg.Node) *pg.Node {
	tc := n.GetTypeCast()
	if tc == nil || tc.TypeName == nil || len(tc.TypeName.Typmods) == 0 || tc.Arg.GetAConst() == nil {
		return n
	}
	tn := tc.TypeName.Names
	if len(tn) == 0 || tn[len(tn)-1].GetString_().GetSval() != "interval" {
		return n
	}
	sv, isStr := tc.Arg.GetAConst().Val.(*pg.A_Const_Sval)
	mod := tc.TypeName.Typmods[0].GetAConst()
	if !isStr || mod == nil || !isBareNumber(sv.Sval.Sval) {
		return n
	}
	iv, isInt := mod.Val.(*pg.A_Const_Ival)
	if !isInt {
		return n
	}
	unit := ""
	for _, u := range intervalFieldUnits {
		if iv.Ival.Ival&u.mask != 0 {
			unit = u.name
			break
		}
	}
	if unit == "" {
		return n
	}
	c := &pg.A_Const{Val: &pg.A_Const_Sval{Sval: &pg.String{Sval: strings.TrimSpace(sv.Sval.Sval) + " " + unit}}, Location: tc.Arg.GetAConst().Location}
	return &pg.Node{Node: &pg.Node_TypeCast{TypeCast: &pg.TypeCast{Arg: &pg.Node{Node: &pg.Node_AConst{AConst: c}}, TypeName: tc.TypeName, Location: tc.Location}}}
}

// isBareNumber reports whether s is a signed decimal number without unit.
func isBareNumber(s string) bool {
	s = strings.TrimSpace(s)
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}
