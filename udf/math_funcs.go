package udf

import (
	"math"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Mathematical functions.

func (r *registry) addMathFuncs() {
	f8, n, i4 := types.TFloat8, types.TNumeric, types.TInt4
	fn := func(name string, args []types.T, ret types.T, eval ScalarFunc) {
		r.fn(&Scalar{Name: name, Args: args, Ret: ret, Strict: true, Eval: eval})
	}
	// abs keeps the argument type.
	for _, t := range intKinds {
		fn("abs", ts(t), t, intAbs(t))
	}
	fn("abs", ts(types.TFloat4), types.TFloat4, floatUnary(types.TFloat4, math.Abs))
	fn("abs", ts(f8), f8, floatUnary(f8, math.Abs))
	fn("abs", ts(n), n, numFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return new(apd.Decimal).Abs(d), nil }))

	float1 := func(name string, f func(float64) (float64, error)) { fn(name, ts(f8), f8, floatFunc1(f)) }
	pure := func(f func(float64) float64) func(float64) (float64, error) {
		return func(x float64) (float64, error) { return f(x), nil }
	}
	for _, name := range []string{"ceil", "ceiling"} {
		float1(name, pure(math.Ceil))
		fn(name, ts(n), n, numFunc1(numRound(apd.RoundCeiling, 0)))
	}
	float1("floor", pure(math.Floor))
	fn("floor", ts(n), n, numFunc1(numRound(apd.RoundFloor, 0)))
	float1("round", pure(math.RoundToEven))
	fn("round", ts(n), n, numFunc1(numRound(apd.RoundHalfUp, 0)))
	fn("round", ts(n, i4), n, numRoundTo(apd.RoundHalfUp))
	float1("trunc", pure(math.Trunc))
	fn("trunc", ts(n), n, numFunc1(numRound(apd.RoundDown, 0)))
	fn("trunc", ts(n, i4), n, numRoundTo(apd.RoundDown))
	float1("sign", pure(func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	}))
	fn("sign", ts(n), n, numFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return apd.New(int64(d.Sign()), 0), nil }))
	float1("sqrt", sqrtFloat)
	fn("sqrt", ts(n), n, numFunc1(numSqrt))
	float1("cbrt", pure(math.Cbrt))
	float1("exp", func(x float64) (float64, error) {
		r := math.Exp(x)
		if math.IsInf(r, 0) && !math.IsInf(x, 0) {
			return 0, errFloatOverflow()
		}
		return r, nil
	})
	fn("exp", ts(n), n, numFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return numTranscend(d, "exp") }))
	logf := func(f func(float64) float64) func(float64) (float64, error) {
		return func(x float64) (float64, error) {
			if x == 0 {
				return 0, sqlerr.New(codeInvalidLogArg, "cannot take logarithm of zero")
			}
			if x < 0 {
				return 0, sqlerr.New(codeInvalidLogArg, "cannot take logarithm of a negative number")
			}
			return f(x), nil
		}
	}
	float1("ln", logf(math.Log))
	float1("log", logf(math.Log10))
	float1("log10", logf(math.Log10))
	fn("ln", ts(n), n, numFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return numTranscend(d, "ln") }))
	fn("log", ts(n), n, numFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return numTranscend(d, "log10") }))
	fn("log10", ts(n), n, numFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return numTranscend(d, "log10") }))
	fn("log", ts(n, n), n, numFunc2(numLog))
	for _, t := range []types.T{i4, types.TInt8} {
		r.strictRow("gcd", ts(t, t), t, intGcdLcm(t.Kind, false))
		r.strictRow("lcm", ts(t, t), t, intGcdLcm(t.Kind, true))
	}
	fn("gcd", ts(n, n), n, numFunc2(numGcd))
	fn("lcm", ts(n, n), n, numFunc2(numLcm))
	for _, name := range []string{"power", "pow"} {
		fn(name, ts(f8, f8), f8, floatFunc2(powFloat))
		fn(name, ts(n, n), n, numFunc2(numPower))
	}
	for _, t := range intKinds {
		fn("mod", ts(t, t), t, intArith('%', t, t, t))
	}
	fn("mod", ts(n, n), n, nullSafe(n, numericVecArith('%')))
	fn("div", ts(n, n), n, numFunc2(func(x, y *apd.Decimal) (*apd.Decimal, error) {
		if y.IsZero() {
			return nil, errDivZero()
		}
		q := new(apd.Decimal)
		_, err := types.DecimalCtx.QuoInteger(q, x, y)
		return q, err
	}))
	r.fn(&Scalar{Name: "pi", Ret: f8, Eval: func(_ *Env, _ []arrow.Array, n int) (arrow.Array, error) {
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Pi
		}
		return makeFloat64(out, nil), nil
	}})
	r.fn(&Scalar{Name: "random", Ret: f8, Volatility: Volatile, Eval: func(_ *Env, _ []arrow.Array, n int) (arrow.Array, error) {
		out := make([]float64, n)
		for i := range out {
			out[i] = rand.Float64()
		}
		return makeFloat64(out, nil), nil
	}})
	float1("degrees", pure(func(x float64) float64 { return x * (180 / math.Pi) }))
	float1("radians", pure(func(x float64) float64 { return x * (math.Pi / 180) }))
	for name, f := range map[string]func(float64) float64{"sin": math.Sin, "cos": math.Cos, "tan": math.Tan, "atan": math.Atan} {
		float1(name, pure(f))
	}
	float1("cot", pure(func(x float64) float64 { return 1 / math.Tan(x) }))
	for name, f := range map[string]func(float64) float64{"asin": math.Asin, "acos": math.Acos} {
		f := f
		float1(name, func(x float64) (float64, error) {
			if x < -1 || x > 1 {
				return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "input is out of range")
			}
			return f(x), nil
		})
	}
	fn("atan2", ts(f8, f8), f8, floatFunc2(func(y, x float64) (float64, error) { return math.Atan2(y, x), nil }))
	r.strictRow("width_bucket", ts(f8, f8, f8, i4), i4, func(_ *Env, a []types.Datum) (types.Datum, error) {
		x, lo, hi, cnt := a[0].(float64), a[1].(float64), a[2].(float64), a[3].(int64)
		if cnt <= 0 {
			return nil, sqlerr.New("2201G", "count must be greater than zero")
		}
		if lo == hi {
			return nil, sqlerr.New("2201G", "lower bound cannot equal upper bound")
		}
		if lo < hi {
			if x < lo {
				return int64(0), nil
			}
			if x >= hi {
				return cnt + 1, nil
			}
			return int64(float64(cnt)*(x-lo)/(hi-lo)) + 1, nil
		}
		if x > lo {
			return int64(0), nil
		}
		if x <= hi {
			return cnt + 1, nil
		}
		return int64(float64(cnt)*(lo-x)/(lo-hi)) + 1, nil
	})
}

