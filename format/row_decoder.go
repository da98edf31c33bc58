package format

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// rowDecoder holds what every encoding shares: the column converters, the
// field-name matcher, the staging rows of the message being decoded and
// the INCLUDE'd metadata columns.
type rowDecoder struct {
	schema Schema
	convs  []conv
	match  fieldMatcher
	// modes, when set, say how each column is encoded by a Debezium schema.
	modes []dbzMode
	meta  []int // indexes of metadata columns
	sc    scratch
	// pending holds the staged rows of the current message; they reach the
	// batch only when the whole message decoded.
	pending []row
	ops     []Op
	npend   int
}

func newRowDecoder(schema Schema, unit numUnit) (*rowDecoder, error) {
	d := &rowDecoder{schema: schema, convs: make([]conv, len(schema.Columns))}
	d.match.init(schema)
	for j, c := range schema.Columns {
		d.convs[j] = newConv(c, unit)
		if c.Meta != MetaNone {
			if err := checkMetaType(c); err != nil {
				return nil, err
			}
			d.meta = append(d.meta, j)
		}
	}
	return d, nil
}

// decodeEach decodes msgs one by one through decode, straight into the
// columns of out: a message that fails half-way is cut off the columns
// again (Batch.truncate) and rejected, so it adds nothing.
func (d *rowDecoder) decodeEach(msgs []Message, out *Batch, decode func(*Message, *Batch) error) {
	for i := range msgs {
		m := &msgs[i]
		d.sc.reset()
		mark := out.Len()
		if err := decode(m, out); err != nil {
			out.truncate(mark)
			out.reject(m, err)
		}
	}
}

// begin starts a new message.
func (d *rowDecoder) begin() {
	d.sc.reset()
	d.npend = 0
	d.ops = d.ops[:0]
}

// stage returns a cleared staging row for the next output row with op.
func (d *rowDecoder) stage(op Op) *row {
	if d.npend == len(d.pending) {
		d.pending = append(d.pending, newRow(len(d.schema.Columns)))
	}
	r := &d.pending[d.npend]
	r.clear()
	d.npend++
	d.ops = append(d.ops, op)
	return r
}

// commit fills the metadata columns of the staged rows and appends them.
func (d *rowDecoder) commit(m *Message, out *Batch) {
	for i := 0; i < d.npend; i++ {
		r := &d.pending[i]
		for _, j := range d.meta {
			d.fillMeta(m, j, &r.slots[j])
		}
		out.appendRow(r, d.ops[i])
	}
}

func checkMetaType(c Column) error {
	ok := false
	k := c.Type.Kind
	switch c.Meta {
	case MetaPartition:
		ok = c.Type.IsInteger() || c.Type.IsString()
	case MetaOffset:
		ok = k == types.Int8 || k == types.Numeric || c.Type.IsString()
	case MetaTimestamp:
		ok = k == types.TimestampTZ || k == types.TimestampKind || k == types.Int8
	case MetaKey:
		ok = k == types.Bytea || k == types.JSONB || c.Type.IsString()
	case MetaHeader:
		ok = k == types.Bytea || c.Type.IsString()
	}
	if !ok {
		return sqlerr.New(sqlerr.DatatypeMismatch, "column %q of type %s cannot hold INCLUDE %s", c.Name, c.Type, metaName(c.Meta))
	}
	return nil
}

func metaName(m Meta) string {
	switch m {
	case MetaPartition:
		return "partition"
	case MetaOffset:
		return "offset"
	case MetaTimestamp:
		return "timestamp"
	case MetaKey:
		return "key"
	case MetaHeader:
		return "header"
	}
	return "payload"
}

