package engine

// Durable subscriptions (RisingWave's model): CREATE SUBSCRIPTION sub FROM
// view WITH (retention = '1 day') keeps every committed change of the view
// in a change log in pebble (exec/stream/subscription_log.go) for the
// retention; DECLARE cur SUBSCRIPTION CURSOR FOR sub [SINCE ...] and FETCH
// read it. The log is written in the same epoch batch as the view, so a
// consumer that resumes SINCE the last commit time it saw gets every
// change after it exactly once, across disconnects and restarts.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/exec/stream"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Names of the columns a subscription cursor adds after the view's.
const (
	colOp          = "op"
	colRWTimestamp = "rw_timestamp"
	colPosition    = "_position"
)

// opNames are the op column's values, RisingWave's spelling.
var opNames = [...]string{stream.Insert: "Insert", stream.Delete: "Delete",
	stream.UpdateDelete: "UpdateDelete", stream.UpdateInsert: "UpdateInsert"}

// subscriptionRetention reads the retention option, an interval.
func subscriptionRetention(v string) (time.Duration, error) {
	d, err := types.ParseText(v, types.TInterval, time.UTC)
	if err != nil {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for retention: %q", v).
			WithHint("Give an interval, such as '1 day' or '2 hours'.")
	}
	iv := d.(types.IntervalValue)
	r := time.Duration(iv.Months)*30*24*time.Hour + time.Duration(iv.Days)*24*time.Hour + time.Duration(iv.Micros)*time.Microsecond
	if r <= 0 {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "retention must be positive: %q", v)
	}
	return r, nil
}

// setSubscriptionOptions checks opts and sets them on subscription r.
func setSubscriptionOptions(r *catalog.Relation, opts []parser.Option) error {
	for _, o := range opts {
		switch k := strings.ToLower(o.Key); k {
		case "retention":
			if _, err := subscriptionRetention(o.Value); err != nil {
				return err
			}
			r.Options[k] = o.Value
		default:
			return sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized subscription option %q", o.Key)
		}
	}
	return nil
}

// createSubscription is CREATE SUBSCRIPTION.
func (s *Session) createSubscription(ctx context.Context, cs *parser.CreateSubscription) (string, error) {
	schema := s.currentSchema()
	if cs.Name.Schema != "" {
		schema = cs.Name.Schema
	}
	if _, ok := s.e.cat.SchemaByName(schema); !ok {
		return "", sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", schema)
	}
	if _, ok := s.e.cat.Relation(schema, cs.Name.Name); ok {
		return "", sqlerr.New(sqlerr.DuplicateObject, "subscription %q already exists", cs.Name.Name)
	}
	view, err := s.resolveName(cs.From)
	if err != nil {
		return "", err
	}
	if err := s.e.refuseTempDeps(map[uint32]bool{view.OID: true}, "subscriptions"); err != nil {
		return "", err
	}
	if view.Kind != catalog.KindMatView && view.Kind != catalog.KindTable {
		return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a table or materialized view", view.Name).
			WithHint("A subscription follows a table or a materialized view; create a materialized view over the %s.", view.Kind.String())
	}
	// A subscription keeps the view's rows: only who may read them and
	// create in the schema may create one.
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	if err := s.checkPrivilege(view, 'r'); err != nil {
		return "", err
	}
	r := &catalog.Relation{Schema: schema, Name: cs.Name.Name, Kind: catalog.KindSubscription, Owner: s.currentUser(),
		Created: time.Now(), DependsOn: []uint32{view.OID}, Options: map[string]string{"retention": "1 day"}}
	if err := setSubscriptionOptions(r, cs.Options); err != nil {
		return "", err
	}
	if view.Kind == catalog.KindTable {
		newTableSubscription(r, view)
	}
	created, err := s.e.cat.CreateRelation(r)
	if err != nil {
		return "", err
	}
	if onTable(created) {
		created, err = s.e.startTableSubscription(ctx, created)
	}
	if err == nil {
		err = s.e.refreshChangeLogs(ctx, loggedView(created))
	}
	if err != nil {
		// Not taken up: no subscription rather than one with a gap.
		if _, derr := s.e.cat.DropRelation(created.OID, false); derr == nil {
			derr = s.e.dropSubscription(created)
			if derr != nil {
				s.e.log.Error("cannot undo a subscription", "subscription", r.Name, "err", derr)
			}
		}
		return "", err
	}
	return "CREATE SUBSCRIPTION", nil
}

