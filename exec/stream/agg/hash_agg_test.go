package agg

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/udf"
)

func hashAggDistinct(a batch.AggSpec) batch.AggSpec { a.Distinct = true; return a }
func hashAggFiltered(a batch.AggSpec, col int) batch.AggSpec {
	a.Filter = col
	return a
}

// hashAggOpen builds the operator over input types in with a sink.
func hashAggOpen(t testing.TB, spec *HashAggSpec, env *stream.Env, in []types.T) (stream.Operator, *streamtest.Sink) {
	t.Helper()
	return aggTestOpen(t, env, spec, spec.GroupTypes, spec.Aggs, []string{"groups", "multisets"}, in)
}

// aggTestOpen opens the aggregating operator of spec, with the state
// tables tables, over input types in, into a sink of the columns lead
// followed by one column per aggregate of aggs.
func aggTestOpen(t testing.TB, env *stream.Env, spec stream.Spec, lead []types.T, aggs []batch.AggSpec, tables []string, in []types.T) (stream.Operator, *streamtest.Sink) {
	t.Helper()
	out := slices.Clone(lead)
	for _, a := range aggs {
		out = append(out, a.T)
	}
	s := &streamtest.Sink{Types: out}
	node := &stream.Node{Spec: spec, Types: out, StateTables: tables}
	op := streamtest.Open(t, env, spec, node, s, &stream.Node{Types: in})
	return op, s
}

// hashAggPush sends one chunk.
func hashAggPush(t testing.TB, op stream.Operator, ts []types.T, ops []stream.Op, rows ...[]types.Datum) {
	t.Helper()
	if err := op.Chunk(0, streamtest.ChunkOf(ts, ops, rows...)); err != nil {
		t.Fatal(err)
	}
}

func hashAggOps(op stream.Op, n int) []stream.Op {
	ops := make([]stream.Op, n)
	for i := range ops {
		ops[i] = op
	}
	return ops
}

// hashAggEpoch passes a barrier and returns the rows emitted since the
// last call.
func hashAggEpoch(t *testing.T, op stream.Operator, s *streamtest.Sink, db *pebble.DB, epoch uint64) []string {
	t.Helper()
	streamtest.Barrier(t, op, db, epoch)
	return s.Take()
}

func hashAggExpect(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func hashAggDec(s string) *apd.Decimal {
	d, err := types.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestHashAggGroupsAcrossEpochs(t *testing.T) {
	env, db := streamtest.Env(t)
	in := []types.T{types.TInt8, types.TInt8}
	spec := &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TInt8}, WindowCol: -1,
		Aggs: []batch.AggSpec{
			streamtest.AggCall(t, "count", nil, nil),
			streamtest.AggCall(t, "sum", []int{1}, []types.T{types.TInt8}),
			streamtest.AggCall(t, "count", []int{1}, []types.T{types.TInt8}),
		},
	}
	op, s := hashAggOpen(t, spec, env, in)
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 3), streamtest.Row(int64(1), int64(10)), streamtest.Row(int64(1), int64(20)), streamtest.Row(int64(2), int64(5)))
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 1), streamtest.Row(int64(2), nil))
	hashAggExpect(t, "epoch 1", hashAggEpoch(t, op, s, db, 1), "+ 1 2 30 2", "+ 2 2 5 1")

	// A delete, and an update that moves a row from group 1 to group 3.
	hashAggPush(t, op, in, []stream.Op{stream.Delete, stream.UpdateDelete, stream.UpdateInsert},
		streamtest.Row(int64(2), int64(5)), streamtest.Row(int64(1), int64(20)), streamtest.Row(int64(3), int64(20)))
	hashAggExpect(t, "epoch 2", hashAggEpoch(t, op, s, db, 2),
		"U- 2 2 5 1", "U+ 2 1 NULL 0", "U- 1 2 30 2", "U+ 1 1 10 1", "+ 3 1 20 1")

	// A change that cancels out emits nothing; the last row of a group
	// deletes it.
	hashAggPush(t, op, in, []stream.Op{stream.Insert, stream.Delete, stream.Delete}, streamtest.Row(int64(1), int64(7)), streamtest.Row(int64(1), int64(7)), streamtest.Row(int64(2), nil))
	hashAggExpect(t, "epoch 3", hashAggEpoch(t, op, s, db, 3), "- 2 1 NULL 0")

	// The deleted group comes back as a new one.
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 1), streamtest.Row(int64(2), int64(-4)))
	hashAggExpect(t, "epoch 4", hashAggEpoch(t, op, s, db, 4), "+ 2 1 -4 1")
	if n := streamtest.StateRows(t, db, 1); n != 3 {
		t.Fatalf("%d group rows in state, want 3", n)
	}
}

