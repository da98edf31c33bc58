package stream

// Column-wise encodings for the group top-N (top_n.go): the
// order-preserving keys of a chunk's partition, order and stream key
// columns, and the stored row values, written straight from the typed
// Arrow values. They produce exactly the bytes of types.AppendKey and
// types.EncodeRow (TestTopNEncodingsMatchTypes keeps them in step), so
// state written here reads back with the ordinary decoders.

import (
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// Key markers of types.AppendKey's encoding: a present value, and the
// NULL markers that sort before and after every value whatever the
// direction (AppendKey alone puts NULL last ascending, first descending).
const (
	topNKeyNotNull   byte = 0x01
	topNKeyNullFirst byte = 0x00
	topNKeyNullLast  byte = 0xFF
)

// topNKeys appends to keys[i] the order-preserving key of row i of col
// (type t): descending when desc, NULL before every value when
// nullsFirst.
func topNKeys(keys [][]byte, col arrow.Array, t types.T, desc, nullsFirst bool) {
	nullMark := topNKeyNullLast
	if nullsFirst {
		nullMark = topNKeyNullFirst
	}
	switch a := col.(type) {
	case *array.Int64:
		topNIntKeys(keys, a.Int64Values(), col, desc, nullMark)
		return
	case *array.Int32:
		topNIntKeys(keys, a.Int32Values(), col, desc, nullMark)
		return
	case *array.Int16:
		topNIntKeys(keys, a.Int16Values(), col, desc, nullMark)
		return
	case *array.Timestamp:
		topNIntKeys(keys, a.TimestampValues(), col, desc, nullMark)
		return
	case *array.Time64:
		topNIntKeys(keys, a.Time64Values(), col, desc, nullMark)
		return
	case *array.Date32:
		vals := a.Date32Values()
		for i := range keys {
			if col.IsNull(i) {
				keys[i] = append(keys[i], nullMark)
				continue
			}
			start := len(keys[i])
			keys[i] = binary.BigEndian.AppendUint32(append(keys[i], topNKeyNotNull), uint32(vals[i])^(1<<31))
			topNInvert(keys[i][start:], desc)
		}
		return
	case *array.Float64:
		vals := a.Float64Values()
		for i := range keys {
			if col.IsNull(i) {
				keys[i] = append(keys[i], nullMark)
				continue
			}
			start := len(keys[i])
			keys[i] = binary.BigEndian.AppendUint64(append(keys[i], topNKeyNotNull), topNFloatKeyBits(vals[i]))
			topNInvert(keys[i][start:], desc)
		}
		return
	case *array.String:
		if k := t.Kind; k == types.Text || k == types.Varchar || k == types.Name {
			for i := range keys {
				if col.IsNull(i) {
					keys[i] = append(keys[i], nullMark)
					continue
				}
				start := len(keys[i])
				keys[i] = topNEscaped(append(keys[i], topNKeyNotNull), a.Value(i))
				topNInvert(keys[i][start:], desc)
			}
			return
		}
	}
	for i := range keys {
		d := types.GetDatum(col, i, t)
		if d == nil {
			keys[i] = append(keys[i], nullMark)
			continue
		}
		keys[i] = types.AppendKey(keys[i], d, t, desc)
	}
}

// topNDatumKey appends the key of datum d as topNKeys would.
func topNDatumKey(buf []byte, d types.Datum, t types.T, desc, nullsFirst bool) []byte {
	if d == nil {
		if nullsFirst {
			return append(buf, topNKeyNullFirst)
		}
		return append(buf, topNKeyNullLast)
	}
	return types.AppendKey(buf, d, t, desc)
}

func topNIntKeys[V int16 | int32 | int64 | arrow.Timestamp | arrow.Time64](keys [][]byte, vals []V, col arrow.Array, desc bool, nullMark byte) {
	nulls := col.NullN() > 0
	for i := range keys {
		if nulls && col.IsNull(i) {
			keys[i] = append(keys[i], nullMark)
			continue
		}
		start := len(keys[i])
		keys[i] = types.AppendIntKey(keys[i], int64(vals[i]))
		topNInvert(keys[i][start:], desc)
	}
}

func topNInvert(b []byte, desc bool) {
	if !desc {
		return
	}
	for i := range b {
		b[i] = ^b[i]
	}
}

// topNFloatKeyBits is types' float key: -0 as 0, NaN above +Infinity.
func topNFloatKeyBits(f float64) uint64 {
	if math.IsNaN(f) {
		return math.MaxUint64
	}
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}

// topNEscaped is types' text key: 0x00 escaped as 0x00 0xFF, ending
// with 0x00 0x01.
func topNEscaped(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		buf = append(buf, c)
		if c == 0 {
			buf = append(buf, 0xFF)
		}
	}
	return append(buf, 0x00, 0x01)
}

