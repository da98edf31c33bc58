package parser

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Ext is a StreamSQL extension statement, or the extension part of a
// statement whose PostgreSQL part is in Statement.AST.
//
// Every Pos field is a byte offset in the whole input given to Parse, like
// the Location fields of the PostgreSQL nodes; CharPosition turns one into
// the 1-based character position an error reports.
type Ext interface{ extNode() }

// ObjectName is a possibly qualified object name, normalized (unquoted
// names lower-cased).
type ObjectName struct {
	Catalog string
	Schema  string
	Name    string
	Pos     int
}

// String renders the name qualified as written, e.g. "public.s".
func (n ObjectName) String() string {
	s := n.Name
	if n.Schema != "" {
		s = n.Schema + "." + s
	}
	if n.Catalog != "" {
		s = n.Catalog + "." + s
	}
	return s
}

// Option is one key = value pair of a WITH (...) or ENCODE (...) list.
// Key is lower-cased and may be dotted ("properties.bootstrap.server").
// Value is the decoded text of a string literal, the text of a number
// (with its sign), or the lower-cased word (true, earliest, ...); a bare
// key without "= value" has the value "true".
type Option struct {
	Key      string
	Value    string
	Quoted   bool // the value was a string literal
	KeyPos   int
	ValuePos int
}

// Watermark is `WATERMARK FOR Column AS Expr`.
type Watermark struct {
	Column    string
	ColumnPos int
	Expr      *pg_query.Node // the expression; its Locations are in the whole input
	ExprSQL   string         // the expression as written
	Pos       int            // the WATERMARK keyword
}

// FormatSpec is the `FORMAT f ENCODE e [(options)]` clause. Format is one of
// PLAIN, UPSERT, DEBEZIUM, CANAL, MAXWELL and Encode one of JSON, CSV,
// AVRO, BYTES, both upper-case; empty when the clause is absent.
type FormatSpec struct {
	Format        string
	Encode        string
	EncodeOptions []Option
	Pos           int // the FORMAT keyword
}

// CreateSource is CREATE SOURCE.
type CreateSource struct {
	Name        ObjectName
	IfNotExists bool
	// Table is the column list as PostgreSQL's CREATE TABLE reads it
	// (columns, NOT NULL, PRIMARY KEY, ...) without the WATERMARK clauses.
	// It has no TableElts when the columns were omitted.
	Table      *pg_query.CreateStmt
	Watermarks []Watermark
	// Includes are the INCLUDE clauses, in order.
	Includes   []Include
	AppendOnly bool
	Options    []Option
	FormatSpec
}

// Include is `INCLUDE What ['Header'] [AS Column]`: a piece of a
// message's metadata (partition, offset, timestamp, key, header) as a
// column of the source.
type Include struct {
	What   string // lower-case
	Header string // What == "header"
	Column string
	Pos    int
}

// ShowCreate is SHOW CREATE SOURCE | TABLE | SINK | VIEW | MATERIALIZED
// VIEW | FUNCTION name.
type ShowCreate struct {
	Kind string // lower-case: "source", "table", "materialized view", ...
	Name ObjectName
}

// CreateTableExt holds the streaming parts of a CREATE TABLE; the
// statement's AST is the plain CreateStmt without them.
type CreateTableExt struct {
	Watermarks []Watermark
	AppendOnly bool
	// Options is the WITH list when it names a connector; a WITH list
	// without one stays in the CreateStmt as storage options.
	Options []Option
	FormatSpec
}

// MatViewExt is the EMIT ON WINDOW CLOSE of a CREATE MATERIALIZED VIEW
// whose CreateTableAsStmt is the statement's AST.
type MatViewExt struct {
	EmitOnWindowClose bool
	QuerySQL          string // the view's query as written
	QueryPos          int
}

// CreateSink is CREATE SINK name FROM relation | AS query WITH (...).
type CreateSink struct {
	Name        ObjectName
	IfNotExists bool
	From        *ObjectName    // CREATE SINK ... FROM relation
	Query       *pg_query.Node // CREATE SINK ... AS query (a SelectStmt)
	QuerySQL    string
	QueryPos    int
	Options     []Option
	FormatSpec
}

// DropObjects is DROP SOURCE | SINK.
type DropObjects struct {
	Kind     string // "source", "sink" or "subscription"
	Names    []ObjectName
	IfExists bool
	Cascade  bool
}

// AlterRename is ALTER SOURCE | SINK name RENAME TO new_name.
type AlterRename struct {
	Kind    string // "source" or "sink"
	Name    ObjectName
	NewName string
}

