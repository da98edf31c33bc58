package storage

import (
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// rowDecoder decodes stored rows into Arrow builders for a chosen subset
// of the physical columns.
type rowDecoder struct {
	ts   []types.T
	cols []int
}

func newRowDecoder(ts []types.T, cols []int) *rowDecoder {
	return &rowDecoder{ts: ts, cols: cols}
}

// decodeInto appends the chosen columns of the encoded row v to builders
// (one per chosen column).
func (d *rowDecoder) decodeInto(v []byte, builders []array.Builder) error {
	row, err := types.DecodeRow(v, d.ts)
	if err != nil {
		return err
	}
	for i, c := range d.cols {
		var x types.Datum
		if c < len(row) {
			x = row[c]
		}
		types.AppendDatum(builders[i], x)
	}
	return nil
}
