package udf

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// GoAggregate is an aggregate function written in Go over arguments of
// type A with a state of type S and a result of type R. Rows with a NULL
// argument are skipped, as for a strict SFUNC.
//
// With Retract the aggregate is incremental in materialized views: a
// view keeps each group's state, persisted as its JSON encoding (so S
// must survive encoding/json: exported fields, no channels or funcs),
// and takes deleted rows back out with Retract. Without it a view keeps
// the group's inputs and folds them again when they change.
type GoAggregate[A GoValue, S any, R GoValue] struct {
	// Init returns the state of an empty group.
	Init func() S
	// Accumulate returns the state with one more row.
	Accumulate func(state S, arg A) (S, error)
	// Retract returns the state with one row less (optional).
	Retract func(state S, arg A) (S, error)
	// Finish returns the result of a state.
	Finish func(state S) (R, error)
}

// RegisterAggregate registers agg as the SQL aggregate name(A) returning R.
func RegisterAggregate[A GoValue, S any, R GoValue](g *GoFunctions, name string, agg GoAggregate[A, S, R]) error {
	if agg.Init == nil || agg.Accumulate == nil || agg.Finish == nil {
		return fmt.Errorf("udf: Go aggregate %s needs Init, Accumulate and Finish", name)
	}
	f := goAggFuncs[S, R]{init: agg.Init, finish: agg.Finish,
		acc: func(s S, d []types.Datum) (S, error) { return agg.Accumulate(s, fromDatum[A](d[0])) }}
	if agg.Retract != nil {
		f.ret = func(s S, d []types.Datum) (S, error) { return agg.Retract(s, fromDatum[A](d[0])) }
	}
	return registerGoAggregate(g, name, []types.T{sqlType[A]()}, f)
}

// GoAggregate2 is a Go aggregate of two arguments, of types A and B (a
// weighted average: value and weight). Rows with a NULL argument are
// skipped; otherwise it is as GoAggregate.
type GoAggregate2[A, B GoValue, S any, R GoValue] struct {
	Init       func() S
	Accumulate func(state S, a A, b B) (S, error)
	Retract    func(state S, a A, b B) (S, error)
	Finish     func(state S) (R, error)
}

// RegisterAggregate2 registers agg as the SQL aggregate name(A, B)
// returning R.
func RegisterAggregate2[A, B GoValue, S any, R GoValue](g *GoFunctions, name string, agg GoAggregate2[A, B, S, R]) error {
	if agg.Init == nil || agg.Accumulate == nil || agg.Finish == nil {
		return fmt.Errorf("udf: Go aggregate %s needs Init, Accumulate and Finish", name)
	}
	f := goAggFuncs[S, R]{init: agg.Init, finish: agg.Finish,
		acc: func(s S, d []types.Datum) (S, error) {
			return agg.Accumulate(s, fromDatum[A](d[0]), fromDatum[B](d[1]))
		}}
	if agg.Retract != nil {
		f.ret = func(s S, d []types.Datum) (S, error) { return agg.Retract(s, fromDatum[A](d[0]), fromDatum[B](d[1])) }
	}
	return registerGoAggregate(g, name, []types.T{sqlType[A](), sqlType[B]()}, f)
}

// goAggFuncs are a Go aggregate's functions over a row's arguments as
// Datums (none NULL); RegisterAggregate and RegisterAggregate2 convert
// them to their typed arguments.
type goAggFuncs[S any, R GoValue] struct {
	init     func() S
	acc, ret func(S, []types.Datum) (S, error) // ret nil: no retraction
	finish   func(S) (R, error)
}

