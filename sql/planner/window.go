package planner

import (
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Frame option bits of PostgreSQL's WindowDef.frameOptions. Each bit of
// the frame's start has the matching bit of its end just above it
// (FRAMEOPTION_END_UNBOUNDED_PRECEDING is 0x00040, and so on).
const (
	frameNonDefault        = 0x00001
	frameRange             = 0x00002
	frameRows              = 0x00004
	frameGroups            = 0x00008
	frameStartUnbPreceding = 0x00020
	frameStartUnbFollowing = 0x00080
	frameStartCurrentRow   = 0x00200
	frameStartOffPreceding = 0x00800
	frameStartOffFollowing = 0x02000
	frameExcludeCurrentRow = 0x08000
)

// windowContext collects the window function calls of a query level.
type windowContext struct {
	p     *Planner
	defs  map[string]*pg.WindowDef
	funcs []*winCall
}

type winCall struct {
	specKey   string
	partition []plan.Scalar
	order     []plan.Scalar
	orderBy   []*pg.SortBy
	fn        plan.WindowCall
	args      []plan.Scalar
	filter    plan.Scalar // FILTER (WHERE ...) of an aggregate, or nil
	ph        *placeholder
}

// placeholder stands for a window function's result until the window
// operators are built and its column is known.
type placeholder struct {
	plan.Extension
	t   types.T
	col int
}

func (x *placeholder) Type() types.T  { return x.t }
func (x *placeholder) String() string { return "window()" }

// install makes b bind window function calls through w.
func (w *windowContext) install(b *exprBinder) {
	inner := b.hook
	b.hook = func(n *pg.Node) (plan.Scalar, bool, error) {
		if fc := n.GetFuncCall(); fc != nil && fc.Over != nil {
			saved := b.hook
			b.hook = inner // window calls cannot nest
			defer func() { b.hook = saved }()
			e, err := w.bindCall(b, fc)
			return e, true, err
		}
		if inner != nil {
			return inner(n)
		}
		return nil, false, nil
	}
}

func (w *windowContext) bindCall(b *exprBinder, fc *pg.FuncCall) (plan.Scalar, error) {
	p := w.p
	pos := p.pos(fc.Location)
	name := funcName(fc.Funcname)
	def := fc.Over
	if def.Refname != "" || (def.Name != "" && len(def.PartitionClause) == 0 && len(def.OrderClause) == 0) {
		ref := def.Refname
		if ref == "" {
			ref = def.Name
		}
		d, ok := w.defs[ref]
		if !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "window %q does not exist", ref).WithPosition(pos)
		}
		merged := &pg.WindowDef{PartitionClause: d.PartitionClause, OrderClause: d.OrderClause,
			FrameOptions: d.FrameOptions, StartOffset: d.StartOffset, EndOffset: d.EndOffset}
		if len(def.OrderClause) > 0 {
			merged.OrderClause = def.OrderClause
		}
		if def.FrameOptions&frameNonDefault != 0 {
			merged.FrameOptions, merged.StartOffset, merged.EndOffset = def.FrameOptions, def.StartOffset, def.EndOffset
		}
		def = merged
	}
	wc := &winCall{}
	for _, pn := range def.PartitionClause {
		e, err := b.bind(pn)
		if err != nil {
			return nil, err
		}
		wc.partition = append(wc.partition, e)
		wc.specKey += "p" + plan.Key(e) + ";"
	}
	for _, on := range def.OrderClause {
		sb := on.GetSortBy()
		e, err := b.bind(sb.Node)
		if err != nil {
			return nil, err
		}
		wc.order = append(wc.order, e)
		wc.orderBy = append(wc.orderBy, sb)
		wc.specKey += fmt.Sprintf("o%s/%d/%d;", plan.Key(e), sb.SortbyDir, sb.SortbyNulls)
	}
	if fc.AggWithinGroup {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "OVER is not supported for ordered-set aggregate %s", name).WithPosition(pos)
	}
	if fc.AggDistinct {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DISTINCT is not implemented for window functions").WithPosition(pos)
	}
	if len(fc.AggOrder) > 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "aggregate ORDER BY is not implemented for window functions").WithPosition(pos)
	}
	if fc.AggFilter != nil {
		if udf.IsWindowOnly(name) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FILTER is not implemented for non-aggregate window functions").WithPosition(pos)
		}
		f, err := b.bind(fc.AggFilter)
		if err != nil {
			return nil, err
		}
		if wc.filter, err = p.coerceBool(f, "argument of FILTER", pos); err != nil {
			return nil, err
		}
	}
	var ts []types.T
	if !fc.AggStar {
		for _, an := range fc.Args {
			e, err := b.bind(an)
			if err != nil {
				return nil, err
			}
			wc.args = append(wc.args, e)
			ts = append(ts, e.Type())
		}
	}
	wf := plan.WindowCall{Filter: -1}
	if udf.IsWindowOnly(name) {
		wf.Name = name
		switch name {
		case "row_number", "rank", "dense_rank", "ntile":
			wf.T = types.TInt8
			if name == "ntile" {
				wf.T = types.TInt4
				if len(wc.args) == 1 {
					a, err := p.coerce(wc.args[0], types.TInt4, pos)
					if err != nil {
						return nil, err
					}
					wc.args[0] = a
				}
			}
		case "percent_rank", "cume_dist":
			wf.T = types.TFloat8
		case "lag", "lead", "first_value", "last_value", "nth_value":
			if len(wc.args) == 0 {
				return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s() does not exist", name).WithPosition(pos)
			}
			t := wc.args[0].Type()
			if t.Kind == types.Unknown {
				t = types.TText
			}
			if (name == "lag" || name == "lead") && len(wc.args) == 3 {
				ct, err := udf.CommonType([]types.T{t, wc.args[2].Type()}, name)
				if err != nil {
					return nil, err
				}
				t = ct
				if wc.args[2], err = p.coerce(wc.args[2], t, pos); err != nil {
					return nil, err
				}
			}
			var err error
			if wc.args[0], err = p.coerce(wc.args[0], t, pos); err != nil {
				return nil, err
			}
			for i := 1; i < len(wc.args) && i < 2; i++ {
				if wc.args[i], err = p.coerce(wc.args[i], types.TInt8, pos); err != nil {
					return nil, err
				}
			}
			wf.T = t
		}
	} else {
		fn, argTypes, err := p.lookupAggregate(fc.Funcname, ts, fc.FuncVariadic, pos)
		if err != nil {
			return nil, err
		}
		if fn.WithinGroup || fn.OrderedSet {
			return nil, sqlerr.New(sqlerr.WrongObjectType, "WITHIN GROUP is required for ordered-set aggregate %s", name).WithPosition(pos)
		}
		if err := p.coerceArgs(wc.args, ts, argTypes, pos); err != nil {
			return nil, err
		}
		wc.args, ts = packVariadic(fn, wc.args, ts, fc.FuncVariadic)
		wf.Agg = fn
		wf.T = fn.ResultType(ts)
	}
	frame, err := w.frame(b, def, len(def.OrderClause) > 0)
	if err != nil {
		return nil, err
	}
	wf.Frame = frame
	wc.fn = wf
	wc.ph = &placeholder{t: wf.T}
	w.funcs = append(w.funcs, wc)
	return wc.ph, nil
}

