package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"streamsql/engine"
	"streamsql/udf"
)

// TestCloseAfterRestartsWithBusyJobs restarts the server again and again
// right after writes, and right after opening, while the views' table
// sources are still reading the table's changelog (several views over
// one table with a watermark, two instances each, a backlog of changes
// not yet committed to the views), and requires every close to report
// nothing left open: a table source used to go on reading the changelog
// after its job counted as stopped, and the engine's close then found an
// sstable still referenced (pebble panicked, and the test's deferred
// close waited forever). At the end the views hold every row once.
func TestCloseAfterRestartsWithBusyJobs(t *testing.T) {
	const views, rounds, perRound = 8, 6, 4000
	s := openStack(t, engine.Options{})
	s.execAll(t, "SET streaming_parallelism = 2",
		"CREATE TABLE ev (k int, ts timestamp, v int, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY")
	for i := range views {
		s.execAll(t, fmt.Sprintf("CREATE MATERIALIZED VIEW busy%d AS SELECT k %% %d AS g, count(*) AS n, sum(v) AS s FROM ev GROUP BY k %% %d", i, i+2, i+2))
	}
	id := 0
	for range rounds {
		s.execAll(t, fmt.Sprintf("INSERT INTO ev SELECT i, timestamp '2026-01-01 00:00:00' + i * interval '1 second', i FROM generate_series(%d, %d) AS i",
			id, id+perRound-1))
		id += perRound
		// No FLUSH: the sources are reading what was just written; and
		// once more right after opening, while they catch up.
		for range 2 {
			s.restart(t)
		}
	}
	s.execAll(t, "FLUSH")
	conn := s.connect(t)
	defer conn.Close(context.Background())
	for i := range views {
		var n, sum int64
		q := fmt.Sprintf("SELECT sum(n)::bigint, sum(s)::bigint FROM busy%d", i)
		if err := conn.QueryRow(context.Background(), q).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != int64(id) || sum != int64(id)*int64(id-1)/2 {
			t.Fatalf("busy%d: %d rows summing to %d, want %d and %d", i, n, sum, id, id*(id-1)/2)
		}
	}
}

// TestClosesAfterPanickingStatements: a statement that panics while it
// runs (here a Go function of the embedding program) is XX000 for that
// statement, and leaves nothing open behind it: not its snapshot (the
// engine's Close used to report "leaked snapshots"), nor its own write
// transaction and the row locks it took (a later UPDATE of the row would
// wait on them).
func TestClosesAfterPanickingStatements(t *testing.T) {
	fns := udf.NewGoFunctions()
	if err := udf.RegisterScalar(fns, "explode_at", func(v int64) (int64, error) {
		if v == 2 {
			panic("exploded")
		}
		return v, nil
	}); err != nil {
		t.Fatal(err)
	}
	s := openStack(t, engine.Options{Functions: fns})
	s.execAll(t, "CREATE TABLE pt (id int PRIMARY KEY, v bigint)", "INSERT INTO pt VALUES (1, 1), (2, 2), (3, 3)")
	ctx := context.Background()
	conn := s.connect(t)
	for _, q := range []string{
		"SELECT explode_at(v) FROM pt",
		"UPDATE pt SET v = explode_at(v) + 10",
		"INSERT INTO pt SELECT id + 10, explode_at(v) FROM pt",
	} {
		_, err := conn.Exec(ctx, q)
		wantPgErr(t, err, "XX000", "internal error: exploded")
	}
	// No lock of the failed UPDATE is left: this one finishes.
	uctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(uctx, "UPDATE pt SET v = v + 100"); err != nil {
		t.Fatalf("update after the panics: %v", err)
	}
	var sum int64
	if err := conn.QueryRow(ctx, "SELECT sum(v)::bigint FROM pt").Scan(&sum); err != nil || sum != 306 {
		t.Fatalf("sum after the panics: %d, %v; want 306", sum, err)
	}
	conn.Close(ctx)
	s.restart(t)
}
