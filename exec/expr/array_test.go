package expr

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/udf"
)

func TestArrayCompareNullsAndAll(t *testing.T) {
	ctx := newCtx()
	i4arr := types.T{Kind: types.Array, Elem: &types.TInt4}
	arrs := col(i4arr, "{1,NULL}", "{1,NULL}", "{}", nil, "{3,4}")
	left := col(types.TInt4, int64(1), int64(2), int64(2), int64(1), nil)
	b := &exec.Batch{Cols: []arrow.Array{left, arrs}, N: 5}
	defer b.Release()
	eq, _, err := udf.LookupOperator("=", types.TInt4, types.TInt4)
	if err != nil {
		t.Fatal(err)
	}
	anyEq := &ArrayCompare{Left: &ColRef{Idx: 0, T: types.TInt4}, Array: &ColRef{Idx: 1, T: i4arr}, Op: eq, ElemT: types.TInt4}
	// PostgreSQL: true, NULL (no match, a NULL element), false (empty), NULL array, NULL left.
	if got := texts(t, ctx, anyEq, b); got != "true NULL false NULL NULL" {
		t.Errorf("= ANY: %s", got)
	}
	ne, _, _ := udf.LookupOperator("<>", types.TInt4, types.TInt4)
	allNe := &ArrayCompare{Left: &ColRef{Idx: 0, T: types.TInt4}, Array: &ColRef{Idx: 1, T: i4arr}, Op: ne, ElemT: types.TInt4, All: true}
	if got := texts(t, ctx, allNe, b); got != "false NULL true NULL NULL" {
		t.Errorf("<> ALL: %s", got)
	}
}

func TestArraySubscriptVectorsStartAtZero(t *testing.T) {
	ctx := newCtx()
	vec := types.T{Kind: types.Array, Elem: &types.TInt2, OIDOverride: types.OIDInt2Vector}
	arr := types.T{Kind: types.Array, Elem: &types.TText}
	b := &exec.Batch{Cols: []arrow.Array{col(vec, "3 1", "2"), col(arr, `{a,"b c"}`, "{x}")}, N: 2}
	defer b.Release()
	v0 := &ArraySubscript{Array: &ColRef{Idx: 0, T: vec}, Index: &Const{Value: int64(0), T: types.TInt8}, T: types.TInt2}
	if got := texts(t, ctx, v0, b); got != "3 2" {
		t.Errorf("vector[0]: %s", got)
	}
	a2 := &ArraySubscript{Array: &ColRef{Idx: 1, T: arr}, Index: &Const{Value: int64(2), T: types.TInt8}, T: types.TText}
	if got := texts(t, ctx, a2, b); got != "b c NULL" {
		t.Errorf("array[2]: %s", got)
	}
}

func TestRecordFieldOfExpandArray(t *testing.T) {
	ctx := newCtx()
	rt := udf.ExpandArrayType(types.TText)
	b := &exec.Batch{Cols: []arrow.Array{col(rt, `("a,b",1)`, "(,2)", nil)}, N: 3}
	defer b.Release()
	x := &RecordField{Input: &ColRef{Idx: 0, T: rt}, Idx: 0, Name: "x", T: types.TText}
	if got := texts(t, ctx, x, b); got != "a,b NULL NULL" {
		t.Errorf("(r).x: %s", got)
	}
	n := &RecordField{Input: &ColRef{Idx: 0, T: rt}, Idx: 1, Name: "n", T: types.TInt4}
	if got := texts(t, ctx, n, b); got != "1 2 NULL" {
		t.Errorf("(r).n: %s", got)
	}
}
