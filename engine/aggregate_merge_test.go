package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// A SESSION view whose sessions merge when a row bridges them: the user
// aggregates with a merge function (JavaScript merge, WebAssembly
// NAME_merge, PostgreSQL's COMBINEFUNC) combine the sessions' states, the
// others fold the merged session's rows again. Every result equals the
// query run as a batch query, after bridges and after a delete that splits
// a session; js_merges counts the merges its state went through, which only
// a merging view can make nonzero; and a row the aggregate rejected before
// the bridge is rejected once, not again when its session merges.
func TestUserAggregateSessionMerge(t *testing.T) {
	mod := buildWasmFuncs(t)
	s := openStack(t, engine.Options{})
	s.execAll(t, mergeableAggregates(mod)...)
	s.execAll(t,
		`CREATE AGGREGATE js_qsum(q int) RETURNS bigint LANGUAGE javascript AS $$
		   export function create_state() { return {s: 0}; }
		   export function accumulate(st, q) { if (q === 13) throw new Error('unlucky quantity'); st.s += q; return st; }
		   export function retract(st, q) { st.s -= q; return st; }
		   export function merge(a, b) { a.s += b.s; return a; }
		   export function finish(st) { return st.s; }
		 $$`,
		`CREATE AGGREGATE js_merges(q int) RETURNS int LANGUAGE javascript AS $$
		   export function create_state() { return {n: 0, m: 0}; }
		   export function accumulate(st, q) { st.n++; return st; }
		   export function retract(st, q) { st.n--; return st; }
		   export function merge(a, b) { return {n: a.n + b.n, m: a.m + b.m + 1}; }
		   export function finish(st) { return st.m; }
		 $$`,
		`CREATE AGGREGATE js_max_seen(q int) RETURNS int LANGUAGE javascript AS $$
		   export function create_state() { return {c: {}}; }
		   export function accumulate(st, q) { st.c[q] = (st.c[q] || 0) + 1; return st; }
		   export function retract(st, q) { if (--st.c[q] === 0) delete st.c[q]; return st; }
		   export function finish(st) { const ks = Object.keys(st.c).map(Number); return ks.length ? Math.max(...ks) : null; }
		 $$`,
		"CREATE TABLE trades (id int PRIMARY KEY, sym text, q int, ts timestamp)",
		// Three sessions per symbol (gap 20 s): [0, 5], [30, 35], [60].
		`INSERT INTO trades VALUES
		   (1, 'A', 1, '2026-01-01 00:00:00'), (2, 'A', 2, '2026-01-01 00:00:05'), (3, 'A', 13, '2026-01-01 00:00:04'),
		   (4, 'A', 4, '2026-01-01 00:00:30'), (5, 'A', 5, '2026-01-01 00:00:35'),
		   (6, 'A', 6, '2026-01-01 00:01:00'),
		   (7, 'B', 7, '2026-01-01 00:00:00'), (8, 'B', 8, '2026-01-01 00:00:30'), (9, 'B', 9, '2026-01-01 00:01:00')`,
		`CREATE MATERIALIZED VIEW sess AS
		   SELECT sym, window_start, window_end, js_qsum(q) AS js, wavg(q) AS w, pg_qsum(q) AS pg, js_max_seen(q) AS mx, count(*) AS n, js_merges(q) AS merges
		   FROM session(trades, ts, interval '20 second') GROUP BY sym, window_start, window_end`,
		"FLUSH",
	)
	conn := s.connect(t)
	ctx := context.Background()
	explain := strings.Join(queryStrings(t, conn, `EXPLAIN CREATE MATERIALIZED VIEW x AS
		SELECT sym, js_qsum(q), wavg(q), pg_qsum(q), js_max_seen(q) FROM session(trades, ts, interval '20 second') GROUP BY sym, window_start, window_end`), "\n")
	for _, want := range []string{"js_qsum(#2) [retract, merge]", "wavg(#3) [retract, merge]", "pg_qsum(#4) [retract, merge]", "js_max_seen(#5) [retract]"} {
		if !strings.Contains(explain, want) {
			t.Errorf("EXPLAIN lacks %q:\n%s", want, explain)
		}
	}
	// js_qsum leaves out the row it rejects (q = 13).
	const query = `SELECT sym, window_start, window_end, sum(q) FILTER (WHERE q <> 13), wavg(q), pg_qsum(q), js_max_seen(q), count(*)
		FROM session(trades, ts, interval '20 second') GROUP BY sym, window_start, window_end`
	checkSame := func(step string) {
		t.Helper()
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT sym, window_start, window_end, js, w, pg, mx, n FROM sess EXCEPT ALL " + query + ") d",
			"SELECT count(*) FROM (" + query + " EXCEPT ALL SELECT sym, window_start, window_end, js, w, pg, mx, n FROM sess) d",
		} {
			if n := queryInt(t, conn, q); n != 0 {
				t.Fatalf("%s: %d rows differ from the batch query:\n%s", step, n, strings.Join(queryStrings(t, conn, "SELECT * FROM sess ORDER BY sym, window_start"), "\n"))
			}
		}
	}
	checkSame("before the bridges")
	if n := queryInt(t, conn, "SELECT count(*) FROM sess"); n != 6 {
		t.Fatalf("%d sessions before the bridges, want 6", n)
	}

	// A at 18 s bridges [0, 5] and [30, 35]; B at 45 s bridges [30] and [60].
	s.execAll(t, "INSERT INTO trades VALUES (10, 'A', 10, '2026-01-01 00:00:18'), (11, 'B', 11, '2026-01-01 00:00:45')", "FLUSH")
	checkSame("after the bridges")
	checkRows(t, s, "SELECT sym, merges FROM sess ORDER BY sym, window_start", "A 1|A 0|B 0|B 1")
	// A at 48 s bridges everything of A into one session.
	s.execAll(t, "INSERT INTO trades VALUES (12, 'A', 12, '2026-01-01 00:00:48')", "FLUSH")
	checkSame("after the second bridge")
	// Deleting the bridge splits the session again (folded from its rows).
	s.execAll(t, "DELETE FROM trades WHERE id = 10", "UPDATE trades SET q = 3 WHERE id = 5", "FLUSH")
	checkSame("after the split")

	var rejects int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM rejects WHERE job = 'sess' AND error LIKE '%unlucky quantity%'").Scan(&rejects); err != nil || rejects != 1 {
		t.Fatalf("rejects of the row with q = 13: %d, %v; want 1 (rejected once, not again when its session merged)", rejects, err)
	}
}
