package sortedpart

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Input of the over window tests: (id, p, o, v); id is the stream key.
var overWindowTestTypes = []types.T{types.TInt8, types.TInt8, types.TInt8, types.TInt8}

func overWindowAgg(t *testing.T, name string, args []int, fr batch.Frame) batch.WindowFunc {
	t.Helper()
	ts := make([]types.T, len(args))
	for i := range ts {
		ts[i] = types.TInt8
	}
	fn, argTypes, err := udf.LookupAggregate(name, ts)
	if err != nil {
		t.Fatal(err)
	}
	return batch.WindowFunc{Agg: fn, Args: args, ArgTypes: argTypes, Frame: fr, T: fn.ResultType(argTypes), Filter: -1}
}

func overWindowFn(name string, t types.T, args ...int) batch.WindowFunc {
	f := batch.WindowFunc{Name: name, Args: args, T: t, Filter: -1}
	for range args {
		f.ArgTypes = append(f.ArgTypes, types.TInt8)
	}
	return f
}

func overWindowTestBound(kind batch.BoundKind, k int64) batch.FrameBound {
	b := batch.FrameBound{Kind: kind}
	if kind == batch.OffsetPreceding || kind == batch.OffsetFollowing {
		b.Offset = &expr.Const{Value: k, T: types.TInt8}
	}
	return b
}

func overWindowRows(s batch.BoundKind, sk int64, e batch.BoundKind, ek int64) batch.Frame {
	return batch.Frame{Mode: batch.RowsFrame, Start: overWindowTestBound(s, sk), End: overWindowTestBound(e, ek)}
}

func overWindowRange(s, e batch.BoundKind) batch.Frame {
	return batch.Frame{Mode: batch.RangeFrame, Start: batch.FrameBound{Kind: s}, End: batch.FrameBound{Kind: e}}
}

// overWindowTestSpec partitions by p (or not), orders by o ascending
// NULLS LAST and computes the functions overWindowExpected knows.
func overWindowTestSpec(t *testing.T, partitioned bool, withFull bool) *OverWindowSpec {
	s := &OverWindowSpec{
		Order:     []batch.SortKey{{Col: 2, T: types.TInt8}},
		Types:     overWindowTestTypes,
		StreamKey: []int{0},
		Funcs: []batch.WindowFunc{
			overWindowFn("row_number", types.TInt8),
			overWindowFn("rank", types.TInt8),
			overWindowFn("dense_rank", types.TInt8),
			overWindowFn("lag", types.TInt8, 3),
			overWindowFn("lead", types.TInt8, 3),
			overWindowAgg(t, "sum", []int{3}, overWindowRows(batch.OffsetPreceding, 2, batch.CurrentRow, 0)),
			overWindowAgg(t, "sum", []int{3}, batch.Frame{}),
			overWindowAgg(t, "count", []int{3}, overWindowRows(batch.OffsetPreceding, 1, batch.OffsetFollowing, 1)),
			overWindowAgg(t, "max", []int{3}, overWindowRange(batch.CurrentRow, batch.UnboundedFollowing)),
		},
		Offsets: []int64{-1, -1, -1, 1, 2, -1, -1, -1, -1},
	}
	// lead(v, 2): the offset column is not modelled; the spec's constant
	// offset is what the operator reads, the batch operator reads Args[1].
	s.Funcs[4].Args = []int{3, 4}
	s.Funcs[4].ArgTypes = []types.T{types.TInt8, types.TInt8}
	if partitioned {
		s.Partition = []int{1}
	}
	if withFull {
		s.Funcs = append(s.Funcs, overWindowFn("cume_dist", types.TFloat8))
		s.Offsets = append(s.Offsets, -1)
	}
	return s
}

// overWindowGen returns a generator of random rows (id, p, o, v, 2) over
// the test types, with p one of groups partitions and o and v sometimes
// NULL.
func overWindowGen(rnd *rand.Rand, groups int) func(id int64) []types.Datum {
	return func(id int64) []types.Datum {
		var o, v types.Datum
		if rnd.IntN(8) > 0 {
			o = int64(rnd.IntN(6))
		}
		if rnd.IntN(6) > 0 {
			v = int64(rnd.IntN(20) - 5)
		}
		return streamtest.Row(id, int64(rnd.IntN(groups)), o, v, int64(2))
	}
}

// overWindowOutTypes returns the output types of a spec from
// overWindowTestSpec: its input and one column per function.
func overWindowOutTypes(spec *OverWindowSpec) []types.T {
	out := slices.Clone(spec.Types)
	for _, f := range spec.Funcs {
		out = append(out, f.T)
	}
	return out
}

