package udf

import (
	"strings"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// This file is PostgreSQL's overload resolution (parse_func.c
// func_select_candidate, parse_oper.c oper_select_candidate) and
// select_common_type, simplified to StreamSQL's types but following the
// same steps in the same order.

// Any is the marker for a polymorphic "any" argument in a declared
// signature: it accepts every type, and the caller passes the argument
// uncast (an untyped literal is resolved as text).
var Any = types.TUnknown

func isAny(t types.T) bool { return t.Kind == types.Unknown }

// AnyArray is the marker for a polymorphic anyarray argument: it accepts
// every array type (and an untyped literal, resolved as text), so a
// call with another argument type finds no function, as in PostgreSQL
// (unnest(1): 42883).
var AnyArray = types.T{Kind: types.Array}

func isAnyArray(t types.T) bool { return t.Kind == types.Array && t.Elem == nil }

// AnyNonArray is PostgreSQL's anynonarray: any type but an array
// (text || anynonarray concatenates as text, arrays go to array_cat).
var AnyNonArray = types.T{Kind: types.Unknown, OIDOverride: 2776}

// AnyCompatible and AnyCompatibleArray are PostgreSQL's anycompatible
// family: every argument so declared (the elements of the array ones)
// is converted to one common type, chosen as for CASE or UNION, and an
// AnyCompatibleArray result is an array of it (array_append(int[],
// bigint) gives bigint[]).
var (
	AnyCompatible      = types.T{Kind: types.Unknown, OIDOverride: 5077}
	AnyCompatibleArray = types.T{Kind: types.Array, OIDOverride: 5078}
)

func isCompatible(t types.T) bool { return t.OIDOverride == 5077 || t.OIDOverride == 5078 }

// compatibleType returns the common type of the actual arguments in the
// anycompatible slots of decl (array slots give their element type);
// untyped literals count only when nothing else does, and then give text.
// ok is false when the arguments do not fit together, as
// check_generic_type_consistency refuses them.
func compatibleType(decl, actual []types.T) (elem types.T, ok bool) {
	var ins []types.T
	hasArraySlot := false
	for j, d := range decl {
		if !isCompatible(d) {
			continue
		}
		a := actual[j]
		if d.Kind == types.Array {
			hasArraySlot = true
			if a.Kind == types.Unknown {
				continue
			}
			if a.Kind != types.Array || a.Elem == nil {
				return types.T{}, false
			}
			ins = append(ins, *a.Elem)
			continue
		}
		if a.Kind != types.Unknown {
			ins = append(ins, a)
		}
	}
	if len(ins) == 0 {
		return types.TText, true
	}
	t, err := CommonType(ins, "anycompatible")
	if err != nil {
		return types.T{}, false
	}
	if hasArraySlot && t.Kind == types.Array {
		return types.T{}, false // no array of arrays
	}
	return t, true
}

// fitsCompatible reports whether actual fits the anycompatible slots of
// decl (always, when decl has none).
func fitsCompatible(decl, actual []types.T) bool {
	for _, d := range decl {
		if isCompatible(d) {
			_, ok := compatibleType(decl, actual)
			return ok
		}
	}
	return true
}

// sameType is type identity as PostgreSQL resolution sees it: the type OID,
// ignoring modifiers.
func sameType(a, b types.T) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == types.Array {
		if a.Elem == nil || b.Elem == nil {
			return a.Elem == b.Elem
		}
		return sameType(*a.Elem, *b.Elem)
	}
	return true
}

// category returns pg_type.typcategory.
func category(t types.T) byte {
	switch t.Kind {
	case types.Bool:
		return 'B'
	case types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Numeric, types.Oid:
		return 'N'
	case types.Text, types.Varchar, types.Char, types.Name:
		return 'S'
	case types.DateKind, types.Time, types.TimestampKind, types.TimestampTZ:
		return 'D'
	case types.Interval:
		return 'T'
	case types.Array:
		return 'A'
	case types.Record:
		return 'P'
	case types.Unknown:
		return 'X'
	}
	return 'U'
}

