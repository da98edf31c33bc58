package engine

// Session activity and signalling: what pg_stat_activity shows of every
// open session, and pg_backend_pid, pg_cancel_backend and
// pg_terminate_backend, which find a session by the process id its
// connection gave the client in BackendKeyData.

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"streamsql/catalog/pgcatalog"
	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/udf"
)

// activity is a session's state as other sessions see it. It is written
// by the session's own goroutine and read by any, under mu.
type activity struct {
	mu                                             sync.Mutex
	backendStart, xactStart, queryStart, changedAt time.Time
	// state is PostgreSQL's: "active", "idle", "idle in transaction" or
	// "idle in transaction (aborted)".
	state string
	query string // the running or last statement
	app   string // application_name, as of the last statement
	// notices are the WARNINGs signalling functions raised in the running
	// statement (they may run on other goroutines than the session's).
	notices []pgwire.Notice
}

// startActivity records the session's start.
func (s *Session) startActivity() {
	now := time.Now()
	s.act = &activity{backendStart: now, changedAt: now, state: "idle", app: s.info.Application}
	s.ended = make(chan struct{})
}

// noteActive records that the statement sql starts running.
func (s *Session) noteActive(sql string) {
	now := time.Now()
	a := s.act
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.txn != nil {
		a.xactStart = s.txnStart
	} else {
		a.xactStart = now
	}
	a.queryStart, a.changedAt, a.state, a.query = now, now, "active", sql
	a.notices = nil
}

// noteIdle records that the session waits for its client.
func (s *Session) noteIdle() {
	a := s.act
	state := "idle"
	var xact time.Time
	if s.txn != nil {
		state, xact = "idle in transaction", s.txnStart
		if s.txnFailed {
			state = "idle in transaction (aborted)"
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != state {
		a.changedAt = time.Now()
	}
	a.state, a.xactStart = state, xact
	a.app = s.settings().application
}

// warn queues a WARNING for the running statement; it goes out before the
// statement's CommandComplete.
func (s *Session) warn(format string, args ...any) {
	a := s.act
	a.mu.Lock()
	a.notices = append(a.notices, pgwire.Notice{Severity: "WARNING", Code: sqlerr.Warning, Message: fmt.Sprintf(format, args...)})
	a.mu.Unlock()
}

// takeWarnings returns and clears the queued warnings.
func (s *Session) takeWarnings() []pgwire.Notice {
	a := s.act
	a.mu.Lock()
	defer a.mu.Unlock()
	ns := a.notices
	a.notices = nil
	return ns
}

// pid is the session's process id (0 for a session without a connection).
func (s *Session) pid() int32 { return int32(s.info.PID) }

// sessionByPID returns the open session with process id pid, or nil.
func (e *Engine) sessionByPID(pid int32) *Session {
	if pid == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.sessions {
		if s.pid() == pid {
			return s
		}
	}
	return nil
}

// mayReadActivity reports whether the current role sees what session t
// does, as PostgreSQL's pg_stat_activity decides: a superuser, a role with
// the privileges of t's role, or a member of pg_read_all_stats.
func (s *Session) mayReadActivity(t *Session) bool {
	cur := s.currentUser()
	return s.isSuperuser() || s.e.cat.IsMemberOf(cur, t.info.User, true) || s.e.cat.IsMemberOf(cur, "pg_read_all_stats", true)
}

// Activity returns pg_stat_activity's rows: every session with a
// connection, ordered by process id.
func (c catalogReader) Activity() []pgcatalog.ActivityRow {
	s := c.s
	s.e.mu.Lock()
	all := make([]*Session, 0, len(s.e.sessions))
	for t := range s.e.sessions {
		if t.pid() != 0 {
			all = append(all, t)
		}
	}
	s.e.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].pid() < all[j].pid() })
	us := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMicro()
	}
	out := make([]pgcatalog.ActivityRow, 0, len(all))
	for _, t := range all {
		see := s.mayReadActivity(t)
		a := t.act
		a.mu.Lock()
		r := pgcatalog.ActivityRow{PID: t.pid(), User: t.info.User, Database: t.info.Database, Application: a.app}
		if see {
			r.BackendStart, r.XactStart, r.QueryStart, r.Changed = us(a.backendStart), us(a.xactStart), us(a.queryStart), us(a.changedAt)
			r.State, r.Query = a.state, a.query
			r.ClientAddr, r.ClientPort = clientAddress(t.info.RemoteAddr)
		} else {
			r.Hidden = true
		}
		a.mu.Unlock()
		out = append(out, r)
	}
	return out
}

// clientAddress splits a remote address into pg_stat_activity's
// client_addr and client_port: a Unix socket has no address and port -1.
func clientAddress(remote string) (string, int32) {
	host, port, err := net.SplitHostPort(remote)
	if err != nil {
		return "", -1
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return host, 0
	}
	return host, int32(p)
}

// sessionSignals implements udf.Sessions for session s.
type sessionSignals struct{ s *Session }

var _ udf.Sessions = sessionSignals{}

func (g sessionSignals) BackendPID() int32 { return g.s.pid() }

func (g sessionSignals) CancelBackend(pid int32) (bool, error) {
	t, err := g.s.signalTarget(pid, false)
	if t == nil || err != nil {
		return false, err
	}
	t.Cancel()
	return true, nil
}

func (g sessionSignals) TerminateBackend(pid int32, timeout time.Duration) (bool, error) {
	s := g.s
	t, err := s.signalTarget(pid, true)
	if t == nil || err != nil {
		return false, err
	}
	if t.info.Terminate == nil {
		t.Cancel()
	} else {
		t.info.Terminate()
	}
	if timeout <= 0 || t == s {
		return true, nil
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.ended:
		return true, nil
	case <-timer.C:
		s.warn("backend with PID %d did not terminate within %d milliseconds", pid, timeout.Milliseconds())
		return false, nil
	}
}

// signalTarget finds session pid for a cancel or terminate by s, checking
// PostgreSQL's rules: a superuser's session only by a superuser, another
// only by a role with the privileges of its role or of pg_signal_backend.
// An unknown pid gives a WARNING and no session.
func (s *Session) signalTarget(pid int32, terminate bool) (*Session, error) {
	t := s.e.sessionByPID(pid)
	if t == nil {
		s.warn("PID %d is not a PostgreSQL backend process", pid)
		return nil, nil
	}
	if s.isSuperuser() {
		return t, nil
	}
	what, detail := "permission denied to cancel query", ""
	if terminate {
		what = "permission denied to terminate process"
	}
	cur := s.currentUser()
	switch {
	case s.roleIsSuperuser(t.info.User):
		detail = "Only roles with the SUPERUSER attribute may cancel queries of roles with the SUPERUSER attribute."
		if terminate {
			detail = "Only roles with the SUPERUSER attribute may terminate processes of roles with the SUPERUSER attribute."
		}
	case !s.e.cat.IsMemberOf(cur, t.info.User, true) && !s.e.cat.IsMemberOf(cur, "pg_signal_backend", true):
		detail = `Only roles with privileges of the role whose query is being canceled or with privileges of the "pg_signal_backend" role may cancel this query.`
		if terminate {
			detail = `Only roles with privileges of the role whose process is being terminated or with privileges of the "pg_signal_backend" role may terminate this process.`
		}
	default:
		return t, nil
	}
	return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "%s", what).WithDetail("%s", detail)
}
