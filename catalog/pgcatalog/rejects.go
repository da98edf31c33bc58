package pgcatalog

import (
	"streamsql/sql/types"
)

// The rejects relation is StreamSQL's own, not PostgreSQL's: the source
// messages that streaming jobs could not decode (malformed JSON, a value
// of the wrong type, an unknown envelope op, ...), newest last. It lives
// in pg_catalog so that it is found from any search path, as
// `SELECT * FROM rejects`.

// RejectRow is one row of the rejects relation.
type RejectRow struct {
	Job, Relation, Partition string
	Offset                   int64
	Raw                      []byte
	Error                    string
	// Time in Unix microseconds.
	Time int64
}

// oidRejects is the relation's OID: below PostgreSQL's first user OID
// (16384) and above every OID PostgreSQL 15 gives its catalogs.
const oidRejects uint32 = 16000

// rejectsTable is the relation, registered with PostgreSQL's (pgcatalog.go).
var rejectsTable = &Table{Schema: "pg_catalog", Name: "rejects", OID: oidRejects, Kind: 'v', rows: rejectRows, Columns: []Column{
	{"job", types.TText}, {"relation", types.TText}, {"partition", types.TText}, {"offset", types.TInt8},
	{"raw", types.TBytea}, {"error", types.TText}, {"time", types.TTimestampTZ},
}}

func rejectRows(s *Snapshot) []row {
	if s.Rejects == nil {
		return nil
	}
	var out []row
	for _, r := range s.Rejects() {
		out = append(out, row{"job": r.Job, "relation": r.Relation, "partition": r.Partition, "offset": r.Offset,
			"raw": r.Raw, "error": r.Error, "time": types.Timestamp(r.Time)})
	}
	return out
}
