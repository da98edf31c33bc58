package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
)

// WebAssembly aggregates (CREATE AGGREGATE ... LANGUAGE wasm USING
// BASE64): ad hoc in GROUP BY equal to the built-in avg, in a TUMBLE view
// that takes deleted and updated rows back out (retract), across a
// restart; a failing, looping, memory-hungry or trapping module gives
// 38000 ad hoc and rejects in a view, which keeps running.
func TestUserAggregateWasm(t *testing.T) {
	mod := buildWasmFuncs(t)
	s := openStack(t, engine.Options{Settings: map[string]string{"udf_memory_limit": "64MB"}})
	ctx := context.Background()
	s.execAll(t,
		"CREATE AGGREGATE wavg(v int) RETURNS double precision LANGUAGE wasm USING BASE64 '"+mod+"'",
		"CREATE AGGREGATE wfussy(v int) RETURNS bigint LANGUAGE wasm USING BASE64 '"+mod+"'",
		"CREATE TABLE trades (id int PRIMARY KEY, sym text, qty int, ts timestamp)",
		"INSERT INTO trades SELECT g, 'S' || (g % 5), CASE WHEN g % 11 = 0 THEN NULL ELSE g % 37 END, timestamp '2026-01-01 00:00:00' + g * interval '7 second' FROM generate_series(1, 2000) g",
		`CREATE MATERIALIZED VIEW by_min AS SELECT window_start, sym, wavg(qty) AS a, count(qty) AS n
		 FROM tumble(trades, ts, interval '1 minute') GROUP BY window_start, sym`,
		"CREATE MATERIALIZED VIEW fussy AS SELECT sym, wfussy(qty) AS s FROM trades GROUP BY sym",
	)
	conn := s.connect(t)
	var diff int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT sym, wavg(qty) FROM trades GROUP BY sym
		EXCEPT ALL SELECT sym, avg(qty)::float8 FROM trades GROUP BY sym) d`).Scan(&diff); err != nil || diff != 0 {
		t.Fatalf("wavg against avg: %d groups differ, %v", diff, err)
	}
	rows, err := conn.Query(ctx, "EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT sym, wavg(qty), wfussy(qty) FROM trades GROUP BY sym")
	if err != nil {
		t.Fatal(err)
	}
	var explain strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		explain.WriteString(line + "\n")
	}
	if !strings.Contains(explain.String(), "[retract]") || !strings.Contains(explain.String(), "[recompute]") {
		t.Errorf("EXPLAIN must show wavg with retract and wfussy recomputed:\n%s", explain.String())
	}
	const byMin = `SELECT window_start, sym, wavg(qty), count(qty) FROM tumble(trades, ts, interval '1 minute') GROUP BY window_start, sym`
	checkSame := func(s *benchStack) {
		t.Helper()
		c := s.connect(t)
		defer c.Close(ctx)
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT * FROM by_min EXCEPT ALL " + byMin + ") d",
			"SELECT count(*) FROM (" + byMin + " EXCEPT ALL SELECT * FROM by_min) d",
		} {
			var n int
			if err := c.QueryRow(ctx, q).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%s: %d rows differ, %v", q, n, err)
			}
		}
	}
	s.execAll(t, "DELETE FROM trades WHERE id % 7 = 0", "UPDATE trades SET qty = qty * 3 WHERE id % 3 = 0", "FLUSH")
	checkSame(s)

	for v, want := range map[int]string{-1: "negative input", -2: "timed out after 200ms", -3: "exceeded the memory limit of 64 MB", -4: "failed"} {
		switch v {
		case -2:
			execAll(t, conn, "SET udf_timeout = '200ms'")
		case -3:
			// The memory guard, not the clock, must stop this one.
			execAll(t, conn, "SET udf_timeout = '20s'")
		}
		var r *int64
		err := conn.QueryRow(ctx, "SELECT wfussy(q) FROM (VALUES (1), ($1::int)) AS x(q)", v).Scan(&r)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "38000" || !strings.Contains(pe.Message, want) {
			t.Errorf("wfussy over %d: got %v, want 38000 %q", v, err, want)
		}
		execAll(t, conn, "RESET udf_timeout")
	}
	var sum int64
	if err := conn.QueryRow(ctx, "SELECT wfussy(v) FROM (VALUES (1), (2)) AS x(v)").Scan(&sum); err != nil || sum != 103 {
		t.Fatalf("wfussy after the failures: %d, %v", sum, err)
	}
	conn.Close(ctx)

	// In the view the failing rows are rejected and left out.
	s.execAll(t, "INSERT INTO trades VALUES (5001, 'S1', -1, now()), (5002, 'S2', -4, now()), (5003, 'S1', 5, now())", "FLUSH")
	const fussy = "SELECT sym, wfussy(qty) FROM trades WHERE qty IS NULL OR qty >= 0 GROUP BY sym"
	checkRows(t, s, "SELECT count(*) FROM (SELECT * FROM fussy EXCEPT ALL "+fussy+") d", "0")
	s.execAll(t, "FLUSH") // rejects are written with the next epoch
	checkRows(t, s, `SELECT count(DISTINCT raw) FROM rejects WHERE job = 'fussy' AND
		(raw = '(-1)'::bytea AND error = 'negative input' OR raw = '(-4)'::bytea AND error LIKE '%wfussy(integer) failed: wasm error: unreachable%')`, "2")

	s = s.restart(t)
	defer s.close()
	checkSame(s)
	s.execAll(t, "DELETE FROM trades WHERE id % 5 = 0", "INSERT INTO trades VALUES (6000, 'S3', 4, timestamp '2026-01-01 00:01:00')", "FLUSH")
	checkSame(s)
	checkRows(t, s, "SELECT count(*) FROM (SELECT * FROM fussy EXCEPT ALL "+fussy+") d", "0")
}
