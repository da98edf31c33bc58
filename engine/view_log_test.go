package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/loopback"
	"streamsql/internal/testclient"
	"streamsql/pgwire"
)

// waitJobStatus waits up to 5 s for job name's SHOW JOBS status to start
// with prefix, and returns the status.
func waitJobStatus(t *testing.T, conn *pgx.Conn, name, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := jobStatus(t, conn, name)
		if strings.HasPrefix(s, prefix) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFailedViewReplaysUpstream: a materialized view on a view that fails
// (a division by zero) misses nothing its upstream view commits while it
// is failed. ALTER MATERIALIZED VIEW ... RESUME with the bad row still
// upstream fails again with the same error; once the row is fixed, the
// view catches up with the net change of the epochs it missed and equals
// its query. The same after a restart: the view, failed again, catches
// up when the server starts.
func TestFailedViewReplaysUpstream(t *testing.T) {
	ctx := context.Background()
	opts := engine.Options{StateMemory: -1, DataDir: t.TempDir()}
	srv, err := loopback.Start(opts, pgwire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn := testclient.Connect(t, srv.URL("test", "streamsql"), nil)
	const query = `SELECT k, 100 / d AS q FROM vl_up`
	execAll(t, conn,
		`CREATE TABLE vl_t (k int PRIMARY KEY, d int)`,
		`INSERT INTO vl_t SELECT g, g FROM generate_series(1, 50) g`,
		`CREATE MATERIALIZED VIEW vl_up AS SELECT k, d FROM vl_t WHERE k <> 1000`,
		`CREATE MATERIALIZED VIEW vl_down AS `+query,
		// A view on the failing one, failed with it.
		`CREATE MATERIALIZED VIEW vl_sum AS SELECT count(*) AS n, sum(q) AS s FROM vl_down`,
		`INSERT INTO vl_t VALUES (100, 0)`, "FLUSH")
	if s := waitJobStatus(t, conn, "vl_down", "failed"); !strings.HasPrefix(s, "failed") {
		t.Fatalf("vl_down after a division by zero: %q, want failed", s)
	}
	if s := waitJobStatus(t, conn, "vl_sum", "failed"); !strings.HasPrefix(s, "failed") {
		t.Fatalf("vl_sum after its upstream failed: %q, want failed", s)
	}
	// The upstream moves on: inserts, updates, deletes over several epochs.
	execAll(t, conn,
		`INSERT INTO vl_t SELECT g, g FROM generate_series(51, 80) g`, "FLUSH",
		`UPDATE vl_t SET d = d + 100 WHERE k % 3 = 0`, "FLUSH",
		`DELETE FROM vl_t WHERE k % 7 = 0`, "FLUSH")
	// Resumed with the bad row still there, it fails on it again.
	_, err = conn.Exec(ctx, `ALTER MATERIALIZED VIEW vl_down RESUME`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "22012" {
		t.Fatalf("RESUME with the bad row upstream: %v, want 22012", err)
	}
	if s := jobStatus(t, conn, "vl_down"); !strings.HasPrefix(s, "failed") {
		t.Fatalf("vl_down after RESUME failed: %q", s)
	}
	// Fixed upstream, it catches up.
	execAll(t, conn,
		`UPDATE vl_t SET d = 4 WHERE k = 100`, "FLUSH",
		`INSERT INTO vl_t VALUES (200, 8)`, "FLUSH",
		`ALTER MATERIALIZED VIEW vl_down RESUME`,
		`ALTER MATERIALIZED VIEW vl_sum RESUME`, "FLUSH")
	checkViewOn(t, conn, "after RESUME", "vl_down", query, 60)
	checkViewOn(t, conn, "after RESUME", "vl_sum", `SELECT count(*) AS n, sum(100 / d) AS s FROM vl_up`, 1)
	execAll(t, conn, `UPDATE vl_t SET d = d + 1 WHERE k % 5 = 0`, `DELETE FROM vl_t WHERE k = 200`, "FLUSH")
	checkViewOn(t, conn, "after RESUME and more changes", "vl_down", query, 60)
	// Resuming a running view does nothing.
	execAll(t, conn, `ALTER MATERIALIZED VIEW vl_down RESUME`)

	// Failed again, the upstream moves, the row is fixed, and the server
	// restarts: the view catches up at the start.
	execAll(t, conn, `INSERT INTO vl_t VALUES (300, 0)`, "FLUSH")
	if s := waitJobStatus(t, conn, "vl_down", "failed"); !strings.HasPrefix(s, "failed") {
		t.Fatalf("vl_down after the second division by zero: %q, want failed", s)
	}
	execAll(t, conn,
		`INSERT INTO vl_t SELECT g, g FROM generate_series(121, 160) g`, "FLUSH",
		`UPDATE vl_t SET d = d * 2 WHERE k % 4 = 0`, "FLUSH",
		`DELETE FROM vl_t WHERE k IN (300, 2, 3)`, "FLUSH")
	conn.Close(ctx)
	if _, err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv2, err := loopback.Start(opts, pgwire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv2.Stop() })
	conn = testclient.Connect(t, srv2.URL("test", "streamsql"), nil)
	defer conn.Close(ctx)
	if s := jobStatus(t, conn, "vl_down"); s != "running" {
		t.Fatalf("vl_down after the restart: %q, want running", s)
	}
	execAll(t, conn, `ALTER MATERIALIZED VIEW vl_sum RESUME`, "FLUSH")
	checkViewOn(t, conn, "after the restart", "vl_down", query, 100)
	checkViewOn(t, conn, "after the restart", "vl_sum", `SELECT count(*) AS n, sum(100 / d) AS s FROM vl_up`, 1)
	execAll(t, conn, `INSERT INTO vl_t VALUES (400, 3)`, `UPDATE vl_t SET d = 1 WHERE k = 5`, "FLUSH")
	checkViewOn(t, conn, "after the restart and more changes", "vl_down", query, 100)

	// Not a materialized view; not there.
	for q, code := range map[string]string{
		`ALTER MATERIALIZED VIEW vl_t RESUME`:    "42809",
		`ALTER MATERIALIZED VIEW vl_none RESUME`: "42P01",
	} {
		_, err := conn.Exec(ctx, q)
		if !errors.As(err, &pe) || pe.Code != code {
			t.Errorf("%s: %v, want %s", q, err, code)
		}
	}
}
