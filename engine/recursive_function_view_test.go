package engine_test

import (
	"strings"
	"testing"

	"streamsql/engine"
)

// A materialized view over a recursive SQL function (compiled,
// sql/planner/sqlfunc_recursive.go) keeps running across a restart: it
// is planned again and follows the changes made after it.
func TestRecursiveFunctionViewRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE FUNCTION fib(n int) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT CASE WHEN n < 2 THEN n ELSE fib(n - 1) + fib(n - 2) END $$",
		"CREATE FUNCTION depth(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN n <= 0 THEN 0 ELSE depth(n - 1) + 1 END $$",
		"CREATE TABLE terms (id int PRIMARY KEY, n int)",
		"INSERT INTO terms VALUES (1, 10), (2, 15)",
		"CREATE MATERIALIZED VIEW fibs AS SELECT id, fib(n) AS f, depth(n) AS d FROM terms",
		"FLUSH",
	)
	s.restart(t)
	s.execAll(t, "INSERT INTO terms VALUES (3, 20), (4, 5000)", "UPDATE terms SET n = 11 WHERE id = 1", "FLUSH")
	conn := s.connect(t)
	defer conn.Close(t.Context())
	got := strings.Join(queryStrings(t, conn, "SELECT id || ':' || coalesce(f::text, '-') || ':' || coalesce(d::text, '-') FROM fibs ORDER BY id"), ",")
	if want := "1:89:11,2:610:15,3:6765:20,4:-:-"; got != want {
		t.Errorf("view after the restart: %s, want %s", got, want)
	}
	// The outer call is inlined: the rejects name the recursive calls
	// that failed, fib(4999) and fib(4998) of the body of fib(5000).
	all := queryInt(t, conn, "SELECT count(*) FROM rejects WHERE job = 'fibs'")
	named := queryInt(t, conn, `SELECT count(*) FROM rejects WHERE job = 'fibs' AND error LIKE '%stack depth limit exceeded%'
		AND (partition LIKE '%fib(integer)%' AND (raw = '(4999)' OR raw = '(4998)') OR partition LIKE '%depth(integer)%' AND raw = '(4999)')`)
	if all != 3 || named != 3 {
		t.Errorf("rejects of the runaway row: %d, %d of them as expected; want fib(4999), fib(4998) and depth(4999)", all, named)
	}
}
