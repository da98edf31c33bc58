package batch

import (
	"reflect"

	"streamsql/exec"
	"streamsql/sql/types"
)

// Buffer materializes its input on the first Open and replays it on every
// later Open, for uncorrelated subplans read many times and for CTE
// references. When the statement context has a Cache, the contents live
// there (keyed by the Buffer), so a new execution with a fresh Cache reads
// the input again; Reset forgets them explicitly.
type Buffer struct {
	in      exec.Operator
	batches []*exec.Batch
	filled  bool
	pos     int
	cache   map[any]any // the Cache the contents were stored in
	mem     *exec.MemAccount
	held    int64 // bytes reserved in the statement's account
}

// bufferContents is a Buffer's entry in exec.Ctx.Cache.
type bufferContents struct{ batches []*exec.Batch }

// NewBuffer returns a replaying buffer over in.
func NewBuffer(in exec.Operator) exec.Operator { return &Buffer{in: in} }

func (b *Buffer) Open(ctx *exec.Ctx) error {
	b.pos = 0
	if ctx.Cache != nil {
		if c, ok := ctx.Cache[b].(*bufferContents); ok {
			b.batches, b.filled, b.cache = c.batches, true, ctx.Cache
			return nil
		}
		if b.filled && !sameMap(b.cache, ctx.Cache) {
			// A new execution: drop the old contents.
			b.batches, b.filled = nil, false
		}
	}
	if b.filled {
		return nil
	}
	b.mem = ctx.Mem
	if err := b.in.Open(ctx); err != nil {
		b.in.Close()
		return err
	}
	defer b.in.Close()
	for {
		if err := checkCtx(ctx); err != nil {
			b.Reset()
			return err
		}
		x, err := b.in.Next(ctx)
		if err != nil {
			b.Reset()
			return err
		}
		if x == nil {
			break
		}
		sz := batchBytes(x)
		if err := b.mem.Grow("Buffer", sz); err != nil {
			x.Release()
			b.Reset()
			return err
		}
		b.held += sz
		b.batches = append(b.batches, x)
	}
	b.filled = true
	if ctx.Cache != nil {
		ctx.Cache[b] = &bufferContents{batches: b.batches}
		b.cache = ctx.Cache
	}
	return nil
}

// sameMap reports whether two maps are the same map object.
func sameMap(a, b map[any]any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func (b *Buffer) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if b.pos >= len(b.batches) {
		return nil, nil
	}
	x := b.batches[b.pos]
	b.pos++
	for _, c := range x.Cols {
		c.Retain()
	}
	return exec.NewBatch(x.Cols, x.N), nil
}

// Close keeps the contents for the next Open.
func (b *Buffer) Close() {}

// Reset releases the buffered contents; the next Open re-reads the input.
func (b *Buffer) Reset() {
	for _, x := range b.batches {
		x.Release()
	}
	if b.cache != nil {
		delete(b.cache, b)
	}
	b.batches, b.filled, b.pos, b.cache = nil, false, 0, nil
	b.mem.Shrink(b.held)
	b.held = 0
}

func (b *Buffer) Types() []types.T          { return b.in.Types() }
func (b *Buffer) Explain() string           { return "Buffer" }
func (b *Buffer) Children() []exec.Operator { return []exec.Operator{b.in} }
