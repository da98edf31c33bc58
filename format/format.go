// Package format turns the messages of a source (a Kafka record, a line of a
// COPY stream, a change event of a database) into rows of a relation, written
// straight into Arrow columns.
//
// A source is declared with a FORMAT and an ENCODE clause, in RisingWave's
// spelling:
//
//	FORMAT PLAIN    ENCODE JSON | CSV | BYTES | AVRO   each message is rows to insert
//	FORMAT UPSERT   ENCODE JSON | AVRO                 the message key is the primary key,
//	                                                   a null value deletes that key
//	FORMAT DEBEZIUM ENCODE JSON                        Debezium change events (c, r, u, d)
//	FORMAT CANAL    ENCODE JSON                        Canal flat messages (INSERT, UPDATE, DELETE, DDL)
//	FORMAT MAXWELL  ENCODE JSON                        Maxwell events (insert, update, delete, DDL)
//
// The ENCODE part says how one value is spelled (JSON text, CSV fields, raw
// bytes, Avro binary in the Confluent wire format); the FORMAT part says what
// a message means for the relation (an envelope). A Spec holds both plus the
// options of the clause; NewDecoder checks the options against the relation's
// Schema once, so that a bad option fails CREATE, not the running job.
//
// A Decoder appends the rows of a whole slice of messages to a Batch: one
// column builder per column (typed Go slices in Arrow's layout, handed to
// Arrow as buffers by Batch.Finish) and one changelog Op per row (Insert,
// Delete, UpdateDelete, UpdateInsert, in the order and meaning of the stream
// runtime's ops). Decoding is per batch and allocation-free on the hot path:
// JSON is read by a hand-written scanner that matches top-level keys to
// columns without building maps, Avro by a program compiled once per writer
// schema. Every encoding, under every envelope, writes each field straight
// into its column and cuts a message that fails half-way off the columns
// again (Batch.truncate), so it adds nothing; staging rows remain for
// message keys, Canal's and Maxwell's old images and the rare events whose
// images come in an order their op does not take. The columns' fixed-width buffers are lent by a pool that
// Arrow frees them back into when the chunk's last reference is released
// (buffer_pool.go). ENCODE AVRO fetches schemas from a registry: a connector
// calls Prefetch (the Prefetcher interface) before DecodeBatch so that a
// registry outage is an error it can retry rather than rejected messages.
//
// Bad data never stops a source: a message that cannot be decoded (malformed
// JSON, a value of the wrong type, a missing key, an unknown envelope op,
// DDL that does not parse) becomes a Reject in the Batch with its
// coordinates, its first bytes and the error, and decoding goes on with the
// next message. DDL carried by Canal, Maxwell and Debezium (MySQL) events is
// parsed with TiDB's MySQL parser into SchemaChange values (add, drop,
// rename, modify column) that the connector applies or rejects; a decoder
// keeps decoding into the schema it was made for, so after applying a
// change the connector makes a new decoder and batch for the new schema.
// With the option auto.schema.change the decoder stops at the first DDL
// event whose changes its schema does not reflect yet (Batch.Stopped), so
// that no message after it is decoded into the old shape; changes its
// schema already reflects (the event read again after they were applied)
// are skipped, and type changes, which a table cannot take, are rejected.
//
// Values take the same text rules as SQL casts: a JSON string stored into a
// date, timestamp, interval or numeric column goes through the input
// functions of sql/types, so '2024-01-02 03:04:05' means the same in a Kafka
// message as in an INSERT.
package format

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is one record of a source: the Kafka key and value plus the
// record's coordinates. A nil Value is a Kafka tombstone.
type Message struct {
	Key, Value []byte
	Partition  int32
	Offset     int64
	Timestamp  time.Time
	Headers    []Header
}

// Op says what a decoded row does to the relation. The values and their
// order are those of the stream runtime's ops, so a connector maps them 1:1.
type Op uint8

const (
	// Insert adds the row (for FORMAT UPSERT: inserts or replaces the row
	// with the same primary key).
	Insert Op = iota
	// Delete removes the row (for keyed tables: the row with its key).
	Delete
	// UpdateDelete removes the old version of an updated row; the next row
	// is its UpdateInsert.
	UpdateDelete
	// UpdateInsert adds the new version of an updated row.
	UpdateInsert
)

var opNames = [...]string{Insert: "insert", Delete: "delete", UpdateDelete: "update-delete", UpdateInsert: "update-insert"}

func (op Op) String() string {
	if int(op) < len(opNames) {
		return opNames[op]
	}
	return fmt.Sprintf("op(%d)", uint8(op))
}

// Meta says where a column's value comes from when it is not decoded from
// the message payload: the INCLUDE clause of CREATE SOURCE.
type Meta uint8

