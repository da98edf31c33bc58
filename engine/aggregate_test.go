package engine_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/udf"
)

// User aggregates in materialized views survive a restart: the views that
// keep an aggregate's own state (JavaScript with retract, PostgreSQL's
// moving form, Go with Retract) read it back from their state tables and
// go on taking rows in and out; the view that recomputes keeps its
// inputs. Each view is compared with its query run as a batch query
// before and after the restart, and EXPLAIN says which way each runs.
func TestUserAggregatesSurviveRestart(t *testing.T) {
	goFns := udf.NewGoFunctions()
	type sq struct{ Sum, N int64 }
	err := udf.RegisterAggregate(goFns, "go_mean_sq", udf.GoAggregate[int64, sq, float64]{
		Init:       func() sq { return sq{} },
		Accumulate: func(s sq, v int64) (sq, error) { return sq{s.Sum + v*v, s.N + 1}, nil },
		Retract:    func(s sq, v int64) (sq, error) { return sq{s.Sum - v*v, s.N - 1}, nil },
		Finish: func(s sq) (float64, error) {
			if s.N == 0 {
				return 0, errors.New("no rows")
			}
			return float64(s.Sum) / float64(s.N), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two arguments: a weighted sum (RegisterAggregate2).
	err = udf.RegisterAggregate2(goFns, "go_wsum", udf.GoAggregate2[int64, int32, int64, int64]{
		Init:       func() int64 { return 0 },
		Accumulate: func(s, v int64, w int32) (int64, error) { return s + v*int64(w), nil },
		Retract:    func(s, v int64, w int32) (int64, error) { return s - v*int64(w), nil },
		Finish:     func(s int64) (int64, error) { return s, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	s := openStack(t, engine.Options{Functions: goFns})
	s.execAll(t,
		`CREATE AGGREGATE js_wsum(v bigint, w int) RETURNS bigint LANGUAGE javascript AS $$
		   export function create_state() { return {s: 0}; }
		   export function accumulate(st, v, w) { st.s += v * w; return st; }
		   export function retract(st, v, w) { st.s -= v * w; return st; }
		   export function finish(st) { return st.s; }
		 $$`,
		`CREATE AGGREGATE js_list(v bigint) RETURNS text LANGUAGE javascript AS $$
		   export function create_state() { return []; }
		   export function accumulate(st, v) { st.push(v); return st; }
		   export function finish(st) { return st.sort((a, b) => a - b).join(','); }
		 $$`,
		"CREATE FUNCTION add_v(s bigint, v bigint) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT s + v $$",
		"CREATE FUNCTION sub_v(s bigint, v bigint) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT s - v $$",
		"CREATE AGGREGATE pg_sum(bigint) (SFUNC = add_v, STYPE = bigint, INITCOND = '0', MSFUNC = add_v, MINVFUNC = sub_v, MSTYPE = bigint, MINITCOND = '0')",
		"CREATE TABLE t (id int PRIMARY KEY, k int, v bigint)",
		"INSERT INTO t SELECT g, g % 7, g * 3 FROM generate_series(1, 500) g",
		"CREATE MATERIALIZED VIEW mv AS SELECT k, js_wsum(v, k) AS w, js_list(v) AS l, pg_sum(v) AS p, go_mean_sq(v) AS q, go_wsum(v, k) AS gw FROM t GROUP BY k",
		"UPDATE t SET v = v + 1 WHERE id % 4 = 0",
		"DELETE FROM t WHERE id % 9 = 0",
		"FLUSH",
	)
	const query = "SELECT k, js_wsum(v, k), js_list(v), pg_sum(v), go_mean_sq(v), go_wsum(v, k) FROM t GROUP BY k"
	checkSame := func(s *benchStack) {
		t.Helper()
		conn := s.connect(t)
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT * FROM mv EXCEPT ALL " + query + ") d",
			"SELECT count(*) FROM (" + query + " EXCEPT ALL SELECT * FROM mv) d",
			"SELECT count(*) FROM mv WHERE gw IS DISTINCT FROM w", // the same weighted sum in Go and JavaScript
		} {
			var n int
			if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%s: %d rows differ, %v", q, n, err)
			}
		}
		var groups int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM mv").Scan(&groups); err != nil || groups != 7 {
			t.Fatalf("mv has %d groups, %v", groups, err)
		}
	}
	checkSame(s)

	conn := s.connect(t)
	rows, err := conn.Query(context.Background(), "EXPLAIN CREATE MATERIALIZED VIEW x AS "+query)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	for agg, mode := range map[string]string{"js_wsum": "retract", "js_list": "recompute", "pg_sum": "retract", "go_mean_sq": "retract", "go_wsum": "retract"} {
		if !regexp.MustCompile(agg + `\(#[0-9, #]*\) \[` + mode + `\]`).MatchString(plan.String()) {
			t.Errorf("EXPLAIN does not show %s running with %s:\n%s", agg, mode, plan.String())
		}
	}

	s.restart(t)
	checkSame(s)
	s.execAll(t,
		"UPDATE t SET v = v * 2 WHERE id % 5 = 0",
		"DELETE FROM t WHERE k = 3 AND id % 2 = 0",
		"INSERT INTO t VALUES (1000, 3, 17), (1001, 6, 1)",
		"FLUSH",
	)
	checkSame(s)
	// The aggregates are in the catalog after the restart.
	var n int
	if err := s.connect(t).QueryRow(context.Background(), "SELECT count(*) FROM pg_proc WHERE prokind = 'a' AND proname IN ('js_wsum', 'js_list', 'pg_sum')").Scan(&n); err != nil || n != 3 {
		t.Fatalf("pg_proc lists %d user aggregates, %v", n, err)
	}
}

// JavaScript aggregates that loop forever, allocate without bound or
// throw: ad hoc the statement fails with 38000 and the server goes on; in
// a materialized view the rows go to rejects, are left out of their
// group's state, and the view keeps following its table.
func TestUserAggregateRunaways(t *testing.T) {
	s := openStack(t, engine.Options{Settings: map[string]string{"udf_timeout": "300ms", "udf_memory_limit": "16MB"}})
	s.execAll(t,
		`CREATE AGGREGATE risky_sum(q int) RETURNS bigint LANGUAGE javascript AS $$
		   export function create_state() { return 0; }
		   export function accumulate(s, q) {
		     if (q === 13) while (true) {}
		     if (q === 14) { const xs = []; while (true) xs.push('x'.repeat(1 << 20) + xs.length); }
		     if (q === 15) throw new Error('bad quantity ' + q);
		     return s + q;
		   }
		   export function retract(s, q) { return s - q; }
		 $$`,
		"CREATE TABLE t (id int PRIMARY KEY, k int, q int)",
		"INSERT INTO t VALUES (1, 1, 1), (2, 1, 2), (3, 2, 3)",
		"CREATE MATERIALIZED VIEW v AS SELECT k, risky_sum(q) AS s FROM t GROUP BY k",
	)
	ctx := context.Background()
	conn := s.connect(t)
	for q, want := range map[int]string{13: "timed out after 300ms", 14: "exceeded the memory limit of 16MB", 15: "Error: bad quantity 15"} {
		if q == 14 {
			// The memory guard, not the clock, must stop this one.
			if _, err := conn.Exec(ctx, "SET udf_timeout = '10s'"); err != nil {
				t.Fatal(err)
			}
		}
		var r *int64
		err := conn.QueryRow(ctx, "SELECT risky_sum(q) FROM (VALUES (1), ($1::int)) AS x(q)", q).Scan(&r)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "38000" || !strings.Contains(pe.Message, want) {
			t.Errorf("risky_sum over %d: got %v, want 38000 %q", q, err, want)
		}
		if _, err := conn.Exec(ctx, "RESET udf_timeout"); err != nil {
			t.Fatal(err)
		}
		var sum int64
		if err := conn.QueryRow(ctx, "SELECT risky_sum(q) FROM t").Scan(&sum); err != nil || sum != 6 {
			t.Fatalf("after the failure over %d the server answers %d, %v", q, sum, err)
		}
	}

	s.execAll(t, "INSERT INTO t VALUES (4, 1, 13), (5, 2, 15), (6, 2, 4)", "FLUSH")
	s.execAll(t, "INSERT INTO t VALUES (7, 1, 10)", "FLUSH")
	var rejects int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM rejects WHERE error LIKE '%risky_sum%' OR error LIKE '%bad quantity%'").Scan(&rejects); err != nil || rejects < 2 {
		t.Fatalf("rejects: %d, %v; want the two failing rows", rejects, err)
	}
	got := map[int32]int64{}
	rows, err := conn.Query(ctx, "SELECT k, s FROM v")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k int32
		var sum int64
		if err := rows.Scan(&k, &sum); err != nil {
			t.Fatal(err)
		}
		got[k] = sum
	}
	// The failing rows are left out; the rows after them count.
	if got[1] != 13 || got[2] != 7 {
		t.Fatalf("view: %v, want k=1: 13, k=2: 7", got)
	}
}
