package engine_test

import (
	"context"
	"strings"
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

// A SQL function whose body is several statements, one of them a write,
// is still one after a restart: a call outside a transaction block gets
// its own write transaction, and a void function runs for its effect.
func TestStatementFunctionsSurviveRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t, "CREATE TABLE ledger (id int PRIMARY KEY, amt int)",
		`CREATE FUNCTION post(i int, a int) RETURNS bigint LANGUAGE sql AS $$
		   INSERT INTO ledger VALUES (i, a); SELECT sum(amt) FROM ledger $$`,
		`CREATE FUNCTION void_post(i int) RETURNS void LANGUAGE sql
		   BEGIN ATOMIC INSERT INTO ledger VALUES (i, 1); END`)

	s.restart(t)
	conn := s.connect(t)
	defer conn.Close(ctx)
	var sum int64
	if err := conn.QueryRow(ctx, "SELECT post(1, 10) + post(2, 5)").Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != 25 { // 10, then 15
		t.Errorf("post after restart: %d, want 25", sum)
	}
	execAll(t, conn, "SELECT void_post(3)")
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM ledger").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("ledger rows: %d, want 3", n)
	}
	var def string
	if err := conn.QueryRow(ctx, "SELECT pg_get_functiondef('void_post'::regproc)").Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "RETURNS void") || !strings.Contains(def, "BEGIN ATOMIC") {
		t.Errorf("definition after restart:\n%s", def)
	}
}
