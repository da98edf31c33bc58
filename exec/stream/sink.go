package stream

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// SinkWriter is a sink connector's side of a sink job: it receives the
// job's changes in order and every barrier.
type SinkWriter interface {
	// Write takes one chunk of changes (the sink's columns only). The
	// chunk is released after Write returns.
	Write(c *Chunk) error
	// Barrier ends epoch b.Epoch: everything written before belongs to
	// it. A writer that keeps a log writes the epoch's part into
	// b.Writes, so that it commits with the epoch.
	Barrier(b *Barrier) error
	// Close releases the writer when the job stops.
	Close() error
}

// SinkInput describes what a sink receives: its relation and the shape
// of the changes.
type SinkInput struct {
	// ID is the sink relation's id (stable for the sink's life), Name its
	// name.
	ID   uint32
	Name string
	// Names and Types are the sink's columns.
	Names []string
	Types []types.T
	// AppendOnly: the input never deletes or updates.
	AppendOnly bool
	// StreamKey are the sink columns that identify a row of the
	// changelog; nil when the input's key is not among them.
	StreamKey []int
	// LogMaxBytes bounds the undelivered bytes of a logged sink's log
	// (0: no bound); LogMaxSetting names the setting it comes from, for
	// the error when the log is full.
	LogMaxBytes   int64
	LogMaxSetting string
}

// SinkSpec is the last operator of a sink job: instead of keeping a view
// it hands every change to a connector.
type SinkSpec struct {
	// ID is the sink relation's id.
	ID        uint32
	Name      string
	Connector string
	// Visible are the input columns the sink receives; Types the input
	// column types.
	Visible []int
	Types   []types.T
	// Open makes the connector's writer when the job starts.
	Open func(env *Env, in *SinkInput) (SinkWriter, error)
	// LogMaxBytes and LogMaxSetting bound a logged sink's log
	// (SinkInput).
	LogMaxBytes   int64
	LogMaxSetting string
	// Format is the sink's FORMAT (PLAIN, UPSERT, DEBEZIUM ...).
	Format string
}

// keyed reports whether the sink's format keeps one row per key in its
// target (UPSERT, DEBEZIUM): sending a row again overwrites it, so the
// sink can be rebuilt from a snapshot of its view.
func (s *SinkSpec) keyed() bool {
	return s.Format == "UPSERT" || s.Format == "DEBEZIUM"
}

func (s *SinkSpec) Explain() string { return fmt.Sprintf("StreamSink %s (%s)", s.Name, s.Connector) }

func (s *SinkSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	w, err := s.Open(b.Env, s.input(b))
	if err != nil {
		return nil, err
	}
	return &sinkOp{spec: s, env: b.Env, out: out, w: w}, nil
}

// input describes what the sink built in b receives.
func (s *SinkSpec) input(b *BuildCtx) *SinkInput {
	in := &SinkInput{ID: s.ID, Name: s.Name, LogMaxBytes: s.LogMaxBytes, LogMaxSetting: s.LogMaxSetting}
	for i, v := range s.Visible {
		in.Types = append(in.Types, s.Types[v])
		name := fmt.Sprintf("column%d", i+1)
		if b.Node != nil && i < len(b.Node.Names) {
			name = b.Node.Names[i]
		}
		in.Names = append(in.Names, name)
	}
	if len(b.Inputs) > 0 {
		up := b.Inputs[0]
		in.AppendOnly = up.AppendOnly
		for _, k := range up.StreamKey {
			pos := -1
			for i, v := range s.Visible {
				if v == k {
					pos = i
					break
				}
			}
			if pos < 0 {
				in.StreamKey = nil
				break
			}
			in.StreamKey = append(in.StreamKey, pos)
		}
	}
	return in
}

type sinkOp struct {
	spec *SinkSpec
	env  *Env
	out  Output
	w    SinkWriter
	cols []arrow.Array
}

func (s *sinkOp) Chunk(_ int, c *Chunk) error {
	s.cols = s.cols[:0]
	for _, v := range s.spec.Visible {
		s.cols = append(s.cols, c.Cols[v])
	}
	vc := &Chunk{Cols: s.cols, Ops: c.Ops, N: c.N}
	err := s.w.Write(vc)
	s.env.Stats.RowsOut.Add(int64(c.N))
	c.Release()
	return err
}

func (s *sinkOp) Watermark(int, Watermark) error { return nil }

func (s *sinkOp) Barrier(b *Barrier) error {
	if err := s.w.Barrier(b); err != nil {
		return err
	}
	if b.Stop {
		if err := s.w.Close(); err != nil {
			return err
		}
	}
	return s.out.Barrier(b)
}
