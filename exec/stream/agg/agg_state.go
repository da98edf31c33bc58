package agg

// Retractable aggregate state for the streaming hash aggregation
// (hash_agg.go).
//
// Every aggregate call of a HashAgg has one aggState holding the state of
// all groups, indexed by group id, so a chunk folds in with one tight loop
// per aggregate over the typed Arrow values. Each row carries a weight:
// +1 (insert), -1 (delete) or 0 (filtered out, late, NULL where it
// matters); state is kept in a form that a -1 undoes exactly:
//
//	count            a count per group
//	sum, avg         integers: a 128-bit sum and a non-NULL count;
//	                 floats: a float64 sum of the finite values plus counts
//	                 of NaN, +Infinity and -Infinity;
//	                 numeric: an exact apd sum of the finite values, the
//	                 NaN/±Infinity counts and a count per display scale
//	                 (PostgreSQL shows the largest scale of the live inputs);
//	                 interval: month, day and microsecond sums
//	bool_and/or      counts of true and of non-NULL values
//	min, max         append-only input: the extreme; otherwise a multiset
//	                 value -> count (deleting the extreme finds the next)
//	string_agg       a multiset (value, delimiter) -> count, concatenated in
//	                 key order (deterministic; PostgreSQL leaves it open)
//	DISTINCT x       a multiset of argument tuples -> count in front of the
//	                 inner state, which sees a tuple when its count leaves
//	                 or reaches 0
//	user aggregates  with retraction: the aggregate's own state per group
//	                 (agg_user.go); without: as anything else
//	anything else    a multiset of argument tuples, and the result is
//	                 recomputed with the registry's accumulator when asked
//
// A multiset keeps every entry in memory (the value key is the
// order-preserving types.AppendKey encoding of the values, so byte order is
// SQL order) and remembers the entries changed since the last checkpoint;
// it is persisted one state-table row per entry (see hash_agg.go).

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// aggState is the state of one aggregate call for every group.
type aggState interface {
	// grow makes room for group ids below n; new slots are empty.
	grow(n int)
	// reset empties group g (its id is freed for reuse).
	reset(g uint32)
	// update folds row i of args into group ids[i] with weight w[i].
	update(ids []uint32, w []int64, args []arrow.Array) error
	// updateRow folds one argument tuple into group g with weight w.
	updateRow(g uint32, args []types.Datum, w int64) error
	// result is group g's current value.
	result(g uint32) (types.Datum, error)
	// encode appends group g's compact state (the part that is not in a
	// multiset); decode reads it back and returns the rest of buf.
	encode(buf []byte, g uint32) []byte
	decode(buf []byte, g uint32) ([]byte, error)
	// set returns group g's multiset, or nil when the aggregate keeps
	// none; load restores one persisted multiset entry.
	set(g uint32) *aggMultiset
	load(g uint32, key []byte, n int64, vals []types.Datum) error
}

// aggWeights maps an Op to its weight.
var aggWeights = [4]int64{stream.Insert: 1, stream.Delete: -1, stream.UpdateDelete: -1, stream.UpdateInsert: 1}

// newAggState returns the state for one aggregate call. rowCount is the
// operator's per-group row count, which count(*) without FILTER or
// DISTINCT simply reads.
func newAggState(a batch.AggSpec, appendOnly bool, rowCount *[]int64, env *stream.Env) (aggState, error) {
	name := strings.ToLower(a.Agg.Name)
	if a.Distinct {
		inner := a
		inner.Distinct = false
		in, err := newAggState(inner, appendOnly, nil, env)
		if err != nil {
			return nil, err
		}
		return &aggDistinct{inner: in, aggSetState: setState(a.ArgTypes)}, nil
	}
	if a.Agg.User && !a.Ordered() {
		// A user aggregate with ORDER BY (an ordered-set one, or a call
		// with ORDER BY) is folded again in order (aggOrdered).
		return newAggUser(a, env), nil
	}
	if st, ok := newAggStateMore(a, env); ok {
		return st, nil
	}
	var in types.T
	if len(a.ArgTypes) > 0 {
		in = a.ArgTypes[0]
	}
	switch {
	case name == "count" && len(a.Args) == 0:
		if a.Filter < 0 && rowCount != nil {
			return &aggRowCount{n: rowCount}, nil
		}
		return &aggCount{star: true}, nil
	case name == "count" && len(a.Args) == 1:
		return &aggCount{}, nil
	case (name == "sum" || name == "avg") && len(a.Args) == 1:
		avg := name == "avg"
		switch in.Kind {
		case types.Int2, types.Int4, types.Int8:
			return &aggSumInt{avg: avg, ret: a.T}, nil
		case types.Float4, types.Float8:
			return &aggSumFloat{avg: avg}, nil
		case types.Numeric:
			return &aggSumNumeric{avg: avg}, nil
		case types.Interval:
			return &aggSumInterval{avg: avg}, nil
		}
	case (name == "min" || name == "max") && len(a.Args) == 1:
		if appendOnly {
			return &aggMinMaxAppend{t: in, least: name == "min"}, nil
		}
		return &aggMinMax{t: in, least: name == "min", aggSetState: setState(a.ArgTypes)}, nil
	case (name == "bool_and" || name == "every" || name == "bool_or") && len(a.Args) == 1:
		return &aggBool{or: name == "bool_or"}, nil
	case name == "string_agg" && len(a.Args) == 2:
		return &aggStringAgg{bytea: in.Kind == types.Bytea, aggSetState: setState(a.ArgTypes)}, nil
	}
	if a.Agg.New == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "aggregate %s is not supported in streaming queries", a.Agg.Name)
	}
	return &aggRecompute{spec: a, env: env, aggSetState: setState(a.ArgTypes)}, nil
}

