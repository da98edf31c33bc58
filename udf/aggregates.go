package udf

import (
	"cmp"
	"math"
	"math/big"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Aggregate functions as groups accumulators: the state of every group
// lives in slices indexed by group number, and Update folds a whole batch
// in. count, sum, avg, bool_and/bool_or and the numeric variances keep
// state they can subtract from, so they retract; min, max, string_agg,
// array_agg and the float variances cannot (ErrNoRetract).

func (r *registry) addAggregates() {
	r.agg(&Aggregate{Name: "count", Ret: types.TInt8, New: func([]types.T) Accumulator { return &countAcc{star: true} }})
	r.agg(&Aggregate{Name: "count", Args: ts(Any), Ret: types.TInt8, New: func([]types.T) Accumulator { return &countAcc{} }})

	sumRet := map[types.Kind]types.T{types.Int2: types.TInt8, types.Int4: types.TInt8, types.Int8: types.TNumeric,
		types.Float4: types.TFloat4, types.Float8: types.TFloat8, types.Numeric: types.TNumeric, types.Interval: types.TInterval}
	for _, in := range []types.T{types.TInt2, types.TInt4, types.TInt8, types.TFloat4, types.TFloat8, types.TNumeric, types.TInterval} {
		in := in
		ret := sumRet[in.Kind]
		r.agg(&Aggregate{Name: "sum", Args: ts(in), Ret: ret, New: func([]types.T) Accumulator { return newSumAcc(in, ret, false) }})
		avgRet := types.TNumeric
		switch in.Kind {
		case types.Float4, types.Float8:
			avgRet = types.TFloat8
		case types.Interval:
			avgRet = types.TInterval
		}
		r.agg(&Aggregate{Name: "avg", Args: ts(in), Ret: avgRet, New: func([]types.T) Accumulator { return newSumAcc(in, avgRet, true) }})
	}
	for _, t := range []types.T{types.TInt2, types.TInt4, types.TInt8, types.TFloat4, types.TFloat8, types.TNumeric,
		types.TText, {Kind: types.Char}, types.TDate, types.TTime, types.TTimestamp, types.TTimestampTZ, types.TInterval, types.TOid, types.TBytea} {
		t := t
		for _, least := range []bool{true, false} {
			name := "max"
			if least {
				name = "min"
			}
			least := least
			r.agg(&Aggregate{Name: name, Args: ts(t), Ret: t, RetFn: func(a []types.T) types.T { return a[0] },
				New: func(a []types.T) Accumulator { return &minMaxAcc{t: a[0], least: least} }})
		}
	}
	for _, name := range []string{"bool_and", "every", "bool_or"} {
		or := name == "bool_or"
		r.agg(&Aggregate{Name: name, Args: ts(types.TBool), Ret: types.TBool, New: func([]types.T) Accumulator { return &boolAcc{or: or} }})
	}
	r.agg(&Aggregate{Name: "string_agg", Args: ts(types.TText, types.TText), Ret: types.TText, Ordered: true,
		New: func([]types.T) Accumulator { return &stringAggAcc{} }})
	r.agg(&Aggregate{Name: "string_agg", Args: ts(types.TBytea, types.TBytea), Ret: types.TBytea, Ordered: true,
		New: func([]types.T) Accumulator { return &stringAggAcc{bytea: true} }})
	r.agg(&Aggregate{Name: "array_agg", Args: ts(Any), Ordered: true,
		RetFn: func(a []types.T) types.T { e := a[0]; return types.T{Kind: types.Array, Elem: &e} },
		New:   func(a []types.T) Accumulator { return &arrayAggAcc{t: a[0]} }})
	for _, v := range []struct {
		name          string
		sample, sqrtd bool
	}{{"stddev", true, true}, {"stddev_samp", true, true}, {"stddev_pop", false, true},
		{"variance", true, false}, {"var_samp", true, false}, {"var_pop", false, false}} {
		v := v
		for _, in := range []types.T{types.TInt2, types.TInt4, types.TInt8, types.TNumeric} {
			r.agg(&Aggregate{Name: v.name, Args: ts(in), Ret: types.TNumeric,
				New: func([]types.T) Accumulator { return &numVarAcc{sample: v.sample, sqrt: v.sqrtd} }})
		}
		for _, in := range []types.T{types.TFloat4, types.TFloat8} {
			r.agg(&Aggregate{Name: v.name, Args: ts(in), Ret: types.TFloat8,
				New: func([]types.T) Accumulator { return &floatVarAcc{sample: v.sample, sqrt: v.sqrtd} }})
		}
	}
}

func growTo[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	if cap(s) >= n {
		return s[:n]
	}
	out := make([]T, n, max(n, 2*cap(s)))
	copy(out, s)
	return out
}

// countAcc is count(*) and count(x).
type countAcc struct {
	star bool
	n    []int64
}

func (a *countAcc) update(groups []uint32, numGroups int, args []arrow.Array, n int, d int64) error {
	a.n = growTo(a.n, numGroups)
	if a.star || args[0].NullN() == 0 {
		for _, g := range groups[:n] {
			if g != SkipRow {
				a.n[g] += d
			}
		}
		return nil
	}
	for i, g := range groups[:n] {
		if g != SkipRow && args[0].IsValid(i) {
			a.n[g] += d
		}
	}
	return nil
}

func (a *countAcc) Update(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, 1)
}
func (a *countAcc) Retract(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, -1)
}
func (a *countAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.n = growTo(a.n, ng)
	return makeInt64(append([]int64(nil), a.n[:ng]...), nil), nil
}
func (a *countAcc) Release() { a.n = nil }

