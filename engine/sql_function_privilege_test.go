package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// TestSQLFunctionBodyPrivileges: a LANGUAGE sql function whose body reads
// a table reads it with the caller's rights (SECURITY INVOKER, the
// default), in a query and in a materialized view, or with its owner's
// (SECURITY DEFINER), as in PostgreSQL.
func TestSQLFunctionBodyPrivileges(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t, "CREATE TABLE sf_secret (k int PRIMARY KEY, v int)", "INSERT INTO sf_secret VALUES (1, 42)",
		"CREATE TABLE sf_keys (id int PRIMARY KEY, k int)", "INSERT INTO sf_keys VALUES (1, 1)",
		"CREATE FUNCTION sf_inv(x int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT v FROM sf_secret WHERE k = x $$",
		"CREATE FUNCTION sf_def(x int) RETURNS int LANGUAGE sql STABLE SECURITY DEFINER AS $$ SELECT v FROM sf_secret WHERE k = x $$",
		"CREATE ROLE sf_r", "GRANT USAGE, CREATE ON SCHEMA public TO sf_r", "GRANT SELECT ON sf_keys TO sf_r")
	conn := s.connect(t)
	defer conn.Close(context.Background())
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SET ROLE sf_r"); err != nil {
		t.Fatal(err)
	}
	execExpect(t, conn, []struct{ sql, err string }{
		{"SELECT sf_inv(1)", "42501 permission denied for table sf_secret"},
		{"SELECT sf_inv(k) FROM sf_keys", "42501 permission denied for table sf_secret"},
		{"CREATE MATERIALIZED VIEW sf_v1 AS SELECT id, sf_inv(k) FROM sf_keys", "42501 permission denied for table sf_secret"},
		{"SELECT sf_def(1)", ""},
		{"SELECT sf_def(k) FROM sf_keys", ""},
		{"CREATE MATERIALIZED VIEW sf_v2 AS SELECT id, sf_def(k) AS v FROM sf_keys", ""},
	})
	var v int
	if err := conn.QueryRow(ctx, "SELECT sf_def(1)").Scan(&v); err != nil || v != 42 {
		t.Fatalf("sf_def(1) = %d, %v; want 42", v, err)
	}
	// Without EXECUTE on the function, the caller may not call it.
	if _, err := conn.Exec(ctx, "RESET ROLE"); err != nil {
		t.Fatal(err)
	}
	s.execAll(t, "REVOKE EXECUTE ON FUNCTION sf_def(int) FROM PUBLIC")
	if _, err := conn.Exec(ctx, "SET ROLE sf_r"); err != nil {
		t.Fatal(err)
	}
	_, err := conn.Exec(ctx, "SELECT sf_def(1)")
	wantPgErr(t, err, "42501", "permission denied for function sf_def")
}
