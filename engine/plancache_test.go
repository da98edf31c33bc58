package engine_test

// Tests of the plan cache of prepared statements, over the wire with pgx:
// plans are reused, arguments folded into key lookups are honoured, and
// catalog or search_path changes never run a stale plan.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

func execAll(t *testing.T, conn *pgx.Conn, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var v int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s %v: %v", sql, args, err)
	}
	return v
}

// TestPlanCacheReuse: re-executed prepared statements run cached plans,
// and a plan with an argument folded into a key lookup is only reused
// for arguments that fold to the same key.
func TestPlanCacheReuse(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	conn := connect(t, ts, nil)
	ctx := context.Background()
	execAll(t, conn,
		"CREATE TABLE pc (id bigint PRIMARY KEY, v bigint)",
		"CREATE TABLE pk10 (k int PRIMARY KEY, n int)",
		"INSERT INTO pk10 SELECT g, g * 100 FROM generate_series(0, 9) g")
	for _, q := range [][2]string{
		{"ins", "INSERT INTO pc (id, v) VALUES ($1, $2) ON CONFLICT DO NOTHING"},
		{"get", "SELECT v FROM pc WHERE id = $1"},
		{"mod", "SELECT n FROM pk10 WHERE k = $1 % 10"},
	} {
		if _, err := conn.Prepare(ctx, q[0], q[1]); err != nil {
			t.Fatal(err)
		}
	}
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
	// $1 % 10 folds to the key: 3, 13 and 23 share a plan, 4 does not.
	for _, arg := range []int64{3, 13, 4, 23, 14, 3} {
		if n := queryInt(t, conn, "mod", arg); n != (arg%10)*100 {
			t.Fatalf("mod(%d) = %d, want %d", arg, n, (arg%10)*100)
		}
	}
	hits, misses := ts.Engine.PlanCacheStats()
	hits, misses = hits-hits0, misses-misses0
	// INSERT: one plan for all 20; get: one per id (5); mod: one per
	// key (2).
	if misses != 1+5+2 || hits != 19+15+4 {
		t.Fatalf("plan cache: %d hits, %d misses; want 38 hits, 8 misses", hits, misses)
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

// TestPlanCacheInvalidation: a prepared statement re-executed after DDL,
// a function change or a search_path change answers from the catalog as
// it is now.
func TestPlanCacheInvalidation(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	conn := connect(t, ts, nil)
	ctx := context.Background()
	execAll(t, conn,
		"CREATE TABLE inv (id bigint PRIMARY KEY, v bigint)",
		"INSERT INTO inv VALUES (1, 10), (2, 20)",
		"CREATE FUNCTION twice(x bigint) RETURNS bigint LANGUAGE sql RETURN x * 2",
		"CREATE SCHEMA sa", "CREATE SCHEMA sb",
		"CREATE TABLE sa.st (id int PRIMARY KEY, who text)",
		"CREATE TABLE sb.st (id int PRIMARY KEY, who text)",
		"INSERT INTO sa.st VALUES (1, 'a')", "INSERT INTO sb.st VALUES (1, 'b')",
		"SET search_path = sa, public")
	for _, q := range [][2]string{
		{"get", "SELECT v FROM inv WHERE id = $1"},
		{"star", "SELECT * FROM inv WHERE id = $1"},
		{"fn", "SELECT twice(v) FROM inv WHERE id = $1"},
		{"who", "SELECT who FROM st WHERE id = $1"},
		{"upd", "UPDATE inv SET v = v + $2 WHERE id = $1"},
	} {
		if _, err := conn.Prepare(ctx, q[0], q[1]); err != nil {
			t.Fatal(err)
		}
	}
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
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	admin := connect(t, ts, nil)
	execAll(t, admin,
		"CREATE TABLE shared (id int PRIMARY KEY, v int)", "INSERT INTO shared VALUES (1, 11)",
		"CREATE SCHEMA alice", "CREATE SCHEMA bob",
		"CREATE TABLE alice.mine (id int PRIMARY KEY, who text)", "INSERT INTO alice.mine VALUES (1, 'alice')",
		"CREATE TABLE bob.mine (id int PRIMARY KEY, who text)", "INSERT INTO bob.mine VALUES (1, 'bob')")
	dial := func(user string) *pgx.Conn {
		conn, err := pgx.Connect(ctx, ts.URL(user, "streamsql"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		return conn
	}
	a, b := dial("alice"), dial("bob")
	a2, b2 := dial("alice"), dial("alice")
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
	ts := testserver.Start(t, engine.Options{})
	conn := connect(t, ts, nil)
	ctx := context.Background()
	execAll(t, conn, "CREATE TABLE sq (id int PRIMARY KEY, v int)")
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
