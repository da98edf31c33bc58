package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// Views over the aggregates with retractable state of their own
// (approx_count_distinct, the exact float sums, bit counts, ordered and
// ordered-set multisets) resume after a restart from their persisted
// state: deletes and updates after the restart take back rows that were
// folded in before it, and the views still equal their queries (the float
// statistics equal a view built afresh over the final rows).
func TestAggregateStatesSurviveRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	const q = "SELECT g, approx_count_distinct(v) AS c, bit_xor(v) AS bx, var_samp(v) AS vs, " +
		"array_agg(v ORDER BY id DESC) AS a, jsonb_object_agg(s, v ORDER BY id) AS o, first_value(s ORDER BY v, id) AS fv, " +
		"percentile_disc(0.5) WITHIN GROUP (ORDER BY v) AS pd, mode() WITHIN GROUP (ORDER BY s) AS m FROM t GROUP BY g"
	const fq = "SELECT g, stddev_samp(f) AS sd, corr(f, v) AS co, regr_slope(f, v) AS sl FROM t GROUP BY g"
	s.execAll(t, "CREATE TABLE t (id int PRIMARY KEY, g int, v int, s text, f float8)",
		"INSERT INTO t SELECT i, i % 4, (i * 37) % 101, 'k' || (i % 7), ((i * 13) % 29)::float8 / 3 FROM generate_series(1, 2000) i",
		"CREATE MATERIALIZED VIEW aggs AS "+q,
		"CREATE MATERIALIZED VIEW fstats AS "+fq, "FLUSH")
	checkView(t, s, "before the restart", "aggs", q, 4)
	s.restart(t)
	s.execAll(t, "DELETE FROM t WHERE id % 3 = 0", "UPDATE t SET v = v + 1000, f = f * 7, s = 'u' || (id % 5) WHERE id % 5 = 1",
		"INSERT INTO t SELECT i, i % 4, i % 13, 'n', i::float8 / 7 FROM generate_series(3001, 3100) i", "FLUSH")
	checkView(t, s, "after the restart", "aggs", q, 4)
	s.execAll(t, "CREATE MATERIALIZED VIEW fresh AS "+fq, "FLUSH")
	checkView(t, s, "after the restart", "fstats", "SELECT * FROM fresh", 4)
	conn := s.connect(t)
	defer conn.Close(context.Background())
	runningJobs(t, conn)
}
