package storage

import (
	"encoding/binary"
	"fmt"
)

// seqBlock is how many values NextSequence reserves on disk at a time, so
// that most calls need no write. Values reserved but not handed out before
// a restart are skipped: sequences are unique and increasing, not gapless.
const seqBlock = 1024

// seqRange is the reserved, not yet handed out part of a sequence:
// [next, limit).
type seqRange struct {
	next, limit int64
}

// NextSequence hands out n consecutive values of the durable counter name
// and returns the first; the first value ever handed out is 1. It is safe
// for concurrent use, and no value is handed out twice, across restarts
// too.
func (db *DB) NextSequence(name string, n int64) (first int64, err error) {
	if n <= 0 {
		return 0, fmt.Errorf("storage: NextSequence(%q, %d): n must be positive", name, n)
	}
	db.seqMu.Lock()
	defer db.seqMu.Unlock()
	r := db.seqs[name]
	if r == nil {
		r = &seqRange{}
		key := sequenceKey(name)
		v, found, err := getCopy(db.pdb.Get(key))
		if err != nil {
			return 0, err
		}
		r.next = 1
		if found {
			if len(v) != 8 {
				return 0, fmt.Errorf("storage: sequence %q: corrupt value of %d bytes", name, len(v))
			}
			r.next = int64(binary.BigEndian.Uint64(v))
		}
		r.limit = r.next
		db.seqs[name] = r
	}
	if r.limit-r.next < n {
		limit := r.next + n + seqBlock
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(limit))
		if err := db.CheckSpace(int64(len(buf))); err != nil {
			return 0, err
		}
		b := db.pdb.NewBatch()
		err := b.Set(sequenceKey(name), buf[:], nil)
		if err == nil {
			err = db.CommitBatch(b)
		}
		b.Close()
		if err != nil {
			return 0, fmt.Errorf("storage: sequence %q: %w", name, err)
		}
		r.limit = limit
	}
	first = r.next
	r.next += n
	return first, nil
}

func sequenceKey(name string) []byte {
	return append([]byte{PrefixSequence}, name...)
}

// SequenceExists reports whether counter name has handed out a value.
func (db *DB) SequenceExists(name string) (bool, error) {
	db.seqMu.Lock()
	_, ok := db.seqs[name]
	db.seqMu.Unlock()
	if ok {
		return true, nil
	}
	_, found, err := getCopy(db.pdb.Get(sequenceKey(name)))
	return found, err
}

// txidCounter names the counter of txid_current(); a NUL byte keeps it
// apart from every sequence a SQL name can make.
const txidCounter = "\x00txid"

// NextTxid hands out a transaction id for txid_current(): increasing
// across restarts, never handed out twice.
func (db *DB) NextTxid() (uint64, error) {
	v, err := db.NextSequence(txidCounter, 1)
	return uint64(v), err
}
