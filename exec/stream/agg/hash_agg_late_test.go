package agg

import (
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// lateJob is the job id the late row tests write under.
const lateJob = 7

// openLateLog gives env the job's late row log as committed in env.State.
func openLateLog(t *testing.T, env *stream.Env) {
	t.Helper()
	l, err := stream.OpenLateLog(env.State, lateJob, 0)
	if err != nil {
		t.Fatal(err)
	}
	env.Late = l
}

// A window aggregate WITH late rows kept writes the rows of closed
// windows into the job's late row log at the barrier, exactly once
// across a restart (the barrier's batch holds them with the state).
func TestHashAggKeepsLateRows(t *testing.T) {
	env, db := streamtest.Env(t)
	openLateLog(t, env)
	spec, in := hashAggWindowSpec(t, false)
	spec.KeepLate = true
	op, s := hashAggOpen(t, spec, env, in)
	w0, w1 := types.Timestamp(0), hashAggMinute
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 1), streamtest.Row(int64(1), w0, int64(1)))
	hashAggEpoch(t, op, s, db, 1)
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: w1}); err != nil {
		t.Fatal(err)
	}
	hashAggPush(t, op, in, hashAggOps(stream.Insert, 2), streamtest.Row(int64(1), w0, int64(100)), streamtest.Row(int64(1), w1, int64(5)))
	if got := streamtest.LateRows(t, env, lateJob); len(got) != 0 {
		t.Fatalf("late rows before the barrier: %q", got)
	}
	hashAggEpoch(t, op, s, db, 2)
	env2, db2 := streamtest.Restart(t, db, nil)
	openLateLog(t, env2)
	want := `{"column1":1,"column2":"1970-01-01 00:00:00","column3":100} 1970-01-01 00:00:00 1970-01-01 00:01:00`
	if got := streamtest.LateRows(t, env2, lateJob); len(got) != 1 || got[0] != want {
		t.Fatalf("late rows %q, want [%s]", got, want)
	}
	// After the restart a new late row follows the first, once.
	op2, s2 := hashAggOpen(t, spec, env2, in)
	hashAggPush(t, op2, in, hashAggOps(stream.Insert, 1), streamtest.Row(int64(2), w0, int64(3)))
	hashAggEpoch(t, op2, s2, db2, 3)
	env3, _ := streamtest.Restart(t, db2, nil)
	if got := streamtest.LateRows(t, env3, lateJob); len(got) != 2 || got[0] != want {
		t.Fatalf("late rows after the restart %q", got)
	}

	// Without KeepLate the rows are only counted.
	env4, db4 := streamtest.Env(t)
	openLateLog(t, env4)
	spec.KeepLate = false
	op4, s4 := hashAggOpen(t, spec, env4, in)
	if err := op4.Watermark(0, stream.Watermark{Col: 1, Val: w1}); err != nil {
		t.Fatal(err)
	}
	hashAggPush(t, op4, in, hashAggOps(stream.Insert, 1), streamtest.Row(int64(1), w0, int64(1)))
	hashAggEpoch(t, op4, s4, db4, 1)
	env5, _ := streamtest.Restart(t, db4, nil)
	if got := streamtest.LateRows(t, env5, lateJob); len(got) != 0 || env4.Stats.LateRows.Load() != 1 {
		t.Fatalf("late rows kept without KeepLate: %q (counted %d)", got, env4.Stats.LateRows.Load())
	}
}

// A session aggregate WITH late rows kept writes the rows behind its
// watermark into the job's late row log at the barrier, once across a
// restart.
func TestSessionAggKeepsLateRows(t *testing.T) {
	env, db := streamtest.Env(t)
	openLateLog(t, env)
	spec := sessionTestSpec(t, true, false)
	spec.KeepLate = true
	op, _ := sessionTestOpen(t, spec, env)
	push := func(op stream.Operator, rs ...sessionTestRow) { t.Helper(); sessionTestInsert(t, op, rs...) }
	push(op, sessionTestRow{1, 0, 1, true})
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: types.Timestamp(sessionTestBase + 5*60_000_000)}); err != nil {
		t.Fatal(err)
	}
	push(op, sessionTestRow{1, 2, 100, true}, sessionTestRow{2, 6, 1, true})
	streamtest.Barrier(t, op, db, 1)
	env2, db2 := streamtest.Restart(t, db, nil)
	got := streamtest.LateRows(t, env2, lateJob)
	want := `{"column1":1,"column2":"2024-01-01 10:02:00","column3":100,"column4":true} 2024-01-01 10:02:00 2024-01-01 10:05:00`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("late rows %q, want [%s]", got, want)
	}
	openLateLog(t, env2)
	op2, _ := sessionTestOpen(t, spec, env2)
	push(op2, sessionTestRow{3, 1, 5, false})
	streamtest.Barrier(t, op2, db2, 2)
	env3, _ := streamtest.Restart(t, db2, nil)
	if got := streamtest.LateRows(t, env3, lateJob); len(got) != 2 || got[0] != want {
		t.Fatalf("late rows after the restart %q", got)
	}
}
