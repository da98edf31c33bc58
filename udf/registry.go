package udf

import (
	"strings"

	"streamsql/sql/types"
)

// registry holds the built-in functions by name. It is built once when the
// package loads and never modified afterwards.
type registry struct {
	funcs  map[string][]*Scalar
	binops map[string][]*Scalar
	unops  map[string][]*Scalar
	aggs   map[string][]*Aggregate
	tfuncs map[string][]*TableFunc

	allFuncs  []*Scalar
	allOps    []*Scalar
	allAggs   []*Aggregate
	allTFuncs []*TableFunc
	nextOID   uint32
}

var builtins = newRegistry()

func newRegistry() *registry {
	r := &registry{
		funcs:   map[string][]*Scalar{},
		binops:  map[string][]*Scalar{},
		unops:   map[string][]*Scalar{},
		aggs:    map[string][]*Aggregate{},
		tfuncs:  map[string][]*TableFunc{},
		nextOID: 16384,
	}
	r.addArithmetic()
	r.addComparison()
	r.addStringOps()
	r.addSimilar()
	r.addDatetimeOps()
	r.addMathFuncs()
	r.addStringFuncs()
	r.addDatetimeFuncs()
	r.addTimezoneFuncs()
	r.addIntervalTypmod()
	r.addMiscFuncs()
	r.addSleepFuncs()
	r.addBackendFuncs()
	r.addLockFuncs()
	r.addSequenceFuncs()
	r.addAggregates()
	r.addStatAggregates()
	r.addOrderedSetAggregates()
	r.addJSONAggregates()
	r.addHLLAggregates()
	r.addTableFuncs()
	r.addSetFuncs()
	return r
}

// oid returns PostgreSQL's pg_proc oid for name(args) when known, or the
// next private one.
func (r *registry) oid(name string, args []types.T, variadic bool) uint32 {
	sig := make([]string, len(args))
	for i, a := range args {
		if isAny(a) {
			sig[i] = `"any"`
		} else {
			sig[i] = a.String()
		}
	}
	if variadic && len(sig) > 0 && !isAny(args[len(args)-1]) {
		sig[len(sig)-1] = "VARIADIC " + sig[len(sig)-1] + "[]"
	} else if variadic && len(sig) > 0 {
		sig[len(sig)-1] = `VARIADIC "any"`
	}
	if o, ok := pgProcOIDs[name+"("+strings.Join(sig, ", ")+")"]; ok {
		return o
	}
	r.nextOID++
	return r.nextOID
}

// fn registers a scalar function overload.
func (r *registry) fn(s *Scalar) *Scalar {
	if s.Volatility == 0 {
		s.Volatility = Immutable
	}
	s.OID = r.oid(s.Name, s.Args, s.Variadic)
	r.funcs[s.Name] = append(r.funcs[s.Name], s)
	r.allFuncs = append(r.allFuncs, s)
	return s
}

// op registers a binary (two Args) or prefix (one Arg) operator.
func (r *registry) op(s *Scalar) *Scalar {
	if s.Volatility == 0 {
		s.Volatility = Immutable
	}
	r.nextOID++
	s.OID = r.nextOID
	if len(s.Args) == 1 {
		r.unops[s.Name] = append(r.unops[s.Name], s)
	} else {
		r.binops[s.Name] = append(r.binops[s.Name], s)
	}
	r.allOps = append(r.allOps, s)
	return s
}

func (r *registry) agg(a *Aggregate) {
	a.OID = r.oid(a.Name, a.Args, false)
	r.aggs[a.Name] = append(r.aggs[a.Name], a)
	r.allAggs = append(r.allAggs, a)
}

func (r *registry) tfunc(f *TableFunc) {
	f.OID = r.oid(f.Name, f.Args, f.Variadic)
	r.tfuncs[f.Name] = append(r.tfuncs[f.Name], f)
	r.allTFuncs = append(r.allTFuncs, f)
}

// strictRow registers a strict immutable function computed row by row.
func (r *registry) strictRow(name string, args []types.T, ret types.T, f func(env *Env, a []types.Datum) (types.Datum, error)) *Scalar {
	return r.fn(&Scalar{Name: name, Args: args, Ret: ret, Strict: true, Eval: rowFunc(args, ret, true, f)})
}

func ts(t ...types.T) []types.T { return t }