func TestHashAggMinMaxRetract(t *testing.T) {
	env, db := streamtest.Env(t)
	in := []types.T{types.TInt4, types.TInt8, types.TText, types.TNumeric}
	spec := &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TInt4}, WindowCol: -1,
		Aggs: []batch.AggSpec{
			streamtest.AggCall(t, "min", []int{1}, []types.T{types.TInt8}),
			streamtest.AggCall(t, "max", []int{1}, []types.T{types.TInt8}),
			streamtest.AggCall(t, "min", []int{2}, []types.T{types.TText}),
			streamtest.AggCall(t, "max", []int{3}, []types.T{types.TNumeric}),
		},
	}
	op, s := hashAggOpen(t, spec, env, in)
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 4),
		streamtest.Row(int64(1), int64(5), "m", hashAggDec("1.50")),
		streamtest.Row(int64(1), int64(3), "b", hashAggDec("2")),
		streamtest.Row(int64(1), int64(9), "z", hashAggDec("2.0")),
		streamtest.Row(int64(1), int64(3), "b", hashAggDec("-1")))
	hashAggExpect(t, "epoch 1", hashAggEpoch(t, op, s, db, 1), "+ 1 3 9 b 2")
	// One of the two 3s goes: min stays 3. The max 9 goes: next is 5.
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 2), streamtest.Row(int64(1), int64(3), "b", hashAggDec("-1")), streamtest.Row(int64(1), int64(9), "z", hashAggDec("2.0")))
	hashAggExpect(t, "epoch 2", hashAggEpoch(t, op, s, db, 2), "U- 1 3 9 b 2", "U+ 1 3 5 b 2")
	// The other 3 and the numeric max go: the next extremes take over,
	// with their own scale.
	hashAggPush(t, op, in, []stream.Op{stream.Delete, stream.Insert}, streamtest.Row(int64(1), int64(3), "b", hashAggDec("2")), streamtest.Row(int64(1), int64(100), "a", nil))
	hashAggExpect(t, "epoch 3", hashAggEpoch(t, op, s, db, 3), "U- 1 3 5 b 2", "U+ 1 5 100 a 1.50")
	if n := streamtest.StateRows(t, db, 2); n != 7 {
		t.Fatalf("%d multiset entries in state, want 7", n)
	}
}

func TestHashAggCountDistinct(t *testing.T) {
	env, db := streamtest.Env(t)
	in := []types.T{types.TText, types.TInt8}
	spec := &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TText}, WindowCol: -1,
		Aggs: []batch.AggSpec{
			hashAggDistinct(streamtest.AggCall(t, "count", []int{1}, []types.T{types.TInt8})),
			hashAggDistinct(streamtest.AggCall(t, "sum", []int{1}, []types.T{types.TInt8})),
			streamtest.AggCall(t, "count", nil, nil),
		},
	}
	op, s := hashAggOpen(t, spec, env, in)
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 5),
		streamtest.Row("a", int64(1)), streamtest.Row("a", int64(1)), streamtest.Row("a", int64(2)), streamtest.Row("a", nil), streamtest.Row("b", int64(7)))
	hashAggExpect(t, "epoch 1", hashAggEpoch(t, op, s, db, 1), "+ a 2 3 4", "+ b 1 7 1")
	// Deleting one of two 1s keeps the distinct count.
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 1), streamtest.Row("a", int64(1)))
	hashAggExpect(t, "epoch 2", hashAggEpoch(t, op, s, db, 2), "U- a 2 3 4", "U+ a 2 3 3")
	// Deleting the last 1 drops it.
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 1), streamtest.Row("a", int64(1)))
	hashAggExpect(t, "epoch 3", hashAggEpoch(t, op, s, db, 3), "U- a 2 3 3", "U+ a 1 2 2")
}

func TestHashAggGlobalEmptyInput(t *testing.T) {
	env, db := streamtest.Env(t)
	in := []types.T{types.TInt4}
	spec := &HashAggSpec{
		WindowCol: -1,
		Aggs: []batch.AggSpec{
			streamtest.AggCall(t, "count", nil, nil),
			streamtest.AggCall(t, "sum", []int{0}, []types.T{types.TInt4}),
			streamtest.AggCall(t, "max", []int{0}, []types.T{types.TInt4}),
		},
	}
	op, s := hashAggOpen(t, spec, env, in)
	hashAggExpect(t, "empty input", hashAggEpoch(t, op, s, db, 1), "+ 0 NULL NULL")
	hashAggExpect(t, "no change", hashAggEpoch(t, op, s, db, 2))
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 2), streamtest.Row(int64(4)), streamtest.Row(int64(6)))
	hashAggExpect(t, "two rows", hashAggEpoch(t, op, s, db, 3), "U- 0 NULL NULL", "U+ 2 10 6")
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 2), streamtest.Row(int64(4)), streamtest.Row(int64(6)))
	hashAggExpect(t, "all deleted", hashAggEpoch(t, op, s, db, 4), "U- 2 10 6", "U+ 0 NULL NULL")

	// After a restart the row is not inserted again.
	env2, db2 := streamtest.Restart(t, db, nil)
	op2, s2 := hashAggOpen(t, spec, env2, in)
	hashAggExpect(t, "after restart", hashAggEpoch(t, op2, s2, db2, 5))
	hashAggPush(t, op2, in, hashAggOps(stream.Insert, 1), streamtest.Row(int64(1)))
	hashAggExpect(t, "after restart, one row", hashAggEpoch(t, op2, s2, db2, 6), "U- 0 NULL NULL", "U+ 1 1 1")
}

