package batch

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
)

// External merge sort: when a Sort's input does not fit in the statement's
// memory, each memory-full of rows is sorted (with the in-memory
// comparator) and written as a sorted run to a spill file; at the end the
// runs are merged with a binary heap, at most fanIn runs at a time (runs
// beyond that are first merged into longer runs, consecutive ones
// together, so input order is kept for stability).
//
// The merge compares rows of different runs through an order-preserving
// byte encoding of their sort keys (sql/types' key encoding, with the
// NULL marker placed by NULLS FIRST/LAST), computed once per row as a run
// batch is read back; ties go to the earlier run, so the sort stays
// stable, as the in-memory sort is.

// sortRun is one sorted run on disk.
type sortRun struct {
	file *spillFile
	rows int64
}

// writeRun sorts the rows of t by keys and writes them as a run.
func writeRun(ctx *exec.Ctx, t *table, keys []SortKey, ts []types.T, perm []int32, batchRows int) (*sortRun, []int32, error) {
	perm = sortPerm(t, keys, perm)
	f, err := newSpillFile(ctx, ts, "sort")
	if err != nil {
		return nil, perm, err
	}
	for lo := 0; lo < t.n; lo += batchRows {
		if err := checkCtx(ctx); err != nil {
			f.remove()
			return nil, perm, err
		}
		hi := min(lo+batchRows, t.n)
		b := takeCols(t.cols, perm[lo:hi])
		err := f.write(b)
		b.Release()
		if err != nil {
			f.remove()
			return nil, perm, err
		}
	}
	if err := f.finish(); err != nil {
		f.remove()
		return nil, perm, err
	}
	return &sortRun{file: f, rows: int64(t.n)}, perm, nil
}

// runCursor is the read position in one run during a merge.
type runCursor struct {
	r    *spillReader
	b    *exec.Batch
	src  int32 // index of b in the merger's sources
	row  int
	keys [][]byte
	kbuf []byte
}

// merger merges sorted runs into one sorted stream of batches.
type merger struct {
	keys    []SortKey
	ts      []types.T
	runs    []*sortRun
	cursors []*runCursor
	heap    []int // cursor indices, a binary min-heap
	srcs    []*exec.Batch
	refs    []rowRef
	mem     *exec.MemAccount
	held    int64
	done    bool
	outRows int // rows per output batch
}

// rowRef is row Row of source batch Src.
type rowRef struct{ src, row int32 }

// newMerger opens the runs for merging; the merger removes their files.
func newMerger(ctx *exec.Ctx, runs []*sortRun, keys []SortKey, ts []types.T, outRows int) (*merger, error) {
	m := &merger{keys: keys, ts: ts, runs: runs, mem: ctx.Mem, outRows: max(1, min(outRows, exec.BatchSize))}
	for i, run := range runs {
		r, err := run.file.open()
		if err != nil {
			m.close()
			return nil, err
		}
		c := &runCursor{r: r}
		m.cursors = append(m.cursors, c)
		ok, err := m.advance(c)
		if err != nil {
			m.close()
			return nil, err
		}
		if ok {
			m.push(i)
		}
	}
	return m, nil
}

// advance loads c's next batch; false when the run is exhausted.
func (m *merger) advance(c *runCursor) (bool, error) {
	for {
		b, err := c.r.next()
		if err != nil {
			return false, err
		}
		if b == nil {
			c.b = nil
			return false, nil
		}
		if b.N == 0 {
			b.Release()
			continue
		}
		sz := batchBytes(b)
		if err := m.mem.Grow("Sort (merge)", sz); err != nil {
			b.Release()
			return false, err
		}
		m.held += sz
		c.b, c.row = b, 0
		c.src = int32(len(m.srcs))
		m.srcs = append(m.srcs, b)
		c.keys, c.kbuf = encodeSortKeys(b.Cols, m.keys, b.N, c.keys, c.kbuf[:0])
		return true, nil
	}
}

