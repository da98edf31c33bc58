package js

import (
	"context"
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dop251/goja"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Aggregates in JavaScript (CREATE AGGREGATE ... LANGUAGE javascript) are
// written as RisingWave spells them, a script exporting:
//
//	create_state()              the state of an empty group
//	accumulate(state, args...)  the state with one more row
//	retract(state, args...)     the state with one row less (optional)
//	finish(state)               the result (optional: the state itself)
//	merge(a, b)                 two states combined (optional)
//
// accumulate and retract may return the new state or change the one they
// were given and return nothing. The states of all groups live in one
// runtime, which the accumulator takes from the function's pool for its
// lifetime, and each row is one call into it. A view persists a group's
// state as its JSON text, so a state must survive JSON.stringify and
// JSON.parse (numbers, strings, booleans, arrays, plain objects).
//
// An ordered-set aggregate, CREATE AGGREGATE name(direct args ORDER BY
// aggregated args) RETURNS t LANGUAGE javascript, is called as
// name(direct) WITHIN GROUP (ORDER BY aggregated): accumulate(state,
// aggregated...) sees a group's rows in that order, and finish(state,
// direct...) the direct arguments of the group's first row (they are
// meant to be constant). Its rows are always folded again from the
// group's kept rows, so it exports no retract or merge.

// Entry points of an aggregate's script.
const (
	aggCreate     = "create_state"
	aggAccumulate = "accumulate"
	aggRetract    = "retract"
	aggFinish     = "finish"
	aggMerge      = "merge"
)

// aggregate is one compiled aggregate definition.
type aggregate struct {
	f        *function
	retracts bool
	finishes bool
	merges   bool
	// nd is the number of direct arguments of an ordered-set aggregate.
	nd int
}

// CompileAggregate implements udf.AggregateRuntime.
func (r *Runtime) CompileAggregate(d *udf.UserDef) (*udf.Aggregate, error) {
	for _, t := range append(append([]types.T{}, d.ArgTypes...), d.Ret) {
		if !supported(t) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "type %s is not supported in JavaScript functions", t)
		}
	}
	if !exportRE.MatchString(d.Body) {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "JavaScript for aggregate %s must export its functions", d.Signature).
			WithHint("Write export function create_state() {...}, export function accumulate(state, ...) {...} and, optionally, retract, finish and merge.")
	}
	src := exportRE.ReplaceAllString(d.Body, "$1$3")
	prog, err := goja.Compile(d.Name, src, false)
	if err != nil {
		return nil, syntaxError(d, err)
	}
	f := &function{def: d, prog: prog, entry: aggAccumulate}
	inst, err := f.newInstance(context.Background(), udf.Limits{Timeout: udf.DefaultUDFTimeout, Memory: udf.DefaultUDFMemory})
	if err != nil {
		return nil, err
	}
	if _, ok := goja.AssertFunction(inst.vm.Get(aggCreate)); !ok {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "JavaScript for aggregate %s does not define function %s", d.Signature, aggCreate).
			WithHint("export function create_state() { return ...; } gives the state of an empty group.")
	}
	_, retracts := goja.AssertFunction(inst.vm.Get(aggRetract))
	_, finishes := goja.AssertFunction(inst.vm.Get(aggFinish))
	_, merges := goja.AssertFunction(inst.vm.Get(aggMerge))
	f.pool.Put(inst)
	if d.OrderedSet {
		switch {
		case retracts || merges:
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "ordered-set aggregate %s cannot export retract or merge", d.Signature).
				WithHint("A view folds an ordered-set aggregate's rows again when its group changes.")
		case d.NumDirect > 0 && !finishes:
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "ordered-set aggregate %s with direct arguments must export finish(state, direct...)", d.Signature)
		}
	}
	a := &aggregate{f: f, retracts: retracts, finishes: finishes, merges: merges, nd: d.NumDirect}
	agg := &udf.Aggregate{Name: d.Name, Args: d.ArgTypes, Ret: d.Ret, OID: d.OID, User: true,
		OrderedSet: d.OrderedSet, NumDirect: d.NumDirect, SortedInput: d.OrderedSet,
		New: func([]types.T) udf.Accumulator { return a.newStates() }}
	if retracts {
		agg.Retracts = true
		agg.NewRetracting = func([]types.T) udf.GroupStates { return a.newStates() }
		agg.Merges = merges
	}
	return agg, nil
}

func (a *aggregate) newStates() *aggStates { return &aggStates{a: a, env: &udf.Env{}} }

// aggStates is a JavaScript aggregate's state for many groups.
type aggStates struct {
	a    *aggregate
	env  *udf.Env
	inst *instance
	// Entry points in inst.
	create, acc, ret, fin, mrg goja.Callable
	state                      []goja.Value // nil: not created yet
	// direct holds each group's direct arguments (an ordered-set
	// aggregate's), nil until the group's first row.
	direct [][]goja.Value
	args   [][]goja.Value
	row    []goja.Value
	w      []int64
}

// SetEnv implements udf.EnvAccumulator.
func (s *aggStates) SetEnv(env *udf.Env) { s.env = env }

