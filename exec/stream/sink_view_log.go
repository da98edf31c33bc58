package stream

// A view log: the changes of the materialized views a job reads (a sink,
// or a materialized view defined on views), kept for the epochs the job
// did not commit.
//
// A job that reads a table rewinds to its committed position in the
// table's changelog when it starts again. A view has no such changelog:
// it passes its changes on to its readers as they happen, so a reader
// that is failed (a sink's log was full or its target refused; a view's
// expression failed, say on a division by zero), waits for a rebuild
// (job_retry.go) or is being resumed misses the epochs the view commits
// meanwhile. The view log keeps them, per reading job:
//
//   - the view's materialize operator keeps the chunks of its changes
//     of an epoch while a job reads the view, and hands them to the
//     coordinator with the epoch's writes (Barrier.ViewLog, ViewChanges);
//     they are encoded (op, storage key, row) only for an epoch that
//     commits without one of those readers;
//   - when the coordinator commits the epoch, it writes the block under
//     every job that reads the view and does not commit that epoch with
//     it (failed, waiting for a rebuild, or catching up), in the same
//     pebble commit as the view's rows: the log and the view never
//     disagree, also across kill -9. A job that commits the epoch gets
//     nothing written, and the log it no longer needs is deleted in that
//     commit;
//   - a view source records at every barrier the epoch it passed (its
//     position). A job that starts again behind its views (RESUME, a
//     retried build, a server start after it failed) attaches to each
//     view at an epoch A the coordinator picks while it holds the epochs
//     still (CatchUpAttach), waits for A to commit, and sends, as part
//     of its first epoch A+1, the logged changes of the epochs after its
//     position up to A; then the view's live changes of A+1 on. Every
//     change reaches the job exactly once. A materialized view replays
//     the net change of those epochs per key (replayNet): what it holds
//     depends only on its inputs' contents, so a row inserted and deleted
//     again while it was failed (the row it failed on, deleted to fix
//     it) never reaches it.
//
// The log is bounded: a sink's by its log bound (sink.log.max_bytes, or
// the server's), a view's by the server's view log bound
// (CoordinatorOptions.ViewLogMaxBytes). Past it the log is deleted and
// the job marked as having lost changes; it can then not be resumed
// (53400) and must be created again. Its bytes count in the job's lag
// (SHOW JOBS, /metrics).
//
// Layout, under the job's epoch records (JobSpan, deleted with it):
//
//	'e' + job id (4) + 'v' + view id (4) + epoch (8) -> S2 block:
//	    uvarint count, then per change: op (1 byte), uvarint length and
//	    the view's storage key, uvarint length and types.EncodeRow of
//	    the view's columns
//	'e' + job id (4) + 'V' -> the epoch (8) whose changes no longer fit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/pebble/v2"
	"github.com/klauspost/compress/s2"

	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

func viewLogKey(sink, view uint32, epoch uint64) []byte {
	var x [12]byte
	binary.BigEndian.PutUint32(x[:4], view)
	binary.BigEndian.PutUint64(x[4:], epoch)
	return jobKey(sink, 'v', x[:]...)
}

// viewLogSpan is the key range of sink's whole view log.
func viewLogSpan(sink uint32) (lo, hi []byte) {
	lo = jobKey(sink, 'v')
	return lo, storage.PrefixEnd(lo)
}

func viewLogLostKey(sink uint32) []byte { return jobKey(sink, 'V') }

// ViewChanges are one epoch's changes of a view for the sinks reading
// it: the chunks the view received, retained as they are. Most epochs
// every sink reading the view commits them with it and nothing is
// logged, so the changes are encoded into a view log block only when
// the epoch commits without one of them (Block); Release lets them go.
type ViewChanges struct {
	keyExpr  *KeyExpr
	visible  []int
	types    []types.T // the view's input types
	visTypes []types.T
	chunks   []*Chunk
	block    []byte
	encoded  bool
}

