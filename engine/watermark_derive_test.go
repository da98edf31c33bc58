package engine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"streamsql/engine"
)

// TestWatermarkDerivedDifferential checks EMIT ON WINDOW CLOSE views whose
// watermark comes through an expression (date_trunc, + interval) or a
// UNION ALL (the smaller of its inputs' watermarks): after every round of
// inserts each holds exactly the rows or groups below its watermark, as
// the same query computes ad hoc. The server restarts after every other
// round, before the check.
func TestWatermarkDerivedDifferential(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE TABLE l (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE TABLE r (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE MATERIALIZED VIEW per_min AS SELECT date_trunc('minute', ts) AS m, count(*) AS n, sum(id) AS s FROM l GROUP BY date_trunc('minute', ts) EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW due AS SELECT id, ts + INTERVAL '1' MINUTE AS due FROM l EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW both_sides AS SELECT id, ts FROM l UNION ALL SELECT id, ts FROM r EMIT ON WINDOW CLOSE",
		// A row emitted twice would count twice here.
		"CREATE MATERIALIZED VIEW both_n AS SELECT id, count(*) AS n FROM both_sides GROUP BY id",
	)
	g := newEventInserts(rand.New(rand.NewPCG(18, 11)))
	maxTS, stamp := g.maxTS, g.stamp
	for round := 1; round <= 12; round++ {
		qs := g.round(3, 25, 5)
		s.execAll(t, append(qs, "FLUSH")...)
		if round%2 == 0 {
			s.restart(t)
		}
		wmL, wmR := stamp(maxTS["l"]-5), stamp(maxTS["r"]-5)
		when := fmt.Sprintf("round %d (watermarks %s, %s)", round, wmL, wmR)
		checkView(t, s, when, "per_min", "SELECT date_trunc('minute', ts), count(*), sum(id) FROM l GROUP BY 1 HAVING date_trunc('minute', ts) < date_trunc('minute', "+wmL+"::timestamptz)", 0)
		checkView(t, s, when, "due", "SELECT id, ts + INTERVAL '1' MINUTE FROM l WHERE ts < "+wmL, 0)
		low := stamp(min(maxTS["l"], maxTS["r"]) - 5)
		checkView(t, s, when, "both_sides", "SELECT id, ts FROM l WHERE ts < "+low+" UNION ALL SELECT id, ts FROM r WHERE ts < "+low, 0)
		checkView(t, s, when, "both_n", "SELECT id, count(*) FROM both_sides GROUP BY id", 0)
	}
	checkView(t, s, "at the end", "per_min", "SELECT * FROM per_min", 2)
}
