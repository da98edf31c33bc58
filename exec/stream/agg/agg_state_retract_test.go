package agg

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/batch"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// testAggCall is the call fn(#0, #1, ...) over arguments of types
// argTypes.
func testAggCall(t testing.TB, fn string, argTypes []types.T) batch.AggSpec {
	return streamtest.AggCall(t, fn, []int{0, 1}[:len(argTypes)], argTypes)
}

// testAggState returns a fresh state of the aggregate call spec.
func testAggState(t testing.TB, spec batch.AggSpec) aggState {
	t.Helper()
	st, err := newAggState(spec, false, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// retractState folds rows into group 0 of a fresh state of fn: keep with
// weight +1, and when churn, also gone with +1 and then -1, in an order
// shuffled by seed.
func retractState(t *testing.T, fn string, argTypes []types.T, keep, gone [][]float64, churn bool, seed uint64) types.Datum {
	t.Helper()
	st := testAggState(t, testAggCall(t, fn, argTypes))
	st.grow(1)
	type row struct {
		v []float64
		w int64
	}
	var rows []row
	for _, v := range keep {
		rows = append(rows, row{v, 1})
	}
	if churn {
		for _, v := range gone {
			rows = append(rows, row{v, 1})
		}
	}
	r := rand.New(rand.NewPCG(seed, 1))
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	if churn {
		for _, v := range gone {
			rows = append(rows, row{v, -1})
		}
	}
	for _, rw := range rows {
		args := make([]arrow.Array, len(argTypes))
		for j, t := range argTypes {
			if t.Kind == types.Int8 {
				b := array.NewInt64Builder(types.Mem)
				b.Append(int64(rw.v[j]))
				args[j] = b.NewArray()
			} else {
				b := array.NewFloat64Builder(types.Mem)
				b.Append(rw.v[j])
				args[j] = b.NewArray()
			}
		}
		if err := st.update([]uint32{0}, []int64{rw.w}, args); err != nil {
			t.Fatal(err)
		}
		// read the result (which keeps derived state up to date from here
		// on), then persist and restore the compact state
		if _, err := st.result(0); err != nil {
			t.Fatal(err)
		}
		buf := st.encode(nil, 0)
		if rest, err := st.decode(buf, 0); err != nil || len(rest) != 0 {
			t.Fatalf("decode: %v, %d bytes left", err, len(rest))
		}
	}
	d, err := st.result(0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRetractionIsExact: after rows are inserted and deleted again, the
// float statistics, bitwise and HyperLogLog states give exactly the result
// of never having seen them, whatever the order of arrival.
func TestRetractionIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var keep, gone [][]float64
	for range 200 {
		keep = append(keep, []float64{r.NormFloat64() * 1e3, float64(r.IntN(1 << 20))})
	}
	for range 300 {
		gone = append(gone, []float64{r.NormFloat64() * 1e9, float64(r.IntN(1 << 30))})
	}
	f8, i8 := types.TFloat8, types.TInt8
	for _, c := range []struct {
		fn string
		ts []types.T
	}{
		{"var_samp", []types.T{f8}}, {"stddev_pop", []types.T{f8}},
		{"corr", []types.T{f8, f8}}, {"regr_slope", []types.T{f8, f8}}, {"regr_intercept", []types.T{f8, f8}},
		{"covar_samp", []types.T{f8, f8}}, {"regr_sxy", []types.T{f8, f8}},
		{"bit_xor", []types.T{i8}}, {"bit_and", []types.T{i8}},
		{"approx_count_distinct", []types.T{f8}},
	} {
		k, g := keep, gone
		if c.ts[0].Kind == types.Int8 {
			k, g = project(keep, 1), project(gone, 1)
		} else if len(c.ts) == 1 {
			k, g = project(keep, 0), project(gone, 0)
		}
		want := retractState(t, c.fn, c.ts, k, g, false, 1)
		for seed := uint64(2); seed < 5; seed++ {
			got := retractState(t, c.fn, c.ts, k, g, true, seed)
			if got != want {
				t.Errorf("%s: after retraction %v, without the rows %v", c.fn, got, want)
			}
		}
	}
}

func project(rows [][]float64, j int) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = []float64{r[j]}
	}
	return out
}
