package js

import (
	"streamsql/internal/cputime"
	"streamsql/udf/udftest"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

const jsAvg = `
export function create_state() { return {sum: 0, n: 0}; }
export function accumulate(s, v) { if (v !== null) { s.sum += v; s.n++; } return s; }
export function retract(s, v) { if (v !== null) { s.sum -= v; s.n--; } return s; }
export function finish(s) { return s.n === 0 ? null : s.sum / s.n; }
`

func aggDef(body string) *udf.UserDef {
	d := def("js_avg", body, []string{"v"}, []types.T{types.TInt4}, types.TFloat8)
	d.Aggregate = true
	return d
}

// A JavaScript aggregate folds rows in and takes them back out per group,
// keeps its state across an encode and decode (a view's checkpoint and
// restart), and turns a throw into 38000.
func TestAggregateRetractAndState(t *testing.T) {
	agg, err := New(nil).CompileAggregate(aggDef(jsAvg))
	if err != nil {
		t.Fatal(err)
	}
	// Take out row 0 (1, group 0) and row 5 (10, group 1).
	s := udftest.RetractAndRestore(t, agg, 2, []int64{-1, 0, 0, 0, 0, -1})
	for g, want := range []float64{3, 3} {
		got, err := s.Result(uint32(g))
		if err != nil || got != want {
			t.Errorf("group %d: %v, %v; want %v", g, got, err, want)
		}
	}
	s.Release()

	bad, err := New(nil).CompileAggregate(aggDef(`
export function create_state() { return 0; }
export function accumulate(s, v) { if (v === 3) throw new Error('three'); return s + v; }`))
	if err != nil {
		t.Fatal(err)
	}
	if bad.Retracts {
		t.Error("an aggregate without retract must not say it retracts")
	}
	acc := bad.Start(udftest.Env(nil), bad.Args)
	defer acc.Release()
	vals := udftest.Int32s(1, 2, 3, 4, nil, 10)
	groups := []uint32{0, 1, 0, 1, 0, 1}
	err = acc.Update(groups, 2, []arrow.Array{vals}, 6)
	if e := sqlerr.From(err); e.Code != sqlerr.ExternalRoutineException || !strings.Contains(e.Message, "three") {
		t.Errorf("a throw gives %v, want 38000 with the message", err)
	}
	if err := acc.Retract(groups, 2, []arrow.Array{vals}, 6); err != udf.ErrNoRetract {
		t.Errorf("Retract without retract: %v", err)
	}
}

// BenchmarkAggregate reports rows per CPU-second of the JavaScript avg
// with retract over 4,096-row batches of 64 groups, half the batches
// accumulating and half retracting (as a view sees inserts and deletes),
// next to the built-in avg(integer) doing the same.
func BenchmarkAggregate(b *testing.B) {
	const n, ng = 4096, 64
	bld := array.NewInt32Builder(types.Mem)
	groups := make([]uint32, n)
	for i := 0; i < n; i++ {
		bld.Append(int32(i % 1000))
		groups[i] = uint32(i * 7 % ng)
	}
	col := bld.NewArray()
	args := []arrow.Array{col}
	run := func(b *testing.B, acc udf.Accumulator) {
		defer acc.Release()
		cpu0 := cputime.Used()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var err error
			if i%2 == 0 {
				err = acc.Update(groups, ng, args, n)
			} else {
				err = acc.Retract(groups, ng, args, n)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		out, err := acc.Finish(udftest.Env(nil), ng)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
		b.ReportMetric(float64(b.N)*n/(cputime.Used()-cpu0).Seconds(), "rows/cpu-s")
	}
	b.Run("javascript", func(b *testing.B) {
		agg, err := New(nil).CompileAggregate(aggDef(jsAvg))
		if err != nil {
			b.Fatal(err)
		}
		run(b, agg.Start(udftest.Env(nil), agg.Args))
	})
	b.Run("builtin", func(b *testing.B) {
		agg, _, err := udf.LookupAggregate("avg", []types.T{types.TInt4})
		if err != nil {
			b.Fatal(err)
		}
		run(b, agg.Start(udftest.Env(nil), agg.Args))
	})
}
