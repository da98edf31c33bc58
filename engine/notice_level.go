package engine

import (
	"fmt"
	"strings"

	"streamsql/pgwire"
)

// messageLevels ranks the severities a client can be sent, as
// client_min_messages orders them: a notice goes out when its level is
// at least the session's setting. WARNING always outranks NOTICE, so
// `SET client_min_messages = warning` silences notices but not
// warnings, as in PostgreSQL.
var messageLevels = map[string]int{
	"debug5": 1, "debug4": 2, "debug3": 3, "debug2": 4, "debug1": 5, "debug": 4,
	"log": 6, "notice": 7, "info": 7, "warning": 8, "error": 9,
}

// noticesFor keeps the notices a session with client_min_messages =
// min is sent. INFO goes out whatever the setting, as PostgreSQL sends it.
func noticesFor(ns []pgwire.Notice, min string) []pgwire.Notice {
	floor, ok := messageLevels[strings.ToLower(strings.TrimSpace(min))]
	if !ok {
		floor = messageLevels["notice"]
	}
	out := ns[:0:0]
	for _, n := range ns {
		sev := strings.ToLower(n.Severity)
		if sev == "" {
			sev = "notice"
		}
		if sev == "info" || messageLevels[sev] >= floor {
			out = append(out, n)
		}
	}
	return out
}

// notice queues a notice for the statement being run: it goes out with
// the statement's result (Session.takeNotices), like PostgreSQL's
// "does not exist, skipping".
func (s *Session) notice(code, format string, args ...any) {
	s.pendingNotices = append(s.pendingNotices, pgwire.Notice{Code: code, Message: fmt.Sprintf(format, args...)})
}

// skipping queues the NOTICE of an IF [NOT] EXISTS that found nothing to
// do: code 00000 for a missing object, the duplicate's SQLSTATE for one
// that already exists.
func (s *Session) skipping(code, format string, args ...any) {
	s.notice(code, format+", skipping", args...)
}

// takeNotices returns and clears the queued notices.
func (s *Session) takeNotices() []pgwire.Notice {
	ns := s.pendingNotices
	s.pendingNotices = nil
	return ns
}

// withNotices attaches notices to a statement's result. Only results
// without rows carry them (the DDL that raises them).
func withNotices(res pgwire.Result, ns []pgwire.Notice) pgwire.Result {
	switch r := res.(type) {
	case *staticResult:
		if len(r.recs) == 0 {
			return &noticeResult{staticResult: *r, notices: ns}
		}
	case *noticeResult:
		r.notices = append(ns, r.notices...)
	}
	return res
}
