package agg

// Retractable state for the variance family, the (Y, X) statistics and
// the bitwise aggregates.
//
// Floats: a running float sum cannot take a value back out exactly, and
// the Youngs-Cramer step PostgreSQL uses cannot be undone at all. The
// state keeps the sums exactly instead, as fixed-point integers: every
// float64 is an integer multiple of 2^-1074, and every product of two an
// integer multiple of 2^-2148, so sum(x), sum(y) are kept scaled by 2^1074
// and sum(x*x), sum(y*y), sum(x*y) by 2^2148 in big.Ints. A deletion
// subtracts exactly what the insertion added, and the result, rounded once
// from the exact centred sums (N*sum(x*x) - sum(x)^2 over N), does not
// depend on the order rows arrived in. It can differ from PostgreSQL's
// order-dependent Youngs-Cramer value in the last bit. NaN and infinite
// inputs are counted apart and make the result NaN while they are live.
//
// Integers and numerics: exact numeric N, sum(x), sum(x*x), finished by
// the same numeric_stddev_internal as the ad-hoc aggregate, so views and
// queries agree exactly.
//
// bit_and/or/xor: the number of values and a count of one-bits per bit
// position.

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

const (
	momentScale1 = 1074 // sum(x) is kept times 2^1074
	momentScale2 = 2148 // sum(x*x) is kept times 2^2148
)

// aggMomentSlot is one group's exact sums.
type aggMomentSlot struct {
	n             int64
	spx, spy      aggSpecials
	sx, sy        big.Int
	sxx, syy, sxy big.Int
}

// fixed sets z to x * 2^scale exactly (x finite); scale >= 1074.
func fixed(z *big.Int, x float64, scale int) *big.Int {
	frac, exp := math.Frexp(x)
	m := int64(frac * (1 << 53))
	z.SetInt64(m)
	return shift(z, exp-53+scale)
}

// shift multiplies z by 2^k; for k < 0 the caller knows the result is
// an integer (the value is a multiple of the scale's unit).
func shift(z *big.Int, k int) *big.Int {
	if k >= 0 {
		return z.Lsh(z, uint(k))
	}
	return z.Rsh(z, uint(-k))
}

// fixedProduct sets z to x*y * 2^2148 exactly (x, y finite).
func fixedProduct(z, tmp *big.Int, x, y float64) *big.Int {
	fx, ex := math.Frexp(x)
	fy, ey := math.Frexp(y)
	z.SetInt64(int64(fx * (1 << 53)))
	tmp.SetInt64(int64(fy * (1 << 53)))
	z.Mul(z, tmp)
	return shift(z, ex-53+ey-53+momentScale2)
}

func finite(x float64) bool { return x-x == 0 }

func addBig(acc *big.Int, v *big.Int, w int64) {
	if w > 0 {
		acc.Add(acc, v)
	} else {
		acc.Sub(acc, v)
	}
}

// fold takes in (y, x) (pair) or x with weight w (+1 or -1); t1 and t2
// are scratch.
func (s *aggMomentSlot) fold(y, x float64, pair bool, w int64, t1, t2 *big.Int, keep bool) {
	s.n += w
	fx, fy := finite(x), !pair || finite(y)
	if !fx {
		s.spx.add(x < 0, !math.IsNaN(x), w)
	}
	if pair && !fy {
		s.spy.add(y < 0, !math.IsNaN(y), w)
	}
	if fx {
		addBig(&s.sx, fixed(t1, x, momentScale1), w)
		if !pair || fy {
			addBig(&s.sxx, fixedProduct(t1, t2, x, x), w)
		}
	}
	if pair && fy {
		addBig(&s.sy, fixed(t1, y, momentScale1), w)
		if fx {
			addBig(&s.syy, fixedProduct(t1, t2, y, y), w)
			addBig(&s.sxy, fixedProduct(t1, t2, x, y), w)
		}
	}
	if s.n == 0 && !keep {
		*s = aggMomentSlot{}
	}
}

// plain returns a sum kept times 2^scale as the nearest float64.
func plain(v *big.Int, scale int) float64 {
	f := new(big.Float).SetInt(v)
	f.SetMantExp(f, -scale)
	r, _ := f.Float64()
	return r
}

