package stream

// A durable subscription's change log: every committed change of a
// materialized view, kept in pebble for the subscription's retention so
// that a consumer that disconnects (or a server that restarts) resumes
// where it left off.
//
// The view's materialize operator writes the log. It keeps the epoch's
// changes in memory and, at the epoch's barrier, writes them into the same
// batch as the view's rows, so the log and the view commit together
// (exactly once across kill -9). Layout, per subscription id:
//
//	TableKey(id, 0x00)           -> commit time of the newest epoch trimmed,
//	                                then the first epoch kept (8 + 8 bytes)
//	TableKey(id, 0x03)           -> the first epoch logged (8 bytes)
//	TableKey(id, 0x01 epoch)     -> commit time (unix ms, 8 bytes)
//	TableKey(id, 0x02 epoch)     -> the epoch's changes, one block:
//	                                uvarint count, then per change op
//	                                (1 byte), uvarint length, and
//	                                types.EncodeRow(view row); when the
//	                                op has logKeyFlag, then uvarint
//	                                length and the row's view key
//	                                (blocks of earlier versions have
//	                                no keys)
//	TableKey(id, 0x02 epoch seq) -> one change: op (1 byte) + the row
//	                                (written by earlier versions; read)
//
// Epoch and seq are big-endian, so keys sort in commit order; a change's
// seq is its place in its epoch's block. The epoch header is written only
// for epochs with changes; its time is strictly increasing across epochs,
// so it identifies the epoch. A delete and an insert of the same view key
// within one epoch are logged as an UpdateDelete followed by its
// UpdateInsert.
//
// The write path keeps an epoch's changes in one arena and encodes the
// block once, whatever the number of subscriptions: no allocation per
// change once the buffers have grown to an epoch's size.
//
// Trimming: at most once per trimEvery, the operator finds the first
// epoch whose time is within the retention and range-deletes every header
// and row before it, in the epoch's batch.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/sql/types"
	"streamsql/storage"
)

// ChangeLog is a durable subscription on a view: where its log lives and
// how long changes are kept.
type ChangeLog struct {
	ID        uint32
	Retention time.Duration
}

// logKeyFlag marks, in a block, a change followed by its view key: a
// FULL cursor that resumes inside its snapshot finds with it which rows
// changed after the snapshot's epoch.
const logKeyFlag = 0x80

const (
	logTrimTag   = 0x00
	logHeaderTag = 0x01
	logRowTag    = 0x02
	logStartTag  = 0x03
)

// maxTrimEvery bounds how often a log is trimmed.
const maxTrimEvery = 10 * time.Second

// ChangeLogSpan is the key range of subscription id's whole log.
func ChangeLogSpan(id uint32) (lo, hi []byte) { return storage.TableSpan(id) }

func logTrimKey(id uint32) []byte { return storage.TableKey(id, []byte{logTrimTag}) }

