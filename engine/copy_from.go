package engine

// COPY ... FROM STDIN, streamed. The client's CopyData messages are parsed
// as they arrive: complete records become rows at once, and only a record
// cut by the end of a message is kept until the next one. Every batch of
// rows (copyBatchRows, or copyBatchBytes of field data) is inserted into
// the transaction through the same path as INSERT (planned as INSERT ...
// VALUES with parameters), so column defaults, NOT NULL and primary key
// checks apply. The memory of a COPY is thus one message, one batch and the
// transaction's own write set, whatever the size of the input.
//
// Outside a transaction block the COPY runs in a transaction of its own,
// committed at CopyDone; a malformed row (with its line number), a
// constraint violation, CopyFail or a lost connection rolls it back, so
// nothing of a failed COPY is kept. Inside a block the block fails.
//
// Text and CSV fields, and binary fields of text types, must be valid
// UTF-8 (22021), as PostgreSQL checks for a UTF8 database.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/catalog"
	"streamsql/catalog/pgcatalog"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

const (
	// copyBatchRows bounds the rows parsed ahead of their insert (fewer
	// when the columns are many: one statement takes at most 65535
	// parameters).
	copyBatchRows = 4096
	// copyBatchBytes bounds the field bytes parsed ahead of their insert.
	copyBatchBytes = 8 << 20
	// copyMaxRecord bounds one record (a line, a CSV record with its
	// quoted line breaks, a binary tuple) waiting for the rest of its bytes.
	copyMaxRecord = 256 << 20
)

// copyIn is a running COPY ... FROM STDIN.
type copyIn struct {
	s    *Session
	rel  *catalog.Relation
	cols []string
	opts copyOptions

	// txn receives the rows; own says the COPY began it (outside a block).
	txn *storage.Txn
	own bool

	// buf holds the start of a record whose end has not arrived.
	buf []byte
	// scan is how much of buf was searched for the record's end already,
	// and inQuotes the CSV quoting state there.
	scan     int
	inQuotes bool
	// line is the input line number where the next record starts.
	line int
	// headerDone: the binary file header was read.
	headerDone bool
	// ended: the end-of-data marker (\. or a binary trailer) was seen.
	ended bool

	// The batch: rows whose fields point into arena and fieldArena.
	rows       []copyRow
	arena      []byte
	fieldArena [][]byte
	cur        []byte // a text field being de-escaped

	batch int // rows per insert
	plans map[int]*insertPlan
	total int64
	err   error // the error that ended the COPY
	done  bool  // committed, rolled back or failed
}

// copyRow is one parsed row: a value per target column, as text (text and
// CSV) or binary; a nil field is NULL.
type copyRow struct {
	line   int
	fields [][]byte
}

func newCopyIn(s *Session, rel *catalog.Relation, cols []string, opts copyOptions) *copyIn {
	return &copyIn{s: s, rel: rel, cols: cols, opts: opts, line: 1, plans: map[int]*insertPlan{},
		batch: max(1, min(copyBatchRows, 65535/max(1, len(cols))))}
}

func (c *copyIn) Columns() []pgwire.Column                   { return nil }
func (c *copyIn) Next(context.Context) (arrow.Record, error) { return nil, nil }
func (c *copyIn) Tag() string                                { return "COPY" }
func (c *copyIn) CopyFormat() (int8, int)                    { return c.opts.wireFormat(), len(c.cols) }

func (o copyOptions) wireFormat() int8 {
	if o.format == copyBinary {
		return 1
	}
	return 0
}

// Close rolls back what an unfinished COPY wrote.
func (c *copyIn) Close() {
	if !c.done {
		c.fail(sqlerr.New(sqlerr.QueryCanceled, "COPY from stdin did not finish"))
	}
	c.buf, c.rows, c.arena, c.fieldArena = nil, nil, nil, nil
}

// Abort is CopyFail or a lost connection.
func (c *copyIn) Abort(msg string) {
	if !c.done {
		c.fail(sqlerr.New(sqlerr.QueryCanceled, "COPY from stdin failed: %s", msg))
	}
}

// fail ends the COPY with err: its own transaction is rolled back, an
// enclosing transaction block is marked failed.
func (c *copyIn) fail(err error) error {
	if c.done {
		return err
	}
	c.done, c.err = true, err
	switch {
	case c.own:
		c.txn.Rollback()
	case c.s.txn != nil:
		c.s.txnFailed = true
	}
	c.txn = nil
	return err
}

