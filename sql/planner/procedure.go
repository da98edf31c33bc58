package planner

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Procedures (CREATE PROCEDURE) are called by CALL only. A CALL names
// an argument for every parameter, OUT ones included, so its candidates
// are matched on all of a procedure's parameters; functions and
// built-ins that fit the call are reported as not procedures, and a
// procedure called from a query as not a function, with PostgreSQL's
// 42809.

// ResolveProcedure finds the procedure that CALL fc means, given the
// types of its arguments (actual).
func (p *Planner) ResolveProcedure(fc *pg.FuncCall, actual []types.T) (*catalog.Function, []*pg.Node, error) {
	pos := p.pos(fc.Location)
	display := funcName(fc.Funcname)
	nodes, ca := unwrapNamed(fc.Args, fc.FuncVariadic)
	cands, _ := p.sqlFuncCandidates(fc.Funcname)
	// A procedure is matched by all its parameters, OUT ones included.
	views := make([]*catalog.Function, len(cands))
	for i, f := range cands {
		views[i] = f
		if f.Procedure {
			names, ts, _ := f.CallParams()
			views[i] = &catalog.Function{ArgNames: names, ArgTypes: ts, ArgDefaults: f.ArgDefaults, Variadic: f.Variadic}
		}
	}
	i, m, amb := pickRoutine(views, ca, actual)
	switch {
	case amb:
		return nil, nil, sqlerr.New(sqlerr.AmbiguousFunction, "procedure %s(%s) is not unique", display, catalog.TypeList(actual)).
			WithHint("Could not choose a best candidate procedure. You might need to add explicit type casts.").WithPosition(pos)
	case i >= 0 && cands[i].Procedure:
		if p.Deps != nil {
			p.Deps[cands[i].OID] = true
		}
		args, err := arrangeArgNodes(views[i], nodes, m)
		return cands[i], args, err
	case i >= 0 || p.callsFunction(fc):
		return nil, nil, sqlerr.New(sqlerr.WrongObjectType, "%s(%s) is not a procedure", display, catalog.TypeList(actual)).
			WithHint("To call a function, use SELECT.").WithPosition(pos)
	}
	if ca.named() || ca.variadic {
		e := sqlerr.From(undefinedCall(display, actual, ca, pos))
		n := *e
		n.Message = "procedure" + strings.TrimPrefix(n.Message, "function")
		n.Hint = "No procedure matches the given name and argument types. You might need to add explicit type casts."
		return nil, nil, &n
	}
	return nil, nil, sqlerr.New(sqlerr.UndefinedFunction, "procedure %s(%s) does not exist", display, catalog.TypeList(actual)).
		WithHint("No procedure matches the given name and argument types. You might need to add explicit type casts.").WithPosition(pos)
}

// CallArgNodes returns the argument expressions of a call, those passed
// by name unwrapped.
func CallArgNodes(fc *pg.FuncCall) []*pg.Node {
	nodes, _ := unwrapNamed(fc.Args, fc.FuncVariadic)
	return nodes
}

// callsFunction reports whether fc binds as a call of a function (a
// built-in, say) in a select list.
func (p *Planner) callsFunction(fc *pg.FuncCall) bool {
	saved, deps := append([]types.T(nil), p.ParamTypes...), p.Deps
	p.Deps = nil
	defer func() { p.ParamTypes, p.Deps = saved, deps }()
	sel := &pg.SelectStmt{Op: pg.SetOperation_SETOP_NONE, LimitOption: pg.LimitOption_LIMIT_OPTION_DEFAULT, TargetList: []*pg.Node{pg.MakeResTargetNodeWithVal(&pg.Node{Node: &pg.Node_FuncCall{FuncCall: fc}}, fc.Location)}}
	_, err := p.PlanSelect(sel)
	return err == nil
}

// procedureCalled is the error for a procedure called from a query.
func procedureCalled(display string, ts []types.T, pos int) error {
	return sqlerr.New(sqlerr.WrongObjectType, "%s(%s) is a procedure", display, catalog.TypeList(ts)).
		WithHint("To call a procedure, use CALL.").WithPosition(pos)
}
