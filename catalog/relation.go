package catalog

import (
	"maps"
	"slices"
	"time"

	"streamsql/sql/types"
	"streamsql/storage"
)

// RelKind is the kind of a relation, with PostgreSQL's relkind letters
// where PostgreSQL has one.
type RelKind byte

// Relation kinds.
const (
	KindTable   RelKind = 'r'
	KindView    RelKind = 'v'
	KindMatView RelKind = 'm'
	KindSource  RelKind = 's'
	KindSink    RelKind = 'k'
	// KindSubscription is a durable subscription: a change log of the
	// materialized view it DependsOn, kept for Options["retention"].
	KindSubscription RelKind = 'u'
	// KindSequence is a sequence (CREATE SEQUENCE); Sequence holds its
	// parameters and storage its current value.
	KindSequence RelKind = 'S'
)

// String returns the kind as PostgreSQL names it in messages ("table",
// "materialized view").
func (k RelKind) String() string {
	switch k {
	case KindTable:
		return "table"
	case KindView:
		return "view"
	case KindMatView:
		return "materialized view"
	case KindSource:
		return "source"
	case KindSink:
		return "sink"
	case KindSubscription:
		return "subscription"
	case KindSequence:
		return "sequence"
	}
	return "relation"
}

// HasRows reports whether relations of this kind store rows (and so have
// a storage.Table).
func (k RelKind) HasRows() bool { return k == KindTable || k == KindMatView }

// Column is one physical column of a relation.
type Column struct {
	Name    string
	Type    types.T
	NotNull bool
	// Default is the SQL text of the DEFAULT expression, "" for none.
	Default string
	// AttNum is the 1-based column number, stable for the column's life.
	AttNum int16
	// Dropped columns keep their slot (rows still hold a value for them)
	// but are invisible.
	Dropped bool
	// Hidden columns exist but are left out of SELECT * and \d.
	Hidden bool
	// ACL lists the privileges granted on this column alone (acl.go),
	// pg_attribute.attacl; nil when none were ever granted.
	ACL []ACLItem `json:",omitempty"`
	// Seq is the OID of the sequence whose nextval() the default draws
	// from, 0 for none: the default depends on it.
	Seq uint32 `json:",omitempty"`
	// Identity is 'a' (GENERATED ALWAYS AS IDENTITY), 'd' (BY DEFAULT) or
	// 0; the column's sequence is Seq.
	Identity byte `json:",omitempty"`
}

// Identity kinds of a column, pg_attribute.attidentity.
const (
	IdentityAlways    byte = 'a'
	IdentityByDefault byte = 'd'
)

// Sequence is the definition of a sequence (pg_sequence).
type Sequence struct {
	// Type is smallint, integer or bigint: the bounds' type.
	Type                       types.T
	Start, Increment, Min, Max int64
	Cache                      int64
	Cycle                      bool
	// OwnedBy is the table whose column OwnedCol owns the sequence
	// (OWNED BY, serial, identity): dropping either drops the sequence.
	OwnedBy  uint32 `json:",omitempty"`
	OwnedCol int16  `json:",omitempty"`
}

// Include is `INCLUDE What ['Header'] AS Column` of CREATE SOURCE: the
// message's partition, offset, timestamp, key or a header as a column.
type Include struct {
	What   string
	Header string `json:",omitempty"`
	Column string
}

// Watermark is an event-time watermark declaration: WATERMARK FOR Column
// AS Expr.
type Watermark struct {
	Column string
	Expr   string
}

