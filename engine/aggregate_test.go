package engine_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

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
		"CREATE MATERIALIZED VIEW mv AS SELECT k, js_wsum(v, k) AS w, js_list(v) AS l, pg_sum(v) AS p, go_mean_sq(v) AS q FROM t GROUP BY k",
		"UPDATE t SET v = v + 1 WHERE id % 4 = 0",
		"DELETE FROM t WHERE id % 9 = 0",
		"FLUSH",
	)
	const query = "SELECT k, js_wsum(v, k), js_list(v), pg_sum(v), go_mean_sq(v) FROM t GROUP BY k"
	checkSame := func(s *benchStack) {
		t.Helper()
		conn := s.connect(t)
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT * FROM mv EXCEPT ALL " + query + ") d",
			"SELECT count(*) FROM (" + query + " EXCEPT ALL SELECT * FROM mv) d",
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
	for agg, mode := range map[string]string{"js_wsum": "retract", "js_list": "recompute", "pg_sum": "retract", "go_mean_sq": "retract"} {
		if !regexp.MustCompile(agg + `\(#[0-9, #]*\) \[` + mode + `\]`).MatchString(plan.String()) {
			t.Errorf("EXPLAIN does not show %s running with %s:\n%s", agg, mode, plan.String())
		}
	}

	s = s.restart(t)
	defer s.close()
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