// sumAcc is sum and avg over every input kind. Integers are summed in
// int64 and spill into a big.Int on overflow, so sums stay exact under
// retraction.
type sumAcc struct {
	in, ret types.T
	avg     bool
	cnt     []int64
	isum    []int64
	big     []*big.Int
	fsum    []float64
	dsum    []*apd.Decimal
	iv      []types.IntervalValue
}

func newSumAcc(in, ret types.T, avg bool) *sumAcc { return &sumAcc{in: in, ret: ret, avg: avg} }

func (a *sumAcc) grow(ng int) {
	a.cnt = growTo(a.cnt, ng)
	switch a.in.Kind {
	case types.Int2, types.Int4, types.Int8:
		a.isum = growTo(a.isum, ng)
		a.big = growTo(a.big, ng)
	case types.Float4, types.Float8:
		a.fsum = growTo(a.fsum, ng)
	case types.Numeric:
		a.dsum = growTo(a.dsum, ng)
	case types.Interval:
		a.iv = growTo(a.iv, ng)
	}
}

func (a *sumAcc) addInt(g uint32, v int64) {
	s := a.isum[g]
	r := s + v
	if ((s ^ r) & (v ^ r)) < 0 {
		if a.big[g] == nil {
			a.big[g] = new(big.Int)
		}
		a.big[g].Add(a.big[g], big.NewInt(s))
		a.big[g].Add(a.big[g], big.NewInt(v))
		r = 0
	}
	a.isum[g] = r
}

