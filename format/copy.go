package format

import (
	"bytes"
	"encoding/binary"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// COPY ... FROM reads PostgreSQL's three COPY formats with PostgreSQL's
// rules. A CopyReader cuts the data into records of fields as it arrives,
// whatever the message boundaries: the caller hands it the unread bytes,
// and it returns each complete record, or asks for more bytes when the
// record's end has not arrived (it remembers how far it searched, so a
// long record is not searched again from its start).
//
//   - text: one record per line; fields split at the delimiter (tab);
//     backslash escapes (\b \f \n \r \t \v, \xHH, octal \OOO, \ before
//     any other byte is that byte); a field spelled as the NULL string
//     (\N) before de-escaping is NULL; \. alone on a line ends the data.
//   - csv: RFC 4180 records with the delimiter (,), the quote (") and
//     the escape (the quote) of the options; quoted fields may hold
//     delimiters, quotes and line breaks; an unquoted field equal to the
//     NULL string (empty) is NULL, a quoted one is not (FORCE_NULL makes
//     it NULL too, FORCE_NOT_NULL makes neither NULL); blank lines are
//     skipped (unless the table has one column).
//   - binary: PostgreSQL's signature and header, then tuples of a field
//     count and length-prefixed fields (-1: NULL), ended by a count of -1.
//
// HEADER skips the first line (text, csv). Text and CSV fields must be
// valid UTF-8 (22021), as PostgreSQL checks for a UTF8 database. A record
// with too few or too many fields, an unterminated quote or a malformed
// binary tuple is 22P04 (bad_copy_file_format). Every error's detail says
// where: "COPY t, line N", as PostgreSQL's context line does.

// CopyFormat is a COPY data format.
type CopyFormat int

const (
	CopyText CopyFormat = iota
	CopyCSV
	CopyBinary
)

// CopyOptions are the options of a COPY ... FROM that shape its records.
type CopyOptions struct {
	Format    CopyFormat
	Header    bool
	Delimiter byte
	Null      string
	Quote     byte
	Escape    byte
	// Relation names the table in error details; Columns is how many
	// fields a record must have.
	Relation string
	Columns  int
	// ForceNull and ForceNotNull (CSV), when set, say per field: a quoted
	// value equal to the NULL string is NULL too (FORCE_NULL); an unquoted
	// one is not NULL (FORCE_NOT_NULL), as PostgreSQL's options do.
	ForceNull, ForceNotNull []bool
}

// CopyRecord is one record: its first line and its fields, as text (text
// and csv, de-escaped) or binary; a nil field is NULL. The fields point
// into the reader's arena, valid until ResetArena.
type CopyRecord struct {
	Line   int
	Fields [][]byte
}

// CopyMaxRecord bounds one record (a line, a CSV record with its quoted
// line breaks, a binary tuple) and a binary header.
const CopyMaxRecord = 256 << 20

// CopyReader reads the records of one COPY.
type CopyReader struct {
	o CopyOptions
	// scan is how much of the current record was searched for its end
	// already, and inQuotes the CSV quoting state there.
	scan     int
	inQuotes bool
	// line is the input line number where the next record starts.
	line int
	// headerDone: the binary file header was read.
	headerDone bool
	// ended: the end-of-data marker (\. or a binary trailer) was seen.
	ended bool

	arena      []byte
	fieldArena [][]byte
	cur        []byte // a text field being de-escaped
}

// NewCopyReader returns a reader of records shaped by o.
func NewCopyReader(o CopyOptions) *CopyReader { return &CopyReader{o: o, line: 1} }

// Ended reports whether the end-of-data marker was read: what follows it
// is ignored.
func (r *CopyReader) Ended() bool { return r.ended }

// Line is the input line where the next record starts.
func (r *CopyReader) Line() int { return r.line }

// ArenaBytes is how many field bytes the records since the last
// ResetArena hold.
func (r *CopyReader) ArenaBytes() int { return len(r.arena) }

// ResetArena lets the reader reuse the memory of the records returned so
// far (their fields are no longer used).
func (r *CopyReader) ResetArena() {
	clear(r.fieldArena)
	r.fieldArena = r.fieldArena[:0]
	r.arena = nil // values may still point into the old one
}

// Next reads the record starting at src[off:]. It returns the offset after
// it, or -1 when its end has not arrived (call again with more bytes, the
// same record at the same place); ok says a record was read (not a header,
// a blank line or the end marker). At the end of the data (final) the
// last record needs no line end.
func (r *CopyReader) Next(src []byte, off int, final bool) (next int, rec CopyRecord, ok bool, err error) {
	switch r.o.Format {
	case CopyCSV:
		return r.csvRecord(src, off, final)
	case CopyBinary:
		return r.binaryRecord(src, off, final)
	}
	return r.textRecord(src, off, final)
}

// Finish checks the end of the data: binary data needs its header.
func (r *CopyReader) Finish() error {
	if r.o.Format == CopyBinary && !r.ended && !r.headerDone {
		return r.badFormat("COPY file signature not recognized")
	}
	return nil
}

// field copies f into the arena and returns the copy.
func (r *CopyReader) field(f []byte) []byte {
	if r.arena == nil {
		r.arena = make([]byte, 0, 64<<10)
	}
	start := len(r.arena)
	r.arena = append(r.arena, f...)
	return r.arena[start:len(r.arena):len(r.arena)]
}

// addTextField adds a de-escaped text or CSV field to the record being
// read: NULL, or f checked and kept.
func (r *CopyReader) addTextField(f []byte, null bool, line int) error {
	if null {
		r.fieldArena = append(r.fieldArena, nil)
		return nil
	}
	if err := types.CheckUTF8(f); err != nil {
		return sqlerr.From(err).WithDetail("COPY %s, line %d", r.o.Relation, line)
	}
	r.fieldArena = append(r.fieldArena, r.field(f))
	return nil
}

// record makes the fields from start on a record, checking their count.
func (r *CopyReader) record(line, start int) (CopyRecord, error) {
	fields := r.fieldArena[start:len(r.fieldArena):len(r.fieldArena)]
	switch {
	case len(fields) < r.o.Columns:
		return CopyRecord{}, sqlerr.New(sqlerr.BadCopyFileFormat, "missing data for column").WithDetail("COPY %s, line %d", r.o.Relation, line)
	case len(fields) > r.o.Columns:
		return CopyRecord{}, sqlerr.New(sqlerr.BadCopyFileFormat, "extra data after last expected column").WithDetail("COPY %s, line %d", r.o.Relation, line)
	}
	return CopyRecord{Line: line, Fields: fields}, nil
}

// textRecord reads one line of text format starting at off.
func (r *CopyReader) textRecord(src []byte, off int, final bool) (int, CopyRecord, bool, error) {
	end, next := -1, -1
	if i := bytes.IndexByte(src[off+r.scan:], '\n'); i >= 0 {
		end = off + r.scan + i
		next = end + 1
	} else if final {
		end, next = len(src), len(src)
	} else {
		r.scan = len(src) - off
		return -1, CopyRecord{}, false, nil
	}
	r.scan = 0
	line := r.line
	r.line++
	ln := bytes.TrimSuffix(src[off:end], []byte{'\r'})
	if string(ln) == `\.` {
		r.ended = true
		return next, CopyRecord{}, false, nil
	}
	if r.o.Header && line == 1 {
		return next, CopyRecord{}, false, nil
	}
	o := r.o
	start := len(r.fieldArena)
	cur := r.cur[:0]
	rawStart := 0
	endField := func(i int) error {
		if err := r.addTextField(cur, string(ln[rawStart:i]) == o.Null, line); err != nil {
			return err
		}
		cur = cur[:0]
		rawStart = i + 1
		return nil
	}
	for i := 0; i < len(ln); i++ {
		ch := ln[i]
		if ch == o.Delimiter {
			if err := endField(i); err != nil {
				return 0, CopyRecord{}, false, err
			}
			continue
		}
		if ch != '\\' || i+1 >= len(ln) {
			cur = append(cur, ch)
			continue
		}
		i++
		switch e := ln[i]; e {
		case 'b', 'f', 'n', 'r', 't', 'v':
			cur = append(cur, copyTextUnescapes[e])
		case 'x':
			v, k := 0, 0
			for k < 2 && i+1 < len(ln) && isHexDigit(ln[i+1]) {
				i++
				v = v*16 + hexDigit(ln[i])
				k++
			}
			if k == 0 {
				cur = append(cur, 'x')
			} else {
				cur = append(cur, byte(v))
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 1; k < 3 && i+1 < len(ln) && ln[i+1] >= '0' && ln[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(ln[i]-'0')
			}
			cur = append(cur, byte(v))
		default:
			cur = append(cur, e)
		}
	}
	if err := endField(len(ln)); err != nil {
		return 0, CopyRecord{}, false, err
	}
	r.cur = cur
	rec, err := r.record(line, start)
	return next, rec, err == nil, err
}

// CopyTextEscapes maps each byte that COPY's text format writes as a
// backslash sequence to the letter after the backslash (0: written as
// is); copyTextUnescapes maps the letters back.
var (
	CopyTextEscapes   = [256]byte{'\\': '\\', '\n': 'n', '\r': 'r', '\t': 't', '\b': 'b', '\f': 'f', '\v': 'v'}
	copyTextUnescapes = func() (u [256]byte) {
		for c, e := range CopyTextEscapes {
			u[e] = byte(c)
		}
		u[0] = 0
		return u
	}()
)

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexDigit(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

// csvRecordEnd finds the line break that ends the CSV record starting at
// off, outside quotes, resuming the search where the last call stopped.
// It returns -1 when the end has not arrived.
func (r *CopyReader) csvRecordEnd(src []byte, off int, final bool) int {
	o := r.o
	p, q := off+r.scan, r.inQuotes
	for p < len(src) {
		ch := src[p]
		switch {
		case q && ch == o.Escape && p+1 < len(src) && src[p+1] == o.Quote:
			p += 2
			continue
		case q && ch == o.Escape && p+1 == len(src) && !final:
			// An escape or a closing quote: the next byte decides.
			r.scan, r.inQuotes = p-off, q
			return -1
		case q && ch == o.Quote:
			q = false
		case !q && ch == o.Quote:
			q = true
		case !q && ch == '\n':
			r.scan, r.inQuotes = 0, false
			return p
		}
		p++
	}
	if final {
		r.scan, r.inQuotes = 0, false
		return len(src)
	}
	r.scan, r.inQuotes = p-off, q
	return -1
}

// csvRecord reads one CSV record starting at off.
func (r *CopyReader) csvRecord(src []byte, off int, final bool) (int, CopyRecord, bool, error) {
	end := r.csvRecordEnd(src, off, final)
	if end < 0 {
		return -1, CopyRecord{}, false, nil
	}
	next := min(end+1, len(src))
	rec := src[off:end]
	o := r.o
	startLine := r.line
	r.line += 1 + bytes.Count(rec, []byte{'\n'})
	// The end-of-data marker, alone on its line.
	if string(bytes.TrimSuffix(rec, []byte{'\r'})) == `\.` {
		r.ended = true
		return next, CopyRecord{}, false, nil
	}
	start := len(r.fieldArena)
	cur := r.cur[:0]
	quotedField, inQuotes := false, false
	endField := func() error {
		j := len(r.fieldArena) - start
		isNull := string(cur) == o.Null
		switch {
		case quotedField:
			isNull = isNull && j < len(o.ForceNull) && o.ForceNull[j]
		case j < len(o.ForceNotNull) && o.ForceNotNull[j]:
			isNull = false
		}
		return r.addTextField(cur, isNull, startLine)
	}
	for i := 0; i < len(rec); {
		ch := rec[i]
		i++
		switch {
		case inQuotes && ch == o.Escape && i < len(rec) && rec[i] == o.Quote:
			cur = append(cur, o.Quote)
			i++
		case inQuotes && ch == o.Quote:
			inQuotes = false
		case inQuotes:
			cur = append(cur, ch)
		case ch == o.Quote:
			inQuotes, quotedField = true, true
		case ch == o.Delimiter:
			if err := endField(); err != nil {
				return 0, CopyRecord{}, false, err
			}
			cur, quotedField = cur[:0], false
		case ch == '\r' && i == len(rec):
			// CRLF line end
		default:
			cur = append(cur, ch)
		}
	}
	if inQuotes {
		return 0, CopyRecord{}, false, sqlerr.New(sqlerr.BadCopyFileFormat, "unterminated CSV quoted field").WithDetail("COPY %s, line %d", o.Relation, startLine)
	}
	lastQuoted := quotedField
	if err := endField(); err != nil {
		return 0, CopyRecord{}, false, err
	}
	r.cur = cur
	fields := r.fieldArena[start:len(r.fieldArena):len(r.fieldArena)]
	if o.Header && startLine == 1 {
		r.fieldArena = r.fieldArena[:start]
		return next, CopyRecord{}, false, nil
	}
	if len(fields) == 1 && fields[0] != nil && len(fields[0]) == 0 && o.Columns != 1 && !lastQuoted {
		r.fieldArena = r.fieldArena[:start]
		return next, CopyRecord{}, false, nil // a blank line
	}
	rc, err := r.record(startLine, start)
	return next, rc, err == nil, err
}

// copySignature starts PostgreSQL's binary COPY format.
var copySignature = []byte("PGCOPY\n\xff\r\n\x00")

func (r *CopyReader) badFormat(msg string) error {
	return sqlerr.New(sqlerr.BadCopyFileFormat, "%s", msg).WithDetail("COPY %s", r.o.Relation)
}

// binaryRecord reads the file header or one tuple starting at off.
func (r *CopyReader) binaryRecord(src []byte, off int, final bool) (int, CopyRecord, bool, error) {
	fail := func(msg string) (int, CopyRecord, bool, error) { return 0, CopyRecord{}, false, r.badFormat(msg) }
	more := func() (int, CopyRecord, bool, error) { return -1, CopyRecord{}, false, nil }
	data := src[off:]
	if !r.headerDone {
		if len(data) < len(copySignature)+8 {
			if final {
				if !bytes.HasPrefix(data, copySignature) {
					return fail("COPY file signature not recognized")
				}
				return fail("invalid COPY file header (missing flags)")
			}
			if !bytes.HasPrefix(copySignature, data[:min(len(data), len(copySignature))]) {
				return fail("COPY file signature not recognized")
			}
			return more()
		}
		if !bytes.HasPrefix(data, copySignature) {
			return fail("COPY file signature not recognized")
		}
		h := data[len(copySignature):]
		if binary.BigEndian.Uint32(h)&(1<<16) != 0 {
			return fail("invalid COPY file header (WITH OIDS)")
		}
		ext := int64(int32(binary.BigEndian.Uint32(h[4:])))
		if ext < 0 || ext > CopyMaxRecord {
			return fail("invalid COPY file header (wrong length)")
		}
		n := len(copySignature) + 8 + int(ext)
		if len(data) < n {
			if final {
				return fail("invalid COPY file header (wrong length)")
			}
			return more()
		}
		r.headerDone = true
		return off + n, CopyRecord{}, false, nil
	}
	if len(data) < 2 {
		if final {
			return fail("unexpected EOF in COPY data")
		}
		return more()
	}
	n := int(int16(binary.BigEndian.Uint16(data)))
	if n == -1 {
		r.ended = true
		return off + 2, CopyRecord{}, false, nil
	}
	line := r.line
	if n != r.o.Columns {
		return 0, CopyRecord{}, false, sqlerr.New(sqlerr.BadCopyFileFormat, "row field count is %d, expected %d", n, r.o.Columns).
			WithDetail("COPY %s, line %d", r.o.Relation, line)
	}
	// Find the tuple's end before keeping anything of it.
	p := 2
	for j := 0; j < n; j++ {
		if len(data)-p < 4 {
			if final {
				return fail("unexpected EOF in COPY data")
			}
			return more()
		}
		l := int64(int32(binary.BigEndian.Uint32(data[p:])))
		p += 4
		if l == -1 {
			continue
		}
		if l < 0 || l > CopyMaxRecord {
			return fail("invalid field size")
		}
		if int64(len(data)-p) < l {
			if final {
				return fail("unexpected EOF in COPY data")
			}
			return more()
		}
		p += int(l)
	}
	r.line++
	start := len(r.fieldArena)
	q := 2
	for j := 0; j < n; j++ {
		l := int(int32(binary.BigEndian.Uint32(data[q:])))
		q += 4
		if l == -1 {
			r.fieldArena = append(r.fieldArena, nil)
			continue
		}
		r.fieldArena = append(r.fieldArena, r.field(data[q:q+l]))
		q += l
	}
	rec, err := r.record(line, start)
	return off + p, rec, err == nil, err
}