// preferred returns pg_type.typispreferred.
func preferred(t types.T) bool {
	switch t.Kind {
	case types.Bool, types.Float8, types.Text, types.TimestampTZ, types.Interval:
		return true
	}
	return false
}

// implicitCasts is pg_cast's castcontext 'i' between StreamSQL's types; it
// backs up types.CastKind so resolution never depends on a partial table.
var implicitCasts = map[[2]types.Kind]bool{
	{types.Int2, types.Int4}: true, {types.Int2, types.Int8}: true, {types.Int2, types.Float4}: true,
	{types.Int2, types.Float8}: true, {types.Int2, types.Numeric}: true, {types.Int2, types.Oid}: true,
	{types.Int4, types.Int8}: true, {types.Int4, types.Float4}: true, {types.Int4, types.Float8}: true,
	{types.Int4, types.Numeric}: true, {types.Int4, types.Oid}: true,
	{types.Int8, types.Float4}: true, {types.Int8, types.Float8}: true, {types.Int8, types.Numeric}: true,
	{types.Int8, types.Oid}:       true,
	{types.Float4, types.Float8}:  true,
	{types.Numeric, types.Float4}: true, {types.Numeric, types.Float8}: true,
	{types.Text, types.Varchar}: true, {types.Text, types.Char}: true, {types.Text, types.Name}: true,
	{types.Varchar, types.Text}: true, {types.Varchar, types.Char}: true, {types.Varchar, types.Name}: true,
	{types.Char, types.Text}: true, {types.Char, types.Varchar}: true, {types.Char, types.Name}: true,
	{types.Name, types.Text}:              true,
	{types.DateKind, types.TimestampKind}: true, {types.DateKind, types.TimestampTZ}: true,
	{types.TimestampKind, types.TimestampTZ}: true,
	{types.Time, types.Interval}:             true,
}

// canImplicit reports whether a value of type from may be passed where
// to is declared without an explicit cast.
func canImplicit(from, to types.T) bool {
	if to.OIDOverride == AnyNonArray.OIDOverride && to.Kind == types.Unknown {
		return from.Kind != types.Array
	}
	if isAnyArray(to) {
		return from.Kind == types.Array || from.Kind == types.Unknown
	}
	if isAny(to) || from.Kind == types.Unknown || sameType(from, to) {
		return true
	}
	if implicitCasts[[2]types.Kind{from.Kind, to.Kind}] {
		return true
	}
	return types.CastKind(from, to) == types.CastImplicit
}

// expand returns the declared types of sig for nargs actual arguments, or
// nil when the arity does not fit.
func expand(decl []types.T, variadic bool, nargs int) []types.T {
	if !variadic {
		if len(decl) != nargs {
			return nil
		}
		if decl == nil {
			return []types.T{}
		}
		return decl
	}
	if nargs < len(decl) {
		return nil
	}
	out := make([]types.T, nargs)
	copy(out, decl)
	for i := len(decl); i < nargs; i++ {
		out[i] = decl[len(decl)-1]
	}
	return out
}

// castTargets returns the types the caller casts actual arguments to:
// the declared ones, except that "any" keeps the actual type (an untyped
// literal becomes text).
func castTargets(decl, actual []types.T) []types.T {
	out := make([]types.T, len(actual))
	var elem, arr types.T
	if fitsCompatible(decl, actual) {
		elem, _ = compatibleType(decl, actual)
		e := elem
		arr = types.T{Kind: types.Array, Elem: &e}
	}
	for i, a := range actual {
		switch {
		case isCompatible(decl[i]) && decl[i].Kind != types.Array:
			out[i] = elem
		case isCompatible(decl[i]):
			out[i] = arr
		case isAny(decl[i]) && a.Kind == types.Unknown:
			out[i] = types.TText
		case isAny(decl[i]) || isAnyArray(decl[i]) && a.Kind == types.Array:
			out[i] = a
		case isAnyArray(decl[i]):
			out[i] = types.TText
		case sameType(decl[i], a):
			out[i] = a // keep modifiers (varchar(10) stays as is)
		default:
			out[i] = decl[i]
		}
	}
	return out
}