// changeLogsOf lists the durable subscriptions whose log the materialize
// step of view writes (loggedView).
func (e *Engine) changeLogsOf(view uint32) []stream.ChangeLog {
	var out []stream.ChangeLog
	for _, r := range e.cat.Relations() {
		if r.Kind != catalog.KindSubscription || len(r.DependsOn) == 0 || loggedView(r) != view {
			continue
		}
		ret, err := subscriptionRetention(r.Options["retention"])
		if err != nil {
			e.log.Error("subscription has an unreadable retention", "subscription", r.Name, "err", err)
			continue
		}
		out = append(out, stream.ChangeLog{ID: r.OID, Retention: ret})
	}
	return out
}

// refreshChangeLogs hands the view's subscriptions to its running job and
// waits until the job has taken them up: the changes of every epoch after
// are logged (or no longer logged, for a dropped subscription).
func (e *Engine) refreshChangeLogs(ctx context.Context, view uint32) error {
	ch := e.coord.SetChangeLogs(view, e.changeLogsOf(view))
	t := time.NewTimer(changeLogTakeUp)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errViewStalled
	}
}

// changeLogTakeUp bounds the wait for a view's job to take up a change of
// its subscriptions (it does at its next barrier, within a barrier
// interval when it runs).
const changeLogTakeUp = 30 * time.Second

var errViewStalled = sqlerr.New(sqlerr.ObjectNotInPrerequisiteState,
	"the materialized view's job has not passed a barrier for %s", changeLogTakeUp).
	WithHint("Check SHOW JOBS: the view may be stalled or failed.")

// startChangeLogs registers every subscription before the views' jobs
// start, so that a restarted view logs from its first epoch. The feed job
// of a subscription on a table that never committed starts afresh, and
// its log only once its copy holds the table (startTableFeeds).
func (e *Engine) startChangeLogs() {
	views := map[uint32]bool{}
	for _, r := range e.cat.Relations() {
		if r.Kind != catalog.KindSubscription || len(r.DependsOn) == 0 {
			continue
		}
		if onTable(r) {
			if ok, err := e.coord.HasCommitted(loggedView(r)); err != nil || !ok {
				continue
			}
		}
		views[loggedView(r)] = true
	}
	for v := range views {
		e.coord.SetChangeLogs(v, e.changeLogsOf(v))
	}
}

// dropSubscription stops logging for a dropped subscription and deletes
// its log.
func (e *Engine) dropSubscription(r *catalog.Relation) error {
	if onTable(r) {
		// Its feed job stops, and the copy goes with the job's span.
		if err := e.coord.Drop(loggedView(r), r.StateTables); err != nil {
			return err
		}
		e.coord.SetChangeLogs(loggedView(r), nil)
	} else if len(r.DependsOn) > 0 {
		if err := e.refreshChangeLogs(context.Background(), loggedView(r)); err != nil {
			// The view does not run: nothing writes the log any more.
			e.log.Warn("dropping a subscription of a view that does not take it up", "subscription", r.Name, "err", err)
		}
	}
	b := e.db.Pebble().NewBatch()
	defer b.Close()
	lo, hi := stream.ChangeLogSpan(r.OID)
	if err := b.DeleteRange(lo, hi, nil); err != nil {
		return err
	}
	return e.db.CommitBatch(b)
}

// subscriptionCursor reads a subscription's change log from a position,
// after the view's contents for a cursor declared FULL.
type subscriptionCursor struct {
	e    *Engine
	sub  *catalog.Relation
	ts   []types.T // the view's visible column types
	pos  stream.LogPos
	cols []pgwire.Column
	// A FULL cursor's snapshot: rows reads the view at snapEpoch; held is
	// the row read last, returned once it is known whether it ends the
	// snapshot (then it carries the snapshot's position, else its row's).
	snap      *storage.Snapshot
	rows      *snapshotRows
	snapEpoch uint64
	held      []types.Datum
}

