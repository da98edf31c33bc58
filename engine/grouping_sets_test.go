package engine_test

import "testing"

// The grouping sets example of docs/streaming.md gives the results shown.
func TestDocsGroupingSetsExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Grouping sets, ROLLUP and CUBE in views")
}
