package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// A view and a sink created under a search_path other than public plan
// again after a restart with the names they were created with, and the
// view goes on following its table.
func TestStreamingRestartSearchPath(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t, "CREATE SCHEMA app", "SET search_path = app",
		"CREATE TABLE orders (id int PRIMARY KEY, amount bigint)",
		"INSERT INTO orders VALUES (1, 10), (2, 20)",
		"CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(amount) AS s FROM orders",
		"CREATE SINK big AS SELECT id FROM orders WHERE amount > 15 WITH (connector = 'blackhole')")
	s.restart(t)
	s.execAll(t, "INSERT INTO app.orders VALUES (3, 30)", "FLUSH")
	conn := s.connect(t)
	var n, sum int64
	if err := conn.QueryRow(ctx, "SELECT n, s FROM app.totals").Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 3 || sum != 60 {
		t.Errorf("after restart: n=%d s=%d, want 3 and 60", n, sum)
	}
	runningJobs(t, conn)
}

// A view is resumed over its state only if its definition still plans
// into the state layout it was created with: one whose stored layout
// differs (a version that plans it differently) stays stopped instead of
// misreading its join state, while the other views run.
func TestStreamingRestartChecksStateLayout(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t, "CREATE TABLE a (id int PRIMARY KEY, x int)", "CREATE TABLE b (id int PRIMARY KEY, y int)",
		"INSERT INTO a VALUES (1, 10)", "INSERT INTO b VALUES (1, 20)",
		"CREATE MATERIALIZED VIEW ab AS SELECT a.id, x, y FROM a JOIN b ON a.id = b.id",
		"CREATE MATERIALIZED VIEW n AS SELECT count(*) AS n FROM a", "FLUSH")
	was, err := s.Engine.StateLayout("ab", "")
	if err != nil || was == "" {
		t.Fatalf("state layout of ab: %q, %v", was, err)
	}
	s.restart(t)
	if n := runningJobs(t, s.connect(t)); n != 2 {
		t.Fatalf("after a plain restart %d jobs run, want 2", n)
	}
	if _, err := s.Engine.StateLayout("ab", "0123456789abcdef01234567"); err != nil {
		t.Fatal(err)
	}
	s.restart(t)
	conn := s.connect(t)
	if n := runningJobs(t, conn); n != 1 {
		t.Fatalf("with a changed state layout %d jobs run, want only n's", n)
	}
	s.execAll(t, "INSERT INTO a VALUES (2, 30)", "FLUSH")
	var n int64
	if err := conn.QueryRow(context.Background(), "SELECT n FROM n").Scan(&n); err != nil || n != 2 {
		t.Fatalf("n = %d, %v; want 2", n, err)
	}
}
