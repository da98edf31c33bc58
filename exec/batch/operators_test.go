package batch

import (
	"github.com/apache/arrow-go/v18/arrow"

	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Expected outputs below were checked against PostgreSQL 15.

// winInput is (p, o, v, one, minus1, two, v>10).
func winInput() *src {
	ts := append(i8s(6), types.TBool)
	r := func(p, o, v types.Datum) []types.Datum {
		vv := v.(int64)
		return row(p, o, v, int64(1), int64(-1), int64(2), vv > 10)
	}
	return newSrc(ts,
		r(int64(1), int64(1), int64(10)), r(int64(1), int64(1), int64(20)), r(int64(1), int64(2), int64(30)),
		r(int64(1), nil, int64(40)), r(int64(2), int64(5), int64(1)), r(int64(2), int64(7), int64(2)),
		r(nil, int64(1), int64(5)))
}

func TestWindowRanking(t *testing.T) {
	in := winInput()
	order := []SortKey{{Col: 1, T: types.TInt8}}
	f := func(name string, args ...int) WindowFunc {
		return WindowFunc{Name: name, Args: args, T: types.TInt8, Filter: -1}
	}
	agg := func(a *aggFn, args ...int) WindowFunc {
		return WindowFunc{Agg: a, Args: args, ArgTypes: i8s(len(args)), T: types.TInt8, Filter: -1}
	}
	pr := f("percent_rank")
	pr.T = types.TFloat8
	cd := f("cume_dist")
	cd.T = types.TFloat8
	op := NewProject(NewWindow(in, []int{0}, order, []WindowFunc{
		f("row_number"), f("rank"), f("dense_rank"), pr, cd, agg(aggSum, 2), agg(aggCount),
		f("lag", 2), f("lead", 2, 3, 4), f("first_value", 2), f("last_value", 2), f("ntile", 5),
	}), cols(append([]int{0, 1, 2}, seq(7, 19)...), append(i8s(7), types.TFloat8, types.TFloat8, types.TInt8, types.TInt8, types.TInt8, types.TInt8, types.TInt8, types.TInt8, types.TInt8, types.TInt8)))
	want := []string{
		"1 1 10 1 1 1 0.000 0.500 30 2 NULL 20 10 20 1",
		"1 1 20 2 1 1 0.000 0.500 30 2 10 30 10 20 1",
		"1 2 30 3 3 2 0.667 0.750 60 3 20 40 10 30 2",
		"1 NULL 40 4 4 3 1.000 1.000 100 4 30 -1 10 40 2",
		"2 5 1 1 1 1 0.000 0.500 1 1 NULL 2 1 1 1",
		"2 7 2 2 2 2 1.000 1.000 3 2 1 -1 1 2 2",
		"NULL 1 5 1 1 1 0.000 1.000 5 1 NULL -1 5 5 1",
	}
	ctx := newCtx()
	expectRows(t, "window ranking", run(t, ctx, op), want...)
	// Re-open gives the same result.
	expectRows(t, "window ranking re-run", run(t, ctx, op), want...)
}

type aggFn = udf.Aggregate

func TestWindowFrames(t *testing.T) {
	in := winInput()
	order := []SortKey{{Col: 1, T: types.TInt8}}
	one := constExpr(types.TInt8, int64(1))
	sum := func(fr Frame) WindowFunc {
		return WindowFunc{Agg: aggSum, Args: []int{2}, ArgTypes: i8s(1), T: types.TInt8, Filter: -1, Frame: fr}
	}
	b := func(k BoundKind) FrameBound { return FrameBound{Kind: k, Offset: one} }
	nth := WindowFunc{Name: "nth_value", Args: []int{2, 5}, T: types.TInt8, Filter: -1,
		Frame: Frame{Mode: RowsFrame, Start: b(UnboundedPreceding), End: b(UnboundedFollowing)}}
	cnt := WindowFunc{Agg: aggCount, Args: []int{2}, ArgTypes: i8s(1), T: types.TInt8, Filter: 6}
	w := NewWindow(in, []int{0}, order, []WindowFunc{
		sum(Frame{Mode: RowsFrame, Start: b(OffsetPreceding), End: b(OffsetFollowing)}),
		sum(Frame{Mode: RangeFrame, Start: b(OffsetPreceding), End: b(OffsetFollowing)}),
		sum(Frame{Mode: GroupsFrame, Start: b(CurrentRow), End: b(OffsetFollowing)}),
		sum(Frame{Mode: RowsFrame, Start: b(UnboundedPreceding), End: b(CurrentRow), ExcludeCurrentRow: true}),
		nth,
	})
	// Partition-only frames (no ORDER BY) and FILTER.
	w2 := NewWindow(in, []int{0}, order, []WindowFunc{cnt})
	_ = w2
	op := NewProject(w, cols([]int{0, 1, 2, 7, 8, 9, 10, 11}, i8s(8)))
	expectRows(t, "window frames", run(t, newCtx(), op),
		"1 1 10 30 60 60 NULL 20",
		"1 1 20 60 60 60 10 20",
		"1 2 30 90 60 70 30 20",
		"1 NULL 40 70 40 40 60 20",
		"2 5 1 3 1 3 NULL 2",
		"2 7 2 3 2 2 1 2",
		"NULL 1 5 5 5 5 NULL NULL",
	)
	whole := NewWindow(winInput(), []int{0}, nil, []WindowFunc{sum(Frame{}), cnt})
	expectRows(t, "window whole partition + filter", run(t, newCtx(), NewProject(whole, cols([]int{0, 2, 7, 8}, i8s(4)))),
		"1 10 100 3", "1 20 100 3", "1 30 100 3", "1 40 100 3", "2 1 3 0", "2 2 3 0", "NULL 5 5 0")
	cnt2 := NewWindow(winInput(), []int{0}, order, []WindowFunc{cnt})
	expectRows(t, "window cumulative filter", run(t, newCtx(), NewProject(cnt2, cols([]int{0, 1, 2, 7}, i8s(4)))),
		"1 1 10 1", "1 1 20 1", "1 2 30 2", "1 NULL 40 3", "2 5 1 0", "2 7 2 0", "NULL 1 5 0")
}

func TestWindowOrderedAggAndErrors(t *testing.T) {
	// Ordered aggregates see frame rows in order, for every strategy.
	in := newSrc(i8s(1), row(int64(1)), row(int64(2)), row(int64(3)), row(int64(4)))
	order := []SortKey{{Col: 0, T: types.TInt8}}
	two := constExpr(types.TInt8, int64(2))
	cat := func(fr Frame) WindowFunc {
		return WindowFunc{Agg: aggConcat, Args: []int{0}, ArgTypes: i8s(1), T: types.TText, Filter: -1, Frame: fr}
	}
	w := NewWindow(in, nil, order, []WindowFunc{
		cat(Frame{}),
		cat(Frame{Mode: RowsFrame, Start: FrameBound{Kind: OffsetPreceding, Offset: two}, End: FrameBound{Kind: OffsetFollowing, Offset: two}}),
		cat(Frame{Mode: RowsFrame, Start: FrameBound{Kind: CurrentRow}, End: FrameBound{Kind: UnboundedFollowing}}),
		cat(Frame{Mode: RowsFrame, Start: FrameBound{Kind: OffsetPreceding, Offset: two}, End: FrameBound{Kind: OffsetFollowing, Offset: two}, ExcludeCurrentRow: true}),
	})
	expectRows(t, "ordered frames", run(t, newCtx(), w),
		"1 1 1,2,3 1,2,3,4 2,3",
		"2 1,2 1,2,3,4 2,3,4 1,3,4",
		"3 1,2,3 1,2,3,4 3,4 1,2,4",
		"4 1,2,3,4 2,3,4 4 2,3",
	)
	neg := constExpr(types.TInt8, int64(-1))
	bad := NewWindow(newSrc(i8s(1), row(int64(1))), nil, order, []WindowFunc{
		cat(Frame{Mode: RowsFrame, Start: FrameBound{Kind: OffsetPreceding, Offset: neg}, End: FrameBound{Kind: CurrentRow}})})
	expectCode(t, bad, "22013")
	nt := NewWindow(newSrc(i8s(2), row(int64(1), int64(0))), nil, order, []WindowFunc{{Name: "ntile", Args: []int{1}, T: types.TInt4, Filter: -1}})
	expectCode(t, nt, "22014")
}

func expectCode(t *testing.T, op exec.Operator, code string) {
	t.Helper()
	_, err := Collect(newCtx(), op)
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Errorf("%s: got %v, want SQLSTATE %s", op.Explain(), err, code)
	}
}