// overWindowExpected computes the view from scratch: every live row with
// its function values, as the sink formats them.
func overWindowExpected(spec *OverWindowSpec, live map[int64][]types.Datum) []string {
	parts := map[int64][][]types.Datum{}
	for _, r := range live {
		p := int64(0)
		if len(spec.Partition) > 0 {
			p = r[1].(int64)
		}
		parts[p] = append(parts[p], r)
	}
	ord := func(d types.Datum) int64 {
		if d == nil {
			return 1 << 40 // NULLS LAST
		}
		return d.(int64)
	}
	fmtInt := func(d types.Datum) string {
		if d == nil {
			return "NULL"
		}
		return fmt.Sprint(d)
	}
	var out []string
	for _, rows := range parts {
		slices.SortFunc(rows, func(a, b []types.Datum) int {
			return cmp.Or(cmp.Compare(ord(a[2]), ord(b[2])), cmp.Compare(a[0].(int64), b[0].(int64)))
		})
		n := len(rows)
		peerLo := func(i int) int {
			for i > 0 && ord(rows[i-1][2]) == ord(rows[i][2]) {
				i--
			}
			return i
		}
		peerHi := func(i int) int {
			for i+1 < n && ord(rows[i+1][2]) == ord(rows[i][2]) {
				i++
			}
			return i + 1
		}
		dense := 0
		for i, r := range rows {
			if i == 0 || ord(rows[i-1][2]) != ord(r[2]) {
				dense++
			}
			at := func(j int) types.Datum {
				if j < 0 || j >= n {
					return nil
				}
				return rows[j][3]
			}
			sum := func(lo, hi int) string { // v over rows [lo, hi)
				s, any := int64(0), false
				for j := max(lo, 0); j < min(hi, n); j++ {
					if v := rows[j][3]; v != nil {
						s, any = s+v.(int64), true
					}
				}
				if !any {
					return "NULL"
				}
				return fmt.Sprint(s)
			}
			count := 0
			for j := max(i-1, 0); j < min(i+2, n); j++ {
				if rows[j][3] != nil {
					count++
				}
			}
			maxV := "NULL"
			var m int64
			for j := peerLo(i); j < n; j++ {
				if v := rows[j][3]; v != nil && (maxV == "NULL" || v.(int64) > m) {
					m, maxV = v.(int64), fmt.Sprint(v)
				}
			}
			fields := []string{"+", fmtInt(r[0]), fmtInt(r[1]), fmtInt(r[2]), fmtInt(r[3]), fmtInt(r[4]),
				fmt.Sprint(i + 1), fmt.Sprint(peerLo(i) + 1), fmt.Sprint(dense),
				fmtInt(at(i - 1)), fmtInt(at(i + 2)),
				sum(i-2, i+1), sum(0, peerHi(i)), fmt.Sprint(count), maxV}
			if len(spec.Funcs) > 9 {
				fields = append(fields, types.FormatText(float64(peerHi(i))/float64(n), types.TFloat8, time.UTC))
			}
			out = append(out, strings.Join(fields[1:], " "))
		}
	}
	slices.Sort(out)
	return out
}

// overWindowRun drives an over window operator over a random changelog.
type overWindowRun struct {
	t    *testing.T
	spec *OverWindowSpec
	env  *stream.Env
	db   *pebble.DB
	op   stream.Operator
	sink *streamtest.Sink
	all  []string // every output row so far
	live map[int64][]types.Datum
	ts   []types.T
}

func (r *overWindowRun) open() {
	r.t.Helper()
	node := &stream.Node{Types: r.ts, StreamKey: []int{0}}
	op := streamtest.Open(r.t, r.env, r.spec, node, r.sink)
	r.op = op
}