func (a *sumAcc) update(groups []uint32, ng int, args []arrow.Array, n int, sign int64) error {
	a.grow(ng)
	col := args[0]
	hasNull := col.NullN() > 0
	switch c := col.(type) {
	case *array.Int64:
		vals := c.Int64Values()
		for i, g := range groups[:n] {
			if g == SkipRow || (hasNull && c.IsNull(i)) {
				continue
			}
			a.cnt[g] += sign
			v := vals[i]
			if sign < 0 {
				if v == math.MinInt64 {
					a.addInt(g, math.MaxInt64)
					v = 1
				} else {
					v = -v
				}
			}
			a.addInt(g, v)
		}
	case *array.Int32, *array.Int16:
		vals := asInt64s(c)
		for i, g := range groups[:n] {
			if g == SkipRow || (hasNull && c.IsNull(i)) {
				continue
			}
			a.cnt[g] += sign
			a.addInt(g, sign*vals[i])
		}
	case *array.Float64, *array.Float32:
		vals := asFloat64s(c)
		for i, g := range groups[:n] {
			if g == SkipRow || (hasNull && c.IsNull(i)) {
				continue
			}
			a.cnt[g] += sign
			a.fsum[g] += float64(sign) * vals[i]
		}
	case *array.String:
		for i, g := range groups[:n] {
			if g == SkipRow || c.IsNull(i) {
				continue
			}
			d, err := decimalAt(c, i)
			if err != nil {
				return err
			}
			a.cnt[g] += sign
			if a.dsum[g] == nil {
				a.dsum[g] = new(apd.Decimal)
			}
			if sign > 0 {
				_, err = types.DecimalCtx.Add(a.dsum[g], a.dsum[g], d)
			} else {
				_, err = types.DecimalCtx.Sub(a.dsum[g], a.dsum[g], d)
			}
			if err != nil {
				return sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
			}
		}
	case *array.MonthDayNanoInterval:
		vals := c.MonthDayNanoIntervalValues()
		for i, g := range groups[:n] {
			if g == SkipRow || c.IsNull(i) {
				continue
			}
			a.cnt[g] += sign
			v := ivOf(vals[i])
			s := &a.iv[g]
			s.Months += int32(sign) * v.Months
			s.Days += int32(sign) * v.Days
			s.Micros += sign * v.Micros
		}
	}
	return nil
}

func (a *sumAcc) Update(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, 1)
}
func (a *sumAcc) Retract(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, -1)
}
func (a *sumAcc) Release() { *a = sumAcc{in: a.in, ret: a.ret, avg: a.avg} }

// intSum returns group g's exact integer sum.
func (a *sumAcc) intSum(g int) *big.Int {
	s := big.NewInt(a.isum[g])
	if a.big[g] != nil {
		s.Add(s, a.big[g])
	}
	return s
}

func (a *sumAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.grow(ng)
	b := types.NewBuilder(a.ret)
	defer b.Release()
	b.Reserve(ng)
	for g := 0; g < ng; g++ {
		if a.cnt[g] == 0 {
			b.AppendNull()
			continue
		}
		d, err := a.result(g)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(b, d)
	}
	return b.NewArray(), nil
}

func (a *sumAcc) result(g int) (types.Datum, error) {
	switch a.in.Kind {
	case types.Int2, types.Int4, types.Int8:
		s := a.intSum(g)
		if !a.avg {
			if a.ret.Kind == types.Int8 {
				if !s.IsInt64() {
					return nil, types.ErrIntRange(types.Int8)
				}
				return s.Int64(), nil
			}
			return apd.NewWithBigInt(new(apd.BigInt).SetMathBigInt(s), 0), nil
		}
		sum := apd.NewWithBigInt(new(apd.BigInt).SetMathBigInt(s), 0)
		return NumericOp('/', sum, apd.New(a.cnt[g], 0))
	case types.Float4, types.Float8:
		if a.avg {
			return a.fsum[g] / float64(a.cnt[g]), nil
		}
		return a.fsum[g], nil
	case types.Numeric:
		s := a.dsum[g]
		if s == nil {
			s = new(apd.Decimal)
		}
		if a.avg {
			return NumericOp('/', s, apd.New(a.cnt[g], 0))
		}
		r := new(apd.Decimal).Set(s)
		return r, nil
	case types.Interval:
		if a.avg {
			return IntervalDiv(a.iv[g], float64(a.cnt[g]))
		}
		return a.iv[g], nil
	}
	return nil, nil
}

// IntervalDiv divides an interval by a number as interval_div does:
// fractional months spill into days (30 per month) and fractional days
// into microseconds.
func IntervalDiv(iv types.IntervalValue, f float64) (types.IntervalValue, error) {
	if f == 0 {
		return iv, errDivZero()
	}
	return IntervalMul(iv, 1/f)
}

