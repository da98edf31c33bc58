package agg

import (
	"math/rand"
	"slices"
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
	rng := rand.New(rand.NewSource(11))
	env, db := streamtest.Env(t)
	var committed uint64
	env.Committed = func() uint64 { return committed }
	env.Memory = stream.NewStateMemory(4 << 10)
	spec := sessionTestSpec(t, false, false)
	op, s := sessionTestOpen(t, spec, env)
	var live, committedLive []sessionTestRow
	var emitted, committedEmitted []string
	randRow := func() sessionTestRow {
		return sessionTestRow{k: 1 + rng.Intn(200), minute: rng.Intn(60), v: rng.Intn(10), f: rng.Intn(2) == 0}
	}
	for epoch := uint64(1); epoch <= 200; epoch++ {
		var ops []stream.Op
		var rows [][]types.Datum
		for n := 1 + rng.Intn(12); n > 0; n-- {
			switch x := rng.Intn(10); {
			case x < 6 || len(live) == 0:
				r := randRow()
				live = append(live, r)
				ops, rows = append(ops, stream.Insert), append(rows, r.datums())
			case x < 8:
				i := rng.Intn(len(live))
				ops, rows = append(ops, stream.Delete), append(rows, live[i].datums())
				live = slices.Delete(live, i, i+1)
			default:
				i := rng.Intn(len(live))
				r := randRow()
				ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, live[i].datums(), r.datums())
				live[i] = r
			}
		}
		if err := op.Chunk(0, streamtest.ChunkOf(sessionTestIn, ops, rows...)); err != nil {
			t.Fatal(err)
		}
		emitted = append(emitted, s.Take()...)
		if epoch == 120 {
			// Crash before the barrier, restart from epoch 119 with
			// the budget: the load stops early.
			live, emitted = slices.Clone(committedLive), slices.Clone(committedEmitted)
			env2 := *env
			env2.Fresh = false
			env2.Memory = stream.NewStateMemory(4 << 10)
			op, s = sessionTestOpen(t, spec, &env2)
			continue
		}
		streamtest.Barrier(t, op, db, epoch)
		committed = epoch
		emitted = append(emitted, s.Take()...)
		got := s.Contents(t, emitted)
		want := sessionTestExpect(live)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("epoch %d: view\n%s\nwant\n%s", epoch, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		committedLive, committedEmitted = slices.Clone(live), slices.Clone(emitted)
	}
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
	env.Committed = func() uint64 { return committed }
	env.Memory = stream.NewStateMemory(2 << 10)
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
	if n := sessionTestStateRows(t, db); n == 0 {
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
	if n := sessionTestStateRows(t, db); n != 0 {
		t.Fatalf("%d rows left in storage after every session closed", n)
	}
}
