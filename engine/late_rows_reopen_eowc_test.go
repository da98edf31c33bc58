package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"streamsql/engine"
)

// reopenRef is the reference for an EMIT ON WINDOW CLOSE view WITH
// (late_rows = 'reopen'): windows of size sizeS seconds starting every
// slideS seconds, grouped by k, counting rows and summing v. A window is
// shown once the declared watermark (the largest ts so far less wmLagS)
// reaches its end, with every row that reached it; a row behind the
// declared watermark less latenessS is late and changes nothing.
type reopenRef struct {
	sizeS, slideS, wmLagS, latenessS int64
	declared                         int64
	hasWM                            bool
	late                             int
	reopened                         int                // rows that changed a window already shown
	n, sum                           map[[2]int64]int64 // (k, window start) -> count, sum
}

func newReopenRef(size, slide, wmLag, lateness int64) *reopenRef {
	return &reopenRef{sizeS: size, slideS: slide, wmLagS: wmLag, latenessS: lateness, n: map[[2]int64]int64{}, sum: map[[2]int64]int64{}}
}

// batch takes one INSERT of rows (k, ts seconds, v), as one chunk: rows
// behind the lowered watermark before it are late, then the watermark
// moves to the largest ts of the rest.
func (r *reopenRef) batch(rows [][3]int64) {
	maxTS, any := int64(0), false
	for _, row := range rows {
		k, ts, v := row[0], row[1], row[2]
		if r.hasWM && ts < r.declared-r.latenessS {
			r.late++
			continue
		}
		r.add(k, ts, v)
		if !any || ts > maxTS {
			maxTS, any = ts, true
		}
	}
	if any {
		r.see(maxTS)
	}
}

// add counts row (k, ts seconds, v) in its windows.
func (r *reopenRef) add(k, ts, v int64) {
	for s := floorDiv(ts, r.slideS) * r.slideS; s > ts-r.sizeS; s -= r.slideS {
		if r.hasWM && s+r.sizeS <= r.declared {
			r.reopened++
		}
		r.n[[2]int64{k, s}]++
		r.sum[[2]int64{k, s}] += v
	}
}

