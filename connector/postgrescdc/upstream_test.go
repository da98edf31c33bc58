package postgrescdc_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/connector/postgrescdc"
	"streamsql/engine"
	"streamsql/internal/sqltest"
	"streamsql/internal/testserver"
)

// Tests of the upstream's part in a table's life: checks at CREATE, the
// slot and publication at DROP, TRUNCATE, and an upstream that goes away.

// streamsqlConn starts a server and connects to it; both close with
// the test.
func streamsqlConn(t *testing.T) *pgx.Conn {
	t.Helper()
	srv := testserver.Start(t, engine.Options{StateMemory: -1})
	return sqltest.Connect(t, srv.URL("streamsql", "dev"))
}

func withOptions(host string, port int, user, password, table string, extra string) string {
	return fmt.Sprintf(`connector = 'postgres-cdc', hostname = '%s', port = '%d', username = '%s', password = '%s',
		database.name = 'postgres', table.name = '%s', ssl.mode = 'disable'%s`, host, port, user, password, table, extra)
}

// wantCreateError runs a CREATE TABLE that must fail with code and a
// message containing msg, and checks that it left no table behind.
func wantCreateError(t *testing.T, ss *pgx.Conn, table, with, code, msg string) {
	t.Helper()
	_, err := ss.Exec(context.Background(), fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, v int) WITH (%s)", table, with))
	pe, ok := err.(*pgconn.PgError)
	if !ok || pe.Code != code || !strings.Contains(pe.Message, msg) {
		t.Fatalf("CREATE TABLE %s: got %v, want %s with %q", table, err, code, msg)
	}
	if _, err := text(ss, "SELECT * FROM "+table); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("the failed CREATE TABLE %s left the table behind (%v)", table, err)
	}
}

// upstreamObjects lists the slots and publications whose names contain
// part.
func upstreamObjects(t *testing.T, up *pgx.Conn, part string) string {
	t.Helper()
	got, err := text(up, fmt.Sprintf(`SELECT 'slot ' || slot_name FROM pg_replication_slots WHERE slot_name LIKE '%%%[1]s%%'
		UNION ALL SELECT 'publication ' || pubname FROM pg_publication WHERE pubname LIKE '%%%[1]s%%' ORDER BY 1`, part))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestCreateChecksUpstream: CREATE TABLE ... WITH (connector =
// 'postgres-cdc') fails with PostgreSQL's SQLSTATE when the upstream
// cannot be followed, and leaves nothing behind, neither in StreamSQL nor
// upstream.
func TestCreateChecksUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL cluster")
	}
	c := postgrescdc.NewCluster(t)
	up, err := pgx.Connect(context.Background(), c.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close(context.Background())
	for _, q := range []string{
		"CREATE TABLE items (id bigint PRIMARY KEY, v int)",
		"CREATE TABLE secret (id bigint PRIMARY KEY, v int)",
		"CREATE ROLE reader LOGIN REPLICATION PASSWORD 'right'",
		"CREATE ROLE plain LOGIN PASSWORD 'right'",
		"GRANT SELECT ON items TO reader, plain",
	} {
		mustExec(t, up, q)
	}
	c.RequirePasswords()
	ss := streamsqlConn(t)

	// Nothing listens on a port just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	wantCreateError(t, ss, "t_down", withOptions("127.0.0.1", closed, "reader", "right", "items", ""),
		"08001", fmt.Sprintf("could not connect to server at 127.0.0.1:%d", closed))
	wantCreateError(t, ss, "t_password", withOptions("127.0.0.1", c.Port(), "reader", "wrong", "items", ""),
		"28P01", `password authentication failed for user "reader"`)
	wantCreateError(t, ss, "t_missing", withOptions("127.0.0.1", c.Port(), "reader", "right", "nope", ""),
		"42P01", `relation "public.nope" does not exist in the upstream database`)
	wantCreateError(t, ss, "t_select", withOptions("127.0.0.1", c.Port(), "reader", "right", "secret", ""),
		"42501", "permission denied for table secret")
	wantCreateError(t, ss, "t_repl", withOptions("127.0.0.1", c.Port(), "plain", "right", "items", ""),
		"42501", "must be superuser or replication role to start walsender")
	// A slot that cannot be made (an invalid plugin's slot of the same
	// name exists) fails after the publication was made: it goes again.
	mustExec(t, up, "SELECT pg_create_physical_replication_slot('t_phys_slot')")
	wantCreateError(t, ss, "t_phys", withOptions("127.0.0.1", c.Port(), "postgres", "", "items", ", slot.name = 't_phys_slot', publication.name = 't_phys_pub'"),
		"55000", `replication slot "t_phys_slot" uses output plugin`)
	if got := upstreamObjects(t, up, "t_"); got != "slot t_phys_slot" {
		t.Fatalf("upstream objects after the failed CREATEs:\n%s", got)
	}

	// With everything right the table is made; SHOW CREATE TABLE masks the
	// password.
	// (The reader may not create a publication: that is an error too,
	// with the upstream's SQLSTATE.)
	wantCreateError(t, ss, "t_pub", withOptions("127.0.0.1", c.Port(), "reader", "right", "items", ", publication.name = 'items_pub'"),
		"42501", "postgres-cdc: upstream: permission denied for database postgres")
	mustExec(t, up, "CREATE PUBLICATION items_pub FOR TABLE items")
	mustExec(t, ss, "CREATE TABLE t_ok (id bigint PRIMARY KEY, v int) WITH ("+withOptions("127.0.0.1", c.Port(), "reader", "right", "items", ", publication.name = 'items_pub'")+")")
	if got, err := text(ss, "SHOW CREATE TABLE t_ok"); err != nil || !strings.Contains(got, "password = '********'") || strings.Contains(got, "right") {
		t.Fatalf("SHOW CREATE TABLE t_ok: %q, %v", got, err)
	}
	mustExec(t, ss, "DROP TABLE t_ok")

	// wal_level below logical.
	c.Stop()
	c.Start("replica")
	wantCreateError(t, ss, "t_wal", withOptions("127.0.0.1", c.Port(), "reader", "right", "items", ""),
		"55000", "logical decoding requires wal_level >= logical")
}

