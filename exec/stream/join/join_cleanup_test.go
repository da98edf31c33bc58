package join

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Inputs of the cleanup tests: auctions (id, k, ts, expires) and bids
// (id, k, ts), both append-only, joined on k.
var (
	jcLeftTypes  = []types.T{types.TInt8, types.TInt8, types.TTimestamp, types.TTimestamp}
	jcRightTypes = []types.T{types.TInt8, types.TInt8, types.TTimestamp}
)

const jcSecond = types.Timestamp(1_000_000)

func jcCmp(t *testing.T, op string, a, b int) expr.Expr {
	t.Helper()
	fn, _, err := udf.LookupOperator(op, types.TTimestamp, types.TTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	return &expr.Call{Fn: fn, T: types.TBool, Args: []expr.Expr{
		&expr.ColRef{Idx: a, T: types.TTimestamp}, &expr.ColRef{Idx: b, T: types.TTimestamp}}}
}

// jcIntervalSpec is "bid.ts BETWEEN auction.ts AND auction.expires" with
// the cleanup rules the planner derives from it (when clean).
func jcIntervalSpec(t *testing.T, kind batch.JoinKind, clean bool) *HashJoinSpec {
	s := &HashJoinSpec{Kind: kind, LeftKeys: []int{1}, RightKeys: []int{1},
		LeftTypes: jcLeftTypes, RightTypes: jcRightTypes, LeftStreamKey: []int{0}, RightStreamKey: []int{0},
		LeftAppendOnly: true, RightAppendOnly: true,
		Residual: &expr.And{Args: []expr.Expr{jcCmp(t, ">=", 6, 2), jcCmp(t, "<=", 6, 3)}}}
	if clean {
		s.LeftCleanup = []JoinCleanup{{Col: 3, OtherWMCol: 2}}
		if kind == batch.InnerJoin {
			s.RightCleanup = []JoinCleanup{{Col: 2, OtherWMCol: 2}}
		}
	}
	return s
}

// jcWindowSpec joins on k and a window start (column ts of both sides).
func jcWindowSpec(kind batch.JoinKind, clean bool) *HashJoinSpec {
	s := &HashJoinSpec{Kind: kind, LeftKeys: []int{1, 2}, RightKeys: []int{1, 2},
		LeftTypes: jcLeftTypes, RightTypes: jcRightTypes, LeftStreamKey: []int{0}, RightStreamKey: []int{0},
		LeftAppendOnly: true, RightAppendOnly: true}
	if clean {
		s.LeftCleanup = []JoinCleanup{{Col: 2, OtherWMCol: 2}}
		if kind == batch.InnerJoin {
			s.RightCleanup = []JoinCleanup{{Col: 2, OtherWMCol: 2}}
		}
	}
	return s
}

// jcLive returns the live rows of one side of a join in memory.
func jcLive(op stream.Operator, side int) int {
	n := 0
	for _, m := range op.(*HashJoin).sides[side].meta {
		if m.flags&hjLive != 0 {
			n++
		}
	}
	return n
}

// jcGen generates append-only inputs whose rows are never behind their
// side's watermark; the sides' event times advance at different rates.
type jcGen struct {
	r      *rand.Rand
	window bool // timestamps are window starts (multiples of 10 s)
	nextID int64
	maxTS  [2]types.Timestamp
	wm     [2]types.Timestamp
	keys   int
}

func (g *jcGen) ts(side int) types.Timestamp {
	ts := g.wm[side] + types.Timestamp(g.r.IntN(30))*jcSecond
	if g.window {
		ts -= ts % (10 * jcSecond)
		if ts < g.wm[side] {
			ts += 10 * jcSecond
		}
	}
	g.maxTS[side] = max(g.maxTS[side], ts)
	return ts
}

func (g *jcGen) rows(side, n int) [][]types.Datum {
	var rows [][]types.Datum
	for range n {
		g.nextID++
		k := int64(g.r.IntN(g.keys))
		ts := g.ts(side)
		if side == 0 {
			rows = append(rows, streamtest.Row(g.nextID, k, ts, ts+types.Timestamp(g.r.IntN(20))*jcSecond))
		} else {
			rows = append(rows, streamtest.Row(g.nextID, k, ts))
		}
	}
	return rows
}

// advance moves each side's watermark to its latest event time less a
// delay, the right side faster than the left.
// epoch sends three chunks of inserts to random sides of every op, then
// the watermarks the generator advanced to.
func (g *jcGen) epoch(t *testing.T, ts [2][]types.T, ops ...stream.Operator) {
	t.Helper()
	for range 3 {
		side := g.r.IntN(2)
		rows := g.rows(side, 1+g.r.IntN(40))
		for _, op := range ops {
			if err := op.Chunk(side, streamtest.ChunkOf(ts[side], ins(len(rows)), rows...)); err != nil {
				t.Fatal(err)
			}
		}
	}
	wm := g.advance()
	for side := range 2 {
		for _, op := range ops {
			if err := op.Watermark(side, stream.Watermark{Col: 2, Val: wm[side]}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (g *jcGen) advance() [2]types.Timestamp {
	for side := range 2 {
		delay := types.Timestamp(5+side*3) * jcSecond
		g.wm[side] = max(g.wm[side], g.maxTS[side]-delay)
		g.maxTS[side] = max(g.maxTS[side], g.wm[side]+types.Timestamp(2+side)*jcSecond)
	}
	return g.wm
}

// jcRun drives a join with cleanup rules and the same join without them
// through 40 epochs of inputs and watermarks, restarting the cleaned one
// at epoch 20, and checks that every epoch's output is equal and that
// the cleaned join's state, in memory and in storage, stays small.
func jcRun(t *testing.T, clean, full *HashJoinSpec, g *jcGen) {
	envA, dbA := streamtest.Env(t)
	opA, sA := hjOpen(t, clean, envA)
	envB, dbB := streamtest.Env(t)
	opB, sB := hjOpen(t, full, envB)
	ts := [2][]types.T{clean.LeftTypes, clean.RightTypes}
	var peak [2]int
	for epoch := uint64(1); epoch <= 40; epoch++ {
		g.epoch(t, ts, opA, opB)
		streamtest.Barrier(t, opA, dbA, epoch)
		streamtest.Barrier(t, opB, dbB, epoch)
		a, b := hjSorted(sA.Take()), hjSorted(sB.Take())
		if !slices.Equal(a, b) {
			t.Fatalf("epoch %d:\n cleaned %q\n full    %q", epoch, a, b)
		}
		for side := range 2 {
			live := jcLive(opA, side)
			peak[side] = max(peak[side], live)
			if stored := streamtest.StateRows(t, dbA, uint32(side+1)); stored != live {
				t.Fatalf("epoch %d side %d: %d rows stored, %d in memory", epoch, side, stored, live)
			}
		}
		if epoch == 20 {
			before := [2]int{jcLive(opA, 0), jcLive(opA, 1)}
			envA, dbA = streamtest.Restart(t, dbA, nil)
			opA, sA = hjOpen(t, clean, envA)
			if after := [2]int{jcLive(opA, 0), jcLive(opA, 1)}; after != before {
				t.Fatalf("restart loaded %v rows, had %v", after, before)
			}
		}
	}
	if opA.(*HashJoin).cleaned == 0 {
		t.Fatal("nothing was cleaned")
	}
	if got := envA.Stats.StateCleaned.Load(); got != opA.(*HashJoin).cleaned {
		t.Fatalf("Stats.StateCleaned = %d, the join cleaned %d since its restart", got, opA.(*HashJoin).cleaned)
	}
	for side, rules := range [][]JoinCleanup{clean.LeftCleanup, clean.RightCleanup} {
		full := jcLive(opB, side)
		switch {
		case len(rules) == 0 && jcLive(opA, side) != full:
			t.Fatalf("side %d has no rules but lost rows", side)
		case len(rules) > 0 && peak[side]*2 > full:
			t.Fatalf("side %d: peak %d rows, %d without cleanup", side, peak[side], full)
		}
	}
}

func TestJoinCleanupInterval(t *testing.T) {
	for _, kind := range []batch.JoinKind{batch.InnerJoin, batch.LeftJoin} {
		t.Run(kind.String(), func(t *testing.T) {
			g := &jcGen{r: rand.New(rand.NewPCG(1, uint64(kind))), keys: 5}
			jcRun(t, jcIntervalSpec(t, kind, true), jcIntervalSpec(t, kind, false), g)
		})
	}
}

func TestJoinCleanupWindow(t *testing.T) {
	for _, kind := range []batch.JoinKind{batch.InnerJoin, batch.LeftJoin} {
		t.Run(kind.String(), func(t *testing.T) {
			g := &jcGen{r: rand.New(rand.NewPCG(2, uint64(kind))), keys: 3, window: true}
			jcRun(t, jcWindowSpec(kind, true), jcWindowSpec(kind, false), g)
		})
	}
}

// TestJoinCleanupExact checks the bounds: "<" for >= conditions, "<=" for
// strict ones, offsets, and that nothing is emitted at cleanup.
func TestJoinCleanupExact(t *testing.T) {
	for _, tc := range []struct {
		strict bool
		offset int64
		wm     types.Timestamp
		left   int // auctions left
	}{
		{false, 0, 10 * jcSecond, 2}, // expires 10 s stays, 5 s goes
		{true, 0, 10 * jcSecond, 1},  // expires 10 s goes too
		{false, int64(3 * jcSecond), 7 * jcSecond, 2},
		{false, -int64(6 * jcSecond), 16 * jcSecond, 2},
	} {
		t.Run(fmt.Sprint(tc.strict, tc.offset), func(t *testing.T) {
			env, db := streamtest.Env(t)
			spec := jcIntervalSpec(t, batch.LeftJoin, false)
			spec.LeftCleanup = []JoinCleanup{{Col: 3, OtherWMCol: 2, Offset: tc.offset, Strict: tc.strict}}
			op, s := hjOpen(t, spec, env)
			if err := op.Chunk(0, streamtest.ChunkOf(jcLeftTypes, ins(3),
				streamtest.Row(int64(1), int64(1), types.Timestamp(0), 5*jcSecond),
				streamtest.Row(int64(2), int64(1), types.Timestamp(0), 10*jcSecond),
				streamtest.Row(int64(3), int64(1), types.Timestamp(0), 20*jcSecond))); err != nil {
				t.Fatal(err)
			}
			streamtest.Barrier(t, op, db, 1)
			s.Take()
			if err := op.Watermark(1, stream.Watermark{Col: 2, Val: tc.wm}); err != nil {
				t.Fatal(err)
			}
			if rows := s.Take(); len(rows) != 0 {
				t.Fatalf("cleanup emitted %q", rows)
			}
			if got := jcLive(op, 0); got != tc.left {
				t.Fatalf("%d auctions left, want %d", got, tc.left)
			}
			streamtest.Barrier(t, op, db, 2)
			if got := streamtest.StateRows(t, db, 1); got != tc.left {
				t.Fatalf("%d auctions stored, want %d", got, tc.left)
			}
			// The watermark on the right is forwarded? Not for a left
			// join: its right columns can be padded later.
			if len(s.WMs) != 0 {
				t.Fatalf("left join forwarded a right watermark: %v", s.WMs)
			}
		})
	}
}

// TestJoinCleanupBuildChecks: rules need an append-only side and no
// degrees on the other side.
func TestJoinCleanupBuildChecks(t *testing.T) {
	env, _ := streamtest.Env(t)
	for _, tc := range []struct {
		name string
		spec *HashJoinSpec
		want string
	}{
		{"retracting", func() *HashJoinSpec {
			s := jcIntervalSpec(t, batch.InnerJoin, true)
			s.LeftAppendOnly = false
			return s
		}(), "append-only"},
		{"degrees", func() *HashJoinSpec {
			s := jcIntervalSpec(t, batch.LeftJoin, false)
			s.RightCleanup = []JoinCleanup{{Col: 2, OtherWMCol: 2}}
			return s
		}(), "degrees"},
		{"type", func() *HashJoinSpec {
			s := jcIntervalSpec(t, batch.InnerJoin, false)
			s.LeftCleanup = []JoinCleanup{{Col: 9, OtherWMCol: 2}}
			return s
		}(), "out of range"},
	} {
		left := &stream.Node{Types: tc.spec.LeftTypes}
		right := &stream.Node{Types: tc.spec.RightTypes}
		node := &stream.Node{Spec: tc.spec, Inputs: []*stream.Node{left, right}}
		_, err := tc.spec.Build(streamtest.BuildCtx(env, node, left, right), stream.Output{Op: &streamtest.Sink{}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestJoinCleanupExplain(t *testing.T) {
	s := jcIntervalSpec(t, batch.InnerJoin, true)
	s.LeftCleanup[0].Offset = int64(90 * jcSecond)
	s.RightCleanup[0].Strict = true
	got := s.Explain()
	for _, want := range []string{"clean left when #3 < wm(#6) + '00:01:30'", "clean right when #6 <= wm(#2)"} {
		if !strings.Contains(got, want) {
			t.Errorf("explain %q lacks %q", got, want)
		}
	}
}
