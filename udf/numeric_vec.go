package udf

import (
	"cmp"
	"math"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Vectorized numeric arithmetic and comparison.
//
// A numeric column holds canonical decimal text (see types.DecimalCtx), so
// the general path parses every value into an apd.Decimal and formats the
// result back, allocating several times per row. Most values in practice
// (prices, amounts, rates) have at most 18 significant digits, which fit a
// uint64 magnitude with a decimal scale: the kernels below parse those
// straight from the column bytes, compute in 64/128-bit integers with
// PostgreSQL's result scales and rounding, and append the result text to
// one output buffer. A row that does not fit (more digits, NaN, Infinity,
// an intermediate that overflows 128 bits) takes the apd path for that row
// only, so results are identical to NumericOp's.

// fixedDec is a finite numeric with at most 18 significant digits: the
// value is (-1)^neg * mag / 10^scale.
type fixedDec struct {
	mag   uint64
	scale int32
	neg   bool
}

// maxFixedDigits is how many significant digits parseFixed accepts: 10^18
// < 2^63, so a magnitude, or the sum of two aligned ones, never overflows.
const maxFixedDigits = 18

// pow10 holds 10^0 .. 10^19 (10^19 is the largest power below 2^64).
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return
}()

// parseFixed reads canonical numeric text: an optional '-', digits and
// an optional fraction. It reports false for anything else (NaN,
// Infinity, exponents, more than maxFixedDigits significant digits).
func parseFixed(b []byte) (fixedDec, bool) {
	var d fixedDec
	i := 0
	if len(b) > 0 && b[0] == '-' {
		d.neg = true
		i = 1
	}
	digits, sig, point := 0, 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			if point >= 0 {
				return d, false
			}
			point = digits
			continue
		}
		if c < '0' || c > '9' {
			return d, false
		}
		digits++
		if sig > 0 || c != '0' {
			sig++
			if sig > maxFixedDigits {
				return d, false
			}
		}
		d.mag = d.mag*10 + uint64(c-'0')
	}
	if digits == 0 {
		return d, false
	}
	if point >= 0 {
		d.scale = int32(digits - point)
	}
	return d, true
}

// appendFixed appends the canonical text of mag / 10^scale with the given
// sign, as numText does (no negative zero, scale digits after the point).
// Digits are written backwards into a stack buffer and appended once.
func appendFixed(dst []byte, neg bool, mag uint64, scale int32) []byte {
	var buf [24]byte
	if scale < 0 || int(scale) > len(buf)-4 {
		return appendFixedLong(dst, neg, mag, scale)
	}
	i := len(buf)
	m := mag
	for k := int32(0); k < scale; k++ {
		i--
		buf[i] = byte('0' + m%10)
		m /= 10
	}
	if scale > 0 {
		i--
		buf[i] = '.'
	}
	for {
		i--
		buf[i] = byte('0' + m%10)
		m /= 10
		if m == 0 {
			break
		}
	}
	if neg && mag != 0 {
		i--
		buf[i] = '-'
	}
	return append(dst, buf[i:]...)
}

// appendFixedLong is appendFixed for scales beyond the stack buffer.
func appendFixedLong(dst []byte, neg bool, mag uint64, scale int32) []byte {
	if neg && mag != 0 {
		dst = append(dst, '-')
	}
	if scale <= 0 {
		return strconv.AppendUint(dst, mag, 10)
	}
	var buf [20]byte
	num := strconv.AppendUint(buf[:0], mag, 10)
	s := int(scale)
	if len(num) > s {
		dst = append(dst, num[:len(num)-s]...)
		dst = append(dst, '.')
		return append(dst, num[len(num)-s:]...)
	}
	dst = append(dst, '0', '.')
	for k := len(num); k < s; k++ {
		dst = append(dst, '0')
	}
	return append(dst, num...)
}

// scaleUp returns m * 10^k when it stays below 2^63.
func scaleUp(m uint64, k int32) (uint64, bool) {
	if k == 0 {
		return m, true
	}
	if k < 0 || k >= int32(len(pow10)) {
		return 0, false
	}
	hi, lo := bits.Mul64(m, pow10[k])
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return lo, true
}

