package plan

import (
	"strings"

	"streamsql/sql/types"
)

// Rules: named rewrites of a relational tree that keep its result. Each
// rule is a function from a tree to a tree; Optimize runs a list of them
// until none changes anything. The rules know the nodes of this package
// only: a node defined elsewhere (an executor leaf) is left as it is and
// nothing moves into it, unless it implements ColumnPruner.
//
// What "keeps its result" means here: the same rows (with the same
// multiplicities, and the same order where the plan fixes one). A
// predicate may be evaluated on rows it did not see before (pushed into
// a join's input it sees rows the join would have dropped), so an error
// a predicate raises on such a row can appear, as in PostgreSQL, which
// fixes no order of evaluation for WHERE. Volatile expressions (random(),
// nextval()), subqueries and outer references never move and are never
// duplicated or dropped.

// Rule is one named rewrite. Apply returns the rewritten tree and whether
// it changed anything.
type Rule struct {
	Name  string
	Apply func(Rel) (Rel, bool)
}

// DefaultRules are the rules in the order Optimize runs them: constant
// folding first (it removes filters the others would move), then
// decorrelation, the predicate pushdowns, projection pruning and the
// merging of the projections pruning and pushdown leave stacked.
func DefaultRules() []Rule {
	return []Rule{
		{"fold-filter", foldFilters},
		{"decorrelate", local(decorrelate)},
		{"merge-filters", local(mergeFilters)},
		{"push-filter-project", local(pushFilterProject)},
		{"push-filter-sort", local(pushFilterSort)},
		{"push-filter-distinct", local(pushFilterDistinct)},
		{"push-filter-setop", local(pushFilterSetOp)},
		{"push-filter-join", local(pushFilterJoin)},
		{"push-join-condition", local(pushJoinCondition)},
		{"prune-columns", PruneColumns(true)},
		{"merge-projects", local(mergeProjects)},
	}
}

