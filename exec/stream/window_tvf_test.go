package stream_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

var wtvfIn = []types.T{types.TInt8, types.TTimestamp}

func wtvfTS(t *testing.T, s string) types.Datum {
	t.Helper()
	if s == "NULL" {
		return nil
	}
	d, err := types.ParseText(s, types.TTimestamp, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wtvfBuild builds spec over a (k bigint, ts timestamp) input into a sink.
func wtvfBuild(t *testing.T, spec *stream.WindowTVFSpec) (stream.Operator, *streamtest.Sink) {
	t.Helper()
	env, _ := streamtest.Env(t)
	in := &stream.Node{Types: wtvfIn, StreamKey: []int{0}}
	out := append(append([]types.T{}, wtvfIn...), types.TTimestamp, types.TTimestamp)
	node := &stream.Node{Spec: spec, Inputs: []*stream.Node{in}, Types: out, StreamKey: spec.OutputKey(in.StreamKey, 2)}
	s := &streamtest.Sink{Types: out}
	op := streamtest.Open(t, env, spec, node, s, in)
	return op, s
}

// wtvfChunk builds a chunk of (k, ts) rows: "op k ts" entries.
func wtvfChunk(t *testing.T, entries ...string) *stream.Chunk {
	t.Helper()
	var ops []stream.Op
	var rows [][]types.Datum
	for _, e := range entries {
		f := strings.SplitN(e, " ", 3)
		var k int64
		fmt.Sscan(f[1], &k)
		op := map[string]stream.Op{"+": stream.Insert, "-": stream.Delete, "U-": stream.UpdateDelete, "U+": stream.UpdateInsert}[f[0]]
		ops = append(ops, op)
		rows = append(rows, streamtest.Row(k, wtvfTS(t, f[2])))
	}
	return streamtest.ChunkOf(wtvfIn, ops, rows...)
}

// wtvfCheckPairs asserts the changelog invariant: every U- is directly
// followed by a U+ with the same stream key (key: output column indexes).
func wtvfCheckPairs(t *testing.T, rows []string, key []int) {
	t.Helper()
	// Timestamps contain a space: split on the column separator instead.
	keyOf := func(r string) string {
		f := strings.Fields(r)[1:]
		// columns: k, ts(2 fields), start(2), end(2)
		cols := []string{f[0], strings.Join(f[1:3], " "), strings.Join(f[3:5], " "), strings.Join(f[5:7], " ")}
		var parts []string
		for _, c := range key {
			parts = append(parts, cols[c])
		}
		return strings.Join(parts, "|")
	}
	for i, r := range rows {
		if strings.HasPrefix(r, "U- ") {
			if i+1 >= len(rows) || !strings.HasPrefix(rows[i+1], "U+ ") {
				t.Fatalf("U- at %d not followed by U+: %q", i, rows[i:min(i+2, len(rows))])
			}
			if keyOf(r) != keyOf(rows[i+1]) {
				t.Fatalf("update pair changes the key: %q / %q", r, rows[i+1])
			}
		} else if strings.HasPrefix(r, "U+ ") && (i == 0 || !strings.HasPrefix(rows[i-1], "U- ")) {
			t.Fatalf("U+ at %d without U-: %q", i, rows[max(i-1, 0):i+1])
		}
	}
}

func wtvfExpect(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestWindowTVFStreamTumble(t *testing.T) {
	op, s := wtvfBuild(t, &stream.WindowTVFSpec{Kind: batch.TumbleWindow, TSCol: 1, Slide: 30 * types.MicrosPerMinute, Size: 30 * types.MicrosPerMinute})
	if err := op.Chunk(0, wtvfChunk(t,
		"+ 1 2022-01-01 10:00:00",
		"+ 2 2022-01-01 10:40:00",
		"+ 3 NULL",
		"U- 1 2022-01-01 10:00:00", "U+ 1 2022-01-01 10:20:00", // same window
		"U- 2 2022-01-01 10:40:00", "U+ 2 2022-01-01 11:05:00", // moves
		"U- 3 NULL", "U+ 3 2022-01-01 09:00:00", // gets a window
		"- 1 2022-01-01 10:20:00",
	)); err != nil {
		t.Fatal(err)
	}
	rows := s.Take()
	wtvfExpect(t, "tumble", rows,
		"+ 1 2022-01-01 10:00:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"+ 2 2022-01-01 10:40:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
		"+ 3 NULL NULL NULL",
		"U- 1 2022-01-01 10:00:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"U+ 1 2022-01-01 10:20:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"- 2 2022-01-01 10:40:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
		"+ 2 2022-01-01 11:05:00 2022-01-01 11:00:00 2022-01-01 11:30:00",
		"- 3 NULL NULL NULL",
		"+ 3 2022-01-01 09:00:00 2022-01-01 09:00:00 2022-01-01 09:30:00",
		"- 1 2022-01-01 10:20:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
	)
	wtvfExpect(t, "tumble contents", s.Contents(t, rows),
		"2 2022-01-01 11:05:00 2022-01-01 11:00:00 2022-01-01 11:30:00",
		"3 2022-01-01 09:00:00 2022-01-01 09:00:00 2022-01-01 09:30:00",
	)

	// A watermark on the time column is forwarded and translated; others
	// pass unchanged.
	wm := wtvfTS(t, "2022-01-01 10:45:00")
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: wm}); err != nil {
		t.Fatal(err)
	}
	if err := op.Watermark(0, stream.Watermark{Col: 0, Val: int64(7)}); err != nil {
		t.Fatal(err)
	}
	want := []stream.Watermark{{Col: 1, Val: wm}, {Col: 2, Val: wtvfTS(t, "2022-01-01 10:30:00")}, {Col: 3, Val: wtvfTS(t, "2022-01-01 11:00:00")}, {Col: 0, Val: int64(7)}}
	if fmt.Sprint(s.WMs) != fmt.Sprint(want) {
		t.Fatalf("watermarks %v, want %v", s.WMs, want)
	}
	env, db := streamtest.Env(t)
	_ = env
	streamtest.Barrier(t, op, db, 5)
	if fmt.Sprint(s.Barriers) != "[5]" {
		t.Fatalf("barriers %v", s.Barriers)
	}
}

// TestWindowTVFStreamHopUpdate is RisingWave's hop_window_update_10495.slt:
// an update moving a row by ten minutes leaves one window, stays in two
// and enters one.
func TestWindowTVFStreamHopUpdate(t *testing.T) {
	spec := &stream.WindowTVFSpec{Kind: batch.HopWindow, TSCol: 1, Slide: 10 * types.MicrosPerMinute, Size: 30 * types.MicrosPerMinute}
	op, s := wtvfBuild(t, spec)
	if err := op.Chunk(0, wtvfChunk(t, "+ 1 2021-01-01 10:15:00")); err != nil {
		t.Fatal(err)
	}
	if err := op.Chunk(0, wtvfChunk(t, "U- 1 2021-01-01 10:15:00", "U+ 1 2021-01-01 10:25:00", "+ 2 NULL")); err != nil {
		t.Fatal(err)
	}
	rows := s.Take()
	wtvfCheckPairs(t, rows, spec.OutputKey([]int{0}, 2))
	wtvfExpect(t, "hop", rows,
		"+ 1 2021-01-01 10:15:00 2021-01-01 09:50:00 2021-01-01 10:20:00",
		"+ 1 2021-01-01 10:15:00 2021-01-01 10:00:00 2021-01-01 10:30:00",
		"+ 1 2021-01-01 10:15:00 2021-01-01 10:10:00 2021-01-01 10:40:00",
		"- 1 2021-01-01 10:15:00 2021-01-01 09:50:00 2021-01-01 10:20:00",
		"U- 1 2021-01-01 10:15:00 2021-01-01 10:00:00 2021-01-01 10:30:00",
		"U+ 1 2021-01-01 10:25:00 2021-01-01 10:00:00 2021-01-01 10:30:00",
		"U- 1 2021-01-01 10:15:00 2021-01-01 10:10:00 2021-01-01 10:40:00",
		"U+ 1 2021-01-01 10:25:00 2021-01-01 10:10:00 2021-01-01 10:40:00",
		"+ 1 2021-01-01 10:25:00 2021-01-01 10:20:00 2021-01-01 10:50:00",
	)
	wtvfExpect(t, "hop contents", s.Contents(t, rows),
		"1 2021-01-01 10:25:00 2021-01-01 10:00:00 2021-01-01 10:30:00",
		"1 2021-01-01 10:25:00 2021-01-01 10:10:00 2021-01-01 10:40:00",
		"1 2021-01-01 10:25:00 2021-01-01 10:20:00 2021-01-01 10:50:00",
	)

	// An update from or to a NULL time is a plain delete or insert.
	if err := op.Chunk(0, wtvfChunk(t, "U- 1 2021-01-01 10:25:00", "U+ 1 NULL", "U- 2 NULL", "U+ 2 2021-01-01 10:00:00")); err != nil {
		t.Fatal(err)
	}
	rows = s.Take()
	wtvfExpect(t, "hop null updates", rows,
		"- 1 2021-01-01 10:25:00 2021-01-01 10:00:00 2021-01-01 10:30:00",
		"- 1 2021-01-01 10:25:00 2021-01-01 10:10:00 2021-01-01 10:40:00",
		"- 1 2021-01-01 10:25:00 2021-01-01 10:20:00 2021-01-01 10:50:00",
		"+ 2 2021-01-01 10:00:00 2021-01-01 09:40:00 2021-01-01 10:10:00",
		"+ 2 2021-01-01 10:00:00 2021-01-01 09:50:00 2021-01-01 10:20:00",
		"+ 2 2021-01-01 10:00:00 2021-01-01 10:00:00 2021-01-01 10:30:00",
	)

	// The watermark on window_start is the start of the earliest window
	// that contains it; on window_end that window's end.
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: wtvfTS(t, "2021-01-01 10:25:00")}); err != nil {
		t.Fatal(err)
	}
	want := []stream.Watermark{{Col: 1, Val: wtvfTS(t, "2021-01-01 10:25:00")}, {Col: 2, Val: wtvfTS(t, "2021-01-01 10:00:00")}, {Col: 3, Val: wtvfTS(t, "2021-01-01 10:30:00")}}
	if fmt.Sprint(s.WMs) != fmt.Sprint(want) {
		t.Fatalf("watermarks %v, want %v", s.WMs, want)
	}
}

