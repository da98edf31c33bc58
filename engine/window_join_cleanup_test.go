package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"streamsql/engine"
	"streamsql/internal/sqltest"
)

// TestWindowJoinRetractingCleanup checks the "maximum per window" join
// (Nexmark q5's shape): two windowed aggregations, which retract their
// rows as counts change, joined on window_start. Their rows leave the
// join's state once both sides' watermarks pass the window; the view
// must equal its query after every epoch and restart. The two sides read
// different tables, so their watermarks differ: a row cleaned on the other
// side's watermark alone, while its own window is still open, would miss
// the retraction of its old count.
func TestWindowJoinRetractingCleanup(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE TABLE l (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE TABLE r (id int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY")
	per := func(tbl, win string) string {
		return "SELECT id, count(*) AS n, window_start AS ws FROM " + win + " GROUP BY id, window_start"
	}
	tumbleL, tumbleR := "TUMBLE(l, ts, INTERVAL '10' SECOND)", "TUMBLE(r, ts, INTERVAL '10' SECOND)"
	hopL := "HOP(l, ts, INTERVAL '2' SECOND, INTERVAL '10' SECOND)"
	cases := []viewFormCase{
		{name: "hot_self", query: "SELECT a.id, a.n, a.ws FROM (" + per("l", hopL) + ") a JOIN (SELECT max(n) AS maxn, ws FROM (" + per("l", hopL) + ") c GROUP BY ws) m ON a.ws = m.ws AND a.n >= m.maxn"},
		{name: "hot_other", query: "SELECT a.id, a.n, a.ws, m.maxn FROM (" + per("l", tumbleL) + ") a JOIN (SELECT max(n) AS maxn, ws FROM (" + per("r", tumbleR) + ") c GROUP BY ws) m ON a.ws = m.ws AND a.n >= m.maxn"},
		{name: "both_counts", query: "SELECT a.id, a.n, b.n AS rn, a.ws FROM (" + per("l", tumbleL) + ") a JOIN (" + per("r", tumbleR) + ") b ON a.ws = b.ws AND a.id = b.id"},
	}
	g := newEventInserts(rand.New(rand.NewPCG(5, 21)))
	checkViewsOverEpochs(t, s, cases, 22, 6, func() []string { return g.round(3, 9, 4) })
	// The counters start again at a restart: the epochs after the last
	// one must have cleaned rows.
	conn := s.connect(t)
	for _, c := range cases {
		cleaned, err := strconv.ParseInt(fmt.Sprint(sqltest.JobColumns(t, conn, c.name)["State cleaned"]), 10, 64)
		if err != nil || cleaned == 0 {
			t.Errorf("%s: state cleaned %v (%v), want rows cleaned by the watermarks", c.name, cleaned, err)
		}
	}
}
