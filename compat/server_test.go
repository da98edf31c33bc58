// Package compat holds the client compatibility suite: each test starts a
// real StreamSQL server (engine and wire protocol in process, on a loopback
// port, with its data in a temporary directory) and talks to it with a
// real client: the psql binary, pgx, lib/pq, pgjdbc, psycopg2 and psycopg 3,
// SQLAlchemy and pandas, psqlODBC (isql, pyodbc) and node-postgres. A test
// whose client is not installed is skipped, never faked.
package compat

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testclient"
	"streamsql/internal/testserver"
)

// server is a running StreamSQL server for one test.
type server struct {
	host string
	port int
}

// dsn is a connection string in the keyword form every client reads.
func (s *server) dsn() string {
	return fmt.Sprintf("host=%s port=%d user=streamsql dbname=streamsql sslmode=disable", s.host, s.port)
}

func (s *server) url() string {
	return fmt.Sprintf("postgres://streamsql@%s:%d/streamsql?sslmode=disable", s.host, s.port)
}

// jdbcURL is the pgjdbc URL of s for user streamsql.
func (s *server) jdbcURL() string {
	return fmt.Sprintf("jdbc:postgresql://%s:%d/streamsql?user=streamsql&sslmode=disable", s.host, s.port)
}

func startServer(t *testing.T) *server {
	t.Helper()
	ts := testserver.Start(t, engine.Options{})
	return &server{host: ts.Host, port: ts.Port}
}

// connect opens a pgx connection.
func (s *server) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	return testclient.Connect(t, s.url(), nil)
}

// rowSource is what the rows of pgx and of database/sql have in common.
type rowSource interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// collect calls row for every row of rows and returns what it made of
// each; row scans the columns with scan.
func collect(t *testing.T, rows rowSource, row func(scan func(dest ...any)) string) []string {
	t.Helper()
	scan := func(dest ...any) {
		t.Helper()
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for rows.Next() {
		out = append(out, row(scan))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// exec runs statements over pgx, failing the test on error.
func (s *server) exec(t *testing.T, stmts ...string) {
	t.Helper()
	c := s.connect(t)
	for _, st := range stmts {
		if _, err := c.Exec(context.Background(), st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
}

// psql runs the psql binary with the given arguments (each -c is one
// command) and returns its combined output; the test is skipped when psql
// is not installed.
func (s *server) psql(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"-X", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", s.dsn()}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10", "PAGER=", "PSQL_PAGER=", "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustPsql runs psql and fails on an error or an ERROR in the output.
func (s *server) mustPsql(t *testing.T, args ...string) string {
	t.Helper()
	out, err := s.psql(t, args...)
	if err != nil || strings.Contains(out, "ERROR") {
		t.Fatalf("psql %q: %v\n%s", args, err, out)
	}
	return out
}

func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
