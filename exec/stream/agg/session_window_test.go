package agg

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// Input of the session tests: k int, ts timestamp, v int, f bool.
var sessionTestIn = []types.T{types.TInt8, types.TTimestamp, types.TInt4, types.TBool}

const sessionTestGap = 5 * 60 * 1_000_000 // 5 minutes

var sessionTestBase = time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC).UnixMicro()

// sessionTestSpec groups by k, window_start, window_end and computes
// count(*), sum(v), max(v), count(v) FILTER (WHERE f).
func sessionTestSpec(t testing.TB, appendOnly, eoc bool) *SessionAggSpec {
	return &SessionAggSpec{PartCols: []int{0}, TSCol: 1, Gap: sessionTestGap,
		Group: []int{0, SessionStartCol, SessionEndCol},
		Aggs: []batch.AggSpec{
			streamtest.AggCall(t, "count", nil, nil),
			streamtest.AggCall(t, "sum", []int{2}, []types.T{types.TInt4}),
			streamtest.AggCall(t, "max", []int{2}, []types.T{types.TInt4}),
			hashAggFiltered(streamtest.AggCall(t, "count", []int{2}, []types.T{types.TInt4}), 3),
		},
		AppendOnly: appendOnly, EmitOnClose: eoc}
}

func sessionTestOpen(t testing.TB, spec *SessionAggSpec, env *stream.Env) (stream.Operator, *streamtest.Sink) {
	t.Helper()
	return aggTestOpen(t, env, spec, []types.T{types.TInt8, types.TTimestamp, types.TTimestamp}, spec.Aggs, []string{"rows", "meta"}, sessionTestIn)
}

// sessionTestRow is one input row; minute < 0 is a NULL time, v < 0 NULL.
type sessionTestRow struct {
	k, minute, v int
	f            bool
}

func (r sessionTestRow) datums() []types.Datum {
	var ts, v types.Datum
	if r.minute >= 0 {
		ts = types.Timestamp(sessionTestBase + int64(r.minute)*60_000_000)
	}
	if r.v >= 0 {
		v = int64(r.v)
	}
	return streamtest.Row(int64(r.k), ts, v, r.f)
}

// sessionTestExpect computes the sessions of live rows by brute force, in
// the sink's row format (without op).
func sessionTestExpect(live []sessionTestRow) []string {
	byK := map[int][]sessionTestRow{}
	for _, r := range live {
		if r.minute >= 0 {
			byK[r.k] = append(byK[r.k], r)
		}
	}
	ts := func(us int64) string { return types.FormatText(types.Timestamp(us), types.TTimestamp, time.UTC) }
	var out []string
	for k, rows := range byK {
		sort.Slice(rows, func(i, j int) bool { return rows[i].minute < rows[j].minute })
		for lo := 0; lo < len(rows); {
			hi := lo + 1
			for hi < len(rows) && int64(rows[hi].minute-rows[hi-1].minute)*60_000_000 < sessionTestGap {
				hi++
			}
			n, sum, mx, cf, nv := 0, 0, -1, 0, 0
			for _, r := range rows[lo:hi] {
				n++
				if r.v >= 0 {
					sum += r.v
					nv++
					mx = max(mx, r.v)
					if r.f {
						cf++
					}
				}
			}
			sumS, mxS := "NULL", "NULL"
			if nv > 0 {
				sumS, mxS = fmt.Sprint(sum), fmt.Sprint(mx)
			}
			start := sessionTestBase + int64(rows[lo].minute)*60_000_000
			end := sessionTestBase + int64(rows[hi-1].minute)*60_000_000 + sessionTestGap
			out = append(out, fmt.Sprintf("%d %s %s %d %s %s %d", k, ts(start), ts(end), n, sumS, mxS, cf))
			lo = hi
		}
	}
	sort.Strings(out)
	return out
}

