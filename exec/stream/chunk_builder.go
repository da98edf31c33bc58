package stream

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// ChunkBuilder collects the rows an operator emits, column by column with
// their ops, and sends them downstream as one chunk. The column builders
// are made on first use and kept for the next chunks.
type ChunkBuilder struct {
	types []types.T
	cols  []array.Builder
	ops   []Op
}

// NewChunkBuilder returns a builder of chunks with columns of types ts.
func NewChunkBuilder(ts []types.T) ChunkBuilder { return ChunkBuilder{types: ts} }

// Cols returns the column builders; a row appended to them is added by
// Add.
func (c *ChunkBuilder) Cols() []array.Builder {
	if c.cols == nil {
		c.cols = make([]array.Builder, len(c.types))
		for i, t := range c.types {
			c.cols[i] = types.NewBuilder(t)
		}
	}
	return c.cols
}

// Add records the op of the row just appended to the columns.
func (c *ChunkBuilder) Add(op Op) { c.ops = append(c.ops, op) }

// Len is the number of rows collected since the last Flush.
func (c *ChunkBuilder) Len() int { return len(c.ops) }

// Reserve makes room for about n more rows.
func (c *ChunkBuilder) Reserve(n int) {
	for _, b := range c.Cols() {
		b.Reserve(n)
	}
	if cap(c.ops)-len(c.ops) < n {
		c.ops = append(make([]Op, 0, len(c.ops)+n), c.ops...)
	}
}

// Flush sends the rows collected so far to out as one chunk (nothing when
// there are none).
func (c *ChunkBuilder) Flush(out Output) error {
	if len(c.ops) == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(c.cols))
	for i, b := range c.cols {
		cols[i] = b.NewArray()
	}
	ops := c.ops
	c.ops = nil
	return out.Chunk(NewChunk(cols, ops))
}
