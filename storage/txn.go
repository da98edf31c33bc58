package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// ErrTxnDone is returned by operations on a committed or rolled back Txn.
var ErrTxnDone = errors.New("storage: transaction already committed or rolled back")

// Isolation is a transaction's isolation level.
type Isolation uint8

const (
	// ReadCommitted: each read (each iterator, each point read) sees what
	// is committed when it starts, merged with the transaction's own
	// writes; rows to change are locked and re-read at their newest
	// version.
	ReadCommitted Isolation = iota
	// RepeatableRead: every read of the transaction sees one snapshot,
	// taken at its first statement, merged with its own writes; changing
	// a row that another transaction changed since fails with
	// ErrSerialization.
	RepeatableRead
	// Serializable: RepeatableRead, and Commit fails with
	// ErrSerialization when a transaction that committed after the
	// snapshot wrote a key this one read (see serializable.go).
	Serializable
)

func (i Isolation) String() string {
	switch i {
	case RepeatableRead:
		return "repeatable read"
	case Serializable:
		return "serializable"
	}
	return "read committed"
}

// ErrSerialization: a snapshot transaction met a change committed after its
// snapshot (SQLSTATE 40001).
var ErrSerialization = errors.New("could not serialize access due to concurrent update")

// ErrTxnTooLarge is returned by a write that takes the transaction's write
// set past the database's limit (SetMaxTxnBytes).
var ErrTxnTooLarge = errors.New("transaction write set too large")

// DefaultMaxTxnBytes bounds a transaction's buffered writes unless
// SetMaxTxnBytes says otherwise.
const DefaultMaxTxnBytes = 1 << 30

// SetMaxTxnBytes bounds the bytes one transaction may buffer; writes past
// it fail with ErrTxnTooLarge. Zero or less restores the default.
func (db *DB) SetMaxTxnBytes(n int64) {
	if n <= 0 {
		n = DefaultMaxTxnBytes
	}
	db.maxTxnBytes.Store(n)
}

// MaxTxnBytes is the current bound of a transaction's buffered writes.
func (db *DB) MaxTxnBytes() int64 { return db.maxTxnBytes.Load() }

// checkSize refuses writes past the write-set bound.
func (t *Txn) checkSize() error {
	if int64(t.batch.Len()) > t.db.maxTxnBytes.Load() {
		return ErrTxnTooLarge
	}
	return nil
}

// Txn is a read-write transaction. Writes are buffered in an indexed pebble
// batch and applied atomically (and synced) by Commit. Under ReadCommitted
// reads see the database as of each read merged with the transaction's own
// writes; under RepeatableRead and Serializable they see the snapshot taken
// by StartSnapshot merged with them. A Txn is used by one goroutine at a
// time.
type Txn struct {
	db    *DB
	batch *pebble.Batch
	id    uint64
	iso   Isolation
	// locks are the keys this transaction holds row locks on.
	locks []string
	// snap is the snapshot of a RepeatableRead or Serializable
	// transaction, once its first statement started.
	snap *pebble.Snapshot
	// snapCommits is db.commits when snap was taken.
	snapCommits uint64
	// written tracks, for snapshot reads, which keys the batch holds:
	// true for a live value, false for a deletion; delRanges are the
	// ranges it deleted. Kept only under RepeatableRead and Serializable.
	written   map[string]bool
	delRanges [][2][]byte
	// reads is the read set of a Serializable transaction.
	reads *readSet
	// absent are keys this transaction wrote on the promise that they did
	// not exist (unique primary keys), in groups in the order written;
	// Commit re-checks them when another transaction committed since
	// checkedAt.
	absent    []absentGroup
	checkedAt uint64
	// deleted is set once the transaction deletes anything: until then a
	// key missing from its merged view is missing from the database too.
	deleted bool
	done    bool
	// log holds the changelog entries to write at commit.
	log txnLog
	// rechecks are checks to repeat at commit (RecheckAtCommit).
	rechecks []recheck
}

// absentGroup is a key checked to be absent (or, from SetAbsentMany, keys
// in input order), and what reports the error should another transaction
// have committed one meanwhile.
type absentGroup struct {
	key  []byte
	keys [][]byte // when not nil, the group's keys (key is unused)
	dup  func(key []byte) error
}

// len is the number of keys in the group.
func (g *absentGroup) len() int {
	if g.keys != nil {
		return len(g.keys)
	}
	return 1
}

// at is the group's i-th key.
func (g *absentGroup) at(i int) []byte {
	if g.keys != nil {
		return g.keys[i]
	}
	return g.key
}

