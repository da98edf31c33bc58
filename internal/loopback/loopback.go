// Package loopback serves an engine over the PostgreSQL protocol on a
// loopback port, as streamsqld wires them, for the code that runs a whole
// server inside its own process: the test servers, the end-to-end
// benchmarks and the Nexmark harness.
package loopback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"streamsql/engine"
	"streamsql/pgwire"
)

// Server is an engine and its protocol server on 127.0.0.1.
type Server struct {
	Engine *engine.Engine
	Wire   *pgwire.Server
	Host   string
	Port   int

	cancel context.CancelFunc
	done   chan error
	// stopOnce runs Stop once; shutdownErr and stopErr are its results,
	// which later calls return (a second Stop, as a test's deferred close
	// after a failed restart makes, must not wait for a serve loop that
	// already ended).
	stopOnce    sync.Once
	shutdownErr error
	stopErr     error
}

// Start opens an engine with opts (Logger defaults to a discarding one)
// and serves it on an OS-chosen port with the protocol options wire (its
// Logger defaults to the engine's; with an HBA and no role source, the
// engine's roles).
func Start(opts engine.Options, wire pgwire.Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	eng, err := engine.Open(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		eng.Close()
		return nil, err
	}
	if wire.Logger == nil {
		wire.Logger = opts.Logger
	}
	if wire.Auth.HBA != nil && wire.Auth.Roles == nil {
		wire.Auth.Roles = eng
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Engine: eng, Wire: pgwire.NewServer(eng, wire), Host: "127.0.0.1",
		Port: ln.Addr().(*net.TCPAddr).Port, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- s.Wire.Serve(ctx, ln) }()
	return s, nil
}

// URL is a postgres:// URL for user and database.
func (s *Server) URL(user, db string) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", user, s.Host, s.Port, db)
}

// Stop shuts the protocol server down (waiting up to 10 s for sessions to
// end) and closes the engine; its data stays. shutdown is the error of
// the shutdown (sessions that did not end in time), err what went wrong
// in serving and in closing the engine. Later calls return the first
// call's results.
func (s *Server) Stop() (shutdown, err error) {
	s.stopOnce.Do(func() { s.shutdownErr, s.stopErr = s.stop() })
	return s.shutdownErr, s.stopErr
}

func (s *Server) stop() (shutdown, err error) {
	sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
	defer c()
	shutdown = s.Wire.Shutdown(sctx)
	s.cancel()
	if serr := <-s.done; serr != nil && !errors.Is(serr, pgwire.ErrServerClosed) &&
		!errors.Is(serr, net.ErrClosed) && !errors.Is(serr, context.Canceled) {
		err = fmt.Errorf("serve: %w", serr)
	}
	if cerr := s.Engine.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("engine close: %w", cerr))
	}
	return shutdown, err
}
