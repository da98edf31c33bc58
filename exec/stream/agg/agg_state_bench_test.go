package agg

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
	"streamsql/udf"
)

// aggStateBench folds b.N rows of (y float8, x int8) into 64 groups of
// the state of fn, in chunks of 4096 rows; with retract, every other
// chunk deletes the chunk before it again.
func aggStateBench(b *testing.B, fn string, argTypes []types.T, retract bool) {
	st := testAggState(b, testAggCall(b, fn, argTypes))
	const n, groups = 4096, 64
	st.grow(groups)
	r := rand.New(rand.NewPCG(3, 4))
	ids := make([]uint32, n)
	xb := array.NewInt64Builder(types.Mem)
	yb := array.NewFloat64Builder(types.Mem)
	for i := range n {
		ids[i] = uint32(r.IntN(groups))
		xb.Append(r.Int64N(1_000_000))
		yb.Append(r.Float64() * 1000)
	}
	xs, ys := xb.NewArray(), yb.NewArray()
	if len(argTypes) == 2 {
		// (Y, X) pairs: Y is the float column, X the integers as floats.
		fb := array.NewFloat64Builder(types.Mem)
		for _, v := range xs.(*array.Int64).Int64Values() {
			fb.Append(float64(v))
		}
		xs.Release()
		xs = fb.NewArray()
	}
	defer xs.Release()
	defer ys.Release()
	args := []arrow.Array{ys, xs}
	if argTypes[0].Kind == types.Int8 {
		args = []arrow.Array{xs}
	} else if len(argTypes) == 1 {
		args = []arrow.Array{ys}
	}
	plus, minus := make([]int64, n), make([]int64, n)
	for i := range plus {
		plus[i], minus[i] = 1, -1
	}
	b.ResetTimer()
	for done, chunk := 0, 0; done < b.N; done, chunk = done+n, chunk+1 {
		w := plus
		if retract && chunk%2 == 1 {
			w = minus
		}
		if err := st.update(ids, w, args); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for g := range uint32(groups) {
		if _, err := st.result(g); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAggStateHLL(b *testing.B) {
	b.Run("insert", func(b *testing.B) { aggStateBench(b, "approx_count_distinct", []types.T{types.TInt8}, false) })
	b.Run("insert-delete", func(b *testing.B) { aggStateBench(b, "approx_count_distinct", []types.T{types.TInt8}, true) })
}

func BenchmarkAggStateVariance(b *testing.B) {
	b.Run("float-insert", func(b *testing.B) { aggStateBench(b, "var_samp", []types.T{types.TFloat8}, false) })
	b.Run("float-insert-delete", func(b *testing.B) { aggStateBench(b, "var_samp", []types.T{types.TFloat8}, true) })
	b.Run("int-insert-delete", func(b *testing.B) { aggStateBench(b, "var_samp", []types.T{types.TInt8}, true) })
	b.Run("regr-insert-delete", func(b *testing.B) {
		aggStateBench(b, "regr_slope", []types.T{types.TFloat8, types.TFloat8}, true)
	})
}

// BenchmarkHLLAccumulator is approx_count_distinct in an ad-hoc query.
func BenchmarkHLLAccumulator(b *testing.B) {
	f, _, _ := udf.LookupAggregate("approx_count_distinct", []types.T{types.TInt8})
	const n = 4096
	xb := array.NewInt64Builder(types.Mem)
	for i := range n {
		xb.Append(int64(i) * 7919)
	}
	xs := xb.NewArray()
	defer xs.Release()
	groups := make([]uint32, n)
	acc := f.New([]types.T{types.TInt8})
	defer acc.Release()
	b.ResetTimer()
	for done := 0; done < b.N; done += n {
		if err := acc.Update(groups, 1, []arrow.Array{xs}, n); err != nil {
			b.Fatal(err)
		}
	}
}
