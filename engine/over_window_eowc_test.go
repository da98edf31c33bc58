package engine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"streamsql/engine"
)

// TestOverWindowEowcDifferential inserts rows into an append-only table
// with a watermark, in rounds, and checks after every round that EMIT ON
// WINDOW CLOSE views over window functions hold exactly the rows whose
// values are final: the row and the rows its functions read ahead (one
// for a frame ending 1 FOLLOWING, two for lead(v, 2)) lie below the
// watermark, with the values the same query computes ad hoc over the
// whole table; a view over one of them counts each row once. The server restarts after every other round, before the
// check.
func TestOverWindowEowcDifferential(t *testing.T) {
	s := openStack(t, engine.Options{})
	const (
		w1 = "SELECT tm, k, v, lag(v, 2) OVER w AS lg, sum(v) OVER (w ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS s3, " +
			"row_number() OVER w AS rn FROM t WINDOW w AS (PARTITION BY k ORDER BY tm)"
		w2 = "SELECT tm, k, v, lead(v, 2) OVER w AS ld, max(v) OVER w AS mx, " +
			"sum(v) OVER (w ROWS 2 PRECEDING EXCLUDE CURRENT ROW) AS sp FROM t WINDOW w AS (PARTITION BY k ORDER BY tm)"
		// Running aggregates: kept as one value per partition, the rows
		// they read trimmed once emitted.
		w3 = "SELECT tm, k, v, sum(v) OVER w AS rs, count(v) OVER (w ROWS UNBOUNDED PRECEDING) AS rc, " +
			"min(v) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS mn FROM t WINDOW w AS (PARTITION BY k ORDER BY tm)"
	)
	s.execAll(t,
		"CREATE TABLE t (tm timestamptz, k int, v int, WATERMARK FOR tm AS tm - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE MATERIALIZED VIEW w1 AS "+w1+" EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW w2 AS "+w2+" EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW w3 AS "+w3+" EMIT ON WINDOW CLOSE",
		// A row emitted twice (say, again after a restart) would not
		// show in w1, whose rows are keyed, but counts twice here.
		"CREATE MATERIALIZED VIEW w1_n AS SELECT k, count(*) AS n, sum(v) AS s FROM w1 GROUP BY k",
	)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	stamp := func(sec int) string {
		return "'" + base.Add(time.Duration(sec)*time.Second).Format("2006-01-02 15:04:05") + "+00'"
	}
	r := rand.New(rand.NewPCG(18, 7))
	// Every row has its own second (ties in ORDER BY have no defined
	// order), at most 4 s behind the largest so far: none is late.
	used := map[int]bool{}
	maxTS := 0
	for round := 1; round <= 12; round++ {
		var qs []string
		for range 4 + r.IntN(10) {
			sec := max(0, maxTS-r.IntN(5)+r.IntN(8))
			for used[sec] {
				sec++
			}
			used[sec], maxTS = true, max(maxTS, sec)
			qs = append(qs, fmt.Sprintf("INSERT INTO t VALUES (%s, %d, %d)", stamp(sec), r.IntN(3), r.IntN(100)-20))
		}
		s.execAll(t, append(qs, "FLUSH")...)
		if round%2 == 0 {
			s.restart(t)
		}
		wm := stamp(maxTS - 5)
		when := fmt.Sprintf("round %d (watermark %s)", round, wm)
		final := func(q string, ahead int) string {
			return fmt.Sprintf("SELECT tm, k, v, c1, c2, c3 FROM (SELECT *, lead(tm, %d, 'infinity') OVER (PARTITION BY k ORDER BY tm) AS fin FROM (%s) q (tm, k, v, c1, c2, c3)) f WHERE fin < %s", ahead, q, wm)
		}
		checkView(t, s, when, "w1", final(w1, 1), 0)
		checkView(t, s, when, "w2", final(w2, 2), 0)
		checkView(t, s, when, "w3", final(w3, 0), 0)
		checkView(t, s, when, "w1_n", "SELECT k, count(*), sum(v) FROM w1 GROUP BY k", 0)
	}
	checkView(t, s, "at the end", "w2", "SELECT * FROM w2 WHERE ld IS NOT NULL", 10)
}

// The running aggregates example of docs/streaming.md gives the rows
// shown.
func TestDocsRunningAggregatesExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "#### Running aggregates with EMIT ON WINDOW CLOSE")
}
