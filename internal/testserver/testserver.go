// Package testserver starts a real StreamSQL server for tests: the engine
// over pebble in a temporary directory and the wire protocol on a
// loopback port, both stopped when the test ends.
package testserver

import (
	"testing"

	"streamsql/engine"
	"streamsql/internal/loopback"
	"streamsql/pgwire"
)

// Server is a running server.
type Server = loopback.Server

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
	s, err := loopback.Start(opts, wire)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shutdown, err := s.Stop()
		if shutdown != nil {
			t.Logf("shutdown: %v", shutdown)
		}
		if err != nil {
			t.Error(err)
		}
	})
	return s
}
