package stream_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// A late row log bounded to max rows shows the newest max rows, and
// trims its storage in steps: one range deletion per slack of rows, not
// one per epoch, with at most the slack stored beyond max. It carries on
// across a reopen.
func TestLateLogTrimsInSteps(t *testing.T) {
	const job, max, epochs = 7, 100, 1000
	env, db := streamtest.Env(t)
	l, err := stream.OpenLateLog(env.State, job, max)
	if err != nil {
		t.Fatal(err)
	}
	stored, trims := 0, 0
	for i := range epochs {
		if i == epochs/2 {
			env, db = streamtest.Restart(t, db, nil)
			if l, err = stream.OpenLateLog(env.State, job, max); err != nil {
				t.Fatal(err)
			}
		}
		w := db.NewBatch()
		if err := l.Append(w, []stream.LateRow{{Relation: "t", Row: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}}); err != nil {
			t.Fatal(err)
		}
		streamtest.Commit(t, w)
		all, err := stream.ReadLateRows(env.State, job, stream.MaxLateRowsMax)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) < stored {
			trims++
		}
		stored = len(all)
		if stored > max+max/8+16 {
			t.Fatalf("epoch %d: %d rows stored, bound %d plus slack %d", i, stored, max, max/8+16)
		}
		shown, err := stream.ReadLateRows(env.State, job, max)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(i+1, max); len(shown) != want || string(shown[len(shown)-1].Row) != fmt.Sprintf(`{"i":%d}`, i) ||
			string(shown[0].Row) != fmt.Sprintf(`{"i":%d}`, i+1-want) {
			t.Fatalf("epoch %d: shown %d rows from %s to %s", i, len(shown), shown[0].Row, shown[len(shown)-1].Row)
		}
	}
	// (1000-100)/29 steps of 29 rows: 31 trims, where trimming every
	// epoch past the bound would take 900.
	if trims == 0 || trims > (epochs-max)/(max/8+16)+1 {
		t.Fatalf("%d trims in %d epochs", trims, epochs)
	}
}

// A watermark filter with an allowed lateness lowers the watermark it
// passes on by the lateness, for a watermark of its own and for the
// per-split watermarks of a source, and holds back only the rows behind
// the lowered watermark.
func TestWatermarkFilterLateness(t *testing.T) {
	const minute = int64(60_000_000)
	ts := []types.T{types.TInt8, types.TTimestamp}
	at := func(m int64) types.Datum { return types.Timestamp(m * minute) }
	env, db := streamtest.Env(t)
	spec := &stream.WatermarkFilterSpec{Col: 1, Type: types.TTimestamp, FromSource: true, Lateness: 2 * minute}
	s := &streamtest.Sink{Types: ts}
	op := streamtest.Open(t, env, spec, &stream.Node{Spec: spec, Types: ts, StateTables: []string{"wm"}}, s, &stream.Node{Types: ts})
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: at(10)}); err != nil {
		t.Fatal(err)
	}
	if len(s.WMs) != 1 || s.WMs[0].Val != at(8) {
		t.Fatalf("watermarks passed on %v, want 00:08", s.WMs)
	}
	in := streamtest.ChunkOf(ts, []stream.Op{stream.Insert, stream.Insert, stream.Insert},
		streamtest.Row(int64(1), at(9)), streamtest.Row(int64(2), at(7)), streamtest.Row(int64(3), at(8)))
	if err := op.Chunk(0, in); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Take(), "; "); got != "+ 1 1970-01-01 00:09:00; + 3 1970-01-01 00:08:00" {
		t.Fatalf("rows passed %s", got)
	}
	if n := env.Stats.LateRows.Load(); n != 1 {
		t.Fatalf("%d late rows, want 1", n)
	}
	// A source watermark within the lateness of the lowered one does not
	// move it back or pass on.
	if err := op.Watermark(0, stream.Watermark{Col: 1, Val: at(9)}); err != nil {
		t.Fatal(err)
	}
	if len(s.WMs) != 1 {
		t.Fatalf("watermarks passed on %v", s.WMs)
	}
	streamtest.Barrier(t, op, db, 1)

	// Its own watermark, from the largest value: 00:20 - 00:02.
	env2, _ := streamtest.Env(t)
	spec2 := &stream.WatermarkFilterSpec{Col: 1, Type: types.TTimestamp, Lateness: 2 * minute, Expr: &expr.ColRef{Idx: 1, T: types.TTimestamp}}
	s2 := &streamtest.Sink{Types: ts}
	op2 := streamtest.Open(t, env2, spec2, &stream.Node{Spec: spec2, Types: ts, StateTables: []string{"wm"}}, s2, &stream.Node{Types: ts})
	if err := op2.Chunk(0, streamtest.ChunkOf(ts, []stream.Op{stream.Insert}, streamtest.Row(int64(1), at(20)))); err != nil {
		t.Fatal(err)
	}
	if err := op2.Chunk(0, streamtest.ChunkOf(ts, []stream.Op{stream.Insert, stream.Insert},
		streamtest.Row(int64(2), at(17)), streamtest.Row(int64(3), at(19)))); err != nil {
		t.Fatal(err)
	}
	if len(s2.WMs) != 1 || s2.WMs[0].Val != at(18) {
		t.Fatalf("watermarks passed on %v, want 00:18", s2.WMs)
	}
	if got := strings.Join(s2.Take(), "; "); got != "+ 1 1970-01-01 00:20:00; + 3 1970-01-01 00:19:00" {
		t.Fatalf("rows passed %s", got)
	}
}
