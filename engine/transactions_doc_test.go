package engine_test

import "testing"

// The LOCK TABLE example of docs/transactions.md gives the results shown.
func TestDocsLockTableExample(t *testing.T) {
	runDocBlocks(t, "../docs/transactions.md", "## LOCK TABLE")
}