// Begin starts a ReadCommitted transaction.
func (db *DB) Begin() *Txn {
	return &Txn{db: db, batch: db.pdb.NewIndexedBatch(), id: db.txnIDs.Add(1)}
}

// BeginIso starts a transaction at isolation level iso.
func (db *DB) BeginIso(iso Isolation) *Txn {
	t := db.Begin()
	t.SetIsolation(iso)
	return t
}

// ID identifies the transaction (in lock waits and deadlock reports).
func (t *Txn) ID() uint64 { return t.id }

// Isolation returns the transaction's isolation level.
func (t *Txn) Isolation() Isolation { return t.iso }

// SetIsolation changes the isolation level; it may only be called before
// the transaction's first read or write (SET TRANSACTION), and reports
// false otherwise.
func (t *Txn) SetIsolation(iso Isolation) bool {
	if t.snap != nil || !t.batch.Empty() || t.reads != nil && !t.reads.empty() {
		return iso == t.iso
	}
	t.iso = iso
	if iso >= RepeatableRead && t.written == nil {
		t.written = map[string]bool{}
	}
	if iso == Serializable && t.reads == nil {
		t.reads = &readSet{}
	} else if iso != Serializable {
		t.reads = nil
	}
	return true
}

// StartSnapshot takes the snapshot of a RepeatableRead or Serializable
// transaction if it has none yet; statements call it before they read.
func (t *Txn) StartSnapshot() {
	if t.iso < RepeatableRead || t.snap != nil || t.done {
		return
	}
	t.db.commitMu.Lock()
	t.snap = t.db.pdb.NewSnapshot()
	t.snapCommits = t.db.commits.Load()
	if t.iso == Serializable {
		t.db.ssi.begin(t)
	}
	t.db.commitMu.Unlock()
}

// Get implements Reader: the transaction's own writes, else the database
// (or its snapshot).
func (t *Txn) Get(key []byte) ([]byte, bool, error) {
	if t.done {
		return nil, false, ErrTxnDone
	}
	if t.snap == nil {
		if t.absentHere(key) {
			return nil, false, nil
		}
		return getCopy(t.batch.Get(key))
	}
	if live, ok := t.written[string(key)]; ok {
		if !live {
			return nil, false, nil
		}
		return getCopy(t.batch.Get(key))
	}
	if t.inDelRange(key) {
		return nil, false, nil
	}
	if t.reads != nil {
		t.reads.addKey(key)
	}
	if t.db.absentFromSnapshot(key, t.snapCommits) {
		return nil, false, nil
	}
	return getCopy(t.snap.Get(key))
}

// absentHere reports whether key is certainly in neither the newest
// version of the database nor the transaction's writes (keyfilter.go); a
// false answer says nothing.
func (t *Txn) absentHere(key []byte) bool {
	if !t.db.absentByFilter(key) {
		return false
	}
	if t.batch.Empty() {
		return true
	}
	if t.written != nil {
		live, ok := t.written[string(key)]
		return !ok || !live
	}
	it, err := t.batch.NewBatchOnlyIter(context.Background(), &pebble.IterOptions{LowerBound: key, UpperBound: keySuccessor(key)})
	if err != nil {
		return false
	}
	found := it.First()
	if err := it.Close(); err != nil {
		return false
	}
	return !found
}

// GetLatest reads key's newest committed version merged with the
// transaction's own writes, whatever the isolation level: what a row lock
// protects, read again once the lock is held.
func (t *Txn) GetLatest(key []byte) ([]byte, bool, error) {
	if t.done {
		return nil, false, ErrTxnDone
	}
	if t.absentHere(key) {
		return nil, false, nil
	}
	return getCopy(t.batch.Get(key))
}

// NewIter implements Reader. The iterator sees the transaction's writes as
// of its creation merged with the database (or its snapshot).
func (t *Txn) NewIter(lo, hi []byte) (Iter, error) {
	if t.done {
		return nil, ErrTxnDone
	}
	if t.snap == nil {
		return newIter(t.batch.NewIter(iterOpts(lo, hi)))
	}
	return t.newSnapshotIter(lo, hi)
}

// Set writes key = value.
func (t *Txn) Set(key, value []byte) error {
	if t.done {
		return ErrTxnDone
	}
	if err := t.checkSize(); err != nil {
		return err
	}
	if t.written != nil {
		t.written[string(key)] = true
	}
	return t.batch.Set(key, value, nil)
}

