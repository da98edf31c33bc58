package udf

import (
	"math"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Ordered-set aggregates: percentile_cont, percentile_disc and mode, called
// as PostgreSQL spells them, f(direct args) WITHIN GROUP (ORDER BY x). The
// planner passes the direct arguments first and the ordering argument
// last; the accumulator sorts the non-NULL values of x itself (in the
// WITHIN GROUP direction, see SortedAccumulator), so one query may hold
// several of them over different columns.

// SortedAccumulator is an accumulator whose result depends on the sort
// direction of its WITHIN GROUP ordering.
type SortedAccumulator interface {
	Accumulator
	SetDescending(desc bool)
}

// NewAccumulator returns a's accumulator for the actual argument types;
// desc is the WITHIN GROUP direction of an ordered-set aggregate.
func NewAccumulator(a *Aggregate, args []types.T, desc bool) Accumulator {
	acc := a.New(args)
	if s, ok := acc.(SortedAccumulator); ok && desc {
		s.SetDescending(true)
	}
	return acc
}

func (r *registry) addOrderedSetAggregates() {
	f8arr := types.T{Kind: types.Array, Elem: &types.TFloat8}
	ivarr := types.T{Kind: types.Array, Elem: &types.TInterval}
	for _, in := range []types.T{types.TFloat8, types.TInterval} {
		in := in
		r.agg(&Aggregate{Name: "percentile_cont", Args: ts(types.TFloat8, in), Ret: in, WithinGroup: true,
			New: func(a []types.T) Accumulator { return &percentileAcc{cont: true, t: a[1]} }})
		ret := f8arr
		if in.Kind == types.Interval {
			ret = ivarr
		}
		r.agg(&Aggregate{Name: "percentile_cont", Args: ts(f8arr, in), Ret: ret, WithinGroup: true,
			New: func(a []types.T) Accumulator { return &percentileAcc{cont: true, many: true, t: a[1]} }})
	}
	r.agg(&Aggregate{Name: "percentile_disc", Args: ts(types.TFloat8, Any), WithinGroup: true,
		RetFn: func(a []types.T) types.T { return a[1] },
		New:   func(a []types.T) Accumulator { return &percentileAcc{t: a[1]} }})
	r.agg(&Aggregate{Name: "percentile_disc", Args: ts(f8arr, Any), WithinGroup: true,
		RetFn: func(a []types.T) types.T { e := a[1]; return types.T{Kind: types.Array, Elem: &e} },
		New:   func(a []types.T) Accumulator { return &percentileAcc{many: true, t: a[1]} }})
	r.agg(&Aggregate{Name: "mode", Args: ts(Any), WithinGroup: true,
		RetFn: func(a []types.T) types.T { return a[0] },
		New:   func(a []types.T) Accumulator { return &modeAcc{t: a[0]} }})
}

// valueLists keeps the non-NULL values of one column per group.
type valueLists struct {
	t    types.T
	vals [][]types.Datum
	size int64
}

func (l *valueLists) add(groups []uint32, ng int, col arrow.Array, n int) {
	l.vals = growTo(l.vals, ng)
	for i, g := range groups[:n] {
		if g == SkipRow || col.IsNull(i) {
			continue
		}
		l.vals[g] = append(l.vals[g], types.GetDatum(col, i, l.t))
		l.size += 24
	}
}

// sorted sorts group g's values in the given direction and returns them.
func (l *valueLists) sorted(g int, desc bool) []types.Datum {
	vs := l.vals[g]
	slices.SortStableFunc(vs, func(a, b types.Datum) int {
		if desc {
			return types.Compare(b, a, l.t)
		}
		return types.Compare(a, b, l.t)
	})
	return vs
}

// percentileAcc is percentile_cont or percentile_disc of one fraction or
// of an array of fractions.
type percentileAcc struct {
	cont, many, desc bool
	t                types.T
	fracs            []types.Datum // the direct argument per group (first row's)
	has              []bool
	vals             valueLists
}

func (a *percentileAcc) SetDescending(desc bool) { a.desc = desc }

// Size implements SizedAccumulator.
func (a *percentileAcc) Size() int64 { return a.vals.size }

func (a *percentileAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.fracs, a.has = growTo(a.fracs, ng), growTo(a.has, ng)
	a.vals.t = a.t
	fracT := types.TFloat8
	if a.many {
		fracT = types.T{Kind: types.Array, Elem: &types.TFloat8}
	}
	for i, g := range groups[:n] {
		if g == SkipRow || a.has[g] {
			continue
		}
		a.has[g] = true
		a.fracs[g] = types.GetDatum(args[0], i, fracT)
	}
	a.vals.add(groups, ng, args[1], n)
	return nil
}

func (a *percentileAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *percentileAcc) Finish(env *Env, ng int) (arrow.Array, error) {
	a.fracs, a.has = growTo(a.fracs, ng), growTo(a.has, ng)
	a.vals.vals = growTo(a.vals.vals, ng)
	rt := a.t
	if a.many {
		rt = types.T{Kind: types.Array, Elem: &a.t}
	}
	b := types.NewBuilder(rt)
	defer b.Release()
	for g := 0; g < ng; g++ {
		d, err := a.result(g)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(b, d)
	}
	return b.NewArray(), nil
}

func (a *percentileAcc) result(g int) (types.Datum, error) {
	if !a.has[g] || a.fracs[g] == nil || len(a.vals.vals[g]) == 0 {
		return nil, nil
	}
	vs := a.vals.sorted(g, a.desc)
	if !a.many {
		return Percentile(a.cont, a.fracs[g].(float64), vs, a.t)
	}
	elems, _, err := ArrayElems(a.fracs[g].(string), types.T{Kind: types.Array, Elem: &types.TFloat8})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(elems))
	nulls := make([]bool, len(elems))
	for i, e := range elems {
		if e == nil {
			nulls[i] = true
			continue
		}
		f, err := strconv.ParseFloat(*e, 64)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type double precision: %q", *e)
		}
		d, err := Percentile(a.cont, f, vs, a.t)
		if err != nil {
			return nil, err
		}
		out[i] = types.FormatText(d, a.t, nil)
	}
	return FormatArrayText(out, nulls), nil
}

