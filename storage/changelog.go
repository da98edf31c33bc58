package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/sql/types"
)

// The changelog records every change to a logged table (a table that
// streaming jobs may read) in commit order, so that a job can follow a
// table from any position it checkpointed. A commit writes the changes it
// made to a table in blocks of up to logBlockRows changes (and about
// logBlockBytes), one pebble entry per block, keyed by the seq of the
// block's last change:
//
//	'l' + table id (4 bytes) + last seq (8 bytes, big endian) ->
//	    LogBlock + count (4 bytes, big endian) + count times:
//	        op (1 byte) + uvarint len(pk) + pk + uvarint len(row) + row
//
// where row is types.EncodeRow of the row. The count-th change has seq
// last, the first last-count+1. A block never ends between the two halves
// of an update pair. One entry per block, not per change, keeps the
// changelog's cost at commit (batch, memtable, WAL) and at reading to its
// bytes. Entries written before blocks hold one change each:
//
//	'l' + table id + seq -> op + uvarint len(pk) + pk + row
//
// and are read as they were.
//
// Sequence numbers are global, assigned at commit under the commit lock,
// so a reader that has seen seq s has seen every change with a smaller seq
// (the entry lands in the same pebble commit as the row it describes). The
// last assigned seq is kept durably under 'q' "changelog" in the same
// commit. Readers read whole blocks, so their positions are block ends;
// entries below every reader's position are deleted by the streaming
// coordinator (LogSpan).

// PrefixLog is the key prefix of table changelogs.
const PrefixLog byte = 'l'

// Changelog ops, as stored (the same numbering as stream.Op).
const (
	LogInsert       byte = 0
	LogDelete       byte = 1
	LogUpdateDelete byte = 2
	LogUpdateInsert byte = 3
	// LogBlock starts the value of a block of changes.
	LogBlock byte = 4
)

const (
	// logBlockRows and logBlockBytes bound a block: it is closed at the
	// first change that reaches either (and is not the first half of an
	// update pair).
	logBlockRows  = 1024
	logBlockBytes = 64 << 10
	// logBlockHeader is LogBlock + the count.
	logBlockHeader = 5
)

var logSeqKey = append([]byte{PrefixSequence}, "changelog"...)

// logRun is a run of consecutive changes of one table that a transaction
// will log at commit, cut into blocks (values as stored, but for their
// count, which commit fills in).
type logRun struct {
	table  uint32
	blocks []logBlock // the last one is open
}

// logBlock is a block of changes being built.
type logBlock struct {
	n   int
	buf []byte
	// pairOpen: the last change is the first half of an update pair.
	pairOpen bool
}

// txnLog is the changelog entries of a transaction, in runs.
type txnLog struct {
	runs []logRun
	// changes is the number of changes.
	changes int
}

// add appends a change of table.
func (l *txnLog) add(table uint32, op byte, pk, encodedRow []byte) {
	if len(l.runs) == 0 || l.runs[len(l.runs)-1].table != table {
		l.runs = append(l.runs, logRun{table: table})
	}
	r := &l.runs[len(l.runs)-1]
	var b *logBlock
	if len(r.blocks) > 0 {
		b = &r.blocks[len(r.blocks)-1]
		if !b.pairOpen && (b.n >= logBlockRows || len(b.buf) >= logBlockBytes) {
			b = nil
		}
	}
	if b == nil {
		// The first block of a run starts small (most transactions
		// change a few rows); once one is full, the next ones take
		// their whole size at once.
		size := max(256, 2*(logBlockHeader+len(pk)+len(encodedRow)+2*binary.MaxVarintLen32))
		if len(r.blocks) > 0 {
			size = max(size, logBlockBytes+logBlockBytes/8)
		}
		r.blocks = append(r.blocks, logBlock{buf: append(make([]byte, 0, size), LogBlock, 0, 0, 0, 0)})
		b = &r.blocks[len(r.blocks)-1]
	}
	b.buf = append(b.buf, op)
	b.buf = binary.AppendUvarint(b.buf, uint64(len(pk)))
	b.buf = append(b.buf, pk...)
	b.buf = binary.AppendUvarint(b.buf, uint64(len(encodedRow)))
	b.buf = append(b.buf, encodedRow...)
	b.n++
	b.pairOpen = op == LogUpdateDelete
	l.changes++
}

// logMark is a position in a txnLog, for savepoints.
type logMark struct {
	runs, blocks int // the runs, and the blocks of the last one
	n, bytes     int // the changes and bytes of that run's last block
	pairOpen     bool
	changes      int
}

// mark returns the log's current position.
func (l *txnLog) mark() logMark {
	m := logMark{runs: len(l.runs), changes: l.changes}
	if len(l.runs) > 0 {
		r := l.runs[len(l.runs)-1]
		b := r.blocks[len(r.blocks)-1]
		m.blocks, m.n, m.bytes, m.pairOpen = len(r.blocks), b.n, len(b.buf), b.pairOpen
	}
	return m
}

