package engine

// COPY: bulk load into a table from the client, and bulk export of a table
// or a query to the client, in PostgreSQL's text, CSV and binary formats.
//
// COPY ... FROM STDIN keeps the client's data until CopyDone, then parses
// it and inserts the rows through the same path as INSERT (planned as
// INSERT ... VALUES with parameters, in chunks), so column defaults, NOT
// NULL and primary key checks apply. Outside a transaction block the COPY
// runs in a transaction of its own: an error keeps none of its rows.
//
// COPY ... TO STDOUT runs the query (SELECT * FROM t for a table) over a
// snapshot and sends one CopyData message per row.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/catalog/pgcatalog"
	"streamsql/exec"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// codeBadCopyFormat is PostgreSQL's bad_copy_file_format.
const codeBadCopyFormat = "22P04"

// copyFormat is a COPY data format.
type copyFormat int

const (
	copyText copyFormat = iota
	copyCSV
	copyBinary
)

// copyOptions are the WITH (...) options of a COPY.
type copyOptions struct {
	format    copyFormat
	header    bool
	delimiter byte
	null      string
	quote     byte
	escape    byte
}

func parseCopyOptions(opts []*pg.Node) (copyOptions, error) {
	o := copyOptions{format: copyText}
	var delim, null, quote, escape *string
	for _, n := range opts {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		val, isBool := defElemString(d)
		switch d.Defname {
		case "format":
			switch strings.ToLower(val) {
			case "text":
				o.format = copyText
			case "csv":
				o.format = copyCSV
			case "binary":
				o.format = copyBinary
			default:
				return o, sqlerr.New(sqlerr.InvalidParameterValue, "COPY format \"%s\" not recognized", val)
			}
		case "header":
			switch strings.ToLower(val) {
			case "", "true", "on", "1":
				o.header = true
			case "false", "off", "0":
				o.header = false
			default:
				if !isBool {
					return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY HEADER %s is not supported", val)
				}
			}
		case "delimiter":
			delim = &val
		case "null":
			null = &val
		case "quote":
			quote = &val
		case "escape":
			escape = &val
		case "encoding":
			if e := strings.ToUpper(strings.ReplaceAll(val, "-", "")); e != "UTF8" {
				return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY ENCODING %s is not supported: only UTF8", val)
			}
		case "freeze":
		default:
			return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY option %q is not supported", d.Defname)
		}
	}
	if o.format == copyBinary && (delim != nil || null != nil || quote != nil || escape != nil) {
		return o, sqlerr.New(sqlerr.SyntaxError, "cannot specify DELIMITER, NULL, QUOTE or ESCAPE in BINARY mode")
	}
	o.delimiter, o.null, o.quote, o.escape = '\t', `\N`, '"', '"'
	if o.format == copyCSV {
		o.delimiter, o.null = ',', ""
	}
	one := func(s *string, what string, dst *byte) error {
		if s == nil {
			return nil
		}
		if len(*s) != 1 {
			return sqlerr.New(sqlerr.FeatureNotSupported, "COPY %s must be a single one-byte character", what)
		}
		*dst = (*s)[0]
		return nil
	}
	if err := one(delim, "delimiter", &o.delimiter); err != nil {
		return o, err
	}
	if err := one(quote, "quote", &o.quote); err != nil {
		return o, err
	}
	if err := one(escape, "escape", &o.escape); err != nil {
		return o, err
	}
	if null != nil {
		o.null = *null
	}
	if o.format == copyText && (o.delimiter == '\\' || o.delimiter == '\n' || o.delimiter == '\r') {
		return o, sqlerr.New(sqlerr.InvalidParameterValue, "COPY delimiter cannot be %q", o.delimiter)
	}
	return o, nil
}

// defElemString returns a DefElem's argument as text; isBool says it was a
// boolean literal.
func defElemString(d *pg.DefElem) (string, bool) {
	if d.Arg == nil {
		return "", false
	}
	switch {
	case d.Arg.GetString_() != nil:
		return d.Arg.GetString_().Sval, false
	case d.Arg.GetBoolean() != nil:
		if d.Arg.GetBoolean().Boolval {
			return "true", true
		}
		return "false", true
	case d.Arg.GetInteger() != nil:
		return strconv.Itoa(int(d.Arg.GetInteger().Ival)), false
	case d.Arg.GetAStar() != nil:
		return "*", false
	}
	return "", false
}

