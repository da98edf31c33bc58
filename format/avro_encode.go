package format

// Avro encoding of rows, for sinks.
//
// AvroEncoder derives an Avro record schema from a sink's columns and
// writes rows of Arrow columns as Avro binary datums of it, framed in the
// Confluent wire format (a zero byte, the schema's registry id as four
// big-endian bytes, the datum). Like JSONEncoder it binds to a chunk's
// columns once, one typed writer per column over the column's value
// slice, and then writes rows without per-value interface calls.
//
// Every field is a union ["null", T] with default null, since any column
// of a view may hold NULL. The column types map to Avro as:
//
//	boolean                      boolean
//	smallint, integer            int
//	bigint, oid                  long
//	real                         float
//	double precision             double
//	numeric(p,s)                 bytes, logicalType decimal (precision p, scale s)
//	numeric (unconstrained)      string (exact digits; NaN as "NaN")
//	date                         int, logicalType date
//	time                         long, logicalType time-micros
//	timestamp, timestamptz       long, logicalType timestamp-micros
//	bytea                        bytes
//	text, varchar, char, jsonb,  string (PostgreSQL's text output)
//	interval, arrays ...
//
// Names that are not Avro names (letters, digits and underscores, not
// starting with a digit) have their other characters replaced by '_'.

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// AvroEncoder writes rows of a fixed set of columns as Avro records.
type AvroEncoder struct {
	types []types.T
	names []string
	cols  []avroCol
	err   error
}

// avroCol writes row i of a bound column (non-null) as the body of its
// union branch.
type avroCol struct {
	arr   arrow.Array
	write func(buf []byte, i int) []byte
}

// NewAvroEncoder returns an encoder of rows with the given column names
// and types.
func NewAvroEncoder(names []string, ts []types.T) *AvroEncoder {
	e := &AvroEncoder{types: ts, cols: make([]avroCol, len(ts))}
	for _, n := range names {
		e.names = append(e.names, AvroName(n))
	}
	return e
}

