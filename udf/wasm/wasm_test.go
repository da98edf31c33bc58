package wasm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

var (
	buildOnce sync.Once
	module    []byte
	buildErr  error
)

// Module compiles testdata/funcs with the Go toolchain for wasip1, once
// per test binary.
func Module(tb testing.TB) []byte {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "streamsql-wasm-")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "funcs.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir = filepath.Join("testdata", "funcs")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			tb.Logf("%s", b)
			return
		}
		module, buildErr = os.ReadFile(out)
	})
	if buildErr != nil {
		tb.Fatalf("building the test module: %v", buildErr)
	}
	return module
}

func def(name string, args []types.T, ret types.T, strict bool, bin []byte) *udf.UserDef {
	names := make([]string, len(args))
	return &udf.UserDef{Name: name, Signature: name + "(...)", ArgNames: names, ArgTypes: args, Ret: ret, Strict: strict,
		Language: "wasm", Binary: bin, Volatility: udf.Immutable}
}

func newRuntime(t testing.TB, mem int64) *Runtime {
	r, err := New(mem)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestScalar(t *testing.T) {
	bin := Module(t)
	r := newRuntime(t, 64<<20)
	gcd, err := r.CompileScalar(def("wgcd", []types.T{types.TInt4, types.TInt4}, types.TInt4, true, bin))
	if err != nil {
		t.Fatal(err)
	}
	out, err := gcd.Eval(udftest.Env(nil), []arrow.Array{udftest.Int32s(12, 7, nil, -4), udftest.Int32s(18, 5, 3, 6)}, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*array.Int32)
	if got.Value(0) != 6 || got.Value(1) != 1 || !got.IsNull(2) || got.Value(3) != 2 {
		t.Fatalf("wgcd: %v", got)
	}

	scale, err := r.CompileScalar(def("wscale", []types.T{types.TInt8, types.TFloat8}, types.TFloat8, false, bin))
	if err != nil {
		t.Fatal(err)
	}
	xs := array.NewInt64Builder(types.Mem)
	xs.AppendValues([]int64{2, 3}, nil)
	fs := array.NewFloat64Builder(types.Mem)
	fs.Append(1.5)
	fs.AppendNull()
	out, err = scale.Eval(udftest.Env(nil), []arrow.Array{xs.NewArray(), fs.NewArray()}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if f := out.(*array.Float64); f.Value(0) != 3 || !f.IsNull(1) {
		t.Fatalf("wscale: %v", f)
	}

	if _, err := r.CompileScalar(def("nothere", []types.T{types.TInt4}, types.TInt4, true, bin)); sqlerr.Code(err) != sqlerr.InvalidFunctionDefinition {
		t.Fatalf("missing export: %v", err)
	}
	if _, err := r.CompileScalar(def("wgcd", []types.T{types.TText}, types.TInt4, true, bin)); sqlerr.Code(err) != sqlerr.FeatureNotSupported {
		t.Fatalf("text argument: %v", err)
	}
}

func TestFailures(t *testing.T) {
	bin := Module(t)
	r := newRuntime(t, 64<<20)
	cases := []struct{ name, timeout, want string }{
		{"wcheck", "1s", "negative input"},
		{"wspin", "100ms", "timed out after 100ms"},
		{"whog", "20s", "exceeded the memory limit of 64 MB"},
	}
	for _, c := range cases {
		f, err := r.CompileScalar(def(c.name, []types.T{types.TInt4}, types.TInt4, true, bin))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = f.Eval(udftest.Env(map[string]string{"udf_timeout": c.timeout}), []arrow.Array{udftest.Int32s(-1)}, 1)
		if sqlerr.Code(err) != sqlerr.ExternalRoutineException || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: got %v, want 38000 %q", c.name, err, c.want)
		}
		t.Logf("%s: %v after %s", c.name, err, time.Since(start))
		// The function still works for good input afterwards.
		if c.name == "wcheck" {
			out, err := f.Eval(udftest.Env(nil), []arrow.Array{udftest.Int32s(5)}, 1)
			if err != nil || out.(*array.Int32).Value(0) != 5 {
				t.Fatalf("wcheck(5) after a failure: %v %v", out, err)
			}
		}
	}
	// In a view, only the failing rows become NULL.
	f, err := r.CompileScalar(def("wcheck", []types.T{types.TInt4}, types.TInt4, true, bin))
	if err != nil {
		t.Fatal(err)
	}
	e := udftest.Env(nil)
	var rejected []types.Datum
	e.OnRowError = func(fn string, err error, args []types.Datum, _ []types.T) { rejected = append(rejected, args[0]) }
	out, err := f.Eval(e, []arrow.Array{udftest.Int32s(1, -2, 3)}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*array.Int32); got.Value(0) != 1 || !got.IsNull(1) || got.Value(2) != 3 || len(rejected) != 1 || rejected[0] != int64(-2) {
		t.Fatalf("row by row: %v, rejected %v", got, rejected)
	}
}

// BenchmarkScalar reports rows per CPU-second of wgcd over 8,192-row
// batches, next to the built-in gcd(integer, integer).
func BenchmarkScalar(b *testing.B) {
	const n = 8192
	x, y := array.NewInt32Builder(types.Mem), array.NewInt32Builder(types.Mem)
	for i := 0; i < n; i++ {
		x.Append(int32(i*7 + 3))
		y.Append(int32(i%97 + 1))
	}
	cols := []arrow.Array{x.NewArray(), y.NewArray()}
	run := func(b *testing.B, f *udf.Scalar) {
		e := udftest.Env(nil)
		cpu0 := cputime.Used()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out, err := f.Eval(e, cols, n)
			if err != nil {
				b.Fatal(err)
			}
			out.Release()
		}
		b.ReportMetric(float64(b.N)*n/(cputime.Used()-cpu0).Seconds(), "rows/cpu-s")
	}
	b.Run("wasm", func(b *testing.B) {
		r := newRuntime(b, 64<<20)
		f, err := r.CompileScalar(def("wgcd", []types.T{types.TInt4, types.TInt4}, types.TInt4, true, Module(b)))
		if err != nil {
			b.Fatal(err)
		}
		run(b, f)
	})
	b.Run("builtin", func(b *testing.B) {
		f, _, err := udf.LookupScalar("gcd", []types.T{types.TInt4, types.TInt4})
		if err != nil {
			b.Fatal(err)
		}
		run(b, f)
	})
}

