package format

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hamba/avro/v2"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// ENCODE AVRO reads Avro binary in the Confluent wire format: a zero magic
// byte, the writer schema's registry id (4 bytes, big-endian), then the
// datum. Schemas are fetched from the schema registry by id once and
// compiled (with hamba/avro's schema parser) into a small program that
// walks the binary datum and writes the fields whose names match columns
// straight into the columns of the batch; other fields are skipped without
// decoding. So a new writer schema (schema evolution under the registry's
// compatibility rules) simply compiles to a new program over the same
// columns: a field the writer no longer has is NULL, a new field is
// ignored until a column of its name exists.
//
// Schema resolution (Avro specification, "Schema Resolution"): with a
// Subject (a Kafka source: "<topic>-value") the latest schema of the
// subject is the reader schema. A column whose field the writer schema
// lacks but the reader schema has takes the reader field's default (not
// NULL); a reader field without a default that the writer lacks makes the
// message fail, as resolution fails. The reader schema is fetched again
// whenever a new writer schema is compiled (a schema registered later is
// usually both), and every readerRefresh otherwise. Promotions need nothing of their own: the writer's value goes
// into the column's type, so int, long, float and double fill any numeric
// column, and string and bytes fill text and bytea (bytes into text must
// be UTF-8). A union is read by the writer's branch index, so the reader
// may order its branches differently.
//
// Types: null unions ["null", T] are nullable T; int and long to integer
// columns (or numeric, text, timestamps as epoch values); float and double;
// string (by the column type's input function, so a string may fill a date
// or a numeric column); bytes and fixed to bytea; enum symbols to text; the
// logical types decimal (numeric), date, time-millis, time-micros,
// timestamp-millis, timestamp-micros, local-timestamp-*, uuid (text) and
// duration (interval); records, maps and arrays to jsonb, arrays of
// scalars to array columns.
//
// Options: schema.registry (URL, or several separated by commas),
// schema.registry.username and .password (HTTP basic auth), message and
// key.message (the full name of the value and key record: messages of
// another record type are rejected). FORMAT UPSERT ENCODE AVRO reads the
// primary key from the Avro message key (a record, or a bare value for a
// one-column key) and deletes on a null value. FORMAT DEBEZIUM ENCODE AVRO
// reads the envelope of Debezium's Avro converter (avro_debezium.go).
type avroDecoder struct {
	*rowDecoder
	reg     *schemaRegistry
	upsert  bool
	dbz     *avroDebezium
	message string
	keyMsg  string
	subject string
	pk      []int
	keyRow  row

	mu                 sync.Mutex
	progs              map[int32]*avroProg // compiled per writer schema id
	readerText         string              // the reader schema they are resolved against
	readerAt           time.Time           // when the reader schema was last fetched
	refresh            time.Duration       // readerRefresh
	lastValue, lastKey wireCache
}

func newAvroDecoder(spec Spec, schema Schema) (Decoder, error) {
	reg, err := newSchemaRegistry(spec)
	if err != nil {
		return nil, err
	}
	rd, err := newRowDecoder(schema, unitMilli)
	if err != nil {
		return nil, err
	}
	d := &avroDecoder{
		rowDecoder: rd, reg: reg, upsert: spec.Format == "UPSERT",
		message: spec.Options["message"], keyMsg: spec.Options["key.message"], subject: spec.Subject,
		pk: schema.PrimaryKey, keyRow: newRow(len(schema.Columns)),
		progs: map[int32]*avroProg{}, refresh: readerRefresh,
	}
	if spec.Format == "DEBEZIUM" {
		d.dbz = &avroDebezium{before: newRow(len(schema.Columns)), after: newRow(len(schema.Columns))}
	}
	if d.upsert && len(d.pk) == 0 {
		return nil, sqlerr.New(sqlerr.InvalidTableDefinition, "FORMAT UPSERT needs a primary key").
			WithHint("Declare PRIMARY KEY (...) on the table; the message key holds its value.")
	}
	return d, nil
}

