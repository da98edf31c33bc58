package udf

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Arithmetic operators on numbers. Integer kernels compute in int64 and
// check the result kind's range; an error condition (overflow, division by
// zero) on a NULL row is ignored because the row's value is garbage.

var intKinds = []types.T{types.TInt2, types.TInt4, types.TInt8}

func wider(a, b types.T) types.T {
	if a.Kind >= b.Kind {
		return a
	}
	return b
}

func (r *registry) addArithmetic() {
	for _, l := range intKinds {
		for _, rt := range intKinds {
			res := wider(l, rt)
			for _, op := range []byte{'+', '-', '*', '/', '%'} {
				r.op(&Scalar{Name: string(op), Args: ts(l, rt), Ret: res, Strict: true, Eval: intArith(op, l, rt, res)})
			}
			for _, op := range []string{"&", "|", "#"} {
				if l.Kind == rt.Kind {
					r.op(&Scalar{Name: op, Args: ts(l, rt), Ret: res, Strict: true, Eval: intBitwise(op, res)})
				}
			}
		}
		r.op(&Scalar{Name: "<<", Args: ts(l, types.TInt4), Ret: l, Strict: true, Eval: intShift(true, l)})
		r.op(&Scalar{Name: ">>", Args: ts(l, types.TInt4), Ret: l, Strict: true, Eval: intShift(false, l)})
		r.op(&Scalar{Name: "-", Args: ts(l), Ret: l, Strict: true, Eval: intNeg(l)})
		r.op(&Scalar{Name: "+", Args: ts(l), Ret: l, Strict: true, Eval: identity})
		r.op(&Scalar{Name: "@", Args: ts(l), Ret: l, Strict: true, Eval: intAbs(l)})
		r.op(&Scalar{Name: "~", Args: ts(l), Ret: l, Strict: true, Eval: intNot(l)})
	}
	floats := []types.T{types.TFloat4, types.TFloat8}
	for _, l := range floats {
		for _, rt := range floats {
			res := wider(l, rt)
			for _, op := range []byte{'+', '-', '*', '/'} {
				r.op(&Scalar{Name: string(op), Args: ts(l, rt), Ret: res, Strict: true, Eval: floatArith(op, res)})
			}
		}
		r.op(&Scalar{Name: "-", Args: ts(l), Ret: l, Strict: true, Eval: floatUnary(l, func(x float64) float64 { return -x })})
		r.op(&Scalar{Name: "+", Args: ts(l), Ret: l, Strict: true, Eval: identity})
		r.op(&Scalar{Name: "@", Args: ts(l), Ret: l, Strict: true, Eval: floatUnary(l, math.Abs)})
	}
	r.op(&Scalar{Name: "^", Args: ts(types.TFloat8, types.TFloat8), Ret: types.TFloat8, Strict: true, Eval: floatFunc2(powFloat)})
	r.op(&Scalar{Name: "|/", Args: ts(types.TFloat8), Ret: types.TFloat8, Strict: true, Eval: floatFunc1(sqrtFloat)})
	r.op(&Scalar{Name: "||/", Args: ts(types.TFloat8), Ret: types.TFloat8, Strict: true, Eval: floatFunc1(func(x float64) (float64, error) { return math.Cbrt(x), nil })})

	n := types.TNumeric
	for _, op := range []byte{'+', '-', '*', '/', '%'} {
		r.op(&Scalar{Name: string(op), Args: ts(n, n), Ret: n, Strict: true, Eval: nullSafe(n, numericVecArith(op))})
	}
	r.op(&Scalar{Name: "^", Args: ts(n, n), Ret: n, Strict: true, Eval: numFunc2(numPower)})
	r.op(&Scalar{Name: "-", Args: ts(n), Ret: n, Strict: true, Eval: numFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return new(apd.Decimal).Neg(d), nil })})
	r.op(&Scalar{Name: "+", Args: ts(n), Ret: n, Strict: true, Eval: identity})
	r.op(&Scalar{Name: "@", Args: ts(n), Ret: n, Strict: true, Eval: numFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return new(apd.Decimal).Abs(d), nil })})
}

func identity(_ *Env, args []arrow.Array, _ int) (arrow.Array, error) {
	args[0].Retain()
	return args[0], nil
}