// selectCandidate picks among candidate signatures (already expanded to
// len(actual)); it returns the index, or -1 with ambiguous set when more
// than one remains, or -1 when none applies.
func selectCandidate(actual []types.T, cands [][]types.T, isOperator bool) (int, bool) {
	// Candidates reachable by implicit coercion.
	var live []int
	for i, c := range cands {
		if c == nil {
			continue
		}
		ok := fitsCompatible(c, actual)
		for j, a := range actual {
			if !canImplicit(a, c[j]) {
				ok = false
				break
			}
		}
		if ok {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return -1, false
	}
	if len(live) == 1 {
		return live[0], false
	}
	// Exact match; for operators an unknown side is taken as the other
	// side's type (binary_oper_exact).
	probe := actual
	if isOperator && len(actual) == 2 {
		if actual[0].Kind == types.Unknown && actual[1].Kind != types.Unknown {
			probe = []types.T{actual[1], actual[1]}
		} else if actual[1].Kind == types.Unknown && actual[0].Kind != types.Unknown {
			probe = []types.T{actual[0], actual[0]}
		}
	}
	for _, i := range live {
		exact := true
		for j, a := range probe {
			if !sameType(a, cands[i][j]) {
				exact = false
				break
			}
		}
		if exact {
			return i, false
		}
	}
	// Keep the candidates with the most exact matches on known inputs.
	live = keepMax(live, func(i int) int {
		n := 0
		for j, a := range actual {
			if a.Kind != types.Unknown && sameType(a, cands[i][j]) {
				n++
			}
		}
		return n
	})
	if len(live) == 1 {
		return live[0], false
	}
	// Then those accepting preferred types where a conversion is needed.
	live = keepMax(live, func(i int) int {
		n := 0
		for j, a := range actual {
			if a.Kind != types.Unknown && !sameType(a, cands[i][j]) && preferred(cands[i][j]) {
				n++
			}
		}
		return n
	})
	if len(live) == 1 {
		return live[0], false
	}
	// Resolve unknown inputs by category: string wins, then the
	// preferred type of a single category.
	hasUnknown, knownSame := false, true
	var known *types.T
	for j := range actual {
		if actual[j].Kind == types.Unknown {
			hasUnknown = true
			continue
		}
		if known == nil {
			known = &actual[j]
		} else if !sameType(*known, actual[j]) {
			knownSame = false
		}
	}
	if hasUnknown {
		resolved := true
		slotCat := make([]byte, len(actual))
		slotPref := make([]bool, len(actual))
		for j, a := range actual {
			if a.Kind != types.Unknown {
				continue
			}
			for _, i := range live {
				d := cands[i][j]
				cat, pref := category(d), preferred(d)
				if isAny(d) || isCompatible(d) {
					cat, pref = 'P', false // pseudo-type: loses to a real string type
				}
				switch {
				case slotCat[j] == 0:
					slotCat[j], slotPref[j] = cat, pref
				case cat == slotCat[j]:
					slotPref[j] = slotPref[j] || pref
				case cat == 'S':
					slotCat[j], slotPref[j] = cat, pref
				case slotCat[j] != 'S':
					resolved = false
				}
			}
		}
		if resolved {
			var keep []int
			for _, i := range live {
				ok := true
				for j, a := range actual {
					if a.Kind != types.Unknown {
						continue
					}
					d := cands[i][j]
					cat, pref := category(d), preferred(d)
					if isAny(d) || isCompatible(d) {
						cat, pref = 'P', false
					}
					if cat != slotCat[j] || (slotPref[j] && !pref) {
						ok = false
					}
				}
				if ok {
					keep = append(keep, i)
				}
			}
			if len(keep) > 0 {
				live = keep
			}
			if len(live) == 1 {
				return live[0], false
			}
		}
		// Assume the unknowns have the type of the known inputs.
		if known != nil && knownSame {
			var keep []int
			assumed := make([]types.T, len(actual))
			for j, a := range actual {
				assumed[j] = a
				if a.Kind == types.Unknown {
					assumed[j] = *known
				}
			}
			for _, i := range live {
				ok := fitsCompatible(cands[i], assumed)
				for j, a := range actual {
					if a.Kind == types.Unknown && !canImplicit(*known, cands[i][j]) {
						ok = false
					}
				}
				if ok {
					keep = append(keep, i)
				}
			}
			if len(keep) == 1 {
				return keep[0], false
			}
		}
	}
	return -1, true
}

func keepMax(live []int, score func(int) int) []int {
	best := -1
	var out []int
	for _, i := range live {
		s := score(i)
		switch {
		case s > best:
			best = s
			out = append(out[:0], i)
		case s == best:
			out = append(out, i)
		}
	}
	return out
}

func typeList(ts []types.T) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}