// Prefetch fetches and compiles the writer schemas that msgs name, so that
// DecodeBatch needs no registry round trip. A connector calls it before
// DecodeBatch to honour ctx and to retry a batch when the registry is
// down, instead of rejecting its messages.
func (d *avroDecoder) Prefetch(ctx context.Context, msgs []Message) error {
	if d.subject != "" && d.dbz == nil && !d.readerAt.IsZero() && time.Since(d.readerAt) > d.refresh {
		// A newer reader schema may have been registered while this
		// reader met only writers it knew. A registry that does not
		// answer now is asked again at the next refresh; the programs
		// keep the reader schema they have.
		_ = d.resolveWith(ctx, nil)
	}
	for i := range msgs {
		for _, b := range [][]byte{msgs[i].Value, msgs[i].Key} {
			if len(b) < 5 || b[0] != 0 {
				continue
			}
			if _, err := d.program(ctx, int32(binary.BigEndian.Uint32(b[1:5]))); err != nil {
				if e, ok := err.(*sqlerr.Error); ok && (e.Code == sqlerr.ConnectionFailure || e.Code == sqlerr.InvalidAuthorizationSpec) {
					return err
				}
			}
		}
	}
	return nil
}

// Prefetcher is implemented by decoders that look up schemas remotely.
type Prefetcher interface {
	Prefetch(ctx context.Context, msgs []Message) error
}

var _ Prefetcher = (*avroDecoder)(nil)

func (d *avroDecoder) program(ctx context.Context, id int32) (*avroProg, error) {
	d.mu.Lock()
	p, ok := d.progs[id]
	d.mu.Unlock()
	if ok {
		return p, nil
	}
	text, err := d.reg.schema(ctx, id)
	if err != nil {
		return nil, err
	}
	sch, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "schema %d is not a valid Avro schema: %v", id, err)
	}
	if d.dbz != nil {
		p, err = compileDebezium(sch, &d.match)
	} else {
		p, err = compileAvro(sch, &d.match)
		if err == nil {
			err = d.resolveWith(ctx, p)
		}
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.progs[id] = p
	d.mu.Unlock()
	return p, nil
}

// DecodeBatch implements Decoder. Messages decode straight into the
// columns of out; one that fails half-way is cut off them again
// (Batch.truncate), so it adds nothing.
func (d *avroDecoder) DecodeBatch(msgs []Message, out *Batch) {
	out.decoding(len(msgs))
	d.decodeEach(msgs, out, d.decodeMessage)
}

func (d *avroDecoder) decodeMessage(m *Message, out *Batch) error {
	if d.dbz != nil {
		return d.decodeDebezium(m, out)
	}
	i := out.Len()
	if m.Value == nil {
		if !d.upsert {
			return nil
		}
		return d.deleteByKey(m, out, i, d.pk, d.keyInto)
	}
	if err := d.decodeWire(m.Value, rowDst{out: out, i: i}, d.message, &d.lastValue, false); err != nil {
		return err
	}
	if d.upsert {
		if keyAbsentAt(d.pk, out, i) {
			if err := d.keyInto(m, out, i); err != nil {
				return err
			}
		}
		if err := d.checkKeyAt(d.pk, out, i); err != nil {
			return err
		}
	}
	d.finishRow(m, out, i, Insert)
	return nil
}

// rowDst is where a record's fields go: row i of a batch, written
// straight into its columns, or a staging row (a message key; the images
// of a Debezium event that come in an order its op does not take).
type rowDst struct {
	out *Batch
	i   int
	row *row
}

func (w rowDst) put(col int, sl *slot) {
	if w.out != nil {
		w.out.cols[col].put(w.i, sl)
	} else {
		w.row.slots[col] = *sl
	}
}

// wireCache remembers the program of the last message of one kind (keys
// or values): most messages in a row share their writer schema.
type wireCache struct {
	prog *avroProg
	id   int32
}

