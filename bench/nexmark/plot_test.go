package nexmark

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The freshness curve is a PNG of the size drawn, with each named query's
// line in its color; a query without points is left out, and no points
// at all draw nothing.
func TestPlotFreshness(t *testing.T) {
	r := &Report{Cores: 2, Date: "2026-12-06T00:00:00Z", Queries: []*QueryReport{
		{Query: "q1", Latency: []*Latency{{Rate: 300_000, P50Ms: 40, P99Ms: 90, Samples: 10},
			{Rate: 1_000_000, P50Ms: 55, P99Ms: 140, Samples: 10}, {Rate: 1_600_000, P50Ms: 80, P99Ms: 400, Samples: 10}}},
		{Query: "q5", Latency: []*Latency{{Rate: 20_000, P50Ms: 60, P99Ms: 150, Samples: 10}}},
		{Query: "q7"},
	}}
	path := filepath.Join(t.TempDir(), "freshness.png")
	ok, err := PlotFreshness(path, r, []string{"q1", "q5", "q7"})
	if err != nil || !ok {
		t.Fatalf("PlotFreshness: %v, %v", ok, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 560 {
		t.Fatalf("size %v", b)
	}
	seen := map[[3]uint32]int{}
	for y := 0; y < 560; y++ {
		for x := 0; x < 900; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, b >> 8}]++
		}
	}
	for i, c := range curveColors[:2] {
		if seen[[3]uint32{uint32(c.R), uint32(c.G), uint32(c.B)}] < 50 {
			t.Errorf("line %d (color %v) hardly drawn", i, c)
		}
	}
	if seen[[3]uint32{uint32(curveColors[2].R), uint32(curveColors[2].G), uint32(curveColors[2].B)}] != 0 {
		t.Error("a query without latency points got a line")
	}
	if ok, err := PlotFreshness(filepath.Join(t.TempDir(), "none.png"), r, []string{"q7"}); ok || err != nil {
		t.Fatalf("no points: %v, %v", ok, err)
	}
}

// A run keeps the figures of the run it replaces when the options match,
// with the ratio of events per CPU-second; other options keep none.
func TestAddPrevious(t *testing.T) {
	dir := t.TempDir()
	old := &Report{Date: "2026-12-01T10:00:00Z", Options: Options{Events: 1000, EventRate: 10},
		Queries: []*QueryReport{{Query: "q1", Status: "ok", EventsPerCoreSec: 400, Stream: &StreamResult{MaxRSS: 100 << 20}}}}
	if err := old.WriteJSON(filepath.Join(dir, "latest.json")); err != nil {
		t.Fatal(err)
	}
	r := &Report{Options: Options{Events: 1000, EventRate: 10},
		Queries: []*QueryReport{{Query: "q1", EventsPerCoreSec: 500}, {Query: "q2", EventsPerCoreSec: 9}}}
	r.AddPrevious(filepath.Join(dir, "latest.json"))
	p := r.Queries[0].Previous
	if p == nil || p.EventsPerCoreSec != 400 || p.Ratio != 1.25 || p.PeakRSSMB != 100 || p.Date != old.Date {
		b, _ := json.Marshal(p)
		t.Fatalf("previous of q1: %s", b)
	}
	if r.Queries[1].Previous != nil {
		t.Fatal("q2 was not in the previous run")
	}
	if md := r.Markdown(); !strings.Contains(md, "1.25 (400, 2026-12-01)") {
		t.Fatalf("markdown lacks the comparison:\n%s", md)
	}
	r2 := &Report{Options: Options{Events: 2000, EventRate: 10}, Queries: []*QueryReport{{Query: "q1", EventsPerCoreSec: 500}}}
	r2.AddPrevious(filepath.Join(dir, "latest.json"))
	if r2.Queries[0].Previous != nil {
		t.Fatal("a run with other options was taken as the previous one")
	}
}