// next returns the changes that are committed from the cursor's position
// on (up to exec-sized batches); with wait it blocks until there is one.
func (c *subscriptionCursor) next(ctx context.Context, wait bool) ([][]types.Datum, error) {
	if c.rows != nil {
		if rows, err := c.nextSnapshot(); err != nil || rows != nil {
			return rows, err
		}
	}
	for {
		if _, ok := c.e.cat.ByOID(c.sub.OID); !ok {
			return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "subscription %q was dropped", c.sub.Name)
		}
		committed := c.e.coord.Committed()
		changes, err := stream.ReadChangeLog(c.e.db.Latest(), c.sub.OID, c.pos, 1024, c.ts)
		if err != nil {
			return nil, err
		}
		// A reader slower than the retention: what it was to read next
		// may be trimmed (before or while it was read).
		if from, ok, err := stream.ChangeLogRetainedFrom(c.e.db.Latest(), c.sub.OID); err != nil {
			return nil, err
		} else if ok && from > c.pos.Epoch {
			return nil, c.e.checkRetained(c.sub, c.e.db.Latest(), c.pos, c.position())
		}
		if len(changes) > 0 {
			rows := make([][]types.Datum, len(changes))
			for i, ch := range changes {
				row := append(make([]types.Datum, 0, len(ch.Row)+3), ch.Row...)
				rows[i] = append(row, opNames[ch.Op], ch.Time, ch.Position())
			}
			c.pos = changes[len(changes)-1].Next()
			return rows, nil
		}
		if !wait {
			return nil, nil
		}
		if err := c.e.coord.WaitCommitted(ctx, committed+1); err != nil {
			return nil, err
		}
	}
}

// nextSnapshot returns the next rows of a FULL cursor's snapshot, each an
// Insert with no commit time, and nil when it is done. Each row carries
// its position in the snapshot (epoch@key) but the last, which carries
// the snapshot's epoch: resuming after it reads the log from the next
// epoch.
func (c *subscriptionCursor) nextSnapshot() ([][]types.Datum, error) {
	var rows [][]types.Datum
	if c.held != nil {
		rows = append(rows, c.held)
		c.held = nil
	}
	for len(rows) <= exec.BatchSize {
		key, row, ok, err := c.rows.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			c.closeSnapshot()
			if len(rows) == 0 {
				return nil, nil
			}
			rows[len(rows)-1][len(c.ts)+2] = stream.EpochPosition(c.snapEpoch)
			return rows, nil
		}
		out := make([]types.Datum, len(c.ts), len(c.ts)+3)
		copy(out, row)
		rows = append(rows, append(out, opNames[stream.Insert], nil, stream.SnapshotRowPosition(c.snapEpoch, key)))
	}
	c.held = rows[len(rows)-1]
	return rows[:len(rows)-1], nil
}

// position names the last change the cursor has read from the log.
func (c *subscriptionCursor) position() string {
	if c.pos.Seq == 0 {
		return stream.EpochPosition(max(c.pos.Epoch, 1) - 1)
	}
	return stream.LogChange{Epoch: c.pos.Epoch, Seq: c.pos.Seq - 1}.Position()
}

func (c *subscriptionCursor) closeSnapshot() {
	if c.rows != nil {
		c.rows.close()
		c.rows = nil
	}
	if c.snap != nil {
		c.snap.Close()
		c.snap = nil
	}
}