// decodeWire decodes one Confluent-framed Avro datum into r. A record's
// fields go to the columns of their names; a key that is not a record (a
// bare long or string) goes to the one primary key column.
func (d *avroDecoder) decodeWire(b []byte, dst rowDst, wantName string, cache *wireCache, key bool) error {
	if len(b) < 5 || b[0] != 0 {
		return sqlerr.New(sqlerr.InvalidBinaryRepresentation, "not an Avro message in the Confluent wire format (magic byte 0 and a 4-byte schema id)")
	}
	id := int32(binary.BigEndian.Uint32(b[1:5]))
	p, err := d.cached(id, cache)
	if err != nil {
		return err
	}
	if wantName != "" && p.name != wantName {
		return sqlerr.New(sqlerr.DatatypeMismatch, "schema %d is record %q, not %q", id, p.name, wantName)
	}
	rd := avroReader{buf: b[5:], d: d.rowDecoder}
	switch {
	case p.root.kind == avRecord:
		if err := rd.record(p.root, dst); err != nil {
			return err
		}
		for _, df := range p.defaults {
			if df.missing != "" {
				return sqlerr.New(sqlerr.DatatypeMismatch, "schema %d has no field %q and the reader schema gives it no default", id, df.missing)
			}
			dr := avroReader{buf: df.enc, d: d.rowDecoder}
			var sl slot
			if err := dr.value(df.node, &d.convs[df.col], &sl); err != nil {
				return err
			}
			dst.put(df.col, &sl)
		}
	case key && len(d.pk) == 1:
		k := d.pk[0]
		var sl slot
		if err := rd.value(p.root, &d.convs[k], &sl); err != nil {
			return err
		}
		dst.put(k, &sl)
	default:
		return sqlerr.New(sqlerr.DatatypeMismatch, "schema %d is an Avro %s, a source needs a record", id, avroKindName(p.root.kind))
	}
	if rd.pos != len(rd.buf) {
		return sqlerr.New(sqlerr.InvalidBinaryRepresentation, "%d bytes after the Avro datum of schema %d", len(rd.buf)-rd.pos, id)
	}
	return nil
}

