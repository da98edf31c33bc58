package engine_test

import "testing"

// TestSequencesDocExamples runs the examples of the Sequences section of
// docs/sql.md, as TestFunctionsDocExamples runs those of functions.md.
func TestSequencesDocExamples(t *testing.T) {
	runFunctionDocExamples(t, "docs/sql.md", "sequences", 2)
}

// TestIdentityDocExamples runs the examples of the Identity columns
// section of docs/sql.md.
func TestIdentityDocExamples(t *testing.T) {
	runFunctionDocExamples(t, "docs/sql.md", "identity", 1)
}

// TestTempTablesDocExamples runs the examples of the Temporary tables
// section of docs/sql.md.
func TestTempTablesDocExamples(t *testing.T) {
	runFunctionDocExamples(t, "docs/sql.md", "temp", 1)
}

// TestScalarFunctionInFromDocExamples runs the example of a function of one
// value in FROM in docs/sql.md.
func TestScalarFunctionInFromDocExamples(t *testing.T) {
	runFunctionDocExamples(t, "docs/sql.md", "fromfunc", 1)
}
