package plan

// Decorrelating a LATERAL subquery that filters its relation by columns
// of the row before it:
//
//	FROM t, LATERAL (SELECT u.v, u.w + t.x AS y FROM u WHERE u.k = t.k AND u.v > 0) s
//	  ->  Project(t.*, u.v, u.w + t.x)(Join(t, Filter(u, u.v > 0), u.k = t.k))
//
// The subquery returns, for each row of t, the rows of u that satisfy its
// filter; the join returns the same pairs, reading u once. The same holds
// for LEFT JOIN LATERAL (a row of t without such rows gets NULLs). The
// subquery's relation below its top filter must read no outer row, and
// run nothing volatile; an aggregation, a LIMIT or a DISTINCT above the
// filter would compute per outer row and does not qualify.

// DecorrelateLateral rewrites the lateral join j whose right side is
// projections over a filter correlated with the left row into a plain
// join under a projection with the same columns; ok is false when j is
// not of that form.
func DecorrelateLateral(j *Join) (Rel, bool) {
	if !j.Lateral || (j.Kind != InnerJoin && j.Kind != LeftJoin) {
		return nil, false
	}
	if !j.Keys.Empty() || (j.Kind == LeftJoin && j.Residual != nil) {
		// An equality in ON would have to be rebuilt over the output;
		// a LEFT JOIN's ON condition decides which rows get NULLs.
		return nil, false
	}
	lw := len(j.Left.OutputTypes())
	// The projections, composed into one list over the filter's rows.
	out, r := composedProjects(j.Right)
	f, ok := r.(*Filter)
	if !ok || !lateralOuterFree(f.Input) {
		return nil, false
	}
	rw := len(f.Input.OutputTypes())
	if out == nil {
		out = make([]Scalar, rw)
		for i, t := range f.Input.OutputTypes() {
			out[i] = &ColRef{Idx: i, T: t}
		}
	}
	for _, e := range out {
		if _, other := outerRefs(e); other {
			return nil, false
		}
	}
	right, corr, ok := splitFilter(f, lw)
	if !ok || len(corr) == 0 {
		return nil, false
	}
	nj := splitSub{right: right, corr: corr, rw: rw}.join(j.Left, j.Kind, nil, lw)
	proj := make([]Scalar, 0, lw+len(out))
	for i, t := range j.Left.OutputTypes() {
		proj = append(proj, &ColRef{Idx: i, T: t})
	}
	for _, e := range out {
		proj = append(proj, toJoinCols(e, lw))
	}
	var res Rel = &Project{Input: nj, Exprs: proj}
	if j.Residual != nil {
		// The lateral join's own ON condition, over its output columns.
		res = &Filter{Input: res, Pred: j.Residual}
	}
	return res, true
}

// composedProjects composes the projections at the top of r into one list
// over the relation below them (nil when r is no projection).
func composedProjects(r Rel) ([]Scalar, Rel) {
	var out []Scalar
	for {
		p, ok := r.(*Project)
		if !ok {
			return out, r
		}
		if out == nil {
			out = p.Exprs
		} else {
			out = substitute(out, p.Exprs)
		}
		r = p.Input
	}
}

// substitute rewrites outer's column references through inner: the
// projection outer over the projection inner as one list.
func substitute(outer, inner []Scalar) []Scalar {
	out := make([]Scalar, len(outer))
	for i, e := range outer {
		out[i] = Rewrite(e, func(x Scalar) (Scalar, bool) {
			if c, ok := x.(*ColRef); ok {
				return inner[c.Idx], true
			}
			return nil, false
		})
	}
	return out
}

// lateralOuterFree is outerFree that also takes the logical scans of
// tables and sources as leaves: a scan reads no outer row unless its key
// bounds do.
func lateralOuterFree(r Rel) bool {
	switch x := r.(type) {
	case *Scan:
		return readsNoOuterRow(x.Bounds.Scalars()...)
	case *SourceScan:
		return true
	case *Filter, *Project, *Join, *Limit, *Sort, *Distinct, *SetOp, *Values:
		// The node's own scalars, as outerFree checks them, and its
		// inputs with scans as leaves.
		if j, ok := x.(*Join); ok && j.Lateral {
			return false
		}
		shallow := true
		for _, in := range Inputs(r) {
			shallow = shallow && lateralOuterFree(in)
		}
		return shallow && outerFreeNode(r)
	}
	return outerFree(r)
}

// outerFreeNode reports whether r's own scalars (not its inputs') read
// no outer row and run nothing volatile.
func outerFreeNode(r Rel) bool {
	var es []Scalar
	switch x := r.(type) {
	case *Values:
		for _, row := range x.Rows {
			es = append(es, row...)
		}
	case *Filter:
		es = append(es, x.Pred)
	case *Project:
		es = append(es, x.Exprs...)
	case *Limit:
		es = append(es, x.Count, x.Offset)
	case *Join:
		es = append(append(append(es, x.Keys.Left...), x.Keys.Right...), x.Residual)
	}
	return readsNoOuterRow(es...)
}

