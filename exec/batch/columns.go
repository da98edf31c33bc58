package batch

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
)

// takeColumn gathers rows idx of arr into a new array of the same Arrow
// type; a negative index gives NULL (the padding of outer joins).
func takeColumn(arr arrow.Array, idx []int32) arrow.Array {
	if na, ok := arr.(*array.Null); ok {
		_ = na
		return array.NewNull(len(idx))
	}
	b := array.NewBuilder(types.Mem, arr.DataType())
	defer b.Release()
	b.Reserve(len(idx))
	switch a := arr.(type) {
	case *array.Boolean:
		out, valid := takeScratch[bool](arr, idx)
		for k, i := range idx {
			if valid[k] {
				out[k] = a.Value(int(i))
			}
		}
		b.(*array.BooleanBuilder).AppendValues(out, valid)
	case *array.Int16:
		takeFixed(a.Int16Values(), arr, idx, b.(*array.Int16Builder).AppendValues)
	case *array.Int32:
		takeFixed(a.Int32Values(), arr, idx, b.(*array.Int32Builder).AppendValues)
	case *array.Int64:
		takeFixed(a.Int64Values(), arr, idx, b.(*array.Int64Builder).AppendValues)
	case *array.Float32:
		takeFixed(a.Float32Values(), arr, idx, b.(*array.Float32Builder).AppendValues)
	case *array.Float64:
		takeFixed(a.Float64Values(), arr, idx, b.(*array.Float64Builder).AppendValues)
	case *array.Date32:
		takeFixed(a.Date32Values(), arr, idx, b.(*array.Date32Builder).AppendValues)
	case *array.Time64:
		takeFixed(a.Time64Values(), arr, idx, b.(*array.Time64Builder).AppendValues)
	case *array.Timestamp:
		takeFixed(a.TimestampValues(), arr, idx, b.(*array.TimestampBuilder).AppendValues)
	case *array.MonthDayNanoInterval:
		takeFixed(a.MonthDayNanoIntervalValues(), arr, idx, b.(*array.MonthDayNanoIntervalBuilder).AppendValues)
	case *array.String:
		sb := b.(*array.StringBuilder)
		size := 0
		for _, i := range idx {
			if i >= 0 {
				size += a.ValueLen(int(i))
			}
		}
		sb.ReserveData(size)
		for _, i := range idx {
			if i < 0 || a.IsNull(int(i)) {
				sb.AppendNull()
			} else {
				sb.Append(a.Value(int(i)))
			}
		}
	case *array.Binary:
		bb := b.(*array.BinaryBuilder)
		for _, i := range idx {
			if i < 0 || a.IsNull(int(i)) {
				bb.AppendNull()
			} else {
				bb.Append(a.Value(int(i)))
			}
		}
	default:
		panic(fmt.Sprintf("batch: take over unsupported array %T", arr))
	}
	return b.NewArray()
}

// takeScratch returns a value slice and a validity slice for a take of idx
// from arr, with validity already filled in.
func takeScratch[V any](arr arrow.Array, idx []int32) ([]V, []bool) {
	out := make([]V, len(idx))
	valid := make([]bool, len(idx))
	nulls := arr.NullN() > 0
	for k, i := range idx {
		valid[k] = i >= 0 && !(nulls && arr.IsNull(int(i)))
	}
	return out, valid
}

func takeFixed[V any](vals []V, arr arrow.Array, idx []int32, appendValues func([]V, []bool)) {
	out, valid := takeScratch[V](arr, idx)
	for k, i := range idx {
		if valid[k] {
			out[k] = vals[i]
		}
	}
	appendValues(out, valid)
}

// takeCols gathers rows idx of every column of cols into a batch.
func takeCols(in []arrow.Array, idx []int32) *exec.Batch {
	cols := make([]arrow.Array, len(in))
	for j, c := range in {
		cols[j] = takeColumn(c, idx)
	}
	return exec.NewBatch(cols, len(idx))
}

// selectedRows returns the positions of the rows of a boolean column that
// are true (NULL counts as false), reusing buf.
func selectedRows(mask arrow.Array, buf []int32) ([]int32, error) {
	bm, ok := mask.(*array.Boolean)
	if !ok {
		if _, isNull := mask.(*array.Null); isNull {
			return buf[:0], nil
		}
		return nil, fmt.Errorf("predicate gave %s, not boolean", mask.DataType())
	}
	buf = buf[:0]
	nulls := bm.NullN() > 0
	for i := 0; i < bm.Len(); i++ {
		if bm.Value(i) && !(nulls && bm.IsNull(i)) {
			buf = append(buf, int32(i))
		}
	}
	return buf, nil
}

// boolsOf returns, for a boolean column, which rows are true (NULL is
// false), reusing buf.
func boolsOf(mask arrow.Array, buf []bool) ([]bool, error) {
	n := mask.Len()
	if cap(buf) < n {
		buf = make([]bool, n)
	}
	buf = buf[:n]
	bm, ok := mask.(*array.Boolean)
	if !ok {
		if _, isNull := mask.(*array.Null); isNull {
			clear(buf)
			return buf, nil
		}
		return nil, fmt.Errorf("predicate gave %s, not boolean", mask.DataType())
	}
	nulls := bm.NullN() > 0
	for i := range buf {
		buf[i] = bm.Value(i) && !(nulls && bm.IsNull(i))
	}
	return buf, nil
}