// Expected values from PostgreSQL 15.
func TestHashAggNumericExact(t *testing.T) {
	env, db := streamtest.Env(t)
	in := []types.T{types.TInt4, types.TNumeric, types.TInt8, types.TInt4}
	spec := &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TInt4}, WindowCol: -1,
		Aggs: []batch.AggSpec{
			streamtest.AggCall(t, "avg", []int{1}, []types.T{types.TNumeric}),
			streamtest.AggCall(t, "sum", []int{1}, []types.T{types.TNumeric}),
			streamtest.AggCall(t, "avg", []int{2}, []types.T{types.TInt8}),
			streamtest.AggCall(t, "sum", []int{2}, []types.T{types.TInt8}),
			streamtest.AggCall(t, "avg", []int{3}, []types.T{types.TInt4}),
		},
	}
	op, s := hashAggOpen(t, spec, env, in)
	const big = int64(9223372036854775807)
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 3),
		streamtest.Row(int64(1), hashAggDec("1.10"), big, int64(1)), streamtest.Row(int64(1), hashAggDec("2.205"), big, int64(2)), streamtest.Row(int64(1), hashAggDec("3"), nil, int64(2)))
	hashAggExpect(t, "epoch 1", hashAggEpoch(t, op, s, db, 1),
		"+ 1 2.1016666666666667 6.305 9223372036854775807 18446744073709551614 1.6666666666666667")
	// Retracting the value with the largest scale brings the scale back.
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 1), streamtest.Row(int64(1), hashAggDec("2.205"), big, int64(2)))
	hashAggExpect(t, "epoch 2", hashAggEpoch(t, op, s, db, 2),
		"U- 1 2.1016666666666667 6.305 9223372036854775807 18446744073709551614 1.6666666666666667",
		"U+ 1 2.0500000000000000 4.10 9223372036854775807 9223372036854775807 1.5000000000000000")

	// NaN and ±Infinity as group keys and values; retracting them works.
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 4),
		streamtest.Row(int64(2), hashAggDec("Infinity"), nil, nil), streamtest.Row(int64(2), hashAggDec("-Infinity"), nil, nil),
		streamtest.Row(int64(3), hashAggDec("Infinity"), nil, nil), streamtest.Row(int64(3), hashAggDec("1.5"), nil, nil))
	hashAggExpect(t, "epoch 3", hashAggEpoch(t, op, s, db, 3),
		"+ 2 NaN NaN NULL NULL NULL", "+ 3 Infinity Infinity NULL NULL NULL")
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 2), streamtest.Row(int64(2), hashAggDec("-Infinity"), nil, nil), streamtest.Row(int64(3), hashAggDec("Infinity"), nil, nil))
	hashAggExpect(t, "epoch 4", hashAggEpoch(t, op, s, db, 4),
		"U- 2 NaN NaN NULL NULL NULL", "U+ 2 Infinity Infinity NULL NULL NULL",
		"U- 3 Infinity Infinity NULL NULL NULL", "U+ 3 1.50000000000000000000 1.5 NULL NULL NULL")

	nk := []types.T{types.TNumeric, types.TNumeric}
	spec2 := &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TNumeric}, WindowCol: -1,
		Aggs: []batch.AggSpec{
			streamtest.AggCall(t, "count", nil, nil),
			streamtest.AggCall(t, "sum", []int{1}, []types.T{types.TNumeric}),
			streamtest.AggCall(t, "min", []int{1}, []types.T{types.TNumeric}),
		},
	}
	op2, s2 := hashAggOpen(t, spec2, env, nk)
	hashAggPush(t, op2, nk, hashAggOps(stream.Insert, 5),
		streamtest.Row(hashAggDec("NaN"), hashAggDec("1.5")), streamtest.Row(hashAggDec("Infinity"), hashAggDec("NaN")), streamtest.Row(hashAggDec("-Infinity"), hashAggDec("Infinity")),
		streamtest.Row(hashAggDec("NaN"), hashAggDec("2.25")), streamtest.Row(hashAggDec("1.0"), hashAggDec("1")))
	hashAggPush(t, op2, nk, hashAggOps(stream.Insert, 1), streamtest.Row(hashAggDec("1.00"), hashAggDec("2")))
	hashAggExpect(t, "numeric keys", hashAggEpoch(t, op2, s2, db, 5),
		"+ NaN 2 3.75 1.5", "+ Infinity 1 NaN NaN", "+ -Infinity 1 Infinity Infinity", "+ 1.0 2 3 1")
}

func TestHashAggFilterAndStringAgg(t *testing.T) {
	env, db := streamtest.Env(t)
	in := []types.T{types.TInt4, types.TInt4, types.TBool, types.TText}
	spec := &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TInt4}, WindowCol: -1,
		Aggs: []batch.AggSpec{
			hashAggFiltered(streamtest.AggCall(t, "count", nil, nil), 2),
			hashAggFiltered(streamtest.AggCall(t, "sum", []int{1}, []types.T{types.TInt4}), 2),
			streamtest.AggCall(t, "bool_and", []int{2}, []types.T{types.TBool}),
			streamtest.AggCall(t, "bool_or", []int{2}, []types.T{types.TBool}),
			hashAggFiltered(streamtest.AggCall(t, "string_agg", []int{3, 3}, []types.T{types.TText, types.TText}), 2),
		},
	}
	// string_agg(x, x): the delimiter is the row's own value.
	op, s := hashAggOpen(t, spec, env, in)
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 4),
		streamtest.Row(int64(1), int64(10), true, "b"), streamtest.Row(int64(1), int64(20), false, "z"),
		streamtest.Row(int64(1), int64(30), nil, "q"), streamtest.Row(int64(1), int64(40), true, "a"))
	hashAggExpect(t, "epoch 1", hashAggEpoch(t, op, s, db, 1), "+ 1 2 50 f t abb")
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 1), streamtest.Row(int64(1), int64(20), false, "z"))
	hashAggExpect(t, "epoch 2", hashAggEpoch(t, op, s, db, 2), "U- 1 2 50 f t abb", "U+ 1 2 50 t t abb")
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 2), streamtest.Row(int64(1), int64(10), true, "b"), streamtest.Row(int64(1), int64(40), true, "a"))
	hashAggExpect(t, "epoch 3", hashAggEpoch(t, op, s, db, 3), "U- 1 2 50 t t abb", "U+ 1 0 NULL NULL NULL NULL")
}

