package engine

// Cursors: DECLARE, FETCH, MOVE and CLOSE as PostgreSQL has them, over
// ordinary queries and over SUBSCRIBE.
//
// A cursor over a query reads its rows lazily, batch by batch, as FETCH
// asks for them. A scrollable cursor (the default, or SCROLL) keeps the
// rows read so far so that it can move backward and to absolute
// positions; NO SCROLL keeps none and moves forward only. A cursor
// without WITH HOLD lives until its transaction ends and reads in the
// transaction; one WITH HOLD reads a snapshot of its own and lives until
// CLOSE or the end of the session.
//
// A cursor over SUBSCRIBE moves forward only; FETCH waits until at least
// one row is there (or the WITH (timeout = ...) passes; timeout 0 returns
// what is buffered), then returns the rows ready without waiting more.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// pg_query's cursor option bits (CURSOR_OPT_*).
const (
	cursorOptBinary   = 0x0001
	cursorOptScroll   = 0x0002
	cursorOptNoScroll = 0x0004
	cursorOptHold     = 0x0020
)

// sessionCursor is one open cursor of a session.
type sessionCursor struct {
	name    string
	sql     string
	hold    bool
	binary  bool
	scroll  bool
	created time.Time
	cols    []pgwire.Column
	rowsRes pgwire.Result       // a query's rows
	fd      *feed               // a SUBSCRIBE's rows
	sub     *subscriptionCursor // a subscription's change log
	snap    *lazySnapshot
	batch   [][]types.Datum // rows read from the source, not yet consumed
	kept    [][]types.Datum // every row read (scrollable cursors)
	pos     int64           // 0: before the first row; n: on row n
	read    int64           // rows read from the source
	done    bool            // the source has no more rows
}

// pull reads the source's next row; wait says whether a SUBSCRIBE may
// block for it.
func (c *sessionCursor) pull(ctx context.Context, wait bool) ([]types.Datum, bool, error) {
	for len(c.batch) == 0 {
		if c.done {
			return nil, false, nil
		}
		if c.sub != nil {
			rows, err := c.sub.next(ctx, wait)
			if err != nil || rows == nil {
				return nil, false, err
			}
			c.batch = append(c.batch, rows...)
			continue
		}
		if c.fd != nil {
			b, err := c.fd.nextBatch(ctx, wait)
			if err != nil {
				return nil, false, err
			}
			if b == nil {
				return nil, false, nil
			}
			c.batch = appendColumnRows(c.batch, b.Cols, b.N, c.cols)
			b.Release()
			continue
		}
		rec, err := c.rowsRes.Next(ctx)
		if err != nil {
			return nil, false, err
		}
		if rec == nil {
			c.done = true
			return nil, false, nil
		}
		c.batch = appendColumnRows(c.batch, rec.Columns(), int(rec.NumRows()), c.cols)
		rec.Release()
	}
	row := c.batch[0]
	c.batch = c.batch[1:]
	c.read++
	if c.scroll {
		c.kept = append(c.kept, row)
	}
	return row, true, nil
}

// appendColumnRows appends the n rows of columns arrs, typed as cols.
func appendColumnRows(out [][]types.Datum, arrs []arrow.Array, n int, cols []pgwire.Column) [][]types.Datum {
	for i := 0; i < n; i++ {
		row := make([]types.Datum, len(cols))
		for j, col := range cols {
			row[j] = types.GetDatum(arrs[j], i, col.Type)
		}
		out = append(out, row)
	}
	return out
}

// rowAt returns row k (1-based) of a scrollable cursor, reading up to it.
func (c *sessionCursor) rowAt(ctx context.Context, k int64) ([]types.Datum, bool, error) {
	for c.read < k {
		if _, ok, err := c.pull(ctx, true); err != nil || !ok {
			return nil, false, err
		}
	}
	if k < 1 {
		return nil, false, nil
	}
	return c.kept[k-1], true, nil
}

