// Command streamsqld is the StreamSQL server: it opens the database in its
// data directory and serves the PostgreSQL wire protocol.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"streamsql/engine"
	"streamsql/exec"
	"streamsql/httpapi"
	"streamsql/pgwire"
	"streamsql/storage"
)

// config is the optional JSON config file; flags given on the command line win.
type config struct {
	Listen   string `json:"listen"`
	Data     string `json:"data"`
	LogLevel string `json:"log_level"`
	// StateMemory is the memory budget of streaming state, e.g. "8GB".
	StateMemory string `json:"state_memory"`
	// QueryMem is the default memory of one ad-hoc query (query_mem),
	// TotalQueryMem that of all running queries together, e.g. "1GB".
	QueryMem      string `json:"query_mem"`
	TotalQueryMem string `json:"total_query_mem"`
	// GoMemoryLimit is the Go runtime's memory limit, e.g. "1GB" ("-1":
	// none).
	GoMemoryLimit string `json:"go_memory_limit"`
	// HTTP is the address of the metrics and health endpoints ("off":
	// none).
	HTTP string `json:"http_listen"`
	// MaxConnections is the most client sessions at once.
	MaxConnections int `json:"max_connections"`
	// AuthenticationTimeout, LockWait: durations such as "60s".
	AuthenticationTimeout string `json:"authentication_timeout"`
	LockWait              string `json:"lock_wait"`
	// DiskReserve is the free disk space kept, e.g. "128MB".
	DiskReserve string `json:"disk_reserve"`
}

// defaultHTTP is where /metrics and /health are served unless -http says
// otherwise.
const defaultHTTP = "127.0.0.1:5480"

func main() {
	if err := run(os.Args[1:]); err != nil {
		// One line, in the format of the server's log, and a non-zero
		// status, whatever stopped the server.
		slog.New(slog.NewTextHandler(os.Stderr, nil)).Error("streamsqld stopped", "err", err)
		os.Exit(1)
	}
}

