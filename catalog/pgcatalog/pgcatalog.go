// Package pgcatalog computes PostgreSQL's system catalogs (pg_catalog) and
// the information_schema views as virtual tables over the StreamSQL
// catalog, so that psql's backslash commands and the metadata queries of
// JDBC, ODBC, psycopg, SQLAlchemy and pgx find what they look for.
//
// Nothing is stored: every table is computed from a Snapshot (the catalog
// plus what the session knows: user, database, search path, settings, the
// function registry) when a statement reads it. The columns and their
// types are PostgreSQL 15's (columns_gen.go), so a query written for
// PostgreSQL binds unchanged.
//
// Mapping of StreamSQL objects:
//
//	table              relkind 'r'
//	view               relkind 'v' (pg_views, pg_rewrite "_RETURN" rule)
//	materialized view  relkind 'm' (pg_matviews with its definition)
//	source             relkind 'r', so \dt and drivers list it; the real kind
//	                   is in pg_description ("StreamSQL source ...") unless
//	                   the source has a COMMENT
//	sink               not listed: it has no rows and no columns to read
//	primary key        an index (relkind 'i', "<table>_pkey") in pg_class and
//	                   pg_index, and a constraint (contype 'p')
//
// Objects PostgreSQL has but StreamSQL does not (sequences, triggers,
// policies, publications, foreign tables, extensions, enums, ranges)
// appear as empty tables of the right shape.
package pgcatalog

//go:generate sh -c "go run ../../cmd/pgcatalog-gen -dsn \"$PGCATALOG_DSN\" -out ."