// cached returns the program of schema id, from cache when the last
// message of its kind had the same schema.
func (d *avroDecoder) cached(id int32, cache *wireCache) (*avroProg, error) {
	if p := cache.prog; p != nil && cache.id == id {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	p, err := d.program(ctx, id)
	cancel()
	if err != nil {
		return nil, err
	}
	cache.prog, cache.id = p, id
	return p, nil
}

// keyInto fills the primary key columns that row i of out still lacks
// from the message key.
func (d *avroDecoder) keyInto(m *Message, out *Batch, i int) error {
	if len(m.Key) == 0 {
		return errNoKey()
	}
	kr := &d.keyRow
	kr.clear()
	if err := d.decodeWire(m.Key, rowDst{row: kr}, d.keyMsg, &d.lastKey, true); err != nil {
		return wrapKeyErr(err)
	}
	for _, k := range d.pk {
		if out.cols[k].n == i && kr.slots[k].state != slotAbsent {
			out.cols[k].put(i, &kr.slots[k])
		}
	}
	return nil
}

// avroKind is the physical type of an Avro schema node.
type avroKind uint8

const (
	avNull avroKind = iota
	avBool
	avInt
	avLong
	avFloat
	avDouble
	avBytes
	avString
	avFixed
	avEnum
	avArray
	avMap
	avUnion
	avRecord
)

type avroLogical uint8

const (
	alNone avroLogical = iota
	alDecimal
	alDate
	alTimeMillis
	alTimeMicros
	alTimestampMillis
	alTimestampMicros
	alUUID
	alDuration
	alTimeNanos
	alTimestampNanos
	alZonedTimestamp
	alZonedTime
)

// temporalOf is how an int or a long of a logical type counts time (the
// units Debezium's time types use too); dbzPlain for a plain number.
var temporalOf = [...]dbzKind{
	alDate:            dbzDays,
	alTimeMillis:      dbzTimeMillis,
	alTimeMicros:      dbzTimeMicros,
	alTimeNanos:       dbzTimeNanos,
	alTimestampMillis: dbzMillis,
	alTimestampMicros: dbzMicros,
	alTimestampNanos:  dbzNanos,
	alZonedTime:       dbzPlain, // sizes the array: every logical type has an entry
	alZonedTimestamp:  dbzPlain,
}

// avroNode is one compiled schema node.
type avroNode struct {
	kind     avroKind
	logical  avroLogical
	scale    int32
	size     int
	symbols  []string
	items    *avroNode // array items, map values
	branches []*avroNode
	fields   []avroField
}

// avroField is a record field: where its value goes (-1: skipped or, in a
// nested record, rendered as JSON under its name).
type avroField struct {
	name string
	node *avroNode
	col  int
}

// avroProg is a compiled writer schema.
type avroProg struct {
	name string // full name of a record schema
	root *avroNode
	// Debezium envelopes: the indexes of before, after and op among the
	// root's fields.
	before, after, op int
	// defaults fill the columns the writer lacks from the reader schema.
	defaults []avroDefault
}

// matchFields sends the fields of record n to the columns of their names
// (the first field of a name wins).
func matchFields(n *avroNode, m *fieldMatcher) {
	seen := map[int]bool{}
	for i := range n.fields {
		f := &n.fields[i]
		j := m.lookup([]byte(f.name))
		if j >= 0 && !seen[j] {
			f.col = j
			seen[j] = true
		}
	}
}

func compileAvro(s avro.Schema, m *fieldMatcher) (*avroProg, error) {
	named := map[string]*avroNode{}
	root, err := compileNode(s, named)
	if err != nil {
		return nil, err
	}
	p := &avroProg{root: root}
	if rec, ok := s.(*avro.RecordSchema); ok {
		p.name = rec.FullName()
	}
	matchFields(root, m)
	return p, nil
}

func compileNode(s avro.Schema, named map[string]*avroNode) (*avroNode, error) {
	switch t := s.(type) {
	case *avro.RefSchema:
		if n, ok := named[t.Schema().FullName()]; ok {
			return n, nil
		}
		return compileNode(t.Schema(), named)
	case *avro.RecordSchema:
		if n, ok := named[t.FullName()]; ok {
			return n, nil
		}
		n := &avroNode{kind: avRecord}
		named[t.FullName()] = n
		for _, f := range t.Fields() {
			fn, err := compileNode(f.Type(), named)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, avroField{name: f.Name(), node: fn, col: -1})
		}
		return n, nil
	case *avro.NullSchema:
		return &avroNode{kind: avNull}, nil
	case *avro.EnumSchema:
		return &avroNode{kind: avEnum, symbols: t.Symbols()}, nil
	case *avro.FixedSchema:
		n := &avroNode{kind: avFixed, size: t.Size()}
		if l := t.Logical(); l != nil {
			switch l.Type() {
			case avro.Decimal:
				n.logical = alDecimal
				n.scale = int32(l.(*avro.DecimalLogicalSchema).Scale())
			case avro.Duration:
				n.logical = alDuration
			}
		}
		return n, nil
	case *avro.ArraySchema:
		return compileItems(avArray, t.Items(), named)
	case *avro.MapSchema:
		return compileItems(avMap, t.Values(), named)
	case *avro.UnionSchema:
		n := &avroNode{kind: avUnion}
		for _, b := range t.Types() {
			bn, err := compileNode(b, named)
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, bn)
		}
		return n, nil
	case *avro.PrimitiveSchema:
		kind, ok := primitiveKinds[t.Type()]
		if !ok {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "Avro type %s is not supported", t.Type())
		}
		n := &avroNode{kind: kind}
		if l := t.Logical(); l != nil {
			n.logical = primitiveLogical[l.Type()]
			if l.Type() == avro.Decimal {
				n.scale = int32(l.(*avro.DecimalLogicalSchema).Scale())
			}
		}
		connectType(n, t.Prop("connect.name"), t.Prop("connect.parameters"))
		return n, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "Avro schema %s is not supported", s.Type())
}

// compileItems compiles an array or a map of items.
func compileItems(kind avroKind, items avro.Schema, named map[string]*avroNode) (*avroNode, error) {
	it, err := compileNode(items, named)
	if err != nil {
		return nil, err
	}
	return &avroNode{kind: kind, items: it}, nil
}

// primitiveKinds are the kinds of Avro's primitive types.
var primitiveKinds = map[avro.Type]avroKind{
	avro.Null: avNull, avro.Boolean: avBool, avro.Int: avInt, avro.Long: avLong,
	avro.Float: avFloat, avro.Double: avDouble, avro.Bytes: avBytes, avro.String: avString,
}

// primitiveLogical are the logical types read on a primitive type; the
// local timestamps read like the others (the column type decides the zone).
var primitiveLogical = map[avro.LogicalType]avroLogical{
	avro.Decimal: alDecimal, avro.Date: alDate,
	avro.TimeMillis: alTimeMillis, avro.TimeMicros: alTimeMicros,
	avro.TimestampMillis: alTimestampMillis, avro.LocalTimestampMillis: alTimestampMillis,
	avro.TimestampMicros: alTimestampMicros, avro.LocalTimestampMicros: alTimestampMicros,
	avro.UUID: alUUID,
}

