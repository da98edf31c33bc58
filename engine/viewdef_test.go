package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// TestViewDefRecreatesStreamingViews: pg_get_viewdef of a materialized
// view over window table functions (tumble, hop with an alias, cumulate,
// session), with EMIT ON WINDOW CLOSE, and over MATCH_RECOGNIZE (shown
// as stored) prints a query that, given to CREATE MATERIALIZED VIEW,
// makes a view with the same definition, the same EMIT ON WINDOW CLOSE
// and the same rows.
func TestViewDefRecreatesStreamingViews(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	views := map[string]string{
		"bars": "SELECT sym, window_start, count(*) AS n, max(px) AS hi FROM tumble(trades, ts, interval '5' minute) " +
			"GROUP BY sym, window_start EMIT ON WINDOW CLOSE",
		"hops": "SELECT sym, window_start, window_end, sum(px) AS s FROM hop(trades, ts, interval '1' minute, interval '5' minute) AS h " +
			"WHERE h.px > 0 GROUP BY sym, window_start, window_end",
		"cum":  "SELECT window_start, window_end, count(*) FROM cumulate(trades, ts, interval '1' minute, interval '5' minute) GROUP BY window_start, window_end",
		"sess": "SELECT sym, window_start, window_end, count(*) FROM session(trades, ts, interval '10' minute) GROUP BY sym, window_start, window_end",
		"mr": "SELECT * FROM trades MATCH_RECOGNIZE (PARTITION BY sym ORDER BY ts MEASURES last(b.px) AS top " +
			"PATTERN (a b+) DEFINE b AS b.px > prev(b.px)) m",
	}
	s.execAll(t, "CREATE TABLE trades (sym varchar, px int, ts timestamp, WATERMARK FOR ts AS ts - interval '1' minute) APPEND ONLY")
	for name, q := range views {
		s.execAll(t, "CREATE MATERIALIZED VIEW "+name+" AS "+q)
	}
	conn := s.connect(t)
	defer conn.Close(ctx)
	viewdef := func(name string) string {
		t.Helper()
		var def string
		if err := conn.QueryRow(ctx, "SELECT pg_get_viewdef($1::regclass, true)", name).Scan(&def); err != nil {
			t.Fatalf("pg_get_viewdef(%s): %v", name, err)
		}
		return def
	}
	for name := range views {
		def := viewdef(name)
		t.Logf("%s:%s", name, def)
		if name != "mr" && !strings.Contains(def, "\n   FROM ") {
			t.Errorf("%s is not deparsed: %q", name, def)
		}
		if got := strings.Contains(def, "EMIT ON WINDOW CLOSE"); got != (name == "bars") {
			t.Errorf("%s: EMIT ON WINDOW CLOSE shown %v: %q", name, got, def)
		}
		if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW "+name+"_copy AS "+strings.TrimSuffix(def, ";")); err != nil {
			t.Fatalf("recreating %s from %q: %v", name, def, err)
		}
		if again := viewdef(name + "_copy"); again != def {
			t.Errorf("%s recreated prints\n%s\nnot\n%s", name, again, def)
		}
	}
	if _, err := conn.Exec(ctx, "INSERT INTO trades VALUES ('A', 10, '2024-01-01 09:00:10'), ('A', 12, '2024-01-01 09:03:00'), "+
		"('B', 7, '2024-01-01 09:04:00'), ('A', 15, '2024-01-01 09:04:30'), ('B', 3, '2024-01-01 09:07:00'), ('A', 1, '2024-01-01 09:30:00'), ('A', 2, '2024-01-01 10:00:00')"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	for name := range views {
		var rows, diff int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+name).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		q := "SELECT count(*) FROM ((SELECT * FROM " + name + " EXCEPT ALL SELECT * FROM " + name + "_copy) UNION ALL " +
			"(SELECT * FROM " + name + "_copy EXCEPT ALL SELECT * FROM " + name + ")) d"
		if err := conn.QueryRow(ctx, q).Scan(&diff); err != nil {
			t.Fatal(err)
		}
		if rows == 0 || diff != 0 {
			t.Errorf("%s: %d rows, %d differ from the recreated view", name, rows, diff)
		}
	}
}