// Relation is a table, view, materialized view, source or sink. A
// *Relation handed out by the catalog is never modified: mutations publish
// a new value.
type Relation struct {
	OID    uint32
	Schema string
	Name   string
	Kind   RelKind
	// Columns are the physical columns in attnum order, dropped ones
	// included.
	Columns []Column
	// PrimaryKey are indexes into Columns; empty means none.
	PrimaryKey []int
	AppendOnly bool
	// Sequence is the definition of a sequence (KindSequence).
	Sequence *Sequence `json:",omitempty"`
	// Definition is the query SQL of a view, materialized view or sink.
	Definition string
	// Options are the WITH (...) options.
	Options        map[string]string
	Format, Encode string
	// EncodeOptions are the options after FORMAT ... ENCODE e (...).
	EncodeOptions map[string]string `json:",omitempty"`
	// Includes are a source's INCLUDE clauses: message metadata as
	// columns.
	Includes   []Include `json:",omitempty"`
	Watermarks []Watermark
	// DependsOn are the OIDs of the relations this one reads.
	DependsOn []uint32
	// FuncDeps are the OIDs of the user functions this one calls.
	FuncDeps []uint32 `json:",omitempty"`
	// ColumnDeps are the columns of DependsOn relations this one reads.
	// A relation listed in DependsOn with no entry here is taken to read
	// all of its columns.
	ColumnDeps []ColumnRef
	Comment    string
	Owner      string
	// ACL lists the privileges granted on the relation (acl.go); nil
	// means the default: the owner has every privilege, nobody else any.
	ACL     []ACLItem `json:",omitempty"`
	Created time.Time
	// StateTables are the streaming state table ids of a materialized
	// view's job, in plan order.
	StateTables []uint32 `json:",omitempty"`
	// StateLayout fingerprints how the job's plan lays out that state
	// (stream.StateLayout); a job whose plan now lays it out differently
	// is not resumed over it. Empty for views created before it was kept.
	StateLayout string `json:",omitempty"`
	// EmitOnWindowClose: the view was declared EMIT ON WINDOW CLOSE.
	EmitOnWindowClose bool `json:",omitempty"`
	// LateRows is what a view does with rows behind their watermark
	// ("drop" or "reopen"; empty keeps them in the late_rows relation).
	LateRows string `json:",omitempty"`
	// AllowedLateness is how far behind the watermark a row may still
	// update its window, in microseconds (LateRows "reopen").
	AllowedLateness int64 `json:",omitempty"`
	// LateRowsMax is how many late rows the view keeps (0: the default).
	LateRowsMax int `json:",omitempty"`
	// IdleTimeout is a view's idle_timeout: a table or source it reads
	// that brought no row for this long moves its watermark on with the
	// epoch time (0: never).
	IdleTimeout time.Duration `json:",omitempty"`
	// Parallelism is how many instances the view's keyed operators run
	// in (0 or 1: one); fixed at CREATE, since each instance keeps its
	// own state tables.
	Parallelism int `json:",omitempty"`
	// TwoPhaseAgg is streaming_two_phase_agg when the view or sink was
	// created: whether its parallel aggregations run in a local and a
	// global half ("" or "off": no). Fixed at CREATE, as the halves lay
	// out their state differently from one aggregation.
	TwoPhaseAgg string `json:",omitempty"`
	// ViewKey lists a materialized view's columns whose key encoding is
	// the storage key of its rows, in key order (nil: a key the view does
	// not show); ad-hoc reads narrow a scan of the view by it as they do
	// by a table's primary key.
	ViewKey []int `json:",omitempty"`
	// ViewWatermarks lists a materialized view's columns (indexes into
	// Columns) that carry a watermark from its query: views defined on
	// it receive those watermarks, so they may close windows (EMIT ON
	// WINDOW CLOSE) over its rows.
	ViewWatermarks []int `json:",omitempty"`
	// SearchPath is the search_path a materialized view or sink was
	// created under: its definition's unqualified names resolve with it
	// when the job is planned again after a restart.
	SearchPath []string `json:",omitempty"`
	// Indexes are the table's secondary indexes, UNIQUE constraints
	// included (index.go).
	Indexes []Index `json:",omitempty"`
	// Checks are the table's CHECK constraints.
	Checks []Check `json:",omitempty"`
	// ForeignKeys are the table's FOREIGN KEY constraints (this table is
	// the referencing side).
	ForeignKeys []ForeignKey `json:",omitempty"`
	// RowSecurity and ForceRowSecurity are ENABLE and FORCE ROW LEVEL
	// SECURITY; Policies are the table's policies (policy.go).
	RowSecurity      bool     `json:",omitempty"`
	ForceRowSecurity bool     `json:",omitempty"`
	Policies         []Policy `json:",omitempty"`
}

// Check is a CHECK constraint. Expr is SQL text over the table's column
// names, planned again wherever it is enforced, so renames of other
// objects cannot leave a stale plan behind.
type Check struct {
	Name string
	Expr string
	// Columns are the indexes into Columns that Expr reads: dropping one
	// drops the constraint, as in PostgreSQL.
	Columns []int
}

// FKAction is a referential action, with PostgreSQL's confdeltype letters.
type FKAction byte

// Referential actions.
const (
	FKNoAction   FKAction = 'a'
	FKRestrict   FKAction = 'r'
	FKCascade    FKAction = 'c'
	FKSetNull    FKAction = 'n'
	FKSetDefault FKAction = 'd'
)

var fkActionNames = map[FKAction]string{FKRestrict: "RESTRICT", FKCascade: "CASCADE", FKSetNull: "SET NULL", FKSetDefault: "SET DEFAULT"}

// String is the action as SQL spells it (ON DELETE SET NULL).
func (a FKAction) String() string {
	if n, ok := fkActionNames[a]; ok {
		return n
	}
	return "NO ACTION"
}

// ForeignKey is a FOREIGN KEY constraint: Columns of this table reference
// RefColumns (the primary key or a unique index) of RefRel.
type ForeignKey struct {
	Name       string
	Columns    []int
	RefRel     uint32
	RefColumns []int
	OnDelete   FKAction
	OnUpdate   FKAction
}