func TestHashAgg(t *testing.T) {
	in := newSrc([]types.T{types.TText, types.TInt8, types.TBool},
		row("a", int64(1), true), row(nil, int64(2), true), row("b", nil, false), row("a", int64(1), true),
		row(nil, int64(5), false), row("a", int64(3), nil))
	aggs := []AggSpec{
		{Agg: aggSum, Args: []int{1}, ArgTypes: i8s(1), Filter: -1, T: types.TInt8},
		{Agg: aggCount, Filter: -1, T: types.TInt8},
		{Agg: aggCount, Args: []int{1}, ArgTypes: i8s(1), Filter: -1, T: types.TInt8},
		{Agg: aggSum, Args: []int{1}, ArgTypes: i8s(1), Distinct: true, Filter: -1, T: types.TInt8},
		{Agg: aggCount, Args: []int{1}, ArgTypes: i8s(1), Filter: 2, T: types.TInt8},
	}
	op := NewHashAgg(in, []int{0}, []types.T{types.TText}, aggs)
	ctx := newCtx()
	want := []string{"a 5 3 3 4 2", "NULL 7 2 2 7 1", "b NULL 1 0 NULL 0"}
	expectRows(t, "group by text", run(t, ctx, op), want...)
	expectRows(t, "group by re-run", run(t, ctx, op), want...)

	// Integer key fast path with a NULL group.
	in2 := newSrc(i8s(2), row(int64(1), int64(10)), row(nil, int64(1)), row(int64(1), int64(5)), row(nil, nil), row(int64(2), int64(7)))
	expectRows(t, "group by int", run(t, ctx, NewHashAgg(in2, []int{0}, i8s(1), aggs[:2])),
		"1 15 2", "NULL 1 2", "2 7 1")

	// No group columns: one row even for empty input.
	empty := newSrc(i8s(1))
	expectRows(t, "scalar agg on empty", run(t, ctx, NewHashAgg(empty, nil, nil, []AggSpec{aggs[0], aggs[1]})), "NULL 0")
	expectRows(t, "grouped agg on empty", run(t, ctx, NewHashAgg(newSrc(i8s(1)), []int{0}, i8s(1), []AggSpec{aggs[1]})))
	// Zero-column input rows still count.
	vals := NewValues([][]expr.Expr{{}, {}, {}}, nil)
	expectRows(t, "count over zero columns", run(t, ctx, NewHashAgg(vals, nil, nil, []AggSpec{aggs[1]})), "3")
}

