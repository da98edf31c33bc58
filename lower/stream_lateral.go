package lower

import (
	"slices"

	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// A set-returning function in FROM that reads the row before it
//
//	SELECT t.id, x FROM t CROSS JOIN unnest(t.arr) AS x
//	SELECT t.id, x FROM t, LATERAL generate_series(1, t.n) AS x
//
// is a lateral join of t with the function: every row of t joins the
// rows the function returns for it. In a view that is a StreamProjectSet
// over t (as for a set-returning function in the select list): each row
// expands to the function's rows and a delete retracts exactly the rows
// its insert produced, so nothing is stored. The stream key is t's key
// plus the row's position in its expansion. LEFT JOIN LATERAL f(...) ON
// true is the same expansion, outer: a row for which the function returns
// no rows gives one row with NULLs (ordinal -1, WITH ORDINALITY NULL).
// With ON cond, the expansion keeps the function rows that pass cond and
// pads a row none of whose rows pass; the ON condition's equalities are
// conditions like the others (a filter after an inner expansion).

// lateralFunction plans an inner lateral join whose right side is a
// table function (of one column or several); ok is false for other
// lateral joins.
func (sp *streamPlanner) lateralFunction(j *plan.Join) (n *stream.Node, m []int, ok bool, err error) {
	// Filters on the function's rows (pushed down into the right side)
	// apply to the joined rows.
	right := j.Right
	var conds []plan.Scalar
	lw := len(j.Left.OutputTypes())
	for {
		if pr, ok := right.(*plan.Project); ok && passesThrough(pr) {
			// The columns as they are (an inlined SQL function's body
			// over the call).
			right = pr.Input
			continue
		}
		f, ok := right.(*plan.Filter)
		if !ok {
			break
		}
		conds = append(conds, plan.Rewrite(f.Pred, func(x plan.Scalar) (plan.Scalar, bool) {
			switch c := x.(type) {
			case *plan.ColRef:
				return &plan.ColRef{Idx: lw + c.Idx, T: c.T, Name: c.Name}, true
			case *plan.OuterRef:
				if c.Depth == 1 {
					return &plan.ColRef{Idx: c.Idx, T: c.T, Name: c.Name}, true
				}
			}
			return nil, false
		}))
		right = f.Input
	}
	tf, isFn := right.(*plan.TableFunction)
	if !isFn {
		return nil, nil, false, nil
	}
	if j.Residual != nil {
		conds = append(conds, j.Residual)
	}
	cols := tf.OutputTypes()
	if tf.Ordinality {
		cols = cols[:len(cols)-1]
	}
	switch j.Kind {
	case plan.InnerJoin, plan.LeftJoin:
	default:
		return nil, nil, true, notIncremental("%s LATERAL joins", j.Kind)
	}
	// Equalities of the ON condition are conditions like the others.
	for i := range j.Keys.Left {
		eq, err := operator("=", j.Keys.Left[i], plan.ShiftCols(j.Keys.Right[i], lw))
		if err != nil {
			return nil, nil, true, err
		}
		conds = append(conds, eq)
	}
	child, cm, err := sp.convert(j.Left)
	if err != nil {
		return nil, nil, true, err
	}
	f := batch.SetFunc{Fn: tf.Fn, T: cols[0], More: cols[1:], ArgTypes: tf.ArgTypes()}
	for _, a := range tf.Args {
		// The outer row of the call is the join's left row.
		bad := false
		a = plan.Rewrite(a, func(x plan.Scalar) (plan.Scalar, bool) {
			if o, ok := x.(*plan.OuterRef); ok {
				if o.Depth != 1 {
					bad = true
					return nil, false
				}
				return &plan.ColRef{Idx: o.Idx, T: o.T, Name: o.Name}, true
			}
			return nil, false
		})
		if bad {
			return nil, nil, true, notIncremental("LATERAL calls that read an enclosing query's row")
		}
		ra, err := remapProcTime(a, cm, child)
		if err != nil {
			return nil, nil, true, err
		}
		ca, err := sp.compiler.Compile(ra)
		if err != nil {
			return nil, nil, true, err
		}
		f.Args = append(f.Args, ca)
	}
	nIn, nf := len(child.Types), len(cols)
	names := slices.Clone(child.Names)
	for range cols {
		names = append(names, tf.Fn.Name)
	}
	spec := &stream.ProjectSetSpec{Funcs: []batch.SetFunc{f}, Outer: j.Kind == plan.LeftJoin}
	if spec.Outer && len(conds) > 0 {
		// LEFT JOIN LATERAL f(...) ON cond: the condition decides which
		// function rows join, before a row without any gets NULLs.
		if spec.On, err = sp.lateralOn(plan.AndAll(conds), cm, lw, nIn, len(cols)); err != nil {
			return nil, nil, true, err
		}
		conds = nil
	}
	n = &stream.Node{Spec: spec, Inputs: []*stream.Node{child},
		AppendOnly: child.AppendOnly,
		Types:      append(append(slices.Clone(child.Types), cols...), types.TInt8),
		Names:      append(names, "_ordinal"),
		StreamKey:  append(slices.Clone(child.StreamKey), nIn+nf), Watermarks: slices.Clone(child.Watermarks)}
	m = append([]int(nil), cm[:lw]...)
	for i := range nf {
		m = append(m, nIn+i)
	}
	if tf.Ordinality {
		// WITH ORDINALITY numbers the function's rows from 1; the
		// expansion's ordinal counts from 0.
		one := &plan.Const{Value: int64(1), T: types.TInt8}
		ord := &plan.ColRef{Idx: nIn + nf, T: types.TInt8, Name: "_ordinal"}
		plus, err := operator("+", ord, one)
		if err != nil {
			return nil, nil, true, err
		}
		if j.Kind == plan.LeftJoin {
			// The NULL row of an outer expansion (ordinal -1) has no
			// ordinality.
			valid, err := operator(">=", ord, &plan.Const{Value: int64(0), T: types.TInt8})
			if err != nil {
				return nil, nil, true, err
			}
			plus = &plan.Case{Whens: []plan.Scalar{valid}, Thens: []plan.Scalar{plus}, T: types.TInt8}
		}
		exprs := make([]plan.Scalar, 0, len(n.Types)+1)
		for i, t := range n.Types {
			exprs = append(exprs, &plan.ColRef{Idx: i, T: t, Name: n.Names[i]})
		}
		exprs = append(exprs, plus)
		if n, _, err = sp.project(n, identity(len(n.Types)), exprs); err != nil {
			return nil, nil, true, err
		}
		m = append(m, len(exprs)-1)
	}
	if len(conds) > 0 {
		if n, err = sp.filterConds(n, conds, m); err != nil {
			return nil, nil, true, err
		}
	}
	return n, m, true, nil
}

// passesThrough reports whether pr returns its input's columns unchanged.
func passesThrough(pr *plan.Project) bool {
	if len(pr.Exprs) != len(pr.Input.OutputTypes()) {
		return false
	}
	for i, e := range pr.Exprs {
		if c, ok := e.(*plan.ColRef); !ok || c.Idx != i {
			return false
		}
	}
	return true
}

// lateralOn compiles the ON condition of LEFT JOIN LATERAL f(...) ON
// cond over the output of the expansion: cond reads the left row's lw
// columns (at cm), the function's nf columns (after the input's nIn) and
// WITH ORDINALITY's column, which is the expansion's ordinal plus one.
func (sp *streamPlanner) lateralOn(cond plan.Scalar, cm []int, lw, nIn, nf int) (expr.Expr, error) {
	ord := &plan.ColRef{Idx: nIn + nf, T: types.TInt8, Name: "_ordinal"}
	ordinality, err := operator("+", ord, &plan.Const{Value: int64(1), T: types.TInt8})
	if err != nil {
		return nil, err
	}
	on := plan.Rewrite(cond, func(x plan.Scalar) (plan.Scalar, bool) {
		c, ok := x.(*plan.ColRef)
		switch {
		case !ok:
			return nil, false
		case c.Idx < lw:
			return &plan.ColRef{Idx: cm[c.Idx], T: c.T, Name: c.Name}, true
		case c.Idx < lw+nf:
			return &plan.ColRef{Idx: nIn + c.Idx - lw, T: c.T, Name: c.Name}, true
		}
		return ordinality, true
	})
	if err := perRowError(on); err != nil {
		return nil, err
	}
	return sp.compiler.Compile(on)
}
