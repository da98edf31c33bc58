package agg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"streamsql/sql/types"
)

// TestPartialStatesMerge folds random inserts and deletes into one state
// directly and, as a two-phase aggregation does, into per-epoch partial
// states of two local halves (keeping deltas, encoded and decoded) merged
// into a global state; after every epoch both give the same result. An
// epoch's partial often has a net count of zero with sums that are not
// (a delete of one value and an insert of another).
func TestPartialStatesMerge(t *testing.T) {
	i8, f8 := types.TInt8, types.TFloat8
	for _, c := range []struct {
		fn string
		ts []types.T
	}{
		{"count", []types.T{i8}}, {"sum", []types.T{i8}}, {"avg", []types.T{i8}}, {"sum", []types.T{f8}},
		{"avg", []types.T{f8}}, {"stddev_samp", []types.T{f8}}, {"var_pop", []types.T{i8}}, {"variance", []types.T{i8}},
		{"bit_or", []types.T{i8}}, {"bit_and", []types.T{i8}}, {"corr", []types.T{f8, f8}}, {"regr_slope", []types.T{f8, f8}},
		{"covar_samp", []types.T{f8, f8}},
	} {
		t.Run(fmt.Sprintf("%s(%v)", c.fn, c.ts), func(t *testing.T) {
			spec := testAggCall(t, c.fn, c.ts)
			if r := CombineRefusal(spec, false); r != "" {
				t.Fatalf("refused: %s", r)
			}
			mk := func(delta bool) aggState {
				st := testAggState(t, spec)
				if d, ok := st.(aggDelta); ok && delta {
					d.keepDeltas()
				}
				st.grow(2)
				return st
			}
			direct, global := mk(false), mk(false)
			locals := []aggState{mk(true), mk(true)}
			r := rand.New(rand.NewPCG(17, 3))
			var live [][]types.Datum
			row := func() []types.Datum {
				out := make([]types.Datum, len(c.ts))
				for j, t := range c.ts {
					if r.IntN(10) == 0 {
						continue // NULL
					}
					if t.Kind == types.Int8 {
						out[j] = int64(r.IntN(40) - 10)
					} else {
						out[j] = float64(r.IntN(40)-10) / 4
					}
				}
				return out
			}
			for epoch := range 8 {
				for range 30 {
					l := locals[r.IntN(2)]
					var args []types.Datum
					w := int64(1)
					if len(live) > 0 && r.IntN(3) == 0 {
						i := r.IntN(len(live))
						args, w = live[i], -1
						live = append(live[:i], live[i+1:]...)
					} else {
						args = row()
						live = append(live, args)
					}
					if err := direct.updateRow(0, args, w); err != nil {
						t.Fatal(err)
					}
					if err := l.updateRow(0, args, w); err != nil {
						t.Fatal(err)
					}
				}
				for _, l := range locals {
					mergePartial(t, global, l)
				}
				sameResult(t, fmt.Sprintf("epoch %d", epoch), global, direct)
			}
		})
	}
}

// TestPartialStateNetZero encodes and decodes the partial state of an
// epoch that deleted one value and inserted another in a group: its net
// count is zero, its other parts are not, and the global state must see
// the change.
func TestPartialStateNetZero(t *testing.T) {
	i8 := types.TInt8
	for _, fn := range []string{"count", "sum", "avg", "stddev_samp", "var_pop", "bit_or", "bit_and", "bit_xor"} {
		t.Run(fn, func(t *testing.T) {
			spec := testAggCall(t, fn, []types.T{i8})
			mk := func(delta bool) aggState {
				st := testAggState(t, spec)
				if d, ok := st.(aggDelta); ok && delta {
					d.keepDeltas()
				}
				st.grow(2)
				return st
			}
			direct, global, local := mk(false), mk(false), mk(true)
			fold := func(st aggState, v, w int64) {
				if err := st.updateRow(0, []types.Datum{v}, w); err != nil {
					t.Fatal(err)
				}
			}
			// Both states start from the same rows.
			for _, v := range []int64{3, 12} {
				fold(direct, v, 1)
				fold(global, v, 1)
			}
			// The epoch: 3 is deleted, 5 inserted.
			fold(direct, 3, -1)
			fold(direct, 5, 1)
			fold(local, 3, -1)
			fold(local, 5, 1)
			mergePartial(t, global, local)
			sameResult(t, "after the epoch", global, direct)
		})
	}
}

// mergePartial sends local's partial state of group 0, encoded and
// decoded, into global's group 0, as a local half hands it to the
// global one, and empties it.
func mergePartial(t *testing.T, global, local aggState) {
	t.Helper()
	buf := local.encode(nil, 0)
	local.reset(0)
	global.reset(1)
	if rest, err := global.decode(buf, 1); err != nil || len(rest) != 0 {
		t.Fatalf("decode: %v, %d bytes left", err, len(rest))
	}
	if ok, err := global.(aggMerger).merge(0, 1); !ok || err != nil {
		t.Fatalf("merge: %v %v", ok, err)
	}
}

// sameResult fails unless the two phases' global state gives the result
// of the state folded directly.
func sameResult(t *testing.T, when string, global, direct aggState) {
	t.Helper()
	want, err1 := direct.result(0)
	got, err2 := global.result(0)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: two phases give %v, one gives %v", when, got, want)
	}
}
