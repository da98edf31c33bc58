package wasm

import (
	"context"
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Aggregates in WebAssembly (CREATE AGGREGATE name(args) RETURNS t
// LANGUAGE wasm USING BASE64 '...') keep one state per group, as plain
// bytes that the host owns: it copies the states a batch touches into the
// module's memory, lets the module fold the batch's rows into them in one
// call, and copies them back. So a state can be persisted, restored and
// moved between instances, and a call that fails leaves every state as it
// was. A state must therefore hold values only, no addresses into the
// module's memory.
//
// States are of a fixed size (NAME_state_size > 0: a sum, a count, an
// average) or of a variable one (NAME_state_size = 0: a list, a sketch,
// a histogram that grows with its rows). A fixed-size state is passed in
// place: states is the address of m states of size bytes each, which the
// module updates. A variable-size state is passed by reference: states is
// the address of m entries of two little-endian i32, the address and the
// length of each state's bytes; the host fills them with copies of the
// states, and a module that changes a state's size writes the new bytes
// anywhere in its memory (keeping them alive until its next call) and
// points the entry at them. After a successful call the host copies every
// entry's bytes back (at most 16 MiB per state). An empty variable-size
// state has no bytes unless NAME_create_state writes one.
//
// The module exports, next to memory, streamsql_buffer and
// streamsql_error of the scalar ABI (see the package comment), for an
// aggregate NAME:
//
//	NAME_state_size() -> i32              the bytes of one state (1..65536),
//	                                      or 0 for variable-size states
//	NAME_create_state(n i32, states i32) -> i32
//	                                      (optional) write n empty states at
//	                                      states (or n entries); without it a
//	                                      new state is all zero bytes (or none)
//	NAME_accumulate(n i32, cols i32) -> i32
//	                                      fold n rows into their states
//	NAME_retract(n i32, cols i32) -> i32  (optional) take n rows back out
//	NAME_finish(n i32, cols i32) -> i32   the results of n states
//	NAME_merge(n i32, cols i32) -> i32    (optional) fold state b[i] into a[i]
//
// Every one returns 0 when it succeeded. cols is the address of
// little-endian i32 addresses:
//
//	accumulate, retract: states, groups, then for each argument its
//	  values and validity (as in the scalar ABI). groups holds n i32, the
//	  index of each row's state among the states; rows come in order.
//	finish: states, the result's values, the result's validity (set to 1
//	  by the host; the module sets 0 for a NULL result).
//	merge: states a, states b.
//
// An ordered-set aggregate, CREATE AGGREGATE NAME(direct args ORDER BY
// aggregated args) RETURNS t LANGUAGE wasm, gets its rows sorted by the
// WITHIN GROUP ordering: accumulate's arguments are the aggregated ones
// only, and finish's cols hold, between the states and the result, each
// direct argument's values and validity (one row per state: those of the
// group's first row). It exports neither retract nor merge.
//
// The host calls create_state once per instance it compiles and copies
// that empty state for each new group. In a materialized view a batch
// that fails is folded again row by row, and only the failing rows are
// left out (and go to rejects).

// Entry points of an aggregate, in the order of instance.fns.
const (
	aggStateSize = iota
	aggAccumulate
	aggFinish
	aggCreate
	aggRetract
	aggMerge
)

// maxStateSize bounds one group's fixed-size state, maxVarStateSize a
// variable-size one.
const (
	maxStateSize    = 1 << 16
	maxVarStateSize = 16 << 20
)

// aggregate is one compiled WebAssembly aggregate.
type aggregate struct {
	f *function
	// size is the bytes of a fixed-size state, 0 for variable-size states.
	size int
	// init is the state of an empty group.
	init     []byte
	retracts bool
	merges   bool
	// nd is the number of direct arguments of an ordered-set aggregate.
	nd int
}

// CompileAggregate implements udf.AggregateRuntime.
func (r *Runtime) CompileAggregate(d *udf.UserDef) (*udf.Aggregate, error) {
	if err := checkTypes(d); err != nil {
		return nil, err
	}
	n := d.Name
	f, err := r.compile(d, []string{n + "_state_size", n + "_accumulate", n + "_finish", n + "_create_state", n + "_retract", n + "_merge"}, 3)
	if err != nil {
		return nil, err
	}
	a := &aggregate{f: f}
	inst, err := f.take()
	if err != nil {
		return nil, err
	}
	ctx, lim := context.Background(), udf.Limits{Timeout: udf.DefaultUDFTimeout, Memory: r.memLimit}
	res, err := inst.fns[aggStateSize].Call(ctx)
	if err != nil {
		return nil, f.callError(ctx, inst, err, lim)
	}
	if a.size = int(int32(res[0])); a.size < 0 || a.size > maxStateSize {
		f.pool.Put(inst)
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "WebAssembly aggregate %s has a state of %d bytes", d.Signature, a.size).
			WithHint("%s_state_size must return between 1 and %d, or 0 for states of variable size.", n, maxStateSize)
	}
	a.init = make([]byte, a.size)
	if create := inst.fns[aggCreate]; create != nil {
		slot := max(a.size, 8)
		base, buf, err := f.region(ctx, inst, slot, lim)
		if err != nil {
			return nil, err
		}
		clear(buf[:slot])
		if err := f.invoke(ctx, lim, inst, create, 1, base); err != nil {
			return nil, err
		}
		init, err := a.readStates(ctx, inst, base, 1)
		if err != nil {
			return nil, err
		}
		a.init = init[0]
	}
	a.retracts, a.merges = inst.fns[aggRetract] != nil, inst.fns[aggMerge] != nil
	f.pool.Put(inst)
	if d.OrderedSet && (a.retracts || a.merges) {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "ordered-set aggregate %s cannot export %s_retract or %s_merge", d.Signature, n, n).
			WithHint("A view folds an ordered-set aggregate's rows again when its group changes.")
	}
	a.nd = d.NumDirect
	agg := &udf.Aggregate{Name: d.Name, Args: d.ArgTypes, Ret: d.Ret, OID: d.OID, User: true,
		OrderedSet: d.OrderedSet, NumDirect: d.NumDirect, SortedInput: d.OrderedSet,
		New: func([]types.T) udf.Accumulator { return a.newStates() }}
	if a.retracts {
		agg.Retracts = true
		agg.NewRetracting = func([]types.T) udf.GroupStates { return a.newStates() }
		agg.Merges = a.merges
	}
	return agg, nil
}

