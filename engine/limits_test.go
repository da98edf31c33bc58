package engine_test

// Tests of the limits no client can get past, of cancellation and of the
// timeouts, all through a real server over the wire (pgx and psql).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/engine"
	"streamsql/internal/cputime"
	"streamsql/internal/testserver"
)

// longQuery runs for hours unless stopped: a cross join of 10^10 rows.
const longQuery = "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"

// stacksContain reports whether a goroutine of this process (the server
// runs in it) is inside a function whose name contains fn.
func stacksContain(fn string) bool {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Contains(buf, []byte(fn))
}

// waitStacks waits until stacksContain(fn) is want.
func waitStacks(t *testing.T, fn string, want bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !stacksContain(fn) == want {
		if time.Since(start) > within {
			t.Fatalf("after %v: a goroutine in %s: %v, want %v", within, fn, !want, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// Functions on the stack while a statement plans and while it runs.
const (
	inPlanning  = "streamsql/sql/planner.(*Planner)"
	inExecution = "streamsql/engine.(*rowsResult).Next"
)

// runAsync runs sql on conn in the background.
func runAsync(conn *pgx.Conn, sql string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
		done <- err
	}()
	return done
}

func waitErr(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("the statement still runs after %v", within)
		return nil
	}
}

// cancelWithin sends a CancelRequest for conn's running statement, whose
// result done delivers, and checks that the statement fails with 57014
// within limit.
func cancelWithin(t *testing.T, conn *pgx.Conn, done <-chan error, limit time.Duration) {
	t.Helper()
	start := time.Now()
	if err := conn.PgConn().CancelRequest(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := waitErr(t, done, 5*time.Second)
	took := time.Since(start)
	wantPgErr(t, err, "57014", "canceling statement due to user request")
	t.Logf("CancelRequest to error: %v", took)
	if took > limit {
		t.Errorf("cancel took %v", took)
	}
}

// TestCancelRequest: a CancelRequest stops a running query with 57014, and
// the session goes on.
func TestCancelRequest(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	done := runAsync(conn, longQuery)
	waitStacks(t, inExecution, true, 10*time.Second)
	cancelWithin(t, conn, done, time.Second)
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("after cancel: %d, %v", n, err)
	}
}

// TestCancelDuringPlanning: a CancelRequest that arrives while a long AND
// chain is being planned stops the planning.
func TestCancelDuringPlanning(t *testing.T) {
	_, conn := startConn(t, engine.Options{}, "CREATE TABLE chain_t (a int PRIMARY KEY, b text)")
	done := runAsync(conn, andChain(40000))
	waitStacks(t, inPlanning, true, 20*time.Second)
	cancelWithin(t, conn, done, time.Second)
	if stacksContain(inPlanning) {
		t.Error("still planning after the error")
	}
}

// TestCancelWithPsql: Ctrl-C in psql sends a CancelRequest.
func TestCancelWithPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	ts := testserver.Start(t, engine.Options{})
	cmd := exec.Command(psql, "-X", "-h", ts.Host, "-p", fmt.Sprint(ts.Port), "-U", "limits", "-d", "streamsql", "-c", longQuery)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitStacks(t, inExecution, true, 10*time.Second)
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("psql did not end after Ctrl-C")
	}
	t.Logf("psql Ctrl-C to exit: %v", time.Since(start))
	if !strings.Contains(stderr.String(), "ERROR:  canceling statement due to user request") {
		t.Fatalf("psql said %q", stderr.String())
	}
}

