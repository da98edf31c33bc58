package sortedpart

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// topNTestTypes: id (stream key), g (partition), v (order), s.
var topNTestTypes = []types.T{types.TInt8, types.TInt8, types.TInt8, types.TText}

func topNTestSpec(limit int64, desc, nullsFirst, appendOnly bool) *TopNSpec {
	return &TopNSpec{Partition: []int{1}, Order: []batch.SortKey{{Col: 2, Desc: desc, NullsFirst: nullsFirst, T: types.TInt8}},
		Limit: limit, Types: topNTestTypes, StreamKey: []int{0}, AppendOnly: appendOnly, WithRank: true, WatermarkPartCol: -1}
}

// topNModel is the live input, from which the expected output is
// computed from scratch.
type topNModel struct {
	r    *rand.Rand
	live map[int64][]types.Datum
	next int64
	// groups and values: few of each make long partitions and ties.
	groups, values int
}

// chunk returns n random changes: inserts, deletes and updates (an
// update may move a row to another partition), deleting more than it
// inserts when drain.
func (m *topNModel) chunk(n int, drain, appendOnly bool) ([]stream.Op, [][]types.Datum) {
	var ops []stream.Op
	var rows [][]types.Datum
	newRow := func(id int64) []types.Datum {
		var v types.Datum
		if m.r.IntN(8) > 0 {
			v = int64(m.r.IntN(m.values))
		}
		return streamtest.Row(id, int64(m.r.IntN(m.groups)), v, fmt.Sprintf("s%d", m.r.IntN(3)))
	}
	ids := slices.Sorted(maps.Keys(m.live))
	for len(ops) < n {
		x := m.r.IntN(10)
		if appendOnly || len(ids) == 0 || (!drain && x < 5) || (drain && x < 2) {
			m.next++
			rw := newRow(m.next)
			m.live[m.next] = rw
			ids = append(ids, m.next)
			ops, rows = append(ops, stream.Insert), append(rows, rw)
			continue
		}
		k := m.r.IntN(len(ids))
		id := ids[k]
		old := m.live[id]
		if x < 8 {
			delete(m.live, id)
			ids = slices.Delete(ids, k, k+1)
			ops, rows = append(ops, stream.Delete), append(rows, old)
			continue
		}
		rw := newRow(id)
		m.live[id] = rw
		ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, old, rw)
	}
	return ops, rows
}