// aggVarint reads a zig-zag varint.
func aggVarint(buf []byte) (int64, []byte, error) {
	v, k := binary.Varint(buf)
	if k <= 0 {
		return 0, buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate state")
	}
	return v, buf[k:], nil
}

// aggVarints reads len(dst) zig-zag varints into dst.
func aggVarints(buf []byte, dst ...*int64) ([]byte, error) {
	var err error
	for _, p := range dst {
		if *p, buf, err = aggVarint(buf); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// aggNoSets is embedded by states without a multiset.
type aggNoSets struct{}

func (aggNoSets) set(uint32) *aggMultiset { return nil }
func (aggNoSets) noSets()                 {}
func (aggNoSets) load(uint32, []byte, int64, []types.Datum) error {
	return sqlerr.New(sqlerr.DataCorrupted, "multiset entry for an aggregate without one")
}

// aggSlots is the state of an aggregate without a multiset: one slot of
// S per group id, the zero S for an empty group.
type aggSlots[S any] struct {
	aggNoSets
	v []S
}

func (a *aggSlots[S]) grow(n int) { a.v = stream.Grow(a.v, n) }

func (a *aggSlots[S]) reset(g uint32) {
	var zero S
	a.v[g] = zero
}

// ---------------------------------------------------------------- count

// aggRowCount is count(*) without FILTER: the group's row count itself.
type aggRowCount struct {
	aggNoSets
	n *[]int64
}

func (a *aggRowCount) grow(int)                                      {}
func (a *aggRowCount) reset(uint32)                                  {}
func (a *aggRowCount) update([]uint32, []int64, []arrow.Array) error { return nil }
func (a *aggRowCount) updateRow(uint32, []types.Datum, int64) error  { return nil }
func (a *aggRowCount) result(g uint32) (types.Datum, error)          { return (*a.n)[g], nil }
func (a *aggRowCount) encode(buf []byte, _ uint32) []byte            { return buf }
func (a *aggRowCount) decode(buf []byte, _ uint32) ([]byte, error)   { return buf, nil }

// aggCount is count(*) with FILTER, and count(x).
type aggCount struct {
	aggSlots[int64]
	star bool
}

func (a *aggCount) update(ids []uint32, w []int64, args []arrow.Array) error {
	cnt := a.v
	if a.star || args[0].NullN() == 0 {
		for i, g := range ids {
			cnt[g] += w[i]
		}
		return nil
	}
	col := args[0]
	for i, g := range ids {
		if col.IsValid(i) {
			cnt[g] += w[i]
		}
	}
	return nil
}

func (a *aggCount) updateRow(g uint32, args []types.Datum, w int64) error {
	if a.star || args[0] != nil {
		a.v[g] += w
	}
	return nil
}

func (a *aggCount) result(g uint32) (types.Datum, error) { return a.v[g], nil }
func (a *aggCount) encode(buf []byte, g uint32) []byte   { return binary.AppendVarint(buf, a.v[g]) }
func (a *aggCount) decode(buf []byte, g uint32) ([]byte, error) {
	return aggVarints(buf, &a.v[g])
}

// ---------------------------------------------------------------- sum/avg of integers

// aggInt128 is a two's complement 128-bit integer: hi*2^64 + lo.
type aggInt128 struct {
	lo uint64
	hi int64
}

func (x *aggInt128) add(v int64) {
	l, c := bits.Add64(x.lo, uint64(v), 0)
	x.lo = l
	x.hi += v>>63 + int64(c)
}

func (x *aggInt128) sub(v int64) {
	l, b := bits.Sub64(x.lo, uint64(v), 0)
	x.lo = l
	x.hi -= v>>63 + int64(b)
}

// int64 returns x and whether it fits.
func (x aggInt128) int64() (int64, bool) { return int64(x.lo), x.hi == int64(x.lo)>>63 }

func (x aggInt128) decimal() *apd.Decimal {
	if v, ok := x.int64(); ok {
		return apd.New(v, 0)
	}
	b := new(big.Int).SetInt64(x.hi)
	b.Lsh(b, 64)
	b.Add(b, new(big.Int).SetUint64(x.lo))
	return apd.NewWithBigInt(new(apd.BigInt).SetMathBigInt(b), 0)
}

type aggIntSlot struct {
	sum aggInt128
	cnt int64
}

// fold takes in x with weight w (a retraction when negative); the
// vector and the row paths both go through it.
func (s *aggIntSlot) fold(x, w int64) {
	s.cnt += w
	if w > 0 {
		s.sum.add(x)
	} else {
		s.sum.sub(x)
	}
}

// aggSumInt is sum and avg over smallint, integer and bigint.
type aggSumInt struct {
	aggSlots[aggIntSlot]
	avg bool
	ret types.T
}

func (a *aggSumInt) update(ids []uint32, w []int64, args []arrow.Array) error {
	col := args[0]
	switch c := col.(type) {
	case *array.Int64:
		aggSumInts(a.v, ids, w, c.Int64Values(), col)
	case *array.Int32:
		aggSumInts(a.v, ids, w, c.Int32Values(), col)
	case *array.Int16:
		aggSumInts(a.v, ids, w, c.Int16Values(), col)
	case *array.Null:
	default:
		return fmt.Errorf("sum: unexpected column %s", col.DataType())
	}
	return nil
}

func aggSumInts[V int16 | int32 | int64](v []aggIntSlot, ids []uint32, w []int64, vals []V, col arrow.Array) {
	nulls := col.NullN() > 0
	for i, g := range ids {
		wi := w[i]
		if wi == 0 || (nulls && col.IsNull(i)) {
			continue
		}
		v[g].fold(int64(vals[i]), wi)
	}
}

func (a *aggSumInt) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] != nil {
		a.v[g].fold(args[0].(int64), w)
	}
	return nil
}

