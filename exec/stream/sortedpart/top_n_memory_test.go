package sortedpart

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// TestTopNStateBytesMatchHeap checks that the state size the group
// top-N reports to the memory budget is the heap its partitions hold,
// within a factor: the budget evicts by these reports. A limit of 1 is
// the deduplication form (ROW_NUMBER() = 1).
func TestTopNStateBytesMatchHeap(t *testing.T) {
	for _, limit := range []int64{1, 3} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			before := streamtest.LiveHeap()
			spec := topNTestSpec(limit, false, false, true)
			r := streamtest.StartLagging(t, &stream.Node{Spec: spec}, spec.Types, &streamtest.Sink{Types: append(slices.Clone(spec.Types), types.TInt8)}, 1<<40)
			const parts, perPart = 50_000, 4
			rows := make([][]types.Datum, 0, 1024)
			for i := range parts * perPart {
				rows = append(rows, streamtest.Row(int64(i), int64(i%parts), int64(i), fmt.Sprintf("row %d", i)))
				if len(rows) == cap(rows) || i == parts*perPart-1 {
					r.Push(make([]stream.Op, len(rows)), rows)
					rows = rows[:0]
					r.Sink.Take()
				}
			}
			rows = nil
			r.Barrier(1)
			r.CommitHeld()
			r.Sink.Take()
			after := streamtest.LiveHeap()
			streamtest.StateBytesMatchHeap(t, r.Env.Memory.Used(), after-before, 2)
			runtime.KeepAlive(r)
		})
	}
}
