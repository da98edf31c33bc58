package join

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// jcacheBudget is the state budget of the budgeted joins: a few bytes,
// so that they evict every row they may at every barrier.
const jcacheBudget = 64

// jcacheOpen opens the join of spec over a fresh database under the
// budget, with the committed epoch the test advances.
func jcacheOpen(t *testing.T, spec hjTestSpec, committed *uint64) (*stream.Env, *pebble.DB, stream.Operator, *streamtest.Sink) {
	t.Helper()
	env, db := streamtest.Env(t)
	streamtest.Budget(env, jcacheBudget, committed)
	op, s := hjOpen(t, spec, env)
	return env, db, op, s
}

// jcacheEpoch passes a barrier through op, commits it and returns the
// epoch's output sorted (rows read back from storage may sit in another
// order in their buckets).
func jcacheEpoch(t *testing.T, op stream.Operator, s *streamtest.Sink, db *pebble.DB, epoch uint64) []string {
	t.Helper()
	streamtest.Barrier(t, op, db, epoch)
	return hjSorted(s.Take())
}

// jcacheRestart reopens a checkpoint of db under a budget.
func jcacheRestart(t *testing.T, db *pebble.DB, spec hjTestSpec, stats *stream.Stats, limit int64, committed *uint64) (*stream.Env, *pebble.DB, stream.Operator, *streamtest.Sink) {
	t.Helper()
	env, db2 := streamtest.Restart(t, db, stats)
	streamtest.Budget(env, limit, committed)
	op, s := hjOpen(t, spec, env)
	if rows := s.Take(); len(rows) != 0 {
		t.Fatalf("recovery emitted %q", rows)
	}
	return env, db2, op, s
}

// jcacheChangelog generates random changes of one side: inserts, deletes
// and updates of the key or the value, with NULL keys now and then.
type jcacheChangelog struct {
	r      *rand.Rand
	keys   int
	live   [2]map[int64]hjModelRow
	nextID [2]int64
	// oneRight: the right side has at most one row (a DynamicFilter's).
	oneRight bool
}

func (g *jcacheChangelog) key() *int64 {
	if g.r.IntN(12) == 0 {
		return nil
	}
	return hjK(int64(g.r.IntN(g.keys)))
}

func (g *jcacheChangelog) chunk(side, n int) ([]stream.Op, [][]types.Datum) {
	m := g.live[side]
	var ops []stream.Op
	var rows [][]types.Datum
	for ; n > 0; n-- {
		r := g.r.IntN(8)
		if side == 1 && g.oneRight && len(m) > 0 && r < 4 {
			r = 4 + g.r.IntN(4) // a second row would break the bound
		}
		switch {
		case r < 4 || len(m) == 0:
			nr := hjModelRow{id: g.nextID[side], k: g.key(), v: int64(g.r.IntN(6))}
			g.nextID[side]++
			m[nr.id] = nr
			ops, rows = append(ops, stream.Insert), append(rows, nr.datums())
		default:
			ids := make([]int64, 0, len(m))
			for id := range m {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			old := m[ids[g.r.IntN(len(ids))]]
			if r < 6 {
				delete(m, old.id)
				ops, rows = append(ops, stream.Delete), append(rows, old.datums())
				continue
			}
			nr := old
			if g.r.IntN(2) == 0 {
				nr.k = g.key()
			} else {
				nr.v = int64(g.r.IntN(6))
			}
			m[nr.id] = nr
			ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, old.datums(), nr.datums())
		}
	}
	return ops, rows
}

// TestJoinEvictionMatchesUnlimited runs the same random changelogs
// through a join without a budget and one with a budget of a few bytes,
// which evicts every key it may at every barrier and reads keys back for
// most rows. Both must emit the same changes every epoch, across restarts
// of the budgeted one (which then loads only part of its state), for
// every outer join kind, with and without a residual.
func TestJoinEvictionMatchesUnlimited(t *testing.T) {
	for _, kind := range []batch.JoinKind{batch.InnerJoin, batch.LeftJoin, batch.RightJoin, batch.FullJoin} {
		for _, residual := range []bool{false, true} {
			for seed := uint64(1); seed <= 2; seed++ {
				t.Run(fmt.Sprint(kind, "/residual=", residual, "/", seed), func(t *testing.T) {
					jcacheCompare(t, hjSpec(t, kind, residual), seed)
				})
			}
		}
	}
}

