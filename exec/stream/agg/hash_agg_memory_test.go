package agg

import (
	"runtime"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// TestHashAggStateBytesMatchHeap checks that the state size the
// aggregate reports to the memory budget is the heap its groups hold,
// within a factor: the budget evicts by these reports, so an estimate far
// below the heap lets the process outgrow its budget.
func TestHashAggStateBytesMatchHeap(t *testing.T) {
	for _, c := range []struct {
		name     string
		distinct bool
	}{{"count_sum", false}, {"count_distinct", true}} {
		t.Run(c.name, func(t *testing.T) {
			spec, in := hashAggWindowSpec(t, false)
			if c.distinct {
				spec.Aggs = append(spec.Aggs, hashAggDistinct(streamtest.AggCall(t, "count", []int{2}, []types.T{types.TInt8})))
			}
			env, db := streamtest.Env(t)
			var committed uint64
			streamtest.Budget(env, 1<<40, &committed)
			before := streamtest.LiveHeap()
			op, s := hashAggOpen(t, spec, env, in)
			const groups, perGroup = 100_000, 4
			rows := make([][]types.Datum, 0, 1024)
			for i := range groups * perGroup {
				g := i % groups
				rows = append(rows, streamtest.Row(int64(g), types.Timestamp(g/1000)*hashAggMinute, int64(i)))
				if len(rows) == cap(rows) {
					hashAggPush(t, op, in, hashAggOps(stream.Insert, len(rows)), rows...)
					rows = rows[:0]
				}
			}
			hashAggPush(t, op, in, hashAggOps(stream.Insert, len(rows)), rows...)
			rows = nil
			streamtest.Barrier(t, op, db, 1)
			s.Take()
			after := streamtest.LiveHeap()
			streamtest.StateBytesMatchHeap(t, env.Memory.Used(), after-before, 1.5)
			runtime.KeepAlive(op)
		})
	}
}
