package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// WITH RECURSIVE.
//
// A recursive query has the form "non-recursive term UNION [ALL]
// recursive term", and only the recursive term names the query itself. The
// non-recursive term is planned first and fixes the column types; the
// recursive term is then planned with its self-reference bound to a
// WorkTableScan of a working table, which a RecursiveUnion refills with
// each run's rows (sql/plan/recursive.go; exec/batch/recursive_union.go
// runs it). A query of WITH RECURSIVE that never names itself is an
// ordinary WITH query.

// recTerm is the state of a recursive term while it is planned.
type recTerm struct {
	work   *plan.WorkTable
	cols   []column
	parent *scope // the parent of the term's own scope: deeper is a subquery
	refs   int
}

// planCTE plans a reference to a WITH query.
func (p *Planner) planCTE(def *cteDef, rv *pg.RangeVar, sc *scope) (*relPlan, error) {
	if def.rec != nil {
		return p.recursiveRef(def, rv, sc)
	}
	if def.planning {
		return nil, sqlerr.New(sqlerr.InvalidRecursion, "recursive query %q does not have the form non-recursive-term UNION [ALL] recursive-term", def.name).WithPosition(p.pos(def.loc))
	}
	if def.recursive && def.query.Op == pg.SetOperation_SETOP_UNION {
		rel, isRec, err := p.planRecursive(def)
		if err != nil || isRec {
			return rel, err
		}
	}
	def.planning = true
	defer func() { def.planning = false }()
	return p.planSelect(def.query, &scope{parent: def.scope.parent, ctes: def.scope.ctes})
}

// recursiveRef plans the self-reference of a recursive term.
func (p *Planner) recursiveRef(def *cteDef, rv *pg.RangeVar, sc *scope) (*relPlan, error) {
	rt := def.rec
	if rt.work == nil {
		return nil, sqlerr.New(sqlerr.InvalidRecursion, "recursive reference to query %q must not appear within its non-recursive term", def.name).WithPosition(p.pos(rv.Location))
	}
	if sc.parent != rt.parent {
		return nil, sqlerr.New(sqlerr.InvalidRecursion, "recursive reference to query %q must not appear within a subquery", def.name).WithPosition(p.pos(rv.Location))
	}
	rt.refs++
	if rt.refs > 1 {
		return nil, sqlerr.New(sqlerr.InvalidRecursion, "recursive reference to query %q must not appear more than once", def.name).WithPosition(p.pos(rv.Location))
	}
	cols := make([]column, len(rt.cols))
	for i, c := range rt.cols {
		cols[i] = column{table: def.name, name: c.name, t: c.t}
	}
	return &relPlan{node: &plan.WorkTableScan{Work: rt.work}, cols: cols}, nil
}

// planRecursive plans a recursive UNION; isRec is false when the
// recursive term does not name the query (then it is planned as usual).
func (p *Planner) planRecursive(def *cteDef) (rel *relPlan, isRec bool, err error) {
	q := def.query
	if len(q.SortClause) > 0 {
		return nil, false, sqlerr.New(sqlerr.FeatureNotSupported, "ORDER BY in a recursive query is not implemented").WithPosition(p.pos(def.loc))
	}
	if q.LimitCount != nil || q.LimitOffset != nil {
		return nil, false, sqlerr.New(sqlerr.FeatureNotSupported, "OFFSET/LIMIT in a recursive query is not implemented").WithPosition(p.pos(def.loc))
	}
	rt := &recTerm{}
	def.rec = rt
	defer func() { def.rec = nil }()

	anchor, err := p.planSelect(q.Larg, &scope{parent: def.scope.parent, ctes: def.scope.ctes})
	if err != nil {
		return nil, false, err
	}
	anchor = visibleOnly(anchor)
	if len(def.colNames) > len(anchor.cols) {
		return nil, false, sqlerr.New(sqlerr.InvalidColumnReference, "WITH query %q has %d columns available but %d columns specified", def.name, len(anchor.cols), len(def.colNames)).WithPosition(p.pos(def.loc))
	}
	for i := range anchor.cols {
		if anchor.cols[i].t.Kind == types.Unknown {
			anchor.node = projectCast(anchor, i, types.TText)
		}
		if i < len(def.colNames) {
			anchor.cols[i].name = def.colNames[i]
		}
	}
	rt.cols = anchor.cols
	rt.work = &plan.WorkTable{Name: def.name, Types: typesOf(anchor.cols)}
	termScope := &scope{parent: def.scope.parent, ctes: def.scope.ctes}
	rt.parent = termScope.parent
	rec, err := p.planSelect(q.Rarg, termScope)
	if err != nil {
		return nil, false, err
	}
	if rt.refs == 0 {
		return nil, false, nil
	}
	rec = visibleOnly(rec)
	if len(rec.cols) != len(anchor.cols) {
		return nil, false, sqlerr.New(sqlerr.SyntaxError, "each UNION query must have the same number of columns").WithPosition(p.pos(def.loc))
	}
	exprs := make([]plan.Scalar, len(rec.cols))
	for i, c := range rec.cols {
		at := anchor.cols[i].t
		ct, err := udf.CommonType([]types.T{at, c.t}, "UNION")
		if err != nil {
			return nil, false, err
		}
		if !ct.Equal(at) {
			return nil, false, sqlerr.New(sqlerr.DatatypeMismatch, "recursive query %q column %d has type %s in non-recursive term but type %s overall", def.name, i+1, at, ct).
				WithHint("Cast the output of the non-recursive term to the correct type.").WithPosition(p.pos(def.loc))
		}
		if exprs[i], err = p.coerce(&plan.ColRef{Idx: i, T: c.t, Name: c.name}, at, 0); err != nil {
			return nil, false, err
		}
	}
	node := &plan.RecursiveUnion{Anchor: anchor.node, Recursive: &plan.Project{Input: rec.node, Exprs: exprs},
		Work: rt.work, All: q.All}
	cols := make([]column, len(anchor.cols))
	for i, c := range anchor.cols {
		cols[i] = column{name: c.name, t: c.t}
	}
	return &relPlan{node: node, cols: cols}, true, nil
}

// visibleOnly drops a relation's hidden columns (ORDER BY keys).
func visibleOnly(rel *relPlan) *relPlan {
	if rel.visibleCount() == len(rel.cols) {
		return rel
	}
	return renameRel(rel, "", nil)
}