// checkTypes refuses the types the ABI has no layout for.
func checkTypes(d *udf.UserDef) error {
	for _, t := range append([]types.T{d.Ret}, d.ArgTypes...) {
		if width(t) == 0 {
			return sqlerr.New(sqlerr.FeatureNotSupported, "type %s is not supported in WebAssembly functions", t).
				WithHint("The types are smallint, integer, bigint, real, double precision and boolean.")
		}
	}
	if len(d.Binary) == 0 {
		return sqlerr.New(sqlerr.InvalidFunctionDefinition, "WebAssembly function %s has no module", d.Signature).
			WithHint("Give the module as USING BASE64 '...'.")
	}
	return nil
}

// statesSize is the room states of groups gs take in a call: the states
// in place, or the entries and then each state's bytes.
func (s *aggStates) statesSize(gs []uint32) int {
	if s.a.size > 0 {
		return align8(len(gs) * s.a.size)
	}
	n := align8(8 * len(gs))
	for _, g := range gs {
		n += align8(len(s.state(g)))
	}
	return n
}

// putStates lays out the states of groups gs at buf[at:], which is at
// address base+at in the module's memory.
func (s *aggStates) putStates(buf []byte, base uint32, at int, gs []uint32) {
	if size := s.a.size; size > 0 {
		for k, g := range gs {
			copy(buf[at+k*size:], s.state(g))
		}
		return
	}
	data := at + align8(8*len(gs))
	for k, g := range gs {
		st := s.state(g)
		binary.LittleEndian.PutUint32(buf[at+8*k:], base+uint32(data))
		binary.LittleEndian.PutUint32(buf[at+8*k+4:], uint32(len(st)))
		copy(buf[data:], st)
		data += align8(len(st))
	}
}

