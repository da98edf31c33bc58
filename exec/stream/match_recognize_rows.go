package stream

// The rows a MATCH_RECOGNIZE view keeps: every input row from its arrival
// until no partial match or navigation can read it any more.
//
// Rows are kept in blocks. A block holds the rows that arrived in one
// epoch (at most mrBlockRows of them), column by column: the 64-bit
// columns (bigint, timestamp, timestamptz) as their values, the others as
// datums, so the matcher gathers a column of many rows without decoding
// or boxing. A row's handle is its block's number << mrBlockBits | its
// index in the block; handles are never reused, so the handles the
// partitions' states hold name the same rows after a restart.
//
// At the barrier that ends its epoch a block with live rows is written as
// one state entry (block number -> its rows, a row already gone as an
// empty entry), and the barrier after its last row is gone deletes it:
// one write and one delete per block instead of one per row. A row that
// goes after its block was written stays in the entry; on restart a row
// is live when a partition keeps it or the watermark has not passed it
// (every row behind the stored watermark was fed to the matcher at that
// barrier, and the matcher keeps the ones it still reads).
//
// Entry layout: uvarint row count, then for every row a uvarint length
// and the row (types.EncodeRow), length 0 for a row that is gone.

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/sql/types"
)

const (
	mrBlockBits = 16
	mrBlockRows = 1 << mrBlockBits
)

// mrBlock is the rows of one block, by column.
type mrBlock struct {
	num  int64
	n    int
	live int
	// ints[c] are the values of a 64-bit column c (nil otherwise), nulls[c]
	// its NULLs (nil when it has none); datums[c] the values of the other
	// columns.
	ints   [][]int64
	nulls  [][]bool
	datums [][]types.Datum
	gone   []bool
	// fresh: the block's epoch has not ended (it is not written yet);
	// written: the block has an entry in the rows table.
	fresh, written bool
}

// mrRows is the rows of a MATCH_RECOGNIZE operator, in blocks.
type mrRows struct {
	types   []types.T
	timeCol int
	is64    []bool
	table   *StateTable
	// blocks from number first on; nil where a block is gone.
	first  int64
	blocks []*mrBlock
	cur    *mrBlock   // the block rows go to, nil until one arrives
	fresh  []*mrBlock // the blocks of this epoch (all full but cur)
	next   int64      // the next block number
	// lastN is the size of the last block ended, to size the next.
	lastN int
	// deleted are the written blocks whose rows are all gone.
	deleted []int64
	// live counts the rows kept.
	live int

	keyBuf, valBuf, rowBuf []byte
}

func newMRRows(ts []types.T, timeCol int, table *StateTable) *mrRows {
	r := &mrRows{types: ts, timeCol: timeCol, table: table, is64: make([]bool, len(ts))}
	for c, t := range ts {
		r.is64[c] = t.Kind == types.Int8 || t.Kind == types.TimestampKind || t.Kind == types.TimestampTZ
	}
	return r
}

func (r *mrRows) newBlock(num int64) *mrBlock {
	b := &mrBlock{num: num, ints: make([][]int64, len(r.types)), nulls: make([][]bool, len(r.types)),
		datums: make([][]types.Datum, len(r.types))}
	// Blocks are made in ascending numbers.
	if len(r.blocks) == 0 {
		r.first = num
	}
	for num >= r.first+int64(len(r.blocks)) {
		r.blocks = append(r.blocks, nil)
	}
	r.blocks[num-r.first] = b
	r.next = max(r.next, num+1)
	return b
}

// reserve makes room for n rows in b's columns.
func (b *mrBlock) reserve(is64 []bool, n int) {
	n = min(max(n, 64), mrBlockRows)
	for c, is := range is64 {
		if is {
			b.ints[c] = make([]int64, 0, n)
		} else {
			b.datums[c] = make([]types.Datum, 0, n)
		}
	}
	b.gone = make([]bool, 0, n)
}

// block returns the block and index of handle h.
func (r *mrRows) block(h int64) (*mrBlock, int) {
	b := r.blocks[(h>>mrBlockBits)-r.first]
	return b, int(h & (mrBlockRows - 1))
}

// room returns the block the next row goes to: the current one, or a new
// one when there is none or it is full.
func (r *mrRows) room() *mrBlock {
	if r.cur == nil || r.cur.n == mrBlockRows {
		r.cur = r.newBlock(r.next)
		r.cur.reserve(r.is64, r.lastN)
		r.cur.fresh = true
		r.fresh = append(r.fresh, r.cur)
	}
	return r.cur
}

// appendDatum appends d to column c of b (a 64-bit column when is64).
func (b *mrBlock) appendDatum(is64 bool, c int, d types.Datum) {
	if !is64 {
		b.datums[c] = append(b.datums[c], d)
		return
	}
	var v int64
	switch x := d.(type) {
	case int64:
		v = x
	case types.Timestamp:
		v = int64(x)
	}
	b.ints[c] = append(b.ints[c], v)
	if d == nil && b.nulls[c] == nil {
		b.nulls[c] = make([]bool, b.n, max(b.n+1, 64))
	}
	if b.nulls[c] != nil {
		b.nulls[c] = append(b.nulls[c], d == nil)
	}
}