// lockWaitOption maps -lock-wait to engine.Options.LockWait, where zero
// means the default: -lock-wait 0 means trying the lock once.
func lockWaitOption(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func run(args []string) error {
	fs := flag.NewFlagSet("streamsqld", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5433", "address to serve the PostgreSQL protocol on")
	socketDir := fs.String("unix-socket-dir", "", "directory for a Unix-domain socket .s.PGSQL.<port> that also serves the PostgreSQL protocol (psql -h DIR); hba local lines match it (default: none)")
	data := fs.String("data", "./data", "data directory")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	stateMem := fs.String("state-memory", "", "memory for streaming operator state before part of it stays on disk only, e.g. 8GB (default: half of the machine's memory; -1: no limit)")
	queryMem := fs.String("query-mem", "", "default memory of one query (the query_mem setting) before sorts, hash aggregations and hash joins spill to <data>/tmp, e.g. 256MB (default: 1GB; -1: no limit)")
	totalQueryMem := fs.String("total-query-mem", "", "memory of all running queries together, e.g. 8GB (default: three quarters of the machine's memory less -state-memory; -1: no limit)")
	goMemLimit := fs.String("go-memory-limit", "", "the Go runtime's memory limit, at which the collector runs more often, e.g. 1GB (default: -state-memory plus 256MB or half of it, whichever is larger; -1: none; the GOMEMLIMIT environment variable wins)")
	httpAddr := fs.String("http", defaultHTTP, `address of the HTTP endpoints /metrics (Prometheus) and /health; "off" for none`)
	timeouts := map[string]*string{}
	for _, name := range []string{"statement_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout"} {
		timeouts[name] = fs.String(strings.ReplaceAll(name, "_", "-"), "", "server-wide default of "+name+", e.g. 30s, 10min (0: none)")
	}
	maxConns := fs.Int("max-connections", pgwire.DefaultMaxConnections, "maximum number of concurrent client sessions; more get FATAL 53300")
	authTimeout := fs.Duration("authentication-timeout", pgwire.DefaultAuthenticationTimeout, "time a new connection has to send its startup packet and authenticate")
	lockWait := fs.Duration("lock-wait", storage.DefaultLockWait, "how long to wait at start for the data directory lock held by another (exiting) process")
	diskReserve := fs.String("disk-reserve", "128MB", "free disk space kept in the data directory's file system; below it writes fail with 53100 and the server does not start (-1: no check)")
	viewLogMax := fs.String("view-log-max-size", "256MB", "most bytes of changes a failed materialized view may miss of the views it reads and still be resumed (0: no bound)")
	sinkLogMax := fs.String("sink-log-max-size", "0", "most undelivered bytes the log of a sink to an external system may hold before the sink stops with 53400 (0: no bound); WITH (sink.log.max_bytes) overrides it per sink")
	maxTxn := fs.String("max-transaction-size", "1GB", "largest write set one transaction may buffer before it commits; larger ones fail with 54000")
	var sec security
	sec.register(fs)
	cfgPath := fs.String("config", "", "optional JSON config file with listen, data, log_level, state_memory, go_memory_limit, http_listen, max_connections, authentication_timeout, lock_wait, disk_reserve, query_mem and total_query_mem")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath != "" {
		raw, err := os.ReadFile(*cfgPath)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		var c config
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("parse config %s: %w", *cfgPath, err)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if c.Listen != "" && !set["listen"] {
			*listen = c.Listen
		}
		if c.Data != "" && !set["data"] {
			*data = c.Data
		}
		if c.LogLevel != "" && !set["log-level"] {
			*level = c.LogLevel
		}
		if c.StateMemory != "" && !set["state-memory"] {
			*stateMem = c.StateMemory
		}
		if c.QueryMem != "" && !set["query-mem"] {
			*queryMem = c.QueryMem
		}
		if c.TotalQueryMem != "" && !set["total-query-mem"] {
			*totalQueryMem = c.TotalQueryMem
		}
		if c.GoMemoryLimit != "" && !set["go-memory-limit"] {
			*goMemLimit = c.GoMemoryLimit
		}
		if c.HTTP != "" && !set["http"] {
			*httpAddr = c.HTTP
		}
		if c.MaxConnections != 0 && !set["max-connections"] {
			*maxConns = c.MaxConnections
		}
		if c.DiskReserve != "" && !set["disk-reserve"] {
			*diskReserve = c.DiskReserve
		}
		for _, d := range []struct {
			key, flag, val string
			dst            *time.Duration
		}{{"authentication_timeout", "authentication-timeout", c.AuthenticationTimeout, authTimeout}, {"lock_wait", "lock-wait", c.LockWait, lockWait}} {
			if d.val == "" || set[d.flag] {
				continue
			}
			v, err := time.ParseDuration(d.val)
			if err != nil {
				return fmt.Errorf("config %s: %s: %w", *cfgPath, d.key, err)
			}
			*d.dst = v
		}
	}
	if *maxConns < 1 {
		return fmt.Errorf("bad -max-connections %d: must be at least 1", *maxConns)
	}
	if *authTimeout < time.Second {
		return fmt.Errorf("bad -authentication-timeout %s: must be at least 1s", *authTimeout)
	}
	httpSet := *httpAddr != defaultHTTP
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(*level))); err != nil {
		return fmt.Errorf("bad -log-level %q", *level)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	memLimit, err := parseSize(*stateMem)
	if err != nil {
		return fmt.Errorf("bad -state-memory: %w", err)
	}
	qMem, err := parseSize(*queryMem)
	if err != nil {
		return fmt.Errorf("bad -query-mem: %w", err)
	}
	totalQMem, err := parseSize(*totalQueryMem)
	if err != nil {
		return fmt.Errorf("bad -total-query-mem: %w", err)
	}
	goLimit, err := parseSize(*goMemLimit)
	if err != nil {
		return fmt.Errorf("bad -go-memory-limit: %w", err)
	}
	if goLimit == 0 {
		goLimit = engine.GoMemoryLimit(memLimit)
	}
	defaults := map[string]string{}
	for name, v := range timeouts {
		if *v != "" {
			defaults[name] = *v
		}
	}
	maxTxnBytes, err := parseSize(*maxTxn)
	if err != nil || maxTxnBytes <= 0 {
		return fmt.Errorf("bad -max-transaction-size %q: a size such as 512MB or 2GB", *maxTxn)
	}
	viewLogMaxBytes, err := parseSize(*viewLogMax)
	if err != nil || viewLogMaxBytes < 0 {
		return fmt.Errorf("bad -view-log-max-size %q: a size such as 256MB, or 0 for no bound", *viewLogMax)
	}
	if viewLogMaxBytes == 0 {
		viewLogMaxBytes = -1 // no bound
	}
	sinkLogMaxBytes, err := parseSize(*sinkLogMax)
	if err != nil || sinkLogMaxBytes < 0 {
		return fmt.Errorf("bad -sink-log-max-size %q: a size such as 256MB, or 0 for no bound", *sinkLogMax)
	}
	reserve, err := parseSize(*diskReserve)
	if err != nil {
		return fmt.Errorf("bad -disk-reserve: %w", err)
	}
	if reserve == 0 {
		reserve = -1 // 0 asks for no reserve; storage reads 0 as its default
	}
	hba, _, err := sec.hba()
	if err != nil {
		return err
	}
	tlsCfg, err := sec.tlsConfig()
	if err != nil {
		return err
	}
	suPassword, err := sec.superuserPassword()
	if err != nil {
		return err
	}
	eng, err := engine.Open(engine.Options{DataDir: *data, Logger: log, StateMemory: memLimit, GoMemoryLimit: goLimit,
		RequireRoles: true, SuperuserPassword: suPassword, AuditLog: sec.audit,
		MaxConnections: *maxConns, Settings: defaults, MaxTransactionBytes: maxTxnBytes, SinkLogMaxBytes: sinkLogMaxBytes, ViewLogMaxBytes: viewLogMaxBytes, AuthenticationTimeout: *authTimeout, LockWait: lockWaitOption(*lockWait), DiskReserve: reserve,
		QueryMem: qMem, TotalQueryMem: totalQMem})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		eng.Close()
		return err
	}
	var hsrv *http.Server
	if *httpAddr != "" && *httpAddr != "off" {
		hln, err := net.Listen("tcp", *httpAddr)
		switch {
		case err != nil && httpSet:
			ln.Close()
			eng.Close()
			return fmt.Errorf("-http: %w", err)
		case err != nil:
			// The default address is taken (another server on this
			// machine): serve SQL without the HTTP endpoints.
			log.Warn("HTTP endpoints not served", "addr", *httpAddr, "err", err)
		default:
			hsrv = &http.Server{Handler: httpapi.RequireAuth(httpapi.New(eng, log), hba, eng, log), ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsCfg}
			if tlsCfg != nil {
				go hsrv.ServeTLS(hln, "", "")
			} else {
				go hsrv.Serve(hln)
			}
			log.Info("HTTP endpoints", "addr", hln.Addr().String(), "paths", "/metrics /health")
		}
	}
	srv := pgwire.NewServer(eng, pgwire.Options{Logger: log, MaxConnections: *maxConns, AuthenticationTimeout: *authTimeout,
		Auth: pgwire.AuthConfig{HBA: hba, Roles: eng}, TLS: tlsCfg})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go reloadOnHangup(ctx, &sec, hba, log)
	log.Info("streamsqld ready", "listen", ln.Addr().String(), "data", *data, "hba", hba.Source, "tls", tlsCfg != nil)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ctx, ln) }()
	if *socketDir != "" {
		uln, err := listenUnix(*socketDir, ln.Addr())
		if err != nil {
			ln.Close()
			eng.Close()
			return fmt.Errorf("-unix-socket-dir: %w", err)
		}
		log.Info("Unix socket", "path", uln.Addr().String())
		go func() { errc <- srv.Serve(ctx, uln) }()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		// Serve retries what can be retried; anything else is fatal and
		// the process must not exit with status 0.
		serveErr = fmt.Errorf("serving %s stopped: %w", ln.Addr(), err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if hsrv != nil {
		hsrv.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if err := eng.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	return serveErr
}

// parseSize reads a size flag: exec.ParseSize with a plain number in
// bytes; "" is 0 (the default) and -1 means no limit.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return 0, nil
	case "-1":
		return -1, nil
	}
	n, err := exec.ParseSize(s, exec.PlainBytes)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (e.g. 512MB, 8GB): %w", s, err)
	}
	return n, nil
}

// listenUnix listens on the Unix-domain socket dir/.s.PGSQL.<port>, named
// as PostgreSQL names it so that psql -h dir -p port finds it. A socket
// file left by a server that is gone (nothing answers on it) is removed
// first; one a running server answers on is an error.
func listenUnix(dir string, tcp net.Addr) (net.Listener, error) {
	_, port, err := net.SplitHostPort(tcp.String())
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, ".s.PGSQL."+port)
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another server listens there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	return net.Listen("unix", path)
}
