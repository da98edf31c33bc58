package stream_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// idleMinute is minute 10 in microseconds: the test rows' time and the
// origin of the watermarks openIdleFilter's barrier shows.
const idleMinute = int64(10 * 60_000_000)

// openIdleFilter opens a watermark filter with an idle timeout of one
// second over (bigint, timestamp) rows. barrier runs a barrier at epoch
// time after past a fixed start and returns the watermarks sent since
// the last one, as "value/idle" in microseconds after minute 10 ("<nil>"
// for an idle mark).
func openIdleFilter(t *testing.T) (*stream.Env, stream.Operator, *streamtest.Sink, func(after time.Duration) string) {
	ts := []types.T{types.TInt8, types.TTimestamp}
	env, db := streamtest.Env(t)
	spec := &stream.WatermarkFilterSpec{Col: 1, Expr: &expr.ColRef{Idx: 1, T: types.TTimestamp}, Type: types.TTimestamp, IdleTimeout: time.Second}
	s := &streamtest.Sink{Types: ts}
	op := streamtest.Open(t, env, spec, &stream.Node{Spec: spec, Types: ts, StateTables: []string{"wm"}}, s, &stream.Node{Types: ts})
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	epoch := uint64(0)
	barrier := func(after time.Duration) string {
		t.Helper()
		epoch++
		b := &stream.Barrier{Epoch: epoch, Time: t0.Add(after), Writes: db.NewBatch()}
		if err := op.Barrier(b); err != nil {
			t.Fatal(err)
		}
		if err := b.Writes.Commit(nil); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range s.WMs {
			v := "<nil>"
			if w.Val != nil {
				v = fmt.Sprint(int64(w.Val.(types.Timestamp)) - idleMinute)
			}
			out = append(out, v+"/"+fmt.Sprint(w.Idle))
		}
		s.WMs = nil
		return strings.Join(out, " ")
	}
	return env, op, s, barrier
}

// TestWatermarkFilterIdleTimeout: once no row came for the idle timeout,
// measured in epoch times, the filter's watermark moves on by the epoch
// time passed since the last epoch with a row, marked idle; a row behind
// it is late, and a row ahead of it moves it as always.
func TestWatermarkFilterIdleTimeout(t *testing.T) {
	env, op, s, barrier := openIdleFilter(t)
	ts := s.Types
	row := func(id, us int64) {
		t.Helper()
		c := streamtest.ChunkOf(ts, []stream.Op{stream.Insert}, streamtest.Row(id, types.Timestamp(idleMinute+us)))
		if err := op.Chunk(0, c); err != nil {
			t.Fatal(err)
		}
	}
	barrier(0)
	row(1, 0)
	// Watermarks are shown in microseconds after minute 10.
	for _, c := range []struct {
		after time.Duration
		want  string
	}{
		{100 * time.Millisecond, "0/false"}, // the row's watermark, sent with the row
		{600 * time.Millisecond, ""},        // quiet for 0.5 s
		{1600 * time.Millisecond, "1500000/true"},
		{2600 * time.Millisecond, "2500000/true"},
	} {
		if got := barrier(c.after); got != c.want {
			t.Fatalf("barrier at +%v: watermarks %q, want %q", c.after, got, c.want)
		}
	}
	s.Take()
	row(2, 2_000_000) // behind 2.5 s: late
	row(3, 3_000_000)
	if got := s.Take(); len(got) != 1 || !strings.HasPrefix(got[0], "+ 3 ") {
		t.Fatalf("rows passed %q, want only row 3", got)
	}
	if n := env.Stats.LateRows.Load(); n != 1 {
		t.Fatalf("%d late rows, want 1", n)
	}
	// Row 3 moved the watermark; the idle clock starts again.
	if got := barrier(2700 * time.Millisecond); got != "3000000/false" {
		t.Fatalf("after row 3: watermarks %q", got)
	}
	if got := barrier(3500 * time.Millisecond); got != "" {
		t.Fatalf("0.8 s after row 3: watermarks %q, want none", got)
	}
	if got := barrier(3800 * time.Millisecond); got != "4100000/true" {
		t.Fatalf("1.1 s after row 3: watermarks %q, want 3 s + 1.1 s", got)
	}
}

// TestWatermarkFilterIdleMark: an input that never brought a row has no
// watermark to move on; once idle for the timeout the filter sends one
// idle mark (no value), and a row later starts watermarks as always.
func TestWatermarkFilterIdleMark(t *testing.T) {
	_, op, s, barrier := openIdleFilter(t)
	ts := s.Types
	for _, c := range []struct {
		after time.Duration
		want  string
	}{
		{0, ""},
		{600 * time.Millisecond, ""},
		{1200 * time.Millisecond, "<nil>/true"}, // idle for 1.2 s: the mark
		{2600 * time.Millisecond, ""},           // once
	} {
		if got := barrier(c.after); got != c.want {
			t.Fatalf("barrier at +%v: watermarks %q, want %q", c.after, got, c.want)
		}
	}
	c := streamtest.ChunkOf(ts, []stream.Op{stream.Insert}, streamtest.Row(int64(1), types.Timestamp(idleMinute+5_000_000)))
	if err := op.Chunk(0, c); err != nil {
		t.Fatal(err)
	}
	if got := barrier(2700 * time.Millisecond); got != "5000000/false" {
		t.Fatalf("after the first row: watermarks %q, want the row's", got)
	}
	if got := barrier(3800 * time.Millisecond); got != "6100000/true" {
		t.Fatalf("idle after the first row: watermarks %q, want it moved on by 1.1 s", got)
	}
}
