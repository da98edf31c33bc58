package plan

import (
	"slices"

	"streamsql/sql/types"
)

// Projection pruning: columns nobody above reads are dropped where they
// are made (a projection's expressions, a VALUES list's columns, a leaf
// that implements ColumnPruner), and a join's inputs are narrowed to the
// columns the join and the nodes above it read, so that a hash join
// keeps only those in its table. Volatile expressions and subqueries are
// kept even when unread: dropping them would change what they do (a
// sequence would not advance). A node whose expressions hold a correlated
// subquery needs all its input columns, which the subquery reads by
// position.

// ColumnPruner is implemented by leaves defined outside this package that
// can produce fewer columns (a scan reading fewer of its table's
// columns). PruneColumns returns the narrowed leaf and, for each old
// column, its new position or -1; ok is false when it cannot narrow.
type ColumnPruner interface {
	PruneColumns(need []bool) (r Rel, mapping []int, ok bool)
}

// PruneColumns is the prune-columns rule: every column of r is needed,
// and below it only what is read. With narrowJoins, a join input that
// cannot drop columns itself gets a projection of the ones read put over
// it; without, only nodes that compute columns drop them and no node is
// added.
func PruneColumns(narrowJoins bool) func(Rel) (Rel, bool) {
	return func(r Rel) (Rel, bool) {
		pr := pruner{narrowJoins: narrowJoins}
		out, _, changed := pr.prune(r, allNeeded(len(r.OutputTypes())))
		return out, changed
	}
}

// pruner carries the prune-columns rule's setting through the tree.
type pruner struct{ narrowJoins bool }

func identityMap(n int) []int { return allColumns(n) }

func allNeeded(n int) []bool {
	need := make([]bool, n)
	for i := range need {
		need[i] = true
	}
	return need
}

// readsByPosition reports whether e holds a correlated subquery, which
// reads its outer row (the node's input) by column position.
func readsByPosition(e Scalar) bool {
	found := false
	Visit(e, func(x Scalar) {
		if s, ok := x.(*Subquery); ok && s.Correlated {
			found = true
		}
	})
	return found
}

func markRefs(need []bool, e Scalar) {
	for _, i := range refsOf(e) {
		need[i] = true
	}
}

