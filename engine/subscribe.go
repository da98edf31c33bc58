package engine

// SUBSCRIBE: a changefeed of a materialized view over the wire.
//
// A subscriber attaches to the view's materialize operator the way a view
// defined on the view does (stream.Feed): it joins at the view's next
// barrier, epoch a, and reads
//
//   - the snapshot: the view's rows as committed at epoch a, each with
//     ss_epoch = a and ss_diff = +1 (unless SNAPSHOT = false);
//   - then every committed change, epoch by epoch: ss_epoch = the epoch the
//     change committed in, ss_diff = +1 for an insert, -1 for a delete (an
//     update is a -1 and a +1 row);
//   - with PROGRESS, a row after each epoch with ss_progressed = true and
//     every other column NULL: everything up to that epoch has been sent.
//
// A table, a plain view, a source or a (query) is subscribed through a
// temporary streaming job planned like a materialized view over it; the
// job and its state are dropped when the subscriber goes.
//
// A goroutine per subscriber drains the view's link into a bounded buffer
// (subscribe_buffer_rows), so that a slow client never holds up the view
// or the other subscribers: past the bound the subscriber is cut off with
// SQLSTATE 53400.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/exec/stream"
	"streamsql/lower"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// Names of the columns SUBSCRIBE puts before the relation's.
const (
	colEpoch      = "ss_epoch"
	colDiff       = "ss_diff"
	colState      = "ss_state"
	colProgressed = "ss_progressed"
)

// tempJobBase is the first id of temporary subscribe jobs. Catalog OIDs
// grow one by one from catalog.FirstUserOID and never reach it.
const tempJobBase = 0xF000_0000

// defaultSubscribeBuffer is subscribe_buffer_rows' default.
const defaultSubscribeBuffer = 100_000

// subscribePlan is a SUBSCRIBE planned: what to follow and how to shape it.
type subscribePlan struct {
	// rel is the materialized view followed; nil when a temporary job
	// runs def (a SELECT over a table, view, source, or the user's query).
	rel      *catalog.Relation
	def      string
	sel      *pg.SelectStmt
	search   []string
	relCols  []pgwire.Column // the relation's columns
	cols     []pgwire.Column // the output columns
	snapshot bool
	progress bool
	upsert   []int // ENVELOPE UPSERT key columns (indexes into relCols)
	// reads and readCols are the relations (and columns) the query of a
	// temporary job reads, checked for SELECT when the SUBSCRIBE runs;
	// viewReads what the views it reads read, checked as their owners.
	reads     []uint32
	readCols  map[uint32]map[int16]bool
	viewReads []planner.ViewRead
	asOf      uint64
	hasAsOf   bool
	buffer    int
	// role is who subscribed: a temporary job reads with its
	// row-level security policies.
	role string
}

