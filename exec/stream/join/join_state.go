package join

// The state of one input of the streaming hash join (hash_join.go): a
// columnar row arena addressed by slot, a join-key index from each key to
// the slots of its rows, a stream-key index for deletes, the
// outer-join match degree of every row, and the bookkeeping that writes
// only the rows changed during an epoch at the next barrier.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// ---------------------------------------------------------------------------
// Columnar row arena

// hjCol stores one column of a side's live rows, indexed by slot. Methods
// work on many rows per call so the per-row work stays in typed loops.
type hjCol interface {
	// grow makes slots [0, n) addressable.
	grow(n int)
	// copyIn stores row rows[k] of arr into slot slots[k].
	copyIn(arr arrow.Array, rows, slots []int32)
	// gather returns the values of slots as a new array; slot -1 is NULL.
	gather(slots []int32) arrow.Array
	// free gives up the values of slots (their bytes become garbage).
	free(slots []int32)
	// compact drops garbage when it dominates, keeping the slots live
	// reports.
	compact(live []hjRowMeta)
	// appendValue appends slot's value in types.AppendValue's encoding.
	appendValue(buf []byte, slot int32) []byte
}

func newHJCol(t types.T) hjCol {
	dt := t.ArrowType()
	switch dt.ID() {
	case arrow.BOOL:
		return &hjBoolCol{}
	case arrow.INT16:
		return newHJFixed(dt, func(a arrow.Array) []int16 { return a.(*array.Int16).Int16Values() },
			func(b []byte, v int16) []byte { return binary.AppendVarint(b, int64(v)) })
	case arrow.INT32:
		return newHJFixed(dt, func(a arrow.Array) []int32 { return a.(*array.Int32).Int32Values() },
			func(b []byte, v int32) []byte { return binary.AppendVarint(b, int64(v)) })
	case arrow.INT64:
		return newHJFixed(dt, func(a arrow.Array) []int64 { return a.(*array.Int64).Int64Values() },
			binary.AppendVarint)
	case arrow.FLOAT32:
		return newHJFixed(dt, func(a arrow.Array) []float32 { return a.(*array.Float32).Float32Values() },
			func(b []byte, v float32) []byte { return binary.LittleEndian.AppendUint32(b, math.Float32bits(v)) })
	case arrow.FLOAT64:
		return newHJFixed(dt, func(a arrow.Array) []float64 { return a.(*array.Float64).Float64Values() },
			func(b []byte, v float64) []byte { return binary.LittleEndian.AppendUint64(b, math.Float64bits(v)) })
	case arrow.DATE32:
		return newHJFixed(dt, func(a arrow.Array) []arrow.Date32 { return a.(*array.Date32).Date32Values() },
			func(b []byte, v arrow.Date32) []byte { return binary.AppendVarint(b, int64(v)) })
	case arrow.TIME64:
		return newHJFixed(dt, func(a arrow.Array) []arrow.Time64 { return a.(*array.Time64).Time64Values() },
			func(b []byte, v arrow.Time64) []byte { return binary.AppendVarint(b, int64(v)) })
	case arrow.TIMESTAMP:
		return newHJFixed(dt, func(a arrow.Array) []arrow.Timestamp { return a.(*array.Timestamp).TimestampValues() },
			func(b []byte, v arrow.Timestamp) []byte { return binary.AppendVarint(b, int64(v)) })
	case arrow.INTERVAL_MONTH_DAY_NANO:
		return newHJFixed(dt, func(a arrow.Array) []arrow.MonthDayNanoInterval {
			return a.(*array.MonthDayNanoInterval).MonthDayNanoIntervalValues()
		}, func(b []byte, v arrow.MonthDayNanoInterval) []byte {
			b = binary.AppendVarint(b, int64(v.Months))
			b = binary.AppendVarint(b, int64(v.Days))
			return binary.AppendVarint(b, v.Nanoseconds/1000)
		})
	case arrow.STRING, arrow.BINARY:
		return &hjVarCol{t: t, dt: dt}
	}
	return &hjNullCol{}
}