func TestHashAggKeyEquality(t *testing.T) {
	// -0 = 0, NaN = NaN; numeric 1.0 = 1.00; char trailing blanks ignored.
	fin := newSrc([]types.T{types.TFloat8}, row(0.0), row(math.Copysign(0, -1)), row(math.NaN()), row(math.NaN()), row(1.5))
	expectRows(t, "float groups", run(t, newCtx(), NewHashAgg(fin, []int{0}, []types.T{types.TFloat8},
		[]AggSpec{{Agg: aggCount, Filter: -1, T: types.TInt8}})), "0.000 2", "NaN 2", "1.500 1")
	nin := newSrc([]types.T{types.TText}, row("1.0"), row("1.00"), row("-0"), row("0.000"), row("2"))
	nt := types.TNumeric
	op := NewHashAgg(&retyped{nin, []types.T{nt}}, []int{0}, []types.T{nt}, []AggSpec{{Agg: aggCount, Filter: -1, T: types.TInt8}})
	bs, err := Collect(newCtx(), op)
	if err != nil {
		t.Fatal(err)
	}
	got := render(t, []types.T{types.TText, types.TInt8}, bs)
	expectRows(t, "numeric groups", got, "1.0 2", "-0 2", "2 1")
}

// retyped relabels the column types of an input (text layout as numeric).
type retyped struct {
	exec.Operator
	ts []types.T
}

