package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/types"
)

// TestRowDecoderMatchesDecodeRow checks the column-at-a-time decoder
// against types.DecodeRow for every type, NULLs, skipped columns and rows
// shorter than the table.
func TestRowDecoderMatchesDecodeRow(t *testing.T) {
	ts := []types.T{
		types.TBool, types.TInt2, types.TInt4, types.TInt8, types.TOid,
		types.TFloat4, types.TFloat8, types.TNumeric, types.TText, types.TVarchar,
		types.TBytea, types.TDate, types.TTime, types.TTimestamp, types.TTimestampTZ,
		types.TInterval, types.TJSONB, types.TName,
	}
	values := [][]types.Datum{
		{true, int64(-7), int64(-100000), int64(-1 << 60), int64(4000000000), 1.5, -2.25, dec("-123.4500"), "héllo", "", []byte{0, 1, 2}, types.Date(-3), types.TimeOfDay(3600e6), types.Timestamp(-1), types.Timestamp(1e15), types.IntervalValue{Months: 1, Days: -2, Micros: 3}, `{"a": 1}`, "pg_class"},
		{false, int64(32767), int64(2147483647), int64(0), int64(0), float64(float32(-0.1)), 1e300, &apd.Decimal{Form: apd.NaN}, "x", "y", []byte{}, types.Date(19000), types.TimeOfDay(0), types.Timestamp(0), types.Timestamp(0), types.IntervalValue{}, `[]`, "n"},
		{nil, nil, nil, nil, nil, nil, nil, &apd.Decimal{Form: apd.Infinite, Negative: true}, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
	var stored [][]byte
	for _, row := range values {
		stored = append(stored, types.EncodeRow(nil, row, ts))
	}
	// A row written before the last four columns were added.
	stored = append(stored, types.EncodeRow(nil, values[0][:len(ts)-4], ts[:len(ts)-4]))

	render := func(d types.Datum, t types.T) string {
		if d == nil {
			return "NULL"
		}
		return types.FormatText(d, t, time.UTC)
	}
	for _, cols := range [][]int{
		allCols(len(ts)),
		{17, 0},
		{7, 15, 10},
		{3},
		{16, 8, 2},
	} {
		builders := make([]array.Builder, len(cols))
		for i, c := range cols {
			builders[i] = types.NewBuilder(ts[c])
		}
		dec := newRowDecoder(ts, cols)
		for _, v := range stored {
			if err := dec.decodeInto(v, builders); err != nil {
				t.Fatalf("cols %v: %v", cols, err)
			}
		}
		arrs := make([]arrow.Array, len(cols))
		for i, b := range builders {
			arrs[i] = b.NewArray()
			b.Release()
		}
		for r, v := range stored {
			want, err := types.DecodeRow(v, ts)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range cols {
				got := render(types.GetDatum(arrs[i], r, ts[c]), ts[c])
				if w := render(want[c], ts[c]); got != w {
					t.Errorf("row %d column %d (%s): got %s, want %s", r, c, ts[c], got, w)
				}
			}
		}
		for _, a := range arrs {
			a.Release()
		}
	}
}

func allCols(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestNextBatchRepeatedColumn(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tbl := &Table{ID: 1, Name: "r", Types: []types.T{types.TInt8, types.TText}, ColNames: []string{"a", "b"}, PK: []int{0}}
	insert(t, db, tbl, []types.Datum{int64(1), "x"}, []types.Datum{int64(2), "y"})
	it, err := tbl.Scan(db.Latest(), FullSpan)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	cols, n, _, err := it.NextBatch([]int{1, 0, 1}, 10)
	if err != nil || n != 2 {
		t.Fatal(n, err)
	}
	if got := fmt.Sprint(cols[0], cols[1], cols[2]); got != `["x" "y"] [1 2] ["x" "y"]` {
		t.Fatalf("columns %s", got)
	}
	for _, c := range cols {
		c.Release()
	}
}
