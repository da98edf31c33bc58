package plan

import (
	"streamsql/catalog"
	"streamsql/catalog/pgcatalog"
	"streamsql/sql/types"
)

// VirtualScan reads a table of pg_catalog or information_schema. Its rows
// do not exist until the scan opens: package pgcatalog computes them from
// Catalog, the search path and what the session reports (user, settings,
// options of relations), as of that moment.
type VirtualScan struct {
	Table      *pgcatalog.Table
	Catalog    *catalog.Catalog
	SearchPath []string
}

// OutputTypes returns the types of the table's columns.
func (s *VirtualScan) OutputTypes() []types.T {
	ts := make([]types.T, len(s.Table.Columns))
	for i, c := range s.Table.Columns {
		ts[i] = c.Type
	}
	return ts
}

// String renders the scan for plan trees: "virtual scan pg_catalog.pg_class".
func (s *VirtualScan) String() string {
	return "virtual scan " + s.Table.Schema + "." + s.Table.Name
}
