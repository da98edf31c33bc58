package expr

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

func newCtx() *exec.Ctx {
	return &exec.Ctx{Env: udf.Env{Location: time.UTC, TxnTime: time.Unix(0, 0)}}
}

func col(t types.T, vals ...types.Datum) arrow.Array { return types.ArrayFromDatums(t, vals) }

func op(t *testing.T, sym string, l, r Expr) *Call {
	t.Helper()
	fn, casts, err := udf.LookupOperator(sym, l.Type(), r.Type())
	if err != nil {
		t.Fatal(err)
	}
	args := []Expr{l, r}
	for i, c := range casts {
		if !c.Equal(args[i].Type()) {
			args[i] = &Cast{Input: args[i], To: c}
		}
	}
	return &Call{Fn: fn, Args: args, T: fn.ResultType(casts)}
}

func i4(v int64) *Const { return &Const{Value: v, T: types.TInt4} }

// texts evaluates e and renders every row as text ("NULL" for NULL).
func texts(t *testing.T, ctx *exec.Ctx, e Expr, b *exec.Batch) string {
	t.Helper()
	arr, err := e.Eval(ctx, b)
	if err != nil {
		t.Fatalf("%s: %v", e, err)
	}
	defer arr.Release()
	if arr.Len() != b.N {
		t.Fatalf("%s: %d rows, want %d", e, arr.Len(), b.N)
	}
	parts := make([]string, b.N)
	for i := range parts {
		d := types.GetDatum(arr, i, e.Type())
		if v, ok := d.(bool); ok {
			parts[i] = map[bool]string{true: "true", false: "false"}[v]
		} else if d == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = types.FormatText(d, e.Type(), time.UTC)
		}
	}
	return strings.Join(parts, " ")
}

func TestBasics(t *testing.T) {
	ctx := newCtx()
	x := col(types.TInt4, int64(0), int64(2), nil, int64(5))
	b := exec.NewBatch([]arrow.Array{x}, 4)
	defer b.Release()
	xr := &ColRef{Idx: 0, T: types.TInt4, Name: "x"}
	tr, fa := true, false
	cases := []struct {
		e    Expr
		want string
	}{
		{op(t, "+", xr, i4(1)), "1 3 NULL 6"},
		{op(t, "*", xr, &Const{Value: int64(2), T: types.TInt8}), "0 4 NULL 10"},
		{&Cast{Input: xr, To: types.TInt2}, "0 2 NULL 5"},
		{&Cast{Input: xr, To: types.TFloat8}, "0 2 NULL 5"},
		{&Cast{Input: xr, To: types.TText}, "0 2 NULL 5"},
		{&Cast{Input: &Const{Value: "12", T: types.TUnknown}, To: types.TInt4}, "12 12 12 12"},
		// Lazy CASE: 10 / x is never computed where x = 0.
		{&Case{Whens: []Expr{op(t, "=", xr, i4(0))}, Thens: []Expr{i4(-1)}, Else: op(t, "/", i4(10), xr), T: types.TInt4}, "-1 5 NULL 2"},
		{&Case{Operand: xr, Eq: []*udf.Scalar{op(t, "=", xr, i4(0)).Fn, op(t, "=", xr, i4(0)).Fn}, Whens: []Expr{i4(2), i4(5)}, Thens: []Expr{i4(20), i4(50)}, T: types.TInt4}, "NULL 20 NULL 50"},
		// AND evaluates its right side only where the left is not FALSE.
		{&And{Args: []Expr{op(t, "<>", xr, i4(0)), op(t, ">", op(t, "/", i4(10), xr), i4(3))}}, "false true NULL false"},
		{&Or{Args: []Expr{op(t, "=", xr, i4(0)), op(t, ">", op(t, "/", i4(10), xr), i4(3))}}, "true true NULL false"},
		{&And{Args: []Expr{&Const{Value: false, T: types.TBool}, &Const{T: types.TBool}}}, "false false false false"},
		{&Or{Args: []Expr{&Const{Value: true, T: types.TBool}, &Const{T: types.TBool}}}, "true true true true"},
		{&And{Args: []Expr{&Const{Value: true, T: types.TBool}, &Const{T: types.TBool}}}, "NULL NULL NULL NULL"},
		{&Not{Input: op(t, ">", xr, i4(1))}, "true false NULL false"},
		{&IsNull{Input: xr}, "false false true false"},
		{&IsNull{Input: xr, Negate: true}, "true true false true"},
		{&BoolTest{Input: op(t, ">", xr, i4(1)), Want: &tr}, "false true false true"},
		{&BoolTest{Input: op(t, ">", xr, i4(1)), Want: &fa, Negate: true}, "false true true true"},
		{&BoolTest{Input: op(t, ">", xr, i4(1))}, "false false true false"},
		{&IsDistinct{Left: xr, Right: i4(2)}, "true false true true"},
		{&IsDistinct{Left: xr, Right: &Const{T: types.TInt4}, Negate: true}, "false false true false"},
		{&Coalesce{Args: []Expr{xr, i4(7)}, T: types.TInt4}, "0 2 7 5"},
		// COALESCE stops at the first non-NULL: 10 / x only runs where x is NULL.
		{&Coalesce{Args: []Expr{&Case{Whens: []Expr{op(t, "<>", xr, i4(0))}, Thens: []Expr{xr}, T: types.TInt4}, i4(9)}, T: types.TInt4}, "9 2 9 5"},
		{&NullIf{Left: xr, Right: i4(2), Eq: op(t, "=", xr, i4(2)).Fn, T: types.TInt4}, "0 NULL NULL 5"},
		{&MinMax{Args: []Expr{xr, i4(3)}, T: types.TInt4}, "3 3 3 5"},
		{&MinMax{Args: []Expr{xr, &Const{T: types.TInt4}}, Least: true, T: types.TInt4}, "0 2 NULL 5"},
		{&InList{Input: xr, List: []Expr{i4(2), i4(5)}, Eq: op(t, "=", xr, i4(2)).Fn}, "false true NULL true"},
		{&InList{Input: xr, List: []Expr{i4(2), &Const{T: types.TInt4}}, Eq: op(t, "=", xr, i4(2)).Fn}, "NULL true NULL NULL"},
		{&InList{Input: xr, List: []Expr{i4(2), &Const{T: types.TInt4}}, Eq: op(t, "=", xr, i4(2)).Fn, Negate: true}, "NULL false NULL NULL"},
		{&Param{Idx: 0, T: types.TText}, "p p p p"},
	}
	ctx.Params = []types.Datum{"p"}
	for _, c := range cases {
		if got := texts(t, ctx, c.e, b); got != c.want {
			t.Errorf("%s = %s, want %s", c.e, got, c.want)
		}
	}
	// Without laziness the division raises 22012.
	_, err := op(t, "/", i4(10), xr).Eval(ctx, b)
	if sqlerr.Code(err) != sqlerr.DivisionByZero {
		t.Errorf("10 / x: %v", err)
	}
	_, err = (&Cast{Input: &Const{Value: int64(70000), T: types.TInt4}, To: types.TInt2}).Eval(ctx, b)
	if sqlerr.Code(err) != sqlerr.NumericValueOutOfRange || err.Error() != "smallint out of range" {
		t.Errorf("70000::int2: %v", err)
	}
}