// intArith returns the kernel for l op r with result kind res.
func intArith(op byte, l, r, res types.T) ScalarFunc {
	lo, hi := types.IntRange(res.Kind)
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		valid := Validity(n, args[0], args[1])
		switch res.Kind {
		case types.Int2:
			out := make([]int16, n)
			if err := intLoop(op, args[0], args[1], out, valid, lo, hi, res.Kind); err != nil {
				return nil, err
			}
			return makeInts(out, valid), nil
		case types.Int4:
			out := make([]int32, n)
			if err := intLoop(op, args[0], args[1], out, valid, lo, hi, res.Kind); err != nil {
				return nil, err
			}
			return makeInts(out, valid), nil
		default:
			out := make([]int64, n)
			if err := intLoop(op, args[0], args[1], out, valid, lo, hi, res.Kind); err != nil {
				return nil, err
			}
			return makeInts(out, valid), nil
		}
	}
}

func intLoop[R intT](op byte, a, b arrow.Array, out []R, valid []byte, lo, hi int64, k types.Kind) error {
	switch a.DataType().ID() {
	case arrow.INT16:
		return intLoop2(op, ints[int16](a), b, out, valid, lo, hi, k)
	case arrow.INT32:
		return intLoop2(op, ints[int32](a), b, out, valid, lo, hi, k)
	}
	return intLoop2(op, ints[int64](a), b, out, valid, lo, hi, k)
}

func intLoop2[A, R intT](op byte, x []A, b arrow.Array, out []R, valid []byte, lo, hi int64, k types.Kind) error {
	switch b.DataType().ID() {
	case arrow.INT16:
		return intKernel(op, x, ints[int16](b), out, valid, lo, hi, k)
	case arrow.INT32:
		return intKernel(op, x, ints[int32](b), out, valid, lo, hi, k)
	}
	return intKernel(op, x, ints[int64](b), out, valid, lo, hi, k)
}

// intKernel is the typed loop; one loop per operator keeps the branch out
// of the row loop. A row that overflows clears ok only when it is valid
// (a NULL row's value is garbage).
func intKernel[A, B, R intT](op byte, x []A, y []B, out []R, valid []byte, lo, hi int64, k types.Kind) error {
	x, y = x[:len(out)], y[:len(out)]
	ok := true
	switch op {
	case '+':
		for i := range out {
			a, b := int64(x[i]), int64(y[i])
			r := a + b
			ok = ok && (((a^r)&(b^r)) >= 0 && r >= lo && r <= hi || !rowValid(valid, i))
			out[i] = R(r)
		}
	case '-':
		for i := range out {
			a, b := int64(x[i]), int64(y[i])
			r := a - b
			ok = ok && (((a^b)&(a^r)) >= 0 && r >= lo && r <= hi || !rowValid(valid, i))
			out[i] = R(r)
		}
	case '*':
		for i := range out {
			a, b := int64(x[i]), int64(y[i])
			r := a * b
			ok = ok && ((a == 0 || r/a == b && (a != -1 || b != math.MinInt64)) && r >= lo && r <= hi || !rowValid(valid, i))
			out[i] = R(r)
		}
	case '/':
		for i := range out {
			switch a, b := int64(x[i]), int64(y[i]); b {
			case 0:
				if rowValid(valid, i) {
					return errDivZero()
				}
			case -1: // a / -1 traps on the minimum in hardware
				ok = ok && (a != lo || !rowValid(valid, i))
				out[i] = R(-a)
			default:
				out[i] = R(a / b)
			}
		}
	case '%':
		for i := range out {
			switch b := int64(y[i]); b {
			case 0:
				if rowValid(valid, i) {
					return errDivZero()
				}
			case -1: // and so does a % -1
			default:
				out[i] = R(int64(x[i]) % b)
			}
		}
	}
	if !ok {
		return types.ErrIntRange(k)
	}
	return nil
}

func intBitwise(op string, res types.T) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x, y := asInt64s(args[0]), asInt64s(args[1])
		out := make([]int64, n)
		for i := range out {
			switch op {
			case "&":
				out[i] = x[i] & y[i]
			case "|":
				out[i] = x[i] | y[i]
			default:
				out[i] = x[i] ^ y[i]
			}
		}
		return narrowInts(out, Validity(n, args...), res.Kind), nil
	}
}

