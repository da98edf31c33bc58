package batch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"streamsql/exec"
	"streamsql/sql/types"
)

// Spill files hold rows an operator could not keep in memory: a sorted
// run of an external sort, one hash partition of an aggregation's or a
// join's input. They are Arrow IPC streams (the columns as Arrow lays them
// out, no per-row encoding), written a batch at a time and read back a
// batch at a time, in the statement's spill directory (exec.MemAccount),
// and removed as soon as they are read or the operator closes.

// spillFile is one temporary file of batches of the column types ts.
type spillFile struct {
	mem    *exec.MemAccount
	ts     []types.T
	schema *arrow.Schema
	f      *os.File
	bw     *bufio.Writer
	cw     countingWriter
	w      *ipc.Writer
	rows   int64
	n      int // batches
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// spillSchema is the Arrow schema of spilled columns like cols (their
// own Arrow types, which are those of the columns' SQL types).
func spillSchema(cols []arrow.Array) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: c.DataType(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// newSpillFile creates an empty spill file for rows of ts.
func newSpillFile(ctx *exec.Ctx, ts []types.T, what string) (*spillFile, error) {
	f, err := ctx.Mem.CreateTemp(what)
	if err != nil {
		return nil, err
	}
	s := &spillFile{mem: ctx.Mem, ts: ts, f: f}
	s.bw = bufio.NewWriterSize(f, 256<<10)
	s.cw.w = s.bw
	return s, nil
}

// write appends the rows of b (which stays the caller's).
func (s *spillFile) write(b *exec.Batch) error {
	if b.N == 0 {
		return nil
	}
	if s.schema == nil {
		s.schema = spillSchema(b.Cols)
		s.w = ipc.NewWriter(&s.cw, ipc.WithSchema(s.schema), ipc.WithAllocator(types.Mem))
	}
	if len(b.Cols) != len(s.schema.Fields()) {
		return fmt.Errorf("spill %s: batch of %d columns into a file of %d", s.f.Name(), len(b.Cols), len(s.schema.Fields()))
	}
	for j, c := range b.Cols {
		if !arrow.TypeEqual(c.DataType(), s.schema.Field(j).Type) {
			return fmt.Errorf("spill %s: column %d is %s, the file's is %s", s.f.Name(), j, c.DataType(), s.schema.Field(j).Type)
		}
	}
	rec := array.NewRecordBatch(s.schema, b.Cols, int64(b.N))
	defer rec.Release()
	before := s.cw.n
	if err := s.w.Write(rec); err != nil {
		return exec.SpillError("write temporary file "+s.f.Name(), err)
	}
	s.mem.AddSpilled(s.cw.n - before)
	s.rows += int64(b.N)
	s.n++
	return nil
}

// finish ends writing; the file is then read with open.
func (s *spillFile) finish() error {
	if s.w == nil {
		return nil
	}
	err := s.w.Close()
	s.w = nil
	if err == nil {
		err = s.bw.Flush()
	}
	if err != nil {
		return exec.SpillError("write temporary file "+s.f.Name(), err)
	}
	return nil
}

// open finishes writing and returns a reader from the start.
func (s *spillFile) open() (*spillReader, error) {
	if err := s.finish(); err != nil {
		return nil, err
	}
	if s.schema == nil {
		return &spillReader{ts: s.ts}, nil // nothing was written
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, exec.SpillError("read temporary file "+s.f.Name(), err)
	}
	r, err := ipc.NewReader(bufio.NewReaderSize(s.f, 256<<10), ipc.WithSchema(s.schema), ipc.WithAllocator(types.Mem))
	if err != nil {
		return nil, exec.SpillError("read temporary file "+s.f.Name(), err)
	}
	return &spillReader{r: r, ts: s.ts}, nil
}

// remove closes and deletes the file.
func (s *spillFile) remove() {
	if s == nil || s.f == nil {
		return
	}
	if s.w != nil {
		s.w.Close()
		s.w = nil
	}
	name := s.f.Name()
	s.f.Close()
	os.Remove(name)
	s.f = nil
}

// spillReader reads a spill file's batches back in order.
type spillReader struct {
	r  *ipc.Reader
	ts []types.T
}

// next returns the next batch (the caller's), or nil at the end.
func (r *spillReader) next() (*exec.Batch, error) {
	if r.r == nil {
		return nil, nil
	}
	if !r.r.Next() {
		err := r.r.Err()
		r.close()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, exec.SpillError("read temporary file", err)
		}
		return nil, nil
	}
	rec := r.r.RecordBatch()
	cols := make([]arrow.Array, rec.NumCols())
	for j := range cols {
		cols[j] = rec.Column(j)
		cols[j].Retain()
	}
	return exec.NewBatch(cols, int(rec.NumRows())), nil
}

func (r *spillReader) close() {
	if r.r != nil {
		r.r.Release()
		r.r = nil
	}
}

// spillScan is an operator over the batches of a spill file, removing the
// file when closed. It feeds the partitions of aggregations and joins to
// the ordinary in-memory operators.
type spillScan struct {
	file *spillFile
	r    *spillReader
}

func newSpillScan(f *spillFile) *spillScan { return &spillScan{file: f} }

func (s *spillScan) Open(ctx *exec.Ctx) error {
	if s.r != nil {
		s.r.close()
	}
	r, err := s.file.open()
	if err != nil {
		return err
	}
	s.r = r
	return nil
}

func (s *spillScan) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if s.r == nil {
		return nil, nil
	}
	return s.r.next()
}

// Close removes the file: a partition is read once.
func (s *spillScan) Close() {
	if s.r != nil {
		s.r.close()
		s.r = nil
	}
	s.file.remove()
}

func (s *spillScan) Types() []types.T          { return s.file.ts }
func (s *spillScan) Explain() string           { return "SpillScan" }
func (s *spillScan) Children() []exec.Operator { return nil }

// batchBytes estimates the memory of b's columns from their Arrow
// layout: values, offsets and validity of the rows the batch covers (a
// slice counts only its own rows).
func batchBytes(b *exec.Batch) int64 {
	var n int64
	for _, c := range b.Cols {
		n += arrayBytes(c)
	}
	return n
}

// arrayBytes estimates the memory of the rows of one array.
func arrayBytes(c arrow.Array) int64 {
	l := int64(c.Len())
	n := (l + 7) / 8 // validity
	switch a := c.(type) {
	case *array.Null:
		return 0
	case *array.Boolean:
		return n + (l+7)/8
	case *array.String:
		if l > 0 {
			n += int64(a.ValueOffset(int(l)-1)+a.ValueLen(int(l)-1)) - int64(a.ValueOffset(0))
		}
		return n + 4*(l+1)
	case *array.Binary:
		if l > 0 {
			n += int64(a.ValueOffset(int(l)-1)+a.ValueLen(int(l)-1)) - int64(a.ValueOffset(0))
		}
		return n + 4*(l+1)
	}
	if fw, ok := c.DataType().(arrow.FixedWidthDataType); ok {
		return n + l*int64(fw.BitWidth()+7)/8
	}
	for _, buf := range c.Data().Buffers() {
		if buf != nil {
			n += int64(buf.Len())
		}
	}
	return n
}
