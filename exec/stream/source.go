package stream

import (
	"context"

	"streamsql/sql/types"
)

// MsgKind says which field of a Message is set.
type MsgKind uint8

const (
	MsgChunk MsgKind = iota
	MsgWatermark
	MsgBarrier
	// MsgRejects carries source messages that could not be decoded; they
	// are written with the epoch they arrived in.
	MsgRejects
	// MsgSchemaChange carries the column changes of an upstream DDL event
	// to apply to the table a source fills (auto.schema.change); Pos is
	// the position before the event, PosAfter the one after it.
	MsgSchemaChange
)

// Message is what travels on a channel between goroutines of a job: from a
// source to the job's driver, or from an upstream view to a downstream job.
type Message struct {
	Kind  MsgKind
	Chunk *Chunk
	WM    Watermark
	// Epoch is the barrier's epoch (MsgBarrier).
	Epoch uint64
	// Pos is the source's position after every message before this
	// barrier (MsgBarrier from a source): what it resumes from after a
	// crash if this epoch is the last committed one.
	Pos []byte
	// Stop: the job is being stopped with this barrier.
	Stop bool
	// Rejects (MsgRejects) are messages a source could not decode.
	Rejects []Reject
	// SchemaChanges and PosAfter (MsgSchemaChange): see MsgSchemaChange.
	SchemaChanges []SchemaChange
	PosAfter      []byte
	// Start is the first message a fresh downstream view source receives
	// from its upstream view: its snapshot is the upstream's contents as
	// committed at Epoch, and its changes follow.
	Start bool
}

// Source produces a job's input in its own goroutine.
type Source interface {
	// Types are the output columns.
	Types() []types.T
	// Run sends chunks and watermarks to out until ctx is done. When an
	// epoch number arrives on barriers it sends, after every message that
	// belongs before it, a MsgBarrier for that epoch carrying its current
	// position. A bounded source that has sent everything keeps answering
	// barriers until ctx is done. Run returns ctx.Err() or the error that
	// stopped it.
	Run(ctx context.Context, barriers <-chan uint64, out chan<- Message) error
}

// SourceSpec describes a source of a stream plan.
type SourceSpec interface {
	// Open returns the source positioned at pos, a position one of its
	// barriers carried (nil: start from the beginning, which for a table
	// means a snapshot of its rows followed by its changes).
	Open(b *BuildCtx, pos []byte) (Source, error)
	Explain() string
}

// Send sends m to out unless ctx is done first.
func Send(ctx context.Context, out chan<- Message, m Message) error {
	select {
	case out <- m:
		return nil
	case <-ctx.Done():
		if m.Chunk != nil {
			m.Chunk.Release()
		}
		return ctx.Err()
	}
}