// planCopy plans a COPY statement; it only checks the statement here, the
// work happens when it runs.
func (s *Session) planCopy(cs *pg.CopyStmt) (*prepared, error) {
	if cs.IsProgram || cs.Filename != "" {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "COPY to or from a file is not supported").
			WithHint("Use COPY ... FROM STDIN or TO STDOUT, or psql's \\copy.")
	}
	opts, err := parseCopyOptions(cs.Options)
	if err != nil {
		return nil, err
	}
	var cols []string
	for _, a := range cs.Attlist {
		cols = append(cols, a.GetString_().Sval)
	}
	if cs.IsFrom {
		if cs.Relation == nil {
			return nil, sqlerr.New(sqlerr.SyntaxError, "COPY FROM needs a table")
		}
		if cs.WhereClause != nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY FROM ... WHERE is not supported")
		}
		if opts.header && opts.format == copyBinary {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot specify HEADER in BINARY mode")
		}
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			rel, err := s.copyTarget(cs.Relation)
			if err != nil {
				return nil, err
			}
			if rel.Kind != catalog.KindTable {
				return nil, sqlerr.New(sqlerr.WrongObjectType, "cannot copy to %s %q", rel.Kind.String(), rel.Name)
			}
			if len(cols) == 0 {
				for _, c := range rel.VisibleColumns() {
					cols = append(cols, c.Name)
				}
			}
			return &copyIn{s: s, rel: rel, cols: cols, opts: opts}, nil
		}), nil
	}
	if opts.format == copyBinary {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY TO in binary format is not supported").WithHint("Use FORMAT text or csv.")
	}
	var query string
	switch {
	case cs.Query != nil:
		sel := cs.Query.GetSelectStmt()
		if sel == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY (query) TO supports SELECT queries only")
		}
		// parser.Deparse runs on a thread with a stack for deep queries.
		q, err := parser.Deparse(cs.Query)
		if err != nil {
			return nil, sqlerr.New(sqlerr.SyntaxError, "COPY query: %v", err)
		}
		query = q
	case cs.Relation != nil:
		list := "*"
		if len(cols) > 0 {
			qs := make([]string, len(cols))
			for i, c := range cols {
				qs[i] = pgcatalog.QuoteIdent(c)
			}
			list = strings.Join(qs, ", ")
		}
		query = "SELECT " + list + " FROM " + rangeVarSQL(cs.Relation)
	}
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if cs.Relation != nil {
			rel, err := s.copyTarget(cs.Relation)
			if err != nil {
				return nil, err
			}
			if rel.Kind == catalog.KindView {
				return nil, sqlerr.New(sqlerr.WrongObjectType, "cannot copy from view %q", rel.Name).WithHint("Try the COPY (SELECT ...) TO variant.")
			}
		}
		return s.startCopyOut(ctx, query, opts)
	}), nil
}

func rangeVarSQL(rv *pg.RangeVar) string {
	if rv.Schemaname != "" {
		return pgcatalog.QuoteIdent(rv.Schemaname) + "." + pgcatalog.QuoteIdent(rv.Relname)
	}
	return pgcatalog.QuoteIdent(rv.Relname)
}

func (s *Session) copyTarget(rv *pg.RangeVar) (*catalog.Relation, error) {
	if rv.Schemaname != "" {
		r, ok := s.e.cat.Relation(rv.Schemaname, rv.Relname)
		if !ok {
			return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s.%s\" does not exist", rv.Schemaname, rv.Relname)
		}
		return r, nil
	}
	return s.e.cat.Resolve(s.searchPath(), rv.Relname)
}

// copyIn is a running COPY ... FROM STDIN.
type copyIn struct {
	s    *Session
	rel  *catalog.Relation
	cols []string
	opts copyOptions
	data bytes.Buffer
	done bool
}

func (c *copyIn) Columns() []pgwire.Column                   { return nil }
func (c *copyIn) Next(context.Context) (arrow.Record, error) { return nil, nil }
func (c *copyIn) Tag() string                                { return "COPY" }
func (c *copyIn) Close()                                     { c.data.Reset() }
func (c *copyIn) CopyFormat() (int8, int)                    { return c.opts.wireFormat(), len(c.cols) }
func (c *copyIn) Abort(string)                               { c.data.Reset() }
func (o copyOptions) wireFormat() int8 {
	if o.format == copyBinary {
		return 1
	}
	return 0
}