func (s *aggStates) ctx() context.Context {
	if s.env != nil {
		return s.env.Context
	}
	return nil
}

// instance takes the runtime the states live in.
func (s *aggStates) instance() (*instance, error) {
	if s.inst != nil {
		return s.inst, nil
	}
	inst, err := s.a.f.get(s.ctx(), udf.UserLimits(s.env))
	if err != nil {
		return nil, err
	}
	vm := inst.vm
	s.create, _ = goja.AssertFunction(vm.Get(aggCreate))
	s.acc, _ = goja.AssertFunction(vm.Get(aggAccumulate))
	s.ret, _ = goja.AssertFunction(vm.Get(aggRetract))
	s.fin, _ = goja.AssertFunction(vm.Get(aggFinish))
	s.mrg, _ = goja.AssertFunction(vm.Get(aggMerge))
	s.inst = inst
	return inst, nil
}

func (s *aggStates) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	return s.Apply(groups, nil, ng, args, n)
}

func (s *aggStates) Retract(groups []uint32, ng int, args []arrow.Array, n int) error {
	return udf.RetractByApply(s, s.a.retracts, &s.w, groups, ng, args, n)
}

func (s *aggStates) grow(ng int) {
	for len(s.state) < ng {
		s.state = append(s.state, nil)
	}
}

// Apply implements udf.GroupStates.
func (s *aggStates) Apply(groups []uint32, weights []int64, ng int, args []arrow.Array, n int) error {
	s.grow(ng)
	inst, err := s.instance()
	if err != nil {
		return err
	}
	d := s.a.f.def
	if len(s.args) < len(args) {
		s.args = make([][]goja.Value, len(args))
	}
	for j, a := range args {
		if s.args[j], err = inst.conv.column(s.args[j], a, d.ArgTypes[j], n); err != nil {
			return err
		}
	}
	s.row = append(s.row[:0], nil)
	for range args[s.a.nd:] {
		s.row = append(s.row, nil)
	}
	ctx, lim := s.ctx(), udf.UserLimits(s.env)
	w := startWatch(ctx, inst, lim)
	i := 0
	for i < n {
		// The rows run inside one trampoline call (see trampoline).
		var err error
		if terr := inst.trampoline(func() { err = s.runRows(groups, weights, &i, n, len(args)) }); err == nil {
			err = terr
		}
		if err == nil {
			break
		}
		reason := w.stop()
		cerr := s.a.f.callError(err, reason, lim)
		if ctx != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if !udf.RowError(s.env, d.Signature, cerr, rowDatums(args, d.ArgTypes, i), d.ArgTypes) {
			return cerr
		}
		i++ // the row is left out of its group's state
		w = startWatch(ctx, inst, lim)
	}
	w.stop()
	return nil
}

// runRows folds rows *i.. in; on an error *i is the row that failed and
// its group's state is as before the row.
func (s *aggStates) runRows(groups []uint32, weights []int64, i *int, n, nargs int) error {
	inst := s.inst
	for ; *i < n; *i++ {
		r := *i
		g := groups[r]
		fn := s.acc
		if weights != nil {
			switch w := weights[r]; {
			case w == 0:
				continue
			case w < 0:
				if s.ret == nil {
					return udf.ErrNoRetract
				}
				fn = s.ret
			}
		}
		if g == udf.SkipRow {
			continue
		}
		st := s.state[g]
		if st == nil {
			inst.seq.Add(1)
			v, err := s.create(goja.Undefined())
			if err != nil {
				return err
			}
			st = v
			s.state[g] = st
		}
		nd := s.a.nd
		if nd > 0 {
			for len(s.direct) < len(s.state) {
				s.direct = append(s.direct, nil)
			}
			if s.direct[g] == nil {
				s.direct[g] = make([]goja.Value, nd)
				for j := range nd {
					s.direct[g][j] = s.args[j][r]
				}
			}
		}
		s.row[0] = st
		for j := nd; j < nargs; j++ {
			s.row[j+1-nd] = s.args[j][r]
		}
		inst.seq.Add(1)
		res, err := fn(goja.Undefined(), s.row...)
		if err != nil {
			return err
		}
		if res != nil && !goja.IsUndefined(res) {
			s.state[g] = res
		}
	}
	return nil
}

// Merge implements udf.StateMerger: dst's state becomes merge(dst, src).
// merge may return the combined state or change its first argument and
// return nothing.
func (s *aggStates) Merge(dst, src uint32) error {
	s.grow(int(max(dst, src)) + 1)
	if s.state[src] == nil {
		return nil
	}
	inst, err := s.instance()
	if err != nil {
		return err
	}
	if s.mrg == nil {
		return udf.ErrNoMerge
	}
	ctx, lim := s.ctx(), udf.UserLimits(s.env)
	w := startWatch(ctx, inst, lim)
	a := s.state[dst]
	if a == nil {
		inst.seq.Add(1)
		a, err = s.create(goja.Undefined())
	}
	var res goja.Value
	if err == nil {
		inst.seq.Add(1)
		res, err = s.mrg(goja.Undefined(), a, s.state[src])
	}
	reason := w.stop()
	if err != nil {
		return s.a.f.callError(err, reason, lim)
	}
	if res != nil && !goja.IsUndefined(res) {
		a = res
	}
	s.state[dst] = a
	return nil
}