// take returns row k, the one after the current position unless the
// cursor is scrollable: from the kept rows, or read.
func (c *sessionCursor) take(ctx context.Context, k int64) ([]types.Datum, bool, error) {
	if c.scroll {
		return c.rowAt(ctx, k)
	}
	return c.pull(ctx, true)
}

// total reads every row and returns their count.
func (c *sessionCursor) total(ctx context.Context) (int64, error) {
	for {
		_, ok, err := c.pull(ctx, true)
		if err != nil {
			return 0, err
		}
		if !ok {
			return c.read, nil
		}
	}
}

func (c *sessionCursor) close() {
	if c.rowsRes != nil {
		c.rowsRes.Close()
		c.rowsRes = nil
	}
	if c.fd != nil {
		c.fd.close()
		c.fd = nil
	}
	if c.sub != nil {
		c.sub.closeSnapshot()
	}
	if c.snap != nil {
		c.snap.close()
		c.snap = nil
	}
}

func (c *sessionCursor) noScroll() error {
	return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "cursor can only scan forward").
		WithHint("Declare it with SCROLL option to enable backward scan.")
}

// fetch moves the cursor as f says and returns the rows it passes over
// (FETCH) or only counts them (MOVE).
func (c *sessionCursor) fetch(ctx context.Context, f *pg.FetchStmt, timeout time.Duration) ([][]types.Datum, int64, error) {
	var rows [][]types.Datum
	var count int64
	emit := func(r []types.Datum) {
		count++
		if !f.Ismove {
			rows = append(rows, r)
		}
	}
	n := f.HowMany
	dir := f.Direction
	if dir == pg.FetchDirection_FETCH_DIRECTION_UNDEFINED {
		dir = pg.FetchDirection_FETCH_FORWARD
	}
	if n < 0 && (dir == pg.FetchDirection_FETCH_FORWARD || dir == pg.FetchDirection_FETCH_BACKWARD) {
		// FETCH FORWARD -n is FETCH BACKWARD n.
		n = -n
		if dir == pg.FetchDirection_FETCH_FORWARD {
			dir = pg.FetchDirection_FETCH_BACKWARD
		} else {
			dir = pg.FetchDirection_FETCH_FORWARD
		}
	}
	if c.fd != nil || c.sub != nil {
		if dir != pg.FetchDirection_FETCH_FORWARD {
			return nil, 0, c.noScroll()
		}
		return c.fetchSubscribe(ctx, n, timeout, f.Ismove)
	}
	switch dir {
	case pg.FetchDirection_FETCH_FORWARD:
		for i := int64(0); i < n; i++ {
			r, ok, err := c.take(ctx, c.pos+1)
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				c.pos = c.read + 1
				break
			}
			c.pos++
			emit(r)
		}
	case pg.FetchDirection_FETCH_BACKWARD:
		if !c.scroll {
			return nil, 0, c.noScroll()
		}
		for i := int64(0); i < n && c.pos > 0; i++ {
			c.pos--
			if c.pos == 0 {
				break
			}
			emit(c.kept[c.pos-1])
		}
	case pg.FetchDirection_FETCH_ABSOLUTE, pg.FetchDirection_FETCH_RELATIVE:
		target := n
		if dir == pg.FetchDirection_FETCH_RELATIVE {
			target = c.pos + n
		} else if n < 0 {
			total, err := c.total(ctx)
			if err != nil {
				return nil, 0, err
			}
			target = total + 1 + n
		}
		if !c.scroll && target <= c.pos && (target != 0 || c.pos != 0) {
			return nil, 0, c.noScroll()
		}
		if !c.scroll {
			// Forward only: skip to the row before target, then take it.
			for c.pos < target-1 {
				_, ok, err := c.pull(ctx, true)
				if err != nil {
					return nil, 0, err
				}
				if !ok {
					c.pos = c.read + 1
					return rows, count, nil
				}
				c.pos++
			}
		}
		if target < 1 {
			c.pos = 0
			return rows, count, nil
		}
		r, ok, err := c.take(ctx, target)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			c.pos = c.read + 1
			return rows, count, nil
		}
		c.pos = target
		emit(r)
	}
	return rows, count, nil
}

