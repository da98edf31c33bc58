// Package testserver starts a real StreamSQL server for tests: the engine
// over pebble in a temporary directory and the wire protocol on a
// loopback port, both stopped when the test ends.
package testserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"streamsql/engine"
	"streamsql/pgwire"
)

// Server is a running server.
type Server struct {
	Engine *engine.Engine
	Wire   *pgwire.Server
	Host   string
	Port   int
}

// Start opens an engine with opts (DataDir defaults to a temporary
// directory, Logger to a discarding one) and serves it.
func Start(t testing.TB, opts engine.Options) *Server {
	t.Helper()
	return StartWire(t, opts, pgwire.Options{})
}

// StartWire is Start with options for the protocol server (its Logger
// defaults to the engine's).
func StartWire(t testing.TB, opts engine.Options, wire pgwire.Options) *Server {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	eng, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		eng.Close()
		t.Fatal(err)
	}
	if wire.Logger == nil {
		wire.Logger = opts.Logger
	}
	if wire.Auth.HBA != nil && wire.Auth.Roles == nil {
		wire.Auth.Roles = eng
	}
	srv := pgwire.NewServer(eng, wire)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Logf("shutdown: %v", err)
		}
		cancel()
		if err := <-done; err != nil && !errors.Is(err, pgwire.ErrServerClosed) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v", err)
		}
		if err := eng.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	addr := ln.Addr().(*net.TCPAddr)
	return &Server{Engine: eng, Wire: srv, Host: "127.0.0.1", Port: addr.Port}
}

// URL is a postgres:// URL for user and database.
func (s *Server) URL(user, db string) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", user, s.Host, s.Port, db)
}