// prune narrows r to (at least) the needed columns. It returns the new
// relation, the new position of each old column (-1 when dropped), and
// whether anything changed.
func (pr pruner) prune(r Rel, need []bool) (Rel, []int, bool) {
	switch x := r.(type) {
	case *Project:
		return pr.pruneProject(x, need)
	case *Filter:
		inNeed := append([]bool{}, need...)
		if readsByPosition(x.Pred) {
			inNeed = allNeeded(len(need))
		}
		markRefs(inNeed, x.Pred)
		in, m, changed := pr.prune(x.Input, inNeed)
		if !changed {
			return r, identityMap(len(need)), false
		}
		return &Filter{Input: in, Pred: mapCols(x.Pred, m)}, m, true
	case *Sort:
		inNeed := append([]bool{}, need...)
		for _, k := range x.Keys {
			inNeed[k.Col] = true
		}
		in, m, changed := pr.prune(x.Input, inNeed)
		if !changed {
			return r, identityMap(len(need)), false
		}
		keys := make([]SortKey, len(x.Keys))
		for i, k := range x.Keys {
			k.Col = m[k.Col]
			keys[i] = k
		}
		return &Sort{Input: in, Keys: keys}, m, true
	case *Limit:
		in, m, changed := pr.prune(x.Input, need)
		if !changed {
			return r, identityMap(len(need)), false
		}
		return &Limit{Input: in, Count: x.Count, Offset: x.Offset, WithTies: x.WithTies}, m, true
	case *Distinct:
		if x.On == nil {
			// Every column decides which rows are duplicates.
			in, _, changed := pr.prune(x.Input, allNeeded(len(need)))
			if !changed {
				return r, identityMap(len(need)), false
			}
			return &Distinct{Input: in}, identityMap(len(need)), true
		}
		inNeed := append([]bool{}, need...)
		for _, c := range x.On {
			inNeed[c] = true
		}
		in, m, changed := pr.prune(x.Input, inNeed)
		if !changed {
			return r, identityMap(len(need)), false
		}
		on := make([]int, len(x.On))
		for i, c := range x.On {
			on[i] = m[c]
		}
		return &Distinct{Input: in, On: on}, m, true
	case *Values:
		return pruneValues(x, need)
	case *SetOp:
		// Both inputs must keep the same columns; every column of a set
		// operation without ALL decides duplicates. The inputs are pruned
		// inside only.
		l, _, lc := pr.prune(x.Left, allNeeded(len(need)))
		rr, _, rc := pr.prune(x.Right, allNeeded(len(need)))
		if !lc && !rc {
			return r, identityMap(len(need)), false
		}
		return &SetOp{Kind: x.Kind, All: x.All, Left: l, Right: rr}, identityMap(len(need)), true
	case *Join:
		return pr.pruneJoin(x, need)
	case *Aggregate:
		return pr.pruneAggregate(x, need)
	case *MatchRecognize:
		return pr.pruneMatchRecognize(x, need)
	case *Window:
		return pr.pruneWindow(x, need)
	case *WindowTVF, *SessionWindow, *Expand:
		// These pass every input column through (a window also reads its
		// partition, order and argument columns): all of them are
		// needed, and the input is pruned inside only.
		in := Inputs(r)[0]
		pruned, _, changed := pr.prune(in, allNeeded(len(in.OutputTypes())))
		if !changed {
			return r, identityMap(len(need)), false
		}
		return WithInputs(r, []Rel{pruned}), identityMap(len(need)), true
	case *RecursiveUnion:
		// Every column of both terms is a column of the work table.
		a, _, ca := pr.prune(x.Anchor, allNeeded(len(x.Anchor.OutputTypes())))
		rc, _, cr := pr.prune(x.Recursive, allNeeded(len(x.Recursive.OutputTypes())))
		if !ca && !cr {
			return r, identityMap(len(need)), false
		}
		c := *x
		c.Anchor, c.Recursive = a, rc
		return &c, identityMap(len(need)), true
	case ColumnPruner:
		out, m, ok := x.PruneColumns(need)
		if !ok {
			return r, identityMap(len(need)), false
		}
		return out, m, true
	}
	return r, identityMap(len(need)), false
}

// pruneAggregate keeps every output of x (its group columns and
// aggregates) and narrows its input to the columns they read, so that a
// join below an aggregation keeps only those in its tables.
func (pr pruner) pruneAggregate(x *Aggregate, need []bool) (Rel, []int, bool) {
	inW := len(x.Input.OutputTypes())
	inNeed := make([]bool, inW)
	for _, g := range x.GroupCols {
		inNeed[g] = true
	}
	for _, a := range x.Aggs {
		for _, c := range a.Args {
			inNeed[c] = true
		}
		if a.Filter >= 0 {
			inNeed[a.Filter] = true
		}
		for _, o := range a.Order {
			inNeed[o.Col] = true
		}
	}
	if inW > 0 && !slices.Contains(inNeed, true) {
		// count(*) alone: keep one column, as narrow does
		inNeed[0] = true
	}
	in, m, changed := pr.prune(x.Input, inNeed)
	if !changed {
		return x, identityMap(len(need)), false
	}
	c := &Aggregate{Input: in, GroupCols: make([]int, len(x.GroupCols)), Aggs: make([]AggCall, len(x.Aggs))}
	for i, g := range x.GroupCols {
		c.GroupCols[i] = m[g]
	}
	for i, a := range x.Aggs {
		a.Args = slices.Clone(a.Args)
		for j, col := range a.Args {
			a.Args[j] = m[col]
		}
		if a.Filter >= 0 {
			a.Filter = m[a.Filter]
		}
		a.Order = slices.Clone(a.Order)
		for j := range a.Order {
			a.Order[j].Col = m[a.Order[j].Col]
		}
		c.Aggs[i] = a
	}
	return c, identityMap(len(need)), true
}

