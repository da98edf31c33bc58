package stream

// The sink log.
//
// A sink that writes to an external system (Kafka, PostgreSQL) does not
// write from the job's goroutine. Its writer encodes each chunk into
// records and, at the barrier, puts the epoch's records into the epoch's
// write batch under the sink's log keys, so the log commits atomically
// with the state of every view of the epoch. A background goroutine, the
// drainer, then delivers the committed log to the target, oldest epoch
// first, and deletes what the target holds. A slow or unreachable target
// makes the log grow (the lag shown by SHOW JOBS and /metrics); it never
// stalls the views.
//
// Exactly once rests on the target recording, in the same transaction as
// the records, the last epoch it holds (a Kafka transaction that also
// commits a consumer-group offset, a PostgreSQL transaction that also
// updates a progress row). The drainer asks the target for that epoch
// when it starts and after every failed delivery (SinkTarget.Recover):
// a transaction left open by a crash or a lost connection is aborted or
// found committed there, the log up to the recorded epoch is dropped,
// and delivery goes on after it. An epoch is never delivered twice, and
// none is lost, because the log of an epoch is deleted only after the
// target has committed it.
//
// Layout: under the job's epoch records (JobSpan, deleted with the job),
//
//	'e' + sink id (4) + 'k' + epoch (8) + seq (4) -> records
//
// where records are a sequence of SinkRecord, each a flags byte (bit 0:
// key present, bit 1: value present) and the uvarint-prefixed key and
// value, compressed as one S2 block (encoded messages are repetitive, and
// the log's bytes go through the WAL and the memtable once and are
// deleted soon after: compression makes that cost a fraction).
//
// A target that sends records in a compressed form of its own (a Kafka
// sink's record batches) may store the log in that form instead
// (SinkLogPacker): the writer packs each part with the target, and the
// value is a zero byte, the part's record count (uvarint) and the packed
// bytes. The drainer then hands the stored parts to the target as they
// are (DeliverPacked), and the records are compressed once, not once for
// the log and again for the target. An S2 block never starts with a zero
// byte (it starts with its decoded length), so a log written in either
// form reads back.
//
// The log's undelivered bytes (compressed, as stored) may be bounded
// (SinkInput.LogMaxBytes): a barrier whose records would pass the bound
// fails the sink's job with 53400 before anything of the epoch is
// written, so the log keeps every epoch it accepted and the other jobs go
// on. An epoch larger than the bound is accepted into an empty log, or
// the sink could never pass it. When the job is resumed (ALTER SINK
// RESUME, or a restart) it starts again from its last committed epoch,
// and its input replays what the refused epoch held and everything after
// it; RESUME first delivers the whole log (DrainSinkLog), so the replay
// goes into an empty log.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/klauspost/compress/s2"

	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// SinkRecord is one record of a sink log: a key and a value, nil when
// absent (a Kafka tombstone has a nil value).
type SinkRecord struct {
	Key, Value []byte
}

// AppendSinkRecord appends one record to buf in the log's layout.
func AppendSinkRecord(buf, key, value []byte, hasKey, hasValue bool) []byte {
	buf = appendSinkRecordKey(buf, key, hasKey, hasValue)
	buf = binary.AppendUvarint(buf, uint64(len(value)))
	return append(buf, value...)
}

// appendSinkRecordKey appends a record's flags and key.
func appendSinkRecordKey(buf, key []byte, hasKey, hasValue bool) []byte {
	var flags byte
	if hasKey {
		flags |= 1
	}
	if hasValue {
		flags |= 2
	}
	buf = append(buf, flags)
	buf = binary.AppendUvarint(buf, uint64(len(key)))
	return append(buf, key...)
}

// SinkRecordFrame lays out records as AppendSinkRecord does for an
// encoder that writes each value in place (format.Frame): Open leaves
// room for the value's length, which Close fills in once the value is
// written. The length is a uvarint padded to sinkValueLenRoom bytes
// (0x80 continuation bytes, which every uvarint reader takes as the same
// number); a longer value is moved to make room for its length.
type SinkRecordFrame struct{}

// sinkValueLenRoom is the room Open leaves for a value's length: two
// bytes hold the length of a value under 16 KiB.
const sinkValueLenRoom = 2

