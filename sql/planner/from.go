package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// RowIDColumn is the hidden system column that, in a planner with RowIDs
// set, holds the row id of a table without a primary key: the key its
// row is stored and locked under, as PostgreSQL's ctid locates a row.
// It is not expanded by *.
const RowIDColumn = "ctid"

// scanInfo remembers that a relPlan is a plain table scan, so that a
// predicate on the primary key can narrow it to a key range.
type scanInfo struct {
	cols []int
	name string
	// rel is the scanned relation, for its storage key and its secondary
	// indexes (index.go).
	rel *catalog.Relation
	// node is the scan in the plan, which narrowing gives bounds.
	node *plan.Scan
}

type fromItem struct {
	rel  *relPlan
	scan *scanInfo
	// lateral is set when rel reads the items before it (through outer
	// references of depth 1): it is joined with a LateralJoin.
	lateral bool
	// sqlFunc is the signature of the set-returning SQL function whose
	// body rel is, for errors (sqlfunc_set.go).
	sqlFunc string
	// lookup is set for a table read FOR SYSTEM_TIME AS OF PROCTIME().
	lookup *lookupTable
	// secured is set when rel filters the scan by row-level security
	// policies (policy.go).
	secured bool
}

// planFromWhere plans the FROM list joined left-deep, with the WHERE
// conjuncts pushed to the items they touch and equalities between items
// used as hash join keys. It sets sc.cols to the combined columns.
func (p *Planner) planFromWhere(items []*pg.Node, where *pg.Node, sc *scope) (*relPlan, error) {
	if len(items) == 0 {
		sc.cols = nil
		rel := &relPlan{node: &plan.Values{Rows: [][]plan.Scalar{{}}}}
		if where != nil {
			w, err := p.bindWhere(where, sc)
			if err != nil {
				return nil, err
			}
			rel.node = &plan.Filter{Input: rel.node, Pred: w}
		}
		return rel, nil
	}
	var fis []*fromItem
	var all []column
	for _, it := range items {
		sc.lateral = all
		fi, err := p.planFromItem(it, sc)
		sc.lateral = nil
		if err != nil {
			return nil, err
		}
		if fi.lookup != nil {
			return nil, lookupNotRight(fi.lookup)
		}
		fis = append(fis, fi)
		all = append(all, fi.rel.cols...)
	}
	sc.cols = all
	var conj []plan.Scalar
	if where != nil {
		w, err := p.bindWhere(where, sc)
		if err != nil {
			return nil, err
		}
		conj = plan.SplitAnd(w, nil)
	}
	// Column ranges of each item.
	starts := make([]int, len(fis)+1)
	for i, fi := range fis {
		starts[i+1] = starts[i] + len(fi.rel.cols)
	}
	itemOf := func(col int) int {
		for i := range fis {
			if col < starts[i+1] {
				return i
			}
		}
		return len(fis) - 1
	}
	used := make([]bool, len(conj))
	// Push single-item conjuncts down.
	pushed := make([][]plan.Scalar, len(fis))
	for ci, c := range conj {
		refs, pushable := plan.ColRefs(c)
		if !pushable || len(refs) == 0 {
			continue
		}
		item := itemOf(refs[0])
		same := true
		for _, r := range refs {
			if itemOf(r) != item {
				same = false
			}
		}
		if !same {
			continue
		}
		pushed[item] = append(pushed[item], plan.ShiftCols(c, -starts[item]))
		used[ci] = true
	}
	for i, fi := range fis {
		if len(pushed[i]) == 0 {
			continue
		}
		pred := plan.AndAll(pushed[i])
		if fi.scan != nil {
			pred = p.narrowScan(fi, pred)
		}
		if pred != nil {
			fi.rel = &relPlan{node: &plan.Filter{Input: fi.rel.node, Pred: pred}, cols: fi.rel.cols}
		}
	}
	// Join left-deep.
	acc := fis[0].rel
	for i := 1; i < len(fis); i++ {
		right := fis[i].rel
		end := starts[i+1]
		var keys plan.EquiKeys
		var residual []plan.Scalar
		for ci, c := range conj {
			if used[ci] {
				continue
			}
			refs, pushable := plan.ColRefs(c)
			if !pushable {
				continue
			}
			inside := true
			for _, r := range refs {
				if r >= end {
					inside = false
				}
			}
			if !inside {
				continue
			}
			if fis[i].lateral || !keys.Add(c, starts[i], end) {
				residual = append(residual, c)
			}
			used[ci] = true
		}
		cols := append(append([]column{}, acc.cols...), right.cols...)
		node := join(acc, right, plan.InnerJoin, fis[i].lateral, &keys, residual)
		node.(*plan.Join).Func = fis[i].sqlFunc
		acc = &relPlan{node: node, cols: cols}
	}
	var rest []plan.Scalar
	for ci, c := range conj {
		if !used[ci] {
			rest = append(rest, c)
		}
	}
	if len(rest) > 0 {
		acc = &relPlan{node: &plan.Filter{Input: acc.node, Pred: plan.AndAll(rest)}, cols: acc.cols}
	}
	return acc, nil
}