// expect renders the top-N of the live rows as the sink does, sorted.
func (m *topNModel) expect(spec *TopNSpec) []string {
	k := spec.Order[0]
	byG := map[int64][][]types.Datum{}
	for _, rw := range m.live {
		g := rw[1].(int64)
		byG[g] = append(byG[g], rw)
	}
	var out []string
	for _, rs := range byG {
		slices.SortFunc(rs, func(a, b []types.Datum) int {
			x, y := a[2], b[2]
			switch {
			case x == nil && y == nil:
			case x == nil || y == nil:
				if (x == nil) == k.NullsFirst {
					return -1
				}
				return 1
			default:
				c := cmp.Compare(x.(int64), y.(int64))
				if k.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return cmp.Compare(a[0].(int64), b[0].(int64))
		})
		off := min(len(rs), int(spec.Offset))
		end := min(len(rs), int(spec.Offset+spec.Limit))
		same := func(i, j int) bool { return rs[i][2] == rs[j][2] }
		if spec.WithTies && end == int(spec.Offset+spec.Limit) {
			for end < len(rs) && same(end, end-1) {
				end++
			}
		}
		rank := 0
		for i, rw := range rs[off:end] {
			if !spec.WithTies || i == 0 || !same(off+i, off+i-1) {
				rank = off + i + 1
			}
			s := ""
			for j, d := range rw {
				if d == nil {
					s += "NULL "
				} else {
					s += types.FormatText(d, topNTestTypes[j], time.UTC) + " "
				}
			}
			out = append(out, fmt.Sprintf("%s%d", s, rank))
		}
	}
	slices.Sort(out)
	return out
}

// topNStart runs a top-N with lagging commits.
func topNStart(t *testing.T, spec *TopNSpec, budget int64) *streamtest.LaggingRun {
	return streamtest.StartLagging(t, &stream.Node{Spec: spec}, spec.Types, &streamtest.Sink{Types: append(slices.Clone(spec.Types), types.TInt8)}, budget)
}

// TestTopNRandomChangelog runs random changelogs, with epochs that
// delete far more than they insert so that the caches run dry and refill
// from storage, against the top N computed from scratch after every
// barrier; with commits lagging an epoch behind and restarts.
func TestTopNRandomChangelog(t *testing.T) {
	cases := []struct {
		limit            int64
		desc, nullsFirst bool
		appendOnly       bool
		offset           int64
		ties             bool
	}{
		{1, true, true, false, 0, false}, {2, false, false, false, 0, false}, {3, true, false, false, 0, false}, {5, false, true, false, 0, false},
		{1, true, true, true, 0, false}, {3, false, false, true, 0, false},
		// ORDER BY ... LIMIT n OFFSET m: ranks past the offset only.
		{2, false, false, false, 3, false}, {1, true, true, false, 1, false}, {3, false, true, true, 2, false},
		// WITH TIES and rank() <= n: few values make tie groups longer
		// than the cache.
		{1, false, false, false, 0, true}, {3, true, true, false, 0, true}, {2, false, true, false, 2, true},
		{1, true, false, true, 0, true}, {3, false, false, true, 1, true},
	}
	for ci, c := range cases {
		t.Run(fmt.Sprintf("limit=%d,offset=%d,desc=%v,nullsfirst=%v,appendonly=%v,ties=%v", c.limit, c.offset, c.desc, c.nullsFirst, c.appendOnly, c.ties), func(t *testing.T) {
			spec := topNTestSpec(c.limit, c.desc, c.nullsFirst, c.appendOnly)
			spec.Offset = c.offset
			spec.WithTies = c.ties
			run := topNStart(t, spec, 0)
			values := 30
			if c.ties {
				values = 4
			}
			m := &topNModel{r: rand.New(rand.NewPCG(uint64(ci), 5)), live: map[int64][]types.Datum{}, groups: 2, values: values}
			for epoch := uint64(1); epoch <= 60; epoch++ {
				drain := epoch%20 >= 12
				for range 1 + m.r.IntN(3) {
					ops, rows := m.chunk(1+m.r.IntN(80), drain, c.appendOnly)
					run.Push(ops, rows)
				}
				run.Barrier(epoch)
				got := run.Sink.Contents(t, run.Sink.Rows)
				if want := m.expect(spec); !slices.Equal(got, want) {
					t.Fatalf("epoch %d:\n got  %q\n want %q", epoch, got, want)
				}
				if epoch%25 == 0 {
					run.Restart()
				}
			}
			if !c.appendOnly && run.Env.Stats.StateReads.Load() == 0 {
				t.Fatal("no cache was refilled from storage")
			}
		})
	}
}

// TestTopNEvictionMatchesUnlimited runs the same changelog over many
// partitions through an operator without a budget and one with a budget
// of a few bytes, which evicts every partition it may at every barrier
// and reads partitions back for most rows. Both emit the same changes
// every epoch, across restarts of the budgeted one (which then loads
// only part of its state).
func TestTopNEvictionMatchesUnlimited(t *testing.T) {
	for _, c := range []struct{ appendOnly, ties bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("appendonly=%v,ties=%v", c.appendOnly, c.ties), func(t *testing.T) {
			appendOnly := c.appendOnly
			spec := topNTestSpec(2, true, true, appendOnly)
			spec.WithTies = c.ties
			a := topNStart(t, spec, 0)
			b := topNStart(t, spec, 64)
			values := 50
			if c.ties {
				values = 3
			}
			m := &topNModel{r: rand.New(rand.NewPCG(3, 4)), live: map[int64][]types.Datum{}, groups: 40, values: values}
			for epoch := uint64(1); epoch <= 40; epoch++ {
				for range 1 + m.r.IntN(3) {
					ops, rows := m.chunk(1+m.r.IntN(60), epoch%10 >= 7, appendOnly)
					a.Push(ops, rows)
					b.Push(ops, rows)
				}
				streamtest.BarrierBoth(t, a, b, epoch)
			}
			streamtest.CheckEvicted(t, a.Env.Stats, b.Env.Stats)
		})
	}
}

// TestTopNDeleteUnknownRow: a delete of a row the operator never saw is
// an error over retracting input, not a silent change.
func TestTopNDeleteUnknownRow(t *testing.T) {
	spec := topNTestSpec(2, false, false, false)
	run := topNStart(t, spec, 0)
	run.Push([]stream.Op{stream.Insert}, [][]types.Datum{streamtest.Row(int64(1), int64(1), int64(5), "a")})
	err := run.Op.Chunk(0, streamtest.ChunkOf(spec.Types, []stream.Op{stream.Delete}, streamtest.Row(int64(2), int64(1), int64(3), "b")))
	if err == nil {
		t.Fatal("delete of an unknown row accepted")
	}
}
