package pgwire

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/sql/sqlerr"
)

// frame is one framed client message, or the error that ended reading.
type frame struct {
	typ  byte
	body []byte
	err  error
	big  bool // the reader waits until this frame is taken
	// budget is what the body holds of the server's message memory; it
	// is given back when the state machine asks for the next frame.
	budget int64
}

// bigFrame is the body size above which the reader stops reading ahead,
// so that read-ahead never holds more than a few MiB.
const bigFrame = 256 << 10

// errConnGone stops the state machine: the client is gone or was told FATAL.
var errConnGone = errors.New("pgwire: connection closed")

// conn is one client connection.
type conn struct {
	srv *Server
	nc  net.Conn
	br  *bufio.Reader
	w   writer
	log *slog.Logger

	ctx    context.Context // cancelled when the client vanishes or on forced shutdown
	cancel context.CancelFunc

	pid    uint32
	secret []byte
	// tls is the connection after the TLS handshake, nil without TLS.
	tls *tls.Conn
	// served is the certificate the TLS handshake sent, when the server's
	// is chosen per connection (GetCertificate: it may be reloaded).
	served *tls.Certificate

	// mu guards sess against Cancel racing with Close.
	mu         sync.Mutex
	sess       Session
	sessClosed bool

	// terminating is closed by terminate (pg_terminate_backend).
	terminating   chan struct{}
	terminateOnce sync.Once

	frames   chan frame
	taken    chan struct{} // the state machine took a big frame
	done     chan struct{} // closed when the state machine ends
	readDone chan struct{} // closed when readLoop returns; nil if it never ran

	// slot says the connection holds a max_connections slot.
	slot bool
	// held is the message memory of the frame being handled (state
	// machine goroutine only).
	held int64

	// Protocol state, owned by the state machine goroutine.
	loc            *time.Location
	tzName         string
	pendingParams  map[string]string
	stmts          map[string]*prepared
	portals        map[string]*portal
	ignoreTillSync bool
	active         *portal // portal being executed, dropped after a panic
	fatalSent      bool
	// ready is set when ReadyForQuery was sent: the next wait is idle, and
	// its limit comes from Session.Idle.
	ready     bool
	idleLimit time.Duration
	idleErr   error
	// holdOutput keeps the output buffered while waiting for the next
	// message: the last one was an extended-protocol message whose reply
	// is due only at Sync or Flush.
	holdOutput bool
}

// serveConn runs one connection to its end.
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	cctx, cancel := context.WithCancel(ctx)
	c := &conn{
		srv:           s,
		nc:            nc,
		br:            bufio.NewReaderSize(nc, 8192),
		w:             writer{nc: nc, partial: -1},
		log:           s.log.With("remote", nc.RemoteAddr().String()),
		ctx:           cctx,
		cancel:        cancel,
		frames:        make(chan frame, 16),
		terminating:   make(chan struct{}),
		taken:         make(chan struct{}, 1),
		done:          make(chan struct{}),
		loc:           time.UTC,
		pendingParams: make(map[string]string),
		stmts:         make(map[string]*prepared),
		portals:       make(map[string]*portal),
	}
	s.track(c)
	defer func() {
		close(c.done)
		c.closePortals()
		c.closeSession()
		s.unregister(c)
		if c.slot {
			s.releaseSlot()
		}
		cancel()
		if c.fatalSent {
			lingerClose(nc)
		}
		nc.Close()
		c.releaseFrames()
		c.log.Debug("pgwire: connection closed", "pid", c.pid)
	}()
	// A forced close must also wake a startup blocked in a read.
	stop := context.AfterFunc(cctx, func() { nc.Close() })
	defer stop()

	// Startup and authentication must end within the timeout: a client
	// that connects and stays silent holds a socket that long at most.
	if t := s.opts.AuthenticationTimeout; t > 0 {
		nc.SetDeadline(time.Now().Add(t))
	}
	if !c.startup() {
		return
	}
	nc.SetDeadline(time.Time{})
	c.readDone = make(chan struct{})
	go c.readLoop()
	c.run()
}

// releaseFrames gives back the message memory of the frame being handled
// and of frames never taken, once readLoop has stopped.
func (c *conn) releaseFrames() {
	if c.readDone != nil {
		<-c.readDone
	}
	c.srv.msgMem.release(c.held)
	c.held = 0
	for {
		select {
		case f := <-c.frames:
			c.srv.msgMem.release(f.budget)
		default:
			return
		}
	}
}

