package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// runLong starts longQuery on conn in the background; the returned channel
// gets its error.
func runLong(conn *pgx.Conn) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(context.Background(), longQuery)
		done <- err
	}()
	return done
}

// activePID waits until pg_stat_activity, read on conn, shows a session
// running longQuery, and returns its pid.
func activePID(t *testing.T, conn *pgx.Conn) int32 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var pid int32
		err := conn.QueryRow(context.Background(),
			"SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query = $1", longQuery).Scan(&pid)
		if err == nil {
			return pid
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("pg_stat_activity never showed the running query")
	return 0
}

func TestStatActivityRows(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	a := connect(t, ts, map[string]string{"application_name": "app_a"})
	b := connect(t, ts, nil)
	pidA := int32(queryInt(t, a, "SELECT pg_backend_pid()"))
	pidB := int32(queryInt(t, b, "SELECT pg_backend_pid()"))
	if pidA == 0 || pidA == pidB || uint32(pidA) != a.PgConn().PID() || uint32(pidB) != b.PgConn().PID() {
		t.Fatalf("pg_backend_pid: %d, %d; BackendKeyData: %d, %d", pidA, pidB, a.PgConn().PID(), b.PgConn().PID())
	}
	execAll(t, a, "BEGIN", "SELECT 42")
	var state, query, app, addr string
	var port int32
	var xactSet bool
	if err := b.QueryRow(ctx, `SELECT state, query, application_name, client_addr, client_port, xact_start IS NOT NULL
		FROM pg_stat_activity WHERE pid = $1`, pidA).Scan(&state, &query, &app, &addr, &port, &xactSet); err != nil {
		t.Fatal(err)
	}
	if state != "idle in transaction" || query != "SELECT 42" || app != "app_a" || addr != "127.0.0.1" || port <= 0 || !xactSet {
		t.Fatalf("session a: %q %q %q %q %d %v", state, query, app, addr, port, xactSet)
	}
	if _, err := a.Exec(ctx, "SELECT 1/0"); err == nil {
		t.Fatal("1/0 did not fail")
	}
	if got := queryStrings(t, b, "SELECT state FROM pg_stat_activity WHERE pid = $1", pidA); len(got) != 1 || got[0] != "idle in transaction (aborted)" {
		t.Fatalf("aborted: %v", got)
	}
	execAll(t, a, "ROLLBACK")
	if got := queryStrings(t, b, "SELECT state || ' ' || (xact_start IS NULL)::text FROM pg_stat_activity WHERE pid = $1", pidA); len(got) != 1 || got[0] != "idle true" {
		t.Fatalf("idle: %v", got)
	}
	// The session asking sees itself active, running the query it runs.
	if got := queryStrings(t, b, "SELECT state || ': ' || query FROM pg_stat_activity WHERE pid = pg_backend_pid()"); len(got) != 1 ||
		got[0] != "active: SELECT state || ': ' || query FROM pg_stat_activity WHERE pid = pg_backend_pid()" {
		t.Fatalf("self: %v", got)
	}
	a.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for queryInt(t, b, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pidA) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a closed session stays in pg_stat_activity")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCancelBackend(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	runner := connect(t, ts, nil)
	admin, notices := connectNoticed(t, ts.URL("test", "streamsql"))
	done := runLong(runner)
	pid := activePID(t, admin)
	var ok bool
	start := time.Now()
	if err := admin.QueryRow(ctx, "SELECT pg_cancel_backend($1)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_cancel_backend: %v %v", ok, err)
	}
	wantPgErr(t, waitErr(t, done, 5*time.Second), "57014", "canceling statement due to user request")
	t.Logf("canceled within %v", time.Since(start))
	// The canceled session goes on.
	if queryInt(t, runner, "SELECT 7") != 7 {
		t.Fatal("the canceled session does not answer")
	}
	// An unknown pid: a WARNING and false.
	*notices = nil
	if err := admin.QueryRow(ctx, "SELECT pg_cancel_backend(999999)").Scan(&ok); err != nil || ok {
		t.Fatalf("unknown pid: %v %v", ok, err)
	}
	if len(*notices) != 1 || (*notices)[0].Severity != "WARNING" || (*notices)[0].Message != "PID 999999 is not a PostgreSQL backend process" {
		t.Fatalf("notices: %+v", *notices)
	}
}

