package engine

// COPY ... FROM STDIN, streamed. The client's CopyData messages are parsed
// as they arrive by the format package's COPY reader (format/copy.go,
// PostgreSQL's text, CSV and binary rules): complete records become rows
// at once, and only a record cut by the end of a message is kept until the
// next one. Every batch of
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
// Text and CSV fields (the reader checks them), and binary fields of text
// types (their input function does), must be valid UTF-8 (22021), as
// PostgreSQL checks for a UTF8 database.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/catalog"
	"streamsql/format"
	"streamsql/lower"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

const (
	// copyBatchRows bounds the rows parsed ahead of their insert (fewer
	// when the columns are many: one statement takes at most 65535
	// parameters).
	copyBatchRows = 4096
	// copyBatchBytes bounds the field bytes parsed ahead of their insert.
	copyBatchBytes = 8 << 20
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
	// rd cuts the data into records.
	rd *format.CopyReader

	// The batch: rows whose fields point into rd's arena.
	rows []copyRow

	batch int // rows per insert
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

func newCopyIn(s *Session, rel *catalog.Relation, cols []string, opts copyOptions) (*copyIn, error) {
	ro := format.CopyOptions{Format: format.CopyFormat(opts.format), Header: opts.header, Delimiter: opts.delimiter,
		Null: opts.null, Quote: opts.quote, Escape: opts.escape, Relation: rel.Name, Columns: len(cols)}
	// FORCE_NULL and FORCE_NOT_NULL name columns of the COPY.
	force := func(names []string, what string) ([]bool, error) {
		if names == nil {
			return nil, nil
		}
		out := make([]bool, len(cols))
		for _, n := range names {
			i := slices.Index(cols, n)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.InvalidColumnReference, "%s column \"%s\" not referenced by COPY", what, n)
			}
			out[i] = true
		}
		return out, nil
	}
	var err error
	if ro.ForceNull, err = force(opts.forceNull, "FORCE_NULL"); err != nil {
		return nil, err
	}
	if ro.ForceNotNull, err = force(opts.forceNotNull, "FORCE_NOT_NULL"); err != nil {
		return nil, err
	}
	return &copyIn{s: s, rel: rel, cols: cols, opts: opts, rd: format.NewCopyReader(ro),
		batch: max(1, min(copyBatchRows, 65535/max(1, len(cols))))}, nil
}

func (c *copyIn) Columns() []pgwire.Column                        { return nil }
func (c *copyIn) Next(context.Context) (arrow.RecordBatch, error) { return nil, nil }
func (c *copyIn) Tag() string                                     { return "COPY" }
func (c *copyIn) CopyFormat() (int8, int)                         { return c.opts.wireFormat(), len(c.cols) }

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
	c.buf, c.rows = nil, nil
	c.rd.ResetArena()
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
	if c.rd.Ended() {
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
	if len(rest) > format.CopyMaxRecord {
		return c.fail(sqlerr.New(sqlerr.ProgramLimitExceeded, "COPY record is too large").
			WithDetail("COPY %s, line %d: a record of more than %d bytes.", c.rel.Name, c.rd.Line(), format.CopyMaxRecord))
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
	if !c.rd.Ended() {
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
	for !c.rd.Ended() && off < len(src) {
		next, rec, ok, err := c.rd.Next(src, off, final)
		if err != nil {
			return off, err
		}
		if next < 0 {
			break // the record's end has not arrived
		}
		off = next
		if ok {
			c.rows = append(c.rows, copyRow{line: rec.Line, fields: rec.Fields})
		}
		if len(c.rows) >= c.batch || c.rd.ArenaBytes() >= copyBatchBytes {
			if err := c.flush(ctx); err != nil {
				return off, err
			}
		}
	}
	if c.rd.Ended() {
		return len(src), nil
	}
	if final {
		return off, c.rd.Finish()
	}
	return off, nil
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
	c.rd.ResetArena()
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
	ip, done, err := c.insertPlanFor(n)
	if err != nil {
		return err
	}
	defer done()
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
	x := &execution{ctx: ctx, s: c.s, args: args, reader: c.txn, txn: c.txn}
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
	w      *lower.Write
	params []types.T
}

// insertPlanFor returns the plan of an insert of n rows into the COPY's
// transaction, and the function that gives it back. The plans live in the
// engine's plan cache, so that a client sending many COPYs of the same
// shape plans each batch size once, not once per COPY.
func (c *copyIn) insertPlanFor(n int) (*insertPlan, func(), error) {
	cp, done, err := c.s.takeOrPlan(c.s.copyPlanKey(c.rel.OID, c.cols, n), c.txn, func(cp *cachedPlan) error {
		ip, err := c.planInsert(n, cp.read)
		cp.ins = ip
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return cp.ins, done, nil
}

func (c *copyIn) planInsert(n int, read func() storage.Reader) (*insertPlan, error) {
	var sb strings.Builder
	sb.WriteString("INSERT INTO ")
	sb.WriteString(udf.QuoteIdent(c.rel.Schema) + "." + udf.QuoteIdent(c.rel.Name) + " (")
	for i, col := range c.cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(udf.QuoteIdent(col))
	}
	// COPY writes identity columns it names, GENERATED ALWAYS or not,
	// as PostgreSQL's COPY does.
	sb.WriteString(") OVERRIDING SYSTEM VALUE VALUES ")
	appendParamRows(&sb, n, len(c.cols))
	sql := sb.String()
	stmts, err := parser.Parse(sql)
	if err != nil {
		return nil, err
	}
	pl := c.s.newPlanner(&statement{s: c.s, whole: sql}, nil, nil, read())
	pw, err := pl.PlanInsert(stmts[0].AST.GetInsertStmt())
	if err != nil {
		return nil, err
	}
	w, err := lowering(pl, read).Write(pw.Plan)
	if err != nil {
		return nil, err
	}
	return &insertPlan{w: w, params: pl.FinishParams()}, nil
}
