package format

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"time"

	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// FORMAT DEBEZIUM ENCODE JSON reads the change events of Debezium's JSON
// converter, with or without the schema part ("schemas.enable"):
//
//	{"schema": {...}, "payload": {"before": {...}, "after": {...}, "op": "u", ...}}
//	{"before": null, "after": {...}, "op": "c", "source": {...}, "ts_ms": ...}
//
// op c (create) and r (snapshot read) insert after; u deletes before and
// inserts after as an UpdateDelete/UpdateInsert pair (without a before
// image, as PostgreSQL sends it under the default replica identity, it is
// an Insert the keyed table resolves as an upsert); d deletes before. A
// null value (the tombstone after a delete) carries no row. A record of
// the schema history topic (with "ddl") becomes schema changes.
//
// With the schema present, the semantic types of Debezium's converter are
// decoded as documented: io.debezium.time.Date (days), Timestamp (millis),
// MicroTimestamp, NanoTimestamp, Time, MicroTime, NanoTime,
// ZonedTimestamp and ZonedTime (ISO-8601 text with an offset: into
// timestamp, date and time columns as UTC; text columns keep the text),
// the Kafka Connect Date/Time/Timestamp logical types, Decimal (base64
// big-endian unscaled value with the schema's scale), VariableScaleDecimal
// and io.debezium.data.Json. ENCODE AVRO reads the same names from the
// "connect.name" of Debezium's Avro converter (avro.go). Without it, numbers stored into timestamps are
// epoch values of a guessed unit and into dates days since 1970-01-01.

// dbzKind is how a Debezium field is encoded.
type dbzKind uint8

const (
	dbzPlain dbzKind = iota
	dbzDays
	dbzMillis
	dbzMicros
	dbzNanos
	dbzTimeMillis
	dbzTimeMicros
	dbzTimeNanos
	dbzDecimal
	dbzVarDecimal
	dbzJSON
	dbzZonedTimestamp
	dbzZonedTime
)

type dbzMode struct {
	kind  dbzKind
	scale int32
}

// debeziumState caches the column modes of the last schema seen.
type debeziumState struct {
	schemaRaw []byte
	modes     []dbzMode
	fields    fieldSet
	payload   fieldSet
}

// dbzSchema is the Kafka Connect schema JSON.
type dbzSchema struct {
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Field      string            `json:"field"`
	Fields     []dbzSchema       `json:"fields"`
	Parameters map[string]string `json:"parameters"`
}

const (
	dbzBefore = iota
	dbzAfter
	dbzOp
	dbzDDL
	dbzDatabase
	dbzSchemaF
	dbzPayload
)

// dbzEvent is what one walk over a Debezium event found. The row images
// are decoded straight into the columns during the walk, as consecutive
// rows in the order they come, so the event is read once.
type dbzEvent struct {
	dbzImages
	ddl, database   []byte
	hasOp, hasDDL   bool
	hasTableChanges bool
	payloadNull     bool
	hasPayload      bool
	schemaSeen      bool
	schemaLate      bool // the schema came after the payload
	again           bool // an image came twice
}

// dbzImages is the op of a Debezium event and the row images it
// carries; the JSON and the Avro envelopes both read into it.
type dbzImages struct {
	op                  []byte
	hasBefore, hasAfter bool
	afterFirst          bool // the after image came before the before image
}

// dbzPlan is which row images an event's op takes, with their ops.
type dbzPlan struct {
	before, after     bool
	beforeOp, afterOp Op
}

// plan reads the op: c and r insert after, u is an UpdateDelete of before
// and an UpdateInsert of after (an Insert the keyed table resolves as an
// upsert when there is no before image), d deletes before.
func (e *dbzImages) plan() (dbzPlan, error) {
	if len(e.op) == 1 {
		switch e.op[0] {
		case 'c', 'r':
			if !e.hasAfter {
				return dbzPlan{}, errMissingField("Debezium", "after")
			}
			return dbzPlan{after: true, afterOp: Insert}, nil
		case 'u':
			if !e.hasAfter {
				return dbzPlan{}, errMissingField("Debezium", "after")
			}
			if !e.hasBefore {
				return dbzPlan{after: true, afterOp: Insert}, nil
			}
			return dbzPlan{before: true, beforeOp: UpdateDelete, after: true, afterOp: UpdateInsert}, nil
		case 'd':
			if !e.hasBefore {
				return dbzPlan{}, errMissingField("Debezium", "before")
			}
			return dbzPlan{before: true, beforeOp: Delete}, nil
		case 't':
			return dbzPlan{}, sqlerr.New(sqlerr.FeatureNotSupported, "Debezium truncate events are not supported")
		}
	}
	return dbzPlan{}, errUnknownOp("Debezium", string(e.op))
}

