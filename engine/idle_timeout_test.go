package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/sqltest"
)

// idleStamp is base plus ms milliseconds as a timestamptz literal.
func idleStamp(base time.Time, ms int) string {
	return "'" + base.Add(time.Duration(ms)*time.Millisecond).Format("2006-01-02 15:04:05.000") + "+00'"
}

// TestIdleTimeoutDifferential: an EMIT ON WINDOW CLOSE view over a table
// that stops bringing rows still closes its windows once the table has
// been idle for the view's idle_timeout, and its contents are then the
// same query run ad hoc over the rows that were not late. Each round
// inserts rows into a new stretch of event time, plus rows into windows
// the idle watermark already closed (late: in late_rows, not in the
// view); the server restarts every other round. A view without the
// option keeps the last windows open.
func TestIdleTimeoutDifferential(t *testing.T) {
	s := openStack(t, engine.Options{})
	conn := s.connect(t)
	execAll(t, conn,
		"CREATE TABLE ev (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.2' SECOND) APPEND ONLY",
		"CREATE MATERIALIZED VIEW w_idle WITH (idle_timeout = '200ms') AS SELECT window_start, count(*) AS n, sum(id) AS s FROM TUMBLE(ev, ts, INTERVAL '0.5' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW w_wait AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '0.5' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE",
	)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(18, 5))
	const view = "SELECT window_start::text, n, s FROM w_idle ORDER BY 1"
	// The ad-hoc answer: late rows have negative ids.
	const adhoc = "SELECT window_start::text, count(*), sum(id) FROM TUMBLE(ev, ts, INTERVAL '0.5' SECOND) WHERE id >= 0 GROUP BY window_start ORDER BY 1"
	late := 0
	for round := range 4 {
		start := round * 10_000 // each round 10 s of event time later
		var qs []string
		if round > 0 {
			// In the first window of the last round, which the idle
			// timeout closed: behind the watermark, late.
			qs = append(qs, fmt.Sprintf("INSERT INTO ev VALUES (-1, %s)", idleStamp(base, start-10_000+r.IntN(100))))
			late++
		}
		// In event time order: none of them is late.
		at := start
		for range 5 + r.IntN(10) {
			at += r.IntN(150)
			qs = append(qs, fmt.Sprintf("INSERT INTO ev VALUES (%d, %s)", r.IntN(100), idleStamp(base, at)))
		}
		qs = append(qs, "FLUSH")
		execAll(t, conn, qs...)
		want := sqltest.Rows(t, conn, adhoc)
		sqltest.EventuallyWithin(t, conn, view, want, 10*time.Second)
		if n := queryInt(t, conn, "SELECT count(*) FROM late_rows WHERE view_name = 'w_idle'"); n != int64(late) {
			t.Fatalf("round %d: %d late rows of w_idle, want %d", round, n, late)
		}
		// Without the option the window of the round's last row stays
		// open: its watermark is 0.2 s behind that row.
		waited := queryInt(t, conn, "SELECT count(*) FROM w_wait")
		all := queryInt(t, conn, "SELECT count(DISTINCT window_start) FROM TUMBLE(ev, ts, INTERVAL '0.5' SECOND) WHERE id >= 0")
		if waited >= all {
			t.Fatalf("round %d: the view without idle_timeout closed all %d windows", round, all)
		}
		if round%2 == 1 {
			conn.Close(context.Background())
			s.restart(t)
			conn = s.connect(t)
			// The watermark moved on before the restart holds after it.
			sqltest.EventuallyWithin(t, conn, view, want, 10*time.Second)
		}
	}
	if def := showCreate(t, conn, "MATERIALIZED VIEW w_idle"); !strings.Contains(def, "WITH (idle_timeout = '00:00:00.2')") {
		t.Fatalf("SHOW CREATE: %s", def)
	}
}