// Add keeps rows sel of chunk c and appends their handles to hs.
func (r *mrRows) Add(c *Chunk, sel []int32, hs []int64) []int64 {
	for len(sel) > 0 {
		b := r.room()
		k := min(len(sel), mrBlockRows-b.n)
		part := sel[:k]
		sel = sel[k:]
		for j, col := range c.Cols[:len(r.types)] {
			if r.is64[j] {
				vals := arrow.GetValues[int64](col.Data(), 1)
				for _, i := range part {
					b.ints[j] = append(b.ints[j], vals[i])
				}
				if col.NullN() > 0 {
					if b.nulls[j] == nil {
						b.nulls[j] = make([]bool, b.n, max(b.n+k, 64))
					}
					for _, i := range part {
						b.nulls[j] = append(b.nulls[j], col.IsNull(int(i)))
					}
				} else if b.nulls[j] != nil {
					b.nulls[j] = append(b.nulls[j], make([]bool, k)...)
				}
				continue
			}
			for _, i := range part {
				d := types.GetDatum(col, int(i), r.types[j])
				b.datums[j] = append(b.datums[j], d)
			}
		}
		for range part {
			hs = append(hs, b.num<<mrBlockBits|int64(b.n))
			b.gone = append(b.gone, false)
			b.n++
		}
		b.live += k
		r.live += k
	}
	return hs
}

// Bytes estimates the memory of the rows kept.
func (r *mrRows) Bytes() int64 {
	var per int64 = 1
	for _, is := range r.is64 {
		if is {
			per += 8
		} else {
			per += 32
		}
	}
	return int64(r.live) * per
}

// Free drops the row of handle h.
func (r *mrRows) Free(h int64) {
	b, i := r.block(h)
	b.gone[i] = true
	b.live--
	r.live--
	for c := range b.datums {
		if b.datums[c] != nil {
			b.datums[c][i] = nil
		}
	}
	if b.live == 0 && !b.fresh {
		r.drop(b)
	}
}

// drop forgets a block whose rows are all gone.
func (r *mrRows) drop(b *mrBlock) {
	if b.written {
		r.deleted = append(r.deleted, b.num)
	}
	r.blocks[b.num-r.first] = nil
	k := 0
	for k < len(r.blocks) && r.blocks[k] == nil {
		k++
	}
	if k == len(r.blocks) {
		r.blocks, r.first = r.blocks[:0], r.next
		return
	}
	if k > 0 {
		r.blocks = append(r.blocks[:0], r.blocks[k:]...)
		r.first += int64(k)
	}
}

// Time returns the time column's value of row h.
func (r *mrRows) Time(h int64) int64 {
	b, i := r.block(h)
	return b.ints[r.timeCol][i]
}

// Datum returns column col of row h.
func (r *mrRows) Datum(h int64, col int) types.Datum {
	b, i := r.block(h)
	if !r.is64[col] {
		return b.datums[col][i]
	}
	if b.nulls[col] != nil && b.nulls[col][i] {
		return nil
	}
	v := b.ints[col][i]
	if r.types[col].Kind == types.Int8 {
		return v
	}
	return types.Timestamp(v)
}

