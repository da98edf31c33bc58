package batch

import (
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
	"streamsql/udf"
)

// Aggregate calls with ORDER BY inside the call (array_agg(x ORDER BY ts),
// string_agg(s, ',' ORDER BY s DESC), ...): each call orders its own rows,
// so calls with different orderings share one query and one pass over the
// input. The call's ordering columns travel as its first arguments
// (OrderFirst); orderedAcc keeps each group's rows with an order-preserving
// key of their ordering values and feeds them, sorted, to the aggregate's
// own accumulator at Finish.

// Ordered reports whether a has an ORDER BY inside the call (not the
// WITHIN GROUP ordering of an ordered-set aggregate, whose accumulator
// sorts by itself).
func (a AggSpec) Ordered() bool { return len(a.Order) > 0 && !a.Agg.WithinGroup }

// OrderFirst returns a with its ordering columns as its first arguments
// (Order[i].Col == i), the form the operators take an ordered call in.
func (a AggSpec) OrderFirst() AggSpec {
	if !a.Ordered() {
		return a
	}
	s := a
	s.Args = make([]int, 0, len(a.Order)+len(a.Args))
	s.ArgTypes = make([]types.T, 0, len(a.Order)+len(a.ArgTypes))
	s.Order = make([]AggOrder, len(a.Order))
	for i, o := range a.Order {
		s.Args = append(s.Args, o.Col)
		s.ArgTypes = append(s.ArgTypes, o.T)
		o.Col = i
		s.Order[i] = o
	}
	s.Args = append(s.Args, a.Args...)
	s.ArgTypes = append(s.ArgTypes, a.ArgTypes...)
	return s
}

// orderedRow is one input row of an ordered call: its ordering key and
// its argument values.
type orderedRow struct {
	key  string
	vals []types.Datum
}

// orderedAcc is an ordered call's accumulator (see OrderFirst for its
// arguments).
type orderedAcc struct {
	inner udf.Accumulator
	keys  []AggOrder
	ts    []types.T // the inner aggregate's argument types
	rows  [][]orderedRow
	key   []byte
	size  int64
}

func newOrderedAcc(a AggSpec) *orderedAcc {
	k := len(a.Order)
	inner := a
	inner.Args, inner.ArgTypes, inner.Order = a.Args[k:], a.ArgTypes[k:], nil
	return &orderedAcc{inner: inner.NewAccumulator(nil), keys: a.Order, ts: inner.ArgTypes}
}

// Size implements udf.SizedAccumulator.
func (a *orderedAcc) Size() int64 { return a.size + int64(cap(a.rows))*24 }

func (a *orderedAcc) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	if len(a.rows) < ng {
		a.rows = append(a.rows, make([][]orderedRow, ng-len(a.rows))...)
	}
	k := len(a.keys)
	for i, g := range groups[:n] {
		if g == udf.SkipRow {
			continue
		}
		a.key = a.key[:0]
		for j, o := range a.keys {
			a.key = types.AppendKeyNulls(a.key, types.GetDatum(args[j], i, o.T), o.T, o.Desc, o.NullsFirst)
		}
		r := orderedRow{key: string(a.key), vals: make([]types.Datum, len(a.ts))}
		for j, t := range a.ts {
			r.vals[j] = types.GetDatum(args[k+j], i, t)
		}
		a.rows[g] = append(a.rows[g], r)
		a.size += int64(len(r.key)) + 40 + 16*int64(len(r.vals))
	}
	return nil
}

func (a *orderedAcc) Retract([]uint32, int, []arrow.Array, int) error { return udf.ErrNoRetract }

func (a *orderedAcc) Finish(env *udf.Env, ng int) (arrow.Array, error) {
	if len(a.rows) < ng {
		a.rows = append(a.rows, make([][]orderedRow, ng-len(a.rows))...)
	}
	n := 0
	for _, rs := range a.rows[:ng] {
		n += len(rs)
	}
	groups := make([]uint32, 0, n)
	vals := make([][]types.Datum, len(a.ts))
	for g, rs := range a.rows[:ng] {
		slices.SortStableFunc(rs, func(x, y orderedRow) int { return strings.Compare(x.key, y.key) })
		for _, r := range rs {
			groups = append(groups, uint32(g))
			for j := range a.ts {
				vals[j] = append(vals[j], r.vals[j])
			}
		}
	}
	cols := make([]arrow.Array, len(a.ts))
	for j, t := range a.ts {
		cols[j] = types.ArrayFromDatums(t, vals[j])
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	if err := a.inner.Update(groups, ng, cols, n); err != nil {
		return nil, err
	}
	return a.inner.Finish(env, ng)
}

func (a *orderedAcc) Release() {
	a.inner.Release()
	a.rows, a.size = nil, 0
}
