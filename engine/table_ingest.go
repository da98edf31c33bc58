package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/lower"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Tables fed by a connector (CREATE TABLE ... WITH (connector = 'kafka')
// FORMAT UPSERT | DEBEZIUM | CANAL | MAXWELL | PLAIN ENCODE JSON): an
// ingest loop per table runs the connector's source under the source
// driver and applies each change it decodes to the table, in order: an
// insert or update-insert writes the row under its primary key (replacing
// what is there), a delete or update-delete removes the row with that
// key. Every barrier interval the changes so far and the source's
// position go into one storage transaction, so a crash at any moment
// resumes at a position that matches the table exactly: each change is
// applied once. Views over the table follow it through its changelog, as
// they follow INSERT, UPDATE and DELETE.

// ingestInterval is how often an ingest loop commits; ingestRetry how
// long it waits before starting again after an error.
const (
	ingestInterval = 100 * time.Millisecond
	ingestRetry    = time.Second
)

// upstreamSource is a table connector with objects of its own upstream
// (postgres-cdc: a replication slot and a publication). CREATE TABLE
// checks the upstream and makes them (CheckUpstream); DROP TABLE drops
// what the connector made (ReleaseUpstream).
type upstreamSource interface {
	CheckUpstream(ctx context.Context) error
	ReleaseUpstream(ctx context.Context) error
}

// upstreamTimeout bounds CheckUpstream and ReleaseUpstream.
const upstreamTimeout = 15 * time.Second

// releaseUpstream drops the upstream objects of table r's connector. The
// table is gone already: a failure is logged, not returned.
func (e *Engine) releaseUpstream(r *catalog.Relation) {
	spec, err := e.sourceSpec(r)
	if err != nil {
		return
	}
	up, ok := spec.(upstreamSource)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), upstreamTimeout)
	defer cancel()
	if err := up.ReleaseUpstream(ctx); err != nil {
		e.log.Warn("cannot drop the upstream objects of a dropped table; drop them by hand", "table", r.Name, "err", err)
	}
}

// ingest is a running ingest loop.
type ingest struct {
	table  uint32
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	stats  stream.Stats
	// status is "running" or why the loop stopped (guarded by Engine.mu).
	status string
}

// commitWatch is the last barrier epoch an ingest loop committed: it
// tells the source which barriers' transactions committed (postgres-cdc
// confirms its position upstream only then). Each run of the loop has its
// own, as epochs count from 1 again.
type commitWatch struct {
	mu   sync.Mutex
	last uint64
	next chan struct{} // closed at the next commit
}

func (w *commitWatch) committed() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func (w *commitWatch) set(e uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = max(w.last, e)
	if w.next != nil {
		close(w.next)
		w.next = nil
	}
}

