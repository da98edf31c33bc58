package wasm

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
	"streamsql/udf/udftest"
)

func aggDef(name string, ret types.T, bin []byte) *udf.UserDef {
	d := def(name, []types.T{types.TInt4}, ret, false, bin)
	d.Aggregate = true
	return d
}

// A WebAssembly aggregate folds a batch into many groups in one call,
// takes rows back out, keeps its states across an encode and decode (a
// view's checkpoint and restart), and starts new groups from create_state.
func TestAggregate(t *testing.T) {
	bin := Module(t)
	r := newRuntime(t, 64<<20)
	agg, err := r.CompileAggregate(aggDef("wavg", types.TFloat8, bin))
	if err != nil {
		t.Fatal(err)
	}
	// Take out row 0 (1, group 0) and row 5 (10, group 1); row 2 goes in
	// again between them (wavg exports wavg_retract).
	s := udftest.RetractAndRestore(t, agg, 3, []int64{-1, 0, 1, 0, 0, -1})
	out, err := s.Finish(nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	f := out.(*array.Float64)
	if f.Value(0) != 3 || f.Value(1) != 3 || !f.IsNull(2) {
		t.Fatalf("wavg per group: %v, want [3 3 NULL]", f)
	}
	if d, err := s.Result(1); err != nil || d != 3.0 {
		t.Fatalf("Result(1) = %v, %v", d, err)
	}
	if err := s.Decode([]byte{1, 2, 3}, 0); sqlerr.Code(err) != sqlerr.DataCorrupted {
		t.Fatalf("a state of the wrong size: %v", err)
	}

	// wfussy has no retract and starts at 100 (create_state).
	fussy, err := r.CompileAggregate(aggDef("wfussy", types.TInt8, bin))
	if err != nil {
		t.Fatal(err)
	}
	if fussy.Retracts {
		t.Fatal("wfussy has no retract")
	}
	acc := fussy.Start(udftest.Env(nil), fussy.Args)
	if err := acc.Update([]uint32{0, 1, 0}, 2, []arrow.Array{udftest.Int32s(5, 6, 7)}, 3); err != nil {
		t.Fatal(err)
	}
	if err := acc.Retract([]uint32{0}, 2, []arrow.Array{udftest.Int32s(5)}, 1); err != udf.ErrNoRetract {
		t.Fatalf("Retract without retract: %v", err)
	}
	out, err = acc.Finish(nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if i := out.(*array.Int64); i.Value(0) != 112 || i.Value(1) != 106 {
		t.Fatalf("wfussy: %v, want [112 106]", i)
	}

	if _, err := r.CompileAggregate(aggDef("wgcd", types.TInt4, bin)); sqlerr.Code(err) != sqlerr.InvalidFunctionDefinition ||
		!strings.Contains(err.Error(), "wgcd_state_size") {
		t.Fatalf("a module without the aggregate's exports: %v", err)
	}
}

// A failing, looping, memory-hungry or trapping aggregate gives 38000 and
// leaves the states as they were; with a row error handler (a view) only
// the failing rows are left out.
func TestAggregateFailures(t *testing.T) {
	bin := Module(t)
	r := newRuntime(t, 64<<20)
	agg, err := r.CompileAggregate(aggDef("wfussy", types.TInt8, bin))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		v             int
		timeout, want string
	}{
		{-1, "1s", "negative input"},
		{-2, "100ms", "timed out after 100ms"},
		{-3, "20s", "exceeded the memory limit of 64 MB"},
		{-4, "1s", "failed"},
	}
	for _, c := range cases {
		acc := agg.Start(udftest.Env(map[string]string{"udf_timeout": c.timeout}), agg.Args)
		if err := acc.Update([]uint32{0}, 1, []arrow.Array{udftest.Int32s(1)}, 1); err != nil {
			t.Fatal(err)
		}
		err := acc.Update([]uint32{0, 0}, 1, []arrow.Array{udftest.Int32s(2, c.v)}, 2)
		if sqlerr.Code(err) != sqlerr.ExternalRoutineException || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%d: got %v, want 38000 %q", c.v, err, c.want)
		}
		out, err := acc.Finish(nil, 1)
		if err != nil || out.(*array.Int64).Value(0) != 101 {
			t.Fatalf("%d: the state after a failed batch: %v %v, want 101", c.v, out, err)
		}
	}
	e := udftest.Env(nil)
	var rejected []types.Datum
	e.OnRowError = func(fn string, err error, args []types.Datum, _ []types.T) { rejected = append(rejected, args[0]) }
	acc := agg.Start(e, agg.Args)
	if err := acc.Update([]uint32{0, 1, 0, 1}, 2, []arrow.Array{udftest.Int32s(1, -1, 3, 4)}, 4); err != nil {
		t.Fatal(err)
	}
	out, err := acc.Finish(nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if i := out.(*array.Int64); i.Value(0) != 104 || i.Value(1) != 104 || len(rejected) != 1 || rejected[0] != int64(-1) {
		t.Fatalf("row by row: %v, rejected %v", i, rejected)
	}
}

// An aggregate with states of variable size (wdistinct_state_size is 0)
// grows a group's state past the 64 KiB of a fixed-size one, takes rows
// back out, merges two groups, and keeps its states across an encode and
// decode.
func TestAggregateVariableState(t *testing.T) {
	bin := Module(t)
	r := newRuntime(t, 64<<20)
	agg, err := r.CompileAggregate(aggDef("wdistinct", types.TInt8, bin))
	if err != nil {
		t.Fatal(err)
	}
	if !agg.Retracts || !agg.Merges {
		t.Fatal("wdistinct exports retract and merge")
	}
	s := agg.NewRetracting(agg.Args)
	s.(udf.EnvAccumulator).SetEnv(udftest.Env(nil))
	// Group 0: 0..4999 (a state of 80,000 bytes); group 1: 0..9 twice
	// and a NULL; group 2: 100..102.
	var vals []any
	var groups []uint32
	for i := range 5000 {
		vals, groups = append(vals, i), append(groups, 0)
	}
	for i := range 20 {
		vals, groups = append(vals, i%10), append(groups, 1)
	}
	vals, groups = append(vals, nil, 100, 101, 102), append(groups, 1, 2, 2, 2)
	col := udftest.Int32s(vals...)
	if err := s.Apply(groups, nil, 3, []arrow.Array{col}, len(groups)); err != nil {
		t.Fatal(err)
	}
	// Take 0..999 out of group 0, and one of the two 3s of group 1.
	w := make([]int64, len(groups))
	for i := range 1000 {
		w[i] = -1
	}
	w[5003] = -1
	if err := s.Apply(groups, w, 3, []arrow.Array{col}, len(groups)); err != nil {
		t.Fatal(err)
	}
	result := func(g uint32) any {
		t.Helper()
		d, err := s.Result(g)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if a, b, c := result(0), result(1), result(2); a != int64(4000) || b != int64(10) || c != int64(3) {
		t.Fatalf("wdistinct per group: %v %v %v, want 4000 10 3", a, b, c)
	}
	buf, err := s.Encode(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) != 1+16*4000 {
		t.Fatalf("group 0's state has %d bytes, want %d", len(buf), 1+16*4000)
	}
	s.Reset(0)
	if err := s.Decode(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.(udf.StateMerger).Merge(2, 1); err != nil {
		t.Fatal(err)
	}
	if a, c := result(0), result(2); a != int64(4000) || c != int64(13) {
		t.Fatalf("after decode and merge: %v %v, want 4000 13", a, c)
	}
}
