package engine_test

// Helpers shared by the engine's tests over the wire: starting a server
// and connecting pgx clients to it, running statements, reading rows as
// text, and checking the SQLSTATE of an error.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/testclient"
	"streamsql/internal/testserver"
)

// connect connects a client to ts with the run-time parameters params.
func connect(t testing.TB, ts *testserver.Server, params map[string]string) *pgx.Conn {
	t.Helper()
	return testclient.Connect(t, ts.URL("test", "streamsql"), func(cfg *pgx.ConnConfig) {
		for k, v := range params {
			cfg.RuntimeParams[k] = v
		}
	})
}

// startConn starts a server with opts, connects one client to it and
// runs the statements setup on it.
func startConn(t testing.TB, opts engine.Options, setup ...string) (*testserver.Server, *pgx.Conn) {
	t.Helper()
	ts := testserver.Start(t, opts)
	conn := connect(t, ts, nil)
	execAll(t, conn, setup...)
	return ts, conn
}

// startAs starts a server with opts, connects to it as user and runs the
// statements setup.
func startAs(t *testing.T, opts engine.Options, user string, setup ...string) (*testserver.Server, *pgx.Conn) {
	t.Helper()
	ts := testserver.Start(t, opts)
	conn := mustConnectAs(t, ts, user)
	execAll(t, conn, setup...)
	return ts, conn
}

// execAll runs qs on conn in order, failing t on the first error.
func execAll(t testing.TB, conn *pgx.Conn, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// prepareAll prepares each statement, given as {name, sql}, on conn.
func prepareAll(t testing.TB, conn *pgx.Conn, stmts [][2]string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := conn.Prepare(context.Background(), q[0], q[1]); err != nil {
			t.Fatalf("prepare %s: %v", q[0], err)
		}
	}
}

// queryInt runs sql, which returns one integer.
func queryInt(t testing.TB, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var v int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s %v: %v", sql, args, err)
	}
	return v
}

// scanRows reads rows to the end and renders each with render.
func scanRows(rows pgx.Rows, render func(vals []any) string) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, render(vals))
	}
	return out, rows.Err()
}

// joinValues renders a row as its values (fmt.Sprint of each, or of what
// format makes of it when format is not nil) joined by sep.
func joinValues(sep string, format func(any) string) func([]any) string {
	if format == nil {
		format = func(v any) string { return fmt.Sprint(v) }
	}
	return func(vals []any) string {
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = format(v)
		}
		return strings.Join(parts, sep)
	}
}

// queryStrings runs q and returns its rows, each as its values joined by
// spaces.
func queryStrings(t testing.TB, conn *pgx.Conn, q string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := scanRows(rows, joinValues(" ", nil))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// showCreate is the definition SHOW CREATE what (say "TABLE t") shows.
func showCreate(t testing.TB, conn *pgx.Conn, what string) string {
	t.Helper()
	var def string
	if err := conn.QueryRow(context.Background(), "SHOW CREATE "+what).Scan(new(string), &def); err != nil {
		t.Fatalf("SHOW CREATE %s: %v", what, err)
	}
	return def
}

// pgErr is the server error in err, or nil.
func pgErr(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// sqlState is the SQLSTATE of the server error in err, or "".
func sqlState(err error) string {
	if pe := pgErr(err); pe != nil {
		return pe.Code
	}
	return ""
}

// wantPgErr fails t unless err is a server error with code and, when msg
// is not empty, the message msg.
func wantPgErr(t testing.TB, err error, code, msg string) *pgconn.PgError {
	t.Helper()
	pe := pgErr(err)
	if pe == nil || pe.Code != code || (msg != "" && pe.Message != msg) {
		t.Fatalf("got %v, want %s %q", err, code, msg)
	}
	return pe
}

// fetchCursor declares cursor c for query in a transaction on conn,
// fetches all its rows (FETCH ALL c, then the clause with) and rolls the
// transaction back. It returns how many rows came and the error of the
// DECLARE or the FETCH.
func fetchCursor(t testing.TB, conn *pgx.Conn, query, with string) (int, error) {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "DECLARE c CURSOR FOR "+query); err != nil {
		return 0, err
	}
	rows, err := tx.Query(ctx, strings.TrimSpace("FETCH ALL c "+with))
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// answersQuickly checks that a new client of url gets an answer within a
// second.
func answersQuickly(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("the server does not take a new client: %v", err)
	}
	defer c.Close(context.Background())
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the server does not answer a new client: %d, %v", one, err)
	}
}

// connectNoticed connects to url and collects the notices the server
// sends on the connection into the returned slice (reset it between
// statements); the connection closes with the test.
func connectNoticed(t testing.TB, url string) (*pgx.Conn, *[]*pgconn.Notice) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	notices := new([]*pgconn.Notice)
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { *notices = append(*notices, n) }
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn, notices
}