func TestWindowTVFStreamCumulate(t *testing.T) {
	spec := &stream.WindowTVFSpec{Kind: batch.CumulateWindow, TSCol: 1, Slide: 10 * types.MicrosPerMinute, Size: 30 * types.MicrosPerMinute}
	op, s := wtvfBuild(t, spec)
	if err := op.Chunk(0, wtvfChunk(t,
		"+ 1 2022-01-01 10:05:00",
		"U- 1 2022-01-01 10:05:00", "U+ 1 2022-01-01 10:15:00",
		"U- 1 2022-01-01 10:15:00", "U+ 1 2022-01-01 10:35:00",
	)); err != nil {
		t.Fatal(err)
	}
	rows := s.Take()
	wtvfCheckPairs(t, rows, spec.OutputKey([]int{0}, 2))
	wtvfExpect(t, "cumulate", rows,
		"+ 1 2022-01-01 10:05:00 2022-01-01 10:00:00 2022-01-01 10:10:00",
		"+ 1 2022-01-01 10:05:00 2022-01-01 10:00:00 2022-01-01 10:20:00",
		"+ 1 2022-01-01 10:05:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"- 1 2022-01-01 10:05:00 2022-01-01 10:00:00 2022-01-01 10:10:00",
		"U- 1 2022-01-01 10:05:00 2022-01-01 10:00:00 2022-01-01 10:20:00",
		"U+ 1 2022-01-01 10:15:00 2022-01-01 10:00:00 2022-01-01 10:20:00",
		"U- 1 2022-01-01 10:05:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"U+ 1 2022-01-01 10:15:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"- 1 2022-01-01 10:15:00 2022-01-01 10:00:00 2022-01-01 10:20:00",
		"- 1 2022-01-01 10:15:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"+ 1 2022-01-01 10:35:00 2022-01-01 10:30:00 2022-01-01 10:40:00",
		"+ 1 2022-01-01 10:35:00 2022-01-01 10:30:00 2022-01-01 10:50:00",
		"+ 1 2022-01-01 10:35:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
	)
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: wtvfTS(t, "2022-01-01 10:35:00")}); err != nil {
		t.Fatal(err)
	}
	want := []stream.Watermark{{Col: 1, Val: wtvfTS(t, "2022-01-01 10:35:00")}, {Col: 2, Val: wtvfTS(t, "2022-01-01 10:30:00")}, {Col: 3, Val: wtvfTS(t, "2022-01-01 10:40:00")}}
	if fmt.Sprint(s.WMs) != fmt.Sprint(want) {
		t.Fatalf("watermarks %v, want %v", s.WMs, want)
	}
}