// fetchSubscribe waits for the first row (up to timeout; negative: no
// limit), then takes up to n rows that are ready.
func (c *sessionCursor) fetchSubscribe(ctx context.Context, n int64, timeout time.Duration, move bool) ([][]types.Datum, int64, error) {
	var rows [][]types.Datum
	var count int64
	wctx := ctx
	if timeout >= 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for count < n {
		wait := count == 0 && timeout != 0
		r, ok, err := c.pull(wctx, wait)
		if err != nil {
			if count == 0 && wctx.Err() != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				// The timeout passed with nothing to return.
				return rows, 0, nil
			}
			return nil, 0, err
		}
		if !ok {
			break
		}
		count++
		c.pos++
		if !move {
			rows = append(rows, r)
		}
	}
	return rows, count, nil
}

// cursor finds an open cursor.
func (s *Session) cursor(name string) (*sessionCursor, error) {
	c := s.cursors[name]
	if c == nil {
		return nil, sqlerr.New(sqlerr.InvalidCursorName, "cursor %q does not exist", name)
	}
	return c, nil
}

// closeCursors closes the cursors that end with the transaction (all of
// them when all is set).
func (s *Session) closeCursors(all bool) {
	for name, c := range s.cursors {
		if all || !c.hold {
			c.close()
			delete(s.cursors, name)
		}
	}
}

func (s *Session) addCursor(c *sessionCursor) error {
	if s.cursors == nil {
		s.cursors = map[string]*sessionCursor{}
	}
	if _, ok := s.cursors[c.name]; ok {
		c.close()
		return sqlerr.New(sqlerr.DuplicateCursor, "cursor %q already exists", c.name)
	}
	s.cursors[c.name] = c
	return nil
}

func (s *Session) needTxnForCursor(hold bool) error {
	if s.txn == nil && !hold {
		return sqlerr.New(sqlerr.NoActiveSQLTransaction, "DECLARE CURSOR can only be used in transaction blocks")
	}
	return nil
}

// planDeclare plans DECLARE name CURSOR FOR query.
func (s *Session) planDeclare(st *statement, d *pg.DeclareCursorStmt) (*prepared, error) {
	sel := d.Query.GetSelectStmt()
	if sel == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DECLARE CURSOR supports SELECT queries only")
	}
	hold := d.Options&cursorOptHold != 0
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if err := s.needTxnForCursor(hold); err != nil {
			return nil, err
		}
		if _, ok := s.cursors[d.Portalname]; ok {
			return nil, sqlerr.New(sqlerr.DuplicateCursor, "cursor %q already exists", d.Portalname)
		}
		c := &sessionCursor{name: d.Portalname, sql: st.st.SQL, hold: hold, binary: d.Options&cursorOptBinary != 0,
			scroll: d.Options&cursorOptNoScroll == 0, created: time.Now()}
		var r storage.Reader = s.txn
		if hold || s.txn == nil {
			c.snap = &lazySnapshot{db: s.e.db}
			r = c.snap
		}
		p := s.newPlanner(st, nil, x.args, r)
		p.Deps, p.ColDeps = map[uint32]bool{}, map[uint32]map[int16]bool{}
		q, err := p.PlanSelect(sel)
		if err == nil {
			err = s.checkReads(depList(p.Deps), p.ColDeps, p.ViewReads)
		}
		// ACCESS SHARE on what the cursor reads, held to the end of the
		// transaction as in PostgreSQL; the snapshot comes after.
		if err == nil {
			err = s.lockRelations(ctx, depList(p.Deps), lockAccessShare)
		}
		if err != nil {
			c.close()
			return nil, err
		}
		if c.snap != nil {
			c.snap.start()
		}
		op, err := lowering(p, func() storage.Reader { return r }).Batch(q.Plan)
		if err != nil {
			c.close()
			return nil, err
		}
		c.cols = outputColumns(q.Cols)
		c.rowsRes = newRowsResult(context.Background(), s.execCtx(context.Background(), x.args), op, c.cols, "SELECT")
		if err := s.addCursor(c); err != nil {
			return nil, err
		}
		return tagResult("DECLARE CURSOR"), nil
	}), nil
}