// hashAggWindowSpec: group by (k, window_start), count(*) and sum(v) over
// input (k int8, window_start timestamp, v int8).
func hashAggWindowSpec(t testing.TB, eoc bool) (*HashAggSpec, []types.T) {
	in := []types.T{types.TInt8, types.TTimestamp, types.TInt8}
	return &HashAggSpec{
		GroupCols: []int{0, 1}, GroupTypes: []types.T{types.TInt8, types.TTimestamp},
		Aggs: []batch.AggSpec{
			streamtest.AggCall(t, "count", nil, nil),
			streamtest.AggCall(t, "sum", []int{2}, []types.T{types.TInt8}),
		},
		AppendOnly: true, WindowCol: 1, EmitOnClose: eoc,
	}, in
}

const hashAggMinute = types.Timestamp(60 * types.MicrosPerSecond)

func TestHashAggEmitOnClose(t *testing.T) {
	env, db := streamtest.Env(t)
	spec, in := hashAggWindowSpec(t, true)
	op, s := hashAggOpen(t, spec, env, in)
	w0, w1, w2 := types.Timestamp(0), hashAggMinute, 2*hashAggMinute
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 4),
		streamtest.Row(int64(1), w0, int64(1)), streamtest.Row(int64(2), w0, int64(2)), streamtest.Row(int64(1), w1, int64(3)), streamtest.Row(int64(1), w0, int64(4)))
	hashAggExpect(t, "before the watermark", hashAggEpoch(t, op, s, db, 1))
	// A watermark on another column says nothing.
	if err := op.Watermark(0, stream.Watermark{Col: 0, Val: int64(100)}); err != nil {
		t.Fatal(err)
	}
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: w1}); err != nil {
		t.Fatal(err)
	}
	hashAggExpect(t, "window 0 closes", s.Take(), "+ 1 1970-01-01 00:00:00 2 5", "+ 2 1970-01-01 00:00:00 1 2")
	if len(s.WMs) != 1 || s.WMs[0].Col != 1 || s.WMs[0].Val != w1 {
		t.Fatalf("forwarded watermarks %v", s.WMs)
	}
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 2), streamtest.Row(int64(1), w0, int64(100)), streamtest.Row(int64(1), w1, int64(5)))
	if n := env.Stats.LateRows.Load(); n != 1 {
		t.Fatalf("late rows %d, want 1", n)
	}
	hashAggExpect(t, "window 1 still open", hashAggEpoch(t, op, s, db, 2))
	if n := streamtest.StateRows(t, db, 1); n != 2 {
		t.Fatalf("%d keys in state (want window 1's group and the watermark)", n)
	}

	// Restart: the watermark and the open window survive.
	env2, db2 := streamtest.Restart(t, db, nil)
	op2, s2 := hashAggOpen(t, spec, env2, in)
	hashAggPush(t, op2, in, hashAggOps(stream.Insert, 2), streamtest.Row(int64(3), w0, int64(1)), streamtest.Row(int64(1), w2, int64(7)))
	if n := env2.Stats.LateRows.Load(); n != 1 {
		t.Fatalf("late rows after restart %d, want 1", n)
	}
	if err := op2.Watermark(0, stream.Watermark{Col: 1, Val: w2 + 1}); err != nil {
		t.Fatal(err)
	}
	hashAggExpect(t, "windows 1 and 2 close", s2.Take(), "+ 1 1970-01-01 00:01:00 2 8", "+ 1 1970-01-01 00:02:00 1 7")
	hashAggExpect(t, "nothing at the barrier", hashAggEpoch(t, op2, s2, db2, 3))
	if n := streamtest.StateRows(t, db2, 1); n != 1 {
		t.Fatalf("%d keys in state after every window closed, want the watermark only", n)
	}
}

func TestHashAggWindowCleanup(t *testing.T) {
	env, db := streamtest.Env(t)
	spec, in := hashAggWindowSpec(t, false)
	op, s := hashAggOpen(t, spec, env, in)
	w0, w1 := types.Timestamp(0), hashAggMinute
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 2), streamtest.Row(int64(1), w0, int64(1)), streamtest.Row(int64(1), w1, int64(2)))
	hashAggExpect(t, "epoch 1", hashAggEpoch(t, op, s, db, 1), "+ 1 1970-01-01 00:00:00 1 1", "+ 1 1970-01-01 00:01:00 1 2")
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 1), streamtest.Row(int64(1), w0, int64(5)))
	// The watermark closes window 0: its pending change goes out first.
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: w1}); err != nil {
		t.Fatal(err)
	}
	hashAggExpect(t, "window 0 closes", s.Take(), "U- 1 1970-01-01 00:00:00 1 1", "U+ 1 1970-01-01 00:00:00 2 6")
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 2), streamtest.Row(int64(1), w0, int64(5)), streamtest.Row(int64(1), w1, int64(1)))
	hashAggExpect(t, "epoch 2", hashAggEpoch(t, op, s, db, 2), "U- 1 1970-01-01 00:01:00 1 2", "U+ 1 1970-01-01 00:01:00 2 3")
	if n := env.Stats.LateRows.Load(); n != 1 {
		t.Fatalf("late rows %d, want 1", n)
	}
	if n := streamtest.StateRows(t, db, 1); n != 2 {
		t.Fatalf("%d keys in state, want window 1's group and the watermark", n)
	}
}