// emptyColumn returns an empty array of t.
func emptyColumn(t types.T) arrow.Array {
	b := types.NewBuilder(t)
	defer b.Release()
	return b.NewArray()
}

// nullColumn returns n NULLs of t.
func nullColumn(t types.T, n int) arrow.Array {
	b := types.NewBuilder(t)
	defer b.Release()
	b.AppendNulls(n)
	return b.NewArray()
}

// table is a materialized input: one array per column, n rows.
type table struct {
	cols []arrow.Array
	n    int
	// mem holds held bytes for the table, given back by release.
	mem  *exec.MemAccount
	held int64
}

// keyRows encodes the key (columns keys, of types ts) of every row.
func (t *table) keyRows(keys []int, ts []types.T) *rowKeys {
	cols := make([]arrow.Array, len(keys))
	kts := make([]types.T, len(keys))
	for k, c := range keys {
		cols[k], kts[k] = t.cols[c], ts[c]
	}
	var rk rowKeys
	rk.encode(cols, kts, t.n)
	return &rk
}

// tableReader hands a materialized table out a batch at a time; the
// operators that compute their whole output before the first Next
// (VALUES, virtual tables, hash aggregation, window functions) keep it.
type tableReader struct {
	t   *table
	pos int
}

// set starts reading t, which the reader now owns.
func (r *tableReader) set(t *table) { r.t, r.pos = t, 0 }

// next returns the next batch, nil at the end (or before set).
func (r *tableReader) next() *exec.Batch {
	if r.t == nil || r.pos >= r.t.n {
		return nil
	}
	hi := min(r.pos+exec.BatchSize, r.t.n)
	b := r.t.slice(r.pos, hi)
	r.pos = hi
	return b
}

// done reports whether every batch was handed out (or nothing is set).
func (r *tableReader) done() bool { return r.t == nil || r.pos >= r.t.n }

// release gives the table back.
func (r *tableReader) release() {
	r.t.release()
	r.t, r.pos = nil, 0
}

// materialize drains in into a table (concatenating its batches),
// reserving it in the statement's account as operator op (53200 past the
// limit). The table owns its arrays; release with release().
func materialize(ctx *exec.Ctx, in exec.Operator, ts []types.T, op string) (*table, error) {
	var batches []*exec.Batch
	var held int64
	defer func() {
		for _, b := range batches {
			b.Release()
		}
		ctx.Mem.Shrink(held)
	}()
	n := 0
	for {
		b, err := nextRows(ctx, in)
		if err != nil {
			return nil, err
		}
		if b == nil {
			break
		}
		sz := batchBytes(b)
		if err := ctx.Mem.Grow(op, sz); err != nil {
			b.Release()
			return nil, err
		}
		held += sz
		batches = append(batches, b)
		n += b.N
	}
	t, err := concatBatches(batches, ts, n)
	if err != nil {
		return nil, err
	}
	t.mem, t.held, held = ctx.Mem, held, 0
	return t, nil
}

// concatBatches concatenates batches (n rows in all, which stay the
// caller's) into a table.
func concatBatches(batches []*exec.Batch, ts []types.T, n int) (*table, error) {
	t := &table{cols: make([]arrow.Array, len(ts)), n: n}
	for j := range ts {
		switch len(batches) {
		case 0:
			t.cols[j] = emptyColumn(ts[j])
		case 1:
			t.cols[j] = batches[0].Cols[j]
			t.cols[j].Retain()
		default:
			parts := make([]arrow.Array, len(batches))
			for k, b := range batches {
				parts[k] = b.Cols[j]
			}
			c, err := array.Concatenate(parts, types.Mem)
			if err != nil {
				t.release()
				return nil, fmt.Errorf("materialize column %d: %w", j, err)
			}
			t.cols[j] = c
		}
	}
	return t, nil
}

func (t *table) release() {
	if t == nil {
		return
	}
	t.mem.Shrink(t.held)
	t.held = 0
	for _, c := range t.cols {
		if c != nil {
			c.Release()
		}
	}
	t.cols = nil
}

// slice returns rows [lo, hi) of t as a batch sharing t's buffers.
func (t *table) slice(lo, hi int) *exec.Batch {
	cols := make([]arrow.Array, len(t.cols))
	for j, c := range t.cols {
		cols[j] = array.NewSlice(c, int64(lo), int64(hi))
	}
	return exec.NewBatch(cols, hi-lo)
}

// sliceCols returns rows [lo, hi) of cols as a batch sharing their buffers.
func sliceCols(cols []arrow.Array, lo, hi int) *exec.Batch {
	out := make([]arrow.Array, len(cols))
	for j, c := range cols {
		out[j] = array.NewSlice(c, int64(lo), int64(hi))
	}
	return exec.NewBatch(out, hi-lo)
}

// iota32 fills buf with lo..hi-1.
func iota32(buf []int32, lo, hi int) []int32 {
	buf = buf[:0]
	for i := lo; i < hi; i++ {
		buf = append(buf, int32(i))
	}
	return buf
}

// releaseAll releases arrays.
func releaseAll(cols []arrow.Array) {
	for _, c := range cols {
		if c != nil {
			c.Release()
		}
	}
}
