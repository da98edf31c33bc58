package lower

import (
	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// sourceScan is the batch form of a plan.SourceScan: it fails when it
// opens, since a source has no stored rows (the stream lowering reads the
// source's connector instead).
type sourceScan struct {
	rel *catalog.Relation
	ts  []types.T
}

func newSourceScan(s *plan.SourceScan) *sourceScan {
	return &sourceScan{rel: s.Rel, ts: s.OutputTypes()}
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
