package format

import (
	"streamsql/sql/sqlerr"
)

// jsonDecoder decodes ENCODE JSON messages under one of the envelopes.
type jsonDecoder struct {
	*rowDecoder
	format string
	sn     jsonScanner
	pk     []int
	keyRow row
	// oldRow holds the "old" image of a Canal or Maxwell update.
	oldRow row
	// envelope state of FORMAT DEBEZIUM (the last schema seen).
	dbz debeziumState
	// top-level fields of FORMAT CANAL and MAXWELL events.
	fields fieldSet
	ddl    mysqlDDL
	// autoSchema: auto.schema.change is on (see applySchemaChanges).
	autoSchema bool
}

func newJSONDecoder(spec Spec, schema Schema) (Decoder, error) {
	unit := unitGuess
	mode, err := optChoice(spec, "timestamptz.handling.mode", "guess_number_unit", "guess_number_unit", "milli", "micro", "second", "nano")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "milli":
		unit = unitMilli
	case "micro":
		unit = unitMicro
	case "second":
		unit = unitSecond
	case "nano":
		unit = unitNano
	}
	rd, err := newRowDecoder(schema, unit)
	if err != nil {
		return nil, err
	}
	d := &jsonDecoder{rowDecoder: rd, format: spec.Format, pk: schema.PrimaryKey, keyRow: newRow(len(schema.Columns))}
	if d.autoSchema, err = optBool(spec, "auto.schema.change", false); err != nil {
		return nil, err
	}
	if spec.NeedsPrimaryKey() && len(schema.PrimaryKey) == 0 {
		e := sqlerr.New(sqlerr.InvalidTableDefinition, "FORMAT %s needs a primary key", spec.Format)
		if spec.Format == "UPSERT" {
			return nil, e.WithHint("Declare PRIMARY KEY (...) on the table; the message key holds its value.")
		}
		return nil, e.WithHint("Declare PRIMARY KEY (...) on the table: its updates and deletes find rows by key.")
	}
	if spec.Format == "UPSERT" {
		for _, k := range schema.PrimaryKey {
			if schema.Columns[k].Meta != MetaNone && schema.Columns[k].Meta != MetaKey {
				return nil, sqlerr.New(sqlerr.InvalidTableDefinition, "primary key column %q of FORMAT UPSERT cannot be INCLUDE %s", schema.Columns[k].Name, metaName(schema.Columns[k].Meta))
			}
		}
	}
	return d, nil
}

// DecodeBatch implements Decoder. Every format decodes straight into the
// columns of out: a message that fails half-way is cut off the columns
// again (Batch.truncate), so it adds nothing. Rows staged by the rare
// Debezium events that need two passes are appended once they decoded
// (rowDecoder.commit).
func (d *jsonDecoder) DecodeBatch(msgs []Message, out *Batch) {
	out.decoding(len(msgs))
	if d.format == "PLAIN" {
		d.decodeEach(msgs, out, d.plain)
		return
	}
	for i := range msgs {
		m := &msgs[i]
		d.begin()
		mark := out.Len()
		nChanges, nRejects := len(out.SchemaChanges), len(out.Rejects)
		var err error
		switch d.format {
		case "UPSERT":
			err = d.upsert(m, out)
		case "DEBEZIUM":
			err = d.debezium(m, out)
		case "CANAL":
			err = d.canal(m, out)
		case "MAXWELL":
			err = d.maxwell(m, out)
		}
		if err != nil {
			out.truncate(mark)
			out.reject(m, err)
			continue
		}
		if d.autoSchema && len(out.SchemaChanges) > nChanges {
			// A DDL event to apply: the messages after it need the new
			// shape. It is consumed alone, as the first message of a call.
			out.Stopped = true
			if i > 0 {
				out.SchemaChanges = out.SchemaChanges[:nChanges]
				out.Rejects = out.Rejects[:nRejects]
				out.Consumed = i
			} else {
				out.Consumed = 1
			}
			return
		}
		d.commit(m, out)
	}
}

// isNullValue reports whether a message value is absent or the JSON null.
func isNullValue(b []byte) bool {
	for i, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		rest := b[i:]
		if len(rest) < 4 || string(rest[:4]) != "null" {
			return false
		}
		for _, c := range rest[4:] {
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
		}
		return true
	}
	return true
}

// plain decodes one JSON object, or an array of objects, into inserts. An
// empty or null message carries no row.
func (d *jsonDecoder) plain(m *Message, out *Batch) error {
	if isNullValue(m.Value) {
		return nil
	}
	s := &d.sn
	s.reset(m.Value, &d.sc)
	s.skipWS()
	if s.pos < len(s.data) && s.data[s.pos] == '[' {
		s.pos++
		var err error
		for range s.elements(&err) {
			if err := d.objectInto(s, m, out); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
	} else if err := d.objectInto(s, m, out); err != nil {
		return err
	}
	return s.atEnd()
}

// upsert decodes FORMAT UPSERT: the value is the new row (an Insert the
// table resolves by primary key), a null value deletes the row whose key
// the message key holds. Key columns missing from the value are taken from
// the message key: a JSON object with the key columns, or, for a one-column
// key, a bare JSON value or text.
func (d *jsonDecoder) upsert(m *Message, out *Batch) error {
	i := out.Len()
	if isNullValue(m.Value) {
		return d.deleteByKey(m, out, i, d.pk, d.keyInto)
	}
	s := &d.sn
	s.reset(m.Value, &d.sc)
	if err := d.fieldsInto(s, out, i); err != nil {
		return err
	}
	if err := s.atEnd(); err != nil {
		return err
	}
	if keyAbsentAt(d.pk, out, i) && len(m.Key) > 0 {
		if err := d.keyInto(m, out, i); err != nil {
			return err
		}
	}
	if err := d.checkKeyAt(d.pk, out, i); err != nil {
		return err
	}
	d.finishRow(m, out, i, Insert)
	return nil
}

// keyInto fills the primary key columns that row i of out still lacks
// from the message key.
func (d *jsonDecoder) keyInto(m *Message, out *Batch, i int) error {
	if len(m.Key) == 0 {
		return errNoKey()
	}
	kr := &d.keyRow
	kr.clear()
	var s jsonScanner
	s.reset(m.Key, &d.sc)
	s.skipWS()
	switch {
	case s.pos < len(s.data) && s.data[s.pos] == '{':
		if err := d.decodeObject(&s, kr); err != nil {
			return wrapKeyErr(err)
		}
		if err := s.atEnd(); err != nil {
			return wrapKeyErr(err)
		}
	case len(d.pk) == 1:
		k := d.pk[0]
		v, err := s.value()
		if err == nil {
			err = s.atEnd()
		}
		if err == nil {
			err = d.convs[k].setJSON(&kr.slots[k], v, &d.sc)
		} else {
			// Not JSON: the key is the value's text.
			kr.slots[k] = slot{}
			err = d.convs[k].setText(&kr.slots[k], m.Key, &d.sc)
		}
		if err != nil {
			return wrapKeyErr(err)
		}
	default:
		return sqlerr.New(sqlerr.InvalidTextRepresentation, "message key must be a JSON object with the %d primary key columns", len(d.pk))
	}
	for _, k := range d.pk {
		if out.cols[k].n == i && kr.slots[k].state != slotAbsent {
			out.cols[k].put(i, &kr.slots[k])
		}
	}
	return nil
}