// planSubscriptionCursor plans DECLARE cur SUBSCRIPTION CURSOR FOR sub
// [SINCE now() | begin() | unix_ms | 'position' | FULL]. The cursor lives
// until CLOSE or the end of the session, in or out of a transaction.
func (s *Session) planSubscriptionCursor(sub *parser.Subscribe, sql string) (*prepared, error) {
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if _, ok := s.cursors[sub.Cursor]; ok {
			return nil, sqlerr.New(sqlerr.DuplicateCursor, "cursor %q already exists", sub.Cursor)
		}
		r, err := s.resolveSubscription(*sub.Relation)
		if err != nil {
			return nil, err
		}
		view, ok := s.e.cat.ByOID(r.DependsOn[0])
		if !ok {
			return nil, sqlerr.New(sqlerr.UndefinedTable, "the relation of subscription %q does not exist", r.Name)
		}
		// Reading a subscription is reading its view or table.
		if err := s.checkPrivilege(view, 'r'); err != nil {
			return nil, err
		}
		if err := s.checkTableSubscriptionReader(r, view); err != nil {
			return nil, err
		}
		sc := &subscriptionCursor{e: s.e, sub: r}
		for _, col := range subscriptionColumns(r, view) {
			sc.ts = append(sc.ts, col.Type)
			sc.cols = append(sc.cols, pgwire.Column{Name: col.Name, Type: col.Type})
		}
		sc.cols = append(sc.cols, pgwire.Column{Name: colOp, Type: types.TVarchar}, pgwire.Column{Name: colRWTimestamp, Type: types.TInt8},
			pgwire.Column{Name: colPosition, Type: types.TText})
		c := &sessionCursor{name: sub.Cursor, sql: sql, hold: true, cols: sc.cols, sub: sc, created: time.Now()}
		switch {
		case sub.Full:
			err = s.e.subscriptionSnapshot(ctx, r, view, sc)
		case sub.SincePosition != "":
			if epoch, key, ok := stream.ParseSnapshotRowPosition(sub.SincePosition); ok {
				err = s.e.subscriptionSnapshotResume(ctx, r, view, sc, epoch, key, sub.SincePosition)
			} else {
				sc.pos, err = s.e.subscriptionResume(r, sub.SincePosition)
			}
		default:
			sc.pos, err = s.e.subscriptionStart(r, sub.Since)
		}
		if err != nil {
			return nil, err
		}
		if err := s.addCursor(c); err != nil {
			c.close()
			return nil, err
		}
		return tagResult("DECLARE SUBSCRIPTION CURSOR"), nil
	}), nil
}

// subscriptionStart is where a cursor SINCE since starts reading: begin
// is the oldest change retained, now (and no SINCE) the first change
// after the last committed epoch, and a unix time in milliseconds the
// first change committed after it.
func (e *Engine) subscriptionStart(r *catalog.Relation, since string) (stream.LogPos, error) {
	// Read the committed epoch before the log: an epoch that commits in
	// between is after it and is read.
	committed := e.coord.Committed()
	switch since {
	case "", "now":
		return stream.LogPos{Epoch: committed + 1}, nil
	case "begin":
		from, _, err := stream.ChangeLogRetainedFrom(e.db.Latest(), r.OID)
		return stream.LogPos{Epoch: from}, err
	}
	ms, err := strconv.ParseInt(since, 10, 64)
	if err != nil {
		return stream.LogPos{}, sqlerr.New(sqlerr.InvalidParameterValue, "invalid SINCE time %q", since)
	}
	trimmed, err := stream.ChangeLogTrimmed(e.db.Latest(), r.OID)
	if err != nil {
		return stream.LogPos{}, err
	}
	if ms < trimmed {
		return stream.LogPos{}, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState,
			"subscription %q no longer retains changes since %d: changes up to %d are past its retention (%s)", r.Name, ms, trimmed, r.Options["retention"]).
			WithHint("Declare the cursor SINCE begin() to read every change still retained.")
	}
	epoch, ok, err := stream.ChangeLogFirst(e.db.Latest(), r.OID, ms)
	if err != nil {
		return stream.LogPos{}, err
	}
	if !ok {
		return stream.LogPos{Epoch: committed + 1}, nil
	}
	return stream.LogPos{Epoch: epoch}, nil
}

// resolveSubscription finds the subscription n names (42704 when there
// is none).
func (s *Session) resolveSubscription(n parser.ObjectName) (*catalog.Relation, error) {
	r, err := s.resolveName(n)
	if err != nil || r.Kind != catalog.KindSubscription || len(r.DependsOn) == 0 {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "subscription %q does not exist", n.Name)
	}
	return r, nil
}

