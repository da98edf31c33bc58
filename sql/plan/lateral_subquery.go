package plan

import (
	"slices"

	"streamsql/sql/types"
)

// Decorrelating a LATERAL subquery that computes per outer row: a GROUP
// BY, a DISTINCT, or an ORDER BY ... LIMIT (the top-N per row, and with
// LIMIT 1 the latest row per key) over a filter correlated with the row
// before it by equalities:
//
//	FROM t, LATERAL (SELECT u.v, max(u.x) FROM u WHERE u.k = t.k GROUP BY u.v) s
//	  ->  Join(t, Aggregate(u group by u.v, u.k), t.k = u.k)
//	FROM t, LATERAL (SELECT DISTINCT u.v FROM u WHERE u.k = t.k) s
//	  ->  Join(t, Distinct(u.v, u.k), t.k = u.k)
//	FROM t, LATERAL (SELECT * FROM u WHERE u.k = t.k ORDER BY u.ts DESC LIMIT 1) s
//	  ->  Join(t, row_number() OVER (PARTITION BY u.k ORDER BY u.ts DESC) <= 1, t.k = u.k)
//
// The correlation is pulled up through the subquery: the subquery's side
// of each equality becomes one more column that every operator above it
// carries (a group column of an aggregate, a column of the DISTINCT, the
// partition of the top-N), so the subquery computes once for every key
// what it computed for every outer row with that key; the join then
// hands each row of t the rows of its key. A row of t whose key is NULL
// gets no rows, as u.k = NULL holds for none. LEFT JOIN LATERAL gives a
// row of t without rows (or without rows that pass ON) NULLs, as
// PostgreSQL does: the ON condition becomes the join's, and select-list
// expressions that read t are NULL where the join found no row.
//
// OFFSET goes with LIMIT (rows ranked past it); WITH TIES ranks with
// rank() and takes no OFFSET. LIMIT without ORDER BY picks rows at
// random and is not rewritten, nor is anything whose correlation is not
// equalities in the filter under the subquery's operators, or whose
// operators other than the top projection read the outer row.

// DecorrelateLateralSubquery rewrites the lateral join j whose right side
// computes per outer row (see above) into a join with the correlation
// pulled up; ok is false when j is not of that form.
func DecorrelateLateralSubquery(j *Join) (Rel, bool) {
	if !j.Lateral || (j.Kind != InnerJoin && j.Kind != LeftJoin) || !j.Keys.Empty() {
		return nil, false
	}
	if j.Residual != nil && !movable(j.Residual) {
		return nil, false
	}
	lw := len(j.Left.OutputTypes())
	r := j.Right
	var top []Scalar
	if p, ok := r.(*Project); ok {
		for _, e := range p.Exprs {
			if !readsRowOnly(e) {
				return nil, false
			}
		}
		top, r = p.Exprs, p.Input
	}
	in, ok := pullCorrelation(r, lw)
	if !ok || len(in.outer) == 0 {
		return nil, false
	}
	ts := in.rel.OutputTypes()
	nj := &Join{Kind: j.Kind, Left: j.Left, Right: in.rel}
	for i, o := range in.outer {
		nj.Keys.Left = append(nj.Keys.Left, o)
		nj.Keys.Right = append(nj.Keys.Right, &ColRef{Idx: in.w + i, T: ts[in.w+i]})
	}
	// The subquery's columns over the join's.
	var cols []Scalar
	if top == nil {
		for i := range in.w {
			cols = append(cols, &ColRef{Idx: lw + i, T: ts[i]})
		}
	}
	for _, e := range top {
		cols = append(cols, Rewrite(e, func(x Scalar) (Scalar, bool) {
			switch c := x.(type) {
			case *OuterRef:
				return &ColRef{Idx: c.Idx, T: c.T, Name: c.Name}, true
			case *ColRef:
				return &ColRef{Idx: lw + c.Idx, T: c.T, Name: c.Name}, true
			}
			return nil, false
		}))
	}
	if j.Residual != nil {
		nj.Residual = overLateralColumns(j.Residual, lw, cols)
	}
	proj := columnRefs(j.Left.OutputTypes(), lw)
	// Under a left join, an expression NULL on the NULLs of a row without
	// match need not be; the first key column is NULL there and only
	// there (an equality never holds for NULL).
	matched := &IsNull{Input: &ColRef{Idx: lw + in.w, T: ts[in.w]}, Negate: true}
	for _, c := range cols {
		if _, isCol := c.(*ColRef); j.Kind == LeftJoin && !isCol {
			c = &Case{Whens: []Scalar{matched}, Thens: []Scalar{c}, Else: &Const{T: c.Type()}, T: c.Type()}
		}
		proj = append(proj, c)
	}
	return &Project{Input: nj, Exprs: proj}, true
}