func (p *Planner) bindWhere(where *pg.Node, sc *scope) (plan.Scalar, error) {
	w, err := p.binder(sc, "WHERE").bind(where)
	if err != nil {
		return nil, err
	}
	return p.coerceBool(w, "argument of WHERE", 0)
}

func (p *Planner) planFromItem(n *pg.Node, sc *scope) (*fromItem, error) {
	switch {
	case n.GetRangeVar() != nil:
		return p.planRangeVar(n.GetRangeVar(), sc)
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		if rs.Lateral {
			return p.planLateralSubselect(rs, sc)
		}
		sub := &scope{parent: sc.parent, ctes: sc.ctes}
		rel, err := p.planSelect(rs.Subquery.GetSelectStmt(), sub)
		if err != nil {
			return nil, err
		}
		if sub.correlated && sc.parent != nil {
			sc.correlated = true
		}
		name := ""
		if rs.Alias != nil {
			name = rs.Alias.Aliasname
		}
		return &fromItem{rel: renameRel(rel, name, rs.Alias)}, nil
	case n.GetRangeFunction() != nil:
		return p.planRangeFunction(n.GetRangeFunction(), sc)
	case n.GetJoinExpr() != nil:
		rel, err := p.planJoin(n.GetJoinExpr(), sc)
		if err != nil {
			return nil, err
		}
		return &fromItem{rel: rel}, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FROM item %s is not supported", nodeName(n))
}

// renameRel applies a table alias (and column aliases) to a relation.
func renameRel(rel *relPlan, name string, alias *pg.Alias) *relPlan {
	cols := make([]column, 0, len(rel.cols))
	i := 0
	for _, c := range rel.cols {
		if c.hidden {
			continue
		}
		c.table = name
		c.qualifiedOnly = false
		if alias != nil && i < len(alias.Colnames) {
			c.name = alias.Colnames[i].GetString_().Sval
		}
		cols = append(cols, c)
		i++
	}
	if len(cols) != len(rel.cols) {
		exprs := make([]plan.Scalar, 0, len(cols))
		for j, c := range rel.cols {
			if !c.hidden {
				exprs = append(exprs, &plan.ColRef{Idx: j, T: c.t, Name: c.name})
			}
		}
		return &relPlan{node: &plan.Project{Input: rel.node, Exprs: exprs}, cols: cols}
	}
	return &relPlan{node: rel.node, cols: cols}
}

func (p *Planner) planRangeVar(rv *pg.RangeVar, sc *scope) (*fromItem, error) {
	if parser.IsProcTimeLookup(rv) {
		return p.planLookupTable(rv, sc)
	}
	if parser.IsMatchRecognize(rv) {
		return p.planMatchRecognize(rv, sc)
	}
	alias := rv.Relname
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	if rv.Schemaname == "" {
		if def := sc.cte(rv.Relname); def != nil && (!def.planning || def.recursive) {
			rel, err := p.planCTE(def, rv, sc)
			if err != nil {
				return nil, err
			}
			if len(def.colNames) > 0 {
				rel = renameRel(rel, rv.Relname, &pg.Alias{Colnames: strNodes(def.colNames)})
			}
			return &fromItem{rel: renameRel(rel, alias, rv.Alias)}, nil
		}
	}
	if fi, ok := p.planVirtual(rv); ok {
		return fi, nil
	}
	r, err := p.resolveRelation(rv)
	if err != nil {
		return nil, err
	}
	if p.Deps != nil {
		p.Deps[r.OID] = true
	}
	switch r.Kind {
	case catalog.KindView:
		stmts, err := parser.Parse(r.Definition)
		if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
			return nil, sqlerr.New(sqlerr.DataCorrupted, "view %q has an unreadable definition", r.Name)
		}
		// The view's query reads with its owner's rights: its owner's
		// row-level security policies apply, not the reader's.
		inner := p.sub(r.Definition)
		inner.NoRewrites, inner.RowSecurity, inner.Role = p.NoRewrites || p.Stream, p.RowSecurity, catalog.OwnerOf(r)
		if len(r.SearchPath) > 0 {
			// Names in the view find what they found at its creation.
			inner.SearchPath = r.SearchPath
		}
		if p.Deps != nil {
			inner.Deps, inner.ColDeps = map[uint32]bool{}, map[uint32]map[int16]bool{}
		}
		rel, err := inner.planSelect(stmts[0].AST.GetSelectStmt(), &scope{})
		if err != nil {
			return nil, err
		}
		if p.Deps != nil {
			// What the view reads is checked as its owner; the views it
			// reads in turn come along, each with its own owner.
			p.ViewReads = append(p.ViewReads, ViewRead{View: r.OID, Owner: inner.Role, Deps: inner.Deps, ColDeps: inner.ColDeps})
			p.ViewReads = append(p.ViewReads, inner.ViewReads...)
		}
		names := make([]string, 0, len(r.Columns))
		for _, c := range r.VisibleColumns() {
			names = append(names, c.Name)
		}
		a := &pg.Alias{Aliasname: alias, Colnames: strNodes(names)}
		if rv.Alias != nil && len(rv.Alias.Colnames) > 0 {
			a.Colnames = rv.Alias.Colnames
		}
		out := renameRel(rel, alias, a)
		// A reference to a view's column reads the view's column (its
		// own query runs with the owner's rights).
		vis := r.VisibleColumns()
		for i := range out.cols {
			out.cols[i].privOID, out.cols[i].privAtt = 0, 0
			if i < len(vis) {
				out.cols[i].privOID, out.cols[i].privAtt = r.OID, vis[i].AttNum
			}
		}
		return &fromItem{rel: out}, nil
	case catalog.KindTable, catalog.KindMatView:
	case catalog.KindSource:
		var cols []column
		ss := &plan.SourceScan{Rel: r}
		for i, c := range r.Columns {
			if c.Dropped || c.Hidden {
				continue
			}
			cols = append(cols, column{table: alias, name: c.Name, t: c.Type, tableOID: r.OID, attNum: c.AttNum, privOID: r.OID, privAtt: c.AttNum})
			ss.Cols = append(ss.Cols, i)
		}
		return &fromItem{rel: &relPlan{node: ss, cols: cols}}, nil
	case catalog.KindSequence:
		return p.planSequenceRow(r, alias, rv)
	default:
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%q cannot be queried directly: it is a %s", r.Name, r.Kind.String())
	}
	var cols []column
	var idx []int
	vi := 0
	for i, c := range r.Columns {
		if c.Dropped || c.Hidden {
			continue
		}
		name := c.Name
		if rv.Alias != nil && vi < len(rv.Alias.Colnames) {
			name = rv.Alias.Colnames[vi].GetString_().Sval
		}
		vi++
		cols = append(cols, column{table: alias, name: name, t: c.Type, tableOID: r.OID, attNum: c.AttNum, privOID: r.OID, privAtt: c.AttNum})
		idx = append(idx, i)
	}
	if p.RowIDs && r.Kind == catalog.KindTable && len(r.PrimaryKey) == 0 && r.ColumnIndex(RowIDColumn) < 0 {
		// A plain scan (no key range, index or lookup) that also
		// outputs the hidden row id.
		cols = append(cols, column{table: alias, name: RowIDColumn, t: types.TInt8, hidden: true})
		return p.secured(r, &fromItem{rel: &relPlan{node: &plan.Scan{Rel: r, Cols: idx, RowID: true, Index: -1}, cols: cols}}, idx)
	}
	node := &plan.Scan{Rel: r, Cols: idx, Index: -1}
	si := &scanInfo{cols: idx, name: r.Name, rel: r, node: node}
	return p.secured(r, &fromItem{rel: &relPlan{node: node, cols: cols}, scan: si}, idx)
}