// add retains c's columns and ops.
func (v *ViewChanges) add(c *Chunk) {
	for _, a := range c.Cols {
		a.Retain()
	}
	v.chunks = append(v.chunks, &Chunk{Cols: slices.Clone(c.Cols), Ops: slices.Clone(c.Ops), N: c.N})
}

// Block returns the changes encoded as one view log block (uncompressed;
// nil when there are none), encoding them on the first call.
func (v *ViewChanges) Block() []byte {
	if v == nil {
		return nil
	}
	if v.encoded {
		return v.block
	}
	v.encoded = true
	n := 0
	for _, c := range v.chunks {
		n += c.N
	}
	if n == 0 {
		return nil
	}
	buf := binary.AppendUvarint(nil, uint64(n))
	var key, val []byte
	row := make([]types.Datum, len(v.visible))
	for _, c := range v.chunks {
		for i := 0; i < c.N; i++ {
			key = v.keyExpr.appendRow(key[:0], c.Cols, i)
			for j, vc := range v.visible {
				row[j] = types.GetDatum(c.Cols[vc], i, v.types[vc])
			}
			val = types.EncodeRow(val[:0], row, v.visTypes)
			buf = append(buf, byte(c.Ops[i]))
			buf = binary.AppendUvarint(buf, uint64(len(key)))
			buf = append(buf, key...)
			buf = binary.AppendUvarint(buf, uint64(len(val)))
			buf = append(buf, val...)
		}
	}
	v.block = buf
	return buf
}

// Release releases the retained chunks.
func (v *ViewChanges) Release() {
	if v == nil {
		return
	}
	for _, c := range v.chunks {
		c.Release()
	}
	v.chunks = nil
}

// viewLogState is the coordinator's account of one sink's view log.
type viewLogState struct {
	spec JobSpec
	// bytes are the log's bytes as stored; lost is set once the log
	// overflowed (the sink cannot catch up any more).
	bytes int64
	lost  bool
}

// keepsViewLog reports whether spec is a job that reads materialized
// views and has a view log: a sink or a materialized view. (A
// changefeed's job has no committed position to come back to.)
func keepsViewLog(spec JobSpec) bool {
	switch spec.Plan.Spec.(type) {
	case *SinkSpec, *MaterializeSpec:
		return len(spec.Upstreams) > 0
	}
	return false
}

// DefaultViewLogMaxBytes is the default bound of a materialized view's
// view log (CoordinatorOptions.ViewLogMaxBytes).
const DefaultViewLogMaxBytes = 256 << 20

// viewLogLimitLocked is the bound of spec's view log (0: none).
func (c *Coordinator) viewLogLimitLocked(spec JobSpec) int64 {
	if ss, ok := spec.Plan.Spec.(*SinkSpec); ok {
		return ss.LogMaxBytes
	}
	return c.viewLogMax
}

// viewLogOwner names the job that owns a view log in messages, with the
// hint that says what to do once the log overflowed.
func viewLogOwner(spec JobSpec) (owner, hint string) {
	if _, ok := spec.Plan.Spec.(*SinkSpec); ok {
		return fmt.Sprintf("sink %q", spec.Name), "Drop the sink and create it again; raise sink.log.max_bytes to keep more."
	}
	return fmt.Sprintf("materialized view %q", spec.Name), "Drop the materialized view and create it again; raise the server's -view-log-max-size to keep more."
}

// trackViewSinkLocked makes the views spec's job reads keep their
// changes for it, and reads what its log holds already. c.mu is held.
func (c *Coordinator) trackViewSinkLocked(spec JobSpec) error {
	if !keepsViewLog(spec) {
		return nil
	}
	for _, v := range spec.Upstreams {
		c.views.addSinkReader(v, spec.ID)
	}
	st := &viewLogState{spec: spec}
	r := c.db.Latest()
	_, lost, err := r.Get(viewLogLostKey(spec.ID))
	if err != nil {
		return err
	}
	st.lost = lost
	lo, hi := viewLogSpan(spec.ID)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		st.bytes += int64(len(it.Value()))
	}
	if err := it.Close(); err != nil {
		return err
	}
	c.viewLogs[spec.ID] = st
	return nil
}