// hashAggFullSpec is a spec with every kind of aggregate state, over
// input (k int4, v int8, s text, n numeric, f float8).
func hashAggFullSpec(t *testing.T) (*HashAggSpec, []types.T) {
	in := []types.T{types.TInt4, types.TInt8, types.TText, types.TNumeric, types.TFloat8, types.TBool, types.TInt4}
	return &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TInt4}, WindowCol: -1,
		Aggs: []batch.AggSpec{
			streamtest.AggCall(t, "count", nil, nil),
			streamtest.AggCall(t, "sum", []int{1}, []types.T{types.TInt8}),
			streamtest.AggCall(t, "min", []int{1}, []types.T{types.TInt8}),
			streamtest.AggCall(t, "max", []int{2}, []types.T{types.TText}),
			hashAggDistinct(streamtest.AggCall(t, "count", []int{2}, []types.T{types.TText})),
			streamtest.AggCall(t, "avg", []int{3}, []types.T{types.TNumeric}),
			streamtest.AggCall(t, "sum", []int{4}, []types.T{types.TFloat8}),
			streamtest.AggCall(t, "string_agg", []int{2, 2}, []types.T{types.TText, types.TText}),
			streamtest.AggCall(t, "stddev_samp", []int{1}, []types.T{types.TInt8}),
			// DISTINCT over integer columns, with and without FILTER: one
			// dedup table per column (agg_state_distinct.go).
			hashAggDistinct(streamtest.AggCall(t, "count", []int{1}, []types.T{types.TInt8})),
			hashAggFiltered(hashAggDistinct(streamtest.AggCall(t, "count", []int{1}, []types.T{types.TInt8})), 5),
			hashAggFiltered(hashAggDistinct(streamtest.AggCall(t, "sum", []int{1}, []types.T{types.TInt8})), 5),
			hashAggFiltered(hashAggDistinct(streamtest.AggCall(t, "max", []int{1}, []types.T{types.TInt8})), 5),
			hashAggDistinct(streamtest.AggCall(t, "count", []int{6}, []types.T{types.TInt4})),
			hashAggFiltered(hashAggDistinct(streamtest.AggCall(t, "sum", []int{6}, []types.T{types.TInt4})), 5),
		},
	}, in
}

// hashAggRandomRows returns a random row of the full spec's input.
func hashAggRandomRow(r *rand.Rand, keys int) []types.Datum {
	var s types.Datum
	if r.IntN(5) > 0 {
		s = fmt.Sprintf("s%d", r.IntN(6))
	}
	var n types.Datum
	if r.IntN(4) > 0 {
		n = hashAggDec(fmt.Sprintf("%d.%0*d", r.IntN(100)-50, r.IntN(3)+1, r.IntN(10)))
	}
	var v types.Datum
	if r.IntN(6) > 0 {
		v = int64(r.IntN(1000) - 500)
	}
	var b types.Datum
	if r.IntN(5) > 0 {
		b = r.IntN(2) == 0
	}
	var d types.Datum
	if r.IntN(8) > 0 {
		d = int64(r.IntN(12))
	}
	return streamtest.Row(int64(r.IntN(keys)), v, s, n, float64(r.IntN(64))/4, b, d)
}

// hashAggChangelog generates chunks of random inserts and deletes of live
// rows (updates as U-/U+ pairs) and the live rows after each.
type hashAggChangelog struct {
	r    *rand.Rand
	live [][]types.Datum
	keys int
}

func (g *hashAggChangelog) chunk(n int) ([]stream.Op, [][]types.Datum) {
	var ops []stream.Op
	var rows [][]types.Datum
	for len(ops) < n {
		switch x := g.r.IntN(10); {
		case x < 5 || len(g.live) == 0:
			rw := hashAggRandomRow(g.r, g.keys)
			g.live = append(g.live, rw)
			ops, rows = append(ops, stream.Insert), append(rows, rw)
		case x < 8:
			i := g.r.IntN(len(g.live))
			ops, rows = append(ops, stream.Delete), append(rows, g.live[i])
			g.live = slices.Delete(g.live, i, i+1)
		default:
			i := g.r.IntN(len(g.live))
			nw := hashAggRandomRow(g.r, g.keys)
			ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, g.live[i], nw)
			g.live[i] = nw
		}
	}
	return ops, rows
}