// readStates copies m states out of the module's memory at address at:
// m fixed-size states, or the bytes m entries point at.
func (a *aggregate) readStates(ctx context.Context, inst *instance, at uint32, m int) ([][]byte, error) {
	mem := inst.mod.Memory()
	lost := func() error {
		inst.mod.Close(ctx)
		return sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly aggregate %s lost its buffer", a.f.def.Signature)
	}
	if a.size > 0 {
		b, ok := mem.Read(at, uint32(m*a.size))
		if !ok {
			return nil, lost()
		}
		b = append([]byte(nil), b...)
		out := make([][]byte, m)
		for k := range out {
			out[k] = b[k*a.size : (k+1)*a.size]
		}
		return out, nil
	}
	entries, ok := mem.Read(at, uint32(8*m))
	if !ok {
		return nil, lost()
	}
	out := make([][]byte, m)
	for k := range m {
		addr, n := binary.LittleEndian.Uint32(entries[8*k:]), binary.LittleEndian.Uint32(entries[8*k+4:])
		if n > maxVarStateSize {
			inst.mod.Close(ctx)
			return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "WebAssembly aggregate %s made a state of %d bytes, more than %d", a.f.def.Signature, n, maxVarStateSize)
		}
		b, ok := mem.Read(addr, n)
		if !ok {
			inst.mod.Close(ctx)
			return nil, sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly aggregate %s returned a state of %d bytes at %d, outside its memory", a.f.def.Signature, n, addr)
		}
		out[k] = append([]byte(nil), b...)
	}
	return out, nil
}

// setStates stores the states readStates returned for groups gs.
func (s *aggStates) setStates(gs []uint32, out [][]byte) {
	for k, g := range gs {
		if size := s.a.size; size > 0 {
			copy(s.states[int(g)*size:], out[k])
		} else {
			s.vars[g] = out[k]
		}
	}
}

func (a *aggregate) newStates() *aggStates { return &aggStates{a: a, env: &udf.Env{}} }

// aggStates holds the states of many groups: size bytes each in states,
// or each group's own bytes in vars for variable-size states.
type aggStates struct {
	a      *aggregate
	env    *udf.Env
	states []byte
	vars   [][]byte
	has    []bool
	// Per batch: the slot of each group the batch touches (-1: none),
	// the groups in slot order, and the rows folded.
	slot    []int32
	touched []uint32
	rows    []int
	w       []int64
	// direct holds each group's direct arguments (an ordered-set
	// aggregate's), nil until the group's first row.
	direct [][]types.Datum
}

// argTypes are the types of the arguments accumulate takes: those after
// the direct ones.
func (s *aggStates) argTypes() []types.T { return s.a.f.def.ArgTypes[s.a.nd:] }

// takeDirect records each group's direct arguments from its first row
// and returns the aggregated arguments.
func (s *aggStates) takeDirect(groups []uint32, args []arrow.Array, n int) []arrow.Array {
	nd := s.a.nd
	if nd == 0 {
		return args
	}
	for len(s.direct) < len(s.has) {
		s.direct = append(s.direct, nil)
	}
	for i := 0; i < n; i++ {
		g := groups[i]
		if g == udf.SkipRow || s.direct[g] != nil {
			continue
		}
		d := make([]types.Datum, nd)
		for j := range d {
			d[j] = types.GetDatum(args[j], i, s.a.f.def.ArgTypes[j])
		}
		s.direct[g] = d
	}
	return args[nd:]
}

// SetEnv implements udf.EnvAccumulator.
func (s *aggStates) SetEnv(env *udf.Env) { s.env = env }

func (s *aggStates) ctx() context.Context {
	if s.env != nil && s.env.Context != nil {
		return s.env.Context
	}
	return context.Background()
}

