package planner

// View definitions as PostgreSQL 15 prints them (pg_get_viewdef,
// pg_views.definition, information_schema.views.view_definition, psql's
// \d+): the stored query deparsed at the top level, its output columns
// named as the view names them, every column qualified with the name its
// FROM item has. Names are made unique the way ruleutils.c's
// set_rtable_names does: a FROM item whose name is already taken in its
// own query level or any level around it is printed with "_1", "_2" ...
// added (a view's top level in PostgreSQL 15 also holds the rule's "old"
// and "new"). A column merged by USING or NATURAL is printed as the input
// column it stands for: the left one for an inner or left join, the right
// one for a right join, unqualified for a full join.
//
// Window table functions (tumble, hop, cumulate, session) print as they
// are written, their first argument the relation they read; the rest of
// the streaming syntax (MATCH_RECOGNIZE, ASOF joins, FOR SYSTEM_TIME AS
// OF) is not printed here and the caller shows the stored text, which
// recreates the view as well.

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// DeparseView returns the query of view or materialized view r as
// pg_get_viewdef prints it, the final semicolon included. pretty leaves
// out the parentheses precedence makes unnecessary (pg_get_viewdef(v,
// true)); wrap is the wrap column of pg_get_viewdef(v, int): 0 starts
// every output column on its own line, a positive width only those that
// would pass it, a negative one none.
func (p *Planner) DeparseView(r *catalog.Relation, pretty bool, wrap int) (string, error) {
	stmts, err := parser.Parse(r.Definition)
	if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
		return "", sqlerr.New(sqlerr.DataCorrupted, "stored query of view %q is unreadable: %s", r.Name, r.Definition)
	}
	inner := *p
	inner.SQL, inner.Offset, inner.chars = r.Definition, 0, charIndex{}
	inner.RowSecurity = nil
	// Names are resolved as the view resolves them and qualified where
	// the reader's search path would not find the same relation.
	if len(r.SearchPath) > 0 {
		inner.SearchPath = r.SearchPath
	}
	var names []string
	for _, c := range r.Columns {
		if !c.Dropped && !c.Hidden {
			names = append(names, c.Name)
		}
	}
	d := &deparser{p: &inner, sc: &scope{ctes: map[string]*cteDef{}}, pretty: pretty, wrap: wrap,
		resultNames: names, viewTop: true, shared: &deparseShared{levels: map[*scope]*rtNames{}, readerPath: p.SearchPath}}
	var sb strings.Builder
	if err := d.queryDef(&sb, stmts[0].AST.GetSelectStmt(), nil, d.sc.ctes, 0, true); err != nil {
		return "", err
	}
	sb.WriteByte(';')
	return sb.String(), nil
}

// deparseShared is what every level of one printed query shares.
type deparseShared struct {
	// levels maps each scope an expression is bound in to the names of
	// its query level.
	levels map[*scope]*rtNames
	// readerPath is the search path of the session printing the query,
	// which decides what is printed schema-qualified.
	readerPath []string
}

// relationName prints the relation rv names: qualified with its schema
// unless the reader finds it by its name alone (generate_relation_name).
// A CTE's name is printed as it is.
func (d *deparser) relationName(rv *pg.RangeVar) string {
	name := udf.QuoteIdent(rv.Relname)
	if rv.Schemaname == "" {
		if _, cte := d.sc.ctes[rv.Relname]; cte {
			return name
		}
	}
	if d.shared == nil || d.shared.readerPath == nil {
		if rv.Schemaname != "" && !d.p.visibleUnqualified(rv) {
			return udf.QuoteIdent(rv.Schemaname) + "." + name
		}
		return name
	}
	r, err := d.p.resolveRelation(rv)
	if err != nil {
		return name
	}
	reader := *d.p
	reader.SearchPath = d.shared.readerPath
	if u, err := reader.resolveRelation(&pg.RangeVar{Relname: rv.Relname, Inh: true}); err == nil && u.OID == r.OID {
		return name
	}
	return udf.QuoteIdent(r.Schema) + "." + name
}