// planSubscribe resolves a SUBSCRIBE.
func (s *Session) planSubscribe(sub *parser.Subscribe) (*subscribePlan, error) {
	sp := &subscribePlan{snapshot: true, search: s.searchPath(), buffer: s.subscribeBuffer(), role: s.currentUser()}
	for _, o := range sub.Options {
		switch strings.ToLower(o.Key) {
		case "snapshot", "progress":
			b, ok := parseBoolOption(o.Value)
			if !ok {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for SUBSCRIBE option %s: %q", strings.ToUpper(o.Key), o.Value)
			}
			if strings.ToLower(o.Key) == "snapshot" {
				sp.snapshot = b
			} else {
				sp.progress = b
			}
		default:
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized SUBSCRIBE option %q", o.Key)
		}
	}
	if sub.AsOf != "" {
		e, err := strconv.ParseUint(sub.AsOf, 10, 64)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid AS OF epoch %q", sub.AsOf)
		}
		sp.asOf, sp.hasAsOf = e, true
	}
	var names []string
	if sub.Relation != nil {
		r, err := s.resolveName(*sub.Relation)
		if err != nil {
			return nil, err
		}
		switch r.Kind {
		case catalog.KindMatView:
			sp.rel = r
			for _, c := range r.VisibleColumns() {
				sp.relCols = append(sp.relCols, pgwire.Column{Name: c.Name, Type: c.Type})
			}
		case catalog.KindTable, catalog.KindView, catalog.KindSource:
			sp.def = "SELECT * FROM " + udf.QuoteIdent(r.Schema) + "." + udf.QuoteIdent(r.Name)
		default:
			return nil, sqlerr.New(sqlerr.WrongObjectType, "cannot subscribe to %s %q", r.Kind.String(), r.Name)
		}
	} else {
		def, err := parser.Deparse(sub.Query)
		if err != nil {
			return nil, err
		}
		sp.def = def
	}
	if sp.rel == nil {
		stmts, err := parser.Parse(sp.def)
		if err != nil {
			return nil, err
		}
		sp.sel = stmts[0].AST.GetSelectStmt()
		// Plan once now for the columns (and the errors); the job is
		// planned again when it starts.
		p := s.e.streamPlanner(sp.def, sp.role)
		p.SearchPath = sp.search
		p.Deps = map[uint32]bool{}
		p.ColDeps = map[uint32]map[int16]bool{}
		plan, err := s.e.planStream(p, sp.sel, lower.StreamOptions{Name: "subscribe", Parallelism: 1})
		if err != nil {
			return nil, err
		}
		sp.reads, sp.readCols, sp.viewReads = depList(p.Deps), p.ColDeps, p.ViewReads
		for _, c := range plan.Cols {
			t := c.Type
			if t.Kind == types.Unknown {
				t = types.TText
			}
			sp.relCols = append(sp.relCols, pgwire.Column{Name: c.Name, Type: t})
		}
	}
	for _, c := range sp.relCols {
		names = append(names, c.Name)
	}
	if sub.Upsert {
		for _, k := range sub.UpsertKey {
			i := slices.Index(names, k)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q does not exist", k)
			}
			sp.upsert = append(sp.upsert, i)
		}
		sp.cols = []pgwire.Column{{Name: colEpoch, Type: types.TInt8}, {Name: colState, Type: types.TText}}
		if sp.progress {
			sp.cols = append(sp.cols, pgwire.Column{Name: colProgressed, Type: types.TBool})
		}
		for _, k := range sp.upsert {
			sp.cols = append(sp.cols, sp.relCols[k])
		}
		for i, c := range sp.relCols {
			if !slices.Contains(sp.upsert, i) {
				sp.cols = append(sp.cols, c)
			}
		}
		return sp, nil
	}
	sp.cols = []pgwire.Column{{Name: colEpoch, Type: types.TInt8}, {Name: colDiff, Type: types.TInt8}}
	if sp.progress {
		sp.cols = append(sp.cols, pgwire.Column{Name: colProgressed, Type: types.TBool})
	}
	sp.cols = append(sp.cols, sp.relCols...)
	return sp, nil
}

func parseBoolOption(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "on", "1", "yes":
		return true, true
	case "false", "off", "0", "no":
		return false, true
	}
	return false, false
}

// checkSubscribe fails with 42501 unless the current role may read what
// sp follows, as a SELECT of it would: SELECT on every column of a
// materialized view, or on the relations and columns the query reads.
func (s *Session) checkSubscribe(sp *subscribePlan) error {
	if sp.rel == nil {
		return s.checkReads(sp.reads, sp.readCols, sp.viewReads)
	}
	if err := s.checkUsage(sp.rel.Schema); err != nil {
		return err
	}
	cols := map[int16]bool{}
	for _, c := range sp.rel.VisibleColumns() {
		cols[c.AttNum] = true
	}
	return s.checkColumns(sp.rel, 'r', cols)
}

