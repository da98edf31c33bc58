package batch

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"

	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// spillCtx is a statement context whose account holds limit bytes and
// spills under dir.
func spillCtx(limit int64, dir string) *exec.Ctx {
	return &exec.Ctx{Env: udf.Env{Context: context.Background()}, Mem: exec.NewMemAccount(nil, limit, dir)}
}

// spilledEqualsInMemory checks the rows got from an operator that ran
// under the spilling context ctx (its files under dir) against want, the
// rows of the same operator in memory: equal, row by row (what names a
// row in messages), and once it is closed nothing is reserved and no
// spill file is left.
func spilledEqualsInMemory(t *testing.T, ctx *exec.Ctx, dir, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d %ss spilled, %d in memory", len(got), what, len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s %d: spilled %q, in memory %q", what, i, got[i], want[i])
		}
	}
	if ctx.Mem.Used() != 0 {
		t.Errorf("%d bytes still reserved after Close", ctx.Mem.Used())
	}
	if f := spillFiles(t, dir); len(f) != 0 {
		t.Errorf("files left after Close: %v", f)
	}
}

// randomRows builds n rows of mixed types with NULLs, NaNs, -0, numerics
// of different scales, text with shared prefixes and NUL-free bytes,
// intervals of equal span and many ties. Column 0 is a unique id.
func randomRows(rng *rand.Rand, n int) ([]types.T, [][]types.Datum) {
	ts := []types.T{types.TInt8, types.TInt8, types.TFloat8, types.TNumeric, types.TText, types.TBool, types.TInterval, types.TInt4}
	pick := func(p float64) bool { return rng.Float64() < p }
	words := []string{"", "a", "ab", "abc", "b", "ba", "Z", "z", "zz", "é", "\u00e9a", "a b"}
	rows := make([][]types.Datum, n)
	for i := range rows {
		r := make([]types.Datum, len(ts))
		r[0] = int64(i)
		if !pick(0.1) {
			r[1] = int64(rng.Intn(50) - 25)
		}
		if !pick(0.1) {
			switch rng.Intn(8) {
			case 0:
				r[2] = math.NaN()
			case 1:
				r[2] = math.Copysign(0, -1)
			case 2:
				r[2] = 0.0
			case 3:
				r[2] = math.Inf(1)
			default:
				r[2] = float64(rng.Intn(20)) / 4
			}
		}
		if !pick(0.1) {
			var d apd.Decimal
			switch rng.Intn(6) {
			case 0:
				d.Form = apd.NaN
			case 1:
				d.SetString("1.00")
			default:
				d.SetFinite(int64(rng.Intn(2000)-1000), -int32(rng.Intn(3)))
			}
			r[3] = &d
		}
		if !pick(0.1) {
			r[4] = words[rng.Intn(len(words))] + strings.Repeat("x", rng.Intn(3))
		}
		if !pick(0.1) {
			r[5] = pick(0.5)
		}
		if !pick(0.1) {
			if pick(0.5) {
				r[6] = types.IntervalValue{Days: int32(rng.Intn(40))}
			} else {
				r[6] = types.IntervalValue{Months: int32(rng.Intn(2)), Micros: int64(rng.Intn(3)) * types.MicrosPerDay}
			}
		}
		if !pick(0.1) {
			r[7] = int64(rng.Intn(5))
		}
		rows[i] = r
	}
	return ts, rows
}

// spillFiles lists the files left under dir.
func spillFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestSortSpillEqualsInMemory(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	ts, rows := randomRows(rng, 20000)
	keySets := [][]SortKey{
		{{Col: 1, T: types.TInt8}},
		{{Col: 2, T: types.TFloat8, Desc: true, NullsFirst: true}},
		{{Col: 3, T: types.TNumeric}, {Col: 4, T: types.TText, Desc: true}},
		{{Col: 4, T: types.TText, NullsFirst: true}, {Col: 5, T: types.TBool, Desc: true, NullsFirst: false}},
		{{Col: 6, T: types.TInterval}, {Col: 7, T: types.TInt4, Desc: true}},
		{{Col: 7, T: types.TInt4, NullsFirst: true}, {Col: 2, T: types.TFloat8}, {Col: 3, T: types.TNumeric, Desc: true}},
	}
	for _, keys := range keySets {
		keys := keys
		t.Run(sortKeyList(keys), func(t *testing.T) {
			in := newSrc(ts, rows...)
			in.bs = 1000
			want := run(t, newCtx(), NewSort(in, keys))
			dir := t.TempDir()
			ctx := spillCtx(256<<10, dir)
			op := NewSort(in, keys)
			got := run(t, ctx, op)
			if ctx.Mem.SpilledBytes() == 0 {
				t.Fatalf("the sort did not spill (peak %d bytes)", ctx.Mem.Peak())
			}
			if ctx.Mem.Peak() > ctx.Mem.Limit() {
				t.Fatalf("peak %d above the limit %d", ctx.Mem.Peak(), ctx.Mem.Limit())
			}
			spilledEqualsInMemory(t, ctx, dir, "row", got, want)
			// TopN over the spilled path.
			lim, off := constExpr(types.TInt8, int64(700)), constExpr(types.TInt8, int64(5000))
			wantTop := run(t, newCtx(), NewTopN(in, keys, lim, off))
			gotTop := run(t, spillCtx(256<<10, dir), NewTopN(in, keys, lim, off))
			expectRows(t, "top-n spilled", gotTop, wantTop...)
		})
	}
}

