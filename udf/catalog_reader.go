package udf

// CatalogInfo is what the catalog functions (pg_get_viewdef,
// pg_table_is_visible, obj_description, ...) and the pg_catalog tables ask
// beyond CatalogReader. The engine's CatalogReader implements it; when
// env.Catalog does not, those functions return NULL (or their neutral
// answer).
type CatalogInfo interface {
	CatalogReader
	// SearchPath is the session's effective search path for relations;
	// its first ImplicitSchemas schemas are searched without the
	// search_path setting naming them (the session's temporary schema,
	// then pg_catalog).
	SearchPath() []string
	ImplicitSchemas() int
	// MyTempSchema is the OID of the session's temporary schema, 0 when
	// it has none yet; IsOtherTempSchema reports whether oid is another
	// session's temporary schema.
	MyTempSchema() uint32
	IsOtherTempSchema(oid uint32) bool
	// Settings lists every run-time setting with its current value.
	Settings() []Setting
	// RoleName returns the name of the role with OID oid.
	RoleName(oid uint32) (string, bool)
	// Object describes the relation, index, constraint or rule with OID oid.
	Object(oid uint32) (ObjectInfo, bool)
	// LookupRelation resolves a possibly qualified relation name (the
	// input of regclass), pg_catalog and information_schema included.
	LookupRelation(name string) (uint32, bool)
}

// PrettyExprPrinter is implemented by a catalog that prints its stored
// expressions pretty (pg_get_expr(expr, rel, true)).
type PrettyExprPrinter interface {
	// PrettyExpr returns the stored expression of relation rel that
	// pg_get_expr prints as expr, printed with only the parentheses
	// precedence needs; ok is false when rel has no such expression.
	PrettyExpr(rel uint32, expr string) (out string, ok bool)
}

// ViewDefPrinter is implemented by a catalog that prints view queries as
// pg_get_viewdef does.
type ViewDefPrinter interface {
	// ViewDef returns the query of the view or materialized view with
	// OID oid, pretty (fewer parentheses) or not, its output columns
	// wrapped at column wrap (0: each on its own line, negative: none);
	// ok is false when oid is no view.
	ViewDef(oid uint32, pretty bool, wrap int) (def string, ok bool)
}

// Setting is one run-time setting.
type Setting struct {
	Name, Value, Description string
}

// ObjectInfo describes a catalog object for the catalog functions.
type ObjectInfo struct {
	Schema string
	Name   string
	// Kind is the pg_class relkind of a relation or index ('i'), 'c' for a
	// constraint and 'R' for a view's rewrite rule.
	Kind byte
	// Visible: found first by its unqualified name along the search path.
	Visible bool
	// Description is the COMMENT (obj_description), "" for none.
	Description string
	// Definition is what pg_get_viewdef, pg_get_indexdef or
	// pg_get_constraintdef print for this object.
	Definition string
	// PrettyDefinition, when set, is Definition pretty-printed (fewer
	// parentheses), as pg_get_constraintdef(oid, true) prints it.
	PrettyDefinition string
}

// catalogInfo returns env's CatalogInfo, or nil.
func catalogInfo(env *Env) CatalogInfo {
	if env == nil || env.Catalog == nil {
		return nil
	}
	ci, _ := env.Catalog.(CatalogInfo)
	return ci
}