// kill ends the connection at once: the running statement is cancelled and
// the socket closed, which stops both goroutines.
func (c *conn) kill() {
	c.cancelStatement()
	c.cancel()
	c.nc.Close()
}

// errTerminated ends a connection that pg_terminate_backend ended.
var errTerminated = sqlerr.New(sqlerr.AdminShutdown, "terminating connection due to administrator command")

// terminate ends the connection at the request of another session: the
// running statement is cancelled, and the state machine sends FATAL 57P01
// in place of the statement's error or of the next ReadyForQuery wait.
func (c *conn) terminate() {
	c.terminateOnce.Do(func() { close(c.terminating) })
	c.cancelStatement()
}

// terminated reports whether terminate was called.
func (c *conn) terminated() bool {
	select {
	case <-c.terminating:
		return true
	default:
		return false
	}
}

// endTerminated sends the FATAL of a terminated connection; nothing is
// sent after it.
func (c *conn) endTerminated() {
	c.log.Info("pgwire: connection terminated by administrator command", "pid", c.pid)
	c.sendFatal(errTerminated)
	if c.w.err == nil {
		c.w.err = errTerminated
	}
}

// cancelStatement cancels the statement running on the session, if any.
func (c *conn) cancelStatement() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil && !c.sessClosed {
		c.sess.Cancel()
	}
}

func (c *conn) closeSession() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil && !c.sessClosed {
		c.sessClosed = true
		func() {
			defer func() {
				if r := recover(); r != nil {
					c.log.Error("pgwire: panic closing session", "panic", r, "stack", string(debug.Stack()))
				}
			}()
			c.sess.Close()
		}()
	}
}

// readLoop frames client messages for the state machine. It keeps reading
// while a statement runs so that a vanished client cancels it.
func (c *conn) readLoop() {
	defer close(c.readDone)
	maxLen := c.srv.opts.MaxMessageSize
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
			c.clientGone(err)
			return
		}
		// The length includes itself; check it before allocating anything.
		n := int64(int32(binary.BigEndian.Uint32(hdr[1:])))
		if n < 4 {
			c.push(frame{err: sqlerr.New(sqlerr.ProtocolViolation, "invalid message length")})
			return
		}
		if n-4 > int64(maxLen) {
			c.push(frame{err: sqlerr.New(sqlerr.ProtocolViolation, "invalid message length").
				WithDetail("Message of %d bytes exceeds the limit of %d bytes.", n-4, maxLen)})
			return
		}
		// A large body first takes its share of the server's message
		// memory, then grows only as its bytes arrive.
		var budget int64
		if n-4 > bigFrame {
			budget = n - 4
			if err := c.srv.msgMem.acquire(c.ctx, budget); err != nil {
				c.clientGone(err)
				return
			}
		}
		body, err := readBody(c.br, int(n-4))
		if err != nil {
			c.srv.msgMem.release(budget)
			c.clientGone(err)
			return
		}
		big := len(body) > bigFrame
		if !c.push(frame{typ: hdr[0], body: body, big: big, budget: budget}) {
			c.srv.msgMem.release(budget)
			return
		}
		if big {
			select {
			case <-c.taken:
			case <-c.done:
				return
			}
		}
	}
}

// clientGone reacts to a failed read: the running statement is cancelled
// now rather than when the state machine next looks at the socket.
func (c *conn) clientGone(err error) {
	select {
	case <-c.done:
		return
	default:
	}
	c.cancelStatement()
	c.cancel()
	c.push(frame{err: fmt.Errorf("%w: %v", errConnGone, err)})
}

func (c *conn) push(f frame) bool {
	select {
	case c.frames <- f:
		return true
	case <-c.done:
		return false
	}
}

