package engine

// A statement's snapshot is taken after its implicit relation locks where
// PostgreSQL takes it after them. PostgreSQL locks the relations of a
// query while analysing it and takes a READ COMMITTED statement's snapshot
// when the portal starts, after that: a SELECT, UPDATE, DELETE, INSERT or
// DECLARE CURSOR that waited for a table held in ACCESS EXCLUSIVE by a
// transaction that then changed rows and committed reads those rows. A
// REPEATABLE READ or SERIALIZABLE transaction's snapshot is taken by the
// analysis of its first statement that needs one, so before that
// statement's locks (Execute starts it before planning); LOCK, SET, SHOW
// and transaction control take none, so a transaction that begins with
// LOCK TABLE sees every change committed before the lock was granted. COPY
// TO reads the snapshot taken before it locks, as PostgreSQL's does.
//
// A READ COMMITTED statement in a transaction block reads the newest
// committed rows (storage.Txn without a snapshot); outside a block a
// read-only statement reads a lazySnapshot, which the statements that
// take their locks in run (prepared.locksFirst) start with
// execution.startSnapshot once they hold them, and Execute starts before
// running any other statement.

import (
	"sync"

	"streamsql/storage"
)

// lazySnapshot is the snapshot of a read-only statement outside a
// transaction block: storage.DB.Snapshot, taken at start or at the first
// read, whichever comes first.
type lazySnapshot struct {
	db   *storage.DB
	once sync.Once
	snap *storage.Snapshot
}

func (l *lazySnapshot) start() {
	l.once.Do(func() { l.snap = l.db.Snapshot() })
}

// Get implements storage.Reader.
func (l *lazySnapshot) Get(key []byte) ([]byte, bool, error) {
	l.start()
	return l.snap.Get(key)
}

// NewIter implements storage.Reader.
func (l *lazySnapshot) NewIter(lo, hi []byte) (storage.Iter, error) {
	l.start()
	return l.snap.NewIter(lo, hi)
}

// close releases the snapshot if one was taken; no read may follow.
func (l *lazySnapshot) close() {
	l.once.Do(func() {}) // a snapshot not taken yet is never taken
	if l.snap != nil {
		l.snap.Close()
		l.snap = nil
	}
}

// startSnapshot takes the statement's own snapshot, if it reads one.
// Calling it again does nothing.
func (x *execution) startSnapshot() {
	if x.snap != nil {
		x.snap.start()
	}
}
