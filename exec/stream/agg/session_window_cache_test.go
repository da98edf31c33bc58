package agg

import (
	"strings"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// TestSessionAggStateBudget runs random changes over many partitions
// under a state budget far below their state: partitions are evicted and
// read back, the output stays equal to the sessions recomputed from
// scratch after every barrier, including across a restart that loads
// only part of the state.
func TestSessionAggStateBudget(t *testing.T) {
	env, db := streamtest.Env(t)
	mem := func() *stream.StateMemory { return stream.NewStateMemory(4 << 10) }
	env.Memory = mem()
	sessionRandomRun(t, env, db, 11, 200, 300, 150, mem)
	evicted, reads := env.Stats.StateEvicted.Load(), env.Stats.StateReads.Load()
	t.Logf("%d partitions evicted, %d rows read back", evicted, reads)
	if evicted == 0 || reads == 0 {
		t.Fatalf("evicted %d, read back %d: the budget was not enforced", evicted, reads)
	}
}

// TestSessionAggBudgetWatermark: under a tiny budget, a watermark closes
// the sessions of evicted partitions (reading them back) and frees their
// rows in storage, as it does in memory.
func TestSessionAggBudgetWatermark(t *testing.T) {
	env, db := streamtest.Env(t)
	var committed uint64
	streamtest.Budget(env, 2<<10, &committed)
	spec := sessionTestSpec(t, true, false)
	op, s := sessionTestOpen(t, spec, env)
	var live []sessionTestRow
	var emitted []string
	epoch := uint64(0)
	barrier := func() {
		epoch++
		streamtest.Barrier(t, op, db, epoch)
		committed = epoch
		emitted = append(emitted, s.Take()...)
	}
	for minute := 0; minute < 40; minute++ {
		var rows [][]types.Datum
		for k := 1; k <= 100; k++ {
			if (k+minute)%3 == 0 {
				continue
			}
			r := sessionTestRow{k: k, minute: minute + k%7*10, v: k % 10}
			live = append(live, r)
			rows = append(rows, r.datums())
		}
		if err := op.Chunk(0, streamtest.ChunkOf(sessionTestIn, make([]stream.Op, len(rows)), rows...)); err != nil {
			t.Fatal(err)
		}
		barrier()
	}
	if env.Stats.StateEvicted.Load() == 0 {
		t.Fatal("nothing evicted under the budget")
	}
	if n := streamtest.StateRows(t, db, 1); n == 0 {
		t.Fatal("no rows in storage before the watermark")
	}
	wm := types.Timestamp(sessionTestBase + 200*60_000_000)
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: wm}); err != nil {
		t.Fatal(err)
	}
	emitted = append(emitted, s.Take()...)
	barrier()
	got := s.Contents(t, emitted)
	want := sessionTestExpect(live)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("view\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := streamtest.StateRows(t, db, 1); n != 0 {
		t.Fatalf("%d rows left in storage after every session closed", n)
	}
}
