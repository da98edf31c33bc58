package planner

import (
	"fmt"
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// aggContext plans GROUP BY and aggregates. Its output layout is the group
// expressions followed by one column per distinct aggregate call;
// expressions above it are bound so that grouped expressions and
// aggregate calls become references into that layout.
type aggContext struct {
	p     *Planner
	in    *scope // the FROM scope
	from  *relPlan
	post  *scope
	group []plan.Scalar
	keys  []string
	aggs  []aggCall
	// sets are the grouping sets of GROUPING SETS, ROLLUP and CUBE, each
	// the list of its columns in group; nil for a plain GROUP BY.
	sets [][]int
}

type aggCall struct {
	// grouping, when fn is nil, makes the call GROUPING(...) of these
	// columns of group: a bit per argument, set when the row's grouping
	// set leaves the column out.
	grouping []int
	fn       *udf.Aggregate
	args     []plan.Scalar
	distinct bool
	filter   plan.Scalar
	t        types.T
	key      string
	// order is the call's ORDER BY (or WITHIN GROUP ordering, whose
	// expression is the last of args); orderBy holds the sort options.
	order   []plan.Scalar
	orderBy []*pg.SortBy
}

func (p *Planner) newAggContext(s *pg.SelectStmt, sc *scope, from *relPlan) (*aggContext, error) {
	a := &aggContext{p: p, in: sc, from: from}
	b := p.binder(sc, "GROUP BY")
	// groupIndex binds one grouping expression and returns its column in
	// the group layout, adding it the first time it is seen.
	groupIndex := func(gn *pg.Node) (int, error) {
		node := gn
		// GROUP BY <ordinal> or <output alias> refers to the select list.
		if c := gn.GetAConst(); c != nil {
			if iv, ok := c.Val.(*pg.A_Const_Ival); ok {
				i := int(iv.Ival.Ival)
				if i < 1 || i > len(s.TargetList) {
					return 0, sqlerr.New(sqlerr.InvalidColumnReference, "GROUP BY position %d is not in select list", i).WithPosition(p.pos(c.Location))
				}
				node = s.TargetList[i-1].GetResTarget().Val
			}
		} else if cr := gn.GetColumnRef(); cr != nil && len(cr.Fields) == 1 && cr.Fields[0].GetString_() != nil {
			name := cr.Fields[0].GetString_().Sval
			if _, _, _, err := sc.resolve("", name, 0); err != nil {
				for _, t := range s.TargetList {
					if rt := t.GetResTarget(); rt.Name == name {
						node = rt.Val
						break
					}
				}
			}
		}
		e, err := b.bind(node)
		if err != nil {
			return 0, err
		}
		if e.Type().Kind == types.Unknown {
			e, _ = p.coerce(e, types.TText, 0)
		}
		k := plan.Key(e)
		for i, x := range a.keys {
			if x == k {
				return i, nil
			}
		}
		a.group = append(a.group, e)
		a.keys = append(a.keys, k)
		return len(a.group) - 1, nil
	}
	sets, err := groupingSets(s.GroupClause)
	if err != nil {
		return nil, err
	}
	for _, set := range sets {
		var cols []int
		for _, gn := range set {
			i, err := groupIndex(gn)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(cols, i) {
				cols = append(cols, i)
			}
		}
		if s.GroupDistinct && slices.ContainsFunc(a.sets, func(o []int) bool {
			return len(o) == len(cols) && (len(o) == 0 || sameSet(o, cols))
		}) {
			// GROUP BY DISTINCT: each grouping set once.
			continue
		}
		a.sets = append(a.sets, cols)
	}
	if !hasGroupingSet(s.GroupClause) {
		// Plain GROUP BY: one set of every grouping column.
		a.sets = nil
	}
	// The scope above the aggregation: group columns that are plain
	// columns keep their names; aggregates are unnamed.
	a.post = &scope{parent: sc.parent, ctes: sc.ctes}
	for _, g := range a.group {
		c := column{name: "?group?", t: g.Type(), hidden: true}
		if cr, ok := g.(*plan.ColRef); ok {
			c = sc.cols[cr.Idx]
		}
		a.post.cols = append(a.post.cols, c)
	}
	return a, nil
}

// postBinder returns a binder for expressions evaluated over the
// aggregation's output.
func (a *aggContext) postBinder() *exprBinder {
	b := a.p.binder(a.post, "SELECT")
	b.hook = a.hook
	return b
}

func (a *aggContext) hook(n *pg.Node) (plan.Scalar, bool, error) {
	if gf := n.GetGroupingFunc(); gf != nil {
		e, err := a.groupingCall(gf)
		return e, true, err
	}
	if fc := n.GetFuncCall(); fc != nil && fc.Over == nil {
		name := funcName(fc.Funcname)
		if a.p.isAggregateCall(fc) {
			e, err := a.aggregate(fc, name)
			return e, true, err
		}
	}
	if n.GetAConst() != nil || n.GetSubLink() != nil || n.GetParamRef() != nil {
		return nil, false, nil
	}
	if fc := n.GetFuncCall(); fc != nil && fc.Over == nil && !a.p.containsAgg(n) {
		// PostgreSQL resolves a function before it checks grouping: an
		// unknown function is reported as such, not as an ungrouped
		// argument column.
		if _, err := a.p.binder(a.in, "SELECT").bind(n); sqlerr.Code(err) == sqlerr.UndefinedFunction {
			return nil, true, err
		}
	}
	// A grouped expression?
	if len(a.group) > 0 && !a.p.containsAgg(n) {
		if e, err := a.p.binder(a.in, "SELECT").bind(n); err == nil {
			k := plan.Key(e)
			for i, g := range a.keys {
				if g == k {
					return &plan.ColRef{Idx: i, T: a.group[i].Type(), Name: a.post.cols[i].name}, true, nil
				}
			}
		}
	}
	if cr := n.GetColumnRef(); cr != nil {
		var qual, name string
		f := cr.Fields
		if s := f[len(f)-1].GetString_(); s != nil {
			name = s.Sval
		}
		if len(f) >= 2 {
			qual = f[len(f)-2].GetString_().Sval
		}
		depth, _, col, err := a.in.resolve(qual, name, a.p.pos(cr.Location))
		if _, arg := a.p.statementArg(qual, name); err != nil && arg {
			return nil, false, nil // an argument of the body being planned: a parameter
		}
		if err != nil {
			return nil, true, err
		}
		if depth == 0 {
			full := name
			if col.table != "" {
				full = col.table + "." + name
			}
			return nil, true, sqlerr.New(sqlerr.GroupingError, "column %q must appear in the GROUP BY clause or be used in an aggregate function", full).WithPosition(a.p.pos(cr.Location))
		}
	}
	return nil, false, nil
}

// starColumn binds column idx of a SELECT * under GROUP BY.
func (a *aggContext) starColumn(idx int, c *column) (plan.Scalar, error) {
	k := plan.Key(&plan.ColRef{Idx: idx})
	for i, g := range a.keys {
		if g == k {
			return &plan.ColRef{Idx: i, T: a.group[i].Type(), Name: c.name}, nil
		}
	}
	return nil, sqlerr.New(sqlerr.GroupingError, "column %q must appear in the GROUP BY clause or be used in an aggregate function", c.table+"."+c.name)
}

func (a *aggContext) aggregate(fc *pg.FuncCall, name string) (plan.Scalar, error) {
	pos := a.p.pos(fc.Location)
	b := a.p.binder(a.in, "aggregate function calls")
	b.hook = func(n *pg.Node) (plan.Scalar, bool, error) {
		if f := n.GetFuncCall(); f != nil && f.Over == nil && a.p.isAggregateCall(f) {
			return nil, true, sqlerr.New(sqlerr.GroupingError, "aggregate function calls cannot be nested").WithPosition(a.p.pos(f.Location))
		}
		return nil, false, nil
	}
	var args []plan.Scalar
	var ts []types.T
	argNodes := fc.Args
	if fc.AggWithinGroup {
		// f(direct args) WITHIN GROUP (ORDER BY x, ...): the ordering
		// expressions are the last arguments. The built-in ordered-set
		// aggregates take one.
		if len(fc.AggOrder) != 1 && udf.IsAggregate(name) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "WITHIN GROUP with %d ordering columns is not supported", len(fc.AggOrder)).WithPosition(pos)
		}
		argNodes = append([]*pg.Node{}, fc.Args...)
		for _, o := range fc.AggOrder {
			argNodes = append(argNodes, o.GetSortBy().Node)
		}
	}
	if !fc.AggStar {
		for _, an := range argNodes {
			e, err := b.bind(an)
			if err != nil {
				return nil, err
			}
			args = append(args, e)
			ts = append(ts, e.Type())
		}
	}
	if name == "count" && fc.AggStar {
		name = "count"
	}
	fn, argTypes, err := a.p.lookupAggregate(fc.Funcname, ts, fc.FuncVariadic, pos)
	if err != nil {
		return nil, err
	}
	orderedSet := fn.WithinGroup || fn.OrderedSet
	switch {
	case fc.AggWithinGroup && !orderedSet:
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%s is not an ordered-set aggregate, so it cannot have WITHIN GROUP", name).WithPosition(pos)
	case !fc.AggWithinGroup && orderedSet:
		return nil, sqlerr.New(sqlerr.WrongObjectType, "WITHIN GROUP is required for ordered-set aggregate %s", name).WithPosition(pos)
	case orderedSet && fc.AggDistinct:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DISTINCT is not supported for ordered-set aggregate %s", name).WithPosition(pos)
	case fn.OrderedSet && len(fc.Args) != fn.NumDirect:
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s has %d direct arguments, but the call gives %d", name, fn.NumDirect, len(fc.Args)).
			WithHint("Pass the direct arguments in the call and the aggregated ones in WITHIN GROUP (ORDER BY ...).").WithPosition(pos)
	}
	if err := a.p.coerceArgs(args, ts, argTypes, pos); err != nil {
		return nil, err
	}
	args, ts = packVariadic(fn, args, ts, fc.FuncVariadic)
	var filter plan.Scalar
	if fc.AggFilter != nil {
		f, err := a.p.binder(a.in, "FILTER").bind(fc.AggFilter)
		if err != nil {
			return nil, err
		}
		if filter, err = a.p.coerceBool(f, "argument of FILTER", pos); err != nil {
			return nil, err
		}
	}
	call := aggCall{fn: fn, args: args, distinct: fc.AggDistinct, filter: filter, t: fn.ResultType(ts)}
	if fc.AggWithinGroup && fn.OrderedSet && !fn.SortedInput {
		// A user ordered-set aggregate gets its rows in input order, as
		// in PostgreSQL: its executor leaves the sorting of an
		// ordered-set aggregate's rows to the aggregate's support
		// functions (nodeAgg.c), so WITHIN GROUP only names the
		// aggregated arguments, and its ASC/DESC changes nothing.
	} else if fc.AggWithinGroup && fn.OrderedSet {
		// One in JavaScript or WebAssembly gets them sorted, as a call
		// with ORDER BY inside does.
		call.order = args[fn.NumDirect:]
		for _, o := range fc.AggOrder {
			call.orderBy = append(call.orderBy, o.GetSortBy())
		}
	} else if fc.AggWithinGroup {
		// The ordering expression is the last argument; the built-in
		// sorts its rows itself.
		call.order = args[len(args)-len(fc.AggOrder):]
		for _, o := range fc.AggOrder {
			call.orderBy = append(call.orderBy, o.GetSortBy())
		}
	} else if len(fc.AggOrder) > 0 {
		ob := a.p.binder(a.in, "ORDER BY")
		for _, on := range fc.AggOrder {
			sb := on.GetSortBy()
			e, err := ob.bind(sb.Node)
			if err != nil {
				return nil, err
			}
			call.order = append(call.order, e)
			call.orderBy = append(call.orderBy, sb)
		}
	}
	call.key = name + "/" + boolStr(call.distinct)
	for _, x := range args {
		call.key += "|" + plan.Key(x)
	}
	for i, x := range call.order {
		sk := sortKey(0, x.Type(), call.orderBy[i])
		call.key += fmt.Sprintf("|order:%s/%t/%t", plan.Key(x), sk.Desc, sk.NullsFirst)
	}
	if filter != nil {
		call.key += "|filter:" + plan.Key(filter)
	}
	for i, c := range a.aggs {
		if c.key == call.key && c.fn == fn {
			return &plan.ColRef{Idx: len(a.group) + i, T: c.t, Name: name}, nil
		}
	}
	a.aggs = append(a.aggs, call)
	a.post.cols = append(a.post.cols, column{name: name, t: call.t, hidden: true})
	return &plan.ColRef{Idx: len(a.group) + len(a.aggs) - 1, T: call.t, Name: name}, nil
}

