package lower

import (
	"testing"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/exec/stream/agg"
	"streamsql/exec/stream/sortedpart"
	"streamsql/sql/plan"
)

// The operators that keep late rows name the relations their input
// reads, once each, in plan order; an operator named by a conversion
// below keeps its own name.
func TestNameLateRelation(t *testing.T) {
	trades, quotes := &catalog.Relation{Name: "trades"}, &catalog.Relation{Name: "quotes"}
	join := &plan.Join{Left: &plan.Scan{Rel: trades}, Right: &plan.Join{Left: &plan.SourceScan{Rel: quotes}, Right: &plan.Scan{Rel: trades}}}
	logical := &plan.Aggregate{Input: join}

	inner := &sortedpart.TopNSpec{LateSpec: stream.LateSpec{LateRelation: "quotes"}}
	session := &agg.SessionAggSpec{}
	top := &agg.HashAggSpec{}
	n := &stream.Node{Spec: top, Inputs: []*stream.Node{
		{Spec: session, Inputs: []*stream.Node{{Spec: inner}}},
	}}
	nameLateRelation(n, logical)
	if top.LateRelation != "trades, quotes" || session.LateRelation != "trades, quotes" || inner.LateRelation != "quotes" {
		t.Fatalf("named %q, %q, %q", top.LateRelation, session.LateRelation, inner.LateRelation)
	}
}