// ConstraintNameTaken reports whether a constraint (check, foreign key,
// primary key or index) of r is called name.
func (r *Relation) ConstraintNameTaken(name string) bool {
	for _, c := range r.Checks {
		if c.Name == name {
			return true
		}
	}
	for _, f := range r.ForeignKeys {
		if f.Name == name {
			return true
		}
	}
	for _, ix := range r.Indexes {
		if ix.Name == name {
			return true
		}
	}
	return len(r.PrimaryKey) > 0 && name == r.Name+"_pkey"
}

// ColumnRef names a column of another relation by OID and AttNum.
type ColumnRef struct {
	Rel    uint32
	AttNum int16
}

// UsesColumn reports whether r reads column attnum of relation rel.
func (r *Relation) UsesColumn(rel uint32, attnum int16) bool { return r.usesColumn(rel, attnum) }

// usesColumn reports whether r reads column attnum of relation rel.
func (r *Relation) usesColumn(rel uint32, attnum int16) bool {
	listed := false
	for _, ref := range r.ColumnDeps {
		if ref.Rel == rel {
			if ref.AttNum == attnum {
				return true
			}
			listed = true
		}
	}
	return !listed && slices.Contains(r.DependsOn, rel)
}

// Clone returns a deep copy of r, for building a changed version.
func (r *Relation) Clone() *Relation {
	c := *r
	c.Columns = slices.Clone(r.Columns)
	c.PrimaryKey = slices.Clone(r.PrimaryKey)
	c.Options = maps.Clone(r.Options)
	c.EncodeOptions = maps.Clone(r.EncodeOptions)
	c.Includes = slices.Clone(r.Includes)
	c.SearchPath = slices.Clone(r.SearchPath)
	c.Watermarks = slices.Clone(r.Watermarks)
	c.ViewWatermarks = slices.Clone(r.ViewWatermarks)
	c.DependsOn = slices.Clone(r.DependsOn)
	c.FuncDeps = slices.Clone(r.FuncDeps)
	c.ColumnDeps = slices.Clone(r.ColumnDeps)
	c.StateTables = slices.Clone(r.StateTables)
	c.Indexes = cloneIndexes(r.Indexes)
	c.Checks = slices.Clone(r.Checks)
	c.ForeignKeys = slices.Clone(r.ForeignKeys)
	c.ACL = slices.Clone(r.ACL)
	c.Policies = clonePolicies(r.Policies)
	if r.Sequence != nil {
		sq := *r.Sequence
		c.Sequence = &sq
	}
	return &c
}

// VisibleColumns returns the columns that SELECT * shows: neither dropped
// nor hidden.
func (r *Relation) VisibleColumns() []Column {
	out := make([]Column, 0, len(r.Columns))
	for _, c := range r.Columns {
		if !c.Dropped && !c.Hidden {
			out = append(out, c)
		}
	}
	return out
}

// ColumnIndex returns the physical index of the live column called name,
// or -1.
func (r *Relation) ColumnIndex(name string) int {
	for i, c := range r.Columns {
		if !c.Dropped && c.Name == name {
			return i
		}
	}
	return -1
}

// StorageKey returns the columns (indexes into Columns) that a table's or
// materialized view's rows are stored under: the primary key, or a
// materialized view's key when it has no primary key. Empty means a hidden
// row id.
func (r *Relation) StorageKey() []int {
	if r.Kind == KindMatView && len(r.PrimaryKey) == 0 {
		return slices.Clone(r.ViewKey)
	}
	return slices.Clone(r.PrimaryKey)
}

// Table returns the storage view of a table or materialized view: rows
// keyed by the primary key (or a hidden row id), holding every physical
// column.
func (r *Relation) Table() *storage.Table {
	t := &storage.Table{
		ID:       r.OID,
		Name:     r.Name,
		Types:    make([]types.T, len(r.Columns)),
		ColNames: make([]string, len(r.Columns)),
		PK:       r.StorageKey(),
		Logged:   r.Kind == KindTable,
	}
	for i, c := range r.Columns {
		t.Types[i] = c.Type
		t.ColNames[i] = c.Name
	}
	return t
}

// qualifiedName is the name used in messages: bare for public, else
// schema.name.
// Description names r as PostgreSQL's messages about dependencies do:
// its kind and its name, qualified outside public ("view s.v").
func (r *Relation) Description() string { return r.Kind.String() + " " + r.qualifiedName() }

func (r *Relation) qualifiedName() string {
	if r.Schema == "public" {
		return r.Name
	}
	return r.Schema + "." + r.Name
}

// dropConstraintsOn removes the CHECK and FOREIGN KEY constraints that use
// column i of r (a column being dropped), as PostgreSQL does.
func dropConstraintsOn(r *Relation, i int) {
	r.Checks = slices.DeleteFunc(r.Checks, func(c Check) bool { return slices.Contains(c.Columns, i) })
	r.ForeignKeys = slices.DeleteFunc(r.ForeignKeys, func(f ForeignKey) bool {
		return slices.Contains(f.Columns, i) || (f.RefRel == r.OID && slices.Contains(f.RefColumns, i))
	})
}