// hashAggRecompute runs the batch hash aggregation over the live rows and
// formats its result like the sink.
func hashAggRecompute(t *testing.T, spec *HashAggSpec, in []types.T, live [][]types.Datum) []string {
	t.Helper()
	outTypes := slices.Clone(spec.GroupTypes)
	for _, a := range spec.Aggs {
		outTypes = append(outTypes, a.T)
	}
	// Group-by the batch way: per group, fold the rows through the
	// registry accumulators.
	groups := map[string][][]types.Datum{}
	var order []string
	for _, rw := range live {
		var k []byte
		for j, c := range spec.GroupCols {
			k = types.AppendKey(k, rw[c], spec.GroupTypes[j], false)
		}
		if _, ok := groups[string(k)]; !ok {
			order = append(order, string(k))
		}
		groups[string(k)] = append(groups[string(k)], rw)
	}
	var out []string
	for _, k := range order {
		rows := groups[k]
		vals := make([]types.Datum, 0, len(outTypes))
		for _, c := range spec.GroupCols {
			vals = append(vals, rows[0][c])
		}
		for _, a := range spec.Aggs {
			// Sort the rows by the arguments' key so that order-dependent
			// aggregates see the operator's (key) order.
			argRows := make([][]types.Datum, 0, len(rows))
			seen := map[string]bool{}
			for _, rw := range rows {
				if a.Filter >= 0 && rw[a.Filter] != true {
					continue
				}
				ar := make([]types.Datum, len(a.Args))
				var ak []byte
				for j, c := range a.Args {
					ar[j] = rw[c]
					ak = types.AppendKey(ak, rw[c], a.ArgTypes[j], false)
				}
				if a.Distinct {
					if seen[string(ak)] {
						continue
					}
					seen[string(ak)] = true
				}
				argRows = append(argRows, append(ar, string(ak)))
			}
			sort.SliceStable(argRows, func(i, j int) bool {
				return argRows[i][len(a.Args)].(string) < argRows[j][len(a.Args)].(string)
			})
			d := hashAggFold(t, a, argRows)
			vals = append(vals, d)
		}
		out = append(out, hashAggFormat(vals, outTypes))
	}
	sort.Strings(out)
	return out
}

func hashAggFold(t *testing.T, a batch.AggSpec, argRows [][]types.Datum) types.Datum {
	t.Helper()
	acc := a.Agg.New(a.ArgTypes)
	defer acc.Release()
	cols := make([]arrow.Array, len(a.Args))
	for j, at := range a.ArgTypes {
		ds := make([]types.Datum, len(argRows))
		for i, ar := range argRows {
			ds[i] = ar[j]
		}
		cols[j] = types.ArrayFromDatums(at, ds)
	}
	if err := acc.Update(make([]uint32, len(argRows)), 1, cols, len(argRows)); err != nil {
		t.Fatal(err)
	}
	res, err := acc.Finish(&udf.Env{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	for _, c := range cols {
		c.Release()
	}
	return types.GetDatum(res, 0, a.T)
}

func hashAggFormat(vals []types.Datum, ts []types.T) string {
	return strings.Join(stream.FormatRow(vals, ts), " ")
}

// TestHashAggDifferential compares the operator's accumulated output with
// a recomputation over the live rows after every epoch, with a restart in
// the middle of each run.
func TestHashAggDifferential(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			spec, in := hashAggFullSpec(t)
			env, db := streamtest.Env(t)
			op, s := hashAggOpen(t, spec, env, in)
			g := &hashAggChangelog{r: rand.New(rand.NewPCG(seed, 7)), keys: 3 + int(seed)*2}
			var all []string
			for epoch := uint64(1); epoch <= 30; epoch++ {
				for range g.r.IntN(4) {
					ops, rows := g.chunk(1 + g.r.IntN(40))
					hashAggPush(t, op, in, ops, rows...)
				}
				all = append(all, hashAggEpoch(t, op, s, db, epoch)...)
				got := s.Contents(t, all)
				want := hashAggRecompute(t, spec, in, g.live)
				if !slices.Equal(got, want) {
					t.Fatalf("epoch %d:\n got  %q\n want %q", epoch, got, want)
				}
				if epoch == 15 {
					env, db = streamtest.Restart(t, db, nil)
					op, s = hashAggOpen(t, spec, env, in)
				}
			}
		})
	}
}

// TestHashAggRecovery runs the same changelog through an operator that
// restarts after every few epochs and one that never does: their outputs
// must be equal, row for row.
func TestHashAggRecovery(t *testing.T) {
	spec, in := hashAggFullSpec(t)
	envA, dbA := streamtest.Env(t)
	opA, sA := hashAggOpen(t, spec, envA, in)
	envB, dbB := streamtest.Env(t)
	opB, sB := hashAggOpen(t, spec, envB, in)
	g := &hashAggChangelog{r: rand.New(rand.NewPCG(42, 1)), keys: 5}
	for epoch := uint64(1); epoch <= 20; epoch++ {
		for range 3 {
			ops, rows := g.chunk(20)
			hashAggPush(t, opA, in, ops, rows...)
			hashAggPush(t, opB, in, ops, rows...)
		}
		a, b := hashAggEpoch(t, opA, sA, dbA, epoch), hashAggEpoch(t, opB, sB, dbB, epoch)
		if !slices.Equal(a, b) {
			t.Fatalf("epoch %d:\n restarted %q\n continuous %q", epoch, b, a)
		}
		if epoch%4 == 0 {
			// Uncommitted changes are lost with the restart; the
			// continuous operator never sees them either.
			envB, dbB = streamtest.Restart(t, dbB, nil)
			opB, sB = hashAggOpen(t, spec, envB, in)
			if rows := sB.Take(); len(rows) != 0 {
				t.Fatalf("recovery emitted %q", rows)
			}
		}
	}
}

