package sortedpart

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// overWindowEowcSpec orders by o and computes functions with a bounded
// lookbehind: ranks, lag(v), lead(v, 2) and ROWS frames reaching two rows
// back and one ahead; running adds running aggregates: "running" sum
// (RANGE UNBOUNDED PRECEDING, the default frame), count, min and max
// (ROWS UNBOUNDED PRECEDING AND CURRENT ROW), which a base per partition
// stands for, "avg" a running avg, which reads every earlier row.
func overWindowEowcSpec(t *testing.T, eowc bool, running string) *OverWindowSpec {
	s := &OverWindowSpec{
		Partition: []int{1},
		Order:     []batch.SortKey{{Col: 2, T: types.TInt8}},
		Types:     append(slices.Clone(overWindowTestTypes), types.TInt8),
		StreamKey: []int{0},
		Funcs: []batch.WindowFunc{
			overWindowFn("row_number", types.TInt8),
			overWindowFn("rank", types.TInt8),
			overWindowFn("dense_rank", types.TInt8),
			overWindowFn("lag", types.TInt8, 3),
			overWindowFn("lead", types.TInt8, 3, 4),
			overWindowAgg(t, "sum", []int{3}, overWindowRows(batch.OffsetPreceding, 2, batch.CurrentRow, 0)),
			overWindowAgg(t, "count", []int{3}, overWindowRows(batch.OffsetPreceding, 1, batch.OffsetFollowing, 1)),
		},
		Offsets:     []int64{-1, -1, -1, 1, 2, -1, -1},
		EmitOnClose: eowc,
	}
	toRow := overWindowRows(batch.UnboundedPreceding, 0, batch.CurrentRow, 0)
	switch running {
	case "running":
		s.Funcs = append(s.Funcs, overWindowAgg(t, "sum", []int{3}, batch.Frame{}),
			overWindowAgg(t, "count", []int{3}, toRow), overWindowAgg(t, "min", []int{3}, toRow),
			overWindowAgg(t, "max", []int{3}, overWindowRange(batch.UnboundedPreceding, batch.CurrentRow)))
		s.Offsets = append(s.Offsets, -1, -1, -1, -1)
	case "avg":
		s.Funcs = append(s.Funcs, overWindowAgg(t, "avg", []int{3}, toRow))
		s.Offsets = append(s.Offsets, -1)
	}
	return s
}

// TestOverWindowEowcTrimsState feeds 10,000 rows over 10 partitions in
// 100 windows of event time (ties in the ORDER BY within each), the
// watermark closing the window before each, through EMIT ON WINDOW CLOSE
// over windows without and with a state budget (which evicts emitted
// partitions and reads them back with their base), restarting both on
// the way. Every row they emit, exactly once, carries the values the
// retracting over window computes over all rows; every row is emitted
// but the last two of each partition (lead(v, 2) reads them); and the
// stored rows stay bounded by the open window and the lookbehind while
// the retracting operator stores all 10,000. Running sum, count, min and
// max keep their value at the last trimmed row per partition and trim
// the same; a running avg reads every earlier row, so the operator keeps
// every row and stays exact.
func TestOverWindowEowcTrimsState(t *testing.T) {
	for _, running := range []string{"", "running", "avg"} {
		name := map[string]string{"": "bounded", "running": "running", "avg": "running-avg"}[running]
		t.Run(name, func(t *testing.T) {
			keepsAll := running == "avg"
			spec := overWindowEowcSpec(t, true, running)
			plainSpec := overWindowEowcSpec(t, false, running)
			outTypes := overWindowOutTypes(spec)
			start := func(s *OverWindowSpec, budget int64) *streamtest.LaggingRun {
				return streamtest.StartLagging(t, &stream.Node{Spec: s, Types: s.Types}, s.Types, &streamtest.Sink{Types: outTypes}, budget)
			}
			plain := start(plainSpec, 0)
			eowc := []*streamtest.LaggingRun{start(spec, 0), start(spec, 64)}
			outs := make([][]string, len(eowc))
			r := rand.New(rand.NewPCG(18, 6))
			const (
				perWin = 100
				parts  = 10
			)
			// The running sum recomputes every row at each load: fewer
			// windows keep the test short.
			windows := int64(100)
			if keepsAll {
				windows = 30
			}
			id := int64(0)
			maxRows := 0
			for win := int64(1); win <= windows+1; win++ {
				var ops []stream.Op
				var rows [][]types.Datum
				if win <= windows {
					for range perWin {
						id++
						var v types.Datum
						if r.IntN(6) > 0 {
							v = int64(r.IntN(40) - 10)
						}
						rows = append(rows, streamtest.Row(id, id%parts, win*10+int64(r.IntN(4)), v, int64(2)))
						ops = append(ops, stream.Insert)
					}
				}
				plain.Push(ops, rows)
				plain.Barrier(uint64(win))
				// Rows of earlier windows lie below the watermark; the
				// last one closes everything.
				wm := win * 10
				if win > windows {
					wm = 1 << 40
				}
				for i, run := range eowc {
					run.Push(ops, rows)
					if err := run.Op.Watermark(0, stream.Watermark{Col: 2, Val: wm}); err != nil {
						t.Fatal(err)
					}
					run.Barrier(uint64(win))
					for _, o := range run.Sink.Take() {
						if !strings.HasPrefix(o, "+ ") {
							t.Fatalf("window %d: emitted %q, not an insert", win, o)
						}
						outs[i] = append(outs[i], o)
					}
					if win%30 == 0 {
						run.Restart()
					}
					if win > 2 && !keepsAll {
						run.CommitHeld()
						maxRows = max(maxRows, streamtest.StateRows(t, run.DB, 1))
					}
				}
			}
			plain.CommitHeld()
			if n := streamtest.StateRows(t, plain.DB, 1); n != int(windows)*perWin {
				t.Fatalf("the retracting over window stores %d rows, want %d", n, windows*perWin)
			}
			all := plain.Sink.Contents(t, plain.Sink.Take())
			want := map[string]bool{}
			for _, row := range all {
				want[row] = true
			}
			for i, run := range eowc {
				got := run.Sink.Contents(t, outs[i])
				if len(got) != len(all)-2*parts {
					t.Fatalf("budget %d: emitted %d rows, want %d", run.Budget, len(got), len(all)-2*parts)
				}
				for j, row := range got {
					if !want[row] {
						t.Fatalf("budget %d: emitted %q, not in the over window's result", run.Budget, row)
					}
					if j > 0 && got[j-1] == row {
						t.Fatalf("budget %d: emitted %q twice", run.Budget, row)
					}
				}
				if keepsAll {
					if n := streamtest.StateRows(t, run.DB, 1); n != int(windows)*perWin {
						t.Fatalf("budget %d: with a running sum %d rows stored, want all %d", run.Budget, n, windows*perWin)
					}
				}
			}
			if !keepsAll && maxRows > 300 {
				t.Fatalf("EMIT ON WINDOW CLOSE stored up to %d rows, want at most 300", maxRows)
			}
			t.Logf("at most %d state rows", maxRows)
		})
	}
}
