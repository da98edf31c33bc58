package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"strings"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Output is a result column of a planned query.
type Output struct {
	Name     string
	Type     types.T
	TableOID uint32
	AttNum   int16
}

// Query is a planned SELECT.
type Query struct {
	// Plan is the logical plan, rewritten for batch execution (unless the
	// plan is for a stream); lower.Statement.Batch lowers it.
	Plan plan.Rel
	Cols []Output
	// Visible lists, for each of Cols, its column of Plan: Plan may carry
	// hidden columns (sort keys, stream keys) besides them.
	Visible []int
}

// PlanSelect plans a SELECT, VALUES or set operation.
func (p *Planner) PlanSelect(s *pg.SelectStmt) (*Query, error) {
	rel, err := p.planSelect(s, &scope{})
	if err != nil {
		return nil, err
	}
	q := &Query{Plan: p.rewrite(rel.node), Cols: outputs(rel.cols)}
	for i, c := range rel.cols {
		if !c.hidden {
			q.Visible = append(q.Visible, i)
		}
	}
	return q, nil
}

// BindExpr binds the expression text over a row of columns (names and
// types, all of relation table) in a context named what (for errors): a
// WATERMARK FOR expression over a source's columns, for example.
func (p *Planner) BindExpr(text, table string, names []string, ts []types.T, what string) (plan.Scalar, error) {
	sql := "SELECT " + text
	stmts, err := parser.Parse(sql)
	if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil || len(stmts[0].AST.GetSelectStmt().TargetList) != 1 {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "%s of %q is unreadable", strings.ToLower(what), table)
	}
	target := stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val
	sc := &scope{}
	for i, t := range ts {
		sc.cols = append(sc.cols, column{table: table, name: names[i], t: t})
	}
	inner := p.sub(sql)
	return inner.binder(sc, what).bind(target)
}

func outputs(cols []column) []Output {
	var out []Output
	for _, c := range cols {
		if c.hidden {
			continue
		}
		out = append(out, Output{Name: c.name, Type: c.t, TableOID: c.tableOID, AttNum: c.attNum})
	}
	return out
}

// FinishParams gives parameters whose type nothing determined the type text.
func (p *Planner) FinishParams() []types.T {
	for i, t := range p.ParamTypes {
		if t.Kind == types.Unknown {
			p.ParamTypes[i] = types.TText
		}
	}
	return p.ParamTypes
}

// Write is a planned INSERT, UPDATE or DELETE: its logical plan, whose
// scalars read the table's rows in their physical column order (dropped
// columns included, as NULL), and what the engine needs besides.
type Write struct {
	// Plan is a *plan.Insert, *plan.Update or *plan.Delete; lower.Write
	// compiles it for the writer.
	Plan plan.Rel
	Rel  *catalog.Relation
	// Cols are the RETURNING columns.
	Cols []Output
	// InsertCols and UpdateCols are the attnums of the columns the
	// statement assigns (for column privileges): INSERT's target list,
	// and UPDATE's (or ON CONFLICT DO UPDATE's) SET list.
	InsertCols, UpdateCols []int16
}

// physicalScope is the scope of a table's physical row.
func physicalScope(r *catalog.Relation, alias string) *scope {
	sc := &scope{}
	for _, c := range r.Columns {
		col := column{table: alias, name: c.Name, t: c.Type, tableOID: r.OID, attNum: c.AttNum, privOID: r.OID, privAtt: c.AttNum}
		if c.Dropped || c.Hidden {
			col.name, col.hidden = "", true
		}
		sc.cols = append(sc.cols, col)
	}
	return sc
}

func (p *Planner) writableTable(rv *pg.RangeVar) (*catalog.Relation, error) {
	r, err := p.resolveRelation(rv)
	if err != nil {
		return nil, err
	}
	if r.Kind != catalog.KindTable {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "cannot change rows of %s %q", r.Kind.String(), r.Name).WithPosition(p.pos(rv.Location))
	}
	return r, nil
}