// next returns the next client message. Pending output is flushed before
// blocking. When idle is set, a server shutdown ends the connection with
// 57P01 instead.
func (c *conn) next(idle bool) (frame, bool) {
	// The previous message is handled: its memory goes back to the server
	// (before waiting, so that an idle connection holds none).
	c.srv.msgMem.release(c.held)
	c.held = 0
	if c.terminated() {
		c.endTerminated()
		return frame{}, false
	}
	select {
	case f := <-c.frames:
		return c.took(f), true
	default:
	}
	if !c.holdOutput && c.w.flush() != nil {
		return frame{}, false
	}
	shutdown := c.srv.shutdown
	if !idle {
		shutdown = nil
	}
	var expired <-chan time.Time
	if idle && c.idleLimit > 0 {
		t := time.NewTimer(c.idleLimit)
		defer t.Stop()
		expired = t.C
	}
	select {
	case f := <-c.frames:
		return c.took(f), true
	case <-expired:
		c.log.Info("pgwire: idle timeout", "pid", c.pid, "err", c.idleErr)
		c.sendFatal(c.idleErr)
		return frame{}, false
	case <-shutdown:
		c.sendFatal(sqlerr.New(sqlerr.AdminShutdown, "terminating connection due to administrator command"))
		return frame{}, false
	case <-c.terminating:
		c.endTerminated()
		return frame{}, false
	case <-c.ctx.Done():
		return frame{}, false
	}
}

// took lets the reader go on after a big frame, and records the message
// memory the frame holds until the state machine asks for the next one.
func (c *conn) took(f frame) frame {
	c.held = f.budget
	if f.big {
		c.taken <- struct{}{}
	}
	return f
}

// run is the state machine after startup.
func (c *conn) run() {
	c.ready = true // startup ended with ReadyForQuery
	for {
		c.idleLimit, c.idleErr = 0, nil
		if c.ready {
			c.ready = false
			c.idleLimit, c.idleErr = c.sess.Idle()
		}
		f, ok := c.next(true)
		if !ok {
			return
		}
		if f.err != nil {
			c.frameError(f.err)
			return
		}
		if c.ignoreTillSync && f.typ != 'S' && f.typ != 'X' {
			continue
		}
		c.holdOutput = false
		if err := c.dispatchSafe(f); err != nil {
			if !errors.Is(err, errConnGone) {
				c.sendFatal(err)
			}
			return
		}
		if c.w.err != nil {
			return
		}
		// The replies to extended-protocol messages wait for Sync or
		// Flush, as in PostgreSQL, so that Bind, Execute and Sync cost
		// one write; an error goes out at once.
		switch f.typ {
		case 'P', 'B', 'D', 'E', 'C':
			c.holdOutput = !c.ignoreTillSync
		}
	}
}

// frameError ends the connection for a reading error: FATAL for a protocol
// violation, silence for a vanished client.
func (c *conn) frameError(err error) {
	if errors.Is(err, errConnGone) {
		c.log.Debug("pgwire: client went away", "err", err)
		return
	}
	c.log.Warn("pgwire: protocol violation", "err", err)
	c.sendFatal(err)
}

// dispatchSafe handles one message, turning a panic in the backend into an
// XX000 error for this client only. A returned error ends the connection
// (with FATAL unless it is errConnGone).
func (c *conn) dispatchSafe(f frame) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		c.log.Error("pgwire: panic while handling message", "type", string(f.typ), "panic", r, "stack", string(debug.Stack()))
		c.w.dropPartial()
		if c.active != nil {
			c.dropPortal(c.active)
			c.active = nil
		}
		c.sendError(sqlerr.New(sqlerr.InternalError, "internal error: %v", r))
		switch f.typ {
		case 'Q', 'F':
			c.readyForQuery()
		case 'S':
			c.ignoreTillSync = false
			c.readyForQuery()
		default:
			c.ignoreTillSync = true
		}
		err = nil
	}()
	return c.dispatch(f)
}

func (c *conn) dispatch(f frame) error {
	switch f.typ {
	case 'Q':
		var m pgproto3.Query
		if err := m.Decode(f.body); err != nil {
			return malformed("Query", err)
		}
		return c.simpleQuery(m.String)
	case 'P', 'B', 'D', 'E', 'C', 'H', 'S':
		return c.extended(f)
	case 'd', 'c', 'f':
		// Copy messages after a failed COPY: the protocol says to ignore them.
		return nil
	case 'F':
		c.sendError(sqlerr.New(sqlerr.FeatureNotSupported, "fastpath function calls are not supported"))
		c.readyForQuery()
		return nil
	case 'X':
		return errConnGone
	}
	return sqlerr.New(sqlerr.ProtocolViolation, "invalid frontend message type %d", f.typ)
}

func malformed(what string, err error) error {
	return sqlerr.New(sqlerr.ProtocolViolation, "invalid %s message format", what).WithDetail("%s", strings.TrimSpace(err.Error()))
}

