package nexmark

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgtype"
)

// Every query file loads, has its DuckDB side, and makes a view whose
// blackhole-sink form is well formed.
func TestQueries(t *testing.T) {
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 25 {
		t.Fatalf("%d queries, want q0..q22, a1, a2", len(qs))
	}
	for i, q := range qs {
		want := "q" + itoa(i)
		if i > 22 {
			want = "a" + itoa(i-22)
		}
		if q.Name != want {
			t.Fatalf("query %d is %s, want %s", i, q.Name, want)
		}
		if q.View == "" || q.Duck == "" {
			t.Errorf("%s: view %q, DuckDB query %q", q.Name, q.View, q.Duck)
		}
		name, stmt := q.Sink()
		if !strings.HasPrefix(stmt, "CREATE SINK "+name+" AS ") || !strings.HasSuffix(stmt, "WITH (connector = 'blackhole')") {
			t.Errorf("%s: sink statement %q", q.Name, stmt)
		}
	}
	src, err := SourcesSQL(1234, 1000, 500, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range src {
		if !strings.Contains(s, "nexmark.event.num = '1234', nexmark.event.rate = '1000', nexmark.events.per.second = '500', nexmark.split.num = '2'") {
			t.Errorf("source options not set: %s", s)
		}
	}
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

func TestSplitStatements(t *testing.T) {
	got := SplitStatements(`-- a comment; not a statement
CREATE FUNCTION f() AS $$ SELECT 1; $$;
SELECT 'a;b', "x;y" FROM t; ;
SELECT 2`)
	want := []string{"CREATE FUNCTION f() AS $$ SELECT 1; $$", `SELECT 'a;b', "x;y" FROM t`, "SELECT 2"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// The same values as pgx and DuckDB return them canonicalise alike, in any
// row order; a different value changes the digest.
func TestCollector(t *testing.T) {
	ts := time.Date(2015, 7, 15, 0, 0, 1, 123000, time.UTC)
	pg := [][]any{
		{int64(7), pgtype.Numeric{Int: big.NewInt(90800), Exp: -3, Valid: true}, ts, "a"},
		{int64(8), pgtype.Numeric{Int: big.NewInt(2), Exp: 1, Valid: true}, ts.Add(time.Second), nil},
	}
	duck := [][]any{
		{int32(8), float64(20), ts.Add(time.Second).In(time.FixedZone("x", 3600)), nil},
		{big.NewInt(7), duckdb.Decimal{Width: 18, Scale: 3, Value: big.NewInt(90800)}, ts, "a"},
	}
	digest := func(rows [][]any, cols []int) Digest {
		c := NewCollector(cols, 10)
		for _, r := range rows {
			if err := c.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		return c.Digest()
	}
	if a, b := digest(pg, nil), digest(duck, nil); a != b {
		t.Fatalf("digests differ: %v vs %v", a, b)
	}
	duck[0][1] = float64(20.001)
	if a, b := digest(pg, nil), digest(duck, nil); a == b {
		t.Fatalf("a changed value kept the digest %v", a)
	}
	if a, b := digest(pg, []int{0, 2, 3}), digest(duck, []int{0, 2, 3}); a != b {
		t.Fatalf("digests over columns 0, 2, 3 differ: %v vs %v", a, b)
	}
	if d := DiffLines([]string{"a", "b"}, []string{"b", "c"}, 10); d != "  only in StreamSQL: a\n  only in DuckDB:    c\n" {
		t.Fatalf("diff %q", d)
	}
}