// truncate returns the log to the position m.
func (l *txnLog) truncate(m logMark) {
	clear(l.runs[m.runs:])
	l.runs = l.runs[:m.runs]
	l.changes = m.changes
	if m.runs == 0 {
		return
	}
	r := &l.runs[m.runs-1]
	clear(r.blocks[m.blocks:])
	r.blocks = r.blocks[:m.blocks]
	b := &r.blocks[m.blocks-1]
	b.n, b.buf, b.pairOpen = m.n, b.buf[:m.bytes], m.pairOpen
}

// write puts the log's blocks into b with the seqs after seq and returns
// the last seq assigned.
func (l *txnLog) write(b *pebble.Batch, seq uint64) (uint64, error) {
	var key [logKeyLen]byte
	for i := range l.runs {
		r := &l.runs[i]
		for j := range r.blocks {
			blk := &r.blocks[j]
			if blk.n == 0 {
				continue
			}
			seq += uint64(blk.n)
			binary.BigEndian.PutUint32(blk.buf[1:logBlockHeader], uint32(blk.n))
			if err := b.Set(appendLogKey(key[:0], r.table, seq), blk.buf, nil); err != nil {
				return 0, err
			}
		}
	}
	return seq, nil
}

// walkLogBlock calls f with each change of a block's value in order.
func walkLogBlock(v []byte, f func(op byte, pk, row []byte) error) error {
	if len(v) < logBlockHeader || v[0] != LogBlock {
		return errCorruptLog
	}
	n := binary.BigEndian.Uint32(v[1:logBlockHeader])
	v = v[logBlockHeader:]
	for i := uint32(0); i < n; i++ {
		if len(v) < 1 {
			return errCorruptLog
		}
		op := v[0]
		pk, rest, ok := lenPrefixed(v[1:])
		if !ok {
			return errCorruptLog
		}
		row, rest, ok := lenPrefixed(rest)
		if !ok {
			return errCorruptLog
		}
		if err := f(op, pk, row); err != nil {
			return err
		}
		v = rest
	}
	if len(v) != 0 {
		return errCorruptLog
	}
	return nil
}

// lenPrefixed splits a uvarint-length-prefixed byte string off v.
func lenPrefixed(v []byte) (s, rest []byte, ok bool) {
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return nil, nil, false
	}
	return v[w : w+int(n)], v[w+int(n):], true
}

// logBlockCount is the number of changes of a changelog entry's value
// (1 for an entry of one change).
func logBlockCount(v []byte) (int, error) {
	if len(v) == 0 {
		return 0, errCorruptLog
	}
	if v[0] != LogBlock {
		return 1, nil
	}
	if len(v) < logBlockHeader {
		return 0, errCorruptLog
	}
	return int(binary.BigEndian.Uint32(v[1:logBlockHeader])), nil
}

var errCorruptLog = errors.New("corrupt changelog entry")

// LogKey returns the changelog key of seq in table.
func LogKey(table uint32, seq uint64) []byte {
	return appendLogKey(make([]byte, 0, logKeyLen), table, seq)
}

// logKeyLen is the length of a changelog key.
const logKeyLen = 13

// appendLogKey appends LogKey(table, seq) to dst.
func appendLogKey(dst []byte, table uint32, seq uint64) []byte {
	dst = append(dst, PrefixLog, byte(table>>24), byte(table>>16), byte(table>>8), byte(table))
	return binary.BigEndian.AppendUint64(dst, seq)
}

// LogSpan returns the key range of table's changelog entries with seq in
// [from, to).
func LogSpan(table uint32, from, to uint64) (lo, hi []byte) {
	return LogKey(table, from), LogKey(table, to)
}

// LogSeq returns the last committed changelog sequence number.
func (db *DB) LogSeq() uint64 { return db.logSeq.Load() }

// LogNotify returns a channel closed at the next commit that logs changes.
func (db *DB) LogNotify() <-chan struct{} {
	db.notifyMu.Lock()
	defer db.notifyMu.Unlock()
	return db.notify
}

// loadLogSeq reads the durable changelog counter at Open.
func (db *DB) loadLogSeq() error {
	v, found, err := db.Latest().Get(logSeqKey)
	if err != nil {
		return err
	}
	if found {
		if len(v) != 8 {
			return fmt.Errorf("storage: corrupt changelog counter")
		}
		db.logSeq.Store(binary.BigEndian.Uint64(v))
	}
	db.notify = make(chan struct{})
	return nil
}

// wakeLogReaders closes the notify channel and makes a new one.
func (db *DB) wakeLogReaders() {
	db.notifyMu.Lock()
	close(db.notify)
	db.notify = make(chan struct{})
	db.notifyMu.Unlock()
}

// logRow queues a change of t for the changelog.
func (t *Table) logRow(txn *Txn, op byte, pk, encodedRow []byte) {
	txn.log.add(t.ID, op, pk, encodedRow)
}

// logReplace logs the replacement of the row under key (the full storage
// key) by newRow: an update pair if a row was there, else an insert.
func (t *Table) logReplace(txn *Txn, key, newRow []byte) error {
	old, found, err := txn.Get(key)
	if err != nil {
		return err
	}
	if found {
		t.logRow(txn, LogUpdateDelete, key[5:], old)
		t.logRow(txn, LogUpdateInsert, key[5:], newRow)
	} else {
		t.logRow(txn, LogInsert, key[5:], newRow)
	}
	return nil
}

