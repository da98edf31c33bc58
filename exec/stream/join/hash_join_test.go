package join

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Left input (id bigint, k integer, v integer); right input (id bigint,
// k bigint, w integer): the keys differ in width on purpose.
var (
	hjLeftTypes  = []types.T{types.TInt8, types.TInt4, types.TInt4}
	hjRightTypes = []types.T{types.TInt8, types.TInt8, types.TInt4}
)

// hjResidual returns "l.v < r.w" over the concatenated row.
func hjResidual(t *testing.T) expr.Expr {
	t.Helper()
	fn, _, err := udf.LookupOperator("<", types.TInt4, types.TInt4)
	if err != nil {
		t.Fatal(err)
	}
	return &expr.Call{Fn: fn, Args: []expr.Expr{
		&expr.ColRef{Idx: 2, T: types.TInt4, Name: "v"},
		&expr.ColRef{Idx: 5, T: types.TInt4, Name: "w"},
	}, T: types.TBool}
}

func hjSpec(t *testing.T, kind batch.JoinKind, residual bool) *HashJoinSpec {
	s := &HashJoinSpec{
		Kind:           kind,
		LeftKeys:       []int{1},
		RightKeys:      []int{1},
		LeftTypes:      hjLeftTypes,
		RightTypes:     hjRightTypes,
		LeftStreamKey:  []int{0},
		RightStreamKey: []int{0},
	}
	if residual {
		s.Residual, s.ResidualCols = hjResidual(t), []int{2, 5}
	}
	return s
}

// hjTestSpec is a join spec the tests open: a HashJoinSpec or a
// NestedLoopJoinSpec.
type hjTestSpec interface {
	stream.Spec
	hashSpec() *HashJoinSpec
}

func (s *HashJoinSpec) hashSpec() *HashJoinSpec { return s }

// hjOpen builds spec over env into a new sink.
func hjOpen(t *testing.T, js hjTestSpec, env *stream.Env) (stream.Operator, *streamtest.Sink) {
	t.Helper()
	spec := js.hashSpec()
	out := slices.Clone(spec.LeftTypes)
	if spec.Kind != batch.SemiJoin && spec.Kind != batch.AntiJoin {
		out = append(out, spec.RightTypes...)
	}
	left := &stream.Node{Types: spec.LeftTypes, StreamKey: spec.LeftStreamKey}
	right := &stream.Node{Types: spec.RightTypes, StreamKey: spec.RightStreamKey}
	node := &stream.Node{Spec: spec, Inputs: []*stream.Node{left, right}, Types: out, StateTables: HashJoinStateTables()}
	s := &streamtest.Sink{Types: out}
	node.Spec = js
	op := streamtest.Open(t, env, js, node, s, left, right)
	return op, s
}

// hjInt is an integer datum, or NULL for nil.
func hjInt(v *int64) types.Datum {
	if v == nil {
		return nil
	}
	return *v
}

func hjK(v int64) *int64 { return &v }

// hjPush sends one chunk to side and returns the output rows it caused.
func hjPush(t *testing.T, op stream.Operator, s *streamtest.Sink, side int, ops []stream.Op, rows ...[]types.Datum) []string {
	t.Helper()
	ts := hjLeftTypes
	if side == 1 {
		ts = hjRightTypes
	}
	if err := op.Chunk(side, streamtest.ChunkOf(ts, ops, rows...)); err != nil {
		t.Fatal(err)
	}
	return s.Take()
}

func hjSorted(rows []string) []string {
	rows = slices.Clone(rows)
	sort.Strings(rows)
	return rows
}

func hjExpect(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func ins(n int) []stream.Op { return make([]stream.Op, n) }

func dels(n int) []stream.Op {
	ops := make([]stream.Op, n)
	for i := range ops {
		ops[i] = stream.Delete
	}
	return ops
}

var hjUpdate = []stream.Op{stream.UpdateDelete, stream.UpdateInsert}

func TestHashJoinInner(t *testing.T) {
	env, _ := streamtest.Env(t)
	op, s := hjOpen(t, hjSpec(t, batch.InnerJoin, false), env)

	hjExpect(t, "right inserts into empty join", hjPush(t, op, s, 1, ins(3),
		streamtest.Row(int64(100), int64(1), int64(5)), streamtest.Row(int64(101), int64(1), int64(6)), streamtest.Row(int64(102), int64(2), int64(7))))
	hjExpect(t, "left inserts", hjSorted(hjPush(t, op, s, 0, ins(3),
		streamtest.Row(int64(1), int64(1), int64(10)), streamtest.Row(int64(2), nil, int64(11)), streamtest.Row(int64(3), int64(2), int64(12)))),
		"+ 1 1 10 100 1 5", "+ 1 1 10 101 1 6", "+ 3 2 12 102 2 7")
	hjExpect(t, "left delete", hjSorted(hjPush(t, op, s, 0, dels(1), streamtest.Row(int64(1), int64(1), int64(10)))),
		"- 1 1 10 100 1 5", "- 1 1 10 101 1 6")
	hjExpect(t, "delete of an absent row", hjPush(t, op, s, 0, dels(1), streamtest.Row(int64(1), int64(1), int64(10))))
	hjExpect(t, "right update moving to another key", hjPush(t, op, s, 1, hjUpdate,
		streamtest.Row(int64(102), int64(2), int64(7)), streamtest.Row(int64(102), int64(1), int64(8))),
		"- 3 2 12 102 2 7")
	hjExpect(t, "left update moving to another key", hjSorted(hjPush(t, op, s, 0, hjUpdate,
		streamtest.Row(int64(3), int64(2), int64(12)), streamtest.Row(int64(3), int64(1), int64(13)))),
		"+ 3 1 13 100 1 5", "+ 3 1 13 101 1 6", "+ 3 1 13 102 1 8")
	hjExpect(t, "one-to-one update stays an update", hjPush(t, op, s, 1, hjUpdate,
		streamtest.Row(int64(100), int64(1), int64(5)), streamtest.Row(int64(100), int64(1), int64(9))),
		"U- 3 1 13 100 1 5", "U+ 3 1 13 100 1 9")
	hjExpect(t, "many-to-many", hjSorted(hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(4), int64(1), int64(14)))),
		"+ 4 1 14 100 1 9", "+ 4 1 14 101 1 6", "+ 4 1 14 102 1 8")
	hjExpect(t, "NULL key on the right never matches", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(103), nil, int64(1))))
	hjExpect(t, "insert and delete in one chunk", hjSorted(hjPush(t, op, s, 1, []stream.Op{stream.Insert, stream.Delete},
		streamtest.Row(int64(104), int64(1), int64(1)), streamtest.Row(int64(104), int64(1), int64(1)))),
		"+ 3 1 13 104 1 1", "+ 4 1 14 104 1 1", "- 3 1 13 104 1 1", "- 4 1 14 104 1 1")
}

