package batch

import (
	"fmt"
	"testing"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// projectSetSeries is generate_series(lo, hi) over int8 expressions.
func projectSetSeries(t *testing.T, lo, hi expr.Expr) SetFunc {
	t.Helper()
	fn, _, err := udf.LookupTableFunc("generate_series", []types.T{types.TInt8, types.TInt8})
	if err != nil {
		t.Fatal(err)
	}
	return SetFunc{Fn: fn, Args: []expr.Expr{lo, hi}, ArgTypes: []types.T{types.TInt8, types.TInt8}, T: types.TInt8}
}

func TestProjectSetLockstep(t *testing.T) {
	one := &expr.Const{Value: int64(1), T: types.TInt8}
	n := &expr.ColRef{Idx: 1, T: types.TInt8}
	m := &expr.ColRef{Idx: 2, T: types.TInt8}
	// Rows (id, n, m): the series 1..n and 1..m run side by side, the
	// shorter padded with NULLs; a row where both are empty disappears,
	// and the input's batches of two rows do not matter.
	in := newSrc(i8s(3), row(int64(1), int64(2), int64(3)), row(int64(2), int64(0), int64(0)),
		row(int64(3), nil, int64(1)), row(int64(4), int64(2), int64(2)))
	op := NewProjectSet(in, []SetFunc{projectSetSeries(t, one, n), projectSetSeries(t, one, m)})
	expectRows(t, "lockstep", run(t, newCtx(), op),
		"1 2 3 1 1", "1 2 3 2 2", "1 2 3 NULL 3",
		"3 NULL 1 NULL 1",
		"4 2 2 1 1", "4 2 2 2 2")
	if in.opens != 1 || in.closes != 1 {
		t.Errorf("input opened %d, closed %d times", in.opens, in.closes)
	}
}

// One row expanding past a batch comes out in batches of at most
// exec.BatchSize rows, in order.
func TestProjectSetLargeRow(t *testing.T) {
	one := &expr.Const{Value: int64(1), T: types.TInt8}
	n := &expr.ColRef{Idx: 0, T: types.TInt8}
	total := 2*exec.BatchSize + 5
	op := NewProjectSet(newSrc(i8s(1), row(int64(total)), row(int64(1))), []SetFunc{projectSetSeries(t, one, n)})
	rows := run(t, newCtx(), op)
	if len(rows) != total+1 {
		t.Fatalf("got %d rows, want %d", len(rows), total+1)
	}
	for i := 0; i < total; i++ {
		if want := fmt.Sprintf("%d %d", total, i+1); rows[i] != want {
			t.Fatalf("row %d is %q, want %q", i, rows[i], want)
		}
	}
	if rows[total] != "1 1" {
		t.Fatalf("last row %q", rows[total])
	}
}

// An error of a function (a zero step) stops the query.
func TestProjectSetError(t *testing.T) {
	fn, _, err := udf.LookupTableFunc("generate_series", []types.T{types.TInt8, types.TInt8, types.TInt8})
	if err != nil {
		t.Fatal(err)
	}
	c := func(v int64) expr.Expr { return &expr.Const{Value: v, T: types.TInt8} }
	f := SetFunc{Fn: fn, Args: []expr.Expr{c(1), c(3), c(0)}, ArgTypes: i8s(3), T: types.TInt8}
	op := NewProjectSet(newSrc(i8s(1), row(int64(1))), []SetFunc{f})
	if _, err := Collect(newCtx(), op); err == nil {
		t.Fatal("zero step: no error")
	}
}