func (a *aggSumInt) result(g uint32) (types.Datum, error) {
	s := a.v[g]
	if s.cnt == 0 {
		return nil, nil
	}
	if a.avg {
		return udf.NumericOp('/', s.sum.decimal(), apd.New(s.cnt, 0))
	}
	if a.ret.Kind == types.Numeric {
		return s.sum.decimal(), nil
	}
	v, ok := s.sum.int64()
	if !ok {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "bigint out of range")
	}
	return v, nil
}

func (a *aggSumInt) encode(buf []byte, g uint32) []byte {
	s := a.v[g]
	buf = binary.AppendVarint(buf, s.cnt)
	buf = binary.AppendVarint(buf, s.sum.hi)
	return binary.AppendUvarint(buf, s.sum.lo)
}

func (a *aggSumInt) decode(buf []byte, g uint32) ([]byte, error) {
	s := &a.v[g]
	buf, err := aggVarints(buf, &s.cnt, &s.sum.hi)
	if err != nil {
		return buf, err
	}
	lo, k := binary.Uvarint(buf)
	if k <= 0 {
		return buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate state")
	}
	s.sum.lo = lo
	return buf[k:], nil
}

// ---------------------------------------------------------------- sum/avg of floats

// aggSpecials counts the non-finite inputs of a sum, which cannot be
// subtracted back out of a running sum.
type aggSpecials struct{ nan, pinf, ninf int64 }

func (s *aggSpecials) add(neg, inf bool, w int64) {
	switch {
	case !inf:
		s.nan += w
	case neg:
		s.ninf += w
	default:
		s.pinf += w
	}
}

// kind is 0 when every input is finite, else the class of the result:
// 1 NaN, 2 +Infinity, 3 -Infinity.
func (s aggSpecials) kind() int {
	switch {
	case s.nan > 0 || (s.pinf > 0 && s.ninf > 0):
		return 1
	case s.pinf > 0:
		return 2
	case s.ninf > 0:
		return 3
	}
	return 0
}

type aggFloatSlot struct {
	sum float64
	cnt int64
	sp  aggSpecials
}

// fold takes in x with weight w (a retraction when negative): finite
// values go into the running sum, the others are counted by class. keep
// keeps a sum whose count nets to zero (a partial state, see aggDelta).
func (s *aggFloatSlot) fold(x float64, w int64, keep bool) {
	s.cnt += w
	if x-x == 0 {
		s.sum += float64(w) * x
	} else {
		s.sp.add(x < 0, !math.IsNaN(x), w)
	}
	if s.cnt == 0 && !keep {
		// Nothing left: drop the rounding residue of retractions.
		s.sum = 0
	}
}

// aggSumFloat is sum and avg over real and double precision.
type aggSumFloat struct {
	aggSlots[aggFloatSlot]
	avg   bool
	delta bool // aggDelta
}

func (a *aggSumFloat) update(ids []uint32, w []int64, args []arrow.Array) error {
	col := args[0]
	switch c := col.(type) {
	case *array.Float64:
		aggSumFloats(a.v, ids, w, c.Float64Values(), col, a.delta)
	case *array.Float32:
		aggSumFloats(a.v, ids, w, c.Float32Values(), col, a.delta)
	case *array.Null:
	default:
		return fmt.Errorf("sum: unexpected column %s", col.DataType())
	}
	return nil
}

func aggSumFloats[V float32 | float64](v []aggFloatSlot, ids []uint32, w []int64, vals []V, col arrow.Array, keep bool) {
	nulls := col.NullN() > 0
	for i, g := range ids {
		wi := w[i]
		if wi == 0 || (nulls && col.IsNull(i)) {
			continue
		}
		v[g].fold(float64(vals[i]), wi, keep)
	}
}

func (a *aggSumFloat) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] != nil {
		a.v[g].fold(args[0].(float64), w, a.delta)
	}
	return nil
}

func (a *aggSumFloat) result(g uint32) (types.Datum, error) {
	s := a.v[g]
	if s.cnt == 0 {
		return nil, nil
	}
	switch s.sp.kind() {
	case 1:
		return math.NaN(), nil
	case 2:
		return math.Inf(1), nil
	case 3:
		return math.Inf(-1), nil
	}
	if a.avg {
		return s.sum / float64(s.cnt), nil
	}
	return s.sum, nil
}

func (a *aggSumFloat) encode(buf []byte, g uint32) []byte {
	s := a.v[g]
	buf = binary.AppendVarint(buf, s.cnt)
	buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(s.sum))
	buf = binary.AppendVarint(buf, s.sp.nan)
	buf = binary.AppendVarint(buf, s.sp.pinf)
	return binary.AppendVarint(buf, s.sp.ninf)
}

func (a *aggSumFloat) decode(buf []byte, g uint32) ([]byte, error) {
	s := &a.v[g]
	buf, err := aggVarints(buf, &s.cnt)
	if err != nil {
		return buf, err
	}
	if len(buf) < 8 {
		return buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate state")
	}
	s.sum = math.Float64frombits(binary.LittleEndian.Uint64(buf))
	return aggVarints(buf[8:], &s.sp.nan, &s.sp.pinf, &s.sp.ninf)
}

// ---------------------------------------------------------------- sum/avg of numeric

