package catalog

import (
	"sort"

	"streamsql/sql/types"
)

// User-defined aggregates (CREATE AGGREGATE) are Functions with Agg set,
// as PostgreSQL keeps them in pg_proc (prokind 'a') with the rest in
// pg_aggregate: they share the functions' OIDs, names, overloading,
// dependencies and persistence. An aggregate in PostgreSQL's form names
// its support functions (Language "internal"); one in JavaScript carries
// its script as Body (Language "javascript").

// AggSupport names a support function of an aggregate: a user function
// by OID, or a built-in by name.
type AggSupport struct {
	OID  uint32 `json:",omitempty"`
	Name string `json:",omitempty"`
}

// IsSet reports whether the support function is given.
func (s AggSupport) IsSet() bool { return s.OID != 0 || s.Name != "" }

// AggregateDef is the pg_aggregate part of an aggregate.
type AggregateDef struct {
	SFunc, FinalFunc, CombineFunc AggSupport
	SType                         types.T
	// InitCond is INITCOND's text; nil for NULL.
	InitCond *string `json:",omitempty"`
	// The moving form (MSFUNC, MINVFUNC, MSTYPE, MFINALFUNC, MINITCOND):
	// MSType is zero without one.
	MSFunc, MInvFunc, MFinalFunc AggSupport
	MSType                       types.T
	MInitCond                    *string `json:",omitempty"`
	// Variadic: the last argument was declared VARIADIC, an array that a
	// call's trailing arguments fill (pg_proc.provariadic).
	Variadic bool `json:",omitempty"`
	// OrderedSet: an ordered-set aggregate, name(direct args ORDER BY
	// aggregated args), called as name(direct) WITHIN GROUP (ORDER BY
	// aggregated) (pg_aggregate.aggkind 'o'). The function's ArgTypes are
	// the NumDirect direct arguments, then the aggregated ones: SFUNC
	// takes (state, aggregated...) in the ORDER BY's order, FINALFUNC
	// (state, direct...).
	OrderedSet bool `json:",omitempty"`
	NumDirect  int  `json:",omitempty"`
	// FinalExtra (FINALFUNC_EXTRA) and MFinalExtra (MFINALFUNC_EXTRA): the
	// final function also takes one NULL argument per aggregated argument,
	// of its type (pg_aggregate.aggfinalextra, aggmfinalextra).
	FinalExtra  bool `json:",omitempty"`
	MFinalExtra bool `json:",omitempty"`
}

// Aggregated returns the argument types the transition function takes:
// all of args, or those after the direct ones of an ordered-set
// aggregate.
func (d *AggregateDef) Aggregated(args []types.T) []types.T {
	if d != nil && d.OrderedSet {
		return args[d.NumDirect:]
	}
	return args
}

// FinalArgs returns the argument types of a final function over states
// of type stype: the state, an ordered-set aggregate's direct arguments,
// then with extra (FINALFUNC_EXTRA) the aggregated arguments, which it
// receives as NULLs.
func (d *AggregateDef) FinalArgs(stype types.T, args []types.T, extra bool) []types.T {
	out := []types.T{stype}
	if d.OrderedSet {
		out = append(out, args[:d.NumDirect]...)
	}
	if extra {
		out = append(out, d.Aggregated(args)...)
	}
	return out
}

// Moving reports whether the aggregate has a moving (retracting) form.
func (d *AggregateDef) Moving() bool { return d != nil && d.MSFunc.IsSet() && d.MInvFunc.IsSet() }

// Supports returns the OIDs of the user functions the aggregate calls.
func (d *AggregateDef) Supports() []uint32 {
	if d == nil {
		return nil
	}
	var out []uint32
	for _, s := range []AggSupport{d.SFunc, d.FinalFunc, d.CombineFunc, d.MSFunc, d.MInvFunc, d.MFinalFunc} {
		if s.OID != 0 {
			out = append(out, s.OID)
		}
	}
	return out
}

// IsAggregate reports whether f is an aggregate.
func (f *Function) IsAggregate() bool { return f.Agg != nil }

// Kind is pg_proc.prokind: 'a' for an aggregate, 'p' for a procedure,
// 'f' for a function.
func (f *Function) Kind() byte {
	switch {
	case f.Agg != nil:
		return 'a'
	case f.Procedure:
		return 'p'
	}
	return 'f'
}

// KindName is the word PostgreSQL's messages use for f.
func (f *Function) KindName() string {
	switch {
	case f.Agg != nil:
		return "aggregate"
	case f.Procedure:
		return "procedure"
	}
	return "function"
}

// aggregatesUsingLocked returns the aggregates that call function oid.
// c.mu must be held.
func (c *Catalog) aggregatesUsingLocked(oid uint32) []*Function {
	var out []*Function
	for _, f := range c.funcs.byOID {
		for _, s := range f.Agg.Supports() {
			if s == oid {
				out = append(out, f)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}
