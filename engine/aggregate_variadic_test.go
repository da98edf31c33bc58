package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// VARIADIC user aggregates: CREATE AGGREGATE f(VARIADIC bigint[]) in
// PostgreSQL's form and in JavaScript. A call's trailing arguments fill
// the array (f(a, b, c) folds ARRAY[a, b, c]); f(VARIADIC arr) passes an
// array; ad hoc, as a window function and in a view with retraction,
// checked against the same logic written as SQL.
func TestUserAggregateVariadic(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	execAll(t, conn,
		`CREATE FUNCTION row_sum(v bigint[]) RETURNS bigint LANGUAGE javascript AS $$
		   let s = 0; for (const x of v) if (x !== null) s += Number(x); return s; $$`,
		`CREATE FUNCTION sums_add(s bigint, v bigint[]) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT s + coalesce(row_sum(v), 0) $$`,
		`CREATE FUNCTION sums_sub(s bigint, v bigint[]) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT s - coalesce(row_sum(v), 0) $$`,
		`CREATE AGGREGATE sum_all(VARIADIC bigint[]) (SFUNC = sums_add, STYPE = bigint, INITCOND = '0',
		   MSFUNC = sums_add, MINVFUNC = sums_sub, MSTYPE = bigint, MINITCOND = '0')`,
		`CREATE AGGREGATE js_sum_all(VARIADIC vals bigint[]) RETURNS bigint LANGUAGE javascript AS $$
		   export function create_state() { return {s: 0}; }
		   export function accumulate(st, vals) { for (const v of vals) if (v !== null) st.s += Number(v); return st; }
		   export function retract(st, vals) { for (const v of vals) if (v !== null) st.s -= Number(v); return st; }
		   export function finish(st) { return st.s; }
		 $$`,
		"CREATE TABLE legs (id int PRIMARY KEY, k int, a bigint, b bigint, c bigint)",
		"INSERT INTO legs SELECT g, g % 5, g, g * 2, CASE WHEN g % 7 = 0 THEN NULL ELSE g * 3 END FROM generate_series(1, 300) g",
	)
	const want = "SELECT k, sum(coalesce(a, 0) + coalesce(b, 0) + coalesce(c, 0))::bigint FROM legs GROUP BY k"
	same := func(q string) {
		t.Helper()
		n := queryInt(t, conn, "SELECT count(*) FROM (("+q+" EXCEPT ALL "+want+") UNION ALL ("+want+" EXCEPT ALL "+q+")) d")
		if n != 0 {
			t.Fatalf("%s differs from %s in %d rows", q, want, n)
		}
	}
	same("SELECT k, sum_all(a, b, c) FROM legs GROUP BY k")
	same("SELECT k, js_sum_all(a, b, c) FROM legs GROUP BY k")
	same("SELECT k, sum_all(VARIADIC ARRAY[a, b, c]) FROM legs GROUP BY k")
	same("SELECT k, js_sum_all(VARIADIC ARRAY[a, b, c]) FROM legs GROUP BY k")
	if got := queryInt(t, conn, "SELECT sum_all(a) + sum_all(a, b) FROM legs WHERE id <= 2"); got != 3+(1+2+2+4) {
		t.Fatalf("one and two trailing arguments: %d", got)
	}
	// As a window function.
	if got := queryInt(t, conn, "SELECT max(w) FROM (SELECT sum_all(a, b) OVER (ORDER BY id) AS w FROM legs WHERE id <= 3) x"); got != 18 {
		t.Fatalf("window: %d, want 18", got)
	}
	// PostgreSQL's errors: an array without VARIADIC is one element of
	// the wrong type; no arguments do not match.
	_, err := conn.Exec(ctx, "SELECT sum_all(ARRAY[a, b]) FROM legs")
	wantPgErr(t, err, "42883", "function sum_all(bigint[]) does not exist")
	_, err = conn.Exec(ctx, "SELECT sum_all(VARIADIC a) FROM legs")
	wantPgErr(t, err, "42883", "function sum_all(bigint) does not exist")
	_, err = conn.Exec(ctx, "CREATE AGGREGATE bad_var(VARIADIC bigint) (SFUNC = int8pl, STYPE = bigint)")
	wantPgErr(t, err, "42P13", "VARIADIC parameter must be an array")
	_, err = conn.Exec(ctx, "CREATE AGGREGATE bad_var(VARIADIC bigint[], bigint) (SFUNC = int8pl, STYPE = bigint)")
	wantPgErr(t, err, "42P13", "VARIADIC parameter must be the last input parameter")
	_, err = conn.Exec(ctx, "CREATE FUNCTION bad_fn(VARIADIC v bigint[]) RETURNS bigint LANGUAGE javascript AS $$ return 1; $$")
	wantPgErr(t, err, "0A000", "VARIADIC parameters of functions are not supported")

	// In views: both retract, and follow updates and deletes.
	execAll(t, conn,
		"CREATE MATERIALIZED VIEW leg_sums AS SELECT k, sum_all(a, b, c) AS s, js_sum_all(a, b, c) AS j FROM legs GROUP BY k",
		"UPDATE legs SET b = b + 10 WHERE id % 3 = 0",
		"DELETE FROM legs WHERE id % 11 = 0",
		"INSERT INTO legs VALUES (1000, 1, 5, NULL, 7)",
		"FLUSH",
	)
	same("SELECT k, s FROM leg_sums")
	same("SELECT k, j FROM leg_sums")
	plan := strings.Join(queryStrings(t, conn, "EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT k, sum_all(a, b, c), js_sum_all(a, b, c) FROM legs GROUP BY k"), "\n")
	if strings.Count(plan, "[retract]") != 2 {
		t.Fatalf("want both aggregates incremental:\n%s", plan)
	}
	// Catalog: provariadic and the signature with VARIADIC.
	got := queryStrings(t, conn, "SELECT pg_get_function_arguments(p.oid) || ' ' || p.provariadic::regtype::text FROM pg_proc p WHERE proname = 'sum_all'")
	if len(got) != 1 || got[0] != "VARIADIC bigint[] bigint" {
		t.Fatalf("pg_proc: %q", got)
	}
}