func (s *aggStates) grow(ng int) {
	for len(s.has) < ng {
		s.has = append(s.has, false)
		s.slot = append(s.slot, -1)
		if s.a.size == 0 {
			s.vars = append(s.vars, nil)
		}
	}
	if need := ng * s.a.size; len(s.states) < need {
		s.states = append(s.states, make([]byte, need-len(s.states))...)
	}
}

// state returns group g's state, the empty one if it has none yet.
func (s *aggStates) state(g uint32) []byte {
	if s.a.size == 0 {
		if !s.has[g] {
			s.vars[g] = append(s.vars[g][:0], s.a.init...)
			s.has[g] = true
		}
		return s.vars[g]
	}
	st := s.states[int(g)*s.a.size : (int(g)+1)*s.a.size]
	if !s.has[g] {
		copy(st, s.a.init)
		s.has[g] = true
	}
	return st
}

func (s *aggStates) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	return s.Apply(groups, nil, ng, args, n)
}

func (s *aggStates) Retract(groups []uint32, ng int, args []arrow.Array, n int) error {
	return udf.RetractByApply(s, s.a.retracts, &s.w, groups, ng, args, n)
}

// Apply implements udf.GroupStates: each run of rows of the same sign is
// one call of accumulate or retract.
func (s *aggStates) Apply(groups []uint32, weights []int64, ng int, args []arrow.Array, n int) error {
	s.grow(ng)
	args = s.takeDirect(groups, args, n)
	sign := int64(0)
	s.rows = s.rows[:0]
	for i := 0; i < n; i++ {
		w := int64(1)
		if weights != nil {
			w = weights[i]
		}
		if w == 0 || groups[i] == udf.SkipRow {
			continue
		}
		if w < 0 && !s.a.retracts {
			return udf.ErrNoRetract
		}
		if (w > 0) != (sign > 0) && len(s.rows) > 0 {
			if err := s.run(groups, args, sign); err != nil {
				return err
			}
			s.rows = s.rows[:0]
		}
		sign = w
		s.rows = append(s.rows, i)
	}
	if len(s.rows) == 0 {
		return nil
	}
	return s.run(groups, args, sign)
}

// run folds s.rows in (sign > 0) or out. If the batch fails while the
// statement sends failing rows to rejects, the rows go in one by one and
// the failing ones are left out.
func (s *aggStates) run(groups []uint32, args []arrow.Array, sign int64) error {
	fn := aggAccumulate
	if sign < 0 {
		fn = aggRetract
	}
	ctx := s.ctx()
	err := s.fold(ctx, groups, args, s.rows, fn)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s.env == nil || s.env.OnRowError == nil {
		return err
	}
	d := s.a.f.def
	for _, r := range s.rows {
		err := s.fold(ctx, groups, args, []int{r}, fn)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		row := make([]types.Datum, len(args))
		for j, a := range args {
			row[j] = types.GetDatum(a, r, s.argTypes()[j])
		}
		udf.RowError(s.env, d.Signature, err, row, s.argTypes())
	}
	return nil
}