type aggNumSlot struct {
	sum apd.Decimal // finite inputs only
	cnt int64
	sp  aggSpecials
	// scales counts the live finite inputs per display scale.
	scales map[int32]int64
}

// aggSumNumeric is sum and avg over numeric, exact under retraction.
type aggSumNumeric struct {
	aggSlots[*aggNumSlot]
	avg     bool
	scratch apd.Decimal
}

func (a *aggSumNumeric) slot(g uint32) *aggNumSlot {
	s := a.v[g]
	if s == nil {
		s = &aggNumSlot{scales: map[int32]int64{}}
		a.v[g] = s
	}
	return s
}

func (a *aggSumNumeric) update(ids []uint32, w []int64, args []arrow.Array) error {
	col, ok := args[0].(*array.String)
	if !ok {
		if _, null := args[0].(*array.Null); null {
			return nil
		}
		return fmt.Errorf("sum: unexpected column %s", args[0].DataType())
	}
	return foldNumerics(col, ids, w, &a.scratch, a.add)
}

// foldNumerics passes each non-NULL row of a numeric column with a
// nonzero weight to fold, decoded into scratch.
func foldNumerics(col *array.String, ids []uint32, w []int64, scratch *apd.Decimal, fold func(g uint32, d *apd.Decimal, w int64) error) error {
	for i, g := range ids {
		if w[i] == 0 || col.IsNull(i) {
			continue
		}
		if _, _, err := scratch.SetString(col.Value(i)); err != nil {
			return sqlerr.New(sqlerr.DataCorrupted, "corrupt numeric %q in column", col.Value(i))
		}
		if err := fold(g, scratch, w[i]); err != nil {
			return err
		}
	}
	return nil
}

func (a *aggSumNumeric) add(g uint32, d *apd.Decimal, w int64) error {
	s := a.slot(g)
	s.cnt += w
	if d.Form != apd.Finite {
		s.sp.add(d.Negative, d.Form == apd.Infinite, w)
		return nil
	}
	var err error
	if w > 0 {
		_, err = types.DecimalCtx.Add(&s.sum, &s.sum, d)
	} else {
		_, err = types.DecimalCtx.Sub(&s.sum, &s.sum, d)
	}
	if err != nil {
		return sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	sc := max(-d.Exponent, 0)
	if s.scales[sc] += w; s.scales[sc] == 0 {
		delete(s.scales, sc)
	}
	return nil
}

func (a *aggSumNumeric) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] == nil {
		return nil
	}
	return a.add(g, args[0].(*apd.Decimal), w)
}

func (a *aggSumNumeric) result(g uint32) (types.Datum, error) {
	s := a.v[g]
	if s == nil || s.cnt == 0 {
		return nil, nil
	}
	switch s.sp.kind() {
	case 1:
		return &apd.Decimal{Form: apd.NaN}, nil
	case 2:
		return &apd.Decimal{Form: apd.Infinite}, nil
	case 3:
		return &apd.Decimal{Form: apd.Infinite, Negative: true}, nil
	}
	var scale int32
	for sc, n := range s.scales {
		if n > 0 && sc > scale {
			scale = sc
		}
	}
	// The running sum's exponent is the smallest ever seen; the result
	// shows the largest scale among the live inputs, exactly.
	r := new(apd.Decimal)
	if _, err := types.DecimalCtx.Quantize(r, &s.sum, -scale); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	if r.IsZero() {
		r.Negative = false
	}
	if a.avg {
		return udf.NumericOp('/', r, apd.New(s.cnt, 0))
	}
	return r, nil
}

func (a *aggSumNumeric) encode(buf []byte, g uint32) []byte {
	s := a.v[g]
	if s == nil {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	buf = binary.AppendVarint(buf, s.cnt)
	buf = binary.AppendVarint(buf, s.sp.nan)
	buf = binary.AppendVarint(buf, s.sp.pinf)
	buf = binary.AppendVarint(buf, s.sp.ninf)
	buf = types.AppendValue(buf, &s.sum, types.TNumeric)
	buf = binary.AppendUvarint(buf, uint64(len(s.scales)))
	for _, sc := range slices.Sorted(maps.Keys(s.scales)) {
		buf = binary.AppendVarint(buf, int64(sc))
		buf = binary.AppendVarint(buf, s.scales[sc])
	}
	return buf
}

func (a *aggSumNumeric) decode(buf []byte, g uint32) ([]byte, error) {
	if len(buf) == 0 {
		return buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate state")
	}
	if buf[0] == 0 {
		a.v[g] = nil
		return buf[1:], nil
	}
	a.v[g] = nil
	s := a.slot(g)
	buf, err := aggVarints(buf[1:], &s.cnt, &s.sp.nan, &s.sp.pinf, &s.sp.ninf)
	if err != nil {
		return buf, err
	}
	d, buf, err := types.DecodeValue(buf, types.TNumeric)
	if err != nil {
		return buf, err
	}
	if d != nil {
		s.sum.Set(d.(*apd.Decimal))
	}
	n, k := binary.Uvarint(buf)
	if k <= 0 {
		return buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate state")
	}
	buf = buf[k:]
	for range n {
		var sc, c int64
		if buf, err = aggVarints(buf, &sc, &c); err != nil {
			return buf, err
		}
		s.scales[int32(sc)] = c
	}
	return buf, nil
}

// ---------------------------------------------------------------- sum/avg of interval

type aggIntervalSlot struct {
	months, days, micros, cnt int64
}

// fold takes in an interval of months, days and microseconds with
// weight w (a retraction when negative).
func (s *aggIntervalSlot) fold(months, days, micros, w int64) {
	s.cnt += w
	s.months += w * months
	s.days += w * days
	s.micros += w * micros
}

// aggSumInterval is sum and avg over interval.
type aggSumInterval struct {
	aggSlots[aggIntervalSlot]
	avg bool
}

func (a *aggSumInterval) update(ids []uint32, w []int64, args []arrow.Array) error {
	col, ok := args[0].(*array.MonthDayNanoInterval)
	if !ok {
		return nil
	}
	vals := col.MonthDayNanoIntervalValues()
	for i, g := range ids {
		if w[i] == 0 || col.IsNull(i) {
			continue
		}
		a.v[g].fold(int64(vals[i].Months), int64(vals[i].Days), vals[i].Nanoseconds/1000, w[i])
	}
	return nil
}

func (a *aggSumInterval) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] != nil {
		iv := args[0].(types.IntervalValue)
		a.v[g].fold(int64(iv.Months), int64(iv.Days), iv.Micros, w)
	}
	return nil
}

