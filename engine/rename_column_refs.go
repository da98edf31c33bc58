package engine

// Renaming a column of a table that views, materialized views or sinks
// read. Their definitions are stored as SQL text and planned again at
// every restart, so ALTER TABLE ... RENAME COLUMN rewrites the text of
// every dependent that reads the column: each reference to the column
// (qualified by the table's name or alias, or unqualified where the
// table is the nearest FROM item that has a column of that name) takes
// the new name, and an output column that was a bare reference keeps its
// old name through an alias, as PostgreSQL's views show it
// (`t.new AS old`). Relations stacked on the dependents see the same
// output names and need no change.

import (
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
)

// renameInDependents returns the relations that read column attnum of
// r with their definitions rewritten for its rename from oldName to
// newName, for the caller to store once the column is renamed. It
// changes nothing itself, so a definition that cannot be rewritten
// leaves the rename undone.
func (e *Engine) renameInDependents(r *catalog.Relation, attnum int16, oldName, newName string) ([]*catalog.Relation, error) {
	var out []*catalog.Relation
	for _, d := range e.cat.Dependents(r.OID) {
		if d.Definition == "" || !d.UsesColumn(r.OID, attnum) {
			continue
		}
		def, err := e.renameInDefinition(d, r.OID, oldName, newName)
		if err != nil {
			return nil, err
		}
		n := d.Clone()
		n.Definition = def
		out = append(out, n)
	}
	return out, nil
}

// renameInDefinition returns d's definition with the references to
// column oldName of relation oid renamed to newName.
func (e *Engine) renameInDefinition(d *catalog.Relation, oid uint32, oldName, newName string) (string, error) {
	stmts, err := parser.Parse(d.Definition)
	if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
		return "", sqlerr.New(sqlerr.DataCorrupted, "definition of %s %q is unreadable", d.Kind, d.Name)
	}
	rw := &columnRenamer{e: e, searchPath: d.SearchPath, oid: oid, oldName: oldName, newName: newName}
	if len(rw.searchPath) == 0 {
		rw.searchPath = []string{"public"}
	}
	rw.selectStmt(stmts[0].AST.GetSelectStmt(), nil, nil)
	if rw.err != nil {
		return "", rw.err
	}
	return parser.Deparse(stmts[0].AST)
}

// columnRenamer walks a query, keeping the FROM items in scope at each
// level, and renames the references to the column.
type columnRenamer struct {
	e                *Engine
	searchPath       []string
	oid              uint32
	oldName, newName string
	err              error
}

// scopeItem is a FROM item as column references see it.
type scopeItem struct {
	name   string // the table's name or its alias
	target bool   // the relation whose column is renamed
	// has: the item has a column called oldName (or may have: a
	// subquery or function whose columns are not looked at).
	has bool
}

type scopeLevel []scopeItem

// selectStmt renames in sel. outer are the enclosing levels; ctes are the
// names of the common table expressions in scope.
func (w *columnRenamer) selectStmt(sel *pg.SelectStmt, outer []scopeLevel, ctes []string) {
	if sel == nil || w.err != nil {
		return
	}
	if wc := sel.WithClause; wc != nil {
		for _, c := range wc.Ctes {
			if cte := c.GetCommonTableExpr(); cte != nil {
				ctes = append(slices.Clip(ctes), cte.Ctename)
			}
		}
		for _, c := range wc.Ctes {
			if cte := c.GetCommonTableExpr(); cte != nil {
				w.selectStmt(cte.Ctequery.GetSelectStmt(), outer, ctes)
			}
		}
	}
	if sel.Op != pg.SetOperation_SETOP_NONE {
		w.selectStmt(sel.Larg, outer, ctes)
		w.selectStmt(sel.Rarg, outer, ctes)
		return
	}
	var level scopeLevel
	var quals []*pg.Node
	for _, f := range sel.FromClause {
		level = w.fromItem(f, level, outer, ctes, &quals)
	}
	scopes := append(slices.Clip(outer), level)
	// Output columns that are bare references to the column keep its
	// name.
	var bare []*pg.ResTarget
	for _, t := range sel.TargetList {
		if rt := t.GetResTarget(); rt != nil && rt.Name == "" {
			if cr := rt.Val.GetColumnRef(); cr != nil && lastField(cr) == w.oldName {
				bare = append(bare, rt)
			}
		}
	}
	for _, q := range quals {
		w.node(q.ProtoReflect(), scopes, ctes)
	}
	for _, n := range [][]*pg.Node{sel.TargetList, sel.GroupClause, sel.SortClause, sel.DistinctClause, sel.WindowClause, sel.ValuesLists} {
		for _, x := range n {
			w.node(x.ProtoReflect(), scopes, ctes)
		}
	}
	for _, x := range []*pg.Node{sel.WhereClause, sel.HavingClause} {
		if x != nil {
			w.node(x.ProtoReflect(), scopes, ctes)
		}
	}
	for _, rt := range bare {
		if lastField(rt.Val.GetColumnRef()) == w.newName {
			rt.Name = w.oldName
		}
	}
}