// pruneWindow keeps the input columns needed above x, those x reads (its
// partition, order, argument and filter columns) and the input's key and
// watermark columns (its stream properties stay), so that a join below
// a top-N (Nexmark q9) keeps only those in its tables.
func (pr pruner) pruneWindow(x *Window, need []bool) (Rel, []int, bool) {
	inW := len(x.Input.OutputTypes())
	inNeed := slices.Clone(need[:inW])
	props := StreamProps(x.Input)
	for _, c := range props.Watermarks {
		inNeed[c] = true
	}
	for _, c := range props.Key {
		inNeed[c] = true
	}
	for _, c := range x.Partition {
		inNeed[c] = true
	}
	for _, k := range x.Order {
		inNeed[k.Col] = true
	}
	for _, f := range x.Funcs {
		for _, a := range f.Args {
			inNeed[a] = true
		}
		if f.Filter >= 0 {
			inNeed[f.Filter] = true
		}
	}
	if inW > 0 && !slices.Contains(inNeed, true) {
		inNeed[0] = true // keep one column, as pruneAggregate does
	}
	in, im, changed := pr.narrow(x.Input, inNeed, nil)
	if !changed {
		return x, identityMap(len(need)), false
	}
	c := &Window{Input: in, Partition: remapCols(x.Partition, im), Order: slices.Clone(x.Order),
		Funcs: slices.Clone(x.Funcs)}
	for i := range c.Order {
		c.Order[i].Col = im[c.Order[i].Col]
	}
	for i := range c.Funcs {
		c.Funcs[i].Args = remapCols(c.Funcs[i].Args, im)
		if c.Funcs[i].Filter >= 0 {
			c.Funcs[i].Filter = im[c.Funcs[i].Filter]
		}
	}
	newW := len(in.OutputTypes())
	m := make([]int, len(need))
	copy(m, im[:inW])
	for k := range x.Funcs {
		m[inW+k] = newW + k
	}
	return c, m, true
}

func (pr pruner) pruneProject(x *Project, need []bool) (Rel, []int, bool) {
	inW := len(x.Input.OutputTypes())
	inNeed := make([]bool, inW)
	m := make([]int, len(x.Exprs))
	var kept []Scalar
	dropped := false
	for i, e := range x.Exprs {
		if !need[i] && movable(e) {
			m[i] = -1
			dropped = true
			continue
		}
		m[i] = len(kept)
		kept = append(kept, e)
		if readsByPosition(e) {
			inNeed = allNeeded(inW)
		}
		markRefs(inNeed, e)
	}
	in, im, changed := pr.prune(x.Input, inNeed)
	if !changed && !dropped {
		return x, m, false
	}
	if changed {
		for i, e := range kept {
			kept[i] = mapCols(e, im)
		}
	}
	return &Project{Input: in, Exprs: kept}, m, true
}

func pruneValues(x *Values, need []bool) (Rel, []int, bool) {
	m := make([]int, len(x.Types))
	var keep []int
	for c := range x.Types {
		drop := !need[c]
		for _, row := range x.Rows {
			if drop && !movable(row[c]) {
				drop = false
			}
		}
		if drop {
			m[c] = -1
			continue
		}
		m[c] = len(keep)
		keep = append(keep, c)
	}
	if len(keep) == len(x.Types) {
		return x, m, false
	}
	out := &Values{Types: make([]types.T, 0, len(keep)), Rows: make([][]Scalar, len(x.Rows))}
	for _, c := range keep {
		out.Types = append(out.Types, x.Types[c])
	}
	for i, row := range x.Rows {
		nr := make([]Scalar, 0, len(keep))
		for _, c := range keep {
			nr = append(nr, row[c])
		}
		out.Rows[i] = nr
	}
	return out, m, true
}

