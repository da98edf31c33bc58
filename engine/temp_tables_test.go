package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// tempSchema is the name of conn's temporary schema ("" when it has none).
func tempSchema(t testing.TB, conn *pgx.Conn) string {
	t.Helper()
	var name *string
	if err := conn.QueryRow(context.Background(), "SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()").Scan(&name); err != nil && err != pgx.ErrNoRows {
		t.Fatal(err)
	}
	if name == nil {
		return ""
	}
	return *name
}

// tempRelations counts the temporary relations any session has.
func tempRelations(t testing.TB, conn *pgx.Conn) int64 {
	t.Helper()
	return queryInt(t, conn, "SELECT count(*) FROM pg_class WHERE relpersistence = 't'")
}

// waitNoTempRelations waits (up to 10 s) until no session has a
// temporary relation: a session's are dropped as its connection closes.
func waitNoTempRelations(t testing.TB, conn *pgx.Conn) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := tempRelations(t, conn)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d temporary relations left after their session ended", n)
		}
	}
}

// A temporary table is its session's alone: it shadows a permanent table
// of the same name there, other sessions see the permanent one (or
// 42P01) and cannot reach it through its schema (0A000), and it is
// dropped when its session ends, cleanly or not.
func TestTempTablesPrivateToSession(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	a, b := connect(t, ts, nil), connect(t, ts, nil)
	execAll(t, a, "CREATE TABLE shared (x int)", "INSERT INTO shared VALUES (1)")
	if s := tempSchema(t, a); s != "" {
		t.Fatalf("temporary schema %q before any temporary relation", s)
	}
	execAll(t, a, "CREATE TEMP TABLE shared (x int PRIMARY KEY, y text)", "INSERT INTO shared VALUES (2, 'two'), (3, 'three')",
		"CREATE TEMPORARY TABLE mine (id serial, v int)", "INSERT INTO mine (v) VALUES (10), (20)")
	schema := tempSchema(t, a)
	if schema == "" {
		t.Fatal("no temporary schema after CREATE TEMP TABLE")
	}
	if n, err := a.CopyFrom(ctx, pgx.Identifier{"mine"}, []string{"v"}, pgx.CopyFromRows([][]any{{int32(30)}, {int32(40)}})); err != nil || n != 2 {
		t.Fatalf("COPY into a temporary table: %d rows, %v", n, err)
	}
	if got := queryInt(t, a, "SELECT sum(v) + max(id) FROM mine"); got != 104 {
		t.Errorf("after COPY: sum(v) + max(id) = %d, want 104", got)
	}
	execAll(t, a, "DELETE FROM mine WHERE v > 20")
	if got := queryInt(t, a, "SELECT sum(x) FROM shared"); got != 5 {
		t.Errorf("the session's own temporary table: sum %d, want 5", got)
	}
	if got := queryInt(t, a, "SELECT sum(x) FROM public.shared"); got != 1 {
		t.Errorf("the permanent table by its schema: sum %d, want 1", got)
	}
	if got := queryInt(t, b, "SELECT sum(x) FROM shared"); got != 1 {
		t.Errorf("another session: sum %d, want the permanent table's 1", got)
	}
	_, err := b.Exec(ctx, "SELECT * FROM mine")
	wantPgErr(t, err, "42P01", `relation "mine" does not exist`)
	_, err = b.Exec(ctx, "SELECT * FROM "+schema+".mine")
	wantPgErr(t, err, "0A000", "cannot access temporary tables of other sessions")
	_, err = b.Exec(ctx, "INSERT INTO "+schema+".mine (v) VALUES (1)")
	wantPgErr(t, err, "0A000", "cannot access temporary tables of other sessions")
	_, err = b.Exec(ctx, "DROP TABLE "+schema+".mine")
	wantPgErr(t, err, "0A000", "cannot access temporary tables of other sessions")
	_, err = b.Exec(ctx, "CREATE TABLE "+schema+".intruder (x int)")
	wantPgErr(t, err, "42P16", "cannot create relations in temporary schemas of other sessions")
	if got := queryInt(t, b, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'mine'"); got != 0 {
		t.Errorf("information_schema.tables shows another session's temporary table")
	}
	// b's own temporary schema is another one.
	execAll(t, b, "CREATE TEMP TABLE mine (w text)", "INSERT INTO mine VALUES ('b')")
	if sb := tempSchema(t, b); sb == schema || sb == "" {
		t.Fatalf("second session's temporary schema %q, first's %q", sb, schema)
	}
	if got := queryInt(t, a, "SELECT count(*) FROM mine"); got != 2 {
		t.Errorf("first session sees %d rows of its table, want 2", got)
	}
	var other bool
	if err := a.QueryRow(ctx, "SELECT pg_is_other_temp_schema(pg_my_temp_schema())").Scan(&other); err != nil || other {
		t.Errorf("pg_is_other_temp_schema(own) = %v, %v", other, err)
	}
	if err := b.QueryRow(ctx, "SELECT pg_is_other_temp_schema(oid) FROM pg_namespace WHERE nspname = $1", schema).Scan(&other); err != nil || !other {
		t.Errorf("pg_is_other_temp_schema(another's) = %v, %v", other, err)
	}

	// A clean disconnect drops a's; an abrupt one (the socket closed
	// under the session) drops b's.
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b.PgConn().Conn().Close()
	c := connect(t, ts, nil)
	waitNoTempRelations(t, c)
	if got := queryInt(t, c, "SELECT sum(x) FROM shared"); got != 1 {
		t.Errorf("after the sessions ended: sum %d, want the permanent table's 1", got)
	}
	// The next session in the slot starts with an empty schema.
	execAll(t, c, "CREATE TEMP TABLE mine (z int)")
	if got := queryInt(t, c, "SELECT count(*) FROM mine"); got != 0 {
		t.Errorf("a new session's temporary table holds %d rows", got)
	}
}

