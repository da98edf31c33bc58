package engine

// Advisory locks: PostgreSQL's pg_advisory_lock family, which migration
// tools (Flyway, Liquibase, golang-migrate, Rails, Alembic helpers) take so
// that only one of them changes the schema at a time.
//
// A lock is named by one bigint or by two integers (two separate key
// spaces, as in PostgreSQL, where pg_locks shows them with objsubid 1 and
// 2) inside the session's database, and is held exclusive or shared: an
// exclusive hold conflicts with every hold of another session, a shared
// one with exclusive holds of other sessions. A session never conflicts
// with itself, and its holds stack: a lock taken twice must be unlocked
// twice. Session-level holds (pg_advisory_lock) last until unlocked or the
// session ends; transaction-level holds (pg_advisory_xact_lock) until the
// transaction ends (the statement's, outside a transaction block) and
// cannot be unlocked before.
//
// Waits honour lock_timeout (55P03), statement_timeout and cancel (57014);
// a wait that would close a cycle of sessions waiting for each other's
// locks of any kind fails at once with 40P01 (deadlock.go). Requests are served in arrival
// order: a request waits behind an earlier conflicting one, so a stream of
// shared holders cannot starve an exclusive request.
//
// The table lives in memory, like PostgreSQL's lock table: holds belong to
// sessions, which a restart ends.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"streamsql/sql/sqlerr"
)

// advisoryKey names one advisory lock.
type advisoryKey struct {
	db string
	// hi and lo are PostgreSQL's classid and objid: the bigint's two
	// halves, or the two integers.
	hi, lo uint32
	// pair is set for the two-integer form (objsubid 2).
	pair bool
}

func (k advisoryKey) String() string {
	sub := 1
	if k.pair {
		sub = 2
	}
	return fmt.Sprintf("advisory lock [%s,%d,%d,%d]", k.db, k.hi, k.lo, sub)
}

// advisoryHold counts one session's holds of one lock.
type advisoryHold struct {
	ex, sh int
}

// advisoryLock is the state of one lock: its holders and its waiters in
// arrival order.
type advisoryLock struct {
	holds   map[*Session]*advisoryHold
	waiters []*advisoryWait
}

type advisoryWait struct {
	s      *Session
	key    advisoryKey
	shared bool
	since  time.Time
}

// advisoryLocks is the engine's table of advisory locks.
type advisoryLocks struct {
	mu    sync.Mutex
	locks map[advisoryKey]*advisoryLock
	// waiting maps a waiting session to its request (deadlock checks).
	waiting map[*Session]*advisoryWait
	// changed is closed and replaced when any lock is released or a
	// waiter gives up, which may let a waiter through.
	changed chan struct{}
}

func newAdvisoryLocks() *advisoryLocks {
	return &advisoryLocks{locks: map[advisoryKey]*advisoryLock{}, waiting: map[*Session]*advisoryWait{}, changed: make(chan struct{})}
}

// blockers returns the sessions that keep w from being granted on l: other
// holders in a conflicting mode, and other sessions' conflicting requests
// queued before it. A session that holds the lock already does not queue
// (the queued requests wait for it anyway), as in PostgreSQL.
func (l *advisoryLock) blockers(w *advisoryWait) []*Session {
	var out []*Session
	for s, h := range l.holds {
		if s != w.s && (h.ex > 0 || !w.shared && h.sh > 0) {
			out = append(out, s)
		}
	}
	if l.holds[w.s] != nil {
		return out
	}
	for _, q := range l.waiters {
		if q == w {
			break
		}
		if q.s != w.s && (!q.shared || !w.shared) {
			out = append(out, q.s)
		}
	}
	return out
}

