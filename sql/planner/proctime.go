package planner

import (
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// proctime() in materialized views.
//
// A batch query evaluates proctime() like statement_timestamp(). In a
// stream plan it becomes procTime, the wall-clock time at which each chunk
// passes. Its value is not reproducible, so the planner allows it only
// where every row's value is computed once and never has to be computed
// again: in the select list and WHERE over an append-only input (a
// source, an APPEND ONLY table, a stream without deletes). Over a
// retracting input a delete would compute another value and could not
// retract the row its insert produced; anywhere else (a join condition,
// HAVING over an aggregate) the expression is evaluated again as state
// changes. A column computed by proctime() carries no watermark: windows
// over it are wall-clock windows that never close by watermark.

// procTime is proctime() in a stream plan.
type procTime struct{}

func (procTime) Type() types.T  { return types.TTimestampTZ }
func (procTime) String() string { return "proctime()" }
func (procTime) Eval(_ *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	return types.ConstArray(types.TTimestampTZ, types.TimeToTimestamp(time.Now()), b.N), nil
}

// isProcTimeCall reports whether e is a call of proctime().
func isProcTimeCall(e expr.Expr) bool {
	c, ok := e.(*expr.Call)
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
// is append-only and becomes procTime.
func remapProcTime(e expr.Expr, m []int, in *stream.Node) (expr.Expr, error) {
	found := false
	visit(e, func(x expr.Expr) { found = found || isProcTimeCall(x) })
	if !found {
		return remap(e, m)
	}
	if !in.AppendOnly {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"materialized views can use proctime() only over an append-only input (a source, an APPEND ONLY table, or a stream without deletes): this input can delete or update rows, and a delete could not retract the row its insert produced because proctime() would give it another value")
	}
	e = rewrite(e, func(x expr.Expr) (expr.Expr, bool) {
		if isProcTimeCall(x) {
			return procTime{}, true
		}
		return nil, false
	})
	return remap(e, m)
}

// procTimeEOWC explains an EMIT ON WINDOW CLOSE refusal of a query that
// computes proctime(): its windows are processing-time windows, and a
// proctime() column carries no watermark that could close them.
func procTimeEOWC(err error, eowc bool, op exec.Operator) error {
	e := sqlerr.From(err)
	if !eowc || e == nil || e.Code != sqlerr.FeatureNotSupported || !strings.HasPrefix(e.Message, "EMIT ON WINDOW CLOSE") || !batchUsesProcTime(op) {
		return err
	}
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"EMIT ON WINDOW CLOSE cannot close windows over proctime(): a processing-time column carries no watermark, so no window would ever be final (emit the windows as they change instead, without EMIT ON WINDOW CLOSE)")
}

// batchUsesProcTime reports whether a projection of the plan computes
// proctime().
func batchUsesProcTime(op exec.Operator) bool {
	if p, ok := op.(*batch.Project); ok {
		_, exprs := p.Params()
		for _, e := range exprs {
			found := false
			visit(e, func(x expr.Expr) { found = found || isProcTimeCall(x) })
			if found {
				return true
			}
		}
	}
	for _, c := range op.Children() {
		if batchUsesProcTime(c) {
			return true
		}
	}
	return false
}