func (r *retyped) Types() []types.T { return r.ts }

func joinInputs() (*src, *src) {
	l := newSrc([]types.T{types.TInt8, types.TText}, row(int64(1), "a"), row(int64(2), "b"), row(nil, "n"), row(int64(1), "c"))
	r := newSrc([]types.T{types.TInt8, types.TText}, row(int64(1), "x"), row(int64(1), "y"), row(int64(3), "z"), row(nil, "m"))
	return l, r
}

func TestJoins(t *testing.T) {
	cases := []struct {
		kind JoinKind
		want []string
	}{
		{InnerJoin, []string{"1 a 1 x", "1 a 1 y", "1 c 1 x", "1 c 1 y"}},
		{LeftJoin, []string{"1 a 1 x", "1 a 1 y", "1 c 1 x", "1 c 1 y", "2 b NULL NULL", "NULL n NULL NULL"}},
		{RightJoin, []string{"1 a 1 x", "1 a 1 y", "1 c 1 x", "1 c 1 y", "NULL NULL 3 z", "NULL NULL NULL m"}},
		{FullJoin, []string{"1 a 1 x", "1 a 1 y", "1 c 1 x", "1 c 1 y", "2 b NULL NULL", "NULL NULL 3 z", "NULL NULL NULL m", "NULL n NULL NULL"}},
		{SemiJoin, []string{"1 a", "1 c"}},
		{AntiJoin, []string{"2 b", "NULL n"}},
	}
	eq := &fnExpr{name: "#0 = #2", in: []types.T{types.TInt8, types.TText, types.TInt8, types.TText}, t: types.TBool,
		f: func(r []types.Datum) types.Datum {
			if r[0] == nil || r[2] == nil {
				return nil
			}
			return r[0].(int64) == r[2].(int64)
		}}
	for _, c := range cases {
		l, r := joinInputs()
		hj := NewHashJoin(l, r, c.kind, []int{0}, []int{0}, nil)
		ctx := newCtx()
		expectRows(t, "hash "+c.kind.String(), sorted(run(t, ctx, hj)), c.want...)
		expectRows(t, "hash re-run "+c.kind.String(), sorted(run(t, ctx, hj)), c.want...)
		l, r = joinInputs()
		expectRows(t, "nested loop "+c.kind.String(), sorted(run(t, ctx, NewNestedLoopJoin(l, r, c.kind, eq))), c.want...)
		// Composite key (encoded path): join on (k, k).
		l, r = joinInputs()
		expectRows(t, "hash 2-col "+c.kind.String(), sorted(run(t, ctx, NewHashJoin(l, r, c.kind, []int{0, 0}, []int{0, 0}, nil))), c.want...)
	}
	// Residual: keep pairs where the right text is not 'x'.
	notX := &fnExpr{name: "#3 <> 'x'", in: []types.T{types.TInt8, types.TText, types.TInt8, types.TText}, t: types.TBool,
		f: func(r []types.Datum) types.Datum { return r[3] != "x" }}
	for kind, want := range map[JoinKind][]string{
		InnerJoin: {"1 a 1 y", "1 c 1 y"},
		LeftJoin:  {"1 a 1 y", "1 c 1 y", "2 b NULL NULL", "NULL n NULL NULL"},
		FullJoin:  {"1 a 1 y", "1 c 1 y", "2 b NULL NULL", "NULL NULL 1 x", "NULL NULL 3 z", "NULL NULL NULL m", "NULL n NULL NULL"},
		SemiJoin:  {"1 a", "1 c"},
		AntiJoin:  {"2 b", "NULL n"},
	} {
		l, r := joinInputs()
		expectRows(t, "residual "+kind.String(), sorted(run(t, newCtx(), NewHashJoin(l, r, kind, []int{0}, []int{0}, notX))), want...)
	}
	// Cross join.
	l, r := joinInputs()
	if got := run(t, newCtx(), NewNestedLoopJoin(l, r, InnerJoin, nil)); len(got) != 16 {
		t.Errorf("cross join gave %d rows", len(got))
	}
	// Empty build side: inner join does not read the left input.
	l, _ = joinInputs()
	empty := newSrc([]types.T{types.TInt8, types.TText})
	expectRows(t, "inner with empty right", run(t, newCtx(), NewHashJoin(l, empty, InnerJoin, []int{0}, []int{0}, nil)))
	if l.pulled != 0 {
		t.Errorf("left pulled %d batches", l.pulled)
	}
	l, _ = joinInputs()
	expectRows(t, "anti with empty right", run(t, newCtx(), NewHashJoin(l, newSrc([]types.T{types.TInt8, types.TText}), AntiJoin, []int{0}, []int{0}, nil)),
		"1 a", "2 b", "NULL n", "1 c")
}

