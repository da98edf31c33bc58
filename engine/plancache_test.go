package engine_test

// Tests of the plan cache of prepared statements, over the wire with pgx:
// one generic plan serves every argument (key lookups evaluate their keys
// when they open), and catalog or search_path changes never run a stale
// plan.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
)

// TestPlanCacheReuse: re-executed prepared statements run cached plans,
// one per statement whatever the arguments, and a key lookup reads the
// key of each execution's arguments.
func TestPlanCacheReuse(t *testing.T) {
	ctx := context.Background()
	ts, conn := startConn(t, engine.Options{},
		"CREATE TABLE pc (id bigint PRIMARY KEY, v bigint)",
		"CREATE TABLE pk10 (k int PRIMARY KEY, n int)",
		"INSERT INTO pk10 SELECT g, g * 100 FROM generate_series(0, 9) g")
	prepareAll(t, conn, [][2]string{
		{"ins", "INSERT INTO pc (id, v) VALUES ($1, $2) ON CONFLICT DO NOTHING"},
		{"get", "SELECT v FROM pc WHERE id = $1"},
		{"mod", "SELECT n FROM pk10 WHERE k = $1 % 10"},
	})
	hits0, misses0 := ts.Engine.PlanCacheStats()
	for id := int64(1); id <= 20; id++ {
		if _, err := conn.Exec(ctx, "ins", id, id*10); err != nil {
			t.Fatal(err)
		}
	}
	// Ids 1..5 four times over, interleaved: each lookup must read its own
	// key, never the key of the plan made for another id.
	for range 4 {
		for id := int64(1); id <= 5; id++ {
			if v := queryInt(t, conn, "get", id); v != id*10 {
				t.Fatalf("get(%d) = %d, want %d", id, v, id*10)
			}
		}
	}
	// $1 % 10 is the key, computed when the lookup opens.
	for _, arg := range []int64{3, 13, 4, 23, 14, 3} {
		if n := queryInt(t, conn, "mod", arg); n != (arg%10)*100 {
			t.Fatalf("mod(%d) = %d, want %d", arg, n, (arg%10)*100)
		}
	}
	hits, misses := ts.Engine.PlanCacheStats()
	hits, misses = hits-hits0, misses-misses0
	// One plan each for INSERT, get and mod.
	if misses != 3 || hits != 19+19+5 {
		t.Fatalf("plan cache: %d hits, %d misses; want 43 hits, 3 misses", hits, misses)
	}
	var metrics strings.Builder
	if err := ts.Engine.WriteMetrics(&metrics); err != nil {
		t.Fatal(err)
	}
	all, _ := ts.Engine.PlanCacheStats()
	if want := fmt.Sprintf("\nstreamsql_plan_cache_hits_total %d\n", all); !strings.Contains(metrics.String(), want) {
		t.Fatalf("metrics lack %q", want)
	}
	if n := queryInt(t, conn, "SELECT count(*) FROM pc"); n != 20 {
		t.Fatalf("%d rows inserted, want 20", n)
	}

	// A statement prepared with its parameter types known keeps the plan
	// made at Parse: no Execute plans.
	if _, err := conn.PgConn().Prepare(ctx, "typed", "SELECT v FROM pc WHERE v > $1 ORDER BY v LIMIT 1", []uint32{20}); err != nil {
		t.Fatal(err)
	}
	_, misses0 = ts.Engine.PlanCacheStats()
	for _, arg := range []int64{0, 55, 199} {
		r := conn.PgConn().ExecPrepared(ctx, "typed", [][]byte{fmt.Appendf(nil, "%d", arg)}, nil, nil).Read()
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		want := fmt.Sprint((arg/10 + 1) * 10)
		if len(r.Rows) != 1 || string(r.Rows[0][0]) != want {
			t.Fatalf("typed(%d) = %q, want %s", arg, r.Rows, want)
		}
	}
	if _, misses = ts.Engine.PlanCacheStats(); misses != misses0 {
		t.Fatalf("typed statement planned %d times at Execute, want 0", misses-misses0)
	}
}

