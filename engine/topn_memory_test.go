package engine_test

import "testing"

// With a state budget far below the state of a top-N view, the engine
// keeps most partitions in storage only and reads them back when rows
// change them, and refills the cache of a long partition whose top rows
// are deleted; the view stays equal to its query recomputed, across a
// restart that loads only part of the state.
func TestTopNStateLargerThanMemory(t *testing.T) {
	const query = `SELECT id, g, v, rn FROM (SELECT id, g, v,
		row_number() OVER (PARTITION BY g ORDER BY v DESC, id) AS rn FROM t) x WHERE rn <= 3`
	runStateBudget(t, stateBudgetCase{
		view:  "topn",
		query: query,
		// 2,000 short partitions and one long one (g = -1).
		setup: []string{"SET streaming_parallelism = 2",
			"CREATE TABLE t (id bigint PRIMARY KEY, g int, v bigint)",
			"INSERT INTO t SELECT i, i % 2000, (i * 7919) % 1000 FROM generate_series(1, 20000) AS i",
			"INSERT INTO t SELECT i, -1, i FROM generate_series(20001, 21000) AS i",
			"CREATE MATERIALIZED VIEW topn AS " + query},
		// Changes to a part of the partitions, which were evicted, and
		// deletes that run through the cached rows of the long partition.
		changes: []string{"FLUSH", "FLUSH", "FLUSH",
			"UPDATE t SET v = v + 500 WHERE g < 300 AND id % 7 = 0", "FLUSH",
			"DELETE FROM t WHERE g BETWEEN 1000 AND 1100 AND id % 3 = 0", "FLUSH",
			"DELETE FROM t WHERE g = -1 AND id > 20970", "FLUSH",
			"DELETE FROM t WHERE g = -1 AND id > 20900", "FLUSH"},
		afterRestart: []string{"DELETE FROM t WHERE g < 100", "UPDATE t SET v = -v WHERE g > 1900",
			"DELETE FROM t WHERE g = -1 AND id > 20800", "FLUSH"},
		// The partitions changed in an epoch stay in memory until it commits.
		settle:  []string{"FLUSH", "FLUSH"},
		minRows: [3]int64{4000, 4000, 4000},
	})
}
