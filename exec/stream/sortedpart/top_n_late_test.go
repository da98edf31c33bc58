package sortedpart

import (
	"slices"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// A top-N cleaned by the watermark, WITH late rows kept, writes the rows
// of partitions behind the watermark into the job's late row log at the
// barrier, once across a restart.
func TestTopNKeepsLateRows(t *testing.T) {
	const job = 7
	env, db := streamtest.Env(t)
	open := func(env *stream.Env) stream.Operator {
		t.Helper()
		l, err := stream.OpenLateLog(env.State, job, 0)
		if err != nil {
			t.Fatal(err)
		}
		env.Late = l
		spec := topNTestSpec(2, true, false, true)
		spec.WatermarkPartCol, spec.KeepLate = 1, true
		s := &streamtest.Sink{Types: append(slices.Clone(spec.Types), types.TInt8)}
		return streamtest.Open(t, env, spec, &stream.Node{Spec: spec, Types: s.Types, StateTables: []string{"top"}}, s, &stream.Node{Types: spec.Types})
	}
	op := open(env)
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: int64(5)}); err != nil {
		t.Fatal(err)
	}
	if err := op.Chunk(0, streamtest.ChunkOf(topNTestTypes, []stream.Op{stream.Insert, stream.Insert},
		streamtest.Row(int64(1), int64(4), int64(10), "late"), streamtest.Row(int64(2), int64(5), int64(11), "on time"))); err != nil {
		t.Fatal(err)
	}
	streamtest.Barrier(t, op, db, 1)
	env2, db2 := streamtest.Restart(t, db, nil)
	want := `{"column1":1,"column2":4,"column3":10,"column4":"late"} 4 5`
	if got := streamtest.LateRows(t, env2, job); len(got) != 1 || got[0] != want {
		t.Fatalf("late rows %q, want [%s]", got, want)
	}
	if n := env.Stats.LateRows.Load(); n != 1 {
		t.Fatalf("late rows counted %d", n)
	}
	streamtest.Barrier(t, open(env2), db2, 2)
	env3, _ := streamtest.Restart(t, db2, nil)
	if got := streamtest.LateRows(t, env3, job); len(got) != 1 {
		t.Fatalf("late rows after a restart %q", got)
	}
}
