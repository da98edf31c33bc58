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
)

// idleStamp is base plus ms milliseconds as a timestamptz literal.
func idleStamp(base time.Time, ms int) string {
	return "'" + base.Add(time.Duration(ms)*time.Millisecond).Format("2006-01-02 15:04:05.000") + "+00'"
}

// waitRows polls q until it returns want (joined by ";"), failing after
// timeout with what it returned last.
func waitRows(t *testing.T, conn *pgx.Conn, q, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := strings.Join(queryStrings(t, conn, q), ";")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s\n got %q\nwant %q", q, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobLate is the late row count SHOW JOBS reports for the job of view.
func jobLate(t *testing.T, conn *pgx.Conn, view string) int64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SHOW JOBS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if v[1] == view {
			return v[5].(int64)
		}
	}
	t.Fatalf("SHOW JOBS has no %s", view)
	return 0
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
	defer func() { s.close() }()
	conn := s.connect(t)
	execAll(t, conn,
		"CREATE TABLE ev (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) APPEND ONLY",
		"CREATE MATERIALIZED VIEW w_idle WITH (idle_timeout = '200ms') AS SELECT window_start, count(*) AS n, sum(id) AS s FROM TUMBLE(ev, ts, INTERVAL '1' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW w_wait AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '1' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE",
	)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(18, 5))
	const view = "SELECT window_start::text, n, s FROM w_idle ORDER BY 1"
	// The ad-hoc answer: late rows have negative ids.
	const adhoc = "SELECT window_start::text, count(*), sum(id) FROM TUMBLE(ev, ts, INTERVAL '1' SECOND) WHERE id >= 0 GROUP BY window_start ORDER BY 1"
	late := 0
	for round := range 6 {
		start := round * 10_000 // each round 10 s of event time later
		var qs []string
		if round > 0 {
			// Behind the watermark the idle timeout moved on: late.
			qs = append(qs, fmt.Sprintf("INSERT INTO ev VALUES (-1, %s)", idleStamp(base, start-10_000+r.IntN(2000))))
			late++
		}
		// In event time order: none of them is late.
		at := start
		for range 5 + r.IntN(10) {
			at += r.IntN(400)
			qs = append(qs, fmt.Sprintf("INSERT INTO ev VALUES (%d, %s)", r.IntN(100), idleStamp(base, at)))
		}
		qs = append(qs, "FLUSH")
		execAll(t, conn, qs...)
		want := strings.Join(queryStrings(t, conn, adhoc), ";")
		waitRows(t, conn, view, want, 10*time.Second)
		if n := queryInt(t, conn, "SELECT count(*) FROM late_rows WHERE view_name = 'w_idle'"); n != int64(late) {
			t.Fatalf("round %d: %d late rows of w_idle, want %d", round, n, late)
		}
		// Without the option the window of the round's last row stays
		// open: its watermark is at most half a second past that row.
		waited := queryInt(t, conn, "SELECT count(*) FROM w_wait")
		all := queryInt(t, conn, "SELECT count(DISTINCT window_start) FROM TUMBLE(ev, ts, INTERVAL '1' SECOND) WHERE id >= 0")
		if waited >= all {
			t.Fatalf("round %d: the view without idle_timeout closed all %d windows", round, all)
		}
		if round%2 == 1 {
			conn.Close(context.Background())
			s = s.restart(t)
			conn = s.connect(t)
			// The watermark moved on before the restart holds after it.
			waitRows(t, conn, view, want, 10*time.Second)
		}
	}
	var def string
	if err := conn.QueryRow(context.Background(), "SHOW CREATE MATERIALIZED VIEW w_idle").Scan(new(string), &def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "WITH (idle_timeout = '00:00:00.2')") {
		t.Fatalf("SHOW CREATE: %s", def)
	}
}