// rtNames are the names the FROM items of one query level are printed
// with (ruleutils.c's rtable_names).
type rtNames struct {
	parent *rtNames
	// rename maps a FROM item's name as written to the name printed.
	rename map[string]string
	// used are the names printed at this level.
	used []string
	// from is the level's FROM clause, where merged USING columns are
	// looked up, and sc the level's scope.
	from []*pg.Node
	sc   *scope
}

// assign gives each of refs, the level's FROM item names in range
// table order, a name unique in this level and the levels around it
// (set_rtable_names).
func (n *rtNames) assign(refs []string) {
	counter := map[string]int{}
	for l := n.parent; l != nil; l = l.parent {
		for _, u := range l.used {
			counter[u] = 0
		}
	}
	n.rename = map[string]string{}
	for _, ref := range refs {
		name := ref
		if c, found := counter[ref]; found {
			for {
				c++
				name = ref + "_" + strconv.Itoa(c)
				if _, taken := counter[name]; !taken {
					break
				}
			}
			counter[ref] = c
		}
		counter[name] = 0
		n.used = append(n.used, name)
		// Of two items written alike (a view's "new" and a table
		// aliased new), the later is the one the query names.
		n.rename[ref] = name
	}
}

// printed is the name a FROM item written as ref is printed with.
func (n *rtNames) printed(ref string) string {
	if n != nil {
		if s, ok := n.rename[ref]; ok {
			return s
		}
	}
	return ref
}

// fromRefs lists the names of the FROM items of items in the order
// PostgreSQL's range table holds them: a join's inputs, then the join
// itself when it has an alias.
func fromRefs(items []*pg.Node) []string {
	var out []string
	var walk func(n *pg.Node)
	walk = func(n *pg.Node) {
		switch {
		case n.GetRangeVar() != nil:
			rv := n.GetRangeVar()
			if rv.Alias != nil {
				out = append(out, rv.Alias.Aliasname)
			} else {
				out = append(out, rv.Relname)
			}
		case n.GetRangeSubselect() != nil:
			if a := n.GetRangeSubselect().Alias; a != nil {
				out = append(out, a.Aliasname)
			}
		case n.GetRangeFunction() != nil:
			out = append(out, rangeFunctionName(n.GetRangeFunction()))
		case n.GetJoinExpr() != nil:
			j := n.GetJoinExpr()
			walk(j.Larg)
			walk(j.Rarg)
			if j.Alias != nil {
				out = append(out, j.Alias.Aliasname)
			}
		}
	}
	for _, it := range items {
		walk(it)
	}
	return out
}

// rangeFunctionName is the name a function in FROM goes by: its alias,
// the relation a window table function reads, or the function's name.
func rangeFunctionName(rf *pg.RangeFunction) string {
	if rf.Alias != nil {
		return rf.Alias.Aliasname
	}
	fc := rangeFunctionCall(rf)
	if fc == nil {
		return ""
	}
	name := funcName(fc.Funcname)
	if _, ok := windowTVFKind(name); ok && len(fc.Args) > 0 {
		if cr := fc.Args[0].GetColumnRef(); cr != nil && len(cr.Fields) > 0 {
			return cr.Fields[len(cr.Fields)-1].GetString_().GetSval()
		}
	}
	return name
}

// rangeFunctionCall is the single call of a function in FROM, nil for
// ROWS FROM (...) and anything else.
func rangeFunctionCall(rf *pg.RangeFunction) *pg.FuncCall {
	if rf.IsRowsfrom || len(rf.Functions) != 1 {
		return nil
	}
	items := rf.Functions[0].GetList().GetItems()
	if len(items) == 0 {
		return nil
	}
	return items[0].GetFuncCall()
}