// TestSessionAggRandomChanges applies random inserts, deletes and updates
// (merging, splitting and removing sessions) and checks after every
// barrier that the output equals the sessions recomputed from scratch.
// Halfway it crashes with uncommitted changes and restarts from the last
// committed epoch.
func TestSessionAggRandomChanges(t *testing.T) {
	env, db := streamtest.Env(t)
	sessionRandomRun(t, env, db, 7, 3, 300, 150, nil)
}

// sessionRandomRun applies random changes over keys partitions for epochs
// epochs and checks the output after every barrier; at epoch crashAt it
// crashes with uncommitted changes and restarts from the last committed
// epoch (with the state budget mem() when mem is not nil).
func sessionRandomRun(t *testing.T, env *stream.Env, db *pebble.DB, seed int64, keys, epochs, crashAt int,
	mem func() *stream.StateMemory) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	var committed uint64
	env.Committed = func() uint64 { return committed }
	spec := sessionTestSpec(t, false, false)
	op, s := sessionTestOpen(t, spec, env)
	var live, committedLive []sessionTestRow
	var emitted, committedEmitted []string
	randRow := func() sessionTestRow {
		r := sessionTestRow{k: 1 + rng.Intn(keys), minute: rng.Intn(60), v: rng.Intn(10), f: rng.Intn(2) == 0}
		if rng.Intn(20) == 0 {
			r.minute = -1
		}
		if rng.Intn(10) == 0 {
			r.v = -1
		}
		return r
	}
	for epoch := uint64(1); epoch <= uint64(epochs); epoch++ {
		var ops []stream.Op
		var rows [][]types.Datum
		for n := 1 + rng.Intn(8); n > 0; n-- {
			switch x := rng.Intn(10); {
			case x < 5 || len(live) == 0:
				r := randRow()
				live = append(live, r)
				ops, rows = append(ops, stream.Insert), append(rows, r.datums())
			case x < 8:
				i := rng.Intn(len(live))
				ops, rows = append(ops, stream.Delete), append(rows, live[i].datums())
				live = slices.Delete(live, i, i+1)
			default:
				i := rng.Intn(len(live))
				r := randRow()
				ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, live[i].datums(), r.datums())
				live[i] = r
			}
		}
		if err := op.Chunk(0, streamtest.ChunkOf(sessionTestIn, ops, rows...)); err != nil {
			t.Fatal(err)
		}
		emitted = append(emitted, s.Take()...)
		if epoch == uint64(crashAt) {
			// Crash before the barrier: the chunk is lost and the
			// operator restarts from the epoch before.
			live, emitted = slices.Clone(committedLive), slices.Clone(committedEmitted)
			env2 := *env
			env2.Fresh = false
			if mem != nil {
				env2.Memory = mem()
			}
			op, s = sessionTestOpen(t, spec, &env2)
			continue
		}
		streamtest.Barrier(t, op, db, epoch)
		committed = epoch
		emitted = append(emitted, s.Take()...)
		got := s.Contents(t, emitted)
		want := sessionTestExpect(live)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("epoch %d: view\n%s\nwant\n%s", epoch, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		committedLive, committedEmitted = slices.Clone(live), slices.Clone(emitted)
	}
}

