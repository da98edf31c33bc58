// Package pgwire is StreamSQL's PostgreSQL server: it speaks the frontend/
// backend protocol version 3 (startup, authentication, simple and extended
// query, COPY, cancellation) on top of the pgproto3 codec and turns every
// client request into calls on the Backend, Session, Statement and Result
// interfaces of backend.go. It knows nothing of the engine behind them.
//
// Each connection is served by two goroutines: one reads and frames
// messages (so that a client that disappears mid-statement is noticed and the
// statement cancelled), the other runs the protocol state machine and is the
// only one that touches the Session or writes to the socket.
package pgwire

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"streamsql/auth"
)

// DefaultMaxMessageSize is the largest message body accepted from a client
// when Options.MaxMessageSize is zero.
const DefaultMaxMessageSize = 64 << 20

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("pgwire: server closed")

// AuthMethod is how clients prove who they are.
type AuthMethod uint8

const (
	// AuthTrust accepts every client without a password.
	AuthTrust AuthMethod = iota
	// AuthPassword asks for the password in clear text.
	AuthPassword
	// AuthMD5 asks for an MD5 hash of password, user name and a random salt.
	AuthMD5
)

// String names the method as pg_hba.conf does.
func (m AuthMethod) String() string {
	switch m {
	case AuthPassword:
		return "password"
	case AuthMD5:
		return "md5"
	}
	return "trust"
}

// AuthConfig configures client authentication: host-based rules (HBA and
// Roles), or, without rules, one Method for all non-loopback clients.
type AuthConfig struct {
	// HBA, when set, decides how each client authenticates (auth.go);
	// Method, Password and PasswordOnLoopback are then unused.
	HBA *auth.HBA
	// Roles gives the password secrets and memberships HBA needs.
	Roles RoleStore

	// Method applies to clients that are not on a loopback address (or to
	// all clients when PasswordOnLoopback is set); loopback clients are
	// trusted otherwise. The zero value trusts everyone.
	Method AuthMethod
	// Password returns the password of user, and false for an unknown user.
	// It is required for AuthPassword and AuthMD5.
	Password func(user string) (string, bool)
	// PasswordOnLoopback applies Method to loopback clients too.
	PasswordOnLoopback bool
}

// Options configures a Server.
type Options struct {
	Logger *slog.Logger
	// MaxMessageSize bounds the body of one client message; larger messages
	// end the connection with 08P01. Zero means DefaultMaxMessageSize.
	MaxMessageSize int
	// MaxConnections bounds the sessions served at once (PostgreSQL's
	// max_connections); a client beyond it gets FATAL 53300 after its
	// startup packet. Zero means DefaultMaxConnections, negative no limit.
	MaxConnections int
	// AuthenticationTimeout bounds the time from accepting a connection to
	// the end of its authentication; a connection still silent then is
	// closed. Zero means DefaultAuthenticationTimeout, negative none.
	AuthenticationTimeout time.Duration
	// MessageMemory bounds the bytes of large messages (above 256 KiB)
	// being read at once across all connections; a reader waits for its
	// share. Zero means DefaultMessageMemory; it is never below
	// MaxMessageSize.
	MessageMemory int64
	Auth          AuthConfig
	// TLS, when set, is used for clients that ask for it (SSLRequest is
	// answered 'S'); hostssl and hostnossl rules tell the two apart. Its
	// ClientCAs verify client certificates (the cert method).
	TLS *tls.Config
}

// Server serves the PostgreSQL protocol for a Backend.
type Server struct {
	backend Backend
	opts    Options
	log     *slog.Logger

	// shutdown is closed when Shutdown starts; idle connections then end.
	shutdown     chan struct{}
	shutdownOnce sync.Once

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	byPID     map[uint32]*conn // for CancelRequest
	nextPID   uint32
	connWG    sync.WaitGroup
	// sessions counts connections holding a max_connections slot.
	sessions int

	// msgMem is the budget of large message bodies being read.
	msgMem *byteBudget
	// endPoint is the tls-server-end-point channel binding data of the
	// TLS certificate (nil: no SCRAM-SHA-256-PLUS).
	endPoint []byte
}