func TestLargeJoinBatches(t *testing.T) {
	// Many matches per key: outputs are cut into batches of BatchSize.
	var lrows, rrows [][]types.Datum
	for i := 0; i < 100; i++ {
		lrows = append(lrows, row(int64(i%3)))
	}
	for i := 0; i < 300; i++ {
		rrows = append(rrows, row(int64(i%3)))
	}
	l, r := newSrc(i8s(1), lrows...), newSrc(i8s(1), rrows...)
	l.bs, r.bs = 64, 64
	got := run(t, newCtx(), NewHashJoin(l, r, InnerJoin, []int{0}, []int{0}, nil))
	if len(got) != 100*100 {
		t.Errorf("got %d rows, want 10000", len(got))
	}
}

func TestSetOps(t *testing.T) {
	a := func() *src {
		return newSrc(i8s(1), row(int64(1)), row(int64(1)), row(int64(1)), row(int64(2)), row(nil), row(nil))
	}
	b := func() *src { return newSrc(i8s(1), row(int64(1)), row(int64(1)), row(nil), row(int64(3))) }
	c := func() *src { return newSrc(i8s(1), row(int64(1)), row(nil), row(int64(3))) }
	ctx := newCtx()
	expectRows(t, "intersect all", sorted(run(t, ctx, NewSetOp(a(), b(), Intersect, true))), "1", "1", "NULL")
	expectRows(t, "intersect", sorted(run(t, ctx, NewSetOp(a(), b(), Intersect, false))), "1", "NULL")
	expectRows(t, "except all", sorted(run(t, ctx, NewSetOp(a(), c(), Except, true))), "1", "1", "2", "NULL")
	expectRows(t, "except", sorted(run(t, ctx, NewSetOp(a(), newSrc(i8s(1), row(int64(1)), row(int64(3))), Except, false))), "2", "NULL")
	expectRows(t, "union", sorted(run(t, ctx, NewSetOp(a(), b(), Union, false))), "1", "2", "3", "NULL")
	if got := run(t, ctx, NewSetOp(a(), b(), Union, true)); len(got) != 10 {
		t.Errorf("union all gave %d rows", len(got))
	}
	op := NewSetOp(a(), b(), Intersect, true)
	run(t, ctx, op)
	expectRows(t, "intersect all re-run", sorted(run(t, ctx, op)), "1", "1", "NULL")
}