// defaultExpr binds a column's DEFAULT (NULL when none); an identity
// column's is the next value of its sequence.
func (p *Planner) defaultExpr(c catalog.Column) (plan.Scalar, error) {
	if c.Identity != 0 && c.Seq != 0 {
		regclass := types.T{Kind: types.Oid, OIDOverride: types.OIDRegclass}
		next := &plan.Call{Fn: udf.IdentityNextval, Args: []plan.Scalar{&plan.Const{Value: int64(c.Seq), T: regclass}}, T: types.TInt8}
		return p.coerceAssign(next, c.Type, 0)
	}
	if c.Default == "" {
		return &plan.Const{T: c.Type}, nil
	}
	stmts, err := parser.Parse("SELECT " + c.Default)
	if err != nil || len(stmts) != 1 {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "column %q has an unreadable default %q", c.Name, c.Default)
	}
	node := stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val
	inner := p.sub("SELECT " + c.Default)
	e, err := inner.binder(&scope{}, "DEFAULT").bind(node)
	if err != nil {
		return nil, err
	}
	return p.coerceAssign(e, c.Type, 0)
}

// PlanInsert plans INSERT INTO t [(cols)] VALUES ... | SELECT ... [ON CONFLICT ...] [RETURNING ...].
func (p *Planner) PlanInsert(s *pg.InsertStmt) (*Write, error) {
	with, r, err := p.dmlTarget(s.WithClause, s.Relation)
	if err != nil {
		return nil, err
	}
	w := &Write{Rel: r}
	ins := &plan.Insert{Table: r}
	w.Plan = ins
	// Target columns.
	var target []int
	if len(s.Cols) == 0 {
		for i, c := range r.Columns {
			if !c.Dropped && !c.Hidden {
				target = append(target, i)
			}
		}
	} else {
		seen := map[int]bool{}
		for _, cn := range s.Cols {
			rt := cn.GetResTarget()
			i := r.ColumnIndex(rt.Name)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", rt.Name, r.Name).WithPosition(p.pos(rt.Location))
			}
			if seen[i] {
				return nil, sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", rt.Name).WithPosition(p.pos(rt.Location))
			}
			seen[i] = true
			target = append(target, i)
		}
	}
	for _, i := range target {
		w.InsertCols = append(w.InsertCols, r.Columns[i].AttNum)
	}
	// supplied says whether the statement's value for column ci is kept:
	// OVERRIDING USER VALUE gives identity columns their default instead,
	// and only OVERRIDING SYSTEM VALUE lets a GENERATED ALWAYS column take
	// a value (PostgreSQL's rewriteTargetListIU).
	supplied := func(ci int) (bool, error) {
		c := r.Columns[ci]
		switch {
		case c.Identity == 0 || s.Override == pg.OverridingKind_OVERRIDING_SYSTEM_VALUE:
			return true, nil
		case s.Override == pg.OverridingKind_OVERRIDING_USER_VALUE:
			return false, nil
		case c.Identity == catalog.IdentityAlways:
			return false, sqlerr.New(sqlerr.GeneratedAlways, "cannot insert a non-DEFAULT value into column %q", c.Name).
				WithDetail("Column %q is an identity column defined as GENERATED ALWAYS.", c.Name).
				WithHint("Use OVERRIDING SYSTEM VALUE to override.")
		}
		return true, nil
	}
	defaults := make([]plan.Scalar, len(r.Columns))
	for i, c := range r.Columns {
		if defaults[i], err = p.defaultExpr(c); err != nil {
			return nil, err
		}
	}
	sel := s.SelectStmt.GetSelectStmt()
	var source plan.Rel
	if sel == nil {
		// INSERT ... DEFAULT VALUES
		row := append([]plan.Scalar{}, defaults...)
		source = &plan.Values{Rows: [][]plan.Scalar{row}, Types: typesOfRel(r)}
	} else if len(sel.ValuesLists) > 0 && sel.Op == pg.SetOperation_SETOP_NONE && len(sel.SortClause) == 0 && sel.LimitCount == nil {
		var rows [][]plan.Scalar
		b := p.binder(&scope{ctes: with.ctes}, "VALUES")
		for _, l := range sel.ValuesLists {
			items := l.GetList().GetItems()
			if len(items) > len(target) {
				return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has more expressions than target columns")
			}
			if len(items) < len(target) && len(s.Cols) > 0 {
				return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has more target columns than expressions")
			}
			row := append([]plan.Scalar{}, defaults...)
			for k, it := range items {
				ci := target[k]
				if it.GetSetToDefault() != nil {
					continue
				}
				if keep, err := supplied(ci); !keep || err != nil {
					if err != nil {
						return nil, err
					}
					continue
				}
				e, err := b.bind(it)
				if err != nil {
					return nil, err
				}
				if row[ci], err = p.assign(e, r.Columns[ci], exprPos(p, it)); err != nil {
					return nil, err
				}
			}
			rows = append(rows, row)
		}
		source = &plan.Values{Rows: rows, Types: typesOfRel(r)}
	} else {
		rel, err := p.planSelect(sel, with)
		if err != nil {
			return nil, err
		}
		if rel.visibleCount() > len(target) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has more expressions than target columns")
		}
		if rel.visibleCount() < len(target) && len(s.Cols) == 0 {
			target = target[:rel.visibleCount()]
		}
		if rel.visibleCount() < len(target) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has more target columns than expressions")
		}
		row := append([]plan.Scalar{}, defaults...)
		for k, ci := range target {
			if keep, err := supplied(ci); !keep || err != nil {
				if err != nil {
					return nil, err
				}
				continue
			}
			e := plan.Scalar(&plan.ColRef{Idx: k, T: rel.cols[k].t})
			if row[ci], err = p.assign(e, r.Columns[ci], 0); err != nil {
				return nil, err
			}
		}
		source = &plan.Project{Input: rel.node, Exprs: row}
	}
	ins.Input = p.rewrite(source)
	phys := physicalScope(r, aliasOf(s.Relation))
	phys.ctes = with.ctes
	if oc := s.OnConflictClause; oc != nil {
		switch oc.Action {
		case pg.OnConflictAction_ONCONFLICT_NOTHING:
			ins.OnConflict = &plan.OnConflict{Action: plan.DoNothing}
		case pg.OnConflictAction_ONCONFLICT_UPDATE:
			ins.OnConflict = &plan.OnConflict{Action: plan.DoUpdate}
			if oc.Infer == nil || len(oc.Infer.IndexElems) == 0 {
				return nil, sqlerr.New(sqlerr.SyntaxError, "ON CONFLICT DO UPDATE requires inference specification or constraint name").WithHint("For example, ON CONFLICT (column_name).").WithPosition(p.pos(oc.Location))
			}
			// [existing row..., excluded row...]
			sc := &scope{cols: append([]column{}, phys.cols...), ctes: with.ctes}
			for _, c := range phys.cols {
				c.table = "excluded"
				c.privOID = 0 // the proposed row, not a read of the table
				sc.cols = append(sc.cols, c)
			}
			set, err := p.setList(r, sc, oc.TargetList)
			w.UpdateCols = setColumns(r, oc.TargetList)
			if err != nil {
				return nil, err
			}
			ins.OnConflict.Set = set
			if oc.WhereClause != nil {
				if ins.OnConflict.Where, err = p.bindWhere(oc.WhereClause, sc); err != nil {
					return nil, err
				}
			}
		}
		if ins.OnConflict.Arbiter, err = p.conflictArbiter(r, oc); err != nil {
			return nil, err
		}
	}
	if ins.Checks, err = p.PlanChecks(r); err != nil {
		return nil, err
	}
	if ins.Returning, err = p.returning(w, s.ReturningList, phys); err != nil {
		return nil, err
	}
	return w, nil
}

