package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// A LANGUAGE sql function whose body is a query (SELECT v FROM t WHERE
// k = x, with any clauses) is bound at each call as a scalar subquery of
// the calling query, correlated through its arguments: the body's
// references to an argument ($1 or its name, where no column of the
// body's FROM has that name, as in PostgreSQL) read the argument's
// expression in the caller's row. A call therefore runs as a written-out
// correlated subquery would: per row in an ad-hoc query, and in a
// materialized view as the join or lookup the view planner maintains for
// such a subquery (or refused there, naming the function).
//
// PostgreSQL returns the first row of the body's result (NULL for none):
// ad hoc the subquery is limited to one row. A view keeps only subqueries
// that give at most one row per caller row (an aggregate without GROUP BY,
// or a lookup fixing a primary key), which then need no limit.
//
// The body reads with the caller's rights (SECURITY INVOKER), or with
// its owner's for SECURITY DEFINER, checked as the reads of a view are.

// funcFrame is a query body being bound.
type funcFrame struct {
	f *catalog.Function
	// args are the call's arguments, bound in the caller's scope.
	args []plan.Scalar
	// caller is the caller's scope: the body's query levels are its
	// children.
	caller *scope
}

// queryBody binds the query body sel of f, called with args (bound in
// b's scope), as a scalar subquery; the result is cast to f's return type.
func (b *exprBinder) queryBody(f *catalog.Function, sel *pg.SelectStmt, args []plan.Scalar, pos int) (plan.Scalar, error) {
	p := b.p
	if anySubquery(args) {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "an argument of SQL function %s, whose body reads tables, cannot hold a subquery", f.Signature()).
			WithHint("Compute the argument in a subquery or join of its own.").WithPosition(pos)
	}
	if !p.Stream {
		// The first row, as PostgreSQL's SQL functions return: LIMIT 1,
		// or LIMIT 0 where the body says so.
		one := int32(1)
		if lc := sel.LimitCount.GetAConst(); lc != nil {
			if iv, ok := lc.Val.(*pg.A_Const_Ival); ok && iv.Ival.Ival < 1 {
				one = 0
			}
		}
		if sel.LimitCount == nil || sel.LimitCount.GetAConst() != nil {
			// sel was parsed for this call alone.
			sel.LimitCount = &pg.Node{Node: &pg.Node_AConst{AConst: &pg.A_Const{Val: &pg.A_Const_Ival{Ival: &pg.Integer{Ival: one}}, Location: -1}}}
			sel.LimitOption = pg.LimitOption_LIMIT_OPTION_COUNT
		}
	}
	rel, child, err := p.planBodyQuery(f, sel, args, b.scope)
	if err != nil {
		return nil, err
	}
	if rel.visibleCount() != 1 {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", f.RetType).
			WithDetail("Final statement must return exactly one column.")
	}
	t := rel.cols[0].t
	if t.Kind == types.Unknown {
		t = types.TText
		rel.node = projectCast(rel, 0, t)
	}
	sq := &plan.Subquery{Kind: plan.ScalarSubquery, Plan: rel.node, Correlated: child.correlated, OuterTypes: typesOf(b.scope.cols), T: t,
		Func: f.Signature()}
	return p.sqlFuncResult(f, sq)
}

// planBodyQuery plans the query body sel of f, called with args (bound
// in the scope caller), in a new query level below caller; it returns
// the body's relation and that level's scope, marked correlated when
// the body read an argument that reads caller's columns.
func (p *Planner) planBodyQuery(f *catalog.Function, sel *pg.SelectStmt, args []plan.Scalar, caller *scope) (*relPlan, *scope, error) {
	child := &scope{parent: caller}
	fr := &funcFrame{f: f, args: args, caller: caller}
	saved := p.sqlFuncs.frames
	p.sqlFuncs.frames = append(saved[:len(saved):len(saved)], fr)
	caller.bodyCaller++
	definer := f.SecurityDefiner && p.Deps != nil
	var deps map[uint32]bool
	var colDeps map[uint32]map[int16]bool
	var role string
	if definer {
		deps, colDeps, role = p.Deps, p.ColDeps, p.Role
		p.Deps, p.ColDeps, p.Role = map[uint32]bool{}, map[uint32]map[int16]bool{}, f.Owner
	}
	rel, err := p.planSelect(sel, child)
	p.sqlFuncs.frames = saved
	caller.bodyCaller--
	if definer {
		body := ViewRead{View: f.OID, Owner: f.Owner, Deps: p.Deps, ColDeps: p.ColDeps}
		p.Deps, p.ColDeps, p.Role = deps, colDeps, role
		p.ViewReads = append(p.ViewReads, body)
		p.Deps[f.OID] = true
	}
	return rel, child, err
}

