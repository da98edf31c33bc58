package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
)

// mrStreamOrder returns rows in an arrival order that is out of event-time
// order but never behind the watermark ts - 5 s: a row comes after the
// rows whose time plus a random jitter below 5 s is smaller.
func mrStreamOrder(r *rand.Rand, rows []refRow) []refRow {
	type keyed struct {
		key float64
		row refRow
	}
	ks := make([]keyed, len(rows))
	for i, row := range rows {
		ks[i] = keyed{float64(row.ts) + r.Float64()*4.9, row}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	out := make([]refRow, len(rows))
	for i, k := range ks {
		out[i] = k.row
	}
	return out
}

// TestMatchRecognizeViewDifferential maintains random MATCH_RECOGNIZE
// patterns (with WITHIN, so that the watermark closes every partial
// match) in views over an APPEND ONLY table with a watermark, feeds the
// rows out of event-time order in small statements with restarts in
// between, and compares every view with the ad-hoc query over the same
// rows in a plain table.
func TestMatchRecognizeViewDifferential(t *testing.T) {
	s := openStack(t, engine.Options{})
	r := rand.New(rand.NewSource(mrSeed(t)))
	views := 12
	if testing.Short() {
		views = 5
	}
	s.execAll(t, "SET streaming_parallelism = 2",
		"CREATE TABLE ev (k int, ts timestamp, v int, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE TABLE evh (k int, ts timestamp, v int)")
	var qs []*refQuery
	for len(qs) < views {
		q := randQuery(r)
		if q.within == 0 {
			q.within = 3 + r.Intn(10)
		}
		qs = append(qs, q)
		s.execAll(t, fmt.Sprintf("CREATE MATERIALIZED VIEW mr%d AS %s", len(qs)-1, q.sql("ev")))
	}
	rows := randRows(r, 4, 30)
	s.execAll(t, mrInsertSQL("evh", rows))
	stream := mrStreamOrder(r, rows)
	for i, lo := 0, 0; lo < len(stream); i++ {
		hi := min(lo+1+r.Intn(12), len(stream))
		s.execAll(t, mrInsertSQL("ev", stream[lo:hi]))
		lo = hi
		if i%5 == 4 {
			if r.Intn(2) == 0 {
				s.execAll(t, "FLUSH")
			}
			s.restart(t)
		}
	}
	// A row far ahead in a partition of its own moves the watermark past
	// every row and every WITHIN.
	s.execAll(t, "INSERT INTO ev VALUES (99, timestamp '1970-01-02 00:00:00', 0)", "FLUSH")
	conn := s.connect(t)
	defer conn.Close(context.Background())
	if n := runningJobs(t, conn); n != len(qs) {
		t.Fatalf("%d jobs run, want %d", n, len(qs))
	}
	matched := checkMatchViews(t, conn, qs, func(q *refQuery) ([]string, error) { return mrOutput(conn, q, "evh") })
	t.Logf("%d views, %d matches", len(qs), matched)
}

// checkMatchViews compares each view mr<i> over ev, the query qs[i],
// leaving out the row k = 99 that moved the watermark, with the rows
// want gives for its query, and returns the matches in all; none fails
// t, as then the test checks nothing.
func checkMatchViews(t *testing.T, conn *pgx.Conn, qs []*refQuery, want func(*refQuery) ([]string, error)) int {
	t.Helper()
	matched := 0
	for i, q := range qs {
		rows, err := want(q)
		if err != nil {
			t.Fatalf("%s: %v", q.sql("ev"), err)
		}
		got, err := mrSelect(conn, q, fmt.Sprintf("mr%d x WHERE k <> 99", i))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "\n") != strings.Join(rows, "\n") {
			t.Fatalf("view %d: %s\ngot:\n%s\nwant:\n%s", i, q.sql("ev"), strings.Join(got, "\n"), strings.Join(rows, "\n"))
		}
		matched += len(rows)
	}
	if matched == 0 {
		t.Fatal("no view matched anything: the test checks nothing")
	}
	return matched
}