import (
	"hash/fnv"
	"slices"
	"sort"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// Column is one column of a virtual table.
type Column struct {
	Name string
	Type types.T
}

// Table is a virtual table of pg_catalog or information_schema.
type Table struct {
	Schema  string
	Name    string
	OID     uint32
	Kind    byte // 'r' for catalog tables, 'v' for system views
	Columns []Column
	rows    func(s *Snapshot) []row
}

// row is one row by column name; in pg_catalog, columns left out take the
// zero value of their type (NULL for arrays, expression trees and
// timestamps), in information_schema NULL.
type row map[string]types.Datum

// Setting is one run-time setting, for pg_settings.
type Setting struct {
	Name, Value, Description string
}

// Proc is one function of the registry, for pg_proc.
type Proc struct {
	OID        uint32
	Name       string
	ArgTypes   []uint32
	RetType    uint32
	Kind       byte // 'f' function, 'a' aggregate, 'w' window
	Variadic   bool
	RetSet     bool
	Strict     bool
	Volatility byte
}

// Snapshot is what the virtual tables are computed from.
type Snapshot struct {
	Catalog    *catalog.Catalog
	User       string
	Database   string
	SearchPath []string
	Settings   []Setting
	Procs      []Proc
	// RelOptions returns a relation's connector options as name=value,
	// secrets masked, for pg_class.reloptions; nil shows none.
	RelOptions func(r *catalog.Relation) []string
	// Rejects returns the rows of the rejects relation; nil shows none.
	Rejects func() []RejectRow
	// LateRows returns the rows of the late_rows relation the user may
	// see; nil shows none.
	LateRows func() []LateRow
	// OperatorStats returns the rows of streamsql_operator_stats the
	// user may see; nil shows none.
	OperatorStats func() []OperatorStatRow
	// Cursors returns the session's open cursors; nil shows none.
	Cursors func() []CursorRow
	// Activity returns the sessions for pg_stat_activity, the query text
	// of those the user may not see already replaced; nil shows none.
	Activity func() []ActivityRow
	// Locks returns pg_locks' rows; nil shows none.
	Locks func() []LockRow
	// ExprText prints a stored expression of r (a policy's USING or WITH
	// CHECK, a column default; stored as type want) as PostgreSQL's
	// pg_get_expr does; nil shows the stored text.
	ExprText func(r *catalog.Relation, text string, want types.T) string
	// SequenceLast is the last value sequence r handed out, where the
	// user may read it (pg_sequences.last_value); ok is false otherwise.
	SequenceLast func(r *catalog.Relation) (v int64, ok bool)
	// ViewText prints the query of view or materialized view r as
	// pg_get_viewdef(r) does; nil shows the stored text.
	ViewText func(r *catalog.Relation) string

	rels []*catalog.Relation
}

// Fixed OIDs, as PostgreSQL 15 assigns them where it has the object.
const (
	OIDSuperuser   uint32 = 10
	OIDDatabase    uint32 = 5
	OIDTablespace  uint32 = 1663
	OIDHeapAM      uint32 = 2
	OIDBtreeAM     uint32 = 403
	OIDPgClass     uint32 = 1259
	OIDPgProc      uint32 = 1255
	OIDPgNamespace uint32 = 2615
	OIDPgType      uint32 = 1247
	OIDPgConstr    uint32 = 2606
	OIDUTF8        int64  = 6
)

// StreamSQL objects without a catalog OID of their own (the index and the
// constraint behind a primary key, a column default, a view's rewrite rule)
// get OIDs derived from their relation's OID, in ranges no catalog OID
// reaches.
const (
	oidIndexBase   uint32 = 0x40000000
	oidConstrBase  uint32 = 0x48000000
	oidRuleBase    uint32 = 0x50000000
	oidAttrDefBase uint32 = 0x58000000
	oidBaseMask    uint32 = 0xF8000000
	oidRoleBase    uint32 = 0x60000000
)

// IndexOID is the OID of the primary key index of relation rel.
func IndexOID(rel uint32) uint32 { return oidIndexBase + rel }

// ConstraintOID is the OID of the primary key constraint of relation rel.
func ConstraintOID(rel uint32) uint32 { return oidConstrBase + rel }

// RuleOID is the OID of the "_RETURN" rule of view rel.
func RuleOID(rel uint32) uint32 { return oidRuleBase + rel }

// AttrDefOID is the OID of the default of column attnum of rel.
func AttrDefOID(rel uint32, attnum int16) uint32 {
	return oidAttrDefBase + (rel&0x3FFFFF)<<5 + uint32(attnum)&0x1F
}

// ObjectKind says what a derived OID names.
type ObjectKind int

// Kinds of OIDs.
const (
	ObjRelation ObjectKind = iota
	ObjIndex
	ObjConstraint
	ObjRule
)

// Decode splits an OID into what it names and the relation OID it derives
// from (the OID itself for a relation).
func Decode(oid uint32) (ObjectKind, uint32) {
	switch oid & oidBaseMask {
	case oidIndexBase:
		return ObjIndex, oid - oidIndexBase
	case oidConstrBase:
		return ObjConstraint, oid - oidConstrBase
	case oidRuleBase:
		return ObjRule, oid - oidRuleBase
	}
	return ObjRelation, oid
}

// RoleOID is the OID of the role called name: 10 for the built-in owner,
// as PostgreSQL's bootstrap superuser, and a stable hash otherwise (roles
// are not catalog objects in StreamSQL yet).
func RoleOID(name string) uint32 {
	if name == catalog.DefaultOwner {
		return OIDSuperuser
	}
	return hashedRoleOID(name)
}

// RoleOID is the OID of the role name: the catalog's for a declared role,
// a stable made-up one for a name that is not a role (an owner recorded
// before roles existed, a user admitted by trust without a role).
func (s *Snapshot) RoleOID(name string) uint32 {
	if s.Catalog != nil {
		if r, ok := s.Catalog.Role(name); ok {
			return r.OID
		}
	}
	return RoleOID(name)
}

func hashedRoleOID(name string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return oidRoleBase | h.Sum32()&0x0FFFFFFF
}

// Roles returns the role names the snapshot knows: the built-in owner, the
// current user and every owner of a schema or relation, sorted.
func (s *Snapshot) Roles() []string {
	set := map[string]bool{catalog.DefaultOwner: true}
	if s.Catalog != nil {
		for _, r := range s.Catalog.Roles() {
			set[r.Name] = true
		}
	}
	if s.User != "" {
		set[s.User] = true
	}
	if s.Catalog != nil {
		for _, sc := range s.Catalog.Schemas() {
			if sc.Owner != "" {
				set[sc.Owner] = true
			}
		}
		for _, r := range s.relations() {
			if r.Owner != "" {
				set[r.Owner] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RoleName returns the name of the role with OID oid.
func (s *Snapshot) RoleName(oid uint32) (string, bool) {
	for _, n := range s.Roles() {
		if s.RoleOID(n) == oid {
			return n, true
		}
	}
	return "", false
}

// relations returns the relations listed in pg_class: every one but sinks
// and subscriptions.
func (s *Snapshot) relations() []*catalog.Relation {
	if s.rels == nil && s.Catalog != nil {
		for _, r := range s.Catalog.Relations() {
			if r.Kind != catalog.KindSink && r.Kind != catalog.KindSubscription {
				s.rels = append(s.rels, r)
			}
		}
	}
	return s.rels
}

// RelKind is the pg_class.relkind of a StreamSQL relation.
func RelKind(k catalog.RelKind) byte {
	if c, ok := relKinds[k]; ok {
		return c
	}
	return 'r'
}

var relKinds = map[catalog.RelKind]byte{catalog.KindView: 'v', catalog.KindMatView: 'm', catalog.KindSequence: 'S'}

// Visible reports whether a relation in schema called name is found first
// along the search path, as pg_table_is_visible decides.
func (s *Snapshot) Visible(schema, name string) bool {
	path := s.SearchPath
	if !slices.Contains(path, "pg_catalog") {
		path = append([]string{"pg_catalog"}, path...)
	}
	for _, p := range path {
		if p == schema {
			return true
		}
		if _, ok := Lookup(p, name); ok {
			return false
		}
		if s.Catalog != nil {
			if _, ok := s.Catalog.Relation(p, name); ok {
				return false
			}
		}
	}
	return false
}

// Rows computes the table's rows over s, one []Datum per row in column
// order.
func (t *Table) Rows(s *Snapshot) [][]types.Datum {
	rs := t.rows(s)
	out := make([][]types.Datum, len(rs))
	for i, r := range rs {
		d := make([]types.Datum, len(t.Columns))
		for j, c := range t.Columns {
			v, ok := r[c.Name]
			if !ok && t.Schema == "pg_catalog" {
				// Catalog columns are NOT NULL but for a few; the
				// information_schema leaves what it does not know NULL.
				v = zero(c.Type)
			}
			d[j] = v
		}
		out[i] = d
	}
	return out
}

func zero(t types.T) types.Datum {
	if t.OIDOverride == types.OIDChar1 {
		return ""
	}
	switch t.Kind {
	case types.Bool:
		return false
	case types.Int2, types.Int4, types.Int8, types.Oid:
		return int64(0)
	case types.Float4, types.Float8:
		return float64(0)
	case types.Name:
		return ""
	}
	return nil
}

// Lookup returns the virtual table schema.name.
func Lookup(schema, name string) (*Table, bool) {
	t, ok := registry[schema+"."+name]
	return t, ok
}

// Tables returns every virtual table, sorted by schema and name.
func Tables() []*Table { return sortedTables }

var (
	registry     = map[string]*Table{}
	sortedTables []*Table
)

func init() {
	for _, r := range pgRelations {
		key := r.Schema + "." + r.Name
		t := &Table{Schema: r.Schema, Name: r.Name, OID: r.OID, Kind: r.Kind, Columns: pgColumns[key], rows: producers[key]}
		if t.rows == nil {
			t.rows = func(*Snapshot) []row { return nil }
		}
		registry[key] = t
		sortedTables = append(sortedTables, t)
	}
	// StreamSQL's own relations.
	registry["pg_catalog.rejects"] = rejectsTable
	sortedTables = append(sortedTables, rejectsTable)
	registry["pg_catalog.late_rows"] = lateRowsTable
	sortedTables = append(sortedTables, lateRowsTable)
	registry["pg_catalog.streamsql_operator_stats"] = operatorStatsTable
	sortedTables = append(sortedTables, operatorStatsTable)
	sort.Slice(sortedTables, func(i, j int) bool {
		a, b := sortedTables[i], sortedTables[j]
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		return a.Name < b.Name
	})
}

// Column types of the catalogs. "char" keeps its own OID (18) so drivers
// see PostgreSQL's type; the vectors (int2vector, oidvector) are arrays
// under their own OIDs, holding PostgreSQL's space-separated text form.
var (
	tName        = types.TName
	tOid         = types.TOid
	tBool        = types.TBool
	tInt2        = types.TInt2
	tInt4        = types.TInt4
	tInt8        = types.TInt8
	tFloat4      = types.TFloat4
	tText        = types.TText
	tBytea       = types.TBytea
	tVarchar     = types.TVarchar
	tYesNo       = types.T{Kind: types.Varchar, Width: 3}
	tTimestampTZ = types.TTimestampTZ
	tChar        = types.T{Kind: types.Char, Width: 1, OIDOverride: types.OIDChar1}
	tRegproc     = types.T{Kind: types.Oid, OIDOverride: types.OIDRegproc}
	tRegtype     = types.T{Kind: types.Oid, OIDOverride: types.OIDRegtype}
	tInt2Vec     = types.T{Kind: types.Array, Elem: &types.TInt2, OIDOverride: types.OIDInt2Vector}
	tOidVec      = types.T{Kind: types.Array, Elem: &types.TOid, OIDOverride: types.OIDOidVector}
	tTextArr     = arrayOf(types.TText)
	tOidArr      = arrayOf(types.TOid)
	tInt2Arr     = arrayOf(types.TInt2)
)

func arrayOf(e types.T) types.T { return types.T{Kind: types.Array, Elem: &e} }