// ChangeLogTrimmed returns the commit time (unix ms) of the newest epoch
// trimmed from log id, 0 when none was.
func ChangeLogTrimmed(r storage.Reader, id uint32) (int64, error) {
	v, ok, err := r.Get(logTrimKey(id))
	if err != nil || !ok || len(v) != 16 {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func logStartKey(id uint32) []byte { return storage.TableKey(id, []byte{logStartTag}) }

// ChangeLogRetainedFrom returns the first epoch whose changes log id
// holds in full: every change of that epoch and of every later committed
// epoch is in the log.
func ChangeLogRetainedFrom(r storage.Reader, id uint32) (uint64, bool, error) {
	v, ok, err := r.Get(logStartKey(id))
	if err != nil || !ok || len(v) != 8 {
		return 0, false, err
	}
	from := binary.BigEndian.Uint64(v)
	t, ok, err := r.Get(logTrimKey(id))
	if err != nil {
		return 0, false, err
	}
	if ok && len(t) == 16 {
		from = max(from, binary.BigEndian.Uint64(t[8:]))
	}
	return from, true, nil
}

// markStarts records, for each active log that has no start yet, that it
// holds every change from epoch on.
func (l *changeLogs) markStarts(w *pebble.Batch, state storage.Reader, epoch uint64) error {
	for _, c := range l.active {
		if l.started[c.ID] {
			continue
		}
		_, ok, err := state.Get(logStartKey(c.ID))
		if err != nil {
			return err
		}
		if !ok {
			if err := w.Set(logStartKey(c.ID), binary.BigEndian.AppendUint64(nil, epoch), nil); err != nil {
				return err
			}
		}
		if l.started == nil {
			l.started = map[uint32]bool{}
		}
		l.started[c.ID] = true
	}
	return nil
}

func logHeaderKey(id uint32, epoch uint64) []byte {
	return storage.TableKey(id, binary.BigEndian.AppendUint64([]byte{logHeaderTag}, epoch))
}

func logRowKey(id uint32, epoch uint64, seq uint32) []byte {
	k := binary.BigEndian.AppendUint64([]byte{logRowTag}, epoch)
	return storage.TableKey(id, binary.BigEndian.AppendUint32(k, seq))
}

func logBlockKey(id uint32, epoch uint64) []byte {
	return storage.TableKey(id, binary.BigEndian.AppendUint64([]byte{logRowTag}, epoch))
}

// logRow is one change of the epoch being built: its view key is
// arena[at:mid], its row (types.EncodeRow of the view's visible columns)
// arena[mid:end].
type logRow struct {
	op           Op
	at, mid, end int
	// pair is, for the delete of an update, 1 + the index in rows of the
	// insert that follows it.
	pair int
}

// changeLogs is the materialize operator's side of its subscriptions.
type changeLogs struct {
	active   []ChangeLog
	arena    []byte
	rows     []logRow
	lastTime int64           // the last epoch's commit time written
	started  map[uint32]bool // logs whose start epoch is recorded
	trimmed  map[uint32]time.Time

	// Reused from epoch to epoch.
	seed  maphash.Seed
	open  map[uint64]int // key hash -> index in out of an unpaired delete
	out   []logRow
	block []byte
}

// add records a change of the epoch.
func (l *changeLogs) add(op Op, key, val []byte) {
	at := len(l.arena)
	l.arena = append(append(l.arena, key...), val...)
	l.rows = append(l.rows, logRow{op: op, at: at, mid: at + len(key), end: len(l.arena)})
}

func (l *changeLogs) key(r logRow) []byte { return l.arena[r.at:r.mid] }
func (l *changeLogs) val(r logRow) []byte { return l.arena[r.mid:r.end] }

// paired returns the epoch's changes in log order, each delete of a key
// that is inserted again in the epoch turned into an UpdateDelete that
// pair links to its UpdateInsert (which comes right after it in the log
// and is not in the list itself). Keys are matched by hash and compared;
// two keys of one hash (vanishingly rare) are logged as a Delete and an
// Insert instead of a pair, which is the same change.
func (l *changeLogs) paired() []logRow {
	if l.open == nil {
		l.seed = maphash.MakeSeed()
		l.open = map[uint64]int{}
	}
	clear(l.open)
	out := l.out[:0]
	for i, r := range l.rows {
		h := maphash.Bytes(l.seed, l.key(r))
		r.pair = 0
		if !r.op.IsInsert() {
			r.op = Delete
			l.open[h] = len(out)
			out = append(out, r)
			continue
		}
		if at, ok := l.open[h]; ok && bytes.Equal(l.key(out[at]), l.key(r)) {
			delete(l.open, h)
			out[at].op = UpdateDelete
			out[at].pair = i + 1
			continue
		}
		r.op = Insert
		out = append(out, r)
	}
	l.out = out
	return out
}

// encodeBlock encodes the epoch's changes, paired, as the log's block.
func (l *changeLogs) encodeBlock() []byte {
	rows := l.paired()
	n := len(l.rows)
	b := binary.AppendUvarint(l.block[:0], uint64(n))
	put := func(op Op, val, key []byte) {
		b = append(b, byte(op)|logKeyFlag)
		b = binary.AppendUvarint(b, uint64(len(val)))
		b = append(b, val...)
		b = binary.AppendUvarint(b, uint64(len(key)))
		b = append(b, key...)
	}
	for _, r := range rows {
		put(r.op, l.val(r), l.key(r))
		if r.pair > 0 {
			put(UpdateInsert, l.val(l.rows[r.pair-1]), l.key(r))
		}
	}
	l.block = b
	return b
}

// flush writes epoch's changes into w for every active log, trims what
// is past retention, and clears the epoch.
func (l *changeLogs) flush(w *pebble.Batch, epoch uint64, state storage.Reader) error {
	defer func() { l.rows, l.arena = l.rows[:0], l.arena[:0] }()
	if len(l.active) == 0 {
		return nil
	}
	now := time.Now()
	if len(l.rows) > 0 {
		ms := now.UnixMilli()
		if ms <= l.lastTime {
			ms = l.lastTime + 1
		}
		l.lastTime = ms
		var hdr [8]byte
		binary.BigEndian.PutUint64(hdr[:], uint64(ms))
		block := l.encodeBlock()
		for _, c := range l.active {
			if err := w.Set(logHeaderKey(c.ID, epoch), hdr[:], nil); err != nil {
				return err
			}
			if err := w.Set(logBlockKey(c.ID, epoch), block, nil); err != nil {
				return err
			}
		}
	}
	for _, c := range l.active {
		if c.Retention <= 0 {
			continue
		}
		every := min(c.Retention/2, maxTrimEvery)
		if l.trimmed == nil {
			l.trimmed = map[uint32]time.Time{}
		}
		if now.Sub(l.trimmed[c.ID]) < every {
			continue
		}
		l.trimmed[c.ID] = now
		if err := trimChangeLog(w, state, c.ID, now.Add(-c.Retention).UnixMilli()); err != nil {
			return fmt.Errorf("trim subscription log %d: %w", c.ID, err)
		}
	}
	return nil
}

// trimChangeLog range-deletes, in w, every epoch of log id committed
// before cutoff (unix ms).
func trimChangeLog(w *pebble.Batch, r storage.Reader, id uint32, cutoff int64) error {
	lo := storage.TableKey(id, []byte{logHeaderTag})
	hi := storage.TableKey(id, []byte{logRowTag})
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return err
	}
	var keep uint64
	var trimmedTo []byte // the commit time of the newest epoch trimmed
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != len(lo)+8 || len(v) != 8 {
			continue
		}
		if int64(binary.BigEndian.Uint64(v)) >= cutoff {
			break
		}
		keep = binary.BigEndian.Uint64(k[len(lo):]) + 1
		trimmedTo = append(trimmedTo[:0], v...)
	}
	if err := it.Close(); err != nil {
		return err
	}
	if trimmedTo == nil {
		return nil
	}
	if err := w.Set(logTrimKey(id), binary.BigEndian.AppendUint64(trimmedTo, keep), nil); err != nil {
		return err
	}
	if err := w.DeleteRange(lo, logHeaderKey(id, keep), nil); err != nil {
		return err
	}
	return w.DeleteRange(storage.TableKey(id, []byte{logRowTag}), logBlockKey(id, keep), nil)
}