func (w *windowContext) frame(b *exprBinder, def *pg.WindowDef, ordered bool) (plan.Frame, error) {
	opts := def.FrameOptions
	f := plan.Frame{Mode: plan.RangeFrame,
		Start: plan.FrameBound{Kind: plan.UnboundedPreceding},
		End:   plan.FrameBound{Kind: plan.CurrentRow}}
	if !ordered && opts&frameNonDefault == 0 {
		f.End = plan.FrameBound{Kind: plan.UnboundedFollowing}
		return f, nil
	}
	if opts&frameNonDefault == 0 {
		return f, nil
	}
	switch {
	case opts&frameRows != 0:
		f.Mode = plan.RowsFrame
	case opts&frameGroups != 0:
		f.Mode = plan.GroupsFrame
	}
	offset := func(n *pg.Node) (plan.Scalar, error) {
		e, err := b.p.binder(&scope{}, "window frame").bind(n)
		if err != nil {
			return nil, err
		}
		if f.Mode != plan.RangeFrame {
			if e, err = b.p.coerce(e, types.TInt8, 0); err != nil {
				return nil, err
			}
		}
		return e, nil
	}
	// bound reads one end of the frame: its bits are the start's shifted
	// left by end (0 for the start, 1 for the end), as PostgreSQL lays
	// them out; with none of them set it stays as it is.
	bound := func(b *plan.FrameBound, end int, off *pg.Node) error {
		var err error
		switch {
		case opts&(frameStartUnbPreceding<<end) != 0:
			*b = plan.FrameBound{Kind: plan.UnboundedPreceding}
		case opts&(frameStartCurrentRow<<end) != 0:
			*b = plan.FrameBound{Kind: plan.CurrentRow}
		case opts&(frameStartOffPreceding<<end) != 0:
			b.Kind = plan.OffsetPreceding
			b.Offset, err = offset(off)
		case opts&(frameStartOffFollowing<<end) != 0:
			b.Kind = plan.OffsetFollowing
			b.Offset, err = offset(off)
		case opts&(frameStartUnbFollowing<<end) != 0:
			*b = plan.FrameBound{Kind: plan.UnboundedFollowing}
		}
		return err
	}
	if err := bound(&f.Start, 0, def.StartOffset); err != nil {
		return f, err
	}
	err := bound(&f.End, 1, def.EndOffset)
	f.ExcludeCurrentRow = opts&frameExcludeCurrentRow != 0
	return f, err
}