func TestSort(t *testing.T) {
	in := newSrc([]types.T{types.TInt8, types.TText, types.TFloat8},
		row(int64(2), "b", 1.0), row(nil, "a", math.NaN()), row(int64(1), "c", -1.0), row(int64(2), "a", 0.0), row(nil, "z", math.Inf(1)))
	ctx := newCtx()
	expectRows(t, "asc nulls last, stable", run(t, ctx, NewSort(in, []SortKey{{Col: 0, T: types.TInt8}})),
		"1 c -1.000", "2 b 1.000", "2 a 0.000", "NULL a NaN", "NULL z +Inf")
	expectRows(t, "desc nulls first, text", run(t, ctx, NewSort(in, []SortKey{{Col: 0, Desc: true, NullsFirst: true, T: types.TInt8}, {Col: 1, T: types.TText}})),
		"NULL a NaN", "NULL z +Inf", "2 a 0.000", "2 b 1.000", "1 c -1.000")
	expectRows(t, "float with NaN above +Inf", run(t, ctx, NewSort(in, []SortKey{{Col: 2, T: types.TFloat8}})),
		"1 c -1.000", "2 a 0.000", "2 b 1.000", "NULL z +Inf", "NULL a NaN")
	expectRows(t, "topn", run(t, ctx, NewTopN(in, []SortKey{{Col: 2, T: types.TFloat8}}, constExpr(types.TInt8, int64(2)), constExpr(types.TInt8, int64(1)))),
		"2 a 0.000", "2 b 1.000")
	nin := newSrc([]types.T{types.TText}, row("10"), row("9.5"), row("-1"), row("NaN"), row("1e1"))
	expectRows(t, "numeric order", render(t, []types.T{types.TText}, mustCollect(t, NewSort(&retyped{nin, []types.T{types.TNumeric}}, []SortKey{{Col: 0, T: types.TNumeric}}))),
		"-1", "9.5", "10", "1e1", "NaN")
}