func (m *merger) less(a, b int) bool {
	ca, cb := m.cursors[a], m.cursors[b]
	if c := bytes.Compare(ca.keys[ca.row], cb.keys[cb.row]); c != 0 {
		return c < 0
	}
	return a < b // the earlier run first: stability
}

func (m *merger) push(i int) {
	m.heap = append(m.heap, i)
	k := len(m.heap) - 1
	for k > 0 {
		p := (k - 1) / 2
		if !m.less(m.heap[k], m.heap[p]) {
			break
		}
		m.heap[k], m.heap[p] = m.heap[p], m.heap[k]
		k = p
	}
}

// fix restores the heap after the top's key changed.
func (m *merger) fix() {
	h := m.heap
	k := 0
	for {
		l := 2*k + 1
		if l >= len(h) {
			break
		}
		s := l
		if r := l + 1; r < len(h) && m.less(h[r], h[l]) {
			s = r
		}
		if !m.less(h[s], h[k]) {
			break
		}
		h[k], h[s] = h[s], h[k]
		k = s
	}
}

func (m *merger) pop() {
	last := len(m.heap) - 1
	m.heap[0] = m.heap[last]
	m.heap = m.heap[:last]
	if last > 0 {
		m.fix()
	}
}

// next returns the next merged batch of up to exec.BatchSize rows, or nil.
func (m *merger) next(ctx *exec.Ctx) (*exec.Batch, error) {
	if m.done {
		return nil, nil
	}
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	m.refs = m.refs[:0]
	// Sources that stop being current during this batch are released
	// after the gather.
	var retired []int32
	for len(m.refs) < m.outRows && len(m.heap) > 0 {
		top := m.heap[0]
		c := m.cursors[top]
		m.refs = append(m.refs, rowRef{src: c.src, row: int32(c.row)})
		c.row++
		if c.row < c.b.N {
			m.fix()
			continue
		}
		retired = append(retired, c.src)
		ok, err := m.advance(c)
		if err != nil {
			return nil, err
		}
		if ok {
			m.fix()
		} else {
			m.pop()
		}
	}
	if len(m.refs) == 0 {
		m.done = true
		return nil, nil
	}
	cols := make([]arrow.Array, len(m.ts))
	for j := range cols {
		cols[j] = gatherColumn(m.srcs, j, m.refs)
	}
	for _, s := range retired {
		sz := batchBytes(m.srcs[s])
		m.srcs[s].Release()
		m.srcs[s] = nil
		m.mem.Shrink(sz)
		m.held -= sz
	}
	m.compactSrcs()
	return exec.NewBatch(cols, len(m.refs)), nil
}

// compactSrcs drops released sources from the front of the source list
// so that it stays as long as the number of runs.
func (m *merger) compactSrcs() {
	if len(m.srcs) < 4*len(m.cursors)+16 {
		return
	}
	live := m.srcs[:0]
	for _, c := range m.cursors {
		if c.b != nil {
			c.src = int32(len(live))
			live = append(live, c.b)
		}
	}
	clear(m.srcs[len(live):])
	m.srcs = live
}

// close releases the batches held and removes the runs' files.
func (m *merger) close() {
	for _, b := range m.srcs {
		if b != nil {
			b.Release()
		}
	}
	m.srcs = nil
	m.mem.Shrink(m.held)
	m.held = 0
	for _, c := range m.cursors {
		c.r.close()
	}
	m.cursors, m.heap = nil, nil
	for _, r := range m.runs {
		r.file.remove()
	}
	m.runs = nil
}

