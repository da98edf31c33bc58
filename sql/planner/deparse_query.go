package planner

// Subqueries as PostgreSQL prints them (ruleutils.c's get_query_def):
// WITH, set operations, SELECT [DISTINCT [ON]] with its target list (a *
// expanded into the columns it stands for), FROM with joins and derived
// tables, WHERE, GROUP BY, HAVING, WINDOW, ORDER BY, OFFSET and LIMIT,
// each clause on its own line at the indentation ruleutils.c's pretty
// printer gives it, every column qualified with its table or alias.
// ORDER BY, GROUP BY and DISTINCT ON items that name an output column
// (by position or name) print that column's expression, as the analyser
// resolves them.

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Indentation of a JOIN keyword (PRETTYINDENT_JOIN) and the level above
// which indentation grows more slowly (PRETTYINDENT_LIMIT).
const (
	prettyIndentJoin  = 4
	prettyIndentLimit = 40
)

// keyword is appendContextKeyword: it moves the indentation by before,
// starts a new line at the new indentation plus plus, writes s, and moves
// the indentation by after.
func (d *deparser) keyword(sb *strings.Builder, s string, before, after, plus int) {
	d.indent += before
	d.newline(sb, plus)
	sb.WriteString(s)
	d.indent += after
	if d.indent < 0 {
		d.indent = 0
	}
}

// trimSpaces removes trailing spaces (removeStringInfoSpaces).
func trimSpaces(sb *strings.Builder) {
	s := strings.TrimRight(sb.String(), " ")
	sb.Reset()
	sb.WriteString(s)
}

// query prints the subquery of a sublink at the current indentation.
func (d *deparser) query(sb *strings.Builder, sel *pg.SelectStmt) error {
	return d.queryDef(sb, sel, d.sc, d.sc.ctes, d.indent, false)
}