// setOps gives the rows an event wrote from ops[0] on (its images, in the
// order they came) their ops under p. It is false when those images are
// not the ones p takes in p's order (an image the op does not use, the
// after image first); the event is then decoded again through staging
// rows. Debezium itself writes no such event.
func (e *dbzImages) setOps(p dbzPlan, ops []Op) bool {
	if p.before != e.hasBefore || p.after != e.hasAfter || (p.before && p.after && e.afterFirst) {
		return false
	}
	i := 0
	if p.before {
		ops[i] = p.beforeOp
		i++
	}
	if p.after {
		ops[i] = p.afterOp
	}
	return true
}

func (d *jsonDecoder) debezium(m *Message, out *Batch) error {
	if isNullValue(m.Value) {
		return nil // tombstone
	}
	d.modes = nil
	mark := out.Len()
	var ev dbzEvent
	s := &d.sn
	s.reset(m.Value, &d.sc)
	err := d.debeziumWalk(s, &ev, m, out, true)
	if err == nil {
		err = s.atEnd()
	}
	if err != nil && ev.hasPayload && !ev.schemaSeen {
		// The payload was decoded without types; a schema may follow it.
		ev.schemaLate = true
	} else if err != nil {
		return err
	}
	// The rows written are the images in the order they came. An event
	// that needs them otherwise (an image the op does not use, the after
	// image first, a field named twice) or whose schema came late is
	// decoded again in two passes; Debezium itself writes none of these.
	twoPass := func() error {
		out.truncate(mark)
		d.begin()
		return d.debeziumTwoPass(m, out)
	}
	if ev.schemaLate || ev.again {
		return twoPass()
	}
	if ev.hasPayload && ev.payloadNull {
		out.truncate(mark)
		return nil // a tombstone with schemas enabled
	}
	if !ev.hasOp && !ev.hasBefore && !ev.hasAfter && (ev.hasTableChanges || ev.hasDDL) && len(bytes.TrimSpace(ev.ddl)) == 0 {
		// A schema change event that states the new table structure
		// (tableChanges) without DDL text, as the connectors that do not
		// capture DDL write it: no row, and nothing to apply; the
		// columns of the events that follow are matched by name.
		out.truncate(mark)
		return nil
	}
	if ev.hasDDL && !ev.hasOp {
		out.truncate(mark)
		return d.schemaChanges(m, out, string(ev.ddl), string(ev.database))
	}
	if !ev.hasOp {
		return errMissingField("Debezium", "op")
	}
	p, err := ev.plan()
	if err != nil {
		return err
	}
	if !ev.setOps(p, out.ops[mark:]) {
		return twoPass()
	}
	return nil
}

// debeziumWalk walks an event object (the whole value, or its payload),
// decoding each row image into the next row of out; the rows' ops are
// set once the event's op is known.
func (d *jsonDecoder) debeziumWalk(s *jsonScanner, ev *dbzEvent, m *Message, out *Batch, top bool) error {
	if err := s.objectStart(); err != nil {
		return err
	}
	var err error
	for key := range s.members(&err) {
		switch k := bstr(key); {
		case k == "before" || k == "after":
			if s.peekNull() {
				_, err = s.value()
				break
			}
			if k == "before" {
				ev.again = ev.again || ev.hasBefore
				ev.hasBefore = true
			} else {
				ev.again = ev.again || ev.hasAfter
				ev.hasAfter, ev.afterFirst = true, !ev.hasBefore
			}
			i := out.Len()
			if err = d.fieldsInto(s, out, i); err != nil {
				err = prefixErr(err, k)
				break
			}
			d.finishRow(m, out, i, Insert) // the op follows
		case k == "op" || k == "ddl" || k == "databaseName":
			var v jval
			if v, err = s.value(); err != nil {
				break
			}
			if v.kind != jString {
				if v.kind == jNull {
					break
				}
				err = sqlerr.New(sqlerr.InvalidParameterValue, "Debezium field %q must be a string", k)
				break
			}
			switch k {
			case "op":
				ev.op, ev.hasOp = v.str, true
			case "ddl":
				ev.ddl, ev.hasDDL = v.str, true
			default:
				ev.database = v.str
			}
		case k == "tableChanges":
			ev.hasTableChanges = true
			err = s.skip(0)
		case top && k == "schema":
			var v jval
			if v, err = s.value(); err != nil || v.kind == jNull {
				break
			}
			if ev.hasPayload {
				ev.schemaLate = true
				break
			}
			ev.schemaSeen = true
			err = d.useDebeziumSchema(v.raw)
		case top && k == "payload":
			ev.hasPayload = true
			if s.peekNull() {
				ev.payloadNull = true
				_, err = s.value()
				break
			}
			err = d.debeziumWalk(s, ev, m, out, false)
		default:
			err = s.skip(0)
		}
		if err != nil {
			return err
		}
	}
	return err
}