// TestTimeoutsWithPsql: statement_timeout given in PGOPTIONS, and
// idle_session_timeout set in a psql session that then pauses, as psql
// users see them.
func TestTimeoutsWithPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	ts := testserver.Start(t, engine.Options{})
	run := func(env string, args ...string) (string, error) {
		cmd := exec.Command(psql, append([]string{"-X", "-h", ts.Host, "-p", fmt.Sprint(ts.Port), "-U", "limits", "-d", "streamsql", "-At"}, args...)...)
		cmd.Env = append(os.Environ(), env)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	start := time.Now()
	out, err := run("PGOPTIONS=-c statement_timeout=150", "-c", "SHOW statement_timeout", "-c", longQuery)
	if err == nil || !strings.Contains(out, "150ms") || !strings.Contains(out, "ERROR:  canceling statement due to statement timeout") {
		t.Fatalf("psql with PGOPTIONS: %v\n%s", err, out)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	// A psql session that pauses longer than idle_session_timeout (with
	// room for a slow, loaded machine between SET and SELECT 1).
	cmd := exec.Command("sh", "-c", `{ echo "SET idle_session_timeout = '500ms';"; echo "SELECT 1;"; sleep 2; echo "SELECT 2;"; } | "$0" -X -At -h "$1" -p "$2" -U limits -d streamsql`,
		psql, ts.Host, fmt.Sprint(ts.Port))
	outb, _ := cmd.CombinedOutput()
	out = string(outb)
	if !strings.Contains(out, "1\n") || !strings.Contains(out, "FATAL:  terminating connection due to idle-session timeout") || strings.Contains(out, "\n2\n") {
		t.Fatalf("psql idle past idle_session_timeout:\n%s", out)
	}
}

// TestDisconnectStopsStatement: a client that goes away stops its
// statement, which no longer runs on the server.
func TestDisconnectStopsStatement(t *testing.T) {
	ts, conn := startConn(t, engine.Options{})
	runAsync(conn, longQuery)
	waitStacks(t, inExecution, true, 10*time.Second)
	conn.PgConn().Conn().Close()
	took := waitStacks(t, inExecution, false, 2*time.Second)
	t.Logf("disconnect to statement stopped: %v", took)
	answersQuickly(t, ts.URL("other", "streamsql"))
}

// TestStatementTimeout: statement_timeout from SET, from the startup
// packet and from PGOPTIONS, as PostgreSQL spells its values.
func TestStatementTimeout(t *testing.T) {
	ts, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	show := func(c *pgx.Conn) string {
		var v string
		if err := c.QueryRow(ctx, "SHOW statement_timeout").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ set, show string }{
		{"5000", "5s"}, {"'250ms'", "250ms"}, {"'1min'", "1min"}, {"'1.5s'", "1500ms"},
		{"'2 h'", "2h"}, {"0", "0"}, {"'100us'", "0"}, {"90000", "90s"},
	} {
		if _, err := conn.Exec(ctx, "SET statement_timeout = "+tc.set); err != nil {
			t.Fatalf("SET %s: %v", tc.set, err)
		}
		if got := show(conn); got != tc.show {
			t.Errorf("SET %s: SHOW gives %q, want %q", tc.set, got, tc.show)
		}
	}
	_, err := conn.Exec(ctx, "SET statement_timeout = 'soon'")
	pe := wantPgErr(t, err, "22023", `invalid value for parameter "statement_timeout": "soon"`)
	if !strings.Contains(pe.Hint, `"min"`) {
		t.Errorf("hint %q", pe.Hint)
	}
	_, err = conn.Exec(ctx, "SET statement_timeout = -1")
	wantPgErr(t, err, "22023", "")

	// Simple and extended protocol.
	execAll(t, conn, "SET statement_timeout = '200ms'")
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		start := time.Now()
		_, err := conn.Exec(ctx, longQuery, mode)
		took := time.Since(start)
		wantPgErr(t, err, "57014", "canceling statement due to statement timeout")
		t.Logf("%v: statement_timeout 200ms fired after %v", mode, took)
		if took < 190*time.Millisecond || took > 2*time.Second {
			t.Errorf("%v: statement_timeout 200ms fired after %v", mode, took)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT 7").Scan(&n); err != nil || n != 7 {
		t.Fatalf("a short statement under the timeout: %v", err)
	}

	// During planning: the clock runs from the start of the statement.
	execAll(t, conn, "CREATE TABLE chain_t (a int PRIMARY KEY, b text)")
	execAll(t, conn, "SET statement_timeout = '20ms'")
	_, err = conn.Exec(ctx, andChain(40000), pgx.QueryExecModeSimpleProtocol)
	wantPgErr(t, err, "57014", "canceling statement due to statement timeout")

	// From the startup packet, and from PGOPTIONS (-c).
	for _, params := range []map[string]string{
		{"statement_timeout": "150"},
		{"options": "-c statement_timeout=150ms"},
		{"options": "--statement-timeout=150"},
	} {
		c := connect(t, ts, params)
		if got := show(c); got != "150ms" {
			t.Errorf("%v: SHOW gives %q", params, got)
		}
		_, err := c.Exec(ctx, longQuery)
		wantPgErr(t, err, "57014", "canceling statement due to statement timeout")
	}
	cfg, _ := pgx.ParseConfig(ts.URL("limits", "streamsql"))
	cfg.RuntimeParams["options"] = "-c statement_timeout=never"
	if _, err := pgx.ConnectConfig(ctx, cfg); pgErr(err) == nil || pgErr(err).Code != "22023" {
		t.Errorf("a bad startup option: %v", err)
	}
}

// TestIdleInTransactionTimeout: a session idle inside a transaction block
// beyond idle_in_transaction_session_timeout is ended with FATAL 25P03;
// outside a block the setting does not apply.
func TestIdleInTransactionTimeout(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	conn := connect(t, ts, map[string]string{"idle_in_transaction_session_timeout": "150ms"})
	time.Sleep(300 * time.Millisecond)
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		t.Fatalf("idle outside a transaction: %v", err)
	}
	execAll(t, conn, "SELECT 1")
	idleEnds(t, ts, conn, "25P03", "terminating connection due to idle-in-transaction timeout")
}