// TestIdleTimeoutIntervalJoin: an interval join whose right table is idle
// derives its output watermark from the left side alone, so an EMIT ON
// WINDOW CLOSE view over it emits the joined rows as far as the left side
// has gone; the left rows no future right row can match leave the join's
// state; a right row that could only join below the emitted watermark is
// late.
func TestIdleTimeoutIntervalJoin(t *testing.T) {
	s := openStack(t, engine.Options{})
	conn := s.connect(t)
	execAll(t, conn,
		"CREATE TABLE l (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY",
		"CREATE TABLE r (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY WITH (idle_timeout = '200ms')",
		"CREATE MATERIALIZED VIEW j AS SELECT l.id AS lid, l.ts AS l_ts, r.ts AS r_ts FROM l JOIN r ON l.id = r.id AND l.ts BETWEEN r.ts AND r.ts + INTERVAL '3' SECOND",
		"CREATE MATERIALIZED VIEW j_final AS SELECT * FROM j EMIT ON WINDOW CLOSE",
		"INSERT INTO r VALUES (1, '2024-01-01 00:00:01+00'), (2, '2024-01-01 00:00:02+00')",
		"INSERT INTO l VALUES (1, '2024-01-01 00:00:02+00'), (2, '2024-01-01 00:00:03+00')",
		"INSERT INTO l SELECT CASE i WHEN 31 THEN 3 ELSE 9 END, '2024-01-01 00:00:00+00'::timestamptz + i * INTERVAL '1 second' FROM generate_series(4, 60) i",
		"FLUSH")
	const view = "SELECT lid || ' ' || extract(epoch FROM l_ts - '2024-01-01 00:00:00+00') || ' ' || extract(epoch FROM r_ts - '2024-01-01 00:00:00+00') FROM j_final ORDER BY 1"
	// Without leaving r out, the output watermark would be r's, 1.5 s
	// plus what the clock moved it: l's rows of 2 s and 3 s would wait.
	sqltest.EventuallyWithin(t, conn, view, "1 2.000000 1.000000\n2 3.000000 2.000000", 3*time.Second)
	// r's implied watermark follows l's to 59.5 s: the 58 rows of l
	// below it can match no future row of r; l's watermark frees r's two
	// rows as always. Without the implied watermark l's rows would stay
	// until r's watermark moved with the clock.
	if n, _ := sqltest.PollJob(t, conn, "j", "State cleaned", 3*time.Second, func(n int64) bool { return n >= 60 }); n != 60 {
		t.Fatalf("the join cleaned %d rows, want 60: the 58 of l below r's implied watermark and r's 2", n)
	}
	execAll(t, conn,
		"INSERT INTO r VALUES (3, '2024-01-01 00:00:30+00')", // joins l's 31 s row, below the watermark sent
		"INSERT INTO r VALUES (4, '2024-01-01 00:01:10+00')",
		"INSERT INTO l VALUES (4, '2024-01-01 00:01:11+00'), (9, '2024-01-01 00:01:20+00')",
		"FLUSH")
	sqltest.EventuallyWithin(t, conn, view, "1 2.000000 1.000000\n2 3.000000 2.000000\n4 71.000000 70.000000", 3*time.Second)
	if n := sqltest.JobInt(t, conn, "j", "Late rows"); n != 1 {
		t.Fatalf("the join's job counted %d late rows, want 1", n)
	}
	if got := queryStrings(t, conn, "SELECT lid::text FROM j WHERE lid = 3"); len(got) != 0 {
		t.Fatalf("the late right row joined: %v", got)
	}
}

// The idle timeout example of docs/streaming.md closes its window
// without new data.
func TestDocsIdleTimeoutExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Idle inputs: idle_timeout")
}

