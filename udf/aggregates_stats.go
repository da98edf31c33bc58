package udf

import (
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/types"
)

// The two-variable statistics (corr, covar_pop/samp, regr_*) and the
// bitwise aggregates (bit_and, bit_or, bit_xor).
//
// The statistics keep PostgreSQL's float8_regr_accum state per group: N,
// Sx, Sy and the centred sums Sxx, Syy, Sxy updated with the
// Youngs-Cramer step, so ad-hoc results match PostgreSQL to the last
// bit. The final step (RegrFinal) is shared with the streaming state,
// which keeps exact sums instead so that it can retract.

// regrFuncs are the aggregates over (Y, X) pairs of double precision.
var regrFuncs = []string{"corr", "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count",
	"regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy"}

// IsRegrAggregate reports whether name is one of the (Y, X) statistics.
func IsRegrAggregate(name string) bool {
	for _, n := range regrFuncs {
		if n == name {
			return true
		}
	}
	return false
}

func (r *registry) addStatAggregates() {
	for _, name := range regrFuncs {
		name := name
		ret := types.TFloat8
		if name == "regr_count" {
			ret = types.TInt8
		}
		r.agg(&Aggregate{Name: name, Args: ts(types.TFloat8, types.TFloat8), Ret: ret,
			New: func([]types.T) Accumulator { return &regrAcc{fn: name} }})
	}
	for _, name := range []string{"bit_and", "bit_or", "bit_xor"} {
		name := name
		for _, t := range []types.T{types.TInt2, types.TInt4, types.TInt8} {
			t := t
			r.agg(&Aggregate{Name: name, Args: ts(t), Ret: t,
				New: func([]types.T) Accumulator { return &bitAcc{fn: name, t: t} }})
		}
	}
}

// RegrMoments is the state the (Y, X) statistics finish from: the count,
// the plain sums and the centred sums of squares and products.
type RegrMoments struct {
	N, Sx, Sy, Sxx, Syy, Sxy float64
}

// RegrFinal computes the statistic fn from m as PostgreSQL 15's
// float8_regr_* and float8_corr do; ok is false for NULL.
func RegrFinal(fn string, m RegrMoments) (v float64, ok bool) {
	if m.N < 1 {
		return 0, false
	}
	switch fn {
	case "regr_count":
		return m.N, true
	case "regr_sxx":
		return m.Sxx, true
	case "regr_syy":
		return m.Syy, true
	case "regr_sxy":
		return m.Sxy, true
	case "regr_avgx":
		return m.Sx / m.N, true
	case "regr_avgy":
		return m.Sy / m.N, true
	case "covar_pop":
		return m.Sxy / m.N, true
	case "covar_samp":
		if m.N < 2 {
			return 0, false
		}
		return m.Sxy / (m.N - 1), true
	case "corr":
		if m.Sxx == 0 || m.Syy == 0 {
			return 0, false
		}
		return m.Sxy / math.Sqrt(m.Sxx*m.Syy), true
	case "regr_r2":
		if m.Sxx == 0 {
			return 0, false
		}
		if m.Syy == 0 {
			return 1, true
		}
		return (m.Sxy * m.Sxy) / (m.Sxx * m.Syy), true
	case "regr_slope":
		if m.Sxx == 0 {
			return 0, false
		}
		return m.Sxy / m.Sxx, true
	case "regr_intercept":
		if m.Sxx == 0 {
			return 0, false
		}
		return (m.Sy - m.Sx*m.Sxy/m.Sxx) / m.N, true
	}
	return 0, false
}

// FloatVarFinal finishes the variance family (var_pop, var_samp,
// variance, stddev_pop, stddev_samp, stddev) from N and the centred sum
// of squares Sxx, as float8_var_* and float8_stddev_* do.
func FloatVarFinal(sample, sqrt bool, n, sxx float64) (float64, bool) {
	if n == 0 || (sample && n == 1) {
		return 0, false
	}
	d := n
	if sample {
		d = n - 1
	}
	v := sxx / d
	if sqrt {
		v = math.Sqrt(v)
	}
	return v, true
}

// regrAcc is one of the (Y, X) statistics over float8_regr_accum state.
type regrAcc struct {
	fn string
	m  []RegrMoments
}

