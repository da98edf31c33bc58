package stream

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// tsChunk is a one-column timestamp chunk (values in seconds).
func tsChunk(secs ...int64) *Chunk {
	b := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Microsecond})
	defer b.Release()
	ops := make([]Op, len(secs))
	for _, s := range secs {
		b.Append(arrow.Timestamp(s * 1e6))
	}
	return NewChunk([]arrow.Array{b.NewArray()}, ops)
}

// TestWatermarkGen follows per-split watermarks through the cases that
// matter: a split without rows holds the watermark back, the minimum over
// splits is emitted, an idle split stops holding it back and holds it
// again with its next message, and the emitted watermark never goes back.
func TestWatermarkGen(t *testing.T) {
	ts := types.TTimestamp
	clock := time.Unix(0, 0)
	g := newWatermarkGen([]SourceWatermark{{Col: 0, Expr: &expr.ColRef{Idx: 0, T: ts}, Type: ts}}, nil, 5*time.Second)
	g.now = func() time.Time { return clock }
	g.add("0")
	g.add("1")
	secs := func(ws []Watermark) []int64 {
		var out []int64
		for _, w := range ws {
			out = append(out, int64(w.Val.(types.Timestamp))/1e6)
		}
		return out
	}
	step := func(what string, got []Watermark, want ...int64) {
		t.Helper()
		g := secs(got)
		if len(g) != len(want) || (len(g) == 1 && g[0] != want[0]) {
			t.Fatalf("%s: watermarks %v, want %v", what, g, want)
		}
	}
	c := tsChunk(10, 30, 20)
	ws, err := g.observe(c, []SplitRows{{ID: "0", N: 3}})
	c.Release()
	if err != nil {
		t.Fatal(err)
	}
	step("split 1 has no rows yet", ws)

	c = tsChunk(5, 100, 12)
	ws, _ = g.observe(c, []SplitRows{{ID: "0", N: 1}, {ID: "1", N: 2}})
	c.Release()
	step("minimum over the splits", ws, 30)

	clock = clock.Add(3 * time.Second)
	c = tsChunk(40)
	ws, _ = g.observe(c, []SplitRows{{ID: "0", N: 1}})
	c.Release()
	step("split 0 moves up to 40, split 1 holds at 100: 40", ws, 40)

	clock = clock.Add(3 * time.Second) // split 1 silent for 6 s, split 0 for 3 s
	step("split 1 idle: split 0 alone, no change", g.tick())
	c = tsChunk(150)
	ws, _ = g.observe(c, []SplitRows{{ID: "0", N: 1}})
	c.Release()
	step("split 1 idle, so split 0 alone", ws, 150)

	c = tsChunk(120)
	ws, _ = g.observe(c, []SplitRows{{ID: "1", N: 1}})
	c.Release()
	step("split 1 active again at 120: no step back", ws)
	c = tsChunk(200)
	ws, _ = g.observe(c, []SplitRows{{ID: "0", N: 1}})
	c.Release()
	step("split 1 holds again at 120", ws)
	c = tsChunk(180)
	ws, _ = g.observe(c, []SplitRows{{ID: "1", N: 1}})
	c.Release()
	step("split 1 moves to 180", ws, 180)

	clock = clock.Add(10 * time.Second)
	step("both idle: the largest", g.tick(), 200)

	g.add("2")
	c = tsChunk(300)
	ws, _ = g.observe(c, []SplitRows{{ID: "0", N: 1}})
	c.Release()
	step("a new split holds the watermark back", ws)

	if _, err := g.observe(tsChunk(1, 2), []SplitRows{{ID: "0", N: 1}}); err == nil {
		t.Fatal("runs that do not cover the chunk were accepted")
	}
}
