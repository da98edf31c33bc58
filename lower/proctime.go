package lower

import (
	"strings"

	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/udf"
)

// proctime() in materialized views.
//
// A batch query evaluates proctime() like statement_timestamp(). In a
// stream plan it becomes plan.ProcTime, the wall-clock time at which each chunk
// passes. Its value is not reproducible, so the planner allows it only
// where every row's value is computed once and never has to be computed
// again: in the select list and WHERE over an append-only input (a
// source, an APPEND ONLY table, a stream without deletes). Over a
// retracting input a delete would compute another value and could not
// retract the row its insert produced; anywhere else (a join condition,
// HAVING over an aggregate) the expression is evaluated again as state
// changes. A column computed by proctime() carries no watermark: windows
// over it are wall-clock windows that never close by watermark.

// isProcTimeCall reports whether e is a call of proctime().
func isProcTimeCall(e plan.Scalar) bool {
	c, ok := e.(*plan.Call)
	return ok && c.Fn.Name == udf.ProcTimeName && len(c.Args) == 0
}

// procTimeMisplaced is the error for proctime() where remap finds it: a
// place where its value would be computed again.
func procTimeMisplaced() error {
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"materialized views can use proctime() only in the select list or WHERE over an append-only input: here its value would be computed again as the view's state changes")
}

// remapProcTime is remap for an expression computed once per input row
// (select list, WHERE, lookup keys): proctime() is allowed when the input
// is append-only and becomes plan.ProcTime.
func remapProcTime(e plan.Scalar, m []int, in *stream.Node) (plan.Scalar, error) {
	found := false
	plan.Visit(e, func(x plan.Scalar) { found = found || isProcTimeCall(x) })
	if !found {
		return remap(e, m)
	}
	if !in.AppendOnly {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"materialized views can use proctime() only over an append-only input (a source, an APPEND ONLY table, or a stream without deletes): this input can delete or update rows, and a delete could not retract the row its insert produced because proctime() would give it another value")
	}
	e = plan.Rewrite(e, func(x plan.Scalar) (plan.Scalar, bool) {
		if isProcTimeCall(x) {
			return plan.ProcTime{}, true
		}
		return nil, false
	})
	return remap(e, m)
}

// procTimeEOWC explains an EMIT ON WINDOW CLOSE refusal of a query that
// computes proctime(): its windows are processing-time windows, and a
// proctime() column carries no watermark that could close them.
func (sp *streamPlanner) procTimeEOWC(err error, eowc bool, r plan.Rel) error {
	e := sqlerr.From(err)
	if !eowc || e == nil || e.Code != sqlerr.FeatureNotSupported || !strings.HasPrefix(e.Message, "EMIT ON WINDOW CLOSE") || !sp.usesProcTime(r) {
		return err
	}
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"EMIT ON WINDOW CLOSE cannot close windows over proctime(): a processing-time column carries no watermark, so no window would ever be final (emit the windows as they change instead, without EMIT ON WINDOW CLOSE)")
}

// usesProcTime reports whether a projection of the plan computes
// proctime().
func (sp *streamPlanner) usesProcTime(r plan.Rel) bool {
	switch x := r.(type) {
	case *plan.Project:
		for _, e := range x.Exprs {
			found := false
			plan.Visit(e, func(s plan.Scalar) { found = found || isProcTimeCall(s) })
			if found {
				return true
			}
		}
	}
	for _, in := range plan.Inputs(r) {
		if sp.usesProcTime(in) {
			return true
		}
	}
	return false
}
