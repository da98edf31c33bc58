package engine_test

import (
	"strings"
	"testing"

	"streamsql/engine"
)

// A view created before aggregations read twice were planned once goes on
// over its state after a restart, with the plan it was created with.
func TestUnsharedViewResumes(t *testing.T) {
	s := openStack(t, engine.Options{})
	engine.CreateWithoutSharing(true)
	defer engine.CreateWithoutSharing(false)
	busiest := `CREATE MATERIALIZED VIEW busiest AS
		SELECT c.sym, c.n FROM (SELECT sym, count(*) AS n FROM trades GROUP BY sym) c
		JOIN (SELECT max(n) AS top FROM (SELECT sym, count(*) AS n FROM trades GROUP BY sym) x) m ON c.n = m.top`
	s.execAll(t,
		"SET streaming_parallelism = 1",
		"CREATE TABLE trades (id bigint PRIMARY KEY, sym text, qty bigint)",
		"INSERT INTO trades VALUES (1, 'ACME', 100), (2, 'ACME', 50), (3, 'ZZZ', 10)",
		busiest,
		"FLUSH",
	)
	engine.CreateWithoutSharing(false)
	s.restart(t)
	s.execAll(t, "INSERT INTO trades VALUES (4, 'ZZZ', 1), (5, 'ZZZ', 2)", "FLUSH")
	conn := s.connect(t)
	defer conn.Close(t.Context())
	if got := strings.Join(queryStrings(t, conn, "SELECT sym || ':' || n FROM busiest ORDER BY sym"), ","); got != "ZZZ:3" {
		t.Errorf("view after the restart: %q, want ZZZ:3", got)
	}
	// A view created now shares the aggregation.
	plan := strings.Join(queryStrings(t, conn, "EXPLAIN "+strings.Replace(busiest, "busiest", "busiest2", 1)), "\n")
	if !strings.Contains(plan, "shared") {
		t.Errorf("a new view does not share the aggregation:\n%s", plan)
	}
}