func (a *aggSumInterval) result(g uint32) (types.Datum, error) {
	s := a.v[g]
	if s.cnt == 0 {
		return nil, nil
	}
	if s.months != int64(int32(s.months)) || s.days != int64(int32(s.days)) {
		return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
	}
	iv := types.IntervalValue{Months: int32(s.months), Days: int32(s.days), Micros: s.micros}
	if a.avg {
		return udf.IntervalDiv(iv, float64(s.cnt))
	}
	return iv, nil
}

func (a *aggSumInterval) encode(buf []byte, g uint32) []byte {
	s := a.v[g]
	for _, v := range [...]int64{s.cnt, s.months, s.days, s.micros} {
		buf = binary.AppendVarint(buf, v)
	}
	return buf
}

func (a *aggSumInterval) decode(buf []byte, g uint32) ([]byte, error) {
	s := &a.v[g]
	return aggVarints(buf, &s.cnt, &s.months, &s.days, &s.micros)
}

// ---------------------------------------------------------------- bool_and, bool_or

type aggBoolSlot struct{ trues, all int64 }

// fold takes in b with weight w (a retraction when negative).
func (s *aggBoolSlot) fold(b bool, w int64) {
	s.all += w
	if b {
		s.trues += w
	}
}

// aggBool is bool_and/every (no false among the values) and bool_or (a
// true among them), as counts.
type aggBool struct {
	aggSlots[aggBoolSlot]
	or bool
}

func (a *aggBool) update(ids []uint32, w []int64, args []arrow.Array) error {
	col, ok := args[0].(*array.Boolean)
	if !ok {
		return nil // an all-NULL column
	}
	nulls := col.NullN() > 0
	for i, g := range ids {
		if w[i] == 0 || (nulls && col.IsNull(i)) {
			continue
		}
		a.v[g].fold(col.Value(i), w[i])
	}
	return nil
}

func (a *aggBool) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] != nil {
		a.v[g].fold(args[0].(bool), w)
	}
	return nil
}

func (a *aggBool) result(g uint32) (types.Datum, error) {
	s := a.v[g]
	switch {
	case s.all == 0:
		return nil, nil
	case a.or:
		return s.trues > 0, nil
	}
	return s.trues == s.all, nil
}

func (a *aggBool) encode(buf []byte, g uint32) []byte {
	buf = binary.AppendVarint(buf, a.v[g].trues)
	return binary.AppendVarint(buf, a.v[g].all)
}

func (a *aggBool) decode(buf []byte, g uint32) ([]byte, error) {
	return aggVarints(buf, &a.v[g].trues, &a.v[g].all)
}

// ---------------------------------------------------------------- min, max over append-only input

type aggExtSlot struct {
	v   int64
	has bool
}

// aggMinMaxAppend is min or max when rows are never retracted: the
// extreme alone.
type aggMinMaxAppend struct {
	aggNoSets
	t     types.T
	least bool
	ints  []aggExtSlot
	vals  []types.Datum
}

func (a *aggMinMaxAppend) grow(n int) {
	if stream.IntLike(a.t) {
		a.ints = stream.Grow(a.ints, n)
	} else {
		a.vals = stream.Grow(a.vals, n)
	}
}

func (a *aggMinMaxAppend) reset(g uint32) {
	if a.ints != nil {
		a.ints[g] = aggExtSlot{}
	} else {
		a.vals[g] = nil
	}
}

func aggErrRetract() error {
	return fmt.Errorf("hash aggregate: retraction on an append-only input")
}

func (a *aggMinMaxAppend) update(ids []uint32, w []int64, args []arrow.Array) error {
	col := args[0]
	if a.ints != nil {
		switch c := col.(type) {
		case *array.Int64:
			return aggExtInts(a.ints, ids, w, c.Int64Values(), col, a.least)
		case *array.Int32:
			return aggExtInts(a.ints, ids, w, c.Int32Values(), col, a.least)
		case *array.Int16:
			return aggExtInts(a.ints, ids, w, c.Int16Values(), col, a.least)
		case *array.Timestamp:
			return aggExtInts(a.ints, ids, w, c.TimestampValues(), col, a.least)
		case *array.Date32:
			return aggExtInts(a.ints, ids, w, c.Date32Values(), col, a.least)
		case *array.Time64:
			return aggExtInts(a.ints, ids, w, c.Time64Values(), col, a.least)
		case *array.Null:
			return nil
		}
		return fmt.Errorf("min/max: unexpected column %s", col.DataType())
	}
	for i, g := range ids {
		if w[i] == 0 || col.IsNull(i) {
			continue
		}
		if err := a.updateRow(g, []types.Datum{types.GetDatum(col, i, a.t)}, w[i]); err != nil {
			return err
		}
	}
	return nil
}

