package engine

// COPY: bulk load into a table from the client, and bulk export of a table
// or a query to the client, in PostgreSQL's text, CSV and binary formats.
//
// COPY ... FROM STDIN parses the client's data as it arrives and inserts
// the rows in batches through the same path as INSERT (copy_from.go).
//
// COPY ... TO STDOUT runs the query (SELECT * FROM t for a table) over a
// snapshot and sends one CopyData message per row.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/format"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// copyFormat is a COPY data format.
type copyFormat int

const (
	copyText copyFormat = iota
	copyCSV
	copyBinary
)

// copyFormatNames are the names of FORMAT, by copyFormat.
var copyFormatNames = [...]string{"text", "csv", "binary"}

// copyOptions are the WITH (...) options of a COPY.
type copyOptions struct {
	format    copyFormat
	header    bool
	delimiter byte
	null      string
	quote     byte
	escape    byte
	// forceNull and forceNotNull name the columns of FORCE_NULL and
	// FORCE_NOT_NULL (CSV, COPY FROM).
	forceNull, forceNotNull []string
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
			f := slices.Index(copyFormatNames[:], strings.ToLower(val))
			if f < 0 {
				return o, sqlerr.New(sqlerr.InvalidParameterValue, "COPY format \"%s\" not recognized", val)
			}
			o.format = copyFormat(f)
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
		case "force_null", "force_not_null":
			var names []string
			for _, it := range d.Arg.GetList().GetItems() {
				if sv := it.GetString_(); sv != nil {
					names = append(names, sv.Sval)
				}
			}
			if d.Arg.GetList() == nil {
				return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY %s * is not supported: name the columns", strings.ToUpper(d.Defname))
			}
			if d.Defname == "force_null" {
				o.forceNull = append(o.forceNull, names...)
			} else {
				o.forceNotNull = append(o.forceNotNull, names...)
			}
		default:
			return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY option %q is not supported", d.Defname)
		}
	}
	if o.format != copyCSV && o.forceNull != nil {
		return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force null available only in CSV mode")
	}
	if o.format != copyCSV && o.forceNotNull != nil {
		return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force not null available only in CSV mode")
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
	} else {
		if opts.forceNull != nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force null only available using COPY FROM")
		}
		if opts.forceNotNull != nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force not null only available using COPY FROM")
		}
	}
	if cs.IsFrom {
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			rel, err := s.resolve(nil, cs.Relation)
			if err != nil {
				return nil, err
			}
			if rel.Kind != catalog.KindTable {
				return nil, sqlerr.New(sqlerr.WrongObjectType, "cannot copy to %s %q", rel.Kind.String(), rel.Name)
			}
			// COPY FROM does not check row-level security policies: as in
			// PostgreSQL, a role they bind must use INSERT.
			if bound, err := s.e.rowSecurityBinds(rel, s.currentUser(), s.rowSecurityOn()); err != nil || bound {
				if err == nil {
					err = sqlerr.New(sqlerr.FeatureNotSupported, "COPY FROM not supported with row-level security").WithHint("Use INSERT statements instead.")
				}
				return nil, err
			}
			if len(cols) == 0 {
				for _, c := range rel.VisibleColumns() {
					cols = append(cols, c.Name)
				}
			}
			// INSERT on the columns loaded, as PostgreSQL checks it.
			if err := s.checkUsage(rel.Schema); err != nil {
				return nil, err
			}
			attnums := map[int16]bool{}
			for _, c := range cols {
				i := rel.ColumnIndex(c)
				if i < 0 {
					return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", c, rel.Name)
				}
				attnums[rel.Columns[i].AttNum] = true
			}
			if err := s.checkColumns(rel, privLetter["insert"], attnums); err != nil {
				return nil, err
			}
			// ROW EXCLUSIVE, as INSERT takes, until the transaction (the
			// COPY's own outside a block) ends.
			if err := s.lockRelation(ctx, rel, lockRowExclusive); err != nil {
				return nil, err
			}
			return newCopyIn(s, rel, cols, opts)
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
				qs[i] = udf.QuoteIdent(c)
			}
			list = strings.Join(qs, ", ")
		}
		query = "SELECT " + list + " FROM " + rangeVarSQL(cs.Relation)
	}
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if cs.Relation != nil {
			rel, err := s.resolve(nil, cs.Relation)
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
		return udf.QuoteIdent(rv.Schemaname) + "." + udf.QuoteIdent(rv.Relname)
	}
	return udf.QuoteIdent(rv.Relname)
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
	// blocking: rows may take long to come (COPY (SUBSCRIBE ...)).
	blocking bool
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
	p.Deps, p.ColDeps = map[uint32]bool{}, map[uint32]map[int16]bool{}
	q, err := p.PlanSelect(stmts[0].AST.GetSelectStmt())
	if err == nil {
		err = s.checkReads(depList(p.Deps), p.ColDeps, p.ViewReads)
	}
	// ACCESS SHARE on what it reads. As in PostgreSQL, whose COPY takes
	// its snapshot before it opens the table, the rows are those of the
	// snapshot taken above, before a wait here.
	if err == nil {
		err = s.lockRelations(ctx, depList(p.Deps), lockAccessShare)
	}
	if err != nil {
		closeFn()
		return nil, err
	}
	op, err := lowering(p, func() storage.Reader { return r }).Batch(q.Plan)
	if err != nil {
		closeFn()
		return nil, err
	}
	c := &copyOut{ec: s.execCtx(ctx, nil), op: op, opts: opts, s: s, header: opts.header, close: closeFn}
	for _, o := range q.Cols {
		c.ts = append(c.ts, o.Type)
		c.names = append(c.names, o.Name)
	}
	return c, nil
}

func (c *copyOut) Columns() []pgwire.Column                        { return nil }
func (c *copyOut) Next(context.Context) (arrow.RecordBatch, error) { return nil, nil }
func (c *copyOut) Tag() string                                     { return fmt.Sprintf("COPY %d", c.count) }
func (c *copyOut) CopyFormat() (int8, int)                         { return 0, len(c.ts) }
func (c *copyOut) Blocking() bool                                  { return c.blocking }

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
	for {
		c.appendRow()
		// A streaming COPY sends what it has at once: the rest of the
		// batch goes in the same message.
		if !c.blocking || c.row >= c.batch.N {
			return c.buf, nil
		}
	}
}

// appendRow formats the batch's next row into c.buf.
func (c *copyOut) appendRow() {
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
	c.buf = append(c.buf, '\n')
}

func (c *copyOut) appendTextEscaped(buf []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch e := format.CopyTextEscapes[ch]; {
		case e != 0:
			buf = append(buf, '\\', e)
		case ch == c.opts.delimiter:
			buf = append(buf, '\\', ch)
		default:
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