// fold makes one call of entry fn over rows; the states change only if it
// succeeds.
func (s *aggStates) fold(ctx context.Context, groups []uint32, args []arrow.Array, rows []int, fn int) error {
	f := s.a.f
	s.touched = s.touched[:0]
	for _, r := range rows {
		if g := groups[r]; s.slot[g] < 0 {
			s.slot[g] = int32(len(s.touched))
			s.touched = append(s.touched, g)
		}
	}
	defer func() {
		for _, g := range s.touched {
			s.slot[g] = -1
		}
	}()
	n := len(rows)
	nCols := 2 + 2*len(args)
	widths := make([]int, len(args))
	stSize := s.statesSize(s.touched)
	size0 := align8(4*nCols) + stSize + align8(4*n)
	for j := range args {
		widths[j] = width(s.argTypes()[j])
		size0 += align8(widths[j]*n) + align8(n)
	}
	lim := udf.UserLimits(s.env)
	inst, err := f.take()
	if err != nil {
		return err
	}
	base, buf, err := f.region(ctx, inst, size0, lim)
	if err != nil {
		return err
	}
	at := align8(4 * nCols)
	put := func(k, off int) { binary.LittleEndian.PutUint32(buf[4*k:], base+uint32(off)) }
	statesAt := at
	put(0, at)
	s.putStates(buf, base, at, s.touched)
	at += stSize
	put(1, at)
	for k, r := range rows {
		binary.LittleEndian.PutUint32(buf[at+4*k:], uint32(s.slot[groups[r]]))
	}
	at += align8(4 * n)
	contiguous := rows[n-1]-rows[0] == n-1
	for j, a := range args {
		vals := buf[at : at+widths[j]*n]
		put(2+2*j, at)
		at += align8(widths[j] * n)
		valid := buf[at : at+n]
		put(3+2*j, at)
		at += align8(n)
		if contiguous {
			writeColumn(vals, valid, a, s.argTypes()[j], rows[0], n)
		} else {
			writeRows(vals, valid, a, s.argTypes()[j], rows)
		}
	}
	if err := f.invoke(ctx, lim, inst, inst.fns[fn], n, base); err != nil {
		return err
	}
	out, err := s.a.readStates(ctx, inst, base+uint32(statesAt), len(s.touched))
	if err != nil {
		return err
	}
	f.pool.Put(inst)
	s.setStates(s.touched, out)
	return nil
}

// Merge implements udf.StateMerger: one call of NAME_merge with n = 1,
// states a holding dst's state and states b src's.
func (s *aggStates) Merge(dst, src uint32) error {
	if !s.a.merges {
		return udf.ErrNoMerge
	}
	s.grow(int(max(dst, src)) + 1)
	if !s.has[src] {
		return nil
	}
	f := s.a.f
	ctx, lim := s.ctx(), udf.UserLimits(s.env)
	inst, err := f.take()
	if err != nil {
		return err
	}
	a, b := []uint32{dst}, []uint32{src}
	aAt := 8
	bAt := aAt + s.statesSize(a)
	base, buf, err := f.region(ctx, inst, bAt+s.statesSize(b), lim)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(buf[0:], base+uint32(aAt))
	binary.LittleEndian.PutUint32(buf[4:], base+uint32(bAt))
	s.putStates(buf, base, aAt, a)
	s.putStates(buf, base, bAt, b)
	if err := f.invoke(ctx, lim, inst, inst.fns[aggMerge], 1, base); err != nil {
		return err
	}
	out, err := s.a.readStates(ctx, inst, base+uint32(aAt), 1)
	if err != nil {
		return err
	}
	f.pool.Put(inst)
	s.setStates(a, out)
	return nil
}

// finish returns the results of groups [lo, hi).
func (s *aggStates) finish(lo, hi int) (vals, valid []byte, err error) {
	f := s.a.f
	n := hi - lo
	w := width(f.def.Ret)
	ctx, lim := s.ctx(), udf.UserLimits(s.env)
	s.touched = s.touched[:0]
	for g := lo; g < hi; g++ {
		s.touched = append(s.touched, uint32(g))
	}
	stSize := s.statesSize(s.touched)
	inst, err := f.take()
	if err != nil {
		return nil, nil, err
	}
	// The address table: the states, each direct argument's values and
	// validity (an ordered-set aggregate's), the result's.
	nd := s.a.nd
	head := align8(4 * (3 + 2*nd))
	total := head + stSize + align8(n*w) + align8(n)
	for j := range nd {
		total += align8(n*width(f.def.ArgTypes[j])) + align8(n)
	}
	base, buf, err := f.region(ctx, inst, total, lim)
	if err != nil {
		return nil, nil, err
	}
	at := head
	binary.LittleEndian.PutUint32(buf[0:], base+uint32(at))
	s.putStates(buf, base, at, s.touched)
	at += stSize
	for j := range nd {
		t := f.def.ArgTypes[j]
		ds := make([]types.Datum, n)
		for k, g := range s.touched {
			if int(g) < len(s.direct) && s.direct[g] != nil {
				ds[k] = s.direct[g][j]
			}
		}
		col := types.ArrayFromDatums(t, ds)
		wj := width(t)
		vals := buf[at : at+wj*n]
		binary.LittleEndian.PutUint32(buf[4*(1+2*j):], base+uint32(at))
		at += align8(wj * n)
		valid := buf[at : at+n]
		binary.LittleEndian.PutUint32(buf[4*(2+2*j):], base+uint32(at))
		at += align8(n)
		writeColumn(vals, valid, col, t, 0, n)
		col.Release()
	}
	valsAt := at
	binary.LittleEndian.PutUint32(buf[4*(1+2*nd):], base+uint32(at))
	at += align8(n * w)
	binary.LittleEndian.PutUint32(buf[4*(2+2*nd):], base+uint32(at))
	for i := range n {
		buf[at+i] = 1
	}
	if err := f.invoke(ctx, lim, inst, inst.fns[aggFinish], n, base); err != nil {
		return nil, nil, err
	}
	out, ok := inst.mod.Memory().Read(base+uint32(valsAt), uint32(at-valsAt+n))
	if !ok {
		inst.mod.Close(ctx)
		return nil, nil, sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly aggregate %s lost its buffer", f.def.Signature)
	}
	vals = append([]byte(nil), out[:n*w]...)
	valid = append([]byte(nil), out[at-valsAt:]...)
	f.pool.Put(inst)
	return vals, valid, nil
}