// TestPlanCacheGenericPlan: one plan per prepared statement serves
// different arguments, NULL among them, for point reads, key ranges,
// index lookups, UPDATE and DELETE by key and SELECT ... FOR UPDATE; each
// execution reads, changes and locks the rows of its own arguments.
func TestPlanCacheGenericPlan(t *testing.T) {
	ctx := context.Background()
	ts, conn := startConn(t, engine.Options{},
		"CREATE TABLE gp (id bigint PRIMARY KEY, v bigint, w text)",
		"CREATE INDEX gp_w ON gp (w)",
		"CREATE TABLE gp2 (a int, b int, n int, PRIMARY KEY (a, b))",
		"INSERT INTO gp SELECT g, g * 10, 'w' || (g % 7) FROM generate_series(1, 100) g",
		"INSERT INTO gp2 SELECT g / 10, g % 10, g FROM generate_series(0, 99) g")
	stmts := [][2]string{
		{"get", "SELECT v FROM gp WHERE id = $1"},
		{"get2", "SELECT n FROM gp2 WHERE a = $1 AND b = $2"},
		{"rng", "SELECT count(*) FROM gp WHERE id > $1 AND id <= $2"},
		{"byw", "SELECT count(*) FROM gp WHERE w = $1"},
		{"upd", "UPDATE gp SET v = v + 1 WHERE id = $1"},
		{"del", "DELETE FROM gp WHERE id = $1"},
		{"lock", "SELECT v FROM gp WHERE id = $1 FOR UPDATE"},
	}
	prepareAll(t, conn, stmts)
	hits0, plans0 := ts.Engine.PlanCacheStats()
	// absent runs a prepared query that must return no row.
	absent := func(name string, args ...any) {
		t.Helper()
		var v int64
		if err := conn.QueryRow(ctx, name, args...).Scan(&v); err != pgx.ErrNoRows {
			t.Fatalf("%s %v: got %d, %v; want no row", name, args, v, err)
		}
	}
	for _, id := range []int64{5, 77, 1, 99, 5} {
		if v := queryInt(t, conn, "get", id); v != id*10 {
			t.Fatalf("get(%d) = %d, want %d", id, v, id*10)
		}
		if n := queryInt(t, conn, "get2", id/10, id%10); n != id {
			t.Fatalf("get2(%d, %d) = %d, want %d", id/10, id%10, n, id)
		}
	}
	absent("get", nil)
	absent("get", 1000)
	absent("get2", 1, nil)
	for _, r := range [][2]int64{{0, 100}, {10, 20}, {50, 50}, {99, 1000}} {
		if n := queryInt(t, conn, "rng", r[0], r[1]); n != max(0, min(r[1], 100)-r[0]) {
			t.Fatalf("rng(%d, %d) = %d", r[0], r[1], n)
		}
	}
	if n := queryInt(t, conn, "rng", nil, 10); n != 0 {
		t.Fatalf("rng(NULL, 10) = %d, want 0", n)
	}
	for w, want := range map[string]int64{"w0": 14, "w1": 15, "x": 0} {
		if n := queryInt(t, conn, "byw", w); n != want {
			t.Fatalf("byw(%s) = %d, want %d", w, n, want)
		}
	}
	if n := queryInt(t, conn, "byw", nil); n != 0 {
		t.Fatalf("byw(NULL) = %d, want 0", n)
	}
	for _, c := range []struct {
		name string
		arg  any
		want int64
	}{{"upd", int64(7), 1}, {"upd", int64(8), 1}, {"upd", int64(7), 1}, {"upd", nil, 0}, {"upd", int64(500), 0},
		{"del", int64(9), 1}, {"del", int64(10), 1}, {"del", int64(9), 0}, {"del", nil, 0}} {
		tag, err := conn.Exec(ctx, c.name, c.arg)
		if err != nil {
			t.Fatal(err)
		}
		if tag.RowsAffected() != c.want {
			t.Fatalf("%s(%v): %d rows, want %d", c.name, c.arg, tag.RowsAffected(), c.want)
		}
	}
	for id, want := range map[int64]int64{7: 72, 8: 81, 6: 60} {
		if v := queryInt(t, conn, "get", id); v != want {
			t.Fatalf("after UPDATE: get(%d) = %d, want %d", id, v, want)
		}
	}
	absent("get", 9)
	absent("get", 10)

	// FOR UPDATE locks the row of each execution's argument: another
	// session's NOWAIT lock of that row fails, of another row succeeds.
	other := connect(t, ts, nil)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{11, 12} {
		var v int64
		if err := tx.QueryRow(ctx, "lock", id).Scan(&v); err != nil || v != id*10 {
			t.Fatalf("lock(%d) = %d, %v", id, v, err)
		}
	}
	if err := tx.QueryRow(ctx, "lock", nil).Scan(new(int64)); err != pgx.ErrNoRows {
		t.Fatalf("lock(NULL): %v, want no row", err)
	}
	hits, plans := ts.Engine.PlanCacheStats()
	if plans-plans0 != uint64(len(stmts)) {
		t.Fatalf("%d plans made for %d statements (%d runs from the cache); want one each", plans-plans0, len(stmts), hits-hits0)
	}
	for id, locked := range map[int64]bool{11: true, 12: true, 13: false} {
		otx, err := other.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = otx.Exec(ctx, fmt.Sprintf("SELECT v FROM gp WHERE id = %d FOR UPDATE NOWAIT", id))
		if locked {
			wantPgErr(t, err, "55P03", "")
		} else if err != nil {
			t.Fatalf("row %d: %v", id, err)
		}
		otx.Rollback(ctx)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

}

// TestPlanCacheWindowTVF: a window table function whose sizes are
// parameters (TUMBLE, HOP, SESSION) has one cached plan; each execution
// evaluates its own sizes when the operator opens, and a bad size is that
// execution's error (22023), after which the plan serves the next one.
func TestPlanCacheWindowTVF(t *testing.T) {
	ctx := context.Background()
	ts, conn := startConn(t, engine.Options{},
		"CREATE TABLE ev (id bigint PRIMARY KEY, ts timestamp)",
		"INSERT INTO ev VALUES (1, '2024-01-01 10:05'), (2, '2024-01-01 10:20'), (3, '2024-01-01 10:40'), (4, '2024-01-01 11:10')")
	stmts := [][2]string{
		{"tum", "SELECT to_char(window_start, 'HH24:MI') || '=' || count(*) FROM tumble(ev, ts, $1) GROUP BY window_start ORDER BY window_start"},
		{"hop", "SELECT to_char(window_start, 'HH24:MI') || '=' || count(*) FROM hop(ev, ts, $1, $2) GROUP BY window_start ORDER BY window_start"},
		{"ses", "SELECT to_char(window_start, 'HH24:MI') || '=' || count(*) FROM session(ev, ts, $1) GROUP BY window_start ORDER BY window_start"},
		{"mins", "SELECT to_char(window_start, 'HH24:MI') || '=' || count(*) FROM tumble(ev, ts, INTERVAL '1 minute' * $1) GROUP BY window_start ORDER BY window_start"},
	}
	prepareAll(t, conn, stmts)
	windows := func(name string, args ...any) string {
		t.Helper()
		rows, err := conn.Query(ctx, name, args...)
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return strings.Join(got, " ")
	}
	_, plans0 := ts.Engine.PlanCacheStats()
	for _, c := range []struct {
		name string
		args []any
		want string
	}{
		{"tum", []any{"30 minutes"}, "10:00=2 10:30=1 11:00=1"},
		{"tum", []any{"1 hour"}, "10:00=3 11:00=1"},
		{"tum", []any{"30 minutes"}, "10:00=2 10:30=1 11:00=1"},
		{"hop", []any{"30 minutes", "1 hour"}, "09:30=2 10:00=3 10:30=2 11:00=1"},
		{"hop", []any{"1 hour", "2 hours"}, "09:00=3 10:00=4 11:00=1"},
		{"ses", []any{"20 minutes"}, "10:05=2 10:40=1 11:10=1"},
		{"ses", []any{"31 minutes"}, "10:05=4"},
		{"mins", []any{30}, "10:00=2 10:30=1 11:00=1"},
		{"mins", []any{120}, "10:00=4"},
	} {
		if got := windows(c.name, c.args...); got != c.want {
			t.Fatalf("%s %v = %q, want %q", c.name, c.args, got, c.want)
		}
	}
	// A bad size fails its own execution with PostgreSQL's code for an
	// invalid parameter; the cached plan then serves a good one.
	for _, c := range []struct {
		name string
		args []any
		msg  string
	}{
		{"tum", []any{"0 seconds"}, "tumble size must be positive"},
		{"tum", []any{"1 month"}, "tumble size must not contain months or years"},
		{"tum", []any{nil}, "tumble size must not be NULL"},
		{"hop", []any{"7 minutes", "30 minutes"}, "hop size must be a multiple of the slide"},
		{"ses", []any{"-1 minute"}, "session gap must be positive"},
		{"mins", []any{-5}, "tumble size must be positive"},
	} {
		_, err := conn.Exec(ctx, c.name, c.args...)
		wantPgErr(t, err, "22023", c.msg)
	}
	if got := windows("tum", "1 hour"); got != "10:00=3 11:00=1" {
		t.Fatalf("tum after errors = %q", got)
	}
	if _, plans := ts.Engine.PlanCacheStats(); plans-plans0 != uint64(len(stmts)) {
		t.Fatalf("%d plans made for %d statements; want one each", plans-plans0, len(stmts))
	}
}

// TestPlanCacheInvalidation: a prepared statement re-executed after DDL,
// a function change or a search_path change answers from the catalog as
// it is now.
func TestPlanCacheInvalidation(t *testing.T) {
	ctx := context.Background()
	_, conn := startConn(t, engine.Options{},
		"CREATE TABLE inv (id bigint PRIMARY KEY, v bigint)",
		"INSERT INTO inv VALUES (1, 10), (2, 20)",
		"CREATE FUNCTION twice(x bigint) RETURNS bigint LANGUAGE sql RETURN x * 2",
		"CREATE SCHEMA sa", "CREATE SCHEMA sb",
		"CREATE TABLE sa.st (id int PRIMARY KEY, who text)",
		"CREATE TABLE sb.st (id int PRIMARY KEY, who text)",
		"INSERT INTO sa.st VALUES (1, 'a')", "INSERT INTO sb.st VALUES (1, 'b')",
		"SET search_path = sa, public")
	prepareAll(t, conn, [][2]string{
		{"get", "SELECT v FROM inv WHERE id = $1"},
		{"star", "SELECT * FROM inv WHERE id = $1"},
		{"fn", "SELECT twice(v) FROM inv WHERE id = $1"},
		{"who", "SELECT who FROM st WHERE id = $1"},
		{"upd", "UPDATE inv SET v = v + $2 WHERE id = $1"},
	})
	for range 2 { // the second round runs cached plans
		if v := queryInt(t, conn, "get", 1); v != 10 {
			t.Fatalf("get(1) = %d, want 10", v)
		}
		if v := queryInt(t, conn, "fn", 2); v != 40 {
			t.Fatalf("fn(2) = %d, want 40", v)
		}
	}

	// ALTER TABLE: the named columns still read right; SELECT * changed
	// its result type, which PostgreSQL refuses for a prepared statement.
	execAll(t, conn, "ALTER TABLE inv ADD COLUMN w text", "UPDATE inv SET w = 'x'")
	if v := queryInt(t, conn, "get", 2); v != 20 {
		t.Fatalf("after ALTER TABLE: get(2) = %d, want 20", v)
	}
	_, err := conn.Exec(ctx, "star", 1)
	wantPgErr(t, err, "0A000", "cached plan must not change result type")

	// An UPDATE planned before the ALTER must write whole new rows.
	for range 2 {
		if _, err := conn.Exec(ctx, "upd", 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	var v int64
	var w string
	if err := conn.QueryRow(ctx, "SELECT v, w FROM inv WHERE id = 1").Scan(&v, &w); err != nil || v != 12 || w != "x" {
		t.Fatalf("after UPDATE: (%d, %q, %v), want (12, x)", v, w, err)
	}

	// DROP and CREATE under the same name: the new table's rows.
	execAll(t, conn, "DROP TABLE inv",
		"CREATE TABLE inv (id bigint PRIMARY KEY, v bigint)", "INSERT INTO inv VALUES (1, 1000), (2, 2000)")
	if v := queryInt(t, conn, "get", 1); v != 1000 {
		t.Fatalf("after DROP+CREATE: get(1) = %d, want 1000", v)
	}
	if v := queryInt(t, conn, "fn", 2); v != 4000 {
		t.Fatalf("after DROP+CREATE: fn(2) = %d, want 4000", v)
	}

	// A SQL function is inlined into the plan: replacing it re-plans.
	execAll(t, conn, "CREATE OR REPLACE FUNCTION twice(x bigint) RETURNS bigint LANGUAGE sql RETURN x * 3")
	if v := queryInt(t, conn, "fn", 2); v != 6000 {
		t.Fatalf("after CREATE OR REPLACE FUNCTION: fn(2) = %d, want 6000", v)
	}

	// search_path picks the table.
	for _, c := range []struct{ path, want string }{{"sa", "a"}, {"sb", "b"}, {"sa", "a"}} {
		execAll(t, conn, "SET search_path = "+c.path+", public")
		var who string
		if err := conn.QueryRow(ctx, "who", 1).Scan(&who); err != nil || who != c.want {
			t.Fatalf("search_path %s: who = %q, %v; want %q", c.path, who, err, c.want)
		}
	}
}

// TestPlanCacheShared: sessions share plans of the same statement, and
// "$user" in the search path keeps each user's tables apart.
func TestPlanCacheShared(t *testing.T) {
	ctx := context.Background()
	ts, _ := startConn(t, engine.Options{},
		"CREATE TABLE shared (id int PRIMARY KEY, v int)", "INSERT INTO shared VALUES (1, 11)",
		"CREATE SCHEMA alice", "CREATE SCHEMA bob",
		"CREATE TABLE alice.mine (id int PRIMARY KEY, who text)", "INSERT INTO alice.mine VALUES (1, 'alice')",
		"CREATE TABLE bob.mine (id int PRIMARY KEY, who text)", "INSERT INTO bob.mine VALUES (1, 'bob')")
	a, b := mustConnectAs(t, ts, "alice"), mustConnectAs(t, ts, "bob")
	a2, b2 := mustConnectAs(t, ts, "alice"), mustConnectAs(t, ts, "alice")
	if v := queryInt(t, a2, "SELECT v FROM shared WHERE id = $1", 1); v != 11 {
		t.Fatalf("v = %d", v)
	}
	hits0, misses0 := ts.Engine.PlanCacheStats()
	if v := queryInt(t, b2, "SELECT v FROM shared WHERE id = $1", 1); v != 11 {
		t.Fatalf("v = %d", v)
	}
	if hits, misses := ts.Engine.PlanCacheStats(); hits != hits0+1 || misses != misses0 {
		t.Fatalf("second session: %d hits, %d misses; want the first session's plan", hits-hits0, misses-misses0)
	}
	for range 2 {
		for _, c := range []struct {
			conn *pgx.Conn
			want string
		}{{a, "alice"}, {b, "bob"}} {
			var who string
			if err := c.conn.QueryRow(ctx, "SELECT who FROM mine WHERE id = $1", 1).Scan(&who); err != nil || who != c.want {
				t.Fatalf("%s reads mine: %q, %v", c.want, who, err)
			}
		}
	}
}

// TestPlanCacheSimpleQuery: a repeated simple query is answered from the
// cache, neither described nor executed with planning, and still sees
// new rows.
func TestPlanCacheSimpleQuery(t *testing.T) {
	ctx := context.Background()
	ts, conn := startConn(t, engine.Options{}, "CREATE TABLE sq (id int PRIMARY KEY, v int)")
	pc := conn.PgConn()
	for i := range 5 {
		if err := pc.Exec(ctx, fmt.Sprintf("INSERT INTO sq VALUES (%d, %d)", i, i*10)).Close(); err != nil {
			t.Fatal(err)
		}
	}
	_, misses0 := ts.Engine.PlanCacheStats()
	for i := range 5 {
		res, err := pc.Exec(ctx, "SELECT count(*) FROM sq").ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res[0].Rows[0][0]); got != fmt.Sprint(5+i) {
			t.Fatalf("count = %s, want %d", got, 5+i)
		}
		if err := pc.Exec(ctx, fmt.Sprintf("INSERT INTO sq VALUES (%d, 0)", 100+i)).Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The SELECT planned once (its first Parse); each INSERT text is new.
	if _, plans := ts.Engine.PlanCacheStats(); plans-misses0 != 6 {
		t.Fatalf("%d plans made, want 6 (one SELECT, five INSERTs)", plans-misses0)
	}
}