// Delete removes key.
func (t *Txn) Delete(key []byte) error {
	if t.done {
		return ErrTxnDone
	}
	if err := t.checkSize(); err != nil {
		return err
	}
	t.deleted = true
	if t.written != nil {
		t.written[string(key)] = false
	}
	return t.batch.Delete(key, nil)
}

// DeleteRange removes every key in [lo, hi).
func (t *Txn) DeleteRange(lo, hi []byte) error {
	if t.done {
		return ErrTxnDone
	}
	t.deleted = true
	if t.written != nil {
		for k := range t.written {
			if bytes.Compare([]byte(k), lo) >= 0 && (hi == nil || bytes.Compare([]byte(k), hi) < 0) {
				t.written[k] = false
			}
		}
		t.delRanges = append(t.delRanges, [2][]byte{slices.Clone(lo), slices.Clone(hi)})
	}
	return t.batch.DeleteRange(lo, hi, nil)
}

// inDelRange reports whether key lies in a range this transaction deleted.
func (t *Txn) inDelRange(key []byte) bool {
	for _, r := range t.delRanges {
		if bytes.Compare(key, r[0]) >= 0 && (r[1] == nil || bytes.Compare(key, r[1]) < 0) {
			return true
		}
	}
	return false
}

// Lock takes a row lock on key until the transaction ends (lock.go). ok is
// false when policy is WaitSkip and the row is locked; waited reports that
// the request had to wait for another transaction.
func (t *Txn) Lock(ctx context.Context, key []byte, mode LockMode, policy WaitPolicy, timeout time.Duration) (ok, waited bool, err error) {
	if t.done {
		return false, false, ErrTxnDone
	}
	k := string(key)
	ok, waited, fresh, err := t.db.locks.acquire(ctx, t.id, k, mode, policy, timeout)
	if fresh {
		t.locks = append(t.locks, k)
	}
	return ok, waited, err
}

// CheckSnapshotConflict reports ErrSerialization when key, which this
// RepeatableRead or Serializable transaction holds a lock on and is about
// to change, was changed by a transaction that committed after its
// snapshot. Under ReadCommitted it reports nothing.
func (t *Txn) CheckSnapshotConflict(key []byte) error {
	if t.snap == nil {
		return nil
	}
	if _, mine := t.written[string(key)]; mine {
		return nil // locked since this transaction wrote it
	}
	if t.db.commits.Load() == t.snapCommits {
		return nil
	}
	old, oldOK, err := getCopy(t.snap.Get(key))
	if err != nil {
		return err
	}
	cur, curOK, err := getCopy(t.db.pdb.Get(key))
	if err != nil {
		return err
	}
	if oldOK != curOK || !bytes.Equal(old, cur) {
		return ErrSerialization
	}
	return nil
}

// CommitCount is the number of transactions committed so far: a reader
// that remembers it can tell whether anything committed since.
func (db *DB) CommitCount() uint64 { return db.commits.Load() }

// Empty reports whether the transaction has written nothing.
func (t *Txn) Empty() bool { return t.batch.Empty() }

// SetAbsent writes key = value after checking that key does not exist
// (in the database or among the transaction's writes); if it does, it
// returns dup(key) and writes nothing. Commit checks again if another
// transaction committed in between, and fails with dup(key) if that
// transaction wrote key.
func (t *Txn) SetAbsent(key, value []byte, dup func(key []byte) error) error {
	found, err := t.setAbsent(key, value, dup)
	if err != nil {
		return err
	}
	if found {
		return dup(key)
	}
	return nil
}

// setAbsent is SetAbsent reporting an existing key as found.
func (t *Txn) setAbsent(key, value []byte, dup func(key []byte) error) (bool, error) {
	if t.done {
		return false, ErrTxnDone
	}
	if len(t.absent) == 0 {
		t.checkedAt = t.db.commits.Load()
	}
	if !t.absentHere(key) {
		found, err := exists(t.batch.Get(key))
		if err != nil || found {
			return found, err
		}
	}
	// A key this transaction deleted may exist in the database; only keys
	// absent from the database too need re-checking at commit.
	inDB := false
	if t.deleted && !t.db.absentByFilter(key) {
		var err error
		if inDB, err = exists(t.db.pdb.Get(key)); err != nil {
			return false, err
		}
	}
	if !inDB {
		t.absent = append(t.absent, absentGroup{key: append([]byte(nil), key...), dup: dup})
	}
	return false, t.Set(key, value)
}

