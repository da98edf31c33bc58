package engine_test

import (
	"testing"

	"streamsql/engine"
)

// stateBudgetCase is one streaming view run under a state budget far
// below its state: the operator must keep most of its state in storage
// only, read it back when rows change it, and load only part of it after
// a restart, while the view stays equal to its query recomputed.
type stateBudgetCase struct {
	view  string // the materialized view
	query string // what the view must equal, recomputed as a batch query
	// setup creates and fills the tables and creates the view.
	setup []string
	// changes run after the backfill; they start with a few FLUSHes so
	// that the budget is enforced before they touch evicted state.
	changes []string
	// afterRestart runs once the engine is opened again on its data.
	afterRestart []string
	// settle runs before the memory of the restarted engine is measured
	// (entries changed in an epoch stay until their epoch commits).
	settle []string
	// minRows is the least number of rows of the view after the backfill,
	// after the changes and after the restart.
	minRows [3]int64
	// unbounded skips the check that the restarted engine holds at most
	// four times the budget (an operator whose state the test does not
	// fill again after the restart).
	unbounded bool
}

// stateBudget is the budget of these tests: 64 KiB.
const stateBudget = 64 << 10

// runStateBudget runs c: backfill, changes on evicted state, restart,
// more changes, checking the view after each step and the eviction and
// read-back counters of its job.
func runStateBudget(t *testing.T, c stateBudgetCase) {
	t.Helper()
	s := openStack(t, engine.Options{StateMemory: stateBudget})
	check := func(when string, min int64) { t.Helper(); checkView(t, s, when, c.view, c.query, min) }

	s.execAll(t, c.setup...)
	check("after backfill", c.minRows[0])
	s.execAll(t, c.changes...)
	check("after changes", c.minRows[1])
	b, evicted, reads := jobState(t, s, c.view)
	t.Logf("state: %d bytes, %d evicted, %d read back", b, evicted, reads)
	if evicted == 0 || reads == 0 {
		t.Fatalf("state evicted %d, read back %d: the budget was not enforced", evicted, reads)
	}

	s.restart(t)
	s.execAll(t, c.afterRestart...)
	check("after a restart", c.minRows[2])
	if len(c.settle) > 0 {
		s.execAll(t, c.settle...)
	}
	bytes, _, reads := jobState(t, s, c.view)
	if reads == 0 {
		t.Fatal("after the restart: nothing read back")
	}
	if !c.unbounded && bytes > 4*stateBudget {
		t.Fatalf("after the restart: %d bytes of state in memory, %d read back", bytes, reads)
	}
}
