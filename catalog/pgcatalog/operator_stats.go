package pgcatalog

import (
	"streamsql/sql/types"
)

// The streamsql_operator_stats relation is StreamSQL's own: one row per
// operator of every running streaming job (a materialized view's or a
// sink's), with the counters the runtime keeps per operator, summed over
// the operator's parallel instances. Rows are counted since the job last
// started (the server's start, or the job's creation) and are current as
// of the job's last epoch barrier. It lives in pg_catalog so that it is
// found from any search path, as
// `SELECT * FROM streamsql_operator_stats WHERE job = 'v'`. A role sees
// the operators of the jobs whose view or sink it may read.

// OperatorStatRow is one row of the streamsql_operator_stats relation.
type OperatorStatRow struct {
	Job string
	// Node is the operator's number in the job's plan (depth-first from
	// the root, as EXPLAIN lists them); Parent its consumer's, -1 for the
	// root.
	Node, Parent int
	// Operator is its EXPLAIN line.
	Operator                           string
	RowsIn, RowsOut, LateRows, Rejects int64
	StateBytes, StateEvicted           int64
	// Watermark is the last timestamp watermark the operator sent, in
	// Unix microseconds; HasWatermark is false when it sent none. Now is
	// the time the lag is measured at, in Unix microseconds.
	Watermark, Now int64
	HasWatermark   bool
}

// oidOperatorStats is the relation's OID, next to oidLateRows.
const oidOperatorStats uint32 = 16002

// operatorStatsTable is the relation, registered with PostgreSQL's
// (pgcatalog.go).
var operatorStatsTable = &Table{Schema: "pg_catalog", Name: "streamsql_operator_stats", OID: oidOperatorStats, Kind: 'v', rows: operatorStatRows, Columns: []Column{
	{"job", types.TText}, {"node", types.TInt4}, {"parent", types.TInt4}, {"operator", types.TText},
	{"rows_in", types.TInt8}, {"rows_out", types.TInt8}, {"late_rows", types.TInt8}, {"rejects", types.TInt8},
	{"state_bytes", types.TInt8}, {"state_evicted", types.TInt8},
	{"watermark", types.TTimestampTZ}, {"watermark_lag", types.TInterval},
}}

func operatorStatRows(s *Snapshot) []row {
	if s.OperatorStats == nil {
		return nil
	}
	var out []row
	for _, r := range s.OperatorStats() {
		x := row{"job": r.Job, "node": int64(r.Node), "parent": int64(r.Parent), "operator": r.Operator,
			"rows_in": r.RowsIn, "rows_out": r.RowsOut, "late_rows": r.LateRows, "rejects": r.Rejects,
			"state_bytes": r.StateBytes, "state_evicted": r.StateEvicted}
		if r.HasWatermark {
			x["watermark"] = types.Timestamp(r.Watermark)
			x["watermark_lag"] = types.IntervalValue{Micros: r.Now - r.Watermark}
		}
		out = append(out, x)
	}
	return out
}
