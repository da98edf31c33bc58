package format

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/sql/types"
)

// Batch collects decoded rows for one output chunk: one column builder per
// column of the schema and one Op per row, plus the rejects and schema
// changes met on the way. A Batch is reused: Finish hands the columns out
// and leaves the builders empty for the next chunk.
type Batch struct {
	schema Schema
	cols   []colOut
	ops    []Op
	// pool lends the columns their fixed-width buffers and takes them back
	// when Arrow releases the arrays Finish made of them (buffer_pool.go).
	pool *bufferPool
	// msgs counts the messages decoded since the last Finish; rowsPer16
	// is the rows per message of the last chunk, in sixteenths.
	msgs, rowsPer16 int
	// Rejects are the messages since the last Reset that decoded to nothing.
	Rejects []Reject
	// SchemaChanges are the column changes of DDL events since the last Reset.
	SchemaChanges []SchemaChange
	// Stopped says that a decoder with auto.schema.change stopped at a DDL
	// event to apply: it decoded only the first Consumed messages. When the
	// DDL event was the first message, Consumed is 1 and SchemaChanges hold
	// its changes; otherwise the event is not consumed (it comes first in
	// the next call) and the rows are those of the messages before it.
	Stopped  bool
	Consumed int
}

// NewBatch returns an empty batch for schema.
func NewBatch(schema Schema) *Batch {
	b := &Batch{schema: schema, cols: make([]colOut, len(schema.Columns)), pool: new(bufferPool)}
	for j, c := range schema.Columns {
		b.cols[j].init(c.Type, b.pool)
	}
	return b
}

// Schema returns the schema the batch was made for.
func (b *Batch) Schema() Schema { return b.schema }

// Len is the number of rows appended since the last Finish.
func (b *Batch) Len() int { return len(b.ops) }

// Finish returns the rows appended since the last Finish as one array per
// column (owned by the caller, who releases them) and their ops (a new
// slice), and leaves the batch empty. The arrays' fixed-width buffers come
// back to the batch for later chunks once every reference to them is
// released; an array that is never released is left to the collector. Rejects and SchemaChanges stay until
// Reset.
func (b *Batch) Finish() ([]arrow.Array, []Op) {
	cols := make([]arrow.Array, len(b.cols))
	for j := range b.cols {
		cols[j] = b.cols[j].finish()
	}
	ops := make([]Op, len(b.ops))
	copy(ops, b.ops)
	if b.msgs > 0 {
		b.rowsPer16 = len(b.ops) * 16 / b.msgs
	}
	b.ops, b.msgs = b.ops[:0], 0
	return cols, ops
}

// Reset drops the rows not yet finished, the rejects and the schema changes.
func (b *Batch) Reset() {
	if len(b.ops) > 0 {
		for j := range b.cols {
			b.cols[j].clear()
		}
		b.ops = b.ops[:0]
	}
	b.msgs = 0
	b.Rejects = b.Rejects[:0]
	b.SchemaChanges = b.SchemaChanges[:0]
	b.Stopped, b.Consumed = false, 0
}

// Release drops the batch's buffers; the batch is unusable afterwards.
func (b *Batch) Release() {
	b.cols = nil
	b.ops = nil
}

// Reserve makes room for the rows of n more messages. A caller that
// decodes one batch of messages in several DecodeBatch calls (a Kafka
// reader, per partition) reserves for all of them first, so the columns
// grow once.
func (b *Batch) Reserve(n int) { b.reserve(n) }

// reserve makes room for the rows of n more messages: as many rows per
// message and value bytes per row in text and binary columns as the last
// chunk had (an envelope's update is two rows), so that the columns do
// not grow row by row, and take their buffers from the pool rather than
// from append.
func (b *Batch) reserve(n int) {
	rows := n * max(b.rowsPer16, 16) / 16
	for j := range b.cols {
		b.cols[j].reserve(rows)
	}
}

