package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"streamsql/internal/testserver"
)

// TestLateRowsReopenEOWCKill9 kills streamsqld (a subprocess, with a
// state memory budget small enough that the aggregations evict groups
// and read them back) with SIGKILL while EMIT ON WINDOW CLOSE views WITH
// (late_rows = 'reopen') take rows into windows they showed already,
// within the allowed lateness, and rows beyond it, and starts it again
// each time. After each restart every view equals the reference over all
// rows so far: each window shown once, every correction a retraction and
// a new row (a view over each view's changes counts windows and rows),
// every late row kept once in late_rows, nothing lost or doubled.
//
// Which rows are late does not depend on how the rows reach the views
// (a restart replays them in other chunks): a row is either within the
// lateness of the newest row inserted before it, or behind the lowered
// watermark of the rows a completed FLUSH covered.
//
// The normal run kills 4 times; set STREAMSQL_REOPEN_CRASH=long for 20.
func TestLateRowsReopenEOWCKill9(t *testing.T) {
	kills, perRound := 4, 40
	if os.Getenv("STREAMSQL_REOPEN_CRASH") == "long" {
		kills, perRound = 20, 80
	}
	srv := testserver.StartBuilt(t, "warn", "-state-memory", "4KB")
	ctx := context.Background()
	seed := reopenSeed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	epoch := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	const (
		lag, lateness = 2, 15
		with          = " WITH (late_rows = 'reopen', allowed_lateness = '15 seconds') AS "
	)
	views := []*reopenView{
		{"r_tumble1", "SET streaming_parallelism = 1", reopenWindowQuery, "TUMBLE(ev, ts, INTERVAL '10' SECOND)", reopenWindowCols, newReopenRef(10, 10, lag, lateness)},
		{"r_hop", "SET streaming_parallelism = 2", reopenWindowQuery, "HOP(ev, ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND)", reopenWindowCols, newReopenRef(10, 5, lag, lateness)},
		{"r_tumble2p", "SET streaming_two_phase_agg = 'on'", reopenWindowQuery, "TUMBLE(ev, ts, INTERVAL '10' SECOND)", reopenWindowCols, newReopenRef(10, 10, lag, lateness)},
		{"r_session", "SET streaming_parallelism = 2", reopenSessionQuery, "SESSION(ev, ts, INTERVAL '3' SECOND)", reopenSessionCols, newSessionRef(3, lag, lateness)},
	}
	conn := srv.Dial(t)
	execAll(t, conn, "CREATE TABLE ev (id bigint PRIMARY KEY, k bigint, v bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) APPEND ONLY")
	for _, v := range views {
		execAll(t, conn, v.set, "CREATE MATERIALIZED VIEW "+v.name+with+fmt.Sprintf(v.q, v.src),
			// over the view's changes: a row shown twice counts twice
			"CREATE MATERIALIZED VIEW "+v.name+"_total AS SELECT count(*) AS windows, sum(n)::bigint AS n FROM "+v.name)
	}
	conn.Close(ctx)

	check := func(when string, late []string) {
		t.Helper()
		c := srv.Dial(t)
		defer c.Close(ctx)
		execAll(t, c, "FLUSH")
		for _, v := range views {
			got := queryStrings(t, c, "SELECT "+v.cols+" FROM "+v.name)
			slices.Sort(got)
			if want := v.ref.rows(epoch); !slices.Equal(got, want) {
				t.Fatalf("%s: %s has %d rows, want %d; %s", when, v.name, len(got), len(want), firstDiff(got, want))
			}
			total := strings.Join(queryStrings(t, c, "SELECT windows, n FROM "+v.name+"_total"), "; ")
			if want := v.ref.total(); total != want {
				t.Fatalf("%s: %s_total is %s, want %s", when, v.name, total, want)
			}
			got = queryStrings(t, c, "SELECT row->>'id' FROM late_rows WHERE view_name = $1 AND event_time < watermark", v.name)
			slices.Sort(got)
			if !slices.Equal(got, late) {
				t.Fatalf("%s: %s has %d late rows, want %d; %s", when, v.name, len(got), len(late), firstDiff(got, late))
			}
		}
	}

	var (
		id, now    int64    = 0, 100 // now: the newest ts inserted
		flushed    int64    = -1     // the newest ts a completed FLUSH covered
		late       []string          // ids, sorted as strings
		reopened   int               // rows into windows shown before they came
		rows       int
		evicted    []string // state evicted before the last kill, per operator
		sortedLate = func() []string { s := slices.Clone(late); slices.Sort(s); return s }
	)
	for round := range kills {
		conn := srv.Dial(t)
		for i := range perRound {
			var vals []string
			for range 1 + rng.IntN(5) {
				id++
				k, v := rng.Int64N(3), rng.Int64N(100)
				var ts int64
				switch r := rng.IntN(10); {
				case r < 3:
					ts = now + rng.Int64N(5)
				case r < 8 || flushed < 0:
					// within the lateness of every watermark before it
					ts = now - lag - lateness + rng.Int64N(lag+lateness+1)
					if floorDiv(ts, 10)*10+10 <= flushed-lag {
						reopened++
					}
				default:
					// behind the lowered watermark of the flushed rows
					ts = flushed - lag - lateness - 1 - rng.Int64N(20)
					late = append(late, strconv.FormatInt(id, 10))
				}
				if !slices.Contains(late, strconv.FormatInt(id, 10)) {
					for _, v2 := range views {
						v2.ref.add(k, ts, v)
						v2.ref.see(ts)
					}
				}
				now = max(now, ts)
				rows++
				vals = append(vals, fmt.Sprintf("(%d, %d, %d, '%s')", id, k, v, epoch.Add(time.Duration(ts)*time.Second).Format("2006-01-02 15:04:05")))
			}
			execAll(t, conn, "INSERT INTO ev VALUES "+strings.Join(vals, ", "))
			if i%10 == 9 {
				execAll(t, conn, "FLUSH")
				flushed = now
			}
			time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		}
		if round == kills-1 {
			// Before the last kill: the aggregations have evicted state.
			execAll(t, conn, "FLUSH", "FLUSH")
			for _, op := range []string{"HashAgg", "SessionAgg"} {
				n := queryInt(t, conn, "SELECT coalesce(sum(state_evicted), 0) FROM streamsql_operator_stats WHERE job LIKE 'r\\_%' AND operator LIKE '%"+op+"%'")
				if n == 0 {
					t.Fatalf("the %s operators evicted nothing under the budget", op)
				}
				evicted = append(evicted, fmt.Sprintf("%s %d", op, n))
			}
		}
		conn.Close(ctx)
		// Kill while the views are still catching up, or a little later.
		time.Sleep(time.Duration(rng.IntN(250)) * time.Millisecond)
		srv = srv.Restart(t)
		check(fmt.Sprintf("after kill %d", round+1), sortedLate())
	}
	if reopened == 0 || len(late) == 0 {
		t.Fatalf("%d rows into shown windows, %d late rows: the random rows missed a case", reopened, len(late))
	}
	t.Logf("%d rows, %d kills, %d rows into windows already shown, %d late rows; evicted before the last kill: %s", rows, kills, reopened, len(late), strings.Join(evicted, ", "))
}
