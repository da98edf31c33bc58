package format

import (
	"encoding/binary"

	"github.com/hamba/avro/v2"

	"streamsql/sql/sqlerr"
)

// FORMAT DEBEZIUM ENCODE AVRO reads the change events of Debezium's Avro
// converter in the Confluent wire format: the value is the envelope
// record
//
//	{"before": ["null", Value], "after": ["null", Value], "source": {...},
//	 "op": "c" | "r" | "u" | "d" | "t", "ts_ms": ..., "transaction": ...}
//
// whose Value record holds the row; its fields go to the columns of their
// names, as with FORMAT PLAIN ENCODE AVRO. The ops mean what they mean in
// Debezium's JSON (debezium.go): c and r insert after, u is an
// UpdateDelete of before and an UpdateInsert of after (an Insert the keyed
// table resolves as an upsert when there is no before image), d deletes
// before; a null value (the tombstone after a delete) carries no row.
// Debezium's own semantic types arrive as their Avro base types (epoch
// numbers, strings) and are read into the column types as in ENCODE AVRO.

// avroDebezium is the state of a Debezium Avro decoder: the before and
// after images of the message being decoded (the op comes after them).
type avroDebezium struct {
	before, after row
	last          wireCache
}

// compileDebezium compiles an envelope schema: before and after are
// (nullable) records of the same row type, op a string.
func compileDebezium(s avro.Schema, m *fieldMatcher) (*avroProg, error) {
	named := map[string]*avroNode{}
	root, err := compileNode(s, named)
	if err != nil {
		return nil, err
	}
	p := &avroProg{root: root, before: -1, after: -1, op: -1}
	rec, ok := s.(*avro.RecordSchema)
	if !ok || root.kind != avRecord {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "a Debezium envelope is an Avro record, not %s", avroKindName(root.kind))
	}
	p.name = rec.FullName()
	for i := range root.fields {
		f := &root.fields[i]
		switch f.name {
		case "before", "after":
			img := imageRecord(f.node)
			if img == nil {
				return nil, sqlerr.New(sqlerr.DatatypeMismatch, "Debezium envelope %s: field %q is not a record or a nullable record", p.name, f.name)
			}
			matchFields(img, m)
			if f.name == "before" {
				p.before = i
			} else {
				p.after = i
			}
		case "op":
			if f.node.kind != avString {
				return nil, sqlerr.New(sqlerr.DatatypeMismatch, "Debezium envelope %s: field \"op\" is not a string", p.name)
			}
			p.op = i
		}
	}
	if p.op < 0 || (p.before < 0 && p.after < 0) {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "schema %s is not a Debezium envelope (it needs \"op\" and \"before\" or \"after\")", p.name)
	}
	return p, nil
}

// imageRecord is the record of a before or after field: the field's
// record, or the record branch of a union with null.
func imageRecord(n *avroNode) *avroNode {
	switch n.kind {
	case avRecord:
		return n
	case avUnion:
		var rec *avroNode
		for _, b := range n.branches {
			switch b.kind {
			case avNull:
			case avRecord:
				if rec != nil {
					return nil
				}
				rec = b
			default:
				return nil
			}
		}
		return rec
	}
	return nil
}

// decodeDebezium decodes one envelope into the staged rows its op says.
func (d *avroDecoder) decodeDebezium(m *Message) error {
	b := m.Value
	if b == nil {
		return nil // the tombstone after a delete
	}
	if len(b) < 5 || b[0] != 0 {
		return sqlerr.New(sqlerr.InvalidBinaryRepresentation, "not an Avro message in the Confluent wire format (magic byte 0 and a 4-byte schema id)")
	}
	id := int32(binary.BigEndian.Uint32(b[1:5]))
	p, err := d.cached(id, &d.dbz.last)
	if err != nil {
		return err
	}
	if d.message != "" && p.name != d.message {
		return sqlerr.New(sqlerr.DatatypeMismatch, "schema %d is record %q, not %q", id, p.name, d.message)
	}
	z := d.dbz
	rd := avroReader{buf: b[5:], d: d.rowDecoder}
	var hasBefore, hasAfter bool
	var op []byte
	for i := range p.root.fields {
		f := &p.root.fields[i]
		switch i {
		case p.before:
			if hasBefore, err = rd.image(f.node, &z.before); err != nil {
				return err
			}
		case p.after:
			if hasAfter, err = rd.image(f.node, &z.after); err != nil {
				return err
			}
		case p.op:
			n, err := rd.long()
			if err != nil {
				return err
			}
			if op, err = rd.take(n); err != nil {
				return err
			}
		default:
			if err := rd.skip(f.node); err != nil {
				return err
			}
		}
	}
	if rd.pos != len(rd.buf) {
		return sqlerr.New(sqlerr.InvalidBinaryRepresentation, "%d bytes after the Avro datum of schema %d", len(rd.buf)-rd.pos, id)
	}
	stage := func(op Op, img *row) { d.stage(op).copyFrom(img) }
	switch {
	case len(op) == 1 && (op[0] == 'c' || op[0] == 'r'):
		if !hasAfter {
			return errMissingField("Debezium", "after")
		}
		stage(Insert, &z.after)
	case len(op) == 1 && op[0] == 'u':
		if !hasAfter {
			return errMissingField("Debezium", "after")
		}
		if hasBefore {
			stage(UpdateDelete, &z.before)
			stage(UpdateInsert, &z.after)
		} else {
			stage(Insert, &z.after)
		}
	case len(op) == 1 && op[0] == 'd':
		if !hasBefore {
			return errMissingField("Debezium", "before")
		}
		stage(Delete, &z.before)
	case len(op) == 1 && op[0] == 't':
		return sqlerr.New(sqlerr.FeatureNotSupported, "Debezium truncate events are not supported")
	default:
		return errUnknownOp("Debezium", string(op))
	}
	return nil
}

// image reads a before or after field into img: false when it is null.
func (r *avroReader) image(n *avroNode, img *row) (bool, error) {
	if n.kind == avUnion {
		idx, err := r.long()
		if err != nil {
			return false, err
		}
		if idx < 0 || int(idx) >= len(n.branches) {
			return false, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "Avro union branch %d out of range", idx)
		}
		n = n.branches[idx]
	}
	if n.kind == avNull {
		return false, nil
	}
	img.clear()
	return true, r.record(n, img)
}
