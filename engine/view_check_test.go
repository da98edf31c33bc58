package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/internal/sqltest"
)

// checkView fails the test unless view holds at least minRows rows and
// equals query recomputed as a batch query (EXCEPT ALL both ways).
func checkView(t *testing.T, s *benchStack, when, view, query string, minRows int64) {
	t.Helper()
	conn := s.connect(t)
	defer conn.Close(context.Background())
	checkViewOn(t, conn, when, view, query, minRows)
}

// checkViewOn is checkView over the connection conn.
func checkViewOn(t *testing.T, conn *pgx.Conn, when, view, query string, minRows int64) {
	t.Helper()
	ctx := context.Background()
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+view).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < minRows {
		t.Fatalf("%s: the view %s has %d rows, want at least %d", when, view, n, minRows)
	}
	for _, q := range []string{
		"SELECT count(*) FROM (SELECT * FROM " + view + " EXCEPT ALL (" + query + ")) d",
		"SELECT count(*) FROM ((" + query + ") EXCEPT ALL SELECT * FROM " + view + ") d",
	} {
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Logf("only in the view: %v", rowValues(t, conn, "SELECT * FROM "+view+" EXCEPT ALL ("+query+")"))
			t.Logf("only in the query: %v", rowValues(t, conn, "("+query+") EXCEPT ALL SELECT * FROM "+view))
			t.Fatalf("%s: %d rows differ between the view %s and its query", when, n, view)
		}
	}
}

// runningJobs returns the number of jobs SHOW JOBS lists, failing the
// test for each one that is not running.
func runningJobs(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	_, jobs := sqltest.Jobs(t, conn)
	for _, v := range jobs {
		if v[2] != "running" {
			t.Errorf("job %v: status %v", v[1], v[2])
		}
	}
	return len(jobs)
}

// jobState returns the state columns of SHOW JOBS for the job of view:
// bytes in memory, entries evicted, entries read back.
func jobState(t *testing.T, s *benchStack, view string) (bytes, evicted, reads int64) {
	t.Helper()
	ctx := context.Background()
	conn := s.connect(t)
	defer conn.Close(ctx)
	if v := sqltest.JobRow(t, conn, view); v != nil {
		return v[7].(int64), v[8].(int64), v[9].(int64)
	}
	t.Fatalf("SHOW JOBS has no %s", view)
	return
}

// rowValues returns the rows of q, for a failure message.
func rowValues(t *testing.T, conn *pgx.Conn, q string) [][]any {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// rowChanges makes random inserts, updates and deletes of rows keyed by
// an integer id: half inserts of a new id, then updates and deletes of a
// live one. row returns a row's values after its id (for INSERT), or
// with update the same as SET assignments (for UPDATE).
type rowChanges struct {
	r    *rand.Rand
	live map[string][]int
	next map[string]int
	row  func(tbl string, id int, update bool) string
}

// newRowChanges makes changes whose values returns both forms of a row
// at once.
func newRowChanges(r *rand.Rand, values func(tbl string, id int) (vals, set string)) *rowChanges {
	return newRowChangesBy(r, func(tbl string, id int, update bool) string {
		vals, set := values(tbl, id)
		if update {
			return set
		}
		return vals
	})
}

func newRowChangesBy(r *rand.Rand, row func(tbl string, id int, update bool) string) *rowChanges {
	return &rowChanges{r: r, live: map[string][]int{}, next: map[string]int{}, row: row}
}

// change returns one random change of tbl.
func (g *rowChanges) change(tbl string) string {
	ids := g.live[tbl]
	x := g.r.IntN(10)
	switch {
	case len(ids) == 0 || x < 5:
		g.next[tbl]++
		id := g.next[tbl]
		g.live[tbl] = append(ids, id)
		return fmt.Sprintf("INSERT INTO %s VALUES (%d, %s)", tbl, id, g.row(tbl, id, false))
	case x < 8:
		id := ids[g.r.IntN(len(ids))]
		return fmt.Sprintf("UPDATE %s SET %s WHERE id = %d", tbl, g.row(tbl, id, true), id)
	default:
		i := g.r.IntN(len(ids))
		id := ids[i]
		g.live[tbl] = append(ids[:i], ids[i+1:]...)
		return fmt.Sprintf("DELETE FROM %s WHERE id = %d", tbl, id)
	}
}

// eventInserts makes rounds of inserts of (id, ts) rows into the tables
// l and r for the differential tests of views over event time: a row's
// ts lies at most 4 s behind the largest of its table so far, so that no
// row is late behind a watermark 5 s back.
type eventInserts struct {
	r     *rand.Rand
	base  time.Time
	maxTS map[string]int // each table's largest ts so far, seconds after base
}

func newEventInserts(r *rand.Rand) *eventInserts {
	return &eventInserts{r: r, base: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), maxTS: map[string]int{"l": 0, "r": 0}}
}