func strNodes(ss []string) []*pg.Node {
	out := make([]*pg.Node, len(ss))
	for i, s := range ss {
		out[i] = pg.MakeStrNode(s)
	}
	return out
}

func (p *Planner) resolveRelation(rv *pg.RangeVar) (*catalog.Relation, error) {
	if rv.Schemaname != "" {
		r, err := p.Catalog.Lookup(p.SearchPath, rv.Schemaname, rv.Relname)
		if err != nil {
			return nil, withPos(err, p.pos(rv.Location))
		}
		return r, nil
	}
	r, err := p.Catalog.Resolve(p.SearchPath, rv.Relname)
	if err != nil {
		return nil, withPos(err, p.pos(rv.Location))
	}
	return r, nil
}

func (p *Planner) planRangeFunction(rf *pg.RangeFunction, sc *scope) (*fromItem, error) {
	if rf.IsRowsfrom || len(rf.Functions) != 1 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this form of function in FROM is not supported")
	}
	items := rf.Functions[0].GetList().GetItems()
	fc := items[0].GetFuncCall()
	if fc == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this form of function in FROM is not supported")
	}
	name := funcName(fc.Funcname)
	if kind, ok := windowTVFKind(name); ok {
		return p.planWindowTVF(rf, fc, kind, sc)
	}
	argScope, lat := p.lateralScope(sc)
	b := p.binder(argScope, "FROM")
	args, ts, err := b.bindAll(fc.Args)
	if err != nil {
		return nil, err
	}
	// Arguments that read the enclosing query (unnest(outer.col) in a
	// subquery) make this query correlated.
	if f, _, err := p.userSetFunction(fc.Funcname, ts, p.pos(fc.Location)); err != nil {
		return nil, withPos(err, p.pos(fc.Location))
	} else if f != nil && f.Language == "sql" {
		return p.fromSQLSetFunction(rf, f, args, argScope, lat, sc, p.pos(fc.Location))
	}
	lateral := lat.reads(argScope, sc)
	fn, argTypes, err := p.lookupTableFunc(fc.Funcname, ts, p.pos(fc.Location))
	if err != nil {
		if sqlerr.Code(err) == sqlerr.UndefinedFunction {
			if item, ok, serr := p.fromScalarFunction(rf, fc, name, sc); ok {
				return item, serr
			}
		}
		return nil, withPos(err, p.pos(fc.Location))
	}
	if err := p.coerceArgs(args, ts, argTypes, p.pos(fc.Location)); err != nil {
		return nil, err
	}
	names, cts := fn.Cols(ts)
	alias := name
	if rf.Alias != nil {
		alias = rf.Alias.Aliasname
		// A single-column function's column takes the alias name.
		if len(names) == 1 && len(rf.Alias.Colnames) == 0 {
			names = []string{alias}
		}
	}
	cols := make([]column, len(names))
	for i := range names {
		cols[i] = column{table: alias, name: names[i], t: cts[i]}
		if rf.Alias != nil && i < len(rf.Alias.Colnames) {
			cols[i].name = rf.Alias.Colnames[i].GetString_().Sval
		}
	}
	node := &plan.TableFunction{Fn: fn, Args: args, Ordinality: rf.Ordinality}
	return &fromItem{rel: &relPlan{node: node, cols: withOrdinality(rf, cols, alias)}, lateral: lateral}, nil
}

