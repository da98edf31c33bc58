package stream

// A sink's view log: the changes of the materialized views a sink reads,
// kept for the epochs the sink did not commit.
//
// A sink that reads a table rewinds to its committed position in the
// table's changelog when it starts again. A view has no such changelog:
// it passes its changes on to its readers as they happen, so a sink that
// is failed (its log was full, its target refused), waits for a rebuild
// (job_retry.go) or is being resumed misses the epochs the view commits
// meanwhile. The view log keeps them, per sink:
//
//   - the view's materialize operator keeps the chunks of its changes
//     of an epoch while a sink reads the view, and hands them to the
//     coordinator with the epoch's writes (Barrier.ViewLog, ViewChanges);
//     they are encoded (op, storage key, row) only for an epoch that
//     commits without one of those sinks;
//   - when the coordinator commits the epoch, it writes the block under
//     every sink that reads the view and does not commit that epoch with
//     it (failed, waiting for a rebuild, or catching up), in the same
//     pebble commit as the view's rows: the log and the view never
//     disagree, also across kill -9. A sink that commits the epoch gets
//     nothing written, and the log it no longer needs is deleted in that
//     commit;
//   - a view source records at every barrier the epoch it passed (its
//     position). A sink that starts again behind its views (RESUME, a
//     retried build, a server start after it failed) attaches to each
//     view at an epoch A the coordinator picks while it holds the epochs
//     still (CatchUpAttach), waits for A to commit, and sends, as part
//     of its first epoch A+1, the logged changes of the epochs after its
//     position up to A; then the view's live changes of A+1 on. Every
//     change reaches the sink exactly once.
//
// The log is bounded by the sink's log bound (sink.log.max_bytes, or the
// server's): past it the log is deleted and the sink marked as having
// lost changes; it can then not be resumed (53400) and must be created
// again. Its bytes count in the sink's lag (SHOW JOBS, /metrics).
//
// Layout, under the sink's epoch records (JobSpan, deleted with it):
//
//	'e' + sink id (4) + 'v' + view id (4) + epoch (8) -> S2 block:
//	    uvarint count, then per change: op (1 byte), uvarint length and
//	    the view's storage key, uvarint length and types.EncodeRow of
//	    the view's columns
//	'e' + sink id (4) + 'V' -> the epoch (8) whose changes no longer fit

import (
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

// isViewSink reports whether spec is a sink that reads materialized views.
func isViewSink(spec JobSpec) bool {
	_, ok := spec.Plan.Spec.(*SinkSpec)
	return ok && len(spec.Upstreams) > 0
}

// trackViewSinkLocked makes the views spec's sink reads keep their
// changes for it, and reads what its log holds already. c.mu is held.
func (c *Coordinator) trackViewSinkLocked(spec JobSpec) error {
	if !isViewSink(spec) {
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
		limit := st.spec.Plan.Spec.(*SinkSpec).LogMaxBytes
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
				c.log.Error("sink missed more changes of its views than its log holds; it cannot be resumed",
					"sink", st.spec.Name, "epoch", e, "limit", limit)
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

// checkViewLog returns why sink's view log cannot bring it up to date.
func checkViewLog(r storage.Reader, sink uint32, name string) error {
	_, lost, err := r.Get(viewLogLostKey(sink))
	if err != nil {
		return err
	}
	if lost {
		return sqlerr.New(sqlerr.ConfigurationLimitExceeded, "sink %q missed more changes of its views than its log holds and cannot be resumed", name).
			WithHint("Drop the sink and create it again; raise sink.log.max_bytes to keep more.")
	}
	return nil
}

// replayViewLog sends the logged changes of the epochs after from, up to
// and including to, of view source v's view, in chunks.
func (v *viewSource) replayViewLog(ctx context.Context, from, to uint64, out chan<- Message) error {
	if to <= from {
		return nil
	}
	sink := v.env.ViewLogSink
	it, err := v.env.DB.Latest().NewIter(viewLogKey(sink, v.spec.ViewID, from+1), viewLogKey(sink, v.spec.ViewID, to+1))
	if err != nil {
		return err
	}
	err = v.sendViewLog(ctx, it, out)
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

func (v *viewSource) sendViewLog(ctx context.Context, it storage.Iter, out chan<- Message) error {
	sink := v.env.ViewLogSink
	ts := v.spec.Table.Types
	var (
		bs   []array.Builder
		keys *array.BinaryBuilder
		ops  []Op
	)
	reset := func() {
		bs = make([]array.Builder, len(ts))
		for i, t := range ts {
			bs[i] = types.NewBuilder(t)
		}
		keys = array.NewBinaryBuilder(types.Mem, arrow.BinaryTypes.Binary)
		ops = nil
	}
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		cols := make([]arrow.Array, 0, len(bs)+1)
		for _, b := range bs {
			cols = append(cols, b.NewArray())
			b.Release()
		}
		cols = append(cols, keys.NewArray())
		keys.Release()
		c := NewChunk(cols, ops)
		reset()
		return Send(ctx, out, Message{Kind: MsgChunk, Chunk: c})
	}
	reset()
	defer func() {
		for _, b := range bs {
			b.Release()
		}
		keys.Release()
	}()
	for ok := it.First(); ok; ok = it.Next() {
		raw, err := s2.Decode(nil, it.Value())
		if err != nil {
			return fmt.Errorf("view log of sink %d: %w", sink, err)
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
			row, err := types.DecodeRow(parts[1], ts)
			if err != nil {
				return err
			}
			for i, d := range row {
				types.AppendDatum(bs[i], d)
			}
			keys.Append(parts[0])
			ops = append(ops, op)
			// An UpdateDelete stays in the chunk of its UpdateInsert.
			if len(ops) >= exec.BatchSize && op != UpdateDelete {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

var errCorruptViewLog = errors.New("corrupt view log block")