// LogPos is a position in a change log: the next change to read is the
// first one at or after (Epoch, Seq).
type LogPos struct {
	Epoch uint64
	Seq   uint32
}

// LogChange is one change read back from a log.
type LogChange struct {
	Epoch uint64
	Seq   uint32
	Time  int64 // commit time, unix ms
	Op    Op
	Row   []types.Datum
	// Key is the row's view key (storage.RowIter's Key of the view's
	// row), nil in logs written by versions that did not keep it.
	Key []byte
}

// Next is the position after c.
func (c LogChange) Next() LogPos { return LogPos{Epoch: c.Epoch, Seq: c.Seq + 1} }

// Positions name a place in a view's change stream, the same in every
// subscription's log of the view (they all log the same changes in the
// same order):
//
//	"epoch/seq"  change seq (from 0) of the epoch: resuming after it reads
//	             the rest of that epoch, then later epochs
//	"epoch"      the end of the epoch: resuming after it reads the epochs
//	             after it (a snapshot at the epoch, or a progress mark)
//	"epoch@key"  a row of the view's snapshot at the epoch (a FULL
//	             cursor's), key its view key in hex: resuming after it
//	             reads the rest of that snapshot, in key order, then the
//	             epochs after it
//
// Both numbers are decimal; positions compare as (epoch, seq) pairs.

