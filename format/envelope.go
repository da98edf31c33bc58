package format

import (
	"strings"

	"streamsql/sql/sqlerr"
)

// fieldSet picks named fields out of a JSON object in one walk; other
// fields are validated and skipped. Envelopes (Debezium, Canal, Maxwell)
// use it for their top-level fields and then decode the row images they
// found with the row decoder.
type fieldSet struct {
	names []string
	vals  []jval
	found []bool
}

func newFieldSet(names ...string) fieldSet {
	return fieldSet{names: names, vals: make([]jval, len(names)), found: make([]bool, len(names))}
}

func (f *fieldSet) has(i int) bool { return f.found[i] && f.vals[i].kind != jNull }

// topFields collects the top-level fields names of the JSON object that
// is m's value into d.fields (an envelope decoder reads one format, so
// one name list).
func (d *jsonDecoder) topFields(m *Message, names []string) (*fieldSet, error) {
	if d.fields.names == nil {
		d.fields = newFieldSet(names...)
	}
	f := &d.fields
	s := &d.sn
	s.reset(m.Value, &d.sc)
	if err := f.collect(s); err != nil {
		return nil, err
	}
	return f, s.atEnd()
}

// ddlEvent records the schema changes of the MySQL DDL in field sql of an
// envelope (database, when present, names the database its statements
// default to).
func (d *jsonDecoder) ddlEvent(m *Message, out *Batch, f *fieldSet, sql, database int, format string) error {
	if !f.has(sql) {
		return errMissingField(format, f.names[sql])
	}
	db := ""
	if f.has(database) {
		db = string(f.vals[database].str)
	}
	return d.schemaChanges(m, out, string(f.vals[sql].str), db)
}

// collect walks the object at s.
func (f *fieldSet) collect(s *jsonScanner) error {
	for i := range f.found {
		f.found[i] = false
		f.vals[i] = jval{}
	}
	if err := s.objectStart(); err != nil {
		return err
	}
	var err error
	for key := range s.members(&err) {
		idx := -1
		for i, n := range f.names {
			if n == bstr(key) {
				idx = i
				break
			}
		}
		if idx < 0 {
			if err := s.skip(0); err != nil {
				return err
			}
			continue
		}
		v, err := s.value()
		if err != nil {
			return err
		}
		f.vals[idx], f.found[idx] = v, true
	}
	return err
}

// updatePair completes an update whose new image (data) is row i of out:
// row i becomes the UpdateDelete of the old image, data with the fields
// of old (the previous values of the changed columns, Canal's and
// Maxwell's "old"; nil for none) laid over it, and row i+1 the
// UpdateInsert of data. Each image was read once: the columns old does
// not name copy row i into row i+1, the others move data's value down a
// row and put old's in its place.
func (d *jsonDecoder) updatePair(m *Message, out *Batch, i int, old *row) {
	d.finishRow(m, out, i, UpdateDelete)
	for j := range out.cols {
		c := &out.cols[j]
		if old == nil || old.slots[j].state == slotAbsent {
			c.dupLast()
			continue
		}
		nv := c.slotAt(i, &d.sc)
		c.truncate(i)
		c.append(&old.slots[j])
		c.append(&nv)
	}
	out.ops = append(out.ops, UpdateInsert)
}

// oldImage decodes the JSON object at s (an "old" element) into the
// staging row of old images.
func (d *jsonDecoder) oldImage(s *jsonScanner) (*row, error) {
	if d.oldRow.slots == nil {
		d.oldRow = newRow(len(d.schema.Columns))
	}
	d.oldRow.clear()
	if err := d.decodeObject(s, &d.oldRow); err != nil {
		return nil, prefixErr(err, "old")
	}
	return &d.oldRow, nil
}

// decodeImage decodes a row image (a JSON object) into r.
func (d *jsonDecoder) decodeImage(raw []byte, r *row, what string) error {
	var s jsonScanner
	s.reset(raw, &d.sc)
	if err := d.decodeObject(&s, r); err != nil {
		return prefixErr(err, what)
	}
	return nil
}

func prefixErr(err error, what string) error {
	if e, ok := err.(*sqlerr.Error); ok {
		cp := *e
		cp.Message = what + ": " + e.Message
		return &cp
	}
	return err
}

// schemaChanges parses ddl and records its column changes in out.
func (d *jsonDecoder) schemaChanges(m *Message, out *Batch, ddl, database string) error {
	changes, err := d.ddl.parse(ddl, database)
	if err != nil {
		return err
	}
	for _, c := range changes {
		c.Partition, c.Offset = m.Partition, m.Offset
		if d.autoSchema {
			switch d.reflects(c) {
			case changeReflected:
				continue
			case changeUnsupported:
				out.reject(m, sqlerr.New(sqlerr.FeatureNotSupported, "upstream schema change not applied: %s: changing a column's type is not supported", c))
				continue
			}
		}
		out.SchemaChanges = append(out.SchemaChanges, c)
	}
	return nil
}

// What auto.schema.change does with a change (reflects).
const (
	changeApply = iota
	changeReflected
	changeUnsupported
)

// reflects says whether the decoder's schema already has change c (the
// DDL event is read again after it was applied, or names a column the
// table does not take), needs it applied, or cannot take it. Column names
// match as MySQL's do, case-insensitively.
func (d *jsonDecoder) reflects(c SchemaChange) int {
	col := func(name string) int {
		for j, sc := range d.schema.Columns {
			if sc.Meta == MetaNone && strings.EqualFold(sc.Name, name) {
				return j
			}
		}
		return -1
	}
	switch c.Kind {
	case AddColumn:
		if col(c.Column) >= 0 {
			return changeReflected
		}
	case DropColumn:
		if col(c.Column) < 0 {
			return changeReflected
		}
	case RenameColumn:
		if col(c.Column) < 0 && col(c.NewName) >= 0 {
			return changeReflected
		}
	case ModifyColumn:
		j := col(c.Column)
		if j < 0 || d.schema.Columns[j].Type.Equal(c.Type) {
			return changeReflected
		}
		return changeUnsupported
	}
	return changeApply
}

func errUnknownOp(format, op string) error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "unknown %s event type %q", format, op)
}

func errMissingField(format, field string) error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "%s event has no %q", format, field)
}