// wait blocks until epoch e has committed.
func (w *commitWatch) wait(ctx context.Context, e uint64) error {
	for {
		w.mu.Lock()
		if w.last >= e {
			w.mu.Unlock()
			return nil
		}
		if w.next == nil {
			w.next = make(chan struct{})
		}
		ch := w.next
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// jobs lists the streaming jobs (views and sinks) and the ingest loops
// of tables fed by connectors, for SHOW JOBS, /metrics and the rejects
// relation.
func (e *Engine) jobs() []stream.JobInfo {
	out := e.coord.Jobs()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, in := range e.ingests {
		status := in.status
		if msg := in.stats.SourceError(); msg != "" {
			// The connector reconnects to its upstream on its own.
			status = "retrying: " + msg
		}
		out = append(out, stream.JobInfo{ID: in.table, Name: in.name, Status: status,
			RowsIn: in.stats.RowsIn.Load(), Rejects: in.stats.Rejects.Load(), Lags: in.stats.Lags()})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// ingestSpan holds every key of table's ingest loop: its position and
// its rejects.
func ingestSpan(table uint32) (lo, hi []byte) {
	lo = []byte{storage.PrefixEpoch, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(lo[1:], table)
	hi = []byte{storage.PrefixEpoch, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hi[1:], table+1)
	return lo, hi
}

// ingestPosKey is where a table's source position is stored.
func ingestPosKey(table uint32) []byte {
	k := []byte{storage.PrefixEpoch, 0, 0, 0, 0, 'i'}
	binary.BigEndian.PutUint32(k[1:], table)
	return k
}

// startIngests starts the loops of every table with a connector.
func (e *Engine) startIngests() {
	for _, r := range e.cat.Relations() {
		if r.Kind == catalog.KindTable && r.Options["connector"] != "" {
			if err := e.startIngest(r); err != nil {
				e.log.Error("cannot start the connector of a table", "table", r.Name, "err", err)
			}
		}
	}
}

// errTableChanged stops an ingest loop whose table was altered: it
// starts again over the new definition from the committed position.
var errTableChanged = errors.New("table definition changed")

// startIngest starts table r's ingest loop.
func (e *Engine) startIngest(r *catalog.Relation) error {
	open := func(r *catalog.Relation, stats *stream.Stats) (stream.Source, *commitWatch, error) {
		spec, err := e.sourceSpec(r)
		if err != nil {
			return nil, nil, err
		}
		if sw, ok := spec.(stream.SplitWatermarker); ok && len(r.Watermarks) > 0 {
			// The connector generates the table's watermark per split
			// (Kafka: the minimum over the partitions); the loop commits
			// it with the rows, for the scans of the views over the table.
			ws, err := lower.SourceWatermarks(e.streamPlanner("", catalog.OwnerOf(r)), r)
			if err != nil {
				return nil, nil, err
			}
			spec = sw.WithSplitWatermarks(ws)
		}
		pos, found, err := e.db.Latest().Get(ingestPosKey(r.OID))
		if err != nil {
			return nil, nil, err
		}
		if !found {
			pos = nil
		}
		w := &commitWatch{}
		src, err := spec.Open(&stream.BuildCtx{Env: &stream.Env{Stats: stats, Committed: w.committed, WaitCommitted: w.wait}}, pos)
		return src, w, err
	}
	// The catalog's own value, which the loop compares to spot an ALTER.
	if cur, ok := e.cat.ByOID(r.OID); ok {
		r = cur
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &ingest{table: r.OID, name: r.Name, cancel: cancel, done: make(chan struct{}), status: "running"}
	src, commits, err := open(r, &in.stats)
	if err != nil {
		cancel()
		return err
	}
	e.mu.Lock()
	if e.ingests == nil {
		e.ingests = map[uint32]*ingest{}
	}
	e.ingests[r.OID] = in
	e.mu.Unlock()
	go func() {
		defer close(in.done)
		for {
			err := e.runIngest(ctx, r, src, &in.stats, commits)
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, errTableChanged) {
				if cur, ok := e.cat.ByOID(r.OID); ok {
					r = cur
				}
			} else {
				// The broker is away, a partition failed, ...: the loop
				// starts again from the committed position, as a job
				// does after a crash, after a pause.
				e.log.Error("table connector failed; retrying", "table", r.Name, "err", err)
				e.mu.Lock()
				in.status = "retrying: " + err.Error()
				e.mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-time.After(ingestRetry):
				}
			}
			for {
				if src, commits, err = open(r, &in.stats); err == nil {
					break
				}
				e.log.Error("table connector cannot start; retrying", "table", r.Name, "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(ingestRetry):
				}
			}
		}
	}()
	return nil
}

// stopIngest stops table oid's loop, if it runs.
func (e *Engine) stopIngest(oid uint32) {
	e.mu.Lock()
	in := e.ingests[oid]
	delete(e.ingests, oid)
	e.mu.Unlock()
	if in != nil {
		in.cancel()
		<-in.done
	}
}

// stopIngests stops every loop (at Close).
func (e *Engine) stopIngests() {
	e.mu.Lock()
	var oids []uint32
	for oid := range e.ingests {
		oids = append(oids, oid)
	}
	e.mu.Unlock()
	for _, oid := range oids {
		e.stopIngest(oid)
	}
}

// runIngest applies the source's changes to table r until ctx ends.
func (e *Engine) runIngest(ctx context.Context, r *catalog.Relation, src stream.Source, stats *stream.Stats, commits *commitWatch) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return err
	}
	out := make(chan stream.Message, 16)
	barriers := make(chan uint64, 1)
	srcErr := make(chan error, 1)
	srcDone := make(chan struct{})
	go func() {
		defer close(srcDone)
		srcErr <- src.Run(ctx, barriers, out)
	}()
	// The source's goroutine ends before the loop returns: a stopped
	// loop (DROP, Close) leaves nothing reading behind it.
	defer func() {
		cancel()
		<-srcDone
	}()

	t := r.Table()
	// phys[i] is the physical column of the source's column i.
	var phys []int
	for i, c := range r.Columns {
		if !c.Dropped {
			phys = append(phys, i)
		}
	}
	ts := src.Types()
	rejects, err := stream.OpenRejectLog(e.db.Latest(), r.OID)
	if err != nil {
		return err
	}
	stats.Rejects.Store(rejects.Count())
	var pending []stream.Reject
	var txn *storage.Txn
	defer func() {
		if txn != nil {
			txn.Rollback()
		}
	}()
	// The table's watermark, generated by the source per split: it never
	// goes back, also not after a restart, when the splits' watermarks
	// are derived afresh.
	var wm types.Datum
	var wmType types.T
	wmDirty := false
	if len(r.Watermarks) == 1 {
		if ci := r.ColumnIndex(r.Watermarks[0].Column); ci >= 0 {
			wmType = r.Columns[ci].Type
			v, found, err := e.db.Latest().Get(stream.TableWatermarkKey(r.OID))
			if err != nil {
				return err
			}
			if found {
				if wm, err = stream.DecodeTableWatermark(v, wmType); err != nil {
					return err
				}
			}
		}
	}
	tick := time.NewTicker(ingestInterval)
	defer tick.Stop()
	epoch := uint64(0)
	pk := make([]types.Datum, len(t.PK))
	var key []byte
	// commitTxn adds the pending rejects to txn, which holds the changes
	// and the position they go with, and commits it.
	commitTxn := func() error {
		if err := rejects.Append(pending, txn.Set, txn.DeleteRange); err != nil {
			return err
		}
		pending = pending[:0]
		err := txn.Commit()
		txn = nil
		if err != nil {
			return fmt.Errorf("table %s: commit: %w", r.Name, err)
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-srcErr:
			return err
		case <-tick.C:
			epoch++
			select {
			case barriers <- epoch:
			default:
			}
		case m := <-out:
			switch m.Kind {
			case stream.MsgChunk:
				if txn == nil {
					e.setIngestStatus(r.OID, "running")
					txn = e.db.Begin()
				}
				c := m.Chunk
				stats.RowsIn.Add(int64(c.N))
				for i := 0; i < c.N; i++ {
					row := make([]types.Datum, len(r.Columns))
					for j, col := range c.Cols {
						row[phys[j]] = types.GetDatum(col, i, ts[j])
					}
					var err error
					switch c.Ops[i] {
					case stream.Insert, stream.UpdateInsert:
						err = t.Put(txn, row)
					default:
						if len(t.PK) == 0 {
							err = fmt.Errorf("table %s has no primary key to delete by", r.Name)
							break
						}
						for k, ci := range t.PK {
							pk[k] = row[ci]
						}
						key = t.EncodePK(key[:0], pk)
						err = t.Delete(txn, key)
					}
					if err != nil {
						c.Release()
						return fmt.Errorf("table %s: apply change: %w", r.Name, err)
					}
				}
				c.Release()
			case stream.MsgWatermark:
				if m.WM.Val != nil && (wm == nil || types.Compare(m.WM.Val, wm, wmType) > 0) {
					wm, wmDirty = m.WM.Val, true
				}
			case stream.MsgRejects:
				stats.Rejects.Add(int64(len(m.Rejects)))
				pending = append(pending, m.Rejects...)
			case stream.MsgSchemaChange:
				// An upstream DDL event (auto.schema.change): what came
				// before it commits in the old shape, then the table
				// changes and the loop starts over in the new one
				// (table_schema_change.go).
				if cur, ok := e.cat.ByOID(r.OID); ok && cur != r {
					return errTableChanged
				}
				if truncates(m.SchemaChanges) {
					// An upstream TRUNCATE empties the table in order with
					// the changes around it, in the same transaction.
					if txn == nil {
						txn = e.db.Begin()
					}
					if err := r.IndexedTable().Truncate(txn); err != nil {
						return fmt.Errorf("table %s: truncate: %w", r.Name, err)
					}
					continue
				}
				commit := func(pos []byte) error {
					if txn == nil {
						txn = e.db.Begin()
					}
					if err := txn.Set(ingestPosKey(r.OID), pos); err != nil {
						return err
					}
					return commitTxn()
				}
				if err := commit(m.Pos); err != nil {
					return err
				}
				txn = e.db.Begin()
				refused := e.applySchemaChanges(txn, r, m.SchemaChanges)
				stats.Rejects.Add(int64(len(refused)))
				pending = append(pending, refused...)
				if err := commit(m.PosAfter); err != nil {
					return err
				}
				return errTableChanged
			case stream.MsgBarrier:
				// An ALTER TABLE since the loop started: drop what was
				// decoded over the old definition and go on over the new
				// one from the last committed position.
				if cur, ok := e.cat.ByOID(r.OID); ok && cur != r {
					return errTableChanged
				}
				if txn == nil {
					txn = e.db.Begin()
				}
				if m.Pos != nil {
					if err := txn.Set(ingestPosKey(r.OID), m.Pos); err != nil {
						return err
					}
				}
				// The watermark goes with the rows it was derived from.
				if wmDirty {
					if err := txn.Set(stream.TableWatermarkKey(r.OID), stream.EncodeTableWatermark(wm, wmType)); err != nil {
						return err
					}
					wmDirty = false
				}
				// Rejects go with the changes and the position.
				if err := commitTxn(); err != nil {
					return err
				}
				commits.set(m.Epoch)
			}
		}
	}
}

// truncates reports whether changes are upstream TRUNCATEs only.
func truncates(changes []stream.SchemaChange) bool {
	for _, c := range changes {
		if c.Kind != stream.TruncateTable {
			return false
		}
	}
	return len(changes) > 0
}

// setIngestStatus records table's ingest status.
func (e *Engine) setIngestStatus(table uint32, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if in := e.ingests[table]; in != nil {
		in.status = status
	}
}
