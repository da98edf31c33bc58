package engine_test

import (
	"strings"
	"testing"

	"streamsql/engine"
	"streamsql/internal/loopback"
	"streamsql/pgwire"
)

// TestResumeCascades: the views that failed only because a view they
// read failed come back with it at its RESUME, each once every view it
// reads runs again (a union of two of them), and replay what they
// missed exactly once. One that then fails on its own stays failed and
// is named in a WARNING; the RESUME still succeeds.
func TestResumeCascades(t *testing.T) {
	srv, err := loopback.Start(engine.Options{StateMemory: -1, DataDir: t.TempDir()}, pgwire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	conn, notices := connectNoticed(t, srv.URL("test", "streamsql"))
	const down = `SELECT k, 100 / d AS q FROM rc_up`
	execAll(t, conn,
		`CREATE TABLE rc_t (k int PRIMARY KEY, d int)`,
		`INSERT INTO rc_t SELECT g, g FROM generate_series(1, 50) g`,
		`CREATE MATERIALIZED VIEW rc_up AS SELECT k, d FROM rc_t`,
		`CREATE MATERIALIZED VIEW rc_down AS `+down,
		`CREATE MATERIALIZED VIEW rc_big AS SELECT k, q FROM rc_down WHERE q > 2`,
		`CREATE MATERIALIZED VIEW rc_small AS SELECT k, q FROM rc_down WHERE q <= 2`,
		`CREATE MATERIALIZED VIEW rc_both AS SELECT k, q FROM rc_big UNION ALL SELECT k, q FROM rc_small`,
		`CREATE MATERIALIZED VIEW rc_sum AS SELECT count(*) AS n, sum(q) AS s FROM rc_both`,
		// Fails on its own once the bad row upstream is fixed (q = -25).
		`CREATE MATERIALIZED VIEW rc_own AS SELECT k, 10 / (q + 25) AS r FROM rc_down`,
		`INSERT INTO rc_t VALUES (100, 0)`, "FLUSH")
	views := []string{"rc_down", "rc_big", "rc_small", "rc_both", "rc_sum", "rc_own"}
	for _, v := range views {
		if s := waitJobStatus(t, conn, v, "failed"); !strings.HasPrefix(s, "failed") {
			t.Fatalf("%s after a division by zero upstream: %q, want failed", v, s)
		}
	}
	// The table moves on while they are failed; then the bad row is fixed.
	execAll(t, conn,
		`INSERT INTO rc_t SELECT g, g FROM generate_series(51, 80) g`, "FLUSH",
		`UPDATE rc_t SET d = d + 100 WHERE k % 3 = 0`, "FLUSH",
		`DELETE FROM rc_t WHERE k % 7 = 0`, "FLUSH",
		`UPDATE rc_t SET d = -4 WHERE k = 100`, "FLUSH")
	*notices = nil
	execAll(t, conn, `ALTER MATERIALIZED VIEW rc_down RESUME`, "FLUSH")
	for _, v := range views[:5] {
		if s := jobStatus(t, conn, v); s != "running" {
			t.Errorf("%s after RESUME of rc_down: %q, want running", v, s)
		}
	}
	if s := jobStatus(t, conn, "rc_own"); !strings.HasPrefix(s, "failed") || !strings.Contains(s, "division by zero") {
		t.Errorf("rc_own after RESUME of rc_down: %q, want failed on its own division by zero", s)
	}
	var warned bool
	for _, n := range *notices {
		warned = warned || n.Severity == "WARNING" && strings.Contains(n.Message, "rc_own")
	}
	if !warned {
		t.Errorf("no WARNING names rc_own: %v", *notices)
	}
	check := func(when string) {
		t.Helper()
		checkViewOn(t, conn, when, "rc_down", down, 60)
		checkViewOn(t, conn, when, "rc_big", `SELECT k, q FROM (`+down+`) d WHERE q > 2`, 10)
		checkViewOn(t, conn, when, "rc_small", `SELECT k, q FROM (`+down+`) d WHERE q <= 2`, 10)
		checkViewOn(t, conn, when, "rc_both", down, 60)
		checkViewOn(t, conn, when, "rc_sum", `SELECT count(*) AS n, sum(100 / d) AS s FROM rc_up`, 1)
	}
	check("after RESUME")
	execAll(t, conn, `UPDATE rc_t SET d = d + 1 WHERE k % 5 = 0`, `DELETE FROM rc_t WHERE k = 10`, "FLUSH")
	check("after RESUME and more changes")
}

// The cascading RESUME example of docs/streaming.md gives the result
// shown.
func TestDocsResumeCascadeExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Resuming the views that failed with it")
}