func mustCollect(t *testing.T, op exec.Operator) []*exec.Batch {
	t.Helper()
	bs, err := Collect(newCtx(), op)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func TestLimit(t *testing.T) {
	var rows [][]types.Datum
	for i := 0; i < 20; i++ {
		rows = append(rows, row(int64(i)))
	}
	in := newSrc(i8s(1), rows...)
	got := run(t, newCtx(), NewLimit(in, constExpr(types.TInt8, int64(3)), constExpr(types.TInt8, int64(3))))
	expectRows(t, "limit 3 offset 3", got, "3", "4", "5")
	if in.pulled != 3 {
		t.Errorf("limit pulled %d batches of 2, want 3", in.pulled)
	}
	expectRows(t, "limit NULL offset 18", run(t, newCtx(), NewLimit(in, constExpr(types.TInt8, nil), constExpr(types.TInt8, int64(18)))), "18", "19")
	expectRows(t, "limit 0", run(t, newCtx(), NewLimit(in, constExpr(types.TInt8, int64(0)), nil)))
	expectCode(t, NewLimit(in, constExpr(types.TInt8, int64(-1)), nil), sqlerr.InvalidRowCountInLimit)
	expectCode(t, NewLimit(in, nil, constExpr(types.TInt8, int64(-1))), sqlerr.InvalidRowCountInOffset)
}

func TestDistinct(t *testing.T) {
	in := newSrc([]types.T{types.TInt8, types.TText},
		row(int64(1), "a"), row(nil, "b"), row(int64(1), "a"), row(nil, "b"), row(int64(1), "c"), row(nil, nil), row(nil, nil))
	expectRows(t, "distinct", run(t, newCtx(), NewDistinct(in)), "1 a", "NULL b", "1 c", "NULL NULL")
	expectRows(t, "distinct on", run(t, newCtx(), NewDistinctOn(in, []int{0})), "1 a", "NULL b")
}

func TestValuesFilterProjectUnionBuffer(t *testing.T) {
	ctx := newCtx()
	v := NewValues([][]expr.Expr{
		{constExpr(types.TInt8, int64(1)), constExpr(types.TText, "x")},
		{constExpr(types.TInt8, nil), constExpr(types.TText, "y")},
		{constExpr(types.TInt8, int64(3)), constExpr(types.TText, nil)},
	}, []types.T{types.TInt8, types.TText})
	expectRows(t, "values", run(t, ctx, v), "1 x", "NULL y", "3 NULL")
	gt1 := &fnExpr{name: "#0 > 1", in: []types.T{types.TInt8, types.TText}, t: types.TBool, f: func(r []types.Datum) types.Datum {
		if r[0] == nil {
			return nil
		}
		return r[0].(int64) > 1
	}}
	expectRows(t, "filter (NULL is false)", run(t, ctx, NewFilter(v, gt1)), "3 NULL")
	empty := NewValues([][]expr.Expr{{}}, nil)
	bs := mustCollect(t, empty)
	if len(bs) != 1 || bs[0].N != 1 || len(bs[0].Cols) != 0 {
		t.Errorf("VALUES () gave %v", bs)
	}
	in := newSrc(i8s(1), row(int64(1)), row(int64(2)), row(int64(3)))
	buf := NewBuffer(in)
	u := NewUnionAll(buf, NewFilter(buf, &fnExpr{name: "true", t: types.TBool, f: func([]types.Datum) types.Datum { return true }}))
	expectRows(t, "union all of buffer twice", run(t, ctx, u), "1", "2", "3", "1", "2", "3")
	if in.opens != 1 {
		t.Errorf("buffered input opened %d times", in.opens)
	}
	ctx.Cache = map[any]any{}
	run(t, ctx, buf)
	if in.opens != 2 {
		t.Errorf("new execution (new Cache) opened buffered input %d times in all, want 2", in.opens)
	}
}

func TestCancel(t *testing.T) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	ctx := newCtx()
	ctx.Context = c
	_, err := Collect(ctx, NewSort(newSrc(i8s(1), row(int64(1))), nil))
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != sqlerr.QueryCanceled {
		t.Errorf("got %v", err)
	}
}

func TestExplainTree(t *testing.T) {
	l, r := joinInputs()
	op := NewLimit(NewHashJoin(l, r, LeftJoin, []int{0}, []int{0}, nil), constExpr(types.TInt8, int64(5)), nil)
	want := "Limit 5\n  HashJoin left on #0 = #2\n    Src 4 rows\n    Src 4 rows\n"
	if got := ExplainTree(op); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(NewSort(l, []SortKey{{Col: 1, Desc: true, NullsFirst: true}}).Explain(), "#1 DESC") {
		t.Error("sort explain")
	}
}

// cols projects the given columns.
func cols(idx []int, ts []types.T) []expr.Expr {
	es := make([]expr.Expr, len(idx))
	for i, c := range idx {
		es[i] = &expr.ColRef{Idx: c, T: ts[i]}
	}
	return es
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}

// TestRowKeysGrow re-encodes with more rows than the first batch had: the
// buffers must grow together.
func TestRowKeysGrow(t *testing.T) {
	var k rowKeys
	for _, n := range []int{3, 5, 2047, 2048, 10, 4096} {
		vals := make([]types.Datum, n)
		for i := range vals {
			vals[i] = int64(i)
		}
		col := types.ArrayFromDatums(types.TInt8, vals)
		k.encode([]arrow.Array{col}, []types.T{types.TInt8}, n)
		if len(k.keys) != n || len(k.hasNull) != n {
			t.Fatalf("n=%d: %d keys, %d null flags", n, len(k.keys), len(k.hasNull))
		}
		col.Release()
	}
}
