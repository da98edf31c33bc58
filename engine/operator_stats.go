package engine

// The per-operator counters of the running streaming jobs, as the
// streamsql_operator_stats relation shows them (catalog/pgcatalog) and
// /metrics exports them (metrics.go).

import (
	"time"

	"streamsql/catalog/pgcatalog"
)

// OperatorStats returns a row per operator of every running job whose
// view or sink the current role may read (streamsql_operator_stats).
func (c catalogReader) OperatorStats() []pgcatalog.OperatorStatRow {
	e := c.s.e
	now := time.Now().UnixMicro()
	var out []pgcatalog.OperatorStatRow
	for _, j := range e.jobs() {
		if len(j.Operators) == 0 {
			continue
		}
		rel, ok := e.cat.ByOID(j.ID)
		if !ok || c.s.checkPrivilege(rel, 'r') != nil {
			continue
		}
		name := e.jobName(j)
		for _, o := range j.Operators {
			r := pgcatalog.OperatorStatRow{Job: name, Node: o.Node, Parent: o.Parent, Operator: o.Operator,
				RowsIn: o.RowsIn, RowsOut: o.RowsOut, LateRows: o.LateRows, Rejects: o.Rejects,
				StateBytes: o.StateBytes, StateEvicted: o.StateEvicted, Now: now}
			if !o.Watermark.IsZero() {
				r.Watermark, r.HasWatermark = o.Watermark.UnixMicro(), true
			}
			out = append(out, r)
		}
	}
	return out
}