func intShift(left bool, res types.T) ScalarFunc {
	bits := map[types.Kind]int64{types.Int2: 16, types.Int4: 32, types.Int8: 64}[res.Kind]
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x, y := asInt64s(args[0]), asInt64s(args[1])
		out := make([]int64, n)
		for i := range out {
			s := y[i] % bits // C shifts wrap on x86 like this
			if s < 0 {
				s += bits
			}
			if left {
				out[i] = x[i] << s
			} else {
				out[i] = x[i] >> s
			}
		}
		return narrowInts(out, Validity(n, args...), res.Kind), nil
	}
}

// narrowInts converts int64 values to the layout of kind k (truncating,
// as the bitwise operators do in C).
func narrowInts(v []int64, valid []byte, k types.Kind) arrow.Array {
	switch k {
	case types.Int2:
		out := make([]int16, len(v))
		for i, x := range v {
			out[i] = int16(x)
		}
		return makeInts(out, valid)
	case types.Int4:
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return makeInts(out, valid)
	}
	return makeInts(v, valid)
}

func intNeg(t types.T) ScalarFunc { return intSign(t, false) }
func intAbs(t types.T) ScalarFunc { return intSign(t, true) }

// intSign is -x, or |x| when abs; both overflow on the type's minimum.
func intSign(t types.T, abs bool) ScalarFunc {
	lo, _ := types.IntRange(t.Kind)
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x := asInt64s(args[0])
		valid := Validity(n, args[0])
		out := make([]int64, n)
		for i, v := range x[:n] {
			if v == lo && rowValid(valid, i) {
				return nil, types.ErrIntRange(t.Kind)
			}
			if !abs || v < 0 {
				v = -v
			}
			out[i] = v
		}
		return narrowInts(out, valid, t.Kind), nil
	}
}

func intNot(t types.T) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x := asInt64s(args[0])
		out := make([]int64, n)
		for i, v := range x[:n] {
			out[i] = ^v
		}
		return narrowInts(out, Validity(n, args[0]), t.Kind), nil
	}
}

func errFloatOverflow() error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: overflow")
}

func errFloatUnderflow() error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: underflow")
}

// floatArith computes in float64 and checks PostgreSQL's overflow rules.
func floatArith(op byte, res types.T) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x, y := asFloat64s(args[0]), asFloat64s(args[1])
		valid := Validity(n, args[0], args[1])
		out := make([]float64, n)
		switch op {
		case '+':
			for i := range out {
				out[i] = x[i] + y[i]
			}
		case '-':
			for i := range out {
				out[i] = x[i] - y[i]
			}
		case '*':
			for i := range out {
				out[i] = x[i] * y[i]
			}
		case '/':
			for i := range out {
				if y[i] == 0 && rowValid(valid, i) {
					return nil, errDivZero()
				}
				out[i] = x[i] / y[i]
			}
		}
		for i, r := range out {
			if math.IsInf(r, 0) && !math.IsInf(x[i], 0) && !math.IsInf(y[i], 0) && rowValid(valid, i) {
				return nil, errFloatOverflow()
			}
			if op == '*' && r == 0 && x[i] != 0 && y[i] != 0 && rowValid(valid, i) {
				return nil, errFloatUnderflow()
			}
		}
		return floatResult(out, valid, res), nil
	}
}

// floatResult stores float64 results in the layout of res, checking float4
// overflow.
func floatResult(out []float64, valid []byte, res types.T) arrow.Array {
	if res.Kind == types.Float4 {
		f := make([]float32, len(out))
		for i, v := range out {
			f[i] = float32(v)
		}
		return makeFloat32(f, bufOf(valid))
	}
	return makeFloat64(out, bufOf(valid))
}

func floatUnary(t types.T, f func(float64) float64) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x := asFloat64s(args[0])
		out := make([]float64, n)
		for i := range out {
			out[i] = f(x[i])
		}
		return floatResult(out, Validity(n, args[0]), t), nil
	}
}

// floatFunc1 applies a checked float8 function row by row, skipping NULLs.
func floatFunc1(f func(float64) (float64, error)) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x := asFloat64s(args[0])
		valid := Validity(n, args[0])
		out := make([]float64, n)
		for i := range out {
			if !rowValid(valid, i) {
				continue
			}
			v, err := f(x[i])
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return makeFloat64(out, bufOf(valid)), nil
	}
}

