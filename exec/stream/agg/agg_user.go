package agg

// State of user-defined aggregates (CREATE AGGREGATE, Go aggregates) in
// the streaming hash aggregation.
//
// An aggregate that retracts (MSFUNC/MINVFUNC, a JavaScript retract, a Go
// Retract) keeps its own state per group, udf.GroupStates: deletes and
// updates upstream call the inverse function, and the group row in
// table 1 carries the state as the aggregate encodes it (a SQL value of
// MSTYPE, JSON text for JavaScript and Go), behind a length. One that
// does not retract keeps the group's inputs as a multiset and folds them
// again with its plain accumulator when the group changes
// (aggRecompute). EXPLAIN shows which: "retract" or "recompute".

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// newAggUser returns the state of a user aggregate call.
func newAggUser(a batch.AggSpec, env *stream.Env) aggState {
	if !a.Agg.Retracts || a.Agg.NewRetracting == nil {
		return &aggRecompute{spec: a, env: env, aggSetState: setState(a.ArgTypes)}
	}
	s := a.Agg.NewRetracting(a.ArgTypes)
	if e, ok := s.(udf.EnvAccumulator); ok && env != nil && env.Ctx != nil {
		e.SetEnv(&env.Ctx.Env)
	}
	return &aggUser{spec: a, s: s}
}

// UserAggMode is how a view runs the user aggregate call a: "retract"
// when it keeps the aggregate's state and takes deleted rows back out,
// "recompute" when it keeps the inputs of each group (also those of a
// call with ORDER BY and of an ordered-set aggregate, whose rows are
// folded again in order); "" for a built-in.
func UserAggMode(a batch.AggSpec) string {
	agg := a.Agg
	switch {
	case !agg.User:
		return ""
	case agg.Retracts && agg.NewRetracting != nil && !a.Ordered():
		return "retract"
	}
	return "recompute"
}

// sessionAggExplain is streamAggExplain for session windows, which also
// say when bridged sessions combine a user aggregate's states ("merge")
// instead of folding the merged session's rows again.
var sessionAggExplain = batch.AggExplain{Inside: explainAggOrder, After: func(a batch.AggSpec) string {
	m := UserAggMode(a)
	if m == "retract" && a.Agg.Merges {
		m += ", merge"
	}
	return m
}}

// aggMerger is an aggState that combines two groups' states.
type aggMerger interface {
	// merge folds group src's state into group dst's; ok is false when
	// the state cannot (dst is then to be rebuilt from its rows).
	merge(dst, src uint32) (ok bool, err error)
}

// aggUser is a retracting user aggregate's state for every group.
type aggUser struct {
	aggNoSets
	spec batch.AggSpec
	s    udf.GroupStates
	ng   int
	// err is a state that could not be encoded at the last barrier; the
	// next change of the group reports it.
	err error
	// mergeErr is the error of the last merge that failed.
	mergeErr error
	one      []arrow.Array
}

func (a *aggUser) grow(n int) { a.ng = max(a.ng, n) }

func (a *aggUser) reset(g uint32) { a.s.Reset(g) }

func (a *aggUser) update(ids []uint32, w []int64, args []arrow.Array) error {
	if a.err != nil {
		return a.err
	}
	return a.s.Apply(ids, w, a.ng, args, len(ids))
}

func (a *aggUser) updateRow(g uint32, args []types.Datum, w int64) error {
	a.one = a.one[:0]
	for j, d := range args {
		a.one = append(a.one, types.ArrayFromDatums(a.spec.ArgTypes[j], []types.Datum{d}))
	}
	defer func() {
		for _, c := range a.one {
			c.Release()
		}
	}()
	return a.s.Apply([]uint32{g}, []int64{w}, max(a.ng, int(g)+1), a.one, 1)
}

// merge implements aggMerger with the aggregate's merge function. A
// merge that fails is not a reject: the session's rows are folded again.
func (a *aggUser) merge(dst, src uint32) (bool, error) {
	m, ok := a.s.(udf.StateMerger)
	if !ok || !a.spec.Agg.Merges || a.err != nil {
		return false, nil
	}
	a.grow(int(max(dst, src)) + 1)
	if err := m.Merge(dst, src); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false, err
		}
		slog.Debug("aggregate merge failed", "aggregate", a.spec.Agg.Name, "err", err)
		a.mergeErr = err
		return false, nil
	}
	return true, nil
}

func (a *aggUser) result(g uint32) (types.Datum, error) {
	if a.err != nil {
		return nil, a.err
	}
	return a.s.Result(g)
}

func (a *aggUser) encode(buf []byte, g uint32) []byte {
	st, err := a.s.Encode(nil, g)
	if err != nil {
		a.err = err
		st = nil
	}
	buf = binary.AppendUvarint(buf, uint64(len(st)))
	return append(buf, st...)
}

func (a *aggUser) decode(buf []byte, g uint32) ([]byte, error) {
	l, k := binary.Uvarint(buf)
	if k <= 0 || uint64(len(buf)-k) < l {
		return buf, sqlerr.New(sqlerr.DataCorrupted, "corrupt state of aggregate %s", a.spec.Agg.Name)
	}
	st := buf[k : k+int(l)]
	if len(st) > 0 {
		a.grow(int(g) + 1)
		if err := a.s.Decode(st, g); err != nil {
			return buf, err
		}
	}
	return buf[k+int(l):], nil
}
