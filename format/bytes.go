package format

import (
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// ENCODE BYTES stores each message value, as it is, into the one payload
// column of the relation, which must be bytea. A null value (a tombstone)
// carries no row; an empty value is an empty bytea.
type bytesDecoder struct {
	*rowDecoder
	col int
}

func newBytesDecoder(spec Spec, schema Schema) (Decoder, error) {
	rd, err := newRowDecoder(schema, unitGuess)
	if err != nil {
		return nil, err
	}
	d := &bytesDecoder{rowDecoder: rd, col: -1}
	for j, c := range schema.Columns {
		if c.Meta != MetaNone {
			continue
		}
		if d.col >= 0 {
			return nil, sqlerr.New(sqlerr.InvalidTableDefinition, "ENCODE BYTES needs exactly one payload column, found %q and %q", schema.Columns[d.col].Name, c.Name)
		}
		if c.Type.Kind != types.Bytea {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "ENCODE BYTES needs a bytea column, column %q is %s", c.Name, c.Type)
		}
		d.col = j
	}
	if d.col < 0 {
		return nil, sqlerr.New(sqlerr.InvalidTableDefinition, "ENCODE BYTES needs one bytea column for the message value")
	}
	return d, nil
}

// DecodeBatch implements Decoder.
func (d *bytesDecoder) DecodeBatch(msgs []Message, out *Batch) {
	out.decoding(len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if m.Value == nil {
			continue
		}
		i := out.Len()
		out.cols[d.col].put(i, &slot{state: slotSet, b: m.Value})
		d.finishRow(m, out, i, Insert)
	}
}