func floatFunc2(f func(a, b float64) (float64, error)) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x, y := asFloat64s(args[0]), asFloat64s(args[1])
		valid := Validity(n, args[0], args[1])
		out := make([]float64, n)
		for i := range out {
			if !rowValid(valid, i) {
				continue
			}
			v, err := f(x[i], y[i])
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return makeFloat64(out, bufOf(valid)), nil
	}
}

func powFloat(x, y float64) (float64, error) {
	if x == 0 && y < 0 {
		return 0, sqlerr.New(codeInvalidPowerArg, "zero raised to a negative power is undefined")
	}
	if x < 0 && y != math.Floor(y) {
		return 0, sqlerr.New(codeInvalidPowerArg, "a negative number raised to a non-integer power yields a complex result")
	}
	r := math.Pow(x, y)
	if math.IsInf(r, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		return 0, errFloatOverflow()
	}
	return r, nil
}

func sqrtFloat(x float64) (float64, error) {
	if x < 0 {
		return 0, sqlerr.New(codeInvalidPowerArg, "cannot take square root of a negative number")
	}
	return math.Sqrt(x), nil
}

// numFunc1 applies f to each non-NULL row of a numeric column.
func numFunc1(f func(d *apd.Decimal) (*apd.Decimal, error)) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0].(*array.String)
		b := array.NewStringBuilder(types.Mem)
		defer b.Release()
		b.Reserve(n)
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				b.AppendNull()
				continue
			}
			d, err := decimalAt(a, i)
			if err != nil {
				return nil, err
			}
			r, err := f(d)
			if err != nil {
				return nil, err
			}
			b.Append(numText(r))
		}
		return b.NewArray(), nil
	}
}

func numFunc2(f func(x, y *apd.Decimal) (*apd.Decimal, error)) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		a, c := args[0].(*array.String), args[1].(*array.String)
		b := array.NewStringBuilder(types.Mem)
		defer b.Release()
		b.Reserve(n)
		for i := 0; i < n; i++ {
			if a.IsNull(i) || c.IsNull(i) {
				b.AppendNull()
				continue
			}
			x, y, err := decimalsAt(a, c, i)
			if err != nil {
				return nil, err
			}
			r, err := f(x, y)
			if err != nil {
				return nil, err
			}
			b.Append(numText(r))
		}
		return b.NewArray(), nil
	}
}

func numArith(op byte) ScalarFunc {
	return numFunc2(func(x, y *apd.Decimal) (*apd.Decimal, error) {
		return NumericOp(op, x, y)
	})
}

// NumericOp computes x op y for numeric values with PostgreSQL's result
// scales: + and - keep the larger scale, * adds the scales, / follows
// select_div_scale (at least 16 significant digits), % keeps the larger.
func NumericOp(op byte, x, y *apd.Decimal) (*apd.Decimal, error) {
	if x.Form != apd.Finite || y.Form != apd.Finite {
		return numericSpecialOp(op, x, y)
	}
	r := new(apd.Decimal)
	ctx := *types.DecimalCtx
	var err error
	switch op {
	case '+':
		_, err = ctx.Add(r, x, y)
	case '-':
		_, err = ctx.Sub(r, x, y)
	case '*':
		_, err = ctx.Mul(r, x, y)
	case '/':
		if y.IsZero() {
			return nil, errDivZero()
		}
		rscale := divScale(x, y)
		_, err = ctx.Quo(r, x, y)
		if err == nil {
			_, err = ctx.Quantize(r, r, -rscale)
		}
	case '%':
		if y.IsZero() {
			return nil, errDivZero()
		}
		_, err = ctx.Rem(r, x, y)
		if err == nil {
			s := max(dscale(x), dscale(y))
			_, err = ctx.Quantize(r, r, -s)
		}
	}
	if err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	return r, nil
}

