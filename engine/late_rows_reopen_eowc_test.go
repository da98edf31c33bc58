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

	"streamsql/engine"
)

// reopenRef is the reference for an EMIT ON WINDOW CLOSE view WITH
// (late_rows = 'reopen') grouped by k and a window, counting rows and
// summing v: windows of size sizeS seconds starting every slideS seconds,
// or (gapS above 0) sessions of rows less than gapS seconds apart, which
// end gapS after their last row. A window is shown once the declared
// watermark (the largest ts so far less wmLagS) reaches its end, with
// every row that reached it; a row behind the declared watermark less
// latenessS is late and changes nothing.
type reopenRef struct {
	sizeS, slideS, gapS, wmLagS, latenessS int64
	declared                               int64
	hasWM                                  bool
	late                                   int
	reopened                               int        // rows that changed a window already shown
	unshown, bridged                       int        // sessions: rows that took one back, that bridged shown ones
	counted                                [][3]int64 // the rows not late: k, ts, v
}

func newReopenRef(size, slide, wmLag, lateness int64) *reopenRef {
	return &reopenRef{sizeS: size, slideS: slide, wmLagS: wmLag, latenessS: lateness}
}

func newSessionRef(gap, wmLag, lateness int64) *reopenRef {
	return &reopenRef{gapS: gap, wmLagS: wmLag, latenessS: lateness}
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
	switch {
	case !r.hasWM:
	case r.gapS == 0:
		for s := floorDiv(ts, r.slideS) * r.slideS; s > ts-r.sizeS; s -= r.slideS {
			if s+r.sizeS <= r.declared {
				r.reopened++
			}
		}
	default:
		before := r.windows()
		shown := 0 // the shown sessions the row joins, extends or bridges
		for w := range before {
			if w.k == k && w.end <= r.declared && ts > w.start-r.gapS && ts < w.end {
				shown++
			}
		}
		r.counted = append(r.counted, [3]int64{k, ts, v})
		if shown == 0 {
			return
		}
		r.reopened++
		for w := range r.windows() {
			if w.k != k || ts < w.start || ts >= w.end {
				continue
			}
			if w.end > r.declared {
				r.unshown++ // the view takes the session back for now
			}
			if _, ok := before[w]; !ok && shown > 1 {
				r.bridged++
			}
		}
		return
	}
	r.counted = append(r.counted, [3]int64{k, ts, v})
}

// see moves the declared watermark by a row at ts seconds.
func (r *reopenRef) see(ts int64) {
	if !r.hasWM || ts-r.wmLagS > r.declared {
		r.declared, r.hasWM = ts-r.wmLagS, true
	}
}

// refWindow is a window of the reference: key k, start, end (seconds).
type refWindow struct{ k, start, end int64 }