// untrackViewSinkLocked forgets sink id (dropped).
func (c *Coordinator) untrackViewSinkLocked(id uint32) {
	delete(c.viewLogs, id)
	c.views.dropSinkReader(id)
}

// writeViewLogsLocked writes the blocks of epoch e's view changes under
// every sink that reads the view and does not commit e, and deletes the
// log of every sink that commits e (it has read it). c.mu is held.
func (c *Coordinator) writeViewLogsLocked(b *pebble.Batch, e uint64, p *pendingEpoch) error {
	var packed map[uint32][]byte // the epoch's blocks, compressed once
	for id, st := range c.viewLogs {
		j := c.jobs[id]
		if j != nil {
			if _, ok := p.writes[j]; ok {
				if st.bytes > 0 {
					lo, hi := viewLogSpan(id)
					if err := b.DeleteRange(lo, hi, nil); err != nil {
						return err
					}
					st.bytes = 0
				}
				continue
			}
			if !j.catchUp {
				continue // a new sink: its snapshot holds the epoch
			}
		} else if c.failedJobs[id] == nil {
			continue // failed before it ever committed: it starts afresh
		}
		if st.lost {
			continue
		}
		limit := c.viewLogLimitLocked(st.spec)
		for _, v := range st.spec.Upstreams {
			if p.viewLogs[v].Block() == nil {
				continue
			}
			blk := packed[v]
			if blk == nil {
				if packed == nil {
					packed = map[uint32][]byte{}
				}
				blk = s2.Encode(nil, p.viewLogs[v].Block())
				packed[v] = blk
			}
			if limit > 0 && st.bytes > 0 && st.bytes+int64(len(blk)) > limit {
				lo, hi := viewLogSpan(id)
				if err := b.DeleteRange(lo, hi, nil); err != nil {
					return err
				}
				if err := b.Set(viewLogLostKey(id), binary.BigEndian.AppendUint64(nil, e), nil); err != nil {
					return err
				}
				st.bytes, st.lost = 0, true
				c.log.Error("job missed more changes of its views than its view log holds; it cannot be resumed",
					"job", st.spec.Name, "epoch", e, "limit", limit)
				break
			}
			if err := b.Set(viewLogKey(id, v, e), blk, nil); err != nil {
				return err
			}
			st.bytes += int64(len(blk))
		}
	}
	return nil
}

// viewLogBytesLocked returns the bytes of sink id's view log.
func (c *Coordinator) viewLogBytesLocked(id uint32) int64 {
	if st := c.viewLogs[id]; st != nil {
		return st.bytes
	}
	return 0
}

// catchUpSource is a source that attaches to its upstream when told:
// a view source of a sink that resumes behind its views.
type catchUpSource interface {
	catchUpAt(epoch uint64)
}

// CatchUpAttach attaches the view sources of job j, built with
// Env.CatchUp, at the next epoch's barrier: j takes part in the epochs
// after it and replays those before from its view log. c.mu is held.
func (c *Coordinator) catchUpAttachLocked(j *Job) {
	a := c.epoch + 1
	j.start = a
	j.catchUp = true
	for _, s := range j.sources {
		if cs, ok := s.src.(catchUpSource); ok {
			cs.catchUpAt(a)
		}
	}
}

// viewLogPos reads a view source's recorded position: the last epoch
// the job committed with the view.
func viewLogPos(pos []byte) (uint64, bool) {
	if len(pos) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(pos), true
}

// checkViewLog returns why the view log of the job env builds cannot
// bring it up to date.
func checkViewLog(env *Env) error {
	_, lost, err := env.State.Get(viewLogLostKey(env.ViewLogJob))
	if err != nil {
		return err
	}
	if lost {
		return sqlerr.New(sqlerr.ConfigurationLimitExceeded, "%s missed more changes of its views than its log holds and cannot be resumed", env.ViewLogOwner).
			WithHint("%s", env.ViewLogHint)
	}
	return nil
}