// TestDropTableReleasesUpstream: DROP TABLE drops the slot the table made
// (its default name) and the publication it made; a slot named by
// slot.name is the user's and stays.
func TestDropTableReleasesUpstream(t *testing.T) {
	cfg, up := upstreamDB(t)
	name := fmt.Sprintf("reltab_%d", time.Now().UnixNano()%1e9)
	mustExec(t, up, fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, v int)", name))
	mustExec(t, up, fmt.Sprintf("INSERT INTO %s VALUES (1, 1)", name))
	t.Cleanup(func() {
		up.Exec(context.Background(), "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '%"+name+"%'")
		up.Exec(context.Background(), "DROP PUBLICATION IF EXISTS "+name+"_pub")
		up.Exec(context.Background(), "DROP PUBLICATION IF EXISTS "+name+"_pub2")
		up.Exec(context.Background(), "DROP TABLE IF EXISTS "+name)
	})
	ss := streamsqlConn(t)
	with := withOptions(cfg.Host, int(cfg.Port), cfg.User, cfg.Password, name, ", publication.name = '"+name+"_pub'")
	mustExec(t, ss, fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, v int) WITH (%s)", name, with))
	converge(t, ss, "SELECT id, v FROM "+name, up, "SELECT id, v FROM "+name, 10*time.Second)
	objs := upstreamObjects(t, up, name)
	if !strings.HasPrefix(objs, "publication "+name+"_pub\nslot streamsql_"+name+"_") {
		t.Fatalf("upstream objects of the table:\n%s", objs)
	}
	mustExec(t, ss, "DROP TABLE "+name)
	for deadline := time.Now().Add(10 * time.Second); upstreamObjects(t, up, name) != ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after DROP TABLE, upstream still has:\n%s", upstreamObjects(t, up, name))
		}
	}

	// The user's slot stays, and so does a publication the table did not
	// make.
	mustExec(t, up, fmt.Sprintf("CREATE PUBLICATION %s_pub2 FOR TABLE %s", name, name))
	with = withOptions(cfg.Host, int(cfg.Port), cfg.User, cfg.Password, name, fmt.Sprintf(", publication.name = '%s_pub2', slot.name = '%s_slot'", name, name))
	mustExec(t, ss, fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, v int) WITH (%s)", name, with))
	converge(t, ss, "SELECT id, v FROM "+name, up, "SELECT id, v FROM "+name, 10*time.Second)
	mustExec(t, ss, "DROP TABLE "+name)
	time.Sleep(200 * time.Millisecond)
	if got := upstreamObjects(t, up, name); got != "publication "+name+"_pub2\nslot "+name+"_slot" {
		t.Fatalf("after DROP TABLE of a table with the user's slot, upstream has:\n%s", got)
	}
}

