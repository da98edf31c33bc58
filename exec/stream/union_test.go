package stream_test

import (
	"fmt"
	"strings"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// TestUnionIdleInput: an input whose watermark is marked idle is left out
// of the union's minimum until it brings rows again; its rows behind the
// watermark the union sent are dropped and counted as late.
func TestUnionIdleInput(t *testing.T) {
	env, _ := streamtest.Env(t)
	ts := []types.T{types.TInt8}
	in := &stream.Node{Types: ts, Names: []string{"t"}}
	sink := &streamtest.Sink{Types: ts}
	spec := &stream.UnionSpec{Types: ts}
	op := streamtest.Open(t, env, spec, &stream.Node{Spec: spec, Types: ts}, sink, in, in)
	wm := func(side int, v int64, idle bool) {
		t.Helper()
		if err := op.Watermark(side, stream.Watermark{Col: 0, Val: v, Idle: idle}); err != nil {
			t.Fatal(err)
		}
	}
	sent := func() string { return takeWatermarks(sink) }
	wm(0, 100, false)
	wm(1, 10, false)
	if got := sent(); got != "10/false" {
		t.Fatalf("both inputs: sent %q, want the minimum 10", got)
	}
	wm(1, 12, true)
	if got := sent(); got != "100/false" {
		t.Fatalf("input 1 idle: sent %q, want input 0's 100", got)
	}
	// Input 1 brings rows: 50 is behind the 100 sent, 150 is not.
	c := streamtest.ChunkOf(ts, []stream.Op{stream.Insert, stream.Insert}, streamtest.Row(int64(50)), streamtest.Row(int64(150)))
	if err := op.Chunk(1, c); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.Take(), " "); got != "+ 150" {
		t.Fatalf("rows passed: %q, want only the row of 150", got)
	}
	if n := env.Stats.LateRows.Load(); n != 1 {
		t.Fatalf("%d late rows, want 1", n)
	}
	// Input 1 counts again: its 12 holds the union back.
	wm(0, 200, false)
	if got := sent(); got != "" {
		t.Fatalf("input 1 active again at 12: sent %q, want nothing", got)
	}
	wm(0, 210, true)
	wm(1, 130, true)
	if got := sent(); got != "130/true" {
		t.Fatalf("both idle: sent %q, want the minimum of both, 130, marked idle", got)
	}
}

// TestUnionIdleMark: an input that never brought a row and sent an idle
// mark is left out of the minimum until it brings rows; when every input
// sent one, one mark goes on.
func TestUnionIdleMark(t *testing.T) {
	env, _ := streamtest.Env(t)
	ts := []types.T{types.TInt8}
	in := &stream.Node{Types: ts, Names: []string{"t"}}
	sink := &streamtest.Sink{Types: ts}
	spec := &stream.UnionSpec{Types: ts}
	op := streamtest.Open(t, env, spec, &stream.Node{Spec: spec, Types: ts}, sink, in, in, in)
	send := func(side int, w stream.Watermark) {
		t.Helper()
		if err := op.Watermark(side, w); err != nil {
			t.Fatal(err)
		}
	}
	sent := func() string { return takeWatermarks(sink) }
	mark := stream.Watermark{Col: 0, Idle: true}
	send(1, mark)
	send(2, mark)
	if got := sent(); got != "" {
		t.Fatalf("input 0 active without a watermark: sent %q, want nothing", got)
	}
	send(0, stream.Watermark{Col: 0, Val: int64(100)})
	if got := sent(); got != "100/false" {
		t.Fatalf("inputs 1 and 2 marked idle: sent %q, want input 0's 100", got)
	}
	// Input 1 brings a row: it holds the union back until its watermark.
	c := streamtest.ChunkOf(ts, []stream.Op{stream.Insert}, streamtest.Row(int64(120)))
	if err := op.Chunk(1, c); err != nil {
		t.Fatal(err)
	}
	send(0, stream.Watermark{Col: 0, Val: int64(200)})
	if got := sent(); got != "" {
		t.Fatalf("input 1 active without a watermark: sent %q, want nothing", got)
	}
	send(1, stream.Watermark{Col: 0, Val: int64(150)})
	if got := sent(); got != "150/false" {
		t.Fatalf("input 1 at 150: sent %q, want 150", got)
	}

	// A union all of whose inputs are marked passes one mark on.
	sink2 := &streamtest.Sink{Types: ts}
	op2 := streamtest.Open(t, env, spec, &stream.Node{Spec: spec, Types: ts}, sink2, in, in)
	for _, side := range []int{0, 1, 1} {
		if err := op2.Watermark(side, mark); err != nil {
			t.Fatal(err)
		}
	}
	if len(sink2.WMs) != 1 || sink2.WMs[0].Val != nil || !sink2.WMs[0].Idle {
		t.Fatalf("every input marked: sent %v, want one idle mark", sink2.WMs)
	}
}

// takeWatermarks returns the watermarks sink got as "value/idle" and
// forgets them.
func takeWatermarks(sink *streamtest.Sink) string {
	var s []string
	for _, w := range sink.WMs {
		s = append(s, fmt.Sprintf("%v/%v", w.Val, w.Idle))
	}
	sink.WMs = nil
	return strings.Join(s, " ")
}

// TestUnionEmit: the declared watermark (Emit) goes on as the minimum of
// the inputs', also when only it moves, and not when it is not ahead of
// the watermark sent.
func TestUnionEmit(t *testing.T) {
	env, _ := streamtest.Env(t)
	ts := []types.T{types.TInt8}
	in := &stream.Node{Types: ts, Names: []string{"t"}}
	sink := &streamtest.Sink{Types: ts}
	spec := &stream.UnionSpec{Types: ts}
	op := streamtest.Open(t, env, spec, &stream.Node{Spec: spec, Types: ts}, sink, in, in)
	wm := func(side int, v, emit int64) {
		t.Helper()
		if err := op.Watermark(side, stream.Watermark{Col: 0, Val: v, Emit: emit}); err != nil {
			t.Fatal(err)
		}
	}
	sent := func() string {
		var out []string
		for _, w := range sink.WMs {
			out = append(out, fmt.Sprintf("%v:%v", w.Val, w.Emit))
		}
		sink.WMs = nil
		return strings.Join(out, " ")
	}
	wm(0, 10, 70)
	if got := sent(); got != "" {
		t.Fatalf("one input: sent %q, want nothing", got)
	}
	wm(1, 20, 80)
	if got := sent(); got != "10:70" {
		t.Fatalf("both inputs: sent %q, want 10:70", got)
	}
	wm(0, 15, 75) // the minimum of Val moves, and of Emit
	if got := sent(); got != "15:75" {
		t.Fatalf("sent %q, want 15:75", got)
	}
	wm(1, 20, 90) // only input 1's Emit moves: the minimum stays 75
	if got := sent(); got != "" {
		t.Fatalf("sent %q, want nothing", got)
	}
	wm(0, 15, 85) // only the minimum of Emit moves
	if got := sent(); got != "15:85" {
		t.Fatalf("sent %q, want 15:85", got)
	}
	// Inputs without an allowed lateness: Emit is their Val.
	if err := op.Watermark(0, stream.Watermark{Col: 0, Val: int64(100)}); err != nil {
		t.Fatal(err)
	}
	if err := op.Watermark(1, stream.Watermark{Col: 0, Val: int64(100)}); err != nil {
		t.Fatal(err)
	}
	if got := sent(); got != "20:90 100:<nil>" {
		t.Fatalf("sent %q, want 20:90 100:<nil>", got)
	}
}