// fillMeta sets a metadata column from the message coordinates. Values that
// do not fit (a key that is not UTF-8 for a text column) become NULL rather
// than losing the row.
func (d *rowDecoder) fillMeta(m *Message, j int, sl *slot) {
	c := &d.convs[j]
	col := &d.schema.Columns[j]
	*sl = slot{}
	var err error
	switch col.Meta {
	case MetaPartition:
		err = c.setInt(sl, int64(m.Partition), &d.sc)
	case MetaOffset:
		err = c.setInt(sl, m.Offset, &d.sc)
	case MetaTimestamp:
		if m.Timestamp.IsZero() {
			return
		}
		if c.st == stTimestamp {
			sl.i, sl.state = m.Timestamp.UnixMicro(), slotSet
		} else {
			err = c.setInt(sl, m.Timestamp.UnixMilli(), &d.sc)
		}
	case MetaKey:
		d.setBytes(c, sl, m.Key)
	case MetaHeader:
		for i := len(m.Headers) - 1; i >= 0; i-- {
			if m.Headers[i].Key == col.Header {
				d.setBytes(c, sl, m.Headers[i].Value)
				break
			}
		}
	}
	if err != nil {
		*sl = slot{}
	}
}

// setBytes stores raw bytes (a key, a header) into a bytea, text or jsonb
// column; bytes that are not valid for the type leave NULL.
func (d *rowDecoder) setBytes(c *conv, sl *slot, b []byte) {
	if b == nil {
		return
	}
	switch {
	case c.st == stBinary:
		sl.b, sl.state = b, slotSet
	case c.t.Kind == types.JSONB:
		if n, err := types.NormalizeJSONB(bstr(b)); err == nil {
			sl.b, sl.state = d.sc.addString(n), slotSet
		}
	default:
		if utf8.Valid(b) {
			if err := c.setText(sl, b, &d.sc); err != nil {
				*sl = slot{}
			}
		}
	}
}

// fieldMatcher maps a field name of the message to a column: exact match
// first, then case-insensitive, as RisingWave matches JSON keys. Fields
// usually come in the same order in every message, so the column after the
// last match is tried first.
type fieldMatcher struct {
	names   []string
	payload []bool
	// raw says that the column's name is spelled the same inside a JSON
	// string (no quote, backslash or control character), so that a key
	// can be compared with it before it is read (see expectKey).
	raw []bool
	// pats are the raw names as compact JSON spells a key, `"name":`, in
	// words for a comparison eight bytes at a time (keyPat).
	pats []keyPat
	hint int
	// first is the first payload column: the expected first key of an
	// object.
	first int
}

// keyPat is a key as compact JSON spells it, `"name":`, in little-endian
// words with a mask for the last, partial one; n is its length, 0 when it
// is longer than the words hold.
type keyPat struct {
	w, m [4]uint64
	n    int
}

func newKeyPat(name string) keyPat {
	var p keyPat
	s := `"` + name + `":`
	if len(s) > 8*len(p.w) {
		return p
	}
	for i := 0; i < len(s); i++ {
		p.w[i/8] |= uint64(s[i]) << (8 * (i % 8))
		p.m[i/8] |= 0xff << (8 * (i % 8))
	}
	p.n = len(s)
	return p
}

func (m *fieldMatcher) init(s Schema) {
	m.names = make([]string, len(s.Columns))
	m.payload = make([]bool, len(s.Columns))
	m.raw = make([]bool, len(s.Columns))
	m.first = len(s.Columns)
	for j, c := range s.Columns {
		m.names[j] = c.Name
		m.payload[j] = c.Meta == MetaNone
		m.raw[j] = c.Meta == MetaNone && c.Name != "" && !strings.ContainsFunc(c.Name, func(r rune) bool {
			return r == '"' || r == '\\' || r < 0x20
		})
		if m.payload[j] && m.first == len(s.Columns) {
			m.first = j
		}
		if m.raw[j] {
			m.pats = append(m.pats, newKeyPat(c.Name))
		} else {
			m.pats = append(m.pats, keyPat{})
		}
	}
}

// expected returns the name of the column the next key most likely names
// (the one after the last match), if it can be compared raw.
func (m *fieldMatcher) expected() (string, int, bool) {
	h := m.hint
	if h < len(m.names) && m.raw[h] {
		return m.names[h], h, true
	}
	return "", -1, false
}

