package pgcatalog

import (
	"fmt"
	"strconv"
	"strings"

	"streamsql/catalog"
	"streamsql/sql/types"
	"streamsql/udf"
)

// producers computes the rows of each table that is not empty. A table
// missing here exists with its columns and no rows.
var producers = map[string]func(s *Snapshot) []row{
	"pg_catalog.pg_namespace":       namespaceRows,
	"pg_catalog.pg_class":           concat(classRows, secondaryClassRows),
	"pg_catalog.pg_attribute":       concat(attributeRows, secondaryAttributeRows),
	"pg_catalog.pg_type":            typeRows,
	"pg_catalog.pg_index":           concat(indexRows, secondaryIndexRows),
	"pg_catalog.pg_constraint":      concat(concat(constraintRows, uniqueConstraintRows), checkFKConstraintRows),
	"pg_catalog.pg_proc":            procRows,
	"pg_catalog.pg_aggregate":       aggregateRows,
	"pg_catalog.pg_description":     descriptionRows,
	"pg_catalog.pg_database":        databaseRows,
	"pg_catalog.pg_roles":           roleRows,
	"pg_catalog.pg_db_role_setting": dbRoleSettingRows,
	"pg_catalog.pg_user":            userRows,
	"pg_catalog.pg_authid":          authidRows,
	"pg_catalog.pg_auth_members":    authMemberRows,
	"pg_catalog.pg_default_acl":     defaultACLRows,
	"pg_catalog.pg_settings":        settingRows,
	"pg_catalog.pg_cursors":         cursorRows,
	"pg_catalog.pg_am":              amRows,
	"pg_catalog.pg_attrdef":         attrdefRows,
	"pg_catalog.pg_collation":       collationRows,
	"pg_catalog.pg_tablespace":      tablespaceRows,
	"pg_catalog.pg_views":           viewRows,
	"pg_catalog.pg_matviews":        matviewRows,
	"pg_catalog.pg_tables":          tableRows,
	"pg_catalog.pg_indexes":         concat(indexesViewRows, secondaryIndexesViewRows),
	"pg_catalog.pg_rewrite":         rewriteRows,
	"pg_catalog.pg_language":        languageRows,
	"pg_catalog.pg_policy":          policyRows,
	"pg_catalog.pg_policies":        policiesViewRows,
	"pg_catalog.pg_stat_activity":   activityRows,
	"pg_catalog.pg_locks":           lockRows,
	"pg_catalog.pg_sequence":        sequenceRows,
	"pg_catalog.pg_sequences":       sequencesViewRows,
	"pg_catalog.pg_depend":          dependRows,

	"information_schema.schemata":          schemataRows,
	"information_schema.tables":            isTableRows,
	"information_schema.columns":           isColumnRows,
	"information_schema.views":             isViewRows,
	"information_schema.table_constraints": concat(concat(isConstraintRows, isUniqueConstraintRows), isCheckFKConstraintRows),
	"information_schema.key_column_usage":  concat(isKeyColumnRows, isUniqueKeyColumnRows),
	"information_schema.routines":          isRoutineRows,
	"information_schema.table_privileges":  isTablePrivilegeRows,
	"information_schema.column_privileges": isColumnPrivilegeRows,
	"information_schema.role_table_grants": isRoleTableGrantRows,
	"information_schema.sequences":         isSequenceRows,

	// CHECK and FOREIGN KEY constraints (constraints.go).
	"information_schema.check_constraints":       isCheckRows,
	"information_schema.referential_constraints": isReferentialRows,
}

// relEntry is a relation as pg_class shows it: a StreamSQL relation or one
// of the virtual tables.
type relEntry struct {
	oid    uint32
	schema string
	name   string
	kind   byte
	owner  string
	cols   []Column
	notNul []bool
	defs   []string
	pk     []int
	rel    *catalog.Relation // nil for a virtual table
}