// resolveWith resolves a newly compiled writer program p against the
// reader schema, fetched afresh: a new writer schema is often a new
// latest version too. When the reader schema changed, the programs
// compiled before are resolved against it again, so that records of an
// older writer take the defaults of the newer reader from then on.
func (d *avroDecoder) resolveWith(ctx context.Context, p *avroProg) error {
	if d.subject == "" {
		return nil
	}
	d.readerAt = time.Now()
	_, text, err := d.reg.latest(ctx, d.subject)
	if err != nil {
		if e, ok := err.(*sqlerr.Error); ok && e.Code == sqlerr.UndefinedObject {
			return nil // no reader schema: columns the writer lacks are NULL
		}
		return err
	}
	sch, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return sqlerr.New(sqlerr.InvalidParameterValue, "the latest schema of subject %q is not a valid Avro schema: %v", d.subject, err)
	}
	rs, ok := sch.(*avro.RecordSchema)
	if !ok {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if text != d.readerText {
		d.readerText = text
		for _, q := range d.progs {
			q.defaults = q.defaults[:0]
			if err := q.resolve(rs, &d.match); err != nil {
				return err
			}
		}
	}
	if p == nil {
		return nil
	}
	return p.resolve(rs, &d.match)
}

// readerRefresh is how often a decoder that meets no new writer schema
// still asks the registry for the subject's latest schema.
const readerRefresh = 30 * time.Second

// avroDefault is a reader field's default for a column the writer schema
// does not fill: the default encoded as Avro binary, read like a value.
type avroDefault struct {
	col  int
	node *avroNode
	enc  []byte
	// missing: the reader field has no default (resolution fails).
	missing string
}

// resolve adds the reader schema's defaults for the columns whose fields
// the writer record lacks.
func (p *avroProg) resolve(reader *avro.RecordSchema, m *fieldMatcher) error {
	if p.root.kind != avRecord {
		return nil
	}
	filled := map[int]bool{}
	for _, f := range p.root.fields {
		if f.col >= 0 {
			filled[f.col] = true
		}
	}
	named := map[string]*avroNode{}
	for _, f := range reader.Fields() {
		j := m.lookup([]byte(f.Name()))
		if j < 0 || filled[j] {
			continue
		}
		filled[j] = true
		if !f.HasDefault() {
			p.defaults = append(p.defaults, avroDefault{col: j, missing: f.Name()})
			continue
		}
		node, err := compileNode(f.Type(), named)
		if err != nil {
			return err
		}
		def := f.Default()
		if u, ok := f.Type().(*avro.UnionSchema); ok && def == nil && len(u.Types()) > 0 && u.Types()[0].Type() == avro.Null {
			// null default of a union: branch 0.
			p.defaults = append(p.defaults, avroDefault{col: j, node: node, enc: []byte{0}})
			continue
		}
		enc, err := avro.Marshal(f.Type(), def)
		if err != nil {
			return sqlerr.New(sqlerr.InvalidParameterValue, "default of Avro field %q: %v", f.Name(), err)
		}
		p.defaults = append(p.defaults, avroDefault{col: j, node: node, enc: enc})
	}
	return nil
}

// connectLogical maps the Kafka Connect type names Debezium's Avro
// converter (and Confluent's) puts on a primitive schema to the logical
// type they mean, with the base kinds each may stand on.
var connectLogical = map[string]struct {
	logical  avroLogical
	int, str bool // allowed on an int (a long always is), on a string
}{
	"io.debezium.time.Date":                   {logical: alDate, int: true},
	"org.apache.kafka.connect.data.Date":      {logical: alDate, int: true},
	"io.debezium.time.Time":                   {logical: alTimeMillis, int: true},
	"org.apache.kafka.connect.data.Time":      {logical: alTimeMillis, int: true},
	"io.debezium.time.MicroTime":              {logical: alTimeMicros},
	"io.debezium.time.NanoTime":               {logical: alTimeNanos},
	"io.debezium.time.Timestamp":              {logical: alTimestampMillis},
	"org.apache.kafka.connect.data.Timestamp": {logical: alTimestampMillis},
	"io.debezium.time.MicroTimestamp":         {logical: alTimestampMicros},
	"io.debezium.time.NanoTimestamp":          {logical: alTimestampNanos},
	"io.debezium.time.ZonedTimestamp":         {logical: alZonedTimestamp, str: true},
	"io.debezium.time.ZonedTime":              {logical: alZonedTime, str: true},
}

