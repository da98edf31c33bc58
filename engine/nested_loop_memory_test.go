package engine_test

import (
	"testing"

	"streamsql/engine"
)

// A join without an equality condition (a nested loop join) under a state
// budget far below its state: the rows of its large side leave memory,
// changes of the other side are joined with them in storage, deletes and
// updates of stored rows read them back, and after a restart only part
// of the state is loaded.
func TestNestedLoopJoinViewBudget(t *testing.T) {
	query := `SELECT a.id, a.v, b.id AS band FROM a JOIN b ON a.v BETWEEN b.lo AND b.hi`
	runStateBudget(t, stateBudgetCase{
		view:  "nl",
		query: query,
		setup: []string{
			"CREATE TABLE a (id bigint PRIMARY KEY, v bigint, note text)",
			"CREATE TABLE b (id bigint PRIMARY KEY, lo bigint, hi bigint)",
			"INSERT INTO a SELECT i, i % 1000, 'row ' || i FROM generate_series(1, 12000) AS i",
			"INSERT INTO b SELECT i, i * 100, i * 100 + 49 FROM generate_series(0, 9) AS i",
			"CREATE MATERIALIZED VIEW nl AS " + query},
		// Changes of the small side join with the rows of the large side
		// in storage; changes of the large side delete stored rows.
		changes: []string{"FLUSH", "FLUSH", "FLUSH",
			"UPDATE b SET hi = hi + 25 WHERE id % 2 = 0", "FLUSH",
			"INSERT INTO b VALUES (10, 990, 999)", "FLUSH",
			"DELETE FROM a WHERE id % 7 = 0", "FLUSH",
			"UPDATE a SET v = v + 50 WHERE id % 5 = 0", "FLUSH",
			"DELETE FROM b WHERE id = 3", "FLUSH"},
		afterRestart: []string{"UPDATE b SET lo = lo - 10 WHERE id > 5", "DELETE FROM a WHERE id % 11 = 0",
			"INSERT INTO a SELECT i, i % 1000, 'new ' || i FROM generate_series(20001, 21000) AS i", "FLUSH"},
		settle:  []string{"FLUSH", "FLUSH", "FLUSH"},
		minRows: [3]int64{5000, 5000, 5000},
	})
}

// A DynamicFilter (a comparison with an aggregate without GROUP BY) under
// the budget: its left rows leave memory and the one right row stays; a
// change of the one row re-evaluates the stored left rows.
func TestDynamicFilterViewBudget(t *testing.T) {
	query := `SELECT a.id, a.v FROM a WHERE a.v > (SELECT avg(w) FROM b)`
	runStateBudget(t, stateBudgetCase{
		view:  "df",
		query: query,
		setup: []string{
			"CREATE TABLE a (id bigint PRIMARY KEY, v bigint, note text)",
			"CREATE TABLE b (id bigint PRIMARY KEY, w bigint)",
			"INSERT INTO a SELECT i, i % 1000, 'row ' || i FROM generate_series(1, 12000) AS i",
			"INSERT INTO b SELECT i, i * 10 FROM generate_series(1, 50) AS i",
			"CREATE MATERIALIZED VIEW df AS " + query},
		changes: []string{"FLUSH", "FLUSH", "FLUSH",
			"UPDATE b SET w = w + 200 WHERE id % 2 = 0", "FLUSH",
			"DELETE FROM a WHERE id % 7 = 0", "FLUSH",
			"UPDATE a SET v = v + 300 WHERE id % 5 = 0", "FLUSH",
			"DELETE FROM b WHERE id > 40", "FLUSH"},
		afterRestart: []string{"UPDATE b SET w = w - 150", "DELETE FROM a WHERE id % 11 = 0",
			"INSERT INTO a SELECT i, i % 1000, 'new ' || i FROM generate_series(20001, 21000) AS i", "FLUSH"},
		settle:  []string{"FLUSH", "FLUSH", "FLUSH"},
		minRows: [3]int64{3000, 3000, 3000},
	})
}

// The keyless join example of docs/streaming.md gives the result shown
// under a 64 kB state budget.
func TestDocsKeylessJoinBudgetExample(t *testing.T) {
	runDocBlocksWith(t, "../docs/streaming.md", "#### Joins without an equality under the budget", engine.Options{StateMemory: stateBudget})
}