// levelOf returns the names of the query level whose scope sits depth
// levels above d's.
func (d *deparser) levelOf(depth int) *rtNames {
	if d.shared == nil {
		return nil
	}
	sc := d.sc
	for i := 0; i < depth && sc != nil; i++ {
		sc = sc.parent
	}
	return d.shared.levels[sc]
}

// sub is a deparser for the expressions of the same query level over
// the columns of sc (a join's ON clause).
func (d *deparser) sub(sc *scope) *deparser {
	q := &deparser{p: d.p, sc: sc, qualify: true, indent: d.indent, pretty: d.pretty, shared: d.shared, names: d.names, windows: d.windows}
	if d.shared != nil {
		d.shared.levels[sc] = d.names
	}
	return q
}

// mergedRef is how the column name, merged by USING or NATURAL in one of
// the FROM items of level, is printed: qualified by the input it comes
// from, or unqualified (qual "") for a full join.
func (d *deparser) mergedRef(level *rtNames, name string) (qual string, ok bool) {
	if level == nil {
		return "", false
	}
	for _, it := range level.from {
		if j := it.GetJoinExpr(); j != nil && d.joinMerges(level, j, name) {
			return d.exposedQual(level, it, name), true
		}
	}
	return "", false
}

// joinMerges reports whether join j, or a join without alias inside it,
// merges a column called name.
func (d *deparser) joinMerges(level *rtNames, j *pg.JoinExpr, name string) bool {
	for _, u := range d.usingNames(level, j) {
		if u == name {
			return true
		}
	}
	if j.Alias != nil {
		return false
	}
	for _, side := range []*pg.Node{j.Larg, j.Rarg} {
		if sj := side.GetJoinExpr(); sj != nil && sj.Alias == nil && d.joinMerges(level, sj, name) {
			return true
		}
	}
	return false
}

// usingNames are the columns j merges: its USING list, or for NATURAL
// the names both sides have.
func (d *deparser) usingNames(level *rtNames, j *pg.JoinExpr) []string {
	var out []string
	for _, u := range j.UsingClause {
		out = append(out, u.GetString_().Sval)
	}
	if !j.IsNatural {
		return out
	}
	lcols, err := d.sideCols(level, j.Larg)
	if err != nil {
		return out
	}
	rcols, err := d.sideCols(level, j.Rarg)
	if err != nil {
		return out
	}
	for _, lc := range lcols {
		if lc.hidden || lc.qualifiedOnly {
			continue
		}
		for _, rc := range rcols {
			if !rc.hidden && !rc.qualifiedOnly && rc.name == lc.name {
				out = append(out, lc.name)
			}
		}
	}
	return out
}

// sideCols are the columns FROM item n of level gives.
func (d *deparser) sideCols(level *rtNames, n *pg.Node) ([]column, error) {
	sc := d.sc
	if level != nil && level.sc != nil {
		sc = level.sc
	}
	fi, err := d.p.planFromItem(n, &scope{parent: sc.parent, ctes: sc.ctes})
	if err != nil {
		return nil, err
	}
	return fi.rel.cols, nil
}

// exposedQual is the qualifier of the column name that FROM item n
// shows without one ("" when it is a full join's merged column).
func (d *deparser) exposedQual(level *rtNames, n *pg.Node, name string) string {
	j := n.GetJoinExpr()
	if j == nil {
		refs := fromRefs([]*pg.Node{n})
		if len(refs) == 0 {
			return ""
		}
		return level.printed(refs[len(refs)-1])
	}
	if j.Alias != nil {
		return level.printed(j.Alias.Aliasname)
	}
	for _, u := range d.usingNames(level, j) {
		if u != name {
			continue
		}
		switch j.Jointype {
		case pg.JoinType_JOIN_RIGHT:
			return d.exposedQual(level, j.Rarg, name)
		case pg.JoinType_JOIN_FULL:
			return ""
		}
		return d.exposedQual(level, j.Larg, name)
	}
	for _, side := range []*pg.Node{j.Larg, j.Rarg} {
		cols, err := d.sideCols(level, side)
		if err != nil {
			continue
		}
		for _, c := range cols {
			if c.name != name || c.hidden || c.qualifiedOnly {
				continue
			}
			if c.table != "" {
				return level.printed(c.table)
			}
			return d.exposedQual(level, side, name)
		}
	}
	return ""
}