// Position is c's position, "epoch/seq".
func (c LogChange) Position() string {
	return strconv.FormatUint(c.Epoch, 10) + "/" + strconv.FormatUint(uint64(c.Seq), 10)
}

// EpochPosition is the position of the end of epoch e.
func EpochPosition(e uint64) string { return strconv.FormatUint(e, 10) }

// SnapshotRowPosition is the position of the row of key in a snapshot at
// epoch e.
func SnapshotRowPosition(e uint64, key []byte) string {
	return strconv.FormatUint(e, 10) + "@" + hex.EncodeToString(key)
}

// ParseSnapshotRowPosition reads a position SnapshotRowPosition made; ok
// is false for any other.
func ParseSnapshotRowPosition(p string) (epoch uint64, key []byte, ok bool) {
	es, ks, found := strings.Cut(p, "@")
	// A view with an empty key (one row, such as a global aggregate) has
	// positions "epoch@".
	if !found || es == "" || es[0] == '+' {
		return 0, nil, false
	}
	e, err := strconv.ParseUint(es, 10, 64)
	if err != nil {
		return 0, nil, false
	}
	k, err := hex.DecodeString(ks)
	if err != nil {
		return 0, nil, false
	}
	if k == nil {
		k = []byte{}
	}
	return e, k, true
}

// ParsePosition reads a position and returns where reading resumes after
// it; ok is false when p is not a position.
func ParsePosition(p string) (after LogPos, ok bool) {
	es, ss, change := strings.Cut(p, "/")
	e, err := strconv.ParseUint(es, 10, 64)
	if err != nil || es == "" || es[0] == '+' {
		return LogPos{}, false
	}
	if !change {
		if e == math.MaxUint64 {
			return LogPos{}, false
		}
		return LogPos{Epoch: e + 1}, true
	}
	seq, err := strconv.ParseUint(ss, 10, 32)
	if err != nil || ss == "" || ss[0] == '+' || seq == math.MaxUint32 {
		return LogPos{}, false
	}
	return LogPos{Epoch: e, Seq: uint32(seq) + 1}, true
}

// SnapshotEpoch returns the epoch whose commit r (a consistent snapshot)
// holds: its view contents and change logs are those of that epoch.
func SnapshotEpoch(r storage.Reader) (uint64, error) {
	v, found, err := r.Get(epochKey)
	if err != nil || !found || len(v) != 8 {
		return 0, err
	}
	return binary.BigEndian.Uint64(v), nil
}

