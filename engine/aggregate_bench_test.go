package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"streamsql/engine"
	"streamsql/internal/cputime"
)

// BenchmarkUserAggregateView reports rows per CPU-second of a GROUP BY
// materialized view over a JavaScript average with retract, next to the
// same view over the built-in avg, in one run: each iteration inserts
// 100,000 rows into the view's table, deletes half of them again and
// waits for the view (FLUSH). The figure covers the whole path (INSERT,
// DELETE, the job, the commit), so the built-in's is the ceiling.
//
// The javascript_p2 runs use streaming_parallelism 2 and an average with
// merge, in one phase and in two (streaming_two_phase_agg; over deletes
// the halves exchange whole states, exec/stream/agg/hash_agg_replace.go).
func BenchmarkUserAggregateView(b *testing.B) {
	const rows = 100_000
	s := openStack(b, engine.Options{})
	s.execAll(b, `CREATE AGGREGATE js_avg(v bigint) RETURNS double precision LANGUAGE javascript AS $$
		export function create_state() { return {sum: 0, n: 0}; }
		export function accumulate(s, v) { if (v !== null) { s.sum += v; s.n++; } return s; }
		export function retract(s, v) { if (v !== null) { s.sum -= v; s.n--; } return s; }
		export function finish(s) { return s.n === 0 ? null : s.sum / s.n; }
	$$`, `CREATE AGGREGATE js_avg_m(v bigint) RETURNS double precision LANGUAGE javascript AS $$
		export function create_state() { return {sum: 0, n: 0}; }
		export function accumulate(s, v) { if (v !== null) { s.sum += v; s.n++; } return s; }
		export function retract(s, v) { if (v !== null) { s.sum -= v; s.n--; } return s; }
		export function merge(a, b) { a.sum += b.sum; a.n += b.n; return a; }
		export function finish(s) { return s.n === 0 ? null : s.sum / s.n; }
	$$`)
	runs := 0
	for _, c := range []struct{ name, agg, par, split string }{
		{"javascript", "js_avg(v)", "1", "off"}, {"builtin", "avg(v)::double precision", "1", "off"},
		{"javascript_p2_one_phase", "js_avg_m(v)", "2", "off"}, {"javascript_p2_two_phase", "js_avg_m(v)", "2", "on"},
	} {
		b.Run(c.name, func(b *testing.B) {
			runs++ // the benchmark calls this once per b.N it tries
			tbl, view := fmt.Sprintf("t_%s_%d", c.name, runs), fmt.Sprintf("v_%s_%d", c.name, runs)
			s.execAll(b, fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, k int, v bigint)", tbl),
				"SET streaming_parallelism = "+c.par, "SET streaming_two_phase_agg = "+c.split,
				fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS SELECT k, %s AS a FROM %s GROUP BY k", view, c.agg, tbl))
			conn := s.connect(b)
			ctx := context.Background()
			var cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				lo := int64(i) * rows
				cpu0 := cputime.Used()
				for _, q := range []string{
					fmt.Sprintf("INSERT INTO %s SELECT g, g %% 100, g %% 997 FROM generate_series(%d, %d) g", tbl, lo, lo+rows-1),
					fmt.Sprintf("DELETE FROM %s WHERE id %% 2 = 0 AND id >= %d", tbl, lo),
					"FLUSH",
				} {
					if _, err := conn.Exec(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
				cpu += cputime.Used() - cpu0
			}
			// The view's rows in and out: the inserts and the deletes (the even
			// ids, and with them the groups of even k).
			b.ReportMetric(float64(b.N)*rows*1.5/cpu.Seconds(), "rows/cpu-s")
			var groups int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+view).Scan(&groups); err != nil || groups != 50 {
				b.Fatalf("view has %d groups, %v", groups, err)
			}
		})
	}
}