// RuleByName finds a rule of DefaultRules.
func RuleByName(name string) (Rule, bool) {
	for _, r := range DefaultRules() {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// Optimize applies rules to r until none changes it (at most ten rounds),
// and returns the result with the names of the rules that changed it, in
// the order they first did.
func Optimize(r Rel, rules []Rule) (Rel, []string) {
	var fired []string
	for round := 0; round < 10; round++ {
		changed := false
		for _, rule := range rules {
			out, ok := rule.Apply(r)
			if !ok {
				continue
			}
			r, changed = out, true
			if !containsName(fired, rule.Name) {
				fired = append(fired, rule.Name)
			}
		}
		if !changed {
			break
		}
	}
	return r, fired
}

func containsName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// local turns a rewrite of one node into a rule over the tree: f is tried
// on every node, inputs first, and again on what it returns.
func local(f func(Rel) (Rel, bool)) func(Rel) (Rel, bool) {
	var walk func(Rel, int) (Rel, bool)
	walk = func(r Rel, depth int) (Rel, bool) {
		ins := Inputs(r)
		changed := false
		if len(ins) > 0 {
			outs := make([]Rel, len(ins))
			for i, in := range ins {
				var c bool
				outs[i], c = walk(in, depth)
				changed = changed || c
			}
			if changed {
				r = WithInputs(r, outs)
			}
		}
		out, ok := f(r)
		if !ok {
			return r, changed
		}
		if depth > 64 {
			return out, true
		}
		out, _ = walk(out, depth+1)
		return out, true
	}
	return func(r Rel) (Rel, bool) { return walk(r, 0) }
}

// WithInputs returns a copy of r reading ins instead of its inputs (as
// Inputs lists them); a node without inputs is returned as it is.
func WithInputs(r Rel, ins []Rel) Rel {
	switch x := r.(type) {
	case *Filter:
		c := *x
		c.Input = ins[0]
		return &c
	case *Project:
		c := *x
		c.Input = ins[0]
		return &c
	case *Limit:
		c := *x
		c.Input = ins[0]
		return &c
	case *Sort:
		c := *x
		c.Input = ins[0]
		return &c
	case *Distinct:
		c := *x
		c.Input = ins[0]
		return &c
	case *Window:
		c := *x
		c.Input = ins[0]
		return &c
	case *WindowTVF:
		c := *x
		c.Input = ins[0]
		return &c
	case *SessionWindow:
		c := *x
		c.Input = ins[0]
		return &c
	case *MatchRecognize:
		c := *x
		c.Input = ins[0]
		return &c
	case *RecursiveUnion:
		c := *x
		c.Anchor, c.Recursive = ins[0], ins[1]
		return &c
	case *SetOp:
		c := *x
		c.Left, c.Right = ins[0], ins[1]
		return &c
	case *Join:
		c := *x
		c.Left, c.Right = ins[0], ins[1]
		return &c
	case *AsofJoin:
		c := *x
		c.Left, c.Right = ins[0], ins[1]
		return &c
	case *Aggregate:
		c := *x
		c.Input = ins[0]
		return &c
	case *Expand:
		c := *x
		c.Input = ins[0]
		return &c
	}
	return r
}

// movable reports whether e may be evaluated elsewhere than where it was
// bound: no subquery, outer reference or volatile function.
func movable(e Scalar) bool {
	_, ok := ColRefs(e)
	return ok
}

// refsOf lists the input columns e reads.
func refsOf(e Scalar) []int {
	refs, _ := ColRefs(e)
	return refs
}

// mapCols rewrites e's column references through m (old -> new column).
func mapCols(e Scalar, m []int) Scalar {
	return Rewrite(e, func(x Scalar) (Scalar, bool) {
		if c, ok := x.(*ColRef); ok {
			return &ColRef{Idx: m[c.Idx], T: c.T, Name: c.Name}, true
		}
		return nil, false
	})
}

// ---- constant folding ----

// foldFilters simplifies every filter predicate and join condition with
// constant parts: a filter that is always true goes, one that is never
// true (false or NULL) becomes an empty relation of the same columns.
func foldFilters(r Rel) (Rel, bool) {
	return local(func(r Rel) (Rel, bool) {
		switch x := r.(type) {
		case *Filter:
			if !foldable(x.Pred) {
				return r, false
			}
			p := FoldScalar(x.Pred)
			if c, ok := p.(*Const); ok {
				if v, _ := c.Value.(bool); v {
					return x.Input, true
				}
				return &Values{Types: x.OutputTypes()}, true
			}
			return &Filter{Input: x.Input, Pred: p}, true
		case *Join:
			if x.Residual == nil || !foldable(x.Residual) {
				return r, false
			}
			p := FoldScalar(x.Residual)
			if c, ok := p.(*Const); ok {
				if v, _ := c.Value.(bool); v {
					j := *x
					j.Residual = nil
					return &j, true
				}
			}
			j := *x
			j.Residual = p
			return &j, true
		}
		return r, false
	})(r)
}

// foldable reports whether FoldScalar would change e: a constant that
// is a whole predicate or an argument of AND, OR or NOT, or an immutable
// call of constants that computes.
func foldable(e Scalar) bool {
	if _, ok := e.(*Const); ok {
		return true
	}
	found := false
	Visit(e, func(x Scalar) {
		switch n := x.(type) {
		case *And:
			found = found || anyConst(n.Args)
		case *Or:
			found = found || anyConst(n.Args)
		case *Not:
			found = found || anyConst([]Scalar{n.Input})
		case *Call:
			consts := make([]*Const, len(n.Args))
			for i, a := range n.Args {
				c, ok := a.(*Const)
				if !ok {
					return
				}
				consts[i] = c
			}
			if _, ok := FoldCall(n.Fn, consts, n.T); ok {
				found = true
			}
		}
	})
	return found
}

func anyConst(es []Scalar) bool {
	for _, e := range es {
		if _, ok := e.(*Const); ok {
			return true
		}
	}
	return false
}

// FoldScalar simplifies e bottom-up: immutable functions of constants
// are computed (FoldCall), and AND, OR and NOT with constant arguments
// follow three-valued logic (false AND x is false, true OR x is true,
// true arguments of AND and false ones of OR go).
func FoldScalar(e Scalar) Scalar {
	return Rewrite(e, func(x Scalar) (Scalar, bool) {
		switch n := x.(type) {
		case *And:
			return foldConnective(n.Args, false), true
		case *Or:
			return foldConnective(n.Args, true), true
		case *Not:
			in := FoldScalar(n.Input)
			if c, ok := in.(*Const); ok {
				if c.Value == nil {
					return c, true
				}
				if v, ok := c.Value.(bool); ok {
					return &Const{Value: !v, T: types.TBool}, true
				}
			}
			return &Not{Input: in}, true
		case *Call:
			args := make([]Scalar, len(n.Args))
			consts := make([]*Const, len(n.Args))
			all := true
			for i, a := range n.Args {
				args[i] = FoldScalar(a)
				c, ok := args[i].(*Const)
				consts[i] = c
				all = all && ok
			}
			if all {
				if v, ok := FoldCall(n.Fn, consts, n.T); ok {
					return &Const{Value: v, T: n.T}, true
				}
			}
			return &Call{Fn: n.Fn, Args: args, T: n.T}, true
		}
		return nil, false
	})
}

// foldConnective folds AND (decider false) or OR (decider true).
func foldConnective(args []Scalar, decider bool) Scalar {
	var out []Scalar
	sawNull := false
	for _, a := range args {
		a = FoldScalar(a)
		if c, ok := a.(*Const); ok {
			if c.Value == nil {
				sawNull = true
				continue
			}
			if v, ok := c.Value.(bool); ok {
				if v == decider {
					return &Const{Value: decider, T: types.TBool}
				}
				continue
			}
		}
		out = append(out, a)
	}
	if sawNull {
		if len(out) == 0 {
			return &Const{T: types.TBool}
		}
		out = append(out, &Const{T: types.TBool})
	}
	switch len(out) {
	case 0:
		return &Const{Value: !decider, T: types.TBool}
	case 1:
		return out[0]
	}
	if decider {
		return &Or{Args: out}
	}
	return &And{Args: out}
}

// ---- predicate pushdown ----

// mergeFilters joins a filter over a filter into one: the lower predicate
// first, then the upper one, which AND evaluates only on rows the lower
// one did not reject. The upper predicate must be movable: AND also
// evaluates it on rows where the lower one is NULL.
func mergeFilters(r Rel) (Rel, bool) {
	up, ok := r.(*Filter)
	if !ok {
		return r, false
	}
	down, ok := up.Input.(*Filter)
	if !ok || !movable(up.Pred) {
		return r, false
	}
	return &Filter{Input: down.Input, Pred: AndAll(SplitAnd(up.Pred, SplitAnd(down.Pred, nil)))}, true
}

// splitMovable splits a filter's conjuncts into those ok accepts (movable
// ones only) and the rest.
func splitMovable(pred Scalar, ok func(Scalar) bool) (move, stay []Scalar) {
	for _, c := range SplitAnd(pred, nil) {
		if movable(c) && ok(c) {
			move = append(move, c)
		} else {
			stay = append(stay, c)
		}
	}
	return move, stay
}

// above puts the conjuncts that stayed back over r.
func above(r Rel, stay []Scalar) Rel {
	if len(stay) == 0 {
		return r
	}
	return &Filter{Input: r, Pred: AndAll(stay)}
}

// pushFilterProject moves conjuncts below a projection, with the
// projected expressions in place of the columns they read. A conjunct
// that reads a column computed by a volatile expression or a subquery
// stays (moving it would evaluate that expression twice).
func pushFilterProject(r Rel) (Rel, bool) {
	f, ok := r.(*Filter)
	if !ok {
		return r, false
	}
	p, ok := f.Input.(*Project)
	if !ok {
		return r, false
	}
	move, stay := splitMovable(f.Pred, func(c Scalar) bool {
		for _, i := range refsOf(c) {
			if !movable(p.Exprs[i]) {
				return false
			}
		}
		return true
	})
	if len(move) == 0 {
		return r, false
	}
	for i, c := range move {
		move[i] = Rewrite(c, func(x Scalar) (Scalar, bool) {
			if cr, ok := x.(*ColRef); ok {
				return p.Exprs[cr.Idx], true
			}
			return nil, false
		})
	}
	return above(&Project{Input: &Filter{Input: p.Input, Pred: AndAll(move)}, Exprs: p.Exprs}, stay), true
}

// pushFilterSort moves conjuncts below a sort: the same rows come out in
// the same order.
func pushFilterSort(r Rel) (Rel, bool) {
	f, ok := r.(*Filter)
	if !ok {
		return r, false
	}
	s, ok := f.Input.(*Sort)
	if !ok {
		return r, false
	}
	move, stay := splitMovable(f.Pred, func(Scalar) bool { return true })
	if len(move) == 0 {
		return r, false
	}
	return above(&Sort{Input: &Filter{Input: s.Input, Pred: AndAll(move)}, Keys: s.Keys}, stay), true
}

// identityEquality reports whether two values of t that compare equal are
// the same value, so that any predicate gives both the same answer. Not
// so for numeric (1.0 = 1.00), floats (0 = -0), char(n) (trailing
// blanks), interval ('1 day' = '24 hours'), jsonb, arrays and records.
func identityEquality(t types.T) bool {
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Text, types.Varchar, types.Bytea,
		types.DateKind, types.Time, types.TimestampKind, types.TimestampTZ, types.Oid, types.Name:
		return true
	}
	return false
}

// readsIdentityColumns reports whether every column c reads has a type
// with identityEquality: rows that duplicate elimination treats as one
// then agree on c.
func readsIdentityColumns(c Scalar, ts []types.T) bool {
	for _, i := range refsOf(c) {
		if !identityEquality(ts[i]) {
			return false
		}
	}
	return true
}

// pushFilterDistinct moves conjuncts below DISTINCT when rows it treats
// as duplicates agree on the conjunct: it reads only columns whose
// equality is identity (and, for DISTINCT ON, only the On columns, so a
// whole group is kept or dropped).
func pushFilterDistinct(r Rel) (Rel, bool) {
	f, ok := r.(*Filter)
	if !ok {
		return r, false
	}
	d, ok := f.Input.(*Distinct)
	if !ok {
		return r, false
	}
	ts := d.OutputTypes()
	move, stay := splitMovable(f.Pred, func(c Scalar) bool {
		if d.On != nil {
			for _, i := range refsOf(c) {
				if !contains(d.On, i) {
					return false
				}
			}
		}
		return readsIdentityColumns(c, ts)
	})
	if len(move) == 0 {
		return r, false
	}
	return above(&Distinct{Input: &Filter{Input: d.Input, Pred: AndAll(move)}, On: d.On}, stay), true
}

// pushFilterSetOp moves conjuncts into both inputs of UNION, INTERSECT and
// EXCEPT: a row is in the result and passes the filter exactly when it
// passes it on both sides. Without ALL, the conjunct must read only
// columns whose equality is identity (see pushFilterDistinct).
func pushFilterSetOp(r Rel) (Rel, bool) {
	f, ok := r.(*Filter)
	if !ok {
		return r, false
	}
	s, ok := f.Input.(*SetOp)
	if !ok {
		return r, false
	}
	ts := s.OutputTypes()
	move, stay := splitMovable(f.Pred, func(c Scalar) bool {
		return (s.Kind == Union && s.All) || readsIdentityColumns(c, ts)
	})
	if len(move) == 0 {
		return r, false
	}
	pred := AndAll(move)
	out := &SetOp{Kind: s.Kind, All: s.All,
		Left:  &Filter{Input: s.Left, Pred: pred},
		Right: &Filter{Input: s.Right, Pred: retype(pred, s.Right.OutputTypes())}}
	return above(out, stay), true
}

// retype gives e's column references the column types ts.
func retype(e Scalar, ts []types.T) Scalar {
	return Rewrite(e, func(x Scalar) (Scalar, bool) {
		if c, ok := x.(*ColRef); ok {
			return &ColRef{Idx: c.Idx, T: ts[c.Idx], Name: c.Name}, true
		}
		return nil, false
	})
}

// side tells which inputs of a join of left width lw a conjunct reads: 1
// left only, 2 right only, 3 both, 0 neither.
func side(c Scalar, lw int) int {
	s := 0
	for _, i := range refsOf(c) {
		if i < lw {
			s |= 1
		} else {
			s |= 2
		}
	}
	return s
}

// pushFilterJoin moves the conjuncts of a filter over a join into the
// join: a conjunct on one input goes below the join when that input is
// preserved (never null-padded: the left of an inner, left, semi or anti
// join, the right of an inner or right join), and a conjunct on both
// inputs of an inner join becomes part of its condition (a hash key when
// it is an equality). A conjunct on a null-supplying input stays above:
// below, it would keep the null-padded rows it removes above. Of a
// lateral join only the left input takes conjuncts.
func pushFilterJoin(r Rel) (Rel, bool) {
	f, ok := r.(*Filter)
	if !ok {
		return r, false
	}
	j, ok := f.Input.(*Join)
	if !ok {
		return r, false
	}
	lw := len(j.Left.OutputTypes())
	width := len(j.OutputTypes())
	leftOK := j.Kind == InnerJoin || j.Kind == LeftJoin || j.Kind == SemiJoin || j.Kind == AntiJoin
	rightOK := !j.Lateral && (j.Kind == InnerJoin || j.Kind == RightJoin)
	bothOK := !j.Lateral && j.Kind == InnerJoin
	var toLeft, toRight, toJoin []Scalar
	move, stay := splitMovable(f.Pred, func(c Scalar) bool {
		switch side(c, lw) {
		case 1:
			return leftOK
		case 2:
			return rightOK
		case 3:
			return bothOK
		}
		return false
	})
	if len(move) == 0 {
		return r, false
	}
	for _, c := range move {
		switch side(c, lw) {
		case 1:
			toLeft = append(toLeft, c)
		case 2:
			toRight = append(toRight, ShiftCols(c, -lw))
		default:
			toJoin = append(toJoin, c)
		}
	}
	out := *j
	out.Keys = EquiKeys{Left: append([]Scalar{}, j.Keys.Left...), Right: append([]Scalar{}, j.Keys.Right...)}
	if len(toLeft) > 0 {
		out.Left = &Filter{Input: j.Left, Pred: AndAll(toLeft)}
	}
	if len(toRight) > 0 {
		out.Right = &Filter{Input: j.Right, Pred: AndAll(toRight)}
	}
	if len(toJoin) > 0 {
		res := SplitAnd(j.Residual, nil)
		if j.Residual == nil {
			res = nil
		}
		for _, c := range toJoin {
			if !out.Keys.Add(c, lw, width) {
				res = append(res, c)
			}
		}
		out.Residual = AndAll(res)
	}
	return above(&out, stay), true
}

// pushJoinCondition moves conjuncts of a join's residual condition that
// read one input only into that input, where the condition decides which
// rows of it can match: either input of an inner join, the right of a
// left, semi or anti join, the left of a right join. The preserved input
// keeps its conjuncts in the condition: there they decide a match, not
// whether a row is returned.
func pushJoinCondition(r Rel) (Rel, bool) {
	j, ok := r.(*Join)
	if !ok || j.Residual == nil || j.Lateral {
		return r, false
	}
	lw := len(j.Left.OutputTypes())
	leftOK := j.Kind == InnerJoin || j.Kind == RightJoin
	rightOK := j.Kind == InnerJoin || j.Kind == LeftJoin || j.Kind == SemiJoin || j.Kind == AntiJoin
	var toLeft, toRight, keep []Scalar
	for _, c := range SplitAnd(j.Residual, nil) {
		s := side(c, lw)
		switch {
		case movable(c) && s == 1 && leftOK:
			toLeft = append(toLeft, c)
		case movable(c) && s == 2 && rightOK:
			toRight = append(toRight, ShiftCols(c, -lw))
		default:
			keep = append(keep, c)
		}
	}
	if len(toLeft) == 0 && len(toRight) == 0 {
		return r, false
	}
	out := *j
	if len(toLeft) > 0 {
		out.Left = &Filter{Input: j.Left, Pred: AndAll(toLeft)}
	}
	if len(toRight) > 0 {
		out.Right = &Filter{Input: j.Right, Pred: AndAll(toRight)}
	}
	out.Residual = AndAll(keep)
	return &out, true
}

// ---- helpers for tests and EXPLAIN ----

// RuleNames lists the names of rules.
func RuleNames(rules []Rule) string {
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// mergeProjects replaces a projection of a projection by one projection
// of the inner one's input, with the inner expressions in place of the
// columns that read them. It keeps both when that would evaluate an
// expression more often (one read twice that is more than a column, a
// constant or a parameter) or drop one that must run (a volatile
// expression or a subquery), or when the outer expressions hold a
// correlated subquery, which reads the inner projection's row by
// position.
func mergeProjects(r Rel) (Rel, bool) {
	outer, ok := r.(*Project)
	if !ok {
		return r, false
	}
	inner, ok := outer.Input.(*Project)
	if !ok {
		return r, false
	}
	uses := make([]int, len(inner.Exprs))
	for _, e := range outer.Exprs {
		if readsByPosition(e) {
			return r, false
		}
		for _, i := range refsOf(e) {
			uses[i]++
		}
	}
	for i, e := range inner.Exprs {
		if !movable(e) {
			return r, false
		}
		switch e.(type) {
		case *ColRef, *Const, *Param:
			continue
		}
		if uses[i] > 1 {
			return r, false
		}
	}
	exprs := make([]Scalar, len(outer.Exprs))
	for i, e := range outer.Exprs {
		exprs[i] = Rewrite(e, func(x Scalar) (Scalar, bool) {
			if c, ok := x.(*ColRef); ok {
				return inner.Exprs[c.Idx], true
			}
			return nil, false
		})
	}
	return &Project{Input: inner.Input, Exprs: exprs}, true
}
