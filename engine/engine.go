// Package engine is the database: it owns storage and the catalog, opens
// sessions for the protocol layer, and runs each statement — DDL against
// the catalog, DML and queries through the planner and the batch
// operators — inside a transaction.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"streamsql/catalog"
	"streamsql/connector"
	"streamsql/connector/builtin"
	"streamsql/exec"
	"streamsql/exec/stream"
	"streamsql/pgwire"
	"streamsql/storage"
	"streamsql/udf"
)

// Version is the server version reported to clients.
const Version = "15.0"

// Engine is one open database.
type Engine struct {
	db  *storage.DB
	cat *catalog.Catalog
	log *slog.Logger

	coord *stream.Coordinator
	// clock is Options.Clock.
	clock func() time.Time
	// sinkLogMax is Options.SinkLogMaxBytes.
	sinkLogMax int64
	// viewLogMax is Options.ViewLogMaxBytes.
	viewLogMax  int64
	stateMemory *stream.StateMemory
	// writingFuncs caches the names of the SQL functions that write
	// (sql_function_statements.go).
	writingFuncs atomic.Pointer[writingFunctions]
	// connectors are the registered sources and sinks.
	connectors *connector.Registry
	// udfs compiles and caches the user functions in JavaScript and
	// WebAssembly (function.go).
	udfs *udf.UserRuntimes
	// goFuncs are the embedding program's Go functions (Options.Functions).
	goFuncs *udf.GoFunctions
	// ingests are the running loops of tables fed by a connector, by
	// table OID (guarded by mu).
	ingests map[uint32]*ingest

	// advisory is the table of advisory locks (advisory_lock.go).
	advisory *advisoryLocks
	// tables is the table of relation locks (table_lock.go);
	// deadlockMu runs one deadlock check at a time (deadlock.go).
	tables     *tableLocks
	deadlockMu sync.Mutex

	// closeOnce runs Close once; closeErr is its result.
	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	sessions map[*Session]struct{}
	// temp hands out the sessions' temporary schemas (temp_tables.go).
	temp    engineTemp
	started time.Time

	beforeExecute func(sql string)
	defaults      map[string]string // Options.Settings, validated
	// server holds the settings fixed for the server's life (SHOW shows
	// them; SET cannot change them).
	server map[string]string
	// Ad-hoc query memory (query_mem.go).
	queryMem  int64 // query_mem default, bytes (0: no limit)
	queryPool *exec.MemPool
	tmpDir    string
	// plans is the plan cache (plancache.go).
	plans planCache
	// requireRoles refuses connections of names that are not roles
	// (role.go); auditLog logs connections and role statements.
	requireRoles, auditLog bool
}

