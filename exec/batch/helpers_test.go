package batch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// src is an in-test source operator over rows of datums, cut into batches
// of bs rows, counting opens, closes and batches pulled.
type src struct {
	ts     []types.T
	rows   [][]types.Datum
	bs     int
	pos    int
	opens  int
	closes int
	pulled int
}

func newSrc(ts []types.T, rows ...[]types.Datum) *src { return &src{ts: ts, rows: rows, bs: 2} }

func (s *src) Open(*exec.Ctx) error { s.pos = 0; s.opens++; return nil }
func (s *src) Next(*exec.Ctx) (*exec.Batch, error) {
	if s.pos >= len(s.rows) {
		return nil, nil
	}
	hi := min(s.pos+s.bs, len(s.rows))
	cols := make([]arrow.Array, len(s.ts))
	for j, t := range s.ts {
		ds := make([]types.Datum, 0, hi-s.pos)
		for _, r := range s.rows[s.pos:hi] {
			ds = append(ds, r[j])
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	b := exec.NewBatch(cols, hi-s.pos)
	s.pos = hi
	s.pulled++
	return b, nil
}
func (s *src) Close()                    { s.closes++ }
func (s *src) Types() []types.T          { return s.ts }
func (s *src) Explain() string           { return fmt.Sprintf("Src %d rows", len(s.rows)) }
func (s *src) Children() []exec.Operator { return nil }

// fnExpr is a row-wise test expression.
type fnExpr struct {
	name string
	in   []types.T
	t    types.T
	f    func(r []types.Datum) types.Datum
}

func (e *fnExpr) Type() types.T  { return e.t }
func (e *fnExpr) String() string { return e.name }
func (e *fnExpr) Eval(_ *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	out := make([]types.Datum, b.N)
	for i := range out {
		var r []types.Datum
		if len(e.in) > 0 {
			r = b.Row(i, e.in)
		}
		out[i] = e.f(r)
	}
	return types.ArrayFromDatums(e.t, out), nil
}

func constExpr(t types.T, d types.Datum) *fnExpr {
	return &fnExpr{name: fmt.Sprint(d), t: t, f: func([]types.Datum) types.Datum { return d }}
}

// test aggregates: sum(bigint), count(x)/count(*), concat(text, ordered).

type sumAcc struct {
	sums []int64
	seen []bool
}

func (a *sumAcc) grow(n int) {
	for len(a.sums) < n {
		a.sums = append(a.sums, 0)
		a.seen = append(a.seen, false)
	}
}
func (a *sumAcc) Update(groups []uint32, numGroups int, args []arrow.Array, n int) error {
	a.grow(numGroups)
	col := args[0].(*array.Int64)
	vals := col.Int64Values()
	for i, g := range groups {
		if g == udf.SkipRow || col.IsNull(i) {
			continue
		}
		a.sums[g] += vals[i]
		a.seen[g] = true
	}
	return nil
}
func (a *sumAcc) Retract([]uint32, int, []arrow.Array, int) error { return nil }
func (a *sumAcc) Finish(_ *udf.Env, numGroups int) (arrow.Array, error) {
	a.grow(numGroups)
	b := array.NewInt64Builder(types.Mem)
	defer b.Release()
	b.AppendValues(a.sums[:numGroups], a.seen[:numGroups])
	return b.NewArray(), nil
}
func (a *sumAcc) Release() {}

type countAcc struct{ counts []int64 }

func (a *countAcc) Update(groups []uint32, numGroups int, args []arrow.Array, n int) error {
	for len(a.counts) < numGroups {
		a.counts = append(a.counts, 0)
	}
	for i, g := range groups {
		if g == udf.SkipRow || len(args) > 0 && args[0].IsNull(i) {
			continue
		}
		a.counts[g]++
	}
	return nil
}
func (a *countAcc) Retract([]uint32, int, []arrow.Array, int) error { return nil }
func (a *countAcc) Finish(_ *udf.Env, numGroups int) (arrow.Array, error) {
	for len(a.counts) < numGroups {
		a.counts = append(a.counts, 0)
	}
	b := array.NewInt64Builder(types.Mem)
	defer b.Release()
	b.AppendValues(a.counts[:numGroups], nil)
	return b.NewArray(), nil
}
func (a *countAcc) Release() {}

type concatAcc struct{ parts [][]string }

func (a *concatAcc) Update(groups []uint32, numGroups int, args []arrow.Array, n int) error {
	for len(a.parts) < numGroups {
		a.parts = append(a.parts, nil)
	}
	col := args[0]
	for i, g := range groups {
		if g == udf.SkipRow || col.IsNull(i) {
			continue
		}
		a.parts[g] = append(a.parts[g], fmt.Sprint(types.GetDatum(col, i, types.TInt8)))
	}
	return nil
}
func (a *concatAcc) Retract([]uint32, int, []arrow.Array, int) error { return nil }
func (a *concatAcc) Finish(_ *udf.Env, numGroups int) (arrow.Array, error) {
	for len(a.parts) < numGroups {
		a.parts = append(a.parts, nil)
	}
	ds := make([]types.Datum, numGroups)
	for g := range ds {
		if a.parts[g] != nil {
			ds[g] = strings.Join(a.parts[g], ",")
		}
	}
	return types.ArrayFromDatums(types.TText, ds), nil
}
func (a *concatAcc) Release() {}

var (
	aggSum    = &udf.Aggregate{Name: "sum", Ret: types.TInt8, New: func([]types.T) udf.Accumulator { return &sumAcc{} }}
	aggCount  = &udf.Aggregate{Name: "count", Ret: types.TInt8, New: func([]types.T) udf.Accumulator { return &countAcc{} }}
	aggConcat = &udf.Aggregate{Name: "concat", Ret: types.TText, Ordered: true, New: func([]types.T) udf.Accumulator { return &concatAcc{} }}
)

func newCtx() *exec.Ctx {
	return &exec.Ctx{Env: udf.Env{Context: context.Background()}}
}

// formatDatum prints a value the way the expected outputs are written.
func formatDatum(d types.Datum) string {
	switch v := d.(type) {
	case nil:
		return "NULL"
	case float64:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return fmt.Sprint(d)
}

// eachBatch passes every further batch of the open op to fn and releases
// it.
func eachBatch(t testing.TB, ctx *exec.Ctx, op exec.Operator, fn func(b *exec.Batch)) {
	t.Helper()
	for {
		b, err := op.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return
		}
		fn(b)
		b.Release()
	}
}

// run collects op and renders its rows as "a b c" lines.
func run(t *testing.T, ctx *exec.Ctx, op exec.Operator) []string {
	t.Helper()
	bs, err := Collect(ctx, op)
	if err != nil {
		if se := (*sqlerr.Error)(nil); errors.As(err, &se) {
			t.Fatalf("%s: %v (%s)", op.Explain(), err, se.Detail)
		}
		t.Fatalf("%s: %v", op.Explain(), err)
	}
	return render(t, op.Types(), bs)
}

func render(t *testing.T, ts []types.T, bs []*exec.Batch) []string {
	t.Helper()
	var out []string
	for _, b := range bs {
		if b.N > exec.BatchSize {
			t.Fatalf("batch of %d rows", b.N)
		}
		for j, c := range b.Cols {
			if c.Len() != b.N {
				t.Fatalf("column %d has %d rows, batch %d", j, c.Len(), b.N)
			}
		}
		for i := 0; i < b.N; i++ {
			parts := make([]string, len(ts))
			for j, d := range b.Row(i, ts) {
				parts[j] = formatDatum(d)
			}
			out = append(out, strings.Join(parts, " "))
		}
		b.Release()
	}
	return out
}

func sorted(rows []string) []string {
	r := append([]string(nil), rows...)
	sort.Strings(r)
	return r
}

func expectRows(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func i8s(n int) []types.T {
	ts := make([]types.T, n)
	for i := range ts {
		ts[i] = types.TInt8
	}
	return ts
}

func row(ds ...types.Datum) []types.Datum { return ds }