// alterSubscription is ALTER SUBSCRIPTION name RENAME TO new_name | SET
// (retention = ...), for the subscription's owner. A new retention
// applies from the view's next barrier: a shorter one trims the log at
// the next trim, a longer one keeps what is still there longer.
func (s *Session) alterSubscription(ctx context.Context, a *parser.AlterSubscription) (string, error) {
	r, err := s.resolveSubscription(a.Name)
	if err != nil {
		return "", err
	}
	if err := s.checkOwner(r); err != nil {
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be owner of subscription %s", r.Name)
	}
	if a.NewName != "" {
		if _, err := s.e.cat.RenameRelation(r.OID, a.NewName); err != nil {
			return "", err
		}
		return "ALTER SUBSCRIPTION", nil
	}
	n := r.Clone()
	if err := setSubscriptionOptions(n, a.Options); err != nil {
		return "", err
	}
	if _, err := s.e.cat.UpdateRelation(n); err != nil {
		return "", err
	}
	if err := s.e.refreshChangeLogs(ctx, loggedView(n)); err != nil {
		return "", err
	}
	return "ALTER SUBSCRIPTION", nil
}

// subscriptionSnapshot starts a FULL cursor: the view's contents at the
// last committed epoch, then the log from the epoch after. Both come from
// one storage snapshot, in which the log holds exactly the epochs up to
// the view's.
func (e *Engine) subscriptionSnapshot(ctx context.Context, r, view *catalog.Relation, sc *subscriptionCursor) error {
	for try := 0; ; try++ {
		snap := e.db.Snapshot()
		epoch, err := stream.SnapshotEpoch(snap)
		if err == nil {
			err = e.checkRetained(r, snap, stream.LogPos{Epoch: epoch + 1}, stream.EpochPosition(epoch))
		}
		var scan *storage.RowIter
		if err == nil {
			scan, err = subscriptionStore(r, view).Scan(snap, storage.FullSpan)
		}
		if err == nil {
			sc.rows = &snapshotRows{scan: scan, width: len(sc.ts)}
		}
		if err == nil {
			sc.snap, sc.snapEpoch, sc.pos = snap, epoch, stream.LogPos{Epoch: epoch + 1}
			return nil
		}
		snap.Close()
		// A subscription created a moment ago logs from an epoch that
		// may not have committed yet (its log may hold no epoch at all
		// yet): wait for the one before it, or for the next commit.
		from, ok, ferr := stream.ChangeLogRetainedFrom(e.db.Latest(), r.OID)
		if try > 2 || ferr != nil || (ok && from <= epoch+1) || sqlerr.From(err).Code != sqlerr.ObjectNotInPrerequisiteState {
			return err
		}
		wait := epoch + 1
		if ok {
			wait = from - 1
		}
		if err := e.coord.WaitCommitted(ctx, wait); err != nil {
			return err
		}
	}
}

// subscriptionResume is where a cursor SINCE 'position' starts reading:
// right after the change (or epoch) the position names.
func (e *Engine) subscriptionResume(r *catalog.Relation, position string) (stream.LogPos, error) {
	committed := e.coord.Committed()
	after, ok := stream.ParsePosition(position)
	if !ok {
		return stream.LogPos{}, sqlerr.New(sqlerr.InvalidParameterValue, "invalid subscription position %q", position).
			WithHint("A position is a change's _position, such as '1042/3', or an epoch, such as '1042'.")
	}
	if after.Epoch > committed+1 {
		return stream.LogPos{}, sqlerr.New(sqlerr.InvalidParameterValue,
			"subscription position %q is after the last committed epoch %d", position, committed)
	}
	return after, e.checkRetained(r, e.db.Latest(), after, position)
}

// checkRetained fails with 55000 unless subscription r's log (as read
// from rd) holds every change from after on.
func (e *Engine) checkRetained(r *catalog.Relation, rd storage.Reader, after stream.LogPos, position string) error {
	from, ok, err := stream.ChangeLogRetainedFrom(rd, r.OID)
	if err != nil {
		return err
	}
	if !ok || from > after.Epoch {
		first := "no epoch yet"
		if ok {
			first = fmt.Sprintf("epoch %d on", from)
		}
		return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState,
			"subscription %q no longer retains the changes after position %q: its log holds %s (retention %s)", r.Name, position, first, r.Options["retention"]).
			WithHint("Start again from the current contents: DECLARE the cursor FULL.")
	}
	return nil
}

