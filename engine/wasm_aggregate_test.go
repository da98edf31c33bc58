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

	s.restart(t)
	checkSame(s)
	s.execAll(t, "DELETE FROM trades WHERE id % 5 = 0", "INSERT INTO trades VALUES (6000, 'S3', 4, timestamp '2026-01-01 00:01:00')", "FLUSH")
	checkSame(s)
	checkRows(t, s, "SELECT count(*) FROM (SELECT * FROM fussy EXCEPT ALL "+fussy+") d", "0")
}

// A WebAssembly aggregate with states of variable size (wdistinct: the
// distinct values of a group with their counts, a state that grows with
// its rows, past the 64 KiB a fixed-size state may have): ad hoc equal to
// count(DISTINCT), and in a view over inserts, deletes and updates that
// keeps its states in the state table and resumes them after a restart.
func TestUserAggregateWasmVariableState(t *testing.T) {
	mod := buildWasmFuncs(t)
	s := openStack(t, engine.Options{Settings: map[string]string{"udf_memory_limit": "64MB"}})
	ctx := context.Background()
	const q = "SELECT g, count(DISTINCT v) FROM vals GROUP BY g"
	s.execAll(t,
		"CREATE AGGREGATE wdistinct(v int) RETURNS bigint LANGUAGE wasm USING BASE64 '"+mod+"'",
		"CREATE TABLE vals (id int PRIMARY KEY, g int, v int)",
		// Group 0 has 6,000 distinct values: a state of 96,000 bytes.
		"INSERT INTO vals SELECT i, CASE WHEN i <= 6000 THEN 0 ELSE 1 + i % 4 END, CASE WHEN i <= 6000 THEN i ELSE (i * 7) % 50 END FROM generate_series(1, 8000) i",
		"INSERT INTO vals VALUES (9001, 1, NULL), (9002, 2, NULL)",
		"CREATE MATERIALIZED VIEW distinct_vals AS SELECT g, wdistinct(v) AS n FROM vals GROUP BY g",
		"FLUSH",
	)
	conn := s.connect(t)
	if n := queryInt(t, conn, "SELECT count(*) FROM ((SELECT g, wdistinct(v) FROM vals GROUP BY g) EXCEPT ALL ("+q+")) d"); n != 0 {
		t.Fatalf("ad hoc: %d groups differ from count(DISTINCT)", n)
	}
	if n := queryInt(t, conn, "SELECT wdistinct(v) FROM vals WHERE g = 0"); n != 6000 {
		t.Fatalf("group 0: %d distinct values, want 6000", n)
	}
	conn.Close(ctx)
	checkView(t, s, "after the load", "distinct_vals", q, 5)
	s.execAll(t, "DELETE FROM vals WHERE id % 3 = 0", "UPDATE vals SET v = v + 1 WHERE id % 5 = 0", "FLUSH")
	checkView(t, s, "after deletes and updates", "distinct_vals", q, 5)

	s.restart(t)
	checkView(t, s, "after the restart", "distinct_vals", q, 5)
	// The states read back after the restart take the next changes.
	s.execAll(t, "DELETE FROM vals WHERE id % 7 = 0", "UPDATE vals SET v = -v WHERE id % 11 = 0",
		"INSERT INTO vals SELECT i, i % 5, i FROM generate_series(10001, 10500) i", "FLUSH")
	checkView(t, s, "after changes after the restart", "distinct_vals", q, 5)
}

