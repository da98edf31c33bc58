package format

import (
	"unicode/utf8"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// ENCODE CSV reads each message as one or more CSV records (RFC 4180: a
// delimiter between fields, fields optionally quoted, a doubled quote for a
// quote inside, line breaks inside quotes kept). An empty unquoted field is
// NULL, "" is the empty string. Fields are read by the column types' input
// functions, as COPY reads text.
//
// Options: delimiter (one character, default ','), quote (one character,
// default '"'), without_header (default 'true': fields are the payload
// columns in order; 'false': the first record the decoder sees names the
// columns, matched as JSON keys are, and unknown names are skipped).
type csvDecoder struct {
	*rowDecoder
	delim, quote byte
	header       bool
	// cols maps a field position to a column (-1: skipped); set from the
	// header, or the payload columns in order.
	cols     []int
	haveCols bool
	fields   [][]byte
	quoted   []bool
}

func newCSVDecoder(spec Spec, schema Schema) (Decoder, error) {
	rd, err := newRowDecoder(schema, unitGuess)
	if err != nil {
		return nil, err
	}
	d := &csvDecoder{rowDecoder: rd, delim: ',', quote: '"'}
	for _, o := range []struct {
		name string
		dst  *byte
	}{{"delimiter", &d.delim}, {"quote", &d.quote}} {
		v, ok := spec.Options[o.name]
		if !ok {
			continue
		}
		if v == `\t` {
			v = "\t"
		}
		if len(v) != 1 || v[0] == '\n' || v[0] == '\r' {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "CSV %s must be a single one-byte character, got %q", o.name, v)
		}
		*o.dst = v[0]
	}
	if d.delim == d.quote {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "CSV delimiter and quote must be different")
	}
	without, err := optBool(spec, "without_header", true)
	if err != nil {
		return nil, err
	}
	d.header = !without
	if !d.header {
		for j, c := range schema.Columns {
			if c.Meta == MetaNone {
				d.cols = append(d.cols, j)
			}
		}
		d.haveCols = true
	}
	return d, nil
}

// DecodeBatch implements Decoder. Records decode straight into the
// columns of out; a message one of whose records fails is cut off them
// again (Batch.truncate), so it adds nothing.
func (d *csvDecoder) DecodeBatch(msgs []Message, out *Batch) {
	out.decoding(len(msgs))
	d.decodeEach(msgs, out, d.message)
}

func (d *csvDecoder) message(m *Message, out *Batch) error {
	b := m.Value
	if b == nil {
		return nil
	}
	if !utf8.Valid(b) {
		return sqlerr.New(sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"")
	}
	line := 0
	for pos := 0; pos < len(b); {
		var err error
		pos, err = d.record(b, pos)
		if err != nil {
			return err
		}
		line++
		if len(d.fields) == 1 && len(d.fields[0]) == 0 && !d.quoted[0] {
			continue // an empty line
		}
		if !d.haveCols {
			d.useHeader()
			continue
		}
		i := out.Len()
		if err := d.rowInto(out, i); err != nil {
			if line > 1 {
				return prefixErr(err, "record "+itoa(line))
			}
			return err
		}
		d.finishRow(m, out, i, Insert)
	}
	return nil
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

func (d *csvDecoder) useHeader() {
	d.cols = d.cols[:0]
	for _, f := range d.fields {
		d.cols = append(d.cols, d.match.lookup(f))
	}
	d.haveCols = true
}

// rowInto stores the fields of the current record as row i of out.
func (d *csvDecoder) rowInto(out *Batch, i int) error {
	if len(d.fields) > len(d.cols) {
		return sqlerr.New(sqlerr.BadCopyFileFormat, "extra data after last expected column")
	}
	if len(d.fields) < len(d.cols) {
		for _, j := range d.cols[len(d.fields):] {
			if j >= 0 {
				return sqlerr.New(sqlerr.BadCopyFileFormat, "missing data for column %q", d.schema.Columns[j].Name)
			}
		}
	}
	var sl slot
	for k, f := range d.fields {
		j := d.cols[k]
		if j < 0 {
			continue
		}
		sl = slot{}
		if len(f) == 0 && !d.quoted[k] {
			sl.state = slotNull
			out.cols[j].put(i, &sl)
			continue
		}
		c := &d.convs[j]
		var err error
		if c.t.Kind == types.Bytea || c.t.Kind == types.JSONB {
			// bytea in its text form (\x...), jsonb as JSON text.
			var dt types.Datum
			dt, err = types.ParseText(bstr(f), c.t, nil)
			if err == nil {
				err = c.setDatum(&sl, dt, &d.sc)
			} else {
				err = c.wrapErr(err)
			}
		} else {
			err = c.setText(&sl, f, &d.sc)
		}
		if err != nil {
			return err
		}
		out.cols[j].put(i, &sl)
	}
	return nil
}

// record splits the record starting at pos into d.fields and returns the
// position after its line break.
func (d *csvDecoder) record(b []byte, pos int) (int, error) {
	d.fields = d.fields[:0]
	d.quoted = d.quoted[:0]
	for {
		if pos < len(b) && b[pos] == d.quote {
			// A quoted field: copy it unquoted into scratch.
			pos++
			start := len(d.sc.buf)
			for {
				if pos >= len(b) {
					return pos, sqlerr.New(sqlerr.BadCopyFileFormat, "unterminated CSV quoted field")
				}
				c := b[pos]
				if c == d.quote {
					if pos+1 < len(b) && b[pos+1] == d.quote {
						d.sc.buf = append(d.sc.buf, c)
						pos += 2
						continue
					}
					pos++
					break
				}
				d.sc.buf = append(d.sc.buf, c)
				pos++
			}
			d.fields = append(d.fields, d.sc.buf[start:len(d.sc.buf):len(d.sc.buf)])
			d.quoted = append(d.quoted, true)
			if pos < len(b) && b[pos] != d.delim && b[pos] != '\n' && b[pos] != '\r' {
				return pos, sqlerr.New(sqlerr.BadCopyFileFormat, "unexpected character after CSV quoted field at byte %d", pos)
			}
		} else {
			start := pos
			for pos < len(b) && b[pos] != d.delim && b[pos] != '\n' && b[pos] != '\r' {
				if b[pos] == d.quote {
					return pos, sqlerr.New(sqlerr.BadCopyFileFormat, "unexpected quote inside unquoted CSV field at byte %d", pos)
				}
				pos++
			}
			d.fields = append(d.fields, b[start:pos:pos])
			d.quoted = append(d.quoted, false)
		}
		if pos >= len(b) {
			return pos, nil
		}
		switch b[pos] {
		case d.delim:
			pos++
		case '\r':
			pos++
			if pos < len(b) && b[pos] == '\n' {
				pos++
			}
			return pos, nil
		case '\n':
			return pos + 1, nil
		}
	}
}