func boolStr(b bool) string {
	if b {
		return "t"
	}
	return "f"
}

// build returns the aggregation's plan: a projection of group keys,
// aggregate arguments, FILTER conditions and the calls' ORDER BY
// expressions, then the hash aggregation (each call orders its own rows).
// With grouping sets, or GROUPING calls, the sets with columns are one
// aggregation over an Expand of the input (a single such set is its own
// aggregation), and each empty set () its own aggregation without GROUP
// BY (one row also for no input), projected to the full layout and
// appended one after another.
func (a *aggContext) build() (*relPlan, error) {
	hasGrouping := false
	for _, c := range a.aggs {
		if c.fn == nil {
			hasGrouping = true
		}
	}
	if a.sets == nil && !hasGrouping {
		all := make([]int, len(a.group))
		for i := range a.group {
			all[i] = i
		}
		return &relPlan{node: a.buildSet(all), cols: a.post.cols}, nil
	}
	sets := a.sets
	if sets == nil {
		all := make([]int, len(a.group))
		for i := range a.group {
			all[i] = i
		}
		sets = [][]int{all}
	}
	var nonEmpty [][]int
	for _, set := range sets {
		if len(set) > 0 {
			nonEmpty = append(nonEmpty, set)
		}
	}
	var node plan.Rel
	appendBranch := func(branch plan.Rel) {
		if node == nil {
			node = branch
		} else {
			node = &plan.SetOp{Kind: plan.Union, All: true, Left: node, Right: branch}
		}
	}
	if len(nonEmpty) > 1 {
		appendBranch(a.buildExpanded(nonEmpty))
	}
	for _, set := range sets {
		if len(nonEmpty) > 1 && len(set) > 0 {
			continue
		}
		appendBranch(a.buildSetBranch(set))
	}
	return &relPlan{node: node, cols: a.post.cols}, nil
}

