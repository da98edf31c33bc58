// Package testpg gives tests the real PostgreSQL that SLT_PG_DSN names
// (.ci/run starts a PostgreSQL 15 with wal_level = logical): the sinks
// write into it, the change-data-capture source follows it, and the
// compatibility tests compare with it. Without SLT_PG_DSN those tests
// skip.
package testpg

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSN returns SLT_PG_DSN, or skips t when it is not set.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SLT_PG_DSN")
	if dsn == "" {
		t.Skip("SLT_PG_DSN is not set")
	}
	return dsn
}

// Connect connects to SLT_PG_DSN, skipping t when it is not set and
// failing it when the server does not answer, and closes the connection
// when t ends. The configuration it returns holds what a connector's
// options need (host, port, user, password, database).
func Connect(t testing.TB) (*pgx.Conn, *pgx.ConnConfig) {
	t.Helper()
	conn, cfg, err := connect(DSN(t))
	if err != nil {
		t.Fatalf("SLT_PG_DSN: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn, cfg
}

// ConnectLogical is Connect for tests of logical replication: they skip
// also when the server does not answer or its wal_level is not logical.
func ConnectLogical(t testing.TB) (*pgx.Conn, *pgx.ConnConfig) {
	t.Helper()
	dsn := os.Getenv("SLT_PG_DSN")
	if dsn == "" {
		t.Skip("SLT_PG_DSN is not set: postgres-cdc tests need a PostgreSQL 15 with wal_level = logical")
	}
	conn, cfg, err := connect(dsn)
	if err != nil {
		t.Skipf("SLT_PG_DSN: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	var level string
	if err := conn.QueryRow(context.Background(), "SHOW wal_level").Scan(&level); err != nil {
		t.Fatal(err)
	}
	if level != "logical" {
		t.Skipf("the PostgreSQL of SLT_PG_DSN has wal_level = %s; postgres-cdc tests need logical", level)
	}
	return conn, cfg
}

func connect(dsn string) (*pgx.Conn, *pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return conn, cfg, nil
}
