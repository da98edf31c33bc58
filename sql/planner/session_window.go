package planner

// SESSION(rel, ts, gap) in FROM: session windows per partition.
//
// A session belongs to a partition of the relation, and the partition is
// not an argument: it comes from the GROUP BY of the query whose FROM
// holds the SESSION call. Every GROUP BY expression that is a plain column
// of the SESSION relation (other than window_start and window_end) is a
// partition column; with no such column (no GROUP BY, or GROUP BY only the
// window columns) the whole relation is one partition. So
//
//	SELECT bidder, count(*), window_start, window_end
//	FROM SESSION(bid, date_time, INTERVAL '10' SECOND)
//	GROUP BY bidder, window_start, window_end
//
// counts the bids of each bidder's sessions. The FROM clause is planned
// before GROUP BY is bound, so planSession builds a plan.SessionWindow
// without a partition and planQuery calls bindSessionPartitions once the
// GROUP BY expressions are bound.
//
// In a materialized view SESSION must be aggregated with GROUP BY
// window_start and/or window_end: the aggregation and the sessions are
// maintained together by one StreamSessionAgg operator (sessionAgg).

import (
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// sessionCols names the columns of a SESSION call's relation as its query
// sees them (alias applied), so that bindSessionPartitions can find the
// GROUP BY columns among them. The planner keeps one per call whose
// partition is not bound yet.
type sessionCols struct {
	table string
	names []string
}

// planSession plans session(rel, ts, gap) in FROM.
func (p *Planner) planSession(rf *pg.RangeFunction, fc *pg.FuncCall, sc *scope) (*fromItem, error) {
	pos := p.pos(fc.Location)
	if len(fc.Args) != 3 {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "session takes a relation, a time column and a gap, not %d arguments", len(fc.Args)).WithPosition(pos)
	}
	rv, in, err := p.windowTVFInput(rf, fc, plan.SessionWindowKind, sc, pos)
	if err != nil {
		return nil, err
	}
	badTS := sqlerr.New(sqlerr.InvalidParameterValue, "the second argument of session must be a column of %q", rv.Relname).WithPosition(p.pos(nodeLocation(fc.Args[1], fc.Location)))
	if fc.Args[1].GetColumnRef() == nil {
		return nil, badTS
	}
	tsExpr, err := p.binder(&scope{cols: in.rel.cols}, "FROM").bind(fc.Args[1])
	if err != nil {
		return nil, err
	}
	ref, ok := tsExpr.(*plan.ColRef)
	if !ok {
		return nil, badTS
	}
	if err := windowTimeType(plan.SessionWindowKind, ref.T); err != nil {
		return nil, withPos(err, pos)
	}
	gap, err := p.windowInterval(fc.Args[2], plan.SessionWindowKind, "gap")
	if err != nil {
		return nil, err
	}
	node := &plan.SessionWindow{Input: in.rel.node, TSCol: ref.Idx, TSType: ref.T, Gap: gap}

	sn := sessionCols{table: rv.Relname}
	if rf.Alias != nil {
		sn.table = rf.Alias.Aliasname
	}
	visible := 0
	for _, c := range in.rel.cols {
		name := ""
		if !c.hidden {
			name = c.name
			if rf.Alias != nil && visible < len(rf.Alias.Colnames) {
				name = rf.Alias.Colnames[visible].GetString_().Sval
			}
			visible++
		}
		sn.names = append(sn.names, name)
	}
	if p.sessions == nil {
		p.sessions = map[*plan.SessionWindow]sessionCols{}
	}
	p.sessions[node] = sn

	cols := append([]column{}, in.rel.cols...)
	cols = append(cols,
		column{table: rv.Relname, name: "window_start", t: ref.T},
		column{table: rv.Relname, name: "window_end", t: ref.T})
	rel := &relPlan{node: node, cols: cols}
	if rf.Alias != nil {
		rel = renameRel(rel, rf.Alias.Aliasname, rf.Alias)
	}
	return &fromItem{rel: rel}, nil
}

// bindSessionPartitions sets the partition columns of the SESSION calls of
// one query level: cols are the FROM clause's columns and group the bound
// GROUP BY expressions (nil without GROUP BY). SESSION calls of nested
// queries were bound at their own level and are left alone.
func (p *Planner) bindSessionPartitions(from plan.Rel, cols []column, group []plan.Scalar) {
	if len(p.sessions) == 0 {
		return
	}
	var walk func(r plan.Rel)
	walk = func(r plan.Rel) {
		if s, ok := r.(*plan.SessionWindow); ok {
			if sn, unbound := p.sessions[s]; unbound {
				delete(p.sessions, s)
				s.Partition = sn.partition(cols, group)
			}
		}
		for _, in := range plan.Inputs(r) {
			walk(in)
		}
	}
	walk(from)
}

// partition returns the input columns of the call that are GROUP BY
// columns.
func (sn sessionCols) partition(cols []column, group []plan.Scalar) []int {
	var part []int
	for _, g := range group {
		ref, ok := g.(*plan.ColRef)
		if !ok || ref.Idx >= len(cols) {
			continue
		}
		c := cols[ref.Idx]
		if c.table != sn.table || c.name == "window_start" || c.name == "window_end" {
			continue
		}
		if i := slices.Index(sn.names, c.name); i >= 0 && !slices.Contains(part, i) {
			part = append(part, i)
		}
	}
	return part
}
