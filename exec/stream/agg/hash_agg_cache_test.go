package agg

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// hashAggOpenBudget opens the aggregate of spec over db (a fresh one
// when nil: then env is made too) under a budget of a few bytes, with
// the committed epoch the test advances.
func hashAggOpenBudget(t *testing.T, spec *HashAggSpec, env *stream.Env, db *pebble.DB, in []types.T, committed *uint64) (*stream.Env, *pebble.DB, stream.Operator, *streamtest.Sink) {
	t.Helper()
	if db == nil {
		env, db = streamtest.Env(t)
	}
	streamtest.Budget(env, 64, committed)
	op, s := hashAggOpen(t, spec, env, in)
	return env, db, op, s
}

// hashAggCommitEpoch passes a barrier, commits it and returns the epoch's
// output sorted (eviction changes group ids, so the order of the groups
// changed in an epoch may differ; their changes may not).
func hashAggCommitEpoch(t *testing.T, op stream.Operator, s *streamtest.Sink, db *pebble.DB, epoch uint64, committed *uint64) []string {
	t.Helper()
	out := hashAggEpoch(t, op, s, db, epoch)
	*committed = epoch
	slices.Sort(out)
	return out
}

// TestHashAggEvictionMatchesUnlimited runs the same random changelog,
// with every kind of aggregate state, through an operator without a
// budget and one with a budget of a few bytes, which evicts every group
// it may at every barrier and reads groups back for most rows. Both must
// emit the same changes every epoch, across restarts of the budgeted one
// (which then loads only part of its state).
func TestHashAggEvictionMatchesUnlimited(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			spec, in := hashAggFullSpec(t)
			envA, dbA := streamtest.Env(t)
			opA, sA := hashAggOpen(t, spec, envA, in)
			var committed uint64
			envB, dbB, opB, sB := hashAggOpenBudget(t, spec, nil, nil, in, &committed)
			g := &hashAggChangelog{r: rand.New(rand.NewPCG(seed, 9)), keys: 20 + int(seed)*10}
			for epoch := uint64(1); epoch <= 30; epoch++ {
				for range 1 + g.r.IntN(3) {
					ops, rows := g.chunk(1 + g.r.IntN(60))
					hashAggPush(t, opA, in, ops, rows...)
					hashAggPush(t, opB, in, ops, rows...)
				}
				a := hashAggCommitEpoch(t, opA, sA, dbA, epoch, new(uint64))
				b := hashAggCommitEpoch(t, opB, sB, dbB, epoch, &committed)
				streamtest.SameChanges(t, epoch, a, b)
				if epoch%10 == 0 {
					envB, dbB = streamtest.Restart(t, dbB, envB.Stats)
					envB, dbB, opB, sB = hashAggOpenBudget(t, spec, envB, dbB, in, &committed)
				}
			}
			streamtest.CheckEvicted(t, envA.Stats, envB.Stats)
		})
	}
}

// TestHashAggEvictionWindows checks that windows close with their
// evicted groups: emit on close emits each group once, and the window
// cleanup deletes the evicted groups' state too.
func TestHashAggEvictionWindows(t *testing.T) {
	for _, eoc := range []bool{true, false} {
		t.Run(fmt.Sprint("eoc=", eoc), func(t *testing.T) {
			spec, in := hashAggWindowSpec(t, eoc)
			envA, dbA := streamtest.Env(t)
			opA, sA := hashAggOpen(t, spec, envA, in)
			var committed uint64
			envB, dbB, opB, sB := hashAggOpenBudget(t, spec, nil, nil, in, &committed)
			r := rand.New(rand.NewPCG(3, 4))
			var wm types.Timestamp
			for epoch := uint64(1); epoch <= 40; epoch++ {
				var rows [][]types.Datum
				for range 50 {
					ts := wm + types.Timestamp(r.IntN(4))*hashAggMinute
					rows = append(rows, streamtest.Row(int64(r.IntN(30)), ts, int64(r.IntN(100))))
				}
				ops := hashAggOps(stream.Insert, len(rows))
				hashAggPush(t, opA, in, ops, rows...)
				hashAggPush(t, opB, in, ops, rows...)
				if epoch%3 == 0 {
					wm += hashAggMinute
					for _, op := range []stream.Operator{opA, opB} {
						if err := op.Watermark(0, stream.Watermark{Col: 1, Val: wm}); err != nil {
							t.Fatal(err)
						}
					}
				}
				a := hashAggCommitEpoch(t, opA, sA, dbA, epoch, new(uint64))
				b := hashAggCommitEpoch(t, opB, sB, dbB, epoch, &committed)
				streamtest.SameChanges(t, epoch, a, b)
				if epoch == 20 {
					envB, dbB = streamtest.Restart(t, dbB, nil)
					envB, dbB, opB, sB = hashAggOpenBudget(t, spec, envB, dbB, in, &committed)
				}
			}
			// The same groups are left in state.
			if a, b := streamtest.StateRows(t, dbA, 1), streamtest.StateRows(t, dbB, 1); a != b {
				t.Fatalf("%d state keys with a budget, %d without", b, a)
			}
			if envB.Stats.StateEvicted.Load() == 0 {
				t.Fatal("nothing was evicted")
			}
		})
	}
}