func (a *regrAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.m = growTo(a.m, ng)
	ys, xs := asFloat64s(args[0]), asFloat64s(args[1])
	for i, g := range groups[:n] {
		if g == SkipRow || args[0].IsNull(i) || args[1].IsNull(i) {
			continue
		}
		regrAccum(&a.m[g], ys[i], xs[i])
	}
	return nil
}

// regrAccum is float8_regr_accum.
func regrAccum(m *RegrMoments, y, x float64) {
	oldN := m.N
	m.N++
	m.Sx += x
	m.Sy += y
	if oldN > 0 {
		tmpX := x*m.N - m.Sx
		tmpY := y*m.N - m.Sy
		scale := 1.0 / (m.N * oldN)
		m.Sxx += tmpX * tmpX * scale
		m.Syy += tmpY * tmpY * scale
		m.Sxy += tmpX * tmpY * scale
		return
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		m.Sxx, m.Sxy = math.NaN(), math.NaN()
	}
	if math.IsNaN(y) || math.IsInf(y, 0) {
		m.Syy, m.Sxy = math.NaN(), math.NaN()
	}
}

func (a *regrAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *regrAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.m = growTo(a.m, ng)
	nulls := make([]bool, ng)
	if a.fn == "regr_count" {
		out := make([]int64, ng)
		for g := 0; g < ng; g++ {
			out[g] = int64(a.m[g].N)
		}
		return makeInt64(out, nil), nil
	}
	out := make([]float64, ng)
	for g := 0; g < ng; g++ {
		v, ok := RegrFinal(a.fn, a.m[g])
		out[g], nulls[g] = v, !ok
	}
	return makeFloat64(out, nullsToValidity(nulls)), nil
}

func (a *regrAcc) Release() { a.m = nil }

// BitFinal is bit_and, bit_or or bit_xor of n values whose one-bits are
// counted per bit position in ones (bit 0 first).
func BitFinal(fn string, n int64, ones *[64]int64) int64 {
	var v uint64
	for b := 0; b < 64; b++ {
		c := ones[b]
		var set bool
		switch fn {
		case "bit_and":
			set = c == n
		case "bit_or":
			set = c > 0
		default:
			set = c%2 != 0
		}
		if set {
			v |= 1 << b
		}
	}
	return int64(v)
}

// bitAcc is bit_and, bit_or or bit_xor over smallint, integer or bigint.
// It counts the one-bits per position, so it retracts (moving window
// frames).
type bitAcc struct {
	fn   string
	t    types.T
	n    []int64
	ones [][64]int64
}

func (a *bitAcc) update(groups []uint32, ng int, args []arrow.Array, n int, w int64) error {
	a.n, a.ones = growTo(a.n, ng), growTo(a.ones, ng)
	vals := asInt64s(args[0])
	col := args[0]
	for i, g := range groups[:n] {
		if g == SkipRow || col.IsNull(i) {
			continue
		}
		a.n[g] += w
		BitCount(&a.ones[g], vals[i], w)
	}
	return nil
}

// BitCount adds w to the count of every one-bit of v.
func BitCount(ones *[64]int64, v int64, w int64) {
	u := uint64(v)
	for u != 0 {
		b := bits.TrailingZeros64(u)
		ones[b] += w
		u &= u - 1
	}
}

func (a *bitAcc) Update(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, 1)
}

func (a *bitAcc) Retract(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, -1)
}

func (a *bitAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.n, a.ones = growTo(a.n, ng), growTo(a.ones, ng)
	b := types.NewBuilder(a.t)
	defer b.Release()
	for g := 0; g < ng; g++ {
		if a.n[g] == 0 {
			b.AppendNull()
			continue
		}
		types.AppendDatum(b, BitFinal(a.fn, a.n[g], &a.ones[g]))
	}
	return b.NewArray(), nil
}

func (a *bitAcc) Release() { a.n, a.ones = nil, nil }

// NumericVariance finishes the variance family over integers and
// numerics from N, sum(x) and sum(x*x), as numeric_stddev_internal does
// (N > 1 for the sample forms, N > 0 otherwise).
func NumericVariance(n int64, sx, sxx *apd.Decimal, sample, sqrt bool) *apd.Decimal {
	return numericVariance(n, sx, sxx, sample, sqrt)
}
