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
	s = s.restart(t)
	defer s.close()
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
