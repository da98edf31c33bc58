package join

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// asofCacheRun is one ASOF join of the budget tests: its database, the
// operator and what it emitted.
type asofCacheRun struct {
	env  *stream.Env
	db   *pebble.DB
	op   stream.Operator
	sink *streamtest.Sink
}

func asofCacheSpec(op string, kind batch.JoinKind, cleanup bool) *AsofJoinSpec {
	ts := []types.T{types.TInt8, types.TInt8, types.TTimestamp}
	return &AsofJoinSpec{Kind: kind, LeftKeys: []int{1}, RightKeys: []int{1}, LeftTime: 2, RightTime: 2, Op: op,
		LeftTypes: ts, RightTypes: ts, LeftNames: []string{"id", "k", "ts"}, RightNames: []string{"id", "k", "ts"},
		LeftStreamKey: []int{0}, RightStreamKey: []int{0}, Cleanup: cleanup}
}

func asofCacheOpen(t *testing.T, spec *AsofJoinSpec, env *stream.Env, db *pebble.DB) *asofCacheRun {
	t.Helper()
	out := append(append([]types.T{}, spec.LeftTypes...), spec.RightTypes...)
	s := &streamtest.Sink{Types: out}
	node := &stream.Node{Spec: spec, Types: out, StateTables: AsofJoinStateTables(spec.Cleanup)}
	op := streamtest.Open(t, env, spec, node, s, &stream.Node{Types: spec.LeftTypes}, &stream.Node{Types: spec.RightTypes})
	if rows := s.Take(); len(rows) != 0 {
		t.Fatalf("opening emitted %q", rows)
	}
	return &asofCacheRun{env: env, db: db, op: op, sink: s}
}

// The ASOF join under a state budget of a few bytes evicts its join keys
// at every barrier and reads them back, and emits exactly what the same
// join without a budget emits, over random inputs with watermarks that
// clean the state (keys evicted with heap entries the watermarks read
// back) and over random inserts and deletes without them, across
// restarts (which under the budget load no rows at all). At the end both
// hold the same state in storage.
func TestAsofJoinEvictionMatchesUnlimited(t *testing.T) {
	for _, tc := range []struct {
		op      string
		kind    batch.JoinKind
		cleanup bool
	}{
		{">=", batch.InnerJoin, true}, {">", batch.LeftJoin, true}, {"<=", batch.LeftJoin, true}, {"<", batch.InnerJoin, true},
		{">=", batch.LeftJoin, false}, {"<=", batch.InnerJoin, false},
	} {
		t.Run(fmt.Sprintf("%s %s cleanup=%v", tc.op, tc.kind, tc.cleanup), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(len(tc.op)), 7))
			spec := asofCacheSpec(tc.op, tc.kind, tc.cleanup)
			var committed uint64
			envA, dbA := streamtest.Env(t)
			envA.Committed = func() uint64 { return committed }
			envB, dbB := streamtest.Env(t)
			streamtest.Budget(envB, 64, &committed)
			a, b := asofCacheOpen(t, spec, envA, dbA), asofCacheOpen(t, spec, envB, dbB)
			const sec = int64(1_000_000)
			var now [2]int64 // the largest time of each side
			var wm [2]int64  // the watermark sent on each side
			live := [2][][]types.Datum{}
			id := int64(0)
			for epoch := uint64(1); epoch <= 40; epoch++ {
				for c := 0; c < 3; c++ {
					side := r.IntN(2)
					var ops []stream.Op
					var rows [][]types.Datum
					for n := 1 + r.IntN(6); n > 0; n-- {
						if !tc.cleanup && len(live[side]) > 0 && r.IntN(4) == 0 {
							k := r.IntN(len(live[side]))
							ops, rows = append(ops, stream.Delete), append(rows, live[side][k])
							live[side] = append(live[side][:k], live[side][k+1:]...)
							continue
						}
						id++
						// Times move on with some disorder, never behind
						// the side's watermark.
						ts := max(now[side]+int64(r.IntN(5)-2)*sec, wm[side])
						now[side] = max(now[side], ts)
						row := []types.Datum{id, int64(r.IntN(40)), types.Timestamp(ts)}
						ops, rows = append(ops, stream.Insert), append(rows, row)
						live[side] = append(live[side], row)
					}
					for _, x := range []*asofCacheRun{a, b} {
						if err := x.op.Chunk(side, streamtest.ChunkOf(spec.LeftTypes, ops, rows...)); err != nil {
							t.Fatal(err)
						}
					}
					if tc.cleanup && r.IntN(2) == 0 {
						wm[side] = max(wm[side], now[side]-3*sec)
						for _, x := range []*asofCacheRun{a, b} {
							if err := x.op.Watermark(side, stream.Watermark{Col: 2, Val: types.Timestamp(wm[side])}); err != nil {
								t.Fatal(err)
							}
						}
					}
					streamtest.SameChanges(t, epoch, a.sink.Take(), b.sink.Take())
				}
				streamtest.Barrier(t, a.op, a.db, epoch)
				streamtest.Barrier(t, b.op, b.db, epoch)
				committed = epoch
				streamtest.SameChanges(t, epoch, a.sink.Take(), b.sink.Take())
				if epoch%13 == 0 {
					envA, dbA = streamtest.Restart(t, a.db, envA.Stats)
					envA.Committed = func() uint64 { return committed }
					envB, dbB = streamtest.Restart(t, b.db, envB.Stats)
					streamtest.Budget(envB, 64, &committed)
					a, b = asofCacheOpen(t, spec, envA, dbA), asofCacheOpen(t, spec, envB, dbB)
					// The watermarks come again, as the filters resend them.
					for side := range wm {
						if tc.cleanup && wm[side] > 0 {
							for _, x := range []*asofCacheRun{a, b} {
								if err := x.op.Watermark(side, stream.Watermark{Col: 2, Val: types.Timestamp(wm[side])}); err != nil {
									t.Fatal(err)
								}
							}
						}
					}
				}
			}
			if envB.Stats.StateEvicted.Load() == 0 || envB.Stats.StateReads.Load() == 0 {
				t.Fatalf("evicted %d, read back %d: the budget did not take effect", envB.Stats.StateEvicted.Load(), envB.Stats.StateReads.Load())
			}
			for id := uint32(1); id <= 2; id++ {
				if na, nb := streamtest.StateRows(t, a.db, id), streamtest.StateRows(t, b.db, id); na != nb {
					t.Fatalf("state table %d: %d rows without a budget, %d with one", id, na, nb)
				}
			}
		})
	}
}