// TestWindowTVFStreamLargeChunk checks that a chunk whose expansion is
// larger than a batch is cut into several chunks without splitting an
// update pair, and that the result is the same as row by row.
func TestWindowTVFStreamLargeChunk(t *testing.T) {
	spec := &stream.WindowTVFSpec{Kind: batch.HopWindow, TSCol: 1, Slide: types.MicrosPerMinute, Size: 7 * types.MicrosPerMinute}
	op, s := wtvfBuild(t, spec)
	var entries []string
	for k := 0; k < 3000; k++ {
		entries = append(entries, fmt.Sprintf("+ %d 2022-01-01 %02d:%02d:00", k, k/60%24, k%60))
	}
	if err := op.Chunk(0, wtvfChunk(t, entries...)); err != nil {
		t.Fatal(err)
	}
	entries = entries[:0]
	for k := 0; k < 3000; k++ {
		entries = append(entries,
			fmt.Sprintf("U- %d 2022-01-01 %02d:%02d:00", k, k/60%24, k%60),
			fmt.Sprintf("U+ %d 2022-01-01 %02d:%02d:30", k, k/60%24, k%60))
	}
	chunks := 0
	counter := &wtvfChunkCounter{next: s, n: &chunks}
	op2, err := spec.Build(streamtest.BuildCtx(nil, &stream.Node{}, &stream.Node{Types: wtvfIn}), stream.Output{Op: counter})
	if err != nil {
		t.Fatal(err)
	}
	if err := op2.Chunk(0, wtvfChunk(t, entries...)); err != nil {
		t.Fatal(err)
	}
	if chunks < 5 || counter.max > 4096+7 {
		t.Fatalf("%d chunks, largest %d rows", chunks, counter.max)
	}
	rows := s.Take()
	wtvfCheckPairs(t, rows, spec.OutputKey([]int{0}, 2))
	live := s.Contents(t, rows)
	if len(live) != 3000*7 {
		t.Fatalf("%d live rows, want %d", len(live), 3000*7)
	}
	for _, r := range live {
		if !strings.Contains(r, ":30 ") {
			t.Fatalf("old version still live: %q", r)
		}
	}
}

