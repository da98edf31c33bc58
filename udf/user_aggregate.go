package udf

import (
	"encoding/binary"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// User-defined aggregates (CREATE AGGREGATE, udf.RegisterAggregate) keep
// one state value per group and fold rows into it with their support
// functions: PostgreSQL's SFUNC/FINALFUNC, or JavaScript's
// create_state/accumulate/finish, or a Go function. An aggregate that can
// also take a row back out (MSFUNC/MINVFUNC, JavaScript's retract, a Go
// Retract) says so with Aggregate.Retracts; its accumulators are then
// GroupStates, which a materialized view keeps as its aggregate state and
// persists group by group. One without retraction is recomputed from the
// group's kept inputs in a view, as the built-ins that cannot retract are.

// GroupStates is the accumulator of a user aggregate: one state value per
// group, that a streaming operator updates with signed rows, asks for one
// group's result, and writes to and reads from its state tables.
type GroupStates interface {
	Accumulator
	// Apply folds row i of args into group groups[i] with weight
	// weights[i]: +1 accumulates, -1 retracts, 0 skips the row (as does
	// SkipRow). A nil weights accumulates every row. Rows are applied in
	// order.
	Apply(groups []uint32, weights []int64, numGroups int, args []arrow.Array, n int) error
	// Result returns group g's current result.
	Result(g uint32) (types.Datum, error)
	// Reset empties group g (its number is reused for another group).
	Reset(g uint32)
	// Encode appends group g's state; Decode restores it from buf.
	Encode(buf []byte, g uint32) ([]byte, error)
	Decode(buf []byte, g uint32) error
}

// StateMerger is GroupStates that can combine two groups' states: PostgreSQL's
// COMBINEFUNC, JavaScript's and WebAssembly's merge.
type StateMerger interface {
	// Merge folds group src's state into group dst's. On an error dst's
	// state is undefined (the caller rebuilds it); src is unchanged.
	Merge(dst, src uint32) error
}

// EnvAccumulator is an accumulator that needs the statement's Env while it
// folds rows (a sandboxed language's limits and cancellation, and where a
// view sends the rows a function fails on).
type EnvAccumulator interface {
	SetEnv(env *Env)
}

// Start returns a new accumulator of a for actual argument types args,
// running in env.
func (a *Aggregate) Start(env *Env, args []types.T) Accumulator {
	acc := a.New(args)
	if e, ok := acc.(EnvAccumulator); ok && env != nil {
		e.SetEnv(env)
	}
	return acc
}

// FinishStates is Finish for GroupStates: each group's Result, as a
// column of type t.
func FinishStates(s GroupStates, t types.T, ng int) (arrow.Array, error) {
	b := types.NewBuilder(t)
	defer b.Release()
	b.Reserve(ng)
	for g := 0; g < ng; g++ {
		d, err := s.Result(uint32(g))
		if err != nil {
			return nil, err
		}
		types.AppendDatum(b, d)
	}
	return b.NewArray(), nil
}

// RetractByApply is GroupStates' Retract by its Apply, each row with
// weight -1 (held in *buf), or ErrNoRetract when the aggregate cannot
// retract.
func RetractByApply(s GroupStates, retracts bool, buf *[]int64, groups []uint32, ng int, args []arrow.Array, n int) error {
	if !retracts {
		return ErrNoRetract
	}
	w := growTo((*buf)[:0], n)
	for i := range w {
		w[i] = -1
	}
	*buf = w
	return s.Apply(groups, w, ng, args, n)
}

// StateFuncs are the support functions of one form of a SQL-declared
// aggregate (CREATE AGGREGATE ... (SFUNC = ..., STYPE = ...)): the plain
// form, or the moving form (MSFUNC, MINVFUNC, MSTYPE, ...).
type StateFuncs struct {
	// SFunc takes (state, args...) to the next state; InvFunc (the
	// moving form's MINVFUNC) takes a row back out.
	SFunc, InvFunc *Scalar
	// Final, if set, turns the state into the result.
	Final *Scalar
	// FinalExtra (FINALFUNC_EXTRA): Final takes, after the state (and
	// the direct arguments of an ordered-set aggregate), one NULL per
	// aggregated argument, of its type.
	FinalExtra bool
	SType      types.T
	// Init is the initial state (INITCOND), nil for NULL.
	Init types.Datum
}

// SQLAggregateDef is a SQL-declared aggregate whose support functions are
// bound: the planner resolves them (SQL functions compiled to expressions,
// functions in other languages, built-ins) and this package runs them.
type SQLAggregateDef struct {
	Name string
	OID  uint32
	Args []types.T
	Ret  types.T
	// Variadic: the last argument is a VARIADIC array.
	Variadic bool
	// OrderedSet: Args are NumDirect direct arguments, which the final
	// function takes after the state (the first row's of each group, as
	// they are constant in a group), then the aggregated ones, which the
	// transition function takes, in the call's ORDER BY.
	OrderedSet bool
	NumDirect  int
	// Plain runs ad-hoc queries and window functions; Moving, when set,
	// runs materialized views incrementally.
	Plain  StateFuncs
	Moving *StateFuncs
	// Combine (COMBINEFUNC) combines two moving states, when set.
	Combine *Scalar
}

// NewSQLAggregate returns the aggregate d defines. Accumulators it makes
// for ad-hoc queries use the plain form; views take the moving form when
// there is one (Retracts).
func NewSQLAggregate(d *SQLAggregateDef) *Aggregate {
	a := &Aggregate{Name: d.Name, Args: d.Args, Ret: d.Ret, OID: d.OID, User: true, Variadic: d.Variadic,
		OrderedSet: d.OrderedSet, NumDirect: d.NumDirect}
	a.New = func([]types.T) Accumulator { return newSQLStates(d, &d.Plain) }
	if d.Moving != nil {
		a.Retracts = true
		a.NewRetracting = func([]types.T) GroupStates { return newSQLStates(d, d.Moving) }
		a.Merges = d.Combine != nil
	}
	return a
}

// sqlStates is a SQL-declared aggregate's state for many groups. A
// batch is folded in rounds: round k holds the k-th row of every group
// that has one, so each support function call is one vectorized call
// over distinct groups, and each group sees its rows in order.
type sqlStates struct {
	def *SQLAggregateDef
	fn  *StateFuncs
	env *Env
	// args are the types of the arguments the transition functions take
	// (after the direct ones of an ordered-set aggregate), direct each
	// group's direct arguments.
	args   []types.T
	direct [][]types.Datum
	state  []types.Datum
	// has: the group's state was set (the first row of a strict SFunc
	// with a NULL INITCOND becomes the state); rows counts the rows in
	// the state, so a moving state that loses its last row starts over.
	has  []bool
	rows []int64
	w    []int64
}

func newSQLStates(d *SQLAggregateDef, fn *StateFuncs) *sqlStates {
	return &sqlStates{def: d, fn: fn, env: &Env{}, args: d.Args[d.NumDirect:]}
}

// SetEnv implements EnvAccumulator.
func (s *sqlStates) SetEnv(env *Env) { s.env = env }

func (s *sqlStates) grow(ng int) {
	old := len(s.state)
	s.state = growTo(s.state, ng)
	s.has = growTo(s.has, ng)
	s.rows = growTo(s.rows, ng)
	if s.def.NumDirect > 0 {
		s.direct = growTo(s.direct, ng)
	}
	for g := old; g < len(s.state); g++ {
		s.state[g], s.has[g], s.rows[g] = s.fn.Init, false, 0
		if s.direct != nil {
			s.direct[g] = nil
		}
	}
}

// takeDirect records the direct arguments of each group from its first
// row and returns the aggregated arguments.
func (s *sqlStates) takeDirect(groups []uint32, args []arrow.Array, n int) []arrow.Array {
	nd := s.def.NumDirect
	if nd == 0 {
		return args
	}
	for i := 0; i < n; i++ {
		g := groups[i]
		if g == SkipRow || s.direct[g] != nil {
			continue
		}
		d := make([]types.Datum, nd)
		for j := range d {
			d[j] = types.GetDatum(args[j], i, s.def.Args[j])
		}
		s.direct[g] = d
	}
	return args[nd:]
}

func (s *sqlStates) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	return s.Apply(groups, nil, ng, args, n)
}

