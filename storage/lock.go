package storage

// Row locks.
//
// Writers lock the rows they change, and SELECT ... FOR UPDATE/SHARE the
// rows it returns, until their transaction ends. A lock is held on a key
// (a table row's key) in one of PostgreSQL's four row-lock modes, with
// PostgreSQL's conflict table:
//
//	             KEY SHARE  SHARE  NO KEY UPDATE  UPDATE
//	KEY SHARE                                       x
//	SHARE                            x              x
//	NO KEY UPDATE           x        x              x
//	UPDATE          x       x        x              x
//
// A request that conflicts with a holder, or with a request queued before
// it, waits in the key's first-in first-out queue. Every wait is checked for
// a deadlock at once: the waits-for graph is walked from the new waiter
// through the holders and earlier waiters it waits for, and a cycle back to
// it fails the new request with ErrDeadlock (PostgreSQL waits for
// deadlock_timeout first; finding the cycle at once costs only the walk).
//
// The table lives in memory: locks belong to running transactions, which a
// restart ends anyway. Each held lock costs one map entry until the
// transaction commits or rolls back.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// LockMode is a row-lock strength, weakest first.
type LockMode uint8

const (
	LockKeyShare LockMode = iota + 1
	LockShare
	LockNoKeyUpdate
	LockUpdate
)

func (m LockMode) String() string {
	switch m {
	case LockKeyShare:
		return "FOR KEY SHARE"
	case LockShare:
		return "FOR SHARE"
	case LockNoKeyUpdate:
		return "FOR NO KEY UPDATE"
	case LockUpdate:
		return "FOR UPDATE"
	}
	return fmt.Sprintf("LockMode(%d)", m)
}

// conflicts reports whether a and b cannot be held by two transactions.
func conflicts(a, b LockMode) bool {
	if a > b {
		a, b = b, a
	}
	switch a {
	case LockKeyShare:
		return b == LockUpdate
	case LockShare:
		return b >= LockNoKeyUpdate
	}
	return true
}

// WaitPolicy says what a lock request does when the row is locked.
type WaitPolicy uint8

const (
	// WaitBlock waits (up to the timeout) for the lock.
	WaitBlock WaitPolicy = iota
	// WaitNoWait fails at once with ErrLockNotAvailable (NOWAIT).
	WaitNoWait
	// WaitSkip gives up on the row (SKIP LOCKED).
	WaitSkip
)

var (
	// ErrLockNotAvailable: NOWAIT met a locked row.
	ErrLockNotAvailable = errors.New("could not obtain lock on row")
	// ErrLockTimeout: the wait took longer than the lock timeout.
	ErrLockTimeout = errors.New("canceling statement due to lock timeout")
	// ErrDeadlock: waiting would close a cycle of waiting transactions.
	ErrDeadlock = errors.New("deadlock detected")
)

// DeadlockError is ErrDeadlock with the cycle that was found.
type DeadlockError struct {
	// Cycle lists the transaction ids of the cycle, starting with the
	// requester.
	Cycle []uint64
}

func (e *DeadlockError) Error() string { return ErrDeadlock.Error() }
func (e *DeadlockError) Unwrap() error { return ErrDeadlock }

// lockTable holds every row lock of the database.
type lockTable struct {
	mu   sync.Mutex
	rows map[string]*rowLock
	// waits maps a waiting transaction to its queued request.
	waits map[uint64]*lockRequest
	// onWait, when set, is called (without mu) when a request starts
	// waiting, so that a wait-for graph spanning other kinds of locks can
	// be checked for a deadlock; its error ends the wait.
	onWait func(txn uint64) error
}

type rowLock struct {
	holders []lockHolder
	queue   []*lockRequest
}

type lockHolder struct {
	txn  uint64
	mode LockMode
}

type lockRequest struct {
	txn     uint64
	key     string
	mode    LockMode
	lock    *rowLock
	since   time.Time
	granted chan struct{} // closed when granted
}

func newLockTable() *lockTable {
	return &lockTable{rows: map[string]*rowLock{}, waits: map[uint64]*lockRequest{}}
}

