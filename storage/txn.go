package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// ErrTxnDone is returned by operations on a committed or rolled back Txn.
var ErrTxnDone = errors.New("storage: transaction already committed or rolled back")

// Txn is a read-write transaction. Writes are buffered in an indexed pebble
// batch and applied atomically (and synced) by Commit; reads see the
// database as of each read merged with the transaction's own writes. A Txn
// is used by one goroutine at a time.
type Txn struct {
	db    *DB
	batch *pebble.Batch
	// absent are keys this transaction wrote on the promise that they did
	// not exist (unique primary keys); Commit re-checks them when another
	// transaction committed since checkedAt.
	absent    []absentKey
	checkedAt uint64
	// deleted is set once the transaction deletes anything: until then a
	// key missing from its merged view is missing from the database too.
	deleted bool
	done    bool
	// changes are changelog entries to append at commit.
	changes []logChange
	// rechecks are checks to repeat at commit (RecheckAtCommit).
	rechecks []recheck
}

// absentKey is a key checked to be absent, and what reports the error
// should another transaction have committed it meanwhile.
type absentKey struct {
	key []byte
	dup func(key []byte) error
}

// Begin starts a transaction.
func (db *DB) Begin() *Txn {
	return &Txn{db: db, batch: db.pdb.NewIndexedBatch()}
}

// Get implements Reader: the transaction's own writes, else the database.
func (t *Txn) Get(key []byte) ([]byte, bool, error) {
	if t.done {
		return nil, false, ErrTxnDone
	}
	return getCopy(t.batch.Get(key))
}

// NewIter implements Reader. The iterator sees the transaction's writes as
// of its creation merged with the database.
func (t *Txn) NewIter(lo, hi []byte) (Iter, error) {
	if t.done {
		return nil, ErrTxnDone
	}
	return newIter(t.batch.NewIter(iterOpts(lo, hi)))
}

// Set writes key = value.
func (t *Txn) Set(key, value []byte) error {
	if t.done {
		return ErrTxnDone
	}
	return t.batch.Set(key, value, nil)
}

// Delete removes key.
func (t *Txn) Delete(key []byte) error {
	if t.done {
		return ErrTxnDone
	}
	t.deleted = true
	return t.batch.Delete(key, nil)
}

// DeleteRange removes every key in [lo, hi).
func (t *Txn) DeleteRange(lo, hi []byte) error {
	if t.done {
		return ErrTxnDone
	}
	t.deleted = true
	return t.batch.DeleteRange(lo, hi, nil)
}

// Empty reports whether the transaction has written nothing.
func (t *Txn) Empty() bool { return t.batch.Empty() }

// SetAbsent writes key = value after checking that key does not exist
// (in the database or among the transaction's writes); if it does, it
// returns dup(key) and writes nothing. Commit checks again if another
// transaction committed in between, and fails with dup(key) if that
// transaction wrote key.
func (t *Txn) SetAbsent(key, value []byte, dup func(key []byte) error) error {
	if t.done {
		return ErrTxnDone
	}
	if len(t.absent) == 0 {
		t.checkedAt = t.db.commits.Load()
	}
	found, err := exists(t.batch.Get(key))
	if err != nil {
		return err
	}
	if found {
		return dup(key)
	}
	// A key this transaction deleted may exist in the database; only keys
	// absent from the database too need re-checking at commit.
	inDB := false
	if t.deleted {
		if inDB, err = exists(t.db.pdb.Get(key)); err != nil {
			return err
		}
	}
	if !inDB {
		t.absent = append(t.absent, absentKey{key: append([]byte(nil), key...), dup: dup})
	}
	return t.batch.Set(key, value, nil)
}