// Write parses the complete records of data and inserts full batches.
func (c *copyIn) Write(ctx context.Context, data []byte) error {
	if c.done {
		return c.err
	}
	if c.ended {
		return nil // anything after the end-of-data marker is ignored
	}
	src := data
	if len(c.buf) > 0 {
		c.buf = append(c.buf, data...)
		src = c.buf
	}
	n, err := c.parse(ctx, src, false)
	if err != nil {
		return c.fail(err)
	}
	rest := src[n:]
	if len(rest) > copyMaxRecord {
		return c.fail(sqlerr.New(sqlerr.ProgramLimitExceeded, "COPY record is too large").
			WithDetail("COPY %s, line %d: a record of more than %d bytes.", c.rel.Name, c.line, copyMaxRecord))
	}
	if len(rest) > 0 && cap(c.buf) > 4<<20 && len(rest) < cap(c.buf)/4 {
		c.buf = nil // don't keep a big buffer for a small tail
	}
	c.buf = append(c.buf[:0], rest...)
	return nil
}

// Finish parses what is left, inserts the last batch and commits.
func (c *copyIn) Finish(ctx context.Context) (string, error) {
	if c.done {
		return "", c.err
	}
	if !c.ended {
		if _, err := c.parse(ctx, c.buf, true); err != nil {
			return "", c.fail(err)
		}
	}
	c.buf = nil
	if err := c.flush(ctx); err != nil {
		return "", c.fail(err)
	}
	if c.own {
		c.own = false // Commit ends the transaction whatever happens
		if err := c.txn.Commit(); err != nil {
			return "", c.fail(err)
		}
	}
	c.done, c.txn = true, nil
	return fmt.Sprintf("COPY %d", c.total), nil
}

// parse turns the complete records at the start of src into rows,
// inserting every full batch, and returns how many bytes it consumed. At
// the end of the data (final) the last record needs no line end.
func (c *copyIn) parse(ctx context.Context, src []byte, final bool) (int, error) {
	off := 0
	for !c.ended && off < len(src) {
		var next int
		var err error
		switch c.opts.format {
		case copyText:
			next, err = c.textRecord(src, off, final)
		case copyCSV:
			next, err = c.csvRecord(src, off, final)
		case copyBinary:
			next, err = c.binaryRecord(src, off, final)
		}
		if err != nil {
			return off, err
		}
		if next < 0 {
			break // the record's end has not arrived
		}
		off = next
		if len(c.rows) >= c.batch || len(c.arena) >= copyBatchBytes {
			if err := c.flush(ctx); err != nil {
				return off, err
			}
		}
	}
	if c.ended {
		return len(src), nil
	}
	if final && c.opts.format == copyBinary && !c.headerDone {
		return off, c.badFormat("COPY file signature not recognized")
	}
	return off, nil
}

// addRow appends a row of fields (already in the arenas) to the batch.
func (c *copyIn) addRow(line int, fields [][]byte) error {
	if err := checkFieldCount(len(fields), len(c.cols), c.rel.Name, line); err != nil {
		return err
	}
	c.rows = append(c.rows, copyRow{line: line, fields: fields})
	return nil
}

// field copies f into the batch arena and returns the copy.
func (c *copyIn) field(f []byte) []byte {
	if c.arena == nil {
		c.arena = make([]byte, 0, 64<<10)
	}
	start := len(c.arena)
	c.arena = append(c.arena, f...)
	return c.arena[start:len(c.arena):len(c.arena)]
}

// textField checks a de-escaped text or CSV field and keeps it.
func (c *copyIn) textField(f []byte, line int) ([]byte, error) {
	if err := types.CheckUTF8(f); err != nil {
		return nil, sqlerr.From(err).WithDetail("COPY %s, line %d", c.rel.Name, line)
	}
	return c.field(f), nil
}