// NewServer returns a server for b.
func NewServer(b Backend, opts Options) *Server {
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = DefaultMaxConnections
	}
	if opts.AuthenticationTimeout == 0 {
		opts.AuthenticationTimeout = DefaultAuthenticationTimeout
	}
	if opts.MessageMemory <= 0 {
		opts.MessageMemory = DefaultMessageMemory
	}
	opts.MessageMemory = max(opts.MessageMemory, int64(opts.MaxMessageSize))
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	endPoint, err := serverEndPoint(opts.TLS)
	if err != nil {
		log.Warn("pgwire: no channel binding", "err", err)
	}
	return &Server{
		endPoint:  endPoint,
		backend:   b,
		opts:      opts,
		log:       log,
		shutdown:  make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		byPID:     make(map[uint32]*conn),
		nextPID:   1000,
		msgMem:    newByteBudget(opts.MessageMemory),
	}
}

// Serve accepts connections on ln until Shutdown is called or ctx ends, and
// serves each on its own goroutine. When ctx ends, every connection is closed
// at once (running statements are cancelled) and Serve waits for them; after
// Shutdown it returns ErrServerClosed as soon as ln is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	select {
	case <-s.shutdown:
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	default:
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	backoff := acceptBackoff{log: s.log}
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.shutdown:
				return ErrServerClosed
			default:
			}
			if ctx.Err() != nil {
				return s.endServe(ctx)
			}
			if !retryableAcceptError(err) {
				return fmt.Errorf("pgwire: accept: %w", err)
			}
			t := time.NewTimer(backoff.next(err))
			select {
			case <-t.C:
			case <-s.shutdown:
				t.Stop()
				return ErrServerClosed
			case <-ctx.Done():
				t.Stop()
				return s.endServe(ctx)
			}
			continue
		}
		backoff.reset()
		s.startConn(ctx, nc)
	}
}

// endServe closes every connection after ctx ended and waits for them.
func (s *Server) endServe(ctx context.Context) error {
	s.closeAll()
	s.connWG.Wait()
	return ctx.Err()
}

// startConn registers nc and serves it on a new goroutine.
func (s *Server) startConn(ctx context.Context, nc net.Conn) {
	// Add under mu, after the shutdown check, so that it never races with
	// the Wait in Shutdown.
	s.mu.Lock()
	select {
	case <-s.shutdown:
		s.mu.Unlock()
		nc.Close()
		return
	default:
	}
	s.connWG.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.connWG.Done()
		s.serveConn(ctx, nc)
	}()
}

// Shutdown stops accepting connections, ends idle connections with 57P01
// and waits for busy ones to finish their current work and end likewise.
// When ctx ends first, the remaining connections are closed at once and
// ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { close(s.shutdown) })
	s.mu.Lock()
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.closeAll()
		<-done
		return ctx.Err()
	}
}

// closeAll forcibly ends every connection.
func (s *Server) closeAll() {
	s.mu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.kill()
	}
}

// register records c and assigns its process id.
func (s *Server) register(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		s.nextPID++
		if s.nextPID == 0 {
			continue
		}
		if _, taken := s.byPID[s.nextPID]; !taken {
			break
		}
	}
	c.pid = s.nextPID
	s.conns[c] = struct{}{}
	s.byPID[c.pid] = c
}

// track records c (before startup completes) so that closeAll reaches it.
func (s *Server) track(c *conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
}

// unregister forgets c.
func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if c.pid != 0 && s.byPID[c.pid] == c {
		delete(s.byPID, c.pid)
	}
	s.mu.Unlock()
}

// cancel handles a CancelRequest: it cancels the statement running on the
// connection with that process id if the secret key matches.
func (s *Server) cancel(pid uint32, secret []byte) {
	s.mu.Lock()
	c := s.byPID[pid]
	s.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare(c.secret, secret) != 1 {
		s.log.Debug("pgwire: cancel request for unknown process", "pid", pid)
		return
	}
	s.log.Debug("pgwire: cancel request", "pid", pid)
	c.cancelStatement()
}
