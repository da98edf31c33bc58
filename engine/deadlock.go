package engine

// One wait-for graph for every kind of lock: a session waits for the
// sessions holding (or queued before it for) a conflicting row lock,
// relation lock or advisory lock. When a request of any kind starts
// waiting, the graph is walked from its session; a path back to it is a
// deadlock, and the new request fails with 40P01 (PostgreSQL checks after
// deadlock_timeout; checking at once costs only the walk, paid only by
// requests that wait). Checks run one at a time, each after its request
// is queued, so of two requests that close a cycle together the later
// check sees both and exactly one fails: a cycle is always closed by a
// request that starts waiting, and that request's check finds it, however
// long the others have waited.
//
// deadlock_timeout (SHOW/SET, default 1s, superuser only as in
// PostgreSQL) is how long a relation lock wait goes before it walks the
// graph again, PostgreSQL's check; it finds a cycle only if the checks at
// wait start missed one, which they do not.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"streamsql/sql/sqlerr"
)

// sessionsByTxn maps the transaction ids of running transactions to their
// sessions.
func (e *Engine) sessionsByTxn() map[uint64]*Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[uint64]*Session, len(e.sessions))
	for s := range e.sessions {
		if id := s.lockTxn.Load(); id != 0 {
			m[id] = s
		}
	}
	return m
}

// waitGraph is a consistent picture of who waits for whom: the relation
// lock shards and the advisory locks are frozen while the row lock waits
// are read (one atomic read of their own), so every edge held at one
// instant. Reading the kinds one after another instead sees sessions that
// have been granted, committed and queued again as still waiting, and
// reports cycles that never existed. Transaction ids name one transaction
// ever, so mapping them to sessions through byTxn can miss an edge of a
// transaction begun since, never invent one.
func (e *Engine) waitGraph() map[*Session][]*Session {
	byTxn := e.sessionsByTxn()
	for i := range e.tables.shards {
		e.tables.shards[i].mu.Lock()
	}
	defer func() {
		for i := range e.tables.shards {
			e.tables.shards[i].mu.Unlock()
		}
	}()
	a := e.advisory
	a.mu.Lock()
	defer a.mu.Unlock()
	g := map[*Session][]*Session{}
	for i := range e.tables.shards {
		for _, l := range e.tables.shards[i].rels {
			for _, w := range l.waiters {
				g[w.s] = append(g[w.s], l.blockers(w)...)
			}
		}
	}
	for s, w := range a.waiting {
		if l := a.locks[w.key]; l != nil {
			g[s] = append(g[s], l.blockers(w)...)
		}
	}
	for _, w := range e.db.RowLockWaits() {
		s := byTxn[w.Txn]
		if s == nil {
			continue
		}
		for _, t := range w.Blockers {
			if b := byTxn[t]; b != nil && b != s {
				g[s] = append(g[s], b)
			}
		}
	}
	return g
}

// checkDeadlock fails with 40P01 when the request s has just queued closes
// a cycle of waiting sessions.
func (e *Engine) checkDeadlock(s *Session) error {
	e.deadlockMu.Lock()
	defer e.deadlockMu.Unlock()
	g := e.waitGraph()
	type step struct {
		s    *Session
		path []*Session
	}
	seen := map[*Session]bool{s: true}
	stack := []step{{s, []*Session{s}}}
	for len(stack) > 0 {
		st := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, b := range g[st.s] {
			if b == s {
				return e.deadlockError(st.path)
			}
			if !seen[b] {
				seen[b] = true
				stack = append(stack, step{b, append(append([]*Session(nil), st.path...), b)})
			}
		}
	}
	return nil
}

// deadlockError is PostgreSQL's 40P01 report of a cycle of sessions, the
// first being the requester.
func (e *Engine) deadlockError(cycle []*Session) error {
	var parts []string
	for i, s := range cycle {
		next := cycle[(i+1)%len(cycle)]
		parts = append(parts, "Process "+strconv.Itoa(int(s.pid()))+" waits for "+e.waitDesc(s, next)+"; blocked by process "+strconv.Itoa(int(next.pid()))+".")
	}
	return sqlerr.New(sqlerr.DeadlockDetected, "deadlock detected").
		WithDetail("%s", strings.Join(parts, "\n")).
		WithHint("See server log for query details.")
}

// waitDesc says what s waits for (blocked by next), as PostgreSQL's
// deadlock report does.
func (e *Engine) waitDesc(s, next *Session) string {
	if w := s.tables.wait.Load(); w != nil {
		return tableLockDesc(w)
	}
	if d := e.advisory.waitDesc(s); d != "" {
		return d
	}
	if id := next.lockTxn.Load(); id != 0 {
		return "ShareLock on transaction " + strconv.FormatUint(id, 10)
	}
	return "a lock"
}

// waitDesc describes s's advisory lock request, "" when it waits for none.
func (a *advisoryLocks) waitDesc(s *Session) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.waiting[s]
	if w == nil {
		return ""
	}
	mode := "ExclusiveLock"
	if w.shared {
		mode = "ShareLock"
	}
	return fmt.Sprintf("%s on %s", mode, w.key)
}

// rowWaitHook is the storage's row lock wait hook: the deadlock check of
// the session running transaction txn.
func (e *Engine) rowWaitHook(txn uint64) error {
	for id, s := range e.sessionsByTxn() {
		if id == txn {
			return e.checkDeadlock(s)
		}
	}
	return nil
}

// DeadlockTimeout is deadlock_timeout: how long a relation lock wait goes
// before its deadlock check is run again.
func (s *Session) DeadlockTimeout() time.Duration {
	if d := s.timeout(deadlockTimeoutIdx); d > 0 {
		return d
	}
	return time.Second
}

// checkDeadlockTimeout checks SET deadlock_timeout as PostgreSQL does:
// superusers only (42501), at least 1 ms; it returns the value as SHOW
// shows it.
func (s *Session) checkDeadlockTimeout(value string) (string, error) {
	if !s.isSuperuser() {
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to set parameter %q", "deadlock_timeout")
	}
	d, norm, err := parseTimeout("deadlock_timeout", value)
	if err != nil {
		return "", err
	}
	if d < time.Millisecond {
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "%d ms is outside the valid range for parameter %q (1 .. 2147483647)", d.Milliseconds(), "deadlock_timeout")
	}
	return norm, nil
}