// held returns the mode txn holds on l, or 0.
func (l *rowLock) held(txn uint64) LockMode {
	for _, h := range l.holders {
		if h.txn == txn {
			return h.mode
		}
	}
	return 0
}

// blockers returns the transactions that r waits for: the holders whose
// mode conflicts with it and the conflicting requests queued before it.
func (l *rowLock) blockers(r *lockRequest, out []uint64) []uint64 {
	for _, h := range l.holders {
		if h.txn != r.txn && conflicts(h.mode, r.mode) {
			out = append(out, h.txn)
		}
	}
	for _, q := range l.queue {
		if q == r {
			break
		}
		if q.txn != r.txn && conflicts(q.mode, r.mode) {
			out = append(out, q.txn)
		}
	}
	return out
}

// grantable reports whether txn may take mode now: no other holder
// conflicts, and (for a new holder) no queued request conflicts, so that
// requests are served in order. A holder upgrading its lock skips the
// queue, as the queued requests wait for it anyway.
func (l *rowLock) grantable(txn uint64, mode LockMode, upgrade bool) bool {
	for _, h := range l.holders {
		if h.txn != txn && conflicts(h.mode, mode) {
			return false
		}
	}
	if !upgrade {
		for _, q := range l.queue {
			if conflicts(q.mode, mode) {
				return false
			}
		}
	}
	return true
}

// grant records txn as holding mode (or upgrades its hold).
func (l *rowLock) grant(txn uint64, mode LockMode) {
	for i, h := range l.holders {
		if h.txn == txn {
			if mode > h.mode {
				l.holders[i].mode = mode
			}
			return
		}
	}
	l.holders = append(l.holders, lockHolder{txn: txn, mode: mode})
}

// wake grants queued requests from the front while they fit.
func (t *lockTable) wake(l *rowLock) {
	for len(l.queue) > 0 {
		r := l.queue[0]
		ok := true
		for _, h := range l.holders {
			if h.txn != r.txn && conflicts(h.mode, r.mode) {
				ok = false
				break
			}
		}
		if !ok {
			return
		}
		l.queue = l.queue[1:]
		l.grant(r.txn, r.mode)
		delete(t.waits, r.txn)
		close(r.granted)
	}
}

// deadlock reports the cycle that r's wait would close, if any: a walk of
// the waits-for graph from the transactions r waits for.
func (t *lockTable) deadlock(r *lockRequest) []uint64 {
	type step struct {
		txn  uint64
		path []uint64
	}
	seen := map[uint64]bool{}
	var stack []step
	for _, b := range r.lock.blockers(r, nil) {
		stack = append(stack, step{b, []uint64{r.txn, b}})
	}
	var buf []uint64
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s.txn == r.txn {
			return s.path[:len(s.path)-1]
		}
		if seen[s.txn] {
			continue
		}
		seen[s.txn] = true
		w := t.waits[s.txn]
		if w == nil {
			continue
		}
		buf = w.lock.blockers(w, buf[:0])
		for _, b := range buf {
			stack = append(stack, step{b, append(append([]uint64(nil), s.path...), b)})
		}
	}
	return nil
}

