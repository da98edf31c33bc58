package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// TestIntervalJoinEowcDifferential inserts rows into two append-only
// tables with watermarks, in rounds, and checks after every round that
// an EMIT ON WINDOW CLOSE view over their interval join holds exactly
// the joined rows whose l.ts is below the join's output watermark,
// min(wm(l.ts), wm(r.ts)). The server restarts after every other round,
// before the check: the watermarks reached before a restart must still
// hold after it, also when one table gets no row above its watermark
// afterwards.
func TestIntervalJoinEowcDifferential(t *testing.T) {
	s := openStack(t, engine.Options{})
	intervalJoinEowcRounds(t, func() *pgx.Conn { return s.connect(t) }, func() { s.restart(t) })
}

// TestIntervalJoinEowcKill9 is TestIntervalJoinEowcDifferential with
// streamsqld as a child process killed with SIGKILL instead of stopped.
func TestIntervalJoinEowcKill9(t *testing.T) {
	srv := testserver.StartBuilt(t, "warn")
	intervalJoinEowcRounds(t, func() *pgx.Conn { return srv.Dial(t) }, func() { srv = srv.Restart(t) })
}

// intervalJoinEowcRounds runs the rounds of the interval join tests over
// the connections connect opens, calling restart after every other
// round's FLUSH.
func intervalJoinEowcRounds(t *testing.T, connect func() *pgx.Conn, restart func()) {
	ctx := context.Background()
	run := func(qs ...string) {
		t.Helper()
		conn := connect()
		defer conn.Close(ctx)
		execAll(t, conn, qs...)
	}
	run(
		"CREATE TABLE l (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE TABLE r (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE MATERIALIZED VIEW j AS SELECT l.id AS lid, r.id AS rid, l.ts AS l_ts, r.ts AS r_ts FROM l, r WHERE l.id = r.id AND l.ts >= r.ts",
		"CREATE MATERIALIZED VIEW j_final AS SELECT * FROM j EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW j_between AS SELECT l.id AS lid, l.ts AS l_ts, r.ts AS r_ts FROM l LEFT JOIN r ON l.id = r.id AND l.ts BETWEEN r.ts AND r.ts + INTERVAL '3' SECOND",
		"CREATE MATERIALIZED VIEW j_between_final AS SELECT * FROM j_between EMIT ON WINDOW CLOSE",
		// A row emitted twice (again after a restart, say) would not show
		// in j_final, whose rows are keyed, but counts twice here.
		"CREATE MATERIALIZED VIEW j_final_n AS SELECT lid, count(*) AS n FROM j_final GROUP BY lid",
	)
	// Rows go into l and r alike, at most 4 s behind their table's
	// largest ts, so no row is late.
	g := newEventInserts(rand.New(rand.NewPCG(18, 3)))
	maxTS, stamp := g.maxTS, g.stamp
	for round := 1; round <= 12; round++ {
		qs := g.round(2, 7, 4)
		run(append(qs, "FLUSH")...)
		if round%2 == 0 {
			restart()
		}
		// The output watermark: each table's is its largest ts less 5 s;
		// the join's is the smaller one (the offset of the BETWEEN's
		// lower bound is 0). A table without rows has none yet.
		wm := min(maxTS["l"], maxTS["r"]) - 5
		when := fmt.Sprintf("round %d (watermark %s)", round, stamp(wm))
		conn := connect()
		checkViewOn(t, conn, when, "j", "SELECT l.id, r.id, l.ts, r.ts FROM l, r WHERE l.id = r.id AND l.ts >= r.ts", 0)
		checkViewOn(t, conn, when, "j_final", "SELECT * FROM j WHERE l_ts < "+stamp(wm), 0)
		checkViewOn(t, conn, when, "j_between_final", "SELECT * FROM j_between WHERE l_ts < "+stamp(wm), 0)
		checkViewOn(t, conn, when, "j_final_n", "SELECT lid, count(*) FROM j_final GROUP BY lid", 0)
		conn.Close(ctx)
	}
}
