package batch

import (
	"reflect"
	"testing"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// valuesByColumns reads a Values operator's rows the way Open, Next and
// exec.Batch.Row give them.
func valuesByColumns(t *testing.T, v *Values, ctx *exec.Ctx) [][]types.Datum {
	t.Helper()
	if err := v.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var out [][]types.Datum
	for {
		b, err := v.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return out
		}
		for i := range b.N {
			out = append(out, b.Row(i, v.Types()))
		}
		b.Release()
	}
}

// TestValuesRows: Rows gives the rows Open's columns give, parameters and
// constants alike, a datum of another Go type than its column's (an int4
// out of range) included; it declines columns that change their datums
// (float4), and reports Open's first error, column by column.
func TestValuesRows(t *testing.T) {
	ts := []types.T{types.TInt8, types.TInt4, types.TText, types.TFloat8, types.TBool, types.TBytea, types.TDate, types.TTimestamp, types.TVarchar}
	params := []types.Datum{int64(1), int64(7), "a", 1.5, true, []byte("x"), types.Date(3), types.Timestamp(99), nil,
		int64(2), int64(1) << 40, "b", 2.5, false, []byte{}, nil, types.Timestamp(-1), "v"}
	var rows [][]expr.Expr
	for r := range 2 {
		var row []expr.Expr
		for j, ty := range ts {
			row = append(row, &expr.Param{Idx: r*len(ts) + j, T: ty})
		}
		rows = append(rows, row)
	}
	rows = append(rows, []expr.Expr{&expr.Const{Value: int64(3), T: types.TInt8}, &expr.Const{T: types.TInt4},
		&expr.Const{Value: "c", T: types.TText}, &expr.Const{Value: 0.25, T: types.TFloat8}, &expr.Const{T: types.TBool},
		&expr.Const{T: types.TBytea}, &expr.Const{Value: types.Date(0), T: types.TDate}, &expr.Const{T: types.TTimestamp},
		&expr.Const{Value: "w", T: types.TVarchar}})
	ctx := newCtx()
	ctx.Params = params
	v := NewValues(rows, ts).(*Values)
	got, ok, err := v.Rows(ctx)
	if err != nil || !ok {
		t.Fatalf("Rows: ok %v, %v", ok, err)
	}
	want := valuesByColumns(t, v, ctx)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Rows:\n%v\ncolumns:\n%v", got, want)
	}
	if got[1][1] != int64(0) {
		t.Fatalf("int4 out of range went through a column as %v, want 0 (int32 of 1<<40)", got[1][1])
	}

	f4 := NewValues([][]expr.Expr{{&expr.Const{Value: 1.1, T: types.TFloat4}}}, []types.T{types.TFloat4}).(*Values)
	if _, ok, err := f4.Rows(ctx); ok || err != nil {
		t.Fatalf("float4: ok %v, %v; want declined", ok, err)
	}

	// Two failing entries: Open fails on the first column's.
	bad := NewValues([][]expr.Expr{
		{&expr.Const{Value: int64(1), T: types.TInt8}, &expr.Param{Idx: 5, T: types.TText}},
		{&expr.Param{Idx: 7, T: types.TInt8}, &expr.Const{Value: "x", T: types.TText}},
	}, []types.T{types.TInt8, types.TText}).(*Values)
	ctx.Params = nil
	_, _, rowsErr := bad.Rows(ctx)
	openErr := bad.Open(ctx)
	bad.Close()
	if rowsErr == nil || openErr == nil || rowsErr.Error() != openErr.Error() {
		t.Fatalf("Rows error %v, Open error %v", rowsErr, openErr)
	}
}
