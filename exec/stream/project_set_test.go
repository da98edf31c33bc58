package stream_test

import (
	"fmt"
	"slices"
	"testing"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/udf"
)

// projectSetSeries returns generate_series(1, #1) over an (id, n) input.
func projectSetSeries(t *testing.T) batch.SetFunc {
	t.Helper()
	fn, _, err := udf.LookupTableFunc("generate_series", []types.T{types.TInt8, types.TInt8})
	if err != nil {
		t.Fatal(err)
	}
	return batch.SetFunc{Fn: fn, T: types.TInt8, ArgTypes: []types.T{types.TInt8, types.TInt8},
		Args: []expr.Expr{&expr.Const{Value: int64(1), T: types.TInt8}, &expr.ColRef{Idx: 1, T: types.TInt8}}}
}

func TestProjectSetOpsAndOrdinals(t *testing.T) {
	env, _ := streamtest.Env(t)
	in := []types.T{types.TInt8, types.TInt8}
	out := &streamtest.Sink{Types: []types.T{types.TInt8, types.TInt8, types.TInt8, types.TInt8}}
	spec := &stream.ProjectSetSpec{Funcs: []batch.SetFunc{projectSetSeries(t)}}
	op := streamtest.Open(t, env, spec, &stream.Node{}, out)
	c := streamtest.ChunkOf(in, []stream.Op{stream.Insert, stream.Insert, stream.UpdateDelete, stream.UpdateInsert, stream.Delete},
		streamtest.Row(int64(1), int64(2)), streamtest.Row(int64(2), int64(0)), streamtest.Row(int64(3), int64(1)), streamtest.Row(int64(3), int64(2)), streamtest.Row(int64(4), nil))
	if err := op.Chunk(0, c); err != nil {
		t.Fatal(err)
	}
	// Rows expand in order with their op; an update's sides become a
	// delete and an insert, since they may expand differently; empty and
	// NULL-argument rows vanish.
	want := []string{"+ 1 2 1 0", "+ 1 2 2 1", "- 3 1 1 0", "+ 3 2 1 0", "+ 3 2 2 1"}
	if got := out.Take(); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: int64(7)}); err != nil {
		t.Fatal(err)
	}
	if len(out.WMs) != 1 || out.WMs[0].Col != 1 {
		t.Fatalf("watermark not passed through: %v", out.WMs)
	}
}

// Outer (LEFT JOIN LATERAL ... ON true): a row without results gives one
// NULL row under ordinal -1, in input order, so an update whose old side
// was empty retracts its NULL row before the new side's rows come.
func TestProjectSetOuter(t *testing.T) {
	env, _ := streamtest.Env(t)
	in := []types.T{types.TInt8, types.TInt8}
	out := &streamtest.Sink{Types: []types.T{types.TInt8, types.TInt8, types.TInt8, types.TInt8}}
	spec := &stream.ProjectSetSpec{Funcs: []batch.SetFunc{projectSetSeries(t)}, Outer: true}
	op := streamtest.Open(t, env, spec, &stream.Node{}, out)
	c := streamtest.ChunkOf(in, []stream.Op{stream.Insert, stream.UpdateDelete, stream.UpdateInsert, stream.Insert, stream.Delete},
		streamtest.Row(int64(1), int64(0)), streamtest.Row(int64(2), int64(0)), streamtest.Row(int64(2), int64(2)), streamtest.Row(int64(3), int64(1)), streamtest.Row(int64(4), nil))
	if err := op.Chunk(0, c); err != nil {
		t.Fatal(err)
	}
	want := []string{"+ 1 0 NULL -1", "- 2 0 NULL -1", "+ 2 2 1 0", "+ 2 2 2 1", "+ 3 1 1 0", "- 4 NULL NULL -1"}
	if got := out.Take(); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// A row expanding past a batch is split into several chunks whose
// ordinals continue.
func TestProjectSetLargeExpansion(t *testing.T) {
	env, _ := streamtest.Env(t)
	in := []types.T{types.TInt8, types.TInt8}
	out := &streamtest.Sink{Types: []types.T{types.TInt8, types.TInt8, types.TInt8, types.TInt8}}
	chunks := 0
	counter := &projectSetCounter{next: out, n: &chunks}
	spec := &stream.ProjectSetSpec{Funcs: []batch.SetFunc{projectSetSeries(t)}}
	op := streamtest.Open(t, env, spec, &stream.Node{}, counter)
	n := int64(exec.BatchSize + 10)
	if err := op.Chunk(0, streamtest.ChunkOf(in, []stream.Op{stream.Insert, stream.Insert}, streamtest.Row(int64(1), n), streamtest.Row(int64(2), int64(1)))); err != nil {
		t.Fatal(err)
	}
	got := out.Take()
	if len(got) != int(n)+1 || chunks != 2 {
		t.Fatalf("got %d rows in %d chunks", len(got), chunks)
	}
	if last := fmt.Sprintf("+ 1 %d %d %d", n, n, n-1); got[n-1] != last {
		t.Fatalf("row %d is %q, want %q", n-1, got[n-1], last)
	}
	if got[n] != "+ 2 1 1 0" {
		t.Fatalf("last row is %q", got[n])
	}
}

type projectSetCounter struct {
	next stream.Operator
	n    *int
}

func (c *projectSetCounter) Chunk(side int, ch *stream.Chunk) error {
	*c.n++
	return c.next.Chunk(side, ch)
}
func (c *projectSetCounter) Watermark(side int, w stream.Watermark) error {
	return c.next.Watermark(side, w)
}
func (c *projectSetCounter) Barrier(b *stream.Barrier) error { return c.next.Barrier(b) }