// joinKinds are the join types of the grammar that plan as joins.
var joinKinds = map[pg.JoinType]plan.JoinKind{
	pg.JoinType_JOIN_INNER: plan.InnerJoin,
	pg.JoinType_JOIN_LEFT:  plan.LeftJoin,
	pg.JoinType_JOIN_RIGHT: plan.RightJoin,
	pg.JoinType_JOIN_FULL:  plan.FullJoin,
}

// bindJoinOn binds a join's ON condition over the joined columns of js and
// splits it into its conjuncts; no condition gives none.
func (p *Planner) bindJoinOn(js *scope, quals *pg.Node) ([]plan.Scalar, error) {
	if quals == nil {
		return nil, nil
	}
	q, err := p.binder(js, "JOIN/ON").bind(quals)
	if err != nil {
		return nil, err
	}
	if q, err = p.coerceBool(q, "argument of JOIN/ON", 0); err != nil {
		return nil, err
	}
	return plan.SplitAnd(q, nil), nil
}

func (p *Planner) planJoin(j *pg.JoinExpr, sc *scope) (*relPlan, error) {
	if rv, cond, ok := parser.AsofJoin(j); ok {
		return p.planAsofJoin(j, rv, cond, sc)
	}
	// Only the right side may be LATERAL, over the left side's columns.
	outer := sc.lateral
	defer func() { sc.lateral = outer }()
	sc.lateral = nil
	l, err := p.planFromItem(j.Larg, sc)
	if err != nil {
		return nil, err
	}
	sc.lateral = l.rel.cols
	r, err := p.planFromItem(j.Rarg, sc)
	if err != nil {
		return nil, err
	}
	sc.lateral = outer
	kind, ok := joinKinds[j.Jointype]
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "join type %s is not supported", j.Jointype)
	}
	lw := len(l.rel.cols)
	cols := append(append([]column{}, l.rel.cols...), r.rel.cols...)
	js := &scope{cols: cols, parent: sc.parent, ctes: sc.ctes}
	var conj []plan.Scalar
	var using []string
	if j.IsNatural {
		for _, lc := range l.rel.cols {
			if lc.hidden || lc.qualifiedOnly {
				continue
			}
			for _, rc := range r.rel.cols {
				if !rc.hidden && !rc.qualifiedOnly && rc.name == lc.name {
					using = append(using, lc.name)
				}
			}
		}
	}
	for _, u := range j.UsingClause {
		using = append(using, u.GetString_().Sval)
	}
	type pair struct{ l, r int }
	var pairs []pair
	for _, name := range using {
		li, ri := -1, -1
		for i, c := range l.rel.cols {
			if c.name == name && !c.hidden && !c.qualifiedOnly {
				li = i
			}
		}
		for i, c := range r.rel.cols {
			if c.name == name && !c.hidden && !c.qualifiedOnly {
				ri = i
			}
		}
		if li < 0 || ri < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q specified in USING clause does not exist in %s table", name, map[bool]string{true: "left", false: "right"}[li < 0])
		}
		eq, err := p.binaryOp("=", &plan.ColRef{Idx: li, T: cols[li].t, Name: name}, &plan.ColRef{Idx: lw + ri, T: cols[lw+ri].t, Name: name}, 0)
		if err != nil {
			return nil, err
		}
		conj = append(conj, eq)
		pairs = append(pairs, pair{li, lw + ri})
	}
	on, err := p.bindJoinOn(js, j.Quals)
	if err != nil {
		return nil, err
	}
	conj = append(conj, on...)
	var keys plan.EquiKeys
	var residual []plan.Scalar
	for _, c := range conj {
		if r.lateral || !keys.Add(c, lw, len(cols)) {
			residual = append(residual, c)
		}
	}
	if l.lookup != nil {
		return nil, lookupNotRight(l.lookup)
	}
	var node plan.Rel
	if r.lookup != nil {
		if node, err = p.planLookupJoin(l.rel, r, kind, &keys, residual); err != nil {
			return nil, err
		}
	} else if r.lateral {
		if kind != plan.InnerJoin && kind != plan.LeftJoin {
			return nil, sqlerr.New(sqlerr.InvalidColumnReference, "the combining JOIN type must be INNER or LEFT for a LATERAL reference")
		}
		node = join(l.rel, r.rel, kind, true, &keys, residual)
	} else {
		node = join(l.rel, r.rel, kind, false, &keys, residual)
	}
	rel := &relPlan{node: node, cols: cols}
	if len(pairs) > 0 {
		// Merged USING columns first, then the rest; the originals stay
		// reachable by qualified name.
		var exprs []plan.Scalar
		var out []column
		for k, pr := range pairs {
			lc, rc := cols[pr.l], cols[pr.r]
			var e plan.Scalar = &plan.ColRef{Idx: pr.l, T: lc.t, Name: lc.name}
			t := lc.t
			if kind == plan.RightJoin {
				e, t = &plan.ColRef{Idx: pr.r, T: rc.t, Name: rc.name}, rc.t
			} else if kind == plan.FullJoin {
				ct, err := udf.CommonType([]types.T{lc.t, rc.t}, "JOIN/USING")
				if err != nil {
					return nil, err
				}
				a, _ := p.coerce(&plan.ColRef{Idx: pr.l, T: lc.t}, ct, 0)
				b, _ := p.coerce(&plan.ColRef{Idx: pr.r, T: rc.t}, ct, 0)
				e, t = &plan.Coalesce{Args: []plan.Scalar{a, b}, T: ct}, ct
			}
			exprs = append(exprs, e)
			out = append(out, column{name: using[k], t: t})
		}
		isUsing := map[int]bool{}
		for _, pr := range pairs {
			isUsing[pr.l], isUsing[pr.r] = true, true
		}
		for i, c := range cols {
			exprs = append(exprs, &plan.ColRef{Idx: i, T: c.t, Name: c.name})
			if isUsing[i] {
				c.qualifiedOnly = true
				c.hidden = true
			}
			out = append(out, c)
		}
		rel = &relPlan{node: &plan.Project{Input: node, Exprs: exprs}, cols: out}
	}
	if j.Alias != nil {
		rel = renameRel(rel, j.Alias.Aliasname, j.Alias)
	}
	return rel, nil
}

