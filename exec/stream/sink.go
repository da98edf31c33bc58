package stream

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// SinkWriter is a sink connector's side of a sink job: it receives the
// job's changes in order and an epoch boundary at every barrier.
type SinkWriter interface {
	// Write takes one chunk of changes (the sink's columns only). The
	// chunk is released after Write returns.
	Write(c *Chunk) error
	// Barrier ends epoch e: everything written before belongs to it.
	Barrier(e uint64) error
	// Close releases the writer when the job stops.
	Close() error
}

// SinkSpec is the last operator of a sink job: instead of keeping a view
// it hands every change to a connector.
type SinkSpec struct {
	Name      string
	Connector string
	// Visible are the input columns the sink receives; Types the input
	// column types.
	Visible []int
	Types   []types.T
	// Open makes the connector's writer when the job starts.
	Open func(env *Env) (SinkWriter, error)
}

func (s *SinkSpec) Explain() string { return fmt.Sprintf("StreamSink %s (%s)", s.Name, s.Connector) }

func (s *SinkSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	w, err := s.Open(b.Env)
	if err != nil {
		return nil, err
	}
	return &sinkOp{spec: s, env: b.Env, out: out, w: w}, nil
}

type sinkOp struct {
	spec *SinkSpec
	env  *Env
	out  Output
	w    SinkWriter
}

func (s *sinkOp) Chunk(_ int, c *Chunk) error {
	cols := make([]arrow.Array, len(s.spec.Visible))
	for i, v := range s.spec.Visible {
		cols[i] = c.Cols[v]
	}
	vc := &Chunk{Cols: cols, Ops: c.Ops, N: c.N}
	err := s.w.Write(vc)
	s.env.Stats.RowsOut.Add(int64(c.N))
	c.Release()
	return err
}

func (s *sinkOp) Watermark(int, Watermark) error { return nil }

func (s *sinkOp) Barrier(b *Barrier) error {
	if err := s.w.Barrier(b.Epoch); err != nil {
		return err
	}
	if b.Stop {
		if err := s.w.Close(); err != nil {
			return err
		}
	}
	return s.out.Barrier(b)
}