func TestTerminateBackend(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	runner := connect(t, ts, nil)
	admin := connect(t, ts, nil)
	done := runLong(runner)
	pid := activePID(t, admin)
	var ok bool
	if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend: %v %v", ok, err)
	}
	pe := wantPgErr(t, waitErr(t, done, 5*time.Second), "57P01", "terminating connection due to administrator command")
	if pe.Severity != "FATAL" {
		t.Fatalf("severity %s", pe.Severity)
	}
	// With the timeout the call returned after the session ended.
	if n := queryInt(t, admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid); n != 0 {
		t.Fatalf("terminated session still listed")
	}
	// An idle session is terminated too, and learns of it at its next
	// statement.
	idle := connect(t, ts, nil)
	if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1)", idle.PgConn().PID()).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend idle: %v %v", ok, err)
	}
	if _, err := idle.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("the terminated idle session still answers")
	}
	_, err := admin.Exec(ctx, "SELECT pg_terminate_backend(1, -1)")
	wantPgErr(t, err, "22023", `"timeout" must not be negative`)
}

func TestSignalBackendPermissions(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	admin := connect(t, ts, nil)
	execAll(t, admin, "CREATE ROLE alice LOGIN", "CREATE ROLE bob LOGIN", "CREATE ROLE carol LOGIN", "GRANT alice TO carol")
	login := func(user string) *pgx.Conn {
		c, err := pgx.Connect(ctx, ts.URL(user, "streamsql"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	alice, bob, carol := login("alice"), login("bob"), login("carol")
	pidAlice := alice.PgConn().PID()

	// Another role's query text is hidden, its own is not.
	execAll(t, alice, "SELECT 'secret'")
	if got := queryStrings(t, bob, "SELECT coalesce(query, 'NULL') || ' ' || coalesce(state, 'NULL') FROM pg_stat_activity WHERE pid = $1", pidAlice); len(got) != 1 || got[0] != "<insufficient privilege> NULL" {
		t.Fatalf("bob sees alice's session as %v", got)
	}
	if got := queryStrings(t, carol, "SELECT query FROM pg_stat_activity WHERE pid = $1", pidAlice); len(got) != 1 || got[0] != "SELECT 'secret'" {
		t.Fatalf("carol (member of alice) sees %v", got)
	}

	_, err := bob.Exec(ctx, "SELECT pg_cancel_backend($1)", pidAlice)
	pe := wantPgErr(t, err, "42501", "permission denied to cancel query")
	if pe.Detail != `Only roles with privileges of the role whose query is being canceled or with privileges of the "pg_signal_backend" role may cancel this query.` {
		t.Fatalf("detail %q", pe.Detail)
	}
	_, err = bob.Exec(ctx, "SELECT pg_terminate_backend($1)", admin.PgConn().PID())
	pe = wantPgErr(t, err, "42501", "permission denied to terminate process")
	if pe.Detail != "Only roles with the SUPERUSER attribute may terminate processes of roles with the SUPERUSER attribute." {
		t.Fatalf("detail %q", pe.Detail)
	}
	// A member of the session's role may cancel and terminate it.
	done := runLong(alice)
	activePID(t, carol)
	var ok bool
	if err := carol.QueryRow(ctx, "SELECT pg_cancel_backend($1)", pidAlice).Scan(&ok); err != nil || !ok {
		t.Fatalf("carol cancels alice: %v %v", ok, err)
	}
	wantPgErr(t, waitErr(t, done, 5*time.Second), "57014", "canceling statement due to user request")
	if err := carol.QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", pidAlice).Scan(&ok); err != nil || !ok {
		t.Fatalf("carol terminates alice: %v %v", ok, err)
	}
	if _, err := alice.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("alice's terminated session still answers")
	}
}
