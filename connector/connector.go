// Package connector is the registry of connectors: the named sources and
// sinks (datagen, nexmark, kafka, blackhole, ...) that CREATE SOURCE,
// CREATE TABLE ... WITH (connector = ...) and CREATE SINK name.
//
// Each connector registers with its option schema: every option's name,
// type, whether it is required, its default, whether it is a secret and
// what it means. The registry checks a statement's WITH options against
// that schema before anything is created, so an unknown or malformed
// option, or a missing required one, is an error at CREATE time (SQLSTATE
// 22023, naming the option and listing the valid ones) rather than a
// failing job later. The same schema masks secrets (passwords, SASL
// credentials) wherever options are shown: SHOW CREATE SOURCE, psql's \d+,
// pg_class.reloptions.
//
// A registry is a value the engine builds once at start (see
// connector/builtin); there is no package-level registration and no
// global state.
package connector

import (
	"strings"

	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// Connector is one registered connector.
type Connector struct {
	// Name is what WITH (connector = '...') names, lower-case.
	Name string
	// Description is a one-line summary for documentation and errors.
	Description string
	// Options is the option schema. The "connector" option itself is
	// implied and need not be listed.
	Options []Option
	// Formats lists the FORMAT ... ENCODE pairs the connector accepts,
	// as "PLAIN JSON", "UPSERT JSON", ... (upper-case); empty when the
	// connector takes no FORMAT clause.
	Formats []string
	// TableFormats are the pairs a table fed by the connector accepts
	// (the change envelopes need a primary key to apply to); empty when
	// the connector cannot feed tables.
	TableFormats []string
	// ChangeTables: the connector reads changes of its own (a database's
	// change stream) and feeds tables only, with no FORMAT clause;
	// CREATE SOURCE refuses it.
	ChangeTables bool
	// Source makes the stream source of a source relation (or of a table
	// fed by the connector); nil when the connector is not a source.
	Source func(cfg *SourceConfig) (stream.SourceSpec, error)
	// Sink checks a sink's options and makes the sink's writer factory;
	// nil when the connector is not a sink. The factory runs when the
	// sink's job starts, with the shape of the changes it receives.
	Sink func(cfg *SinkConfig) (func(*stream.Env, *stream.SinkInput) (stream.SinkWriter, error), error)
	// SinkOptions, when set, is the option schema of the connector's
	// sinks (Options is then the schema of its sources).
	SinkOptions []Option
	// SinkFormats lists the FORMAT ... ENCODE pairs a sink accepts; empty
	// when a sink takes no FORMAT clause.
	SinkFormats []string
}

// ForSink returns the connector as its sinks see it: with the sinks'
// option schema and formats.
func (c *Connector) ForSink() *Connector {
	if c.SinkOptions == nil && c.SinkFormats == nil {
		return c
	}
	cc := *c
	if c.SinkOptions != nil {
		cc.Options = c.SinkOptions
	}
	cc.Formats = c.SinkFormats
	cc.ChangeTables = false
	return &cc
}

// Column is a column of the relation a source feeds.
type Column struct {
	Name string
	Type types.T
}

// Include is an INCLUDE clause of CREATE SOURCE: a piece of message
// metadata (partition, offset, timestamp, key, header) as a column.
type Include struct {
	// What is "partition", "offset", "timestamp", "key" or "header".
	What string
	// Header is the header's name (What == "header").
	Header string
	// Column is the column that receives it.
	Column string
}

// SourceConfig is what a connector's Source receives: the relation's
// shape and its validated options.
type SourceConfig struct {
	// Relation is the source's (or table's) name, for errors and rejects.
	Relation string
	// RelationID is its catalog OID.
	RelationID uint32
	// Columns are the visible columns in order; Watermarks name the
	// columns with a WATERMARK FOR.
	Columns    []Column
	Watermarks []string
	// PrimaryKey are the indexes into Columns of a table's primary key.
	PrimaryKey []int
	// Options are the WITH options, keys lower-case, defaults filled in.
	Options Options
	// Format and Encode are the FORMAT ... ENCODE clause (upper-case).
	Format, Encode string
	// EncodeOptions are the options after ENCODE (lower-case keys).
	EncodeOptions map[string]string
	// Includes are the INCLUDE clauses.
	Includes []Include
	// Parallelism is the relation's streaming_parallelism: how many
	// parallel readers the source may run.
	Parallelism int
}

// Names returns the column names.
func (c *SourceConfig) Names() []string {
	out := make([]string, len(c.Columns))
	for i, col := range c.Columns {
		out[i] = col.Name
	}
	return out
}

// Types returns the column types.
func (c *SourceConfig) Types() []types.T {
	out := make([]types.T, len(c.Columns))
	for i, col := range c.Columns {
		out[i] = col.Type
	}
	return out
}

// SinkConfig is what a connector's Sink receives.
type SinkConfig struct {
	Relation string
	// ID is the sink relation's id (0 while CREATE SINK checks options,
	// before the sink exists).
	ID uint32
	// Identity names the sink outside StreamSQL for its whole life (a
	// Kafka transactional id, a progress row): its id and creation time,
	// the same across restarts and renames.
	Identity string
	Options  Options
	// Format and Encode are the FORMAT ... ENCODE clause (upper-case,
	// empty when none); EncodeOptions the options after ENCODE.
	Format, Encode string
	EncodeOptions  map[string]string
}

// Options are validated WITH options: lower-case keys, defaults filled
// in.
type Options map[string]string

// Get returns the option's value ("" when unset and without default).
func (o Options) Get(name string) string { return o[strings.ToLower(name)] }

// Has reports whether the option is set (or has a default).
func (o Options) Has(name string) bool {
	_, ok := o[strings.ToLower(name)]
	return ok
}
