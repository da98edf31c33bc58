package planner

import (
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Calls of user functions and procedures pass their arguments as
// PostgreSQL's func_get_detail matches them: by position, by name
// (f(a => 1), f(1, b => 2), the older f(a := 1)), leaving out parameters
// that have a DEFAULT, and spreading the trailing arguments over a
// VARIADIC array parameter (f(1, 2, 3)), or passing the array itself
// after the word VARIADIC (f(VARIADIC ARRAY[1, 2])). A candidate fits a
// call's shape when every argument finds its parameter and every
// parameter left out has a default; among those that fit, the argument
// types choose as for any overload (selectSignature).

// callArgs is the shape of a call's arguments.
type callArgs struct {
	// names holds, per argument, the name it was passed by ("" for a
	// positional one).
	names []string
	// variadic: the call wrote VARIADIC before its last argument.
	variadic bool
}

// named reports whether some argument was passed by name.
func (c callArgs) named() bool {
	return slices.ContainsFunc(c.names, func(n string) bool { return n != "" })
}

// unwrapNamed returns a call's argument nodes with those passed by name
// unwrapped, and the shape of the call.
func unwrapNamed(nodes []*pg.Node, variadic bool) ([]*pg.Node, callArgs) {
	out := make([]*pg.Node, len(nodes))
	ca := callArgs{names: make([]string, len(nodes)), variadic: variadic}
	for i, n := range nodes {
		out[i] = n
		if na := n.GetNamedArgExpr(); na != nil {
			out[i], ca.names[i] = na.Arg, na.Name
		}
	}
	return out, ca
}

// callMatch is how a call's arguments fill a function's parameters.
type callMatch struct {
	// param[i] is the parameter argument i fills; with expanded, the
	// arguments from the VARIADIC parameter on all fill it.
	param    []int
	expanded bool
}

// matchShape reports how the arguments of a call of shape ca fill the
// input parameters of f, or ok false when they cannot.
func matchShape(f *catalog.Function, ca callArgs) (m callMatch, ok bool) {
	nparams, nargs := len(f.ArgTypes), len(ca.names)
	firstDefault := nparams - len(f.ArgDefaults)
	m.param = make([]int, nargs)
	if f.IsVariadic() && !ca.variadic && !ca.named() && nargs >= nparams {
		for i := range m.param {
			m.param[i] = min(i, nparams-1)
		}
		m.expanded = true
		return m, true
	}
	if nargs > nparams || ca.variadic && (!f.IsVariadic() || ca.names[nargs-1] == "" && nargs != nparams) {
		return m, false
	}
	filled := make([]bool, nparams)
	for i, name := range ca.names {
		j := i
		if name != "" {
			j = slices.Index(f.ArgNames, name)
			if j < 0 || filled[j] {
				return m, false
			}
		}
		m.param[i], filled[j] = j, true
	}
	for j, done := range filled {
		if !done && j < firstDefault {
			return m, false
		}
	}
	return m, true
}

// declaredTypes returns the type of the parameter each argument of a
// call matched so fills, in the call's order: the element type for the
// arguments an expanded VARIADIC array takes.
func declaredTypes(f *catalog.Function, m callMatch) []types.T {
	ts := make([]types.T, len(m.param))
	for i, j := range m.param {
		ts[i] = f.ArgTypes[j]
		if m.expanded && j == len(f.ArgTypes)-1 {
			ts[i] = *f.ArgTypes[j].Elem
		}
	}
	return ts
}

// pickRoutine chooses among cands for a call of shape ca with argument
// types ts. It returns the index of the one chosen (-1 when none fits)
// with its match, or ambiguous when several fit equally well.
func pickRoutine(cands []*catalog.Function, ca callArgs, ts []types.T) (i int, m callMatch, ambiguous bool) {
	matches := make([]callMatch, len(cands))
	sigs := make([][]types.T, len(cands))
	for k, f := range cands {
		mk, ok := matchShape(f, ca)
		if !ok {
			sigs[k] = make([]types.T, len(ts)+1) // fits no call of len(ts) arguments
			continue
		}
		matches[k], sigs[k] = mk, declaredTypes(f, mk)
	}
	i, ambiguous = selectSignature(ts, sigs)
	if i < 0 {
		return i, m, ambiguous
	}
	return i, matches[i], false
}

// arrangeArgs returns the arguments of a call of f, matched by m, in f's
// parameter order: the parameters left out take their defaults, and the
// arguments of an expanded VARIADIC parameter become its array.
func (p *Planner) arrangeArgs(f *catalog.Function, args []plan.Scalar, m callMatch, pos int) ([]plan.Scalar, error) {
	out, err := arrange(f, args, m,
		func(elems []plan.Scalar) plan.Scalar {
			return &plan.ArrayCtor{Elems: elems, T: f.ArgTypes[len(f.ArgTypes)-1]}
		},
		p.ParamDefault)
	if err != nil {
		return nil, withPos(err, pos)
	}
	return out, nil
}

// arrangeArgNodes is arrangeArgs for a call's argument expressions not
// yet bound (CALL binds them as a query of its own).
func arrangeArgNodes(f *catalog.Function, nodes []*pg.Node, m callMatch) ([]*pg.Node, error) {
	return arrange(f, nodes, m,
		func(elems []*pg.Node) *pg.Node {
			return &pg.Node{Node: &pg.Node_AArrayExpr{AArrayExpr: &pg.A_ArrayExpr{Elements: elems, Location: -1}}}
		},
		func(text string, _ types.T) (*pg.Node, error) { return defaultNode(text) })
}

// arrange puts args in f's parameter order as m matched them; array
// makes the array of an expanded VARIADIC parameter, deflt a parameter's
// default from its text.
func arrange[T any](f *catalog.Function, args []T, m callMatch, array func([]T) T, deflt func(text string, t types.T) (T, error)) ([]T, error) {
	n := len(f.ArgTypes)
	out := make([]T, n)
	if m.expanded {
		copy(out, args[:n-1])
		out[n-1] = array(slices.Clone(args[n-1:]))
		return out, nil
	}
	given := make([]bool, n)
	for i, j := range m.param {
		out[j], given[j] = args[i], true
	}
	firstDefault := n - len(f.ArgDefaults)
	for j := range out {
		if given[j] {
			continue
		}
		e, err := deflt(f.ArgDefaults[j-firstDefault], f.ArgTypes[j])
		if err != nil {
			return nil, err
		}
		out[j] = e
	}
	return out, nil
}

// defaultNode parses text, a parameter's DEFAULT.
func defaultNode(text string) (*pg.Node, error) {
	stmts, err := parser.Parse("SELECT " + text)
	if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "parameter default %q is not an expression", text)
	}
	return stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val, nil
}

// ParamDefault binds text, the DEFAULT of a parameter of type t, cast to
// t by assignment rules; CREATE FUNCTION checks a default so.
func (p *Planner) ParamDefault(text string, t types.T) (plan.Scalar, error) {
	node, err := defaultNode(text)
	if err != nil {
		return nil, err
	}
	inner := p.sub("SELECT " + text)
	e, err := inner.binder(&scope{}, "DEFAULT").bind(node)
	if err != nil {
		return nil, err
	}
	return inner.coerceAssign(e, t, 0)
}

// undefinedCall is the error for a call of shape ca that no function
// fits, naming the arguments as PostgreSQL does: "f(integer, b => text)".
func undefinedCall(display string, ts []types.T, ca callArgs, pos int) error {
	if !ca.named() && !ca.variadic {
		return undefinedFunction(display, ts, pos)
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
		if ca.names[i] != "" {
			parts[i] = ca.names[i] + " => " + parts[i]
		}
	}
	if ca.variadic && len(parts) > 0 {
		parts[len(parts)-1] = "VARIADIC " + parts[len(parts)-1]
	}
	return sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", display, strings.Join(parts, ", ")).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").WithPosition(pos)
}