// see moves the declared watermark by a row at ts seconds.
func (r *reopenRef) see(ts int64) {
	if !r.hasWM || ts-r.wmLagS > r.declared {
		r.declared, r.hasWM = ts-r.wmLagS, true
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// rows is the view's expected content, "k window_start count sum"
// sorted.
func (r *reopenRef) rows(epoch time.Time) []string {
	var out []string
	for key, n := range r.n {
		if !r.hasWM || key[1]+r.sizeS > r.declared {
			continue // not emitted yet
		}
		out = append(out, fmt.Sprintf("%d %s %d %d", key[0], epoch.Add(time.Duration(key[1])*time.Second).Format("2006-01-02 15:04:05 -0700 MST"), n, r.sum[key]))
	}
	slices.Sort(out)
	return out
}

// total is what count(*), sum(n) over the view give: "windows rows".
func (r *reopenRef) total() string {
	var windows, rows int64
	for key, n := range r.n {
		if r.hasWM && key[1]+r.sizeS <= r.declared {
			windows, rows = windows+1, rows+n
		}
	}
	if windows == 0 {
		return "0 <nil>"
	}
	return fmt.Sprintf("%d %d", windows, rows)
}

// An EMIT ON WINDOW CLOSE view WITH (late_rows = 'reopen') over TUMBLE
// and HOP windows, in one instance, in parallel and split in two phases,
// equals the reference after every batch of random rows (some within the
// allowed lateness of windows already shown, some beyond it) and across
// restarts; its late rows are the reference's.
func TestLateRowsReopenEOWCDifferential(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 21))
	s := openStack(t, engine.Options{})
	epoch := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	const q = "SELECT k, window_start, count(*) AS n, sum(v) AS s FROM %s GROUP BY k, window_start EMIT ON WINDOW CLOSE"
	const with = " WITH (late_rows = 'reopen', allowed_lateness = '15 seconds') AS "
	views := []struct {
		name, set, src string
		ref            *reopenRef
	}{
		{"r_tumble1", "SET streaming_parallelism = 1", "TUMBLE(ev, ts, INTERVAL '10' SECOND)", newReopenRef(10, 10, 2, 15)},
		{"r_hop", "SET streaming_parallelism = 2", "HOP(ev, ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND)", newReopenRef(10, 5, 2, 15)},
		{"r_tumble2p", "SET streaming_two_phase_agg = 'on'", "TUMBLE(ev, ts, INTERVAL '10' SECOND)", newReopenRef(10, 10, 2, 15)},
	}
	conn := s.connect(t)
	execAll(t, conn, "CREATE TABLE ev (id bigint PRIMARY KEY, k bigint, v bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) APPEND ONLY")
	for _, v := range views {
		execAll(t, conn, v.set, "CREATE MATERIALIZED VIEW "+v.name+with+fmt.Sprintf(q, v.src),
			// over the view's changes: a row emitted twice counts twice
			"CREATE MATERIALIZED VIEW "+v.name+"_total AS SELECT count(*) AS windows, sum(n)::bigint AS n FROM "+v.name)
	}
	conn.Close(context.Background())

	check := func(when string) {
		t.Helper()
		c := s.connect(t)
		defer c.Close(context.Background())
		for _, v := range views {
			got := queryStrings(t, c, "SELECT k, window_start, n, s::bigint FROM "+v.name+" ORDER BY 1, 2")
			slices.Sort(got)
			if want := v.ref.rows(epoch); !slices.Equal(got, want) {
				t.Fatalf("%s: %s\n got %q\nwant %q", when, v.name, got, want)
			}
			total := strings.Join(queryStrings(t, c, "SELECT windows, n FROM "+v.name+"_total"), "; ")
			if wantTotal := v.ref.total(); total != wantTotal {
				t.Fatalf("%s: %s_total is %s, want %s", when, v.name, total, wantTotal)
			}
			if late := lateRowsOf(t, s, v.name); len(late) != v.ref.late {
				t.Fatalf("%s: %s has %d late rows, want %d", when, v.name, len(late), v.ref.late)
			}
		}
	}
	id, now := int64(0), int64(0)
	for b := range 40 {
		var rows [][3]int64
		var vals []string
		for range 1 + rng.IntN(6) {
			id++
			ts := now + rng.Int64N(40) - 30 // mostly behind the newest row: within the lateness or beyond
			if rng.IntN(3) == 0 {
				now += rng.Int64N(6)
				ts = now
			}
			row := [3]int64{rng.Int64N(2), ts, rng.Int64N(100)}
			rows = append(rows, row)
			vals = append(vals, fmt.Sprintf("(%d, %d, %d, '%s')", id, row[0], row[2], epoch.Add(time.Duration(ts)*time.Second).Format("2006-01-02 15:04:05")))
		}
		for _, v := range views {
			v.ref.batch(rows)
		}
		s.execAll(t, "INSERT INTO ev VALUES "+strings.Join(vals, ", "), "FLUSH")
		check(fmt.Sprintf("batch %d", b))
		if b%13 == 12 {
			s.restart(t)
			s.execAll(t, "FLUSH")
			check(fmt.Sprintf("restart after batch %d", b))
		}
	}
	for _, v := range views {
		if v.ref.late == 0 || v.ref.reopened == 0 {
			t.Fatalf("%s: %d late rows, %d rows into shown windows: the random rows missed a case", v.name, v.ref.late, v.ref.reopened)
		}
	}
}

// The EMIT ON WINDOW CLOSE example of docs/streaming.md gives the results
// shown.
func TestDocsLateRowsReopenEOWCExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "#### Allowed lateness with EMIT ON WINDOW CLOSE")
}
