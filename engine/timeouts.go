package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/udf"
)

// Cancellation and timeouts of a session, as PostgreSQL has them.
//
// Every statement runs under a context of its own, made by
// statementContext when Prepare or Execute starts and released when the
// call returns or, for a statement that returns rows, when its result is
// closed. Session.Cancel (a CancelRequest with the right key, or the client
// going away) cancels it; statement_timeout gives it a deadline counted
// from the start of the statement (its Prepare in the simple protocol, the
// first message after ReadyForQuery in the extended one). The planner and
// the operators check the context (per batch, not per row); the error
// that comes back is mapped to 57014 at the boundary, with the reason.
//
// The idle timeouts are the protocol layer's to enforce, because it is
// what waits for the client; Idle tells it how long it may wait.

var (
	errCanceledByUser   = errors.New("canceled by user request")
	errStatementTimeout = errors.New("statement timeout")
)

// timeoutSettings are the settings that hold a duration in milliseconds.
var timeoutSettings = map[string]bool{
	"statement_timeout":                   true,
	"lock_timeout":                        true,
	"deadlock_timeout":                    true,
	"idle_in_transaction_session_timeout": true,
	"idle_session_timeout":                true,
}

// parseTimeout reads a timeout setting the way PostgreSQL reads an integer
// setting in milliseconds: a plain number is milliseconds, or a number
// with one of the units us, ms, s, min, h, d (case-sensitive, optionally
// after spaces); fractions are rounded. The result is normalized as
// PostgreSQL shows it (5000 becomes "5s").
func parseTimeout(name, value string) (time.Duration, string, error) {
	bad := func() error {
		return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter %q: %q", name, value).
			WithHint(`Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".`)
	}
	v := strings.TrimSpace(value)
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.' || (i == 0 && (v[i] == '-' || v[i] == '+'))) {
		i++
	}
	num, err := strconv.ParseFloat(v[:i], 64)
	if err != nil || math.IsNaN(num) {
		return 0, "", bad()
	}
	unit := strings.TrimSpace(v[i:])
	scale := map[string]float64{"": 1, "us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
	f, ok := scale[unit]
	if !ok {
		return 0, "", bad()
	}
	ms := math.Round(num * f)
	if ms < 0 || ms > math.MaxInt32 {
		return 0, "", sqlerr.New(sqlerr.InvalidParameterValue, "%s ms is outside the valid range for parameter %q (0 .. %d)", strconv.FormatFloat(ms, 'f', -1, 64), name, math.MaxInt32)
	}
	return time.Duration(ms) * time.Millisecond, showTimeout(int64(ms)), nil
}