// wtvfChunkCounter counts chunks and their largest size on the way to next.
type wtvfChunkCounter struct {
	next *streamtest.Sink
	n    *int
	max  int
}

func (c *wtvfChunkCounter) Chunk(side int, ch *stream.Chunk) error {
	*c.n++
	c.max = max(c.max, ch.N)
	return c.next.Chunk(side, ch)
}
func (c *wtvfChunkCounter) Watermark(side int, w stream.Watermark) error {
	return c.next.Watermark(side, w)
}
func (c *wtvfChunkCounter) Barrier(b *stream.Barrier) error { return c.next.Barrier(b) }

func TestWindowTVFStreamBuildErrors(t *testing.T) {
	for _, spec := range []*stream.WindowTVFSpec{
		{Kind: batch.HopWindow, TSCol: 1, Slide: 7, Size: 30},
		{Kind: batch.TumbleWindow, TSCol: 0, Slide: 5, Size: 5}, // bigint time column
		{Kind: batch.CumulateWindow, TSCol: 1, Slide: 0, Size: 30},
	} {
		_, err := spec.Build(streamtest.BuildCtx(nil, &stream.Node{}, &stream.Node{Types: wtvfIn}), stream.Output{Op: &streamtest.Sink{}})
		if sqlerr.Code(err) != sqlerr.InvalidParameterValue {
			t.Errorf("%s: got %v, want 22023", spec.Explain(), err)
		}
	}
	if got := (&stream.WindowTVFSpec{Kind: batch.HopWindow, TSCol: 1, Slide: 15 * types.MicrosPerMinute, Size: 30 * types.MicrosPerMinute}).Explain(); got != "StreamWindowTVF hop(#1, slide 00:15:00, size 00:30:00)" {
		t.Errorf("explain %q", got)
	}
	spec := &stream.WindowTVFSpec{Kind: batch.CumulateWindow, TSCol: 1}
	if k, w := spec.OutputKey([]int{0}, 2), spec.OutputWatermarks([]int{1}, 2); fmt.Sprint(k, w) != "[0 3] [1 2 3]" {
		t.Errorf("key %v watermarks %v", k, w)
	}
}