func (c *copyIn) Write(data []byte) error {
	c.data.Write(data)
	return nil
}

// Finish parses the data and inserts the rows.
func (c *copyIn) Finish(ctx context.Context) (string, error) {
	s := c.s
	txn, own := s.txn, false
	if txn == nil {
		txn, own = s.e.db.Begin(), true
	}
	n, err := c.load(ctx, txn)
	if own {
		if err != nil {
			txn.Rollback()
		} else if cerr := txn.Commit(); cerr != nil {
			err = cerr
		}
	} else if err != nil {
		s.txnFailed = true
	}
	c.data.Reset()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("COPY %d", n), nil
}

// copyRow is one parsed row: a value per target column, as text (text and
// CSV) or binary; a nil field is NULL.
type copyRow struct {
	line   int
	fields [][]byte
}

func (c *copyIn) load(ctx context.Context, txn *storage.Txn) (int64, error) {
	var rows []copyRow
	var err error
	switch c.opts.format {
	case copyText:
		rows, err = parseCopyText(c.data.Bytes(), c.opts, len(c.cols), c.rel.Name)
	case copyCSV:
		rows, err = parseCopyCSV(c.data.Bytes(), c.opts, len(c.cols), c.rel.Name)
	case copyBinary:
		rows, err = parseCopyBinary(c.data.Bytes(), len(c.cols), c.rel.Name)
	}
	if err != nil {
		return 0, err
	}
	// Chunks of rows go through one planned INSERT ... VALUES with
	// parameters; the parameter limit of a statement bounds the chunk.
	chunk := max(1, min(1024, 65535/max(1, len(c.cols))))
	plans := map[int]*insertPlan{}
	var total int64
	for lo := 0; lo < len(rows); lo += chunk {
		hi := min(lo+chunk, len(rows))
		ip := plans[hi-lo]
		if ip == nil {
			if ip, err = c.planInsert(hi-lo, txn); err != nil {
				return 0, err
			}
			plans[hi-lo] = ip
		}
		args := make([]types.Datum, 0, (hi-lo)*len(c.cols))
		for _, r := range rows[lo:hi] {
			for j, f := range r.fields {
				d, err := c.decode(f, ip.params[len(args)], r.line, j)
				if err != nil {
					return 0, err
				}
				args = append(args, d)
			}
		}
		x := &execution{s: c.s, args: args, reader: txn, txn: txn}
		wr := &writer{s: c.s, x: x, w: ip.w, ctx: c.s.execCtx(ctx, args)}
		if err := wr.insert(); err != nil {
			return 0, err
		}
		total += wr.count
	}
	return total, nil
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
		if c.opts.format == copyBinary {
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

// parseCopyText splits text-format data into rows of de-escaped fields.
func parseCopyText(data []byte, o copyOptions, ncols int, table string) ([]copyRow, error) {
	var rows []copyRow
	line := 0
	for len(data) > 0 {
		line++
		end := bytes.IndexByte(data, '\n')
		var ln []byte
		if end < 0 {
			ln, data = data, nil
		} else {
			ln, data = data[:end], data[end+1:]
		}
		ln = bytes.TrimSuffix(ln, []byte{'\r'})
		if string(ln) == `\.` {
			break
		}
		if o.header && line == 1 {
			continue
		}
		var fields [][]byte
		var cur []byte
		rawStart := 0
		flush := func(i int) {
			raw := ln[rawStart:i]
			if string(raw) == o.null {
				fields = append(fields, nil)
			} else {
				fields = append(fields, append([]byte{}, cur...))
			}
			cur = cur[:0]
			rawStart = i + 1
		}
		for i := 0; i < len(ln); i++ {
			ch := ln[i]
			if ch == o.delimiter {
				flush(i)
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
		flush(len(ln))
		if err := checkFieldCount(len(fields), ncols, table, line); err != nil {
			return nil, err
		}
		rows = append(rows, copyRow{line: line, fields: fields})
	}
	return rows, nil
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

// parseCopyCSV splits CSV data into rows; quoted fields may hold
// delimiters, quotes (doubled, or after the escape character) and line
// breaks. An unquoted field equal to the NULL string is NULL.
func parseCopyCSV(data []byte, o copyOptions, ncols int, table string) ([]copyRow, error) {
	var rows []copyRow
	line, i := 0, 0
	for i < len(data) {
		line++
		startLine := line
		// The end-of-data marker, alone on its line.
		if rest := data[i:]; bytes.HasPrefix(rest, []byte(`\.`)) && (len(rest) == 2 || rest[2] == '\n' || rest[2] == '\r') {
			break
		}
		var fields [][]byte
		var cur []byte
		quotedField, inQuotes := false, false
		endRecord := false
		for !endRecord {
			if i >= len(data) {
				if inQuotes {
					return nil, sqlerr.New(codeBadCopyFormat, "unterminated CSV quoted field").WithDetail("COPY %s, line %d", table, startLine)
				}
				endRecord = true
				break
			}
			ch := data[i]
			i++
			switch {
			case inQuotes && ch == o.escape && i < len(data) && data[i] == o.quote:
				cur = append(cur, o.quote)
				i++
			case inQuotes && ch == o.quote:
				inQuotes = false
			case inQuotes:
				if ch == '\n' {
					line++
				}
				cur = append(cur, ch)
			case ch == o.quote:
				inQuotes, quotedField = true, true
			case ch == o.delimiter:
				fields = appendCSVField(fields, cur, quotedField, o.null)
				cur, quotedField = nil, false
			case ch == '\n':
				endRecord = true
			case ch == '\r' && i < len(data) && data[i] == '\n':
			default:
				cur = append(cur, ch)
			}
		}
		fields = appendCSVField(fields, cur, quotedField, o.null)
		if o.header && startLine == 1 {
			continue
		}
		if len(fields) == 1 && fields[0] != nil && len(fields[0]) == 0 && ncols != 1 && !quotedField {
			continue // a blank line
		}
		if err := checkFieldCount(len(fields), ncols, table, startLine); err != nil {
			return nil, err
		}
		rows = append(rows, copyRow{line: startLine, fields: fields})
	}
	return rows, nil
}

func appendCSVField(fields [][]byte, cur []byte, quoted bool, null string) [][]byte {
	if !quoted && string(cur) == null {
		return append(fields, nil)
	}
	if cur == nil {
		cur = []byte{}
	}
	return append(fields, cur)
}

// binarySignature starts PostgreSQL's binary COPY format.
var binarySignature = []byte("PGCOPY\n\xff\r\n\x00")

func parseCopyBinary(data []byte, ncols int, table string) ([]copyRow, error) {
	bad := func(msg string) error {
		return sqlerr.New(codeBadCopyFormat, "%s", msg).WithDetail("COPY %s", table)
	}
	if !bytes.HasPrefix(data, binarySignature) {
		return nil, bad("COPY file signature not recognized")
	}
	data = data[len(binarySignature):]
	if len(data) < 8 {
		return nil, bad("invalid COPY file header (missing flags)")
	}
	if binary.BigEndian.Uint32(data)&(1<<16) != 0 {
		return nil, bad("invalid COPY file header (WITH OIDS)")
	}
	ext := int(binary.BigEndian.Uint32(data[4:]))
	data = data[8:]
	if ext < 0 || ext > len(data) {
		return nil, bad("invalid COPY file header (wrong length)")
	}
	data = data[ext:]
	var rows []copyRow
	for line := 1; ; line++ {
		if len(data) < 2 {
			if len(data) == 0 {
				return rows, nil // no trailer: accepted, as PostgreSQL does at EOF
			}
			return nil, bad("unexpected EOF in COPY data")
		}
		n := int(int16(binary.BigEndian.Uint16(data)))
		data = data[2:]
		if n == -1 {
			return rows, nil
		}
		if n != ncols {
			return nil, sqlerr.New(codeBadCopyFormat, "row field count is %d, expected %d", n, ncols).WithDetail("COPY %s, line %d", table, line)
		}
		fields := make([][]byte, n)
		for j := range fields {
			if len(data) < 4 {
				return nil, bad("unexpected EOF in COPY data")
			}
			l := int(int32(binary.BigEndian.Uint32(data)))
			data = data[4:]
			if l == -1 {
				continue
			}
			if l < 0 || l > len(data) {
				return nil, bad("invalid field size")
			}
			fields[j] = data[:l:l]
			data = data[l:]
		}
		rows = append(rows, copyRow{line: line, fields: fields})
	}
}

// copyOut is a running COPY ... TO STDOUT.
type copyOut struct {
	ec     *exec.Ctx
	op     exec.Operator
	ts     []types.T
	names  []string
	opts   copyOptions
	s      *Session
	header bool
	batch  *exec.Batch
	row    int
	count  int64
	buf    []byte
	close  func()
	opened bool
}

func (s *Session) startCopyOut(ctx context.Context, query string, opts copyOptions) (pgwire.Result, error) {
	stmts, err := parser.Parse(query)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY (query) TO supports SELECT queries only")
	}
	var r storage.Reader
	closeFn := func() {}
	if s.txn != nil {
		r = s.txn
	} else {
		snap := s.e.db.Snapshot()
		r, closeFn = snap, func() { snap.Close() }
	}
	p := s.newPlanner(&statement{s: s, whole: query}, nil, nil, r)
	q, err := p.PlanSelect(stmts[0].AST.GetSelectStmt())
	if err != nil {
		closeFn()
		return nil, err
	}
	c := &copyOut{ec: s.execCtx(ctx, nil), op: q.Op, opts: opts, s: s, header: opts.header, close: closeFn}
	for _, o := range q.Cols {
		c.ts = append(c.ts, o.Type)
		c.names = append(c.names, o.Name)
	}
	return c, nil
}

func (c *copyOut) Columns() []pgwire.Column                   { return nil }
func (c *copyOut) Next(context.Context) (arrow.Record, error) { return nil, nil }
func (c *copyOut) Tag() string                                { return fmt.Sprintf("COPY %d", c.count) }
func (c *copyOut) CopyFormat() (int8, int)                    { return 0, len(c.ts) }

func (c *copyOut) Close() {
	if c.batch != nil {
		c.batch.Release()
		c.batch = nil
	}
	if c.opened {
		c.op.Close()
		c.opened = false
	}
	if c.close != nil {
		c.close()
		c.close = nil
	}
}

// NextData returns the header, then one row per call.
func (c *copyOut) NextData(ctx context.Context) ([]byte, error) {
	c.ec.Context = ctx
	if !c.opened {
		c.opened = true
		if err := c.op.Open(c.ec); err != nil {
			return nil, err
		}
	}
	if c.header {
		c.header = false
		c.buf = c.buf[:0]
		for i, n := range c.names {
			if i > 0 {
				c.buf = append(c.buf, c.opts.delimiter)
			}
			if c.opts.format == copyCSV {
				c.buf = c.appendCSV(c.buf, n)
			} else {
				c.buf = c.appendTextEscaped(c.buf, n)
			}
		}
		return append(c.buf, '\n'), nil
	}
	for c.batch == nil || c.row >= c.batch.N {
		if c.batch != nil {
			c.batch.Release()
			c.batch = nil
		}
		b, err := c.op.Next(c.ec)
		if err != nil {
			return nil, err
		}
		if b == nil {
			return nil, nil
		}
		c.batch, c.row = b, 0
	}
	c.buf = c.buf[:0]
	loc := c.s.location()
	for j, t := range c.ts {
		if j > 0 {
			c.buf = append(c.buf, c.opts.delimiter)
		}
		d := types.GetDatum(c.batch.Cols[j], c.row, t)
		if d == nil {
			c.buf = append(c.buf, c.opts.null...)
			continue
		}
		v := types.FormatText(d, t, loc)
		if c.opts.format == copyCSV {
			c.buf = c.appendCSV(c.buf, v)
		} else {
			c.buf = c.appendTextEscaped(c.buf, v)
		}
	}
	c.row++
	c.count++
	return append(c.buf, '\n'), nil
}

func (c *copyOut) appendTextEscaped(buf []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch ch {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\v':
			buf = append(buf, '\\', 'v')
		default:
			if ch == c.opts.delimiter {
				buf = append(buf, '\\')
			}
			buf = append(buf, ch)
		}
	}
	return buf
}

// appendCSV quotes a value when it holds the delimiter, the quote, a line
// break, or equals the NULL string (so "" stays apart from NULL).
func (c *copyOut) appendCSV(buf []byte, v string) []byte {
	o := c.opts
	need := v == o.null || strings.IndexByte(v, o.delimiter) >= 0 || strings.IndexByte(v, o.quote) >= 0 ||
		strings.ContainsAny(v, "\r\n") || v == `\.`
	if !need {
		return append(buf, v...)
	}
	buf = append(buf, o.quote)
	for i := 0; i < len(v); i++ {
		if v[i] == o.quote || v[i] == o.escape {
			buf = append(buf, o.escape)
		}
		buf = append(buf, v[i])
	}
	return append(buf, o.quote)
}