func (s *Snapshot) entries() []relEntry {
	var out []relEntry
	for _, t := range Tables() {
		out = append(out, relEntry{oid: t.OID, schema: t.Schema, name: t.Name, kind: t.Kind, owner: catalog.DefaultOwner, cols: t.Columns})
	}
	for _, r := range s.relations() {
		e := relEntry{oid: r.OID, schema: r.Schema, name: r.Name, kind: RelKind(r.Kind), owner: owner(r.Owner), rel: r}
		for i, c := range r.Columns {
			if c.Dropped || c.Hidden {
				continue
			}
			e.cols = append(e.cols, Column{Name: c.Name, Type: c.Type})
			e.notNul = append(e.notNul, c.NotNull || isPK(r, i))
			e.defs = append(e.defs, c.Default)
		}
		e.pk = append(e.pk, r.PrimaryKey...)
		out = append(out, e)
	}
	return out
}

func owner(o string) string {
	if o == "" {
		return catalog.DefaultOwner
	}
	return o
}

func isPK(r *catalog.Relation, i int) bool {
	for _, k := range r.PrimaryKey {
		if k == i {
			return true
		}
	}
	return false
}

// pkAttnums returns the attnums of r's primary key columns.
func pkAttnums(r *catalog.Relation) []int16 {
	out := make([]int16, len(r.PrimaryKey))
	for i, k := range r.PrimaryKey {
		out[i] = r.Columns[k].AttNum
	}
	return out
}

// PKName is the name of relation name's primary key index and constraint.
func PKName(name string) string { return name + "_pkey" }

func (s *Snapshot) schemaOID(name string) uint32 {
	switch name {
	case "pg_catalog":
		return catalog.OIDPgCatalog
	case "information_schema":
		return catalog.OIDInformationSchema
	}
	if s.Catalog != nil {
		if sc, ok := s.Catalog.SchemaByName(name); ok {
			return sc.OID
		}
	}
	return 0
}

func namespaceRows(s *Snapshot) []row {
	var out []row
	for _, sc := range s.Catalog.Schemas() {
		r := row{"oid": int64(sc.OID), "nspname": sc.Name, "nspowner": int64(s.RoleOID(owner(sc.Owner)))}
		// nspacl is NULL while the default holds, except for public and
		// the catalogs, whose defaults PostgreSQL 15 stores.
		if sc.ACL != nil || sc.ExplicitDefaultACL() {
			acl := sc.EffectiveACL()
			items := make([]string, len(acl))
			for i, it := range acl {
				items[i] = it.String()
			}
			r["nspacl"] = aclArray(items)
		}
		out = append(out, r)
	}
	return out
}

// persistence is pg_class.relpersistence of a relation in schema: 't'
// for temporary relations, 'p' for the rest.
func persistence(schema string) string {
	if catalog.IsTempSchema(schema) {
		return "t"
	}
	return "p"
}

func classRows(s *Snapshot) []row {
	var out []row
	for _, e := range s.entries() {
		r := row{
			"oid": int64(e.oid), "relname": e.name, "relnamespace": int64(s.schemaOID(e.schema)),
			"relowner": int64(s.RoleOID(e.owner)), "relpersistence": persistence(e.schema), "relkind": string(e.kind),
			"relnatts": int64(len(e.cols)), "relhasindex": len(e.pk) > 0 || hasIndexes(e.rel), "relispopulated": true,
			"relreplident": "d", "reltuples": float64(-1), "relhasrules": e.kind == 'v',
		}
		if e.rel != nil {
			r["relrowsecurity"], r["relforcerowsecurity"] = e.rel.RowSecurity, e.rel.ForceRowSecurity
		}
		if e.kind == 'r' || e.kind == 'm' {
			r["relam"] = int64(OIDHeapAM)
			r["relfilenode"] = int64(e.oid)
		}
		if e.rel != nil && e.rel.ACL != nil {
			// relacl is NULL while the default ACL holds, as in PostgreSQL.
			items := make([]string, len(e.rel.ACL))
			for i, it := range e.rel.ACL {
				items[i] = it.String()
			}
			r["relacl"] = aclArray(items)
		}
		if e.rel != nil && s.RelOptions != nil {
			if opts := s.RelOptions(e.rel); len(opts) > 0 {
				r["reloptions"] = textArray(opts)
			}
		}
		addConstraintCounts(r, e.rel, s)
		out = append(out, r)
		if len(e.pk) > 0 {
			out = append(out, s.indexClassRow(IndexOID(e.oid), PKName(e.name), e.schema, e.owner, len(e.pk)))
		}
	}
	return out
}

