package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"streamsql/engine"
)

// twoPhaseUserCases are user aggregates with merge (JavaScript,
// WebAssembly, and SQL with MSFUNC/MINVFUNC/COMBINEFUNC) over a table
// with updates and deletes: in two phases their halves exchange whole
// states (exec/stream/agg/hash_agg_replace.go).
var twoPhaseUserCases = []viewFormCase{
	{"u_js", "SELECT k, js_top(v) AS top, js_sum(v) AS js, count(*) AS n, sum(v) AS s FROM t GROUP BY k"},
	{"u_wasm", "SELECT k, s, wavg(v) AS w, count(v) AS nv FROM t GROUP BY k, s"},
	{"u_sql", "SELECT k, pg_qsum(v) AS pg, avg(v) AS a FROM t GROUP BY k"},
	{"u_tumble", "SELECT window_start, k, js_sum(v) AS js, pg_qsum(v) AS pg FROM tumble(t, ts, interval '10 seconds') GROUP BY window_start, k"},
	{"u_whole", "SELECT js_top(v) AS top, wavg(v) AS w, pg_qsum(v) AS pg, count(*) AS n FROM t"},
}

// TestTwoPhaseUserAggDifferential applies random inserts, updates and
// deletes and, after every epoch, compares every case run as a view in
// two phases, as a view in one, and ad hoc; the server restarts every
// few epochs. js_top throws when it is asked to retract a value it never
// accumulated, as a state built from an epoch's deletes alone would make
// it do: only states kept per instance avoid that.
func TestTwoPhaseUserAggDifferential(t *testing.T) {
	mod := buildWasmFuncs(t)
	s := openStack(t, engine.Options{})
	s.execAll(t, mergeableAggregates(mod)...)
	s.execAll(t,
		"CREATE TABLE t (id int PRIMARY KEY, k int, s text, v int, ts timestamp)",
		jsSumAggregate,
		`CREATE AGGREGATE js_top(v int) RETURNS int LANGUAGE javascript AS $$
export function create_state() { return {c: {}}; }
export function accumulate(st, v) { if (v !== null) st.c[v] = (st.c[v] || 0) + 1; return st; }
export function retract(st, v) {
  if (v === null) return st;
  if (!st.c[v]) throw new Error('retract of ' + v + ', never accumulated');
  if (--st.c[v] === 0) delete st.c[v];
  return st;
}
export function merge(a, b) { for (const k in b.c) a.c[k] = (a.c[k] || 0) + b.c[k]; return a; }
export function finish(st) { const ks = Object.keys(st.c).map(Number); return ks.length ? Math.max(...ks) : null; }
$$`,
	)
	r := rand.New(rand.NewPCG(17, 5))
	g := newRowChangesBy(r, func(_ string, _ int, update bool) string {
		if update {
			return fmt.Sprintf("k = %d, v = %s, ts = ts + interval '5 seconds'", hotKey(r, 8, 4), nullOrInt(r, 9))
		}
		return fmt.Sprintf("%d, 's%d', %s, '2026-01-01 00:00:00'::timestamp + %d * interval '1 second'", hotKey(r, 8, 4), r.IntN(2), nullOrInt(r, 9), r.IntN(40))
	})
	var setup []string
	for range 30 {
		setup = append(setup, g.change("t"))
	}
	s.execAll(t, setup...)
	checkTwoPhaseViews(t, s, twoPhaseUserCases, 2, func(plan string) bool {
		return strings.Contains(plan, "StreamHashAgg (global, latest state per instance)") && strings.Contains(plan, "StreamHashAgg (local, whole states)")
	}, func() []string {
		var qs []string
		for range 10 + r.IntN(40) {
			qs = append(qs, g.change("t"))
		}
		return qs
	})
	conn := s.connect(t)
	defer conn.Close(t.Context())
	if n := queryInt(t, conn, "SELECT count(*) FROM rejects"); n != 0 {
		t.Errorf("rejects: %s", strings.Join(queryStrings(t, conn, "SELECT job || ' ' || partition || ' ' || error FROM rejects"), "\n"))
	}
}

// mergeableAggregates creates wavg (WebAssembly, from the module mod)
// and pg_qsum (SQL, with MSFUNC, MINVFUNC and COMBINEFUNC).
func mergeableAggregates(mod string) []string {
	return []string{
		"CREATE AGGREGATE wavg(v int) RETURNS double precision LANGUAGE wasm USING BASE64 '" + mod + "'",
		"CREATE FUNCTION q_add(s bigint, v bigint) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT s + v $$",
		"CREATE FUNCTION q_sub(s bigint, v bigint) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT s - v $$",
		`CREATE AGGREGATE pg_qsum(bigint) (SFUNC = q_add, STYPE = bigint, INITCOND = '0',
		   MSFUNC = q_add, MINVFUNC = q_sub, MSTYPE = bigint, MINITCOND = '0', COMBINEFUNC = q_add)`,
	}
}

// Over updates and deletes, a merge that fails in the global half leaves
// the failing instance's state out of the group until that instance
// sends another, and is rejected once (rejects names the aggregate and
// the group); the view keeps running and its other groups stay exact.
func TestTwoPhaseUserAggMergeRejects(t *testing.T) {
	s := openStack(t, engine.Options{})
	var rows []string
	for id := 1; id <= 13; id++ {
		rows = append(rows, fmt.Sprintf("(%d, 1, 1)", id))
	}
	s.execAll(t,
		"CREATE TABLE taps (id int PRIMARY KEY, k int, v int)",
		pickySum("a.s + b.s === 13", "total"),
		"SET streaming_parallelism = 2",
		"SET streaming_two_phase_agg = on",
		"CREATE MATERIALIZED VIEW picky AS SELECT k, picky_sum(v) AS s, count(*) AS n FROM taps GROUP BY k",
		"INSERT INTO taps VALUES (100, 2, 5), (101, 2, 6)",
		"FLUSH",
		// Group 1's states of the two instances sum to 13: their merge fails.
		"INSERT INTO taps VALUES "+strings.Join(rows, ", "),
		"DELETE FROM taps WHERE id = 100",
		"FLUSH",
	)
	conn := twoPhaseConn(t, s, 2, func(plan string) bool { return strings.Contains(plan, "(global, latest state per instance)") }, pickyQuery)
	defer conn.Close(t.Context())
	got := queryStrings(t, conn, "SELECT k || ':' || s || ':' || n FROM picky ORDER BY k")
	if len(got) != 2 || got[1] != "2:6:1" || !strings.HasSuffix(got[0], ":13") || got[0] == "1:13:13" {
		t.Errorf("view: %v, want group 1 with 13 rows but only one instance's sum, and 2:6:1", got)
	}
	s.execAll(t, "INSERT INTO taps VALUES (14, 1, 1)", "UPDATE taps SET v = 7 WHERE id = 101", "FLUSH")
	if got := strings.Join(queryStrings(t, conn, "SELECT k || ':' || s || ':' || n FROM picky ORDER BY k"), ","); got != "1:14:14,2:7:1" {
		t.Errorf("view after the next states: %s, want 1:14:14,2:7:1", got)
	}
	checkPickyRejected(t, conn, "total")
}