// numRound rounds to scale digits with the rounding mode.
func numRound(mode apd.Rounder, scale int32) func(d *apd.Decimal) (*apd.Decimal, error) {
	return func(d *apd.Decimal) (*apd.Decimal, error) {
		ctx := *types.DecimalCtx
		ctx.Rounding = mode
		r := new(apd.Decimal)
		if d.Exponent >= -scale {
			r.Set(d)
			return r, nil
		}
		_, err := ctx.Quantize(r, d, -scale)
		return r, err
	}
}

// numRoundTo is round/trunc(numeric, int): a negative scale rounds to
// tens, hundreds...; the result has max(scale, 0) fraction digits.
func numRoundTo(mode apd.Rounder) ScalarFunc {
	return rowFunc(ts(types.TNumeric, types.TInt4), types.TNumeric, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
		d, s := a[0].(*apd.Decimal), int32(a[1].(int64))
		ctx := *types.DecimalCtx
		ctx.Rounding = mode
		r := new(apd.Decimal)
		if _, err := ctx.Quantize(r, d, -s); err != nil {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
		}
		if s < 0 {
			_, _ = ctx.Quantize(r, r, 0)
		}
		return r, nil
	})
}

func numSqrt(d *apd.Decimal) (*apd.Decimal, error) {
	if d.Negative && !d.IsZero() {
		return nil, sqlerr.New("2201F", "cannot take square root of a negative number")
	}
	// sqrt's result scale: at least 16 significant digits (numeric_sqrt).
	// numeric_sqrt: sweight = (weight+1)*DEC_DIGITS/2 - 1.
	w, _ := weightAndFirst(d)
	rs := 16 - ((w+1)*4/2 - 1)
	rs = max(rs, dscale(d), 0)
	ctx := *types.DecimalCtx
	r := new(apd.Decimal)
	_, _ = ctx.Sqrt(r, d)
	_, _ = ctx.Quantize(r, r, -rs)
	return r, nil
}

func numTranscend(d *apd.Decimal, op string) (*apd.Decimal, error) {
	ctx := *types.DecimalCtx
	ctx.Precision = 40
	r := new(apd.Decimal)
	var err error
	switch op {
	case "exp":
		_, err = ctx.Exp(r, d)
	case "ln", "log10":
		if d.IsZero() {
			return nil, sqlerr.New(codeInvalidLogArg, "cannot take logarithm of zero")
		}
		if d.Negative {
			return nil, sqlerr.New(codeInvalidLogArg, "cannot take logarithm of a negative number")
		}
		if op == "ln" {
			_, err = ctx.Ln(r, d)
		} else {
			_, err = ctx.Log10(r, d)
		}
	}
	if err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	w, _ := weightAndFirst(r)
	rs := max(16-w*4, dscale(d), 0)
	_, _ = types.DecimalCtx.Quantize(r, r, -min(rs, 1000))
	return r, nil
}

