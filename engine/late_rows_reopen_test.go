package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"streamsql/engine"
)

// lateRowsOf returns the late rows of view as "relation id event_time
// watermark", in the order the relation gives them (oldest first).
func lateRowsOf(t *testing.T, s *benchStack, view string) []string {
	t.Helper()
	conn := s.connect(t)
	defer conn.Close(context.Background())
	return queryStrings(t, conn, "SELECT relation, row->>'id', event_time, watermark FROM late_rows WHERE view_name = $1", view)
}

// wantRows fails t unless q gives want (rows joined by "; ").
func wantRows(t *testing.T, s *benchStack, when, q, want string) {
	t.Helper()
	conn := s.connect(t)
	defer conn.Close(context.Background())
	if got := strings.Join(queryStrings(t, conn, q), "; "); got != want {
		t.Fatalf("%s: %s\n got %s\nwant %s", when, q, got, want)
	}
}

// A view WITH (late_rows = 'reopen', allowed_lateness = '2 minutes')
// lets a row up to two minutes behind the watermark update its window,
// session or top-N result: a subscriber sees the old row retracted and
// the corrected one inserted. Rows further behind go to late_rows, with
// the lowered watermark they missed. The same rows in a view with the
// default late_rows = 'keep' are all late. All of it holds across a
// restart.
func TestLateRowsReopen(t *testing.T) {
	s := openStack(t, engine.Options{})
	const src = "TUMBLE(ticks, ts, INTERVAL '1' MINUTE)"
	s.execAll(t,
		"CREATE TABLE ticks (id bigint PRIMARY KEY, sym text, px bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE MATERIALIZED VIEW bars WITH (late_rows = 'reopen', allowed_lateness = '2 minutes') AS SELECT sym, window_start, count(*) AS n, max(px) AS px FROM "+src+" GROUP BY sym, window_start",
		"CREATE MATERIALIZED VIEW bars_keep AS SELECT sym, window_start, count(*) AS n, max(px) AS px FROM "+src+" GROUP BY sym, window_start",
		"CREATE MATERIALIZED VIEW sessions WITH (late_rows = 'reopen', allowed_lateness = '2 minutes') AS SELECT sym, window_start, window_end, count(*) AS n FROM SESSION(ticks, ts, INTERVAL '20' SECOND) GROUP BY sym, window_start, window_end",
		"CREATE MATERIALIZED VIEW top WITH (late_rows = 'reopen', allowed_lateness = '2 minutes') AS SELECT * FROM (SELECT id, px, window_start, row_number() OVER (PARTITION BY window_start ORDER BY px DESC, id) AS rn FROM "+src+") x WHERE rn <= 1",
		"INSERT INTO ticks VALUES (1, 'ACME', 100, '2026-01-02 10:00:10'), (2, 'ACME', 101, '2026-01-02 10:01:10'), (3, 'ACME', 102, '2026-01-02 10:03:10')",
		"FLUSH")
	// The watermark is 10:03:05; with the allowed lateness the views keep
	// everything from 10:01:05 on.
	ctx := context.Background()
	sub := s.connect(t)
	defer sub.Close(context.Background())
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := sub.Query(qctx, "SUBSCRIBE bars WITH (PROGRESS)")
	if err != nil {
		t.Fatal(err)
	}
	waitProgress(t, rows)
	// 10:01:25 is within the allowed lateness: window 10:01 reopens, the
	// session 10:01:10 grows, and it becomes the top of its window. 10:00:30
	// is behind 10:01:05: late for every view.
	s.execAll(t, "INSERT INTO ticks VALUES (4, 'ACME', 200, '2026-01-02 10:01:25'), (5, 'ACME', 7, '2026-01-02 10:00:30')", "FLUSH")
	var got []string
	for _, c := range readChanges(t, rows, 2) {
		got = append(got, fmt.Sprintf("%+d %s", c.diff, c.row))
	}
	if g := strings.Join(sortedStrings(got), "; "); g != "+1 ACME,2026-01-02 10:01:00 +0000 UTC,2,200; -1 ACME,2026-01-02 10:01:00 +0000 UTC,1,101" {
		t.Fatalf("changes of the reopened window: %s", g)
	}
	cancel()
	rows.Close()

	check := func(when string) {
		t.Helper()
		wantRows(t, s, when, "SELECT window_start, n, px FROM bars ORDER BY 1",
			"2026-01-02 10:00:00 +0000 UTC 1 100; 2026-01-02 10:01:00 +0000 UTC 2 200; 2026-01-02 10:03:00 +0000 UTC 1 102")
		wantRows(t, s, when, "SELECT window_start, n, px FROM bars_keep ORDER BY 1",
			"2026-01-02 10:00:00 +0000 UTC 1 100; 2026-01-02 10:01:00 +0000 UTC 1 101; 2026-01-02 10:03:00 +0000 UTC 1 102")
		wantRows(t, s, when, "SELECT window_start, window_end, n FROM sessions ORDER BY 1",
			"2026-01-02 10:00:10 +0000 UTC 2026-01-02 10:00:30 +0000 UTC 1; 2026-01-02 10:01:10 +0000 UTC 2026-01-02 10:01:45 +0000 UTC 2; 2026-01-02 10:03:10 +0000 UTC 2026-01-02 10:03:30 +0000 UTC 1")
		wantRows(t, s, when, "SELECT window_start, id, px FROM top ORDER BY 1",
			"2026-01-02 10:00:00 +0000 UTC 1 100; 2026-01-02 10:01:00 +0000 UTC 4 200; 2026-01-02 10:03:00 +0000 UTC 3 102")
		for _, v := range []string{"bars", "sessions", "top"} {
			if got := strings.Join(lateRowsOf(t, s, v), "; "); got != "ticks 5 2026-01-02 10:00:30 2026-01-02 10:01:05" {
				t.Fatalf("%s: late rows of %s: %s", when, v, got)
			}
		}
		if got := strings.Join(lateRowsOf(t, s, "bars_keep"), "; "); got != "ticks 4 2026-01-02 10:01:25 2026-01-02 10:03:05; ticks 5 2026-01-02 10:00:30 2026-01-02 10:03:05" {
			t.Fatalf("%s: late rows of bars_keep: %s", when, got)
		}
	}
	check("after the late rows")

	s.restart(t)
	s.execAll(t, "FLUSH")
	check("after a restart")
	// The lowered watermark came back with the job: 10:01:00 is behind it.
	s.execAll(t, "INSERT INTO ticks VALUES (6, 'ACME', 1, '2026-01-02 10:01:00')", "FLUSH")
	if got := lateRowsOf(t, s, "bars"); len(got) != 2 || got[1] != "ticks 6 2026-01-02 10:01:00 2026-01-02 10:01:05" {
		t.Fatalf("late rows of bars after the restart: %q", got)
	}
	conn := s.connect(t)
	defer conn.Close(ctx)
	if def := showCreate(t, conn, "MATERIALIZED VIEW bars"); !strings.Contains(def, "WITH (late_rows = 'reopen', allowed_lateness = '00:02:00') AS") {
		t.Fatalf("SHOW CREATE: %s", def)
	}

	for _, c := range []struct{ sql, code, msg string }{
		{"CREATE MATERIALIZED VIEW x WITH (late_rows = 'reopen') AS SELECT id FROM ticks", "22023", "late_rows = 'reopen' needs allowed_lateness"},
		{"CREATE MATERIALIZED VIEW x WITH (allowed_lateness = '1 minute') AS SELECT id FROM ticks", "22023", "allowed_lateness needs late_rows = 'reopen'"},
		{"CREATE MATERIALIZED VIEW x WITH (late_rows = 'reopen', allowed_lateness = '1 month') AS SELECT id FROM ticks", "22023", "allowed_lateness must not be given in months or years"},
		{"CREATE MATERIALIZED VIEW x WITH (late_rows = 'reopen', allowed_lateness = 'soon') AS SELECT id FROM ticks", "22023", `invalid value for parameter "allowed_lateness": "soon"`},
		{"CREATE MATERIALIZED VIEW x WITH (late_rows = 'reopen', allowed_lateness = '1 minute') AS SELECT id, px, sum(px) OVER (PARTITION BY sym ORDER BY ts) FROM ticks EMIT ON WINDOW CLOSE", "0A000", "late_rows = 'reopen' with EMIT ON WINDOW CLOSE is not supported for window functions (OVER)"},
		{"CREATE MATERIALIZED VIEW x WITH (late_rows = 'reopen', allowed_lateness = '1 minute') AS SELECT * FROM (SELECT id, px, window_start, row_number() OVER (PARTITION BY window_start ORDER BY px DESC, id) AS rn FROM " + src + ") x WHERE rn <= 1 EMIT ON WINDOW CLOSE", "0A000", "late_rows = 'reopen' with EMIT ON WINDOW CLOSE is not supported for StreamGroupTopN"},
		{"CREATE MATERIALIZED VIEW x WITH (late_rows_max = 0) AS SELECT id FROM ticks", "22023", `value 0 out of bounds for option "late_rows_max"`},
		{"CREATE MATERIALIZED VIEW x WITH (late_rows = 'drop', late_rows_max = 5) AS SELECT id FROM ticks", "22023", "late_rows_max needs late_rows = 'keep' or 'reopen'"},
	} {
		_, err := conn.Exec(ctx, c.sql)
		wantPgErr(t, err, c.code, c.msg)
	}
	execAll(t, conn, "CREATE TABLE seqs (n bigint, WATERMARK FOR n AS n - 5) APPEND ONLY")
	_, err = conn.Exec(ctx, "CREATE MATERIALIZED VIEW x WITH (late_rows = 'reopen', allowed_lateness = '1 minute') AS SELECT n FROM seqs")
	wantPgErr(t, err, "0A000", `allowed_lateness needs a timestamp watermark column: "n" of "seqs" is bigint`)
}

// The allowed lateness example of docs/streaming.md gives the results
// shown.
func TestDocsLateRowsReopenExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Allowed lateness: late_rows = 'reopen'")
}
