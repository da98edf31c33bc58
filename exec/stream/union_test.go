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
	sent := func() string {
		var s []string
		for _, w := range sink.WMs {
			s = append(s, fmt.Sprintf("%v/%v", w.Val, w.Idle))
		}
		sink.WMs = nil
		return strings.Join(s, " ")
	}
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
