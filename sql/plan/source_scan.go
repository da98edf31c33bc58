package plan

import (
	"streamsql/catalog"
	"streamsql/sql/types"
)

// SourceScan stands for a connector source (CREATE SOURCE) in a plan: the
// columns Cols (positions in Rel.Columns). A source is a stream without
// stored rows, so only the stream lowering can read it (a materialized
// view or sink over it); its batch form fails when it opens.
type SourceScan struct {
	Rel  *catalog.Relation
	Cols []int
}

// OutputTypes returns the types of Cols.
func (s *SourceScan) OutputTypes() []types.T {
	ts := make([]types.T, len(s.Cols))
	for i, c := range s.Cols {
		ts[i] = s.Rel.Columns[c].Type
	}
	return ts
}

// String renders the scan for plan trees: "source scan s".
func (s *SourceScan) String() string { return "source scan " + s.Rel.Name }
