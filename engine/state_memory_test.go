package engine_test

import (
	"os"
	"testing"

	"streamsql/engine"
)

// With a state budget far below the state of its views, the engine keeps
// most aggregation groups in storage only and reads them back when rows
// change them; the views stay equal to their queries recomputed, across
// a restart that loads only part of the state.
func TestStateLargerThanMemory(t *testing.T) {
	dir, err := os.MkdirTemp("", "streamsql-statemem-")
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.Options{DataDir: dir, StateMemory: 64 << 10}
	s, err := startStackWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	const query = `SELECT k, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi, count(DISTINCT v % 10) AS d
		FROM t GROUP BY k`
	check := func(when string) { t.Helper(); checkView(t, s, when, "agg", query, 4000) }
	stateStats := func() (bytes, evicted, reads int64) { return jobState(t, s, "agg") }

	s.execAll(t, "SET streaming_parallelism = 2",
		"CREATE TABLE t (id bigint PRIMARY KEY, k int, v bigint)",
		"INSERT INTO t SELECT i, i % 5000, i * 7 FROM generate_series(1, 20000) AS i",
		"CREATE MATERIALIZED VIEW agg AS "+query)
	check("after backfill")
	// A few epochs for the budget to be enforced, then changes to a part
	// of the groups, which were evicted: the min and max of some groups
	// are deleted.
	s.execAll(t, "FLUSH", "FLUSH", "FLUSH",
		"INSERT INTO t SELECT i, 4000 + i % 100, i FROM generate_series(20001, 21000) AS i", "FLUSH",
		"UPDATE t SET v = v + 1 WHERE k < 500 AND id % 7 = 0", "FLUSH",
		"DELETE FROM t WHERE k BETWEEN 1000 AND 1100 AND id % 3 = 0", "FLUSH")
	check("after changes")
	{
		b, e, r := stateStats()
		t.Logf("state: %d bytes, %d evicted, %d read back", b, e, r)
	}
	_, evicted, reads := stateStats()
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
	s.execAll(t, "DELETE FROM t WHERE k < 100", "UPDATE t SET v = -v WHERE k > 4900", "FLUSH")
	check("after a restart")
	if bytes, _, reads := stateStats(); reads == 0 || bytes > 4*opts.StateMemory {
		t.Fatalf("after the restart: %d bytes of state in memory, %d read back", bytes, reads)
	}
}

// Session windows under a state budget far below their state: whole
// partitions (users) go to storage and are read back when their rows
// change; the view stays equal to its query, across a restart that loads
// only part of the state.
func TestSessionStateLargerThanMemory(t *testing.T) {
	dir, err := os.MkdirTemp("", "streamsql-sessionmem-")
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.Options{DataDir: dir, StateMemory: 64 << 10}
	s, err := startStackWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	const query = `SELECT uid, window_start, window_end, count(*) AS n, sum(v) AS s
		FROM session(clicks, ts, INTERVAL '10' MINUTE) GROUP BY uid, window_start, window_end`
	check := func(when string) { t.Helper(); checkView(t, s, when, "visits", query, 3000) }
	s.execAll(t, "SET streaming_parallelism = 2",
		"CREATE TABLE clicks (id bigint PRIMARY KEY, uid int, ts timestamp, v bigint)",
		"INSERT INTO clicks SELECT i, i % 3000, TIMESTAMP '2024-01-01 00:00:00' + (i / 3000 * 7 + i % 5) * INTERVAL '1 minute', i "+
			"FROM generate_series(1, 20000) AS i",
		"CREATE MATERIALIZED VIEW visits AS "+query)
	check("after backfill")
	s.execAll(t, "FLUSH", "FLUSH", "FLUSH",
		"INSERT INTO clicks SELECT i, i % 200, TIMESTAMP '2024-01-01 00:03:00' + (i % 90) * INTERVAL '1 minute', i FROM generate_series(20001, 21000) AS i", "FLUSH",
		"DELETE FROM clicks WHERE uid BETWEEN 1000 AND 1100 AND id % 3 = 0", "FLUSH",
		"UPDATE clicks SET ts = ts + INTERVAL '13 minutes' WHERE uid BETWEEN 2000 AND 2050", "FLUSH")
	check("after changes")
	b, evicted, reads := jobState(t, s, "visits")
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
	s.execAll(t, "DELETE FROM clicks WHERE uid < 100", "UPDATE clicks SET v = -v WHERE uid > 2900", "FLUSH")
	check("after a restart")
	if bytes, _, reads := jobState(t, s, "visits"); reads == 0 || bytes > 4*opts.StateMemory {
		t.Fatalf("after the restart: %d bytes of state in memory, %d read back", bytes, reads)
	}
}