// connectType reads the Kafka Connect type name Debezium's Avro converter
// (and Confluent's) puts on a primitive schema: Debezium's semantic time
// types and the Connect logical types, which the Avro schema otherwise
// shows only as their base type (an int, a long, a string).
func connectType(n *avroNode, name, params any) {
	s, _ := name.(string)
	if s == "org.apache.kafka.connect.data.Decimal" {
		if n.kind == avBytes && n.logical == alNone {
			p, _ := params.(map[string]any)
			sc, _ := p["scale"].(string)
			v, _ := strconv.Atoi(sc)
			n.logical, n.scale = alDecimal, int32(v)
		}
		return
	}
	c, ok := connectLogical[s]
	if !ok {
		return
	}
	if c.str {
		if n.kind == avString {
			n.logical = c.logical
		}
	} else if n.kind == avLong || (c.int && n.kind == avInt) {
		n.logical = c.logical
	}
}

// avroReader walks one binary datum.
type avroReader struct {
	buf []byte
	pos int
	d   *rowDecoder
}

func errAvroShort() error {
	return sqlerr.New(sqlerr.InvalidBinaryRepresentation, "Avro datum ends early")
}

func (r *avroReader) long() (int64, error) {
	var u uint64
	var shift uint
	for {
		if r.pos >= len(r.buf) {
			return 0, errAvroShort()
		}
		b := r.buf[r.pos]
		r.pos++
		u |= uint64(b&0x7f) << shift
		if b < 0x80 {
			break
		}
		shift += 7
		if shift > 63 {
			return 0, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "Avro varint too long")
		}
	}
	return int64(u>>1) ^ -int64(u&1), nil
}

