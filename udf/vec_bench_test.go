package udf

import (
	"math/rand"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// Micro benchmarks of the vectorized kernels beside the row path they
// replace (rowFunc over Datums, apd through text). Rows per second are
// reported as Mrows/s.

const benchRows = 4096

func reportRows(b *testing.B) {
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds()/1e6, "Mrows/s")
}

func runKernel(b *testing.B, f ScalarFunc, env *Env, args []arrow.Array) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := f(env, args, benchRows)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	reportRows(b)
}

// watermarkArgs are the source watermark's operands: date_time and a
// broadcast INTERVAL '4' SECOND.
func watermarkArgs(months int32) []arrow.Array {
	ts := make([]types.Datum, benchRows)
	for i := range ts {
		ts[i] = types.Timestamp(1_700_000_000_000_000 + int64(i)*1000)
	}
	iv := types.IntervalValue{Months: months, Micros: 4_000_000}
	return []arrow.Array{types.ArrayFromDatums(types.TTimestamp, ts), ConstColumn(types.TInterval, iv, benchRows)}
}

func BenchmarkTimestampMinusInterval(b *testing.B) {
	tsT, iv := types.TTimestamp, types.TInterval
	env := &Env{Location: time.UTC}
	b.Run("vector/seconds", func(b *testing.B) {
		runKernel(b, tsIntervalKernel(0, true, false, tsT), env, watermarkArgs(0))
	})
	b.Run("vector/months", func(b *testing.B) {
		runKernel(b, tsIntervalKernel(0, true, false, tsT), env, watermarkArgs(1))
	})
	b.Run("row/seconds", func(b *testing.B) {
		runKernel(b, rowAddInterval(ts(tsT, iv), 0, true, false, tsT), env, watermarkArgs(0))
	})
}

// priceArgs are q1's operands: the constant 0.908 and bid prices.
func priceArgs(b *testing.B) (num, price arrow.Array) {
	r := rand.New(rand.NewSource(1))
	ps := make([]types.Datum, benchRows)
	for i := range ps {
		ps[i] = r.Int63n(10_000_000)
	}
	price = types.ArrayFromDatums(types.TInt8, ps)
	c, err := types.ParseDecimal("0.908")
	if err != nil {
		b.Fatal(err)
	}
	return ConstColumn(types.TNumeric, c, benchRows), price
}

// numericPriceArgs are priceArgs with the prices cast to numeric, for
// the numeric kernels.
func numericPriceArgs(b *testing.B) (num, priceNum arrow.Array) {
	num, price := priceArgs(b)
	priceNum, err := IntToNumeric(price, types.TNumeric, benchRows)
	if err != nil {
		b.Fatal(err)
	}
	return num, priceNum
}

func BenchmarkNumericMul(b *testing.B) {
	env := testEnv()
	num, priceNum := numericPriceArgs(b)
	args := []arrow.Array{num, priceNum}
	b.Run("vector", func(b *testing.B) { runKernel(b, numericVecArith('*'), env, args) })
	b.Run("row", func(b *testing.B) { runKernel(b, numArith('*'), env, args) })
}

func BenchmarkNumericDiv(b *testing.B) {
	env := testEnv()
	num, priceNum := numericPriceArgs(b)
	args := []arrow.Array{priceNum, num}
	b.Run("vector", func(b *testing.B) { runKernel(b, numericVecArith('/'), env, args) })
	b.Run("row", func(b *testing.B) { runKernel(b, numArith('/'), env, args) })
}

func BenchmarkNumericCompare(b *testing.B) {
	env := testEnv()
	num, priceNum := numericPriceArgs(b)
	args := []arrow.Array{priceNum, num}
	b.Run("vector", func(b *testing.B) { runKernel(b, numericVecCompare(opLt), env, args) })
	b.Run("row", func(b *testing.B) { runKernel(b, genericCompare(opLt, types.TNumeric), env, args) })
}

func BenchmarkIntToNumeric(b *testing.B) {
	_, price := priceArgs(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out, err := IntToNumeric(price, types.TNumeric, benchRows)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	reportRows(b)
}

func BenchmarkConstColumn(b *testing.B) {
	iv := types.IntervalValue{Micros: 4_000_000}
	b.Run("vector", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ConstColumn(types.TInterval, iv, benchRows).Release()
		}
		reportRows(b)
	})
	b.Run("builder", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			types.ConstArray(types.TInterval, iv, benchRows).Release()
		}
		reportRows(b)
	})
}

// intArgs are two int columns of kind t with small random values (no
// overflow, no zero divisor).
func intArgs(t types.T) []arrow.Array {
	r := rand.New(rand.NewSource(1))
	x, y := make([]types.Datum, benchRows), make([]types.Datum, benchRows)
	for i := range x {
		x[i], y[i] = r.Int63n(20_000)-10_000, r.Int63n(100)+1
	}
	return []arrow.Array{types.ArrayFromDatums(t, x), types.ArrayFromDatums(t, y)}
}

func BenchmarkIntArith(b *testing.B) {
	env := testEnv()
	for _, t := range []types.T{types.TInt4, types.TInt8} {
		args := intArgs(t)
		for _, op := range []byte{'+', '-', '*', '/', '%'} {
			b.Run(t.String()+"/"+string(op), func(b *testing.B) { runKernel(b, intArith(op, t, t, t), env, args) })
		}
	}
}

// BenchmarkIntKernel is the row loop of BenchmarkIntArith alone, without
// the allocation of its result.
func BenchmarkIntKernel(b *testing.B) {
	for _, t := range []types.T{types.TInt4, types.TInt8} {
		args := intArgs(t)
		x, y := asInt64s(args[0]), asInt64s(args[1])
		out := make([]int64, benchRows)
		lo, hi := types.IntRange(t.Kind)
		for _, op := range []byte{'+', '-', '*', '/', '%'} {
			b.Run(t.String()+"/"+string(op), func(b *testing.B) {
				for b.Loop() {
					if err := intKernel(op, x, y, out, nil, lo, hi, t.Kind); err != nil {
						b.Fatal(err)
					}
				}
				reportRows(b)
			})
		}
	}
}
