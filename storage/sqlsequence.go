package storage

// SQL sequences (CREATE SEQUENCE): counters with PostgreSQL's parameters
// (increment, bounds, cycling) whose state a session can read and set.
//
// Each sequence keeps one durable record, keyed by the relation's OID:
// a value and whether it was handed out (PostgreSQL's last_value and
// is_called). As PostgreSQL does with its WAL, nextval records a value
// SeqLogAhead steps ahead and hands out the steps in between from memory,
// so most calls write nothing; after a crash or restart the sequence
// resumes after the recorded value, past every value handed out before.
// Values are unique and move in one direction (until a cycle), not
// gapless, and nothing here is undone by a transaction's rollback.

import (
	"encoding/binary"
	"fmt"
	"math"
)

// SeqLogAhead is how many values nextval records ahead of the one it
// hands out (PostgreSQL's SEQ_LOG_VALS).
const SeqLogAhead = 32

// SeqSpec is a sequence's parameters. Start is its value before any
// record was written: a new sequence needs no write until its first use.
type SeqSpec struct {
	Start, Increment, Min, Max int64
	Cycle                      bool
}

// SeqState is what SELECT * FROM a sequence shows.
type SeqState struct {
	Last   int64
	Called bool
	// LogCnt is how many values after Last are recorded durably already.
	LogCnt int64
}

// SeqLimitError says which bound was reached.
type SeqLimitError struct {
	Max   bool
	Bound int64
}

func (e *SeqLimitError) Error() string {
	if e.Max {
		return fmt.Sprintf("reached maximum value of sequence (%d)", e.Bound)
	}
	return fmt.Sprintf("reached minimum value of sequence (%d)", e.Bound)
}

// sqlSeq is a sequence's state in memory.
type sqlSeq struct {
	SeqState
}

func sqlSeqKey(oid uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], oid)
	// A NUL byte keeps these records apart from every counter a name
	// makes (NextSequence).
	return "\x00rel" + string(b[:])
}

// step returns v advanced by one increment, or ok false past a bound.
func (s SeqSpec) step(v int64) (int64, bool) {
	if s.Increment > 0 {
		if v > s.Max-s.Increment || v > math.MaxInt64-s.Increment {
			return 0, false
		}
	} else if v < s.Min-s.Increment || v < math.MinInt64-s.Increment {
		return 0, false
	}
	return v + s.Increment, true
}

// loadSeq returns the state of sequence oid, reading its record the first
// time (start, not yet handed out, when there is none). The caller holds
// seqMu.
func (db *DB) loadSeq(oid uint32, start int64) (*sqlSeq, error) {
	key := sqlSeqKey(oid)
	if q := db.sqlSeqs[key]; q != nil {
		return q, nil
	}
	v, found, err := getCopy(db.pdb.Get(sequenceKey(key)))
	if err != nil {
		return nil, err
	}
	q := &sqlSeq{SeqState{Last: start}}
	if found {
		if len(v) != 9 {
			return nil, fmt.Errorf("storage: sequence %d: corrupt record of %d bytes", oid, len(v))
		}
		q.Last, q.Called = int64(binary.BigEndian.Uint64(v)), v[8] == 1
	}
	db.sqlSeqs[key] = q
	return q, nil
}

// writeSeq records value v (called or not) for sequence oid durably.
func (db *DB) writeSeq(oid uint32, v int64, called bool) error {
	var buf [9]byte
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	if called {
		buf[8] = 1
	}
	if err := db.CheckSpace(int64(len(buf))); err != nil {
		return err
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	if err := b.Set(sequenceKey(sqlSeqKey(oid)), buf[:], nil); err != nil {
		return err
	}
	if err := db.CommitBatch(b); err != nil {
		return fmt.Errorf("storage: sequence %d: %w", oid, err)
	}
	return nil
}

// SeqNext hands out the next value of sequence oid: its last value
// advanced by one increment (wrapping to the other bound with Cycle), or
// the last value itself when it was not handed out yet.
func (db *DB) SeqNext(oid uint32, spec SeqSpec) (int64, error) {
	db.seqMu.Lock()
	defer db.seqMu.Unlock()
	q, err := db.loadSeq(oid, spec.Start)
	if err != nil {
		return 0, err
	}
	next, wrapped := q.Last, false
	if q.Called {
		var ok bool
		if next, ok = spec.step(q.Last); !ok {
			if !spec.Cycle {
				if spec.Increment > 0 {
					return 0, &SeqLimitError{Max: true, Bound: spec.Max}
				}
				return 0, &SeqLimitError{Bound: spec.Min}
			}
			next, wrapped = spec.Min, true
			if spec.Increment < 0 {
				next = spec.Max
			}
		}
	}
	if !q.Called || q.LogCnt == 0 || wrapped {
		// Record SeqLogAhead values ahead, stopping at the bound.
		ahead, n := next, int64(0)
		for ; n < SeqLogAhead; n++ {
			v, ok := spec.step(ahead)
			if !ok {
				break
			}
			ahead = v
		}
		if err := db.writeSeq(oid, ahead, true); err != nil {
			return 0, err
		}
		q.LogCnt = n
	} else {
		q.LogCnt--
	}
	q.Last, q.Called = next, true
	return next, nil
}

// SeqSet sets sequence oid to v, handed out already (called) or not,
// durably at once.
func (db *DB) SeqSet(oid uint32, v int64, called bool) error {
	db.seqMu.Lock()
	defer db.seqMu.Unlock()
	if err := db.writeSeq(oid, v, called); err != nil {
		return err
	}
	db.sqlSeqs[sqlSeqKey(oid)] = &sqlSeq{SeqState{Last: v, Called: called}}
	return nil
}

// SeqGet returns the state of sequence oid, which starts at start.
func (db *DB) SeqGet(oid uint32, start int64) (SeqState, error) {
	db.seqMu.Lock()
	defer db.seqMu.Unlock()
	q, err := db.loadSeq(oid, start)
	if err != nil {
		return SeqState{}, err
	}
	return q.SeqState, nil
}

// SeqChanged makes sequence oid record its state before handing out
// another value: its parameters changed, so the values recorded ahead may
// not be the ones it will now hand out.
func (db *DB) SeqChanged(oid uint32, start int64) error {
	db.seqMu.Lock()
	defer db.seqMu.Unlock()
	q, err := db.loadSeq(oid, start)
	if err != nil {
		return err
	}
	if q.LogCnt == 0 {
		return nil
	}
	if err := db.writeSeq(oid, q.Last, q.Called); err != nil {
		return err
	}
	q.LogCnt = 0
	return nil
}

// SeqDrop deletes the record of sequence oid.
func (db *DB) SeqDrop(oid uint32) error {
	db.seqMu.Lock()
	defer db.seqMu.Unlock()
	key := sqlSeqKey(oid)
	delete(db.sqlSeqs, key)
	b := db.pdb.NewBatch()
	defer b.Close()
	if err := b.Delete(sequenceKey(key), nil); err != nil {
		return err
	}
	return db.CommitBatch(b)
}