// TestSessionAggChangesInOneEpoch checks the emitted changes of a merge:
// the deletes of both old sessions come before the insert of the merged
// one, and an unchanged session emits nothing.
func TestSessionAggChangesInOneEpoch(t *testing.T) {
	env, db := streamtest.Env(t)
	op, s := sessionTestOpen(t, sessionTestSpec(t, false, false), env)
	push := func(ops []stream.Op, rs ...sessionTestRow) {
		t.Helper()
		var rows [][]types.Datum
		for _, r := range rs {
			rows = append(rows, r.datums())
		}
		if err := op.Chunk(0, streamtest.ChunkOf(sessionTestIn, ops, rows...)); err != nil {
			t.Fatal(err)
		}
	}
	push([]stream.Op{stream.Insert, stream.Insert, stream.Insert}, sessionTestRow{1, 0, 1, true}, sessionTestRow{1, 8, 2, true}, sessionTestRow{2, 0, 3, false})
	streamtest.Barrier(t, op, db, 1)
	if got := s.Take(); len(got) != 3 {
		t.Fatalf("first epoch: %q", got)
	}
	push([]stream.Op{stream.Insert}, sessionTestRow{1, 4, 5, false})
	streamtest.Barrier(t, op, db, 2)
	want := []string{
		"- 1 2024-01-01 10:08:00 2024-01-01 10:13:00 1 2 2 1", // merged away
		"- 1 2024-01-01 10:00:00 2024-01-01 10:05:00 1 1 1 1",
		"+ 1 2024-01-01 10:00:00 2024-01-01 10:13:00 3 8 5 2",
	}
	if got := s.Take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("merge emitted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Insert and delete the same row in one epoch: nothing to emit.
	push([]stream.Op{stream.Insert, stream.Delete}, sessionTestRow{1, 5, 9, false}, sessionTestRow{1, 5, 9, false})
	streamtest.Barrier(t, op, db, 3)
	if got := s.Take(); len(got) != 0 {
		t.Fatalf("no-op epoch emitted %q", got)
	}
}

// TestSessionAggEmitOnClose checks that with EmitOnClose each session is
// emitted once when the watermark passes its end, that its state is then
// deleted, that late rows are dropped and counted, and that the watermark
// survives a restart.
func TestSessionAggEmitOnClose(t *testing.T) {
	env, db := streamtest.Env(t)
	spec := sessionTestSpec(t, true, true)
	op, s := sessionTestOpen(t, spec, env)
	push := func(op stream.Operator, rs ...sessionTestRow) {
		t.Helper()
		var rows [][]types.Datum
		ops := make([]stream.Op, len(rs))
		for _, r := range rs {
			rows = append(rows, r.datums())
		}
		if err := op.Chunk(0, streamtest.ChunkOf(sessionTestIn, ops, rows...)); err != nil {
			t.Fatal(err)
		}
	}
	wm := func(op stream.Operator, minute int) {
		t.Helper()
		if err := op.Watermark(0, stream.Watermark{Col: 1, Val: types.Timestamp(sessionTestBase + int64(minute)*60_000_000)}); err != nil {
			t.Fatal(err)
		}
	}
	push(op, sessionTestRow{1, 0, 1, true}, sessionTestRow{1, 3, 2, true}, sessionTestRow{2, 4, 7, false})
	wm(op, 7) // user 1's session ends at 10:08
	streamtest.Barrier(t, op, db, 1)
	if got := s.Take(); len(got) != 0 {
		t.Fatalf("emitted before close: %q", got)
	}
	if n := streamtest.StateRows(t, db, 1); n != 3 {
		t.Fatalf("%d state rows, want 3", n)
	}
	wm(op, 8)
	want := "+ 1 2024-01-01 10:00:00 2024-01-01 10:08:00 2 3 2 2"
	if got := s.Take(); len(got) != 1 || got[0] != want {
		t.Fatalf("at close: %q, want %q", got, want)
	}
	if len(s.WMs) == 0 || s.WMs[len(s.WMs)-1].Col != 2 {
		t.Fatalf("watermark not forwarded on window_end: %v", s.WMs)
	}
	streamtest.Barrier(t, op, db, 2)
	if n := streamtest.StateRows(t, db, 1); n != 1 {
		t.Fatalf("%d state rows after close, want 1", n)
	}

	// Restart: the watermark is restored, so a row behind it is late.
	env2 := *env
	env2.Fresh = false
	op, s = sessionTestOpen(t, spec, &env2)
	push(op, sessionTestRow{1, 2, 100, true}, sessionTestRow{2, 8, 1, true})
	if got := env.Stats.LateRows.Load(); got != 1 {
		t.Fatalf("late rows %d, want 1", got)
	}
	wm(op, 13) // user 2's session (10:04, 10:08) ends at 10:13
	want = "+ 2 2024-01-01 10:04:00 2024-01-01 10:13:00 2 8 7 1"
	if got := s.Take(); len(got) != 1 || got[0] != want {
		t.Fatalf("after restart: %q, want %q", got, want)
	}
	streamtest.Barrier(t, op, db, 3)
	if n := streamtest.StateRows(t, db, 1); n != 0 {
		t.Fatalf("%d state rows at the end, want 0", n)
	}
}

// TestSessionAggWatermarkRetracting checks that without EmitOnClose a
// closing session emits its pending change at the watermark and is freed,
// while open sessions still take retractions.
func TestSessionAggWatermarkRetracting(t *testing.T) {
	env, db := streamtest.Env(t)
	op, s := sessionTestOpen(t, sessionTestSpec(t, false, false), env)
	rows := []sessionTestRow{{1, 0, 1, true}, {1, 20, 2, true}, {1, 22, 3, true}}
	var ds [][]types.Datum
	for _, r := range rows {
		ds = append(ds, r.datums())
	}
	if err := op.Chunk(0, streamtest.ChunkOf(sessionTestIn, []stream.Op{stream.Insert, stream.Insert, stream.Insert}, ds...)); err != nil {
		t.Fatal(err)
	}
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: types.Timestamp(sessionTestBase + 10*60_000_000)}); err != nil {
		t.Fatal(err)
	}
	if got := s.Take(); len(got) != 1 || !strings.HasPrefix(got[0], "+ 1 2024-01-01 10:00:00") {
		t.Fatalf("at watermark: %q", got)
	}
	if err := op.Chunk(0, streamtest.ChunkOf(sessionTestIn, []stream.Op{stream.Delete}, rows[2].datums())); err != nil {
		t.Fatal(err)
	}
	streamtest.Barrier(t, op, db, 1)
	want := []string{"+ 1 2024-01-01 10:20:00 2024-01-01 10:25:00 1 2 2 1"}
	if got := s.Take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("at barrier: %q, want %q", got, want)
	}
	if n := streamtest.StateRows(t, db, 1); n != 1 {
		t.Fatalf("%d state rows, want 1", n)
	}
}

