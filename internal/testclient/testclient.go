// Package testclient connects the pgx clients of tests to a server under
// test: the connection must be made within a deadline, and it is closed
// when the test ends. It imports nothing of StreamSQL, so the wire
// protocol's own tests use it as well as the engine's and the
// compatibility suite's.
package testclient

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConnectTimeout is how long Connect waits for a server to answer.
const ConnectTimeout = 10 * time.Second

// Connect connects to url after configure (if not nil) has adjusted the
// configuration, failing t when it cannot within ConnectTimeout, and
// closes the connection when t ends.
func Connect(t testing.TB, url string, configure func(*pgx.ConnConfig)) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if configure != nil {
		configure(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Mode makes a connection use mode for the statements it runs.
func Mode(mode pgx.QueryExecMode) func(*pgx.ConnConfig) {
	return func(cfg *pgx.ConnConfig) { cfg.DefaultQueryExecMode = mode }
}