// AvroName makes s a valid Avro name.
func AvroName(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
		default:
			r = '_'
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// avroFieldType is the (non-null) Avro type of a column of type t.
func avroFieldType(t types.T) any {
	switch t.Kind {
	case types.Bool:
		return "boolean"
	case types.Int2, types.Int4:
		return "int"
	case types.Int8, types.Oid:
		return "long"
	case types.Float4:
		return "float"
	case types.Float8:
		return "double"
	case types.Numeric:
		if t.Precision > 0 {
			return map[string]any{"type": "bytes", "logicalType": "decimal", "precision": t.Precision, "scale": t.Scale}
		}
		return "string"
	case types.DateKind:
		return map[string]any{"type": "int", "logicalType": "date"}
	case types.Time:
		return map[string]any{"type": "long", "logicalType": "time-micros"}
	case types.TimestampKind, types.TimestampTZ:
		return map[string]any{"type": "long", "logicalType": "timestamp-micros"}
	case types.Bytea:
		return "bytes"
	}
	return "string"
}

// Schema returns the Avro record schema (JSON) named name in namespace of
// the columns idx (all columns when idx is nil).
func (e *AvroEncoder) Schema(name, namespace string, idx []int) string {
	if idx == nil {
		idx = make([]int, len(e.types))
		for i := range idx {
			idx[i] = i
		}
	}
	type field struct {
		Name    string `json:"name"`
		Type    []any  `json:"type"`
		Default any    `json:"default"`
	}
	fields := make([]field, 0, len(idx))
	for _, c := range idx {
		fields = append(fields, field{Name: e.names[c], Type: []any{"null", avroFieldType(e.types[c])}})
	}
	out, _ := json.Marshal(struct {
		Type      string  `json:"type"`
		Name      string  `json:"name"`
		Namespace string  `json:"namespace"`
		Fields    []field `json:"fields"`
	}{"record", AvroName(name), namespace, fields})
	return string(out)
}

// Bind makes the encoder write rows of cols (the columns in order).
func (e *AvroEncoder) Bind(cols []arrow.Array) {
	e.err = nil
	for i, a := range cols {
		e.cols[i] = avroCol{arr: a, write: e.avroWriter(a, e.types[i], i)}
	}
}

// Err returns the first value since Bind that could not be encoded (a
// numeric too large for its declared precision, NaN in a decimal).
func (e *AvroEncoder) Err() error { return e.err }

// AppendRow appends the datum of row i of the bound columns (all fields).
func (e *AvroEncoder) AppendRow(buf []byte, i int) []byte {
	for c := range e.cols {
		buf = e.appendValue(buf, c, i)
	}
	return buf
}

// AppendFields appends the datum of row i of the columns idx.
func (e *AvroEncoder) AppendFields(buf []byte, i int, idx []int) []byte {
	for _, c := range idx {
		buf = e.appendValue(buf, c, i)
	}
	return buf
}

func (e *AvroEncoder) appendValue(buf []byte, c, i int) []byte {
	col := &e.cols[c]
	if col.arr.IsNull(i) {
		return append(buf, 0) // union branch 0: null
	}
	buf = append(buf, 2) // union branch 1, zig-zag encoded
	return col.write(buf, i)
}

// AppendConfluentHeader appends the wire format's magic byte and id.
func AppendConfluentHeader(buf []byte, id int32) []byte {
	return binary.BigEndian.AppendUint32(append(buf, 0), uint32(id))
}

// appendAvroLong appends v zig-zag varint encoded (Avro int and long).
func appendAvroLong(buf []byte, v int64) []byte {
	return binary.AppendUvarint(buf, uint64((v<<1)^(v>>63)))
}

// appendAvroBytes appends b as Avro bytes (or string): length, then b.
func appendAvroBytes(buf []byte, b []byte) []byte {
	return append(appendAvroLong(buf, int64(len(b))), b...)
}

func appendAvroString(buf []byte, s string) []byte {
	return append(appendAvroLong(buf, int64(len(s))), s...)
}

// avroWriter returns the writer of a's values.
func (e *AvroEncoder) avroWriter(a arrow.Array, t types.T, c int) func([]byte, int) []byte {
	switch a := a.(type) {
	case *array.Boolean:
		return func(buf []byte, i int) []byte {
			if a.Value(i) {
				return append(buf, 1)
			}
			return append(buf, 0)
		}
	case *array.Int16:
		vs := a.Int16Values()
		return func(buf []byte, i int) []byte { return appendAvroLong(buf, int64(vs[i])) }
	case *array.Int32:
		vs := a.Int32Values()
		return func(buf []byte, i int) []byte { return appendAvroLong(buf, int64(vs[i])) }
	case *array.Int64:
		vs := a.Int64Values()
		if t.Kind == types.Oid {
			return func(buf []byte, i int) []byte { return appendAvroLong(buf, int64(uint32(vs[i]))) }
		}
		return func(buf []byte, i int) []byte { return appendAvroLong(buf, vs[i]) }
	case *array.Float32:
		vs := a.Float32Values()
		return func(buf []byte, i int) []byte { return binary.LittleEndian.AppendUint32(buf, math.Float32bits(vs[i])) }
	case *array.Float64:
		vs := a.Float64Values()
		return func(buf []byte, i int) []byte { return binary.LittleEndian.AppendUint64(buf, math.Float64bits(vs[i])) }
	case *array.Date32:
		vs := a.Date32Values()
		return func(buf []byte, i int) []byte { return appendAvroLong(buf, int64(vs[i])) }
	case *array.Time64:
		vs := a.Time64Values()
		return func(buf []byte, i int) []byte { return appendAvroLong(buf, int64(vs[i])) }
	case *array.Timestamp:
		vs := a.TimestampValues()
		return func(buf []byte, i int) []byte { return appendAvroLong(buf, int64(vs[i])) }
	case *array.Binary:
		return func(buf []byte, i int) []byte { return appendAvroBytes(buf, a.Value(i)) }
	case *array.String:
		if t.Kind == types.Numeric && t.Precision > 0 {
			var scratch []byte
			var bi big.Int
			return func(buf []byte, i int) []byte {
				var err error
				scratch, err = appendDecimal(scratch[:0], &bi, a.Value(i), t)
				if err != nil {
					if e.err == nil {
						e.err = sqlerr.New(sqlerr.NumericValueOutOfRange, "column %q: %v", e.names[c], err)
					}
					scratch = scratch[:0]
				}
				return appendAvroBytes(buf, scratch)
			}
		}
		return func(buf []byte, i int) []byte { return appendAvroString(buf, a.Value(i)) }
	}
	// Intervals, and any other layout: their text output.
	var scratch []byte
	return func(buf []byte, i int) []byte {
		scratch = types.AppendText(scratch[:0], types.GetDatum(a, i, t), t, nil)
		return appendAvroBytes(buf, scratch)
	}
}

// appendDecimal appends the unscaled value of the numeric text s at t's
// scale as Avro's decimal: big-endian two's complement, fewest bytes.
func appendDecimal(buf []byte, bi *big.Int, s string, t types.T) ([]byte, error) {
	neg := false
	switch {
	case s == "":
		return buf, errInvalidDecimal(s)
	case s[0] == '-':
		neg, s = true, s[1:]
	case s[0] == '+':
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return buf, errInvalidDecimal(s)
	}
	scale := int(t.Scale)
	if len(frac) > scale {
		// The column's values are already rounded to its scale; only
		// zeros can stand past it.
		if strings.TrimRight(frac[scale:], "0") != "" {
			return buf, errInvalidDecimal(s)
		}
		frac = frac[:scale]
	}
	digits := len(strings.TrimLeft(intPart, "0")) + scale
	if int32(digits) > t.Precision && strings.TrimLeft(intPart, "0") != "" {
		return buf, sqlerr.New(sqlerr.NumericValueOutOfRange, "numeric value %s does not fit numeric(%d,%d)", s, t.Precision, t.Scale)
	}
	if len(intPart)+scale <= 18 {
		var v int64
		for _, d := range intPart {
			if d < '0' || d > '9' {
				return buf, errInvalidDecimal(s)
			}
			v = v*10 + int64(d-'0')
		}
		for k := 0; k < scale; k++ {
			d := byte('0')
			if k < len(frac) {
				d = frac[k]
			}
			if d < '0' || d > '9' {
				return buf, errInvalidDecimal(s)
			}
			v = v*10 + int64(d-'0')
		}
		if neg {
			v = -v
		}
		n := 8
		for n > 1 && (v>>(8*(n-1)-1) == 0 || v>>(8*(n-1)-1) == -1) {
			n--
		}
		for k := n - 1; k >= 0; k-- {
			buf = append(buf, byte(v>>(8*k)))
		}
		return buf, nil
	}
	digitsText := intPart + frac + strings.Repeat("0", scale-len(frac))
	if _, ok := bi.SetString(digitsText, 10); !ok {
		return buf, errInvalidDecimal(s)
	}
	if neg {
		bi.Neg(bi)
	}
	return appendTwosComplement(buf, bi), nil
}

// appendTwosComplement appends v as big-endian two's complement in the
// fewest bytes.
func appendTwosComplement(buf []byte, v *big.Int) []byte {
	if v.Sign() >= 0 {
		b := v.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			buf = append(buf, 0)
		}
		return append(buf, b...)
	}
	// -v - 1, inverted, is v in two's complement.
	m := new(big.Int).Neg(v)
	m.Sub(m, big.NewInt(1))
	b := m.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		buf = append(buf, 0xff)
	}
	for _, x := range b {
		buf = append(buf, ^x)
	}
	return buf
}

func errInvalidDecimal(s string) error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "numeric value %q cannot be written as an Avro decimal", s)
}
