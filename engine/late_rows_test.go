package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
)

// Rows behind the watermark are dropped from a view's results but kept
// in the late_rows relation (the default, late_rows = 'keep'), with the
// row as jsonb, its event time and the watermark it missed; a view WITH
// (late_rows = 'drop') keeps none. They survive a restart exactly once,
// and a role sees the late rows of the views it may read only.
func TestLateRowsKept(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE TABLE ticks (id bigint PRIMARY KEY, sym text, px bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE MATERIALIZED VIEW bars AS SELECT sym, window_start, count(*) AS n FROM TUMBLE(ticks, ts, INTERVAL '1' MINUTE) GROUP BY sym, window_start",
		"CREATE MATERIALIZED VIEW bars_drop WITH (late_rows = 'drop') AS SELECT sym, window_start, count(*) AS n FROM TUMBLE(ticks, ts, INTERVAL '1' MINUTE) GROUP BY sym, window_start",
		"CREATE MATERIALIZED VIEW secret WITH (late_rows = 'keep') AS SELECT id, px FROM ticks",
		"INSERT INTO ticks VALUES (1, 'ACME', 100, '2026-01-02 10:00:00'), (2, 'ACME', 101, '2026-01-02 10:01:00')",
		"FLUSH",
		// 09:59:00 is behind the watermark 10:00:55.
		"INSERT INTO ticks VALUES (3, 'ACME', 99, '2026-01-02 09:59:00')",
		"FLUSH")
	conn := s.connect(t)
	ctx := context.Background()
	const q = "SELECT view_name, relation, row->>'id', row->>'sym', (row->'px')::text, event_time, watermark, arrived > now() - interval '1 hour' FROM late_rows WHERE view_name = 'bars'"
	want := []string{"bars ticks 3 ACME 99 2026-01-02 09:59:00 2026-01-02 10:00:55 true"}
	check := func(when string) {
		t.Helper()
		got := queryStrings(t, conn, q)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: late rows %q, want %q", when, got, want)
		}
		if n := queryInt(t, conn, "SELECT count(*) FROM late_rows WHERE view_name = 'bars_drop'"); n != 0 {
			t.Fatalf("%s: %d late rows of a view WITH (late_rows = 'drop')", when, n)
		}
		if n := queryInt(t, conn, "SELECT sum(n) FROM bars"); n != 2 {
			t.Fatalf("%s: the late row reached the view: %d rows counted", when, n)
		}
	}
	check("after the late row")
	conn.Close(ctx)

	s.restart(t)
	conn = s.connect(t)
	s.execAll(t, "FLUSH", "FLUSH")
	check("after a restart")

	// A role that may read bars alone sees its late rows only.
	s.execAll(t, "CREATE ROLE alice LOGIN", "GRANT SELECT ON bars TO alice")
	alice, err := pgx.Connect(ctx, s.URL("alice", "streamsql"))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close(ctx)
	if got := queryStrings(t, alice, "SELECT view_name FROM late_rows ORDER BY 1"); strings.Join(got, ",") != "bars" {
		t.Fatalf("alice sees the late rows of %q", got)
	}
	if got := queryStrings(t, conn, "SELECT view_name FROM late_rows ORDER BY 1"); strings.Join(got, ",") != "bars,secret" {
		t.Fatalf("the owner sees the late rows of %q", got)
	}

	// Refused options.
	for _, c := range []struct{ sql, code, msg string }{
		{"CREATE MATERIALIZED VIEW x WITH (late_rows = 'later') AS SELECT id FROM ticks", "22023", `invalid value for parameter "late_rows": "later"`},
		{"CREATE MATERIALIZED VIEW x WITH (fillfactor = 50) AS SELECT id FROM ticks", "22023", `unrecognized parameter "fillfactor"`},
	} {
		_, err := conn.Exec(ctx, c.sql)
		wantPgErr(t, err, c.code, c.msg)
	}
	conn.Close(ctx)
}