const (
	// MetaNone: the column is decoded from the message value.
	MetaNone Meta = iota
	// MetaPartition: INCLUDE partition (an integer or text column).
	MetaPartition
	// MetaOffset: INCLUDE offset (an integer or text column).
	MetaOffset
	// MetaTimestamp: INCLUDE timestamp (timestamptz, timestamp or bigint
	// epoch milliseconds).
	MetaTimestamp
	// MetaKey: INCLUDE key (bytea, text or jsonb).
	MetaKey
	// MetaHeader: INCLUDE header 'name' (bytea or text); Column.Header
	// names the header. The last header of that name wins.
	MetaHeader
)

// Column is one column of the relation being filled.
type Column struct {
	Name string
	Type types.T
	// Meta is MetaNone for payload columns.
	Meta Meta
	// Header is the header name of a MetaHeader column.
	Header string
}

// Schema is the relation a decoder fills.
type Schema struct {
	Columns []Column
	// PrimaryKey holds the indexes into Columns of the primary key, in key
	// order. FORMAT UPSERT needs one.
	PrimaryKey []int
}

// Spec is a parsed FORMAT ... ENCODE ... (options) clause. Format and Encode
// are upper case keywords (PLAIN, UPSERT, DEBEZIUM, CANAL, MAXWELL; JSON,
// CSV, BYTES, AVRO); option names are lower case.
type Spec struct {
	Format  string
	Encode  string
	Options map[string]string
	// Subject is the schema registry subject of the message values, set
	// by the connector (Kafka: "<topic>-value"). ENCODE AVRO resolves each
	// writer schema against the subject's latest schema, the reader
	// schema, as the Avro specification says (avro.go).
	Subject string
}

func (s Spec) String() string {
	return "FORMAT " + strings.ToUpper(s.Format) + " ENCODE " + strings.ToUpper(s.Encode)
}

// AppendOnly reports whether the format only ever inserts (FORMAT PLAIN),
// so the relation it fills is an append-only stream.
func (s Spec) AppendOnly() bool { return strings.EqualFold(s.Format, "PLAIN") }

// NeedsPrimaryKey reports whether the format addresses rows by primary key
// (UPSERT, DEBEZIUM, CANAL, MAXWELL): its deletes and updates name a row
// by its key, so the relation must have one.
func (s Spec) NeedsPrimaryKey() bool { return !s.AppendOnly() }

// Decoder decodes messages into a Batch. A decoder keeps per-stream state
// (a CSV header, the last Debezium schema, compiled Avro schemas) and is
// used by one goroutine at a time: make one per split reader.
type Decoder interface {
	// DecodeBatch appends the rows of msgs to out. A message that cannot be
	// decoded adds no row and is recorded in out.Rejects; a DDL event
	// becomes out.SchemaChanges. DecodeBatch itself never fails.
	DecodeBatch(msgs []Message, out *Batch)
}

// Reject is a message that could not be decoded.
type Reject struct {
	Partition int32
	Offset    int64
	Timestamp time.Time
	// Raw is the start of the message value, at most MaxRejectBytes long.
	Raw []byte
	// Err says why, with a SQLSTATE (a *sqlerr.Error).
	Err error
}

// MaxRejectBytes bounds the raw bytes a Reject keeps of its message.
const MaxRejectBytes = 1024

// SchemaChangeKind is what a DDL statement does to one column.
type SchemaChangeKind uint8

const (
	// AddColumn adds Column of Type.
	AddColumn SchemaChangeKind = iota + 1
	// DropColumn drops Column.
	DropColumn
	// RenameColumn renames Column to NewName.
	RenameColumn
	// ModifyColumn changes the type of Column to Type.
	ModifyColumn
)

var schemaChangeNames = [...]string{AddColumn: "add column", DropColumn: "drop column", RenameColumn: "rename column", ModifyColumn: "modify column"}

func (k SchemaChangeKind) String() string {
	if int(k) < len(schemaChangeNames) && schemaChangeNames[k] != "" {
		return schemaChangeNames[k]
	}
	return fmt.Sprintf("schema change(%d)", uint8(k))
}

// SchemaChange is one column change carried by an upstream DDL event.
type SchemaChange struct {
	Kind SchemaChangeKind
	// Database and Table name the upstream table (Table as the DDL names it).
	Database, Table string
	Column          string
	NewName         string  // RenameColumn
	Type            types.T // AddColumn, ModifyColumn
	// Default is an added column's constant DEFAULT as text, if HasDefault.
	Default    string
	HasDefault bool
	// SQL is the DDL statement as the event carried it.
	SQL string
	// Coordinates of the message that carried it.
	Partition int32
	Offset    int64
}

func (c SchemaChange) String() string {
	switch c.Kind {
	case AddColumn, ModifyColumn:
		return fmt.Sprintf("%s %s.%s %s", c.Kind, c.Table, c.Column, c.Type)
	case RenameColumn:
		return fmt.Sprintf("%s %s.%s to %s", c.Kind, c.Table, c.Column, c.NewName)
	}
	return fmt.Sprintf("%s %s.%s", c.Kind, c.Table, c.Column)
}