// ReadChangeLog reads up to limit changes of log id from pos on, decoding
// rows with ts.
func ReadChangeLog(r storage.Reader, id uint32, pos LogPos, limit int, ts []types.T) ([]LogChange, error) {
	hi := storage.TableKey(id, []byte{logRowTag + 1})
	it, err := r.NewIter(logBlockKey(id, pos.Epoch), hi)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []LogChange
	times := map[uint64]int64{}
	pre := len(storage.TableKey(id, nil)) + 1
	malformed := fmt.Errorf("subscription log %d: malformed entry", id)
	// add appends the change at (epoch, seq) unless it is before pos.
	add := func(epoch uint64, seq uint32, op Op, row, key []byte) error {
		if epoch == pos.Epoch && seq < pos.Seq {
			return nil
		}
		c := LogChange{Epoch: epoch, Seq: seq, Op: op}
		if key != nil {
			c.Key = bytes.Clone(key)
		}
		t, ok := times[epoch]
		if !ok {
			hv, found, err := r.Get(logHeaderKey(id, epoch))
			if err != nil {
				return err
			}
			if found && len(hv) == 8 {
				t = int64(binary.BigEndian.Uint64(hv))
			}
			times[epoch] = t
		}
		c.Time = t
		var err error
		if c.Row, err = types.DecodeRow(row, ts); err != nil {
			return fmt.Errorf("subscription log %d: %w", id, err)
		}
		out = append(out, c)
		return nil
	}
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k, v := it.Key(), it.Value()
		switch {
		case len(k) == pre+12 && len(v) >= 1: // one change
			if err := add(binary.BigEndian.Uint64(k[pre:]), binary.BigEndian.Uint32(k[pre+8:]), Op(v[0]), v[1:], nil); err != nil {
				return nil, err
			}
		case len(k) == pre+8: // an epoch's block
			epoch := binary.BigEndian.Uint64(k[pre:])
			n, w := binary.Uvarint(v)
			if w <= 0 {
				return nil, malformed
			}
			v = v[w:]
			for seq := uint64(0); seq < n && len(out) < limit; seq++ {
				if len(v) < 1 {
					return nil, malformed
				}
				op, keyed := Op(v[0]&^logKeyFlag), v[0]&logKeyFlag != 0
				size, w := binary.Uvarint(v[1:])
				if w <= 0 || uint64(len(v)-1-w) < size {
					return nil, malformed
				}
				row := v[1+w : 1+w+int(size)]
				v = v[1+w+int(size):]
				var key []byte
				if keyed {
					size, w := binary.Uvarint(v)
					if w <= 0 || uint64(len(v)-w) < size {
						return nil, malformed
					}
					key, v = v[w:w+int(size)], v[w+int(size):]
				}
				if err := add(epoch, uint32(seq), op, row, key); err != nil {
					return nil, err
				}
			}
		default:
			return nil, malformed
		}
	}
	return out, it.Close()
}

// ChangeLogFirst returns the first epoch of log id whose commit time is
// after sinceMs (every retained epoch when sinceMs < 0), and whether the
// log holds one.
func ChangeLogFirst(r storage.Reader, id uint32, sinceMs int64) (uint64, bool, error) {
	lo := storage.TableKey(id, []byte{logHeaderTag})
	hi := storage.TableKey(id, []byte{logRowTag})
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != len(lo)+8 || len(v) != 8 {
			continue
		}
		if int64(binary.BigEndian.Uint64(v)) > sinceMs {
			return binary.BigEndian.Uint64(k[len(lo):]), true, it.Close()
		}
	}
	return 0, false, it.Close()
}

// SetChangeLogs replaces the durable subscriptions of view id. The view's
// materialize operator takes them up at its next barrier: the returned
// channel is closed then (at once when the view is not running). Changes
// of epochs after that barrier are logged.
func (c *Coordinator) SetChangeLogs(view uint32, logs []ChangeLog) <-chan struct{} {
	return c.views.setLogs(view, logs)
}

func (v *Views) setLogs(view uint32, logs []ChangeLog) <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.logs == nil {
		v.logs = map[uint32][]ChangeLog{}
		v.logWait = map[uint32][]chan struct{}{}
	}
	if len(logs) == 0 {
		delete(v.logs, view)
	} else {
		v.logs[view] = append([]ChangeLog(nil), logs...)
	}
	ch := make(chan struct{})
	if v.byID[view] == nil {
		close(ch)
		return ch
	}
	v.logWait[view] = append(v.logWait[view], ch)
	return ch
}

// takeLogs returns view id's subscriptions and wakes whoever waits for
// the operator to take them up.
func (v *Views) takeLogs(view uint32) []ChangeLog {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ch := range v.logWait[view] {
		close(ch)
	}
	delete(v.logWait, view)
	return v.logs[view]
}