// textRecord reads one line of text format starting at off; it returns
// the offset after it, or -1 when the line's end has not arrived.
func (c *copyIn) textRecord(src []byte, off int, final bool) (int, error) {
	end, next := -1, -1
	if i := bytes.IndexByte(src[off+c.scan:], '\n'); i >= 0 {
		end = off + c.scan + i
		next = end + 1
	} else if final {
		end, next = len(src), len(src)
	} else {
		c.scan = len(src) - off
		return -1, nil
	}
	c.scan = 0
	line := c.line
	c.line++
	ln := bytes.TrimSuffix(src[off:end], []byte{'\r'})
	if string(ln) == `\.` {
		c.ended = true
		return next, nil
	}
	if c.opts.header && line == 1 {
		return next, nil
	}
	o := c.opts
	start := len(c.fieldArena)
	cur := c.cur[:0]
	rawStart := 0
	endField := func(i int) error {
		if string(ln[rawStart:i]) == o.null {
			c.fieldArena = append(c.fieldArena, nil)
		} else {
			f, err := c.textField(cur, line)
			if err != nil {
				return err
			}
			c.fieldArena = append(c.fieldArena, f)
		}
		cur = cur[:0]
		rawStart = i + 1
		return nil
	}
	for i := 0; i < len(ln); i++ {
		ch := ln[i]
		if ch == o.delimiter {
			if err := endField(i); err != nil {
				return 0, err
			}
			continue
		}
		if ch != '\\' || i+1 >= len(ln) {
			cur = append(cur, ch)
			continue
		}
		i++
		switch e := ln[i]; e {
		case 'b':
			cur = append(cur, '\b')
		case 'f':
			cur = append(cur, '\f')
		case 'n':
			cur = append(cur, '\n')
		case 'r':
			cur = append(cur, '\r')
		case 't':
			cur = append(cur, '\t')
		case 'v':
			cur = append(cur, '\v')
		case 'x':
			v, k := 0, 0
			for k < 2 && i+1 < len(ln) && isHex(ln[i+1]) {
				i++
				v = v*16 + hexVal(ln[i])
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
		return 0, err
	}
	c.cur = cur
	return next, c.addRow(line, c.fieldArena[start:len(c.fieldArena):len(c.fieldArena)])
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

func checkFieldCount(got, want int, table string, line int) error {
	switch {
	case got < want:
		return sqlerr.New(codeBadCopyFormat, "missing data for column").WithDetail("COPY %s, line %d", table, line)
	case got > want:
		return sqlerr.New(codeBadCopyFormat, "extra data after last expected column").WithDetail("COPY %s, line %d", table, line)
	}
	return nil
}

// csvRecordEnd finds the line break that ends the CSV record starting at
// off, outside quotes, resuming the search where the last call stopped.
// It returns -1 when the end has not arrived.
func (c *copyIn) csvRecordEnd(src []byte, off int, final bool) int {
	o := c.opts
	p, q := off+c.scan, c.inQuotes
	for p < len(src) {
		ch := src[p]
		switch {
		case q && ch == o.escape && p+1 < len(src) && src[p+1] == o.quote:
			p += 2
			continue
		case q && ch == o.escape && p+1 == len(src) && !final:
			// An escape or a closing quote: the next byte decides.
			c.scan, c.inQuotes = p-off, q
			return -1
		case q && ch == o.quote:
			q = false
		case !q && ch == o.quote:
			q = true
		case !q && ch == '\n':
			c.scan, c.inQuotes = 0, false
			return p
		}
		p++
	}
	if final {
		c.scan, c.inQuotes = 0, false
		return len(src)
	}
	c.scan, c.inQuotes = p-off, q
	return -1
}

// csvRecord reads one CSV record (quoted fields may hold delimiters,
// quotes, doubled or escaped, and line breaks) starting at off. An
// unquoted field equal to the NULL string is NULL.
func (c *copyIn) csvRecord(src []byte, off int, final bool) (int, error) {
	end := c.csvRecordEnd(src, off, final)
	if end < 0 {
		return -1, nil
	}
	next := min(end+1, len(src))
	rec := src[off:end]
	o := c.opts
	startLine := c.line
	c.line += 1 + bytes.Count(rec, []byte{'\n'})
	// The end-of-data marker, alone on its line.
	if string(bytes.TrimSuffix(rec, []byte{'\r'})) == `\.` {
		c.ended = true
		return next, nil
	}
	start := len(c.fieldArena)
	cur := c.cur[:0]
	quotedField, inQuotes := false, false
	endField := func() error {
		if !quotedField && string(cur) == o.null {
			c.fieldArena = append(c.fieldArena, nil)
		} else {
			f, err := c.textField(cur, startLine)
			if err != nil {
				return err
			}
			c.fieldArena = append(c.fieldArena, f)
		}
		return nil
	}
	for i := 0; i < len(rec); {
		ch := rec[i]
		i++
		switch {
		case inQuotes && ch == o.escape && i < len(rec) && rec[i] == o.quote:
			cur = append(cur, o.quote)
			i++
		case inQuotes && ch == o.quote:
			inQuotes = false
		case inQuotes:
			cur = append(cur, ch)
		case ch == o.quote:
			inQuotes, quotedField = true, true
		case ch == o.delimiter:
			if err := endField(); err != nil {
				return 0, err
			}
			cur, quotedField = cur[:0], false
		case ch == '\r' && i == len(rec):
			// CRLF line end
		default:
			cur = append(cur, ch)
		}
	}
	if inQuotes {
		return 0, sqlerr.New(codeBadCopyFormat, "unterminated CSV quoted field").WithDetail("COPY %s, line %d", c.rel.Name, startLine)
	}
	lastQuoted := quotedField
	if err := endField(); err != nil {
		return 0, err
	}
	c.cur = cur
	fields := c.fieldArena[start:len(c.fieldArena):len(c.fieldArena)]
	if o.header && startLine == 1 {
		c.fieldArena = c.fieldArena[:start]
		return next, nil
	}
	if len(fields) == 1 && fields[0] != nil && len(fields[0]) == 0 && len(c.cols) != 1 && !lastQuoted {
		c.fieldArena = c.fieldArena[:start]
		return next, nil // a blank line
	}
	return next, c.addRow(startLine, fields)
}

// binarySignature starts PostgreSQL's binary COPY format.
var binarySignature = []byte("PGCOPY\n\xff\r\n\x00")

func (c *copyIn) badFormat(msg string) error {
	return sqlerr.New(codeBadCopyFormat, "%s", msg).WithDetail("COPY %s", c.rel.Name)
}

// binaryRecord reads the file header or one tuple starting at off.
func (c *copyIn) binaryRecord(src []byte, off int, final bool) (int, error) {
	data := src[off:]
	if !c.headerDone {
		if len(data) < len(binarySignature)+8 {
			if final {
				if !bytes.HasPrefix(data, binarySignature) {
					return 0, c.badFormat("COPY file signature not recognized")
				}
				return 0, c.badFormat("invalid COPY file header (missing flags)")
			}
			if !bytes.HasPrefix(binarySignature, data[:min(len(data), len(binarySignature))]) {
				return 0, c.badFormat("COPY file signature not recognized")
			}
			return -1, nil
		}
		if !bytes.HasPrefix(data, binarySignature) {
			return 0, c.badFormat("COPY file signature not recognized")
		}
		h := data[len(binarySignature):]
		if binary.BigEndian.Uint32(h)&(1<<16) != 0 {
			return 0, c.badFormat("invalid COPY file header (WITH OIDS)")
		}
		ext := int64(int32(binary.BigEndian.Uint32(h[4:])))
		if ext < 0 || ext > copyMaxRecord {
			return 0, c.badFormat("invalid COPY file header (wrong length)")
		}
		n := len(binarySignature) + 8 + int(ext)
		if len(data) < n {
			if final {
				return 0, c.badFormat("invalid COPY file header (wrong length)")
			}
			return -1, nil
		}
		c.headerDone = true
		return off + n, nil
	}
	if len(data) < 2 {
		if final {
			return 0, c.badFormat("unexpected EOF in COPY data")
		}
		return -1, nil
	}
	n := int(int16(binary.BigEndian.Uint16(data)))
	if n == -1 {
		c.ended = true
		return off + 2, nil
	}
	line := c.line
	if n != len(c.cols) {
		return 0, sqlerr.New(codeBadCopyFormat, "row field count is %d, expected %d", n, len(c.cols)).WithDetail("COPY %s, line %d", c.rel.Name, line)
	}
	// Find the tuple's end before keeping anything of it.
	p := 2
	for j := 0; j < n; j++ {
		if len(data)-p < 4 {
			if final {
				return 0, c.badFormat("unexpected EOF in COPY data")
			}
			return -1, nil
		}
		l := int64(int32(binary.BigEndian.Uint32(data[p:])))
		p += 4
		if l == -1 {
			continue
		}
		if l < 0 || l > copyMaxRecord {
			return 0, c.badFormat("invalid field size")
		}
		if int64(len(data)-p) < l {
			if final {
				return 0, c.badFormat("unexpected EOF in COPY data")
			}
			return -1, nil
		}
		p += int(l)
	}
	c.line++
	start := len(c.fieldArena)
	q := 2
	for j := 0; j < n; j++ {
		l := int(int32(binary.BigEndian.Uint32(data[q:])))
		q += 4
		if l == -1 {
			c.fieldArena = append(c.fieldArena, nil)
			continue
		}
		c.fieldArena = append(c.fieldArena, c.field(data[q:q+l]))
		q += l
	}
	return off + p, c.addRow(line, c.fieldArena[start:len(c.fieldArena):len(c.fieldArena)])
}

// flush inserts the batch into the COPY's transaction: in chunks of the
// batch size, and the rest in chunks of powers of two, so that a COPY
// plans at most a dozen INSERT shapes whatever the sizes of its batches.
func (c *copyIn) flush(ctx context.Context) error {
	rows := c.rows
	for len(rows) > 0 {
		n := c.batch
		if len(rows) < n {
			n = 1
			for n*2 <= len(rows) {
				n *= 2
			}
		}
		if err := c.insertRows(ctx, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	clear(c.rows)
	c.rows = c.rows[:0]
	clear(c.fieldArena)
	c.fieldArena = c.fieldArena[:0]
	c.arena = nil // values of the last batch may still point into it
	return nil
}

// insertRows inserts rows into the COPY's transaction, beginning one if
// there is no transaction block.
func (c *copyIn) insertRows(ctx context.Context, rows []copyRow) error {
	if c.txn == nil {
		if c.s.txn != nil {
			c.txn = c.s.txn
		} else {
			c.txn, c.own = c.s.e.db.Begin(), true
		}
	}
	n := len(rows)
	ip := c.plans[n]
	if ip == nil {
		var err error
		if ip, err = c.planInsert(n, c.txn); err != nil {
			return err
		}
		c.plans[n] = ip
	}
	args := make([]types.Datum, 0, n*len(c.cols))
	for _, r := range rows {
		for j, f := range r.fields {
			d, err := c.decode(f, ip.params[len(args)], r.line, j)
			if err != nil {
				return err
			}
			args = append(args, d)
		}
	}
	x := &execution{s: c.s, args: args, reader: c.txn, txn: c.txn}
	wr := &writer{s: c.s, x: x, w: ip.w, ctx: c.s.execCtx(ctx, args)}
	if err := wr.insert(); err != nil {
		return err
	}
	c.total += wr.count
	return nil
}

func (c *copyIn) decode(f []byte, t types.T, line, col int) (types.Datum, error) {
	if f == nil {
		return nil, nil
	}
	var d types.Datum
	var err error
	if c.opts.format == copyBinary {
		d, err = types.ParseBinary(f, t)
	} else {
		d, err = types.ParseText(string(f), t, c.s.location())
	}
	if err != nil {
		e := sqlerr.From(err)
		if e == nil {
			return nil, err
		}
		val := string(f)
		if c.opts.format == copyBinary || e.Code == sqlerr.CharacterNotInRepertoire {
			val = fmt.Sprintf("%d bytes", len(f))
		}
		return nil, e.WithDetail("COPY %s, line %d, column %s: \"%s\"", c.rel.Name, line, c.cols[col], val)
	}
	return d, nil
}

// insertPlan is INSERT INTO rel (cols) VALUES with n rows of parameters.
type insertPlan struct {
	w      *planner.Write
	params []types.T
}

func (c *copyIn) planInsert(n int, txn *storage.Txn) (*insertPlan, error) {
	var sb strings.Builder
	sb.WriteString("INSERT INTO ")
	sb.WriteString(pgcatalog.QuoteIdent(c.rel.Schema) + "." + pgcatalog.QuoteIdent(c.rel.Name) + " (")
	for i, col := range c.cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(pgcatalog.QuoteIdent(col))
	}
	sb.WriteString(") VALUES ")
	p := 1
	for r := 0; r < n; r++ {
		if r > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for j := range c.cols {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("$" + strconv.Itoa(p))
			p++
		}
		sb.WriteByte(')')
	}
	sql := sb.String()
	stmts, err := parser.Parse(sql)
	if err != nil {
		return nil, err
	}
	pl := c.s.newPlanner(&statement{s: c.s, whole: sql}, nil, nil, txn)
	w, err := pl.PlanInsert(stmts[0].AST.GetInsertStmt())
	if err != nil {
		return nil, err
	}
	return &insertPlan{w: w, params: pl.FinishParams()}, nil
}