// rangeFunction prints a function in FROM (get_from_clause_item): the
// call, WITH ORDINALITY, and its name with its column names, which
// PostgreSQL always writes out. LATERAL is written where the call reads
// the columns before it. A window table function prints as written.
func (d *deparser) rangeFunction(sb *strings.Builder, rf *pg.RangeFunction) error {
	fc := rangeFunctionCall(rf)
	if fc == nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing ROWS FROM is not supported")
	}
	name := funcName(fc.Funcname)
	if _, ok := windowTVFKind(name); ok {
		return d.windowTVF(sb, rf, fc, name)
	}
	args := make([]plan.Scalar, len(fc.Args))
	ts := make([]types.T, len(fc.Args))
	lateral := rf.Lateral
	for i, a := range fc.Args {
		e, err := d.bind(a)
		if err != nil {
			return err
		}
		args[i], ts[i] = e, e.Type()
		if d.readsColumns(a) {
			lateral = true
		}
	}
	_, argTypes, err := d.p.lookupTableFunc(fc.Funcname, ts, 0)
	if err != nil {
		return err
	}
	if err := d.p.coerceArgs(args, ts, argTypes, 0); err != nil {
		return err
	}
	fi, err := d.p.planFromItem(&pg.Node{Node: &pg.Node_RangeFunction{RangeFunction: rf}},
		&scope{parent: d.sc.parent, ctes: d.sc.ctes, lateral: d.sc.cols})
	if err != nil {
		return err
	}
	if lateral {
		sb.WriteString("LATERAL ")
	}
	sb.WriteString(udf.QuoteIdent(name) + "(")
	if err := d.args(sb, fc.Args, args, ")"); err != nil {
		return err
	}
	if rf.Ordinality {
		sb.WriteString(" WITH ORDINALITY")
	}
	sb.WriteString(" " + udf.QuoteIdent(d.names.printed(rangeFunctionName(rf))))
	var cols []string
	for _, c := range fi.rel.cols {
		if !c.hidden {
			cols = append(cols, udf.QuoteIdent(c.name))
		}
	}
	sb.WriteString("(" + strings.Join(cols, ", ") + ")")
	return nil
}

// windowTVF prints tumble, hop, cumulate or session as written: the
// relation, its time column, and the durations.
func (d *deparser) windowTVF(sb *strings.Builder, rf *pg.RangeFunction, fc *pg.FuncCall, name string) error {
	if len(fc.Args) < 2 {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing %s is not supported", name)
	}
	kind, _ := windowTVFKind(name)
	rv, err := d.p.windowTVFRelation(fc.Args[0], kind)
	if err != nil {
		return err
	}
	sb.WriteString(name + "(" + d.relationName(rv))
	cr := fc.Args[1].GetColumnRef()
	if cr == nil || len(cr.Fields) == 0 || cr.Fields[len(cr.Fields)-1].GetString_() == nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing %s is not supported", name)
	}
	sb.WriteString(", " + udf.QuoteIdent(cr.Fields[len(cr.Fields)-1].GetString_().Sval))
	consts := &deparser{p: d.p, sc: &scope{}, pretty: d.pretty}
	for _, a := range fc.Args[2:] {
		sb.WriteString(", ")
		if err := consts.child(sb, a, parFunc); err != nil {
			return err
		}
	}
	sb.WriteByte(')')
	if rf.Alias != nil {
		sb.WriteString(" " + udf.QuoteIdent(d.names.printed(rf.Alias.Aliasname)))
	}
	return nil
}

