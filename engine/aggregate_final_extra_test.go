package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// FINALFUNC_EXTRA and MFINALFUNC_EXTRA: the final function of either form
// takes, after the state, a NULL of each aggregated argument's type. A
// view runs the moving form (its MFINALFUNC gets the extra NULLs), an
// ad-hoc query the plain one; both, and the catalog's flags, survive a
// restart.
func TestUserAggregateFinalExtra(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE FUNCTION fe_add(s bigint, v int) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT s + v $$",
		"CREATE FUNCTION fe_sub(s bigint, v int) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT s - v $$",
		"CREATE FUNCTION fe_plain(s bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'p' || s $$",
		"CREATE FUNCTION fe_moving(s bigint, v int) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'm' || s || coalesce(v::text, '/null') $$",
		"CREATE AGGREGATE fe_sum(int) (SFUNC = fe_add, STYPE = bigint, INITCOND = '0', FINALFUNC = fe_plain, "+
			"MSFUNC = fe_add, MINVFUNC = fe_sub, MSTYPE = bigint, MINITCOND = '0', MFINALFUNC = fe_moving, MFINALFUNC_EXTRA)",
		"CREATE TABLE fe (id int PRIMARY KEY, k int, v int)",
		"INSERT INTO fe SELECT i, i % 3, i FROM generate_series(1, 30) i",
		"CREATE MATERIALIZED VIEW fe_view AS SELECT k, fe_sum(v) AS s FROM fe GROUP BY k",
		"FLUSH",
	)
	const want = "SELECT k, 'm' || sum(v) || '/null' FROM fe GROUP BY k"
	checkView(t, s, "before the restart", "fe_view", want, 3)
	conn := s.connect(t)
	if got := queryStrings(t, conn, "SELECT fe_sum(v) FROM fe WHERE k = 0"); len(got) != 1 || got[0] != "p165" {
		t.Fatalf("ad hoc: %q", got)
	}
	conn.Close(context.Background())

	s.restart(t)
	s.execAll(t, "DELETE FROM fe WHERE id % 4 = 0", "UPDATE fe SET v = v * 10 WHERE id % 5 = 0", "FLUSH")
	checkView(t, s, "after the restart", "fe_view", want, 3)
	conn = s.connect(t)
	defer conn.Close(context.Background())
	if got := queryStrings(t, conn, "SELECT aggfinalextra::text || ' ' || aggmfinalextra::text FROM pg_aggregate WHERE aggfnoid = 'fe_sum'::regproc"); len(got) != 1 || got[0] != "false true" {
		t.Fatalf("pg_aggregate: %q", got)
	}
	var sig, def string
	if err := conn.QueryRow(context.Background(), "SHOW CREATE AGGREGATE fe_sum").Scan(&sig, &def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "MFINALFUNC_EXTRA") || strings.Contains(def, " FINALFUNC_EXTRA") {
		t.Fatalf("SHOW CREATE AGGREGATE:\n%s", def)
	}
	_, err := conn.Exec(context.Background(), "CREATE AGGREGATE fe_bad(int) (SFUNC = fe_add, STYPE = bigint, MSFUNC = fe_add, MINVFUNC = fe_sub, MSTYPE = bigint, MFINALFUNC = fe_plain, MFINALFUNC_EXTRA)")
	wantPgErr(t, err, "42883", "function fe_plain(bigint, integer) does not exist")
}
