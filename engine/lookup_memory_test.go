package engine_test

import "testing"

// A lookup join over a table that deletes and updates keeps, per stream
// row, the table row it emitted. With a state budget far below that
// state, entries of committed checkpoints leave memory and the deletes
// read them back, so the view stays equal to its query recomputed (the
// looked-up table does not change here), across a restart that loads
// only part of the state.
func TestLookupJoinStateLargerThanMemory(t *testing.T) {
	runStateBudget(t, stateBudgetCase{
		view:  "lj",
		query: `SELECT t.id, t.v, d.name FROM t LEFT JOIN dim AS d ON t.k = d.key`,
		setup: []string{
			"CREATE TABLE dim (key bigint PRIMARY KEY, name text)",
			"INSERT INTO dim SELECT i, 'name ' || i FROM generate_series(1, 90) AS i",
			"CREATE TABLE t (id bigint PRIMARY KEY, k bigint, v bigint)",
			"INSERT INTO t SELECT i, i % 100, i * 7 FROM generate_series(1, 20000) AS i",
			`CREATE MATERIALIZED VIEW lj AS SELECT t.id, t.v, d.name
			FROM t LEFT JOIN dim FOR SYSTEM_TIME AS OF PROCTIME() AS d ON t.k = d.key`},
		changes: []string{"FLUSH", "FLUSH", "FLUSH",
			"DELETE FROM t WHERE id % 3 = 0", "FLUSH",
			"UPDATE t SET v = v + 1 WHERE id % 7 = 0", "FLUSH"},
		afterRestart: []string{"DELETE FROM t WHERE id % 5 = 0", "UPDATE t SET v = -v WHERE id > 19000", "FLUSH"},
		minRows:      [3]int64{20000, 10000, 8000},
		unbounded:    true,
	})
}