func attributeRows(s *Snapshot) []row {
	var out []row
	for _, e := range s.entries() {
		if e.rel == nil {
			for i, c := range e.cols {
				out = append(out, attRow(e.oid, c.Name, c.Type, int16(i+1), false, ""))
			}
			continue
		}
		for i, c := range e.rel.Columns {
			if c.Hidden {
				continue
			}
			r := attRow(e.oid, c.Name, c.Type, c.AttNum, c.NotNull || isPK(e.rel, i), c.Default)
			if c.Identity != 0 {
				r["attidentity"] = string(c.Identity)
			}
			if c.Dropped {
				r["attisdropped"] = true
				r["attname"] = fmt.Sprintf("........pg.dropped.%d........", c.AttNum)
				r["atttypid"] = int64(0)
			}
			if c.ACL != nil {
				items := make([]string, len(c.ACL))
				for i, it := range c.ACL {
					items[i] = it.String()
				}
				r["attacl"] = aclArray(items)
			}
			out = append(out, r)
		}
		for i, k := range e.rel.PrimaryKey {
			c := e.rel.Columns[k]
			out = append(out, attRow(IndexOID(e.oid), c.Name, c.Type, int16(i+1), false, ""))
		}
	}
	return out
}

func attRow(rel uint32, name string, t types.T, attnum int16, notNull bool, def string) row {
	pt := typeByOID[t.OID()]
	r := row{
		"attrelid": int64(rel), "attname": name, "atttypid": int64(t.OID()), "attstattarget": int64(-1),
		"attlen": int64(t.TypLen()), "attnum": int64(attnum), "attcacheoff": int64(-1), "atttypmod": int64(t.TypMod()),
		"attbyval": pt.byval, "attalign": string(pt.align), "attstorage": string(pt.storage), "attcompression": "",
		"attnotnull": notNull, "atthasdef": def != "", "attidentity": "", "attgenerated": "", "attislocal": true,
		"attcollation": int64(pt.collation),
	}
	if t.Kind == types.Array {
		r["attndims"] = int64(1)
	}
	return r
}

// pgType is one pg_type row of a built-in type.
type pgType struct {
	oid       uint32
	name      string
	length    int16
	byval     bool
	typtype   byte
	category  byte
	preferred bool
	delim     byte
	subscript uint32
	elem      uint32
	array     uint32
	procs     [5]uint32 // input, output, receive, send, analyze
	align     byte
	storage   byte
	collation uint32
}

var typeByOID = func() map[uint32]pgType {
	m := make(map[uint32]pgType, len(builtinTypes))
	for _, t := range builtinTypes {
		m[t.oid] = t
	}
	return m
}()

// TypeName returns the pg_type.typname of a built-in type OID.
func TypeName(oid uint32) (string, bool) {
	t, ok := typeByOID[oid]
	return t.name, ok
}

// TypeByName returns the OID of the built-in type called typname.
func TypeByName(name string) (uint32, bool) {
	for _, t := range builtinTypes {
		if t.name == name {
			return t.oid, true
		}
	}
	return 0, false
}