// Percentile is percentile_cont (cont) or percentile_disc of fraction f
// over vs, the non-NULL values already in WITHIN GROUP order.
func Percentile(cont bool, f float64, vs []types.Datum, t types.T) (types.Datum, error) {
	if f < 0 || f > 1 || math.IsNaN(f) {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "percentile value %s is not between 0 and 1", types.FormatText(f, types.TFloat8, nil))
	}
	n := len(vs)
	if !cont {
		row := int64(math.Ceil(f * float64(n)))
		if row < 1 {
			row = 1
		}
		return vs[row-1], nil
	}
	pos := f * float64(n-1)
	first, second := int64(math.Floor(pos)), int64(math.Ceil(pos))
	lo := vs[first]
	if first == second {
		return lo, nil
	}
	hi := vs[second]
	p := pos - float64(first)
	if t.Kind == types.Interval {
		diff, err := IntervalSub(hi.(types.IntervalValue), lo.(types.IntervalValue))
		if err != nil {
			return nil, err
		}
		mul, err := IntervalMul(diff, p)
		if err != nil {
			return nil, err
		}
		return IntervalAdd(lo.(types.IntervalValue), mul)
	}
	l, h := lo.(float64), hi.(float64)
	return l + (h-l)*p, nil
}

// modeAcc is mode(): the most frequent value, the first in sort order
// among equally frequent ones.
type modeAcc struct {
	desc bool
	t    types.T
	vals valueLists
}

func (a *modeAcc) SetDescending(desc bool) { a.desc = desc }

// Size implements SizedAccumulator.
func (a *modeAcc) Size() int64 { return a.vals.size }

func (a *modeAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	a.vals.t = a.t
	a.vals.add(groups, ng, args[0], n)
	return nil
}

func (a *modeAcc) Retract([]uint32, int, []arrow.Array, int) error { return ErrNoRetract }

func (a *modeAcc) Finish(_ *Env, ng int) (arrow.Array, error) {
	a.vals.vals = growTo(a.vals.vals, ng)
	b := types.NewBuilder(a.t)
	defer b.Release()
	for g := 0; g < ng; g++ {
		types.AppendDatum(b, Mode(a.vals.sorted(g, a.desc), a.t))
	}
	return b.NewArray(), nil
}

// Mode is the most frequent of vs (sorted), the first of equally
// frequent ones; nil when vs is empty.
func Mode(vs []types.Datum, t types.T) types.Datum {
	var best types.Datum
	bestN := 0
	for i := 0; i < len(vs); {
		j := i + 1
		for j < len(vs) && types.Compare(vs[i], vs[j], t) == 0 {
			j++
		}
		if j-i > bestN {
			best, bestN = vs[i], j-i
		}
		i = j
	}
	return best
}

func (a *modeAcc) Release() { a.vals = valueLists{} }

func (a *percentileAcc) Release() { a.fracs, a.has, a.vals = nil, nil, valueLists{} }

// IntervalAdd is interval + interval field by field (interval_pl), with
// 22008 when a field overflows.
func IntervalAdd(a, b types.IntervalValue) (types.IntervalValue, error) {
	m := int64(a.Months) + int64(b.Months)
	d := int64(a.Days) + int64(b.Days)
	us := a.Micros + b.Micros
	if m != int64(int32(m)) || d != int64(int32(d)) || (a.Micros^us)&(b.Micros^us) < 0 {
		return a, sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
	}
	return types.IntervalValue{Months: int32(m), Days: int32(d), Micros: us}, nil
}

// IntervalSub is interval - interval (interval_mi).
func IntervalSub(a, b types.IntervalValue) (types.IntervalValue, error) {
	if b.Micros == math.MinInt64 {
		return a, sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
	}
	return IntervalAdd(a, types.IntervalValue{Months: -b.Months, Days: -b.Days, Micros: -b.Micros})
}