// SetAbsentSeen is SetAbsent for a key the caller has just read as
// absent through this transaction at its newest version (Get under
// ReadCommitted, or GetLatest) after the database's commit count was
// since: it spares SetAbsent's second read. Commit re-checks the key as
// it re-checks SetAbsent's.
func (t *Txn) SetAbsentSeen(key, value []byte, since uint64, dup func(key []byte) error) error {
	if t.done {
		return ErrTxnDone
	}
	if t.deleted {
		// The key may exist in the database under a deletion of ours.
		return t.SetAbsent(key, value, dup)
	}
	if len(t.absent) == 0 || since < t.checkedAt {
		t.checkedAt = since
	}
	t.absent = append(t.absent, absentGroup{key: append([]byte(nil), key...), dup: dup})
	return t.Set(key, value)
}

// Commit applies the transaction's writes atomically and durably. The
// transaction is finished whether or not Commit succeeds, and its row
// locks are released.
func (t *Txn) Commit() error {
	if t.done {
		return ErrTxnDone
	}
	t.done = true
	defer t.finish()
	if t.batch.Empty() {
		return nil
	}
	if err := t.db.CheckSpace(int64(t.batch.Len())); err != nil {
		return err
	}
	b, err := t.apply()
	if err != nil {
		return err
	}
	// The WAL sync happens outside the commit lock, so that commits of
	// many sessions share one fsync (group commit); the locks are
	// released (by finish) only once the commit is durable.
	return b.SyncWait()
}

// apply checks and applies the batch under the commit lock, without
// waiting for the WAL sync; it returns the batch applied.
func (t *Txn) apply() (*pebble.Batch, error) {
	db := t.db
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	if t.iso == Serializable {
		if err := db.ssi.validate(t); err != nil {
			return nil, err
		}
	}
	if len(t.absent) > 0 && db.commits.Load() != t.checkedAt {
		key, dup, err := absentTaken(db, t.absent)
		if err != nil {
			return nil, err
		}
		if key != nil {
			return nil, dup(key)
		}
	}
	if err := t.runRechecks(); err != nil {
		return nil, err
	}
	b := t.batch
	// The changelog's blocks are few (one per logBlockRows changes), so
	// indexing them in the transaction's batch costs little.
	seq, err := t.log.write(b, db.logSeq.Load())
	if err != nil {
		return nil, err
	}
	if t.log.changes > 0 {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], seq)
		if err := b.Set(logSeqKey, v[:], nil); err != nil {
			return nil, err
		}
	}
	db.noteFilteredKeys(b)
	if err := db.walWrite(func() error { return db.pdb.ApplyNoSyncWait(b, pebble.Sync) }); err != nil {
		return nil, err
	}
	db.commits.Add(1)
	db.ssi.committed(t)
	if t.log.changes > 0 {
		db.logSeq.Store(seq)
		db.wakeLogReaders()
	}
	return b, nil
}

// Rollback discards the transaction's writes and releases its row locks.
// It is safe to call after Commit (it then does nothing).
func (t *Txn) Rollback() {
	if t.done {
		return
	}
	t.done = true
	t.finish()
}

// finish releases what a finished transaction holds.
func (t *Txn) finish() {
	t.batch.Close()
	t.db.locks.release(t.id, t.locks)
	t.locks = nil
	if t.snap != nil {
		if t.iso == Serializable {
			t.db.ssi.end(t)
		}
		t.snap.Close()
		t.snap = nil
	}
}

// Savepoint marks a point in a transaction that RollbackTo can return to.
type Savepoint struct {
	locks    int
	reprLen  int
	count    uint32
	absent   int
	log      logMark
	rechecks int
}

// Savepoint returns a mark of the transaction's writes so far.
func (t *Txn) Savepoint() Savepoint {
	sp := Savepoint{locks: len(t.locks), absent: len(t.absent), log: t.log.mark(), rechecks: len(t.rechecks)}
	if !t.batch.Empty() {
		sp.reprLen, sp.count = len(t.batch.Repr()), t.batch.Count()
	}
	return sp
}

// RollbackTo discards the writes made since sp (and the commit-time checks
// and changelog entries they brought) and releases the row locks taken
// since. A pebble batch cannot be truncated,
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
	if t.written != nil {
		if err := t.rebuildWritten(); err != nil {
			return err
		}
	}
	// Row locks taken since sp are released, as PostgreSQL releases a
	// rolled-back subtransaction's locks.
	if len(t.locks) > sp.locks {
		t.db.locks.release(t.id, t.locks[sp.locks:])
		t.locks = t.locks[:sp.locks]
	}
	t.absent = t.absent[:sp.absent]
	t.log.truncate(sp.log)
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