// narrowScan turns comparisons of the primary key columns (or of an
// index's columns) with constants and parameters into key bounds of the
// scan. It returns what of pred is left to filter the scanned rows with
// (nil: nothing): key equalities that the bounds enforce for any argument
// are not evaluated again on the one row a point lookup returns.
func (p *Planner) narrowScan(fi *fromItem, pred plan.Scalar) plan.Scalar {
	if p.indexScan(fi, pred) {
		return pred
	}
	kb, enforced, ok := p.keyBoundsEnforced(fi.scan, pred)
	if !ok {
		return pred
	}
	fi.scan.node.Bounds = kb
	// A stream plan reads the changelog of the table, and a scan of row ids
	// all rows: neither applies the bounds.
	if len(enforced) == 0 || p.Stream || fi.scan.node.RowID {
		return pred
	}
	var rest []plan.Scalar
	for i, c := range plan.SplitAnd(pred, nil) {
		if !enforced[i] {
			rest = append(rest, c)
		}
	}
	return plan.AndAll(rest)
}

// keyBounds derives primary key bounds from pred's conjuncts: equalities
// on the leading key columns, or else a range of the first one.
func (p *Planner) keyBounds(si *scanInfo, pred plan.Scalar) (plan.KeyBounds, bool) {
	kb, _, ok := p.keyBoundsEnforced(si, pred)
	return kb, ok
}