func (s *sqlStates) Retract(groups []uint32, ng int, args []arrow.Array, n int) error {
	return RetractByApply(s, s.fn.InvFunc != nil, &s.w, groups, ng, args, n)
}

type sqlRound struct {
	rows []int
}

func (s *sqlStates) Apply(groups []uint32, weights []int64, ng int, args []arrow.Array, n int) error {
	s.grow(ng)
	args = s.takeDirect(groups, args, n)
	strict := s.fn.SFunc.Strict
	// seen[g] is how many rows of group g this batch placed so far.
	seen := map[uint32]int{}
	var rounds [][2]sqlRound // per round: accumulate rows, retract rows
	for i := 0; i < n; i++ {
		g := groups[i]
		w := int64(1)
		if weights != nil {
			w = weights[i]
		}
		if g == SkipRow || w == 0 {
			continue
		}
		if strict {
			null := false
			for _, a := range args {
				null = null || a.IsNull(i)
			}
			if null {
				continue
			}
		}
		k := seen[g]
		seen[g] = k + 1
		for len(rounds) <= k {
			rounds = append(rounds, [2]sqlRound{})
		}
		side := 0
		if w < 0 {
			if s.fn.InvFunc == nil {
				return ErrNoRetract
			}
			side = 1
		}
		rounds[k][side].rows = append(rounds[k][side].rows, i)
	}
	for _, r := range rounds {
		if err := s.step(groups, args, r[0].rows, s.fn.SFunc, 1); err != nil {
			return err
		}
		if err := s.step(groups, args, r[1].rows, s.fn.InvFunc, -1); err != nil {
			return err
		}
	}
	return nil
}