// align brings x and y to the larger of their scales.
func align(x, y fixedDec) (mx, my uint64, scale int32, ok bool) {
	scale = max(x.scale, y.scale)
	if mx, ok = scaleUp(x.mag, scale-x.scale); !ok {
		return
	}
	my, ok = scaleUp(y.mag, scale-y.scale)
	return
}

// fixedAdd computes x + y (negate y first for x - y): exact, at the larger
// scale, as numeric_add.
func fixedAdd(x, y fixedDec) (fixedDec, bool) {
	mx, my, s, ok := align(x, y)
	if !ok {
		return fixedDec{}, false
	}
	if x.neg == y.neg {
		return fixedDec{mag: mx + my, scale: s, neg: x.neg}, true
	}
	if mx >= my {
		return fixedDec{mag: mx - my, scale: s, neg: x.neg}, true
	}
	return fixedDec{mag: my - mx, scale: s, neg: y.neg}, true
}

// fixedMul computes x * y exactly at scale x.scale + y.scale, as
// numeric_mul.
func fixedMul(x, y fixedDec) (fixedDec, bool) {
	hi, lo := bits.Mul64(x.mag, y.mag)
	if hi != 0 {
		return fixedDec{}, false
	}
	return fixedDec{mag: lo, scale: x.scale + y.scale, neg: x.neg != y.neg}, true
}

// fixedDiv computes x / y (y non-zero) at select_div_scale's scale,
// rounding half away from zero, as numeric_div.
func fixedDiv(x, y fixedDec) (fixedDec, bool) {
	rs := fixedDivScale(x, y)
	// q = x.mag * 10^k / y.mag with k = rs - x.scale + y.scale.
	k := rs - x.scale + y.scale
	hi, lo := uint64(0), x.mag
	den := y.mag
	if k < 0 {
		var ok bool
		if den, ok = scaleUp(den, -k); !ok {
			return fixedDec{}, false
		}
	}
	for k > 0 {
		step := min(k, 19)
		var ok bool
		if hi, lo, ok = mul128(hi, lo, pow10[step]); !ok {
			return fixedDec{}, false
		}
		k -= step
	}
	if hi >= den {
		return fixedDec{}, false // the quotient needs more than 64 bits
	}
	q, r := bits.Div64(hi, lo, den)
	if r >= den-r { // 2r >= den without overflow: round half away from zero
		if q == math.MaxUint64 {
			return fixedDec{}, false
		}
		q++
	}
	return fixedDec{mag: q, scale: rs, neg: x.neg != y.neg}, true
}

// mul128 returns (hi, lo) * m when the product fits in 128 bits.
func mul128(hi, lo, m uint64) (uint64, uint64, bool) {
	h1, l1 := bits.Mul64(lo, m)
	h2, l2 := bits.Mul64(hi, m)
	if h2 != 0 {
		return 0, 0, false
	}
	nh, carry := bits.Add64(h1, l2, 0)
	if carry != 0 {
		return 0, 0, false
	}
	return nh, l1, true
}

// fixedMod computes x % y (y non-zero) at the larger scale, with the sign
// of x, as numeric_mod.
func fixedMod(x, y fixedDec) (fixedDec, bool) {
	mx, my, s, ok := align(x, y)
	if !ok || my == 0 {
		return fixedDec{}, false
	}
	return fixedDec{mag: mx % my, scale: s, neg: x.neg}, true
}

// fixedCmp compares x and y; ok is false when their scales are too far
// apart to align in 128 bits.
func fixedCmp(x, y fixedDec) (int, bool) {
	xs, ys := sign(x), sign(y)
	if xs != ys || xs == 0 {
		return cmp.Compare(xs, ys), true
	}
	s := max(x.scale, y.scale)
	kx, ky := s-x.scale, s-y.scale
	if kx >= int32(len(pow10)) || ky >= int32(len(pow10)) {
		return 0, false
	}
	xh, xl := bits.Mul64(x.mag, pow10[kx])
	yh, yl := bits.Mul64(y.mag, pow10[ky])
	c := cmp.Compare(xl, yl)
	if xh != yh {
		c = cmp.Compare(xh, yh)
	}
	return c * xs, true
}