// keyBoundsEnforced is keyBounds that also reports the conjuncts of pred
// (by their position in plan.SplitAnd(pred)) that the key bounds enforce
// exactly, whatever the arguments: equalities of key columns whose value
// has the column's very type (no cast at run time that could make the
// bound inexact) and whose key encoding is equal exactly when the values
// are equal in SQL.
func (p *Planner) keyBoundsEnforced(si *scanInfo, pred plan.Scalar) (plan.KeyBounds, map[int]bool, bool) {
	pk := si.rel.StorageKey()
	if len(pk) == 0 {
		return plan.KeyBounds{}, nil, false
	}
	var lo, hi []plan.Bound
	eqVals := map[int]plan.Scalar{}
	eqFrom := map[int]int{} // key position -> conjunct
	for ci, c := range plan.SplitAnd(pred, nil) {
		call, ok := c.(*plan.Call)
		if !ok || len(call.Args) != 2 {
			continue
		}
		col, cok := call.Args[0].(*plan.ColRef)
		val := call.Args[1]
		op := call.Fn.Name
		if !cok {
			col, cok = call.Args[1].(*plan.ColRef)
			val = call.Args[0]
			op = flipOp(op)
		}
		if !cok {
			continue
		}
		phys := si.cols[col.Idx]
		pkPos := -1
		for i, k := range pk {
			if k == phys {
				pkPos = i
			}
		}
		if pkPos < 0 {
			continue
		}
		v, ok := p.boundValue(val, si.rel.Columns[phys].Type)
		if !ok {
			continue
		}
		if op == "=" {
			eqVals[pkPos] = v
			eqFrom[pkPos] = ci
			continue
		}
		if pkPos != 0 {
			continue
		}
		switch op {
		case ">", ">=":
			lo = append(lo, plan.Bound{Value: v, Inclusive: op == ">="})
		case "<", "<=":
			hi = append(hi, plan.Bound{Value: v, Inclusive: op == "<="})
		}
	}
	// The longest prefix of key columns with equalities.
	var prefix []plan.Scalar
	enforced := map[int]bool{}
	for i := range pk {
		v, ok := eqVals[i]
		if !ok {
			break
		}
		prefix = append(prefix, v)
		if ct := si.rel.Columns[pk[i]].Type; v.Type().Equal(ct) && keyEqualityExact(ct) {
			enforced[eqFrom[i]] = true
		}
	}
	if len(prefix) > 0 {
		return plan.KeyBounds{Eq: prefix}, enforced, true
	}
	if lo == nil && hi == nil {
		return plan.KeyBounds{}, nil, false
	}
	return plan.KeyBounds{Lo: lo, Hi: hi}, nil, true
}

