package agg

// Aggregates with ORDER BY inside the call (array_agg(x ORDER BY ts),
// string_agg(s, ',' ORDER BY s DESC), jsonb_agg, first_value, ...) in a
// view.
//
// The group's rows are a multiset whose entry key is the ordering keys
// (order-preserving, in the call's direction and NULLS placement) followed
// by the argument values, so the byte order of the keys is the call's
// order and a deletion finds the entry its insertion made. The result
// feeds the live entries in key order (each as often as its count)
// through the registry's accumulator; first_value and last_value only
// look for the smallest or largest live key.

import (
	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/types"
	"streamsql/udf"
)

// aggOrdered is an aggregate call with ORDER BY: its first k arguments
// are the ordering columns (see StreamSpec).
type aggOrdered struct {
	spec batch.AggSpec // the call without its ordering columns
	k    int
	keys []batch.AggOrder
	env  *stream.Env
	aggSetState
}

func newAggOrdered(a batch.AggSpec, env *stream.Env) *aggOrdered {
	k := len(a.Order)
	inner := a
	inner.ArgTypes = a.ArgTypes[k:]
	inner.Args = a.Args[k:]
	inner.Order = nil
	return &aggOrdered{spec: inner, k: k, keys: a.Order, env: env, aggSetState: setState(a.ArgTypes)}
}

// entryKey encodes a row: the ordering keys, then the arguments.
func (a *aggOrdered) entryKey(vals []types.Datum) []byte {
	b := a.sets.key[:0]
	for j, d := range vals {
		if j < a.k {
			o := a.keys[j]
			b = types.AppendKeyNulls(b, d, a.sets.ts[j], o.Desc, o.NullsFirst)
		} else {
			b = types.AppendKey(b, d, a.sets.ts[j], false)
		}
	}
	a.sets.key = b
	return b
}

func (a *aggOrdered) updateRow(g uint32, vals []types.Datum, w int64) error {
	e, _ := a.sets.get(g).add(a.entryKey(vals), w)
	if e.vals == nil {
		e.vals = append([]types.Datum(nil), vals...)
	}
	return nil
}

func (a *aggOrdered) update(ids []uint32, w []int64, args []arrow.Array) error {
	return a.sets.updateRows(a.updateRow, ids, w, args)
}

func (a *aggOrdered) result(g uint32) (types.Datum, error) {
	s := a.sets.set(g)
	if s == nil {
		return nil, nil
	}
	switch a.spec.Agg.Name {
	case "first_value", "last_value":
		last := a.spec.Agg.Name == "last_value"
		var best *aggEntry
		for _, e := range s.m {
			if e.n > 0 && (best == nil || (!last && e.key < best.key) || (last && e.key > best.key)) {
				best = e
			}
		}
		if best == nil {
			return nil, nil
		}
		return best.vals[a.k], nil
	}
	live := s.live()
	if len(live) == 0 {
		return nil, nil
	}
	// A user aggregate that rejects a row rejects it once, however often
	// the group is folded again: the count is kept, and persisted, with
	// the row's entry.
	return fold(a.spec, a.env, live, a.k, true, s)
}

// fold folds the entries in order (each as often as its count), their
// values from position skip on, through spec's accumulator and returns
// the result; over no rows it is the accumulator's result (count's 0,
// a user aggregate's INITCOND).
//
// once makes a user function that fails on an entry's row reject only
// the copies it did not reject at an earlier fold (the entry's rejected
// count): a group folded again rejects each row once. A failure names the
// row by the aggregate's arguments, which several entries (rows of other
// ordering keys) may share: as the entries are fed in order, the j-th
// failure on some arguments is a copy of the first entry with them whose
// copies are not all counted yet. An entry whose count grows is marked
// changed in set (its multiset), so the count is persisted with it.
func fold(spec batch.AggSpec, env *stream.Env, live []*aggEntry, skip int, once bool, set *aggMultiset) (types.Datum, error) {
	n := 0
	for _, e := range live {
		n += int(e.n)
	}
	cols := make([]arrow.Array, len(spec.ArgTypes))
	for j, t := range spec.ArgTypes {
		ds := make([]types.Datum, 0, n)
		for _, e := range live {
			for range e.n {
				ds = append(ds, e.vals[skip+j])
			}
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	var uenv udf.Env
	if env != nil && env.Ctx != nil {
		uenv = env.Ctx.Env
	}
	if report := uenv.OnRowError; once && report != nil {
		var kb []byte
		argKey := func(vals []types.Datum) string {
			kb = kb[:0]
			for j, d := range vals {
				kb = types.AppendKey(kb, d, spec.ArgTypes[j], false)
			}
			return string(kb)
		}
		byArgs := make(map[string][]*aggEntry, len(live))
		for _, e := range live {
			k := argKey(e.vals[skip:])
			byArgs[k] = append(byArgs[k], e)
		}
		seen := map[*aggEntry]int64{}
		uenv.OnRowError = func(fn string, err error, args []types.Datum, ts []types.T) {
			if len(args) == len(spec.ArgTypes) {
				for _, e := range byArgs[argKey(args)] {
					if seen[e] >= e.n {
						continue
					}
					seen[e]++
					if seen[e] <= e.rejected {
						return
					}
					e.rejected = seen[e]
					if set != nil {
						set.touch(e)
					}
					break
				}
			}
			report(fn, err, args, ts)
		}
	}
	acc := spec.NewAccumulator(&uenv)
	defer acc.Release()
	if err := acc.Update(make([]uint32, n), 1, cols, n); err != nil {
		return nil, err
	}
	res, err := acc.Finish(&uenv, 1)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	return types.GetDatum(res, 0, spec.T), nil
}