// step calls fn once over rows (of distinct groups).
func (s *sqlStates) step(groups []uint32, args []arrow.Array, rows []int, fn *Scalar, sign int64) error {
	if len(rows) == 0 {
		return nil
	}
	// A strict SFUNC with a NULL initial state takes the first row's
	// value as the state, as PostgreSQL does.
	call := rows[:0:0]
	for _, i := range rows {
		g := groups[i]
		if sign > 0 && fn.Strict && !s.has[g] && s.state[g] == nil && len(args) > 0 {
			s.state[g], s.has[g] = types.GetDatum(args[0], i, s.args[0]), true
			s.rows[g]++
			continue
		}
		if fn.Strict && s.state[g] == nil {
			s.rows[g] += sign // the state stays NULL
			continue
		}
		call = append(call, i)
	}
	if err := s.callRows(groups, args, call, fn, sign); err != nil {
		// In a view a batch that fails runs again row by row, and the
		// rows the function fails on are rejects, left out of the state.
		if s.env == nil || s.env.OnRowError == nil || (s.env.Context != nil && s.env.Context.Err() != nil) {
			return err
		}
		for _, i := range call {
			if len(call) > 1 {
				err = s.callRows(groups, args, []int{i}, fn, sign)
			}
			if err != nil {
				row := make([]types.Datum, len(args))
				for j, a := range args {
					row[j] = types.GetDatum(a, i, s.args[j])
				}
				if !RowError(s.env, s.signature(), err, row, s.args) {
					return err
				}
			}
		}
	}
	if sign < 0 {
		for _, i := range rows {
			if g := groups[i]; s.rows[g] <= 0 {
				s.state[g], s.has[g], s.rows[g] = s.fn.Init, false, 0
			}
		}
	}
	return nil
}

// signature is the aggregate's name and argument types, as errors and
// rejects name it.
func (s *sqlStates) signature() string {
	names := make([]string, len(s.def.Args))
	for i, t := range s.def.Args {
		names[i] = t.String()
	}
	return s.def.Name + "(" + strings.Join(names, ", ") + ")"
}

// callRows calls fn once over rows (of distinct groups) and sets their
// states; on an error no state changes.
func (s *sqlStates) callRows(groups []uint32, args []arrow.Array, call []int, fn *Scalar, sign int64) error {
	if len(call) > 0 {
		cols := make([]arrow.Array, 1+len(args))
		st := make([]types.Datum, len(call))
		for k, i := range call {
			st[k] = s.state[groups[i]]
		}
		cols[0] = types.ArrayFromDatums(s.fn.SType, st)
		for j, a := range args {
			ds := make([]types.Datum, len(call))
			for k, i := range call {
				ds[k] = types.GetDatum(a, i, s.args[j])
			}
			cols[j+1] = types.ArrayFromDatums(s.args[j], ds)
		}
		argTypes := append([]types.T{s.fn.SType}, s.args...)
		res, err := fn.Call(s.env, argTypes, cols, len(call))
		for _, c := range cols {
			c.Release()
		}
		if err != nil {
			return err
		}
		for k, i := range call {
			g := groups[i]
			s.state[g], s.has[g] = types.GetDatum(res, k, s.fn.SType), true
			s.rows[g] += sign
		}
		res.Release()
	}
	return nil
}