func aggExtInts[V ~int16 | ~int32 | ~int64](s []aggExtSlot, ids []uint32, w []int64, vals []V, col arrow.Array, least bool) error {
	nulls := col.NullN() > 0
	for i, g := range ids {
		wi := w[i]
		if wi == 0 || (nulls && col.IsNull(i)) {
			continue
		}
		if wi < 0 {
			return aggErrRetract()
		}
		v := int64(vals[i])
		e := &s[g]
		if !e.has || (least && v < e.v) || (!least && v > e.v) {
			e.v, e.has = v, true
		}
	}
	return nil
}

func (a *aggMinMaxAppend) updateRow(g uint32, args []types.Datum, w int64) error {
	d := args[0]
	if d == nil {
		return nil
	}
	if w < 0 {
		return aggErrRetract()
	}
	if a.ints != nil {
		v, e := stream.IntOf(d), &a.ints[g]
		if !e.has || (a.least && v < e.v) || (!a.least && v > e.v) {
			e.v, e.has = v, true
		}
		return nil
	}
	if cur := a.vals[g]; cur != nil {
		c := types.Compare(d, cur, a.t)
		if (a.least && c >= 0) || (!a.least && c <= 0) {
			return nil
		}
	}
	a.vals[g] = d
	return nil
}

func (a *aggMinMaxAppend) result(g uint32) (types.Datum, error) {
	if a.ints != nil {
		if e := a.ints[g]; e.has {
			return stream.IntDatum(e.v, a.t), nil
		}
		return nil, nil
	}
	return a.vals[g], nil
}

func (a *aggMinMaxAppend) encode(buf []byte, g uint32) []byte {
	d, _ := a.result(g)
	return types.AppendValue(buf, d, a.t)
}

func (a *aggMinMaxAppend) decode(buf []byte, g uint32) ([]byte, error) {
	d, rest, err := types.DecodeValue(buf, a.t)
	if err != nil {
		return buf, err
	}
	if a.ints != nil {
		a.ints[g] = aggExtSlot{}
		if d != nil {
			a.ints[g] = aggExtSlot{v: stream.IntOf(d), has: true}
		}
	} else {
		a.vals[g] = d
	}
	return rest, nil
}

// ---------------------------------------------------------------- multisets

// aggEntry is one distinct value (tuple) of a multiset.
type aggEntry struct {
	key   string // order-preserving key of vals
	n     int64
	vals  []types.Datum // the first inserted representative
	dirty bool
	// rejected counts the copies a user aggregate rejected at a fold of
	// the group, so folding the group again does not reject them again.
	// It is persisted with the entry (hashAgg.flushSets), so neither a
	// restart nor a group evicted from the cache rejects a row again.
	rejected int64
}

// aggMultiset counts values of one group. Entries whose count dropped to
// zero stay until the next checkpoint writes their deletion.
type aggMultiset struct {
	m     map[string]*aggEntry
	dirty []*aggEntry
}

// add changes the count of key by w and returns the entry and its count
// before. A new entry has nil vals: the caller fills them in.
func (s *aggMultiset) add(key []byte, w int64) (*aggEntry, int64) {
	e := s.m[string(key)]
	if e == nil {
		e = &aggEntry{key: string(key)}
		s.m[e.key] = e
	}
	before := e.n
	e.n += w
	if !e.dirty {
		e.dirty = true
		s.dirty = append(s.dirty, e)
	}
	return e, before
}

// touch marks e changed, to be written at the next flush.
func (s *aggMultiset) touch(e *aggEntry) {
	if !e.dirty {
		e.dirty = true
		s.dirty = append(s.dirty, e)
	}
}

// live returns the entries with a positive count in key order.
func (s *aggMultiset) live() []*aggEntry {
	out := make([]*aggEntry, 0, len(s.m))
	for _, e := range s.m {
		if e.n > 0 {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *aggEntry) int { return strings.Compare(a.key, b.key) })
	return out
}

// flush calls write for every entry changed since the last flush (n == 0:
// delete it) and forgets the entries that are gone.
func (s *aggMultiset) flush(write func(e *aggEntry)) {
	for _, e := range s.dirty {
		e.dirty = false
		write(e)
		if e.n == 0 {
			delete(s.m, e.key)
		}
	}
	s.dirty = s.dirty[:0]
}

// aggSets is the per-group multisets of an aggregate whose values are
// tuples of types ts.
type aggSets struct {
	ts   []types.T
	sets []*aggMultiset
	key  []byte
	row  []types.Datum
}

func (a *aggSets) grow(n int)     { a.sets = stream.Grow(a.sets, n) }
func (a *aggSets) reset(g uint32) { a.sets[g] = nil }

func (a *aggSets) set(g uint32) *aggMultiset { return a.sets[g] }

func (a *aggSets) get(g uint32) *aggMultiset {
	s := a.sets[g]
	if s == nil {
		s = &aggMultiset{m: map[string]*aggEntry{}}
		a.sets[g] = s
	}
	return s
}

// aggSetState is embedded by the states that keep their argument tuples
// in per-group multisets; the multisets are persisted as entries, so
// there is no compact state to encode. A state that keeps more per group
// (a cached extreme, HLL registers) overrides grow, reset and load.
type aggSetState struct{ sets aggSets }

func setState(ts []types.T) aggSetState { return aggSetState{sets: aggSets{ts: ts}} }