// idleEnds waits past a 150 ms idle timeout of conn and checks that the
// session was ended with FATAL code and msg, and that the server goes on
// answering other clients.
func idleEnds(t *testing.T, ts *testserver.Server, conn *pgx.Conn, code, msg string) {
	t.Helper()
	time.Sleep(400 * time.Millisecond)
	_, err := conn.Exec(context.Background(), "SELECT 2")
	pe := wantPgErr(t, err, code, msg)
	if pe.Severity != "FATAL" {
		t.Errorf("severity %s", pe.Severity)
	}
	answersQuickly(t, ts.URL("other", "streamsql"))
}

// TestIdleSessionTimeout: a session idle outside a transaction block
// beyond idle_session_timeout is ended with FATAL 57P05; inside one the
// setting does not apply.
func TestIdleSessionTimeout(t *testing.T) {
	ctx := context.Background()
	ts, conn := startConn(t, engine.Options{}, "SET idle_session_timeout = '150ms'")
	execAll(t, conn, "BEGIN")
	time.Sleep(300 * time.Millisecond)
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		t.Fatalf("idle inside a transaction: %v", err)
	}
	idleEnds(t, ts, conn, "57P05", "terminating connection due to idle-session timeout")
}

// TestHostileStatements: the shapes that killed the server through the cgo
// parser are refused with 54001, those just within the limits work, and
// the server answers another client within a second after each.
func TestHostileStatements(t *testing.T) {
	ctx := context.Background()
	ts, conn := startConn(t, engine.Options{}, "CREATE TABLE chain_t (a int PRIMARY KEY, b text)")
	rep := strings.Repeat
	refused := map[string]string{
		"24,000 + terms":      "SELECT 1" + rep("+1", 24000),
		"50,000 || terms":     "SELECT 'a'" + rep("||'a'", 50000),
		"100,000 UNION ALL":   "SELECT 1" + rep(" UNION ALL SELECT 1", 100000),
		"1,001 nested rows":   "SELECT " + rep("ROW(", 1001) + "1" + rep(", 1)", 1001),
		"1,001 CASE":          "SELECT " + rep("CASE WHEN true THEN ", 1001) + "1" + rep(" END", 1001),
		"900 subqueries":      "SELECT " + rep("(SELECT ", 900) + "1" + rep(")", 900),
		"3,000 JOINs":         "SELECT count(*) FROM chain_t" + rep(" JOIN chain_t USING (a)", 3000),
		"deep in a view":      "CREATE VIEW v AS SELECT " + rep("(SELECT ", 900) + "1" + rep(")", 900),
		"5 MiB of text":       "SELECT '" + rep("x", 5<<20) + "'",
		"nested and chained":  "SELECT " + rep("1+1+(", 1300) + "1" + rep(")", 1300),
		"a second statement":  "SELECT 1; SELECT 1" + rep("-1", 30000),
		"casts":               "SELECT 1" + rep("::int", 5000),
		"NOT chain":           "SELECT " + rep("NOT ", 5000) + "true",
		"bracket subscripts":  "SELECT " + rep("ARRAY[", 1200) + "1" + rep("]", 1200),
		"function call chain": "SELECT " + rep("abs(", 1200) + "1" + rep(")", 1200),
	}
	for name, sql := range refused {
		_, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
		pe := wantPgErr(t, err, "54001", "statement too complex")
		if pe.Detail == "" || pe.Hint == "" {
			t.Errorf("%s: detail %q hint %q", name, pe.Detail, pe.Hint)
		}
		answersQuickly(t, ts.URL("other", "streamsql"))
	}
	accepted := map[string]struct {
		sql  string
		want int64
	}{
		"2,000 + terms":     {"SELECT 1" + rep("+1", 2000), 2001},
		"5,000 parentheses": {"SELECT " + rep("(", 5000) + "1" + rep(")", 5000), 1},
		"deparsed chain":    {"SELECT " + rep("(", 1999) + "1" + rep(" + 1)", 1999) + " + 1", 2001},
		"800 subqueries":    {"SELECT " + rep("(SELECT ", 800) + "1" + rep(")", 800), 1},
		"1,000 CASE":        {"SELECT " + rep("CASE WHEN true THEN ", 1000) + "1" + rep(" END", 1000), 1},
		"2,000 UNION ALL":   {"SELECT count(*) FROM (SELECT 1" + rep(" UNION ALL SELECT 1", 2000) + ") u", 2001},
		"5,000 IN list":     {"SELECT count(*) FROM chain_t WHERE a NOT IN (" + rep("7, ", 4999) + "7) OR true", 0},
		"20,000 AND terms":  {"SELECT count(*) FROM chain_t WHERE " + rep("a <> 7 AND ", 20000) + "true", 0},
	}
	for name, tc := range accepted {
		var n int64
		if err := conn.QueryRow(ctx, tc.sql, pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil || n != tc.want {
			t.Errorf("%s: got %d, %v; want %d", name, n, err, tc.want)
		}
	}
	// EXPLAIN, COPY (query) TO and streaming plans walk the same trees.
	deepSQL := "SELECT " + rep("(SELECT ", 800) + "1" + rep(")", 800) + " AS x"
	chainSQL := "SELECT a" + rep(" + 1", 1999) + " AS x FROM chain_t"
	for _, q := range []string{"EXPLAIN " + deepSQL, "EXPLAIN " + chainSQL, "EXPLAIN SELECT count(*) FROM chain_t WHERE " + rep("a <> 7 AND ", 20000) + "true"} {
		rows, err := conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
		}
		if err != nil {
			t.Errorf("%.40s...: %v", q, err)
		}
	}
	for _, q := range []string{deepSQL, chainSQL} {
		if _, err := conn.PgConn().CopyTo(ctx, io.Discard, "COPY ("+q+") TO STDOUT"); err != nil {
			t.Errorf("COPY (%.40s...) TO STDOUT: %v", q, err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW chain_mv AS "+chainSQL, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("materialized view with a 2,000-term chain: %v", err)
	}
	// Views keep deep definitions (deparsed on a thread of their own).
	if _, err := conn.Exec(ctx, "CREATE VIEW deep AS SELECT "+rep("(SELECT ", 800)+"1"+rep(")", 800)+" AS x", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := conn.QueryRow(ctx, "SELECT x FROM deep").Scan(&x); err != nil || x != 1 {
		t.Fatalf("deep view: %d, %v", x, err)
	}
	answersQuickly(t, ts.URL("other", "streamsql"))
}

// TestLongAndChain: a 100,000-term AND chain (which took 50 s to plan)
// plans and runs in time near linear in its length: it costs less than fifty
// times the CPU of a 10,000-term chain (about twenty now; quadratic
// planning costs a hundred times). CPU time of the process, not the
// clock, so that a busy machine does not fail it; the margin covers the
// other tests' background work counted in it.
func TestLongAndChain(t *testing.T) {
	if testing.Short() {
		t.Skip("parses 1.6 MB of SQL")
	}
	ctx := context.Background()
	_, conn := startConn(t, engine.Options{},
		"CREATE TABLE chain_t (a int PRIMARY KEY, b text)",
		"INSERT INTO chain_t SELECT g, 'x' FROM generate_series(1, 100) g")
	run := func(terms int) time.Duration {
		start := cputime.Used()
		var n int64
		if err := conn.QueryRow(ctx, andChain(terms), pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil || n != 100 {
			t.Fatalf("%d terms: got %d, %v", terms, n, err)
		}
		return cputime.Used() - start
	}
	run(10000) // warm up
	small := min(run(10000), run(10000))
	large := run(100000)
	t.Logf("AND chain CPU: 10,000 terms %v, 100,000 terms %v", small, large)
	if large > 50*small && large > time.Second {
		t.Errorf("a 100,000-term AND chain cost %v of CPU, a 10,000-term one %v: not linear", large, small)
	}
}

// TestPanicIsStatementError: a panic while a statement runs (injected
// here) is XX000 for that statement only: the session goes on, a
// transaction block it ran in is aborted as for any error, and other
// clients never notice.
func TestPanicIsStatementError(t *testing.T) {
	ts := testserver.Start(t, engine.Options{BeforeExecute: func(sql string) {
		if strings.Contains(sql, "fault_here") {
			panic("injected fault")
		}
	}})
	ctx := context.Background()
	conn := connect(t, ts, nil)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		_, err := conn.Exec(ctx, "SELECT 'fault_here'", mode)
		wantPgErr(t, err, "XX000", "internal error: injected fault")
		var n int
		if err := conn.QueryRow(ctx, "SELECT 5", mode).Scan(&n); err != nil || n != 5 {
			t.Fatalf("%v: after the panic: %v", mode, err)
		}
	}
	execAll(t, conn, "BEGIN")
	_, err := conn.Exec(ctx, "SELECT 'fault_here'")
	wantPgErr(t, err, "XX000", "internal error: injected fault")
	_, err = conn.Exec(ctx, "SELECT 1")
	wantPgErr(t, err, "25P02", "current transaction is aborted, commands ignored until end of transaction block")
	execAll(t, conn, "ROLLBACK")
	answersQuickly(t, ts.URL("other", "streamsql"))
}

// TestServerDefaultTimeout: a server-wide default (streamsqld
// -statement-timeout) applies to every session until SET overrides it,
// and RESET returns to it.
func TestServerDefaultTimeout(t *testing.T) {
	if _, err := engine.Open(engine.Options{DataDir: t.TempDir(), Settings: map[string]string{"statement_timeout": "later"}}); err == nil {
		t.Fatal("a bad default was accepted")
	}
	_, conn := startConn(t, engine.Options{Settings: map[string]string{"statement_timeout": "150"}})
	ctx := context.Background()
	var v string
	if err := conn.QueryRow(ctx, "SHOW statement_timeout").Scan(&v); err != nil || v != "150ms" {
		t.Fatalf("SHOW: %q, %v", v, err)
	}
	_, err := conn.Exec(ctx, longQuery)
	wantPgErr(t, err, "57014", "canceling statement due to statement timeout")
	execAll(t, conn, "SET statement_timeout = '1h'")
	execAll(t, conn, "RESET statement_timeout")
	if err := conn.QueryRow(ctx, "SHOW statement_timeout").Scan(&v); err != nil || v != "150ms" {
		t.Fatalf("SHOW after RESET: %q, %v", v, err)
	}
}

// TestStatementTimeoutSuspendedPortal: as in PostgreSQL, the statement
// clock stops while the connection idles after Sync, so a portal fetched
// a few rows at a time with pauses between the fetches (JDBC's fetchSize
// in a transaction) is not canceled for the pauses.
func TestStatementTimeoutSuspendedPortal(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	nc, err := net.Dial("tcp", net.JoinHostPort(ts.Host, fmt.Sprint(ts.Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fe := pgproto3.NewFrontend(nc, nc)
	send := func(msgs ...pgproto3.FrontendMessage) {
		for _, m := range msgs {
			fe.Send(m)
		}
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// untilReady returns the rows up to ReadyForQuery and fails on an error.
	untilReady := func() (rows int) {
		t.Helper()
		for {
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, err := fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			switch m := m.(type) {
			case *pgproto3.ErrorResponse:
				t.Fatalf("%s %s", m.Code, m.Message)
			case *pgproto3.DataRow:
				rows++
			case *pgproto3.ReadyForQuery:
				return rows
			}
		}
	}
	send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "limits", "database": "streamsql"}})
	untilReady()
	send(&pgproto3.Query{String: "BEGIN; SET statement_timeout = '300ms'"})
	untilReady()
	send(&pgproto3.Parse{Query: "SELECT g FROM generate_series(1, 10) g"}, &pgproto3.Bind{DestinationPortal: "p"},
		&pgproto3.Execute{Portal: "p", MaxRows: 2}, &pgproto3.Sync{})
	if n := untilReady(); n != 2 {
		t.Fatalf("first fetch: %d rows", n)
	}
	for i := 0; i < 3; i++ {
		time.Sleep(200 * time.Millisecond)
		send(&pgproto3.Execute{Portal: "p", MaxRows: 2}, &pgproto3.Sync{})
		if n := untilReady(); n != 2 {
			t.Fatalf("fetch %d: %d rows", i+2, n)
		}
	}
	send(&pgproto3.Query{String: "COMMIT"})
	untilReady()
}

// TestStatementTimeoutInAddColumn: filling a new column's volatile DEFAULT
// into existing rows runs under the statement's context, so
// statement_timeout stops it.
func TestStatementTimeoutInAddColumn(t *testing.T) {
	ctx := context.Background()
	_, conn := startConn(t, engine.Options{},
		"CREATE TABLE fill (id int PRIMARY KEY)",
		"INSERT INTO fill SELECT g FROM generate_series(1, 50000) g",
		"SET statement_timeout = '200ms'")
	start := time.Now()
	_, err := conn.Exec(ctx, "ALTER TABLE fill ADD COLUMN r float8 DEFAULT random()")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("ALTER TABLE ... DEFAULT random() under statement_timeout: %v (after %v)", err, time.Since(start))
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("canceled after %v", took)
	}
}