// NewDecoder returns a decoder of spec filling schema. Unknown formats,
// encodes and options, malformed option values and schemas the format
// cannot fill fail with 22023 (or 0A000 for an unsupported combination).
func NewDecoder(spec Spec, schema Schema) (Decoder, error) {
	f, e := strings.ToUpper(spec.Format), strings.ToUpper(spec.Encode)
	if spec.Options == nil {
		spec.Options = map[string]string{}
	}
	if err := checkSchema(schema); err != nil {
		return nil, err
	}
	encodes, ok := formats[f]
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unknown format %q", spec.Format).
			WithHint("Valid formats are %s.", strings.Join(sortedKeys(formats), ", "))
	}
	allowed, ok := encodes[e]
	if !ok {
		if _, known := encodeNames[e]; !known {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unknown encode %q", spec.Encode).
				WithHint("Valid encodes are %s.", strings.Join(sortedKeys(encodeNames), ", "))
		}
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FORMAT %s does not support ENCODE %s", f, e).
			WithHint("FORMAT %s supports ENCODE %s.", f, strings.Join(sortedKeys(encodes), ", "))
	}
	spec.Format, spec.Encode = f, e
	if err := checkOptions(spec, allowed); err != nil {
		return nil, err
	}
	switch e {
	case "JSON":
		return newJSONDecoder(spec, schema)
	case "CSV":
		return newCSVDecoder(spec, schema)
	case "BYTES":
		return newBytesDecoder(spec, schema)
	case "AVRO":
		return newAvroDecoder(spec, schema)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ENCODE %s is not supported", e)
}

var encodeNames = map[string]struct{}{"JSON": {}, "CSV": {}, "BYTES": {}, "AVRO": {}}

// Options valid per encode (on top of none for the format).
var (
	jsonOptions = []string{"timestamptz.handling.mode"}
	// cdcOptions are those of the envelopes that carry MySQL DDL.
	cdcOptions   = []string{"timestamptz.handling.mode", "auto.schema.change"}
	csvOptions   = []string{"delimiter", "quote", "without_header"}
	avroOptions  = []string{"schema.registry", "schema.registry.username", "schema.registry.password", "message", "key.message"}
	bytesOptions = []string{}
)

// formats lists, per FORMAT, its encodes and their valid options.
var formats = map[string]map[string][]string{
	"PLAIN":    {"JSON": jsonOptions, "CSV": csvOptions, "BYTES": bytesOptions, "AVRO": avroOptions},
	"UPSERT":   {"JSON": jsonOptions, "AVRO": avroOptions},
	"DEBEZIUM": {"JSON": cdcOptions, "AVRO": avroOptions},
	"CANAL":    {"JSON": cdcOptions},
	"MAXWELL":  {"JSON": cdcOptions},
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func checkOptions(spec Spec, allowed []string) error {
	names := sortedKeys(spec.Options)
	for _, k := range names {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			e := sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized option %q for %s", k, spec)
			if len(allowed) == 0 {
				return e.WithHint("%s takes no options.", spec)
			}
			return e.WithHint("Valid options are %s.", strings.Join(allowed, ", "))
		}
	}
	return nil
}

func checkSchema(s Schema) error {
	if len(s.Columns) == 0 {
		return sqlerr.New(sqlerr.InvalidParameterValue, "a source needs at least one column")
	}
	seen := make(map[string]bool, len(s.Columns))
	for _, c := range s.Columns {
		if seen[c.Name] {
			return sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", c.Name)
		}
		seen[c.Name] = true
		if c.Meta == MetaHeader && c.Header == "" {
			return sqlerr.New(sqlerr.InvalidParameterValue, "INCLUDE header needs a header name for column %q", c.Name)
		}
	}
	for _, k := range s.PrimaryKey {
		if k < 0 || k >= len(s.Columns) {
			return sqlerr.New(sqlerr.InvalidParameterValue, "primary key column index %d out of range", k)
		}
	}
	return nil
}

// optBool reads a boolean option.
func optBool(spec Spec, name string, def bool) (bool, error) {
	v, ok := spec.Options[name]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "1", "yes":
		return true, nil
	case "false", "off", "0", "no":
		return false, nil
	}
	return false, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value %q for option %q", v, name).
		WithHint("Valid values are true and false.")
}

// optChoice reads an option that takes one of choices.
func optChoice(spec Spec, name, def string, choices ...string) (string, error) {
	v, ok := spec.Options[name]
	if !ok {
		return def, nil
	}
	l := strings.ToLower(strings.TrimSpace(v))
	for _, c := range choices {
		if l == c {
			return c, nil
		}
	}
	return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value %q for option %q", v, name).
		WithHint("Valid values are %s.", strings.Join(choices, ", "))
}