// IntervalMul multiplies an interval by a number (interval_mul).
func IntervalMul(iv types.IntervalValue, f float64) (types.IntervalValue, error) {
	months := float64(iv.Months) * f
	days := float64(iv.Days) * f
	if math.IsNaN(months) || math.Abs(months) > math.MaxInt32 || math.Abs(days) > math.MaxInt32 {
		return iv, sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
	}
	rm := int32(months)
	rd := int32(days)
	monthRem := months - float64(rm)
	sec := monthRem * 30
	extraDays := math.Trunc(sec)
	rd += int32(extraDays)
	dayRem := days - float64(int32(days)) + (sec - extraDays)
	micros := float64(iv.Micros)*f + dayRem*float64(types.MicrosPerDay)
	if dayRem != 0 {
		// whole days from the fractional part stay in days, as
		// PostgreSQL's interval_mul does via day_remainder.
		extra := math.Trunc(dayRem)
		rd += int32(extra)
		micros = float64(iv.Micros)*f + (dayRem-extra)*float64(types.MicrosPerDay)
	}
	return types.IntervalValue{Months: rm, Days: rd, Micros: int64(math.RoundToEven(micros))}, nil
}

// minMaxAcc is min and max over any ordered type.
type minMaxAcc struct {
	t     types.T
	least bool
	has   []bool
	ints  []int64
	vals  []types.Datum
}

func (a *minMaxAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.has = growTo(a.has, ng)
	col := args[0]
	if c, ok := col.(*array.Int64); ok && a.t.Kind != types.Oid {
		a.ints = growTo(a.ints, ng)
		vals := c.Int64Values()
		for i, g := range groups[:n] {
			if g == SkipRow || c.IsNull(i) {
				continue
			}
			v := vals[i]
			if !a.has[g] || (a.least && v < a.ints[g]) || (!a.least && v > a.ints[g]) {
				a.ints[g], a.has[g] = v, true
			}
		}
		return nil
	}
	a.vals = growTo(a.vals, ng)
	cmp := datumCompare(a.t)
	for i, g := range groups[:n] {
		if g == SkipRow || col.IsNull(i) {
			continue
		}
		d := types.GetDatum(col, i, a.t)
		if !a.has[g] {
			a.vals[g], a.has[g] = d, true
			continue
		}
		c := cmp(d, a.vals[g])
		if (a.least && c < 0) || (!a.least && c > 0) {
			a.vals[g] = d
		}
	}
	return nil
}

func (a *minMaxAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *minMaxAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.has = growTo(a.has, ng)
	b := types.NewBuilder(a.t)
	defer b.Release()
	for g := 0; g < ng; g++ {
		switch {
		case !a.has[g]:
			b.AppendNull()
		case a.ints != nil:
			types.AppendDatum(b, a.ints[g])
		default:
			types.AppendDatum(b, a.vals[g])
		}
	}
	return b.NewArray(), nil
}

func (a *minMaxAcc) Release() { a.has, a.ints, a.vals = nil, nil, nil }

// datumCompare returns the ordering of non-NULL datums of type t.
func datumCompare(t types.T) func(a, b types.Datum) int {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8, types.Oid:
		return func(a, b types.Datum) int { return cmp.Compare(a.(int64), b.(int64)) }
	case types.Float4, types.Float8:
		return func(a, b types.Datum) int { return types.CompareFloat(a.(float64), b.(float64)) }
	case types.Numeric:
		return func(a, b types.Datum) int { return a.(*apd.Decimal).Cmp(b.(*apd.Decimal)) }
	case types.Char:
		return func(a, b types.Datum) int {
			return strings.Compare(strings.TrimRight(a.(string), " "), strings.TrimRight(b.(string), " "))
		}
	case types.Interval:
		return func(a, b types.Datum) int { return CompareInterval(a.(types.IntervalValue), b.(types.IntervalValue)) }
	case types.Bool:
		return func(a, b types.Datum) int { return types.CompareBool(a.(bool), b.(bool)) }
	case types.DateKind:
		return func(a, b types.Datum) int { return cmp.Compare(int64(a.(types.Date)), int64(b.(types.Date))) }
	case types.Time:
		return func(a, b types.Datum) int { return cmp.Compare(int64(a.(types.TimeOfDay)), int64(b.(types.TimeOfDay))) }
	case types.TimestampKind, types.TimestampTZ:
		return func(a, b types.Datum) int { return cmp.Compare(int64(a.(types.Timestamp)), int64(b.(types.Timestamp))) }
	case types.Bytea:
		return func(a, b types.Datum) int { return strings.Compare(string(a.([]byte)), string(b.([]byte))) }
	}
	return func(a, b types.Datum) int { return strings.Compare(a.(string), b.(string)) }
}