// Result implements udf.GroupStates. A finish that fails gives NULL in a
// view (the failure is recorded as a reject) and the error ad hoc.
func (s *aggStates) Result(g uint32) (types.Datum, error) {
	s.grow(int(g) + 1)
	vals, valid, err := s.finish(int(g), int(g)+1)
	if err != nil {
		if ctx := s.ctx(); ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if udf.RowError(s.env, s.a.f.def.Signature, err, nil, nil) {
			return nil, nil
		}
		return nil, err
	}
	col := s.a.f.result(vals, valid, 1)
	defer col.Release()
	return types.GetDatum(col, 0, s.a.f.def.Ret), nil
}

// Finish implements udf.Accumulator: one call for every group.
func (s *aggStates) Finish(_ *udf.Env, ng int) (arrow.Array, error) {
	s.grow(ng)
	if ng == 0 {
		return types.NewBuilder(s.a.f.def.Ret).NewArray(), nil
	}
	vals, valid, err := s.finish(0, ng)
	if err != nil {
		return nil, err
	}
	return s.a.f.result(vals, valid, ng), nil
}

func (s *aggStates) Reset(g uint32) {
	if int(g) < len(s.has) {
		s.has[g] = false
	}
	if int(g) < len(s.direct) {
		s.direct[g] = nil
	}
}

// Encode implements udf.GroupStates: a byte saying whether the group has
// a state, then its bytes.
func (s *aggStates) Encode(buf []byte, g uint32) ([]byte, error) {
	s.grow(int(g) + 1)
	if !s.has[g] {
		return append(buf, 0), nil
	}
	buf = append(buf, 1)
	return append(buf, s.state(g)...), nil
}

// Decode implements udf.GroupStates.
func (s *aggStates) Decode(buf []byte, g uint32) error {
	s.grow(int(g) + 1)
	switch {
	case len(buf) == 1 && buf[0] == 0:
		s.has[g] = false
		return nil
	case s.a.size == 0 && len(buf) >= 1 && buf[0] == 1:
		s.vars[g] = append(s.vars[g][:0], buf[1:]...)
		s.has[g] = true
		return nil
	case len(buf) == 1+s.a.size && buf[0] == 1:
		copy(s.states[int(g)*s.a.size:], buf[1:])
		s.has[g] = true
		return nil
	}
	return sqlerr.New(sqlerr.DataCorrupted, "corrupt state of aggregate %s", s.a.f.def.Signature).
		WithDetail("The state has %d bytes; the module's states have %d.", len(buf)-1, s.a.size)
}

func (s *aggStates) Release() {
	s.states, s.vars, s.has, s.slot, s.direct = nil, nil, nil, nil, nil
}