// Merge implements StateMerger with COMBINEFUNC. A strict one leaves a
// NULL state out, as PostgreSQL does: the other state is the result.
func (s *sqlStates) Merge(dst, src uint32) error {
	c := s.def.Combine
	if c == nil {
		return ErrNoMerge
	}
	s.grow(int(max(dst, src)) + 1)
	if !s.has[src] && s.rows[src] == 0 {
		return nil
	}
	a, b := s.state[dst], s.state[src]
	switch {
	case c.Strict && b == nil:
	case c.Strict && a == nil && !s.has[dst]:
		s.state[dst] = b
	case c.Strict && a == nil:
	default:
		ca := types.ArrayFromDatums(s.fn.SType, []types.Datum{a})
		cb := types.ArrayFromDatums(s.fn.SType, []types.Datum{b})
		res, err := c.Call(s.env, []types.T{s.fn.SType, s.fn.SType}, []arrow.Array{ca, cb}, 1)
		ca.Release()
		cb.Release()
		if err != nil {
			return err
		}
		s.state[dst] = types.GetDatum(res, 0, s.fn.SType)
		res.Release()
	}
	s.has[dst] = true
	s.rows[dst] += s.rows[src]
	return nil
}

func (s *sqlStates) Result(g uint32) (types.Datum, error) {
	s.grow(int(g) + 1)
	st := s.state[g]
	if s.fn.Final == nil {
		return st, nil
	}
	if st == nil && s.fn.Final.Strict {
		return nil, nil
	}
	// An ordered-set aggregate's final function takes the direct
	// arguments after the state; with FINALFUNC_EXTRA, a NULL of each
	// aggregated argument's type follows (a final function with extra
	// arguments is never strict: CREATE AGGREGATE refuses that).
	cols := []arrow.Array{types.ArrayFromDatums(s.fn.SType, []types.Datum{st})}
	argTypes := []types.T{s.fn.SType}
	for j := 0; j < s.def.NumDirect; j++ {
		var d types.Datum
		if s.direct[g] != nil {
			d = s.direct[g][j]
		}
		if d == nil && s.fn.Final.Strict {
			cols[0].Release()
			return nil, nil
		}
		cols = append(cols, types.ArrayFromDatums(s.def.Args[j], []types.Datum{d}))
		argTypes = append(argTypes, s.def.Args[j])
	}
	if s.fn.FinalExtra {
		for _, t := range s.args {
			cols = append(cols, types.ArrayFromDatums(t, []types.Datum{nil}))
			argTypes = append(argTypes, t)
		}
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	res, err := s.fn.Final.Call(s.env, argTypes, cols, 1)
	if err != nil {
		// In a view the group's result is NULL and the failure a reject.
		if (s.env.Context == nil || s.env.Context.Err() == nil) && RowError(s.env, s.signature(), err, nil, nil) {
			return nil, nil
		}
		return nil, err
	}
	defer res.Release()
	return types.GetDatum(res, 0, s.def.Ret), nil
}

func (s *sqlStates) Finish(_ *Env, ng int) (arrow.Array, error) {
	s.grow(ng)
	return FinishStates(s, s.def.Ret, ng)
}

func (s *sqlStates) Reset(g uint32) {
	if int(g) < len(s.state) {
		s.state[g], s.has[g], s.rows[g] = s.fn.Init, false, 0
		if s.direct != nil {
			s.direct[g] = nil
		}
	}
}

func (s *sqlStates) Encode(buf []byte, g uint32) ([]byte, error) {
	s.grow(int(g) + 1)
	buf = binary.AppendVarint(buf, s.rows[g])
	if s.has[g] {
		buf = append(buf, 1)
	} else {
		buf = append(buf, 0)
	}
	return types.AppendValue(buf, s.state[g], s.fn.SType), nil
}

func (s *sqlStates) Decode(buf []byte, g uint32) error {
	s.grow(int(g) + 1)
	rows, k := binary.Varint(buf)
	if k <= 0 || len(buf) <= k {
		return sqlerr.New(sqlerr.DataCorrupted, "corrupt state of aggregate %s", s.def.Name)
	}
	d, _, err := types.DecodeValue(buf[k+1:], s.fn.SType)
	if err != nil {
		return err
	}
	s.rows[g], s.has[g], s.state[g] = rows, buf[k] == 1, d
	return nil
}

func (s *sqlStates) Release() { s.state, s.has, s.rows, s.direct = nil, nil, nil, nil }