// logDelete logs the deletion of the row under key, if there is one.
func (t *Table) logDelete(txn *Txn, key []byte) error {
	old, found, err := txn.Get(key)
	if err != nil || !found {
		return err
	}
	t.logRow(txn, LogDelete, key[5:], old)
	return nil
}

// LogBatch is a run of changelog entries decoded into columns.
type LogBatch struct {
	Cols []arrow.Array
	Ops  []byte
	// Keys are the rows' encoded primary keys.
	Keys [][]byte
	// Last is the seq of the last entry read.
	Last uint64
}

// ReadLog decodes up to max changelog entries of t with seq > after and
// seq <= upTo, returning the columns cols. It reads blocks whole: it
// stops before a block that would take the batch past max, unless the
// batch is empty (so it may return a block of more than max changes), and
// never ends a batch between the two halves of an update pair. An empty
// result (len(Ops) == 0) means there is nothing more up to upTo.
func (t *Table) ReadLog(r Reader, after, upTo uint64, cols []int, max int) (*LogBatch, error) {
	lo, hi := LogSpan(t.ID, after+1, upTo+1)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return nil, err
	}
	defer closeIter(&it)
	var builders []array.Builder
	defer func() {
		for _, b := range builders {
			b.Release()
		}
	}()
	dec := newRowDecoder(t.Types, cols)
	lb := &LogBatch{}
	var keys []byte // the keys' bytes, which lb.Keys slice
	add := func(op byte, pk, row []byte) error {
		if builders == nil {
			// Seqs count every table's changes, so upTo-after bounds
			// this batch: a reader that follows small commits (an epoch
			// every few milliseconds) reserves room for those, not for
			// max rows each time.
			n := max
			if d := upTo - after; d < uint64(n) {
				n = int(d)
			}
			builders = make([]array.Builder, len(cols))
			for i, c := range cols {
				builders[i] = types.NewBuilder(t.Types[c])
				builders[i].Reserve(n)
			}
			lb.Ops = make([]byte, 0, n)
			lb.Keys = make([][]byte, 0, n)
			keys = make([]byte, 0, n*(len(pk)+1))
		}
		if err := dec.decodeInto(row, builders); err != nil {
			return fmt.Errorf("table %s: decode changelog row: %w", t.Name, err)
		}
		lb.Ops = append(lb.Ops, op)
		keys = append(keys, pk...)
		lb.Keys = append(lb.Keys, keys[len(keys)-len(pk):len(keys):len(keys)])
		return nil
	}
	corrupt := fmt.Errorf("table %s: corrupt changelog entry", t.Name)
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != logKeyLen || len(v) < 2 {
			return nil, corrupt
		}
		last := binary.BigEndian.Uint64(k[5:])
		if v[0] == LogBlock {
			n, err := logBlockCount(v)
			if err != nil || uint64(n) > last {
				return nil, corrupt
			}
			if len(lb.Ops) > 0 && len(lb.Ops)+n > max && lb.Ops[len(lb.Ops)-1] != LogUpdateDelete {
				break
			}
			// A position inside the block (never one of a reader of
			// whole blocks) skips the changes up to it.
			seq := last - uint64(n)
			err = walkLogBlock(v, func(op byte, pk, row []byte) error {
				if seq++; seq <= after {
					return nil
				}
				return add(op, pk, row)
			})
			if err == errCorruptLog {
				return nil, corrupt
			}
			if err != nil {
				return nil, err
			}
			lb.Last = last
			continue
		}
		// An entry of one change, as written before blocks.
		if len(lb.Ops) >= max && lb.Ops[len(lb.Ops)-1] != LogUpdateDelete {
			break
		}
		n, w := binary.Uvarint(v[1:])
		if w <= 0 || 1+w+int(n) > len(v) {
			return nil, corrupt
		}
		if err := add(v[0], v[1+w:1+w+int(n)], v[1+w+int(n):]); err != nil {
			return nil, err
		}
		lb.Last = last
	}
	if len(lb.Ops) > 0 {
		lb.Cols = make([]arrow.Array, len(cols))
		for i, b := range builders {
			lb.Cols[i] = b.NewArray()
		}
	}
	return lb, closeIter(&it)
}

// LogChanges counts the changes in table's changelog as r holds it.
func LogChanges(r Reader, table uint32) (int, error) {
	lo, hi := LogSpan(table, 0, math.MaxUint64)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return 0, err
	}
	total := 0
	for ok := it.First(); ok; ok = it.Next() {
		n, err := logBlockCount(it.Value())
		if err != nil {
			it.Close()
			return 0, err
		}
		total += n
	}
	return total, it.Close()
}

// LogSeqAt returns the last committed changelog seq as r sees it (a
// snapshot's seq goes with the snapshot's table contents).
func LogSeqAt(r Reader) (uint64, error) {
	v, found, err := r.Get(logSeqKey)
	if err != nil || !found {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("storage: corrupt changelog counter")
	}
	return binary.BigEndian.Uint64(v), nil
}