// acquire takes mode on key for txn. It returns whether the lock was taken
// (false only under WaitSkip), whether the request had to wait, and
// whether txn held no lock on key before (so it must release one).
func (t *lockTable) acquire(ctx context.Context, txn uint64, key string, mode LockMode, policy WaitPolicy, timeout time.Duration) (ok, waited, fresh bool, err error) {
	t.mu.Lock()
	l := t.rows[key]
	if l == nil {
		l = &rowLock{}
		t.rows[key] = l
	}
	have := l.held(txn)
	if have >= mode {
		t.mu.Unlock()
		return true, false, false, nil
	}
	if l.grantable(txn, mode, have != 0) {
		l.grant(txn, mode)
		t.mu.Unlock()
		return true, false, have == 0, nil
	}
	switch policy {
	case WaitNoWait:
		t.drop(key, l)
		t.mu.Unlock()
		return false, false, false, ErrLockNotAvailable
	case WaitSkip:
		t.drop(key, l)
		t.mu.Unlock()
		return false, false, false, nil
	}
	r := &lockRequest{txn: txn, key: key, mode: mode, lock: l, since: time.Now(), granted: make(chan struct{})}
	if have != 0 {
		// An upgrade goes first: every queued request waits for this
		// transaction already.
		l.queue = append([]*lockRequest{r}, l.queue...)
	} else {
		l.queue = append(l.queue, r)
	}
	if cycle := t.deadlock(r); cycle != nil {
		t.dequeue(key, r)
		t.mu.Unlock()
		return false, false, false, &DeadlockError{Cycle: cycle}
	}
	t.waits[txn] = r
	hook := t.onWait
	t.mu.Unlock()
	// giveUp withdraws r after err, unless it was granted meanwhile:
	// then it is kept, and the transaction, ending soon, releases it.
	giveUp := func(err error) (bool, bool, bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		select {
		case <-r.granted:
			return true, true, have == 0, nil
		default:
		}
		delete(t.waits, txn)
		t.dequeue(key, r)
		return false, true, false, err
	}
	if hook != nil {
		if err := hook(txn); err != nil {
			return giveUp(err)
		}
	}

	var timer <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case <-r.granted:
		return true, true, have == 0, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer:
		err = ErrLockTimeout
	}
	return giveUp(err)
}

// dequeue removes r from its queue; the requests behind it may now fit.
func (t *lockTable) dequeue(key string, r *lockRequest) {
	l := r.lock
	for i, q := range l.queue {
		if q == r {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			break
		}
	}
	t.wake(l)
	t.drop(key, l)
}

// drop forgets l when nobody holds or waits for it.
func (t *lockTable) drop(key string, l *rowLock) {
	if len(l.holders) == 0 && len(l.queue) == 0 {
		delete(t.rows, key)
	}
}

// release gives up txn's locks on keys.
func (t *lockTable) release(txn uint64, keys []string) {
	if len(keys) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		l := t.rows[k]
		if l == nil {
			continue
		}
		for i, h := range l.holders {
			if h.txn == txn {
				l.holders = append(l.holders[:i], l.holders[i+1:]...)
				break
			}
		}
		t.wake(l)
		t.drop(k, l)
	}
}

// RowLockWait is a transaction waiting for a row lock.
type RowLockWait struct {
	Txn      uint64
	Key      []byte // the row's key
	Mode     LockMode
	Since    time.Time
	Blockers []uint64 // the transactions it waits for, holders first
	// Queued: a conflicting request queued before this one is among
	// Blockers (PostgreSQL's waiter for the tuple lock, rather than for
	// the holder's transaction).
	Queued bool
}

// waiting lists the transactions that wait for a row lock.
func (t *lockTable) waiting() []RowLockWait {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]RowLockWait, 0, len(t.waits))
	for txn, r := range t.waits {
		queued := false
		for _, q := range r.lock.queue {
			if q == r {
				break
			}
			queued = queued || q.txn != r.txn && conflicts(q.mode, r.mode)
		}
		out = append(out, RowLockWait{Txn: txn, Key: []byte(r.key), Mode: r.mode, Since: r.since, Blockers: r.lock.blockers(r, nil), Queued: queued})
	}
	return out
}

// heldCount is the number of keys with a lock or a waiter (for tests).
func (t *lockTable) heldCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.rows)
}

// SetLockWaitHook makes f run whenever a row lock request starts waiting
// (f's error, such as a deadlock found in a wider wait-for graph, ends the
// wait). Set it before transactions run.
func (db *DB) SetLockWaitHook(f func(txn uint64) error) {
	db.locks.mu.Lock()
	db.locks.onWait = f
	db.locks.mu.Unlock()
}

// RowLockWaits lists the transactions waiting for row locks (pg_locks).
func (db *DB) RowLockWaits() []RowLockWait { return db.locks.waiting() }