// debeziumTwoPass decodes an event whose schema follows its payload: the
// fields are collected first, then the images decoded with the schema.
func (d *jsonDecoder) debeziumTwoPass(m *Message, out *Batch) error {
	st := &d.dbz
	if st.fields.names == nil {
		st.fields = newFieldSet("before", "after", "op", "ddl", "databaseName", "schema", "payload")
		st.payload = newFieldSet("before", "after", "op", "ddl", "databaseName")
	}
	s := &d.sn
	s.reset(m.Value, &d.sc)
	f := &st.fields
	if err := f.collect(s); err != nil {
		return err
	}
	if err := s.atEnd(); err != nil {
		return err
	}
	if f.has(dbzSchemaF) {
		if err := d.useDebeziumSchema(f.vals[dbzSchemaF].raw); err != nil {
			return err
		}
	} else {
		d.modes = nil
	}
	env := f
	if f.found[dbzPayload] {
		if !f.has(dbzPayload) {
			return nil // a tombstone with schemas enabled
		}
		var ps jsonScanner
		ps.reset(f.vals[dbzPayload].raw, &d.sc)
		if err := st.payload.collect(&ps); err != nil {
			return err
		}
		env = &st.payload
	}
	if env.has(dbzDDL) && !env.found[dbzOp] {
		return d.ddlEvent(m, out, env, dbzDDL, dbzDatabase, "Debezium")
	}
	if !env.has(dbzOp) || env.vals[dbzOp].kind != jString {
		return errMissingField("Debezium", "op")
	}
	ev := dbzImages{op: env.vals[dbzOp].str, hasBefore: env.has(dbzBefore), hasAfter: env.has(dbzAfter)}
	p, err := ev.plan()
	if err != nil {
		return err
	}
	if p.before {
		if err := d.decodeImage(env.vals[dbzBefore].raw, d.stage(p.beforeOp), "before"); err != nil {
			return err
		}
	}
	if p.after {
		return d.decodeImage(env.vals[dbzAfter].raw, d.stage(p.afterOp), "after")
	}
	return nil
}

// useDebeziumSchema derives the column modes from the envelope's schema,
// reusing them while the schema stays the same.
func (d *jsonDecoder) useDebeziumSchema(raw []byte) error {
	st := &d.dbz
	if st.modes != nil && bytes.Equal(raw, st.schemaRaw) {
		d.modes = st.modes
		return nil
	}
	var sch dbzSchema
	if err := json.Unmarshal(raw, &sch); err != nil {
		return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid Debezium schema: %v", err)
	}
	modes := make([]dbzMode, len(d.schema.Columns))
	for _, env := range sch.Fields {
		if env.Field != "after" && env.Field != "before" {
			continue
		}
		for _, fs := range env.Fields {
			j := d.match.lookup([]byte(fs.Field))
			if j < 0 {
				continue
			}
			modes[j] = dbzModeOf(fs)
		}
	}
	st.schemaRaw = append(st.schemaRaw[:0], raw...)
	st.modes = modes
	d.modes = modes
	return nil
}