// numLog is log(base, x) for numeric, as numeric.c's log_var: the result
// has at least 16 significant digits (estimated from the logarithms'
// decimal weights) and no fewer fraction digits than either input.
func numLog(base, x *apd.Decimal) (*apd.Decimal, error) {
	for _, d := range []*apd.Decimal{base, x} {
		if d.IsZero() {
			return nil, sqlerr.New(codeInvalidLogArg, "cannot take logarithm of zero")
		}
		if d.Negative {
			return nil, sqlerr.New(codeInvalidLogArg, "cannot take logarithm of a negative number")
		}
	}
	resultDWeight := lnDWeight(x) - lnDWeight(base)
	rs := 16 - resultDWeight
	rs = min(max(rs, dscale(base), dscale(x), 0), 1000)
	ctx := *types.DecimalCtx
	ctx.Precision = uint32(rs + max(resultDWeight, 0) + 24)
	var lnBase, lnX apd.Decimal
	if _, err := ctx.Ln(&lnBase, base); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	if _, err := ctx.Ln(&lnX, x); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	if lnBase.IsZero() {
		return nil, errDivZero()
	}
	r := new(apd.Decimal)
	if _, err := ctx.Quo(r, &lnX, &lnBase); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	ctx.Rounding = apd.RoundHalfUp
	if _, err := ctx.Quantize(r, r, -rs); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	return r, nil
}

// lnDWeight is numeric.c's estimate_ln_dweight: the decimal weight of
// ln(d) for d > 0, which fixes the scale of log's result.
func lnDWeight(d *apd.Decimal) int32 {
	lo, hi := apd.New(9, -1), apd.New(11, -1)
	if d.Cmp(lo) >= 0 && d.Cmp(hi) <= 0 {
		// ln(1+x) ~= x near 1: the weight of x's first digit.
		var x apd.Decimal
		_, _ = types.DecimalCtx.Sub(&x, d, apd.New(1, 0))
		if x.IsZero() {
			return 0
		}
		return int32(x.NumDigits()) - 1 + x.Exponent
	}
	// d ~= digits * 10^dweight from its first two base-10000 groups.
	w, _ := weightAndFirst(d)
	var scaled apd.Decimal
	scaled.Set(d)
	scaled.Exponent -= (w - 1) * 4
	var ip, frac apd.Decimal
	scaled.Modf(&ip, &frac)
	digits, _ := ip.Float64()
	lnVar := math.Log(digits) + float64((w-1)*4)*2.302585092994046
	return int32(math.Log10(math.Abs(lnVar)))
}

// intGcdLcm is gcd(x, y) or lcm(x, y) for int4 and int8 (int4gcd,
// int8lcm...): results are non-negative; the most negative value has no
// positive counterpart and is out of range.
func intGcdLcm(k types.Kind, lcm bool) func(_ *Env, a []types.Datum) (types.Datum, error) {
	lo, hi := types.IntRange(k)
	return func(_ *Env, a []types.Datum) (types.Datum, error) {
		x, y := a[0].(int64), a[1].(int64)
		if lcm {
			if x == 0 || y == 0 {
				return int64(0), nil
			}
			g := gcd64(x, y)
			q := x / g
			if q < 0 {
				q = -q
			}
			ay := y
			if ay < 0 {
				ay = -ay
			}
			if q < 0 || ay < 0 || ay > hi/q {
				return nil, types.ErrIntRange(k)
			}
			return q * ay, nil
		}
		if (x == lo && (y == 0 || y == lo)) || (y == lo && x == 0) {
			return nil, types.ErrIntRange(k)
		}
		return gcd64(x, y), nil
	}
}

// gcd64 is Euclid's algorithm on magnitudes; callers rule out the
// overflowing cases first.
func gcd64(x, y int64) int64 {
	for y != 0 {
		x, y = y, x%y
	}
	if x < 0 {
		x = -x
	}
	return x
}

// numGcd is gcd for numeric: the result keeps the larger input scale.
func numGcd(x, y *apd.Decimal) (*apd.Decimal, error) {
	rs := max(dscale(x), dscale(y))
	a, b := new(apd.Decimal).Abs(x), new(apd.Decimal).Abs(y)
	ctx := *types.DecimalCtx
	for !b.IsZero() {
		m := new(apd.Decimal)
		if _, err := ctx.Rem(m, a, b); err != nil {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
		}
		a, b = b, m
	}
	if _, err := ctx.Quantize(a, a, -rs); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	return a, nil
}

// numLcm is lcm for numeric: |x / gcd(x, y) * y| with the larger scale.
func numLcm(x, y *apd.Decimal) (*apd.Decimal, error) {
	rs := max(dscale(x), dscale(y))
	r := new(apd.Decimal)
	ctx := *types.DecimalCtx
	if !x.IsZero() && !y.IsZero() {
		g, err := numGcd(x, y)
		if err != nil {
			return nil, err
		}
		var q apd.Decimal
		if _, err := ctx.QuoInteger(&q, x, g); err != nil {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
		}
		if _, err := ctx.Mul(r, &q, y); err != nil {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
		}
		r.Abs(r)
	}
	if _, err := ctx.Quantize(r, r, -rs); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	return r, nil
}