// TestHashAggTable checks the fixed-key table against a Go map under
// random inserts and deletes (deletion shifts entries back).
func TestHashAggTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var tab hashAggTable
	tab.init(8)
	ref := map[hashAggKey]uint32{}
	next := uint32(1)
	for step := range 200_000 {
		// Few distinct values, so probe runs collide and wrap around.
		k := hashAggKey{a: uint64(r.IntN(300)), b: uint64(r.IntN(3)), nulls: uint64(r.IntN(2))}
		id, ok := ref[k]
		if got := tab.find(&k); got != id {
			t.Fatalf("step %d: find %v = %d, want %d", step, k, got, id)
		}
		switch {
		case !ok:
			tab.insert(&k, next)
			ref[k] = next
			next++
		case r.IntN(2) == 0:
			tab.delete(k)
			delete(ref, k)
		}
		if tab.n != len(ref) {
			t.Fatalf("step %d: %d entries, want %d", step, tab.n, len(ref))
		}
	}
}

// An EmitOnClose group whose rows were all retracted emits nothing.
func TestHashAggEmitOnCloseRetracted(t *testing.T) {
	env, db := streamtest.Env(t)
	spec, in := hashAggWindowSpec(t, true)
	spec.AppendOnly = false
	spec.Aggs = append(spec.Aggs, streamtest.AggCall(t, "max", []int{2}, []types.T{types.TInt8}))
	op, s := hashAggOpen(t, spec, env, in)
	w0 := types.Timestamp(0)
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 3), streamtest.Row(int64(1), w0, int64(1)), streamtest.Row(int64(2), w0, int64(2)), streamtest.Row(int64(2), w0, int64(9)))
	hashAggExpect(t, "epoch 1", hashAggEpoch(t, op, s, db, 1))
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 2), streamtest.Row(int64(1), w0, int64(1)), streamtest.Row(int64(2), w0, int64(9)))
	hashAggExpect(t, "epoch 2", hashAggEpoch(t, op, s, db, 2))
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: hashAggMinute}); err != nil {
		t.Fatal(err)
	}
	hashAggExpect(t, "close", s.Take(), "+ 2 1970-01-01 00:00:00 1 2 2")
	hashAggExpect(t, "epoch 3", hashAggEpoch(t, op, s, db, 3))
	if n := streamtest.StateRows(t, db, 1) + streamtest.StateRows(t, db, 2); n != 1 {
		t.Fatalf("%d keys left in state, want the watermark only", n)
	}
}

// TestHashAggLegacyWatermark restarts from state whose watermark is in
// the layout of earlier versions (a bare value under key 0x00): rows
// behind it are still late, and the next barrier moves it to the
// PersistedWatermark layout.
func TestHashAggLegacyWatermark(t *testing.T) {
	env, db := streamtest.Env(t)
	spec, in := hashAggWindowSpec(t, true)
	op, s := hashAggOpen(t, spec, env, in)
	w0, w1 := types.Timestamp(0), hashAggMinute
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 1), streamtest.Row(int64(1), w1, int64(3)))
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: w1}); err != nil {
		t.Fatal(err)
	}
	hashAggEpoch(t, op, s, db, 1)
	// Rewrite the watermark as earlier versions stored it.
	groups := stream.NewStateTable(1, nil, nil)
	w := db.NewBatch()
	if err := groups.Delete(w, hashAggWMKey); err != nil {
		t.Fatal(err)
	}
	if err := groups.Insert(w, hashAggWMKeyV1, types.AppendValue(nil, w1, types.TTimestamp)); err != nil {
		t.Fatal(err)
	}
	streamtest.Commit(t, w)

	env2, db2 := streamtest.Restart(t, db, nil)
	op2, s2 := hashAggOpen(t, spec, env2, in)
	hashAggPush(t, op2, in, hashAggOps(stream.Insert, 2), streamtest.Row(int64(3), w0, int64(1)), streamtest.Row(int64(1), w1, int64(7)))
	if n := env2.Stats.LateRows.Load(); n != 1 {
		t.Fatalf("late rows after restart %d, want 1", n)
	}
	if err := op2.Watermark(0, stream.Watermark{Col: 1, Val: w1 + 1}); err != nil {
		t.Fatal(err)
	}
	hashAggEpoch(t, op2, s2, db2, 2)
	if _, found, _ := groups.Get(env2.State, hashAggWMKeyV1); found {
		t.Fatal("the old watermark key is still there")
	}
	p := stream.PersistedWatermark{Table: groups, Key: hashAggWMKey, T: types.TTimestamp}
	if wm, err := p.Load(env2.State); err != nil || wm != w1+1 {
		t.Fatalf("stored watermark %v, %v", wm, err)
	}
}

