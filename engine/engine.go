// Package engine is the database: it owns storage and the catalog, opens
// sessions for the protocol layer, and runs each statement — DDL against
// the catalog, DML and queries through the planner and the batch
// operators — inside a transaction.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"streamsql/connector"
	"streamsql/connector/builtin"
	"sync"
	"time"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/pgwire"
	"streamsql/storage"
)

// Version is the server version reported to clients.
const Version = "15.0"

// Engine is one open database.
type Engine struct {
	db  *storage.DB
	cat *catalog.Catalog
	log *slog.Logger

	coord       *stream.Coordinator
	stateMemory *stream.StateMemory
	// connectors are the registered sources and sinks.
	connectors *connector.Registry
	// ingests are the running loops of tables fed by a connector, by
	// table OID (guarded by mu).
	ingests map[uint32]*ingest

	mu       sync.Mutex
	sessions map[*Session]struct{}
	started  time.Time
}

// Options configure Open.
type Options struct {
	DataDir string
	Logger  *slog.Logger
	// StateMemory is the memory, in bytes, that the state of streaming
	// operators may use before they keep part of it in storage only; 0
	// picks half of the machine's memory, a negative value means no limit.
	StateMemory int64
}

// Open opens (or creates) the database in opts.DataDir.
func Open(opts Options) (*Engine, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := storage.Open(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open storage in %s: %w", opts.DataDir, err)
	}
	cat, err := catalog.Open(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	e := &Engine{db: db, cat: cat, log: log, sessions: map[*Session]struct{}{}, started: time.Now(),
		connectors:  builtin.Registry(),
		stateMemory: stream.NewStateMemory(stateMemoryLimit(opts.StateMemory))}
	if err := e.startStreaming(); err != nil {
		db.Close()
		return nil, fmt.Errorf("start streaming jobs: %w", err)
	}
	e.startIngests()
	return e, nil
}

// Close closes the database. Sessions must be closed first.
func (e *Engine) Close() error {
	e.stopIngests()
	e.coord.Close()
	return e.db.Close()
}

// Catalog returns the catalog (for tools and tests).
func (e *Engine) Catalog() *catalog.Catalog { return e.cat }

// Open implements pgwire.Backend.
func (e *Engine) Open(ctx context.Context, info pgwire.StartupInfo) (pgwire.Session, error) {
	s := newSession(e, info)
	e.mu.Lock()
	e.sessions[s] = struct{}{}
	e.mu.Unlock()
	return s, nil
}

func (e *Engine) forget(s *Session) {
	e.mu.Lock()
	delete(e.sessions, s)
	e.mu.Unlock()
}