func (a *aggSetState) grow(n int)                { a.sets.grow(n) }
func (a *aggSetState) reset(g uint32)            { a.sets.reset(g) }
func (a *aggSetState) set(g uint32) *aggMultiset { return a.sets.set(g) }
func (a *aggSetState) load(g uint32, key []byte, n int64, vals []types.Datum) error {
	a.sets.loadEntry(g, key, n, vals)
	return nil
}
func (a *aggSetState) encode(buf []byte, _ uint32) []byte          { return buf }
func (a *aggSetState) decode(buf []byte, _ uint32) ([]byte, error) { return buf, nil }

// tupleKey encodes a tuple of datums as the entry key.
func (a *aggSets) tupleKey(vals []types.Datum) []byte {
	a.key = a.key[:0]
	for j, d := range vals {
		a.key = types.AppendKey(a.key, d, a.ts[j], false)
	}
	return a.key
}

// rowAt returns row i of args as datums in a reused slice.
func (a *aggSets) rowAt(args []arrow.Array, i int) []types.Datum {
	a.row = stream.Grow(a.row[:0], len(args))
	for j, c := range args {
		a.row[j] = types.GetDatum(c, i, a.ts[j])
	}
	return a.row
}

// updateRows passes each row of args with a nonzero weight to updateRow,
// one at a time, in a reused slice.
func (a *aggSets) updateRows(updateRow func(g uint32, vals []types.Datum, w int64) error, ids []uint32, w []int64, args []arrow.Array) error {
	for i, g := range ids {
		if w[i] == 0 {
			continue
		}
		if err := updateRow(g, a.rowAt(args, i), w[i]); err != nil {
			return err
		}
	}
	return nil
}

// addTuple adds vals (a reused slice: copied when an entry is created).
func (a *aggSets) addTuple(g uint32, vals []types.Datum, w int64) (*aggEntry, int64) {
	e, before := a.get(g).add(a.tupleKey(vals), w)
	if e.vals == nil {
		e.vals = slices.Clone(vals)
	}
	return e, before
}

func (a *aggSets) loadEntry(g uint32, key []byte, n int64, vals []types.Datum) {
	s := a.get(g)
	s.m[string(key)] = &aggEntry{key: string(key), n: n, vals: vals}
}

// ---------------------------------------------------------------- min, max with retraction

// aggMinMax is min or max over a retracting input: a multiset of values
// and a cached extreme, found again by a scan when it is deleted.
type aggMinMax struct {
	t     types.T
	least bool
	aggSetState
	ext []*aggEntry // the extreme, nil if unknown
	ok  []bool      // ext is current (nil ext and ok: the set is empty)
}

func (a *aggMinMax) grow(n int) {
	a.sets.grow(n)
	a.ext = stream.Grow(a.ext, n)
	a.ok = stream.Grow(a.ok, n)
}

func (a *aggMinMax) reset(g uint32) {
	a.sets.reset(g)
	a.ext[g], a.ok[g] = nil, false
}

func (a *aggMinMax) load(g uint32, key []byte, n int64, vals []types.Datum) error {
	a.sets.loadEntry(g, key, n, vals)
	a.ext[g], a.ok[g] = nil, false
	return nil
}

func (a *aggMinMax) update(ids []uint32, w []int64, args []arrow.Array) error {
	col := args[0]
	if c, ok := col.(*array.Int64); ok && stream.IntLike(a.t) {
		vals := c.Int64Values()
		var key [9]byte
		key[0] = 0x01 // types.AppendKey's not-NULL marker
		for i, g := range ids {
			if w[i] == 0 || col.IsNull(i) {
				continue
			}
			v := vals[i]
			binary.BigEndian.PutUint64(key[1:], uint64(v)^(1<<63))
			e, before := a.sets.get(g).add(key[:], w[i])
			if e.vals == nil {
				e.vals = []types.Datum{stream.IntDatum(v, a.t)}
			}
			a.moved(g, e, before)
		}
		return nil
	}
	for i, g := range ids {
		if w[i] == 0 || col.IsNull(i) {
			continue
		}
		e, before := a.sets.addTuple(g, a.sets.rowAt(args, i), w[i])
		a.moved(g, e, before)
	}
	return nil
}

// moved keeps the cached extreme of group g current after e's count
// changed from before.
func (a *aggMinMax) moved(g uint32, e *aggEntry, before int64) {
	switch {
	case before <= 0 && e.n > 0:
		if a.ok[g] {
			if x := a.ext[g]; x == nil || (a.least && e.key < x.key) || (!a.least && e.key > x.key) {
				a.ext[g] = e
			}
		}
	case before > 0 && e.n <= 0:
		if a.ext[g] == e {
			a.ext[g], a.ok[g] = nil, false
		}
	}
}

func (a *aggMinMax) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] == nil {
		return nil
	}
	e, before := a.sets.addTuple(g, args, w)
	a.moved(g, e, before)
	return nil
}

func (a *aggMinMax) result(g uint32) (types.Datum, error) {
	if !a.ok[g] {
		var best *aggEntry
		if s := a.sets.set(g); s != nil {
			for _, e := range s.m {
				if e.n > 0 && (best == nil || (a.least && e.key < best.key) || (!a.least && e.key > best.key)) {
					best = e
				}
			}
		}
		a.ext[g], a.ok[g] = best, true
	}
	if e := a.ext[g]; e != nil {
		return e.vals[0], nil
	}
	return nil, nil
}

// ---------------------------------------------------------------- string_agg

// aggStringAgg is string_agg(value, delimiter) over text or bytea: a
// multiset of (value, delimiter), concatenated in key order.
type aggStringAgg struct {
	bytea bool
	aggSetState
}

func (a *aggStringAgg) update(ids []uint32, w []int64, args []arrow.Array) error {
	for i, g := range ids {
		if w[i] == 0 || args[0].IsNull(i) {
			continue
		}
		a.sets.addTuple(g, a.sets.rowAt(args, i), w[i])
	}
	return nil
}