// TestUpstreamTruncateInTransaction: rows inserted before a TRUNCATE in
// the same upstream transaction go, rows after it stay.
func TestUpstreamTruncateInTransaction(t *testing.T) {
	cfg, up := upstreamDB(t)
	name, with := followed(t, cfg, up, 50)
	ss := streamsqlConn(t)
	mustExec(t, ss, "CREATE TABLE tt (id bigint PRIMARY KEY, v int, s text) WITH ("+with+")")
	mustExec(t, ss, "CREATE MATERIALIZED VIEW tt_count AS SELECT count(*) AS n FROM tt")
	converge(t, ss, "SELECT n FROM tt_count", up, "SELECT count(*) FROM "+name, 10*time.Second)
	mustExec(t, up, fmt.Sprintf("BEGIN; INSERT INTO %[1]s VALUES (100, 1, 'before'); TRUNCATE %[1]s; INSERT INTO %[1]s VALUES (101, 2, 'after'); COMMIT", name))
	converge(t, ss, "SELECT id, v, s FROM tt ORDER BY id", up, "SELECT id, v, s FROM "+name+" ORDER BY id", 10*time.Second)
	converge(t, ss, "SELECT n FROM tt_count", up, "SELECT count(*) FROM "+name, 10*time.Second)
}

// TestUpstreamDown: while the upstream server is down the table's ingest
// retries, and SHOW JOBS says so with the error; when the server is back
// the table catches up with every change.
func TestUpstreamDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL cluster")
	}
	c := postgrescdc.NewCluster(t)
	cfg, err := pgx.ParseConfig(c.DSN())
	if err != nil {
		t.Fatal(err)
	}
	up, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, up, "CREATE TABLE kv (id bigint PRIMARY KEY, v int)")
	mustExec(t, up, "INSERT INTO kv SELECT g, g FROM generate_series(1, 100) g")
	ss := streamsqlConn(t)
	mustExec(t, ss, "CREATE TABLE kv (id bigint PRIMARY KEY, v int) WITH ("+withOptions("127.0.0.1", c.Port(), "postgres", "", "kv", "")+")")
	mustExec(t, ss, "CREATE MATERIALIZED VIEW kv_sum AS SELECT count(*) AS n, sum(v) AS s FROM kv")
	converge(t, ss, "SELECT n, s FROM kv_sum", up, "SELECT count(*), sum(v) FROM kv", 10*time.Second)
	mustExec(t, up, "UPDATE kv SET v = v + 1 WHERE id <= 10")
	up.Close(context.Background())

	c.Stop()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		jobs, err := text(ss, "SHOW JOBS")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(jobs, "kv retrying: ") && strings.Contains(jobs, "connect") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SHOW JOBS while the upstream is down:\n%s", jobs)
		}
	}
	c.Start("logical")
	if up, err = pgx.ConnectConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	defer up.Close(context.Background())
	mustExec(t, up, "DELETE FROM kv WHERE id > 90")
	mustExec(t, up, "INSERT INTO kv VALUES (1000, 7)")
	converge(t, ss, "SELECT id, v FROM kv ORDER BY id", up, "SELECT id, v FROM kv ORDER BY id", 20*time.Second)
	converge(t, ss, "SELECT n, s FROM kv_sum", up, "SELECT count(*), sum(v) FROM kv", 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		jobs, _ := text(ss, "SHOW JOBS")
		if !strings.Contains(jobs, "retrying") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SHOW JOBS after the upstream came back:\n%s", jobs)
		}
	}
}