// boolAcc is bool_and/every (no false seen) and bool_or (a true seen),
// kept as counts so rows can be retracted.
type boolAcc struct {
	or         bool
	trues, all []int64
}

func (a *boolAcc) update(groups []uint32, ng int, args []arrow.Array, n int, d int64) error {
	a.trues, a.all = growTo(a.trues, ng), growTo(a.all, ng)
	c := args[0].(*array.Boolean)
	for i, g := range groups[:n] {
		if g == SkipRow || c.IsNull(i) {
			continue
		}
		a.all[g] += d
		if c.Value(i) {
			a.trues[g] += d
		}
	}
	return nil
}

func (a *boolAcc) Update(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, 1)
}
func (a *boolAcc) Retract(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, -1)
}
func (a *boolAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.trues, a.all = growTo(a.trues, ng), growTo(a.all, ng)
	vals := make([]bool, ng)
	nulls := make([]bool, ng)
	for g := 0; g < ng; g++ {
		if a.all[g] == 0 {
			nulls[g] = true
		} else if a.or {
			vals[g] = a.trues[g] > 0
		} else {
			vals[g] = a.trues[g] == a.all[g]
		}
	}
	return makeBool(vals, nullsToValidity(nulls)), nil
}
func (a *boolAcc) Release() { a.trues, a.all = nil, nil }

func nullsToValidity(nulls []bool) *memory.Buffer {
	var out []byte
	for i, nl := range nulls {
		if nl {
			if out == nil {
				out = make([]byte, (len(nulls)+7)/8)
				for j := range out {
					out[j] = 0xff
				}
			}
			out[i/8] &^= 1 << (i % 8)
		}
	}
	return bufOf(out)
}

// stringAggAcc is string_agg(value, delimiter) in input order.
type stringAggAcc struct {
	bytea bool
	buf   [][]byte
	has   []bool
	size  int64 // bytes appended to buf
}

// Size implements SizedAccumulator.
func (a *stringAggAcc) Size() int64 { return a.size + int64(cap(a.buf))*25 }

func (a *stringAggAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.buf, a.has = growTo(a.buf, ng), growTo(a.has, ng)
	val := func(arr arrow.Array, i int) []byte {
		if s, ok := arr.(*array.String); ok {
			return []byte(s.Value(i))
		}
		return arr.(*array.Binary).Value(i)
	}
	for i, g := range groups[:n] {
		if g == SkipRow || args[0].IsNull(i) {
			continue
		}
		if a.has[g] && args[1].IsValid(i) {
			d := val(args[1], i)
			a.buf[g] = append(a.buf[g], d...)
			a.size += int64(len(d))
		}
		v := val(args[0], i)
		a.buf[g] = append(a.buf[g], v...)
		a.size += int64(len(v))
		a.has[g] = true
	}
	return nil
}

func (a *stringAggAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *stringAggAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.buf, a.has = growTo(a.buf, ng), growTo(a.has, ng)
	t := types.TText
	if a.bytea {
		t = types.TBytea
	}
	b := types.NewBuilder(t)
	defer b.Release()
	for g := 0; g < ng; g++ {
		switch {
		case !a.has[g]:
			b.AppendNull()
		case a.bytea:
			types.AppendDatum(b, a.buf[g])
		default:
			types.AppendDatum(b, string(a.buf[g]))
		}
	}
	return b.NewArray(), nil
}
func (a *stringAggAcc) Release() { a.buf, a.has, a.size = nil, nil, 0 }