// decoding is called by DecodeBatch with the number of messages it is
// given: it reserves for them and counts them for the next estimate of
// rows per message.
func (b *Batch) decoding(n int) {
	b.msgs += n
	b.reserve(n)
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

// truncate drops the rows from row n on: the rows of a message that
// failed half-way when it was decoded straight into the columns.
func (b *Batch) truncate(n int) {
	for j := range b.cols {
		b.cols[j].truncate(n)
	}
	b.ops = b.ops[:min(n, len(b.ops))]
}

// endRow completes row i, written column by column with colOut.put: the
// columns that got no value hold NULL.
func (b *Batch) endRow(i int, op Op) {
	for j := range b.cols {
		if b.cols[j].n == i {
			b.cols[j].appendNull()
		}
	}
	b.ops = append(b.ops, op)
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

// storageOf is how a column of t is held; the kinds kindStorage does not
// list (numeric, text-like, jsonb, arrays, ...) are held as text.
func storageOf(t types.T) storage {
	if st, ok := kindStorage[t.Kind]; ok {
		return st
	}
	return stString
}

var kindStorage = map[types.Kind]storage{
	types.Bool: stBool, types.Int2: stInt16, types.Int4: stInt32, types.Int8: stInt64, types.Oid: stInt64,
	types.Float4: stFloat32, types.Float8: stFloat64, types.Bytea: stBinary,
	types.DateKind: stDate32, types.Time: stTime64, types.TimestampKind: stTimestamp, types.TimestampTZ: stTimestamp,
	types.Interval: stInterval,
}

// colOut is one column under construction: typed Go slices in Arrow's
// memory layout (a validity bitmap, values or offsets plus data), appended
// to without per-value checks and handed to Arrow as buffers by Finish.
// This is what an Arrow builder does, minus its per-append reserve,
// interface and bitmap bookkeeping.
type colOut struct {
	pool  *bufferPool
	st    storage
	dt    arrow.DataType
	n     int
	nulls int
	avg   int    // value bytes per row in the last chunk (text and binary)
	valid []byte // validity bitmap
	bits  []byte // boolean values
	i16   []int16
	i32   []int32 // integer, date
	i64   []int64 // bigint, time, timestamps
	f32   []float32
	f64   []float64
	iv    []arrow.MonthDayNanoInterval
	offs  []int32 // text and binary: n+1 offsets into data
	data  []byte
}

func (c *colOut) init(t types.T, pool *bufferPool) {
	c.pool = pool
	c.st = storageOf(t)
	c.dt = t.ArrowType()
	c.clear()
}

// clear empties the column and keeps its buffers (they were not handed
// out) for the rows to come.
func (c *colOut) clear() {
	c.n, c.nulls = 0, 0
	c.valid, c.bits = c.valid[:0], c.bits[:0]
	c.i16, c.i32, c.i64 = c.i16[:0], c.i32[:0], c.i64[:0]
	c.f32, c.f64, c.iv = c.f32[:0], c.f64[:0], c.iv[:0]
	c.offs, c.data = c.offs[:0], c.data[:0]
	if (c.st == stString || c.st == stBinary) && cap(c.offs) > 0 {
		c.offs = append(c.offs, 0)
	}
}

// reserve makes room for n more rows.
func (c *colOut) reserve(n int) {
	need := c.n + n
	c.valid = grow(c.pool, c.valid, need/8+1)
	switch c.st {
	case stBool:
		c.bits = grow(c.pool, c.bits, need/8+1)
	case stInt16:
		c.i16 = grow(c.pool, c.i16, need)
	case stInt32, stDate32:
		c.i32 = grow(c.pool, c.i32, need)
	case stInt64, stTime64, stTimestamp:
		c.i64 = grow(c.pool, c.i64, need)
	case stFloat32:
		c.f32 = grow(c.pool, c.f32, need)
	case stFloat64:
		c.f64 = grow(c.pool, c.f64, need)
	case stInterval:
		c.iv = grow(c.pool, c.iv, need)
	case stString, stBinary:
		c.offs = grow(c.pool, c.offs, need+1)
		if len(c.offs) == 0 {
			c.offs = append(c.offs, 0)
		}
		// An eighth more than the last chunk's average: a chunk a little
		// longer than the last must not double (and copy) the buffer.
		c.data = growCap(c.data, len(c.data)+c.avg*n+c.avg*n/8)
	}
}

func growCap[S ~[]E, E any](s S, n int) S {
	if cap(s) >= n {
		return s
	}
	ns := make(S, len(s), n)
	copy(ns, s)
	return ns
}

func (c *colOut) append(s *slot) {
	if len(c.offs) == 0 && (c.st == stString || c.st == stBinary) {
		c.offs = append(c.offs, 0)
	}
	i := c.n
	c.n++
	if i&7 == 0 {
		c.valid = append(c.valid, 0)
		if c.st == stBool {
			c.bits = append(c.bits, 0)
		}
	}
	set := s.state == slotSet
	if set {
		c.valid[i>>3] |= 1 << (i & 7)
	} else {
		c.nulls++
	}
	switch c.st {
	case stBool:
		if set && s.i != 0 {
			c.bits[i>>3] |= 1 << (i & 7)
		}
	case stInt16:
		c.i16 = append(c.i16, int16(s.i))
	case stInt32, stDate32:
		c.i32 = append(c.i32, int32(s.i))
	case stInt64, stTime64, stTimestamp:
		c.i64 = append(c.i64, s.i)
	case stFloat32:
		c.f32 = append(c.f32, float32(s.f))
	case stFloat64:
		c.f64 = append(c.f64, s.f)
	case stInterval:
		c.iv = append(c.iv, s.iv)
	case stString, stBinary:
		if set {
			c.data = append(c.data, s.b...)
		}
		c.offs = append(c.offs, int32(len(c.data)))
	}
	if !set {
		c.zero()
	}
}

// put stores s as the value of row i: the next row of the column, or the
// last one again (a JSON object that names a field twice: the last value
// wins, as in a staging row).
func (c *colOut) put(i int, s *slot) {
	if c.n > i {
		c.truncate(i)
	}
	c.append(s)
}

// putFast appends the commonest JSON values straight to the column, as
// setJSON would store them: a plain integer into bigint, a string into
// text or unbounded varchar, an ISO timestamp string into timestamp or
// timestamptz. It reports false for anything else, which then takes the
// general way.
func (c *colOut) putFast(v jval, cv *conv) bool {
	switch {
	case v.kind == jNumber && cv.st == stInt64 && cv.t.Kind == types.Int8:
		x, ok := parseIntFast(v.raw)
		if !ok {
			return false
		}
		c.appendInt64(x)
	case v.kind == jString && cv.plainText:
		c.appendBytes(v.str)
	case v.kind == jString && cv.st == stTimestamp:
		x, ok := parseTimestampFast(v.str, cv.t.Kind == types.TimestampTZ)
		if !ok {
			return false
		}
		c.appendInt64(x)
	default:
		return false
	}
	return true
}

// valueFast reads the next JSON value straight into the column when it
// has the column's commonest spelling (see fastKind) and reports true;
// otherwise it consumes nothing and reports false, and the value takes the
// general way (jsonScanner.value, conv.setJSON), which also gives the
// errors. The column is at the row being written.
func (c *colOut) valueFast(s *jsonScanner, cv *conv) bool {
	switch cv.fast {
	case fastInt:
		p := s.pos
		x, ok := s.intFast()
		if !ok {
			return false
		}
		switch c.st {
		case stInt64:
			c.appendInt64(x)
		case stInt32:
			if x < math.MinInt32 || x > math.MaxInt32 {
				s.pos = p
				return false
			}
			c.setValid()
			c.i32 = append(c.i32, int32(x))
		case stInt16:
			if x < math.MinInt16 || x > math.MaxInt16 {
				s.pos = p
				return false
			}
			c.setValid()
			c.i16 = append(c.i16, int16(x))
		default:
			s.pos = p
			return false
		}
	case fastText:
		b, ok := s.plainString()
		if !ok {
			return false
		}
		c.appendBytes(b)
	case fastTimestamp:
		p := s.pos
		b, ok := s.plainString()
		if !ok {
			return false
		}
		x, ok := parseTimestampFast(b, cv.t.Kind == types.TimestampTZ)
		if !ok {
			s.pos = p
			return false
		}
		c.appendInt64(x)
	default:
		return false
	}
	return true
}

// slotAt returns the value of row i as a slot; the bytes of a text or
// binary value are copied into sc, so the slot outlives a truncate.
func (c *colOut) slotAt(i int, sc *scratch) slot {
	var s slot
	if !c.isSet(i) {
		s.state = slotNull
		return s
	}
	s.state = slotSet
	switch c.st {
	case stBool:
		s.i = int64(c.bits[i>>3] >> (i & 7) & 1)
	case stInt16:
		s.i = int64(c.i16[i])
	case stInt32, stDate32:
		s.i = int64(c.i32[i])
	case stInt64, stTime64, stTimestamp:
		s.i = c.i64[i]
	case stFloat32:
		s.f = float64(c.f32[i])
	case stFloat64:
		s.f = c.f64[i]
	case stInterval:
		s.iv = c.iv[i]
	case stString, stBinary:
		s.b = sc.add(c.data[c.offs[i]:c.offs[i+1]])
	}
	return s
}

// dupLast appends a copy of the last row's value.
func (c *colOut) dupLast() {
	i := c.n - 1
	if !c.isSet(i) {
		c.appendNull()
		return
	}
	switch c.st {
	case stBool:
		bit := c.bits[i>>3] >> (i & 7) & 1
		c.setValid()
		if i+1 == len(c.bits)*8 {
			c.bits = append(c.bits, 0)
		}
		c.bits[(i+1)>>3] |= bit << ((i + 1) & 7)
	case stInt16:
		c.setValid()
		c.i16 = append(c.i16, c.i16[i])
	case stInt32, stDate32:
		c.setValid()
		c.i32 = append(c.i32, c.i32[i])
	case stInt64, stTime64, stTimestamp:
		c.setValid()
		c.i64 = append(c.i64, c.i64[i])
	case stFloat32:
		c.setValid()
		c.f32 = append(c.f32, c.f32[i])
	case stFloat64:
		c.setValid()
		c.f64 = append(c.f64, c.f64[i])
	case stInterval:
		c.setValid()
		c.iv = append(c.iv, c.iv[i])
	case stString, stBinary:
		c.setValid()
		c.data = append(c.data, c.data[c.offs[i]:c.offs[i+1]]...)
		c.offs = append(c.offs, int32(len(c.data)))
	}
}

// appendInt64 appends x as the next row of a 64-bit column.
func (c *colOut) appendInt64(x int64) {
	c.setValid()
	c.i64 = append(c.i64, x)
}

// appendBytes appends b as the next row of a text or binary column.
func (c *colOut) appendBytes(b []byte) {
	if len(c.offs) == 0 {
		c.offs = append(c.offs, 0)
	}
	c.setValid()
	c.data = append(c.data, b...)
	c.offs = append(c.offs, int32(len(c.data)))
}

// setValid starts the next row as a valid (non-NULL) value.
func (c *colOut) setValid() {
	i := c.n
	c.n++
	if i&7 == 0 {
		c.valid = append(c.valid, 0)
	}
	c.valid[i>>3] |= 1 << (i & 7)
}

// isSet reports whether row i holds a value (not NULL, not missing).
func (c *colOut) isSet(i int) bool {
	return c.n > i && c.valid[i>>3]&(1<<(i&7)) != 0
}

// appendNull appends a NULL.
func (c *colOut) appendNull() {
	var s slot
	c.append(&s)
}

// truncate drops the values from row n on.
func (c *colOut) truncate(n int) {
	if n >= c.n {
		return
	}
	for r := n; r < c.n; r++ {
		if c.valid[r>>3]&(1<<(r&7)) == 0 {
			c.nulls--
		}
	}
	nb := (n + 7) / 8
	c.valid = c.valid[:nb]
	if n&7 != 0 {
		c.valid[nb-1] &= byte(1)<<(n&7) - 1
	}
	switch c.st {
	case stBool:
		c.bits = c.bits[:nb]
		if n&7 != 0 {
			c.bits[nb-1] &= byte(1)<<(n&7) - 1
		}
	case stInt16:
		c.i16 = c.i16[:n]
	case stInt32, stDate32:
		c.i32 = c.i32[:n]
	case stInt64, stTime64, stTimestamp:
		c.i64 = c.i64[:n]
	case stFloat32:
		c.f32 = c.f32[:n]
	case stFloat64:
		c.f64 = c.f64[:n]
	case stInterval:
		c.iv = c.iv[:n]
	case stString, stBinary:
		c.data = c.data[:c.offs[n]]
		c.offs = c.offs[:n+1]
	}
	c.n = n
}

// zero resets the value just appended for a NULL row (slots of absent
// values are already zero; explicit nulls may carry a stale value).
func (c *colOut) zero() {
	i := c.n - 1
	switch c.st {
	case stInt16:
		c.i16[i] = 0
	case stInt32, stDate32:
		c.i32[i] = 0
	case stInt64, stTime64, stTimestamp:
		c.i64[i] = 0
	case stFloat32:
		c.f32[i] = 0
	case stFloat64:
		c.f64[i] = 0
	case stInterval:
		c.iv[i] = arrow.MonthDayNanoInterval{}
	}
}

// finish returns the column as an Arrow array and starts a new one. The
// fixed-width buffers go to Arrow with the pool as their allocator, so
// they come back when the array's last reference is released; the column
// takes new ones from the pool at the next reserve. A validity bitmap
// without a null is not handed out and stays with the column.
func (c *colOut) finish() arrow.Array {
	if len(c.offs) == 0 && (c.st == stString || c.st == stBinary) {
		c.offs = append(c.offs, 0)
	}
	var valid *memory.Buffer
	if c.nulls > 0 {
		valid = c.lend(asBytes(c.valid))
		c.valid = nil
	}
	var bufs []*memory.Buffer
	switch c.st {
	case stBool:
		bufs = []*memory.Buffer{valid, c.lend(c.bits)}
		c.bits = nil
	case stInt16:
		bufs = []*memory.Buffer{valid, c.lend(asBytes(c.i16))}
		c.i16 = nil
	case stInt32, stDate32:
		bufs = []*memory.Buffer{valid, c.lend(asBytes(c.i32))}
		c.i32 = nil
	case stInt64, stTime64, stTimestamp:
		bufs = []*memory.Buffer{valid, c.lend(asBytes(c.i64))}
		c.i64 = nil
	case stFloat32:
		bufs = []*memory.Buffer{valid, c.lend(asBytes(c.f32))}
		c.f32 = nil
	case stFloat64:
		bufs = []*memory.Buffer{valid, c.lend(asBytes(c.f64))}
		c.f64 = nil
	case stInterval:
		bufs = []*memory.Buffer{valid, c.lend(asBytes(c.iv))}
		c.iv = nil
	case stString, stBinary:
		// The data buffer is the collector's (see bufferPool).
		bufs = []*memory.Buffer{valid, c.lend(asBytes(c.offs)), memory.NewBufferBytes(c.data)}
		c.offs = nil
	}
	data := array.NewData(c.dt, c.n, bufs, nil, c.nulls, 0)
	arr := array.MakeFromData(data)
	data.Release()
	for _, b := range bufs {
		if b != nil {
			b.Release() // the array holds them now
		}
	}
	if c.n > 0 && (c.st == stString || c.st == stBinary) {
		c.avg = (len(c.data) + c.n - 1) / c.n
	}
	c.data = nil
	c.clear()
	return arr
}

// lend wraps a buffer of the pool for Arrow: Arrow frees it into the pool
// when its reference count drops to zero.
func (c *colOut) lend(b []byte) *memory.Buffer {
	if b == nil {
		b = []byte{}
	}
	return memory.NewBufferWithAllocator(b, c.pool)
}
