package lower

import (
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Set operations in views. UNION ALL is a union of the two changelogs
// (union in stream.go). The others count: both sides go through one
// union, each row tagged with its side, into a hash aggregation grouped
// by every column that counts, per distinct row, how many copies each
// side holds (l and r). What the view keeps of a row follows from its
// two counts alone, as PostgreSQL defines them (NULLs are equal here):
//
//	UNION          l + r > 0  (the aggregation's groups themselves)
//	INTERSECT      l > 0 and r > 0
//	EXCEPT         l > 0 and r = 0
//	INTERSECT ALL  least(l, r) copies
//	EXCEPT ALL     l - r copies (when positive)
//
// The ALL forms expand a row into its copies with generate_series(1, n);
// a change of a count retracts the old copies and inserts the new ones.
// The state is the aggregation's, one entry per distinct row, keyed (and
// spread over instances) by the row.

// setOp plans a set operation other than UNION ALL.
func (sp *streamPlanner) setOp(x *plan.SetOp) (*stream.Node, []int, error) {
	ts := x.OutputTypes()
	u, err := sp.unionInputs(x, x.Kind != plan.Union)
	if err != nil {
		return nil, nil, err
	}
	group := identity(len(ts))
	if x.Kind == plan.Union {
		// UNION: one row per distinct row of the union.
		return sp.aggNode(u, group, ts, nil)
	}
	count, _, err := udf.LookupAggregate("count", nil)
	if err != nil {
		return nil, nil, err
	}
	aggs := []batch.AggSpec{
		{Agg: count, Filter: len(ts), T: types.TInt8},
		{Agg: count, Filter: len(ts) + 1, T: types.TInt8},
	}
	n, _, err := sp.aggNode(u, group, ts, aggs)
	if err != nil {
		return nil, nil, err
	}
	n.Names[len(ts)], n.Names[len(ts)+1] = "left_count", "right_count"
	l := &plan.ColRef{Idx: len(ts), T: types.TInt8, Name: "left_count"}
	r := &plan.ColRef{Idx: len(ts) + 1, T: types.TInt8, Name: "right_count"}
	zero := &plan.Const{Value: int64(0), T: types.TInt8}
	if !x.All {
		var pred plan.Scalar
		if pred, err = operator(">", l, zero); err != nil {
			return nil, nil, err
		}
		op := ">" // INTERSECT: on the right too
		if x.Kind == plan.Except {
			op = "=" // EXCEPT: not on the right
		}
		pr, err := operator(op, r, zero)
		if err != nil {
			return nil, nil, err
		}
		cpe, err := sp.compiler.Compile(plan.AndAll([]plan.Scalar{pred, pr}))
		if err != nil {
			return nil, nil, err
		}
		f := inherit(n, &stream.FilterSpec{Pred: cpe})
		return sp.project(f, identity(len(n.Types)), colRefs(ts, n.Names))
	}
	// The ALL forms: the number of copies, then that many rows.
	var copies plan.Scalar = &plan.MinMax{Args: []plan.Scalar{l, r}, Least: true, T: types.TInt8}
	if x.Kind == plan.Except {
		if copies, err = operator("-", l, r); err != nil {
			return nil, nil, err
		}
	}
	gs, _, err := udf.LookupTableFunc("generate_series", []types.T{types.TInt8, types.TInt8})
	if err != nil {
		return nil, nil, err
	}
	one, err := sp.compiler.Compile(&plan.Const{Value: int64(1), T: types.TInt8})
	if err != nil {
		return nil, nil, err
	}
	upTo, err := sp.compiler.Compile(copies)
	if err != nil {
		return nil, nil, err
	}
	spec := &stream.ProjectSetSpec{Funcs: []batch.SetFunc{{Fn: gs, T: types.TInt8,
		Args: []expr.Expr{one, upTo}, ArgTypes: []types.T{types.TInt8, types.TInt8}}}}
	ps := &stream.Node{Spec: spec, Inputs: []*stream.Node{n}, AppendOnly: n.AppendOnly,
		Types: append(append([]types.T(nil), n.Types...), types.TInt8, types.TInt8),
		Names: append(append([]string(nil), n.Names...), "copy", "_ordinal"),
		// The rows of a group differ in their ordinal.
		StreamKey: append(append([]int(nil), n.StreamKey...), len(n.Types)+1)}
	return sp.project(ps, identity(len(ps.Types)), colRefs(ts, ps.Names))
}

// taggedKeyProject projects child onto exprs and, last, its stream key
// tagged with tag (the input's side), which is the projection's stream
// key: the inputs of a union keep their keys apart. The columns are
// unnamed.
func taggedKeyProject(child *stream.Node, exprs []expr.Expr, tag int) *stream.Node {
	keyTypes := make([]types.T, len(child.StreamKey))
	for i, k := range child.StreamKey {
		keyTypes[i] = child.Types[k]
	}
	exprs = append(exprs, &stream.KeyExpr{Tag: byte(tag), Cols: child.StreamKey, Types: keyTypes})
	p := &stream.Node{Spec: &stream.ProjectSpec{Exprs: exprs}, Inputs: []*stream.Node{child}, AppendOnly: child.AppendOnly}
	for _, e := range exprs {
		p.Types = append(p.Types, e.Type())
	}
	p.Names = make([]string, len(exprs))
	p.StreamKey = []int{len(exprs) - 1}
	return p
}

// unionInputs unions the two inputs of x as a changelog of their rows,
// each input's stream key tagged with its side so that keys stay unique;
// with sides, two bool columns follow the row's columns: from the left,
// from the right.
func (sp *streamPlanner) unionInputs(x *plan.SetOp, sides bool) (*stream.Node, error) {
	ts := x.OutputTypes()
	n := &stream.Node{AppendOnly: true}
	for tag, in := range []plan.Rel{x.Left, x.Right} {
		child, cm, err := sp.convert(in)
		if err != nil {
			return nil, err
		}
		exprs := make([]expr.Expr, 0, len(ts)+3)
		for i, t := range ts {
			exprs = append(exprs, &expr.ColRef{Idx: cm[i], T: t})
		}
		if sides {
			for side := range 2 {
				c, err := sp.compiler.Compile(&plan.Const{Value: side == tag, T: types.TBool})
				if err != nil {
					return nil, err
				}
				exprs = append(exprs, c)
			}
		}
		p := taggedKeyProject(child, exprs, tag)
		for i := range ts {
			p.Names[i] = child.Names[cm[i]]
		}
		n.Inputs = append(n.Inputs, p)
		if !child.AppendOnly {
			n.AppendOnly = false
		}
	}
	n.Types = n.Inputs[0].Types
	n.Names = append([]string(nil), n.Inputs[0].Names...)
	if sides {
		n.Names[len(ts)], n.Names[len(ts)+1] = "from_left", "from_right"
	}
	n.Names[len(n.Types)-1] = "_key"
	n.StreamKey = []int{len(n.Types) - 1}
	n.Spec = &stream.UnionSpec{Types: n.Types}
	return n, nil
}

// operator builds "a op b" for a built-in operator over a's and b's
// types (used with bigint operands, which need no casts).
func operator(op string, a, b plan.Scalar) (plan.Scalar, error) {
	ts := []types.T{a.Type(), b.Type()}
	fn, _, err := udf.LookupOperator(op, ts[0], ts[1])
	if err != nil {
		return nil, sqlerr.Wrap(err, sqlerr.InternalError)
	}
	return &plan.Call{Fn: fn, Args: []plan.Scalar{a, b}, T: fn.ResultType(ts)}, nil
}

// colRefs references the first len(ts) columns.
func colRefs(ts []types.T, names []string) []plan.Scalar {
	out := make([]plan.Scalar, len(ts))
	for i, t := range ts {
		out[i] = &plan.ColRef{Idx: i, T: t, Name: names[i]}
	}
	return out
}
