package nexmark

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// A pruned source makes the columns no operator reads as NULLs and the
// others exactly as before; watermark columns are always made.
func TestPruneColumns(t *testing.T) {
	cols := []string{"auction", "bidder", "price", "channel", "url", "date_time", "extra"}
	ts := []types.T{types.TInt8, types.TInt8, types.TInt8, types.TText, types.TText, types.TTimestamp, types.TText}
	s, err := New(cols, ts, nil, map[string]string{optTableType: "bid", optEventNum: "5000"})
	if err != nil {
		t.Fatal(err)
	}
	s.wmCols = []int{5}
	used := []bool{true, false, true, false, false, false, false}
	ps, ok := s.PruneColumns(used)
	if !ok {
		t.Fatal("nothing pruned")
	}
	p := ps.(*Spec)
	g := newGenerator(s)
	full := g.chunk(s.fields, s.ts, nil, 100, 1000)
	defer full.Release()
	part := g.chunk(p.fields, p.ts, p.pruned, 100, 1000)
	defer part.Release()
	for i := range cols {
		made := used[i] || i == 5
		switch {
		case made && !array.Equal(full.Cols[i], part.Cols[i]):
			t.Errorf("column %s differs when pruned", cols[i])
		case !made && part.Cols[i].NullN() != part.N:
			t.Errorf("column %s: %d NULLs of %d, want all", cols[i], part.Cols[i].NullN(), part.N)
		}
	}
	if _, ok := s.PruneColumns([]bool{true, true, true, true, true, true, true}); ok {
		t.Error("pruned with every column used")
	}
}
