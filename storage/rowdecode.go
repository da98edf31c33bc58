package storage

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// rowDecoder decodes stored rows (types.EncodeRow) into Arrow builders for
// a chosen subset of the physical columns, without materializing datums:
// fixed-width and text values go straight from the row bytes into the
// typed builders, unwanted columns are skipped, and only numeric and
// interval values go through types.DecodeValue. It follows the value
// layout documented in sql/types/value.go; TestRowDecoderMatchesDecodeRow
// keeps the two in step.
type rowDecoder struct {
	ts []types.T
	// out[i] is the builder index of physical column i, or -1.
	out []int
	// last is the highest physical column wanted; later ones are not read.
	last int
}

// RowDecoder decodes chosen physical columns of stored rows straight
// into Arrow builders (see rowDecoder); the columns must be distinct.
type RowDecoder struct{ d *rowDecoder }

// NewRowDecoder returns a decoder of columns cols of rows of types ts.
func NewRowDecoder(ts []types.T, cols []int) RowDecoder { return RowDecoder{newRowDecoder(ts, cols)} }

// DecodeInto appends the chosen columns of the encoded row v to builders,
// one per column in the order given to NewRowDecoder.
func (d RowDecoder) DecodeInto(v []byte, builders []array.Builder) error {
	return d.d.decodeInto(v, builders)
}

func newRowDecoder(ts []types.T, cols []int) *rowDecoder {
	d := &rowDecoder{ts: ts, out: make([]int, len(ts)), last: -1}
	for i := range d.out {
		d.out[i] = -1
	}
	for j, c := range cols {
		d.out[c] = j
		d.last = max(d.last, c)
	}
	return d
}

// Value tags of the stored encoding.
const (
	valNull    byte = 0
	valPresent byte = 1
)

var errCorrupt = fmt.Errorf("corrupt stored value")

// decodeInto appends the chosen columns of the encoded row v to builders.
// A column the row is too short to hold (added after it was written) is
// NULL. The chosen columns must be distinct.
func (d *rowDecoder) decodeInto(v []byte, builders []array.Builder) error {
	n, k := binary.Uvarint(v)
	if k <= 0 {
		return errCorrupt
	}
	b := v[k:]
	var err error
	for i := 0; i <= d.last; i++ {
		o := d.out[i]
		if uint64(i) >= n {
			if o >= 0 {
				builders[o].AppendNull()
			}
			continue
		}
		if o < 0 {
			b, err = skipValue(b, d.ts[i].Kind)
		} else {
			b, err = appendValue(b, d.ts[i], builders[o])
		}
		if err != nil {
			return fmt.Errorf("column %d: %w", i+1, err)
		}
	}
	return nil
}

// appendValue appends the value at the start of b to bld and returns the
// rest of b.
func appendValue(b []byte, t types.T, bld array.Builder) ([]byte, error) {
	if len(b) == 0 {
		return nil, errCorrupt
	}
	if b[0] == valNull {
		bld.AppendNull()
		return b[1:], nil
	}
	if b[0] != valPresent {
		return nil, errCorrupt
	}
	p := b[1:]
	switch t.Kind {
	case types.Bool:
		if len(p) < 1 {
			return nil, errCorrupt
		}
		bld.(*array.BooleanBuilder).Append(p[0] == 1)
		return p[1:], nil
	case types.Int8, types.Oid, types.Int4, types.Int2, types.DateKind, types.Time, types.TimestampKind, types.TimestampTZ:
		x, m := binary.Varint(p)
		if m <= 0 {
			return nil, errCorrupt
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
			return nil, errCorrupt
		}
		bld.(*array.Float64Builder).Append(math.Float64frombits(binary.LittleEndian.Uint64(p)))
		return p[8:], nil
	case types.Float4:
		if len(p) < 4 {
			return nil, errCorrupt
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
	// Text-like and bytea: length-prefixed bytes.
	l, m := binary.Uvarint(p)
	if m <= 0 || uint64(len(p)-m) < l {
		return nil, errCorrupt
	}
	val := p[m : m+int(l)]
	switch bb := bld.(type) {
	case *array.StringBuilder:
		bb.BinaryBuilder.Append(val)
	case *array.BinaryBuilder:
		bb.Append(val)
	default:
		return nil, fmt.Errorf("unexpected builder %T for %s", bld, t)
	}
	return p[m+int(l):], nil
}

// skipValue returns b after the value at its start.
func skipValue(b []byte, k types.Kind) ([]byte, error) {
	if len(b) == 0 {
		return nil, errCorrupt
	}
	if b[0] == valNull {
		return b[1:], nil
	}
	p := b[1:]
	varints := func(c int) ([]byte, error) {
		for ; c > 0; c-- {
			_, m := binary.Varint(p)
			if m <= 0 {
				return nil, errCorrupt
			}
			p = p[m:]
		}
		return p, nil
	}
	fixed := func(w int) ([]byte, error) {
		if len(p) < w {
			return nil, errCorrupt
		}
		return p[w:], nil
	}
	bytesField := func() ([]byte, error) {
		l, m := binary.Uvarint(p)
		if m <= 0 || uint64(len(p)-m) < l {
			return nil, errCorrupt
		}
		return p[m+int(l):], nil
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
			return nil, errCorrupt
		}
		form := p[0]
		p = p[1:]
		if form > 1 { // NaN and infinities carry nothing more
			return p, nil
		}
		if _, err := varints(1); err != nil {
			return nil, err
		}
		return bytesField()
	}
	return bytesField()
}
