// Command streamsqld is the StreamSQL server: it opens the database in its
// data directory and serves the PostgreSQL wire protocol.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"streamsql/engine"
	"streamsql/pgwire"
)

// config is the optional JSON config file; flags given on the command line win.
type config struct {
	Listen   string `json:"listen"`
	Data     string `json:"data"`
	LogLevel string `json:"log_level"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "streamsqld:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("streamsqld", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5433", "address to serve the PostgreSQL protocol on")
	data := fs.String("data", "./data", "data directory")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	cfgPath := fs.String("config", "", "optional JSON config file with listen, data and log_level")
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
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(*level))); err != nil {
		return fmt.Errorf("bad -log-level %q", *level)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	eng, err := engine.Open(engine.Options{DataDir: *data, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		eng.Close()
		return err
	}
	srv := pgwire.NewServer(eng, pgwire.Options{Logger: log})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("streamsqld ready", "listen", ln.Addr().String(), "data", *data)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			log.Error("serve", "err", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return eng.Close()
}