// build stacks one window operator per distinct PARTITION BY/ORDER BY over
// cur and resolves the placeholders in outs.
func (w *windowContext) build(cur *relPlan, outs []plan.Scalar) (*relPlan, []plan.Scalar, error) {
	done := make([]bool, len(w.funcs))
	cols := append([]column{}, cur.cols...)
	node := cur.node
	for i := range w.funcs {
		if done[i] {
			continue
		}
		spec := w.funcs[i].specKey
		proj := make([]plan.Scalar, len(cols))
		for j, c := range cols {
			proj[j] = &plan.ColRef{Idx: j, T: c.t}
		}
		add := func(e plan.Scalar) int {
			proj = append(proj, e)
			cols = append(cols, column{name: "?window?", t: e.Type(), hidden: true})
			return len(proj) - 1
		}
		first := w.funcs[i]
		var part []int
		for _, e := range first.partition {
			part = append(part, add(e))
		}
		var keys []plan.SortKey
		for k, e := range first.order {
			keys = append(keys, sortKey(add(e), e.Type(), first.orderBy[k]))
		}
		var fns []plan.WindowCall
		var members []*winCall
		for j := i; j < len(w.funcs); j++ {
			wc := w.funcs[j]
			if done[j] || wc.specKey != spec {
				continue
			}
			done[j] = true
			f := wc.fn
			f.Args = nil
			for _, a := range wc.args {
				f.Args = append(f.Args, add(a))
			}
			if wc.filter != nil {
				f.Filter = add(wc.filter)
			}
			fns = append(fns, f)
			members = append(members, wc)
		}
		node = &plan.Window{Input: &plan.Project{Input: node, Exprs: proj}, Partition: part, Order: keys, Funcs: fns}
		for _, wc := range members {
			wc.ph.col = len(cols)
			cols = append(cols, column{name: "?window?", t: wc.fn.T, hidden: true})
		}
	}
	resolved := make([]plan.Scalar, len(outs))
	for i, e := range outs {
		resolved[i] = plan.Rewrite(e, func(x plan.Scalar) (plan.Scalar, bool) {
			if ph, ok := x.(*placeholder); ok {
				return &plan.ColRef{Idx: ph.col, T: ph.t}, true
			}
			return nil, false
		})
	}
	return &relPlan{node: node, cols: cols}, resolved, nil
}