// keyEqualityExact reports whether two values of type t have the same key
// encoding exactly when they are equal in SQL: not so for floats (NaN,
// -0), numeric (scales), char(n) (trailing blanks) and the like.
func keyEqualityExact(t types.T) bool {
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Text, types.Varchar,
		types.DateKind, types.TimestampKind, types.TimestampTZ:
		return true
	}
	return false
}

// boundValue returns e as a key bound of a column of type ct: a constant,
// cast to ct (no bound when it is NULL or ct cannot hold it exactly), or
// an expression of parameters (and constants, through immutable
// functions: k = $1 % 100) that the scan evaluates and casts when it
// opens, so that the plan serves any arguments.
func (p *Planner) boundValue(e plan.Scalar, ct types.T) (plan.Scalar, bool) {
	if mentionsParam(e) {
		return e, paramFoldable(e)
	}
	v, ok := constValue(e)
	if !ok || v == nil {
		return nil, false
	}
	cv, err := types.Cast(v, e.Type(), ct, nil)
	if err != nil {
		return nil, false
	}
	if back, err := types.Cast(cv, ct, e.Type(), nil); err != nil || types.Compare(back, v, e.Type()) != 0 {
		return nil, false // lossy: keep the filter only
	}
	return &plan.Const{Value: cv, T: ct}, true
}

// paramFoldable reports whether e is a parameter, a constant, or an
// immutable function of such: a value known once the arguments are.
func paramFoldable(e plan.Scalar) bool {
	switch x := e.(type) {
	case *plan.Param, *plan.Const:
		return true
	case *plan.Call:
		if x.Fn == nil || x.Fn.Volatility != udf.Immutable {
			return false
		}
		for _, a := range x.Args {
			if !paramFoldable(a) {
				return false
			}
		}
		return true
	}
	return false
}

// mentionsParam reports whether e depends on the parameters: e is a
// parameter or a call with one among its arguments.
func mentionsParam(e plan.Scalar) bool {
	switch x := e.(type) {
	case *plan.Param:
		return true
	case *plan.Call:
		for _, a := range x.Args {
			if mentionsParam(a) {
				return true
			}
		}
	}
	return false
}

func flipOp(op string) string {
	switch op {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	}
	return op
}

// constValue returns the value of a constant, or of an immutable
// function of constants (upper('abc')).
func constValue(e plan.Scalar) (types.Datum, bool) {
	if c, ok := plan.FoldScalar(e).(*plan.Const); ok {
		return c.Value, true
	}
	return nil, false
}
