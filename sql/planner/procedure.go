package planner

import (
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
func (p *Planner) ResolveProcedure(fc *pg.FuncCall, actual []types.T) (*catalog.Function, error) {
	pos := p.pos(fc.Location)
	display := funcName(fc.Funcname)
	cands, _ := p.sqlFuncCandidates(fc.Funcname)
	sigs := make([][]types.T, len(cands))
	for i, f := range cands {
		sigs[i] = f.ArgTypes
		if f.Procedure {
			_, sigs[i], _ = f.CallParams()
		}
	}
	i, amb := selectSignature(actual, sigs)
	switch {
	case amb:
		return nil, sqlerr.New(sqlerr.AmbiguousFunction, "procedure %s(%s) is not unique", display, catalog.TypeList(actual)).
			WithHint("Could not choose a best candidate procedure. You might need to add explicit type casts.").WithPosition(pos)
	case i >= 0 && cands[i].Procedure:
		if p.Deps != nil {
			p.Deps[cands[i].OID] = true
		}
		return cands[i], nil
	case i >= 0 || p.callsFunction(fc):
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%s(%s) is not a procedure", display, catalog.TypeList(actual)).
			WithHint("To call a function, use SELECT.").WithPosition(pos)
	}
	return nil, sqlerr.New(sqlerr.UndefinedFunction, "procedure %s(%s) does not exist", display, catalog.TypeList(actual)).
		WithHint("No procedure matches the given name and argument types. You might need to add explicit type casts.").WithPosition(pos)
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
