package engine_test

import (
	"os"
	"testing"

	"streamsql/engine"
)

// A join view whose state is far larger than the state budget keeps most
// join keys in storage and reads them back, both sides together, when a
// row of either side arrives for them. Outer-join padding stays right
// through inserts, updates and deletes and a restart that loads only
// part of the state.
func TestJoinStateLargerThanMemory(t *testing.T) {
	dir, err := os.MkdirTemp("", "streamsql-joinmem-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opts := engine.Options{DataDir: dir, StateMemory: 64 << 10}
	s, err := startStackWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	const query = `SELECT a.id AS aid, a.k, a.v AS av, b.id AS bid, b.w
		FROM a FULL JOIN b ON a.k = b.k AND a.v < b.w`
	check := func(when string) { t.Helper(); checkView(t, s, when, "j", query, 4000) }
	stateStats := func() (bytes, evicted, reads int64) { return jobState(t, s, "j") }

	s.execAll(t, "SET streaming_parallelism = 2",
		"CREATE TABLE a (id bigint PRIMARY KEY, k int, v bigint)",
		"CREATE TABLE b (id bigint PRIMARY KEY, k int, w bigint)",
		"INSERT INTO a SELECT i, i % 4000, i % 13 FROM generate_series(1, 8000) AS i",
		"INSERT INTO b SELECT i, i % 5000, i % 11 FROM generate_series(1, 6000) AS i",
		"CREATE MATERIALIZED VIEW j AS "+query)
	check("after backfill")
	// A few epochs for the budget to be enforced, then changes to keys
	// that were evicted, on both sides: first matches, last matches,
	// keys moving between rows.
	s.execAll(t, "FLUSH", "FLUSH", "FLUSH",
		"INSERT INTO b SELECT i, i % 300, 20 FROM generate_series(6001, 6600) AS i", "FLUSH",
		"UPDATE a SET v = v + 5 WHERE k < 700 AND id % 3 = 0", "FLUSH",
		"DELETE FROM b WHERE k BETWEEN 1000 AND 1500", "FLUSH",
		"UPDATE b SET k = k + 1 WHERE id % 17 = 0", "FLUSH")
	check("after changes")
	b, evicted, reads := stateStats()
	t.Logf("state: %d bytes, %d keys evicted, %d read back", b, evicted, reads)
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
	s.execAll(t, "DELETE FROM a WHERE k < 100", "UPDATE b SET w = -w WHERE k > 4500",
		"INSERT INTO a SELECT i, i % 5000, 0 FROM generate_series(9001, 9500) AS i", "FLUSH")
	check("after a restart")
	// Keys changed in the last epochs stay until their epoch commits
	// and the clock hand passes them twice.
	s.execAll(t, "FLUSH", "FLUSH", "FLUSH")
	if bytes, _, reads := stateStats(); reads == 0 || bytes > 4*opts.StateMemory {
		t.Fatalf("after the restart: %d bytes of state in memory, %d read back", bytes, reads)
	}
}