func TestHashJoinLeftPadding(t *testing.T) {
	env, _ := streamtest.Env(t)
	op, s := hjOpen(t, hjSpec(t, batch.LeftJoin, false), env)
	hjExpect(t, "unmatched left row", hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(1), int64(1), int64(10))),
		"+ 1 1 10 NULL NULL NULL")
	hjExpect(t, "NULL-key left row", hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(2), nil, int64(11))),
		"+ 2 NULL 11 NULL NULL NULL")
	hjExpect(t, "first match retracts the padded row", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(100), int64(1), int64(5))),
		"U- 1 1 10 NULL NULL NULL", "U+ 1 1 10 100 1 5")
	hjExpect(t, "second match", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(101), int64(1), int64(6))),
		"+ 1 1 10 101 1 6")
	hjExpect(t, "NULL-key right row", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(102), nil, int64(7))))
	hjExpect(t, "one match left", hjPush(t, op, s, 1, dels(1), streamtest.Row(int64(100), int64(1), int64(5))),
		"- 1 1 10 100 1 5")
	hjExpect(t, "last match gone: padded row comes back", hjPush(t, op, s, 1, dels(1), streamtest.Row(int64(101), int64(1), int64(6))),
		"U- 1 1 10 101 1 6", "U+ 1 1 10 NULL NULL NULL")
	hjExpect(t, "delete NULL-key left row", hjPush(t, op, s, 0, dels(1), streamtest.Row(int64(2), nil, int64(11))),
		"- 2 NULL 11 NULL NULL NULL")
	hjExpect(t, "delete padded row", hjPush(t, op, s, 0, dels(1), streamtest.Row(int64(1), int64(1), int64(10))),
		"- 1 1 10 NULL NULL NULL")
	hjExpect(t, "right row without left rows", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(103), int64(3), int64(1))))
	hjExpect(t, "padded update", hjPush(t, op, s, 0, []stream.Op{stream.Insert, stream.UpdateDelete, stream.UpdateInsert},
		streamtest.Row(int64(5), int64(2), int64(1)), streamtest.Row(int64(5), int64(2), int64(1)), streamtest.Row(int64(5), int64(2), int64(2))),
		"+ 5 2 1 NULL NULL NULL", "U- 5 2 1 NULL NULL NULL", "U+ 5 2 2 NULL NULL NULL")
	hjExpect(t, "update into a matching key", hjPush(t, op, s, 0, hjUpdate,
		streamtest.Row(int64(5), int64(2), int64(2)), streamtest.Row(int64(5), int64(3), int64(2))),
		"- 5 2 2 NULL NULL NULL", "+ 5 3 2 103 3 1")
}

