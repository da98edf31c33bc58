package stream

// Decoding the table rows a lookup join finds (stored as types.EncodeRow
// of the table's physical columns, see sql/types/value.go) straight into
// Arrow builders: fixed-width and text values go from the row bytes into
// the typed builders without datums, unwanted columns are skipped, and
// only numeric and interval values go through types.DecodeValue. It
// mirrors storage's scan decoder, which is not exported.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

var errLJCorrupt = errors.New("corrupt stored value")

// Value tags of types.AppendValue.
const (
	ljValNull    byte = 0
	ljValPresent byte = 1
)

// ljDecoder decodes chosen physical columns of stored rows.
type ljDecoder struct {
	ts []types.T
	// out[i] lists the builder indexes physical column i goes to.
	out  [][]int
	last int
}

func newLJDecoder(ts []types.T, cols []int) *ljDecoder {
	d := &ljDecoder{ts: ts, out: make([][]int, len(ts)), last: -1}
	for j, c := range cols {
		d.out[c] = append(d.out[c], j)
		d.last = max(d.last, c)
	}
	return d
}

// decodeInto appends the chosen columns of row v to builders. Columns an
// older, shorter row lacks are NULL.
func (d *ljDecoder) decodeInto(v []byte, builders []array.Builder) error {
	n, k := binary.Uvarint(v)
	if k <= 0 {
		return errLJCorrupt
	}
	b := v[k:]
	var err error
	for i := 0; i <= d.last; i++ {
		outs := d.out[i]
		if uint64(i) >= n {
			for _, o := range outs {
				builders[o].AppendNull()
			}
			continue
		}
		if len(outs) == 0 {
			b, err = ljSkipValue(b, d.ts[i].Kind)
		} else {
			rest := b
			for _, o := range outs {
				rest, err = ljAppendValue(b, d.ts[i], builders[o])
				if err != nil {
					break
				}
			}
			b = rest
		}
		if err != nil {
			return fmt.Errorf("column %d: %w", i+1, err)
		}
	}
	return nil
}

// ljAppendValue appends the value at the start of b to bld and returns
// the rest of b.
func ljAppendValue(b []byte, t types.T, bld array.Builder) ([]byte, error) {
	if len(b) == 0 {
		return nil, errLJCorrupt
	}
	if b[0] == ljValNull {
		bld.AppendNull()
		return b[1:], nil
	}
	if b[0] != ljValPresent {
		return nil, errLJCorrupt
	}
	p := b[1:]
	switch t.Kind {
	case types.Bool:
		if len(p) < 1 {
			return nil, errLJCorrupt
		}
		bld.(*array.BooleanBuilder).Append(p[0] == 1)
		return p[1:], nil
	case types.Int8, types.Oid, types.Int4, types.Int2, types.DateKind, types.Time, types.TimestampKind, types.TimestampTZ:
		x, m := binary.Varint(p)
		if m <= 0 {
			return nil, errLJCorrupt
		}
		switch bb := bld.(type) {
		case *array.Int64Builder:
			bb.Append(x)
		case *array.Int32Builder:
			bb.Append(int32(x))
		case *array.Int16Builder:
			bb.Append(int16(x))
		case *array.Date32Builder:
			bb.Append(arrow.Date32(x))
		case *array.Time64Builder:
			bb.Append(arrow.Time64(x))
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(x))
		default:
			return nil, fmt.Errorf("unexpected builder %T for %s", bld, t)
		}
		return p[m:], nil
	case types.Float8:
		if len(p) < 8 {
			return nil, errLJCorrupt
		}
		bld.(*array.Float64Builder).Append(math.Float64frombits(binary.LittleEndian.Uint64(p)))
		return p[8:], nil
	case types.Float4:
		if len(p) < 4 {
			return nil, errLJCorrupt
		}
		bld.(*array.Float32Builder).Append(math.Float32frombits(binary.LittleEndian.Uint32(p)))
		return p[4:], nil
	case types.Numeric, types.Interval:
		d, rest, err := types.DecodeValue(b, t)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d)
		return rest, nil
	}
	l, m := binary.Uvarint(p)
	if m <= 0 || uint64(len(p)-m) < l {
		return nil, errLJCorrupt
	}
	val := p[m : m+int(l)]
	switch bb := bld.(type) {
	case *array.StringBuilder:
		bb.BinaryBuilder.Append(val)
	case *array.BinaryBuilder:
		bb.Append(val)
	default:
		d, rest, err := types.DecodeValue(b, t)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d)
		return rest, nil
	}
	return p[m+int(l):], nil
}

// ljSkipValue returns b after the value at its start.
func ljSkipValue(b []byte, k types.Kind) ([]byte, error) {
	if len(b) == 0 {
		return nil, errLJCorrupt
	}
	if b[0] == ljValNull {
		return b[1:], nil
	}
	p := b[1:]
	varints := func(c int) ([]byte, error) {
		for ; c > 0; c-- {
			_, m := binary.Varint(p)
			if m <= 0 {
				return nil, errLJCorrupt
			}
			p = p[m:]
		}
		return p, nil
	}
	fixed := func(w int) ([]byte, error) {
		if len(p) < w {
			return nil, errLJCorrupt
		}
		return p[w:], nil
	}
	switch k {
	case types.Bool:
		return fixed(1)
	case types.Int2, types.Int4, types.Int8, types.Oid, types.DateKind, types.Time, types.TimestampKind, types.TimestampTZ:
		return varints(1)
	case types.Float4:
		return fixed(4)
	case types.Float8:
		return fixed(8)
	case types.Interval:
		return varints(3)
	case types.Numeric:
		if len(p) < 1 {
			return nil, errLJCorrupt
		}
		form := p[0]
		p = p[1:]
		if form > 1 { // NaN and infinities carry nothing more
			return p, nil
		}
		if _, err := varints(1); err != nil {
			return nil, err
		}
	}
	l, m := binary.Uvarint(p)
	if m <= 0 || uint64(len(p)-m) < l {
		return nil, errLJCorrupt
	}
	return p[m+int(l):], nil
}
