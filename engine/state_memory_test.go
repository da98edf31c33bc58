package engine_test

import "testing"

// With a state budget far below the state of its views, the engine keeps
// most aggregation groups in storage only and reads them back when rows
// change them; the views stay equal to their queries recomputed, across
// a restart that loads only part of the state.
func TestStateLargerThanMemory(t *testing.T) {
	const query = `SELECT k, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi, count(DISTINCT v % 10) AS d
		FROM t GROUP BY k`
	runStateBudget(t, stateBudgetCase{
		view:  "agg",
		query: query,
		setup: []string{"SET streaming_parallelism = 2",
			"CREATE TABLE t (id bigint PRIMARY KEY, k int, v bigint)",
			"INSERT INTO t SELECT i, i % 5000, i * 7 FROM generate_series(1, 20000) AS i",
			"CREATE MATERIALIZED VIEW agg AS " + query},
		// Changes to a part of the groups, which were evicted: the min
		// and max of some groups are deleted.
		changes: []string{"FLUSH", "FLUSH", "FLUSH",
			"INSERT INTO t SELECT i, 4000 + i % 100, i FROM generate_series(20001, 21000) AS i", "FLUSH",
			"UPDATE t SET v = v + 1 WHERE k < 500 AND id % 7 = 0", "FLUSH",
			"DELETE FROM t WHERE k BETWEEN 1000 AND 1100 AND id % 3 = 0", "FLUSH"},
		afterRestart: []string{"DELETE FROM t WHERE k < 100", "UPDATE t SET v = -v WHERE k > 4900", "FLUSH"},
		minRows:      [3]int64{4000, 4000, 4000},
	})
}

// Session windows under a state budget far below their state: whole
// partitions (users) go to storage and are read back when their rows
// change; the view stays equal to its query, across a restart that loads
// only part of the state.
func TestSessionStateLargerThanMemory(t *testing.T) {
	const query = `SELECT uid, window_start, window_end, count(*) AS n, sum(v) AS s
		FROM session(clicks, ts, INTERVAL '10' MINUTE) GROUP BY uid, window_start, window_end`
	runStateBudget(t, stateBudgetCase{
		view:  "visits",
		query: query,
		setup: []string{"SET streaming_parallelism = 2",
			"CREATE TABLE clicks (id bigint PRIMARY KEY, uid int, ts timestamp, v bigint)",
			"INSERT INTO clicks SELECT i, i % 3000, TIMESTAMP '2024-01-01 00:00:00' + (i / 3000 * 7 + i % 5) * INTERVAL '1 minute', i " +
				"FROM generate_series(1, 20000) AS i",
			"CREATE MATERIALIZED VIEW visits AS " + query},
		changes: []string{"FLUSH", "FLUSH", "FLUSH",
			"INSERT INTO clicks SELECT i, i % 200, TIMESTAMP '2024-01-01 00:03:00' + (i % 90) * INTERVAL '1 minute', i FROM generate_series(20001, 21000) AS i", "FLUSH",
			"DELETE FROM clicks WHERE uid BETWEEN 1000 AND 1100 AND id % 3 = 0", "FLUSH",
			"UPDATE clicks SET ts = ts + INTERVAL '13 minutes' WHERE uid BETWEEN 2000 AND 2050", "FLUSH"},
		afterRestart: []string{"DELETE FROM clicks WHERE uid < 100", "UPDATE clicks SET v = -v WHERE uid > 2900", "FLUSH"},
		minRows:      [3]int64{3000, 3000, 3000},
	})
}