// buildSetBranch returns the aggregation of one grouping set projected
// to the full layout: the set's aggregation has the set's columns, then
// the calls; the columns the set leaves out are NULL and each GROUPING
// call the set's constant.
func (a *aggContext) buildSetBranch(set []int) plan.Rel {
	agg := a.buildSet(set)
	var exprs []plan.Scalar
	for i, g := range a.group {
		if j := slices.Index(set, i); j >= 0 {
			exprs = append(exprs, &plan.ColRef{Idx: j, T: g.Type()})
		} else {
			exprs = append(exprs, &plan.Const{T: g.Type()})
		}
	}
	k := 0
	for _, c := range a.aggs {
		if c.fn == nil {
			exprs = append(exprs, &plan.Const{Value: int64(groupingValue(c.grouping, set)), T: types.TInt4})
			continue
		}
		exprs = append(exprs, &plan.ColRef{Idx: len(set) + k, T: c.t})
		k++
	}
	return &plan.Project{Input: agg, Exprs: exprs}
}

// buildExpanded returns the aggregation of several non-empty grouping
// sets as one: the input of the aggregation by every group column goes
// through an Expand that emits each row once per set, with NULL in the
// group columns the set leaves out, the set's number and the set's value
// of each GROUPING call; the aggregation groups by those constants and
// the group columns, and is projected to the full layout. The group
// columns are projected apart from the aggregates' arguments, so an
// argument that is also a group column keeps its value.
func (a *aggContext) buildExpanded(sets [][]int) plan.Rel {
	all := make([]int, len(a.group))
	for i := range a.group {
		all[i] = i
	}
	whole := a.buildSet(all)
	exp := &plan.Expand{Input: whole.Input}
	for si, set := range sets {
		es := plan.ExpandSet{Consts: []int64{int64(si)}}
		for i := range a.group {
			if !slices.Contains(set, i) {
				es.Nulls = append(es.Nulls, i)
			}
		}
		for _, c := range a.aggs {
			if c.fn == nil {
				es.Consts = append(es.Consts, int64(groupingValue(c.grouping, set)))
			}
		}
		exp.Sets = append(exp.Sets, es)
	}
	w := len(whole.Input.OutputTypes())
	nc := len(exp.Sets[0].Consts)
	var groupCols []int
	for i := 0; i < nc; i++ {
		groupCols = append(groupCols, w+i)
	}
	groupCols = append(groupCols, all...)
	agg := &plan.Aggregate{Input: exp, GroupCols: groupCols, Aggs: whole.Aggs}
	var exprs []plan.Scalar
	for i, g := range a.group {
		exprs = append(exprs, &plan.ColRef{Idx: nc + i, T: g.Type()})
	}
	grouping, k := 1, 0
	for _, c := range a.aggs {
		if c.fn == nil {
			exprs = append(exprs, &plan.ColRef{Idx: grouping, T: types.TInt4})
			grouping++
			continue
		}
		exprs = append(exprs, &plan.ColRef{Idx: nc + len(a.group) + k, T: c.t})
		k++
	}
	return &plan.Project{Input: agg, Exprs: exprs}
}