// relationAliases prints a table's name in FROM after the relation: the
// printed name when it differs from the relation's, and all column names
// when any of them is not the table's own (get_column_alias_list).
func (d *deparser) relationAliases(sb *strings.Builder, rv *pg.RangeVar) error {
	ref := rv.Relname
	if rv.Alias != nil {
		ref = rv.Alias.Aliasname
	}
	name := d.names.printed(ref)
	var colAliases []string
	if rv.Alias != nil && len(rv.Alias.Colnames) > 0 {
		fi, err := d.p.planFromItem(&pg.Node{Node: &pg.Node_RangeVar{RangeVar: &pg.RangeVar{Schemaname: rv.Schemaname, Relname: rv.Relname, Inh: rv.Inh}}},
			&scope{parent: d.sc.parent, ctes: d.sc.ctes})
		if err != nil {
			return err
		}
		var own []string
		for _, c := range fi.rel.cols {
			if !c.hidden {
				own = append(own, c.name)
			}
		}
		changed := false
		for i, c := range rv.Alias.Colnames {
			if i < len(own) && c.GetString_().Sval != own[i] {
				changed = true
			}
		}
		if changed {
			for i, o := range own {
				if i < len(rv.Alias.Colnames) {
					o = rv.Alias.Colnames[i].GetString_().Sval
				}
				colAliases = append(colAliases, udf.QuoteIdent(o))
			}
		}
	}
	if name != rv.Relname || len(colAliases) > 0 {
		sb.WriteString(" " + udf.QuoteIdent(name))
	}
	if len(colAliases) > 0 {
		sb.WriteString("(" + strings.Join(colAliases, ", ") + ")")
	}
	return nil
}

// valuesDef prints a VALUES list (get_values_def): each value coerced to
// its column's type, the columns of a row separated by a bare comma.
func (d *deparser) valuesDef(sb *strings.Builder, sel *pg.SelectStmt) error {
	if len(sel.SortClause) > 0 || sel.LimitCount != nil || sel.LimitOffset != nil || sel.WithClause != nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "printing VALUES with ORDER BY, LIMIT or WITH is not supported")
	}
	fi, err := d.p.planFromItem(&pg.Node{Node: &pg.Node_RangeSubselect{RangeSubselect: &pg.RangeSubselect{
		Subquery: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}}, Alias: &pg.Alias{Aliasname: "*VALUES*"}}}}, d.sc)
	if err != nil {
		return err
	}
	var colTypes []types.T
	for _, c := range fi.rel.cols {
		if !c.hidden {
			colTypes = append(colTypes, c.t)
		}
	}
	d.indent += prettyIndentStd
	sb.WriteString(" VALUES ")
	for i, row := range sel.ValuesLists {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for j, v := range row.GetList().GetItems() {
			if j > 0 {
				sb.WriteByte(',')
			}
			own, err := d.bind(v)
			if err != nil {
				return err
			}
			var bound plan.Scalar = own
			if j < len(colTypes) && !own.Type().Equal(colTypes[j]) {
				if c, err := d.p.coerceAssign(own, colTypes[j], 0); err == nil {
					bound = c
				}
			}
			// The analyser's casts to the column type are implicit and
			// not shown; a literal becomes a constant of that type.
			if err := d.coercedIn(sb, v, bound, false, parent{}); err != nil {
				return err
			}
		}
		sb.WriteByte(')')
	}
	return nil
}

// defaultValuesNames reports whether names are the column names a VALUES
// list of n columns has anyway (column1, column2, ...).
func defaultValuesNames(names []string, n int) bool {
	if names == nil {
		return true
	}
	if len(names) != n {
		return false
	}
	for i, s := range names {
		if s != "column"+strconv.Itoa(i+1) {
			return false
		}
	}
	return true
}
