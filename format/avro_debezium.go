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

// decodeDebezium decodes one envelope. The row images go straight into
// the columns, as the next rows of out in the order the envelope holds
// them; their ops are set once op, which comes after them, is read. An
// event whose images are not in the order its op takes them (an image the
// op does not use, after before before in the writer schema) is decoded
// again through staging rows; Debezium writes none of these.
func (d *avroDecoder) decodeDebezium(m *Message, out *Batch) error {
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
	mark := out.Len()
	ev, err := d.debeziumWalk(b[5:], id, p, m, out, nil)
	if err != nil {
		return err
	}
	pl, err := ev.plan()
	if err != nil {
		return err
	}
	if ev.setOps(pl, out.ops[mark:]) {
		return nil
	}
	out.truncate(mark)
	d.begin()
	z := d.dbz
	if _, err := d.debeziumWalk(b[5:], id, p, m, nil, z); err != nil {
		return err
	}
	if pl.before {
		d.stage(pl.beforeOp).copyFrom(&z.before)
	}
	if pl.after {
		d.stage(pl.afterOp).copyFrom(&z.after)
	}
	d.commit(m, out)
	return nil
}

// debeziumWalk reads the envelope datum b of schema id: each non-null
// image as the next row of out (an Insert until the op is known), or,
// with out nil, into the staging rows of z.
func (d *avroDecoder) debeziumWalk(b []byte, id int32, p *avroProg, m *Message, out *Batch, z *avroDebezium) (dbzImages, error) {
	var ev dbzImages
	rd := avroReader{buf: b, d: d.rowDecoder}
	image := func(n *avroNode, img *row) (bool, error) {
		if out == nil {
			return rd.image(n, rowDst{row: img}, nil, nil)
		}
		return rd.image(n, rowDst{out: out, i: out.Len()}, d.rowDecoder, m)
	}
	var err error
	for i := range p.root.fields {
		f := &p.root.fields[i]
		switch i {
		case p.before:
			var img *row
			if z != nil {
				img = &z.before
			}
			if ev.hasBefore, err = image(f.node, img); err != nil {
				return ev, err
			}
		case p.after:
			var img *row
			if z != nil {
				img = &z.after
			}
			if ev.hasAfter, err = image(f.node, img); err != nil {
				return ev, err
			}
			ev.afterFirst = ev.hasAfter && !ev.hasBefore
		case p.op:
			n, err := rd.long()
			if err != nil {
				return ev, err
			}
			if ev.op, err = rd.take(n); err != nil {
				return ev, err
			}
		default:
			if err := rd.skip(f.node); err != nil {
				return ev, err
			}
		}
	}
	if rd.pos != len(rd.buf) {
		return ev, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "%d bytes after the Avro datum of schema %d", len(rd.buf)-rd.pos, id)
	}
	return ev, nil
}

// image reads a before or after field into dst: false when it is null.
// A row of a batch is completed (fin, with the metadata columns of m).
func (r *avroReader) image(n *avroNode, dst rowDst, fin *rowDecoder, m *Message) (bool, error) {
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
	if dst.out == nil {
		dst.row.clear()
		return true, r.record(n, dst)
	}
	if err := r.record(n, dst); err != nil {
		return true, err
	}
	fin.finishRow(m, dst.out, dst.i, Insert) // the op follows
	return true, nil
}
