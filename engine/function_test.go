package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// User functions are catalog objects: after a restart they are found
// again, a materialized view that calls one re-plans with it and goes on
// following its table, a plain view calling one still reads, and the
// dependency still blocks DROP FUNCTION.
func TestFunctionsSurviveRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t, "CREATE SCHEMA app", "SET search_path = app",
		"CREATE TABLE bids (id int PRIMARY KEY, extra varchar)",
		"INSERT INTO bids VALUES (1, 'cc'), (2, 'abc')",
		`CREATE FUNCTION count_char(s varchar, c varchar) RETURNS integer LANGUAGE sql IMMUTABLE
		 AS $$ SELECT length(s) - length(replace(s, c, '')) $$`,
		"CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql IMMUTABLE STRICT RETURN x * 2",
		"CREATE MATERIALIZED VIEW cc AS SELECT sum(twice(count_char(extra, 'c'))) AS n FROM bids",
		"CREATE VIEW v AS SELECT id, count_char(extra, 'b') AS b FROM bids")

	s.restart(t)
	s.execAll(t, "INSERT INTO app.bids VALUES (3, 'ccc')", "FLUSH")
	conn := s.connect(t)
	defer conn.Close(ctx)
	// Plain views resolve their names when read, with the reader's path.
	execAll(t, conn, "SET search_path = app")
	var n int64
	if err := conn.QueryRow(ctx, "SELECT n FROM app.cc").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 12 { // 2*2 + 2*1 + 2*3
		t.Errorf("view after restart: n=%d, want 12", n)
	}
	var b int32
	if err := conn.QueryRow(ctx, "SELECT b FROM app.v WHERE id = 2").Scan(&b); err != nil {
		t.Fatal(err)
	}
	if b != 1 {
		t.Errorf("plain view after restart: b=%d, want 1", b)
	}
	var got int32
	if err := conn.QueryRow(ctx, "SELECT app.twice(app.count_char('xcxc', 'c'))").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != 4 {
		t.Errorf("call after restart: %d, want 4", got)
	}
	if _, err := conn.Exec(ctx, "DROP FUNCTION app.twice"); err == nil {
		t.Error("DROP FUNCTION twice succeeded while materialized view cc calls it")
	}
	execAll(t, conn, "DROP FUNCTION app.count_char(varchar, varchar) CASCADE")
	for _, rel := range []string{"app.cc", "app.v"} {
		if _, err := conn.Exec(ctx, "SELECT * FROM "+rel); err == nil {
			t.Errorf("%s still exists after DROP FUNCTION ... CASCADE", rel)
		}
	}
}