func exprPos(p *Planner, n *pg.Node) int {
	if c := n.GetAConst(); c != nil {
		return p.pos(c.Location)
	}
	if c := n.GetColumnRef(); c != nil {
		return p.pos(c.Location)
	}
	return 0
}

func aliasOf(rv *pg.RangeVar) string {
	if rv.Alias != nil {
		return rv.Alias.Aliasname
	}
	return rv.Relname
}

func typesOfRel(r *catalog.Relation) []types.T {
	ts := make([]types.T, len(r.Columns))
	for i, c := range r.Columns {
		ts[i] = c.Type
	}
	return ts
}

// assign converts a value for column c with assignment-cast rules.
func (p *Planner) assign(e plan.Scalar, c catalog.Column, pos int) (plan.Scalar, error) {
	out, err := p.coerceAssign(e, c.Type, pos)
	if err != nil {
		if sqlerr.Code(err) == sqlerr.DatatypeMismatch || sqlerr.Code(err) == sqlerr.CannotCoerce {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "column %q is of type %s but expression is of type %s", c.Name, c.Type, e.Type()).
				WithHint("You will need to rewrite or cast the expression.").WithPosition(pos)
		}
		return nil, err
	}
	// Assignment to a bounded type checks length/precision.
	if (c.Type.Kind == types.Varchar || c.Type.Kind == types.Char) && c.Type.Width > 0 || c.Type.Kind == types.Numeric && c.Type.Precision > 0 {
		if !out.Type().Equal(c.Type) {
			return &plan.Cast{Input: out, To: c.Type, Assign: true}, nil
		}
	}
	return out, nil
}