// TestIdleTimeoutOptionErrors: idle_timeout takes a positive interval
// without months, over a timestamp watermark; tables show it back.
func TestIdleTimeoutOptionErrors(t *testing.T) {
	ctx := context.Background()
	_, conn := startConn(t, engine.Options{},
		"CREATE TABLE n (id int, seq int, WATERMARK FOR seq AS seq - 1) APPEND ONLY",
		"CREATE TABLE q (id int, ts timestamp, WATERMARK FOR ts AS ts) APPEND ONLY WITH (idle_timeout = '2s')")
	for _, c := range []struct{ sql, code, msg string }{
		{"CREATE MATERIALIZED VIEW v WITH (idle_timeout = 'soon') AS SELECT * FROM q", "22023", `invalid value for parameter "idle_timeout": "soon"`},
		{"CREATE MATERIALIZED VIEW v WITH (idle_timeout = '1 month') AS SELECT * FROM q", "22023", "idle_timeout must not be given in months or years"},
		{"CREATE MATERIALIZED VIEW v WITH (idle_timeout = '-1s') AS SELECT * FROM q", "22023", `idle_timeout must be positive: "-1s"`},
		{"CREATE MATERIALIZED VIEW v WITH (idle_timeout = '1s') AS SELECT * FROM n", "0A000", `idle_timeout needs a timestamp watermark column: "seq" of "n" is integer`},
		{"CREATE TABLE m (id int, seq int, WATERMARK FOR seq AS seq) APPEND ONLY WITH (idle_timeout = '1s')", "0A000", `idle_timeout needs a timestamp watermark column: "seq" of "m" is integer`},
		{"CREATE TABLE m (id int, ts timestamp, WATERMARK FOR ts AS ts) WITH (idle_timeout = 'x')", "22023", `invalid value for parameter "idle_timeout": "x"`},
	} {
		_, err := conn.Exec(ctx, c.sql)
		wantPgErr(t, err, c.code, c.msg)
	}
	if def := showCreate(t, conn, "TABLE q"); !strings.Contains(def, "WITH (idle_timeout = '2s')") {
		t.Fatalf("SHOW CREATE TABLE q: %s", def)
	}
	// A table that failed to be created is not left behind.
	if n := queryInt(t, conn, "SELECT count(*) FROM pg_class WHERE relname = 'm'"); n != 0 {
		t.Fatalf("%d tables m", n)
	}
}

// TestIdleTimeoutUnion: a union whose input table is idle (its own
// WITH (idle_timeout = ...)) leaves that input out of the minimum of
// its inputs' watermarks, so windows over the union close as far as the
// other input has gone, far beyond what the clock moved the idle input's
// watermark to. A row the idle table then brings behind the union's
// watermark is late; rows after it count again.
func TestIdleTimeoutUnion(t *testing.T) {
	conn := idleUnion(t, "quiet", 11, []string{"INSERT INTO quiet VALUES (1, '2024-01-01 00:00:01+00')"}, nil)
	if n := sqltest.JobInt(t, conn, "u", "Late rows"); n != 1 {
		t.Fatalf("the union's job counted %d late rows, want 1", n)
	}
}

// TestIdleTimeoutNeverProduced: an input that has never brought a row
// has no watermark to move on with the clock; once idle for its timeout
// it is still left out, so an EMIT ON WINDOW CLOSE view over a union with
// it closes its windows as far as the other input has gone, and an
// interval join with it cleans the other side's rows that no future row
// of it could match. Without that both would wait for a first row.
func TestIdleTimeoutNeverProduced(t *testing.T) {
	idleUnion(t, "never", 10, []string{
		"CREATE MATERIALIZED VIEW j AS SELECT busy.id, busy.ts AS b_ts, never.ts AS n_ts FROM busy JOIN never ON busy.id = never.id AND busy.ts BETWEEN never.ts AND never.ts + INTERVAL '3' SECOND",
	}, func(conn *pgx.Conn) {
		// never's implied watermark follows busy's: busy's rows below
		// 56.5 s can match no future row of never.
		if n, ok := sqltest.PollJob(t, conn, "j", "State cleaned", 5*time.Second, func(n int64) bool { return n >= 56 }); !ok {
			t.Fatalf("the join cleaned %d rows, want at least the 56 of busy below never's implied watermark", n)
		}
	})
}