func sign(d fixedDec) int {
	switch {
	case d.mag == 0:
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// fixedWeightAndFirst is weightAndFirst for a fixedDec: the base-10000
// weight of the first non-zero digit group and that group's value.
func fixedWeightAndFirst(d fixedDec) (int32, int64) {
	if d.mag == 0 {
		return 0, 0
	}
	nd := int32(decimalDigits(d.mag))
	e10 := nd - 1 - d.scale
	w := e10 / 4
	if e10 < 0 && e10%4 != 0 {
		w--
	}
	k := e10 - 4*w + 1 // digits in the first group, 1..4
	if nd >= k {
		return w, int64(d.mag / pow10[nd-k])
	}
	return w, int64(d.mag * pow10[k-nd])
}

// fixedDivScale is divScale (select_div_scale) for fixedDecs.
func fixedDivScale(x, y fixedDec) int32 {
	w1, f1 := fixedWeightAndFirst(x)
	w2, f2 := fixedWeightAndFirst(y)
	return selectDivScale(w1, f1, x.scale, w2, f2, y.scale)
}

// numericCol gives kernels row access to a numeric column's bytes without
// converting them to strings.
type numericCol struct {
	offsets []int32
	data    []byte
	arr     *array.String
}

func newNumericCol(a arrow.Array) numericCol {
	s := a.(*array.String)
	return numericCol{offsets: s.ValueOffsets(), data: s.ValueBytes(), arr: s}
}

// bytesAt returns row i's text. ValueBytes already starts at the array's
// offset, so offsets are rebased on the first one.
func (c numericCol) bytesAt(i int) []byte {
	base := c.offsets[0]
	return c.data[c.offsets[i]-base : c.offsets[i+1]-base]
}

// numericParser reads one argument column, reusing the previous row's
// result when the text is the same, so a broadcast constant parses once.
type numericParser struct {
	col  numericCol
	last []byte
	val  fixedDec
	ok   bool
}

func (p *numericParser) at(i int) (fixedDec, bool) {
	b := p.col.bytesAt(i)
	if p.last != nil && string(b) == string(p.last) {
		return p.val, p.ok
	}
	p.last = b
	p.val, p.ok = parseFixed(b)
	return p.val, p.ok
}

// stringColumn wraps offsets and data as a string column.
func stringColumn(offsets []int32, data []byte, valid []byte) arrow.Array {
	n := len(offsets) - 1
	vb := bufOf(valid)
	nulls := 0
	if vb != nil {
		nulls = n - bitutil.CountSetBits(valid, 0, n)
	}
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{vb,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// decimalsAt parses row i of two numeric columns: the general path of a
// kernel, for the rows its fixed-point fast path does not take.
func decimalsAt(x, y *array.String, i int) (*apd.Decimal, *apd.Decimal, error) {
	a, err := decimalAt(x, i)
	if err != nil {
		return nil, nil, err
	}
	b, err := decimalAt(y, i)
	return a, b, err
}

// numericVecArith is the kernel for numeric op numeric.
func numericVecArith(op byte) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		if n == 0 {
			return stringColumn([]int32{0}, nil, nil), nil
		}
		valid := Validity(n, args[0], args[1])
		x := numericParser{col: newNumericCol(args[0])}
		y := numericParser{col: newNumericCol(args[1])}
		offsets := make([]int32, n+1)
		data := make([]byte, 0, n*12)
		for i := 0; i < n; i++ {
			offsets[i] = int32(len(data))
			if !rowValid(valid, i) {
				continue
			}
			a, okA := x.at(i)
			b, okB := y.at(i)
			var r fixedDec
			ok := okA && okB
			if ok {
				switch op {
				case '+':
					r, ok = fixedAdd(a, b)
				case '-':
					b.neg = !b.neg
					r, ok = fixedAdd(a, b)
				case '*':
					r, ok = fixedMul(a, b)
				case '/':
					if b.mag == 0 {
						return nil, errDivZero()
					}
					r, ok = fixedDiv(a, b)
				case '%':
					if b.mag == 0 {
						return nil, errDivZero()
					}
					r, ok = fixedMod(a, b)
				}
			}
			if ok {
				data = appendFixed(data, r.neg, r.mag, r.scale)
				continue
			}
			// The general path for this row.
			da, db, err := decimalsAt(x.col.arr, y.col.arr, i)
			if err != nil {
				return nil, err
			}
			res, err := NumericOp(op, da, db)
			if err != nil {
				return nil, err
			}
			data = append(data, numText(res)...)
			if len(data) > math.MaxInt32 {
				return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "numeric column exceeds 2 GB")
			}
		}
		offsets[n] = int32(len(data))
		return stringColumn(offsets, data, valid), nil
	}
}

// numericVecCompare is the kernel for numeric comparisons.
func numericVecCompare(op cmpOp) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		if n == 0 {
			return makeBool(nil, nil), nil
		}
		valid := Validity(n, args[0], args[1])
		x := numericParser{col: newNumericCol(args[0])}
		y := numericParser{col: newNumericCol(args[1])}
		out := make([]bool, n)
		for i := range out {
			if !rowValid(valid, i) {
				continue
			}
			a, okA := x.at(i)
			b, okB := y.at(i)
			if okA && okB {
				if c, ok := fixedCmp(a, b); ok {
					out[i] = op.test(c)
					continue
				}
			}
			da, db, err := decimalsAt(x.col.arr, y.col.arr, i)
			if err != nil {
				return nil, err
			}
			out[i] = op.test(types.CompareDecimal(da, db))
		}
		return makeBool(out, bufOf(valid)), nil
	}
}

