package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
)

// twoPhaseCases are aggregations that run in two phases when
// streaming_two_phase_agg is on (lower/stream_two_phase.go), over a
// table with updates and deletes (t) and an append-only one (a).
var twoPhaseCases = []viewFormCase{
	{"sums", "SELECT k, count(*) AS n, count(v) AS nv, sum(v) AS s, avg(v) AS a, sum(f) AS sf, sum(d) AS sd, avg(d) AS ad FROM t GROUP BY k"},
	{"spread", "SELECT k, stddev_samp(v) AS sd, round(var_pop(f)::numeric, 9) AS vp, variance(d) AS vd, round(corr(v, f)::numeric, 9) AS c, round(regr_slope(f, v)::numeric, 9) AS rs, bit_or(v) AS bo, bool_and(v > 2) AS ba, sum(iv) AS si FROM t GROUP BY k"},
	{"filtered", "SELECT k, s, count(*) FILTER (WHERE v > 2) AS big, sum(v) FILTER (WHERE f < 1) AS small FROM t GROUP BY k, s HAVING count(*) > 1"},
	{"whole", "SELECT count(*) AS n, sum(v) AS s, avg(f) AS a, bool_or(v = 5) AS any5 FROM t"},
	{"extremes", "SELECT k, min(v) AS lo, max(s) AS hi, count(*) AS n, sum(v) AS s FROM a GROUP BY k"},
	{"extremes_all", "SELECT min(v) AS lo, max(v) AS hi FROM a"},
	{"js_merge", "SELECT k, js_sum(v) AS js, sum(v) AS s FROM a GROUP BY k"},
}

// TestTwoPhaseAggDifferential applies random inserts, updates and
// deletes and, after every epoch, compares every case run as a view in
// two phases, as a view in one, and ad hoc; the server restarts every
// few epochs. A key carries most of the rows, as in a skewed feed.
func TestTwoPhaseAggDifferential(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE TABLE t (id int PRIMARY KEY, k int, s text, v int, f float8, d numeric, iv interval)",
		"CREATE TABLE a (id int PRIMARY KEY, k int, s text, v int) APPEND ONLY",
		jsSumAggregate,
	)
	r := rand.New(rand.NewPCG(17, 2))
	key := func() int { return hotKey(r, 9, 5) }
	val := func() string { return nullOrInt(r, 6) }
	flt := func() string { return maybe(r, fmt.Sprintf("%g", float64(r.IntN(20))/4)) }
	g := newRowChangesBy(r, func(_ string, _ int, update bool) string {
		if update {
			return fmt.Sprintf("k = %d, v = %s, f = %s", key(), val(), flt())
		}
		// Floats are multiples of 1/4 and numerics have up to 2 decimals,
		// so every order of summing gives the same result.
		return fmt.Sprintf("%d, 's%d', %s, %s, %s, %s", key(), r.IntN(3), val(), flt(),
			maybe(r, fmt.Sprintf("%d.%02d", r.IntN(9), r.IntN(100))), maybe(r, fmt.Sprintf("'%d hours'", r.IntN(30))))
	})
	// Each insert into t comes with one into the append-only a.
	change := func() []string {
		q := g.change("t")
		if !strings.HasPrefix(q, "INSERT") {
			return []string{q}
		}
		return []string{q, fmt.Sprintf("INSERT INTO a VALUES (%d, %d, 's%d', %s)", g.next["t"], key(), r.IntN(3), val())}
	}
	var setup []string
	for range 30 {
		setup = append(setup, change()...)
	}
	s.execAll(t, setup...)
	checkTwoPhaseViews(t, s, twoPhaseCases, 3, func(plan string) bool {
		return strings.Contains(plan, "StreamHashAgg (global)")
	}, func() []string {
		var qs []string
		for range 10 + r.IntN(40) {
			qs = append(qs, change()...)
		}
		return qs
	})
}

