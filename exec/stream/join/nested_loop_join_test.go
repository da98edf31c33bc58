package join

import (
	"testing"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
)

// nljOpen builds a nested loop join of hjSpec's inputs with the residual
// l.v < r.w and no keys.
func nljOpen(t *testing.T, kind batch.JoinKind, oneRow bool) (stream.Operator, *streamtest.Sink) {
	t.Helper()
	env, _ := streamtest.Env(t)
	spec := &NestedLoopJoinSpec{HashJoinSpec: *hjSpec(t, kind, true), OneRowRight: oneRow}
	spec.LeftKeys, spec.RightKeys = nil, nil
	out := spec.LeftTypes
	if kind != batch.SemiJoin && kind != batch.AntiJoin {
		out = append(out[:len(out):len(out)], spec.RightTypes...)
	}
	left := &stream.Node{Types: spec.LeftTypes, StreamKey: spec.LeftStreamKey}
	right := &stream.Node{Types: spec.RightTypes, StreamKey: spec.RightStreamKey}
	node := &stream.Node{Spec: spec, Inputs: []*stream.Node{left, right}, Types: out, StateTables: NestedLoopJoinStateTables(oneRow)}
	s := &streamtest.Sink{Types: out}
	op, err := spec.Build(streamtest.BuildCtx(env, node, left, right), stream.Output{Op: s})
	if err != nil {
		t.Fatal(err)
	}
	return op, s
}

// A dynamic filter (a semi join against one row, l.v < r.w): a change of
// the one row emits only the left rows that start or stop passing, and a
// left row is checked against the current row.
func TestDynamicFilterEmitsOnlyChangedRows(t *testing.T) {
	op, s := nljOpen(t, batch.SemiJoin, true)
	hjExpect(t, "left rows, no right row", hjPush(t, op, s, 0, ins(3),
		streamtest.Row(int64(1), int64(0), int64(5)), streamtest.Row(int64(2), int64(0), int64(10)), streamtest.Row(int64(3), nil, int64(20))))
	hjExpect(t, "the row arrives", hjSorted(hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(100), int64(0), int64(12)))),
		"+ 1 0 5", "+ 2 0 10")
	upd := []stream.Op{stream.UpdateDelete, stream.UpdateInsert}
	// The threshold rises past row 3: only row 3 enters; rows 1 and 2
	// pass before and after and are not emitted again.
	hjExpect(t, "the threshold rises", hjPush(t, op, s, 1, upd,
		streamtest.Row(int64(100), int64(0), int64(12)), streamtest.Row(int64(100), int64(0), int64(30))), "+ 3 NULL 20")
	hjExpect(t, "the threshold falls", hjSorted(hjPush(t, op, s, 1, upd,
		streamtest.Row(int64(100), int64(0), int64(30)), streamtest.Row(int64(100), int64(0), int64(8)))), "- 2 0 10", "- 3 NULL 20")
	hjExpect(t, "a left row against the row", hjPush(t, op, s, 0, ins(2),
		streamtest.Row(int64(4), int64(0), int64(7)), streamtest.Row(int64(5), int64(0), int64(9))), "+ 4 0 7")
	hjExpect(t, "an unchanged threshold", hjPush(t, op, s, 1, upd,
		streamtest.Row(int64(100), int64(0), int64(8)), streamtest.Row(int64(100), int64(0), int64(8))))
	hjExpect(t, "the row goes", hjSorted(hjPush(t, op, s, 1, dels(1), streamtest.Row(int64(100), int64(0), int64(8)))),
		"- 1 0 5", "- 4 0 7")
}

// A nested loop join pairs every row of one side with every row of the
// other on the condition, also for a change of a right row.
func TestNestedLoopJoinInner(t *testing.T) {
	op, s := nljOpen(t, batch.InnerJoin, false)
	hjPush(t, op, s, 0, ins(2), streamtest.Row(int64(1), int64(0), int64(5)), streamtest.Row(int64(2), int64(7), int64(10)))
	hjExpect(t, "right rows", hjSorted(hjPush(t, op, s, 1, ins(2),
		streamtest.Row(int64(100), int64(3), int64(6)), streamtest.Row(int64(101), int64(4), int64(11)))),
		"+ 1 0 5 100 3 6", "+ 1 0 5 101 4 11", "+ 2 7 10 101 4 11")
	hjExpect(t, "a right row changes", hjSorted(hjPush(t, op, s, 1, []stream.Op{stream.UpdateDelete, stream.UpdateInsert},
		streamtest.Row(int64(100), int64(3), int64(6)), streamtest.Row(int64(100), int64(3), int64(2)))),
		"- 1 0 5 100 3 6")
	hjExpect(t, "a left row goes", hjSorted(hjPush(t, op, s, 0, dels(1), streamtest.Row(int64(1), int64(0), int64(5)))),
		"- 1 0 5 101 4 11")
}