func jcacheCompare(t *testing.T, spec hjTestSpec, seed uint64) {
	jcacheCompareGen(t, spec, seed, false, false)
}

// jcacheCompareGen is jcacheCompare; oneRight keeps the right input at
// one row at most, and loose compares updates as a delete and an insert
// (a keyless join pairs a changed row's output into an update only when
// it has one output row, which depends on what is in memory).
func jcacheCompareGen(t *testing.T, spec hjTestSpec, seed uint64, oneRight, loose bool) {
	envA, dbA := streamtest.Env(t)
	opA, sA := hjOpen(t, spec, envA)
	var committed uint64
	envB, dbB, opB, sB := jcacheOpen(t, spec, &committed)
	g := &jcacheChangelog{r: rand.New(rand.NewPCG(seed, 17)), keys: 15 + int(seed)*10,
		live: [2]map[int64]hjModelRow{{}, {}}, nextID: [2]int64{1, 100000}, oneRight: oneRight}
	ts := [2][]types.T{hjLeftTypes, hjRightTypes}
	// The budgeted join's epochs commit late now and then, as they do
	// when other jobs are slower: its first chunks of the next epoch
	// then read state in which the last epoch's writes are missing.
	var pending *pebble.Batch
	commit := func() {
		if pending != nil {
			if err := pending.Commit(pebble.Sync); err != nil {
				t.Fatal(err)
			}
			pending = nil
			committed++
		}
	}
	for epoch := uint64(1); epoch <= 40; epoch++ {
		for c := range 1 + g.r.IntN(4) {
			if c == 1 {
				commit()
			}
			side := g.r.IntN(2)
			ops, rows := g.chunk(side, 1+g.r.IntN(25))
			for _, op := range []stream.Operator{opA, opB} {
				if err := op.Chunk(side, streamtest.ChunkOf(ts[side], ops, rows...)); err != nil {
					t.Fatal(err)
				}
			}
		}
		commit()
		a := jcacheEpoch(t, opA, sA, dbA, epoch)
		pending = dbB.NewBatch()
		if err := opB.Barrier(&stream.Barrier{Epoch: epoch, Writes: pending}); err != nil {
			t.Fatal(err)
		}
		b := hjSorted(sB.Take())
		if epoch%3 != 0 {
			commit()
		}
		if loose {
			a, b = jcacheLoose(a), jcacheLoose(b)
		}
		streamtest.SameChanges(t, epoch, a, b)
		if epoch%13 == 0 {
			commit()
			envB, dbB, opB, sB = jcacheRestart(t, dbB, spec, envB.Stats, jcacheBudget, &committed)
		}
	}
	commit()
	for side := range 2 {
		if a, b := streamtest.StateRows(t, dbA, uint32(side+1)), streamtest.StateRows(t, dbB, uint32(side+1)); a != b {
			t.Fatalf("side %d: %d rows stored with a budget, %d without", side, b, a)
		}
	}
	streamtest.CheckEvicted(t, envA.Stats, envB.Stats)
	if envB.Stats.StateBytes.Load() <= 0 {
		t.Fatal("no state bytes reported")
	}
}

// jcacheLoose returns changes with updates as deletes and inserts.
func jcacheLoose(changes []string) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		switch {
		case strings.HasPrefix(c, "U- "):
			c = "- " + c[3:]
		case strings.HasPrefix(c, "U+ "):
			c = "+ " + c[3:]
		}
		out[i] = c
	}
	return out
}

