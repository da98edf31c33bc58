package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"streamsql/engine"
)

// subqueryViews are views over subqueries and joins without an equality,
// each with the query it must equal when run ad hoc.
var subqueryViews = []struct{ name, query string }{
	{"v_in", "SELECT id, k, v FROM t WHERE k IN (SELECT k FROM u)"},
	{"v_not_in", "SELECT id, k, v FROM t WHERE k NOT IN (SELECT k FROM u)"},
	{"v_not_in_corr", "SELECT id, k, v FROM t WHERE v NOT IN (SELECT w FROM u WHERE u.k = t.k)"},
	{"v_in_corr", "SELECT id, v FROM t WHERE v IN (SELECT w FROM u WHERE u.k = t.k)"},
	{"v_exists", "SELECT id, v FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k AND u.w > 3)"},
	{"v_not_exists", "SELECT id, v FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.k = t.k)"},
	{"v_exists_any", "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE w > 8)"},
	{"v_above_avg", "SELECT id, v FROM t WHERE v > (SELECT avg(w) FROM u)"},
	{"v_share", "SELECT id, v, v * 1000 / (SELECT sum(w) FROM u) AS share FROM t"},
	{"v_having", "SELECT id, v + (SELECT max(w) FROM u HAVING count(*) > 3) AS x FROM t"},
	{"v_corr_scalar", "SELECT id, (SELECT count(*) FROM u WHERE u.k = t.k) AS n, (SELECT max(w) FROM u WHERE u.k = t.k) + v AS m FROM t"},
	{"v_corr_where", "SELECT id, v FROM t WHERE v * 2 > (SELECT sum(w) FROM u WHERE u.k = t.k AND u.w > 2)"},
	{"v_in_value", "SELECT id, k IN (SELECT k FROM u) AS i, v NOT IN (SELECT w FROM u WHERE u.k = t.k) AS ni, EXISTS (SELECT 1 FROM u WHERE w > 8) AS e FROM t"},
	{"v_in_or", "SELECT id FROM t WHERE k IN (SELECT k FROM u) OR v > 9"},
	{"v_gt_all", "SELECT id, v FROM t WHERE v > ALL (SELECT w FROM u WHERE w < 6)"},
	{"v_le_all_corr", "SELECT id, v FROM t WHERE v <= ALL (SELECT w FROM u WHERE u.k = t.k)"},
	{"v_ne_all", "SELECT id FROM t WHERE k <> ALL (SELECT w FROM u)"},
	{"v_not_all", "SELECT id FROM t WHERE NOT (v = ALL (SELECT w FROM u WHERE u.k = t.k))"},
	{"v_lt_any", "SELECT id FROM t WHERE v < ANY (SELECT w - 3 FROM u)"},
	{"v_not_ge_any", "SELECT id FROM t WHERE NOT (v >= SOME (SELECT w FROM u WHERE u.k = t.k))"},
	{"v_not_in_rows", "SELECT id, k, v FROM t WHERE (k, v) NOT IN (SELECT k, w FROM u)"},
	{"v_not_in_rows_corr", "SELECT id FROM t WHERE (v, k) NOT IN (SELECT w, k FROM u WHERE u.id > t.k)"},
	{"v_in_rows_ne", "SELECT id FROM t WHERE (k, v) <> ANY (SELECT k, w FROM u WHERE u.w > 7)"},
	{"v_lt_all_rows", "SELECT id FROM t WHERE (k, v) < ALL (SELECT k, w FROM u)"},
	{"v_ge_any_rows", "SELECT id, k, v FROM t WHERE (k, v) >= ANY (SELECT k, w FROM u WHERE u.w > 3)"},
	{"v_not_le_all_rows", "SELECT id FROM t WHERE NOT ((v, k) <= ALL (SELECT w, k FROM u))"},
	{"v_gt_all_rows_corr", "SELECT id FROM t WHERE (v, id) > ALL (SELECT w, id FROM u WHERE u.k = t.k)"},
	{"v_all_value", "SELECT id, v > ALL (SELECT w FROM u) AS a, v <= ALL (SELECT w FROM u WHERE u.k = t.k) AS b, k <> ALL (SELECT w FROM u) AS c FROM t"},
	{"v_any_value", "SELECT id, v < ANY (SELECT w FROM u WHERE u.k = t.k) AS a, v <> SOME (SELECT w FROM u) AS b, v = ALL (SELECT w FROM u WHERE u.k = t.k) AS c, k >= ANY (SELECT w - 5 FROM u WHERE w > 4) AS d FROM t"},
	{"v_all_or", "SELECT id FROM t WHERE v >= ALL (SELECT w FROM u WHERE u.k = t.k) OR k = 0"},
	{"v_all_case", "SELECT id, CASE WHEN v > ALL (SELECT w FROM u) THEN 'top' WHEN v < ANY (SELECT w FROM u) THEN 'below' ELSE 'other' END AS c FROM t"},
	{"v_not_le_all", "SELECT id, v FROM t WHERE NOT (v <= ALL (SELECT w FROM u WHERE w > 3))"},
	{"v_between", "SELECT t.id AS tid, u.id AS uid FROM t JOIN u ON t.v BETWEEN u.w - 1 AND u.w + 1"},
	{"v_left_lt", "SELECT t.id AS tid, u.id AS uid FROM t LEFT JOIN u ON t.v < u.w AND u.k = 2"},
}

// Views over IN, NOT IN, EXISTS, NOT EXISTS and scalar subqueries, and
// over joins without an equality, follow random inserts, updates and
// deletes (NULLs included) on both of their tables: after every epoch
// each view equals its query run ad hoc, across restarts, with one and
// with two instances per keyed operator.
func TestSubqueryViewsDifferential(t *testing.T) {
	for _, par := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", par), func(t *testing.T) {
			runSubqueryDifferential(t, par, int64(par))
		})
	}
}