// fromItem adds the FROM item n to level, walking the subqueries in it;
// join conditions go to quals, walked once the level is complete.
func (w *columnRenamer) fromItem(n *pg.Node, level scopeLevel, outer []scopeLevel, ctes []string, quals *[]*pg.Node) scopeLevel {
	switch {
	case n.GetRangeVar() != nil:
		rv := n.GetRangeVar()
		item := scopeItem{name: rv.Relname}
		if rv.Alias != nil && rv.Alias.Aliasname != "" {
			item.name = rv.Alias.Aliasname
		}
		if rv.Schemaname == "" && slices.Contains(ctes, rv.Relname) {
			item.has = true // a CTE: its columns are not looked at
			return append(level, item)
		}
		rel, err := w.e.cat.Resolve(w.searchPath, qualifiedName(rv))
		if err != nil {
			item.has = true
			return append(level, item)
		}
		item.target = rel.OID == w.oid
		item.has = item.target || rel.ColumnIndex(w.oldName) >= 0
		return append(level, item)
	case n.GetJoinExpr() != nil:
		j := n.GetJoinExpr()
		level = w.fromItem(j.Larg, level, outer, ctes, quals)
		level = w.fromItem(j.Rarg, level, outer, ctes, quals)
		for _, u := range j.UsingClause {
			if s := u.GetString_(); s != nil && s.Sval == w.oldName && w.err == nil {
				w.err = sqlerr.New(sqlerr.FeatureNotSupported, "cannot rename column %q: a dependent view joins on it with USING", w.oldName).
					WithHint("Recreate the view with an ON condition, or drop it first.")
			}
		}
		if j.Quals != nil {
			*quals = append(*quals, j.Quals)
		}
		if j.Alias != nil && j.Alias.Aliasname != "" {
			level = append(level, scopeItem{name: j.Alias.Aliasname, has: true})
		}
		return level
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		sub := outer
		if rs.Lateral {
			sub = append(slices.Clip(outer), level)
		}
		w.selectStmt(rs.Subquery.GetSelectStmt(), sub, ctes)
		item := scopeItem{has: true}
		if rs.Alias != nil {
			item.name = rs.Alias.Aliasname
		}
		return append(level, item)
	case n.GetRangeFunction() != nil:
		rf := n.GetRangeFunction()
		w.node(rf.ProtoReflect(), append(slices.Clip(outer), level), ctes)
		item := scopeItem{has: true}
		if rf.Alias != nil {
			item.name = rf.Alias.Aliasname
		}
		return append(level, item)
	}
	w.node(n.ProtoReflect(), append(slices.Clip(outer), level), ctes)
	return level
}

// node renames the column references in m, descending into subqueries
// with their own scopes.
func (w *columnRenamer) node(m protoreflect.Message, scopes []scopeLevel, ctes []string) {
	if w.err != nil {
		return
	}
	switch v := m.Interface().(type) {
	case *pg.SelectStmt:
		w.selectStmt(v, scopes, ctes)
		return
	case *pg.ColumnRef:
		w.columnRef(v, scopes)
		return
	}
	eachChild(m, func(c protoreflect.Message) bool {
		w.node(c, scopes, ctes)
		return true
	})
}

// columnRef renames cr if it refers to the column: qualified, when its
// qualifier names the table (innermost first); unqualified, when the
// table is at the innermost level having an item with such a column.
func (w *columnRenamer) columnRef(cr *pg.ColumnRef, scopes []scopeLevel) {
	if len(cr.Fields) == 0 || lastField(cr) != w.oldName {
		return
	}
	last := cr.Fields[len(cr.Fields)-1].GetString_()
	if len(cr.Fields) >= 2 {
		q := cr.Fields[len(cr.Fields)-2].GetString_()
		if q == nil {
			return
		}
		for i := len(scopes) - 1; i >= 0; i-- {
			for _, it := range scopes[i] {
				if it.name == q.Sval {
					if it.target {
						last.Sval = w.newName
					}
					return
				}
			}
		}
		return
	}
	for i := len(scopes) - 1; i >= 0; i-- {
		found := false
		for _, it := range scopes[i] {
			if it.target {
				last.Sval = w.newName
				return
			}
			found = found || it.has
		}
		if found {
			return
		}
	}
}

// lastField is the column name of a reference ("" for a star).
func lastField(cr *pg.ColumnRef) string {
	if len(cr.Fields) == 0 {
		return ""
	}
	if s := cr.Fields[len(cr.Fields)-1].GetString_(); s != nil {
		return s.Sval
	}
	return ""
}
