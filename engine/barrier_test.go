package engine_test

import (
	"context"
	"testing"
	"time"

	"streamsql/engine"
)

// A table commit starts the epoch that carries it within
// barrier_write_delay, however long the barrier interval: with a 30 s
// interval, single-row inserts show in the view within a second. With
// barrier_write_delay = 0 the interval alone cuts epochs again.
func TestWriteStartsEpoch(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t, "CREATE TABLE w (id int PRIMARY KEY, g int)",
		"CREATE MATERIALIZED VIEW wc AS SELECT g, count(*) AS n FROM w GROUP BY g",
		"SET barrier_interval = '30s'", "FLUSH")
	conn := s.connect(t)
	defer conn.Close(context.Background())
	ctx := context.Background()
	count := func() int64 {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT coalesce(sum(n), 0)::bigint FROM wc").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range 5 {
		start := time.Now()
		if _, err := conn.Exec(ctx, "INSERT INTO w VALUES ($1, $1 % 2)", i); err != nil {
			t.Fatal(err)
		}
		for count() != int64(i+1) {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("insert %d not in the view after %v with a 30 s barrier interval", i, time.Since(start))
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	if _, err := conn.Exec(ctx, "SET barrier_write_delay = 0"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO w VALUES (100, 0)"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := count(); n != 5 {
		t.Fatalf("with barrier_write_delay = 0 the insert showed before the interval (%d rows)", n)
	}
	s.execAll(t, "FLUSH")
	if n := count(); n != 6 {
		t.Fatalf("after FLUSH the view counts %d rows, want 6", n)
	}
	_, err := conn.Exec(ctx, "SET barrier_write_delay = 'soon'")
	wantPgErr(t, err, "22023", `invalid value for parameter "barrier_write_delay": "soon" (a duration such as 10ms, or milliseconds; 0 for none)`)
}