// Materialized views, sinks and subscriptions never read temporary
// relations: PostgreSQL's 0A000, for a temporary view over a temporary
// table too.
func TestTempTablesRefusedByStreaming(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	conn := connect(t, ts, nil)
	execAll(t, conn, "CREATE TEMP TABLE t (id int PRIMARY KEY, v int)", "CREATE VIEW tv AS SELECT id FROM t")
	for _, q := range []struct{ sql, msg string }{
		{"CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM t", "materialized views must not use temporary tables or views"},
		{"CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM tv", "materialized views must not use temporary tables or views"},
		{"CREATE SINK k AS SELECT id FROM t WITH (connector = 'blackhole')", "sinks must not use temporary tables or views"},
		{"CREATE SUBSCRIPTION sub FROM t", "subscriptions must not use temporary tables or views"},
	} {
		_, err := conn.Exec(ctx, q.sql)
		wantPgErr(t, err, "0A000", q.msg)
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM pg_class WHERE relname IN ('mv', 'k', 'sub')"); got != 0 {
		t.Errorf("%d refused objects exist", got)
	}
}

// Temporary relations do not outlive the server: those of sessions open
// when it stops are gone after a restart, and so are those a kill -9
// left behind.
func TestTempTablesGoneAfterRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	conn := s.connect(t)
	execAll(t, conn, "CREATE TABLE keep (x int)", "INSERT INTO keep VALUES (1)",
		"CREATE TEMP TABLE gone (x int PRIMARY KEY)", "INSERT INTO gone VALUES (1), (2)")
	s.restart(t)
	conn = s.connect(t)
	if n := tempRelations(t, conn); n != 0 {
		t.Errorf("%d temporary relations after a restart", n)
	}
	if got := queryInt(t, conn, "SELECT count(*) FROM keep"); got != 1 {
		t.Errorf("permanent table: %d rows after the restart, want 1", got)
	}

	p := testserver.StartBuilt(t, "warn")
	ctx := context.Background()
	c := p.Dial(t)
	execAll(t, c, "CREATE TABLE keep (x int)", "INSERT INTO keep VALUES (1)",
		"CREATE TEMP TABLE gone (x int PRIMARY KEY)", "INSERT INTO gone VALUES (1), (2)", "CREATE TEMP SEQUENCE gone_seq")
	p = p.Restart(t) // kill -9, then start again
	c = p.Dial(t)
	defer c.Close(ctx)
	if n := tempRelations(t, c); n != 0 {
		t.Errorf("%d temporary relations after kill -9 and a restart", n)
	}
	if got := queryInt(t, c, "SELECT count(*) FROM keep"); got != 1 {
		t.Errorf("permanent table: %d rows after kill -9, want 1", got)
	}
	execAll(t, c, "CREATE TEMP TABLE gone (x int PRIMARY KEY)")
	if got := queryInt(t, c, "SELECT count(*) FROM gone"); got != 0 {
		t.Errorf("a temporary table made after the restart holds %d rows of the killed server's", got)
	}
}