func (m *fieldMatcher) lookup(key []byte) int {
	k := bstr(key)
	if h := m.hint; h < len(m.names) && m.names[h] == k && m.payload[h] {
		m.hint = h + 1
		return h
	}
	for j, n := range m.names {
		if n == k && m.payload[j] {
			m.hint = j + 1
			return j
		}
	}
	for j, n := range m.names {
		if m.payload[j] && strings.EqualFold(n, k) {
			m.hint = j + 1
			return j
		}
	}
	return -1
}

// nextField reads the next key of the JSON object at the scanner and
// returns its column (-1 for a field no column takes); more is false at
// the end of the object. Fields usually come in the order of the
// columns: the expected key is compared in place, without reading it as a
// string first.
func (d *rowDecoder) nextField(s *jsonScanner, first bool) (j int, more bool, err error) {
	if name, h, ok := d.match.expected(); ok && (s.expectKeyPat(first, &d.match.pats[h]) || s.expectKey(first, name)) {
		d.match.hint = h + 1
		return h, true, nil
	}
	key, ok, err := s.nextKey(first)
	if err != nil || !ok {
		return -1, false, err
	}
	return d.match.lookup(key), true, nil
}

// decodeObject walks the JSON object at the scanner into r.
func (d *rowDecoder) decodeObject(s *jsonScanner, r *row) error {
	if err := s.objectStart(); err != nil {
		return err
	}
	for first := true; ; first = false {
		j, more, err := d.nextField(s, first)
		if err != nil || !more {
			return err
		}
		if j < 0 {
			if err := s.skip(0); err != nil {
				return err
			}
			continue
		}
		v, err := s.value()
		if err != nil {
			return err
		}
		if d.modes != nil && d.modes[j].kind != dbzPlain {
			err = d.convs[j].setDebezium(&r.slots[j], v, d.modes[j], &d.sc)
		} else {
			err = d.convs[j].setJSON(&r.slots[j], v, &d.sc)
		}
		if err != nil {
			return err
		}
	}
}

// objectInto decodes the JSON object at the scanner as the next row of
// out, an insert, writing each field straight into its column; the
// metadata columns come from m. On an error the row may be half-written:
// the caller truncates it.
func (d *rowDecoder) objectInto(s *jsonScanner, m *Message, out *Batch) error {
	i := out.Len()
	if err := d.fieldsInto(s, out, i); err != nil {
		return err
	}
	d.finishRow(m, out, i, Insert)
	return nil
}

// fieldsInto decodes the JSON object at the scanner into row i of out,
// the row being written (the last one), field by field straight into the
// columns, under the Debezium modes when there are any. A field the row
// already has is overwritten: an object that names a field twice, or an
// envelope's old image laid over its new one. The columns it does not
// name stay as they are; finishRow completes the row.
func (d *rowDecoder) fieldsInto(s *jsonScanner, out *Batch, i int) error {
	if err := s.objectStart(); err != nil {
		return err
	}
	d.match.hint = d.match.first
	var sl slot
	for first := true; ; first = false {
		j, more, err := d.nextField(s, first)
		if err != nil || !more {
			return err
		}
		if j < 0 {
			if err := s.skip(0); err != nil {
				return err
			}
			continue
		}
		col, cv := &out.cols[j], &d.convs[j]
		if cv.fast != fastNone && col.n == i && (d.modes == nil || d.modes[j].kind == dbzPlain) && col.valueFast(s, cv) {
			continue
		}
		v, err := s.value()
		if err != nil {
			return err
		}
		sl.state = slotAbsent
		if d.modes != nil && d.modes[j].kind != dbzPlain {
			err = cv.setDebezium(&sl, v, d.modes[j], &d.sc)
		} else if col.n == i && col.putFast(v, cv) {
			continue
		} else {
			err = cv.setJSON(&sl, v, &d.sc)
		}
		if err != nil {
			return err
		}
		col.put(i, &sl)
	}
}

// finishRow completes row i of out with op: the metadata columns from m,
// NULL in the columns no field named.
func (d *rowDecoder) finishRow(m *Message, out *Batch, i int, op Op) {
	var sl slot
	for _, j := range d.meta {
		d.fillMeta(m, j, &sl)
		out.cols[j].put(i, &sl)
	}
	out.endRow(i, op)
}