// arrayAggAcc is array_agg, producing array text ({1,2,NULL}).
type arrayAggAcc struct {
	t     types.T
	elems [][]string // "" with null flag encoded as nil entry in nulls
	nulls [][]bool
	has   []bool
	size  int64 // bytes of the element texts
}

// Size implements SizedAccumulator.
func (a *arrayAggAcc) Size() int64 { return a.size + int64(cap(a.elems))*49 }

func (a *arrayAggAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.elems, a.nulls, a.has = growTo(a.elems, ng), growTo(a.nulls, ng), growTo(a.has, ng)
	t := a.t
	if t.Kind == types.Unknown {
		t = types.TText
	}
	for i, g := range groups[:n] {
		if g == SkipRow {
			continue
		}
		a.has[g] = true
		d := types.GetDatum(args[0], i, t)
		if d == nil {
			a.elems[g] = append(a.elems[g], "")
			a.nulls[g] = append(a.nulls[g], true)
			a.size += 17
			continue
		}
		e := types.FormatText(d, t, nil)
		a.elems[g] = append(a.elems[g], e)
		a.nulls[g] = append(a.nulls[g], false)
		a.size += int64(len(e)) + 17
	}
	return nil
}

func (a *arrayAggAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *arrayAggAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.elems, a.nulls, a.has = growTo(a.elems, ng), growTo(a.nulls, ng), growTo(a.has, ng)
	b := array.NewStringBuilder(types.Mem)
	defer b.Release()
	for g := 0; g < ng; g++ {
		if !a.has[g] {
			b.AppendNull()
			continue
		}
		b.Append(FormatArrayText(a.elems[g], a.nulls[g]))
	}
	return b.NewArray(), nil
}
func (a *arrayAggAcc) Release() { a.elems, a.nulls, a.has, a.size = nil, nil, nil, 0 }