func (r *avroReader) take(n int64) ([]byte, error) {
	if n < 0 || n > int64(len(r.buf)-r.pos) {
		return nil, errAvroShort()
	}
	b := r.buf[r.pos : r.pos+int(n) : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

// sized reads a length-prefixed value (bytes, string, a map key).
func (r *avroReader) sized() ([]byte, error) {
	l, err := r.long()
	if err != nil {
		return nil, err
	}
	return r.take(l)
}

// bytes reads the content of a bytes, string or fixed value.
func (r *avroReader) bytes(n *avroNode) ([]byte, error) {
	size := int64(n.size)
	if n.kind != avFixed {
		var err error
		if size, err = r.long(); err != nil {
			return nil, err
		}
	}
	return r.take(size)
}

// float reads a float or a double.
func (r *avroReader) float(n *avroNode) (float64, error) {
	if n.kind == avFloat {
		b, err := r.take(4)
		if err != nil {
			return 0, err
		}
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
	}
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}

// branch reads a union's branch index and returns that branch.
func (r *avroReader) branch(n *avroNode) (*avroNode, error) {
	idx, err := r.long()
	if err != nil {
		return nil, err
	}
	if idx < 0 || int(idx) >= len(n.branches) {
		return nil, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "Avro union branch %d out of range", idx)
	}
	return n.branches[idx], nil
}

// symbol reads an enum's index and returns its symbol.
func (r *avroReader) symbol(n *avroNode) (string, error) {
	idx, err := r.long()
	if err != nil {
		return "", err
	}
	if idx < 0 || int(idx) >= len(n.symbols) {
		return "", sqlerr.New(sqlerr.InvalidBinaryRepresentation, "Avro enum index %d out of range", idx)
	}
	return n.symbols[idx], nil
}

// record reads a record whose fields are mapped to columns into dst.
func (r *avroReader) record(n *avroNode, dst rowDst) error {
	var sl slot
	for i := range n.fields {
		f := &n.fields[i]
		if f.col < 0 {
			if err := r.skip(f.node); err != nil {
				return err
			}
			continue
		}
		sl.state = slotAbsent
		if err := r.value(f.node, &r.d.convs[f.col], &sl); err != nil {
			return err
		}
		dst.put(f.col, &sl)
	}
	return nil
}

// value reads a value of node into the column's slot.
func (r *avroReader) value(n *avroNode, c *conv, sl *slot) error {
	sc := &r.d.sc
	switch n.kind {
	case avNull:
		sl.state = slotNull
		return nil
	case avUnion:
		b, err := r.branch(n)
		if err != nil {
			return err
		}
		return r.value(b, c, sl)
	case avBool:
		b, err := r.take(1)
		if err != nil {
			return err
		}
		if c.st == stBool {
			sl.i, sl.state = int64(b[0]&1), slotSet
			return nil
		}
		if b[0] != 0 {
			return c.setText(sl, []byte("true"), sc)
		}
		return c.setText(sl, []byte("false"), sc)
	case avInt, avLong:
		v, err := r.long()
		if err != nil {
			return err
		}
		if k := temporalOf[n.logical]; k != dbzPlain {
			return c.setTemporal(sl, v, k, sc)
		}
		return c.setInt(sl, v, sc)
	case avFloat, avDouble:
		f, err := r.float(n)
		if err != nil {
			return err
		}
		switch c.st {
		case stFloat32, stFloat64:
			sl.f, sl.state = f, slotSet
			return nil
		}
		if c.t.Kind == types.Numeric || c.t.IsString() {
			return c.setText(sl, strconv.AppendFloat(nil, f, 'g', -1, 64), sc)
		}
		return c.errf(sqlerr.DatatypeMismatch, "cannot store an Avro %s in a column of type %s", avroKindName(n.kind), c.t)
	case avEnum:
		sym, err := r.symbol(n)
		if err != nil {
			return err
		}
		return c.setText(sl, []byte(sym), sc)
	case avBytes, avFixed, avString:
		b, err := r.bytes(n)
		if err != nil {
			return err
		}
		switch {
		case n.logical == alDecimal:
			return c.setUnscaled(sl, b, n.scale, sc)
		case n.logical == alZonedTimestamp:
			return c.setZoned(sl, b, dbzZonedTimestamp, sc)
		case n.logical == alZonedTime:
			return c.setZoned(sl, b, dbzZonedTime, sc)
		case n.logical == alDuration:
			if c.st != stInterval || len(b) != 12 {
				return c.errf(sqlerr.DatatypeMismatch, "cannot store an Avro duration in a column of type %s", c.t)
			}
			sl.iv = arrow.MonthDayNanoInterval{
				Months:      int32(binary.LittleEndian.Uint32(b[0:4])),
				Days:        int32(binary.LittleEndian.Uint32(b[4:8])),
				Nanoseconds: int64(binary.LittleEndian.Uint32(b[8:12])) * 1_000_000,
			}
			sl.state = slotSet
			return nil
		case c.st == stBinary:
			sl.b, sl.state = b, slotSet
			return nil
		case n.kind == avString:
			return c.setText(sl, b, sc)
		case n.kind == avBytes && c.t.IsString():
			// bytes promoted to string (Avro schema resolution).
			if !utf8.Valid(b) {
				return c.errf(sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\" in Avro bytes")
			}
			return c.setText(sl, b, sc)
		}
		return c.errf(sqlerr.DatatypeMismatch, "cannot store Avro %s in a column of type %s", avroKindName(n.kind), c.t)
	case avArray, avMap, avRecord:
		if c.t.Kind == types.JSONB {
			js, err := r.appendJSON(n, nil)
			if err != nil {
				return err
			}
			norm, err := types.NormalizeJSONB(bstr(js))
			if err != nil {
				return c.wrapErr(err)
			}
			sl.b, sl.state = sc.addString(norm), slotSet
			return nil
		}
		if n.kind == avArray && c.t.Kind == types.Array {
			return r.array(n, c, sl)
		}
		return c.errf(sqlerr.DatatypeMismatch, "cannot store an Avro %s in a column of type %s", avroKindName(n.kind), c.t)
	}
	return c.errf(sqlerr.DatatypeMismatch, "unsupported Avro value")
}

// array reads an array of scalars into an array column's text form.
func (r *avroReader) array(n *avroNode, c *conv, sl *slot) error {
	elem := types.TText
	if c.t.Elem != nil {
		elem = *c.t.Elem
	}
	ec := conv{name: c.name, t: elem, st: storageOf(elem), unit: c.unit}
	out := []byte{'{'}
	first := true
	err := r.blocks(func() error {
		if !first {
			out = append(out, ',')
		}
		first = false
		var es slot
		if err := r.value(n.items, &ec, &es); err != nil {
			return err
		}
		if es.state != slotSet {
			out = append(out, "NULL"...)
			return nil
		}
		out = appendArrayElem(out, ec.format(&es))
		return nil
	})
	if err != nil {
		return err
	}
	out = append(out, '}')
	sl.b, sl.state = r.d.sc.add(out), slotSet
	return nil
}

// blocks walks the blocks of an array or map, calling item per element
// (for a map, after the key has been consumed by item itself).
func (r *avroReader) blocks(item func() error) error {
	for {
		cnt, err := r.long()
		if err != nil {
			return err
		}
		if cnt == 0 {
			return nil
		}
		if cnt < 0 {
			cnt = -cnt
			if _, err := r.long(); err != nil { // block size in bytes
				return err
			}
		}
		if cnt > int64(len(r.buf)-r.pos) {
			return errAvroShort() // every item takes at least one byte
		}
		for k := int64(0); k < cnt; k++ {
			if err := item(); err != nil {
				return err
			}
		}
	}
}

// skip steps over a value of node.
func (r *avroReader) skip(n *avroNode) error {
	switch n.kind {
	case avNull:
		return nil
	case avBool:
		_, err := r.take(1)
		return err
	case avInt, avLong, avEnum:
		_, err := r.long()
		return err
	case avFloat, avDouble:
		_, err := r.float(n)
		return err
	case avFixed, avBytes, avString:
		_, err := r.bytes(n)
		return err
	case avUnion:
		b, err := r.branch(n)
		if err != nil {
			return err
		}
		return r.skip(b)
	case avRecord:
		for i := range n.fields {
			if err := r.skip(n.fields[i].node); err != nil {
				return err
			}
		}
		return nil
	case avArray:
		return r.blocks(func() error { return r.skip(n.items) })
	case avMap:
		return r.blocks(func() error {
			if _, err := r.sized(); err != nil {
				return err
			}
			return r.skip(n.items)
		})
	}
	return nil
}

// appendJSON renders a value of node as JSON text (for jsonb columns).
func (r *avroReader) appendJSON(n *avroNode, buf []byte) ([]byte, error) {
	switch n.kind {
	case avNull:
		return append(buf, "null"...), nil
	case avBool:
		b, err := r.take(1)
		if err != nil {
			return nil, err
		}
		return strconv.AppendBool(buf, b[0] != 0), nil
	case avInt, avLong:
		v, err := r.long()
		return strconv.AppendInt(buf, v, 10), err
	case avFloat, avDouble:
		f, err := r.float(n)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.AppendQuote(buf, strconv.FormatFloat(f, 'g', -1, 64)), nil
		}
		return strconv.AppendFloat(buf, f, 'g', -1, 64), nil
	case avEnum:
		sym, err := r.symbol(n)
		if err != nil {
			return nil, err
		}
		return appendJSONString(buf, sym), nil
	case avBytes, avString, avFixed:
		b, err := r.bytes(n)
		if err != nil {
			return nil, err
		}
		return appendJSONString(buf, string(b)), nil
	case avUnion:
		b, err := r.branch(n)
		if err != nil {
			return nil, err
		}
		return r.appendJSON(b, buf)
	case avRecord:
		buf = append(buf, '{')
		for i := range n.fields {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, n.fields[i].name)
			buf = append(buf, ':')
			var err error
			if buf, err = r.appendJSON(n.fields[i].node, buf); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case avArray, avMap:
		open, close := byte('['), byte(']')
		if n.kind == avMap {
			open, close = '{', '}'
		}
		buf = append(buf, open)
		first := true
		err := r.blocks(func() error {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			if n.kind == avMap {
				k, err := r.sized()
				if err != nil {
					return err
				}
				buf = appendJSONString(buf, string(k))
				buf = append(buf, ':')
			}
			var err error
			buf, err = r.appendJSON(n.items, buf)
			return err
		})
		if err != nil {
			return nil, err
		}
		return append(buf, close), nil
	}
	return buf, nil
}

func appendJSONString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(buf, b...)
}

func avroKindName(k avroKind) string {
	return [...]string{"null", "boolean", "int", "long", "float", "double", "bytes", "string", "fixed", "enum", "array", "map", "union", "record"}[k]
}