// replayViewLog sends the logged changes of the epochs after from, up to
// and including to, of view source v's view, in chunks: each change as
// it was logged for a sink, their net change per key for a view
// (Env.ViewLogNet).
func (v *viewSource) replayViewLog(ctx context.Context, from, to uint64, out chan<- Message) error {
	if to <= from {
		return nil
	}
	job := v.env.ViewLogJob
	it, err := v.env.DB.Latest().NewIter(viewLogKey(job, v.spec.ViewID, from+1), viewLogKey(job, v.spec.ViewID, to+1))
	if err != nil {
		return err
	}
	w := v.newViewLogWriter(ctx, out)
	defer w.release()
	if v.env.ViewLogNet {
		var net netChanges
		err = eachViewLogChange(it, job, net.add)
		if err == nil {
			err = net.send(w)
		}
	} else {
		err = eachViewLogChange(it, job, w.add)
	}
	if err == nil {
		err = w.flush()
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

// eachViewLogChange calls fn with every change of the view log blocks
// it reads, in order. key and row are valid during the call only.
func eachViewLogChange(it storage.Iter, job uint32, fn func(op Op, key, row []byte) error) error {
	for ok := it.First(); ok; ok = it.Next() {
		raw, err := s2.Decode(nil, it.Value())
		if err != nil {
			return fmt.Errorf("view log of job %d: %w", job, err)
		}
		n, k := binary.Uvarint(raw)
		if k <= 0 {
			return errCorruptViewLog
		}
		raw = raw[k:]
		for ; n > 0; n-- {
			if len(raw) < 1 {
				return errCorruptViewLog
			}
			op := Op(raw[0])
			raw = raw[1:]
			var parts [2][]byte
			for i := range parts {
				l, k := binary.Uvarint(raw)
				if k <= 0 || uint64(len(raw)-k) < l {
					return errCorruptViewLog
				}
				parts[i] = raw[k : k+int(l)]
				raw = raw[k+int(l):]
			}
			if err := fn(op, parts[0], parts[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// viewLogWriter builds the chunks a view source sends of replayed
// changes: the view's columns and its storage key.
type viewLogWriter struct {
	ctx  context.Context
	out  chan<- Message
	ts   []types.T
	bs   []array.Builder
	keys *array.BinaryBuilder
	ops  []Op
}

func (v *viewSource) newViewLogWriter(ctx context.Context, out chan<- Message) *viewLogWriter {
	w := &viewLogWriter{ctx: ctx, out: out, ts: v.spec.Table.Types}
	w.reset()
	return w
}

func (w *viewLogWriter) reset() {
	w.bs = make([]array.Builder, len(w.ts))
	for i, t := range w.ts {
		w.bs[i] = types.NewBuilder(t)
	}
	w.keys = array.NewBinaryBuilder(types.Mem, arrow.BinaryTypes.Binary)
	w.ops = nil
}

func (w *viewLogWriter) release() {
	for _, b := range w.bs {
		b.Release()
	}
	w.keys.Release()
}

// add appends one change (row encoded by types.EncodeRow), sending a
// full chunk first.
func (w *viewLogWriter) add(op Op, key, row []byte) error {
	// An UpdateDelete stays in the chunk of its UpdateInsert.
	if len(w.ops) >= exec.BatchSize && op != UpdateInsert {
		if err := w.flush(); err != nil {
			return err
		}
	}
	ds, err := types.DecodeRow(row, w.ts)
	if err != nil {
		return err
	}
	for i, d := range ds {
		types.AppendDatum(w.bs[i], d)
	}
	w.keys.Append(key)
	w.ops = append(w.ops, op)
	return nil
}

// flush sends the changes added since the last chunk.
func (w *viewLogWriter) flush() error {
	if len(w.ops) == 0 {
		return nil
	}
	cols := make([]arrow.Array, 0, len(w.bs)+1)
	for _, b := range w.bs {
		cols = append(cols, b.NewArray())
		b.Release()
	}
	cols = append(cols, w.keys.NewArray())
	w.keys.Release()
	c := NewChunk(cols, w.ops)
	w.reset()
	return Send(w.ctx, w.out, Message{Kind: MsgChunk, Chunk: c})
}

// netChanges folds a run of changes into the net change per key: the row
// the key had before the first change (if the first change removes one)
// and the row it has after the last (if the last one adds one). Keys are
// kept in the order of their first change.
type netChanges struct {
	idx  map[string]int
	keys []netChange
}

type netChange struct {
	key           string
	before, after []byte // encoded rows; nil: no row
}

func (n *netChanges) add(op Op, key, row []byte) error {
	i, ok := n.idx[string(key)]
	if !ok {
		if n.idx == nil {
			n.idx = map[string]int{}
		}
		i = len(n.keys)
		n.idx[string(key)] = i
		c := netChange{key: string(key)}
		if !op.IsInsert() {
			c.before = slices.Clone(row)
		}
		n.keys = append(n.keys, c)
	}
	if op.IsInsert() {
		n.keys[i].after = append(n.keys[i].after[:0:0], row...)
	} else {
		n.keys[i].after = nil
	}
	return nil
}

// send writes the net changes: nothing for a key whose row did not
// change, an update (UpdateDelete, UpdateInsert) for one that changed,
// else the delete or insert.
func (n *netChanges) send(w *viewLogWriter) error {
	for _, c := range n.keys {
		var err error
		switch {
		case c.before != nil && c.after != nil:
			if bytes.Equal(c.before, c.after) {
				continue
			}
			if err = w.add(UpdateDelete, []byte(c.key), c.before); err == nil {
				err = w.add(UpdateInsert, []byte(c.key), c.after)
			}
		case c.before != nil:
			err = w.add(Delete, []byte(c.key), c.before)
		case c.after != nil:
			err = w.add(Insert, []byte(c.key), c.after)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var errCorruptViewLog = errors.New("corrupt view log block")

// noPositionHint says what to do with a job that reads a view but last
// committed before view positions were recorded.
func noPositionHint(env *Env) string {
	if env.ViewLogNet {
		return "Drop the materialized view and create it again."
	}
	return "Its format cannot take the view's rows again without repeating rows its target holds: drop the sink and create it again (it starts with the view's contents). A sink in FORMAT UPSERT or DEBEZIUM is rebuilt from a snapshot of the view instead."
}

// rebuildKeyed brings a keyed sink (FORMAT UPSERT or DEBEZIUM) that has
// no recorded position in view source v's view (it last committed before
// positions were recorded) up to date at its attach epoch a, within its
// first epoch: the rows its view log holds as deleted by a (the epochs it
// missed since this server started) go out as deletes, then every row of
// the view at a as an insert, which the target takes as an upsert of the
// key. Rows the view deleted before the server started, while the sink
// was already behind, are not known and stay in the target.
func (v *viewSource) rebuildKeyed(ctx context.Context, a uint64, out chan<- Message) error {
	if err := v.env.WaitCommitted(ctx, a); err != nil {
		return err
	}
	job := v.env.ViewLogJob
	it, err := v.env.DB.Latest().NewIter(viewLogKey(job, v.spec.ViewID, 0), viewLogKey(job, v.spec.ViewID, a+1))
	if err != nil {
		return err
	}
	var net netChanges
	err = eachViewLogChange(it, job, net.add)
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	w := v.newViewLogWriter(ctx, out)
	defer w.release()
	for _, c := range net.keys {
		if c.before != nil && c.after == nil {
			if err := w.add(Delete, []byte(c.key), c.before); err != nil {
				return err
			}
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	return v.snapshot(ctx, a, out)
}
