package planner

import (
	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// sourceScan stands for a source in a plan. Sources are streams without
// stored rows: only a materialized view (or sink) can read them, so the
// batch form fails when run and the stream planner replaces it.
type sourceScan struct {
	rel  *catalog.Relation
	cols []int
	ts   []types.T
}

func (s *sourceScan) Open(*exec.Ctx) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "source %q cannot be queried directly: create a materialized view over it", s.rel.Name).
		WithHint("CREATE MATERIALIZED VIEW v AS SELECT * FROM %s", s.rel.Name)
}
func (s *sourceScan) Next(*exec.Ctx) (*exec.Batch, error) { return nil, nil }
func (s *sourceScan) Close()                              {}
func (s *sourceScan) Types() []types.T                    { return s.ts }
func (s *sourceScan) Explain() string                     { return "SourceScan " + s.rel.Name }
func (s *sourceScan) Children() []exec.Operator           { return nil }