// jsSumAggregate creates js_sum, a JavaScript sum with merge.
const jsSumAggregate = `CREATE AGGREGATE js_sum(v int) RETURNS bigint LANGUAGE javascript AS $$
export function create_state() { return {s: 0, n: 0}; }
export function accumulate(st, v) { if (v !== null) { st.s += v; st.n++; } return st; }
export function retract(st, v) { if (v !== null) { st.s -= v; st.n--; } return st; }
export function merge(a, b) { a.s += b.s; a.n += b.n; return a; }
export function finish(st) { return st.n === 0 ? null : st.s; }
$$`

// hotKey returns the hot key 0 hot times in ten, else one of 1 to others,
// as in a skewed feed.
func hotKey(r *rand.Rand, hot, others int) int {
	if r.IntN(10) < hot {
		return 0
	}
	return 1 + r.IntN(others)
}

// nullOrInt returns NULL one time in eight, else a number below n.
func nullOrInt(r *rand.Rand, n int) string {
	if r.IntN(8) == 0 {
		return "NULL"
	}
	return fmt.Sprint(r.IntN(n))
}

// maybe returns v, or NULL one time in eight.
func maybe(r *rand.Rand, v string) string {
	if r.IntN(8) == 0 {
		return "NULL"
	}
	return v
}

// A merge function that fails in the global half of a two-phase
// aggregation rejects that partial state (rejects names the aggregate and
// the group) and leaves the group's state without it; the view keeps
// running and its other groups stay exact.
func TestTwoPhaseAggMergeRejects(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE TABLE taps (id int PRIMARY KEY, k int, v int) APPEND ONLY",
		pickySum("b.s === 13", "partial"),
		"SET streaming_parallelism = 2",
		"SET streaming_two_phase_agg = on",
		"CREATE MATERIALIZED VIEW picky AS SELECT k, picky_sum(v) AS s, count(*) AS n FROM taps GROUP BY k",
		"INSERT INTO taps VALUES (1, 1, 5), (2, 2, 6)",
		"FLUSH",
		// One epoch's partial for group 1 sums to 13: its merge fails.
		"INSERT INTO taps VALUES (3, 1, 13), (4, 2, 1)",
		"FLUSH",
		"INSERT INTO taps VALUES (5, 1, 2), (6, 2, 3)",
		"FLUSH",
	)
	conn := twoPhaseConn(t, s, 2, func(plan string) bool { return strings.Contains(plan, "StreamHashAgg (global)") }, pickyQuery)
	defer conn.Close(t.Context())
	got := strings.Join(queryStrings(t, conn, "SELECT k || ':' || s || ':' || n FROM picky ORDER BY k"), ",")
	if got != "1:7:3,2:10:3" {
		t.Errorf("view: %s, want 1:7:3,2:10:3 (group 1 without the rejected 13)", got)
	}
	checkPickyRejected(t, conn, "partial")
}

// pickySum creates picky_sum, a JavaScript sum whose merge of the states
// a and b throws 'unlucky what' where cond holds.
func pickySum(cond, what string) string {
	return `CREATE AGGREGATE picky_sum(v int) RETURNS bigint LANGUAGE javascript AS $$
export function create_state() { return {s: 0}; }
export function accumulate(st, v) { st.s += v; return st; }
export function retract(st, v) { st.s -= v; return st; }
export function merge(a, b) { if (` + cond + `) throw new Error('unlucky ` + what + `'); return {s: a.s + b.s}; }
export function finish(st) { return st.s; }
$$`
}

// pickyQuery is the query of the view picky, split in two phases.
const pickyQuery = "SELECT k, picky_sum(v) FROM taps GROUP BY k"

// checkPickyRejected fails unless rejects holds one row of the view
// picky: the merge of group 1's picky_sum that failed with 'unlucky what'.
func checkPickyRejected(t *testing.T, conn *pgx.Conn, what string) {
	t.Helper()
	if n := queryInt(t, conn, "SELECT count(*) FROM rejects WHERE job = 'picky' AND partition LIKE '%picky_sum%' AND raw = '(1)' AND error LIKE '%unlucky "+what+"%'"); n != 1 {
		t.Errorf("rejects of the failed merge: %d, want 1:\n%s", n, strings.Join(queryStrings(t, conn, "SELECT partition || ' ' || raw || ' ' || error FROM rejects"), "\n"))
	}
}