// planDeclareSubscribe plans DECLARE name CURSOR FOR SUBSCRIBE ....
func (s *Session) planDeclareSubscribe(sub *parser.Subscribe, sp *subscribePlan, sql string) (*prepared, error) {
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if err := s.needTxnForCursor(sub.Hold); err != nil {
			return nil, err
		}
		if _, ok := s.cursors[sub.Declare]; ok {
			return nil, sqlerr.New(sqlerr.DuplicateCursor, "cursor %q already exists", sub.Declare)
		}
		fd, err := s.startFeed(ctx, sp)
		if err != nil {
			return nil, err
		}
		c := &sessionCursor{name: sub.Declare, sql: sql, hold: sub.Hold, binary: sub.Binary, cols: sp.cols, fd: fd, created: time.Now()}
		if err := s.addCursor(c); err != nil {
			return nil, err
		}
		return tagResult("DECLARE CURSOR"), nil
	}), nil
}

// fetchTimeout reads FETCH's WITH (timeout = ...): -1 when absent.
func fetchTimeout(opts []parser.Option) (time.Duration, error) {
	d := time.Duration(-1)
	for _, o := range opts {
		if strings.ToLower(o.Key) != "timeout" {
			return 0, sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized FETCH option %q", o.Key)
		}
		v, err := parseDurationSetting(o.Value)
		if err != nil {
			return 0, sqlerr.New(sqlerr.InvalidParameterValue, "invalid FETCH timeout %q", o.Value)
		}
		d = v
	}
	return d, nil
}

// parseDurationSetting reads '1s', '500ms', '0' (milliseconds when bare).
func parseDurationSetting(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if d, err := time.ParseDuration(strings.ReplaceAll(v, " ", "")); err == nil {
		return d, nil
	}
	var ms float64
	if _, err := fmt.Sscanf(v, "%g", &ms); err != nil || math.IsNaN(ms) {
		return 0, fmt.Errorf("bad duration %q", v)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// planFetch plans FETCH and MOVE.
func (s *Session) planFetch(f *pg.FetchStmt, opts []parser.Option) (*prepared, error) {
	timeout, err := fetchTimeout(opts)
	if err != nil {
		return nil, err
	}
	var cols []pgwire.Column
	if !f.Ismove {
		c, err := s.cursor(f.Portalname)
		if err != nil {
			return nil, err
		}
		cols = c.cols
	}
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		c, err := s.cursor(f.Portalname)
		if err != nil {
			return nil, err
		}
		rows, n, err := c.fetch(ctx, f, timeout)
		if err != nil {
			return nil, err
		}
		if f.Ismove {
			return tagResult(fmt.Sprintf("MOVE %d", n)), nil
		}
		res := memResult(c.cols, rows, fmt.Sprintf("FETCH %d", n))
		if c.binary {
			return binaryResult{res}, nil
		}
		return res, nil
	}}, nil
}

// binaryResult is the rows of FETCH from a BINARY cursor.
type binaryResult struct{ pgwire.Result }

func (binaryResult) Binary() bool { return true }

// planClose plans CLOSE name | ALL.
func (s *Session) planClose(cp *pg.ClosePortalStmt) (*prepared, error) {
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if cp.Portalname == "" {
			s.closeCursors(true)
			return tagResult("CLOSE CURSOR ALL"), nil
		}
		c, err := s.cursor(cp.Portalname)
		if err != nil {
			return nil, err
		}
		c.close()
		delete(s.cursors, cp.Portalname)
		return tagResult("CLOSE CURSOR"), nil
	}), nil
}