// centred returns (n*sxy - sx*sy) / (n * d) / 2^2148 rounded once: the
// centred sum of products divided by d.
func centred(n int64, sx, sy, sxy *big.Int, d int64) float64 {
	num := new(big.Int).Mul(big.NewInt(n), sxy)
	num.Sub(num, new(big.Int).Mul(sx, sy))
	den := new(big.Int).Mul(big.NewInt(n), big.NewInt(d))
	den.Lsh(den, momentScale2)
	r, _ := new(big.Rat).SetFrac(num, den).Float64()
	return r
}

// aggMoments is var/stddev over floats (pair false) or one of the (Y, X)
// statistics (pair true).
type aggMoments struct {
	aggSlots[*aggMomentSlot]
	fn           string
	pair         bool
	sample, sqrt bool
	delta        bool // aggDelta
	t1, t2       big.Int
}

func (a *aggMoments) slot(g uint32) *aggMomentSlot {
	s := a.v[g]
	if s == nil {
		s = &aggMomentSlot{}
		a.v[g] = s
	}
	return s
}

func floatsOf(col arrow.Array) ([]float64, bool) {
	switch c := col.(type) {
	case *array.Float64:
		return c.Float64Values(), true
	case *array.Float32:
		vs := c.Float32Values()
		out := make([]float64, len(vs))
		for i, v := range vs {
			out[i] = float64(v)
		}
		return out, true
	}
	return nil, false
}

func (a *aggMoments) update(ids []uint32, w []int64, args []arrow.Array) error {
	xcol := args[0]
	var ycol arrow.Array
	if a.pair {
		// corr(Y, X): the first argument is Y.
		ycol, xcol = args[0], args[1]
	}
	xs, ok := floatsOf(xcol)
	if !ok {
		return nil // an all-NULL column
	}
	var ys []float64
	if a.pair {
		if ys, ok = floatsOf(ycol); !ok {
			return nil
		}
	}
	for i, g := range ids {
		if w[i] == 0 || xcol.IsNull(i) || (a.pair && ycol.IsNull(i)) {
			continue
		}
		var y float64
		if a.pair {
			y = ys[i]
		}
		a.slot(g).fold(y, xs[i], a.pair, w[i], &a.t1, &a.t2, a.delta)
	}
	return nil
}

func (a *aggMoments) updateRow(g uint32, args []types.Datum, w int64) error {
	if a.pair {
		if args[0] == nil || args[1] == nil {
			return nil
		}
		a.slot(g).fold(args[0].(float64), args[1].(float64), true, w, &a.t1, &a.t2, a.delta)
		return nil
	}
	if args[0] != nil {
		a.slot(g).fold(0, args[0].(float64), false, w, &a.t1, &a.t2, a.delta)
	}
	return nil
}

func (a *aggMoments) result(g uint32) (types.Datum, error) {
	s := a.v[g]
	if s == nil || s.n == 0 {
		if a.fn == "regr_count" {
			return int64(0), nil
		}
		return nil, nil
	}
	n := s.n
	if !a.pair {
		if n == 0 || (a.sample && n == 1) {
			return nil, nil
		}
		if s.spx.kind() != 0 {
			return math.NaN(), nil
		}
		d := n
		if a.sample {
			d = n - 1
		}
		v := centred(n, &s.sx, &s.sx, &s.sxx, d)
		if a.sqrt {
			v = math.Sqrt(v)
		}
		return v, nil
	}
	if a.fn == "regr_count" {
		return n, nil
	}
	m := udf.RegrMoments{N: float64(n)}
	if k := s.spx.kind(); k != 0 {
		m.Sx = [...]float64{0, math.NaN(), math.Inf(1), math.Inf(-1)}[k]
	} else {
		m.Sx = plain(&s.sx, momentScale1)
	}
	if k := s.spy.kind(); k != 0 {
		m.Sy = [...]float64{0, math.NaN(), math.Inf(1), math.Inf(-1)}[k]
	} else {
		m.Sy = plain(&s.sy, momentScale1)
	}
	if s.spx.kind() != 0 || s.spy.kind() != 0 {
		m.Sxx, m.Syy, m.Sxy = math.NaN(), math.NaN(), math.NaN()
		if s.spy.kind() == 0 {
			m.Syy = centred(n, &s.sy, &s.sy, &s.syy, 1)
		}
		if s.spx.kind() == 0 {
			m.Sxx = centred(n, &s.sx, &s.sx, &s.sxx, 1)
		}
	} else {
		m.Sxx = centred(n, &s.sx, &s.sx, &s.sxx, 1)
		m.Syy = centred(n, &s.sy, &s.sy, &s.syy, 1)
		m.Sxy = centred(n, &s.sx, &s.sy, &s.sxy, 1)
	}
	v, ok := udf.RegrFinal(a.fn, m)
	if !ok {
		return nil, nil
	}
	return v, nil
}

