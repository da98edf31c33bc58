package engine_test

import (
	"os"
	"testing"

	"streamsql/engine"
)

// With a state budget far below the state of a top-N view, the engine
// keeps most partitions in storage only and reads them back when rows
// change them, and refills the cache of a long partition whose top rows
// are deleted; the view stays equal to its query recomputed, across a
// restart that loads only part of the state.
func TestTopNStateLargerThanMemory(t *testing.T) {
	dir, err := os.MkdirTemp("", "streamsql-topnmem-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opts := engine.Options{DataDir: dir, StateMemory: 64 << 10}
	s, err := startStackWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	const query = `SELECT id, g, v, rn FROM (SELECT id, g, v,
		row_number() OVER (PARTITION BY g ORDER BY v DESC, id) AS rn FROM t) x WHERE rn <= 3`
	check := func(when string) { t.Helper(); checkView(t, s, when, "topn", query, 4000) }
	stateStats := func() (bytes, evicted, reads int64) { return jobState(t, s, "topn") }

	// 2,000 short partitions and one long one (g = -1).
	s.execAll(t, "SET streaming_parallelism = 2",
		"CREATE TABLE t (id bigint PRIMARY KEY, g int, v bigint)",
		"INSERT INTO t SELECT i, i % 2000, (i * 7919) % 1000 FROM generate_series(1, 20000) AS i",
		"INSERT INTO t SELECT i, -1, i FROM generate_series(20001, 21000) AS i",
		"CREATE MATERIALIZED VIEW topn AS "+query)
	check("after backfill")
	// A few epochs for the budget to be enforced, then changes to a part
	// of the partitions, which were evicted, and deletes that run through
	// the cached rows of the long partition.
	s.execAll(t, "FLUSH", "FLUSH", "FLUSH",
		"UPDATE t SET v = v + 500 WHERE g < 300 AND id % 7 = 0", "FLUSH",
		"DELETE FROM t WHERE g BETWEEN 1000 AND 1100 AND id % 3 = 0", "FLUSH",
		"DELETE FROM t WHERE g = -1 AND id > 20970", "FLUSH",
		"DELETE FROM t WHERE g = -1 AND id > 20900", "FLUSH")
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
		"DELETE FROM t WHERE g = -1 AND id > 20800", "FLUSH")
	check("after a restart")
	// The partitions changed in an epoch stay in memory until it commits.
	s.execAll(t, "FLUSH", "FLUSH")
	if bytes, _, reads := stateStats(); reads == 0 || bytes > 4*opts.StateMemory {
		t.Fatalf("after the restart: %d bytes of state in memory, %d read back", bytes, reads)
	}
}