// dbzSemanticKinds maps the Debezium and Kafka Connect semantic type
// names to how their values are encoded; Decimal, which carries its scale
// as a parameter, is read by dbzModeOf.
var dbzSemanticKinds = map[string]dbzKind{
	"io.debezium.time.Date":                   dbzDays,
	"org.apache.kafka.connect.data.Date":      dbzDays,
	"io.debezium.time.Timestamp":              dbzMillis,
	"org.apache.kafka.connect.data.Timestamp": dbzMillis,
	"io.debezium.time.MicroTimestamp":         dbzMicros,
	"io.debezium.time.NanoTimestamp":          dbzNanos,
	"io.debezium.time.Time":                   dbzTimeMillis,
	"org.apache.kafka.connect.data.Time":      dbzTimeMillis,
	"io.debezium.time.MicroTime":              dbzTimeMicros,
	"io.debezium.time.NanoTime":               dbzTimeNanos,
	"io.debezium.time.ZonedTimestamp":         dbzZonedTimestamp,
	"io.debezium.time.ZonedTime":              dbzZonedTime,
	"io.debezium.data.VariableScaleDecimal":   dbzVarDecimal,
	"io.debezium.data.Json":                   dbzJSON,
}

func dbzModeOf(fs dbzSchema) dbzMode {
	if fs.Name == "org.apache.kafka.connect.data.Decimal" {
		sc, _ := strconv.Atoi(fs.Parameters["scale"])
		return dbzMode{kind: dbzDecimal, scale: int32(sc)}
	}
	return dbzMode{kind: dbzSemanticKinds[fs.Name]}
}

// setDebezium stores a field encoded by Debezium's semantic type mode.
func (c *conv) setDebezium(sl *slot, v jval, mode dbzMode, sc *scratch) error {
	if v.kind == jNull {
		sl.state = slotNull
		return nil
	}
	switch mode.kind {
	case dbzDays, dbzMillis, dbzMicros, dbzNanos, dbzTimeMillis, dbzTimeMicros, dbzTimeNanos:
		if v.kind != jNumber {
			break
		}
		n, err := strconv.ParseInt(bstr(v.raw), 10, 64)
		if err != nil {
			return c.errf(sqlerr.InvalidTextRepresentation, "expected an integer, got %s", v.raw)
		}
		return c.setTemporal(sl, n, mode.kind, sc)
	case dbzZonedTimestamp, dbzZonedTime:
		if v.kind != jString {
			break
		}
		return c.setZoned(sl, v.str, mode.kind, sc)
	case dbzDecimal:
		if v.kind != jString {
			break
		}
		return c.setConnectDecimal(sl, v.str, mode.scale, sc)
	case dbzVarDecimal:
		if v.kind != jObject {
			break
		}
		var vs struct {
			Scale int32  `json:"scale"`
			Value []byte `json:"value"`
		}
		if err := json.Unmarshal(v.raw, &vs); err != nil {
			return c.errf(sqlerr.InvalidTextRepresentation, "invalid VariableScaleDecimal: %v", err)
		}
		return c.setUnscaled(sl, vs.Value, vs.Scale, sc)
	case dbzJSON:
		if v.kind != jString || c.t.Kind == types.Text {
			break
		}
		return c.setText(sl, v.str, sc)
	}
	return c.setJSON(sl, v, sc)
}

// setTemporal stores an integer of a Debezium time encoding.
func (c *conv) setTemporal(sl *slot, n int64, k dbzKind, sc *scratch) error {
	var us int64
	switch k {
	case dbzDays:
		switch c.st {
		case stDate32:
			sl.i, sl.state = n, slotSet
			return nil
		case stTimestamp:
			sl.i, sl.state = n*types.MicrosPerDay, slotSet
			return nil
		}
		return c.setInt(sl, n, sc)
	case dbzMillis:
		us = n * 1000
	case dbzMicros:
		us = n
	case dbzNanos:
		us = n / 1000
	case dbzTimeMillis, dbzTimeMicros, dbzTimeNanos:
		switch k {
		case dbzTimeMillis:
			us = n * 1000
		case dbzTimeMicros:
			us = n
		default:
			us = n / 1000
		}
		if c.st != stTime64 {
			return c.setInt(sl, n, sc)
		}
		if us < 0 || us > types.MicrosPerDay {
			return c.errf(sqlerr.DatetimeFieldOverflow, "time of day out of range: %d", n)
		}
		sl.i, sl.state = us, slotSet
		return nil
	}
	switch c.st {
	case stTimestamp:
		sl.i, sl.state = us, slotSet
	case stDate32:
		q := us / types.MicrosPerDay
		if us%types.MicrosPerDay < 0 {
			q--
		}
		sl.i, sl.state = q, slotSet
	default:
		return c.setInt(sl, n, sc)
	}
	return nil
}

