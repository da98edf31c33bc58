package join

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// ljEnv opens (or reopens) a database in dir with the Env a lookup join
// needs (the database itself, for the table lookups), and a function
// that closes it early (else it is closed when the test ends).
func ljEnv(t *testing.T, dir string, fresh bool) (*stream.Env, *storage.DB, func()) {
	t.Helper()
	sdb, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeDB := func() {
		if !closed {
			closed = true
			sdb.Close()
		}
	}
	t.Cleanup(closeDB)
	return &stream.Env{Ctx: &exec.Ctx{Env: udf.Env{Location: time.UTC}}, State: sdb.Latest(), Fresh: fresh,
		Stats: &stream.Stats{}, DB: sdb}, sdb, closeDB
}

// ljTable is the looked-up table: dim(k int8 primary key, name text, w int4).
var ljTable = &storage.Table{ID: 900, Name: "dim", Types: []types.T{types.TInt8, types.TText, types.TInt4},
	ColNames: []string{"k", "name", "w"}, PK: []int{0}}

// ljPut writes rows into the table in one committed transaction.
func ljPut(t *testing.T, db *storage.DB, rows ...[]types.Datum) {
	t.Helper()
	txn := db.Begin()
	for _, r := range rows {
		if err := ljTable.Put(txn, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
}

// The left input: (id int4, key int4); stream key id.
var ljLeft = []types.T{types.TInt4, types.TInt4}

func ljSpec(kind batch.JoinKind, appendOnly bool, residual expr.Expr) *LookupJoinSpec {
	return &LookupJoinSpec{Kind: kind, Table: ljTable,
		Keys:      []expr.Expr{&expr.ColRef{Idx: 1, T: types.TInt4, Name: "key"}},
		RightCols: []int{1, 2}, Residual: residual,
		LeftTypes: ljLeft, LeftStreamKey: []int{0}, LeftAppendOnly: appendOnly}
}

func ljBuild(t *testing.T, env *stream.Env, spec *LookupJoinSpec) (stream.Operator, *streamtest.Sink) {
	t.Helper()
	out := &streamtest.Sink{Types: []types.T{types.TInt4, types.TInt4, types.TText, types.TInt4}}
	node := &stream.Node{Spec: spec}
	if !spec.LeftAppendOnly {
		node.StateTables = []string{"emitted"}
	}
	op := streamtest.Open(t, env, spec, node, out)
	return op, out
}

func ljSend(t *testing.T, op stream.Operator, ops []stream.Op, rows ...[]types.Datum) {
	t.Helper()
	if err := op.Chunk(0, streamtest.ChunkOf(ljLeft, ops, rows...)); err != nil {
		t.Fatal(err)
	}
}

func ljExpect(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// An append-only stream is joined with the table as it is when each chunk
// is processed; later table changes leave earlier rows alone. INNER drops
// rows without a match (and NULL keys); LEFT pads them.
func TestLookupJoinAppendOnly(t *testing.T) {
	for _, kind := range []batch.JoinKind{batch.InnerJoin, batch.LeftJoin} {
		t.Run(kind.String(), func(t *testing.T) {
			env, db, _ := ljEnv(t, t.TempDir(), true)
			ljPut(t, db, streamtest.Row(int64(1), "one", int64(10)), streamtest.Row(int64(2), "two", nil))
			op, out := ljBuild(t, env, ljSpec(kind, true, nil))
			ins := []stream.Op{stream.Insert, stream.Insert, stream.Insert, stream.Insert}
			ljSend(t, op, ins, streamtest.Row(int64(100), int64(1)), streamtest.Row(int64(101), int64(3)), streamtest.Row(int64(102), int64(2)), streamtest.Row(int64(103), nil))
			ljPut(t, db, streamtest.Row(int64(1), "ONE", int64(11)), streamtest.Row(int64(3), "three", int64(30)))
			ljSend(t, op, []stream.Op{stream.Insert, stream.Insert}, streamtest.Row(int64(104), int64(1)), streamtest.Row(int64(105), int64(3)))
			if kind == batch.InnerJoin {
				ljExpect(t, out.Take(), "+ 100 1 one 10", "+ 102 2 two NULL", "+ 104 1 ONE 11", "+ 105 3 three 30")
			} else {
				ljExpect(t, out.Take(), "+ 100 1 one 10", "+ 101 3 NULL NULL", "+ 102 2 two NULL", "+ 103 NULL NULL NULL",
					"+ 104 1 ONE 11", "+ 105 3 three 30")
			}
		})
	}
}

// A residual rejects a match: INNER drops the row, LEFT pads it.
func TestLookupJoinResidual(t *testing.T) {
	res := &expr.Call{Fn: ljGreater(t), Args: []expr.Expr{&expr.ColRef{Idx: 3, T: types.TInt4}, &expr.Const{Value: int64(5), T: types.TInt4}}, T: types.TBool}
	for _, kind := range []batch.JoinKind{batch.InnerJoin, batch.LeftJoin} {
		env, db, _ := ljEnv(t, t.TempDir(), true)
		ljPut(t, db, streamtest.Row(int64(1), "one", int64(10)), streamtest.Row(int64(2), "two", int64(2)))
		op, out := ljBuild(t, env, ljSpec(kind, true, res))
		ljSend(t, op, []stream.Op{stream.Insert, stream.Insert}, streamtest.Row(int64(100), int64(1)), streamtest.Row(int64(101), int64(2)))
		if kind == batch.InnerJoin {
			ljExpect(t, out.Take(), "+ 100 1 one 10")
		} else {
			ljExpect(t, out.Take(), "+ 100 1 one 10", "+ 101 2 NULL NULL")
		}
	}
}

func ljGreater(t *testing.T) *udf.Scalar {
	fn, _, err := udf.LookupOperator(">", types.TInt4, types.TInt4)
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

// A retracting left input: a delete retracts exactly what its insert
// emitted, though the table changed in between, also after a restart
// from the committed state; an update pair stays a pair when both halves
// emit and becomes a lone delete or insert otherwise.
func TestLookupJoinRetractRestart(t *testing.T) {
	dir := t.TempDir()
	env, db, closeDB := ljEnv(t, dir, true)
	ljPut(t, db, streamtest.Row(int64(1), "one", int64(10)), streamtest.Row(int64(2), "two", int64(20)))
	op, out := ljBuild(t, env, ljSpec(batch.LeftJoin, false, nil))
	ljSend(t, op, []stream.Op{stream.Insert, stream.Insert, stream.Insert}, streamtest.Row(int64(100), int64(1)), streamtest.Row(int64(101), int64(9)), streamtest.Row(int64(102), int64(2)))
	ljExpect(t, out.Take(), "+ 100 1 one 10", "+ 101 9 NULL NULL", "+ 102 2 two 20")
	streamtest.Barrier(t, op, db.Pebble(), 1)

	// The table changes; the state of epoch 1 is committed. Restart.
	ljPut(t, db, streamtest.Row(int64(1), "uno", int64(11)), streamtest.Row(int64(9), "nine", int64(90)))
	closeDB()
	env, db, _ = ljEnv(t, dir, false)
	op, out = ljBuild(t, env, ljSpec(batch.LeftJoin, false, nil))

	// Deletes replay the stored emission; inserts see the new table.
	ljSend(t, op, []stream.Op{stream.Delete, stream.UpdateDelete, stream.UpdateInsert, stream.Insert},
		streamtest.Row(int64(100), int64(1)), streamtest.Row(int64(101), int64(9)), streamtest.Row(int64(101), int64(9)), streamtest.Row(int64(103), int64(1)))
	ljExpect(t, out.Take(), "- 100 1 one 10", "U- 101 9 NULL NULL", "U+ 101 9 nine 90", "+ 103 1 uno 11")
	// Insert and delete in one chunk.
	ljSend(t, op, []stream.Op{stream.Insert, stream.Delete}, streamtest.Row(int64(104), int64(2)), streamtest.Row(int64(104), int64(2)))
	ljExpect(t, out.Take(), "+ 104 2 two 20", "- 104 2 two 20")
	// A delete of a row never seen emits nothing.
	ljSend(t, op, []stream.Op{stream.Delete}, streamtest.Row(int64(999), int64(1)))
	ljExpect(t, out.Take())
	streamtest.Barrier(t, op, db.Pebble(), 2)

	// What is left in state: 101 (nine), 102 (two), 103 (uno).
	if n := streamtest.StateRows(t, db.Pebble(), 1); n != 3 {
		t.Fatalf("%d state entries, want 3", n)
	}
}

// INNER over a retracting input: an update whose new half finds no row
// becomes a lone delete, and a delete of a row that found nothing emits
// nothing.
func TestLookupJoinInnerUpdates(t *testing.T) {
	env, db, _ := ljEnv(t, t.TempDir(), true)
	ljPut(t, db, streamtest.Row(int64(1), "one", int64(10)))
	op, out := ljBuild(t, env, ljSpec(batch.InnerJoin, false, nil))
	ljSend(t, op, []stream.Op{stream.Insert, stream.Insert}, streamtest.Row(int64(100), int64(1)), streamtest.Row(int64(101), int64(5)))
	ljSend(t, op, []stream.Op{stream.UpdateDelete, stream.UpdateInsert, stream.Delete}, streamtest.Row(int64(100), int64(1)), streamtest.Row(int64(100), int64(5)), streamtest.Row(int64(101), int64(5)))
	ljSend(t, op, []stream.Op{stream.UpdateDelete, stream.UpdateInsert}, streamtest.Row(int64(100), int64(5)), streamtest.Row(int64(100), int64(1)))
	ljExpect(t, out.Take(), "+ 100 1 one 10", "- 100 1 one 10", "+ 100 1 one 10")
}

// TestLookupJoinStateBudget runs a retracting LEFT lookup join under a
// state memory budget far below its state: entries of committed epochs
// are evicted at barriers, and deletes read them back from storage, so
// every retraction still replays what its insert emitted (not the table
// as it is now), before and after a restart that loads only part of the
// state.
func TestLookupJoinStateBudget(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	var committed uint64
	budgetEnv := func(fresh bool) (*stream.Env, *storage.DB, func()) {
		env, db, closeDB := ljEnv(t, dir, fresh)
		streamtest.Budget(env, 4<<10, &committed)
		return env, db, closeDB
	}
	env, db, closeDB := budgetEnv(true)
	ljPut(t, db, streamtest.Row(int64(1), "one", int64(10)), streamtest.Row(int64(2), "two", int64(20)))
	op, out := ljBuild(t, env, ljSpec(batch.LeftJoin, false, nil))
	var want []string
	insert := func(from, to int) {
		var rows [][]types.Datum
		for i := from; i < to; i++ {
			rows = append(rows, streamtest.Row(int64(i), int64(i%3)))
		}
		ljSend(t, op, make([]stream.Op, len(rows)), rows...)
	}
	retraction := func(i int) string {
		switch i % 3 {
		case 1:
			return fmt.Sprintf("- %d 1 one 10", i)
		case 2:
			return fmt.Sprintf("- %d 2 two 20", i)
		}
		return fmt.Sprintf("- %d 0 NULL NULL", i)
	}
	insert(0, n)
	out.Take()
	for e := uint64(1); e <= 3; e++ {
		streamtest.Barrier(t, op, db.Pebble(), e)
		committed = e
	}
	if env.Stats.StateEvicted.Load() == 0 {
		t.Fatal("nothing evicted under the budget")
	}
	// The table changes; deletes must still retract what was emitted.
	ljPut(t, db, streamtest.Row(int64(1), "uno", int64(11)), streamtest.Row(int64(2), "dos", int64(22)))
	var dels [][]types.Datum
	for i := 0; i < n/2; i++ {
		dels = append(dels, streamtest.Row(int64(i), int64(i%3)))
		want = append(want, retraction(i))
	}
	ljSend(t, op, slices.Repeat([]stream.Op{stream.Delete}, len(dels)), dels...)
	ljExpect(t, out.Take(), want...)
	if env.Stats.StateReads.Load() == 0 {
		t.Fatal("no state read back")
	}
	streamtest.Barrier(t, op, db.Pebble(), 4)
	committed = 4

	// Restart: the load stops at the budget, the rest is read back.
	closeDB()
	env, _, _ = budgetEnv(false)
	op, out = ljBuild(t, env, ljSpec(batch.LeftJoin, false, nil))
	want, dels = nil, nil
	for i := n / 2; i < n; i++ {
		dels = append(dels, streamtest.Row(int64(i), int64(i%3)))
		want = append(want, retraction(i))
	}
	ljSend(t, op, slices.Repeat([]stream.Op{stream.Delete}, len(dels)), dels...)
	ljExpect(t, out.Take(), want...)
	if env.Stats.StateReads.Load() == 0 {
		t.Fatal("after the restart: no state read back")
	}
}