// stamp is the timestamptz literal sec seconds after base.
func (g *eventInserts) stamp(sec int) string {
	return "'" + g.base.Add(time.Duration(sec)*time.Second).Format("2006-01-02 15:04:05") + "+00'"
}

// round returns 3 to 10 inserts: a row goes into r with probability
// 1/rOneIn (else into l), lies up to ahead-1 s after its table's largest
// ts and has an id below ids.
func (g *eventInserts) round(rOneIn, ahead, ids int) []string {
	var qs []string
	for range 3 + g.r.IntN(8) {
		tbl := "l"
		if g.r.IntN(rOneIn) == 0 {
			tbl = "r"
		}
		sec := max(0, g.maxTS[tbl]-g.r.IntN(5)+g.r.IntN(ahead))
		g.maxTS[tbl] = max(g.maxTS[tbl], sec)
		qs = append(qs, fmt.Sprintf("INSERT INTO %s VALUES (%d, %s)", tbl, g.r.IntN(ids), g.stamp(sec)))
	}
	return qs
}

// checkViewsOverEpochs creates the views of cases, then compares them
// with their queries over epochs (compareViewsOverEpochs).
func checkViewsOverEpochs(t *testing.T, s *benchStack, cases []viewFormCase, epochs, restartEvery int, epoch func() []string) {
	t.Helper()
	for _, c := range cases {
		s.execAll(t, "CREATE MATERIALIZED VIEW "+c.name+" AS "+c.query)
	}
	compareViewsOverEpochs(t, s, cases, epochs, restartEvery, 0, epoch)
}

// compareViewsOverEpochs, epochs times, runs the changes epoch returns,
// flushes and compares every view of cases (which exist) with its query
// (checkView, each holding at least minRows rows); the server restarts
// after every restartEvery epochs (and the views are compared again).
func compareViewsOverEpochs(t *testing.T, s *benchStack, cases []viewFormCase, epochs, restartEvery int, minRows int64, epoch func() []string) {
	t.Helper()
	for e := 1; e <= epochs; e++ {
		s.execAll(t, append(epoch(), "FLUSH")...)
		for _, c := range cases {
			checkView(t, s, fmt.Sprintf("epoch %d", e), c.name, c.query, minRows)
		}
		if e%restartEvery == 0 {
			s.restart(t)
			for _, c := range cases {
				checkView(t, s, fmt.Sprintf("after the restart at epoch %d", e), c.name, c.query, minRows)
			}
		}
	}
}

// checkTwoPhaseViews creates every case as two views at the given
// streaming_parallelism, NAME_off with streaming_two_phase_agg off and
// NAME_on with it on, fails unless split accepts the EXPLAIN of each
// case with it on, then compares the views with their queries over 9
// epochs of the changes epoch returns, restarting after every third.
func checkTwoPhaseViews(t *testing.T, s *benchStack, cases []viewFormCase, parallelism int, split func(plan string) bool, epoch func() []string) {
	t.Helper()
	setParallel := fmt.Sprintf("SET streaming_parallelism = %d", parallelism)
	create := []string{setParallel}
	var views []viewFormCase
	for _, mode := range []string{"off", "on"} {
		create = append(create, "SET streaming_two_phase_agg = "+mode)
		for _, c := range cases {
			v := viewFormCase{c.name + "_" + mode, c.query}
			create = append(create, "CREATE MATERIALIZED VIEW "+v.name+" AS "+v.query)
			views = append(views, v)
		}
	}
	s.execAll(t, create...)
	var queries []string
	for _, c := range cases {
		queries = append(queries, c.query)
	}
	twoPhaseConn(t, s, parallelism, split, queries...).Close(t.Context())
	compareViewsOverEpochs(t, s, views, 9, 3, 1, epoch)
}

// twoPhaseConn connects with streaming_two_phase_agg on at the given
// streaming_parallelism and fails unless split accepts the EXPLAIN of a
// view of each of queries.
func twoPhaseConn(t *testing.T, s *benchStack, parallelism int, split func(plan string) bool, queries ...string) *pgx.Conn {
	t.Helper()
	conn := s.connect(t)
	execAll(t, conn, fmt.Sprintf("SET streaming_parallelism = %d", parallelism), "SET streaming_two_phase_agg = on")
	for _, q := range queries {
		if plan := explain(t, conn, "CREATE MATERIALIZED VIEW x AS "+q); !split(plan) {
			t.Fatalf("%s is not split as it should be:\n%s", q, plan)
		}
	}
	return conn
}
