package planner

import (
	"testing"

	"streamsql/sql/parser"
)

// TestDeriveNameValueFunctions checks the column names of the SQL-standard
// value functions against the ones PostgreSQL 15 gives them.
func TestDeriveNameValueFunctions(t *testing.T) {
	const q = `SELECT current_date, current_time, current_time(2), current_timestamp,
		current_timestamp(3), localtime, localtime(1), localtimestamp, localtimestamp(0),
		current_role, current_user, user, session_user, current_catalog, current_schema`
	want := []string{"current_date", "current_time", "current_time", "current_timestamp",
		"current_timestamp", "localtime", "localtime", "localtimestamp", "localtimestamp",
		"current_role", "current_user", "user", "session_user", "current_catalog", "current_schema"}
	stmts, err := parser.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	targets := stmts[0].AST.GetSelectStmt().TargetList
	if len(targets) != len(want) {
		t.Fatalf("%d targets, want %d", len(targets), len(want))
	}
	for i, tl := range targets {
		if got := deriveName(tl.GetResTarget().Val); got != want[i] {
			t.Errorf("column %d: %q, want %q", i+1, got, want[i])
		}
	}
}