// acquire takes key for s (shared or exclusive); with try it returns false
// instead of waiting. timeout is lock_timeout (0: none).
// check is the deadlock check of a request that has to wait.
func (a *advisoryLocks) acquire(ctx context.Context, s *Session, key advisoryKey, shared, try bool, timeout time.Duration, check func(*Session) error) (bool, error) {
	a.mu.Lock()
	l := a.locks[key]
	if l == nil {
		l = &advisoryLock{holds: map[*Session]*advisoryHold{}}
		a.locks[key] = l
	}
	w := &advisoryWait{s: s, key: key, shared: shared}
	if len(l.blockers(w)) == 0 {
		a.grant(l, s, shared)
		a.mu.Unlock()
		return true, nil
	}
	if try {
		a.dropIfUnused(key, l)
		a.mu.Unlock()
		return false, nil
	}
	w.since = time.Now()
	l.waiters = append(l.waiters, w)
	a.waiting[s] = w
	a.mu.Unlock()
	err := check(s)
	a.mu.Lock()
	if err != nil && len(l.blockers(w)) > 0 {
		delete(a.waiting, s)
		a.giveUp(w)
		a.mu.Unlock()
		return false, err
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		if len(l.blockers(w)) == 0 {
			delete(a.waiting, s)
			a.removeWaiter(l, w)
			a.grant(l, s, shared)
			a.mu.Unlock()
			return true, nil
		}
		changed := a.changed
		a.mu.Unlock()
		var err error
		select {
		case <-changed:
		case <-ctx.Done():
			err = ctx.Err()
		case <-expired:
			err = sqlerr.New(sqlerr.LockNotAvailable, "canceling statement due to lock timeout")
		}
		a.mu.Lock()
		if err != nil {
			delete(a.waiting, s)
			a.giveUp(w)
			a.mu.Unlock()
			return false, err
		}
	}
}

func (a *advisoryLocks) grant(l *advisoryLock, s *Session, shared bool) {
	h := l.holds[s]
	if h == nil {
		h = &advisoryHold{}
		l.holds[s] = h
	}
	if shared {
		h.sh++
	} else {
		h.ex++
	}
	// A grant may let shared requests queued behind this one through
	// (they waited for it in arrival order).
	a.broadcast()
}

func (a *advisoryLocks) removeWaiter(l *advisoryLock, w *advisoryWait) {
	for i, q := range l.waiters {
		if q == w {
			l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
			return
		}
	}
}

// giveUp removes a waiter that stops waiting; requests behind it may now
// fit.
func (a *advisoryLocks) giveUp(w *advisoryWait) {
	l := a.locks[w.key]
	a.removeWaiter(l, w)
	a.dropIfUnused(w.key, l)
	a.broadcast()
}

func (a *advisoryLocks) broadcast() {
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *advisoryLocks) dropIfUnused(key advisoryKey, l *advisoryLock) {
	if len(l.holds) == 0 && len(l.waiters) == 0 {
		delete(a.locks, key)
	}
}

// release drops n holds of key by s in one mode.
func (a *advisoryLocks) release(s *Session, key advisoryKey, shared bool, n int) {
	if n <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.locks[key]
	if l == nil {
		return
	}
	h := l.holds[s]
	if h == nil {
		return
	}
	if shared {
		h.sh = max(h.sh-n, 0)
	} else {
		h.ex = max(h.ex-n, 0)
	}
	if h.ex == 0 && h.sh == 0 {
		delete(l.holds, s)
	}
	a.dropIfUnused(key, l)
	a.broadcast()
}

// sessionAdvisory is what one session holds, split by level so that the
// end of a transaction releases its holds and pg_advisory_unlock only
// session-level ones. Owned by the session's goroutine.
type sessionAdvisory struct {
	session map[advisoryKey]*advisoryHold
	xact    map[advisoryKey]*advisoryHold
	// xactLog lists the transaction-level holds in the order taken, so
	// that ROLLBACK TO SAVEPOINT releases those taken after the
	// savepoint, as PostgreSQL does.
	xactLog []advisoryXactHold
}

type advisoryXactHold struct {
	key    advisoryKey
	shared bool
}

func (h *sessionAdvisory) count(key advisoryKey, xact bool) *advisoryHold {
	m := &h.session
	if xact {
		m = &h.xact
	}
	if *m == nil {
		*m = map[advisoryKey]*advisoryHold{}
	}
	c := (*m)[key]
	if c == nil {
		c = &advisoryHold{}
		(*m)[key] = c
	}
	return c
}