// Options configure Open.
type Options struct {
	DataDir string
	Logger  *slog.Logger
	// StateMemory is the memory, in bytes, that the state of streaming
	// operators may use before they keep part of it in storage only; 0
	// picks half of the machine's memory, a negative value means no limit.
	StateMemory int64
	// GoMemoryLimit, when positive, is set as the process's Go memory
	// limit at Open (runtime/debug.SetMemoryLimit) unless the GOMEMLIMIT
	// environment variable is set; GoMemoryLimit(StateMemory) derives one
	// from the state budget. Zero leaves the runtime alone (a program
	// that embeds the engine owns its process).
	GoMemoryLimit int64
	// MaxTransactionBytes bounds the writes one transaction may buffer
	// before it commits (0: storage.DefaultMaxTxnBytes); past it a write
	// fails with 54000 and the transaction is aborted.
	MaxTransactionBytes int64
	// SinkLogMaxBytes bounds the undelivered bytes in the log of each
	// sink that writes to an external system (0: no bound); a sink's own
	// WITH (sink.log.max_bytes = ...) overrides it. Past it the sink's job
	// fails with 53400 (sink_log.go).
	SinkLogMaxBytes int64
	// ViewLogMaxBytes bounds the view log of each materialized view that
	// reads other views: the changes they commit while it is failed, kept
	// until it is resumed (0: stream.DefaultViewLogMaxBytes; negative: no
	// bound). Past it the view cannot be resumed (53400).
	ViewLogMaxBytes int64
	// Functions are functions written in Go by the program that embeds
	// the engine (udf.RegisterScalar, udf.RegisterTable); nil for none.
	Functions *udf.GoFunctions
	// Settings are server-wide defaults of session settings (e.g.
	// "statement_timeout": "30s"); a session overrides them with SET or
	// its startup parameters, and RESET returns to them.
	Settings map[string]string
	// BeforeExecute, when set, is called on the session's goroutine before
	// each statement executes. Tests inject faults with it (a panic there
	// must cost the client its statement, not the server its life).
	BeforeExecute func(sql string)
	// MaxConnections and AuthenticationTimeout are the protocol server's
	// limits (pgwire.Options), shown by SHOW max_connections and SHOW
	// authentication_timeout; zero means pgwire's defaults.
	MaxConnections        int
	AuthenticationTimeout time.Duration
	// LockWait is how long Open waits for the data directory lock held by
	// another process (storage.Options.LockWait).
	LockWait time.Duration
	// DiskReserve is the free disk space below which writes are refused
	// with 53100 (storage.Options.SpaceReserve).
	DiskReserve int64
	// QueryMem is the default memory, in bytes, of one ad-hoc statement
	// (the query_mem setting) before sorts, aggregations and joins spill
	// to disk; 0 picks 1GB (or the total if smaller), negative means no
	// limit of its own.
	QueryMem int64
	// TotalQueryMem is the memory all running statements may hold
	// together; 0 picks three quarters of the machine less the streaming
	// state budget (at least an eighth of the machine), negative means no
	// limit.
	TotalQueryMem int64
	// RequireRoles refuses a connection whose user is not a declared role
	// (28000), as PostgreSQL does. Without it an undeclared name connects
	// and acts as a superuser: only for servers that trust every client
	// (tests, loopback development setups).
	RequireRoles bool
	// SuperuserPassword is the password of the superuser streamsql created
	// at first start (ignored once the data directory has roles).
	SuperuserPassword string
	// AuditLog logs sessions, SET ROLE and role statements as structured
	// "audit:" lines at level info.
	AuditLog bool
	// Clock gives each streaming epoch its time, the now() of temporal
	// filters in views (nil: the wall clock). Tests that move time
	// forward at will set it.
	Clock func() time.Time
}