// A tiny memory with many runs forces intermediate merge passes.
func TestSortSpillMultiPass(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	ts, rows := randomRows(rng, 30000)
	keys := []SortKey{{Col: 4, T: types.TText}, {Col: 1, T: types.TInt8, Desc: true}}
	in := newSrc(ts, rows...)
	in.bs = 200
	want := run(t, newCtx(), NewSort(in, keys))
	ctx := spillCtx(48<<10, t.TempDir())
	got := run(t, ctx, NewSort(in, keys))
	expectRows(t, "multi-pass merge", got, want...)
	if ctx.Mem.SpilledBytes() == 0 {
		t.Fatal("no spill")
	}
}

func TestSortWithoutSpillAreaFails53200(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	ts, rows := randomRows(rng, 5000)
	in := newSrc(ts, rows...)
	in.bs = 500
	ctx := spillCtx(64<<10, "")
	_, err := Collect(ctx, NewSort(in, []SortKey{{Col: 1, T: types.TInt8}}))
	var se *sqlerr.Error
	if !asSQLErr(err, &se) || se.Code != sqlerr.OutOfMemory {
		t.Fatalf("got %v, want 53200", err)
	}
	if !strings.Contains(se.Detail, "operator Sort") || !strings.Contains(se.Detail, "query_mem is 64kB") {
		t.Errorf("detail %q", se.Detail)
	}
	if ctx.Mem.Used() != 0 {
		t.Errorf("%d bytes still reserved", ctx.Mem.Used())
	}
}

func asSQLErr(err error, se **sqlerr.Error) bool { return errors.As(err, se) }

func TestHashAggSpillEqualsInMemory(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	ts, rows := randomRows(rng, 30000)
	// Many groups: the id modulo 15000 next to the mixed columns.
	for _, r := range rows {
		r[7] = r[0].(int64) % 15000
	}
	ts[7] = types.TInt8
	aggs := []AggSpec{
		{Agg: aggSum, Args: []int{0}, ArgTypes: i8s(1), Filter: -1, T: types.TInt8},
		{Agg: aggCount, Filter: -1, T: types.TInt8},
		{Agg: aggConcat, Args: []int{0}, ArgTypes: i8s(1), Filter: -1, T: types.TText},
		{Agg: aggCount, Args: []int{1}, ArgTypes: i8s(1), Distinct: true, Filter: -1, T: types.TInt8},
	}
	for _, tc := range []struct {
		name string
		cols []int
	}{
		{"int key", []int{7}},
		{"mixed keys", []int{4, 3, 2, 1}},
		{"interval and int keys", []int{6, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gts := make([]types.T, len(tc.cols))
			for i, c := range tc.cols {
				gts[i] = ts[c]
			}
			in := newSrc(ts, rows...)
			in.bs = 1000
			want := sorted(run(t, newCtx(), NewHashAgg(in, tc.cols, gts, aggs)))
			dir := t.TempDir()
			ctx := spillCtx(256<<10, dir)
			got := sorted(run(t, ctx, NewHashAgg(in, tc.cols, gts, aggs)))
			if tc.name != "mixed keys" && ctx.Mem.SpilledBytes() == 0 {
				t.Fatalf("no spill (peak %d)", ctx.Mem.Peak())
			}
			spilledEqualsInMemory(t, ctx, dir, "group", got, want)
		})
	}
}

