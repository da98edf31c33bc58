package planner

// Window table functions in FROM: tumble(rel, ts, size [, offset]),
// hop(rel, ts, slide, size [, offset]), cumulate(rel, ts, step,
// max_size [, offset]) and session(rel, ts, gap) (session_window.go). PostgreSQL's grammar reads them as an ordinary
// function call whose first argument is a column reference; here that
// reference names a relation (table, view, materialized view or CTE), the
// second a time column of it, and the rest are interval constants. The
// result is the relation's columns followed by window_start and
// window_end, qualified by the relation's name or the call's alias.

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/exec/batch"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// windowTVFKind recognizes the name of a window table function.
func windowTVFKind(name string) (batch.WindowKind, bool) {
	switch name {
	case "tumble":
		return batch.TumbleWindow, true
	case "hop":
		return batch.HopWindow, true
	case "cumulate":
		return batch.CumulateWindow, true
	case "session":
		return batch.SessionWindow, true
	}
	return 0, false
}

// windowTVFArgs names the interval arguments of each function, for errors.
var windowTVFArgs = map[batch.WindowKind][]string{
	batch.TumbleWindow:   {"size"},
	batch.HopWindow:      {"slide", "size"},
	batch.CumulateWindow: {"step", "max_size"},
}

// planWindowTVF plans a window table function call in FROM.
func (p *Planner) planWindowTVF(rf *pg.RangeFunction, fc *pg.FuncCall, kind batch.WindowKind, sc *scope) (*fromItem, error) {
	if kind == batch.SessionWindow {
		return p.planSession(rf, fc, sc)
	}
	pos := p.pos(fc.Location)
	names := windowTVFArgs[kind]
	if len(fc.Args) < 2+len(names) || len(fc.Args) > 3+len(names) {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "%s takes a relation, a time column, %s and an optional offset, not %d arguments", kind, strings.Join(names, ", "), len(fc.Args)).WithPosition(pos)
	}
	if rf.Ordinality {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "WITH ORDINALITY is not supported for %s", kind).WithPosition(pos)
	}
	rv, err := p.windowTVFRelation(fc.Args[0], kind)
	if err != nil {
		return nil, err
	}
	in, err := p.planRangeVar(rv, sc)
	if err != nil {
		return nil, err
	}
	for _, c := range in.rel.cols {
		if !c.hidden && (c.name == "window_start" || c.name == "window_end") {
			return nil, sqlerr.New(sqlerr.DuplicateColumn, "column %q of %q conflicts with the column %s adds", c.name, rv.Relname, kind).
				WithHint("Rename the column in a view or CTE.").WithPosition(pos)
		}
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

	// The durations.
	vals := make([]int64, 3)
	known := true
	for i, a := range fc.Args[2:] {
		what := "offset"
		if i < len(names) {
			what = names[i]
		}
		v, ok, err := p.windowInterval(a, kind, what)
		if err != nil {
			return nil, err
		}
		known = known && ok
		vals[i] = v
	}
	params := batch.WindowTVFParams{Kind: kind, TSCol: ref.Idx, TSType: ref.T}
	switch kind {
	case batch.TumbleWindow:
		params.Slide, params.Size, params.Offset = vals[0], vals[0], vals[1]
	default:
		params.Slide, params.Size, params.Offset = vals[0], vals[1], vals[2]
	}
	if !known {
		// A parameter whose value is not known yet (Describe): the plan
		// only needs to be well formed; it is planned again with values.
		params.Slide, params.Size, params.Offset = types.MicrosPerDay, types.MicrosPerDay, 0
	}
	if err := params.Validate(); err != nil {
		return nil, withPos(err, pos)
	}

	inOp, err := p.op(in.rel)
	if err != nil {
		return nil, err
	}
	op := batch.NewWindowTVF(inOp, kind, params.TSCol, params.TSType, params.Slide, params.Size, params.Offset)
	table := rv.Relname
	cols := append([]column{}, in.rel.cols...)
	cols = append(cols,
		column{table: table, name: "window_start", t: params.TSType},
		column{table: table, name: "window_end", t: params.TSType})
	rel := &relPlan{node: built(op), cols: cols}
	if rf.Alias != nil {
		rel = renameRel(rel, rf.Alias.Aliasname, rf.Alias)
	}
	return &fromItem{rel: rel}, nil
}

// windowTVFRelation reads the first argument, a possibly schema-qualified
// relation name written as a column reference.
func (p *Planner) windowTVFRelation(n *pg.Node, kind batch.WindowKind) (*pg.RangeVar, error) {
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

// windowInterval evaluates a window duration argument to microseconds.
// ok is false for a parameter whose value is not known yet.
func (p *Planner) windowInterval(n *pg.Node, wk batch.WindowKind, what string) (us int64, ok bool, err error) {
	kind := windowFuncName(wk)
	pos := p.pos(nodeLocation(n, -1))
	e, err := p.binder(&scope{}, "FROM").bind(windowIntervalNode(n))
	if err != nil {
		return 0, false, err
	}
	bound := e
	if e, err = p.coerce(bound, types.TInterval, pos); err != nil {
		return 0, false, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must be an interval, not %s", kind, what, bound.Type()).WithPosition(pos)
	}
	v, known := p.foldValue(e)
	if mentionsParam(e) {
		p.Custom = true
	}
	if !known {
		if _, isParam := e.(*plan.Param); isParam && p.ParamValues == nil {
			return 0, false, nil
		}
		return 0, false, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must be a constant interval", kind, what).WithPosition(pos)
	}
	if v == nil {
		return 0, false, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must not be NULL", kind, what).WithPosition(pos)
	}
	iv := v.(types.IntervalValue)
	if iv.Months != 0 {
		return 0, false, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must not contain months or years", kind, what).
			WithDetail("A month has no fixed length; use days instead.").WithPosition(pos)
	}
	const maxDays = 100_000_000 // far above any valid window, far below overflow
	if iv.Days > maxDays || iv.Days < -maxDays {
		return 0, false, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s is too large", kind, what).WithPosition(pos)
	}
	return int64(iv.Days)*types.MicrosPerDay + iv.Micros, true, nil
}

// windowFuncName names a window table function in messages.
func windowFuncName(k batch.WindowKind) string {
	if k == batch.SessionWindow {
		return "session"
	}
	return k.String()
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
	var unit string
	switch m := iv.Ival.Ival; {
	case m&intervalSecond != 0:
		unit = "second"
	case m&intervalMinute != 0:
		unit = "minute"
	case m&intervalHour != 0:
		unit = "hour"
	case m&intervalDay != 0:
		unit = "day"
	case m&intervalMonth != 0:
		unit = "month"
	case m&intervalYear != 0:
		unit = "year"
	default:
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