// frameArg resolves a reference inside a query body being bound to one
// of its function's arguments: which returns the argument's index, or
// false when the reference names none. The argument's expression is
// moved to be read from b's scope, as an outer reference.
func (b *exprBinder) frameArg(which func(f *catalog.Function) (int, bool)) (plan.Scalar, bool) {
	frames := b.p.sqlFuncs.frames
	for k := len(frames) - 1; k >= 0; k-- {
		fr := frames[k]
		d := 0
		sc := b.scope
		for sc != nil && sc != fr.caller {
			sc, d = sc.parent, d+1
		}
		if sc == nil || d == 0 {
			continue
		}
		i, ok := which(fr.f)
		if !ok {
			return nil, false // a body sees only its own function's arguments
		}
		// Every scope up to the caller's reads an outer row now, as do
		// those an outer reference of the argument crosses; an argument
		// that reads no column (a constant) correlates nothing.
		reads := false
		plan.Visit(fr.args[i], func(e plan.Scalar) {
			switch e.(type) {
			case *plan.ColRef, *plan.OuterRef:
				reads = true
			}
		})
		x := b.scope
		for m := 0; m < d; m++ {
			if reads {
				x.correlated = true
			}
			x = x.parent
		}
		by := d
		return plan.Rewrite(fr.args[i], func(e plan.Scalar) (plan.Scalar, bool) {
			switch c := e.(type) {
			case *plan.ColRef:
				return &plan.OuterRef{Depth: by, Idx: c.Idx, T: c.T, Name: c.Name}, true
			case *plan.OuterRef:
				y := x
				for m := 0; m < c.Depth && y != nil; m++ {
					y.correlated = true
					y = y.parent
				}
				return &plan.OuterRef{Depth: c.Depth + by, Idx: c.Idx, T: c.T, Name: c.Name}, true
			}
			return nil, false
		}), true
	}
	return nil, false
}

// bodyParam resolves $n inside a query body; ok is false outside one.
func (b *exprBinder) bodyParam(n int, pos int) (plan.Scalar, bool, error) {
	if len(b.p.sqlFuncs.frames) == 0 {
		return nil, false, nil
	}
	var nargs int
	e, ok := b.frameArg(func(f *catalog.Function) (int, bool) {
		nargs = len(f.ArgTypes)
		return n - 1, n >= 1 && n <= len(f.ArgTypes)
	})
	if ok {
		return e, true, nil
	}
	if nargs > 0 || b.inFrame() {
		return nil, true, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $%d", n).WithPosition(pos)
	}
	return nil, false, nil
}

// inFrame reports whether b binds inside a query body.
func (b *exprBinder) inFrame() bool {
	for _, fr := range b.p.sqlFuncs.frames {
		for sc := b.scope; sc != nil; sc = sc.parent {
			if sc.parent == fr.caller {
				return true
			}
		}
	}
	return false
}

// bodyArgByName resolves a column reference that named no column inside
// a query body to an argument: name, or fn.name.
func (b *exprBinder) bodyArgByName(qual, name string) (plan.Scalar, bool) {
	if len(b.p.sqlFuncs.frames) == 0 {
		return nil, false
	}
	return b.frameArg(func(f *catalog.Function) (int, bool) {
		if qual != "" && qual != f.Name {
			return 0, false
		}
		for i, an := range f.ArgNames {
			if an != "" && an == name {
				return i, true
			}
		}
		return 0, false
	})
}
