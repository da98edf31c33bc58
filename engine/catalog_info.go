package engine

import (
	"context"
	"sort"
	"strings"

	"streamsql/catalog"
	"streamsql/catalog/pgcatalog"
	"streamsql/exec/stream"
	"streamsql/sql/planner"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// The rest of udf.CatalogInfo on the session's catalogReader: what the
// catalog functions (pg_get_viewdef, pg_table_is_visible, obj_description,
// pg_get_userbyid, current_schemas) and pg_settings read.

var _ udf.CatalogInfo = catalogReader{}

func (c catalogReader) SearchPath() []string { return c.s.searchPath() }

func (c catalogReader) ImplicitSchemas() int {
	_, n := c.s.searchPathImplicit()
	return n
}

func (c catalogReader) MyTempSchema() uint32 {
	if sc, ok := c.s.e.cat.SchemaByName(c.s.temp.schema); ok && c.s.temp.schema != "" {
		return sc.OID
	}
	return 0
}

func (c catalogReader) IsOtherTempSchema(oid uint32) bool {
	name, ok := c.NamespaceName(oid)
	return ok && catalog.IsTempSchema(name) && name != c.s.temp.schema
}

func (c catalogReader) Settings() []udf.Setting {
	names := sortedSettingNames()
	out := make([]udf.Setting, 0, len(names))
	for _, n := range names {
		v, _ := c.s.get(n)
		out = append(out, udf.Setting{Name: n, Value: v, Description: settings[n].desc})
	}
	return out
}

func (c catalogReader) snapshot() *pgcatalog.Snapshot {
	return &pgcatalog.Snapshot{Catalog: c.s.e.cat, User: c.s.info.User, Database: c.s.info.Database, SearchPath: c.s.searchPath(),
		RelOptions: c.RelOptions, Rejects: c.Rejects, Cursors: c.Cursors, Activity: c.Activity, Locks: c.Locks, ExprText: c.ExprText,
		ViewText: c.ViewText, SequenceLast: c.SequenceLast}
}

// SequenceLast is pg_sequences.last_value: the last value sequence r
// handed out, if any and if the user may read it.
func (c catalogReader) SequenceLast(r *catalog.Relation) (int64, bool) {
	if _, err := c.s.sequence(r.OID, seqSelect+seqUsage); err != nil {
		return 0, false
	}
	st, err := c.s.e.db.SeqGet(r.OID, r.Sequence.Start)
	if err != nil || !st.Called {
		return 0, false
	}
	return st.Last, true
}

// ViewText prints the query of view or materialized view r as
// pg_get_viewdef(r) does (pg_views, pg_matviews, information_schema.views).
func (c catalogReader) ViewText(r *catalog.Relation) string { return c.viewText(r, false, 0) }

// viewText prints the query of view or materialized view r as
// pg_get_viewdef(r, pretty) does (wrap: pg_get_viewdef(r, wrap)), EMIT
// ON WINDOW CLOSE added where r has it. A query the deparser cannot
// print (streaming syntax it does not write back, or a relation it reads
// that no longer binds) shows its stored text, which recreates the view
// as well.
func (c catalogReader) viewText(r *catalog.Relation, pretty bool, wrap int) string {
	out, err := c.planner().DeparseView(r, pretty, wrap)
	if err != nil {
		c.s.e.log.Debug("printing a view's query", "relation", r.Name, "err", err)
		return pgcatalog.ViewDefinition(r)
	}
	if r.EmitOnWindowClose {
		out = strings.TrimSuffix(out, ";") + "\n  EMIT ON WINDOW CLOSE;"
	}
	return out
}

// ViewDef is pg_get_viewdef of the view or materialized view with OID
// oid; ok is false for any other object.
func (c catalogReader) ViewDef(oid uint32, pretty bool, wrap int) (string, bool) {
	kind, relOID := pgcatalog.Decode(oid)
	if kind != pgcatalog.ObjRelation {
		return "", false
	}
	r, ok := c.s.e.cat.ByOID(relOID)
	if !ok || r.Kind != catalog.KindView && r.Kind != catalog.KindMatView {
		return "", false
	}
	return c.viewText(r, pretty, wrap), true
}

var _ udf.ViewDefPrinter = catalogReader{}

// planner is a planner over the session's catalog for printing stored
// queries and expressions.
func (c catalogReader) planner() *planner.Planner {
	return &planner.Planner{Catalog: c.s.e.cat, SearchPath: c.s.searchPath(), UserFuncs: c.s.e.udfs, GoFuncs: c.s.e.goFuncs,
		CompileScalar: compileScalar}
}

// ExprText prints a stored expression of r (text, of type want) as
// PostgreSQL's pg_get_expr does; an expression that no longer binds (a
// table its subquery reads was dropped) shows its stored text.
func (c catalogReader) ExprText(r *catalog.Relation, text string, want types.T) string {
	return c.exprText(r, text, want, false)
}

// exprText is ExprText, pretty-printed (fewer parentheses) with pretty.
func (c catalogReader) exprText(r *catalog.Relation, text string, want types.T, pretty bool) string {
	out, err := c.planner().DeparseExpr(r, text, want, pretty)
	if err != nil {
		c.s.e.log.Debug("printing a stored expression", "relation", r.Name, "expr", text, "err", err)
		return text
	}
	return out
}

// PrettyExpr finds the stored expression of relation rel (a policy's
// USING or WITH CHECK, a column default, a CHECK constraint) that
// pg_get_expr prints as plain, and prints it pretty, as
// pg_get_expr(e, rel, true) does.
func (c catalogReader) PrettyExpr(rel uint32, plain string) (string, bool) {
	r, ok := c.s.e.cat.ByOID(rel)
	if !ok {
		return "", false
	}
	type stored struct {
		text string
		want types.T
	}
	var all []stored
	for _, p := range r.Policies {
		all = append(all, stored{p.Using, types.TBool}, stored{p.Check, types.TBool})
	}
	for _, col := range r.Columns {
		if !col.Dropped && !col.Hidden {
			all = append(all, stored{col.Default, col.Type})
		}
	}
	for _, ck := range r.Checks {
		all = append(all, stored{ck.Expr, types.TBool})
	}
	for _, st := range all {
		if st.text != "" && c.exprText(r, st.text, st.want, false) == plain {
			return c.exprText(r, st.text, st.want, true), true
		}
	}
	return "", false
}

var _ udf.PrettyExprPrinter = catalogReader{}

// Cursors lists the session's open cursors (pg_cursors).
func (c catalogReader) Cursors() []pgcatalog.CursorRow {
	var out []pgcatalog.CursorRow
	for _, cur := range c.s.cursors {
		out = append(out, pgcatalog.CursorRow{Name: cur.name, Statement: cur.sql, Holdable: cur.hold, Binary: cur.binary,
			Scrollable: cur.scroll, Created: cur.created.UnixMicro()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Rejects returns every job's kept rejects (the rejects relation), as of
// the last committed epoch.
func (c catalogReader) Rejects() []pgcatalog.RejectRow {
	e := c.s.e
	return committedJobRows(e, "read rejects", func(r storage.Reader, j stream.JobInfo) ([]pgcatalog.RejectRow, error) {
		rs, err := stream.ReadRejects(r, j.ID)
		name := e.jobName(j)
		var out []pgcatalog.RejectRow
		for _, rj := range rs {
			out = append(out, pgcatalog.RejectRow{Job: name, Relation: rj.Relation, Partition: rj.Split, Offset: rj.Offset,
				Raw: rj.Raw, Error: rj.Error, Time: rj.Time.UnixMicro()})
		}
		return out, err
	})
}

// LateRows returns the kept late rows of every view the current role may
// read (the late_rows relation), as of the last committed epoch.
func (c catalogReader) LateRows() []pgcatalog.LateRow {
	e := c.s.e
	return committedJobRows(e, "read late rows", func(r storage.Reader, j stream.JobInfo) ([]pgcatalog.LateRow, error) {
		rel, ok := e.cat.ByOID(j.ID)
		if !ok || c.s.checkPrivilege(rel, 'r') != nil {
			return nil, nil
		}
		rows, err := stream.ReadLateRows(r, j.ID, rel.LateRowsMax)
		var out []pgcatalog.LateRow
		for _, lr := range rows {
			out = append(out, pgcatalog.LateRow{View: rel.Name, Relation: lr.Relation, Row: string(lr.Row),
				EventTime: lr.EventTime, Watermark: lr.Watermark, Arrived: lr.Arrived.UnixMicro()})
		}
		return out, err
	})
}

// committedJobRows gathers what read finds for each job at the last
// committed epoch; a job whose rows do not read is logged as what and
// left out.
func committedJobRows[T any](e *Engine, what string, read func(storage.Reader, stream.JobInfo) ([]T, error)) []T {
	var out []T
	r := e.db.Latest()
	for _, j := range e.jobs() {
		rows, err := read(r, j)
		if err != nil {
			e.log.Error(what, "job", j.ID, "err", err)
			continue
		}
		out = append(out, rows...)
	}
	return out
}

// RelOptions returns r's connector options, secrets masked
// (pg_class.reloptions).
func (c catalogReader) RelOptions(r *catalog.Relation) []string { return c.s.e.maskedOptions(r) }

func (c catalogReader) RoleName(oid uint32) (string, bool) { return c.snapshot().RoleName(oid) }

func (c catalogReader) Object(oid uint32) (udf.ObjectInfo, bool) {
	kind, relOID := pgcatalog.Decode(oid)
	if t := virtualByOID(relOID); t != nil && kind == pgcatalog.ObjRelation {
		return udf.ObjectInfo{Schema: t.Schema, Name: t.Name, Kind: t.Kind, Visible: c.snapshot().Visible(t.Schema, t.Name)}, true
	}
	if o, ok := c.indexObject(kind, relOID); ok {
		return o, true
	}
	if o, ok := c.checkFKObject(oid); ok {
		return o, true
	}
	r, ok := c.s.e.cat.ByOID(relOID)
	if !ok || r.Kind == catalog.KindSink || r.Kind == catalog.KindSubscription {
		return udf.ObjectInfo{}, false
	}
	o := udf.ObjectInfo{Schema: r.Schema, Name: r.Name}
	switch kind {
	case pgcatalog.ObjRelation:
		o.Kind = pgcatalog.RelKind(r.Kind)
		o.Visible = c.snapshot().Visible(r.Schema, r.Name)
		o.Description = r.Comment
		if o.Description == "" {
			o.Description = pgcatalog.KindDescription(r)
		}
		if r.Kind == catalog.KindView || r.Kind == catalog.KindMatView {
			o.Definition = c.viewText(r, false, 0)
		}
	case pgcatalog.ObjIndex, pgcatalog.ObjConstraint:
		if len(r.PrimaryKey) == 0 {
			return udf.ObjectInfo{}, false
		}
		o.Name = pgcatalog.PKName(r.Name)
		o.Kind, o.Definition = 'i', pgcatalog.IndexDef(r)
		o.Visible = c.snapshot().Visible(r.Schema, r.Name)
		if kind == pgcatalog.ObjConstraint {
			o.Kind, o.Definition = 'c', pgcatalog.ConstraintDef(r)
		}
	case pgcatalog.ObjRule:
		if r.Kind != catalog.KindView {
			return udf.ObjectInfo{}, false
		}
		// pg_get_ruledef: the relation qualified, or in pretty mode only
		// where it is not visible, and the view's query.
		o.Name, o.Kind = "_RETURN", 'R'
		rule := "CREATE RULE \"_RETURN\" AS\n    ON SELECT TO "
		qualified := udf.QuoteIdent(r.Schema) + "." + udf.QuoteIdent(r.Name)
		o.Definition = rule + qualified + " DO INSTEAD " + c.viewText(r, false, 0)
		if c.snapshot().Visible(r.Schema, r.Name) {
			qualified = udf.QuoteIdent(r.Name)
		}
		o.PrettyDefinition = rule + qualified + " DO INSTEAD " + c.viewText(r, true, 0)
	}
	return o, true
}

func virtualByOID(oid uint32) *pgcatalog.Table {
	if oid >= catalog.FirstUserOID {
		return nil
	}
	for _, t := range pgcatalog.Tables() {
		if t.OID == oid {
			return t
		}
	}
	return nil
}

func (c catalogReader) LookupRelation(name string) (uint32, bool) {
	schema, rel, qualified := splitQualified(name)
	if qualified {
		if t, ok := pgcatalog.Lookup(schema, rel); ok {
			return t.OID, true
		}
		if r, err := c.s.e.cat.Lookup(c.s.searchPath(), schema, rel); err == nil {
			return r.OID, true
		}
		return 0, false
	}
	path := c.s.searchPath()
	if len(path) == 0 || path[0] != "pg_catalog" {
		path = append([]string{"pg_catalog"}, path...)
	}
	for _, sc := range path {
		if t, ok := pgcatalog.Lookup(sc, rel); ok {
			return t.OID, true
		}
		if r, ok := c.s.e.cat.Relation(sc, rel); ok {
			return r.OID, true
		}
	}
	return 0, false
}

// splitQualified splits "schema.name" (either part possibly double-quoted)
// and folds unquoted parts to lower case, as the regclass input does.
func splitQualified(s string) (schema, name string, qualified bool) {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' && quoted && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"':
			quoted = !quoted
		case ch == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
		case !quoted:
			cur.WriteString(strings.ToLower(string(ch)))
		default:
			cur.WriteByte(ch)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) >= 2 {
		return parts[len(parts)-2], parts[len(parts)-1], true
	}
	return "", parts[0], false
}

// LookupNamespace resolves a schema name (the input of regnamespace).
func (c catalogReader) LookupNamespace(name string) (uint32, bool) {
	_, n, _ := splitQualified(name)
	switch n {
	case "pg_catalog":
		return catalog.OIDPgCatalog, true
	case "information_schema":
		return catalog.OIDInformationSchema, true
	}
	if sc, ok := c.s.e.cat.SchemaByName(n); ok {
		return sc.OID, true
	}
	return 0, false
}

// NamespaceName names the schema with OID oid (the output of regnamespace).
func (c catalogReader) NamespaceName(oid uint32) (string, bool) {
	switch oid {
	case catalog.OIDPgCatalog:
		return "pg_catalog", true
	case catalog.OIDInformationSchema:
		return "information_schema", true
	}
	for _, sc := range c.s.e.cat.Schemas() {
		if sc.OID == oid {
			return sc.Name, true
		}
	}
	return "", false
}

// FormatReg prints a reg* value by name for text results (implements
// pgwire.RegFormatter), as regclass::text does.
func (s *Session) FormatReg(regType, oid uint32) string {
	env := s.execCtx(context.Background(), nil).Env
	return udf.RegOut(&env, regType, oid)
}