func appendBig(buf []byte, v *big.Int) []byte {
	b := v.Bytes()
	sign := int64(len(b))
	if v.Sign() < 0 {
		sign = -sign
	}
	buf = binary.AppendVarint(buf, sign)
	return append(buf, b...)
}

func readBig(buf []byte, v *big.Int) ([]byte, error) {
	n, buf, err := aggVarint(buf)
	if err != nil {
		return buf, err
	}
	neg := n < 0
	if neg {
		n = -n
	}
	if int64(len(buf)) < n {
		return buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate state")
	}
	v.SetBytes(buf[:n])
	if neg {
		v.Neg(v)
	}
	return buf[n:], nil
}

func (a *aggMoments) encode(buf []byte, g uint32) []byte {
	s := a.v[g]
	if s == nil || (s.n == 0 && !a.delta) {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	for _, v := range [...]int64{s.n, s.spx.nan, s.spx.pinf, s.spx.ninf, s.spy.nan, s.spy.pinf, s.spy.ninf} {
		buf = binary.AppendVarint(buf, v)
	}
	for _, v := range [...]*big.Int{&s.sx, &s.sy, &s.sxx, &s.syy, &s.sxy} {
		buf = appendBig(buf, v)
	}
	return buf
}

func (a *aggMoments) decode(buf []byte, g uint32) ([]byte, error) {
	if len(buf) == 0 {
		return buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate state")
	}
	a.v[g] = nil
	if buf[0] == 0 {
		return buf[1:], nil
	}
	s := a.slot(g)
	buf, err := aggVarints(buf[1:], &s.n, &s.spx.nan, &s.spx.pinf, &s.spx.ninf, &s.spy.nan, &s.spy.pinf, &s.spy.ninf)
	if err != nil {
		return buf, err
	}
	for _, v := range [...]*big.Int{&s.sx, &s.sy, &s.sxx, &s.syy, &s.sxy} {
		if buf, err = readBig(buf, v); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// ---------------------------------------------------------------- numeric variance

type aggNumVarSlot struct {
	n       int64
	sx, sxx apd.Decimal
}

// aggNumVar is var/stddev over integers and numerics: exact sums.
type aggNumVar struct {
	aggSlots[*aggNumVarSlot]
	sample, sqrt bool
	delta        bool // aggDelta
	d, sq        apd.Decimal
}

func (a *aggNumVar) fold(g uint32, d *apd.Decimal, w int64) error {
	s := a.v[g]
	if s == nil {
		s = &aggNumVarSlot{}
		a.v[g] = s
	}
	ctx := types.DecimalCtx
	if _, err := ctx.Mul(&a.sq, d, d); err != nil {
		return sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	s.n += w
	var err1, err2 error
	if w > 0 {
		_, err1 = ctx.Add(&s.sx, &s.sx, d)
		_, err2 = ctx.Add(&s.sxx, &s.sxx, &a.sq)
	} else {
		_, err1 = ctx.Sub(&s.sx, &s.sx, d)
		_, err2 = ctx.Sub(&s.sxx, &s.sxx, &a.sq)
	}
	if err1 != nil || err2 != nil {
		return sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	if s.n == 0 && !a.delta {
		a.v[g] = nil
	}
	return nil
}

func (a *aggNumVar) update(ids []uint32, w []int64, args []arrow.Array) error {
	col := args[0]
	if s, ok := col.(*array.String); ok {
		return foldNumerics(s, ids, w, &a.d, a.fold)
	}
	if _, ok := col.(*array.Null); ok {
		return nil
	}
	for i, g := range ids {
		if w[i] == 0 || col.IsNull(i) {
			continue
		}
		a.d.SetInt64(stream.IntOf(types.GetDatum(col, i, types.TInt8)))
		if err := a.fold(g, &a.d, w[i]); err != nil {
			return err
		}
	}
	return nil
}

func (a *aggNumVar) updateRow(g uint32, args []types.Datum, w int64) error {
	switch v := args[0].(type) {
	case nil:
		return nil
	case int64:
		a.d.SetInt64(v)
		return a.fold(g, &a.d, w)
	case *apd.Decimal:
		return a.fold(g, v, w)
	}
	return fmt.Errorf("variance: unexpected value %T", args[0])
}

func (a *aggNumVar) result(g uint32) (types.Datum, error) {
	s := a.v[g]
	if s == nil || s.n == 0 || (a.sample && s.n == 1) {
		return nil, nil
	}
	return udf.NumericVariance(s.n, &s.sx, &s.sxx, a.sample, a.sqrt), nil
}

func (a *aggNumVar) encode(buf []byte, g uint32) []byte {
	s := a.v[g]
	if s == nil {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	buf = binary.AppendVarint(buf, s.n)
	buf = types.AppendValue(buf, &s.sx, types.TNumeric)
	return types.AppendValue(buf, &s.sxx, types.TNumeric)
}

func (a *aggNumVar) decode(buf []byte, g uint32) ([]byte, error) {
	if len(buf) == 0 {
		return buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate state")
	}
	a.v[g] = nil
	if buf[0] == 0 {
		return buf[1:], nil
	}
	s := &aggNumVarSlot{}
	buf, err := aggVarints(buf[1:], &s.n)
	if err != nil {
		return buf, err
	}
	for _, dst := range [...]*apd.Decimal{&s.sx, &s.sxx} {
		var d types.Datum
		if d, buf, err = types.DecodeValue(buf, types.TNumeric); err != nil {
			return buf, err
		}
		if d != nil {
			dst.Set(d.(*apd.Decimal))
		}
	}
	a.v[g] = s
	return buf, nil
}

// ---------------------------------------------------------------- bit_and, bit_or, bit_xor

type aggBitSlot struct {
	n    int64
	ones [64]int64
}

// aggBits is bit_and, bit_or or bit_xor.
type aggBits struct {
	aggSlots[*aggBitSlot]
	fn    string
	delta bool // aggDelta
}

func (a *aggBits) fold(g uint32, x, w int64) {
	s := a.v[g]
	if s == nil {
		s = &aggBitSlot{}
		a.v[g] = s
	}
	s.n += w
	udf.BitCount(&s.ones, x, w)
	if s.n == 0 && !a.delta {
		a.v[g] = nil
	}
}

func (a *aggBits) update(ids []uint32, w []int64, args []arrow.Array) error {
	col := args[0]
	for i, g := range ids {
		if w[i] == 0 || col.IsNull(i) {
			continue
		}
		var x int64
		switch c := col.(type) {
		case *array.Int64:
			x = c.Value(i)
		case *array.Int32:
			x = int64(c.Value(i))
		case *array.Int16:
			x = int64(c.Value(i))
		default:
			return fmt.Errorf("%s: unexpected column %s", a.fn, col.DataType())
		}
		a.fold(g, x, w[i])
	}
	return nil
}

func (a *aggBits) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] != nil {
		a.fold(g, args[0].(int64), w)
	}
	return nil
}

func (a *aggBits) result(g uint32) (types.Datum, error) {
	s := a.v[g]
	if s == nil {
		return nil, nil
	}
	return udf.BitFinal(a.fn, s.n, &s.ones), nil
}

// bitsNoRows stands for a row count of 0 in an encoded state whose bit
// counts are not all 0: a delta of two-phase aggregation (an update
// within one group moves no row but changes bits). A count of 0 alone
// is an empty state, and no state counts math.MinInt64 rows.
const bitsNoRows = math.MinInt64

func (a *aggBits) encode(buf []byte, g uint32) []byte {
	s := a.v[g]
	if s == nil || s.n == 0 && s.ones == [64]int64{} {
		return binary.AppendVarint(buf, 0)
	}
	n := s.n
	if n == 0 {
		n = bitsNoRows
	}
	buf = binary.AppendVarint(buf, n)
	for _, c := range s.ones {
		buf = binary.AppendVarint(buf, c)
	}
	return buf
}

func (a *aggBits) decode(buf []byte, g uint32) ([]byte, error) {
	var n int64
	buf, err := aggVarints(buf, &n)
	if err != nil || n == 0 {
		a.v[g] = nil
		return buf, err
	}
	if n == bitsNoRows {
		n = 0
	}
	s := &aggBitSlot{n: n}
	for b := range s.ones {
		if buf, err = aggVarints(buf, &s.ones[b]); err != nil {
			return buf, err
		}
	}
	a.v[g] = s
	return buf, nil
}
