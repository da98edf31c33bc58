package engine_test

import (
	"os"
	"testing"

	"streamsql/engine"
)

// A lookup join over a table that deletes and updates keeps, per stream
// row, the table row it emitted. With a state budget far below that
// state, entries of committed checkpoints leave memory and the deletes
// read them back, so the view stays equal to its query recomputed (the
// looked-up table does not change here), across a restart that loads
// only part of the state.
func TestLookupJoinStateLargerThanMemory(t *testing.T) {
	dir, err := os.MkdirTemp("", "streamsql-lookupmem-")
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.Options{DataDir: dir, StateMemory: 64 << 10}
	s, err := startStackWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	const query = `SELECT t.id, t.v, d.name FROM t LEFT JOIN dim AS d ON t.k = d.key`
	check := func(when string, min int64) { t.Helper(); checkView(t, s, when, "lj", query, min) }
	s.execAll(t,
		"CREATE TABLE dim (key bigint PRIMARY KEY, name text)",
		"INSERT INTO dim SELECT i, 'name ' || i FROM generate_series(1, 90) AS i",
		"CREATE TABLE t (id bigint PRIMARY KEY, k bigint, v bigint)",
		"INSERT INTO t SELECT i, i % 100, i * 7 FROM generate_series(1, 20000) AS i",
		`CREATE MATERIALIZED VIEW lj AS SELECT t.id, t.v, d.name
			FROM t LEFT JOIN dim FOR SYSTEM_TIME AS OF PROCTIME() AS d ON t.k = d.key`)
	check("after backfill", 20000)
	s.execAll(t, "FLUSH", "FLUSH", "FLUSH",
		"DELETE FROM t WHERE id % 3 = 0", "FLUSH",
		"UPDATE t SET v = v + 1 WHERE id % 7 = 0", "FLUSH")
	check("after changes", 10000)
	_, evicted, reads := jobState(t, s, "lj")
	t.Logf("state: %d evicted, %d read back", evicted, reads)
	if evicted == 0 || reads == 0 {
		t.Fatalf("state evicted %d, read back %d: the budget was not enforced", evicted, reads)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if s, err = startStackWith(opts); err != nil {
		t.Fatal(err)
	}
	defer s.close()
	s.execAll(t, "DELETE FROM t WHERE id % 5 = 0", "UPDATE t SET v = -v WHERE id > 19000", "FLUSH")
	check("after a restart", 8000)
	if _, _, reads := jobState(t, s, "lj"); reads == 0 {
		t.Fatal("after the restart: nothing read back")
	}
}
