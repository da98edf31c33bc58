package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// GROUP BY GROUPING SETS, ROLLUP and CUBE.
//
// The GROUP BY clause expands into a list of grouping sets, as in
// PostgreSQL (the sets of each item multiplied with those of the next).
// Each row of the input is emitted once per set with columns by an
// Expand (NULL in the grouping columns the set leaves out, the set's
// number and GROUPING values), and one aggregation groups those rows by
// the set's number and every grouping column. A set without columns is
// an aggregation without GROUP BY of its own, which gives one row also
// for no input; its rows are appended (UNION ALL).

// maxGroupingSets is PostgreSQL's limit on the sets of one GROUP BY.
const maxGroupingSets = 4096

// hasGroupingSet reports whether a GROUP BY clause uses GROUPING SETS,
// ROLLUP, CUBE or ().
func hasGroupingSet(items []*pg.Node) bool {
	for _, n := range items {
		if n.GetGroupingSet() != nil {
			return true
		}
	}
	return false
}

// groupingSets expands a GROUP BY clause into its grouping sets, each the
// list of its grouping expressions.
func groupingSets(items []*pg.Node) ([][]*pg.Node, error) {
	sets := [][]*pg.Node{{}}
	for _, item := range items {
		var itemSets [][]*pg.Node
		if item.GetGroupingSet() == nil {
			itemSets = [][]*pg.Node{{item}}
		} else {
			var err error
			if itemSets, err = expandGroupingSet(item); err != nil {
				return nil, err
			}
		}
		if len(sets)*len(itemSets) > maxGroupingSets {
			return nil, sqlerr.New(sqlerr.StatementTooComplex, "too many grouping sets present (maximum %d)", maxGroupingSets)
		}
		var product [][]*pg.Node
		for _, s := range sets {
			for _, is := range itemSets {
				product = append(product, append(append([]*pg.Node{}, s...), is...))
			}
		}
		sets = product
	}
	return sets, nil
}

// expandGroupingSet returns the grouping sets of one element inside GROUP
// BY: a GROUPING SETS, ROLLUP or CUBE clause, (), a parenthesized list
// (one set of all its expressions) or an expression (a set of one).
func expandGroupingSet(n *pg.Node) ([][]*pg.Node, error) {
	gs := n.GetGroupingSet()
	if gs == nil {
		return [][]*pg.Node{groupingElement(n)}, nil
	}
	switch gs.Kind {
	case pg.GroupingSetKind_GROUPING_SET_EMPTY:
		return [][]*pg.Node{{}}, nil
	case pg.GroupingSetKind_GROUPING_SET_SIMPLE:
		return [][]*pg.Node{gs.Content}, nil
	case pg.GroupingSetKind_GROUPING_SET_ROLLUP:
		// ROLLUP (a, b, c): (a, b, c), (a, b), (a), ().
		var out [][]*pg.Node
		for k := len(gs.Content); k >= 0; k-- {
			var set []*pg.Node
			for _, c := range gs.Content[:k] {
				set = append(set, groupingElement(c)...)
			}
			out = append(out, set)
		}
		return out, nil
	case pg.GroupingSetKind_GROUPING_SET_CUBE:
		// CUBE (a, b): every subset, the whole list first.
		if len(gs.Content) > 12 {
			return nil, sqlerr.New(sqlerr.StatementTooComplex, "CUBE is limited to 12 elements")
		}
		k := len(gs.Content)
		var out [][]*pg.Node
		for mask := (1 << k) - 1; mask >= 0; mask-- {
			var set []*pg.Node
			for i, c := range gs.Content {
				if mask&(1<<(k-1-i)) != 0 {
					set = append(set, groupingElement(c)...)
				}
			}
			out = append(out, set)
		}
		return out, nil
	case pg.GroupingSetKind_GROUPING_SET_SETS:
		var out [][]*pg.Node
		for _, c := range gs.Content {
			sub, err := expandGroupingSet(c)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			if len(out) > maxGroupingSets {
				return nil, sqlerr.New(sqlerr.StatementTooComplex, "too many grouping sets present (maximum %d)", maxGroupingSets)
			}
		}
		return out, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this grouping set is not supported")
}

// groupingElement returns the expressions of one element of ROLLUP, CUBE
// or GROUPING SETS: the fields of a parenthesized list (a, b), else the
// expression itself.
func groupingElement(n *pg.Node) []*pg.Node {
	if r := n.GetRowExpr(); r != nil && r.RowFormat == pg.CoercionForm_COERCE_IMPLICIT_CAST {
		return r.Args
	}
	return []*pg.Node{n}
}

// groupingCall binds GROUPING(args): each argument must be one of the
// grouping expressions.
func (a *aggContext) groupingCall(gf *pg.GroupingFunc) (plan.Scalar, error) {
	pos := a.p.pos(gf.Location)
	if len(gf.Args) > 31 {
		return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "GROUPING must have fewer than 32 arguments").WithPosition(pos)
	}
	call := aggCall{t: types.TInt4, key: "grouping"}
	b := a.p.binder(a.in, "GROUPING")
	for _, an := range gf.Args {
		e, err := b.bind(an)
		if err != nil {
			return nil, err
		}
		k := plan.Key(e)
		idx := -1
		for i, g := range a.keys {
			if g == k {
				idx = i
			}
		}
		if idx < 0 {
			loc := exprLocation(an)
			if loc < 0 {
				loc = gf.Location
			}
			return nil, sqlerr.New(sqlerr.GroupingError, "arguments to GROUPING must be grouping expressions of the associated query level").WithPosition(a.p.pos(loc))
		}
		call.grouping = append(call.grouping, idx)
		call.key += "|" + k
	}
	for i, c := range a.aggs {
		if c.fn == nil && c.key == call.key {
			return &plan.ColRef{Idx: len(a.group) + i, T: c.t, Name: "grouping"}, nil
		}
	}
	a.aggs = append(a.aggs, call)
	a.post.cols = append(a.post.cols, column{name: "grouping", t: call.t, hidden: true})
	return &plan.ColRef{Idx: len(a.group) + len(a.aggs) - 1, T: call.t, Name: "grouping"}, nil
}

// groupingValue is GROUPING(cols) for the rows of the grouping set set:
// the leftmost argument is the highest bit.
func groupingValue(cols, set []int) int32 {
	var v int32
	for _, c := range cols {
		v <<= 1
		in := false
		for _, s := range set {
			if s == c {
				in = true
			}
		}
		if !in {
			v |= 1
		}
	}
	return v
}
