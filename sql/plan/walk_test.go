package plan

import (
	"testing"

	"streamsql/sql/types"
	"streamsql/udf"
)

func call(t *testing.T, sym string, l, r Scalar) *Call {
	t.Helper()
	fn, casts, err := udf.LookupOperator(sym, l.Type(), r.Type())
	if err != nil {
		t.Fatal(err)
	}
	return &Call{Fn: fn, Args: []Scalar{l, r}, T: fn.ResultType(casts)}
}

func TestShiftColsReachesEveryNode(t *testing.T) {
	x := &ColRef{Idx: 0, T: types.TInt4, Name: "x"}
	one := &Const{Value: int64(1), T: types.TInt4}
	arr := types.T{Kind: types.Array, Elem: &types.TInt4}
	e := &And{Args: []Scalar{
		call(t, ">", x, one),
		&InList{Input: x, List: []Scalar{one, x}, Eq: call(t, "=", x, one).Fn},
		&IsNull{Input: &ArraySubscript{Array: &ArrayCtor{Elems: []Scalar{x}, T: arr}, Index: one, T: types.TInt4}},
		&Case{Whens: []Scalar{call(t, "=", x, one)}, Thens: []Scalar{&Const{Value: true, T: types.TBool}}, Else: &IsDistinct{Left: x, Right: one}, T: types.TBool},
	}}
	before, _ := ColRefs(e)
	shifted := ShiftCols(e, 3)
	after, pushable := ColRefs(shifted)
	if len(after) != len(before) || len(after) != 6 {
		t.Fatalf("column references: %v before, %v after", before, after)
	}
	for _, c := range after {
		if c != 3 {
			t.Errorf("a reference was not shifted: %v", after)
		}
	}
	if !pushable {
		t.Error("a predicate over columns is pushable")
	}
	if Key(e) == Key(shifted) {
		t.Error("shifting changed no column in the key")
	}
	if Key(e) != Key(ShiftCols(shifted, -3)) {
		t.Error("shifting there and back is not the same expression")
	}
	// The names stay, so the rendering does too.
	if e.String() != shifted.String() {
		t.Errorf("rendering changed: %s vs %s", e, shifted)
	}
}

// TestKeyOfVolatileCalls: keys are structural, as PostgreSQL's equal():
// GROUP BY random() matches random() in the select list; a volatile
// call is never pushed below the operator that evaluates it.
func TestKeyOfVolatileCalls(t *testing.T) {
	regclass := types.T{Kind: types.Oid, OIDOverride: types.OIDRegclass}
	fn, casts, err := udf.LookupScalar("nextval", []types.T{regclass})
	if err != nil {
		t.Fatal(err)
	}
	s := &Const{Value: int64(16384), T: regclass}
	a, b := &Call{Fn: fn, Args: []Scalar{s}, T: fn.ResultType(casts)}, &Call{Fn: fn, Args: []Scalar{s}, T: fn.ResultType(casts)}
	if Key(a) != Key(b) {
		t.Error("two nextval(s) calls have two keys")
	}
	x := &ColRef{Idx: 0, T: types.TInt4}
	arr := types.T{Kind: types.Array, Elem: &types.TInt4}
	if Key(&ArrayCtor{Elems: []Scalar{x}, T: arr}) != Key(&ArrayCtor{Elems: []Scalar{&ColRef{Idx: 0, T: types.TInt4}}, T: arr}) {
		t.Error("ARRAY[x] twice has two keys")
	}
	if _, pushable := ColRefs(&Cast{Input: a, To: types.TText}); pushable {
		t.Error("nextval() is pushable")
	}
}

func TestFoldCall(t *testing.T) {
	x := &Const{Value: int64(7), T: types.TInt8}
	c := call(t, "%", x, &Const{Value: int64(5), T: types.TInt8})
	v, ok := FoldCall(c.Fn, []*Const{x, {Value: int64(5), T: types.TInt8}}, c.T)
	if !ok || v != int64(2) {
		t.Errorf("7 %% 5 folded to %v, %v", v, ok)
	}
	if v, ok := FoldCall(c.Fn, []*Const{x, {T: types.TInt8}}, c.T); !ok || v != nil {
		t.Errorf("7 %% NULL folded to %v, %v", v, ok)
	}
	if _, ok := FoldCall(c.Fn, []*Const{x, {Value: int64(0), T: types.TInt8}}, c.T); ok {
		t.Error("division by zero folded instead of being left to run time")
	}
	rnd, _, err := udf.LookupScalar("random", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := FoldCall(rnd, nil, types.TFloat8); ok {
		t.Error("random() folded")
	}
}
