package engine_test

import (
	"os"
	"testing"

	"streamsql/engine"
)

// With a state budget far below the state of an OVER window view, the
// engine keeps most partitions in storage only, reads a partition back
// when a row changes it and recomputes its function values; the view
// stays equal to its query recomputed, across a restart that loads only
// part of the state.
func TestOverWindowStateLargerThanMemory(t *testing.T) {
	dir, err := os.MkdirTemp("", "streamsql-overmem-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opts := engine.Options{DataDir: dir, StateMemory: 64 << 10}
	s, err := startStackWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	const query = `SELECT id, g, v,
		sum(v) OVER (PARTITION BY g ORDER BY v, id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s,
		row_number() OVER (PARTITION BY g ORDER BY v, id) AS rn FROM t`
	check := func(when string) { t.Helper(); checkView(t, s, when, "w", query, 10000) }
	stateStats := func() (bytes, evicted, reads int64) { return jobState(t, s, "w") }

	// 2,000 partitions of 6 rows.
	s.execAll(t, "SET streaming_parallelism = 2",
		"CREATE TABLE t (id bigint PRIMARY KEY, g int, v bigint)",
		"INSERT INTO t SELECT i, i % 2000, (i * 7919) % 1000 FROM generate_series(1, 12000) AS i",
		"CREATE MATERIALIZED VIEW w AS "+query)
	check("after backfill")
	// A few epochs for the budget to be enforced, then changes to some of
	// the partitions, which were evicted, and partitions emptied and
	// filled again in the next epoch.
	s.execAll(t, "FLUSH", "FLUSH", "FLUSH",
		"UPDATE t SET v = v + 500 WHERE g < 300 AND id % 5 = 0", "FLUSH",
		"DELETE FROM t WHERE g BETWEEN 1000 AND 1100 AND id % 3 = 0", "FLUSH",
		"DELETE FROM t WHERE g BETWEEN 1500 AND 1510",
		"INSERT INTO t SELECT i, 1500 + i % 20, i % 13 FROM generate_series(20001, 20100) AS i", "FLUSH")
	check("after changes")
	b, evicted, reads := stateStats()
	t.Logf("state: %d bytes, %d evicted, %d read back", b, evicted, reads)
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
	s.execAll(t, "DELETE FROM t WHERE g < 100", "UPDATE t SET v = -v WHERE g > 1900",
		"INSERT INTO t SELECT i, i % 2000, i % 17 FROM generate_series(30001, 31000) AS i", "FLUSH")
	check("after a restart")
	s.execAll(t, "FLUSH", "FLUSH")
	if bytes, _, reads := stateStats(); reads == 0 || bytes > 4*opts.StateMemory {
		t.Fatalf("after the restart: %d bytes of state in memory, %d read back", bytes, reads)
	}
}
