package engine_test

import "testing"

// The grouping sets example of docs/streaming.md gives the results shown.
func TestDocsGroupingSetsExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Grouping sets, ROLLUP and CUBE in views")
}

// The quantified subqueries example of docs/streaming.md gives the
// results shown.
func TestDocsQuantifiedSubqueriesExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "#### Quantified subqueries: ALL, ANY and NOT IN over rows")
}

// The WITH RECURSIVE example of docs/streaming.md gives the results shown.
func TestDocsRecursiveViewExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Recursive queries (WITH RECURSIVE) in views")
}

// The shared aggregation example of docs/streaming.md gives the results
// and the plan shown.
func TestDocsSharedAggregationExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Shared aggregations")
}
