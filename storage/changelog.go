package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// The changelog records every change to a logged table (a table that
// streaming jobs may read) in commit order, so that a job can follow a
// table from any position it checkpointed:
//
//	'l' + table id (4 bytes) + seq (8 bytes, big endian) -> op (1 byte) +
//	    uvarint len(pk) + pk + types.EncodeRow(row)
//
// Sequence numbers are global, assigned at commit under the commit lock,
// so a reader that has seen seq s has seen every change with a smaller seq
// (the entry lands in the same pebble commit as the row it describes). The
// last assigned seq is kept durably under 'q' "changelog" in the same
// commit. Entries below every reader's position are deleted by the
// streaming coordinator (LogSpan).

// PrefixLog is the key prefix of table changelogs.
const PrefixLog byte = 'l'

// Changelog ops, as stored (the same numbering as stream.Op).
const (
	LogInsert       byte = 0
	LogDelete       byte = 1
	LogUpdateDelete byte = 2
	LogUpdateInsert byte = 3
)

var logSeqKey = append([]byte{PrefixSequence}, "changelog"...)

// logChange is a change a transaction will log at commit.
type logChange struct {
	table uint32
	value []byte // op + pk + row, as stored
}

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
	v := make([]byte, 0, 1+binary.MaxVarintLen32+len(pk)+len(encodedRow))
	v = append(v, op)
	v = binary.AppendUvarint(v, uint64(len(pk)))
	v = append(v, pk...)
	v = append(v, encodedRow...)
	txn.changes = append(txn.changes, logChange{table: t.ID, value: v})
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
// seq <= upTo, returning the columns cols. It never ends a batch between
// the two halves of an update pair (so it may return max+1 entries). An
// empty result (len(Ops) == 0) means there is nothing more up to upTo.
func (t *Table) ReadLog(r Reader, after, upTo uint64, cols []int, max int) (*LogBatch, error) {
	lo, hi := LogSpan(t.ID, after+1, upTo+1)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	builders := make([]array.Builder, len(cols))
	for i, c := range cols {
		builders[i] = types.NewBuilder(t.Types[c])
	}
	defer func() {
		for _, b := range builders {
			b.Release()
		}
	}()
	dec := newRowDecoder(t.Types, cols)
	lb := &LogBatch{}
	for ok := it.First(); ok; ok = it.Next() {
		if len(lb.Ops) >= max && lb.Ops[len(lb.Ops)-1] != LogUpdateDelete {
			break
		}
		k, v := it.Key(), it.Value()
		if len(k) != 13 || len(v) < 2 {
			return nil, fmt.Errorf("table %s: corrupt changelog entry", t.Name)
		}
		op := v[0]
		n, w := binary.Uvarint(v[1:])
		if w <= 0 || 1+w+int(n) > len(v) {
			return nil, fmt.Errorf("table %s: corrupt changelog entry", t.Name)
		}
		pk := v[1+w : 1+w+int(n)]
		if err := dec.decodeInto(v[1+w+int(n):], builders); err != nil {
			return nil, fmt.Errorf("table %s: decode changelog row: %w", t.Name, err)
		}
		lb.Ops = append(lb.Ops, op)
		lb.Keys = append(lb.Keys, append([]byte(nil), pk...))
		lb.Last = binary.BigEndian.Uint64(k[5:])
	}
	if len(lb.Ops) > 0 {
		lb.Cols = make([]arrow.Array, len(cols))
		for i, b := range builders {
			lb.Cols[i] = b.NewArray()
		}
	}
	return lb, nil
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