// setList binds UPDATE SET assignments into a whole new physical row.
func (p *Planner) setList(r *catalog.Relation, sc *scope, targets []*pg.Node) ([]plan.Scalar, error) {
	row := make([]plan.Scalar, len(r.Columns))
	for i, c := range r.Columns {
		row[i] = &plan.ColRef{Idx: i, T: c.Type, Name: c.Name}
	}
	b := p.binder(sc, "UPDATE")
	seen := map[int]bool{}
	for _, tn := range targets {
		rt := tn.GetResTarget()
		i := r.ColumnIndex(rt.Name)
		if i < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", rt.Name, r.Name).WithPosition(p.pos(rt.Location))
		}
		if seen[i] {
			return nil, sqlerr.New(sqlerr.SyntaxError, "multiple assignments to same column %q", rt.Name).WithPosition(p.pos(rt.Location))
		}
		seen[i] = true
		if len(rt.Indirection) > 0 {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "assignment to a subfield is not supported").WithPosition(p.pos(rt.Location))
		}
		var e plan.Scalar
		var err error
		if rt.Val.GetSetToDefault() != nil {
			e, err = p.defaultExpr(r.Columns[i])
		} else if r.Columns[i].Identity == catalog.IdentityAlways {
			return nil, sqlerr.New(sqlerr.GeneratedAlways, "column %q can only be updated to DEFAULT", rt.Name).
				WithDetail("Column %q is an identity column defined as GENERATED ALWAYS.", rt.Name).WithPosition(p.pos(rt.Location))
		} else {
			e, err = b.bind(rt.Val)
		}
		if err != nil {
			return nil, err
		}
		if row[i], err = p.assign(e, r.Columns[i], p.pos(rt.Location)); err != nil {
			return nil, err
		}
	}
	return row, nil
}