// queryDef prints sel (get_query_def) as a query level below outer, with
// the common table expressions ctes visible, starting at indentation
// indent. colNames is set where the output column names matter (a
// derived table, a WITH query, a view): every expression's name is then
// written out, "?column?" included.
func (d *deparser) queryDef(sb *strings.Builder, sel *pg.SelectStmt, outer *scope, ctes map[string]*cteDef, indent int, colNames bool) error {
	if sel == nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing this query is not supported")
	}
	own := make(map[string]*cteDef, len(ctes))
	for k, v := range ctes {
		own[k] = v
	}
	q := &deparser{p: d.p, sc: &scope{parent: outer, ctes: own}, qualify: true, indent: indent, pretty: d.pretty, colNames: colNames,
		wrap: d.wrap, resultNames: d.resultNames, shared: d.shared}
	if len(sel.LockingClause) > 0 || sel.IntoClause != nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing this query is not supported")
	}
	// The level's FROM items get their printed names before anything
	// below them is printed (set_deparse_for_query).
	q.names = &rtNames{parent: d.names, sc: q.sc}
	var refs []string
	if d.viewTop {
		refs = []string{"old", "new"}
	}
	if sel.Op == pg.SetOperation_SETOP_NONE {
		refs = append(refs, fromRefs(sel.FromClause)...)
		q.names.from = sel.FromClause
	}
	q.names.assign(refs)
	if q.shared != nil {
		q.shared.levels[q.sc] = q.names
	}
	if len(sel.ValuesLists) > 0 {
		if !defaultValuesNames(q.resultNames, len(sel.ValuesLists[0].GetList().GetItems())) {
			return sqlerr.New(sqlerr.FeatureNotSupported, "printing VALUES under other column names is not supported")
		}
		return q.valuesDef(sb, sel)
	}
	if sel.WithClause != nil {
		names := q.resultNames
		q.resultNames = nil
		err := q.withClause(sb, sel.WithClause)
		q.resultNames = names
		if err != nil {
			return err
		}
	}
	var targets []target
	if sel.Op != pg.SetOperation_SETOP_NONE {
		if err := q.setOp(sb, sel); err != nil {
			return err
		}
	} else {
		var err error
		if targets, err = q.basicSelect(sb, sel); err != nil {
			return err
		}
	}
	if len(sel.SortClause) > 0 {
		q.keyword(sb, " ORDER BY ", -prettyIndentStd, prettyIndentStd, 1)
		if sel.Op != pg.SetOperation_SETOP_NONE {
			// The sort keys of a set operation are its output columns,
			// printed by number.
			if err := q.orderByColumns(sb, sel); err != nil {
				return err
			}
		} else if err := q.orderBy(sb, sel.SortClause, targets); err != nil {
			return err
		}
	}
	if sel.LimitOffset != nil {
		q.keyword(sb, " OFFSET ", -prettyIndentStd, prettyIndentStd, 0)
		if err := q.child(sb, sel.LimitOffset, parent{}); err != nil {
			return err
		}
	}
	if sel.LimitCount != nil {
		if sel.LimitOption == pg.LimitOption_LIMIT_OPTION_WITH_TIES {
			q.keyword(sb, " FETCH FIRST ", -prettyIndentStd, prettyIndentStd, 0)
			if err := q.child(sb, sel.LimitCount, parent{}); err != nil {
				return err
			}
			sb.WriteString(" ROWS WITH TIES")
		} else {
			q.keyword(sb, " LIMIT ", -prettyIndentStd, prettyIndentStd, 0)
			if c := sel.LimitCount.GetAConst(); c != nil && c.Isnull {
				sb.WriteString("ALL")
			} else if err := q.child(sb, sel.LimitCount, parent{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// withClause prints WITH and its queries (get_with_clause), and makes
// them visible to the rest of the query.
func (d *deparser) withClause(sb *strings.Builder, w *pg.WithClause) error {
	d.indent += prettyIndentStd
	sb.WriteByte(' ')
	sep := "WITH "
	if w.Recursive {
		sep = "WITH RECURSIVE "
	}
	for _, c := range w.Ctes {
		cte := c.GetCommonTableExpr()
		body := cte.Ctequery.GetSelectStmt()
		if body == nil {
			return sqlerr.New(sqlerr.FeatureNotSupported, "printing data-modifying statements in WITH is not supported")
		}
		sb.WriteString(sep + udf.QuoteIdent(cte.Ctename))
		def := &cteDef{name: cte.Ctename, query: body, scope: d.sc, recursive: w.Recursive, loc: cte.Location}
		if len(cte.Aliascolnames) > 0 {
			names := make([]string, len(cte.Aliascolnames))
			for i, a := range cte.Aliascolnames {
				names[i] = a.GetString_().Sval
				def.colNames = append(def.colNames, names[i])
				names[i] = udf.QuoteIdent(names[i])
			}
			sb.WriteString("(" + strings.Join(names, ", ") + ")")
		}
		sb.WriteString(" AS ")
		switch cte.Ctematerialized {
		case pg.CTEMaterialize_CTEMaterializeAlways:
			sb.WriteString("MATERIALIZED ")
		case pg.CTEMaterialize_CTEMaterializeNever:
			sb.WriteString("NOT MATERIALIZED ")
		}
		sb.WriteByte('(')
		d.keyword(sb, "", 0, 0, 0)
		if w.Recursive {
			// A recursive query reads itself.
			d.sc.ctes[cte.Ctename] = def
		}
		if err := d.queryDef(sb, body, d.sc.parent, d.sc.ctes, d.indent, true); err != nil {
			return err
		}
		d.sc.ctes[cte.Ctename] = def
		d.keyword(sb, "", 0, 0, 0)
		sb.WriteByte(')')
		sep = ", "
	}
	d.indent -= prettyIndentStd
	d.keyword(sb, "", 0, 0, 0)
	return nil
}

// setOp prints a UNION, INTERSECT or EXCEPT tree (get_setop_query):
// parentheses where the operator changes, and around a right operand that
// is itself a set operation.
func (d *deparser) setOp(sb *strings.Builder, s *pg.SelectStmt) error {
	if s.Op == pg.SetOperation_SETOP_NONE {
		paren := s.WithClause != nil || len(s.SortClause) > 0 || s.LimitCount != nil || s.LimitOffset != nil || len(s.LockingClause) > 0
		if paren {
			sb.WriteByte('(')
		}
		if err := d.queryDef(sb, s, d.sc.parent, d.sc.ctes, d.indent, d.colNames); err != nil {
			return err
		}
		if paren {
			sb.WriteByte(')')
		}
		return nil
	}
	l := s.Larg
	paren := l.Op != pg.SetOperation_SETOP_NONE && (l.Op != s.Op || l.All != s.All)
	sub := 0
	if paren {
		sb.WriteByte('(')
		sub = prettyIndentStd
		d.keyword(sb, "", sub, 0, 0)
	}
	if err := d.setOp(sb, l); err != nil {
		return err
	}
	if paren {
		d.keyword(sb, ") ", -sub, 0, 0)
	} else {
		d.keyword(sb, "", -sub, 0, 0)
	}
	switch s.Op {
	case pg.SetOperation_SETOP_UNION:
		sb.WriteString("UNION ")
	case pg.SetOperation_SETOP_INTERSECT:
		sb.WriteString("INTERSECT ")
	default:
		sb.WriteString("EXCEPT ")
	}
	if s.All {
		sb.WriteString("ALL ")
	}
	paren = s.Rarg.Op != pg.SetOperation_SETOP_NONE
	sub = 0
	if paren {
		sb.WriteByte('(')
		sub = prettyIndentStd
	}
	d.keyword(sb, "", sub, 0, 0)
	// The right operand's column names are not the result's.
	visible := d.colNames
	d.colNames = false
	err := d.setOp(sb, s.Rarg)
	d.colNames = visible
	if err != nil {
		return err
	}
	d.indent -= sub
	if paren {
		d.keyword(sb, ")", 0, 0, 0)
	}
	return nil
}

// target is one output column of a SELECT after * is expanded: its
// expression and the name written for it ("" for none).
type target struct {
	val  *pg.Node
	name string
}

// expandTargets expands * and t.* into the columns of the FROM clause,
// as the analyser does.
func (d *deparser) expandTargets(list []*pg.Node) ([]target, error) {
	var out []target
	for _, t := range list {
		rt := t.GetResTarget()
		cr := rt.Val.GetColumnRef()
		if cr == nil || len(cr.Fields) == 0 || cr.Fields[len(cr.Fields)-1].GetAStar() == nil {
			out = append(out, target{val: rt.Val, name: rt.Name})
			continue
		}
		qual := ""
		if len(cr.Fields) > 1 {
			qual = cr.Fields[len(cr.Fields)-2].GetString_().GetSval()
		}
		found := false
		for _, c := range d.sc.cols {
			if c.hidden || qual == "" && c.qualifiedOnly || qual != "" && c.table != qual {
				continue
			}
			found = true
			fields := []*pg.Node{pg.MakeStrNode(c.name)}
			if c.table != "" {
				fields = append([]*pg.Node{pg.MakeStrNode(c.table)}, fields...)
			}
			out = append(out, target{val: pg.MakeColumnRefNode(fields, 0)})
		}
		if !found && qual != "" {
			return nil, sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", qual)
		}
	}
	return out, nil
}

// basicSelect prints SELECT ... FROM ... WHERE ... GROUP BY ... HAVING
// ... WINDOW ... (get_basic_select_query) and returns its target list.
func (d *deparser) basicSelect(sb *strings.Builder, sel *pg.SelectStmt) ([]target, error) {
	d.indent += prettyIndentStd
	sb.WriteByte(' ')
	// The output names given from outside are this level's alone.
	resultNames := d.resultNames
	d.resultNames = nil
	// The FROM clause's columns are what the other clauses name.
	if _, err := d.p.planFromWhere(sel.FromClause, nil, d.sc); err != nil {
		return nil, err
	}
	d.windows = map[string]*pg.WindowDef{}
	for _, w := range sel.WindowClause {
		wd := w.GetWindowDef()
		d.windows[wd.Name] = wd
	}
	targets, err := d.expandTargets(sel.TargetList)
	if err != nil {
		return nil, err
	}
	sb.WriteString("SELECT")
	if len(sel.DistinctClause) > 0 {
		if len(sel.DistinctClause) == 1 && sel.DistinctClause[0].GetNode() == nil {
			sb.WriteString(" DISTINCT")
		} else {
			sb.WriteString(" DISTINCT ON (")
			for i, n := range sel.DistinctClause {
				if i > 0 {
					sb.WriteString(", ")
				}
				if err := d.sortGroupItem(sb, d.sortTarget(n, targets, false)); err != nil {
					return nil, err
				}
			}
			sb.WriteByte(')')
		}
	}
	if err := d.targetList(sb, targets, resultNames); err != nil {
		return nil, err
	}
	for i, item := range sel.FromClause {
		if i == 0 {
			d.keyword(sb, " FROM ", -prettyIndentStd, prettyIndentStd, 2)
			if err := d.fromItem(sb, item); err != nil {
				return nil, err
			}
			continue
		}
		sb.WriteString(", ")
		var ib strings.Builder
		if err := d.fromItem(&ib, item); err != nil {
			return nil, err
		}
		if strings.HasPrefix(ib.String(), "\n") {
			trimSpaces(sb)
		} else {
			d.keyword(sb, "", -prettyIndentStd, prettyIndentStd, prettyIndentVar)
		}
		sb.WriteString(ib.String())
	}
	if sel.WhereClause != nil {
		d.keyword(sb, " WHERE ", -prettyIndentStd, prettyIndentStd, 1)
		if err := d.child(sb, sel.WhereClause, parent{}); err != nil {
			return nil, err
		}
	}
	if len(sel.GroupClause) > 0 {
		d.keyword(sb, " GROUP BY ", -prettyIndentStd, prettyIndentStd, 1)
		if sel.GroupDistinct {
			sb.WriteString("DISTINCT ")
		}
		for i, g := range sel.GroupClause {
			if i > 0 {
				sb.WriteString(", ")
			}
			if g.GetGroupingSet() != nil {
				if err := d.groupingSet(sb, g, targets, true); err != nil {
					return nil, err
				}
				continue
			}
			if err := d.sortGroupItem(sb, d.sortTarget(g, targets, true)); err != nil {
				return nil, err
			}
		}
	}
	if sel.HavingClause != nil {
		d.keyword(sb, " HAVING ", -prettyIndentStd, prettyIndentStd, 0)
		if err := d.child(sb, sel.HavingClause, parent{}); err != nil {
			return nil, err
		}
	}
	for i, w := range sel.WindowClause {
		wd := w.GetWindowDef()
		if i == 0 {
			d.keyword(sb, " WINDOW ", -prettyIndentStd, prettyIndentStd, 1)
		} else {
			sb.WriteString(", ")
		}
		sb.WriteString(udf.QuoteIdent(wd.Name) + " AS ")
		if err := d.windowSpec(sb, &pg.WindowDef{Refname: wd.Refname, PartitionClause: wd.PartitionClause, OrderClause: wd.OrderClause,
			FrameOptions: wd.FrameOptions, StartOffset: wd.StartOffset, EndOffset: wd.EndOffset}); err != nil {
			return nil, err
		}
	}
	return targets, nil
}

// targetList prints the output columns (get_target_list), with AS where
// the name is not the one the expression has anyway; names, where given,
// are the output names (a view's columns). With the wrap column 0 every
// column after the first starts a new line; with a positive one, those
// that would pass it or follow one of several lines.
func (d *deparser) targetList(sb *strings.Builder, targets []target, names []string) error {
	sep := " "
	lastMultiline := false
	for i, t := range targets {
		sb.WriteString(sep)
		sep = ", "
		var tb strings.Builder
		if err := d.targetValue(&tb, t.val); err != nil {
			return err
		}
		// PostgreSQL shows a column's name unless it is the one the
		// column has anyway, or it is "?column?" where the names are
		// not seen.
		own, name := deriveName(t.val), t.name
		if i < len(names) {
			name = names[i]
		}
		if name == "" {
			name = own
		}
		if t.val.GetColumnRef() != nil && name != own || t.val.GetColumnRef() == nil && (d.colNames || name != "?column?") {
			tb.WriteString(" AS " + udf.QuoteIdent(name))
		}
		field := tb.String()
		lead := 0
		if strings.HasPrefix(field, "\n") {
			lead = 1
			trimSpaces(sb)
		} else if d.wrap >= 0 && i > 0 {
			line := sb.String()
			if k := strings.LastIndexByte(line, '\n'); k >= 0 {
				line = line[k+1:]
			}
			if len(line)+len(field) > d.wrap || lastMultiline {
				d.keyword(sb, "", -prettyIndentStd, prettyIndentStd, prettyIndentVar)
			}
		}
		if d.wrap >= 0 {
			lastMultiline = strings.Contains(field[lead:], "\n")
		}
		sb.WriteString(field)
	}
	return nil
}

// targetValue prints an output column's expression. A string literal or
// NULL left untyped is an output of type text (resolveTargetListUnknowns).
func (d *deparser) targetValue(sb *strings.Builder, n *pg.Node) error {
	if isUntypedLiteral(n) {
		bound, err := d.bind(n)
		if err != nil {
			return err
		}
		if c, ok := bound.(*plan.Const); ok && c.T.Kind == types.Unknown {
			writeConst(sb, c.Value, types.TText, 0)
			return nil
		}
	}
	return d.child(sb, n, parent{})
}

// fromItem prints a FROM item (get_from_clause_item).
func (d *deparser) fromItem(sb *strings.Builder, n *pg.Node) error {
	switch {
	case n.GetRangeVar() != nil:
		rv := n.GetRangeVar()
		if parser.IsMatchRecognize(rv) || parser.IsProcTimeLookup(rv) {
			return sqlerr.New(sqlerr.FeatureNotSupported, "printing MATCH_RECOGNIZE and FOR SYSTEM_TIME AS OF is not supported")
		}
		if !rv.Inh {
			sb.WriteString("ONLY ")
		}
		sb.WriteString(d.relationName(rv))
		return d.relationAliases(sb, rv)
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		// A LATERAL subquery sees the FROM items before it.
		outer := d.sc.parent
		if rs.Lateral {
			sb.WriteString("LATERAL ")
			outer = d.sc
		}
		sb.WriteByte('(')
		if err := d.queryDef(sb, rs.Subquery.GetSelectStmt(), outer, d.sc.ctes, d.indent, true); err != nil {
			return err
		}
		sb.WriteByte(')')
		if rs.Alias != nil {
			sb.WriteString(" " + udf.QuoteIdent(d.names.printed(rs.Alias.Aliasname)))
			if len(rs.Alias.Colnames) > 0 {
				names := make([]string, len(rs.Alias.Colnames))
				for i, c := range rs.Alias.Colnames {
					names[i] = udf.QuoteIdent(c.GetString_().Sval)
				}
				sb.WriteString("(" + strings.Join(names, ", ") + ")")
			}
		}
		return nil
	case n.GetJoinExpr() != nil:
		return d.joinExpr(sb, n.GetJoinExpr())
	case n.GetRangeFunction() != nil:
		return d.rangeFunction(sb, n.GetRangeFunction())
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "printing a subquery over %s is not supported", nodeName(n))
}

// joinExpr prints a join: parenthesised unless pretty, each JOIN on its
// own line, USING or ON.
func (d *deparser) joinExpr(sb *strings.Builder, j *pg.JoinExpr) error {
	if _, _, ok := parser.AsofJoin(j); ok {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing ASOF joins is not supported")
	}
	rightParen := d.pretty && j.Rarg.GetJoinExpr() != nil && j.Rarg.GetJoinExpr().Alias == nil
	outerParen := !d.pretty || j.Alias != nil
	if outerParen {
		sb.WriteByte('(')
	}
	if err := d.fromItem(sb, j.Larg); err != nil {
		return err
	}
	// The two sides' columns, which ON names.
	lcols, err := d.sideCols(d.names, j.Larg)
	if err != nil {
		return err
	}
	rcols, err := d.sideCols(d.names, j.Rarg)
	if err != nil {
		return err
	}
	using := d.usingNames(d.names, j)
	switch j.Jointype {
	case pg.JoinType_JOIN_INNER:
		if j.Quals != nil || len(using) > 0 {
			d.keyword(sb, " JOIN ", -prettyIndentStd, prettyIndentStd, prettyIndentJoin)
		} else {
			d.keyword(sb, " CROSS JOIN ", -prettyIndentStd, prettyIndentStd, prettyIndentJoin)
		}
	case pg.JoinType_JOIN_LEFT:
		d.keyword(sb, " LEFT JOIN ", -prettyIndentStd, prettyIndentStd, prettyIndentJoin)
	case pg.JoinType_JOIN_RIGHT:
		d.keyword(sb, " RIGHT JOIN ", -prettyIndentStd, prettyIndentStd, prettyIndentJoin)
	case pg.JoinType_JOIN_FULL:
		d.keyword(sb, " FULL JOIN ", -prettyIndentStd, prettyIndentStd, prettyIndentJoin)
	default:
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing join type %s is not supported", j.Jointype)
	}
	if rightParen {
		sb.WriteByte('(')
	}
	if err := d.fromItem(sb, j.Rarg); err != nil {
		return err
	}
	if rightParen {
		sb.WriteByte(')')
	}
	switch {
	case len(using) > 0:
		names := make([]string, len(using))
		for i, u := range using {
			names[i] = udf.QuoteIdent(u)
		}
		sb.WriteString(" USING (" + strings.Join(names, ", ") + ")")
		if j.JoinUsingAlias != nil {
			sb.WriteString(" AS " + udf.QuoteIdent(j.JoinUsingAlias.Aliasname))
		}
	case j.Quals != nil:
		sb.WriteString(" ON ")
		on := d.sub(&scope{cols: append(append([]column{}, lcols...), rcols...), parent: d.sc.parent, ctes: d.sc.ctes})
		if !d.pretty {
			sb.WriteByte('(')
		}
		if err := on.child(sb, j.Quals, parent{}); err != nil {
			return err
		}
		if !d.pretty {
			sb.WriteByte(')')
		}
	case j.Jointype != pg.JoinType_JOIN_INNER:
		sb.WriteString(" ON TRUE")
	}
	if outerParen {
		sb.WriteByte(')')
	}
	if j.Alias != nil {
		sb.WriteString(" " + udf.QuoteIdent(d.names.printed(j.Alias.Aliasname)))
	}
	return nil
}

// visibleUnqualified reports whether rv's relation is the one its name
// finds without the schema, so PostgreSQL prints it unqualified.
func (p *Planner) visibleUnqualified(rv *pg.RangeVar) bool {
	r, err := p.resolveRelation(rv)
	if err != nil {
		return false
	}
	u, err := p.resolveRelation(&pg.RangeVar{Relname: rv.Relname, Inh: true})
	return err == nil && u.OID == r.OID
}

// sortTarget is the expression an ORDER BY, GROUP BY or DISTINCT ON item
// stands for: an output column named by its position or by its name
// (for GROUP BY only when no input column has that name), or the item
// itself.
func (d *deparser) sortTarget(n *pg.Node, targets []target, groupBy bool) *pg.Node {
	if c := n.GetAConst(); c != nil && c.GetIval() != nil {
		if i := int(c.GetIval().Ival); i >= 1 && i <= len(targets) {
			return targets[i-1].val
		}
		return n
	}
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) != 1 || cr.Fields[0].GetString_() == nil {
		return n
	}
	name := cr.Fields[0].GetString_().Sval
	if groupBy {
		if _, _, _, err := d.sc.resolve("", name, 0); err == nil {
			return n
		}
	}
	for _, t := range targets {
		out := t.name
		if out == "" {
			out = deriveName(t.val)
		}
		if out == name {
			return t.val
		}
	}
	return n
}

// sortGroupItem prints a sort or grouping expression
// (get_rule_sortgroupclause): a constant with its type, a column as it
// is, anything else in parentheses where it could be misread (a function
// call as a grouping set, or any expression when pretty).
func (d *deparser) sortGroupItem(sb *strings.Builder, n *pg.Node) error {
	switch {
	case n.GetAConst() != nil:
		return d.aConst(sb, n, 1)
	case n.GetColumnRef() != nil:
		return d.child(sb, n, parent{})
	}
	paren := d.pretty || n.GetFuncCall() != nil
	if paren {
		sb.WriteByte('(')
	}
	if err := d.child(sb, n, parent{}); err != nil {
		return err
	}
	if paren {
		sb.WriteByte(')')
	}
	return nil
}

// groupingSet prints an element of GROUP BY GROUPING SETS, ROLLUP or CUBE
// (get_rule_groupingset): (), a parenthesized list, or the clause with
// its elements. Inside GROUPING SETS a single expression is a set of one
// and printed in parentheses; inside ROLLUP and CUBE it is not.
func (d *deparser) groupingSet(sb *strings.Builder, n *pg.Node, targets []target, omitParens bool) error {
	gs := n.GetGroupingSet()
	if gs == nil {
		fields := []*pg.Node{n}
		if r := n.GetRowExpr(); r != nil && r.RowFormat == pg.CoercionForm_COERCE_IMPLICIT_CAST {
			fields = r.Args
		}
		if !omitParens || len(fields) != 1 {
			sb.WriteByte('(')
			for i, f := range fields {
				if i > 0 {
					sb.WriteString(", ")
				}
				if err := d.sortGroupItem(sb, d.sortTarget(f, targets, true)); err != nil {
					return err
				}
			}
			sb.WriteByte(')')
			return nil
		}
		return d.sortGroupItem(sb, d.sortTarget(fields[0], targets, true))
	}
	var open string
	switch gs.Kind {
	case pg.GroupingSetKind_GROUPING_SET_EMPTY:
		sb.WriteString("()")
		return nil
	case pg.GroupingSetKind_GROUPING_SET_ROLLUP:
		open = "ROLLUP("
	case pg.GroupingSetKind_GROUPING_SET_CUBE:
		open = "CUBE("
	case pg.GroupingSetKind_GROUPING_SET_SETS:
		open = "GROUPING SETS ("
	default:
		open = "("
	}
	sb.WriteString(open)
	for i, c := range gs.Content {
		if i > 0 {
			sb.WriteString(", ")
		}
		if err := d.groupingSet(sb, c, targets, gs.Kind != pg.GroupingSetKind_GROUPING_SET_SETS); err != nil {
			return err
		}
	}
	sb.WriteByte(')')
	return nil
}

// orderBy prints sort items with their direction (get_rule_orderby):
// ASC and its NULLS LAST are the default and not shown, nor is DESC's
// NULLS FIRST.
func (d *deparser) orderBy(sb *strings.Builder, items []*pg.Node, targets []target) error {
	for i, it := range items {
		s := it.GetSortBy()
		if i > 0 {
			sb.WriteString(", ")
		}
		if err := d.sortGroupItem(sb, d.sortTarget(s.Node, targets, false)); err != nil {
			return err
		}
		writeSortDirection(sb, s)
	}
	return nil
}

func writeSortDirection(sb *strings.Builder, s *pg.SortBy) {
	desc := s.SortbyDir == pg.SortByDir_SORTBY_DESC
	if s.SortbyDir == pg.SortByDir_SORTBY_USING {
		desc = operatorName(s.UseOp) == ">"
	}
	switch {
	case desc:
		sb.WriteString(" DESC")
		if s.SortbyNulls == pg.SortByNulls_SORTBY_NULLS_LAST {
			sb.WriteString(" NULLS LAST")
		}
	case s.SortbyNulls == pg.SortByNulls_SORTBY_NULLS_FIRST:
		sb.WriteString(" NULLS FIRST")
	}
}

// orderByColumns prints a set operation's ORDER BY by column number.
func (d *deparser) orderByColumns(sb *strings.Builder, sel *pg.SelectStmt) error {
	leaf := sel
	for leaf.Op != pg.SetOperation_SETOP_NONE {
		leaf = leaf.Larg
	}
	for i, it := range sel.SortClause {
		s := it.GetSortBy()
		if i > 0 {
			sb.WriteString(", ")
		}
		no := 0
		if c := s.Node.GetAConst(); c != nil && c.GetIval() != nil {
			no = int(c.GetIval().Ival)
		} else if cr := s.Node.GetColumnRef(); cr != nil && len(cr.Fields) == 1 && cr.Fields[0].GetString_() != nil {
			for j, t := range leaf.TargetList {
				rt := t.GetResTarget()
				name := rt.Name
				if name == "" {
					name = deriveName(rt.Val)
				}
				if name == cr.Fields[0].GetString_().Sval {
					no = j + 1
					break
				}
			}
		}
		if no == 0 {
			return sqlerr.New(sqlerr.FeatureNotSupported, "printing this ORDER BY of a set operation is not supported")
		}
		sb.WriteString(strconv.Itoa(no))
		writeSortDirection(sb, s)
	}
	return nil
}