// setZoned stores Debezium's ZonedTimestamp ("2024-05-01T09:30:00.123456Z",
// any offset, up to nanoseconds) or ZonedTime ("09:30:00.5+02:00"): into
// timestamp, timestamptz, date and time columns as the UTC point or time
// of day, into text columns as sent.
func (c *conv) setZoned(sl *slot, s []byte, k dbzKind, sc *scratch) error {
	if c.t.IsString() {
		return c.setText(sl, s, sc)
	}
	if k == dbzZonedTime {
		if c.st != stTime64 {
			return c.errf(sqlerr.DatatypeMismatch, "cannot store a Debezium ZonedTime in a column of type %s", c.t)
		}
		us, err := parseZonedTime(s)
		if err != nil {
			return c.wrapErr(err)
		}
		sl.i, sl.state = us, slotSet
		return nil
	}
	us, ok := parseTimestampFast(s, true)
	if !ok {
		d, err := types.ParseText(bstr(s), types.TTimestampTZ, time.UTC)
		if err != nil {
			return c.wrapErr(err)
		}
		ts, isTS := d.(types.Timestamp)
		if !isTS {
			return c.errf(sqlerr.InvalidDatetimeFormat, "invalid Debezium ZonedTimestamp %q", s)
		}
		us = int64(ts)
	}
	switch c.st {
	case stTimestamp:
		sl.i, sl.state = us, slotSet
		return nil
	case stDate32:
		q := us / types.MicrosPerDay
		if us%types.MicrosPerDay < 0 {
			q--
		}
		sl.i, sl.state = q, slotSet
		return nil
	}
	return c.errf(sqlerr.DatatypeMismatch, "cannot store a Debezium ZonedTimestamp in a column of type %s", c.t)
}

// parseZonedTime reads HH:MM:SS[.fraction](Z|±HH[:MM]) as microseconds
// after midnight UTC.
func parseZonedTime(s []byte) (int64, error) {
	bad := func() error {
		return sqlerr.New(sqlerr.InvalidDatetimeFormat, "invalid Debezium ZonedTime %q", s)
	}
	if len(s) < 9 || s[2] != ':' || s[5] != ':' {
		return 0, bad()
	}
	h, ok1 := digits2(s[0:2])
	mi, ok2 := digits2(s[3:5])
	se, ok3 := digits2(s[6:8])
	if !(ok1 && ok2 && ok3) || h > 23 || mi > 59 || se > 59 {
		return 0, bad()
	}
	us := int64(h)*types.MicrosPerHour + int64(mi)*types.MicrosPerMinute + int64(se)*types.MicrosPerSecond
	i := 8
	if s[i] == '.' {
		i++
		scale := int64(100000)
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			us += int64(s[i]-'0') * scale // digits past microseconds add 0
			scale /= 10
			i++
		}
		if i == start {
			return 0, bad()
		}
	}
	off, i, ok := zoneOffset(s, i)
	if !ok || i != len(s) {
		return 0, bad()
	}
	us -= int64(off) * types.MicrosPerSecond
	us %= types.MicrosPerDay
	if us < 0 {
		us += types.MicrosPerDay
	}
	return us, nil
}

// setConnectDecimal decodes Kafka Connect's Decimal: the base64 of the
// big-endian two's complement unscaled value.
func (c *conv) setConnectDecimal(sl *slot, b64 []byte, scale int32, sc *scratch) error {
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
	n, err := base64.StdEncoding.Decode(raw, b64)
	if err != nil {
		// decimal.handling.mode=string sends the number as text.
		return c.setText(sl, b64, sc)
	}
	return c.setUnscaled(sl, raw[:n], scale, sc)
}

// setUnscaled stores the big-endian two's complement unscaled value with
// scale into a numeric (or float, or text) column.
func (c *conv) setUnscaled(sl *slot, be []byte, scale int32, sc *scratch) error {
	var bi big.Int
	bi.SetBytes(be)
	if len(be) > 0 && be[0]&0x80 != 0 {
		var full big.Int
		full.Lsh(big.NewInt(1), uint(len(be)*8))
		bi.Sub(&bi, &full)
	}
	var dec apd.Decimal
	dec.Coeff.SetMathBigInt(&bi)
	if bi.Sign() < 0 {
		dec.Coeff.Neg(&dec.Coeff)
		dec.Negative = true
	}
	dec.Exponent = -scale
	return c.setText(sl, []byte(dec.Text('f')), sc)
}
