// Package blackhole is the sink connector that discards what it receives:
// a sink job over it runs the whole dataflow and drops the results, which
// measures a query without the cost of writing its output anywhere.
package blackhole

import (
	"sync/atomic"

	"streamsql/exec/stream"
)

// Writer counts rows and epochs and drops the rows.
type Writer struct {
	Rows, Epochs atomic.Int64
}

var _ stream.SinkWriter = (*Writer)(nil)

func (w *Writer) Write(c *stream.Chunk) error   { w.Rows.Add(int64(c.N)); return nil }
func (w *Writer) Barrier(*stream.Barrier) error { w.Epochs.Add(1); return nil }
func (w *Writer) Close() error                  { return nil }
