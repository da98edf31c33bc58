package sortedpart

import (
	"math/rand/v2"
	"slices"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// overWindowCacheStart runs an over window with lagging commits.
func overWindowCacheStart(t *testing.T, spec *OverWindowSpec, outTypes []types.T, budget int64) *streamtest.LaggingRun {
	return streamtest.StartLagging(t, &stream.Node{Spec: spec, Types: spec.Types}, spec.Types, &streamtest.Sink{Types: outTypes}, budget)
}

// overWindowCacheSpec returns the partitioned test spec over the test
// types plus a bigint, and its output types.
func overWindowCacheSpec(t *testing.T) (*OverWindowSpec, []types.T) {
	spec := overWindowTestSpec(t, true, false)
	spec.Types = append(slices.Clone(overWindowTestTypes), types.TInt8)
	return spec, overWindowOutTypes(spec)
}

// TestOverWindowEvictionMatchesUnlimited runs the same random changelog
// over 40 partitions through an over window without a budget and one
// with a budget of a few bytes, which evicts every partition it may at
// every barrier and reads partitions back for most rows. Epochs that
// delete whole partitions test that a partition emptied in an epoch not
// yet committed is not read back with its old rows. Both operators emit
// the same changes every epoch, across restarts of the budgeted one
// (which then loads only part of its state), and the unlimited one
// matches the functions computed from scratch.
func TestOverWindowEvictionMatchesUnlimited(t *testing.T) {
	spec, outTypes := overWindowCacheSpec(t)
	a := overWindowCacheStart(t, spec, outTypes, 0)
	b := overWindowCacheStart(t, spec, outTypes, 64)
	rnd := rand.New(rand.NewPCG(11, 12))
	live := map[int64][]types.Datum{}
	var all []string
	nextID := int64(1)
	const groups = 40
	gen := overWindowGen(rnd, groups)
	for epoch := uint64(1); epoch <= 60; epoch++ {
		var ops []stream.Op
		var rows [][]types.Datum
		ids := slices.Sorted(func(yield func(int64) bool) {
			for id := range live {
				if !yield(id) {
					return
				}
			}
		})
		if epoch%7 == 0 {
			// Empty a few partitions, then (in the next epoch) insert
			// into them again.
			for _, id := range ids {
				if g := live[id][1].(int64); g%5 == int64(epoch%5) {
					ops, rows = append(ops, stream.Delete), append(rows, live[id])
					delete(live, id)
				}
			}
		}
		for range rnd.IntN(30) + 1 {
			switch k := rnd.IntN(10); {
			case k < 5 || len(ids) == 0:
				nr := gen(nextID)
				nextID++
				live[nr[0].(int64)] = nr
				ops, rows = append(ops, stream.Insert), append(rows, nr)
			default:
				id := ids[rnd.IntN(len(ids))]
				old, ok := live[id]
				if !ok {
					continue
				}
				if k < 7 {
					ops, rows = append(ops, stream.Delete), append(rows, old)
					delete(live, id)
					continue
				}
				nr := gen(id)
				ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, old, nr)
				live[id] = nr
			}
		}
		a.Push(ops, rows)
		b.Push(ops, rows)
		all = append(all, streamtest.BarrierBoth(t, a, b, epoch)...)
		if got, want := a.Sink.Contents(t, all), overWindowExpected(spec, live); !slices.Equal(got, want) {
			t.Fatalf("epoch %d, unlimited:\n got  %q\n want %q", epoch, got, want)
		}
	}
	st := b.Env.Stats
	streamtest.CheckEvicted(t, a.Env.Stats, st)
	if st.StateBytes.Load() == 0 {
		t.Fatal("the budgeted operator reported no state bytes")
	}
	t.Logf("evicted %d partitions, read back %d rows", st.StateEvicted.Load(), st.StateReads.Load())
}

// TestOverWindowRestartLoadsWithinBudget: after a restart under a budget
// the operator loads only part of its partitions, and a row of a
// partition left in storage still updates its neighbours' values.
func TestOverWindowRestartLoadsWithinBudget(t *testing.T) {
	spec, outTypes := overWindowCacheSpec(t)
	r := overWindowCacheStart(t, spec, outTypes, 0)
	live := map[int64][]types.Datum{}
	var ops []stream.Op
	var rows [][]types.Datum
	for id := int64(1); id <= 400; id++ {
		nr := streamtest.Row(id, id%100, id%7, id%11, int64(2))
		live[id] = nr
		ops, rows = append(ops, stream.Insert), append(rows, nr)
	}
	r.Push(ops, rows)
	r.Barrier(1)
	all := r.Sink.Take()
	r.Budget = 8 << 10
	r.Restart()
	w := r.Op.(*overWindow)
	if !w.cache.Evicted || len(w.cache.Parts) == 0 || len(w.cache.Parts) >= 100 {
		t.Fatalf("loaded %d of 100 partitions (evicted %v)", len(w.cache.Parts), w.cache.Evicted)
	}
	loaded := len(w.cache.Parts)
	// One row into every partition: most are read back.
	ops, rows = ops[:0], rows[:0]
	for g := int64(0); g < 100; g++ {
		nr := streamtest.Row(1000+g, g, int64(3), int64(1), int64(2))
		live[1000+g] = nr
		ops, rows = append(ops, stream.Insert), append(rows, nr)
	}
	r.Push(ops, rows)
	r.Barrier(2)
	all = append(all, r.Sink.Take()...)
	if got, want := r.Sink.Contents(t, all), overWindowExpected(spec, live); !slices.Equal(got, want) {
		t.Fatalf("after the restart:\n got  %q\n want %q", got, want)
	}
	if reads := r.Env.Stats.StateReads.Load(); reads < int64(4*(100-loaded)) {
		t.Fatalf("read back %d rows for %d partitions not loaded", reads, 100-loaded)
	}
}