func typeRows(s *Snapshot) []row {
	out := make([]row, 0, len(builtinTypes))
	for _, t := range builtinTypes {
		out = append(out, row{
			"oid": int64(t.oid), "typname": t.name, "typnamespace": int64(catalog.OIDPgCatalog), "typowner": int64(OIDSuperuser),
			"typlen": int64(t.length), "typbyval": t.byval, "typtype": string(t.typtype), "typcategory": string(t.category),
			"typispreferred": t.preferred, "typisdefined": true, "typdelim": string(t.delim), "typsubscript": int64(t.subscript),
			"typelem": int64(t.elem), "typarray": int64(t.array), "typinput": int64(t.procs[0]), "typoutput": int64(t.procs[1]),
			"typreceive": int64(t.procs[2]), "typsend": int64(t.procs[3]), "typanalyze": int64(t.procs[4]),
			"typalign": string(t.align), "typstorage": string(t.storage), "typtypmod": int64(-1), "typcollation": int64(t.collation),
		})
	}
	return out
}

func vector(xs []int16) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(int(x))
	}
	return strings.Join(parts, " ")
}

// aclArray is the text form of an aclitem[] value: elements quoted only
// when they hold characters array syntax needs quoted, as PostgreSQL
// prints them.
func aclArray(xs []string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		if x == "" || strings.ContainsAny(x, "{}\",\\ \t") {
			x = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(x) + `"`
		}
		parts[i] = x
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// textArray is the text form of a text[] value as PostgreSQL's array_out
// prints it: an element is quoted only when it is empty, is NULL in any
// case, or holds a brace, quote, backslash, comma or white space.
func textArray(xs []string) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, x := range xs {
		if i > 0 {
			sb.WriteByte(',')
		}
		if x != "" && !strings.EqualFold(x, "null") && !strings.ContainsAny(x, "{}\",\\ \t\n\r\v\f") {
			sb.WriteString(x)
			continue
		}
		sb.WriteByte('"')
		sb.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(x))
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}

func arrayText(xs []int16) string { return "{" + strings.ReplaceAll(vector(xs), " ", ",") + "}" }

func indexRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if len(r.PrimaryKey) == 0 {
			continue
		}
		keys := pkAttnums(r)
		zeros := make([]int16, len(keys))
		out = append(out, row{
			"indexrelid": int64(IndexOID(r.OID)), "indrelid": int64(r.OID), "indnatts": int64(len(keys)),
			"indnkeyatts": int64(len(keys)), "indisunique": true, "indisprimary": true, "indimmediate": true,
			"indisvalid": true, "indisready": true, "indislive": true, "indkey": vector(keys),
			"indcollation": vector(zeros), "indclass": vector(zeros), "indoption": vector(zeros),
		})
	}
	return out
}

func constraintRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if len(r.PrimaryKey) == 0 {
			continue
		}
		out = append(out, row{
			"oid": int64(ConstraintOID(r.OID)), "conname": PKName(r.Name), "connamespace": int64(s.schemaOID(r.Schema)),
			"contype": "p", "convalidated": true, "conrelid": int64(r.OID), "conindid": int64(IndexOID(r.OID)),
			"confupdtype": " ", "confdeltype": " ", "confmatchtype": " ", "conislocal": true, "connoinherit": true,
			"conkey": arrayText(pkAttnums(r)),
		})
	}
	return out
}

func procRows(s *Snapshot) []row {
	out := make([]row, 0, len(s.Procs))
	for _, p := range s.Procs {
		args := make([]string, len(p.ArgTypes))
		for i, a := range p.ArgTypes {
			args[i] = strconv.FormatUint(uint64(a), 10)
		}
		variadic := int64(0)
		if p.Variadic && len(p.ArgTypes) > 0 {
			variadic = int64(p.ArgTypes[len(p.ArgTypes)-1])
		}
		out = append(out, row{
			"oid": int64(p.OID), "proname": p.Name, "pronamespace": int64(catalog.OIDPgCatalog), "proowner": int64(OIDSuperuser),
			"prolang": int64(12), "procost": float64(1), "provariadic": variadic, "prokind": string(p.Kind),
			"proisstrict": p.Strict, "proretset": p.RetSet, "provolatile": string(p.Volatility), "proparallel": "s",
			"prosecdef": false, "proleakproof": false,
			"pronargs": int64(len(p.ArgTypes)), "prorettype": int64(p.RetType), "proargtypes": strings.Join(args, " "),
			"prosrc": p.Name,
		})
	}
	return append(out, userProcRows(s)...)
}