// windows is every window of the rows counted, with its count and sum.
func (r *reopenRef) windows() map[refWindow][2]int64 {
	out := map[refWindow][2]int64{}
	add := func(w refWindow, v int64) {
		a := out[w]
		out[w] = [2]int64{a[0] + 1, a[1] + v}
	}
	if r.gapS == 0 {
		for _, row := range r.counted {
			k, ts, v := row[0], row[1], row[2]
			for s := floorDiv(ts, r.slideS) * r.slideS; s > ts-r.sizeS; s -= r.slideS {
				add(refWindow{k, s, s + r.sizeS}, v)
			}
		}
		return out
	}
	rows := slices.Clone(r.counted)
	slices.SortFunc(rows, func(a, b [3]int64) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	for i := 0; i < len(rows); {
		j, last := i+1, rows[i][1]
		for j < len(rows) && rows[j][0] == rows[i][0] && rows[j][1]-last < r.gapS {
			last = rows[j][1]
			j++
		}
		w := refWindow{rows[i][0], rows[i][1], last + r.gapS}
		for _, row := range rows[i:j] {
			add(w, row[2])
		}
		i = j
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// rows is the view's expected content, "k window_start count sum" (with
// window_end after window_start for sessions) sorted.
func (r *reopenRef) rows(epoch time.Time) []string {
	var out []string
	at := func(s int64) string {
		return epoch.Add(time.Duration(s) * time.Second).Format("2006-01-02 15:04:05 -0700 MST")
	}
	for w, a := range r.windows() {
		if !r.hasWM || w.end > r.declared {
			continue // not shown yet
		}
		if r.gapS > 0 {
			out = append(out, fmt.Sprintf("%d %s %s %d %d", w.k, at(w.start), at(w.end), a[0], a[1]))
		} else {
			out = append(out, fmt.Sprintf("%d %s %d %d", w.k, at(w.start), a[0], a[1]))
		}
	}
	slices.Sort(out)
	return out
}

// total is what count(*), sum(n) over the view give: "windows rows".
func (r *reopenRef) total() string {
	var windows, rows int64
	for w, a := range r.windows() {
		if r.hasWM && w.end <= r.declared {
			windows, rows = windows+1, rows+a[0]
		}
	}
	if windows == 0 {
		return "0 <nil>"
	}
	return fmt.Sprintf("%d %d", windows, rows)
}

// reopenSeed is the seed of a random reopen test: REOPEN_SEED, to
// repeat a run, or the time.
func reopenSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("REOPEN_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (REOPEN_SEED repeats it)", seed)
	return seed
}

// reopenView is a view of a reopen differential test: its settings,
// its query (%s the input), the columns compared and its reference.
type reopenView struct {
	name, set, q, src, cols string
	ref                     *reopenRef
}

const (
	reopenWindowQuery  = "SELECT k, window_start, count(*) AS n, sum(v) AS s FROM %s GROUP BY k, window_start EMIT ON WINDOW CLOSE"
	reopenSessionQuery = "SELECT k, window_start, window_end, count(*) AS n, sum(v) AS s FROM %s GROUP BY k, window_start, window_end EMIT ON WINDOW CLOSE"
	reopenWindowCols   = "k, window_start, n, s::bigint"
	reopenSessionCols  = "k, window_start, window_end, n, s::bigint"
)

// An EMIT ON WINDOW CLOSE view WITH (late_rows = 'reopen') over TUMBLE
// and HOP windows, in one instance, in parallel and split in two phases,
// equals the reference after every batch of random rows (some within the
// allowed lateness of windows already shown, some beyond it) and across
// restarts; its late rows are the reference's.
func TestLateRowsReopenEOWCDifferential(t *testing.T) {
	runReopenDifferential(t, []*reopenView{
		{"r_tumble1", "SET streaming_parallelism = 1", reopenWindowQuery, "TUMBLE(ev, ts, INTERVAL '10' SECOND)", reopenWindowCols, newReopenRef(10, 10, 2, 15)},
		{"r_hop", "SET streaming_parallelism = 2", reopenWindowQuery, "HOP(ev, ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND)", reopenWindowCols, newReopenRef(10, 5, 2, 15)},
		{"r_tumble2p", "SET streaming_two_phase_agg = 'on'", reopenWindowQuery, "TUMBLE(ev, ts, INTERVAL '10' SECOND)", reopenWindowCols, newReopenRef(10, 10, 2, 15)},
	}, 40, 2, func(rng *rand.Rand, now *int64) int64 {
		ts := *now + rng.Int64N(40) - 30 // mostly behind the newest row: within the lateness or beyond
		if rng.IntN(3) == 0 {
			*now += rng.Int64N(6)
			ts = *now
		}
		return ts
	})
}

// The same for SESSION windows: a row within the lateness joins a
// session shown, extends it (past the watermark again: the view takes it
// back until the watermark passes its new end) or bridges it with
// others (the view takes back the sessions merged away).
func TestLateRowsReopenEOWCSessionDifferential(t *testing.T) {
	runReopenDifferential(t, []*reopenView{
		{"r_session1", "SET streaming_parallelism = 1", reopenSessionQuery, "SESSION(ev, ts, INTERVAL '3' SECOND)", reopenSessionCols, newSessionRef(3, 2, 15)},
		{"r_session2", "SET streaming_parallelism = 2", reopenSessionQuery, "SESSION(ev, ts, INTERVAL '3' SECOND)", reopenSessionCols, newSessionRef(3, 2, 15)},
	}, 80, 3, func(rng *rand.Rand, now *int64) int64 {
		switch rng.IntN(8) {
		case 0, 1:
			*now += rng.Int64N(8)
			return *now
		case 2, 3:
			return *now - 2 - rng.Int64N(4) // just behind the watermark
		}
		return *now - rng.Int64N(25) // within the lateness or beyond
	})
}

// runReopenDifferential creates views over a table ev (id, k, v, ts with
// a watermark 2 seconds behind), inserts batches of random rows (k below
// keys, ts from next), and checks the views against their
// references after each batch and after restarts.
func runReopenDifferential(t *testing.T, views []*reopenView, batches int, keys int64, next func(rng *rand.Rand, now *int64) int64) {
	seed := reopenSeed(t)
	rng := rand.New(rand.NewPCG(seed, 21))
	s := openStack(t, engine.Options{})
	epoch := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	const with = " WITH (late_rows = 'reopen', allowed_lateness = '15 seconds') AS "
	conn := s.connect(t)
	execAll(t, conn, "CREATE TABLE ev (id bigint PRIMARY KEY, k bigint, v bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) APPEND ONLY")
	for _, v := range views {
		execAll(t, conn, v.set, "CREATE MATERIALIZED VIEW "+v.name+with+fmt.Sprintf(v.q, v.src),
			// over the view's changes: a row emitted twice counts twice
			"CREATE MATERIALIZED VIEW "+v.name+"_total AS SELECT count(*) AS windows, sum(n)::bigint AS n FROM "+v.name)
	}
	conn.Close(context.Background())

	check := func(when string) {
		t.Helper()
		c := s.connect(t)
		defer c.Close(context.Background())
		for _, v := range views {
			got := queryStrings(t, c, "SELECT "+v.cols+" FROM "+v.name)
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
	for b := range batches {
		var rows [][3]int64
		var vals []string
		for range 1 + rng.IntN(6) {
			id++
			row := [3]int64{rng.Int64N(keys), next(rng, &now), rng.Int64N(100)}
			rows = append(rows, row)
			vals = append(vals, fmt.Sprintf("(%d, %d, %d, '%s')", id, row[0], row[2], epoch.Add(time.Duration(row[1])*time.Second).Format("2006-01-02 15:04:05")))
		}
		for _, v := range views {
			v.ref.batch(rows)
		}
		if os.Getenv("REOPEN_DEBUG") != "" {
			t.Logf("batch %d: rows %v declared %d", b, rows, views[0].ref.declared)
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
		if v.ref.gapS > 0 && (v.ref.unshown == 0 || v.ref.bridged == 0) {
			t.Fatalf("%s: %d rows extended a shown session past the watermark, %d bridged shown sessions: the random rows missed a case", v.name, v.ref.unshown, v.ref.bridged)
		}
		t.Logf("%s: %d late rows, %d rows into shown windows (%d extending a session past the watermark, %d bridging sessions)", v.name, v.ref.late, v.ref.reopened, v.ref.unshown, v.ref.bridged)
	}
}

// The EMIT ON WINDOW CLOSE example of docs/streaming.md gives the results
// shown.
func TestDocsLateRowsReopenEOWCExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "#### Allowed lateness with EMIT ON WINDOW CLOSE")
}

// The SESSION example of docs/streaming.md gives the results shown.
func TestDocsLateRowsReopenEOWCSessionExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "#### Sessions with allowed lateness and EMIT ON WINDOW CLOSE")
}

// The UNION ALL example of docs/streaming.md gives the results shown.
func TestDocsLateRowsReopenEOWCUnionExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "#### Allowed lateness behind unions and joins")
}