// TestJoinEvictionNoStreamKey: inputs without a stream key keep their
// rows apart by sequence numbers, which must survive eviction.
func TestJoinEvictionNoStreamKey(t *testing.T) {
	spec := hjSpec(t, batch.FullJoin, true)
	spec.LeftStreamKey, spec.RightStreamKey = nil, nil
	jcacheCompare(t, spec, 3)
}

// TestJoinEvictionWithCleanup combines both ways of bounding memory: an
// interval join whose rows are evicted and cleaned by watermarks. The
// evicted rows must be deleted from storage by the watermarks too.
func TestJoinEvictionWithCleanup(t *testing.T) {
	for _, kind := range []batch.JoinKind{batch.InnerJoin, batch.LeftJoin} {
		t.Run(kind.String(), func(t *testing.T) {
			spec := jcIntervalSpec(t, kind, true)
			envA, dbA := streamtest.Env(t)
			opA, sA := hjOpen(t, spec, envA)
			var committed uint64
			envB, dbB, opB, sB := jcacheOpen(t, spec, &committed)
			g := &jcGen{r: rand.New(rand.NewPCG(5, uint64(kind))), keys: 40}
			ts := [2][]types.T{jcLeftTypes, jcRightTypes}
			for epoch := uint64(1); epoch <= 40; epoch++ {
				g.epoch(t, ts, opA, opB)
				a := jcacheEpoch(t, opA, sA, dbA, epoch)
				b := jcacheEpoch(t, opB, sB, dbB, epoch)
				committed = epoch
				streamtest.SameChanges(t, epoch, a, b)
				for side := range 2 {
					if a, b := streamtest.StateRows(t, dbA, uint32(side+1)), streamtest.StateRows(t, dbB, uint32(side+1)); a != b {
						t.Fatalf("epoch %d side %d: %d rows stored with a budget, %d without", epoch, side, b, a)
					}
				}
				if epoch == 20 {
					envB, dbB, opB, sB = jcacheRestart(t, dbB, spec, envB.Stats, jcacheBudget, &committed)
				}
			}
			if envB.Stats.StateEvicted.Load() == 0 {
				t.Fatal("nothing was evicted")
			}
		})
	}
}

// TestJoinEvictionSkipsNeverStoredKeys: under a budget that evicts every
// key at every barrier, rows of keys never seen before cost no read of
// storage (the join remembers the hashes of the keys it evicted), while
// rows of evicted keys read them back and match them.
func TestJoinEvictionSkipsNeverStoredKeys(t *testing.T) {
	var committed uint64
	_, db, op, s := jcacheOpen(t, hjSpec(t, batch.InnerJoin, false), &committed)
	h := op.(*HashJoin)
	ts := [2][]types.T{hjLeftTypes, hjRightTypes}
	id := int64(1)
	row := func(k int64) []types.Datum {
		id++
		return hjModelRow{id: id, k: hjK(k), v: 1}.datums()
	}
	for epoch := uint64(1); epoch <= 6; epoch++ {
		for side := range 2 {
			k := int64(epoch*100) + int64(side)*1000
			if err := op.Chunk(side, streamtest.ChunkOf(ts[side], []stream.Op{stream.Insert, stream.Insert}, row(k), row(k+1))); err != nil {
				t.Fatal(err)
			}
		}
		jcacheEpoch(t, op, s, db, epoch)
		committed = epoch
	}
	if !h.cache.Evicted || h.cache.scans != 0 {
		t.Fatalf("new keys: evicted %v, %d keys read from storage, want evictions and no reads", h.cache.Evicted, h.cache.scans)
	}
	// Right rows for left keys evicted long ago: each key is read back
	// and joins.
	if err := op.Chunk(1, streamtest.ChunkOf(hjRightTypes, []stream.Op{stream.Insert, stream.Insert}, row(100), row(301))); err != nil {
		t.Fatal(err)
	}
	if got := jcacheEpoch(t, op, s, db, 7); len(got) != 2 || h.cache.scans != 2 {
		t.Fatalf("evicted keys: output %q after %d reads, want two joined rows after two reads", got, h.cache.scans)
	}
}