// subscribeBuffer is the session's subscribe_buffer_rows.
func (s *Session) subscribeBuffer() int {
	v, _ := s.get("subscribe_buffer_rows")
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return defaultSubscribeBuffer
	}
	return n
}

// startFeed starts following the plan's view (starting a temporary job
// first if needed).
func (s *Session) startFeed(ctx context.Context, sp *subscribePlan) (*feed, error) {
	if err := s.checkSubscribe(sp); err != nil {
		return nil, err
	}
	e := s.e
	rel := sp.rel
	var dropTemp func()
	if rel == nil {
		var err error
		if rel, dropTemp, err = e.startTempView(ctx, sp); err != nil {
			return nil, err
		}
	}
	f, err := e.coord.AttachFeed(rel.OID)
	if err != nil {
		if dropTemp != nil {
			dropTemp()
		}
		return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "cannot subscribe to %q: %v", rel.Name, err)
	}
	var replay *catalog.Relation
	if sp.hasAsOf {
		// Epochs from the attach on come from the view; older ones only
		// from the change log of a durable subscription that retains them.
		if c := e.coord.Committed(); sp.asOf < c {
			if replay, err = e.retainingSubscription(rel, sp.asOf+1); err != nil || replay == nil {
				f.Close()
				if dropTemp != nil {
					dropTemp()
				}
				if err != nil {
					return nil, err
				}
				return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState,
					"AS OF %d is no longer retained: the earliest epoch available to SUBSCRIBE is %d", sp.asOf, c).
					WithHint("Subscribe without AS OF to start from the current contents, or create a subscription (CREATE SUBSCRIPTION) on %q to keep its changes.", rel.Name)
			}
		}
	}
	fctx, cancel := context.WithCancel(context.Background())
	fd := &feed{e: e, sp: sp, rel: rel, f: f, cancel: cancel, dropTemp: dropTemp, wake: make(chan struct{}, 1), drained: make(chan struct{})}
	if replay != nil {
		fd.replay = &logReplay{sub: replay.OID, pos: stream.LogPos{Epoch: sp.asOf + 1}}
	}
	fd.table = rel.Table()
	go fd.drain(fctx)
	return fd, nil
}

// startTempView plans sp.def like a materialized view under a temporary
// id and starts it; drop stops it and deletes its state.
func (e *Engine) startTempView(ctx context.Context, sp *subscribePlan) (*catalog.Relation, func(), error) {
	n, err := e.db.NextSequence("stream/subscribe", 1)
	if err != nil {
		return nil, nil, err
	}
	id := uint32(tempJobBase + n%(1<<27))
	p := e.streamPlanner(sp.def, sp.role)
	p.SearchPath = sp.search
	var names []string
	for _, c := range sp.relCols {
		names = append(names, c.Name)
	}
	opts := lower.StreamOptions{ViewID: id, Name: fmt.Sprintf("subscribe_%d", n), ColNames: names, Parallelism: 1}
	plan, err := e.planStream(p, sp.sel, opts)
	if err != nil {
		return nil, nil, err
	}
	r := &catalog.Relation{OID: id, Schema: "pg_temp", Name: opts.Name, Kind: catalog.KindMatView, Definition: sp.def,
		Owner: sp.role, Created: time.Now(), AppendOnly: plan.AppendOnly, Parallelism: 1, SearchPath: sp.search, ViewKey: plan.Key}
	for _, c := range sp.relCols {
		r.Columns = append(r.Columns, catalog.Column{Name: c.Name, Type: c.Type})
	}
	if err := e.allocState(r, plan.Root); err != nil {
		return nil, nil, err
	}
	drop := func() {
		if err := e.coord.Drop(r.OID, r.StateTables); err != nil {
			e.log.Error("cannot drop a subscription's temporary job", "job", r.Name, "err", err)
		}
	}
	if err := e.coord.MarkTemporary(r.OID, r.StateTables); err != nil {
		return nil, nil, err
	}
	if err := e.coord.Add(ctx, jobSpecOf(r, plan)); err != nil {
		drop()
		return nil, nil, err
	}
	return r, drop, nil
}

