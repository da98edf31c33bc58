package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// TestMatViewCreationChecksReads: CREATE MATERIALIZED VIEW reads with
// its creator's rights, so a role that may create in the schema but not
// read a table (or one of its columns, here of a table and of a source)
// gets 42501 as from PostgreSQL, whose CREATE MATERIALIZED VIEW runs the
// query.
func TestMatViewCreationChecksReads(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t, "CREATE TABLE mc_secret (x int, y int)", "INSERT INTO mc_secret VALUES (42, 1)",
		"CREATE SOURCE mc_src (x int, y text) WITH (connector = 'datagen', datagen.rows.limit = '3')",
		"CREATE ROLE mc_r", "GRANT USAGE, CREATE ON SCHEMA public TO mc_r",
		"GRANT SELECT (y) ON mc_secret TO mc_r", "GRANT SELECT (x) ON mc_src TO mc_r")
	conn := s.connect(t)
	defer conn.Close(context.Background())
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SET ROLE mc_r"); err != nil {
		t.Fatal(err)
	}
	execExpect(t, conn, []struct{ sql, err string }{
		{"CREATE MATERIALIZED VIEW mc_1 AS SELECT x FROM mc_secret", "42501 permission denied for table mc_secret"},
		{"CREATE MATERIALIZED VIEW mc_2 AS SELECT * FROM mc_secret", "42501 permission denied for table mc_secret"},
		{"CREATE MATERIALIZED VIEW mc_3 AS SELECT y FROM mc_secret", ""},
		{"CREATE MATERIALIZED VIEW mc_4 AS SELECT y FROM mc_src", "42501 permission denied for table mc_src"},
		{"CREATE MATERIALIZED VIEW mc_5 AS SELECT x FROM mc_src", ""},
	})
}
