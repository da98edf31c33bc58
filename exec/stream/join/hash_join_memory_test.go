package join

import (
	"runtime"
	"testing"

	"streamsql/exec/batch"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// TestHashJoinStateBytesMatchHeap checks that the state size the join
// reports to the memory budget is the heap its rows hold, within a
// factor: the budget evicts by these reports.
func TestHashJoinStateBytesMatchHeap(t *testing.T) {
	for _, perKey := range []int{1, 4} {
		t.Run(map[int]string{1: "unique_keys", 4: "four_rows_per_key"}[perKey], func(t *testing.T) {
			env, db := streamtest.Env(t)
			var committed uint64
			streamtest.Budget(env, 1<<40, &committed)
			before := streamtest.LiveHeap()
			op, s := hjOpen(t, hjSpec(t, batch.InnerJoin, false), env)
			const rows = 200_000
			chunk := make([][]types.Datum, 0, 1024)
			for side := range 2 {
				for i := range rows {
					// The sides' keys do not meet: no output.
					k := int64(i/perKey) + int64(side)*rows
					chunk = append(chunk, streamtest.Row(int64(i), k, int64(i)))
					if len(chunk) == cap(chunk) || i == rows-1 {
						hjPush(t, op, s, side, ins(len(chunk)), chunk...)
						chunk = chunk[:0]
					}
				}
			}
			chunk = nil
			streamtest.Barrier(t, op, db, 1)
			after := streamtest.LiveHeap()
			streamtest.StateBytesMatchHeap(t, env.Memory.Used(), after-before, 1.5)
			runtime.KeepAlive(op)
		})
	}
}