// feedItem is what the drain hands the reader: the start (with the
// storage snapshot at the start epoch) or one committed epoch's changes.
type feedItem struct {
	epoch  uint64
	start  bool
	snap   *storage.Snapshot
	chunks []*stream.Chunk
	rows   int
}

// feed is one subscriber's changefeed: a drain goroutine that keeps up
// with the view, and a reader that turns what it kept into rows.
type feed struct {
	e        *Engine
	sp       *subscribePlan
	rel      *catalog.Relation
	table    *storage.Table
	f        *stream.Feed
	cancel   context.CancelFunc
	dropTemp func()

	mu       sync.Mutex
	queue    []*feedItem
	buffered int   // rows in queue and pending
	err      error // set when the drain ends
	wake     chan struct{}
	drained  chan struct{}

	// The reader's side.
	cur  *feedItem
	next int // next chunk of cur
	// curCommitted: cur's epoch has committed (its rows may go out).
	curCommitted bool
	scan         *storage.RowIter
	// replay, for AS OF an epoch before the attach, reads the changes of
	// the epochs in between from a subscription's log instead of the
	// snapshot.
	replay   *logReplay
	lastSent uint64 // the last epoch whose rows were all returned
	closed   atomic.Bool
}

// drain reads the view's link until ctx ends, the view stops or the
// buffer overflows.
func (fd *feed) drain(ctx context.Context) {
	defer close(fd.drained)
	var pending []*stream.Chunk
	pendingRows := 0
	started := false
	fail := func(err error) {
		fd.mu.Lock()
		if fd.err == nil {
			fd.err = err
		}
		fd.mu.Unlock()
		fd.signal()
	}
	defer func() {
		for _, c := range pending {
			c.Release()
		}
		fd.f.Close()
	}()
	for {
		var m stream.Message
		select {
		case <-ctx.Done():
			return
		case <-fd.f.Stopped():
			if err := fd.f.Err(); err != nil {
				fail(sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "materialized view %q failed: %v", fd.rel.Name, err))
			} else {
				fail(sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "materialized view %q stopped", fd.rel.Name))
			}
			return
		case m = <-fd.f.C():
		}
		switch m.Kind {
		case stream.MsgChunk:
			if !started {
				m.Chunk.Release()
				continue
			}
			pending = append(pending, m.Chunk)
			pendingRows += m.Chunk.N
			fd.mu.Lock()
			fd.buffered += m.Chunk.N
			over := fd.buffered > fd.sp.buffer
			fd.mu.Unlock()
			if over {
				fail(sqlerr.New(sqlerr.ConfigurationLimitExceeded,
					"subscriber to %q is too slow: more than %d changes are waiting to be sent (subscribe_buffer_rows)", fd.rel.Name, fd.sp.buffer).
					WithHint("Read the changes faster or raise subscribe_buffer_rows, then subscribe again."))
				fd.dropQueue()
				return
			}
		case stream.MsgBarrier:
			it := &feedItem{epoch: m.Epoch}
			if m.Start {
				// The view cannot commit epoch m.Epoch+1 before this
				// returns to read the link again.
				if err := fd.e.coord.WaitCommitted(ctx, m.Epoch); err != nil {
					fail(err)
					return
				}
				it.start, it.snap, started = true, fd.e.db.Snapshot(), true
			} else if !started {
				continue
			} else {
				it.chunks, it.rows = pending, pendingRows
				pending, pendingRows = nil, 0
			}
			fd.mu.Lock()
			fd.queue = append(fd.queue, it)
			fd.mu.Unlock()
			fd.signal()
			if m.Stop {
				fail(sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "materialized view %q was dropped", fd.rel.Name))
				return
			}
		}
	}
}

func (fd *feed) signal() {
	select {
	case fd.wake <- struct{}{}:
	default:
	}
}

