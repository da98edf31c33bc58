package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"streamsql/engine"
)

// temporalCases are views whose WHERE compares rows with the current
// time; ad hoc, the same query with now() replaced by the epoch's time
// must give the view's contents.
var temporalCases = []viewFormCase{
	{"last_hour", "SELECT id, k, ts FROM e WHERE ts > now() - INTERVAL '1 hour'"},
	{"last_hour_k", "SELECT id, ts FROM e WHERE k <> 2 AND ts >= now() - INTERVAL '1 hour'"},
	{"plus_form", "SELECT id, k FROM e WHERE ts + INTERVAL '30 minutes' > now()"},
	{"delayed", "SELECT id, k, ts FROM e WHERE ts <= now() - INTERVAL '10 minutes'"},
	{"last_window", "SELECT id, ts FROM e WHERE ts BETWEEN now() - INTERVAL '1 hour' AND now()"},
	{"two_cols", "SELECT id FROM e WHERE ts < now() AND lts > now() - INTERVAL '2 hours'"},
	{"today", "SELECT id, k FROM e WHERE ts >= date_trunc('day', now())"},
	{"today_date", "SELECT id FROM e WHERE d >= current_date"},
	{"per_k", "SELECT k, count(*) AS n, max(ts) AS last FROM e WHERE ts > now() - INTERVAL '45 minutes' GROUP BY k"},
}

// testClock is a clock tests move forward.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// atTime rewrites a view query into the ad-hoc query of the same rows at
// time t.
func atTime(q string, t time.Time) string {
	ts := t.UTC().Format("2006-01-02 15:04:05.999999")
	return strings.NewReplacer(
		"now()", "TIMESTAMPTZ '"+ts+"+00'",
		"current_date", "DATE '"+t.UTC().Format("2006-01-02")+"'",
	).Replace(q)
}

// TestTemporalFilterDifferential moves a test clock forward between
// epochs while inserts, updates and deletes change the table; after
// every epoch each view equals its query at the epoch's time, and the
// server restarts every few epochs. The clock crosses midnight, so the
// "today" views reset.
func TestTemporalFilterDifferential(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 21, 0, 0, 0, time.UTC)}
	s := openStack(t, engine.Options{Clock: clock.now})
	s.execAll(t, "CREATE TABLE e (id int PRIMARY KEY, k int, ts timestamptz, lts timestamp, d date)")
	r := rand.New(rand.NewPCG(18, 2))
	var live []int
	next := 0
	stamp := func() string {
		if r.IntN(10) == 0 {
			return "NULL"
		}
		// From two hours before the clock to one hour after it.
		at := clock.now().Add(time.Duration(r.IntN(180)-120) * time.Minute).Add(time.Duration(r.IntN(60)) * time.Second)
		return "'" + at.Format("2006-01-02 15:04:05") + "'"
	}
	day := func() string {
		return "'" + clock.now().AddDate(0, 0, r.IntN(3)-1).Format("2006-01-02") + "'"
	}
	change := func() string {
		x := r.IntN(10)
		switch {
		case len(live) == 0 || x < 5:
			next++
			live = append(live, next)
			return fmt.Sprintf("INSERT INTO e VALUES (%d, %d, %s, %s, %s)", next, r.IntN(4), stamp(), stamp(), day())
		case x < 8:
			id := live[r.IntN(len(live))]
			return fmt.Sprintf("UPDATE e SET k = %d, ts = %s, lts = %s, d = %s WHERE id = %d", r.IntN(4), stamp(), stamp(), day(), id)
		default:
			i := r.IntN(len(live))
			id := live[i]
			live = append(live[:i], live[i+1:]...)
			return fmt.Sprintf("DELETE FROM e WHERE id = %d", id)
		}
	}
	var setup []string
	for range 15 {
		setup = append(setup, change())
	}
	s.execAll(t, setup...)
	for _, c := range temporalCases {
		s.execAll(t, "CREATE MATERIALIZED VIEW "+c.name+" AS "+c.query)
	}
	check := func(when string) {
		t.Helper()
		for _, c := range temporalCases {
			checkView(t, s, when, c.name, atTime(c.query, clock.now()), 0)
		}
	}
	s.execAll(t, "FLUSH")
	check("after the backfill")
	for epoch := 1; epoch <= 12; epoch++ {
		// Time moves first; the changes then land in epochs of the new time.
		clock.set(clock.now().Add(time.Duration(r.IntN(40)) * time.Minute))
		var qs []string
		for range r.IntN(12) {
			qs = append(qs, change())
		}
		s.execAll(t, append(qs, "FLUSH")...)
		check(fmt.Sprintf("epoch %d at %s", epoch, clock.now().Format(time.TimeOnly)))
		if epoch%4 == 0 {
			s.restart(t)
			check(fmt.Sprintf("after the restart at epoch %d", epoch))
		}
	}
	if clock.now().Day() == 1 {
		t.Fatalf("the clock did not cross midnight: %s", clock.now())
	}
}
