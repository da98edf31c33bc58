package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// WebAssembly table functions (NAME(start, cap, cols) in the module
// compiled from udf/wasm/testdata/funcs): in FROM, with LATERAL and in the
// select list ad hoc (a SETOF one), over more rows than one call returns, NULLs in an
// output column, a STRICT call with a NULL argument, a failure (38000 with
// the module's message), and in a materialized view's select list over
// inserts, updates and deletes.
func TestUDFWasmTable(t *testing.T) {
	mod := buildWasmFuncs(t)
	ctx := context.Background()
	_, conn := startConn(t, engine.Options{},
		"CREATE FUNCTION wlegs(n int, step int) RETURNS TABLE (i int, sq bigint, half double precision) LANGUAGE wasm STRICT USING BASE64 '"+mod+"'",
		"CREATE TABLE baskets (id int PRIMARY KEY, n int, step int)",
		"INSERT INTO baskets VALUES (1, 3, 10), (2, 0, 5), (3, 4, 1), (4, NULL, 2)",
		"CREATE FUNCTION wsteps(n int) RETURNS SETOF int LANGUAGE wasm STRICT USING BASE64 '"+mod+"'",
	)
	checkStrings := func(q, want string) {
		t.Helper()
		got := queryStrings(t, conn, q)
		if s := strings.Join(got, "|"); s != want {
			t.Fatalf("%s:\n got %s\nwant %s", q, s, want)
		}
	}
	checkStrings("SELECT i, sq, coalesce(half::text, 'null') FROM wlegs(4, 3)", "0 0 0|3 1 null|6 4 1|9 9 null")
	// 5,000 rows take five calls of at most 1,024 rows.
	if n := queryInt(t, conn, "SELECT count(*) FROM wlegs(5000, 1) WHERE sq = i::bigint * i"); n != 5000 {
		t.Fatalf("wlegs(5000): %d rows", n)
	}
	if n := queryInt(t, conn, "SELECT sum(i) FROM wlegs(5000, 1)"); n != 4999*5000/2 {
		t.Fatalf("sum over 5000 rows: %d", n)
	}
	checkStrings("SELECT b.id, l.i FROM baskets b, LATERAL wlegs(b.n, b.step) l ORDER BY b.id, l.i", "1 0|1 10|1 20|3 0|3 1|3 2|3 3")
	checkStrings("SELECT count(*) FROM wlegs(NULL, 1)", "0")
	checkStrings("SELECT id, wsteps(n) FROM baskets WHERE id IN (1, 2) ORDER BY 1, 2", "1 1|1 2|1 3")
	_, err := conn.Exec(ctx, "SELECT * FROM wlegs(-1, 1)")
	wantPgErr(t, err, "38000", "negative leg count")
	_, err = conn.Exec(ctx, "CREATE FUNCTION wgcd_set(a int, b int) RETURNS SETOF int LANGUAGE wasm USING BASE64 '"+mod+"'")
	wantPgErr(t, err, "42P13", "WebAssembly module does not export function wgcd_set")

	execAll(t, conn,
		"CREATE MATERIALIZED VIEW legs AS SELECT id, wsteps(n) AS k FROM baskets",
		"INSERT INTO baskets VALUES (5, 2, 7)",
		"UPDATE baskets SET n = 1 WHERE id = 3",
		"DELETE FROM baskets WHERE id = 1",
		"FLUSH",
	)
	checkStrings("SELECT id, k FROM legs ORDER BY id, k", "3 1|5 1|5 2")
}