// idleUnion is the scenario of the union tests: a table busy (rows every
// second of the first minute) and a table named idle with an idle
// timeout of 200ms, which setup (run after the views u, their union, and
// w, its windows of 10 s, are created) may give a row or more views;
// first is how many rows the first window then counts. Once
// w has closed its windows up to busy's watermark and between (if not
// nil) has checked what it checks, idle brings a row behind the union's
// watermark, which must be late, and one after it, which counts again.
func idleUnion(t *testing.T, idle string, first int, setup []string, between func(*pgx.Conn)) *pgx.Conn {
	t.Helper()
	s := openStack(t, engine.Options{})
	conn := s.connect(t)
	execAll(t, conn,
		"CREATE TABLE busy (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY",
		"CREATE TABLE "+idle+" (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY WITH (idle_timeout = '200ms')",
		"CREATE MATERIALIZED VIEW u AS SELECT id, ts FROM busy UNION ALL SELECT id, ts FROM "+idle,
		"CREATE MATERIALIZED VIEW w AS SELECT window_start, count(*) AS n FROM TUMBLE(u, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE")
	execAll(t, conn, setup...)
	execAll(t, conn,
		"INSERT INTO busy SELECT i, '2024-01-01 00:00:00+00'::timestamptz + i * INTERVAL '1 second' FROM generate_series(0, 60) i",
		"FLUSH")
	const view = "SELECT window_start::text || ' ' || n FROM w ORDER BY 1"
	// busy's watermark is 59.5 s: windows up to the one of 40 s closed
	// (the first holding first rows). The clock alone would have moved
	// idle's to about 1 s.
	want := fmt.Sprintf("2024-01-01 00:00:00+00 %d\n2024-01-01 00:00:10+00 10\n2024-01-01 00:00:20+00 10\n2024-01-01 00:00:30+00 10\n2024-01-01 00:00:40+00 10", first)
	sqltest.EventuallyWithin(t, conn, view, want, 5*time.Second)
	if between != nil {
		between(conn)
	}
	execAll(t, conn,
		"INSERT INTO "+idle+" VALUES (-1, '2024-01-01 00:00:30+00')", // behind the union's watermark
		"INSERT INTO "+idle+" VALUES (2, '2024-01-01 00:01:40+00')",
		"INSERT INTO busy VALUES (3, '2024-01-01 00:01:45+00')",
		"FLUSH")
	// Both inputs at 99.5 s or more: the windows of 50 s to 90 s close.
	want += "\n2024-01-01 00:00:50+00 10\n2024-01-01 00:01:00+00 1"
	sqltest.EventuallyWithin(t, conn, view, want, 5*time.Second)
	if got := queryStrings(t, conn, "SELECT id::text FROM u WHERE id < 0"); len(got) != 0 {
		t.Fatalf("the late row reached the union's view: %v", got)
	}
	return conn
}

// TestIdleTimeoutViewOnView: an input that has never brought a row,
// read through another view (plain, EMIT ON WINDOW CLOSE, or one that
// aggregates it per window without EMIT ON WINDOW CLOSE, w3), is left out
// once idle just as within one view: the view passes the idle mark on. A view created after the mark
// went out receives it when it attaches, and after a restart the mark
// goes out again.
func TestIdleTimeoutViewOnView(t *testing.T) {
	s := openStack(t, engine.Options{})
	conn := s.connect(t)
	const windows = "WITH u AS (SELECT id, ts FROM busy_v UNION ALL SELECT id, ts FROM never_v UNION ALL SELECT id, ts FROM never_e) " +
		"SELECT window_start, count(*) AS n FROM TUMBLE(u, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE"
	const overAgg = "WITH u AS (SELECT id, ts FROM busy_v UNION ALL SELECT n::int AS id, window_start AS ts FROM never_g) " +
		"SELECT window_start, count(*) AS n FROM TUMBLE(u, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE"
	execAll(t, conn,
		"CREATE TABLE busy (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY",
		"CREATE TABLE never (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY WITH (idle_timeout = '200ms')",
		"CREATE MATERIALIZED VIEW never_v AS SELECT id, ts FROM never WHERE id > 0",
		"CREATE MATERIALIZED VIEW never_e AS SELECT id, ts FROM never EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW busy_v AS SELECT id, ts FROM busy",
		"CREATE MATERIALIZED VIEW w1 AS "+windows,
		// never aggregated per window without EMIT ON WINDOW CLOSE: the
		// aggregate passes the idle mark on to window_start.
		"CREATE MATERIALIZED VIEW never_g AS SELECT window_start, count(*) AS n FROM TUMBLE(never, ts, INTERVAL '1' SECOND) GROUP BY window_start",
		"CREATE MATERIALIZED VIEW w3 AS "+overAgg,
		busyRows(0, 60),
		"FLUSH")
	// busy's watermark is 59.5 s: windows up to the one of 40 s closed.
	want := "2024-01-01 00:00:00+00 10\n2024-01-01 00:00:10+00 10\n2024-01-01 00:00:20+00 10\n2024-01-01 00:00:30+00 10\n2024-01-01 00:00:40+00 10"
	sqltest.EventuallyWithin(t, conn, "SELECT window_start::text || ' ' || n FROM w1 ORDER BY 1", want, 5*time.Second)
	sqltest.EventuallyWithin(t, conn, "SELECT window_start::text || ' ' || n FROM w3 ORDER BY 1", want, 5*time.Second)
	// never_v sent its idle mark long ago; w2 attaches after it.
	time.Sleep(300 * time.Millisecond)
	execAll(t, conn, "CREATE MATERIALIZED VIEW w2 AS "+windows)
	sqltest.EventuallyWithin(t, conn, "SELECT window_start::text || ' ' || n FROM w2 ORDER BY 1", want, 5*time.Second)
	conn = restartWith(t, s, busyRows(61, 90))
	want += "\n2024-01-01 00:00:50+00 10\n2024-01-01 00:01:00+00 10\n2024-01-01 00:01:10+00 10"
	for _, v := range []string{"w1", "w2", "w3"} {
		sqltest.EventuallyWithin(t, conn, "SELECT window_start::text || ' ' || n FROM "+v+" ORDER BY 1", want, 5*time.Second)
	}
}