// returning binds a RETURNING list over the physical row of sc, adding
// its columns to w.Cols.
func (p *Planner) returning(w *Write, list []*pg.Node, sc *scope) ([]plan.Scalar, error) {
	if len(list) == 0 {
		return nil, nil
	}
	var out []plan.Scalar
	b := p.binder(sc, "RETURNING")
	for _, n := range list {
		rt := n.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			for i, c := range sc.cols {
				if c.hidden {
					continue
				}
				p.noteColumn(c)
				out = append(out, &plan.ColRef{Idx: i, T: c.t, Name: c.name})
				w.Cols = append(w.Cols, Output{Name: c.name, Type: c.t, TableOID: c.tableOID, AttNum: c.attNum})
			}
			continue
		}
		e, err := b.bind(rt.Val)
		if err != nil {
			return nil, err
		}
		if e.Type().Kind == types.Unknown {
			e, _ = p.coerce(e, types.TText, 0)
		}
		name := rt.Name
		if name == "" {
			name = deriveName(rt.Val)
		}
		out = append(out, e)
		w.Cols = append(w.Cols, Output{Name: name, Type: e.Type()})
	}
	return out, nil
}

// PlanUpdate plans UPDATE t SET ... [WHERE ...] [RETURNING ...].
func (p *Planner) PlanUpdate(s *pg.UpdateStmt) (*Write, error) {
	with, r, err := p.dmlTarget(s.WithClause, s.Relation)
	if err != nil {
		return nil, err
	}
	up := &plan.Update{Table: r}
	w := &Write{Rel: r, Plan: up}
	sc := physicalScope(r, aliasOf(s.Relation))
	sc.ctes = with.ctes
	targets, where := s.TargetList, s.WhereClause
	if len(s.FromClause) > 0 {
		targets, where = joinedUpdate(s.TargetList, s.FromClause, s.WhereClause)
	}
	set, err := p.setList(r, sc, targets)
	if err != nil {
		return nil, err
	}
	w.UpdateCols = setColumns(r, targets)
	up.Set = set
	if up.Filter, up.Bounds, err = p.filterAndSpan(r, sc, where); err != nil {
		return nil, err
	}
	if up.Checks, err = p.PlanChecks(r); err != nil {
		return nil, err
	}
	if up.Returning, err = p.returning(w, s.ReturningList, sc); err != nil {
		return nil, err
	}
	return w, nil
}

// PlanDelete plans DELETE FROM t [WHERE ...] [RETURNING ...].
func (p *Planner) PlanDelete(s *pg.DeleteStmt) (*Write, error) {
	with, r, err := p.dmlTarget(s.WithClause, s.Relation)
	if err != nil {
		return nil, err
	}
	del := &plan.Delete{Table: r}
	w := &Write{Rel: r, Plan: del}
	sc := physicalScope(r, aliasOf(s.Relation))
	sc.ctes = with.ctes
	where := s.WhereClause
	if len(s.UsingClause) > 0 {
		where = existsIn(s.UsingClause, s.WhereClause)
	}
	if del.Filter, del.Bounds, err = p.filterAndSpan(r, sc, where); err != nil {
		return nil, err
	}
	if del.Returning, err = p.returning(w, s.ReturningList, sc); err != nil {
		return nil, err
	}
	return w, nil
}

// filterAndSpan binds the WHERE of UPDATE or DELETE over the physical row
// of r, and narrows the rows visited to a range of r's key where the
// condition allows.
func (p *Planner) filterAndSpan(r *catalog.Relation, sc *scope, where *pg.Node) (plan.Scalar, plan.KeyBounds, error) {
	if where == nil {
		return nil, plan.KeyBounds{}, nil
	}
	f, err := p.bindWhere(where, sc)
	if err != nil {
		return nil, plan.KeyBounds{}, err
	}
	cols := make([]int, len(r.Columns))
	for i := range cols {
		cols[i] = i
	}
	if _, pushable := plan.ColRefs(f); pushable {
		if kb, ok := p.keyBounds(&scanInfo{rel: r, cols: cols, name: r.Name}, f); ok {
			return f, kb, nil
		}
	}
	return f, plan.KeyBounds{}, nil
}

// UPDATE ... FROM and DELETE ... USING join the target with other
// relations. They are rewritten into correlated subqueries over the target
// row: the row is changed when EXISTS (SELECT 1 FROM items WHERE cond),
// and each assigned value is (SELECT value FROM items WHERE cond LIMIT 1),
// so a row that joins several rows is changed once, with the values of one
// of them, as in PostgreSQL. RETURNING sees the target's columns only.