// Commit applies the transaction's writes atomically and durably. The
// transaction is finished whether or not Commit succeeds.
func (t *Txn) Commit() error {
	if t.done {
		return ErrTxnDone
	}
	t.done = true
	defer t.batch.Close()
	if t.batch.Empty() {
		return nil
	}
	if err := t.db.CheckSpace(int64(t.batch.Len())); err != nil {
		return err
	}
	db := t.db
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	if len(t.absent) > 0 && db.commits.Load() != t.checkedAt {
		for _, a := range t.absent {
			found, err := exists(db.pdb.Get(a.key))
			if err != nil {
				return err
			}
			if found {
				return a.dup(a.key)
			}
		}
	}
	if err := t.runRechecks(); err != nil {
		return err
	}
	seq := db.logSeq.Load()
	for _, c := range t.changes {
		seq++
		if err := t.batch.Set(LogKey(c.table, seq), c.value, nil); err != nil {
			return err
		}
	}
	if len(t.changes) > 0 {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], seq)
		if err := t.batch.Set(logSeqKey, v[:], nil); err != nil {
			return err
		}
	}
	if err := db.CommitBatch(t.batch); err != nil {
		return err
	}
	db.commits.Add(1)
	if len(t.changes) > 0 {
		db.logSeq.Store(seq)
		db.wakeLogReaders()
	}
	return nil
}

// Rollback discards the transaction's writes. It is safe to call after
// Commit (it then does nothing).
func (t *Txn) Rollback() {
	if t.done {
		return
	}
	t.done = true
	t.batch.Close()
}

// Savepoint marks a point in a transaction that RollbackTo can return to.
type Savepoint struct {
	reprLen  int
	count    uint32
	absent   int
	changes  int
	rechecks int
}

// Savepoint returns a mark of the transaction's writes so far.
func (t *Txn) Savepoint() Savepoint {
	sp := Savepoint{absent: len(t.absent), changes: len(t.changes), rechecks: len(t.rechecks)}
	if !t.batch.Empty() {
		sp.reprLen, sp.count = len(t.batch.Repr()), t.batch.Count()
	}
	return sp
}

// RollbackTo discards the writes made since sp (and the commit-time checks
// and changelog entries they brought). A pebble batch cannot be truncated,
// so the writes before sp are copied into a fresh indexed batch: the cost
// is one copy of the batch, paid only by ROLLBACK TO.
func (t *Txn) RollbackTo(sp Savepoint) error {
	if t.done {
		return ErrTxnDone
	}
	nb := t.db.pdb.NewIndexedBatch()
	if sp.reprLen > 0 {
		repr := slices.Clone(t.batch.Repr()[:sp.reprLen])
		// The header's count (bytes 8..12) must match the kept records.
		binary.LittleEndian.PutUint32(repr[8:12], sp.count)
		tmp := t.db.pdb.NewBatch()
		err := tmp.SetRepr(repr)
		if err == nil {
			err = nb.Apply(tmp, nil)
		}
		tmp.Close()
		if err != nil {
			nb.Close()
			return fmt.Errorf("rollback to savepoint: %w", err)
		}
	}
	t.batch.Close()
	t.batch = nb
	t.absent = t.absent[:sp.absent]
	t.changes = t.changes[:sp.changes]
	t.rechecks = t.rechecks[:sp.rechecks]
	return nil
}

// recheck is a commit-time check: if another transaction committed since
// the check was first made (at commit count since), run it again against
// the database as it is at commit, merged with this transaction's writes.
type recheck struct {
	since uint64
	check func(r Reader) error
}

// RecheckAtCommit registers check, a check that passed just now, to be run
// again by Commit should another transaction have committed in between.
// Commit runs it under the commit lock, so no commit can slip between the
// check and this transaction's commit: foreign keys use it to make sure a
// referenced row still exists (and a deleted one is still unreferenced).
func (t *Txn) RecheckAtCommit(check func(r Reader) error) {
	t.rechecks = append(t.rechecks, recheck{since: t.db.commits.Load(), check: check})
}

// batchReader reads a transaction's batch merged with the database,
// bypassing the done flag for checks that run inside Commit.
type batchReader struct{ b *pebble.Batch }

func (r batchReader) Get(key []byte) ([]byte, bool, error) { return getCopy(r.b.Get(key)) }
func (r batchReader) NewIter(lo, hi []byte) (Iter, error) {
	return newIter(r.b.NewIter(iterOpts(lo, hi)))
}

// runRechecks runs the commit-time checks that another commit may have
// invalidated; the caller holds commitMu.
func (t *Txn) runRechecks() error {
	now := t.db.commits.Load()
	for _, rc := range t.rechecks {
		if rc.since == now {
			continue
		}
		if err := rc.check(batchReader{t.batch}); err != nil {
			return err
		}
	}
	return nil
}
