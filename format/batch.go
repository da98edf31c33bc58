package format

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// Batch collects decoded rows for one output chunk: one Arrow builder per
// column of the schema and one Op per row, plus the rejects and schema
// changes met on the way. A Batch is reused: Finish hands the columns out
// and leaves the builders empty for the next chunk.
type Batch struct {
	schema Schema
	cols   []colOut
	ops    []Op
	// Rejects are the messages since the last Reset that decoded to nothing.
	Rejects []Reject
	// SchemaChanges are the column changes of DDL events since the last Reset.
	SchemaChanges []SchemaChange
}

// NewBatch returns an empty batch for schema.
func NewBatch(schema Schema) *Batch {
	b := &Batch{schema: schema, cols: make([]colOut, len(schema.Columns))}
	for j, c := range schema.Columns {
		b.cols[j].init(c.Type)
	}
	return b
}

// Schema returns the schema the batch was made for.
func (b *Batch) Schema() Schema { return b.schema }

// Len is the number of rows appended since the last Finish.
func (b *Batch) Len() int { return len(b.ops) }

// Finish returns the rows appended since the last Finish as one array per
// column (owned by the caller, who releases them) and their ops (a new
// slice), and leaves the batch empty. Rejects and SchemaChanges stay until
// Reset.
func (b *Batch) Finish() ([]arrow.Array, []Op) {
	cols := make([]arrow.Array, len(b.cols))
	for j := range b.cols {
		cols[j] = b.cols[j].b.NewArray()
	}
	ops := make([]Op, len(b.ops))
	copy(ops, b.ops)
	b.ops = b.ops[:0]
	return cols, ops
}

// Reset drops the rows not yet finished, the rejects and the schema changes.
func (b *Batch) Reset() {
	if len(b.ops) > 0 {
		for j := range b.cols {
			b.cols[j].b.NewArray().Release()
		}
		b.ops = b.ops[:0]
	}
	b.Rejects = b.Rejects[:0]
	b.SchemaChanges = b.SchemaChanges[:0]
}

// Release frees the builders; the batch is unusable afterwards.
func (b *Batch) Release() {
	for j := range b.cols {
		b.cols[j].b.Release()
	}
	b.cols = nil
}

// reject records msg as rejected with err.
func (b *Batch) reject(m *Message, err error) {
	raw := m.Value
	if len(raw) > MaxRejectBytes {
		raw = raw[:MaxRejectBytes]
	}
	b.Rejects = append(b.Rejects, Reject{
		Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp,
		Raw: append([]byte(nil), raw...), Err: err,
	})
}

// appendRow copies a fully decoded staging row into the builders.
func (b *Batch) appendRow(r *row, op Op) {
	for j := range b.cols {
		b.cols[j].append(&r.slots[j])
	}
	b.ops = append(b.ops, op)
}

// slotState says what a staging slot holds.
type slotState uint8

const (
	slotAbsent slotState = iota // the field was not in the message: NULL
	slotNull                    // an explicit null
	slotSet                     // a value
)

// slot holds one decoded value before it goes into a builder. Which field
// is used depends on the column's storage kind: i for booleans, integers,
// dates, times and timestamps; f for floats; iv for intervals; b for text,
// numeric text, jsonb text, array text and bytea (a view into the message
// or into the decoder's scratch buffer).
type slot struct {
	state slotState
	i     int64
	f     float64
	iv    arrow.MonthDayNanoInterval
	b     []byte
}

// row is one staging row: a slot per column.
type row struct{ slots []slot }

func newRow(n int) row { return row{slots: make([]slot, n)} }

func (r *row) clear() {
	for i := range r.slots {
		r.slots[i] = slot{}
	}
}

func (r *row) copyFrom(o *row) { copy(r.slots, o.slots) }

// storage is how a column's values are held in Arrow (see sql/types).
type storage uint8

const (
	stBool storage = iota
	stInt16
	stInt32
	stInt64
	stFloat32
	stFloat64
	stString
	stBinary
	stDate32
	stTime64
	stTimestamp
	stInterval
)

func storageOf(t types.T) storage {
	switch t.Kind {
	case types.Bool:
		return stBool
	case types.Int2:
		return stInt16
	case types.Int4:
		return stInt32
	case types.Int8, types.Oid:
		return stInt64
	case types.Float4:
		return stFloat32
	case types.Float8:
		return stFloat64
	case types.Bytea:
		return stBinary
	case types.DateKind:
		return stDate32
	case types.Time:
		return stTime64
	case types.TimestampKind, types.TimestampTZ:
		return stTimestamp
	case types.Interval:
		return stInterval
	}
	return stString
}

// colOut is one column's builder with its concrete type resolved once.
type colOut struct {
	st  storage
	b   array.Builder
	bo  *array.BooleanBuilder
	i16 *array.Int16Builder
	i32 *array.Int32Builder
	i64 *array.Int64Builder
	f32 *array.Float32Builder
	f64 *array.Float64Builder
	str *array.StringBuilder
	bin *array.BinaryBuilder
	d32 *array.Date32Builder
	t64 *array.Time64Builder
	ts  *array.TimestampBuilder
	iv  *array.MonthDayNanoIntervalBuilder
}

func (c *colOut) init(t types.T) {
	c.st = storageOf(t)
	c.b = types.NewBuilder(t)
	switch bb := c.b.(type) {
	case *array.BooleanBuilder:
		c.bo = bb
	case *array.Int16Builder:
		c.i16 = bb
	case *array.Int32Builder:
		c.i32 = bb
	case *array.Int64Builder:
		c.i64 = bb
	case *array.Float32Builder:
		c.f32 = bb
	case *array.Float64Builder:
		c.f64 = bb
	case *array.StringBuilder:
		c.str = bb
	case *array.BinaryBuilder:
		c.bin = bb
	case *array.Date32Builder:
		c.d32 = bb
	case *array.Time64Builder:
		c.t64 = bb
	case *array.TimestampBuilder:
		c.ts = bb
	case *array.MonthDayNanoIntervalBuilder:
		c.iv = bb
	}
}

func (c *colOut) append(s *slot) {
	if s.state != slotSet {
		c.b.AppendNull()
		return
	}
	switch c.st {
	case stBool:
		c.bo.Append(s.i != 0)
	case stInt16:
		c.i16.Append(int16(s.i))
	case stInt32:
		c.i32.Append(int32(s.i))
	case stInt64:
		c.i64.Append(s.i)
	case stFloat32:
		c.f32.Append(float32(s.f))
	case stFloat64:
		c.f64.Append(s.f)
	case stString:
		c.str.BinaryBuilder.Append(s.b)
	case stBinary:
		c.bin.Append(s.b)
	case stDate32:
		c.d32.Append(arrow.Date32(s.i))
	case stTime64:
		c.t64.Append(arrow.Time64(s.i))
	case stTimestamp:
		c.ts.Append(arrow.Timestamp(s.i))
	case stInterval:
		c.iv.Append(s.iv)
	}
}