// imageInto decodes a row image (the raw JSON object of an envelope's
// field) into row i of out; what names the field in errors.
func (d *rowDecoder) imageInto(raw []byte, out *Batch, i int, what string) error {
	var s jsonScanner
	s.reset(raw, &d.sc)
	if err := d.fieldsInto(&s, out, i); err != nil {
		return prefixErr(err, what)
	}
	return nil
}

// keyAbsentAt says whether row i of out lacks a value for a primary key
// column (a field the message did not have; an explicit null is a value).
func keyAbsentAt(pk []int, out *Batch, i int) bool {
	for _, k := range pk {
		if out.cols[k].n == i {
			return true
		}
	}
	return false
}

// deleteByKey writes row i of out as the Delete that FORMAT UPSERT's
// null value means: of the row whose primary key pk keyInto reads from
// the message key.
func (d *rowDecoder) deleteByKey(m *Message, out *Batch, i int, pk []int, keyInto func(*Message, *Batch, int) error) error {
	if err := keyInto(m, out, i); err != nil {
		return err
	}
	if err := d.checkKeyAt(pk, out, i); err != nil {
		return err
	}
	d.finishRow(m, out, i, Delete)
	return nil
}

// checkKeyAt rejects row i of out without a complete primary key.
func (d *rowDecoder) checkKeyAt(pk []int, out *Batch, i int) error {
	for _, k := range pk {
		if !out.cols[k].isSet(i) {
			return sqlerr.New(sqlerr.NotNullViolation, "upsert message has no value for primary key column %q", d.schema.Columns[k].Name)
		}
	}
	return nil
}

// setJSON stores a JSON value into the column.
func (c *conv) setJSON(sl *slot, v jval, sc *scratch) error {
	if v.kind == jNull {
		sl.state = slotNull
		return nil
	}
	if c.t.Kind == types.JSONB {
		if v.kind == jString && !hasEscapeOrHigh(v.raw) || v.kind == jTrue || v.kind == jFalse {
			sl.b, sl.state = v.raw, slotSet
			return nil
		}
		n, err := types.NormalizeJSONB(bstr(v.raw))
		if err != nil {
			return c.wrapErr(err)
		}
		sl.b, sl.state = sc.addString(n), slotSet
		return nil
	}
	switch v.kind {
	case jString:
		if c.st == stBinary {
			n := base64.StdEncoding.DecodedLen(len(v.str))
			start := len(sc.buf)
			sc.buf = append(sc.buf, make([]byte, n)...)
			w, err := base64.StdEncoding.Decode(sc.buf[start:], v.str)
			if err != nil {
				sc.buf = sc.buf[:start]
				return c.errf(sqlerr.InvalidTextRepresentation, "invalid base64 for type bytea: %v", err)
			}
			sc.buf = sc.buf[:start+w]
			sl.b, sl.state = sc.buf[start:start+w:start+w], slotSet
			return nil
		}
		return c.setText(sl, v.str, sc)
	case jNumber:
		return c.setNumber(sl, v.raw, sc)
	case jTrue, jFalse:
		if c.st == stBool {
			sl.i, sl.state = 0, slotSet
			if v.kind == jTrue {
				sl.i = 1
			}
			return nil
		}
	case jArray:
		if c.t.Kind == types.Array {
			return c.setArray(sl, v.raw, sc)
		}
	}
	return c.errf(sqlerr.DatatypeMismatch, "expected %s, got a JSON %s", c.t, v.kind)
}

func hasEscapeOrHigh(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c >= 0x80 {
			return true
		}
	}
	return false
}

