package batch

import (
	"strconv"
	"strings"
	"testing"

	"streamsql/exec/expr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Key bounds with parameters are evaluated at each Open: one scan serves
// different arguments, NULL admits no row, a value the key type cannot
// hold ends the prefix (the filter above decides), the tightest of several
// candidate bounds applies, and a descending index column turns its range
// around.
func TestKeyBoundsAtOpen(t *testing.T) {
	db, tbl := scanTestTable(t, 100)
	defer db.Close()
	ix := &storage.Index{ID: 4001, Name: "t_n_idx", Cols: []int{1}, Desc: []bool{true}}
	itbl := &storage.Table{ID: 43, Name: "u", Types: []types.T{types.TInt8, types.TInt8}, ColNames: []string{"id", "n"}, PK: []int{0}}
	txn := db.Begin()
	it := storage.NewIndexedTable(itbl, []*storage.Index{ix})
	for i := int64(1); i <= 10; i++ {
		if err := it.Insert(txn, [][]types.Datum{{i, i % 4}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	read := func() storage.Reader { return db.Latest() }
	p := func(i int, t types.T) expr.Expr { return &expr.Param{Idx: i, T: t} }
	c := func(v types.Datum, t types.T) expr.Expr { return &expr.Const{Value: v, T: t} }
	pk := []types.T{types.TInt8}
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	all := strings.Join(ids, " ")
	cases := []struct {
		name    string
		bounds  *KeyBounds
		index   bool
		explain string
		runs    [][]types.Datum // arguments of each run
		want    []string        // ids of each run
	}{
		{name: "point", bounds: &KeyBounds{Eq: []expr.Expr{p(0, types.TInt8)}, Types: pk},
			explain: "Point lookup t (pk = $1)",
			runs:    [][]types.Datum{{int64(3)}, {int64(97)}, {nil}, {int64(500)}},
			want:    []string{"3", "97", "", ""}},
		{name: "inexact", bounds: &KeyBounds{Eq: []expr.Expr{p(0, types.TFloat8)}, Types: pk},
			explain: "Point lookup t (pk = $1)",
			runs:    [][]types.Datum{{float64(4)}, {float64(4.5)}},
			want:    []string{"4", all}},
		{name: "range", bounds: &KeyBounds{Lo: []KeyBound{{E: p(0, types.TInt8)}, {E: c(int64(90), types.TInt8), Inclusive: true}},
			Hi: []KeyBound{{E: p(1, types.TInt8), Inclusive: true}}, Types: pk},
			explain: "Scan t (id range (greatest($1, 90), $2])",
			runs:    [][]types.Datum{{int64(95), int64(97)}, {int64(10), int64(91)}, {int64(95), nil}, {int64(98), int64(1000)}},
			want:    []string{"96 97", "90 91", "", "99"}},
		{name: "desc index", index: true, bounds: &KeyBounds{Lo: []KeyBound{{E: p(0, types.TInt8), Inclusive: true}},
			Hi: []KeyBound{{E: p(1, types.TInt8), Inclusive: true}}, Types: []types.T{types.TInt8}, Desc: []bool{true}},
			explain: "Index Scan using t_n_idx on u (n range [$1, $2])",
			runs:    [][]types.Datum{{int64(1), int64(2)}, {int64(3), int64(3)}, {nil, int64(3)}},
			want:    []string{"2 6 10 1 5 9", "3 7", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cols := []int{0}
			var op interface{ Explain() string }
			var got []string
			for _, args := range tc.runs {
				ctx := newCtx()
				ctx.Params = args
				var rows []string
				if tc.index {
					s := NewIndexScanBounds(itbl, ix, read, cols, tc.bounds, "u")
					op, rows = s, run(t, ctx, s)
				} else {
					s := NewTableScanBounds(tbl, read, cols, tc.bounds, "t")
					op, rows = s, run(t, ctx, s)
				}
				got = append(got, strings.Join(rows, " "))
			}
			if e := op.Explain(); e != tc.explain {
				t.Errorf("Explain = %q, want %q", e, tc.explain)
			}
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("run %d %v: ids %q, want %q", i, tc.runs[i], got[i], tc.want[i])
				}
			}
		})
	}
}