// FormatArrayText renders array elements (already in text form) as
// PostgreSQL array text, quoting where array_out does.
func FormatArrayText(elems []string, nulls []bool) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, s := range elems {
		if i > 0 {
			sb.WriteByte(',')
		}
		if nulls != nil && nulls[i] {
			sb.WriteString("NULL")
			continue
		}
		if s == "" || strings.ContainsAny(s, "{},\"\\ \t\n\r\v\f") || strings.EqualFold(s, "null") {
			sb.WriteByte('"')
			for _, c := range s {
				if c == '"' || c == '\\' {
					sb.WriteByte('\\')
				}
				sb.WriteRune(c)
			}
			sb.WriteByte('"')
		} else {
			sb.WriteString(s)
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

// numVarAcc is the variance family over integers and numerics, computed
// exactly from N, sum(x) and sum(x*x) as numeric.c does.
type numVarAcc struct {
	sample, sqrt bool
	n            []int64
	sx, sxx      []*apd.Decimal
}

func (a *numVarAcc) update(groups []uint32, ng int, args []arrow.Array, n int, sign int64) error {
	a.n, a.sx, a.sxx = growTo(a.n, ng), growTo(a.sx, ng), growTo(a.sxx, ng)
	col := args[0]
	var ints []int64
	if _, ok := col.(*array.String); !ok {
		ints = asInt64s(col)
	}
	ctx := *types.DecimalCtx
	var d apd.Decimal
	var sq apd.Decimal
	for i, g := range groups[:n] {
		if g == SkipRow || col.IsNull(i) {
			continue
		}
		if ints != nil {
			d.SetInt64(ints[i])
		} else {
			v, err := decimalAt(col.(*array.String), i)
			if err != nil {
				return err
			}
			d.Set(v)
		}
		if a.sx[g] == nil {
			a.sx[g], a.sxx[g] = new(apd.Decimal), new(apd.Decimal)
		}
		_, _ = ctx.Mul(&sq, &d, &d)
		a.n[g] += sign
		if sign > 0 {
			_, _ = ctx.Add(a.sx[g], a.sx[g], &d)
			_, _ = ctx.Add(a.sxx[g], a.sxx[g], &sq)
		} else {
			_, _ = ctx.Sub(a.sx[g], a.sx[g], &d)
			_, _ = ctx.Sub(a.sxx[g], a.sxx[g], &sq)
		}
	}
	return nil
}

func (a *numVarAcc) Update(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, 1)
}
func (a *numVarAcc) Retract(g []uint32, ng int, args []arrow.Array, n int) error {
	return a.update(g, ng, args, n, -1)
}

func (a *numVarAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.n, a.sx, a.sxx = growTo(a.n, ng), growTo(a.sx, ng), growTo(a.sxx, ng)
	b := array.NewStringBuilder(types.Mem)
	defer b.Release()
	for g := 0; g < ng; g++ {
		N := a.n[g]
		if N == 0 || (a.sample && N == 1) {
			b.AppendNull()
			continue
		}
		b.Append(numText(numericVariance(N, a.sx[g], a.sxx[g], a.sample, a.sqrt)))
	}
	return b.NewArray(), nil
}

// numericVariance is numeric_stddev_internal.
func numericVariance(N int64, sx, sxx *apd.Decimal, sample, sqrt bool) *apd.Decimal {
	ctx := *types.DecimalCtx
	vN := apd.New(N, 0)
	var sumX2, nSxx, num, den apd.Decimal
	_, _ = ctx.Mul(&sumX2, sx, sx)
	_, _ = ctx.Mul(&nSxx, vN, sxx)
	_, _ = ctx.Sub(&num, &nSxx, &sumX2)
	if num.Sign() <= 0 {
		// A zero (or, from roundoff, negative) numerator: PostgreSQL
		// returns its constant zero, of scale 0.
		return new(apd.Decimal)
	}
	if sample {
		den.SetInt64(N * (N - 1))
	} else {
		den.SetInt64(N * N)
	}
	rscale := divScale(&num, &den)
	res := new(apd.Decimal)
	_, _ = ctx.Quo(res, &num, &den)
	if sqrt {
		_, _ = ctx.Sqrt(res, res)
	}
	_, _ = ctx.Quantize(res, res, -rscale)
	return res
}

func (a *numVarAcc) Release() { a.n, a.sx, a.sxx = nil, nil, nil }

// floatVarAcc is the variance family over floats (Youngs-Cramer, as
// float8_accum).
type floatVarAcc struct {
	sample, sqrt bool
	n, sx, sxx   []float64
}

func (a *floatVarAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.n, a.sx, a.sxx = growTo(a.n, ng), growTo(a.sx, ng), growTo(a.sxx, ng)
	vals := asFloat64s(args[0])
	for i, g := range groups[:n] {
		if g == SkipRow || args[0].IsNull(i) {
			continue
		}
		x := vals[i]
		a.n[g]++
		a.sx[g] += x
		if N := a.n[g]; N > 1 {
			tmp := x*N - a.sx[g]
			a.sxx[g] += tmp * tmp / (N * (N - 1))
		}
	}
	return nil
}

func (a *floatVarAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *floatVarAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.n, a.sx, a.sxx = growTo(a.n, ng), growTo(a.sx, ng), growTo(a.sxx, ng)
	out := make([]float64, ng)
	nulls := make([]bool, ng)
	for g := 0; g < ng; g++ {
		N := a.n[g]
		if N == 0 || (a.sample && N == 1) {
			nulls[g] = true
			continue
		}
		d := N
		if a.sample {
			d = N - 1
		}
		v := a.sxx[g] / d
		if a.sqrt {
			v = math.Sqrt(v)
		}
		out[g] = v
	}
	return makeFloat64(out, nullsToValidity(nulls)), nil
}
func (a *floatVarAcc) Release() { a.n, a.sx, a.sxx = nil, nil, nil }
