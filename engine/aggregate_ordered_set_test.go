package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// Ordered-set user aggregates in PostgreSQL's form: CREATE AGGREGATE
// f(direct args ORDER BY aggregated args), called f(direct) WITHIN GROUP
// (ORDER BY ...). As in PostgreSQL, the transition function sees the
// rows in input order (the executor does not sort them; WITHIN GROUP names
// the aggregated arguments and the aggregate sorts them itself), the final
// function the state and the direct arguments. Ad hoc and in a view over
// updates and deletes, each checked against the built-in that does the same.
func TestUserAggregateOrderedSet(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	execAll(t, conn,
		// my_pct(f) WITHIN GROUP (ORDER BY x) is percentile_disc: its
		// final function sorts the values, as PostgreSQL's does.
		"CREATE FUNCTION os_push(s float8[], v float8) RETURNS float8[] LANGUAGE javascript STRICT AS $$ s.push(v); return s; $$",
		"CREATE FUNCTION os_sort(s float8[]) RETURNS float8[] LANGUAGE javascript STRICT AS $$ return s.sort((a, b) => a - b); $$",
		"CREATE FUNCTION os_pick(s float8[], f float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$ SELECT (os_sort(s))[greatest(1, ceil(f * cardinality(s)))::int] $$",
		"CREATE AGGREGATE my_pct(float8 ORDER BY float8) (SFUNC = os_push, STYPE = float8[], INITCOND = '{}', FINALFUNC = os_pick)",
		// seq(ORDER BY n, s): the labels in the order the rows arrive,
		// no direct arguments and no final function.
		"CREATE FUNCTION seq_step(acc text, n int, s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT acc || coalesce(s, '~') || ';' $$",
		"CREATE AGGREGATE seq(ORDER BY int, text) (SFUNC = seq_step, STYPE = text, INITCOND = '')",
		"CREATE TABLE fills (id int PRIMARY KEY, k int, n int, px float8, s text)",
		"INSERT INTO fills SELECT g, g % 4, (g * 7) % 10, CASE WHEN g % 13 = 0 THEN NULL ELSE ((g * 37) % 101)::float8 END, 'l' || (g % 6) FROM generate_series(1, 200) g",
	)
	same := func(q, want string) {
		t.Helper()
		n := queryInt(t, conn, "SELECT count(*) FROM (("+q+" EXCEPT ALL "+want+") UNION ALL ("+want+" EXCEPT ALL "+q+")) d")
		if n != 0 {
			t.Fatalf("%s differs from %s in %d rows", q, want, n)
		}
	}
	for _, f := range []string{"0.1", "0.5", "0.9", "1"} {
		same("SELECT k, my_pct("+f+") WITHIN GROUP (ORDER BY px) FROM fills GROUP BY k",
			"SELECT k, percentile_disc("+f+") WITHIN GROUP (ORDER BY px) FROM fills GROUP BY k")
		// DESC does not reach a user aggregate (PostgreSQL's percentile_disc
		// reads it; a user aggregate cannot).
		same("SELECT k, my_pct("+f+") WITHIN GROUP (ORDER BY px DESC) FROM fills GROUP BY k",
			"SELECT k, percentile_disc("+f+") WITHIN GROUP (ORDER BY px) FROM fills GROUP BY k")
	}
	// The rows reach the transition function in input order, whatever
	// the WITHIN GROUP order says; two calls in one query each see it.
	for _, c := range []struct{ q, want string }{
		{"SELECT seq() WITHIN GROUP (ORDER BY n, s) || '|' || seq() WITHIN GROUP (ORDER BY n DESC, s DESC) FROM (SELECT * FROM fills WHERE id IN (1, 2, 3) ORDER BY id) f", "l1;l2;l3;|l1;l2;l3;"},
		{"SELECT seq() WITHIN GROUP (ORDER BY n, s) || '|' || seq() WITHIN GROUP (ORDER BY n DESC, s DESC) FROM (SELECT * FROM fills WHERE id IN (1, 2, 3) ORDER BY id DESC) f", "l3;l2;l1;|l3;l2;l1;"},
	} {
		if got := queryStrings(t, conn, c.q); len(got) != 1 || got[0] != c.want {
			t.Fatalf("%s: %q, want %q", c.q, got, c.want)
		}
	}
	// Every row is folded once, in whatever order.
	const seqWant = "SELECT k, sum(length(coalesce(s, '~')) + 1) FROM fills GROUP BY k"
	same("SELECT k, length(seq() WITHIN GROUP (ORDER BY n DESC, s NULLS FIRST)) FROM fills GROUP BY k", seqWant)

	// PostgreSQL's errors.
	for _, c := range []struct{ q, code, msg string }{
		{"SELECT my_pct(px) FROM fills", "42883", "function my_pct(double precision) does not exist"},
		{"SELECT my_pct(0.5, px) FROM fills", "42809", "WITHIN GROUP is required for ordered-set aggregate my_pct"},
		{"SELECT my_pct(0.5, px) OVER () FROM fills", "42809", "WITHIN GROUP is required for ordered-set aggregate my_pct"},
		{"SELECT seq() WITHIN GROUP (ORDER BY n, s) OVER () FROM fills", "0A000", "OVER is not supported for ordered-set aggregate seq"},
		{"SELECT count(*) WITHIN GROUP (ORDER BY n) FROM fills", "42809", "count is not an ordered-set aggregate, so it cannot have WITHIN GROUP"},
		{"SELECT my_pct(0.5, 0.1) WITHIN GROUP (ORDER BY px) FROM fills", "42883", "function my_pct(numeric, numeric, double precision) does not exist"},
		{"CREATE AGGREGATE bad_os(float8 ORDER BY float8) (SFUNC = os_push, STYPE = float8[], FINALFUNC = os_pick, MSFUNC = os_push, MINVFUNC = os_push, MSTYPE = float8[])", "42P13", "ordered-set aggregates cannot have MSFUNC"},
		{"CREATE AGGREGATE bad_os(float8 ORDER BY float8) (SFUNC = os_push, STYPE = float8[])", "42P13", "an ordered-set aggregate with direct arguments must have a FINALFUNC that takes them"},
		{"CREATE AGGREGATE bad_os(float8 ORDER BY float8) (SFUNC = os_push, STYPE = float8[], FINALFUNC = os_pick, HYPOTHETICAL)", "0A000", "hypothetical-set aggregates are not supported"},
		{"CREATE AGGREGATE js_os(float8 ORDER BY float8) RETURNS float8 LANGUAGE javascript AS $$ export function create_state() { return 0; } export function accumulate(s, x) { return s + x; } $$",
			"0A000", "ordered-set aggregates with RETURNS and LANGUAGE are not supported"},
		{"CREATE AGGREGATE bad_os(ORDER BY VARIADIC float8[]) (SFUNC = os_push, STYPE = float8[])", "0A000", "VARIADIC arguments of ordered-set aggregates are not supported"},
	} {
		_, err := conn.Exec(ctx, c.q)
		wantPgErr(t, err, c.code, c.msg)
	}

	// In a view the group's rows are kept and folded again when the
	// group changes.
	execAll(t, conn,
		"CREATE MATERIALIZED VIEW fill_stats AS SELECT k, my_pct(0.5) WITHIN GROUP (ORDER BY px) AS med, seq() WITHIN GROUP (ORDER BY n DESC, s NULLS FIRST) AS sq FROM fills GROUP BY k",
		"UPDATE fills SET px = px + 50, s = NULL WHERE id % 3 = 0",
		"DELETE FROM fills WHERE id % 7 = 0",
		"INSERT INTO fills VALUES (500, 2, 3, 1.5, 'new')",
		"FLUSH",
	)
	same("SELECT k, med FROM fill_stats", "SELECT k, percentile_disc(0.5) WITHIN GROUP (ORDER BY px) FROM fills GROUP BY k")
	same("SELECT k, length(sq) FROM fill_stats", seqWant)
	plan := strings.Join(queryStrings(t, conn, "EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT k, my_pct(0.5) WITHIN GROUP (ORDER BY px) FROM fills GROUP BY k"), "\n")
	if !strings.Contains(plan, "[recompute]") {
		t.Fatalf("EXPLAIN:\n%s", plan)
	}
	// The catalog says ordered-set, with its direct argument count.
	got := queryStrings(t, conn, "SELECT a.aggkind || ' ' || a.aggnumdirectargs || ' ' || pg_get_function_arguments(a.aggfnoid) FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE p.proname IN ('my_pct', 'seq') ORDER BY p.proname")
	if strings.Join(got, ",") != "o 1 double precision ORDER BY double precision,o 0 ORDER BY integer, text" {
		t.Fatalf("pg_aggregate: %q", got)
	}
}
