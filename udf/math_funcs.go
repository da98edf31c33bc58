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
	for _, name := range []string{"power", "pow"} {
		fn(name, ts(f8, f8), f8, floatFunc2(powFloat))
		fn(name, ts(n, n), n, numFunc2(numPower))
	}
	for _, t := range intKinds {
		fn("mod", ts(t, t), t, intArith('%', t, t, t))
	}
	fn("mod", ts(n, n), n, numArith('%'))
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