func noFunction(name string, args []types.T) error {
	return sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", name, typeList(args)).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

func ambiguousFunction(name string, args []types.T) error {
	return sqlerr.New(sqlerr.AmbiguousFunction, "function %s(%s) is not unique", name, typeList(args)).
		WithHint("Could not choose a best candidate function. You might need to add explicit type casts.")
}

// LookupScalar resolves a scalar function call. It returns the overload
// and the type to cast each actual argument to.
func LookupScalar(name string, args []types.T) (*Scalar, []types.T, error) {
	return lookupScalarIn(builtins.funcs[strings.ToLower(name)], name, args, false)
}

func lookupScalarIn(list []*Scalar, name string, args []types.T, isOp bool) (*Scalar, []types.T, error) {
	i, casts, amb := chooseOverload(list, func(s *Scalar) ([]types.T, bool) { return s.Args, s.Variadic }, args, isOp)
	switch {
	case i >= 0:
		return list[i], casts, nil
	case isOp:
		return nil, nil, opError(name, args, amb)
	}
	return nil, nil, callError(name, args, amb)
}

// chooseOverload picks the overload of list that a call with args
// resolves to (selectCandidate); sig gives an overload's declared
// argument types and whether the last one is variadic. It returns the
// overload's index and the types to cast args to, or -1 and whether more
// than one overload fitted equally well.
func chooseOverload[F any](list []F, sig func(F) ([]types.T, bool), args []types.T, isOp bool) (int, []types.T, bool) {
	cands := make([][]types.T, len(list))
	for i, f := range list {
		decl, variadic := sig(f)
		cands[i] = expand(decl, variadic, len(args))
	}
	i, amb := selectCandidate(args, cands, isOp)
	if i < 0 {
		return -1, nil, amb
	}
	return i, castTargets(cands[i], args), false
}

// callError is the error of a function call that resolved to no overload
// (ambiguous: to several).
func callError(name string, args []types.T, ambiguous bool) error {
	if ambiguous {
		return ambiguousFunction(name, args)
	}
	return noFunction(name, args)
}

func opError(op string, args []types.T, amb bool) error {
	var sig string
	if len(args) == 1 {
		sig = op + " " + args[0].String()
	} else {
		sig = args[0].String() + " " + op + " " + args[1].String()
	}
	if amb {
		return sqlerr.New(sqlerr.AmbiguousFunction, "operator is not unique: %s", sig).
			WithHint("Could not choose a best candidate operator. You might need to add explicit type casts.")
	}
	return sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: %s", sig).
		WithHint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

// LookupOperator resolves a binary operator ("+", "=", "~~", "||", ...).
func LookupOperator(op string, left, right types.T) (*Scalar, []types.T, error) {
	return lookupScalarIn(builtins.binops[op], op, []types.T{left, right}, true)
}

// LookupUnaryOperator resolves a prefix operator ("-", "+", "~", "|/", "@").
func LookupUnaryOperator(op string, arg types.T) (*Scalar, []types.T, error) {
	return lookupScalarIn(builtins.unops[op], op, []types.T{arg}, true)
}

// LookupAggregate resolves an aggregate call; count(*) has no arguments.
func LookupAggregate(name string, args []types.T) (*Aggregate, []types.T, error) {
	list := builtins.aggs[strings.ToLower(name)]
	i, casts, amb := chooseOverload(list, func(a *Aggregate) ([]types.T, bool) { return a.Args, false }, args, false)
	if i < 0 {
		return nil, nil, callError(name, args, amb)
	}
	return list[i], casts, nil
}

// IsAggregate reports whether name is an aggregate function.
func IsAggregate(name string) bool { return len(builtins.aggs[strings.ToLower(name)]) > 0 }

// LookupTableFunc resolves a set-returning function in FROM.
func LookupTableFunc(name string, args []types.T) (*TableFunc, []types.T, error) {
	list := builtins.tfuncs[strings.ToLower(name)]
	i, casts, amb := chooseOverload(list, func(f *TableFunc) ([]types.T, bool) { return f.Args, f.Variadic }, args, false)
	if i < 0 {
		if amb {
			return nil, nil, ambiguousFunction(name, args)
		}
		if strings.EqualFold(name, "unnest") && len(args) > 1 {
			// PostgreSQL reads unnest(a, b, ...) as ROWS FROM (unnest(a),
			// unnest(b), ...) and so names the first argument that is no
			// array.
			for _, a := range args {
				if !canImplicit(a, AnyArray) {
					return nil, nil, noFunction(name, []types.T{a})
				}
			}
		}
		return nil, nil, noFunction(name, args)
	}
	return list[i], casts, nil
}

// IsTableFunc reports whether name is a set-returning function.
func IsTableFunc(name string) bool { return len(builtins.tfuncs[strings.ToLower(name)]) > 0 }

var windowOnly = map[string]bool{
	"row_number": true, "rank": true, "dense_rank": true, "percent_rank": true, "cume_dist": true,
	"ntile": true, "lag": true, "lead": true, "first_value": true, "last_value": true, "nth_value": true,
}

// IsWindowOnly reports whether name is a window function that is not an
// aggregate (the window operator implements these itself).
func IsWindowOnly(name string) bool { return windowOnly[strings.ToLower(name)] }

// CommonType is select_common_type: the type that the branches of a
// UNION, CASE, COALESCE, IN list or VALUES column resolve to. context
// names the construct for the error message ("CASE", "UNION", ...).
func CommonType(ts []types.T, context string) (types.T, error) {
	var p *types.T
	allSame := true
	for i := range ts {
		if ts[i].Kind == types.Unknown {
			continue
		}
		if p == nil {
			p = &ts[i]
			continue
		}
		if !ts[i].Equal(*p) {
			allSame = false
		}
	}
	if p == nil {
		return types.TText, nil
	}
	if allSame {
		return *p, nil
	}
	pt := *p
	for _, t := range ts {
		if t.Kind == types.Unknown || sameType(t, pt) {
			continue
		}
		if category(t) != category(pt) {
			return types.T{}, sqlerr.New(sqlerr.DatatypeMismatch, "%s types %s and %s cannot be matched", context, pt, t)
		}
		if !preferred(pt) && canImplicit(pt, t) && !canImplicit(t, pt) {
			pt = t
		}
	}
	for _, t := range ts {
		if !canImplicit(t, pt) {
			return types.T{}, sqlerr.New(sqlerr.CannotCoerce, "%s could not convert type %s to %s", context, t, pt)
		}
	}
	// Modifiers survive only when every input agrees.
	res := types.T{Kind: pt.Kind, Elem: pt.Elem, OIDOverride: pt.OIDOverride}
	first := true
	for _, t := range ts {
		if t.Kind == types.Unknown {
			continue
		}
		if first {
			res.Precision, res.Scale, res.Width = t.Precision, t.Scale, t.Width
			first = false
		} else if t.Precision != res.Precision || t.Scale != res.Scale || t.Width != res.Width || !sameType(t, pt) {
			res.Precision, res.Scale, res.Width = 0, 0, 0
		}
	}
	return res, nil
}

// Scalars returns every built-in scalar function (not operators).
func Scalars() []*Scalar { return builtins.allFuncs }

// Operators returns every built-in operator overload.
func Operators() []*Scalar { return builtins.allOps }

// Aggregates returns every built-in aggregate.
func Aggregates() []*Aggregate { return builtins.allAggs }

// TableFuncs returns every built-in set-returning function.
func TableFuncs() []*TableFunc { return builtins.allTFuncs }