// Value encoding tags of types.AppendValue.
const (
	hjValNull    byte = 0
	hjValPresent byte = 1
)

type hjFixedCol[T arrow.FixedWidthType] struct {
	dt     arrow.DataType
	vals   []T
	valid  []bool
	values func(arrow.Array) []T
	enc    func([]byte, T) []byte
}

func newHJFixed[T arrow.FixedWidthType](dt arrow.DataType, values func(arrow.Array) []T, enc func([]byte, T) []byte) *hjFixedCol[T] {
	return &hjFixedCol[T]{dt: dt, values: values, enc: enc}
}

func (c *hjFixedCol[T]) grow(n int) {
	if n > len(c.vals) {
		c.vals = slices.Grow(c.vals, n-len(c.vals))[:n]
		c.valid = slices.Grow(c.valid, n-len(c.valid))[:n]
	}
}

func (c *hjFixedCol[T]) copyIn(arr arrow.Array, rows, slots []int32) {
	if arr.DataType().ID() == arrow.NULL {
		for _, s := range slots {
			c.valid[s] = false
		}
		return
	}
	vs := c.values(arr)
	if arr.NullN() == 0 {
		for k, i := range rows {
			s := slots[k]
			c.vals[s] = vs[i]
			c.valid[s] = true
		}
		return
	}
	for k, i := range rows {
		s := slots[k]
		c.vals[s] = vs[i]
		c.valid[s] = arr.IsValid(int(i))
	}
}

func (c *hjFixedCol[T]) gather(slots []int32) arrow.Array {
	n := len(slots)
	out := make([]T, n)
	nulls := 0
	for k, s := range slots {
		if s >= 0 && c.valid[s] {
			out[k] = c.vals[s]
		} else {
			nulls++
		}
	}
	valid := hjValidity(slots, c.valid, nulls)
	return hjFixedArray(c.dt, n, valid, nulls, arrow.GetBytes(out))
}

func (c *hjFixedCol[T]) free([]int32)        {}
func (c *hjFixedCol[T]) compact([]hjRowMeta) {}
func (c *hjFixedCol[T]) appendValue(buf []byte, s int32) []byte {
	if !c.valid[s] {
		return append(buf, hjValNull)
	}
	return c.enc(append(buf, hjValPresent), c.vals[s])
}

// hjValidity builds the validity bitmap of a gather, or nil without NULLs.
func hjValidity(slots []int32, valid []bool, nulls int) *memory.Buffer {
	if nulls == 0 {
		return nil
	}
	bits := make([]byte, bitutil.BytesForBits(int64(len(slots))))
	for k, s := range slots {
		if s >= 0 && valid[s] {
			bitutil.SetBit(bits, k)
		}
	}
	return memory.NewBufferBytes(bits)
}