// TestIdleTimeoutWindowJoin: a window join (on window_start) with an
// input that has never brought a row leaves that input out once idle:
// the idle mark passes the window table function onto window_start, so
// an EMIT ON WINDOW CLOSE view over the join closes its windows as far
// as the other input has gone.
func TestIdleTimeoutWindowJoin(t *testing.T) {
	s := openStack(t, engine.Options{})
	conn := s.connect(t)
	execAll(t, conn,
		"CREATE TABLE busy (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY",
		"CREATE TABLE never (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY WITH (idle_timeout = '200ms')",
		"CREATE MATERIALIZED VIEW j AS SELECT b.window_start, count(*) AS n, count(q.id) AS matched "+
			"FROM TUMBLE(busy, ts, INTERVAL '10' SECOND) b LEFT JOIN TUMBLE(never, ts, INTERVAL '10' SECOND) q "+
			"ON b.window_start = q.window_start AND b.id = q.id GROUP BY b.window_start EMIT ON WINDOW CLOSE",
		busyRows(0, 60),
		"FLUSH")
	const view = "SELECT window_start::text || ' ' || n || ' ' || matched FROM j ORDER BY 1"
	want := "2024-01-01 00:00:00+00 10 0\n2024-01-01 00:00:10+00 10 0\n2024-01-01 00:00:20+00 10 0\n2024-01-01 00:00:30+00 10 0\n2024-01-01 00:00:40+00 10 0"
	sqltest.EventuallyWithin(t, conn, view, want, 5*time.Second)
	conn = restartWith(t, s, busyRows(61, 80))
	want += "\n2024-01-01 00:00:50+00 10 0\n2024-01-01 00:01:00+00 10 0"
	sqltest.EventuallyWithin(t, conn, view, want, 5*time.Second)
}

// busyRows inserts into busy a row a second from second from to second
// to of 2024-01-01.
func busyRows(from, to int) string {
	return fmt.Sprintf("INSERT INTO busy SELECT i, '2024-01-01 00:00:00+00'::timestamptz + i * INTERVAL '1 second' FROM generate_series(%d, %d) i", from, to)
}

// restartWith restarts the server and runs stmts and FLUSH on a new
// connection, which it returns.
func restartWith(t *testing.T, s *benchStack, stmts ...string) *pgx.Conn {
	t.Helper()
	s.restart(t)
	conn := s.connect(t)
	execAll(t, conn, append(stmts, "FLUSH")...)
	return conn
}