// gatherColumn builds column j of the rows refs from the source batches.
func gatherColumn(srcs []*exec.Batch, j int, refs []rowRef) arrow.Array {
	var proto arrow.Array
	for _, r := range refs {
		proto = srcs[r.src].Cols[j]
		break
	}
	switch proto.(type) {
	case *array.Null:
		return array.NewNull(len(refs))
	case *array.Boolean:
		return gatherFixed(srcs, j, refs, proto, func(a arrow.Array, i int) bool { return a.(*array.Boolean).Value(i) },
			func(b array.Builder, v []bool, ok []bool) { b.(*array.BooleanBuilder).AppendValues(v, ok) })
	case *array.Int16:
		return gatherTyped(srcs, j, refs, proto, (*array.Int16).Int16Values, func(b array.Builder, v []int16, ok []bool) { b.(*array.Int16Builder).AppendValues(v, ok) })
	case *array.Int32:
		return gatherTyped(srcs, j, refs, proto, (*array.Int32).Int32Values, func(b array.Builder, v []int32, ok []bool) { b.(*array.Int32Builder).AppendValues(v, ok) })
	case *array.Int64:
		return gatherTyped(srcs, j, refs, proto, (*array.Int64).Int64Values, func(b array.Builder, v []int64, ok []bool) { b.(*array.Int64Builder).AppendValues(v, ok) })
	case *array.Float32:
		return gatherTyped(srcs, j, refs, proto, (*array.Float32).Float32Values, func(b array.Builder, v []float32, ok []bool) { b.(*array.Float32Builder).AppendValues(v, ok) })
	case *array.Float64:
		return gatherTyped(srcs, j, refs, proto, (*array.Float64).Float64Values, func(b array.Builder, v []float64, ok []bool) { b.(*array.Float64Builder).AppendValues(v, ok) })
	case *array.Date32:
		return gatherTyped(srcs, j, refs, proto, (*array.Date32).Date32Values, func(b array.Builder, v []arrow.Date32, ok []bool) { b.(*array.Date32Builder).AppendValues(v, ok) })
	case *array.Time64:
		return gatherTyped(srcs, j, refs, proto, (*array.Time64).Time64Values, func(b array.Builder, v []arrow.Time64, ok []bool) { b.(*array.Time64Builder).AppendValues(v, ok) })
	case *array.Timestamp:
		return gatherTyped(srcs, j, refs, proto, (*array.Timestamp).TimestampValues, func(b array.Builder, v []arrow.Timestamp, ok []bool) { b.(*array.TimestampBuilder).AppendValues(v, ok) })
	case *array.MonthDayNanoInterval:
		return gatherTyped(srcs, j, refs, proto, (*array.MonthDayNanoInterval).MonthDayNanoIntervalValues, func(b array.Builder, v []arrow.MonthDayNanoInterval, ok []bool) {
			b.(*array.MonthDayNanoIntervalBuilder).AppendValues(v, ok)
		})
	case *array.String:
		b := array.NewStringBuilder(types.Mem)
		defer b.Release()
		b.Reserve(len(refs))
		for _, r := range refs {
			a := srcs[r.src].Cols[j].(*array.String)
			if a.IsNull(int(r.row)) {
				b.AppendNull()
			} else {
				b.Append(a.Value(int(r.row)))
			}
		}
		return b.NewArray()
	case *array.Binary:
		b := array.NewBinaryBuilder(types.Mem, proto.DataType().(arrow.BinaryDataType))
		defer b.Release()
		b.Reserve(len(refs))
		for _, r := range refs {
			a := srcs[r.src].Cols[j].(*array.Binary)
			if a.IsNull(int(r.row)) {
				b.AppendNull()
			} else {
				b.Append(a.Value(int(r.row)))
			}
		}
		return b.NewArray()
	}
	// Any other layout: row by row through datums.
	b := array.NewBuilder(types.Mem, proto.DataType())
	defer b.Release()
	for _, r := range refs {
		types.AppendDatum(b, types.GetDatum(srcs[r.src].Cols[j], int(r.row), types.T{}))
	}
	return b.NewArray()
}

