package kafka

import (
	"context"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Produce records in blocks.
//
// kgo holds a produced record (and calls its promise) until the broker
// has acknowledged it, so the sink cannot reuse a record before then. A
// delivery of a large backlog used to fill one slice of records as long
// as the delivery (hundreds of thousands of records, each about 170
// bytes with pointers): writing it went to memory the caches had long
// lost, with a write barrier per record while the collector ran, and the
// collector scanned it. Records now come in blocks of produceBlock, a
// small fixed set of them per target: a block goes back to the free list
// when the broker has acknowledged its last record, and the next records
// are written into it while it is still warm. A delivery waits for a
// free block when every block is in flight, which bounds the records
// buffered in the client to produceBlocks*produceBlock.

const (
	produceBlock  = 1024
	produceBlocks = 48
)

// recordBlock is produceBlock records and how many of them the broker
// has not yet acknowledged.
type recordBlock struct {
	recs    [produceBlock]kgo.Record
	pending atomic.Int32
	// failed receives the first produce error of the delivery.
	failed *atomic.Pointer[error]
	home   chan *recordBlock
	done   func(*kgo.Record, error)
}

// blockPool is a target's free list of record blocks. A pool is dropped
// with its client after a failed delivery (its records may still sit in
// the closing client's buffers); a new one is made for the next client.
type blockPool struct {
	free   chan *recordBlock
	made   int
	failed atomic.Pointer[error]
}

func newBlockPool() *blockPool {
	return &blockPool{free: make(chan *recordBlock, produceBlocks)}
}

// take returns a free block, making one while fewer than produceBlocks
// exist, else waiting for the broker to acknowledge one.
func (p *blockPool) take(ctx context.Context) (*recordBlock, error) {
	select {
	case b := <-p.free:
		return b, nil
	default:
	}
	if p.made < produceBlocks {
		p.made++
		b := &recordBlock{failed: &p.failed, home: p.free}
		b.done = func(_ *kgo.Record, err error) {
			if err != nil {
				b.failed.CompareAndSwap(nil, &err)
			}
			if b.pending.Add(-1) == 0 {
				b.home <- b
			}
		}
		return b, nil
	}
	select {
	case b := <-p.free:
		return b, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// err returns the first produce error since the pool was made.
func (p *blockPool) err() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}