// ChangefeedSubscription returns the durable subscription that serves
// the resumable changefeed (the HTTP event stream) of relation name in
// schema (public when empty): name itself when it is a subscription, else
// the subscription on the materialized view name with the longest
// retention. ok is false when there is none.
func (e *Engine) ChangefeedSubscription(schema, name string) (subSchema, subName string, ok bool) {
	if schema == "" {
		schema = "public"
	}
	r, found := e.cat.Relation(schema, name)
	if !found {
		return "", "", false
	}
	if r.Kind == catalog.KindSubscription {
		return r.Schema, r.Name, true
	}
	var best *catalog.Relation
	var bestRet time.Duration
	for _, c := range e.cat.Relations() {
		if c.Kind != catalog.KindSubscription || len(c.DependsOn) == 0 || c.DependsOn[0] != r.OID {
			continue
		}
		ret, err := subscriptionRetention(c.Options["retention"])
		if err != nil {
			continue
		}
		if best == nil || ret > bestRet || ret == bestRet && c.OID < best.OID {
			best, bestRet = c, ret
		}
	}
	if best == nil {
		return "", "", false
	}
	return best.Schema, best.Name, true
}

// showSubscriptions is SHOW SUBSCRIPTIONS [FROM schema].
func (s *Session) showSubscriptions(schema string) (*prepared, error) {
	cols := []pgwire.Column{{Name: "Name", Type: types.TText}, {Name: "Materialized View", Type: types.TText}, {Name: "Retention", Type: types.TText}}
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		sc := s.schemaOrCurrent(schema)
		var rows [][]types.Datum
		for _, r := range s.e.cat.Relations() {
			if r.Kind != catalog.KindSubscription || r.Schema != sc {
				continue
			}
			from := ""
			if v, ok := s.e.cat.ByOID(r.DependsOn[0]); ok {
				from = v.Name
				if v.Schema != sc {
					from = v.Schema + "." + v.Name
				}
			}
			rows = append(rows, []types.Datum{r.Name, from, r.Options["retention"]})
		}
		return memResult(cols, rows, "SHOW"), nil
	}}, nil
}

// retainingSubscription returns a durable subscription on view whose log
// holds every change from epoch from on, or nil.
func (e *Engine) retainingSubscription(view *catalog.Relation, from uint64) (*catalog.Relation, error) {
	for _, r := range e.cat.Relations() {
		if r.Kind != catalog.KindSubscription || len(r.DependsOn) == 0 || r.DependsOn[0] != view.OID {
			continue
		}
		f, ok, err := stream.ChangeLogRetainedFrom(e.db.Latest(), r.OID)
		if err != nil {
			return nil, err
		}
		if ok && f <= from {
			return r, nil
		}
	}
	return nil, nil
}

// logReplay is a SUBSCRIBE AS OF an older epoch reading the epochs up to
// its start from a subscription's log.
type logReplay struct {
	sub    uint32
	pos    stream.LogPos
	active bool
	snap   storage.Reader
}

// replayBatch returns the next epoch's changes from the log (one batch
// per epoch, at most exec.BatchSize rows), or nil when the log is done.
func (fd *feed) replayBatch() (*exec.Batch, error) {
	r := fd.replay
	ts := make([]types.T, len(fd.sp.relCols))
	for i, c := range fd.sp.relCols {
		ts[i] = c.Type
	}
	changes, err := stream.ReadChangeLog(r.snap, r.sub, r.pos, exec.BatchSize, ts)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		r.active, r.snap = false, nil
		return nil, nil
	}
	epoch := changes[0].Epoch
	n := 0
	for n < len(changes) && changes[n].Epoch == epoch {
		n++
	}
	changes = changes[:n]
	r.pos = changes[n-1].Next()
	cols := make([][]types.Datum, len(ts))
	ops := make([]stream.Op, n)
	for i, c := range changes {
		ops[i] = c.Op
		for j := range ts {
			cols[j] = append(cols[j], c.Row[j])
		}
	}
	arrs := make([]arrow.Array, len(ts))
	for j, t := range ts {
		arrs[j] = types.ArrayFromDatums(t, cols[j])
	}
	return fd.shape(epoch, &stream.Chunk{Cols: arrs, Ops: ops, N: n}, true), nil
}