// showTimeout renders milliseconds in the largest unit that divides them,
// as SHOW does in PostgreSQL.
func showTimeout(ms int64) string {
	if ms == 0 {
		return "0"
	}
	for _, u := range []struct {
		name string
		ms   int64
	}{{"d", 86_400_000}, {"h", 3_600_000}, {"min", 60_000}, {"s", 1000}} {
		if ms%u.ms == 0 {
			return strconv.FormatInt(ms/u.ms, 10) + u.name
		}
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// timeoutNames are the timeout settings, in sessionTimeouts' order.
var timeoutNames = [...]string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout", "deadlock_timeout"}

const (
	statementTimeoutIdx = iota
	lockTimeoutIdx
	idleInTransactionTimeoutIdx
	idleSessionTimeoutIdx
	deadlockTimeoutIdx
)

// sessionTimeouts caches the parsed timeout settings: every statement
// reads two or three of them, and looking each up and parsing it again
// costs more than the statement's own key encoding. Any change of the
// session's settings drops the cache (Session.settingsChanged).
type sessionTimeouts struct {
	valid bool
	d     [len(timeoutNames)]time.Duration
}

// timeout returns the value of a timeout setting (an index into
// timeoutNames); 0 means none.
func (s *Session) timeout(i int) time.Duration {
	if !s.timeouts.valid {
		for j, name := range timeoutNames {
			v, _ := s.get(name)
			d, _, err := parseTimeout(name, v)
			if err != nil {
				d = 0
			}
			s.timeouts.d[j] = d
		}
		s.timeouts.valid = true
	}
	return s.timeouts.d[i]
}

// LockTimeout is lock_timeout: how long a statement may wait for a lock
// (0: without limit).
func (s *Session) LockTimeout() time.Duration { return s.timeout(lockTimeoutIdx) }

// Idle implements pgwire.Session: in a transaction block the connection may
// idle for idle_in_transaction_session_timeout, outside one for
// idle_session_timeout. Between two statements no statement clock runs.
func (s *Session) Idle() (time.Duration, error) {
	s.stmtStart = time.Time{}
	for r := range s.clocks {
		r.pause()
	}
	s.noteIdle()
	s.mu.Lock()
	s.cancelPending, s.inStatement = false, false
	s.mu.Unlock()
	// The error is made only when a limit is set: Idle runs after every
	// statement.
	if s.txn != nil {
		if d := s.timeout(idleInTransactionTimeoutIdx); d > 0 {
			return d, sqlerr.New(sqlerr.IdleInTransactionSessionTimeout, "terminating connection due to idle-in-transaction timeout")
		}
		return 0, nil
	}
	if d := s.timeout(idleSessionTimeoutIdx); d > 0 {
		return d, sqlerr.New(sqlerr.IdleSessionTimeout, "terminating connection due to idle-session timeout")
	}
	return 0, nil
}

// statementContext returns the context of a statement (or of its Prepare):
// Cancel cancels it and statement_timeout bounds it. The run's release
// unregisters it from Cancel; with end set the statement is over and the
// next one starts a new statement clock.
func (s *Session) statementContext(ctx context.Context) (context.Context, *stmtRun) {
	if s.stmtStart.IsZero() {
		s.stmtStart = time.Now()
	}
	cctx, cancel := context.WithCancelCause(ctx)
	r := &stmtRun{s: s, cancel: cancel, limit: s.timeout(statementTimeoutIdx)}
	if r.limit > 0 {
		r.timer = time.AfterFunc(time.Until(s.stmtStart.Add(r.limit)), func() { cancel(errStatementTimeout) })
		s.clocks[r] = struct{}{}
	}
	r.register()
	return cctx, r
}

// stmtRun is a statement's hold on its session: the cancel function that
// Session.Cancel reaches and the statement_timeout timer.
type stmtRun struct {
	s        *Session
	cancel   context.CancelCauseFunc
	gen      uint64 // of the registration in Session.cancel
	limit    time.Duration
	timer    *time.Timer // nil without statement_timeout
	paused   bool        // the timer was stopped while the connection idled
	released bool
}

// register makes the run the one Session.Cancel cancels.
func (r *stmtRun) register() {
	s := r.s
	s.mu.Lock()
	s.stmtGen++
	r.gen = s.stmtGen
	s.cancel = r.cancel
	s.inStatement = true
	if s.cancelPending {
		s.cancelPending = false
		r.cancel(errCanceledByUser)
	}
	s.mu.Unlock()
}

// pause stops the statement clock while the connection idles after
// ReadyForQuery with the statement's portal still open (PostgreSQL stops
// the clock at Sync).
func (r *stmtRun) pause() {
	if r.timer != nil && !r.paused {
		r.paused = true
		r.timer.Stop()
	}
}

// resume continues a run whose portal is executed again after an idle
// wait: it takes cancels again and its clock restarts with this message.
func (r *stmtRun) resume() {
	if r.released || !r.paused {
		return
	}
	r.paused = false
	if r.s.stmtStart.IsZero() {
		r.s.stmtStart = time.Now()
	}
	r.timer.Reset(time.Until(r.s.stmtStart.Add(r.limit)))
	r.register()
}

func (r *stmtRun) release(end bool) {
	s := r.s
	if end {
		s.stmtStart = time.Time{}
		s.endTxnLocks()
	}
	if r.released {
		return
	}
	r.released = true
	if r.timer != nil {
		r.timer.Stop()
		delete(s.clocks, r)
	}
	s.mu.Lock()
	if s.stmtGen == r.gen {
		s.cancel = nil
		if end {
			s.inStatement = false
		}
	}
	s.mu.Unlock()
	r.cancel(nil)
}

// canceled turns the error of a statement whose context ended into
// PostgreSQL's 57014, naming the reason.
func canceled(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	if errors.Is(context.Cause(ctx), errStatementTimeout) {
		return &sqlerr.Error{Code: sqlerr.QueryCanceled, Message: "canceling statement due to statement timeout", Cause: err}
	}
	return &sqlerr.Error{Code: sqlerr.QueryCanceled, Message: "canceling statement due to user request", Cause: err}
}

// internalError turns a panic recovered in a statement into XX000 for that
// statement alone (a transaction block it ran in is aborted); the stack
// goes to the log.
func (s *Session) internalError(r any) error {
	s.e.log.Error("panic in statement", "panic", r, "stack", string(debug.Stack()))
	if s.txn != nil {
		s.txnFailed = true
	}
	return sqlerr.New(sqlerr.InternalError, "internal error: %v", r)
}

// stmtResult produces a result's rows under its statement's context and
// releases the context when the result is closed.
type stmtResult struct {
	pgwire.Result
	s   *Session
	ctx context.Context
	run *stmtRun
}

// withStatement wraps res so that its rows are produced under ctx.
func withStatement(s *Session, res pgwire.Result, ctx context.Context, run *stmtRun) pgwire.Result {
	r := stmtResult{Result: res, s: s, ctx: ctx, run: run}
	switch res := res.(type) {
	case pgwire.CopyInResult:
		return &stmtCopyIn{stmtResult: r, in: res}
	case pgwire.CopyOutResult:
		return &stmtCopyOut{stmtResult: r, out: res}
	}
	return &r
}

// recovered turns a panic while the result works into its error. Every
// method that works defers it, after calling resume.
func (r *stmtResult) recovered(err *error) {
	if p := recover(); p != nil {
		*err = r.s.internalError(p)
	}
}

func (r *stmtResult) Next(context.Context) (rec arrow.RecordBatch, err error) {
	r.run.resume()
	defer r.recovered(&err)
	rec, err = r.Result.Next(r.ctx)
	return rec, canceled(r.ctx, err)
}

// Blocking passes on whether the result's rows may take long to come.
func (r *stmtResult) Blocking() bool {
	b, ok := r.Result.(pgwire.BlockingResult)
	return ok && b.Blocking()
}

// Binary passes on whether the rows go out in the binary format (FETCH
// from a BINARY cursor).
func (r *stmtResult) Binary() bool {
	b, ok := r.Result.(pgwire.BinaryResult)
	return ok && b.Binary()
}

// Notices passes on the notices of the statement (pgwire.NoticeResult)
// at or above the session's client_min_messages.
func (r *stmtResult) Notices() []pgwire.Notice {
	ns := r.s.takeWarnings()
	if n, ok := r.Result.(pgwire.NoticeResult); ok {
		ns = append(n.Notices(), ns...)
	}
	if len(ns) == 0 {
		return nil
	}
	return noticesFor(ns, r.s.settings().minMessages)
}

func (r *stmtResult) Close() {
	r.Result.Close()
	r.run.release(true)
}

type stmtCopyIn struct {
	stmtResult
	in pgwire.CopyInResult
}

func (r *stmtCopyIn) CopyFormat() (int8, int) { return r.in.CopyFormat() }
func (r *stmtCopyIn) Write(_ context.Context, data []byte) (err error) {
	r.run.resume()
	defer r.recovered(&err)
	return canceled(r.ctx, r.in.Write(r.ctx, data))
}
func (r *stmtCopyIn) Abort(msg string) { r.in.Abort(msg) }
func (r *stmtCopyIn) Finish(context.Context) (tag string, err error) {
	r.run.resume()
	defer r.recovered(&err)
	tag, err = r.in.Finish(r.ctx)
	return tag, canceled(r.ctx, err)
}

type stmtCopyOut struct {
	stmtResult
	out pgwire.CopyOutResult
}

func (r *stmtCopyOut) CopyFormat() (int8, int) { return r.out.CopyFormat() }
func (r *stmtCopyOut) NextData(context.Context) (b []byte, err error) {
	r.run.resume()
	defer r.recovered(&err)
	b, err = r.out.NextData(r.ctx)
	return b, canceled(r.ctx, err)
}

// parseStartupOptions reads the "options" startup parameter (PGOPTIONS):
// command-line style switches of which `-c name=value` and `--name=value`
// set a setting; a backslash escapes the next character (a space in a
// value). Names are returned with dashes turned into underscores.
func parseStartupOptions(s string) ([][2]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	var out [][2]string
	for i := 0; i < len(words); i++ {
		w := words[i]
		var kv string
		switch {
		case w == "-c" && i+1 < len(words):
			i++
			kv = words[i]
		case strings.HasPrefix(w, "-c") && len(w) > 2:
			kv = w[2:]
		case strings.HasPrefix(w, "--"):
			kv = w[2:]
		default:
			return nil, sqlerr.New(sqlerr.ProtocolViolation, "invalid command-line argument for server process: %s", w).
				WithHint("Try \"postgres --help\" for more information.")
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, sqlerr.New(sqlerr.SyntaxError, "--%s requires a value", kv)
		}
		out = append(out, [2]string{strings.ReplaceAll(name, "-", "_"), value})
	}
	return out, nil
}

// settingDefaults validates server-wide defaults of settings: the
// timeouts, the limits of user functions and max_recursive_iterations
// (which views read too).
func settingDefaults(in map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range in {
		name := strings.ToLower(k)
		switch name {
		case "udf_timeout":
			if d, err := udf.ParseDurationSetting(v); err != nil || d < time.Millisecond {
				return nil, fmt.Errorf("invalid value for udf_timeout: %q", v)
			}
			out[name] = v
			continue
		case "udf_memory_limit":
			if n, err := udf.ParseBytesSetting(v); err != nil || n < 1<<20 {
				return nil, fmt.Errorf("invalid value for udf_memory_limit: %q", v)
			}
			out[name] = v
			continue
		case "max_recursive_iterations":
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				return nil, fmt.Errorf("invalid value for max_recursive_iterations: %q", v)
			}
			out[name] = v
			continue
		}
		if !timeoutSettings[name] {
			return nil, fmt.Errorf("setting %q has no server-wide default", k)
		}
		_, norm, err := parseTimeout(name, v)
		if err != nil {
			return nil, err
		}
		out[name] = norm
	}
	return out, nil
}