// A WebAssembly ordered-set aggregate (wnth(k ORDER BY v): the k-th value
// in the WITHIN GROUP order, with k given to NAME_finish) gets its rows
// sorted: ad hoc and in a GROUP BY view under deletes and updates it
// equals the k-th element of array_agg in the same order, also after a
// restart.
func TestUserAggregateWasmOrderedSet(t *testing.T) {
	mod := buildWasmFuncs(t)
	s := openStack(t, engine.Options{})
	const q = "SELECT g, (array_agg(v ORDER BY v DESC) FILTER (WHERE v IS NOT NULL))[2] FROM vals GROUP BY g"
	s.execAll(t,
		"CREATE AGGREGATE wnth(k int ORDER BY v int) RETURNS int LANGUAGE wasm USING BASE64 '"+mod+"'",
		"CREATE TABLE vals (id int PRIMARY KEY, g int, v int)",
		"INSERT INTO vals SELECT i, i % 5, CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 13) % 41 END FROM generate_series(1, 60) i",
		"CREATE MATERIALIZED VIEW nth_vals AS SELECT g, wnth(2) WITHIN GROUP (ORDER BY v DESC) AS n FROM vals GROUP BY g",
		"FLUSH",
	)
	conn := s.connect(t)
	if n := queryInt(t, conn, "SELECT count(*) FROM ((SELECT g, wnth(2) WITHIN GROUP (ORDER BY v DESC) FROM vals GROUP BY g) EXCEPT ALL ("+q+")) d"); n != 0 {
		t.Fatalf("ad hoc: %d groups differ from array_agg's second value", n)
	}
	if n := queryInt(t, conn, "SELECT wnth(1) WITHIN GROUP (ORDER BY v) FROM vals"); n != 0 {
		t.Fatalf("the smallest value: %d, want 0", n)
	}
	if n := queryInt(t, conn, "SELECT count(*) FROM pg_aggregate WHERE aggfnoid = 'wnth'::regproc AND aggkind = 'o' AND aggnumdirectargs = 1"); n != 1 {
		t.Fatal("pg_aggregate must show wnth as an ordered-set aggregate with one direct argument")
	}
	conn.Close(context.Background())
	checkView(t, s, "after the load", "nth_vals", q, 5)
	s.execAll(t, "DELETE FROM vals WHERE id % 4 = 0", "UPDATE vals SET v = v + 50 WHERE id % 6 = 1", "FLUSH")
	checkView(t, s, "after deletes and updates", "nth_vals", q, 5)
	s.restart(t)
	checkView(t, s, "after the restart", "nth_vals", q, 5)
	s.execAll(t, "UPDATE vals SET v = 100 WHERE id = 2", "FLUSH")
	checkView(t, s, "after an update past the restart", "nth_vals", q, 5)
}

// A WebAssembly procedure with one output parameter runs the module's
// scalar entry point over one row: wgcd (Euclid) as CALL wgcd(a,
// b, NULL), and wcheck as CALL wcheck(x) with x INOUT, also after a
// restart; a failure is 38000.
func TestProcedureWasm(t *testing.T) {
	mod := buildWasmFuncs(t)
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE PROCEDURE wgcd(a int, b int, OUT g int) LANGUAGE wasm AS '"+mod+"'",
		"CREATE PROCEDURE wcheck(INOUT x int) LANGUAGE wasm AS '"+mod+"'",
	)
	check := func() {
		t.Helper()
		conn := s.connect(t)
		defer conn.Close(context.Background())
		if n := queryInt(t, conn, "CALL wgcd(12, 18, NULL)"); n != 6 {
			t.Fatalf("CALL wgcd(12, 18, NULL) = %d, want 6", n)
		}
		if n := queryInt(t, conn, "CALL wgcd(35, 21, NULL)"); n != 7 {
			t.Fatalf("CALL wgcd(35, 21, NULL) = %d, want 7", n)
		}
		if n := queryInt(t, conn, "CALL wcheck(7)"); n != 7 {
			t.Fatalf("CALL wcheck(7) = %d, want 7", n)
		}
		var pe *pgconn.PgError
		if _, err := conn.Exec(context.Background(), "CALL wcheck(-1)"); !errors.As(err, &pe) || pe.Code != "38000" || !strings.Contains(pe.Message, "negative input") {
			t.Fatalf("CALL wcheck(-1): %v, want 38000 negative input", err)
		}
	}
	check()
	s.restart(t)
	check()
}