// Value tags of types.AppendValue.
const (
	topNValNull    byte = 0
	topNValPresent byte = 1
)

// topNValues appends to vals[i], for every row i in sel, the value of
// row i of col (type t) in types.AppendValue's encoding.
func topNValues(vals [][]byte, sel []int32, col arrow.Array, t types.T) {
	switch a := col.(type) {
	case *array.Int64:
		topNIntValues(vals, sel, a.Int64Values(), col)
		return
	case *array.Int32:
		topNIntValues(vals, sel, a.Int32Values(), col)
		return
	case *array.Int16:
		topNIntValues(vals, sel, a.Int16Values(), col)
		return
	case *array.Timestamp:
		topNIntValues(vals, sel, a.TimestampValues(), col)
		return
	case *array.Time64:
		topNIntValues(vals, sel, a.Time64Values(), col)
		return
	case *array.Date32:
		topNIntValues(vals, sel, a.Date32Values(), col)
		return
	case *array.Float64:
		vs := a.Float64Values()
		for _, i := range sel {
			if col.IsNull(int(i)) {
				vals[i] = append(vals[i], topNValNull)
				continue
			}
			vals[i] = binary.LittleEndian.AppendUint64(append(vals[i], topNValPresent), math.Float64bits(vs[i]))
		}
		return
	case *array.Float32:
		vs := a.Float32Values()
		for _, i := range sel {
			if col.IsNull(int(i)) {
				vals[i] = append(vals[i], topNValNull)
				continue
			}
			vals[i] = binary.LittleEndian.AppendUint32(append(vals[i], topNValPresent), math.Float32bits(vs[i]))
		}
		return
	case *array.Boolean:
		for _, i := range sel {
			switch {
			case col.IsNull(int(i)):
				vals[i] = append(vals[i], topNValNull)
			case a.Value(int(i)):
				vals[i] = append(vals[i], topNValPresent, 1)
			default:
				vals[i] = append(vals[i], topNValPresent, 0)
			}
		}
		return
	case *array.String:
		if k := t.Kind; k == types.Text || k == types.Varchar || k == types.Char || k == types.Name {
			for _, i := range sel {
				if col.IsNull(int(i)) {
					vals[i] = append(vals[i], topNValNull)
					continue
				}
				s := a.Value(int(i))
				vals[i] = append(binary.AppendUvarint(append(vals[i], topNValPresent), uint64(len(s))), s...)
			}
			return
		}
	case *array.Binary:
		for _, i := range sel {
			if col.IsNull(int(i)) {
				vals[i] = append(vals[i], topNValNull)
				continue
			}
			s := a.Value(int(i))
			vals[i] = append(binary.AppendUvarint(append(vals[i], topNValPresent), uint64(len(s))), s...)
		}
		return
	}
	for _, i := range sel {
		vals[i] = types.AppendValue(vals[i], types.GetDatum(col, int(i), t), t)
	}
}

func topNIntValues[V int16 | int32 | int64 | arrow.Timestamp | arrow.Time64 | arrow.Date32](vals [][]byte, sel []int32, vs []V, col arrow.Array) {
	nulls := col.NullN() > 0
	for _, i := range sel {
		if nulls && col.IsNull(int(i)) {
			vals[i] = append(vals[i], topNValNull)
			continue
		}
		vals[i] = binary.AppendVarint(append(vals[i], topNValPresent), int64(vs[i]))
	}
}