func hjFixedArray(dt arrow.DataType, n int, valid *memory.Buffer, nulls int, data []byte) arrow.Array {
	d := array.NewData(dt, n, []*memory.Buffer{valid, memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

type hjBoolCol struct {
	vals, valid []bool
}

func (c *hjBoolCol) grow(n int) {
	if n > len(c.vals) {
		c.vals = slices.Grow(c.vals, n-len(c.vals))[:n]
		c.valid = slices.Grow(c.valid, n-len(c.valid))[:n]
	}
}

func (c *hjBoolCol) copyIn(arr arrow.Array, rows, slots []int32) {
	a, ok := arr.(*array.Boolean)
	for k, i := range rows {
		s := slots[k]
		c.valid[s] = ok && a.IsValid(int(i))
		c.vals[s] = ok && a.Value(int(i))
	}
}

func (c *hjBoolCol) gather(slots []int32) arrow.Array {
	n := len(slots)
	bits := make([]byte, bitutil.BytesForBits(int64(n)))
	nulls := 0
	for k, s := range slots {
		if s >= 0 && c.valid[s] {
			if c.vals[s] {
				bitutil.SetBit(bits, k)
			}
		} else {
			nulls++
		}
	}
	return hjFixedArray(arrow.FixedWidthTypes.Boolean, n, hjValidity(slots, c.valid, nulls), nulls, bits)
}

func (c *hjBoolCol) free([]int32)        {}
func (c *hjBoolCol) compact([]hjRowMeta) {}
func (c *hjBoolCol) appendValue(buf []byte, s int32) []byte {
	switch {
	case !c.valid[s]:
		return append(buf, hjValNull)
	case c.vals[s]:
		return append(buf, hjValPresent, 1)
	}
	return append(buf, hjValPresent, 0)
}

// hjVarCol keeps string and binary values in one byte heap; freed values
// stay as garbage until compact rewrites the heap.
type hjVarCol struct {
	t       types.T
	dt      arrow.DataType
	heap    byteArena
	off     []int
	ln      []uint32
	valid   []bool
	garbage int
}

func (c *hjVarCol) grow(n int) {
	if n > len(c.off) {
		c.off = slices.Grow(c.off, n-len(c.off))[:n]
		c.ln = slices.Grow(c.ln, n-len(c.ln))[:n]
		c.valid = slices.Grow(c.valid, n-len(c.valid))[:n]
	}
}

func (c *hjVarCol) copyIn(arr arrow.Array, rows, slots []int32) {
	switch a := arr.(type) {
	case *array.String:
		for k, i := range rows {
			s := slots[k]
			c.valid[s] = a.IsValid(int(i))
			v := a.Value(int(i))
			off, buf := c.heap.alloc(len(v))
			copy(buf, v)
			c.off[s], c.ln[s] = off, uint32(len(v))
		}
	case *array.Binary:
		for k, i := range rows {
			s := slots[k]
			c.valid[s] = a.IsValid(int(i))
			v := a.Value(int(i))
			c.off[s], c.ln[s] = c.heap.add(v), uint32(len(v))
		}
	default:
		for _, s := range slots {
			c.valid[s], c.off[s], c.ln[s] = false, 0, 0
		}
	}
}

func (c *hjVarCol) value(s int32) []byte { return c.heap.bytes(c.off[s], int(c.ln[s])) }

func (c *hjVarCol) gather(slots []int32) arrow.Array {
	n := len(slots)
	offs := make([]int32, n+1)
	size, nulls := 0, 0
	for k, s := range slots {
		if s >= 0 && c.valid[s] {
			size += int(c.ln[s])
		} else {
			nulls++
		}
		offs[k+1] = int32(size)
	}
	data := make([]byte, 0, size)
	for _, s := range slots {
		if s >= 0 && c.valid[s] {
			data = append(data, c.value(s)...)
		}
	}
	d := array.NewData(c.dt, n, []*memory.Buffer{hjValidity(slots, c.valid, nulls),
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

func (c *hjVarCol) free(slots []int32) {
	for _, s := range slots {
		c.garbage += int(c.ln[s])
		c.ln[s] = 0
	}
}

func (c *hjVarCol) compact(meta []hjRowMeta) {
	if c.garbage < 1<<20 || c.garbage < c.heap.size()/2 {
		return
	}
	var heap byteArena
	for s := range meta {
		if meta[s].flags&hjLive == 0 {
			continue
		}
		c.off[s] = heap.add(c.value(int32(s)))
	}
	c.heap, c.garbage = heap, 0
}

func (c *hjVarCol) appendValue(buf []byte, s int32) []byte {
	if !c.valid[s] {
		return append(buf, hjValNull)
	}
	v := c.value(s)
	if c.t.Kind == types.Numeric {
		d, _, err := apd.NewFromString(string(v))
		if err == nil {
			return types.AppendValue(buf, d, c.t)
		}
	}
	buf = binary.AppendUvarint(append(buf, hjValPresent), uint64(len(v)))
	return append(buf, v...)
}

// hjNullCol is a column whose values are always NULL (arrow.Null layout).
type hjNullCol struct{}

func (hjNullCol) grow(int)                               {}
func (hjNullCol) copyIn(arrow.Array, []int32, []int32)   {}
func (hjNullCol) gather(slots []int32) arrow.Array       { return array.NewNull(len(slots)) }
func (hjNullCol) free([]int32)                           {}
func (hjNullCol) compact([]hjRowMeta)                    {}
func (hjNullCol) appendValue(buf []byte, _ int32) []byte { return append(buf, hjValNull) }

// ---------------------------------------------------------------------------
// Key encoding

// hjKeyCol says how one column of a chunk is encoded into a key: the
// order-preserving encoding of types.AppendKey for the value converted to
// keyT, so that equal SQL values of different widths (int4 and int8, int
// and numeric) encode to equal bytes.
type hjKeyCol struct {
	col  int
	src  types.T
	keyT types.T
}

// hjKeys holds the encoded keys of one chunk, reusing buffers.
type hjKeys struct {
	keys    [][]byte
	hasNull []bool
	hashes  []uint64
}

func (k *hjKeys) reset(n int) {
	if cap(k.keys) < n {
		k.keys = append(k.keys[:cap(k.keys)], make([][]byte, n-cap(k.keys))...)
	}
	k.keys = k.keys[:n]
	k.hasNull = slices.Grow(k.hasNull[:0], n)[:n]
	k.hashes = slices.Grow(k.hashes[:0], n)[:n]
	for i := range k.keys {
		k.keys[i] = k.keys[i][:0]
		k.hasNull[i] = false
	}
}

// encode fills the keys of the n rows of cols over kcs and hashes them.
func (k *hjKeys) encode(cols []arrow.Array, kcs []hjKeyCol, n int, seed maphash.Seed, loc *time.Location) error {
	k.reset(n)
	for _, kc := range kcs {
		if err := hjAppendKeys(k.keys, k.hasNull, cols[kc.col], kc, loc); err != nil {
			return err
		}
	}
	for i, key := range k.keys {
		k.hashes[i] = maphash.Bytes(seed, key)
	}
	return nil
}

// hjAppendKeys appends the key of every row of arr to keys[row] and
// marks the rows whose key is NULL. A column whose values encode in keyT
// as they are (any integer as int8, any text as text, float4 as float8)
// is encoded column at a time; cross-type keys (int and numeric, int and
// float) are cast row by row first.
func hjAppendKeys(keys [][]byte, hasNull []bool, arr arrow.Array, kc hjKeyCol, loc *time.Location) error {
	if arr.NullN() > 0 {
		for i := range keys {
			if arr.IsNull(i) {
				hasNull[i] = true
			}
		}
	}
	if hjKeyDirect(kc.src.Kind, kc.keyT.Kind) {
		types.AppendKeys(keys, arr, kc.src, false, false)
		return nil
	}
	for i := range keys {
		d := types.GetDatum(arr, i, kc.src)
		if d != nil {
			var err error
			if d, err = types.Cast(d, kc.src, kc.keyT, loc); err != nil {
				return err
			}
		}
		keys[i] = types.AppendKey(keys[i], d, kc.keyT, false)
	}
	return nil
}

// hjKeyDirect says whether values of kind src have the key encoding of
// kind key without a cast.
func hjKeyDirect(src, key types.Kind) bool {
	switch {
	case src == key:
		return true
	case types.IsIntKind(src):
		return key == types.Int8
	case types.IsTextKind(src):
		return key == types.Text
	}
	return src == types.Float4 && key == types.Float8
}

// ---------------------------------------------------------------------------
// Side state

// Row flags.
const (
	hjLive      uint8 = 1 << iota // the slot holds a live row
	hjDirty                       // written or rewritten since the last barrier
	hjPersisted                   // a version is in storage under the row's state key
)

// hjRowMeta is the per-row bookkeeping of a slot.
type hjRowMeta struct {
	bucket int32 // join-key bucket, -1 for a NULL key
	pos    int32 // index in the bucket's rows
	pkNext int32 // next slot with the same stream-key hash
	degree int32 // matches on the other side (outer, semi, anti sides)
	pkHash uint64
	// The row's state key (without the table prefix) lives in the side's
	// key heap: join key (jkLen bytes), stream key (skLen bytes), then for
	// inputs without a stream key an 8-byte sequence number.
	keyOff       int
	jkLen, skLen uint32
	keyLen       uint32
	flags        uint8 // last: the struct packs into 48 bytes
}

// hjBucket is one distinct join key and its rows' slots (unordered, kept
// contiguous so a probe copies them at once).
type hjBucket struct {
	key      string
	hash     uint64
	rows     []int32
	collNext int32 // next bucket with the same hash
	// Under a memory budget (join_cache.go): the epoch of the bucket's
	// last write, and whether it was used since the clock hand passed.
	lastWrite uint64
	ref       bool
}

// hjSide is the state of one input.
type hjSide struct {
	table *stream.StateTable // key: join key, stream key [, seq]; value: the row
	id    uint32             // its id
	types []types.T
	cols  []hjCol
	meta  []hjRowMeta
	free  stream.FreeList[int32] // free slots
	// deferred are slots deleted during the current chunk: their values
	// are still gathered for its output, so they are freed at its end.
	deferred []int32

	buckets     []hjBucket
	freeBuckets []int32
	byKey       map[uint64]int32 // join-key hash -> first bucket

	appendOnly bool
	noSK       bool             // no stream key: identity is every column plus a sequence number
	byPK       map[uint64]int32 // stream-key hash -> first slot (nil when append-only)
	seq        uint64           // next sequence number (noSK)

	colCap int // slots the columns can hold

	keyHeap    byteArena // each row's state key (join key, stream key [, seq])
	keyGarbage int

	// Memory budget bookkeeping (join_cache.go), kept only when cache
	// is set: the buckets written during the epoch, the join keys whose
	// last rows were removed (their stored rows may still be visible
	// until the epoch commits), and while loading rows back from
	// storage nothing counts as a write.
	cache   bool
	loading bool
	touched []int32
	removed *stream.RemovedKeys // shared with the other side (hjCache.removed)
	live    int                 // live rows

	// Keyless joins under a budget (nested_loop_spill.go): the side's
	// rows may leave memory one by one. epochs holds, per slot, the
	// epoch whose barrier stored the row (0: read from storage), and
	// rowRemoved the state keys of stored rows deleted in an epoch
	// perhaps not committed; both are nil on other sides.
	epochs     []uint64
	rowRemoved *stream.RemovedKeys

	dirty  []int32 // slots written this epoch (may repeat or be stale)
	delBuf []byte  // state keys to delete at the barrier, concatenated
	delEnd []int   // end offsets in delBuf
	valBuf []byte  // scratch for values
}

func newHJSide(table *stream.StateTable, ts []types.T, appendOnly, noSK bool) *hjSide {
	s := &hjSide{table: table, id: table.ID(), types: ts, appendOnly: appendOnly, noSK: noSK, byKey: map[uint64]int32{}}
	for _, t := range ts {
		s.cols = append(s.cols, newHJCol(t))
	}
	if !appendOnly {
		s.byPK = map[uint64]int32{}
	}
	return s
}

// alloc returns a free slot, growing the arena when there is none.
func (s *hjSide) alloc() int32 {
	if slot, ok := s.free.Take(); ok {
		return slot
	}
	slot := int32(len(s.meta))
	if len(s.meta) == cap(s.meta) {
		// Double: append's growth of large slices (1.25x) would copy
		// the arena and every column about four times over.
		s.meta = slices.Grow(s.meta, max(len(s.meta), 1024))
	}
	s.meta = append(s.meta, hjRowMeta{})
	if s.rowRemoved != nil {
		s.epochs = append(s.epochs, 0)
	}
	if n := cap(s.meta); n > s.colCap {
		for _, c := range s.cols {
			c.grow(n)
		}
		s.colCap = n
	}
	return slot
}

// findBucket returns the bucket holding key, or -1.
func (s *hjSide) findBucket(hash uint64, key []byte) int32 {
	b, ok := s.byKey[hash]
	if !ok {
		return -1
	}
	for b >= 0 {
		if s.buckets[b].key == string(key) {
			return b
		}
		b = s.buckets[b].collNext
	}
	return -1
}

// insert links a new row (already allocated in slot) under join key jk and
// stream key sk; jkNull rows are kept out of the join-key index. seq is
// the row's sequence number for inputs without a stream key.
func (s *hjSide) insert(slot int32, jk []byte, jkHash uint64, jkNull bool, sk []byte, pkHash uint64, seq uint64) {
	m := &s.meta[slot]
	*m = hjRowMeta{bucket: -1, pkNext: -1, flags: hjLive | hjDirty, pkHash: pkHash}
	m.jkLen, m.skLen = uint32(len(jk)), uint32(len(sk))
	n := len(jk) + len(sk)
	if s.noSK {
		n += 8
	}
	off, buf := s.keyHeap.alloc(n)
	copy(buf[copy(buf, jk):], sk)
	if s.noSK {
		binary.BigEndian.PutUint64(buf[n-8:], seq)
	}
	m.keyOff, m.keyLen = off, uint32(n)
	s.dirty = append(s.dirty, slot)

	s.live++
	if !jkNull {
		b := s.findBucket(jkHash, jk)
		if b < 0 {
			b = s.newBucket(jkHash, jk)
		}
		bk := &s.buckets[b]
		m.bucket, m.pos = b, int32(len(bk.rows))
		bk.rows = append(bk.rows, slot)
		if s.cache && !s.loading {
			bk.ref = true
			s.touched = append(s.touched, b)
		}
	}
	if s.byPK != nil {
		if head, ok := s.byPK[pkHash]; ok {
			m.pkNext = head
		}
		s.byPK[pkHash] = slot
	}
}

func (s *hjSide) newBucket(hash uint64, key []byte) int32 {
	var b int32
	if n := len(s.freeBuckets); n > 0 {
		b = s.freeBuckets[n-1]
		s.freeBuckets = s.freeBuckets[:n-1]
	} else {
		b = int32(len(s.buckets))
		if len(s.buckets) == cap(s.buckets) {
			s.buckets = slices.Grow(s.buckets, max(len(s.buckets), 1024)) // double, as alloc does
		}
		s.buckets = append(s.buckets, hjBucket{})
	}
	coll := int32(-1)
	if head, ok := s.byKey[hash]; ok {
		coll = head
	}
	s.buckets[b] = hjBucket{key: string(key), hash: hash, rows: s.buckets[b].rows[:0], collNext: coll}
	s.byKey[hash] = b
	return b
}

// dropBucket frees bucket b, which has no rows left. gone: the key's
// rows were removed rather than evicted.
func (s *hjSide) dropBucket(b int32, gone bool) {
	bk := &s.buckets[b]
	if gone && s.cache {
		s.removed.AddNow(bk.key) // dated at the barrier
	}
	unlinkChain(s.byKey, bk.hash, b, func(i int32) *int32 { return &s.buckets[i].collNext })
	*bk = hjBucket{rows: bk.rows[:0], collNext: -1}
	s.freeBuckets = append(s.freeBuckets, b)
}

// unlinkChain takes x out of the hash chain of h in heads (-1 ends a
// chain); next returns the link field of an element.
func unlinkChain(heads map[uint64]int32, h uint64, x int32, next func(int32) *int32) {
	head := heads[h]
	if head == x {
		if n := *next(x); n >= 0 {
			heads[h] = n
		} else {
			delete(heads, h)
		}
		return
	}
	for p := head; p >= 0; p = *next(p) {
		if np := next(p); *np == x {
			*np = *next(x)
			return
		}
	}
}

// lookupPK returns the live slot with stream key sk, or -1.
func (s *hjSide) lookupPK(sk []byte, pkHash uint64) int32 {
	slot, ok := s.byPK[pkHash]
	if !ok {
		return -1
	}
	for slot >= 0 {
		m := &s.meta[slot]
		key := s.keyHeap.bytes(m.keyOff, int(m.keyLen))
		if bytes.Equal(key[m.jkLen:m.jkLen+m.skLen], sk) {
			return slot
		}
		slot = m.pkNext
	}
	return -1
}

// stateKey returns slot's state table key (valid until the arena
// moves).
func (s *hjSide) stateKey(slot int32) []byte {
	m := &s.meta[slot]
	return s.keyHeap.bytes(m.keyOff, int(m.keyLen))
}

// remove unlinks a live row, deleting it from storage at the next
// barrier; its slot is freed by releaseDeferred.
func (s *hjSide) remove(slot int32) {
	if s.meta[slot].flags&hjPersisted != 0 {
		s.delBuf = append(s.delBuf, s.stateKey(slot)...)
		s.delEnd = append(s.delEnd, len(s.delBuf))
		if s.rowRemoved != nil {
			s.rowRemoved.AddNow(string(s.stateKey(slot)))
		}
	}
	s.unlink(slot, true)
}

// unlink takes a live row out of the indexes (gone: it is removed, not
// evicted); its slot is freed by releaseDeferred.
func (s *hjSide) unlink(slot int32, gone bool) {
	m := &s.meta[slot]
	s.live--
	if m.bucket >= 0 {
		bk := &s.buckets[m.bucket]
		if s.cache && gone {
			s.touched = append(s.touched, m.bucket)
		}
		last := bk.rows[len(bk.rows)-1]
		bk.rows[m.pos] = last
		s.meta[last].pos = m.pos
		bk.rows = bk.rows[:len(bk.rows)-1]
		if len(bk.rows) == 0 {
			s.dropBucket(m.bucket, gone)
		}
	}
	if s.byPK != nil {
		unlinkChain(s.byPK, m.pkHash, slot, func(i int32) *int32 { return &s.meta[i].pkNext })
	}
	m.flags = 0
	m.bucket = -1
	s.deferred = append(s.deferred, slot)
}

// releaseDeferred frees the slots removed during the chunk and compacts
// heaps that became mostly garbage.
func (s *hjSide) releaseDeferred() {
	if len(s.deferred) == 0 {
		return
	}
	for _, c := range s.cols {
		c.free(s.deferred)
	}
	for _, slot := range s.deferred {
		s.keyGarbage += int(s.meta[slot].keyLen)
		s.meta[slot].keyLen = 0
	}
	s.free = append(s.free, s.deferred...)
	s.deferred = s.deferred[:0]
	for _, c := range s.cols {
		c.compact(s.meta)
	}
	if s.keyGarbage >= 1<<20 && s.keyGarbage >= s.keyHeap.size()/2 {
		var heap byteArena
		for i := range s.meta {
			m := &s.meta[i]
			if m.flags&hjLive == 0 {
				continue
			}
			m.keyOff = heap.add(s.keyHeap.bytes(m.keyOff, int(m.keyLen)))
		}
		s.keyHeap, s.keyGarbage = heap, 0
	}
}

// gather returns the side's columns at slots (-1 = NULL).
func (s *hjSide) gather(slots []int32, dst []arrow.Array) []arrow.Array {
	for _, c := range s.cols {
		dst = append(dst, c.gather(slots))
	}
	return dst
}

// gatherSome is gather for the columns marked in need; the others are
// NULL.
func (s *hjSide) gatherSome(slots []int32, need []bool, dst []arrow.Array) []arrow.Array {
	for j, c := range s.cols {
		if need[j] {
			dst = append(dst, c.gather(slots))
		} else {
			dst = append(dst, array.NewNull(len(slots)))
		}
	}
	return dst
}

// encodeValue returns slot's row in types.EncodeRow's encoding.
func (s *hjSide) encodeValue(slot int32) []byte {
	buf := binary.AppendUvarint(s.valBuf[:0], uint64(len(s.cols)))
	for _, c := range s.cols {
		buf = c.appendValue(buf, slot)
	}
	s.valBuf = buf
	return buf
}

// flush writes the rows changed since the last barrier, that of epoch,
// into w: deletes of rows that were stored, then the current version of
// every dirty row (a row deleted and re-inserted under the same key ends
// up Set).
func (s *hjSide) flush(w *pebble.Batch, epoch uint64) error {
	start := 0
	for _, end := range s.delEnd {
		if err := s.table.Delete(w, s.delBuf[start:end]); err != nil {
			return fmt.Errorf("hash join state: %w", err)
		}
		start = end
	}
	s.delBuf, s.delEnd = s.delBuf[:0], s.delEnd[:0]
	for _, slot := range s.dirty {
		m := &s.meta[slot]
		if m.flags&(hjLive|hjDirty) != hjLive|hjDirty {
			continue
		}
		if err := s.table.Insert(w, s.stateKey(slot), s.encodeValue(slot)); err != nil {
			return fmt.Errorf("hash join state: %w", err)
		}
		m.flags = m.flags&^hjDirty | hjPersisted
		if s.epochs != nil {
			s.epochs[slot] = epoch
		}
	}
	s.dirty = s.dirty[:0]
	return nil
}

// markLoaded records every live row as stored (after recovery).
func (s *hjSide) markLoaded() {
	for i := range s.meta {
		if s.meta[i].flags&hjLive != 0 {
			s.meta[i].flags = hjLive | hjPersisted
		}
	}
	s.dirty = s.dirty[:0]
	s.delBuf, s.delEnd = s.delBuf[:0], s.delEnd[:0]
}

// scan reads the side's stored rows in batches of up to n, calling fn with
// each batch as a chunk of inserts and, for inputs without a stream key,
// the rows' sequence numbers.
func (s *hjSide) scan(r storage.Reader, n int, fn func(c *stream.Chunk, seqs []uint64) error) error {
	return s.scanPrefix(r, nil, n, nil, fn)
}

// scanPrefix is scan over the stored keys that start with prefix, less
// those skip reports (skip may be nil; it sees keys without the table
// prefix, as stateKey returns them).
func (s *hjSide) scanPrefix(r storage.Reader, prefix []byte, n int, skip func(key []byte) bool, fn func(c *stream.Chunk, seqs []uint64) error) error {
	it, err := s.table.NewIter(r, prefix)
	if err != nil {
		return fmt.Errorf("hash join state %d: %w", s.id, err)
	}
	var rows [][]types.Datum
	var seqs []uint64
	emit := func() error {
		if len(rows) == 0 {
			return nil
		}
		cols := make([]arrow.Array, len(s.types))
		ds := make([]types.Datum, len(rows))
		for j, t := range s.types {
			for i, r := range rows {
				ds[i] = r[j]
			}
			cols[j] = types.ArrayFromDatums(t, ds)
		}
		c := stream.NewChunk(cols, make([]stream.Op, len(rows)))
		err := fn(c, seqs)
		rows, seqs = rows[:0], seqs[:0]
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		if skip != nil && skip(it.Key()) {
			continue
		}
		row, err := types.DecodeRow(it.Value(), s.types)
		if err != nil {
			it.Close()
			return fmt.Errorf("hash join state %d: %w", s.id, err)
		}
		rows = append(rows, row)
		if s.noSK {
			k := it.Key()
			if len(k) < 8 {
				it.Close()
				return sqlerr.New(sqlerr.DataCorrupted, "hash join state %d: short key", s.id)
			}
			seq := binary.BigEndian.Uint64(k[len(k)-8:])
			seqs = append(seqs, seq)
			if seq >= s.seq {
				s.seq = seq + 1
			}
		}
		if len(rows) == n {
			if err := emit(); err != nil {
				it.Close()
				return err
			}
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("hash join state %d: %w", s.id, err)
	}
	return emit()
}
