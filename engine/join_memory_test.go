package engine_test

import "testing"

// A join view whose state is far larger than the state budget keeps most
// join keys in storage and reads them back, both sides together, when a
// row of either side arrives for them. Outer-join padding stays right
// through inserts, updates and deletes and a restart that loads only
// part of the state.
func TestJoinStateLargerThanMemory(t *testing.T) {
	const query = `SELECT a.id AS aid, a.k, a.v AS av, b.id AS bid, b.w
		FROM a FULL JOIN b ON a.k = b.k AND a.v < b.w`
	runStateBudget(t, stateBudgetCase{
		view:  "j",
		query: query,
		setup: []string{"SET streaming_parallelism = 2",
			"CREATE TABLE a (id bigint PRIMARY KEY, k int, v bigint)",
			"CREATE TABLE b (id bigint PRIMARY KEY, k int, w bigint)",
			"INSERT INTO a SELECT i, i % 4000, i % 13 FROM generate_series(1, 8000) AS i",
			"INSERT INTO b SELECT i, i % 5000, i % 11 FROM generate_series(1, 6000) AS i",
			"CREATE MATERIALIZED VIEW j AS " + query},
		// Changes to keys that were evicted, on both sides: first
		// matches, last matches, keys moving between rows.
		changes: []string{"FLUSH", "FLUSH", "FLUSH",
			"INSERT INTO b SELECT i, i % 300, 20 FROM generate_series(6001, 6600) AS i", "FLUSH",
			"UPDATE a SET v = v + 5 WHERE k < 700 AND id % 3 = 0", "FLUSH",
			"DELETE FROM b WHERE k BETWEEN 1000 AND 1500", "FLUSH",
			"UPDATE b SET k = k + 1 WHERE id % 17 = 0", "FLUSH"},
		afterRestart: []string{"DELETE FROM a WHERE k < 100", "UPDATE b SET w = -w WHERE k > 4500",
			"INSERT INTO a SELECT i, i % 5000, 0 FROM generate_series(9001, 9500) AS i", "FLUSH"},
		// Keys changed in the last epochs stay until their epoch commits
		// and the clock hand passes them twice.
		settle:  []string{"FLUSH", "FLUSH", "FLUSH"},
		minRows: [3]int64{4000, 4000, 4000},
	})
}