// Open opens (or creates) the database in opts.DataDir.
func Open(opts Options) (*Engine, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	defaults, err := settingDefaults(opts.Settings)
	if err != nil {
		return nil, err
	}
	applyGoMemoryLimit(opts.GoMemoryLimit, log)
	cacheSize, memTableSize := storageMemory(opts.StateMemory)
	db, err := storage.OpenWith(opts.DataDir, storage.Options{Logger: log, LockWait: opts.LockWait, SpaceReserve: opts.DiskReserve,
		CacheSize: cacheSize, MemTableSize: memTableSize})
	if err != nil {
		return nil, fmt.Errorf("open storage in %s: %w", opts.DataDir, err)
	}
	db.SetMaxTxnBytes(opts.MaxTransactionBytes)
	cat, err := catalog.Open(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	e := &Engine{db: db, cat: cat, log: log, sessions: map[*Session]struct{}{}, advisory: newAdvisoryLocks(), tables: newTableLocks(), started: time.Now(),
		stateMemory: stream.NewStateMemory(stateMemoryLimit(opts.StateMemory)), beforeExecute: opts.BeforeExecute,
		defaults: defaults, server: serverSettings(opts), connectors: builtin.Registry(),
		requireRoles: opts.RequireRoles, auditLog: opts.AuditLog, goFuncs: opts.Functions, sinkLogMax: opts.SinkLogMaxBytes, viewLogMax: opts.ViewLogMaxBytes,
		clock: opts.Clock}
	db.SetLockWaitHook(e.rowWaitHook)
	if e.udfs, err = newUserRuntimes(log, defaults); err != nil {
		db.Close()
		return nil, fmt.Errorf("user function runtimes: %w", err)
	}
	if err := e.bootstrapSuperuser(opts.SuperuserPassword); err != nil {
		db.Close()
		return nil, fmt.Errorf("create superuser: %w", err)
	}
	if err := e.upgradeSerialColumns(); err != nil {
		db.Close()
		return nil, fmt.Errorf("upgrade serial columns: %w", err)
	}
	// Temporary relations end with their session; a crash leaves them.
	if err := e.dropTemp(""); err != nil {
		db.Close()
		return nil, fmt.Errorf("drop temporary relations of an earlier run: %w", err)
	}
	perQuery, total := queryMemory(opts, stateMemoryLimit(opts.StateMemory))
	e.queryMem, e.queryPool, e.tmpDir = perQuery, exec.NewMemPool(total), tmpDir(opts.DataDir)
	if err := exec.CleanTempRoot(e.tmpDir); err != nil {
		log.Warn("temporary files of an earlier run not removed", "dir", e.tmpDir, "err", err)
	}
	if err := e.startStreaming(); err != nil {
		err = fmt.Errorf("start streaming jobs: %w", err)
		// Jobs resumed before the failure run: stop them before storage
		// closes (and leave it open if they do not stop).
		if e.coord != nil {
			if cerr := e.coord.Close(); cerr != nil {
				return nil, errors.Join(err, cerr)
			}
		}
		db.Close()
		return nil, err
	}
	e.startIngests()
	return e, nil
}

// Close closes the database. Sessions must be closed first. It stops
// what reads the database (table connector loops, streaming jobs) and
// waits for it before it closes storage; a job that does not stop in
// time, or a reader still open when storage closes, makes Close return
// an error (and the server exit non-zero) instead of waiting forever or
// panicking. With jobs still running storage stays open: closing it
// under them is what must never happen. Calls after the first return
// the first one's result.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

func (e *Engine) close() error {
	e.stopIngests()
	if err := e.coord.Close(); err != nil {
		err = fmt.Errorf("stop streaming: %w; storage left open", err)
		e.log.Error("closing the engine", "err", err)
		return errors.Join(err, e.udfs.Close())
	}
	return errors.Join(e.udfs.Close(), e.db.Close())
}

// Catalog returns the catalog (for tools and tests).
func (e *Engine) Catalog() *catalog.Catalog { return e.cat }

// Open implements pgwire.Backend.
func (e *Engine) Open(ctx context.Context, info pgwire.StartupInfo) (pgwire.Session, error) {
	s, err := newSession(e, info)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if err := e.admit(info); err != nil {
		e.mu.Unlock()
		s.audit("connection refused", "err", err.Error(), "remote", info.RemoteAddr)
		return nil, err
	}
	e.sessions[s] = struct{}{}
	e.mu.Unlock()
	s.audit("connection authorized", "database", info.Database, "remote", info.RemoteAddr, "method", info.AuthMethod)
	return s, nil
}

func (e *Engine) forget(s *Session) {
	e.mu.Lock()
	delete(e.sessions, s)
	e.mu.Unlock()
}

// serverSettings are the settings SHOW reports from the server's options.
func serverSettings(opts Options) map[string]string {
	maxConn := opts.MaxConnections
	if maxConn == 0 {
		maxConn = pgwire.DefaultMaxConnections
	}
	auth := opts.AuthenticationTimeout
	if auth == 0 {
		auth = pgwire.DefaultAuthenticationTimeout
	}
	return map[string]string{
		"max_connections":        strconv.Itoa(max(maxConn, -1)),
		"authentication_timeout": formatDurationSetting(auth),
	}
}

// formatDurationSetting prints a duration the way PostgreSQL shows a time
// setting: in the largest unit that divides it ("1min", "30s", "250ms").
func formatDurationSetting(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dmin", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}
