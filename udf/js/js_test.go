package js

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/internal/cputime"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
	"streamsql/udf/udftest"
)

func def(name, body string, args []string, argTypes []types.T, ret types.T) *udf.UserDef {
	return &udf.UserDef{Name: name, Signature: name + "(...)", ArgNames: args, ArgTypes: argTypes, Ret: ret,
		Language: "javascript", Body: body, Volatility: udf.Immutable}
}

func TestScalarForms(t *testing.T) {
	rt := New(nil)
	for _, body := range []string{
		"return a * 10 + b;",
		"export function f(a, b) { return a * 10 + b; }",
	} {
		s, err := rt.CompileScalar(def("f", body, []string{"a", "b"}, []types.T{types.TInt4, types.TInt4}, types.TInt8))
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Eval(udftest.Env(nil), []arrow.Array{udftest.Int32s(1, 2, nil), udftest.Int32s(3, 4, 5)}, 3)
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*array.Int64)
		if got.Value(0) != 13 || got.Value(1) != 24 || got.IsNull(2) {
			t.Fatalf("%s: got %v", body, got)
		}
	}
}

func TestErrors(t *testing.T) {
	rt := New(nil)
	cases := []struct{ body, settings, want string }{
		{"throw new Error('boom ' + a);", "", "Error: boom 1"},
		{"while (true) {}", "50ms", "timed out after 50ms"},
		{"let x = []; while (true) x.push('x'.repeat(1 << 20) + x.length);", "10s", "exceeded the memory limit"},
	}
	for _, c := range cases {
		s, err := rt.CompileScalar(def("f", c.body, []string{"a"}, []types.T{types.TInt4}, types.TInt4))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = s.Eval(udftest.Env(map[string]string{"udf_timeout": c.settings, "udf_memory_limit": "64MB"}), []arrow.Array{udftest.Int32s(1)}, 1)
		if sqlerr.Code(err) != sqlerr.ExternalRoutineException || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: got %v (%s), want 38000 %q", c.body, err, sqlerr.Code(err), c.want)
		}
		t.Logf("%s: %v after %s", c.body, err, time.Since(start))
	}
}

// BenchmarkScalar reports rows per CPU-second of the JavaScript function
// a * 2 + 1 over 4,096-row batches, next to the same logic as the
// built-in operators (a * 2) + 1.
func BenchmarkScalar(b *testing.B) {
	const n = 4096
	bld := array.NewInt32Builder(types.Mem)
	for i := 0; i < n; i++ {
		bld.Append(int32(i))
	}
	col := bld.NewArray()
	b.Run("javascript", func(b *testing.B) {
		rt := New(nil)
		s, err := rt.CompileScalar(def("f", "return a * 2 + 1;", []string{"a"}, []types.T{types.TInt4}, types.TInt4))
		if err != nil {
			b.Fatal(err)
		}
		e := udftest.Env(nil)
		cpu0 := cputime.Used()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out, err := s.Eval(e, []arrow.Array{col}, n)
			if err != nil {
				b.Fatal(err)
			}
			out.Release()
		}
		b.ReportMetric(float64(b.N)*n/(cputime.Used()-cpu0).Seconds(), "rows/cpu-s")
	})
	b.Run("builtin", func(b *testing.B) {
		mul, _, err := udf.LookupOperator("*", types.TInt4, types.TInt4)
		if err != nil {
			b.Fatal(err)
		}
		add, _, err := udf.LookupOperator("+", types.TInt4, types.TInt4)
		if err != nil {
			b.Fatal(err)
		}
		e := udftest.Env(nil)
		two, one := udf.ConstColumn(types.TInt4, int64(2), n), udf.ConstColumn(types.TInt4, int64(1), n)
		cpu0 := cputime.Used()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			m, err := mul.Eval(e, []arrow.Array{col, two}, n)
			if err != nil {
				b.Fatal(err)
			}
			out, err := add.Eval(e, []arrow.Array{m, one}, n)
			if err != nil {
				b.Fatal(err)
			}
			m.Release()
			out.Release()
		}
		b.ReportMetric(float64(b.N)*n/(cputime.Used()-cpu0).Seconds(), "rows/cpu-s")
	})
}