func TestStringRendering(t *testing.T) {
	a := &ColRef{Idx: 0, T: types.TInt4, Name: "a"}
	e := op(t, ">", op(t, "+", a, i4(1)), &Param{Idx: 0, T: types.TInt4})
	if got := e.String(); got != "(a + 1) > $1" {
		t.Errorf("got %q", got)
	}
	like := op(t, "~~", &ColRef{Idx: 1, T: types.TText, Name: "s"}, &Const{Value: "x%", T: types.TText})
	if got := (&And{Args: []Expr{e, like}}).String(); got != "((a + 1) > $1) AND (s LIKE 'x%')" {
		t.Errorf("got %q", got)
	}
}

func TestFilterTakeEvalBool(t *testing.T) {
	ctx := newCtx()
	b := exec.NewBatch([]arrow.Array{
		col(types.TInt8, int64(1), nil, int64(3), int64(4)),
		col(types.TText, "a", "b", nil, "d"),
		col(types.TInterval, types.IntervalValue{Days: 1}, nil, types.IntervalValue{Months: 2}, types.IntervalValue{Micros: 5}),
	}, 4)
	defer b.Release()
	mask, err := EvalBool(ctx, op(t, ">", &ColRef{Idx: 0, T: types.TInt8}, &Const{Value: int64(1), T: types.TInt8}), b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Trim(strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(strings.ReplaceAll(
		fmtBools(mask), "true", "1"), "false", "0"), "[]")), ""), " ") != "0011" {
		t.Errorf("mask %v", mask)
	}
	f, err := Filter(b, udf.MakeBool(mask, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if f.N != 2 || texts(t, ctx, &ColRef{Idx: 1, T: types.TText}, f) != "NULL d" || texts(t, ctx, &ColRef{Idx: 2, T: types.TInterval}, f) != "2 mons 00:00:00.000005" {
		t.Errorf("filter: %d rows %s | %s", f.N, texts(t, ctx, &ColRef{Idx: 1, T: types.TText}, f), texts(t, ctx, &ColRef{Idx: 2, T: types.TInterval}, f))
	}
	tk := Take(b, []int{3, 0, 1})
	defer tk.Release()
	if got := texts(t, ctx, &ColRef{Idx: 0, T: types.TInt8}, tk); got != "4 1 NULL" {
		t.Errorf("take: %s", got)
	}
	d, err := EvalConst(ctx, op(t, "||", &Const{Value: "a", T: types.TText}, i4(1)))
	if err != nil || d != "a1" {
		t.Errorf("EvalConst: %v %v", d, err)
	}
}

func fmtBools(b []bool) string {
	var sb strings.Builder
	for _, v := range b {
		if v {
			sb.WriteString("true ")
		} else {
			sb.WriteString("false ")
		}
	}
	return sb.String()
}

// sliceOp is a tiny exec.Operator over fixed batches; build, when set,
// makes the batches from the current outer row (a correlated plan).
type sliceOp struct {
	ts     []types.T
	rows   [][]types.Datum
	build  func(ctx *exec.Ctx) [][]types.Datum
	opened int
	cur    [][]types.Datum
	done   bool
}

func (s *sliceOp) Open(ctx *exec.Ctx) error {
	s.opened++
	s.cur = s.rows
	if s.build != nil {
		s.cur = s.build(ctx)
	}
	s.done = false
	return nil
}

func (s *sliceOp) Next(*exec.Ctx) (*exec.Batch, error) {
	if s.done || len(s.cur) == 0 {
		return nil, nil
	}
	s.done = true
	cols := make([]arrow.Array, len(s.ts))
	for j, t := range s.ts {
		ds := make([]types.Datum, len(s.cur))
		for i, r := range s.cur {
			ds[i] = r[j]
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	return exec.NewBatch(cols, len(s.cur)), nil
}

func (s *sliceOp) Close()                    {}
func (s *sliceOp) Types() []types.T          { return s.ts }
func (s *sliceOp) Explain() string           { return "Slice" }
func (s *sliceOp) Children() []exec.Operator { return nil }

func TestSubqueries(t *testing.T) {
	ctx := newCtx()
	b := exec.NewBatch([]arrow.Array{col(types.TInt4, int64(1), int64(2), nil)}, 3)
	defer b.Release()
	xr := &ColRef{Idx: 0, T: types.TInt4, Name: "x"}
	eq := op(t, "=", xr, i4(1)).Fn
	i4T := []types.T{types.TInt4}

	one := &sliceOp{ts: i4T, rows: [][]types.Datum{{int64(7)}}}
	sq := &Subquery{Kind: plan.ScalarSubquery, Plan: one, T: types.TInt4}
	if got := texts(t, ctx, sq, b); got != "7 7 7" {
		t.Errorf("scalar: %s", got)
	}
	_ = texts(t, ctx, sq, b)
	if one.opened != 1 {
		t.Errorf("uncorrelated subquery ran %d times, want once", one.opened)
	}
	two := &Subquery{Kind: plan.ScalarSubquery, Plan: &sliceOp{ts: i4T, rows: [][]types.Datum{{int64(1)}, {int64(2)}}}, T: types.TInt4}
	if _, err := two.Eval(ctx, b); sqlerr.Code(err) != sqlerr.CardinalityViolation ||
		err.Error() != "more than one row returned by a subquery used as an expression" {
		t.Errorf("two rows: %v", err)
	}
	empty := &Subquery{Kind: plan.ScalarSubquery, Plan: &sliceOp{ts: i4T}, T: types.TInt4}
	if got := texts(t, ctx, empty, b); got != "NULL NULL NULL" {
		t.Errorf("empty scalar: %s", got)
	}
	ex := &Subquery{Kind: plan.ExistsSubquery, Plan: &sliceOp{ts: i4T}}
	if got := texts(t, ctx, ex, b); got != "false false false" {
		t.Errorf("exists: %s", got)
	}
	// x IN (1, NULL): TRUE for 1, NULL otherwise.
	in := &Subquery{Kind: plan.AnySubquery, Left: xr, Op: eq, Plan: &sliceOp{ts: i4T, rows: [][]types.Datum{{int64(1)}, {nil}}}}
	if got := texts(t, ctx, in, b); got != "true NULL NULL" {
		t.Errorf("any: %s", got)
	}
	all := &Subquery{Kind: plan.AllSubquery, Left: xr, Op: op(t, "<", xr, i4(1)).Fn, Plan: &sliceOp{ts: i4T, rows: [][]types.Datum{{int64(2)}, {int64(3)}}}}
	if got := texts(t, ctx, all, b); got != "true false NULL" {
		t.Errorf("all: %s", got)
	}
	// Correlated: (SELECT outer.x * 10) evaluated per row via OuterRef.
	corrPlan := &sliceOp{ts: i4T}
	corrPlan.build = func(ctx *exec.Ctx) [][]types.Datum {
		d, err := EvalConst(ctx, op(t, "*", &OuterRef{Depth: 1, Idx: 0, T: types.TInt4}, i4(10)))
		if err != nil {
			t.Fatal(err)
		}
		return [][]types.Datum{{d}}
	}
	corr := &Subquery{Kind: plan.ScalarSubquery, Plan: corrPlan, Correlated: true, T: types.TInt4, OuterTypes: i4T}
	if got := texts(t, ctx, corr, b); got != "10 20 NULL" {
		t.Errorf("correlated: %s", got)
	}
	if corrPlan.opened != 3 || len(ctx.Outer) != 0 {
		t.Errorf("correlated plan opened %d times, outer stack %d", corrPlan.opened, len(ctx.Outer))
	}
	arr := &Subquery{Kind: plan.ArraySubquery, Plan: &sliceOp{ts: []types.T{types.TText}, rows: [][]types.Datum{{"a"}, {"b c"}, {nil}}}, T: types.T{Kind: types.Array, Elem: &types.TText}}
	if d, _ := EvalConst(ctx, arr); d != `{a,"b c",NULL}` {
		t.Errorf("array: %v", d)
	}
}

func BenchmarkAddInt64(b *testing.B) {
	const n = exec.BatchSize
	vals := make([]types.Datum, n)
	for i := range vals {
		vals[i] = int64(i)
	}
	c := col(types.TInt8, vals...)
	batch := exec.NewBatch([]arrow.Array{c, c}, n)
	ctx := newCtx()
	fn, _, _ := udf.LookupOperator("+", types.TInt8, types.TInt8)
	e := &Call{Fn: fn, Args: []Expr{&ColRef{Idx: 0, T: types.TInt8}, &ColRef{Idx: 1, T: types.TInt8}}, T: types.TInt8}
	benchEval(b, ctx, e, batch)
}

// TestCastIntNoNulls casts a column without NULLs: the result must report
// zero NULLs (a missing bitmap with an unknown count made arrow panic).
func TestCastIntNoNulls(t *testing.T) {
	col := types.ArrayFromDatums(types.TInt2, []types.Datum{int64(1), int64(2)})
	defer col.Release()
	b := &exec.Batch{Cols: []arrow.Array{col}, N: 2}
	out, err := (&Cast{Input: &ColRef{Idx: 0, T: types.TInt2}, To: types.TInt4}).Eval(&exec.Ctx{}, b)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.NullN() != 0 || out.Len() != 2 {
		t.Fatalf("got %d nulls over %d rows", out.NullN(), out.Len())
	}
}

// BenchmarkAndNarrowing evaluates "a > 0 AND b > 0 AND a + b > 1" over a
// batch whose first term settles half the rows, so the later terms run
// on narrowed batches.
func BenchmarkAndNarrowing(b *testing.B) {
	const n = exec.BatchSize
	vals := make([]types.Datum, n)
	for i := range vals {
		vals[i] = int64(i%2*2 - 1)
		if i%7 == 0 {
			vals[i] = nil
		}
	}
	c := col(types.TInt8, vals...)
	batch := exec.NewBatch([]arrow.Array{c, c}, n)
	ctx := newCtx()
	gt, _, _ := udf.LookupOperator(">", types.TInt8, types.TInt8)
	plus, _, _ := udf.LookupOperator("+", types.TInt8, types.TInt8)
	a, bb := &ColRef{Idx: 0, T: types.TInt8}, &ColRef{Idx: 1, T: types.TInt8}
	zero, one := &Const{Value: int64(0), T: types.TInt8}, &Const{Value: int64(1), T: types.TInt8}
	sum := &Call{Fn: plus, Args: []Expr{a, bb}, T: types.TInt8}
	e := &And{Args: []Expr{
		&Call{Fn: gt, Args: []Expr{a, zero}, T: types.TBool},
		&Call{Fn: gt, Args: []Expr{bb, zero}, T: types.TBool},
		&Call{Fn: gt, Args: []Expr{sum, one}, T: types.TBool},
	}}
	benchEval(b, ctx, e, batch)
}

// benchEval evaluates e over batch b.N times and reports rows per second.
func benchEval(b *testing.B, ctx *exec.Ctx, e Expr, batch *exec.Batch) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := e.Eval(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.N)*float64(batch.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
}