// TestHashAggDistinctFiltersShareATable: count(DISTINCT x) with several
// FILTERs over the same integer column (Nexmark q16's shape) share one
// dedup table, a row moves only the counts its FILTERs pass, and the
// state holds one table-2 row per aggregate and value, as the
// per-aggregate multisets wrote it.
func TestHashAggDistinctFiltersShareATable(t *testing.T) {
	env, db := streamtest.Env(t)
	in := []types.T{types.TText, types.TInt8, types.TBool, types.TBool}
	cnt := func() batch.AggSpec {
		return hashAggDistinct(streamtest.AggCall(t, "count", []int{1}, []types.T{types.TInt8}))
	}
	spec := &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TText}, WindowCol: -1,
		Aggs: []batch.AggSpec{
			cnt(), hashAggFiltered(cnt(), 2), hashAggFiltered(cnt(), 3),
			streamtest.AggCall(t, "count", nil, nil),
		},
	}
	op, s := hashAggOpen(t, spec, env, in)
	h := op.(*hashAgg)
	if len(h.dedups) != 1 || len(h.dedups[0].aggs) != 3 {
		t.Fatalf("dedup tables %d, want one of 3 aggregates", len(h.dedups))
	}
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 5),
		streamtest.Row("a", int64(1), true, false), streamtest.Row("a", int64(1), false, true),
		streamtest.Row("a", int64(2), true, nil), streamtest.Row("a", nil, true, true),
		streamtest.Row("b", int64(7), false, false))
	hashAggExpect(t, "epoch 1", hashAggEpoch(t, op, s, db, 1), "+ a 2 2 1 4", "+ b 1 0 0 1")
	// a: 1 (all, f1, f2), 2 (all, f1), NULL (all, f1, f2); b: 7 (all).
	if n := streamtest.StateRows(t, db, 2); n != 9 {
		t.Fatalf("%d table-2 rows, want 9", n)
	}
	if got := h.dedups[0].entries(h.fmapOrSmap(t, "a")); got != 3 {
		t.Fatalf("group a holds %d entries, want 3 (1, 2, NULL)", got)
	}
	// The 1 that passed the first FILTER goes: only that count drops.
	hashAggPush(t, op, in, hashAggOps(stream.Delete, 1), streamtest.Row("a", int64(1), true, false))
	hashAggExpect(t, "epoch 2", hashAggEpoch(t, op, s, db, 2), "U- a 2 2 1 4", "U+ a 2 1 1 3")
	if n := streamtest.StateRows(t, db, 2); n != 8 {
		t.Fatalf("%d table-2 rows, want 8", n)
	}
	// After a restart the counts go on from the stored ones.
	env2, db2 := streamtest.Restart(t, db, nil)
	op2, s2 := hashAggOpen(t, spec, env2, in)
	hashAggPush(t, op2, in, hashAggOps(stream.Delete, 2), streamtest.Row("a", int64(1), false, true), streamtest.Row("a", int64(2), true, nil))
	hashAggExpect(t, "after restart", hashAggEpoch(t, op2, s2, db2, 3), "U- a 2 1 1 3", "U+ a 0 0 0 1")
	if n := streamtest.StateRows(t, db2, 2); n != 4 {
		t.Fatalf("%d table-2 rows, want 4 (a's NULL, b's 7)", n)
	}
}

// fmapOrSmap returns the group id of a one-text-column group key.
func (h *hashAgg) fmapOrSmap(t *testing.T, key string) uint32 {
	t.Helper()
	g, ok := h.smap[string(types.AppendKey(nil, key, types.TText, false))]
	if !ok {
		t.Fatalf("no group %q", key)
	}
	return g
}

// TestHashAggDistinctAppendOnlyWritesNewValuesOnly: over append-only
// input a DISTINCT value seen again changes no count, so the barrier
// writes only the group's row, not the value's table-2 rows again.
func TestHashAggDistinctAppendOnlyWritesNewValuesOnly(t *testing.T) {
	env, db := streamtest.Env(t)
	in := []types.T{types.TText, types.TInt8, types.TBool}
	cnt := func() batch.AggSpec {
		return hashAggDistinct(streamtest.AggCall(t, "count", []int{1}, []types.T{types.TInt8}))
	}
	spec := &HashAggSpec{
		GroupCols: []int{0}, GroupTypes: []types.T{types.TText}, WindowCol: -1, AppendOnly: true,
		Aggs: []batch.AggSpec{cnt(), hashAggFiltered(cnt(), 2), streamtest.AggCall(t, "count", nil, nil)},
	}
	op, s := hashAggOpen(t, spec, env, in)
	barrier := func(epoch uint64) (writes uint32) {
		t.Helper()
		b := &stream.Barrier{Epoch: epoch, Writes: db.NewBatch()}
		if err := op.Barrier(b); err != nil {
			t.Fatal(err)
		}
		writes = b.Writes.Count()
		if err := b.Writes.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		return writes
	}
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 3),
		streamtest.Row("a", int64(1), true), streamtest.Row("a", int64(1), false), streamtest.Row("a", int64(2), false))
	// the group's row; 1 for both aggregates, 2 for the first
	if n := barrier(1); n != 4 {
		t.Fatalf("epoch 1 wrote %d keys, want 4", n)
	}
	hashAggExpect(t, "epoch 1", s.Take(), "+ a 2 1 3")
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 3),
		streamtest.Row("a", int64(1), true), streamtest.Row("a", int64(2), false), streamtest.Row("a", int64(2), true))
	// the group's row and 2's new count of the filtered aggregate
	if n := barrier(2); n != 2 {
		t.Fatalf("epoch 2 wrote %d keys, want 2", n)
	}
	hashAggExpect(t, "epoch 2", s.Take(), "U- a 2 1 3", "U+ a 2 2 6")
	env2, db2 := streamtest.Restart(t, db, nil)
	op2, s2 := hashAggOpen(t, spec, env2, in)
	hashAggPush(t, op2, in, hashAggOps(stream.Insert, 2), streamtest.Row("a", int64(2), true), streamtest.Row("a", int64(3), false))
	hashAggExpect(t, "after restart", hashAggEpoch(t, op2, s2, db2, 3), "U- a 2 2 6", "U+ a 3 2 8")
}