// AlterSinkResume is ALTER SINK name RESUME: start a failed sink again
// from its recorded position, delivering its log first.
type AlterSinkResume struct {
	Name ObjectName
}

// AlterMatViewResume is ALTER MATERIALIZED VIEW name RESUME: start a
// failed materialized view again from its last committed epoch.
type AlterMatViewResume struct {
	Name ObjectName
}

// Flush is FLUSH: wait until every write before it is visible to reads.
type Flush struct{}

// Subscribe is SUBSCRIBE [TO] relation | (query) [ENVELOPE UPSERT (KEY
// (cols))] [WITH (...)] [AS OF epoch], also inside COPY (SUBSCRIBE ...) TO
// STDOUT (then Copy is set) and DECLARE c CURSOR FOR SUBSCRIBE ... (then
// Declare is set); or DECLARE cursor SUBSCRIPTION CURSOR FOR ... (then
// Cursor is set).
type Subscribe struct {
	Cursor string
	// Since is a subscription cursor's SINCE: "begin", "now" or a unix
	// time in milliseconds ("" when absent).
	Since    string
	Relation *ObjectName
	Query    *pg_query.Node // a SelectStmt
	QuerySQL string
	QueryPos int
	Options  []Option
	// Upsert is ENVELOPE UPSERT; UpsertKey its KEY columns.
	Upsert    bool
	UpsertKey []string
	// AsOf is the AS OF epoch ("" when absent), AsOfPos its byte offset.
	AsOf    string
	AsOfPos int
	// Copy is the COPY statement around the SUBSCRIBE, for its options
	// (its relation is a placeholder); nil outside COPY.
	Copy *pg_query.CopyStmt
	// Declare is the name of the cursor DECLARE ... CURSOR FOR SUBSCRIBE
	// opens; Hold is WITH HOLD; Binary is DECLARE ... BINARY CURSOR: its
	// FETCH returns rows in binary format.
	Declare string
	Hold    bool
	Binary  bool

	// SincePosition is a subscription cursor's SINCE 'position' (a
	// change's _position, the string's contents); Full is its FULL: the
	// view's contents first, then its changes.
	SincePosition string
	Full          bool
}

// CreateSubscription is CREATE SUBSCRIPTION name FROM view [WITH
// (...)]: a durable change log of the view.
type CreateSubscription struct {
	Name    ObjectName
	From    ObjectName
	Options []Option
}

// AlterSubscription is ALTER SUBSCRIPTION name RENAME TO new_name (then
// NewName is set) or SET (options).
type AlterSubscription struct {
	Name    ObjectName
	NewName string
	Options []Option
}

// FetchWith is FETCH ... [FROM] cursor WITH (options): PostgreSQL's FETCH
// with Materialize's options (timeout) for cursors over SUBSCRIBE.
type FetchWith struct {
	Fetch   *pg_query.FetchStmt
	Options []Option
}

// ShowObjects is SHOW SOURCES | TABLES | MATERIALIZED VIEWS | VIEWS |
// SINKS | FUNCTIONS | JOBS | SCHEMAS [FROM schema].
type ShowObjects struct {
	What   string // lower-case: "sources", "materialized views", ...
	Schema string
}

// Explain is EXPLAIN of a statement that involves an extension. Options are
// lower-case "name" or "name value" ("verbose", "format json").
type Explain struct {
	Options []string
	Stmt    Statement
}

// CreateAggregate marks a CREATE AGGREGATE name(args) RETURNS type
// LANGUAGE lang AS ... (RisingWave's form for aggregates in JavaScript):
// the statement's AST is the CREATE FUNCTION of the same text. OrderedSet
// marks PostgreSQL's ordered-set spelling, name(direct args ORDER BY
// aggregated args), whose first NumDirect arguments are the direct ones.
type CreateAggregate struct {
	OrderedSet bool
	NumDirect  int
}

func (*CreateAggregate) extNode()    {}
func (*CreateSource) extNode()       {}
func (*CreateTableExt) extNode()     {}
func (*MatViewExt) extNode()         {}
func (*CreateSink) extNode()         {}
func (*AlterSinkResume) extNode()    {}
func (*AlterMatViewResume) extNode() {}
func (*DropObjects) extNode()        {}
func (*AlterRename) extNode()        {}
func (*Flush) extNode()              {}
func (*Subscribe) extNode()          {}
func (*CreateSubscription) extNode() {}
func (*AlterSubscription) extNode()  {}
func (*FetchWith) extNode()          {}
func (*ShowObjects) extNode()        {}
func (*ShowCreate) extNode()         {}
func (*Explain) extNode()            {}