// Gather returns column col of rows handles, NULL for a handle of -1.
func (r *mrRows) Gather(col int, handles []int64) (arrow.Array, error) {
	for _, h := range handles {
		if h < 0 {
			continue
		}
		if b, i := r.block(h); b == nil || b.gone[i] {
			return nil, fmt.Errorf("match_recognize: row %d is gone", h)
		}
	}
	if !r.is64[col] {
		ds := make([]types.Datum, len(handles))
		for k, h := range handles {
			if h >= 0 {
				b, i := r.block(h)
				ds[k] = b.datums[col][i]
			}
		}
		return types.ArrayFromDatums(r.types[col], ds), nil
	}
	n := len(handles)
	vals := make([]int64, n)
	var bits []byte
	nulls := 0
	for k, h := range handles {
		null := h < 0
		if !null {
			b, i := r.block(h)
			vals[k] = b.ints[col][i]
			null = b.nulls[col] != nil && b.nulls[col][i]
		}
		if null {
			if bits == nil {
				bits = make([]byte, bitutil.BytesForBits(int64(n)))
				bitutil.SetBitsTo(bits, 0, int64(n), true)
			}
			bitutil.ClearBit(bits, k)
			nulls++
		}
	}
	var nb *memory.Buffer
	if bits != nil {
		nb = memory.NewBufferBytes(bits)
	}
	d := array.NewData(r.types[col].ArrowType(), n, []*memory.Buffer{nb, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(vals))}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// Flush ends the epoch's blocks: it writes those with live rows, and
// deletes the written blocks whose rows are all gone.
func (r *mrRows) Flush(w *pebble.Batch) error {
	r.cur = nil
	for _, b := range r.fresh {
		b.fresh = false
		r.lastN = b.n
		if b.live == 0 {
			r.drop(b)
		} else {
			r.valBuf = binary.AppendUvarint(r.valBuf[:0], uint64(b.n))
			for i := 0; i < b.n; i++ {
				if b.gone[i] {
					r.valBuf = binary.AppendUvarint(r.valBuf, 0)
					continue
				}
				r.valBuf = r.AppendRow(r.valBuf, b.num<<mrBlockBits|int64(i))
			}
			r.keyBuf = r.table.AppendKey(r.keyBuf[:0], b.num)
			if err := r.table.Insert(w, r.keyBuf, r.valBuf); err != nil {
				return err
			}
			b.written = true
		}
	}
	clear(r.fresh)
	r.fresh = r.fresh[:0]
	for _, num := range r.deleted {
		r.keyBuf = r.table.AppendKey(r.keyBuf[:0], num)
		if err := r.table.Delete(w, r.keyBuf); err != nil {
			return err
		}
	}
	r.deleted = r.deleted[:0]
	return nil
}

// AppendRow appends row h to buf as a length-prefixed encoded row, the
// form of a row in a block entry (DecodeRow reads it back).
func (r *mrRows) AppendRow(buf []byte, h int64) []byte {
	r.rowBuf = binary.AppendUvarint(r.rowBuf[:0], uint64(len(r.types)))
	for c, t := range r.types {
		r.rowBuf = types.AppendValue(r.rowBuf, r.Datum(h, c), t)
	}
	buf = binary.AppendUvarint(buf, uint64(len(r.rowBuf)))
	return append(buf, r.rowBuf...)
}

// DecodeRow reads a row AppendRow wrote at the start of b and returns it
// with the rest of b.
func (r *mrRows) DecodeRow(b []byte) ([]types.Datum, []byte, error) {
	l, k := binary.Uvarint(b)
	if k <= 0 || l > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("match_recognize: corrupt row")
	}
	row, err := r.table.DecodeValue(b[k : k+int(l)])
	return row, b[k+int(l):], err
}

// AddRows keeps rows (given as datums: rows read back from storage) and
// appends their handles to hs.
func (r *mrRows) AddRows(rows [][]types.Datum, hs []int64) []int64 {
	for _, row := range rows {
		b := r.room()
		for c, d := range row {
			b.appendDatum(r.is64[c], c, d)
		}
		hs = append(hs, b.num<<mrBlockBits|int64(b.n))
		b.gone = append(b.gone, false)
		b.n++
		b.live++
		r.live++
	}
	return hs
}

// Load reads a block entry of the rows table and calls live for every
// row in it (with its handle, datums and time) to learn whether it is
// still kept; the others are gone.
func (r *mrRows) Load(key, val []byte, live func(h int64, row []types.Datum, ts int64) bool) error {
	kv, _, err := r.table.DecodeKey(key, 1)
	if err != nil {
		return err
	}
	num := kv[0].(int64)
	n, k := binary.Uvarint(val)
	if k <= 0 || n > mrBlockRows {
		return fmt.Errorf("match_recognize: corrupt row block %d", num)
	}
	val = val[k:]
	b := r.newBlock(num)
	b.written = true
	for i := 0; i < int(n); i++ {
		l, k := binary.Uvarint(val)
		if k <= 0 || l > uint64(len(val)-k) {
			return fmt.Errorf("match_recognize: corrupt row block %d", num)
		}
		enc := val[k : k+int(l)]
		val = val[k+int(l):]
		var row []types.Datum
		if l > 0 {
			if row, err = r.table.DecodeValue(enc); err != nil {
				return err
			}
		}
		h := num<<mrBlockBits | int64(i)
		keep := false
		if row != nil {
			ts, _ := row[r.timeCol].(types.Timestamp)
			keep = live(h, row, int64(ts))
		}
		for c, d := range row {
			if !keep && !r.is64[c] {
				d = nil
			}
			b.appendDatum(r.is64[c], c, d)
		}
		if row == nil {
			for c := range r.types {
				if r.is64[c] {
					b.ints[c] = append(b.ints[c], 0)
					if b.nulls[c] != nil {
						b.nulls[c] = append(b.nulls[c], false)
					}
				} else {
					b.datums[c] = append(b.datums[c], nil)
				}
			}
		}
		b.gone = append(b.gone, !keep)
		b.n++
		if keep {
			b.live++
			r.live++
		}
	}
	if len(val) != 0 {
		return fmt.Errorf("match_recognize: corrupt row block %d", num)
	}
	if b.live == 0 {
		r.drop(b)
	}
	return nil
}