func registerGoAggregate[S any, R GoValue](g *GoFunctions, name string, args []types.T, f goAggFuncs[S, R]) error {
	names := make([]string, len(args))
	for i, t := range args {
		names[i] = t.String()
	}
	sig := name + "(" + strings.Join(names, ", ") + ")"
	retT := sqlType[R]()
	a := &Aggregate{Name: name, Args: args, Ret: retT, User: true}
	a.New = func([]types.T) Accumulator { return &goStates[S, R]{f: &f, sig: sig, ts: args, ret: retT} }
	if f.ret != nil {
		a.Retracts = true
		a.NewRetracting = func([]types.T) GroupStates { return &goStates[S, R]{f: &f, sig: sig, ts: args, ret: retT} }
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, o := range g.agg[name] {
		if sameTypes(o.Args, a.Args) {
			return fmt.Errorf("udf: Go aggregate %s is registered twice", sig)
		}
	}
	g.agg[name] = append(g.agg[name], a)
	return nil
}

// Aggregates returns the overloads of the Go aggregate name.
func (g *GoFunctions) Aggregates(name string) []*Aggregate {
	if g == nil {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.agg[name]
}

// goStates is a Go aggregate's state for many groups.
type goStates[S any, R GoValue] struct {
	f       *goAggFuncs[S, R]
	sig     string
	ts      []types.T
	ret     types.T
	env     *Env
	state   []S
	started []bool
	w       []int64
	row     []types.Datum
}

func (s *goStates[S, R]) SetEnv(env *Env) { s.env = env }

func (s *goStates[S, R]) grow(ng int) {
	s.state = growTo(s.state, ng)
	s.started = growTo(s.started, ng)
}

func (s *goStates[S, R]) get(g uint32) S {
	if !s.started[g] {
		s.state[g], s.started[g] = s.f.init(), true
	}
	return s.state[g]
}

func (s *goStates[S, R]) Update(groups []uint32, ng int, args []arrow.Array, n int) error {
	return s.Apply(groups, nil, ng, args, n)
}

func (s *goStates[S, R]) Retract(groups []uint32, ng int, args []arrow.Array, n int) error {
	return RetractByApply(s, s.f.ret != nil, &s.w, groups, ng, args, n)
}

func (s *goStates[S, R]) Apply(groups []uint32, weights []int64, ng int, args []arrow.Array, n int) error {
	s.grow(ng)
rows:
	for i := 0; i < n; i++ {
		g := groups[i]
		fn := s.f.acc
		if weights != nil {
			switch w := weights[i]; {
			case w == 0:
				continue
			case w < 0:
				if s.f.ret == nil {
					return ErrNoRetract
				}
				fn = s.f.ret
			}
		}
		if g == SkipRow {
			continue
		}
		s.row = s.row[:0]
		for j, col := range args[:len(s.ts)] {
			if col.IsNull(i) {
				continue rows
			}
			s.row = append(s.row, types.GetDatum(col, i, s.ts[j]))
		}
		next, err := fn(s.get(g), s.row)
		if err != nil {
			err = goError(s.sig, err)
			if RowError(s.env, s.sig, err, append([]types.Datum(nil), s.row...), s.ts) {
				continue
			}
			return err
		}
		s.state[g] = next
	}
	return nil
}

func (s *goStates[S, R]) Result(g uint32) (types.Datum, error) {
	s.grow(int(g) + 1)
	r, err := s.f.finish(s.get(g))
	if err != nil {
		err = goError(s.sig, err)
		if RowError(s.env, s.sig, err, nil, nil) {
			return nil, nil
		}
		return nil, err
	}
	return toDatum(r), nil
}

func (s *goStates[S, R]) Finish(_ *Env, ng int) (arrow.Array, error) {
	s.grow(ng)
	return FinishStates(s, s.ret, ng)
}

func (s *goStates[S, R]) Reset(g uint32) {
	if int(g) < len(s.state) {
		var zero S
		s.state[g], s.started[g] = zero, false
	}
}

func (s *goStates[S, R]) Encode(buf []byte, g uint32) ([]byte, error) {
	s.grow(int(g) + 1)
	if !s.started[g] {
		return append(buf, 0), nil
	}
	js, err := json.Marshal(s.state[g])
	if err != nil {
		return nil, sqlerr.New(sqlerr.ExternalRoutineException, "the state of Go aggregate %s cannot be written as JSON: %v", s.sig, err)
	}
	buf = append(buf, 1)
	buf = binary.AppendUvarint(buf, uint64(len(js)))
	return append(buf, js...), nil
}

func (s *goStates[S, R]) Decode(buf []byte, g uint32) error {
	s.grow(int(g) + 1)
	if len(buf) > 0 && buf[0] == 0 {
		s.Reset(g)
		return nil
	}
	var l uint64
	k := 0
	if len(buf) > 0 {
		l, k = binary.Uvarint(buf[1:])
	}
	if k <= 0 || uint64(len(buf)-1-k) < l {
		return sqlerr.New(sqlerr.DataCorrupted, "corrupt state of aggregate %s", s.sig)
	}
	var st S
	if err := json.Unmarshal(buf[1+k:1+k+int(l)], &st); err != nil {
		return sqlerr.New(sqlerr.DataCorrupted, "corrupt state of aggregate %s: %v", s.sig, err)
	}
	s.state[g], s.started[g] = st, true
	return nil
}

func (s *goStates[S, R]) Release() { s.state, s.started = nil, nil }
