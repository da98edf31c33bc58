package engine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"streamsql/engine"
)

// TestTemporalFilterBudget runs temporal filter views whose kept rows
// are many times the state memory budget: the rows the clock reaches
// last live in storage only and are read back as the thresholds near
// them. As the test clock moves on, with inserts, updates and deletes
// (also of rows in storage only) and restarts in between, each view
// equals its query at the epoch's time, and its job evicted and read
// back rows.
func TestTemporalFilterBudget(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &testClock{t: start}
	s := openStack(t, engine.Options{Clock: clock.now, StateMemory: stateBudget})
	// 4,000 rows, one every 3 s from an hour before the clock to over two
	// hours after it: far more than 64 KiB of kept rows.
	s.execAll(t, "CREATE TABLE e (id int PRIMARY KEY, k int, ts timestamptz)",
		fmt.Sprintf("INSERT INTO e SELECT i, i %% 7, TIMESTAMPTZ '%s' + (i * 3) * INTERVAL '1 second' FROM generate_series(1, 4000) i",
			start.Add(-time.Hour).Format("2006-01-02 15:04:05+00")))
	views := []struct{ name, query string }{
		{"tf_recent", "SELECT id, k, ts FROM e WHERE ts > now() - INTERVAL '1 hour'"},
		{"tf_window", "SELECT id, k FROM e WHERE ts BETWEEN now() - INTERVAL '30 minutes' AND now() + INTERVAL '20 minutes'"},
	}
	for _, v := range views {
		s.execAll(t, "CREATE MATERIALIZED VIEW "+v.name+" AS "+v.query)
	}
	check := func(when string) {
		t.Helper()
		for _, v := range views {
			checkView(t, s, when, v.name, atTime(v.query, clock.now()), 0)
		}
	}
	// counters checks that each view's job keeps its rows near the budget
	// and has evicted rows and read them back since its start.
	counters := func(when string) {
		t.Helper()
		for _, v := range views {
			b, evicted, reads := jobState(t, s, v.name)
			t.Logf("%s: %s: %d bytes, %d evicted, %d read back", when, v.name, b, evicted, reads)
			if evicted == 0 || reads == 0 {
				t.Fatalf("%s: %s: state evicted %d, read back %d: the budget was not enforced", when, v.name, evicted, reads)
			}
			// The window of tf_window (its visible rows) stays in memory.
			if v.name == "tf_recent" && b > 2*stateBudget {
				t.Fatalf("%s: %s: %d bytes of state in memory", when, v.name, b)
			}
		}
	}
	s.execAll(t, "FLUSH")
	check("after the backfill")
	r := rand.New(rand.NewPCG(18, 7))
	next := 4000
	for epoch := 1; epoch <= 8; epoch++ {
		clock.set(clock.now().Add(time.Duration(5+r.IntN(15)) * time.Minute))
		var qs []string
		for range 20 {
			switch x := r.IntN(3); x {
			case 0:
				next++
				at := clock.now().Add(time.Duration(r.IntN(240)-60) * time.Minute)
				qs = append(qs, fmt.Sprintf("INSERT INTO e VALUES (%d, %d, '%s')", next, r.IntN(7), at.Format("2006-01-02 15:04:05+00")))
			case 1:
				// Rows far ahead are in storage only by now.
				qs = append(qs, fmt.Sprintf("DELETE FROM e WHERE id = %d", 2000+r.IntN(2000)))
			default:
				at := clock.now().Add(time.Duration(r.IntN(180)-60) * time.Minute)
				qs = append(qs, fmt.Sprintf("UPDATE e SET ts = '%s', k = k + 1 WHERE id = %d", at.Format("2006-01-02 15:04:05+00"), 1+r.IntN(4000)))
			}
		}
		s.execAll(t, append(qs, "FLUSH")...)
		check(fmt.Sprintf("epoch %d at %s", epoch, clock.now().Format(time.TimeOnly)))
		if epoch%3 == 0 {
			counters(fmt.Sprintf("before the restart at epoch %d", epoch))
			s.restart(t)
			s.execAll(t, "FLUSH")
			check(fmt.Sprintf("after the restart at epoch %d", epoch))
		}
	}
	counters("at the end")
}