func TestHashJoinRightAndFull(t *testing.T) {
	env, _ := streamtest.Env(t)
	op, s := hjOpen(t, hjSpec(t, batch.RightJoin, false), env)
	hjExpect(t, "right join: unmatched right row", hjPush(t, op, s, 1, ins(2),
		streamtest.Row(int64(100), int64(1), int64(5)), streamtest.Row(int64(101), nil, int64(6))),
		"+ NULL NULL NULL 100 1 5", "+ NULL NULL NULL 101 NULL 6")
	hjExpect(t, "right join: unmatched left row", hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(2), int64(2), int64(1))))
	hjExpect(t, "right join: first match", hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(1), int64(1), int64(10))),
		"U- NULL NULL NULL 100 1 5", "U+ 1 1 10 100 1 5")
	hjExpect(t, "right join: last match gone", hjPush(t, op, s, 0, dels(1), streamtest.Row(int64(1), int64(1), int64(10))),
		"U- 1 1 10 100 1 5", "U+ NULL NULL NULL 100 1 5")

	env2, _ := streamtest.Env(t)
	op, s = hjOpen(t, hjSpec(t, batch.FullJoin, false), env2)
	hjExpect(t, "full join: left alone", hjPush(t, op, s, 0, ins(2),
		streamtest.Row(int64(1), int64(1), int64(10)), streamtest.Row(int64(2), nil, int64(11))),
		"+ 1 1 10 NULL NULL NULL", "+ 2 NULL 11 NULL NULL NULL")
	hjExpect(t, "full join: right matches left", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(100), int64(1), int64(5))),
		"U- 1 1 10 NULL NULL NULL", "U+ 1 1 10 100 1 5")
	hjExpect(t, "full join: second left match of the right row", hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(3), int64(1), int64(12))),
		"+ 3 1 12 100 1 5")
	hjExpect(t, "full join: right NULL key", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(101), nil, int64(6))),
		"+ NULL NULL NULL 101 NULL 6")
	hjExpect(t, "full join: delete the matched right row", hjSorted(hjPush(t, op, s, 1, dels(1), streamtest.Row(int64(100), int64(1), int64(5)))),
		"U+ 1 1 10 NULL NULL NULL", "U+ 3 1 12 NULL NULL NULL", "U- 1 1 10 100 1 5", "U- 3 1 12 100 1 5")
}

func TestHashJoinResidual(t *testing.T) {
	env, _ := streamtest.Env(t)
	op, s := hjOpen(t, hjSpec(t, batch.LeftJoin, true), env)
	hjExpect(t, "left rows", hjPush(t, op, s, 0, ins(2), streamtest.Row(int64(1), int64(1), int64(5)), streamtest.Row(int64(2), int64(1), int64(8))),
		"+ 1 1 5 NULL NULL NULL", "+ 2 1 8 NULL NULL NULL")
	// w = 6 passes v < w for v = 5 only.
	hjExpect(t, "residual picks one left row", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(100), int64(1), int64(6))),
		"U- 1 1 5 NULL NULL NULL", "U+ 1 1 5 100 1 6")
	hjExpect(t, "residual fails for both", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(101), int64(1), int64(0))))
	hjExpect(t, "update makes the residual pass", hjSorted(hjPush(t, op, s, 1, hjUpdate,
		streamtest.Row(int64(101), int64(1), int64(0)), streamtest.Row(int64(101), int64(1), int64(9)))),
		"+ 1 1 5 101 1 9", "U+ 2 1 8 101 1 9", "U- 2 1 8 NULL NULL NULL")
	hjExpect(t, "delete the first right row", hjPush(t, op, s, 1, dels(1), streamtest.Row(int64(100), int64(1), int64(6))),
		"- 1 1 5 100 1 6")

	env2, _ := streamtest.Env(t)
	op, s = hjOpen(t, hjSpec(t, batch.InnerJoin, true), env2)
	hjPush(t, op, s, 0, ins(2), streamtest.Row(int64(1), int64(1), int64(5)), streamtest.Row(int64(2), int64(1), int64(8)))
	hjExpect(t, "inner residual", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(100), int64(1), int64(7))), "+ 1 1 5 100 1 7")
}