func runSubqueryDifferential(t *testing.T, parallelism int, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 18))
	s := openStack(t, engine.Options{})
	setup := []string{fmt.Sprintf("SET streaming_parallelism = %d", parallelism),
		"CREATE TABLE t (id int PRIMARY KEY, k int, v int)",
		"CREATE TABLE u (id int PRIMARY KEY, k int, w int)",
		"INSERT INTO t SELECT i, i % 5, i % 11 FROM generate_series(1, 30) AS i",
		"INSERT INTO u SELECT i, i % 7, i % 9 + 1 FROM generate_series(1, 8) AS i"}
	for _, v := range subqueryViews {
		setup = append(setup, "CREATE MATERIALIZED VIEW "+v.name+" AS "+v.query)
	}
	s.execAll(t, setup...)
	checkAll := func(when string) {
		t.Helper()
		for _, v := range subqueryViews {
			checkView(t, s, when+" ("+v.name+")", v.name, v.query, 0)
		}
	}
	checkAll("after backfill")
	// val is a small value or, now and then, NULL.
	val := func(n int) string {
		if rng.IntN(8) == 0 {
			return "NULL"
		}
		return fmt.Sprint(rng.IntN(n))
	}
	nextID := map[string]int{"t": 31, "u": 9}
	for epoch := 0; epoch < 12; epoch++ {
		var stmts []string
		for range 6 {
			table, a, b := "t", "k", "v"
			if rng.IntN(2) == 0 {
				table, a, b = "u", "k", "w"
			}
			id := rng.IntN(nextID[table]) + 1
			switch rng.IntN(4) {
			case 0, 1:
				stmts = append(stmts, fmt.Sprintf("INSERT INTO %s VALUES (%d, %s, %s)", table, nextID[table], val(6), val(12)))
				nextID[table]++
			case 2:
				col := a
				if rng.IntN(2) == 0 {
					col = b
				}
				stmts = append(stmts, fmt.Sprintf("UPDATE %s SET %s = %s WHERE id = %d", table, col, val(12), id))
			case 3:
				stmts = append(stmts, fmt.Sprintf("DELETE FROM %s WHERE id = %d", table, id))
			}
		}
		if epoch == 5 {
			// Every NULL of u.k leaves (NOT IN keeps rows again), then
			// one comes back.
			stmts = append(stmts, "UPDATE u SET k = 1 WHERE k IS NULL", "FLUSH")
		}
		if epoch == 9 {
			// u empties: EXISTS turns false for all, NOT IN true for all.
			stmts = append(stmts, "DELETE FROM u", "FLUSH")
		}
		stmts = append(stmts, "FLUSH")
		s.execAll(t, stmts...)
		when := fmt.Sprintf("epoch %d after %s", epoch, strings.Join(stmts, "; "))
		checkAll(when)
		if epoch%4 == 3 {
			s.restart(t)
			checkAll(fmt.Sprintf("after a restart at epoch %d", epoch))
		}
	}
}

// CREATE MATERIALIZED VIEW over a join without an equality between two
// tables sends a NOTICE that its state is unbounded; one against a
// one-row aggregate (a dynamic filter) or with an equality sends none.
func TestNestedLoopJoinNotice(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t, "CREATE TABLE a (id int PRIMARY KEY, v int)", "CREATE TABLE b (id int PRIMARY KEY, lo int, hi int)")
	conn, noticed := connectNoticed(t, s.url)
	ctx := context.Background()
	for _, c := range []struct {
		query  string
		notice bool
	}{
		{"SELECT a.id, b.id AS bid FROM a JOIN b ON a.v BETWEEN b.lo AND b.hi", true},
		{"SELECT a.id FROM a WHERE a.v > (SELECT max(hi) FROM b)", false},
		{"SELECT a.id, b.id AS bid FROM a JOIN b ON a.v = b.lo AND a.v < b.hi", false},
	} {
		*noticed = nil
		if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW m AS "+c.query); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "DROP MATERIALIZED VIEW m"); err != nil {
			t.Fatal(err)
		}
		switch {
		case c.notice && len(*noticed) != 1:
			t.Fatalf("%s: %d notices, want one", c.query, len(*noticed))
		case c.notice && ((*noticed)[0].Severity != "NOTICE" || !strings.Contains((*noticed)[0].Message, "unbounded")):
			t.Fatalf("%s: notice %+v", c.query, (*noticed)[0])
		case !c.notice && len(*noticed) != 0:
			t.Fatalf("%s: unexpected notice %q", c.query, (*noticed)[0].Message)
		}
	}
	// client_min_messages above NOTICE silences it, as in PostgreSQL.
	if _, err := conn.Exec(ctx, "SET client_min_messages = WARNING"); err != nil {
		t.Fatal(err)
	}
	*noticed = nil
	if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW m AS SELECT a.id, b.id AS bid FROM a JOIN b ON a.v BETWEEN b.lo AND b.hi"); err != nil {
		t.Fatal(err)
	}
	if len(*noticed) != 0 {
		t.Fatalf("notice %q sent with client_min_messages = warning", (*noticed)[0].Message)
	}
	var level string
	if err := conn.QueryRow(ctx, "SHOW client_min_messages").Scan(&level); err != nil || level != "warning" {
		t.Fatalf("client_min_messages = %q, %v", level, err)
	}
	_, err := conn.Exec(ctx, "SET client_min_messages = loud")
	wantPgErr(t, err, "22023", `invalid value for parameter "client_min_messages": "loud"`)
}