// buildSet returns the aggregation grouped by the group columns set, its
// rows those columns (in the order of set), then one column per aggregate
// call (GROUPING calls left out).
func (a *aggContext) buildSet(set []int) *plan.Aggregate {
	proj := []plan.Scalar{} // empty, not nil, when nothing is projected
	groupCols := make([]int, len(set))
	for i, g := range set {
		groupCols[i] = i
		proj = append(proj, a.group[g])
	}
	var specs []plan.AggCall
	for _, c := range a.aggs {
		if c.fn == nil {
			continue
		}
		spec := plan.AggCall{Fn: c.fn, Distinct: c.distinct, Filter: -1, T: c.t}
		for _, x := range c.args {
			spec.Args = append(spec.Args, len(proj))
			proj = append(proj, x)
		}
		if c.filter != nil {
			spec.Filter = len(proj)
			proj = append(proj, c.filter)
		}
		for j, x := range c.order {
			sk := sortKey(0, x.Type(), c.orderBy[j])
			col := len(proj)
			switch {
			case c.fn.WithinGroup:
				col = spec.Args[len(spec.Args)-1]
			case c.fn.OrderedSet:
				col = spec.Args[c.fn.NumDirect+j] // sorted by its aggregated arguments
			default:
				proj = append(proj, x)
			}
			spec.Order = append(spec.Order, plan.AggOrder{Col: col, T: x.Type(), Desc: sk.Desc, NullsFirst: sk.NullsFirst})
		}
		specs = append(specs, spec)
	}
	return &plan.Aggregate{Input: &plan.Project{Input: a.from.node, Exprs: proj}, GroupCols: groupCols, Aggs: specs}
}