// pulledSubquery is a LATERAL subquery's relation with its correlation
// pulled up: rel returns the subquery's w columns, then one column per
// correlation equality (the subquery's side of it); outer holds the other
// sides, over the outer row's columns.
type pulledSubquery struct {
	rel   Rel
	w     int
	outer []Scalar
}

// keyCols lists the key columns' positions in p.rel.
func (p pulledSubquery) keyCols() []int {
	out := make([]int, len(p.outer))
	for i := range out {
		out[i] = p.w + i
	}
	return out
}

// keyRefs references the key columns of p.rel.
func (p pulledSubquery) keyRefs() []Scalar {
	ts := p.rel.OutputTypes()
	out := make([]Scalar, len(p.outer))
	for i := range out {
		out[i] = &ColRef{Idx: p.w + i, T: ts[p.w+i]}
	}
	return out
}

// project is p under the projection exprs (over p's own columns), which
// carries the key columns along.
func (p pulledSubquery) project(exprs []Scalar) (pulledSubquery, bool) {
	for _, e := range exprs {
		if !movableOuter(e) {
			return p, false
		}
	}
	return pulledSubquery{rel: &Project{Input: p.rel, Exprs: append(slices.Clone(exprs), p.keyRefs()...)},
		w: len(exprs), outer: p.outer}, true
}

// pullCorrelation pulls the correlation of r, a LATERAL subquery's plan
// below its select list, up to its top (see the comment at the top of
// the file); lw is the outer row's width.
func pullCorrelation(r Rel, lw int) (pulledSubquery, bool) {
	var none pulledSubquery
	switch x := r.(type) {
	case *Filter:
		depth1, other := outerRefs(x.Pred)
		if other {
			return none, false
		}
		if !depth1 {
			// A filter above the correlation (HAVING, a WHERE over a
			// grouped subquery) keeps the key columns as they are.
			if !movable(x.Pred) {
				return none, false
			}
			in, ok := pullCorrelation(x.Input, lw)
			if !ok {
				return none, false
			}
			return pulledSubquery{rel: &Filter{Input: in.rel, Pred: x.Pred}, w: in.w, outer: in.outer}, true
		}
		if !lateralOuterFree(x.Input) {
			return none, false
		}
		xts := x.Input.OutputTypes()
		xw := len(xts)
		var keys EquiKeys
		var local []Scalar
		for _, c := range SplitAnd(x.Pred, nil) {
			depth1, other := outerRefs(c)
			switch {
			case other:
				return none, false
			case !depth1:
				local = append(local, c)
			case !keys.Add(toJoinCols(c, lw), lw, lw+xw):
				// Only equalities make a key the subquery can group by.
				return none, false
			}
		}
		right := x.Input
		if len(local) > 0 {
			right = &Filter{Input: right, Pred: AndAll(local)}
		}
		for _, k := range keys.Left {
			if !movable(k) {
				return none, false
			}
		}
		return pulledSubquery{rel: &Project{Input: right, Exprs: append(columnRefs(xts, xw), keys.Right...)},
			w: xw, outer: keys.Left}, true
	case *Project:
		in, ok := pullCorrelation(x.Input, lw)
		if !ok {
			return none, false
		}
		return in.project(x.Exprs)
	case *Aggregate:
		if len(x.GroupCols) == 0 {
			// One row per outer row also for no input rows: that is
			// DecorrelateLateralAggregate's left join, and only at the top.
			return none, false
		}
		in, ok := pullCorrelation(x.Input, lw)
		if !ok {
			return none, false
		}
		g, k := len(x.GroupCols), len(in.outer)
		agg := &Aggregate{Input: in.rel, GroupCols: append(slices.Clone(x.GroupCols), in.keyCols()...), Aggs: x.Aggs}
		// Its rows are the group columns, the keys, the aggregates: the
		// keys move last.
		ts := agg.OutputTypes()
		exprs := columnRefs(ts, g)
		for i := range x.Aggs {
			exprs = append(exprs, &ColRef{Idx: g + k + i, T: ts[g+k+i]})
		}
		for i := range k {
			exprs = append(exprs, &ColRef{Idx: g + i, T: ts[g+i]})
		}
		return pulledSubquery{rel: &Project{Input: agg, Exprs: exprs}, w: g + len(x.Aggs), outer: in.outer}, true
	case *Distinct:
		if x.On != nil {
			return none, false
		}
		in, ok := pullCorrelation(x.Input, lw)
		if !ok {
			return none, false
		}
		// Rows equal in every column and key: the same rows of the same
		// outer key.
		return pulledSubquery{rel: &Distinct{Input: in.rel}, w: in.w, outer: in.outer}, true
	case *Sort:
		// ORDER BY without LIMIT orders nothing a join keeps.
		return pullCorrelation(x.Input, lw)
	case *Limit:
		return pullLimit(x, lw)
	}
	return none, false
}

