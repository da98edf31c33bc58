package pgwire

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/sql/types"
)

// TestAppendDataRowSliced encodes rows of sliced arrays, whose validity
// bitmaps start at an offset, through both the typed fast paths and the
// generic one.
func TestAppendDataRowSliced(t *testing.T) {
	cols := []Column{{Name: "i", Type: types.TInt8}, {Name: "s", Type: types.TText}, {Name: "f", Type: types.TFloat8}, {Name: "b", Type: types.TBool}}
	rows := [][]types.Datum{
		{int64(1), "a", 1.5, true},
		{nil, nil, nil, nil},
		{int64(3), "c", nil, false},
		{int64(4), nil, 4.25, nil},
		{nil, "e", 5.0, true},
	}
	full := makeRecord(cols, rows)
	arrs := make([]arrow.Array, len(cols))
	for j := range cols {
		arrs[j] = array.NewSlice(full.Column(j), 2, 5)
	}
	rec := array.NewRecordBatch(full.Schema(), arrs, 3)

	encs := newEncoders(cols, nil, nil)
	bindBatch(encs, rec)
	want := []string{
		`DataRow "3" "c" NULL "f"`,
		`DataRow "4" NULL "4.25" NULL`,
		`DataRow NULL "e" "5" "t"`,
	}
	for i := range want {
		buf, err := appendDataRow(nil, encs, i, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		var m pgproto3.DataRow
		if err := m.Decode(buf[5:]); err != nil {
			t.Fatal(err)
		}
		if got := render(&m); got != want[i] {
			t.Errorf("row %d: got %s, want %s", i, got, want[i])
		}
	}
}

func BenchmarkAppendDataRow(b *testing.B) {
	cols := []Column{{Name: "i", Type: types.TInt4}, {Name: "s", Type: types.TText}, {Name: "f", Type: types.TFloat8}}
	rows := make([][]types.Datum, 1024)
	for i := range rows {
		rows[i] = []types.Datum{int64(i), "some text", float64(i) / 3}
	}
	rec := makeRecord(cols, rows)
	encs := newEncoders(cols, nil, nil)
	bindBatch(encs, rec)
	var buf []byte
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		buf = buf[:0]
		for i := range rows {
			buf, _ = appendDataRow(buf, encs, i, time.UTC)
		}
	}
}