// TestSessionAggCloseOnce checks that a session changed again after a
// watermark, without moving its last time, is closed once: emitted once,
// and its aggregate slot freed once (a slot freed twice would be shared
// by two later sessions).
func TestSessionAggCloseOnce(t *testing.T) {
	env, db := streamtest.Env(t)
	op, s := sessionTestOpen(t, sessionTestSpec(t, true, true), env)
	push := func(rs ...sessionTestRow) { t.Helper(); sessionTestInsert(t, op, rs...) }
	wm := func(minute int) {
		t.Helper()
		if err := op.Watermark(0, stream.Watermark{Col: 1, Val: types.Timestamp(sessionTestBase + int64(minute)*60_000_000)}); err != nil {
			t.Fatal(err)
		}
	}
	push(sessionTestRow{1, 0, 1, true}, sessionTestRow{1, 3, 2, true})
	wm(1)
	push(sessionTestRow{1, 2, 4, true}) // within the session: its last time stays
	wm(2)
	wm(10)
	push(sessionTestRow{1, 20, 8, true}, sessionTestRow{2, 21, 16, true})
	wm(40)
	streamtest.Barrier(t, op, db, 1)
	want := []string{
		"+ 1 2024-01-01 10:00:00 2024-01-01 10:08:00 3 7 4 3",
		"+ 1 2024-01-01 10:20:00 2024-01-01 10:25:00 1 8 8 1",
		"+ 2 2024-01-01 10:21:00 2024-01-01 10:26:00 1 16 16 1",
	}
	got := s.Take()
	slices.Sort(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("emitted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// sessionTestInsert sends rs to op as one chunk of inserts.
func sessionTestInsert(t *testing.T, op stream.Operator, rs ...sessionTestRow) {
	t.Helper()
	var rows [][]types.Datum
	for _, r := range rs {
		rows = append(rows, r.datums())
	}
	if err := op.Chunk(0, streamtest.ChunkOf(sessionTestIn, make([]stream.Op, len(rs)), rows...)); err != nil {
		t.Fatal(err)
	}
}