// readyForQuery reports changed parameters (as PostgreSQL does, just before
// ReadyForQuery) and the transaction status.
func (c *conn) readyForQuery() {
	c.collectParams()
	if len(c.pendingParams) > 0 {
		names := make([]string, 0, len(c.pendingParams))
		for k := range c.pendingParams {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			c.w.send(&pgproto3.ParameterStatus{Name: k, Value: c.pendingParams[k]})
		}
		clear(c.pendingParams)
	}
	c.w.send(&pgproto3.ReadyForQuery{TxStatus: c.sess.TxStatus()})
	c.ready = true
}

// collectParams picks up parameters changed by the statement just run;
// the time zone takes effect for the output of the next statement.
func (c *conn) collectParams() {
	for k, v := range c.sess.ChangedParameters() {
		c.pendingParams[k] = v
		c.noteParam(k, v)
	}
}

func (c *conn) noteParam(k, v string) {
	if k != "TimeZone" || v == c.tzName {
		return
	}
	c.tzName = v
	loc, err := time.LoadLocation(v)
	if err != nil {
		c.log.Debug("pgwire: unknown time zone, using UTC", "tz", v, "err", err)
		loc = time.UTC
	}
	c.loc = loc
}

// sendError sends an ErrorResponse for err.
func (c *conn) sendError(err error) {
	if c.terminated() {
		// The statement failed because it was cancelled for the
		// termination: the client learns of the termination instead.
		c.endTerminated()
		return
	}
	e := sqlerr.From(err)
	sev := e.Severity
	if sev == "" {
		sev = "ERROR"
	}
	c.sendErr(e, sev)
}

// sendFatal sends a FATAL ErrorResponse and flushes it; the caller closes.
func (c *conn) sendFatal(err error) {
	c.sendErr(sqlerr.From(err), "FATAL")
	c.w.flush()
	c.fatalSent = true
}

// lingerClose half-closes nc and briefly discards what the client still
// sends: closing a socket with unread input resets the connection, and the
// client could lose the FATAL message that explains why.
func lingerClose(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.CloseWrite()
		tc.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		io.Copy(io.Discard, io.LimitReader(tc, 8<<20))
	}
}

func (c *conn) sendErr(e *sqlerr.Error, sev string) {
	if e.Code == sqlerr.InternalError {
		c.log.Warn("pgwire: internal error", "err", e.Message)
	}
	c.w.send(&pgproto3.ErrorResponse{
		Severity:            sev,
		SeverityUnlocalized: sev,
		Code:                e.Code,
		Message:             e.Message,
		Detail:              e.Detail,
		Hint:                e.Hint,
		Position:            int32(e.Position),
	})
}

// writer buffers outgoing messages. The first write error sticks; later
// sends are dropped and the state machine stops.
type writer struct {
	nc  net.Conn
	buf []byte
	err error
	// partial is the start of a message being encoded by hand, or -1; a
	// panic midway truncates the buffer back to it.
	partial int
}

func (w *writer) send(m pgproto3.BackendMessage) {
	if w.err != nil {
		return
	}
	b, err := m.Encode(w.buf)
	if err != nil {
		// Only oversized fields fail to encode; report, don't die.
		w.buf, _ = (&pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: sqlerr.ProgramLimitExceeded, Message: err.Error()}).Encode(w.buf)
		return
	}
	w.buf = b
}

func (w *writer) dropPartial() {
	if w.partial >= 0 && w.partial <= len(w.buf) {
		w.buf = w.buf[:w.partial]
	}
	w.partial = -1
}

func (w *writer) flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.nc.Write(w.buf)
	}
	if cap(w.buf) > 1<<20 {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	return w.err
}

// flushIfLarge keeps the buffer bounded while streaming rows.
func (w *writer) flushIfLarge() error {
	if len(w.buf) >= 64<<10 {
		return w.flush()
	}
	return w.err
}

// fatalError is an error that ends the connection with a FATAL message,
// even when it arises in the middle of a statement (for instance a
// protocol violation during COPY).
type fatalError struct{ err error }

func (f fatalError) Error() string { return f.err.Error() }
func (f fatalError) Unwrap() error { return f.err }

// isFatal reports whether err must end the connection.
func isFatal(err error) bool {
	var f fatalError
	return errors.Is(err, errConnGone) || errors.As(err, &f)
}