func aggregateRows(s *Snapshot) []row {
	var out []row
	for _, p := range s.Procs {
		if p.Kind != 'a' {
			continue
		}
		out = append(out, row{"aggfnoid": int64(p.OID), "aggkind": "n", "aggfinalmodify": "r", "aggmfinalmodify": "r", "aggtranstype": int64(p.RetType)})
	}
	return append(out, userAggregateRows(s)...)
}

// KindDescription describes a source for pg_description when it has no
// comment of its own, so clients that show descriptions (\dt+) tell
// sources from tables.
func KindDescription(r *catalog.Relation) string {
	if r.Kind != catalog.KindSource {
		return ""
	}
	d := "StreamSQL source"
	if c := r.Options["connector"]; c != "" {
		d += " (connector " + c + ")"
	}
	return d
}

func descriptionRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		d := r.Comment
		if d == "" {
			d = KindDescription(r)
		}
		if d != "" {
			out = append(out, row{"objoid": int64(r.OID), "classoid": int64(OIDPgClass), "objsubid": int64(0), "description": d})
		}
	}
	return out
}

func databaseRows(s *Snapshot) []row {
	return []row{{
		"oid": int64(OIDDatabase), "datname": s.Database, "datdba": int64(OIDSuperuser), "encoding": OIDUTF8,
		"datlocprovider": "c", "datallowconn": true, "datconnlimit": int64(-1), "dattablespace": int64(OIDTablespace),
		"datcollate": "C.UTF-8", "datctype": "C.UTF-8",
	}}
}

func settingRows(s *Snapshot) []row {
	out := make([]row, 0, len(s.Settings))
	for _, st := range s.Settings {
		out = append(out, row{
			"name": st.Name, "setting": st.Value, "category": "Client Connection Defaults", "short_desc": st.Description,
			"context": "user", "vartype": "string", "source": "default", "boot_val": st.Value, "reset_val": st.Value,
			"pending_restart": false,
		})
	}
	return out
}

func amRows(*Snapshot) []row {
	return []row{
		{"oid": int64(OIDHeapAM), "amname": "heap", "amhandler": int64(3), "amtype": "t"},
		{"oid": int64(OIDBtreeAM), "amname": "btree", "amhandler": int64(330), "amtype": "i"},
	}
}

// exprText is expression expr of r, of type t, as pg_get_expr prints it
// (a column default's adbin, a CHECK constraint's conbin); without a
// printer, the text as stored.
func (s *Snapshot) exprText(r *catalog.Relation, expr string, t types.T) string {
	if s.ExprText != nil {
		return s.ExprText(r, expr, t)
	}
	return expr
}

func attrdefRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, c := range r.Columns {
			if c.Dropped || c.Hidden || c.Default == "" {
				continue
			}
			out = append(out, row{"oid": int64(AttrDefOID(r.OID, c.AttNum)), "adrelid": int64(r.OID), "adnum": int64(c.AttNum), "adbin": s.exprText(r, c.Default, c.Type)})
		}
	}
	return out
}

func collationRows(*Snapshot) []row {
	c := func(oid int64, name, provider string, enc int64, coll string) row {
		return row{"oid": oid, "collname": name, "collnamespace": int64(catalog.OIDPgCatalog), "collowner": int64(OIDSuperuser),
			"collprovider": provider, "collisdeterministic": true, "collencoding": enc, "collcollate": coll, "collctype": coll}
	}
	return []row{c(100, "default", "d", -1, ""), c(950, "C", "c", -1, "C"), c(951, "POSIX", "c", -1, "POSIX")}
}

