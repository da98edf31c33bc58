package expr

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// lop builds the logical call of a binary operator, with the casts its
// overload needs.
func lop(t *testing.T, sym string, l, r plan.Scalar) *plan.Call {
	t.Helper()
	fn, casts, err := udf.LookupOperator(sym, l.Type(), r.Type())
	if err != nil {
		t.Fatal(err)
	}
	args := []plan.Scalar{l, r}
	for i, c := range casts {
		if !c.Equal(args[i].Type()) {
			args[i] = &plan.Cast{Input: args[i], To: c}
		}
	}
	return &plan.Call{Fn: fn, Args: args, T: fn.ResultType(casts)}
}

// TestCompile compiles one logical expression of every kind, evaluates it
// over a batch, and checks that the evaluator renders as its logical form.
func TestCompile(t *testing.T) {
	ctx := newCtx()
	ctx.Params = []types.Datum{int64(7)}
	x := col(types.TInt4, int64(0), int64(2), nil, int64(5))
	s := col(types.TText, "a", "bb", nil, "ccc")
	b := exec.NewBatch([]arrow.Array{x, s}, 4)
	defer b.Release()
	xr := &plan.ColRef{Idx: 0, T: types.TInt4, Name: "x"}
	sr := &plan.ColRef{Idx: 1, T: types.TText, Name: "s"}
	one := &plan.Const{Value: int64(1), T: types.TInt4}
	eq := lop(t, "=", xr, one).Fn
	tr := true
	c := &Compiler{}
	arr := types.T{Kind: types.Array, Elem: &types.TInt4}
	cases := []struct {
		e         plan.Scalar
		want, str string
	}{
		{xr, "0 2 NULL 5", "x"},
		{&plan.Param{Idx: 0, T: types.TInt8}, "7 7 7 7", "$1"},
		{lop(t, "+", xr, one), "1 3 NULL 6", "x + 1"},
		{&plan.Cast{Input: xr, To: types.TText}, "0 2 NULL 5", "x::text"},
		{&plan.And{Args: []plan.Scalar{lop(t, ">", xr, one), &plan.IsNull{Input: sr, Negate: true}}}, "false true false true", "(x > 1) AND (s IS NOT NULL)"},
		{&plan.Or{Args: []plan.Scalar{lop(t, ">", xr, one), &plan.Not{Input: lop(t, "=", xr, one)}}}, "true true NULL true", "(x > 1) OR (NOT (x = 1))"},
		{&plan.BoolTest{Input: lop(t, ">", xr, one), Want: &tr}, "false true false true", "(x > 1) IS TRUE"},
		{&plan.IsDistinct{Left: xr, Right: one}, "true true true true", "x IS DISTINCT FROM 1"},
		{&plan.Case{Whens: []plan.Scalar{lop(t, ">", xr, one)}, Thens: []plan.Scalar{sr}, Else: &plan.Const{Value: "no", T: types.TText}, T: types.TText}, "no bb no ccc", "CASE WHEN x > 1 THEN s ELSE 'no' END"},
		{&plan.Coalesce{Args: []plan.Scalar{xr, one}, T: types.TInt4}, "0 2 1 5", "COALESCE(x, 1)"},
		{&plan.NullIf{Left: xr, Right: &plan.Const{Value: int64(2), T: types.TInt4}, Eq: eq, T: types.TInt4}, "0 NULL NULL 5", "NULLIF(x, 2)"},
		{&plan.MinMax{Args: []plan.Scalar{xr, one}, T: types.TInt4}, "1 2 1 5", "GREATEST(x, 1)"},
		{&plan.InList{Input: xr, List: []plan.Scalar{one, &plan.Const{Value: int64(5), T: types.TInt4}}, Eq: eq}, "false false NULL true", "x IN (1, 5)"},
		{&plan.ArrayCtor{Elems: []plan.Scalar{xr, one}, T: arr}, "{0,1} {2,1} {NULL,1} {5,1}", "ARRAY[x, 1]"},
		{&plan.ArraySubscript{Array: &plan.ArrayCtor{Elems: []plan.Scalar{xr, one}, T: arr}, Index: &plan.Const{Value: int64(2), T: types.TInt4}, T: types.TInt4}, "1 1 1 1", "ARRAY[x, 1][2]"},
		{&plan.ArrayCompare{Left: one, Array: &plan.ArrayCtor{Elems: []plan.Scalar{xr}, T: arr}, Op: eq, ElemT: types.TInt4}, "false false NULL false", "1 = ANY (ARRAY[x])"},
	}
	for _, tc := range cases {
		e, err := c.Compile(tc.e)
		if err != nil {
			t.Fatalf("compile %s: %v", tc.e, err)
		}
		if got := texts(t, ctx, e, b); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.e, got, tc.want)
		}
		if got := e.String(); got != tc.str || tc.e.String() != tc.str {
			t.Errorf("rendering: evaluator %q, logical %q, want %q", got, tc.e.String(), tc.str)
		}
		if !e.Type().Equal(tc.e.Type()) {
			t.Errorf("%s: evaluator type %s, logical %s", tc.e, e.Type(), tc.e.Type())
		}
	}
}