// narrow prunes r to the needed columns and, when r cannot drop them
// itself, puts a projection of the needed columns over it.
func (pr pruner) narrow(r Rel, need []bool, names []string) (Rel, []int, bool) {
	out, m, changed := pr.prune(r, need)
	var exprs []Scalar
	ts := out.OutputTypes()
	nm := make([]int, len(m))
	for old, nw := range m {
		nm[old] = -1
		if nw >= 0 && need[old] {
			nm[old] = len(exprs)
			c := &ColRef{Idx: nw, T: ts[nw]}
			if old < len(names) {
				c.Name = names[old]
			}
			exprs = append(exprs, c)
		}
	}
	if len(exprs) == len(ts) || !pr.narrowJoins {
		return out, m, changed
	}
	if len(exprs) == 0 {
		// Keep one column: a relation of no columns still has rows, but
		// not every executor can carry them.
		return out, m, changed
	}
	return &Project{Input: out, Exprs: exprs}, nm, true
}

func (pr pruner) pruneJoin(x *Join, need []bool) (Rel, []int, bool) {
	lw, rw := len(x.Left.OutputTypes()), len(x.Right.OutputTypes())
	outW := len(need)
	if x.Lateral || (x.Residual != nil && readsByPosition(x.Residual)) {
		// The right input of a lateral join reads the left row by
		// position: prune inside the inputs only.
		l, _, lc := pr.prune(x.Left, allNeeded(lw))
		rr, _, rc := pr.prune(x.Right, allNeeded(rw))
		if !lc && !rc {
			return x, identityMap(outW), false
		}
		j := *x
		j.Left, j.Right = l, rr
		return &j, identityMap(outW), true
	}
	ln, rn := make([]bool, lw), make([]bool, rw)
	for i, n := range need {
		if !n {
			continue
		}
		if i < lw {
			ln[i] = true
		} else {
			rn[i-lw] = true
		}
	}
	for _, k := range x.Keys.Left {
		markRefs(ln, k)
	}
	for _, k := range x.Keys.Right {
		markRefs(rn, k)
	}
	if x.Residual != nil {
		for _, i := range refsOf(x.Residual) {
			if i < lw {
				ln[i] = true
			} else {
				rn[i-lw] = true
			}
		}
	}
	var rnames []string
	if len(x.Names) > lw {
		rnames = x.Names[lw:]
	}
	l, lm, lc := pr.narrow(x.Left, ln, x.Names)
	rr, rm, rc := pr.narrow(x.Right, rn, rnames)
	if !lc && !rc {
		return x, identityMap(outW), false
	}
	nlw := len(l.OutputTypes())
	m := make([]int, lw+rw)
	for i := 0; i < lw; i++ {
		m[i] = lm[i]
	}
	for i := 0; i < rw; i++ {
		m[lw+i] = -1
		if rm[i] >= 0 {
			m[lw+i] = nlw + rm[i]
		}
	}
	j := &Join{Kind: x.Kind, Left: l, Right: rr}
	for i := range x.Keys.Left {
		j.Keys.Left = append(j.Keys.Left, mapCols(x.Keys.Left[i], lm))
		j.Keys.Right = append(j.Keys.Right, mapCols(x.Keys.Right[i], rm))
	}
	if x.Residual != nil {
		j.Residual = mapCols(x.Residual, m)
	}
	if x.Names != nil {
		j.Names = make([]string, len(j.OutputTypes()))
		for old, nw := range m {
			if nw >= 0 && nw < len(j.Names) && old < len(x.Names) {
				j.Names[nw] = x.Names[old]
			}
		}
	}
	return j, m[:outW], true
}