// Result implements udf.GroupStates. A finish that fails gives NULL in a
// view (the failure is recorded as a reject) and the error ad hoc.
func (s *aggStates) Result(g uint32) (types.Datum, error) {
	s.grow(int(g) + 1)
	inst, err := s.instance()
	if err != nil {
		return nil, err
	}
	d := s.a.f.def
	ctx, lim := s.ctx(), udf.UserLimits(s.env)
	w := startWatch(ctx, inst, lim)
	st := s.state[g]
	if st == nil {
		inst.seq.Add(1)
		if st, err = s.create(goja.Undefined()); err == nil {
			s.state[g] = st
		}
	}
	res := st
	if err == nil && s.fin != nil {
		inst.seq.Add(1)
		if s.a.nd > 0 {
			res, err = s.fin(goja.Undefined(), s.finishArgs(st, g)...)
		} else {
			res, err = s.fin(goja.Undefined(), st)
		}
	}
	var out types.Datum
	if err == nil {
		out, err = inst.conv.fromJS(res, d.Ret)
	}
	reason := w.stop()
	if err != nil {
		cerr := s.a.f.callError(err, reason, lim)
		if ctx != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if udf.RowError(s.env, d.Signature, cerr, nil, nil) {
			return nil, nil
		}
		return nil, cerr
	}
	return out, nil
}

// finishArgs returns an ordered-set aggregate's finish arguments for
// group g: the state, then the group's direct arguments (null for a group
// without rows).
func (s *aggStates) finishArgs(st goja.Value, g uint32) []goja.Value {
	out := make([]goja.Value, 1, 1+s.a.nd)
	out[0] = st
	for j := range s.a.nd {
		v := goja.Null()
		if int(g) < len(s.direct) && s.direct[g] != nil {
			v = s.direct[g][j]
		}
		out = append(out, v)
	}
	return out
}

// Finish implements udf.Accumulator: every group's finish, inside one
// trampoline call.
func (s *aggStates) Finish(_ *udf.Env, ng int) (arrow.Array, error) {
	s.grow(ng)
	inst, err := s.instance()
	if err != nil {
		return nil, err
	}
	var out arrow.Array
	if terr := inst.trampoline(func() { out, err = udf.FinishStates(s, s.a.f.def.Ret, ng) }); err == nil && terr != nil {
		err = s.a.f.callError(terr, nil, udf.UserLimits(s.env))
	}
	if err != nil && out != nil {
		out.Release()
		out = nil
	}
	return out, err
}

func (s *aggStates) Reset(g uint32) {
	if int(g) < len(s.state) {
		s.state[g] = nil
	}
	if int(g) < len(s.direct) {
		s.direct[g] = nil
	}
}

// Encode implements udf.GroupStates: the state's JSON text, or nothing
// for a group without one.
func (s *aggStates) Encode(buf []byte, g uint32) ([]byte, error) {
	s.grow(int(g) + 1)
	st := s.state[g]
	if st == nil {
		return append(buf, 0), nil
	}
	inst, err := s.instance()
	if err != nil {
		return nil, err
	}
	v, err := inst.conv.jsonStr(goja.Undefined(), st)
	if err != nil {
		return nil, s.a.f.callError(err, nil, udf.UserLimits(s.env))
	}
	if v == nil || goja.IsUndefined(v) {
		return nil, sqlerr.New(sqlerr.ExternalRoutineException, "the state of JavaScript aggregate %s cannot be written as JSON", s.a.f.def.Signature).
			WithHint("A view keeps the state as JSON: use numbers, strings, booleans, arrays and plain objects.")
	}
	text := v.String()
	buf = append(buf, 1)
	buf = binary.AppendUvarint(buf, uint64(len(text)))
	return append(buf, text...), nil
}

// Decode implements udf.GroupStates.
func (s *aggStates) Decode(buf []byte, g uint32) error {
	s.grow(int(g) + 1)
	if len(buf) == 0 {
		return sqlerr.New(sqlerr.DataCorrupted, "corrupt state of aggregate %s", s.a.f.def.Signature)
	}
	if buf[0] == 0 {
		s.state[g] = nil
		return nil
	}
	l, k := binary.Uvarint(buf[1:])
	if k <= 0 || uint64(len(buf)-1-k) < l {
		return sqlerr.New(sqlerr.DataCorrupted, "corrupt state of aggregate %s", s.a.f.def.Signature)
	}
	inst, err := s.instance()
	if err != nil {
		return err
	}
	v, err := inst.conv.jsonParse(goja.Undefined(), inst.vm.ToValue(string(buf[1+k:1+k+int(l)])))
	if err != nil {
		return s.a.f.callError(err, nil, udf.UserLimits(s.env))
	}
	s.state[g] = v
	return nil
}

// Release returns the runtime to the pool.
func (s *aggStates) Release() {
	if s.inst != nil {
		s.a.f.pool.Put(s.inst)
		s.inst = nil
	}
	s.state, s.direct = nil, nil
}