// TestCompileAssignCast checks the assignment rule of varchar(n): too long
// is an error, where an explicit cast truncates.
func TestCompileAssignCast(t *testing.T) {
	ctx := newCtx()
	s := col(types.TText, "ab", "abcd")
	b := exec.NewBatch([]arrow.Array{s}, 2)
	defer b.Release()
	v2 := types.T{Kind: types.Varchar, Width: 2}
	sr := &plan.ColRef{Idx: 0, T: types.TText}
	explicit, err := (&Compiler{}).Compile(&plan.Cast{Input: sr, To: v2})
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(t, ctx, explicit, b); got != "ab ab" {
		t.Errorf("explicit cast: %s", got)
	}
	assign, err := (&Compiler{}).Compile(&plan.Cast{Input: sr, To: v2, Assign: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = assign.Eval(ctx, b)
	if e := sqlerr.From(err); e == nil || e.Code != sqlerr.StringDataRightTruncation {
		t.Fatalf("assignment cast of a too long value: %v, want 22001", err)
	}
}

// TestCompileSubquery runs an uncorrelated scalar subquery whose relation
// the compiler lowers through its Rel hook.
func TestCompileSubquery(t *testing.T) {
	ctx := newCtx()
	ctx.Cache = map[any]any{}
	b := exec.NewBatch(nil, 2)
	defer b.Release()
	rel := logicalValues{types.TInt4}
	c := &Compiler{Rel: func(r plan.Rel) (exec.Operator, error) {
		if _, ok := r.(logicalValues); !ok {
			t.Fatalf("Rel hook got %T", r)
		}
		return &oneRow{v: int64(42), t: types.TInt4}, nil
	}}
	e, err := c.Compile(&plan.Subquery{Kind: plan.ScalarSubquery, Plan: rel, T: types.TInt4})
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(t, ctx, e, b); got != "42 42" {
		t.Errorf("subquery: %s", got)
	}
	if _, err := (&Compiler{}).Compile(&plan.Subquery{Plan: rel, T: types.TInt4}); err == nil {
		t.Error("a subquery over a relation no hook lowers compiled")
	}
}

// logicalValues stands for a logical relation of one row.
type logicalValues []types.T

func (v logicalValues) OutputTypes() []types.T { return v }

// oneRow is an operator that yields one row of one column.
type oneRow struct {
	v    types.Datum
	t    types.T
	done bool
}

func (o *oneRow) Open(*exec.Ctx) error { o.done = false; return nil }
func (o *oneRow) Next(*exec.Ctx) (*exec.Batch, error) {
	if o.done {
		return nil, nil
	}
	o.done = true
	return exec.NewBatch([]arrow.Array{col(o.t, o.v)}, 1), nil
}
func (o *oneRow) Close()                    {}
func (o *oneRow) Types() []types.T          { return []types.T{o.t} }
func (o *oneRow) Explain() string           { return "OneRow" }
func (o *oneRow) Children() []exec.Operator { return nil }