// DecorrelateLateralAggregate rewrites the lateral join j whose right side
// is an aggregate without GROUP BY over a filter correlated with the left
// row by equalities (under an optional HAVING and projection):
//
//	FROM t, LATERAL (SELECT sum(u.x) AS s, count(*) AS n FROM u WHERE u.k = t.k) a
//	  ->  Project(t.*, s, coalesce(n, 0))(LeftJoin(t, Aggregate(u group by u.k), t.k = u.k))
//
// Such a subquery returns exactly one row for every row of t: the
// aggregates of the matching rows of u, or of none (NULL, and 0 for
// count), as PostgreSQL computes them. The left join against the
// aggregate grouped by the correlation columns returns the same, reading
// u once; a row of t whose key is NULL matches no group, as u.k = NULL
// matches no row. A HAVING clause filters the joined rows of an inner
// lateral join; the join's own ON condition filters them too. Under LEFT
// JOIN LATERAL a row of t whose subquery row fails HAVING or ON keeps
// NULLs, so there both guard the subquery's columns instead. ok is false
// when j is not of that form.
func DecorrelateLateralAggregate(j *Join) (Rel, bool) {
	if !j.Lateral || (j.Kind != InnerJoin && j.Kind != LeftJoin) || !j.Keys.Empty() {
		return nil, false
	}
	lj, vals, having, ok := correlatedAggJoin(j.Left, j.Right)
	if !ok {
		return nil, false
	}
	lw := len(j.Left.OutputTypes())
	if j.Kind == LeftJoin && (having != nil || j.Residual != nil) {
		// The subquery returns its one row or, under HAVING, none; the
		// LEFT JOIN keeps the row of t with the subquery's row when HAVING
		// and ON both hold, with NULLs otherwise. The left join against
		// the grouped aggregate returns one row per row of t, so its
		// columns become CASE WHEN having AND on THEN value END.
		var conds []Scalar
		if having != nil {
			conds = append(conds, having)
		}
		if j.Residual != nil {
			if !movable(j.Residual) {
				return nil, false
			}
			conds = append(conds, overLateralColumns(j.Residual, lw, vals))
		}
		cond := AndAll(conds)
		proj := columnRefs(j.Left.OutputTypes(), lw)
		for _, v := range vals {
			proj = append(proj, &Case{Whens: []Scalar{cond}, Thens: []Scalar{v}, Else: &Const{T: v.Type()}, T: v.Type()})
		}
		return &Project{Input: lj, Exprs: proj}, true
	}
	var in Rel = lj
	if having != nil {
		in = &Filter{Input: lj, Pred: having}
	}
	proj := make([]Scalar, 0, lw+len(vals))
	for i, t := range j.Left.OutputTypes() {
		proj = append(proj, &ColRef{Idx: i, T: t})
	}
	proj = append(proj, vals...)
	var res Rel = &Project{Input: in, Exprs: proj}
	if j.Residual != nil {
		res = &Filter{Input: res, Pred: j.Residual}
	}
	return res, true
}

// overLateralColumns rewrites e, over a lateral join's columns (the lw
// left ones, then the subquery's), with the subquery's columns replaced
// by cols.
func overLateralColumns(e Scalar, lw int, cols []Scalar) Scalar {
	return Rewrite(e, func(x Scalar) (Scalar, bool) {
		if c, ok := x.(*ColRef); ok && c.Idx >= lw {
			return cols[c.Idx-lw], true
		}
		return nil, false
	})
}

// DecorrelateLateralProject rewrites a lateral join whose right side is
// values computed from the row before it alone (`LATERAL (SELECT f(t.x) AS
// y)`, or a function of one value in FROM: `FROM t, upper(t.s) u`) into a
// projection of the left side: each left row gains those values. The right
// side must be projections over a single VALUES row whose expressions read
// nothing but constants and the row before.
func DecorrelateLateralProject(j *Join) (Rel, bool) {
	if !j.Lateral || (j.Kind != InnerJoin && j.Kind != LeftJoin) || !j.Keys.Empty() ||
		(j.Kind == LeftJoin && j.Residual != nil) {
		return nil, false
	}
	out, r := composedProjects(j.Right)
	v, ok := r.(*Values)
	if !ok || len(v.Rows) != 1 {
		return nil, false
	}
	if out == nil {
		out = make([]Scalar, len(v.Types))
		for i, t := range v.Types {
			out[i] = &ColRef{Idx: i, T: t}
		}
	}
	out = substitute(out, v.Rows[0])
	lw := len(j.Left.OutputTypes())
	proj := columnRefs(j.Left.OutputTypes(), lw)
	for _, e := range out {
		if _, other := outerRefs(e); other || readsColumns(e) {
			return nil, false
		}
		proj = append(proj, toJoinCols(e, lw))
	}
	var res Rel = &Project{Input: j.Left, Exprs: proj}
	if j.Residual != nil {
		res = &Filter{Input: res, Pred: j.Residual}
	}
	return res, true
}

// readsColumns reports whether e reads a column of its own input or holds
// a subquery.
func readsColumns(e Scalar) (found bool) {
	Visit(e, func(x Scalar) {
		switch x.(type) {
		case *ColRef, *Subquery:
			found = true
		}
	})
	return found
}