func tablespaceRows(*Snapshot) []row {
	return []row{
		{"oid": int64(OIDTablespace), "spcname": "pg_default", "spcowner": int64(OIDSuperuser)},
		{"oid": int64(1664), "spcname": "pg_global", "spcowner": int64(OIDSuperuser)},
	}
}

func languageRows(*Snapshot) []row {
	l := func(oid int64, name string) row {
		return row{"oid": oid, "lanname": name, "lanowner": int64(OIDSuperuser)}
	}
	return []row{l(12, "internal"), l(13, "c"), l(14, "sql"), l(OIDLangJavaScript, "javascript"), l(OIDLangWasm, "wasm")}
}

// ViewDefinition is the stored query of a view, as pg_get_viewdef shows
// it when the deparser cannot print it: the query followed by a
// semicolon, EMIT ON WINDOW CLOSE before it where the view has it, so
// that the text recreates the view.
func ViewDefinition(r *catalog.Relation) string {
	d := strings.TrimSuffix(strings.TrimSpace(r.Definition), ";")
	if r.EmitOnWindowClose {
		d += " EMIT ON WINDOW CLOSE"
	}
	return " " + d + ";"
}

// viewText is the definition of view r as pg_get_viewdef(r) prints it.
func (s *Snapshot) viewText(r *catalog.Relation) string {
	if s.ViewText != nil {
		return s.ViewText(r)
	}
	return ViewDefinition(r)
}

func viewRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if r.Kind == catalog.KindView {
			out = append(out, row{"schemaname": r.Schema, "viewname": r.Name, "viewowner": owner(r.Owner), "definition": s.viewText(r)})
		}
	}
	return out
}

func matviewRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if r.Kind == catalog.KindMatView {
			out = append(out, row{"schemaname": r.Schema, "matviewname": r.Name, "matviewowner": owner(r.Owner),
				"hasindexes": len(r.PrimaryKey) > 0, "ispopulated": true, "definition": s.viewText(r)})
		}
	}
	return out
}

func tableRows(s *Snapshot) []row {
	var out []row
	for _, e := range s.entries() {
		if e.kind == 'r' {
			out = append(out, row{"schemaname": e.schema, "tablename": e.name, "tableowner": e.owner, "hasindexes": len(e.pk) > 0 || hasIndexes(e.rel),
				"rowsecurity": e.rel != nil && e.rel.RowSecurity})
		}
	}
	return out
}

// IndexDef is pg_get_indexdef of relation r's primary key index.
func IndexDef(r *catalog.Relation) string {
	cols := make([]string, len(r.PrimaryKey))
	for i, k := range r.PrimaryKey {
		cols[i] = udf.QuoteIdent(r.Columns[k].Name)
	}
	return fmt.Sprintf("CREATE UNIQUE INDEX %s ON %s.%s USING btree (%s)", udf.QuoteIdent(PKName(r.Name)), udf.QuoteIdent(r.Schema), udf.QuoteIdent(r.Name), strings.Join(cols, ", "))
}

// ConstraintDef is pg_get_constraintdef of relation r's primary key.
func ConstraintDef(r *catalog.Relation) string {
	cols := make([]string, len(r.PrimaryKey))
	for i, k := range r.PrimaryKey {
		cols[i] = udf.QuoteIdent(r.Columns[k].Name)
	}
	return "PRIMARY KEY (" + strings.Join(cols, ", ") + ")"
}

func indexesViewRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if len(r.PrimaryKey) > 0 {
			out = append(out, row{"schemaname": r.Schema, "tablename": r.Name, "indexname": PKName(r.Name), "indexdef": IndexDef(r)})
		}
	}
	return out
}

func rewriteRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if r.Kind == catalog.KindView {
			out = append(out, row{"oid": int64(RuleOID(r.OID)), "rulename": "_RETURN", "ev_class": int64(r.OID), "ev_type": "1",
				"ev_enabled": "O", "is_instead": true, "ev_qual": "<>", "ev_action": r.Definition})
		}
	}
	return out
}