func (a *aggStringAgg) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] != nil {
		a.sets.addTuple(g, args, w)
	}
	return nil
}

func (a *aggStringAgg) result(g uint32) (types.Datum, error) {
	s := a.sets.set(g)
	if s == nil {
		return nil, nil
	}
	var out []byte
	first := true
	for _, e := range s.live() {
		for range e.n {
			if !first {
				out = aggAppendBytes(out, e.vals[1])
			}
			out = aggAppendBytes(out, e.vals[0])
			first = false
		}
	}
	if first {
		return nil, nil
	}
	if a.bytea {
		return out, nil
	}
	return string(out), nil
}

func aggAppendBytes(buf []byte, d types.Datum) []byte {
	switch v := d.(type) {
	case string:
		return append(buf, v...)
	case []byte:
		return append(buf, v...)
	}
	return buf // a NULL delimiter adds nothing
}

// ---------------------------------------------------------------- DISTINCT

// aggDistinct feeds its inner state each distinct argument tuple once:
// when the tuple's count rises from 0 and when it falls back to 0 (with
// the same representative values both times).
type aggDistinct struct {
	inner aggState
	aggSetState
}

func (a *aggDistinct) grow(n int)     { a.sets.grow(n); a.inner.grow(n) }
func (a *aggDistinct) reset(g uint32) { a.sets.reset(g); a.inner.reset(g) }
func (a *aggDistinct) load(g uint32, key []byte, n int64, vals []types.Datum) error {
	a.sets.loadEntry(g, key, n, vals)
	return distinctLoaded(a.inner, g, n, vals)
}

// distinctLoaded gives a DISTINCT aggregate's inner state a loaded value
// (count n) when that state is a multiset of its own (min, max,
// string_agg, recomputed aggregates): such a state keeps nothing in the
// group row and is not persisted itself, so it is rebuilt from the
// distinct values. Inner states with a compact encoding (count, sum) were
// restored from the group row.
func distinctLoaded(inner aggState, g uint32, n int64, vals []types.Datum) error {
	if _, compact := inner.(interface{ noSets() }); compact || n <= 0 {
		return nil
	}
	return inner.updateRow(g, vals, 1)
}

func (a *aggDistinct) update(ids []uint32, w []int64, args []arrow.Array) error {
	if len(args) == 1 {
		switch arr := args[0].(type) {
		case *array.Int64:
			return aggDistinctInts(a, ids, w, arr, arr.Int64Values())
		case *array.Int32:
			return aggDistinctInts(a, ids, w, arr, arr.Int32Values())
		case *array.Int16:
			return aggDistinctInts(a, ids, w, arr, arr.Int16Values())
		}
	}
	return a.sets.updateRows(a.updateRow, ids, w, args)
}

// aggDistinctInts is update over one integer column: keys are encoded
// from the typed values, and a datum is boxed only for a new entry.
func aggDistinctInts[V int16 | int32 | int64](a *aggDistinct, ids []uint32, w []int64, arr arrow.Array, vals []V) error {
	var one [1]types.Datum
	for i, g := range ids {
		if w[i] == 0 {
			continue
		}
		if arr.IsNull(i) {
			one[0] = nil
			if err := a.updateRow(g, one[:], w[i]); err != nil {
				return err
			}
			continue
		}
		a.sets.key = types.AppendIntKey(a.sets.key[:0], int64(vals[i]))
		e, before := a.sets.get(g).add(a.sets.key, w[i])
		if e.vals == nil {
			e.vals = []types.Datum{int64(vals[i])}
		}
		if err := a.cross(g, e, before); err != nil {
			return err
		}
	}
	return nil
}

func (a *aggDistinct) updateRow(g uint32, args []types.Datum, w int64) error {
	e, before := a.sets.addTuple(g, args, w)
	return a.cross(g, e, before)
}

// cross feeds the inner state when e's count crossed zero from before.
func (a *aggDistinct) cross(g uint32, e *aggEntry, before int64) error {
	switch {
	case before <= 0 && e.n > 0:
		return a.inner.updateRow(g, e.vals, 1)
	case before > 0 && e.n <= 0:
		return a.inner.updateRow(g, e.vals, -1)
	}
	return nil
}

func (a *aggDistinct) result(g uint32) (types.Datum, error) { return a.inner.result(g) }
func (a *aggDistinct) encode(buf []byte, g uint32) []byte   { return a.inner.encode(buf, g) }
func (a *aggDistinct) decode(buf []byte, g uint32) ([]byte, error) {
	return a.inner.decode(buf, g)
}

// ---------------------------------------------------------------- other aggregates

// aggRecompute is any other aggregate (variances, array_agg, user
// aggregates): a multiset of argument tuples, folded through the
// registry's accumulator in key order when the result is needed.
type aggRecompute struct {
	spec batch.AggSpec
	env  *stream.Env
	aggSetState
}

func (a *aggRecompute) update(ids []uint32, w []int64, args []arrow.Array) error {
	for i, g := range ids {
		if w[i] != 0 {
			a.sets.addTuple(g, a.sets.rowAt(args, i), w[i])
		}
	}
	return nil
}

func (a *aggRecompute) updateRow(g uint32, args []types.Datum, w int64) error {
	a.sets.addTuple(g, args, w)
	return nil
}

func (a *aggRecompute) result(g uint32) (types.Datum, error) {
	var live []*aggEntry
	if s := a.sets.set(g); s != nil {
		live = s.live()
	}
	return fold(a.spec, a.env, live, 0, true, a.sets.set(g))
}