// BenchmarkScalar10M reports rows per CPU-second of the WebAssembly
// function a * 2 + 1 (wlinear) over a 10-million-row input in 8,192-row
// batches, next to the same logic as the built-in operators (a * 2) + 1
// in the same run.
func BenchmarkScalar10M(b *testing.B) {
	const total, n = 10_000_000, 8192
	bld := array.NewInt32Builder(types.Mem)
	for i := 0; i < n; i++ {
		bld.Append(int32(i))
	}
	col := bld.NewArray()
	run := func(b *testing.B, eval func(e *udf.Env) (arrow.Array, error)) {
		e := udftest.Env(nil)
		cpu0 := cputime.Used()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for done := 0; done < total; done += n {
				out, err := eval(e)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
		}
		b.ReportMetric(float64(b.N)*float64((total+n-1)/n*n)/(cputime.Used()-cpu0).Seconds(), "rows/cpu-s")
	}
	b.Run("wasm", func(b *testing.B) {
		r := newRuntime(b, 64<<20)
		f, err := r.CompileScalar(def("wlinear", []types.T{types.TInt4}, types.TInt4, true, Module(b)))
		if err != nil {
			b.Fatal(err)
		}
		run(b, func(e *udf.Env) (arrow.Array, error) { return f.Eval(e, []arrow.Array{col}, n) })
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
		two, one := udf.ConstColumn(types.TInt4, int64(2), n), udf.ConstColumn(types.TInt4, int64(1), n)
		run(b, func(e *udf.Env) (arrow.Array, error) {
			m, err := mul.Eval(e, []arrow.Array{col, two}, n)
			if err != nil {
				return nil, err
			}
			defer m.Release()
			return add.Eval(e, []arrow.Array{m, one}, n)
		})
	})
}
