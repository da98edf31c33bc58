package planner

import (
	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// SourceScan stands for a source in a plan. Sources are streams without
// stored rows: only a materialized view (or sink) can read them, so the
// batch form fails when run and the stream lowering replaces it.
type SourceScan struct {
	Rel *catalog.Relation
	// Cols are the source's physical columns the scan outputs.
	Cols []int
	ts   []types.T
}

func (s *SourceScan) Open(*exec.Ctx) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "source %q cannot be queried directly: create a materialized view over it", s.Rel.Name).
		WithHint("CREATE MATERIALIZED VIEW v AS SELECT * FROM %s", s.Rel.Name)
}
func (s *SourceScan) Next(*exec.Ctx) (*exec.Batch, error) { return nil, nil }
func (s *SourceScan) Close()                              {}
func (s *SourceScan) Types() []types.T                    { return s.ts }
func (s *SourceScan) Explain() string                     { return "SourceScan " + s.Rel.Name }
func (s *SourceScan) Children() []exec.Operator           { return nil }