// advisoryKeyOf makes the key of pg_advisory_lock(bigint) (one argument)
// or of pg_advisory_lock(int, int) in the session's database.
func (s *Session) advisoryKeyOf(keys []int64) advisoryKey {
	k := advisoryKey{db: s.info.Database}
	if len(keys) == 1 {
		k.hi, k.lo = uint32(uint64(keys[0])>>32), uint32(keys[0])
	} else {
		k.hi, k.lo, k.pair = uint32(keys[0]), uint32(keys[1]), true
	}
	return k
}

// AdvisoryLock takes an advisory lock for the session (xact: until the
// transaction ends); with try it reports false instead of waiting.
func (s *Session) AdvisoryLock(ctx context.Context, keys []int64, shared, xact, try bool) (bool, error) {
	key := s.advisoryKeyOf(keys)
	ok, err := s.e.advisory.acquire(ctx, s, key, shared, try, s.LockTimeout(), s.e.checkDeadlock)
	if !ok || err != nil {
		return false, err
	}
	c := s.advisory.count(key, xact)
	if xact {
		s.advisory.xactLog = append(s.advisory.xactLog, advisoryXactHold{key, shared})
	}
	if shared {
		c.sh++
	} else {
		c.ex++
	}
	return true, nil
}

// AdvisoryUnlock releases one session-level hold; without one it warns as
// PostgreSQL does and reports false.
func (s *Session) AdvisoryUnlock(keys []int64, shared bool) bool {
	key := s.advisoryKeyOf(keys)
	c := s.advisory.session[key]
	n := 0
	if c != nil {
		n = c.ex
		if shared {
			n = c.sh
		}
	}
	if n == 0 {
		mode := "ExclusiveLock"
		if shared {
			mode = "ShareLock"
		}
		s.warn("you don't own a lock of type %s", mode)
		return false
	}
	if shared {
		c.sh--
	} else {
		c.ex--
	}
	if c.ex == 0 && c.sh == 0 {
		delete(s.advisory.session, key)
	}
	s.e.advisory.release(s, key, shared, 1)
	return true
}

// AdvisoryUnlockAll releases every session-level hold of the session
// (pg_advisory_unlock_all); transaction-level ones stay.
func (s *Session) AdvisoryUnlockAll() {
	s.releaseAdvisory(&s.advisory.session)
}

// endTxnLocks releases the transaction-level advisory holds and the
// relation locks when no transaction is open any more (called at the end
// of every statement).
func (s *Session) endTxnLocks() {
	if s.txn != nil {
		return
	}
	if len(s.advisory.xact) > 0 {
		s.releaseAdvisory(&s.advisory.xact)
	}
	s.advisory.xactLog = s.advisory.xactLog[:0]
	if len(s.tables.log) > 0 || s.lockTxn.Load() != 0 {
		s.releaseTableLocks(0)
		s.lockTxn.Store(0)
		s.lxid.Add(1)
	}
}

// advisoryHoldMark is where the transaction-level hold log stands, for a
// savepoint.
func (s *Session) advisoryHoldMark() int { return len(s.advisory.xactLog) }

// releaseAdvisorySince gives up the transaction-level holds taken since
// the log had length mark (ROLLBACK TO SAVEPOINT).
func (s *Session) releaseAdvisorySince(mark int) {
	for _, h := range s.advisory.xactLog[mark:] {
		c := s.advisory.xact[h.key]
		if c == nil {
			continue
		}
		if h.shared {
			c.sh--
		} else {
			c.ex--
		}
		if c.ex <= 0 && c.sh <= 0 {
			delete(s.advisory.xact, h.key)
		}
		s.e.advisory.release(s, h.key, h.shared, 1)
	}
	s.advisory.xactLog = s.advisory.xactLog[:mark]
}

func (s *Session) releaseAdvisory(m *map[advisoryKey]*advisoryHold) {
	for key, c := range *m {
		s.e.advisory.release(s, key, false, c.ex)
		s.e.advisory.release(s, key, true, c.sh)
	}
	*m = nil
}