// joinSides builds a probe side of n rows and a build side of m rows:
// (int key with NULLs, text key, value), keys drawn from a range so that
// most rows match one to three others.
func joinSides(rng *rand.Rand, n, m int) (*src, *src) {
	ts := []types.T{types.TInt8, types.TText, types.TInt8}
	side := func(n int, mod int) *src {
		rows := make([][]types.Datum, n)
		for i := range rows {
			var k, s types.Datum
			if rng.Intn(20) > 0 {
				v := rng.Intn(mod)
				k, s = int64(v), "k"+strings.Repeat("x", v%7)+strconv.Itoa(v)
			}
			rows[i] = row(k, s, int64(i))
		}
		x := newSrc(ts, rows...)
		x.bs = 1000
		return x
	}
	return side(n, 3*n/2), side(m, 3*n/2)
}

func TestHashJoinSpillEqualsInMemory(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	left, right := joinSides(rng, 12000, 9000)
	odd := &fnExpr{name: "odd(v+w)", in: []types.T{types.TInt8, types.TText, types.TInt8, types.TInt8, types.TText, types.TInt8}, t: types.TBool,
		f: func(r []types.Datum) types.Datum { return (r[2].(int64)+r[5].(int64))%3 != 0 }}
	for _, kind := range []JoinKind{InnerJoin, LeftJoin, RightJoin, FullJoin, SemiJoin, AntiJoin} {
		for _, tc := range []struct {
			name     string
			lk, rk   []int
			residual bool
		}{{"int", []int{0}, []int{0}, false}, {"text+int residual", []int{1, 0}, []int{1, 0}, true}} {
			t.Run(kind.String()+" "+tc.name, func(t *testing.T) {
				var res func() *fnExpr
				if tc.residual {
					res = func() *fnExpr { return odd }
				}
				mk := func() exec.Operator {
					if res != nil {
						return NewHashJoin(left, right, kind, tc.lk, tc.rk, res())
					}
					return NewHashJoin(left, right, kind, tc.lk, tc.rk, nil)
				}
				want := sorted(run(t, newCtx(), mk()))
				dir := t.TempDir()
				ctx := spillCtx(128<<10, dir)
				got := sorted(run(t, ctx, mk()))
				if ctx.Mem.SpilledBytes() == 0 {
					t.Fatalf("no spill (peak %d)", ctx.Mem.Peak())
				}
				spilledEqualsInMemory(t, ctx, dir, "row", got, want)
			})
		}
	}
}

func TestNestedLoopJoinBuildFails53200(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	left, right := joinSides(rng, 1000, 9000)
	ctx := spillCtx(64<<10, t.TempDir())
	_, err := Collect(ctx, NewNestedLoopJoin(left, right, InnerJoin, nil))
	var se *sqlerr.Error
	if !asSQLErr(err, &se) || se.Code != sqlerr.OutOfMemory || !strings.Contains(se.Detail, "NestedLoopJoin") {
		t.Fatalf("got %v, want 53200 in NestedLoopJoin", err)
	}
}

// A statement canceled in the middle of a merge, or of a grace join,
// stops with 57014 and leaves no files once its operators close.
func TestSpillCanceledLeavesNoFiles(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	ts, rows := randomRows(rng, 20000)
	left, right := joinSides(rng, 12000, 9000)
	for _, tc := range []struct {
		name string
		op   func() exec.Operator
	}{
		{"sort", func() exec.Operator {
			in := newSrc(ts, rows...)
			in.bs = 1000
			return NewSort(in, []SortKey{{Col: 4, T: types.TText}})
		}},
		{"hash join", func() exec.Operator { return NewHashJoin(left, right, FullJoin, []int{0}, []int{0}, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cctx, cancel := context.WithCancel(context.Background())
			ctx := spillCtx(128<<10, dir)
			ctx.Context = cctx
			op := tc.op()
			if err := op.Open(ctx); err != nil {
				t.Fatal(err)
			}
			b, err := op.Next(ctx)
			if err != nil || b == nil {
				var se *sqlerr.Error
				asSQLErr(err, &se)
				t.Fatalf("first batch: %v %s", err, se.Detail)
			}
			b.Release()
			if len(spillFiles(t, dir)) == 0 {
				t.Fatal("nothing spilled before the cancel")
			}
			cancel()
			for err == nil {
				if b, err = op.Next(ctx); b != nil {
					b.Release()
				} else if err == nil {
					t.Fatal("ran to the end after the cancel")
				}
			}
			var se *sqlerr.Error
			if !asSQLErr(err, &se) || se.Code != sqlerr.QueryCanceled {
				t.Fatalf("got %v, want 57014", err)
			}
			op.Close()
			ctx.Mem.Close()
			if f := spillFiles(t, dir); len(f) != 0 {
				t.Errorf("files left after cancel: %v", f)
			}
			if ctx.Mem.Used() != 0 {
				t.Errorf("%d bytes still reserved", ctx.Mem.Used())
			}
		})
	}
}
