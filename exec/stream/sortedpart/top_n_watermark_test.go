package sortedpart

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// topNStateRows counts the committed rows of r's state table.
func topNStateRows(t *testing.T, r *streamtest.LaggingRun) int {
	r.CommitHeld()
	return streamtest.StateRows(t, r.DB, 1)
}

// TestTopNWatermarkFreesPartitions runs windowed inputs (the partition
// column g is the window, whose watermark advances every epoch; rows,
// deletes and updates only go to windows not behind it) through a top-N
// cleaned by the watermark, with and without a state budget, and one
// that ignores it. All emit the same changes; the cleaned ones keep only
// the open windows in memory and in storage, forward the watermark, and
// drop a late row.
func TestTopNWatermarkFreesPartitions(t *testing.T) {
	for _, appendOnly := range []bool{false, true} {
		t.Run(fmt.Sprint("appendonly=", appendOnly), func(t *testing.T) {
			spec := topNTestSpec(2, true, false, appendOnly)
			cleanSpec := *spec
			cleanSpec.WatermarkPartCol = 1
			if got := cleanSpec.Explain(); got != "StreamGroupTopN limit 2 partition by #1 order by #2 DESC NULLS LAST"+map[bool]string{true: " append-only"}[appendOnly]+" cleaned by watermark on #1" {
				t.Fatalf("explain: %q", got)
			}
			plain := topNStart(t, spec, 0)
			clean := topNStart(t, &cleanSpec, 0)
			small := topNStart(t, &cleanSpec, 64)
			runs := []*streamtest.LaggingRun{plain, clean, small}
			r := rand.New(rand.NewPCG(5, 6))
			live := map[int64][]types.Datum{}
			next := int64(0)
			var cleanAll []string
			const epochs = 40
			for epoch := int64(1); epoch <= epochs; epoch++ {
				// Windows epoch .. epoch+2 are open.
				var ops []stream.Op
				var rows [][]types.Datum
				var open []int64
				for id, rw := range live {
					if rw[1].(int64) >= epoch {
						open = append(open, id)
					}
				}
				slices.Sort(open)
				for range 20 {
					if !appendOnly && len(open) > 0 && r.IntN(3) == 0 {
						k := r.IntN(len(open))
						id := open[k]
						old := live[id]
						if r.IntN(2) == 0 {
							delete(live, id)
							open = slices.Delete(open, k, k+1)
							ops, rows = append(ops, stream.Delete), append(rows, old)
						} else {
							nw := streamtest.Row(id, old[1], int64(r.IntN(50)), "u")
							live[id] = nw
							ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, old, nw)
						}
						continue
					}
					next++
					nw := streamtest.Row(next, epoch+int64(r.IntN(3)), int64(r.IntN(50)), "i")
					live[next] = nw
					open = append(open, next)
					ops, rows = append(ops, stream.Insert), append(rows, nw)
				}
				for _, run := range runs {
					run.Push(ops, rows)
					if err := run.Op.Watermark(0, stream.Watermark{Col: 1, Val: epoch}); err != nil {
						t.Fatal(err)
					}
					run.Barrier(uint64(epoch))
				}
				want := plain.Sink.Take()
				slices.Sort(want)
				for i, run := range runs[1:] {
					got := run.Sink.Take()
					if i == 0 {
						cleanAll = append(cleanAll, got...)
					}
					slices.Sort(got)
					if !slices.Equal(got, want) {
						t.Fatalf("epoch %d:\n cleaned %q\n plain   %q", epoch, got, want)
					}
				}
				if epoch%10 == 0 {
					small.Restart()
				}
			}
			m := &topNModel{live: live}
			if got, want := clean.Sink.Contents(t, cleanAll), m.expect(spec); !slices.Equal(got, want) {
				t.Fatalf("cleaned view:\n got  %q\n want %q", got, want)
			}
			if n := len(plain.Op.(*topN).cache.Parts); n < epochs {
				t.Fatalf("the plain top-N holds %d partitions, want every one", n)
			}
			for _, run := range runs[1:] {
				// Windows epochs-1 .. epochs+1 at most (the last
				// watermark is epochs: window epochs-1 goes at the next
				// barrier).
				if n := len(run.Op.(*topN).cache.Parts); n > 4 {
					t.Fatalf("the cleaned top-N holds %d partitions", n)
				}
				if n, all := topNStateRows(t, run), topNStateRows(t, plain); n == 0 || n > all/4 {
					t.Fatalf("the cleaned top-N stores %d rows, the plain one %d", n, all)
				}
			}
			if len(plain.Sink.WMs) != 0 {
				t.Fatalf("the plain top-N forwarded watermarks %v", plain.Sink.WMs)
			}
			if wms := clean.Sink.WMs; len(wms) != epochs || wms[epochs-1].Col != 1 || wms[epochs-1].Val != int64(epochs) {
				t.Fatalf("forwarded watermarks %v", wms)
			}
			// A late row changes nothing and is counted.
			clean.Push([]stream.Op{stream.Insert}, [][]types.Datum{streamtest.Row(next+1, int64(2), int64(1000), "late")})
			clean.Barrier(epochs + 1)
			if out := clean.Sink.Take(); len(out) != 0 || clean.Env.Stats.LateRows.Load() != 1 {
				t.Fatalf("late row: output %q, %d late rows", out, clean.Env.Stats.LateRows.Load())
			}
		})
	}
}