func gatherTyped[A arrow.Array, V any](srcs []*exec.Batch, j int, refs []rowRef, proto arrow.Array, values func(A) []V, appendValues func(array.Builder, []V, []bool)) arrow.Array {
	out := make([]V, len(refs))
	valid := make([]bool, len(refs))
	last := int32(-1)
	var vals []V
	var col arrow.Array
	for k, r := range refs {
		if r.src != last {
			col = srcs[r.src].Cols[j]
			vals = values(col.(A))
			last = r.src
		}
		if col.IsValid(int(r.row)) {
			out[k], valid[k] = vals[r.row], true
		}
	}
	b := array.NewBuilder(types.Mem, proto.DataType())
	defer b.Release()
	appendValues(b, out, valid)
	return b.NewArray()
}

func gatherFixed[V any](srcs []*exec.Batch, j int, refs []rowRef, proto arrow.Array, value func(arrow.Array, int) V, appendValues func(array.Builder, []V, []bool)) arrow.Array {
	out := make([]V, len(refs))
	valid := make([]bool, len(refs))
	for k, r := range refs {
		col := srcs[r.src].Cols[j]
		if col.IsValid(int(r.row)) {
			out[k], valid[k] = value(col, int(r.row)), true
		}
	}
	b := array.NewBuilder(types.Mem, proto.DataType())
	defer b.Release()
	appendValues(b, out, valid)
	return b.NewArray()
}

// encodeSortKeys encodes the sort keys of rows 0..n-1 of cols so that
// bytes.Compare orders them as rowCmp does. keys[i] are slices of buf.
func encodeSortKeys(cols []arrow.Array, sk []SortKey, n int, keys [][]byte, buf []byte) ([][]byte, []byte) {
	ends := make([]int, n)
	// Column-major encoding would need per-row buffers; encode row-major
	// with typed fast paths per key column instead.
	for i := 0; i < n; i++ {
		for _, k := range sk {
			buf = appendSortKey(buf, cols[k.Col], i, k)
		}
		ends[i] = len(buf)
	}
	if cap(keys) < n {
		keys = make([][]byte, n)
	}
	keys = keys[:n]
	start := 0
	for i, e := range ends {
		keys[i] = buf[start:e:e]
		start = e
	}
	return keys, buf
}

// appendSortKey appends the key of row i of c for one sort key: a NULL
// marker below (NULLS FIRST) or above (NULLS LAST) every value in either
// direction, else the value's order-preserving encoding, inverted for
// DESC.
func appendSortKey(buf []byte, c arrow.Array, i int, k SortKey) []byte {
	if c.IsNull(i) {
		if k.NullsFirst {
			return append(buf, 0x00)
		}
		return append(buf, 0xFF)
	}
	start := len(buf)
	switch a := c.(type) {
	case *array.Int64:
		buf = append(buf, 0x01)
		buf = binary.BigEndian.AppendUint64(buf, uint64(a.Value(i))^(1<<63))
	case *array.Int32:
		buf = append(buf, 0x01)
		buf = binary.BigEndian.AppendUint64(buf, uint64(int64(a.Value(i)))^(1<<63))
	case *array.Float64:
		buf = append(buf, 0x01)
		buf = binary.BigEndian.AppendUint64(buf, sortFloatBits(a.Value(i)))
	case *array.String:
		if k.T.Kind == types.Numeric || k.T.Kind == types.Char {
			return types.AppendKey(buf, types.GetDatum(c, i, k.T), k.T, k.Desc)
		}
		buf = append(buf, 0x01)
		s := a.Value(i)
		for p := 0; p < len(s); p++ {
			buf = append(buf, s[p])
			if s[p] == 0 {
				buf = append(buf, 0xFF)
			}
		}
		buf = append(buf, 0x00, 0x01)
	default:
		return types.AppendKey(buf, types.GetDatum(c, i, k.T), k.T, k.Desc)
	}
	if k.Desc {
		for p := start; p < len(buf); p++ {
			buf[p] = ^buf[p]
		}
	}
	return buf
}

// sortFloatBits orders floats as PostgreSQL does (-0 = 0, NaN above all).
func sortFloatBits(f float64) uint64 {
	if f != f {
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