func (r *overWindowRun) push(ops []stream.Op, rows ...[]types.Datum) {
	r.t.Helper()
	if err := r.op.Chunk(0, streamtest.ChunkOf(r.ts, ops, rows...)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *overWindowRun) check(epoch uint64, what string) {
	r.t.Helper()
	streamtest.Barrier(r.t, r.op, r.db, epoch)
	out := r.sink.Take()
	// An update is a U-/U+ pair; deletes come before inserts.
	for i, o := range out {
		if strings.HasPrefix(o, "U- ") && (i+1 >= len(out) || !strings.HasPrefix(out[i+1], "U+ ")) {
			r.t.Fatalf("%s: U- without U+: %q", what, out)
		}
		if strings.HasPrefix(o, "- ") && i > 0 && !strings.HasPrefix(out[i-1], "- ") {
			r.t.Fatalf("%s: delete after an insert or update: %q", what, out)
		}
	}
	r.all = append(r.all, out...)
	got := r.sink.Contents(r.t, r.all)
	want := overWindowExpected(r.spec, r.live)
	if !slices.Equal(got, want) {
		r.t.Fatalf("%s:\ngot  %q\nwant %q\nepoch output %q", what, got, want, out)
	}
}

func (r *overWindowRun) restart() {
	r.t.Helper()
	r.env, r.db = streamtest.Restart(r.t, r.db, nil)
	r.open()
}

// TestOverWindowRandomChangelog applies random inserts, deletes and
// updates (moving rows within and between partitions, with ties and NULLs
// in the ORDER BY) and compares the view after every barrier with the
// functions computed from scratch; it restarts from checkpoints on the way.
func TestOverWindowRandomChangelog(t *testing.T) {
	for _, tc := range []struct {
		name              string
		partitioned, full bool
	}{{"partitioned", true, false}, {"single", false, false}, {"whole-partition", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
			ts := append(slices.Clone(overWindowTestTypes), types.TInt8)
			spec := overWindowTestSpec(t, tc.partitioned, tc.full)
			spec.Types = ts
			env, db := streamtest.Env(t)
			r := &overWindowRun{t: t, spec: spec, env: env, db: db, sink: &streamtest.Sink{}, live: map[int64][]types.Datum{}, ts: ts}
			r.sink.Types = overWindowOutTypes(spec)
			r.open()
			nextID := int64(1)
			gen := overWindowGen(rnd, 3)
			for epoch := uint64(1); epoch <= 120; epoch++ {
				for range rnd.IntN(3) + 1 {
					var ops []stream.Op
					var rows [][]types.Datum
					for range rnd.IntN(6) + 1 {
						ids := slices.Sorted(func(yield func(int64) bool) {
							for id := range r.live {
								if !yield(id) {
									return
								}
							}
						})
						switch k := rnd.IntN(10); {
						case k < 5 || len(ids) == 0:
							nr := gen(nextID)
							nextID++
							r.live[nr[0].(int64)] = nr
							ops, rows = append(ops, stream.Insert), append(rows, nr)
						case k < 7:
							id := ids[rnd.IntN(len(ids))]
							ops, rows = append(ops, stream.Delete), append(rows, r.live[id])
							delete(r.live, id)
						default:
							id := ids[rnd.IntN(len(ids))]
							nr := gen(id)
							ops, rows = append(ops, stream.UpdateDelete, stream.UpdateInsert), append(rows, r.live[id], nr)
							r.live[id] = nr
						}
					}
					r.push(ops, rows...)
				}
				r.check(epoch, fmt.Sprintf("epoch %d", epoch))
				if epoch%40 == 0 {
					r.restart()
					r.check(epoch+1000, fmt.Sprintf("after restart at epoch %d", epoch))
				}
			}
		})
	}
}

// TestOverWindowRowsFrame follows a ROWS frame by hand: a change
// updates exactly the rows whose frame holds it.
func TestOverWindowRowsFrame(t *testing.T) {
	env, db := streamtest.Env(t)
	ts := []types.T{types.TInt8, types.TInt8}
	spec := &OverWindowSpec{
		Order:     []batch.SortKey{{Col: 0, T: types.TInt8}},
		Types:     ts,
		StreamKey: []int{0},
		Funcs:     []batch.WindowFunc{overWindowAgg(t, "sum", []int{1}, overWindowRows(batch.OffsetPreceding, 1, batch.CurrentRow, 0))},
	}
	s := &streamtest.Sink{Types: append(slices.Clone(ts), spec.Funcs[0].T)}
	op := streamtest.Open(t, env, spec, &stream.Node{Types: ts}, s)
	push := func(ops []stream.Op, rows ...[]types.Datum) {
		if err := op.Chunk(0, streamtest.ChunkOf(ts, ops, rows...)); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(what string, want ...string) {
		t.Helper()
		streamtest.Barrier(t, op, db, 1)
		if got := s.Take(); !slices.Equal(got, want) {
			t.Fatalf("%s:\ngot  %q\nwant %q", what, got, want)
		}
	}
	push([]stream.Op{stream.Insert, stream.Insert, stream.Insert, stream.Insert}, streamtest.Row(int64(1), int64(1)), streamtest.Row(int64(2), int64(10)), streamtest.Row(int64(3), int64(100)), streamtest.Row(int64(4), int64(1000)))
	expect("first epoch", "+ 1 1 1", "+ 2 10 11", "+ 3 100 110", "+ 4 1000 1100")
	push([]stream.Op{stream.UpdateDelete, stream.UpdateInsert}, streamtest.Row(int64(2), int64(10)), streamtest.Row(int64(2), int64(20)))
	expect("update of row 2", "U- 2 10 11", "U+ 2 20 21", "U- 3 100 110", "U+ 3 100 120")
	push([]stream.Op{stream.Delete}, streamtest.Row(int64(1), int64(1)))
	expect("delete of the first row", "- 1 1 1", "U- 2 20 21", "U+ 2 20 20")
	push([]stream.Op{stream.Insert}, streamtest.Row(int64(5), int64(10000)))
	expect("append", "+ 5 10000 11000")
}