// existsIn is EXISTS (SELECT 1 FROM items WHERE cond).
func existsIn(items []*pg.Node, cond *pg.Node) *pg.Node {
	sel := &pg.SelectStmt{TargetList: []*pg.Node{pg.MakeResTargetNodeWithVal(pg.MakeAConstIntNode(1, -1), -1)},
		FromClause: items, WhereClause: cond, Op: pg.SetOperation_SETOP_NONE, LimitOption: pg.LimitOption_LIMIT_OPTION_DEFAULT}
	return &pg.Node{Node: &pg.Node_SubLink{SubLink: &pg.SubLink{SubLinkType: pg.SubLinkType_EXISTS_SUBLINK,
		Subselect: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}}, Location: -1}}}
}

// joinedUpdate rewrites the SET list and WHERE of UPDATE ... FROM items.
func joinedUpdate(targets, items []*pg.Node, cond *pg.Node) ([]*pg.Node, *pg.Node) {
	out := make([]*pg.Node, len(targets))
	for i, tn := range targets {
		rt := tn.GetResTarget()
		if rt.Val.GetSetToDefault() != nil {
			out[i] = tn
			continue
		}
		sel := &pg.SelectStmt{TargetList: []*pg.Node{pg.MakeResTargetNodeWithVal(rt.Val, rt.Location)},
			FromClause: items, WhereClause: cond, Op: pg.SetOperation_SETOP_NONE,
			LimitCount: pg.MakeAConstIntNode(1, -1), LimitOption: pg.LimitOption_LIMIT_OPTION_COUNT}
		val := &pg.Node{Node: &pg.Node_SubLink{SubLink: &pg.SubLink{SubLinkType: pg.SubLinkType_EXPR_SUBLINK,
			Subselect: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}}, Location: rt.Location}}}
		out[i] = &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Name: rt.Name, Indirection: rt.Indirection, Val: val, Location: rt.Location}}}
	}
	return out, existsIn(items, cond)
}

// dmlTarget binds the WITH queries (see dmlWith) and the target table of
// INSERT, UPDATE or DELETE.
func (p *Planner) dmlTarget(w *pg.WithClause, rv *pg.RangeVar) (*scope, *catalog.Relation, error) {
	with, err := p.dmlWith(w)
	if err != nil {
		return nil, nil, err
	}
	r, err := p.writableTable(rv)
	if err != nil {
		return nil, nil, err
	}
	return with, r, nil
}

// dmlWith makes the queries of WITH ... INSERT | UPDATE | DELETE visible
// to the statement (its source query, subqueries, SET and RETURNING
// expressions): the returned scope holds them. Data-modifying WITH queries
// are not supported.
func (p *Planner) dmlWith(w *pg.WithClause) (*scope, error) {
	sc := &scope{}
	if w == nil {
		return sc, nil
	}
	sc.ctes = map[string]*cteDef{}
	for _, c := range w.Ctes {
		cte := c.GetCommonTableExpr()
		q := cte.Ctequery.GetSelectStmt()
		if q == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "data-modifying statements in WITH are not supported").WithPosition(p.pos(cte.Location))
		}
		def := &cteDef{name: cte.Ctename, query: q, scope: sc, recursive: w.Recursive, loc: cte.Location}
		for _, a := range cte.Aliascolnames {
			def.colNames = append(def.colNames, a.GetString_().Sval)
		}
		sc.ctes[cte.Ctename] = def
	}
	return sc, nil
}

// setColumns returns the attnums a SET list assigns (after setList has
// checked it).
func setColumns(r *catalog.Relation, targets []*pg.Node) []int16 {
	var out []int16
	for _, tn := range targets {
		if i := r.ColumnIndex(tn.GetResTarget().Name); i >= 0 {
			out = append(out, r.Columns[i].AttNum)
		}
	}
	return out
}
