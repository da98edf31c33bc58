package batch

import (
	"testing"

	"streamsql/exec/expr"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// nextOf is the recursive term n -> n % 3 + 1 over a working table.
func nextOf(work *WorkTable) *Project {
	step := &fnExpr{name: "n%3+1", in: i8s(1), t: types.TInt8, f: func(r []types.Datum) types.Datum {
		return r[0].(int64)%3 + 1
	}}
	return NewProject(NewWorkTableScan(work), []expr.Expr{step}).(*Project)
}

func TestRecursiveUnionStopsAtSeenRows(t *testing.T) {
	work := NewWorkTable(i8s(1))
	anchor := newSrc(i8s(1), row(int64(1)), row(int64(1)), row(int64(2)))
	op := NewRecursiveUnion(anchor, nextOf(work), work, false, 0)
	ctx := newCtx()
	expectRows(t, "cycle 1 -> 2 -> 3 -> 1 with UNION", run(t, ctx, op), "1", "2", "3")
	// Open again: the state starts over.
	expectRows(t, "second run", run(t, ctx, op), "1", "2", "3")
}

func TestRecursiveUnionAllIsCapped(t *testing.T) {
	work := NewWorkTable(i8s(1))
	anchor := newSrc(i8s(1), row(int64(1)))
	op := NewRecursiveUnion(anchor, nextOf(work), work, true, 5)
	_, err := Collect(newCtx(), op)
	if sqlerr.Code(err) != sqlerr.StatementTooComplex {
		t.Fatalf("UNION ALL over a cycle: got %v, want SQLSTATE %s", err, sqlerr.StatementTooComplex)
	}
}

func TestLateralJoinLeftPadsEmptyRight(t *testing.T) {
	left := newSrc(i8s(1), row(int64(1)), row(int64(2)), row(int64(3)))
	right := newSrc(i8s(1), row(int64(10)), row(int64(20)))
	keep := &fnExpr{name: "l+r<>21", in: i8s(2), t: types.TBool, f: func(r []types.Datum) types.Datum {
		return r[0].(int64)+r[1].(int64) != 21 && r[0].(int64) != 3
	}}
	op := NewLateralJoin(left, right, LeftJoin, keep)
	expectRows(t, "left lateral join", run(t, newCtx(), op),
		"1 10", "2 10", "2 20", "3 NULL")
	if right.opens != 3 || right.closes != 3 {
		t.Errorf("right side opened %d and closed %d times, want once per left row", right.opens, right.closes)
	}
}