func TestHashJoinSemiAnti(t *testing.T) {
	env, _ := streamtest.Env(t)
	op, s := hjOpen(t, hjSpec(t, batch.SemiJoin, false), env)
	hjExpect(t, "semi: no match", hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(1), int64(1), int64(10))))
	hjExpect(t, "semi: first match", hjPush(t, op, s, 1, ins(2), streamtest.Row(int64(100), int64(1), int64(5)), streamtest.Row(int64(101), int64(1), int64(5))),
		"+ 1 1 10")
	hjExpect(t, "semi: left row with matches", hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(2), int64(1), int64(11))), "+ 2 1 11")
	hjExpect(t, "semi: matches go", hjSorted(hjPush(t, op, s, 1, dels(2), streamtest.Row(int64(100), int64(1), int64(5)), streamtest.Row(int64(101), int64(1), int64(5)))),
		"- 1 1 10", "- 2 1 11")

	env2, _ := streamtest.Env(t)
	op, s = hjOpen(t, hjSpec(t, batch.AntiJoin, false), env2)
	hjExpect(t, "anti: no match", hjPush(t, op, s, 0, ins(2), streamtest.Row(int64(1), int64(1), int64(10)), streamtest.Row(int64(2), nil, int64(1))),
		"+ 1 1 10", "+ 2 NULL 1")
	hjExpect(t, "anti: match appears", hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(100), int64(1), int64(5))), "- 1 1 10")
	hjExpect(t, "anti: match goes", hjPush(t, op, s, 1, dels(1), streamtest.Row(int64(100), int64(1), int64(5))), "+ 1 1 10")
}

func TestHashJoinWatermarks(t *testing.T) {
	for _, tc := range []struct {
		kind batch.JoinKind
		want []int // output columns of a watermark on left col 2 and right col 2
	}{
		{batch.InnerJoin, []int{2, 5}},
		{batch.LeftJoin, []int{2}},
		{batch.RightJoin, []int{5}},
		{batch.FullJoin, []int{2, 5}},
		{batch.SemiJoin, []int{2}},
	} {
		env, _ := streamtest.Env(t)
		op, s := hjOpen(t, hjSpec(t, tc.kind, false), env)
		for side := range 2 {
			if err := op.Watermark(side, stream.Watermark{Col: 2, Val: int64(7)}); err != nil {
				t.Fatal(err)
			}
		}
		var got []int
		for _, w := range s.WMs {
			got = append(got, w.Col)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s join: watermarks on %v, want %v", tc.kind, got, tc.want)
		}
	}
}

func TestHashJoinBuildErrors(t *testing.T) {
	env, _ := streamtest.Env(t)
	spec := hjSpec(t, batch.InnerJoin, false)
	if got, want := spec.Explain(), "HashJoin inner on #1 = #4"; got != want {
		t.Errorf("Explain() = %q, want %q", got, want)
	}
	spec.RightTypes = []types.T{types.TInt8, types.TText, types.TInt4}
	left := &stream.Node{Types: spec.LeftTypes}
	right := &stream.Node{Types: spec.RightTypes}
	_, err := spec.Build(streamtest.BuildCtx(env, &stream.Node{}, left, right), stream.Output{Op: &streamtest.Sink{}})
	if sqlerr.Code(err) != sqlerr.FeatureNotSupported {
		t.Fatalf("int = text key: got %v, want 0A000", err)
	}
	spec = hjSpec(t, batch.JoinKind(42), false)
	_, err = spec.Build(streamtest.BuildCtx(env, &stream.Node{}, left, right), stream.Output{Op: &streamtest.Sink{}})
	if sqlerr.Code(err) != sqlerr.FeatureNotSupported {
		t.Fatalf("unknown kind: got %v, want 0A000", err)
	}
}

// TestHashJoinRecovery restarts the join from its committed state and
// checks that it continues exactly: deletes retract what was emitted
// before the restart and degrees are restored.
func TestHashJoinRecovery(t *testing.T) {
	env, db := streamtest.Env(t)
	spec := hjSpec(t, batch.FullJoin, true)
	op, s := hjOpen(t, spec, env)
	hjPush(t, op, s, 0, ins(3), streamtest.Row(int64(1), int64(1), int64(1)), streamtest.Row(int64(2), int64(1), int64(9)), streamtest.Row(int64(3), nil, int64(1)))
	hjPush(t, op, s, 1, ins(2), streamtest.Row(int64(100), int64(1), int64(5)), streamtest.Row(int64(101), int64(2), int64(5)))
	streamtest.Barrier(t, op, db, 1)
	// Changes after the barrier: a deleted row must be deleted in storage
	// too, and the second epoch's writes must land.
	hjPush(t, op, s, 0, dels(1), streamtest.Row(int64(2), int64(1), int64(9)))
	hjPush(t, op, s, 0, ins(1), streamtest.Row(int64(4), int64(2), int64(4)))
	streamtest.Barrier(t, op, db, 2)
	// Uncommitted: lost in the restart.
	hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(102), int64(1), int64(7)))

	if n := streamtest.StateRows(t, db, 1); n != 3 {
		t.Fatalf("left state has %d rows, want 3", n)
	}
	if n := streamtest.StateRows(t, db, 2); n != 2 {
		t.Fatalf("right state has %d rows, want 2", n)
	}

	env2, db2 := streamtest.Restart(t, db, nil)
	op2, s2 := hjOpen(t, spec, env2)
	if rows := s2.Take(); len(rows) != 0 {
		t.Fatalf("recovery emitted %q", rows)
	}
	hjExpect(t, "delete after restart, last match of left row 1", hjPush(t, op2, s2, 1, dels(1), streamtest.Row(int64(100), int64(1), int64(5))),
		"U- 1 1 1 100 1 5", "U+ 1 1 1 NULL NULL NULL")
	hjExpect(t, "insert matching a recovered row with degree 1", hjPush(t, op2, s2, 0, ins(1), streamtest.Row(int64(5), int64(2), int64(0))),
		"+ 5 2 0 101 2 5")
	hjExpect(t, "delete a recovered NULL-key row", hjPush(t, op2, s2, 0, dels(1), streamtest.Row(int64(3), nil, int64(1))),
		"- 3 NULL 1 NULL NULL NULL")
	hjExpect(t, "right row 101 keeps its other match", hjPush(t, op2, s2, 0, dels(1), streamtest.Row(int64(4), int64(2), int64(4))),
		"- 4 2 4 101 2 5")
	streamtest.Barrier(t, op2, db2, 3)
	if n := streamtest.StateRows(t, db2, 1); n != 2 {
		t.Fatalf("left state after restart has %d rows, want 2", n)
	}
}