// dropQueue releases everything buffered (the subscriber is cut off).
func (fd *feed) dropQueue() {
	fd.mu.Lock()
	q := fd.queue
	fd.queue, fd.buffered = nil, 0
	fd.mu.Unlock()
	for _, it := range q {
		it.release()
	}
}

func (it *feedItem) release() {
	for _, c := range it.chunks {
		c.Release()
	}
	it.chunks = nil
	if it.snap != nil {
		it.snap.Close()
		it.snap = nil
	}
}

// pop waits for the next item. An error ends the feed; after a cut-off
// nothing buffered is delivered.
func (fd *feed) pop(ctx context.Context, wait bool) (*feedItem, error) {
	for {
		fd.mu.Lock()
		if fd.err != nil && (len(fd.queue) == 0 || isLimit(fd.err)) {
			err := fd.err
			fd.mu.Unlock()
			return nil, err
		}
		if len(fd.queue) > 0 {
			it := fd.queue[0]
			fd.queue = fd.queue[1:]
			fd.mu.Unlock()
			return it, nil
		}
		fd.mu.Unlock()
		if !wait {
			return nil, nil
		}
		select {
		case <-fd.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func isLimit(err error) bool {
	return sqlerr.From(err).Code == sqlerr.ConfigurationLimitExceeded
}

// next returns the next batch of output rows; with wait false it returns
// nil when nothing is ready.
func (fd *feed) nextBatch(ctx context.Context, wait bool) (*exec.Batch, error) {
	for {
		if fd.replay != nil && fd.replay.active {
			b, err := fd.replayBatch()
			if err != nil || b != nil {
				return b, err
			}
			continue
		}
		if fd.scan != nil {
			arrs, n, _, err := fd.scan.NextBatch(fd.relIdx(), exec.BatchSize)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				ops := make([]stream.Op, n)
				return fd.shape(fd.cur.epoch, &stream.Chunk{Cols: arrs, Ops: ops, N: n}, true), nil
			}
			fd.scan.Close()
			fd.scan = nil
		}
		if fd.cur != nil && !fd.cur.start && !fd.curCommitted {
			// The epoch's barrier has passed the view; its commit follows.
			if err := fd.e.coord.WaitCommitted(ctx, fd.cur.epoch); err != nil {
				return nil, err
			}
			fd.curCommitted = true
		}
		if fd.cur != nil && !fd.cur.start && fd.next < len(fd.cur.chunks) {
			if fd.sp.upsert != nil {
				b := fd.upsertBatch(fd.cur)
				fd.next = len(fd.cur.chunks)
				if b != nil {
					return b, nil
				}
				continue
			}
			c := fd.cur.chunks[fd.next]
			fd.next++
			return fd.shape(fd.cur.epoch, c, false), nil
		}
		if fd.cur != nil {
			done := fd.cur
			fd.cur = nil
			fd.lastSent = done.epoch
			fd.mu.Lock()
			fd.buffered -= done.rows
			fd.mu.Unlock()
			done.release()
			if fd.sp.progress {
				return fd.progressRow(done.epoch), nil
			}
		}
		it, err := fd.pop(ctx, wait)
		if err != nil || it == nil {
			return nil, err
		}
		fd.cur, fd.next, fd.curCommitted = it, 0, false
		if it.start && fd.replay != nil {
			// The log in the snapshot at the start epoch holds exactly
			// the epochs up to it.
			fd.replay.active, fd.replay.snap = true, it.snap
		} else if it.start && fd.sp.snapshot {
			if fd.scan, err = fd.table.Scan(it.snap, storage.FullSpan); err != nil {
				return nil, err
			}
		}
	}
}

// relIdx are the relation's columns in its storage table.
func (fd *feed) relIdx() []int {
	idx := make([]int, len(fd.sp.relCols))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// shape turns a chunk of the view's changes into output rows (diff
// envelope, or upsert for a snapshot chunk).
func (fd *feed) shape(epoch uint64, c *stream.Chunk, snapshot bool) *exec.Batch {
	n := c.N
	if fd.sp.upsert != nil {
		b := fd.upsertRows(epoch, []*stream.Chunk{c})
		if snapshot {
			c.Release()
		}
		return b
	}
	out := make([]arrow.Array, 0, len(fd.sp.cols))
	out = append(out, types.ConstArray(types.TInt8, int64(epoch), n))
	db := array.NewInt64Builder(types.Mem)
	db.Reserve(n)
	for _, op := range c.Ops[:n] {
		db.UnsafeAppend(op.Sign())
	}
	out = append(out, db.NewArray())
	db.Release()
	if fd.sp.progress {
		out = append(out, types.ConstArray(types.TBool, false, n))
	}
	for i := range fd.sp.relCols {
		a := c.Cols[i]
		a.Retain()
		out = append(out, a)
	}
	if snapshot {
		c.Release()
	}
	return exec.NewBatch(out, n)
}

// progressRow says that every change up to epoch has been sent: the
// epoch, ss_progressed true, every other column NULL.
func (fd *feed) progressRow(epoch uint64) *exec.Batch {
	out := make([]arrow.Array, len(fd.sp.cols))
	for i, c := range fd.sp.cols {
		switch i {
		case 0:
			out[i] = types.ConstArray(types.TInt8, int64(epoch), 1)
		case 2:
			out[i] = types.ConstArray(types.TBool, true, 1)
		default:
			out[i] = types.ConstArray(c.Type, nil, 1)
		}
	}
	return exec.NewBatch(out, 1)
}

// upsertBatch is an epoch's changes in the upsert envelope.
func (fd *feed) upsertBatch(it *feedItem) *exec.Batch {
	return fd.upsertRows(it.epoch, it.chunks)
}

// upsertRows collapses changes to one row per key: the key's last insert
// (upsert) or, when its last change removes it, delete.
func (fd *feed) upsertRows(epoch uint64, chunks []*stream.Chunk) *exec.Batch {
	relTypes := make([]types.T, len(fd.sp.relCols))
	for i, c := range fd.sp.relCols {
		relTypes[i] = c.Type
	}
	keyTypes := make([]types.T, len(fd.sp.upsert))
	for i, k := range fd.sp.upsert {
		keyTypes[i] = relTypes[k]
	}
	type last struct {
		row    []types.Datum
		insert bool
	}
	byKey := map[string]int{}
	var rows []last
	var keyBuf []byte
	key := make([]types.Datum, len(fd.sp.upsert))
	for _, c := range chunks {
		for i := 0; i < c.N; i++ {
			row := make([]types.Datum, len(relTypes))
			for j, t := range relTypes {
				row[j] = types.GetDatum(c.Cols[j], i, t)
			}
			for j, k := range fd.sp.upsert {
				key[j] = row[k]
			}
			keyBuf = types.EncodeRow(keyBuf[:0], key, keyTypes)
			l := last{row: row, insert: c.Ops[i].IsInsert()}
			if at, ok := byKey[string(keyBuf)]; ok {
				// A delete after an insert of the same key within the
				// epoch (an update's first half comes before its second)
				// leaves the later state.
				rows[at] = l
				continue
			}
			byKey[string(keyBuf)] = len(rows)
			rows = append(rows, l)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	out := make([][]types.Datum, len(fd.sp.cols))
	for _, l := range rows {
		col := 0
		add := func(d types.Datum) {
			out[col] = append(out[col], d)
			col++
		}
		add(int64(epoch))
		if l.insert {
			add("upsert")
		} else {
			add("delete")
		}
		if fd.sp.progress {
			add(false)
		}
		for _, k := range fd.sp.upsert {
			add(l.row[k])
		}
		for i := range relTypes {
			if slices.Contains(fd.sp.upsert, i) {
				continue
			}
			if l.insert {
				add(l.row[i])
			} else {
				add(nil)
			}
		}
	}
	arrs := make([]arrow.Array, len(out))
	for i, c := range fd.sp.cols {
		arrs[i] = types.ArrayFromDatums(c.Type, out[i])
	}
	return exec.NewBatch(arrs, len(rows))
}

// close stops the feed and frees what it holds.
func (fd *feed) close() {
	if !fd.closed.CompareAndSwap(false, true) {
		return
	}
	fd.cancel()
	<-fd.drained
	if fd.scan != nil {
		fd.scan.Close()
		fd.scan = nil
	}
	if fd.cur != nil {
		fd.cur.release()
		fd.cur = nil
	}
	fd.dropQueue()
	if fd.dropTemp != nil {
		fd.dropTemp()
	}
}

// subscribeResult is SUBSCRIBE's rows: a result whose Next blocks until
// changes arrive.
type subscribeResult struct {
	fd     *feed
	cols   []pgwire.Column
	schema *arrow.Schema
	count  int64
}

func (r *subscribeResult) Columns() []pgwire.Column { return r.cols }
func (r *subscribeResult) Blocking() bool           { return true }
func (r *subscribeResult) Tag() string              { return fmt.Sprintf("SUBSCRIBE %d", r.count) }
func (r *subscribeResult) Close()                   { r.fd.close() }

func (r *subscribeResult) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := r.fd.nextBatch(ctx, true)
	if err != nil || b == nil {
		return nil, err
	}
	r.count += int64(b.N)
	rec := toRecord(r.schema, b)
	for _, a := range b.Cols {
		a.Release()
	}
	return rec, nil
}

// feedOperator reads a feed as a batch operator (for COPY ... TO STDOUT).
type feedOperator struct {
	fd *feed
	ts []types.T
}

func (o *feedOperator) Open(*exec.Ctx) error { return nil }
func (o *feedOperator) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	return o.fd.nextBatch(ctx.Env.Context, true)
}
func (o *feedOperator) Close()                    { o.fd.close() }
func (o *feedOperator) Types() []types.T          { return o.ts }
func (o *feedOperator) Explain() string           { return "Subscribe " + o.fd.rel.Name }
func (o *feedOperator) Children() []exec.Operator { return nil }

// planSubscribeStmt plans SUBSCRIBE and COPY (SUBSCRIBE ...) TO STDOUT.
func (s *Session) planSubscribeStmt(st *statement, sub *parser.Subscribe) (*prepared, error) {
	if sub.Cursor != "" {
		return s.planSubscriptionCursor(sub, st.st.SQL)
	}
	sp, err := s.planSubscribe(sub)
	if err != nil {
		return nil, err
	}
	if sub.Declare != "" {
		return s.planDeclareSubscribe(sub, sp, st.st.SQL)
	}
	if sub.Copy != nil {
		opts, err := parseCopyOptions(sub.Copy.Options)
		if err != nil {
			return nil, err
		}
		if opts.format == copyBinary {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY TO in binary format is not supported").WithHint("Use FORMAT text or csv.")
		}
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			fd, err := s.startFeed(ctx, sp)
			if err != nil {
				return nil, err
			}
			c := &copyOut{ec: s.execCtx(ctx, nil), opts: opts, s: s, header: opts.header, blocking: true}
			for _, col := range sp.cols {
				c.ts = append(c.ts, col.Type)
				c.names = append(c.names, col.Name)
			}
			c.op = &feedOperator{fd: fd, ts: c.ts}
			return c, nil
		}), nil
	}
	return &prepared{cols: sp.cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		fd, err := s.startFeed(ctx, sp)
		if err != nil {
			return nil, err
		}
		return &subscribeResult{fd: fd, cols: sp.cols, schema: schemaOf(sp.cols)}, nil
	}}, nil
}
