package udf

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

func TestResolution(t *testing.T) {
	u, i4, i8, n, f8, txt := types.TUnknown, types.TInt4, types.TInt8, types.TNumeric, types.TFloat8, types.TText
	cases := []struct {
		kind     string
		name     string
		args     []types.T
		want     []types.T // cast targets
		ret      types.T
		err, msg string
	}{
		{kind: "op", name: "+", args: ts(i4, n), want: ts(n, n), ret: n},
		{kind: "op", name: "+", args: ts(i4, f8), want: ts(f8, f8), ret: f8},
		{kind: "op", name: "+", args: ts(i4, i8), want: ts(i4, i8), ret: i8},
		{kind: "op", name: "+", args: ts(i4, u), want: ts(i4, i4), ret: i4},
		{kind: "op", name: "=", args: ts(types.TVarchar, types.TVarchar), want: ts(txt, txt), ret: types.TBool},
		{kind: "op", name: "<", args: ts(types.TDate, types.TTimestampTZ), want: ts(types.TTimestampTZ, types.TTimestampTZ), ret: types.TBool},
		{kind: "op", name: "||", args: ts(u, u), want: ts(txt, txt), ret: txt},
		{kind: "op", name: "||", args: ts(txt, i4), want: ts(txt, i4), ret: txt},
		{kind: "op", name: "+", args: ts(i4, types.TBool), err: sqlerr.UndefinedFunction, msg: "operator does not exist: integer + boolean"},
		{kind: "op", name: "+", args: ts(u, u), err: sqlerr.AmbiguousFunction, msg: "operator is not unique: unknown + unknown"},
		{kind: "fn", name: "length", args: ts(u), want: ts(txt), ret: i4},
		{kind: "fn", name: "round", args: ts(i4), want: ts(f8), ret: f8},
		{kind: "fn", name: "round", args: ts(n, i4), want: ts(n, i4), ret: n},
		{kind: "fn", name: "abs", args: ts(i8), want: ts(i8), ret: i8},
		{kind: "fn", name: "concat", args: ts(u, i4, n), want: ts(txt, i4, n), ret: txt},
		{kind: "fn", name: "pg_typeof", args: ts(u), want: ts(txt)},
		{kind: "fn", name: "foo", args: ts(i4), err: sqlerr.UndefinedFunction, msg: "function foo(integer) does not exist"},
		{kind: "fn", name: "upper", args: ts(i4), err: sqlerr.UndefinedFunction, msg: "function upper(integer) does not exist"},
	}
	for _, c := range cases {
		var s *Scalar
		var casts []types.T
		var err error
		if c.kind == "op" {
			s, casts, err = LookupOperator(c.name, c.args[0], c.args[1])
		} else {
			s, casts, err = LookupScalar(c.name, c.args)
		}
		if c.err != "" {
			if err == nil || sqlerr.Code(err) != c.err || err.Error() != c.msg {
				t.Errorf("%s%v: err %v (%s), want %s %q", c.name, c.args, err, sqlerr.Code(err), c.err, c.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s%v: %v", c.name, c.args, err)
			continue
		}
		for i := range casts {
			if !casts[i].Equal(c.want[i]) {
				t.Errorf("%s%v: casts %v, want %v", c.name, c.args, casts, c.want)
				break
			}
		}
		if c.ret.Kind != types.Unknown && !s.ResultType(casts).Equal(c.ret) {
			t.Errorf("%s%v: returns %s, want %s", c.name, c.args, s.ResultType(casts), c.ret)
		}
	}
	if _, _, err := LookupUnaryOperator("-", types.TBool); err == nil || err.Error() != "operator does not exist: - boolean" {
		t.Errorf("unary - boolean: %v", err)
	}
}

func TestCommonType(t *testing.T) {
	u, i4, i8, n, f8, txt := types.TUnknown, types.TInt4, types.TInt8, types.TNumeric, types.TFloat8, types.TText
	cases := []struct {
		in   []types.T
		want types.T
		msg  string
	}{
		{ts(u, u), txt, ""},
		{ts(i4, i8), i8, ""},
		{ts(i4, u, n), n, ""},
		{ts(n, f8), f8, ""},
		{ts(types.TDate, types.TTimestamp), types.TTimestamp, ""},
		{ts(i4, txt), types.T{}, "CASE types integer and text cannot be matched"},
	}
	for _, c := range cases {
		got, err := CommonType(c.in, "CASE")
		if c.msg != "" {
			if err == nil || err.Error() != c.msg || sqlerr.Code(err) != sqlerr.DatatypeMismatch {
				t.Errorf("%v: err %v, want %q", c.in, err, c.msg)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%v: got %v %v, want %v", c.in, got, err, c.want)
		}
	}
}

// runAgg folds rows (as datums of type in) into groups and returns each
// group's result as text.
func runAgg(t *testing.T, name string, in []types.T, cols [][]types.Datum, groups []uint32, ng int) []string {
	t.Helper()
	a, casts, err := LookupAggregate(name, in)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	acc := a.New(casts)
	defer acc.Release()
	args := make([]arrow.Array, len(cols))
	for i, c := range cols {
		args[i] = types.ArrayFromDatums(casts[i], c)
		defer args[i].Release()
	}
	n := len(groups)
	if err := acc.Update(groups, ng, args, n); err != nil {
		t.Fatalf("%s update: %v", name, err)
	}
	out, err := acc.Finish(testEnv(), ng)
	if err != nil {
		t.Fatalf("%s finish: %v", name, err)
	}
	defer out.Release()
	rt := a.ResultType(casts)
	res := make([]string, ng)
	for g := range res {
		d := types.GetDatum(out, g, rt)
		if d == nil {
			res[g] = "<NULL>"
		} else {
			res[g] = types.FormatText(d, rt, nil)
		}
	}
	return res
}

func dec(s string) types.Datum { d, _ := types.ParseDecimal(s); return d }

func TestAggregates(t *testing.T) {
	i4 := []types.T{types.TInt4}
	ints := [][]types.Datum{{int64(1), int64(2), nil, int64(4)}}
	g2 := []uint32{0, 0, 0, 1}
	// Group 2 receives no rows at all.
	cases := []struct {
		name string
		in   []types.T
		cols [][]types.Datum
		want []string
	}{
		// Values checked against PostgreSQL 15.
		{"count", nil, nil, []string{"3", "1", "0"}},
		{"count", i4, ints, []string{"2", "1", "0"}},
		{"sum", i4, ints, []string{"3", "4", "<NULL>"}},
		{"avg", i4, ints, []string{"1.5000000000000000", "4.0000000000000000", "<NULL>"}},
		{"min", i4, ints, []string{"1", "4", "<NULL>"}},
		{"max", i4, ints, []string{"2", "4", "<NULL>"}},
		{"sum", []types.T{types.TInt8}, [][]types.Datum{{int64(9223372036854775807), int64(1), nil, int64(-1)}}, []string{"9223372036854775808", "-1", "<NULL>"}},
		{"avg", []types.T{types.TNumeric}, [][]types.Datum{{dec("1.5"), dec("2.25"), nil, dec("1")}}, []string{"1.8750000000000000", "1.00000000000000000000", "<NULL>"}},
		{"sum", []types.T{types.TNumeric}, [][]types.Datum{{dec("1.5"), dec("2.25"), nil, dec("1")}}, []string{"3.75", "1", "<NULL>"}},
		{"avg", []types.T{types.TFloat8}, [][]types.Datum{{1.0, 2.0, nil, 4.0}}, []string{"1.5", "4", "<NULL>"}},
		{"stddev", i4, ints, []string{"0.70710678118654752440", "<NULL>", "<NULL>"}},
		{"var_pop", i4, ints, []string{"0.25000000000000000000", "0", "<NULL>"}},
		{"variance", []types.T{types.TFloat8}, [][]types.Datum{{1.0, 2.0, nil, 4.0}}, []string{"0.5", "<NULL>", "<NULL>"}},
		{"string_agg", []types.T{types.TText, types.TText}, [][]types.Datum{{"a", "b", nil, "c"}, {",", ";", ",", ","}}, []string{"a;b", "c", "<NULL>"}},
		{"bool_and", []types.T{types.TBool}, [][]types.Datum{{true, false, nil, true}}, []string{"f", "t", "<NULL>"}},
		{"bool_or", []types.T{types.TBool}, [][]types.Datum{{true, false, nil, false}}, []string{"t", "f", "<NULL>"}},
		{"array_agg", i4, ints, []string{"{1,2,NULL}", "{4}", "<NULL>"}},
		{"max", []types.T{types.TText}, [][]types.Datum{{"b", "ab", nil, "z"}}, []string{"b", "z", "<NULL>"}},
		{"sum", []types.T{types.TInterval}, [][]types.Datum{{types.IntervalValue{Days: 1}, types.IntervalValue{Micros: 3600e6}, nil, types.IntervalValue{Months: 1}}}, []string{"1 day 01:00:00", "1 mon", "<NULL>"}},
	}
	for _, c := range cases {
		got := runAgg(t, c.name, c.in, c.cols, g2, 3)
		for g := range got {
			if got[g] != c.want[g] {
				t.Errorf("%s%v: group %d = %q, want %q", c.name, c.in, g, got[g], c.want[g])
			}
		}
	}
}

func TestAggregateRetract(t *testing.T) {
	a, casts, _ := LookupAggregate("sum", []types.T{types.TInt8})
	acc := a.New(casts)
	defer acc.Release()
	col := types.ArrayFromDatums(types.TInt8, []types.Datum{int64(9223372036854775807), int64(9223372036854775807), int64(5)})
	defer col.Release()
	g := []uint32{0, 0, 0}
	_ = acc.Update(g, 1, []arrow.Array{col}, 3)
	first := array.NewSlice(col, 0, 2)
	defer first.Release()
	if err := acc.Retract(g[:2], 1, []arrow.Array{first}, 2); err != nil {
		t.Fatal(err)
	}
	out, _ := acc.Finish(testEnv(), 1)
	defer out.Release()
	if s := types.FormatText(types.GetDatum(out, 0, types.TNumeric), types.TNumeric, nil); s != "5" {
		t.Errorf("sum after retract = %s, want 5", s)
	}
	mx, casts, _ := LookupAggregate("max", []types.T{types.TInt4})
	if err := mx.New(casts).Retract(nil, 0, nil, 0); err != ErrNoRetract {
		t.Errorf("max retract: %v", err)
	}
}

func TestGenerateSeries(t *testing.T) {
	check := func(args []types.Datum, argTs []types.T, want string) {
		t.Helper()
		f, casts, err := LookupTableFunc("generate_series", argTs)
		if err != nil {
			t.Fatal(err)
		}
		names, _ := f.Cols(casts)
		if names[0] != "generate_series" {
			t.Errorf("column %q", names[0])
		}
		it, err := f.Eval(testEnv(), args, casts)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		got, sep := "", ""
		for {
			cols, n, err := it.Next(2)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			for i := 0; i < n; i++ {
				got += sep + types.FormatText(types.GetDatum(cols[0], i, casts[0]), casts[0], nil)
				sep = " "
			}
			cols[0].Release()
		}
		if got != want {
			t.Errorf("generate_series%v = %s, want %s", args, got, want)
		}
	}
	i4 := types.TInt4
	check([]types.Datum{int64(1), int64(5)}, ts(i4, i4), "1 2 3 4 5")
	check([]types.Datum{int64(10), int64(1), int64(-4)}, ts(i4, i4, i4), "10 6 2")
	check([]types.Datum{int64(5), int64(1)}, ts(i4, i4), "")
	check([]types.Datum{types.Timestamp(0), types.Timestamp(2 * types.MicrosPerDay), types.IntervalValue{Days: 1}},
		ts(types.TTimestamp, types.TTimestamp, types.TInterval), "1970-01-01 00:00:00 1970-01-02 00:00:00 1970-01-03 00:00:00")
}