// Open appends the record's flags and key and the room for its value's
// length.
func (SinkRecordFrame) Open(buf, key []byte, hasKey, hasValue bool) []byte {
	buf = appendSinkRecordKey(buf, key, hasKey, hasValue)
	return append(buf, make([]byte, sinkValueLenRoom)...)
}

// Close writes the length of the value at buf[start:].
func (SinkRecordFrame) Close(buf []byte, start int) []byte {
	n := len(buf) - start
	room := buf[start-sinkValueLenRoom : start]
	if n < 1<<(7*sinkValueLenRoom) {
		room[0] = byte(n) | 0x80
		room[1] = byte(n >> 7)
		return buf
	}
	var l [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(l[:], uint64(n))
	buf = append(buf, l[:w-sinkValueLenRoom]...)
	copy(buf[start-sinkValueLenRoom+w:], buf[start:start+n])
	copy(buf[start-sinkValueLenRoom:], l[:w])
	return buf
}

// DecodeSinkRecords appends the records of a log value to out. The
// records alias v.
func DecodeSinkRecords(out []SinkRecord, v []byte) ([]SinkRecord, error) {
	for len(v) > 0 {
		flags := v[0]
		v = v[1:]
		var r SinkRecord
		for part := 0; part < 2; part++ {
			n, k := binary.Uvarint(v)
			if k <= 0 || uint64(len(v)-k) < n {
				return out, errors.New("corrupt sink log record")
			}
			b := v[k : k+int(n) : k+int(n)]
			v = v[k+int(n):]
			if part == 0 && flags&1 != 0 {
				r.Key = b
			} else if part == 1 && flags&2 != 0 {
				r.Value = b
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// countSinkRecords returns how many records v holds (as far as it can
// be read: DecodeSinkRecords reports what is wrong with it).
func countSinkRecords(v []byte) int {
	n := 0
	for len(v) > 0 {
		v = v[1:]
		for part := 0; part < 2; part++ {
			l, k := binary.Uvarint(v)
			if k <= 0 || uint64(len(v)-k) < l {
				return n
			}
			v = v[k+int(l):]
		}
		n++
	}
	return n
}

// SinkEncoder turns chunks of changes into sink records.
type SinkEncoder interface {
	// Encode appends c's records to buf (AppendSinkRecord) and returns
	// the buffer and how many records it appended.
	Encode(buf []byte, c *Chunk) ([]byte, int, error)
}

// SinkTarget is the external system a logged sink delivers to, exactly
// once.
type SinkTarget interface {
	// Recover resolves whatever an earlier delivery left open (aborting
	// or completing its transaction) and returns the last epoch the
	// target holds, 0 if none.
	Recover(ctx context.Context) (uint64, error)
	// Deliver writes recs, the records of the epochs up to upTo after the
	// last delivered one, in one transaction that also records upTo. An
	// error leaves the outcome unknown: the drainer calls Recover next.
	Deliver(ctx context.Context, upTo uint64, recs []SinkRecord) error
	// Close releases the target's connections.
	Close() error
}

// SinkLogPacker is a SinkTarget that keeps the sink log in the form it
// sends: the writer packs each part of the log with it, and the drainer
// delivers the packed parts.
type SinkLogPacker interface {
	SinkTarget
	// PackSinkLog appends part (records in the log's layout) in the
	// target's form to dst. It is called from the job's goroutine, while
	// the drainer may deliver.
	PackSinkLog(dst, part []byte) ([]byte, error)
	// UnpackSinkLog appends the records of a packed part, in the log's
	// layout, to dst.
	UnpackSinkLog(dst, packed []byte) ([]byte, error)
	// DeliverPacked is Deliver of packed parts, which it may change.
	DeliverPacked(ctx context.Context, upTo uint64, parts [][]byte) error
}

// packedPrefix is the size of a packed log value's prefix before its
// record count.
const packedPrefix = 1

// packedValue splits a stored log value in the packed form into its
// record count and packed bytes; ok is false for an S2 block.
func packedValue(v []byte) (rows uint64, packed []byte, ok bool, err error) {
	if len(v) == 0 || v[0] != 0 {
		return 0, nil, false, nil
	}
	rows, k := binary.Uvarint(v[packedPrefix:])
	if k <= 0 {
		return 0, nil, true, errors.New("corrupt packed sink log value")
	}
	return rows, v[packedPrefix+k:], true, nil
}

// unpackLogValue appends the records of a stored log value, in the log's
// layout, to dst (reused).
func (d *drainer) unpackLogValue(dst, v []byte) ([]byte, error) {
	_, packed, ok, err := packedValue(v)
	if err != nil {
		return nil, err
	}
	if ok {
		if d.packer == nil {
			return nil, errors.New("packed sink log value, but the sink's target does not pack")
		}
		return d.packer.UnpackSinkLog(dst[:0], packed)
	}
	n, err := s2.DecodedLen(v)
	if err != nil {
		return nil, err
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	return s2.Decode(dst[:cap(dst)], v)
}

// SinkLogKey is the key of part seq of epoch's records of sink id.
func SinkLogKey(id uint32, epoch uint64, seq uint32) []byte {
	var x [12]byte
	binary.BigEndian.PutUint64(x[:8], epoch)
	binary.BigEndian.PutUint32(x[8:], seq)
	return jobKey(id, 'k', x[:]...)
}

// sinkLogSpan is the key span of sink id's log from epoch from on.
func sinkLogSpan(id uint32, from uint64) (lo, hi []byte) {
	return SinkLogKey(id, from, 0), storage.PrefixEnd(jobKey(id, 'k'))
}

// logPart is the most bytes of records in one log value.
const logPart = 1 << 20

// drainBatch is about the most bytes of records delivered in one
// transaction when the drainer catches up on a backlog of several epochs
// (whole epochs: a larger epoch goes alone). At 32 MB a delivery's
// decoded log and its slice of records (hundreds of thousands) were
// allocated afresh and zeroed whenever a delivery outgrew the last; at
// 4 MB they stay small and reused, and a transaction's own cost (a few
// round trips to the broker) stays small next to its records'.
const drainBatch = 4 << 20

// LogSinkWriter is the SinkWriter of a logged sink.
type LogSinkWriter struct {
	in     *SinkInput
	env    *Env
	enc    SinkEncoder
	log    *slog.Logger
	buf    []byte
	parts  [][]byte
	free   FreeList[[]byte] // part buffers to reuse
	packed [][]byte         // scratch for the compressed parts
	rows   int64
	// partRows counts the records of each part (the current one last)
	// when the target packs the log.
	partRows []int64
	drain    *drainer
	cancel   context.CancelFunc
	done     chan struct{}
	closed   bool
}

// NewLogSinkWriter returns the writer of a logged sink and starts its
// drainer, which delivers the committed log to target until the writer
// is closed or the job's context ends.
func NewLogSinkWriter(env *Env, in *SinkInput, enc SinkEncoder, target SinkTarget, log *slog.Logger) *LogSinkWriter {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("sink", in.Name)
	parent := context.Background()
	if env.Ctx != nil && env.Ctx.Context != nil {
		parent = env.Ctx.Context
	}
	ctx, cancel := context.WithCancel(parent)
	w := &LogSinkWriter{in: in, env: env, enc: enc, log: log, cancel: cancel, done: make(chan struct{})}
	w.drain = &drainer{id: in.ID, env: env, target: target, log: log}
	w.drain.packer, _ = target.(SinkLogPacker)
	// The log a resumed job finds counts against its bound from the
	// start, before the target is reachable again.
	last, err := w.drain.count(0)
	if err != nil {
		log.Warn("counting the sink log", "err", err)
		last = ^uint64(0)
	}
	// The log found here is read back from pebble (sink_log_handoff.go).
	w.drain.hand.skip(last)
	if env.Stats != nil {
		env.Stats.LoggedSink.Store(true)
	}
	// The job stops the drainer when it ends however it ends (a stop
	// barrier closes the writer earlier): the drainer reads the log
	// from the database, which must not close under it.
	env.OnStop(func() { w.Close() })
	go func() {
		defer close(w.done)
		w.drain.run(ctx)
		if err := target.Close(); err != nil {
			log.Warn("closing sink target", "err", err)
		}
	}()
	return w
}

// Write encodes c into the epoch's records.
func (w *LogSinkWriter) Write(c *Chunk) error {
	var n int
	var err error
	w.buf, n, err = w.enc.Encode(w.buf, c)
	if err != nil {
		return fmt.Errorf("sink %s: %w", w.in.Name, err)
	}
	w.rows += int64(n)
	if w.drain.packer != nil {
		if len(w.partRows) == len(w.parts) {
			w.partRows = append(w.partRows, 0)
		}
		w.partRows[len(w.parts)] += int64(n)
	}
	if len(w.buf) >= logPart {
		w.parts = append(w.parts, w.buf)
		w.buf = w.newBuf()
	}
	return nil
}

// pack returns part i in its stored form: S2, or packed by the target
// (a zero byte, the part's record count, the packed bytes).
func (w *LogSinkWriter) pack(i int) ([]byte, error) {
	dst := w.packed[i]
	if w.drain.packer == nil {
		return s2.Encode(dst[:cap(dst)], w.parts[i]), nil
	}
	if dst == nil {
		dst, _ = w.drain.hand.buffer()
	}
	var rows int64
	if i < len(w.partRows) {
		rows = w.partRows[i]
	}
	dst = binary.AppendUvarint(append(dst[:0], 0), uint64(rows))
	return w.drain.packer.PackSinkLog(dst, w.parts[i])
}

// newBuf returns an empty part buffer, reusing a free one.
func (w *LogSinkWriter) newBuf() []byte {
	if b, ok := w.free.Take(); ok {
		return b[:0]
	}
	if w.drain.packer == nil {
		// With a packer the hand-off's buffers are packed parts, for
		// pack.
		if b, ok := w.drain.hand.buffer(); ok {
			return b
		}
	}
	return make([]byte, 0, logPart+logPart/4)
}

// Barrier puts the epoch's records into the epoch's batch.
func (w *LogSinkWriter) Barrier(b *Barrier) error {
	if len(w.buf) > 0 {
		w.parts = append(w.parts, w.buf)
		w.buf = w.newBuf()
	}
	if len(w.parts) > 0 {
		var size int64
		for i := range w.parts {
			if i == len(w.packed) {
				w.packed = append(w.packed, nil)
			}
			v, err := w.pack(i)
			if err != nil {
				return fmt.Errorf("sink %s: %w", w.in.Name, err)
			}
			w.packed[i] = v
			size += int64(len(v))
		}
		if max := w.in.LogMaxBytes; max > 0 {
			// An epoch is logged whole or not at all, so one larger than
			// the bound goes into an empty log: refused, the sink could
			// never pass it (the catch-up epoch of a resumed sink is one).
			if held := w.drain.lagBytes.Load(); held > 0 && held+size > max {
				err := sqlerr.New(sqlerr.ConfigurationLimitExceeded,
					"sink %q cannot log epoch %d: its log holds %d undelivered bytes and the epoch adds %d, more than %s (%d)",
					w.in.Name, b.Epoch, held, size, w.in.LogMaxSetting, max).
					WithHint("Make the sink's target reachable or raise %s, then resume the sink; what the log holds is kept.", w.in.LogMaxSetting)
				w.log.Error("sink log is full; the sink stops", "epoch", b.Epoch, "held", held, "adds", size, "limit", max, "setting", w.in.LogMaxSetting)
				return err
			}
		}
		for i := range w.parts {
			if err := b.Writes.Set(SinkLogKey(w.in.ID, b.Epoch, uint32(i)), w.packed[i], nil); err != nil {
				return err
			}
		}
		// The batch copied the compressed parts; the drainer takes the
		// parts themselves when it can (packed, when the target packs).
		if w.drain.packer != nil {
			if w.drain.hand.offer(b.Epoch, w.packed[:len(w.parts)], w.rows, size) {
				clear(w.packed[:len(w.parts)])
			}
			for _, p := range w.parts {
				w.free.Put(p)
			}
			clear(w.partRows)
		} else if !w.drain.hand.offer(b.Epoch, w.parts, w.rows, size) {
			for _, p := range w.parts {
				w.free.Put(p)
			}
		}
		clear(w.parts)
		w.drain.logged(w.rows, size)
		w.parts = w.parts[:0]
		w.rows = 0
	}
	return nil
}

// Close stops the drainer and waits for it.
func (w *LogSinkWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.cancel()
	<-w.done
	return nil
}

// Lag returns how many epochs and records are logged but not yet
// delivered.
func (w *LogSinkWriter) Lag() (epochs, rows int64) {
	return w.drain.lagEpochs.Load(), w.drain.lagRows.Load()
}

// LagBytes returns the bytes of the log not yet delivered.
func (w *LogSinkWriter) LagBytes() int64 { return w.drain.lagBytes.Load() }

// Delivered returns the last epoch the target is known to hold.
func (w *LogSinkWriter) Delivered() uint64 { return w.drain.delivered.Load() }

// drainer delivers a sink's committed log to its target.
type drainer struct {
	id     uint32
	env    *Env
	target SinkTarget
	log    *slog.Logger
	// packer is the target when it packs the log (else nil).
	packer SinkLogPacker

	delivered atomic.Uint64
	// lagEpochs and lagRows count the logged, undelivered epochs and
	// records: the writer adds at barriers, the drainer subtracts after
	// delivery (and counts the log afresh when it recovers).
	lagEpochs, lagRows atomic.Int64
	// lagBytes counts the logged, undelivered bytes as stored.
	lagBytes atomic.Int64
	// recovered is set once the target's position is known and the log
	// counted from it.
	recovered atomic.Bool
	mu        sync.Mutex
	// recs and bufs are reused from one read to the next (the records
	// of a read alias bufs, and are done with once delivered): a sink
	// that drains a backlog does not allocate, zero and collect a batch
	// of records and its decoded log per delivery. They hold at most
	// about drainBatch bytes.
	recs  []SinkRecord
	bufs  [][]byte
	parts [][]byte // the packed parts of a delivery
	// hand has the epochs the writer logged, uncompressed; held are the
	// ones being delivered from it.
	hand handoff
	held []handoffEpoch
}

func (d *drainer) logged(rows, bytes int64) {
	d.lagEpochs.Add(1)
	d.lagRows.Add(rows)
	d.lagBytes.Add(bytes)
	d.publish()
}

func (d *drainer) publish() {
	if d.env.Stats != nil {
		d.env.Stats.SinkLagEpochs.Store(d.lagEpochs.Load())
		d.env.Stats.SinkLagRows.Store(d.lagRows.Load())
		d.env.Stats.SinkLagBytes.Store(d.lagBytes.Load())
	}
}

func (d *drainer) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	recovered := false
	var failing error
	fail := func(what string, err error) {
		if ctx.Err() != nil {
			return
		}
		if failing == nil || failing.Error() != err.Error() {
			d.log.Warn("sink "+what+" failed; the log is kept and delivery retried", "err", err)
		}
		failing = err
		if d.env.Stats != nil {
			d.env.Stats.SetSinkError(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	for ctx.Err() == nil {
		if !recovered {
			e, err := d.target.Recover(ctx)
			if err != nil {
				fail("recovery", err)
				continue
			}
			d.delivered.Store(e)
			if err := d.drop(e); err != nil {
				fail("log truncation", err)
				continue
			}
			if _, err := d.count(e); err != nil {
				fail("log scan", err)
				continue
			}
			recovered = true
			d.recovered.Store(true)
		}
		committed := uint64(0)
		if d.env.Committed != nil {
			committed = d.env.Committed()
		}
		var recs []SinkRecord
		var parts [][]byte
		var upTo uint64
		var epochs int
		var stored, rows int64
		var err error
		if d.packer != nil {
			parts, rows, upTo, epochs, stored, err = d.readPacked(d.delivered.Load(), committed)
		}
		if err == nil && len(parts) == 0 {
			if d.packer == nil {
				// (A packer's hand-off holds packed parts: readPacked.)
				recs, upTo, epochs, stored, err = d.readHandoff(d.delivered.Load(), committed)
			}
			if err == nil && len(recs) == 0 {
				recs, upTo, epochs, stored, err = d.read(d.delivered.Load())
			}
			rows = int64(len(recs))
		}
		if err != nil {
			fail("log read", err)
			continue
		}
		if len(recs) == 0 && len(parts) == 0 {
			if d.env.WaitCommitted == nil {
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			if err := d.env.WaitCommitted(ctx, committed+1); err != nil && ctx.Err() == nil {
				fail("wait", err)
			}
			continue
		}
		if len(parts) > 0 {
			err = d.packer.DeliverPacked(ctx, upTo, parts)
		} else {
			err = d.target.Deliver(ctx, upTo, recs)
		}
		if err != nil {
			recovered = false
			fail("delivery", err)
			continue
		}
		if failing != nil {
			d.log.Info("sink delivers again", "epoch", upTo)
			failing = nil
			if d.env.Stats != nil {
				d.env.Stats.SetSinkError(nil)
			}
		}
		backoff = 100 * time.Millisecond
		d.delivered.Store(upTo)
		d.hand.drop(upTo)
		if err := d.drop(upTo); err != nil {
			fail("log truncation", err)
			recovered = false
		}
		d.lagEpochs.Add(-int64(epochs))
		d.lagRows.Add(-rows)
		d.lagBytes.Add(-stored)
		d.publish()
	}
}

// read returns the records of the oldest logged epochs after from, up to
// drainBatch bytes (but whole epochs), the last epoch they hold and how
// many epochs they span, and their bytes as stored.
func (d *drainer) read(from uint64) ([]SinkRecord, uint64, int, int64, error) {
	recs := d.recs[:0]
	parts := 0
	upTo, epochs, stored, err := d.scanLog(from, func(e uint64, stored []byte) (int, error) {
		if parts == len(d.bufs) {
			d.bufs = append(d.bufs, nil)
		}
		v, err := d.unpackLogValue(d.bufs[parts], stored)
		if err != nil {
			return 0, fmt.Errorf("epoch %d: sink log: %w", e, err)
		}
		d.bufs[parts] = v
		parts++
		return len(v), nil
	})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	clear(d.bufs[parts:])
	d.bufs = d.bufs[:parts]
	// Count the records first and grow the slice once: growing a large
	// slice part by part copies it over and over into fresh memory.
	n := 0
	for _, v := range d.bufs {
		n += countSinkRecords(v)
	}
	recs = slices.Grow(recs, n)
	for _, v := range d.bufs {
		if recs, err = DecodeSinkRecords(recs, v); err != nil {
			return nil, 0, 0, 0, fmt.Errorf("sink log: %w", err)
		}
	}
	d.recs = recs
	return recs, upTo, epochs, stored, nil
}

// errScanStop ends scanLog early, without an error.
var errScanStop = errors.New("stop")

// scanLog calls fn with each stored value of the oldest logged epochs
// after from, until the values taken (as fn measures them) pass about
// drainBatch bytes, whole epochs, or fn returns errScanStop; it returns
// the last epoch it passed, how many epochs, and their bytes as stored.
func (d *drainer) scanLog(from uint64, fn func(epoch uint64, v []byte) (int, error)) (upTo uint64, epochs int, stored int64, err error) {
	lo, hi := sinkLogSpan(d.id, from+1)
	it, err := d.env.DB.Pebble().NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, 0, 0, err
	}
	defer it.Close()
	size := 0
	for ok := it.First(); ok; ok = it.Next() {
		e := binary.BigEndian.Uint64(it.Key()[6:14])
		if e != upTo {
			if size >= drainBatch {
				break
			}
			epochs++
		}
		upTo = e
		n, err := fn(e, it.Value())
		if errors.Is(err, errScanStop) {
			return upTo, epochs, stored, it.Error()
		}
		if err != nil {
			return 0, 0, 0, err
		}
		stored += int64(len(it.Value()))
		size += n
	}
	return upTo, epochs, stored, it.Error()
}

// drop deletes the log up to and including epoch upTo.
func (d *drainer) drop(upTo uint64) error {
	b := d.env.DB.Pebble().NewBatch()
	defer b.Close()
	lo, _ := sinkLogSpan(d.id, 0)
	hi := SinkLogKey(d.id, upTo+1, 0)
	if err := b.DeleteRange(lo, hi, nil); err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}

// count recomputes the lag from the log after epoch from and returns the
// last epoch the log holds (from when none).
func (d *drainer) count(from uint64) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	lo, hi := sinkLogSpan(d.id, from+1)
	it, err := d.env.DB.Pebble().NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var epochs, rows, stored int64
	last := from
	var recs []SinkRecord
	var scratch []byte
	for ok := it.First(); ok; ok = it.Next() {
		e := binary.BigEndian.Uint64(it.Key()[6:14])
		if e != last || epochs == 0 {
			epochs++
			last = e
		}
		stored += int64(len(it.Value()))
		if n, _, ok, err := packedValue(it.Value()); err != nil {
			return 0, err
		} else if ok {
			rows += int64(n)
			continue
		}
		v, err := d.unpackLogValue(scratch, it.Value())
		if err != nil {
			return 0, err
		}
		scratch = v
		recs, err = DecodeSinkRecords(recs[:0], v)
		if err != nil {
			return 0, err
		}
		rows += int64(len(recs))
	}
	d.lagEpochs.Store(epochs)
	d.lagRows.Store(rows)
	d.lagBytes.Store(stored)
	d.publish()
	return last, it.Error()
}

// takeHandoff sets d.held to the hand-off's epochs after from that the
// drainer may deliver (hand.next) and whose log is committed: a job that
// failed before its epoch committed handed over an epoch that never was.
func (d *drainer) takeHandoff(from, committed uint64) error {
	d.held = d.hand.next(d.held[:0], from, committed, drainBatch)
	for i, e := range d.held {
		_, closer, err := d.env.DB.Pebble().Get(SinkLogKey(d.id, e.epoch, 0))
		if errors.Is(err, pebble.ErrNotFound) {
			d.hand.skip(e.epoch)
			d.held = d.held[:i]
			break
		}
		if err != nil {
			return fmt.Errorf("epoch %d: sink log: %w", e.epoch, err)
		}
		closer.Close()
	}
	return nil
}

// readHandoff is read from the hand-off: the records of the committed
// epochs after from that the writer handed over, when they are all the
// log holds after from (none otherwise).
func (d *drainer) readHandoff(from, committed uint64) ([]SinkRecord, uint64, int, int64, error) {
	if err := d.takeHandoff(from, committed); err != nil || len(d.held) == 0 {
		return nil, 0, 0, 0, err
	}
	n := 0
	for _, e := range d.held {
		n += int(e.rows)
	}
	recs := slices.Grow(d.recs[:0], n)
	var stored int64
	var upTo uint64
	var err error
	for _, e := range d.held {
		for _, p := range e.parts {
			if recs, err = DecodeSinkRecords(recs, p); err != nil {
				return nil, 0, 0, 0, fmt.Errorf("epoch %d: sink log: %w", e.epoch, err)
			}
		}
		stored += e.stored
		upTo = e.epoch
	}
	d.recs = recs
	epochs := len(d.held)
	clear(d.held)
	return recs, upTo, epochs, stored, nil
}

// readPacked is read and readHandoff for a target that packs the log:
// the packed parts (prefix removed) of the oldest committed epochs after
// from, from the hand-off when it holds them all, else from the log,
// with their record count. It returns no parts when a part of them is
// an S2 block (a log written before the target packed): read decodes
// those.
func (d *drainer) readPacked(from, committed uint64) (parts [][]byte, rows int64, upTo uint64, epochs int, stored int64, err error) {
	if err := d.takeHandoff(from, committed); err != nil {
		return nil, 0, 0, 0, 0, err
	}
	parts = d.parts[:0]
	if len(d.held) > 0 {
		for _, e := range d.held {
			for _, p := range e.parts {
				n, packed, ok, err := packedValue(p)
				if err != nil || !ok {
					return nil, 0, 0, 0, 0, fmt.Errorf("epoch %d: sink log hand-off: not packed", e.epoch)
				}
				parts = append(parts, packed)
				rows += int64(n)
			}
			stored += e.stored
			upTo = e.epoch
		}
		epochs = len(d.held)
		clear(d.held)
		d.parts = parts
		return parts, rows, upTo, epochs, stored, nil
	}
	n, mixed := 0, false
	upTo, epochs, stored, err = d.scanLog(from, func(e uint64, v []byte) (int, error) {
		count, _, ok, err := packedValue(v)
		if err != nil {
			return 0, fmt.Errorf("epoch %d: sink log: %w", e, err)
		}
		if !ok {
			mixed = true
			return 0, errScanStop
		}
		if n == len(d.bufs) {
			d.bufs = append(d.bufs, nil)
		}
		d.bufs[n] = append(d.bufs[n][:0], v...)
		_, packed, _, _ := packedValue(d.bufs[n])
		parts = append(parts, packed)
		n++
		rows += int64(count)
		return len(v), nil
	})
	if err != nil || mixed {
		return nil, 0, 0, 0, 0, err
	}
	d.parts = parts
	return parts, rows, upTo, epochs, stored, nil
}
