package engine_test

import "testing"

// With a state budget far below the state of an OVER window view, the
// engine keeps most partitions in storage only, reads a partition back
// when a row changes it and recomputes its function values; the view
// stays equal to its query recomputed, across a restart that loads only
// part of the state.
func TestOverWindowStateLargerThanMemory(t *testing.T) {
	const query = `SELECT id, g, v,
		sum(v) OVER (PARTITION BY g ORDER BY v, id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s,
		row_number() OVER (PARTITION BY g ORDER BY v, id) AS rn FROM t`
	runStateBudget(t, stateBudgetCase{
		view:  "w",
		query: query,
		// 2,000 partitions of 6 rows.
		setup: []string{"SET streaming_parallelism = 2",
			"CREATE TABLE t (id bigint PRIMARY KEY, g int, v bigint)",
			"INSERT INTO t SELECT i, i % 2000, (i * 7919) % 1000 FROM generate_series(1, 12000) AS i",
			"CREATE MATERIALIZED VIEW w AS " + query},
		// Changes to some of the partitions, which were evicted, and
		// partitions emptied and filled again in the next epoch.
		changes: []string{"FLUSH", "FLUSH", "FLUSH",
			"UPDATE t SET v = v + 500 WHERE g < 300 AND id % 5 = 0", "FLUSH",
			"DELETE FROM t WHERE g BETWEEN 1000 AND 1100 AND id % 3 = 0", "FLUSH",
			"DELETE FROM t WHERE g BETWEEN 1500 AND 1510",
			"INSERT INTO t SELECT i, 1500 + i % 20, i % 13 FROM generate_series(20001, 20100) AS i", "FLUSH"},
		afterRestart: []string{"DELETE FROM t WHERE g < 100", "UPDATE t SET v = -v WHERE g > 1900",
			"INSERT INTO t SELECT i, i % 2000, i % 17 FROM generate_series(30001, 31000) AS i", "FLUSH"},
		settle:  []string{"FLUSH", "FLUSH"},
		minRows: [3]int64{10000, 10000, 10000},
	})
}