// hjModelRow is a live input row of the differential test.
type hjModelRow struct {
	id, v int64
	k     *int64
}

func (r hjModelRow) datums() []types.Datum { return streamtest.Row(r.id, hjInt(r.k), r.v) }

func (r hjModelRow) text() string {
	k := "NULL"
	if r.k != nil {
		k = strconv.FormatInt(*r.k, 10)
	}
	return strconv.FormatInt(r.id, 10) + " " + k + " " + strconv.FormatInt(r.v, 10)
}

const hjNulls = "NULL NULL NULL"

// hjNestedLoop recomputes the join of the live rows.
func hjNestedLoop(kind batch.JoinKind, residual bool, left, right map[int64]hjModelRow) []string {
	match := func(l, r hjModelRow) bool {
		return l.k != nil && r.k != nil && *l.k == *r.k && (!residual || l.v < r.v)
	}
	var out []string
	rightMatched := map[int64]bool{}
	for _, l := range left {
		n := 0
		for _, r := range right {
			if match(l, r) {
				n++
				rightMatched[r.id] = true
				if kind != batch.SemiJoin && kind != batch.AntiJoin {
					out = append(out, l.text()+" "+r.text())
				}
			}
		}
		switch {
		case kind == batch.SemiJoin && n > 0, kind == batch.AntiJoin && n == 0:
			out = append(out, l.text())
		case n == 0 && (kind == batch.LeftJoin || kind == batch.FullJoin):
			out = append(out, l.text()+" "+hjNulls)
		}
	}
	if kind == batch.RightJoin || kind == batch.FullJoin {
		for _, r := range right {
			if !rightMatched[r.id] {
				out = append(out, hjNulls+" "+r.text())
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestHashJoinDifferential feeds random changelogs to both sides and
// compares the accumulated output with a nested-loop join of the live
// rows after every chunk, restarting from committed state halfway.
func TestHashJoinDifferential(t *testing.T) {
	kinds := []batch.JoinKind{batch.InnerJoin, batch.LeftJoin, batch.RightJoin, batch.FullJoin, batch.SemiJoin, batch.AntiJoin}
	for seed := uint64(1); seed <= 4; seed++ {
		for _, kind := range kinds {
			for _, residual := range []bool{false, true} {
				name := kind.String() + "/seed" + strconv.FormatUint(seed, 10)
				if residual {
					name += "/residual"
				}
				t.Run(name, func(t *testing.T) { hjDifferential(t, kind, residual, seed) })
			}
		}
	}
}

func hjDifferential(t *testing.T, kind batch.JoinKind, residual bool, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(kind)*2+map[bool]uint64{false: 0, true: 1}[residual]))
	env, db := streamtest.Env(t)
	spec := hjSpec(t, kind, residual)
	if seed%2 == 1 {
		// Odd seeds gather every column for the residual.
		spec.ResidualCols = nil
	}
	op, s := hjOpen(t, spec, env)
	live := [2]map[int64]hjModelRow{{}, {}}
	nextID := [2]int64{1, 1000}
	randKey := func() *int64 {
		if rng.IntN(10) == 0 {
			return nil
		}
		return hjK(int64(rng.IntN(4)))
	}
	pick := func(m map[int64]hjModelRow) hjModelRow {
		ids := make([]int64, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return m[ids[rng.IntN(len(ids))]]
	}
	var all []string
	epoch := uint64(0)
	const chunks = 240
	for ci := 0; ci < chunks; ci++ {
		side := rng.IntN(2)
		m := live[side]
		var ops []stream.Op
		var rows [][]types.Datum
		for n := 1 + rng.IntN(6); n > 0; n-- {
			switch r := rng.IntN(8); {
			case r < 4 || len(m) == 0:
				nr := hjModelRow{id: nextID[side], k: randKey(), v: int64(rng.IntN(6))}
				nextID[side]++
				m[nr.id] = nr
				ops, rows = append(ops, stream.Insert), append(rows, nr.datums())
			case r < 6:
				old := pick(m)
				delete(m, old.id)
				ops, rows = append(ops, stream.Delete), append(rows, old.datums())
			default:
				old := pick(m)
				nr := old
				if rng.IntN(2) == 0 {
					nr.k = randKey()
				} else {
					nr.v = int64(rng.IntN(6))
				}
				m[nr.id] = nr
				ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, old.datums(), nr.datums())
			}
		}
		all = append(all, hjPush(t, op, s, side, ops, rows...)...)
		// The accumulated output must equal the join of the live rows
		// (checked every few chunks to keep the test fast).
		if ci%4 == 3 || ci == chunks-1 || ci == chunks/2+1 {
			if got, want := s.Contents(t, all), hjNestedLoop(kind, residual, live[0], live[1]); !slices.Equal(got, want) {
				t.Fatalf("after chunk %d (side %d, ops %v):\ngot  %q\nwant %q", ci, side, ops, got, want)
			}
		}
		if ci%15 == 14 {
			epoch++
			streamtest.Barrier(t, op, db, epoch)
		}
		if ci == chunks/2 {
			epoch++
			streamtest.Barrier(t, op, db, epoch)
			env, db = streamtest.Restart(t, db, nil)
			op, s = hjOpen(t, spec, env)
			if rows := s.Take(); len(rows) != 0 {
				t.Fatalf("recovery emitted %q", rows)
			}
		}
	}
	for side, id := range []uint32{1, 2} {
		epoch++
		streamtest.Barrier(t, op, db, epoch)
		if n := streamtest.StateRows(t, db, id); n > len(live[side]) {
			t.Fatalf("side %d state has %d rows, %d live", side, n, len(live[side]))
		}
	}
}

// TestHashJoinEncodings checks the arena's value encoding against
// types.EncodeRow and the vectorized key encoding against types.AppendKey.
func TestHashJoinEncodings(t *testing.T) {
	ts := []types.T{types.TBool, types.TInt2, types.TInt4, types.TInt8, types.TFloat4, types.TFloat8,
		types.TNumeric, types.TText, types.TBytea, types.TDate, types.TTime, types.TTimestamp,
		types.TTimestampTZ, types.TInterval, {Kind: types.Char, Width: 4}}
	parse := func(t *testing.T, s string, ty types.T) types.Datum {
		if s == "NULL" {
			return nil
		}
		d, err := types.ParseText(s, ty, time.UTC)
		if err != nil {
			t.Fatalf("%s %q: %v", ty, s, err)
		}
		return d
	}
	texts := [][]string{
		{"true", "-7", "123456", "-9000000000", "1.5", "-0", "12.50", "a\x00b", "\\x00ff", "2024-02-29", "12:34:56.789", "2024-01-01 00:00:00", "1999-12-31 23:59:59+00", "1 mon 2 days 00:00:03", "ab"},
		{"NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
		{"false", "0", "-1", "1", "NaN", "-Infinity", "-0.001", "", "\\x", "1970-01-01", "00:00:00", "1900-01-01 12:00:00", "2100-01-01 00:00:00+00", "-3 hours", "x"},
	}
	var rows [][]types.Datum
	for _, tx := range texts {
		r := make([]types.Datum, len(ts))
		for j, ty := range ts {
			r[j] = parse(t, tx[j], ty)
		}
		rows = append(rows, r)
	}
	c := streamtest.ChunkOf(ts, ins(len(rows)), rows...)
	defer c.Release()
	side := newHJSide(stream.NewStateTable(1, nil, ts), ts, false, false)
	var slots, idx []int32
	for i := range rows {
		slots = append(slots, side.alloc())
		idx = append(idx, int32(i))
	}
	for j, col := range side.cols {
		col.copyIn(c.Cols[j], idx, slots)
	}
	for i := range rows {
		want := types.EncodeRow(nil, c.Row(i, ts), ts)
		if got := side.encodeValue(slots[i]); string(got) != string(want) {
			t.Errorf("row %d: value encoding\ngot  %x\nwant %x", i, got, want)
		}
	}
	// Gathering from the arena reproduces the input, with -1 as NULL.
	gathered := side.gather([]int32{slots[2], -1, slots[0]}, nil)
	for j, a := range gathered {
		if got, want := types.GetDatum(a, 1, ts[j]), types.Datum(nil); got != want {
			t.Errorf("column %d: slot -1 gathered %v", j, got)
		}
		for k, src := range []int{2, 0} {
			got := types.FormatText(types.GetDatum(a, []int{0, 2}[k], ts[j]), ts[j], time.UTC)
			want := types.FormatText(types.GetDatum(c.Cols[j], src, ts[j]), ts[j], time.UTC)
			if got != want {
				t.Errorf("column %d row %d: gathered %q, want %q", j, src, got, want)
			}
		}
		a.Release()
	}
	var keys hjKeys
	for j, ty := range ts {
		keys.reset(c.N)
		kc := hjKeyCol{col: j, src: ty, keyT: ty}
		if types.IsIntKind(ty.Kind) {
			kc.keyT = types.TInt8
		}
		if err := hjAppendKeys(keys.keys, keys.hasNull, c.Cols[j], kc, time.UTC); err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			want := types.AppendKey(nil, types.GetDatum(c.Cols[j], i, ty), ty, false)
			if string(keys.keys[i]) != string(want) {
				t.Errorf("%s row %d: key %x, want %x", ty, i, keys.keys[i], want)
			}
			if keys.hasNull[i] != (rows[i][j] == nil) {
				t.Errorf("%s row %d: hasNull %v", ty, i, keys.hasNull[i])
			}
		}
	}
}

// TestHashJoinKeyNormalization joins keys of different types that are
// equal as SQL values.
func TestHashJoinKeyNormalization(t *testing.T) {
	for _, tc := range []struct {
		lt, rt types.T
		l, r   string
	}{
		{types.TInt2, types.TInt8, "-5", "-5"},
		{types.TInt4, types.TNumeric, "12", "12.000"},
		{types.TInt8, types.TFloat8, "3", "3.0"},
		{types.TFloat4, types.TFloat8, "0.5", "0.5"},
		{types.TNumeric, types.TNumeric, "1.10", "1.1"},
		{types.T{Kind: types.Char, Width: 4}, types.TText, "ab", "ab"},
		{types.TVarchar, types.TText, "x", "x"},
	} {
		env, _ := streamtest.Env(t)
		spec := &HashJoinSpec{Kind: batch.InnerJoin, LeftKeys: []int{0}, RightKeys: []int{0},
			LeftTypes: []types.T{tc.lt}, RightTypes: []types.T{tc.rt}}
		op, s := hjOpen(t, spec, env)
		ld, err := types.ParseText(tc.l, tc.lt, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := types.ParseText(tc.r, tc.rt, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if err := op.Chunk(0, streamtest.ChunkOf(spec.LeftTypes, ins(1), streamtest.Row(ld))); err != nil {
			t.Fatal(err)
		}
		if err := op.Chunk(1, streamtest.ChunkOf(spec.RightTypes, ins(1), streamtest.Row(rd))); err != nil {
			t.Fatal(err)
		}
		if rows := s.Take(); len(rows) != 1 || !strings.HasPrefix(rows[0], "+ ") {
			t.Errorf("%s %s = %s %s: got %q, want one joined row", tc.lt, tc.l, tc.rt, tc.r, rows)
		}
	}
}

// TestHashJoinCompaction deletes most of a large state so that the string
// and key heaps are compacted, then checks that the surviving rows still
// join, retract and persist with their own values.
func TestHashJoinCompaction(t *testing.T) {
	env, db := streamtest.Env(t)
	lt := []types.T{types.TInt8, types.TInt4, types.TText}
	rt := []types.T{types.TInt8, types.TInt4}
	spec := &HashJoinSpec{Kind: batch.InnerJoin, LeftKeys: []int{1}, RightKeys: []int{1},
		LeftTypes: lt, RightTypes: rt, LeftStreamKey: []int{0, 2}, RightStreamKey: []int{0}}
	op, s := hjOpen(t, spec, env)
	var rrows [][]types.Datum
	for k := range 10 {
		rrows = append(rrows, streamtest.Row(int64(1000+k), int64(k)))
	}
	if err := op.Chunk(1, streamtest.ChunkOf(rt, ins(10), rrows...)); err != nil {
		t.Fatal(err)
	}
	payload := func(id int) string { return strconv.Itoa(id) + strings.Repeat("x", 600) }
	const n = 4000
	lrow := func(id int) []types.Datum { return streamtest.Row(int64(id), int64(id%10), payload(id)) }
	var all []string
	for lo := 0; lo < n; lo += 500 {
		var rows [][]types.Datum
		for id := lo; id < lo+500; id++ {
			rows = append(rows, lrow(id))
		}
		if err := op.Chunk(0, streamtest.ChunkOf(lt, ins(len(rows)), rows...)); err != nil {
			t.Fatal(err)
		}
		all = append(all, s.Take()...)
	}
	streamtest.Barrier(t, op, db, 1)
	for lo := 0; lo < n; lo += 500 {
		var rows [][]types.Datum
		for id := lo; id < lo+500; id++ {
			if id%4 != 0 {
				rows = append(rows, lrow(id))
			}
		}
		if err := op.Chunk(0, streamtest.ChunkOf(lt, dels(len(rows)), rows...)); err != nil {
			t.Fatal(err)
		}
		all = append(all, s.Take()...)
	}
	left := op.(*HashJoin).sides[0]
	if left.keyGarbage > left.keyHeap.size() || left.cols[2].(*hjVarCol).garbage > 1<<20 {
		t.Fatalf("heaps were not compacted (key garbage %d of %d)", left.keyGarbage, left.keyHeap.size())
	}
	// Insert a few more rows into freed slots, then retract everything.
	var more [][]types.Datum
	for id := n; id < n+50; id++ {
		more = append(more, lrow(id))
	}
	if err := op.Chunk(0, streamtest.ChunkOf(lt, ins(len(more)), more...)); err != nil {
		t.Fatal(err)
	}
	all = append(all, s.Take()...)
	streamtest.Barrier(t, op, db, 2)
	if got := streamtest.StateRows(t, db, 1); got != n/4+50 {
		t.Fatalf("left state has %d rows, want %d", got, n/4+50)
	}
	if got := len(s.Contents(t, all)); got != n/4+50 {
		t.Fatalf("%d joined rows, want %d", got, n/4+50)
	}
	if err := op.Chunk(1, streamtest.ChunkOf(rt, dels(10), rrows...)); err != nil {
		t.Fatal(err)
	}
	all = append(all, s.Take()...)
	if rest := s.Contents(t, all); len(rest) != 0 {
		t.Fatalf("%d rows left after retracting every match, e.g. %.40q", len(rest), rest[0])
	}
}

// TestHashJoinNoStreamKey joins inputs without stream keys: duplicate rows
// are kept apart (in memory and in storage) and deleted one at a time,
// also after a restart.
func TestHashJoinNoStreamKey(t *testing.T) {
	env, db := streamtest.Env(t)
	spec := hjSpec(t, batch.InnerJoin, false)
	spec.LeftStreamKey, spec.RightStreamKey = nil, nil
	op, s := hjOpen(t, spec, env)
	dup := streamtest.Row(int64(1), int64(1), int64(10))
	hjPush(t, op, s, 0, ins(3), dup, dup, streamtest.Row(int64(2), int64(1), int64(11)))
	hjExpect(t, "duplicates join twice", hjSorted(hjPush(t, op, s, 1, ins(1), streamtest.Row(int64(100), int64(1), int64(5)))),
		"+ 1 1 10 100 1 5", "+ 1 1 10 100 1 5", "+ 2 1 11 100 1 5")
	hjExpect(t, "delete one duplicate", hjPush(t, op, s, 0, dels(1), dup), "- 1 1 10 100 1 5")
	hjPush(t, op, s, 0, ins(1), dup)
	streamtest.Barrier(t, op, db, 1)
	if n := streamtest.StateRows(t, db, 1); n != 3 {
		t.Fatalf("left state has %d rows, want 3", n)
	}
	env2, db2 := streamtest.Restart(t, db, nil)
	op2, s2 := hjOpen(t, spec, env2)
	// A new duplicate must not reuse a stored sequence number.
	hjExpect(t, "new duplicate after restart", hjPush(t, op2, s2, 0, ins(1), dup), "+ 1 1 10 100 1 5")
	streamtest.Barrier(t, op2, db2, 2)
	if n := streamtest.StateRows(t, db2, 1); n != 4 {
		t.Fatalf("left state after restart has %d rows, want 4", n)
	}
	hjExpect(t, "delete duplicates after restart", hjPush(t, op2, s2, 0, dels(3), dup, dup, dup),
		"- 1 1 10 100 1 5", "- 1 1 10 100 1 5", "- 1 1 10 100 1 5")
	hjExpect(t, "no fourth duplicate", hjPush(t, op2, s2, 0, dels(1), dup))
	streamtest.Barrier(t, op2, db2, 3)
	if n := streamtest.StateRows(t, db2, 1); n != 1 {
		t.Fatalf("left state at the end has %d rows, want 1", n)
	}
}

// TestHashJoinRowMetaSize keeps a row's bookkeeping at 48 bytes: every
// stored row of a join side has one.
func TestHashJoinRowMetaSize(t *testing.T) {
	if n := unsafe.Sizeof(hjRowMeta{}); n != 48 {
		t.Fatalf("hjRowMeta is %d bytes, want 48", n)
	}
}