// setNumber stores a JSON number.
func (c *conv) setNumber(sl *slot, raw []byte, sc *scratch) error {
	switch c.st {
	case stInt16, stInt32, stInt64:
		if v, ok := parseIntFast(raw); ok && c.intInRange(v) {
			sl.i, sl.state = v, slotSet
			return nil
		}
		return c.setText(sl, raw, sc) // the input function gives the precise error
	case stFloat32, stFloat64:
		return c.setText(sl, raw, sc)
	case stTimestamp:
		n, err := strconv.ParseInt(bstr(raw), 10, 64)
		if err != nil {
			return c.errf(sqlerr.InvalidDatetimeFormat, "a number for type %s must be an integer epoch, got %s", c.t, raw)
		}
		ts, err := c.epochToTimestamp(n, c.unit)
		if err != nil {
			return err
		}
		sl.i, sl.state = ts, slotSet
		return nil
	case stDate32:
		n, err := strconv.ParseInt(bstr(raw), 10, 32)
		if err != nil {
			return c.errf(sqlerr.InvalidDatetimeFormat, "a number for type date must be whole days since 1970-01-01, got %s", raw)
		}
		sl.i, sl.state = n, slotSet
		return nil
	}
	if c.t.Kind == types.Numeric {
		return c.setText(sl, raw, sc)
	}
	return c.errf(sqlerr.DatatypeMismatch, "expected %s, got a JSON number", c.t)
}

// setArray stores a JSON array into an array column, in PostgreSQL's array
// text form ({1,2,NULL}), each element by the element type's input rules.
func (c *conv) setArray(sl *slot, raw []byte, sc *scratch) error {
	elem := types.TText
	if c.t.Elem != nil {
		elem = *c.t.Elem
	}
	ec := conv{name: c.name, t: elem, st: storageOf(elem), unit: c.unit}
	var s jsonScanner
	var esc scratch
	s.reset(raw, &esc)
	if err := s.arrayStart(); err != nil {
		return err
	}
	out := append(sc.buf[len(sc.buf):], '{')
	var err error
	for i := range s.elements(&err) {
		v, err := s.value()
		if err != nil {
			return err
		}
		if i > 0 {
			out = append(out, ',')
		}
		var es slot
		if err := ec.setJSON(&es, v, &esc); err != nil {
			return err
		}
		if es.state != slotSet {
			out = append(out, "NULL"...)
			continue
		}
		out = appendArrayElem(out, ec.format(&es))
	}
	if err != nil {
		return err
	}
	out = append(out, '}')
	sl.b, sl.state = sc.add(out), slotSet
	return nil
}

// format renders a staged value as its SQL text (for array elements).
func (c *conv) format(sl *slot) string {
	var d types.Datum
	switch c.st {
	case stBool:
		d = sl.i != 0
	case stInt16, stInt32, stInt64:
		d = sl.i
	case stFloat32, stFloat64:
		d = sl.f
	case stString:
		return string(sl.b)
	case stBinary:
		d = sl.b
	case stDate32:
		d = types.Date(sl.i)
	case stTime64:
		d = types.TimeOfDay(sl.i)
	case stTimestamp:
		d = types.Timestamp(sl.i)
	case stInterval:
		d = types.IntervalValue{Months: sl.iv.Months, Days: sl.iv.Days, Micros: sl.iv.Nanoseconds / 1000}
	}
	return types.FormatText(d, c.t, nil)
}

// appendArrayElem quotes an array element as array_out does.
func appendArrayElem(buf []byte, s string) []byte {
	if s != "" && !strings.ContainsAny(s, "{},\"\\ \t\n\r\v\f") && !strings.EqualFold(s, "null") {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			buf = append(buf, '\\')
		}
		buf = append(buf, s[i])
	}
	return append(buf, '"')
}

// FORMAT UPSERT takes the primary key from the message value and, for the
// key columns the value lacks, from the message key; a delete (a null
// value) has only the key. Both encodings do so in the columns
// (keyAbsentAt, checkKeyAt).

func errNoKey() error {
	return sqlerr.New(sqlerr.NotNullViolation, "upsert message has neither a key nor the primary key in its value")
}

// wrapKeyErr says that err is about the message key.
func wrapKeyErr(err error) error {
	if e, ok := err.(*sqlerr.Error); ok {
		cp := *e
		cp.Message = "message key: " + e.Message
		return &cp
	}
	return err
}
