package engine_test

import (
	"context"
	"testing"
	"time"

	"streamsql/engine"
)

// TestPgSleep: pg_sleep, pg_sleep_for and pg_sleep_until wait, return void,
// and end at once, with 57014, on statement_timeout and on a CancelRequest
// (pgx sends one when the query's context ends); the session then goes on.
func TestPgSleep(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	timed := func(q string) (time.Duration, error) {
		t.Helper()
		start := time.Now()
		_, err := conn.Exec(ctx, q)
		return time.Since(start), err
	}
	for _, q := range []string{
		"SELECT pg_sleep(0.15)",
		"SELECT pg_sleep_for('150 milliseconds')",
		"SELECT pg_sleep_until(clock_timestamp() + interval '150 ms')",
		"SELECT pg_sleep(0.05) FROM generate_series(1, 3)",
	} {
		d, err := timed(q)
		if err != nil || d < 150*time.Millisecond {
			t.Errorf("%s: %v after %v", q, err, d)
		}
	}
	if got := queryStrings(t, conn, "SELECT pg_typeof(pg_sleep(0))::text, pg_sleep(NULL) IS NULL, pg_sleep(-1)::text = ''"); len(got) != 1 || got[0] != "void true true" {
		t.Errorf("void results: %q", got)
	}

	execAll(t, conn, "SET statement_timeout = '200ms'")
	d, err := timed("SELECT pg_sleep(30)")
	wantPgErr(t, err, "57014", "canceling statement due to statement timeout")
	if d > 5*time.Second {
		t.Errorf("statement_timeout ended pg_sleep after %v", d)
	}
	execAll(t, conn, "SET statement_timeout = 0")

	// CancelRequest, as psql sends it on ^C, while the sleep runs.
	cancelSoon := func() {
		time.AfterFunc(200*time.Millisecond, func() { _ = conn.PgConn().CancelRequest(context.Background()) })
	}
	cancelSoon()
	d, err = timed("SELECT pg_sleep(30)")
	wantPgErr(t, err, "57014", "canceling statement due to user request")
	if d > 5*time.Second {
		t.Errorf("CancelRequest ended pg_sleep after %v", d)
	}
	// A sleep in a transaction block that is canceled aborts the block.
	execAll(t, conn, "BEGIN")
	cancelSoon()
	_, err = conn.Exec(ctx, "SELECT pg_sleep_for('30 seconds')")
	wantPgErr(t, err, "57014", "")
	_, err = conn.Exec(ctx, "SELECT 1")
	wantPgErr(t, err, "25P02", "")
	execAll(t, conn, "ROLLBACK")
	if got := queryStrings(t, conn, "SELECT 1"); len(got) != 1 || got[0] != "1" {
		t.Fatalf("after the cancels: %q", got)
	}
}