// IntToNumeric casts an integer column (int2, int4 or int8) to numeric of
// type to, formatting the text directly: the value with to.Scale zeros
// after the point, and 22003 when it has more than to.Precision -
// to.Scale integer digits, as numeric(p,s) requires.
func IntToNumeric(in arrow.Array, to types.T, n int) (arrow.Array, error) {
	valid := Validity(n, in)
	offsets := make([]int32, n+1)
	data := make([]byte, 0, n*8)
	var scale int32
	limit := -1 // integer digits allowed; -1 for unconstrained numeric
	if to.Precision > 0 {
		scale = to.Scale
		limit = int(to.Precision - to.Scale)
	}
	appendRow := func(i int, v int64) error {
		offsets[i] = int32(len(data))
		if !rowValid(valid, i) {
			return nil
		}
		mag := uint64(v)
		if v < 0 {
			mag = -mag
		}
		if scale < 0 || (limit >= 0 && mag != 0 && decimalDigits(mag) > limit) {
			// A negative scale rounds, and too many digits is an error:
			// both as the general cast does.
			d, err := types.RoundNumeric(apd.New(v, 0), to)
			if err != nil {
				return err
			}
			data = append(data, numText(d)...)
			return nil
		}
		if v < 0 {
			data = append(data, '-')
		}
		data = strconv.AppendUint(data, mag, 10)
		if scale > 0 {
			data = append(data, '.')
			for k := int32(0); k < scale; k++ {
				data = append(data, '0')
			}
		}
		return nil
	}
	switch a := in.(type) {
	case *array.Int64:
		for i, v := range a.Int64Values()[:n] {
			if err := appendRow(i, v); err != nil {
				return nil, err
			}
		}
	case *array.Int32:
		for i, v := range a.Int32Values()[:n] {
			if err := appendRow(i, int64(v)); err != nil {
				return nil, err
			}
		}
	case *array.Int16:
		for i, v := range a.Int16Values()[:n] {
			if err := appendRow(i, int64(v)); err != nil {
				return nil, err
			}
		}
	default:
		return nil, sqlerr.New(sqlerr.InternalError, "IntToNumeric: %s is not an integer column", in.DataType())
	}
	offsets[n] = int32(len(data))
	return stringColumn(offsets, data, valid), nil
}

// decimalDigits returns the number of decimal digits of m (1 for 0).
func decimalDigits(m uint64) int {
	nd := 1
	for nd < len(pow10) && m >= pow10[nd] {
		nd++
	}
	return nd
}