// numericSpecialOp is x op y when either is NaN or ±Infinity, by
// PostgreSQL's rules: NaN wins over everything (even a zero divisor),
// Infinity - Infinity and Infinity * 0 are NaN, finite / Infinity is 0,
// finite % Infinity is the dividend.
func numericSpecialOp(op byte, x, y *apd.Decimal) (*apd.Decimal, error) {
	nan := &apd.Decimal{Form: apd.NaN}
	if x.Form != apd.Finite && x.Form != apd.Infinite || y.Form != apd.Finite && y.Form != apd.Infinite {
		return nan, nil
	}
	inf := func(neg bool) *apd.Decimal { return &apd.Decimal{Form: apd.Infinite, Negative: neg} }
	xi, yi := x.Form == apd.Infinite, y.Form == apd.Infinite
	switch op {
	case '+', '-':
		yneg := y.Negative != (op == '-')
		switch {
		case xi && yi && x.Negative != yneg:
			return nan, nil
		case xi:
			return inf(x.Negative), nil
		}
		return inf(yneg), nil
	case '*':
		if (xi && y.IsZero()) || (yi && x.IsZero()) {
			return nan, nil
		}
		return inf(x.Negative != y.Negative), nil
	case '/':
		switch {
		case xi && yi:
			return nan, nil
		case xi && y.IsZero():
			return nil, errDivZero()
		case xi:
			return inf(x.Negative != y.Negative), nil
		}
		return new(apd.Decimal), nil
	case '%':
		switch {
		case xi && y.IsZero():
			return nil, errDivZero()
		case xi:
			return nan, nil
		}
		return new(apd.Decimal).Set(x), nil
	}
	return nan, nil
}

// dscale is the display scale of a numeric: digits after the point.
func dscale(d *apd.Decimal) int32 {
	if d.Exponent < 0 {
		return -d.Exponent
	}
	return 0
}

// weightAndFirst returns PostgreSQL's base-10000 weight of d's first
// non-zero digit group and that group's value.
func weightAndFirst(d *apd.Decimal) (int32, int64) {
	if d.IsZero() {
		return 0, 0
	}
	digits := d.Coeff.String()
	e10 := int32(len(digits)) - 1 + d.Exponent
	w := e10 / 4
	if e10 < 0 && e10%4 != 0 {
		w--
	}
	// The first group holds the digits of power 4w..e10.
	k := int(e10 - 4*w + 1)
	var first int64
	for i := 0; i < k; i++ {
		first *= 10
		if i < len(digits) {
			first += int64(digits[i] - '0')
		}
	}
	return w, first
}

// divScale is select_div_scale from numeric.c.
func divScale(x, y *apd.Decimal) int32 {
	w1, f1 := weightAndFirst(x)
	w2, f2 := weightAndFirst(y)
	return selectDivScale(w1, f1, dscale(x), w2, f2, dscale(y))
}

// selectDivScale is select_div_scale from numeric.c over the dividend's
// and divisor's weights (base-10000 digit groups), first digit groups and
// display scales: at least 16 significant digits, no fewer fractional
// digits than either operand has, at most 1000.
func selectDivScale(w1 int32, f1 int64, s1 int32, w2 int32, f2 int64, s2 int32) int32 {
	q := w1 - w2
	if f1 <= f2 {
		q--
	}
	rs := 16 - q*4
	rs = max(rs, s1, s2, 0)
	return min(rs, 1000)
}

func numPower(x, y *apd.Decimal) (*apd.Decimal, error) {
	if x.IsZero() && y.Negative {
		return nil, sqlerr.New(codeInvalidPowerArg, "zero raised to a negative power is undefined")
	}
	ctx := *types.DecimalCtx
	r := new(apd.Decimal)
	var yi apd.Decimal
	_, _ = ctx.RoundToIntegralValue(&yi, y)
	if yi.Cmp(y) == 0 && y.Exponent >= -20 {
		// Integral exponent: power_var_int with rscale max(16, dscale(x)).
		if _, err := ctx.Pow(r, x, y); err != nil {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
		}
		rs := max(16, dscale(x))
		_, _ = ctx.Quantize(r, r, -min(rs, 1000))
		return r, nil
	}
	if x.Negative {
		return nil, sqlerr.New(codeInvalidPowerArg, "a negative number raised to a non-integer power yields a complex result")
	}
	c40 := ctx
	c40.Precision = 40
	if _, err := c40.Pow(r, x, y); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	w, _ := weightAndFirst(r)
	rs := 16 - w*4
	rs = max(rs, dscale(x), dscale(y), 0)
	_, _ = ctx.Quantize(r, r, -min(rs, 1000))
	return r, nil
}