// pullLimit pulls the correlation through ORDER BY ... LIMIT n [OFFSET
// m]: the rows ranked m+1 to m+n by row_number() (rank() for WITH TIES)
// in the partition of their key, which the stream lowering plans as a
// group top-N.
func pullLimit(x *Limit, lw int) (pulledSubquery, bool) {
	var none pulledSubquery
	count, ok := constCount(x.Count)
	if !ok || count < 1 {
		return none, false
	}
	var offset int64
	if x.Offset != nil {
		if offset, ok = constCount(x.Offset); !ok || offset < 0 || (offset > 0 && x.WithTies) {
			return none, false
		}
	}
	// Projections between the limit and the sort apply after it.
	var projs [][]Scalar
	below := x.Input
	for {
		p, ok := below.(*Project)
		if !ok {
			break
		}
		projs = append(projs, p.Exprs)
		below = p.Input
	}
	s, ok := below.(*Sort)
	if !ok || len(s.Keys) == 0 {
		// LIMIT without ORDER BY keeps any n rows: no answer to follow.
		return none, false
	}
	in, ok := pullCorrelation(s.Input, lw)
	if !ok {
		return none, false
	}
	fn := "row_number"
	if x.WithTies {
		fn = "rank"
	}
	k := len(in.outer)
	w := &Window{Input: in.rel, Partition: in.keyCols(), Order: s.Keys,
		Funcs: []WindowCall{{Name: fn, T: types.TInt8, Filter: -1}}}
	rn := &ColRef{Idx: in.w + k, T: types.TInt8, Name: fn}
	pred, ok := operator("<=", rn, &Const{Value: count + offset, T: types.TInt8})
	if !ok {
		return none, false
	}
	if offset > 0 {
		past, ok := operator(">", rn, &Const{Value: offset, T: types.TInt8})
		if !ok {
			return none, false
		}
		pred = &And{Args: []Scalar{pred, past}}
	}
	cur := pulledSubquery{rel: &Project{Input: &Filter{Input: w, Pred: pred}, Exprs: columnRefs(in.rel.OutputTypes(), in.w+k)},
		w: in.w, outer: in.outer}
	for i := len(projs) - 1; i >= 0; i-- {
		if cur, ok = cur.project(projs[i]); !ok {
			return none, false
		}
	}
	return cur, true
}

// constCount reads a LIMIT or OFFSET that is an integer constant.
func constCount(e Scalar) (int64, bool) {
	c, ok := e.(*Const)
	if !ok {
		return 0, false
	}
	return IntValue(c.Value)
}

// IntValue reads an integer datum of any width (int2, int4, int8).
func IntValue(d any) (int64, bool) {
	switch v := d.(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int16:
		return int64(v), true
	}
	return 0, false
}