// TestWindowTVFStreamHopSharesColumns: an insert-only chunk whose rows
// all have their k hop windows goes out as k chunks over the input's own
// columns (nothing copied), with the same rows as the copying path, which
// a row without windows (a NULL time) still takes.
func TestWindowTVFStreamHopSharesColumns(t *testing.T) {
	spec := &stream.WindowTVFSpec{Kind: batch.HopWindow, TSCol: 1, Slide: 2 * types.MicrosPerMinute, Size: 6 * types.MicrosPerMinute}
	var entries []string
	for k := 0; k < 500; k++ {
		entries = append(entries, fmt.Sprintf("+ %d 2022-01-01 %02d:%02d:%02d", k, k/60%24, k%60, k%7))
	}
	run := func(entries []string) (live []string, shared, chunks int) {
		_, s := wtvfBuild(t, spec)
		counter := &wtvfColumnCounter{next: s}
		op, err := spec.Build(streamtest.BuildCtx(nil, &stream.Node{}, &stream.Node{Types: wtvfIn}), stream.Output{Op: counter})
		if err != nil {
			t.Fatal(err)
		}
		in := wtvfChunk(t, entries...)
		counter.in = in.Cols[0]
		if err := op.Chunk(0, in); err != nil {
			t.Fatal(err)
		}
		return s.Contents(t, s.Take()), counter.shared, counter.chunks
	}
	live, shared, chunks := run(entries)
	if chunks != 3 || shared != 3 {
		t.Fatalf("%d chunks, %d sharing the input's column; want 3 and 3", chunks, shared)
	}
	if len(live) != 500*3 {
		t.Fatalf("%d rows, want %d", len(live), 500*3)
	}
	copied, shared, _ := run(append(entries, "+ 999 NULL"))
	if shared != 0 {
		t.Fatal("a chunk with a row without windows shared its columns")
	}
	if strings.Join(live, "\n") != strings.Join(copied, "\n") {
		t.Fatal("shared and copied hop windows differ")
	}
}

// wtvfColumnCounter counts chunks and those whose first column is in's.
type wtvfColumnCounter struct {
	next           *streamtest.Sink
	in             interface{ Len() int }
	chunks, shared int
}

func (c *wtvfColumnCounter) Chunk(side int, ch *stream.Chunk) error {
	c.chunks++
	if any(ch.Cols[0]) == c.in {
		c.shared++
	}
	return c.next.Chunk(side, ch)
}
func (c *wtvfColumnCounter) Watermark(side int, w stream.Watermark) error {
	return c.next.Watermark(side, w)
}
func (c *wtvfColumnCounter) Barrier(b *stream.Barrier) error { return c.next.Barrier(b) }
