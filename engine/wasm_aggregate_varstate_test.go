package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// A WebAssembly aggregate with states of variable size (wdistinct: the
// distinct values of a group with their counts, a state that grows with
// its rows, past the 64 KiB a fixed-size state may have): ad hoc equal to
// count(DISTINCT), and in a view over inserts, deletes and updates that
// keeps its states in the state table and resumes them after a restart.
func TestUserAggregateWasmVariableState(t *testing.T) {
	mod := buildWasmFuncs(t)
	s := openStack(t, engine.Options{Settings: map[string]string{"udf_memory_limit": "64MB"}})
	ctx := context.Background()
	const q = "SELECT g, count(DISTINCT v) FROM vals GROUP BY g"
	s.execAll(t,
		"CREATE AGGREGATE wdistinct(v int) RETURNS bigint LANGUAGE wasm USING BASE64 '"+mod+"'",
		"CREATE TABLE vals (id int PRIMARY KEY, g int, v int)",
		// Group 0 has 6,000 distinct values: a state of 96,000 bytes.
		"INSERT INTO vals SELECT i, CASE WHEN i <= 6000 THEN 0 ELSE 1 + i % 4 END, CASE WHEN i <= 6000 THEN i ELSE (i * 7) % 50 END FROM generate_series(1, 8000) i",
		"INSERT INTO vals VALUES (9001, 1, NULL), (9002, 2, NULL)",
		"CREATE MATERIALIZED VIEW distinct_vals AS SELECT g, wdistinct(v) AS n FROM vals GROUP BY g",
		"FLUSH",
	)
	conn := s.connect(t)
	if n := queryInt(t, conn, "SELECT count(*) FROM ((SELECT g, wdistinct(v) FROM vals GROUP BY g) EXCEPT ALL ("+q+")) d"); n != 0 {
		t.Fatalf("ad hoc: %d groups differ from count(DISTINCT)", n)
	}
	if n := queryInt(t, conn, "SELECT wdistinct(v) FROM vals WHERE g = 0"); n != 6000 {
		t.Fatalf("group 0: %d distinct values, want 6000", n)
	}
	conn.Close(ctx)
	checkView(t, s, "after the load", "distinct_vals", q, 5)
	s.execAll(t, "DELETE FROM vals WHERE id % 3 = 0", "UPDATE vals SET v = v + 1 WHERE id % 5 = 0", "FLUSH")
	checkView(t, s, "after deletes and updates", "distinct_vals", q, 5)

	s = s.restart(t)
	defer s.close()
	checkView(t, s, "after the restart", "distinct_vals", q, 5)
	// The states read back after the restart take the next changes.
	s.execAll(t, "DELETE FROM vals WHERE id % 7 = 0", "UPDATE vals SET v = -v WHERE id % 11 = 0",
		"INSERT INTO vals SELECT i, i % 5, i FROM generate_series(10001, 10500) i", "FLUSH")
	checkView(t, s, "after changes after the restart", "distinct_vals", q, 5)
}
