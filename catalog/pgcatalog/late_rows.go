package pgcatalog

import (
	"streamsql/sql/types"
)

// The late_rows relation is StreamSQL's own: the rows that arrived behind
// their watermark and were kept by views WITH (late_rows = 'keep'), the
// default, oldest first. It lives in pg_catalog so that it is found from
// any search path, as `SELECT * FROM late_rows WHERE view_name = 'v'`. A
// role sees the late rows of the views it may read.

// LateRow is one row of the late_rows relation.
type LateRow struct {
	View, Relation string
	// Row is the late row as a JSON object of its columns.
	Row string
	// EventTime is its event-time value, Watermark the watermark it
	// missed, as text.
	EventTime, Watermark string
	// Arrived in Unix microseconds.
	Arrived int64
}

// oidLateRows is the relation's OID, next to oidRejects.
const oidLateRows uint32 = 16001

// lateRowsTable is the relation, registered with PostgreSQL's (pgcatalog.go).
var lateRowsTable = &Table{Schema: "pg_catalog", Name: "late_rows", OID: oidLateRows, Kind: 'v', rows: lateRowRows, Columns: []Column{
	{"view_name", types.TText}, {"relation", types.TText}, {"row", types.TJSONB},
	{"event_time", types.TText}, {"watermark", types.TText}, {"arrived", types.TTimestampTZ},
}}

func lateRowRows(s *Snapshot) []row {
	if s.LateRows == nil {
		return nil
	}
	var out []row
	for _, r := range s.LateRows() {
		j, err := types.ParseJSONB(r.Row)
		if err != nil {
			j = nil
		}
		out = append(out, row{"view_name": r.View, "relation": r.Relation, "row": j, "event_time": r.EventTime,
			"watermark": r.Watermark, "arrived": types.Timestamp(r.Arrived)})
	}
	return out
}
