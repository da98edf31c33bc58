package nexmark

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// Generate makes exactly the rows a running source makes, and Covered
// reads the position after each chunk as "every event of the table up to
// the next row's event, less one".
func TestGenerateAndCovered(t *testing.T) {
	const events = 5000
	for _, tt := range []Table{Person, Auction, Bid} {
		s, err := New([]string{"date_time"}, []types.T{types.TTimestamp}, nil, map[string]string{
			optTableType: tt.String(), optEventNum: "5000", optChunkSize: "7"})
		if err != nil {
			t.Fatal(err)
		}
		g := newGenerator(s)
		row := int64(0)
		err = s.Generate(func(cols []arrow.Array, n int) error {
			want := g.chunk(s.fields, s.ts, nil, row, n)
			defer want.Release()
			if !array.Equal(cols[0], want.Cols[0]) {
				t.Fatalf("%s rows %d..%d differ from the source's", tt, row, row+int64(n))
			}
			row += int64(n)
			next := eventOf(tt, row-1) + 1
			c, err := Covered(encodePos(next), events)
			if err != nil {
				t.Fatal(err)
			}
			want2 := int64(events)
			if row < rowsUpTo(tt, events) {
				want2 = eventOf(tt, row) - 1
			}
			if c != want2 {
				t.Fatalf("%s: Covered(%d) = %d, want %d", tt, next, c, want2)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if row != rowsUpTo(tt, events) {
			t.Fatalf("%s: %d rows, want %d", tt, row, rowsUpTo(tt, events))
		}
	}
	if c, err := Covered(encodePos(1), events); err != nil || c != 0 {
		t.Fatalf("Covered at the start = %d, %v", c, err)
	}
	if _, err := Covered([]byte{9, 9}, events); err == nil {
		t.Fatal("a foreign position decoded")
	}
}
