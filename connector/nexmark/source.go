// Package nexmark is the Nexmark benchmark's event generator as a source
// connector: an online auction's people, auctions and bids, as the three
// tables person, auction and bid.
//
// The three tables are views of one global event sequence (ids from 1):
// event n is a person when n%50 == 0, an auction when n%50 is 1 to 3 and a
// bid otherwise. Each source serves one table and skips the events of the
// others, so three sources with the same options agree with each other:
// a bid only names auctions that the auction source has already made, at
// an earlier or equal event time (base time + n·10⁶/rate microseconds).
//
// Every value of event n is a pure function of (seed, field, n): a
// SplitMix64 hash of the three, plus the closed-form counts of persons and
// auctions before n for ids and hot keys. So any event is made on its own,
// shards generate disjoint row ranges in parallel, and the checkpointed
// position is just the next event id: a job restarting from a committed
// epoch makes exactly the rows it made before.
//
// Generation is columnar: a chunk's column is one loop over its rows into
// a typed slice or a string buffer, which becomes the Arrow buffer without
// a copy. Random text is cut from per-source pools of random characters.
package nexmark

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

var _ stream.SourceSpec = (*Spec)(nil)

// Explain describes the source for EXPLAIN.
func (s *Spec) Explain() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Nexmark table=%s", s.table)
	if s.bounded {
		fmt.Fprintf(&sb, " events=%d", s.events)
	}
	fmt.Fprintf(&sb, " event.rate=%d base.time=%s", s.eventRate,
		types.FormatText(types.Timestamp(s.baseTime), types.TTimestamp, time.UTC))
	if s.seed != 0 {
		fmt.Fprintf(&sb, " seed=%d", s.seed)
	}
	if s.splits > 1 {
		fmt.Fprintf(&sb, " splits=%d", s.splits)
	}
	if s.wallRate > 0 {
		fmt.Fprintf(&sb, " events.per.second=%d", s.wallRate)
	}
	return sb.String()
}

// Open returns the source positioned at pos (nil: the first event).
func (s *Spec) Open(_ *stream.BuildCtx, pos []byte) (stream.Source, error) {
	next := int64(1)
	if pos != nil {
		var err error
		if next, err = decodePos(pos); err != nil {
			return nil, err
		}
	}
	return &source{spec: s, gen: newGenerator(s), next: next}, nil
}

// Position layout: a version byte and the next event id (uvarint).
const posVersion = 1

func encodePos(next int64) []byte {
	return binary.AppendUvarint([]byte{posVersion}, uint64(next))
}

func decodePos(pos []byte) (int64, error) {
	if len(pos) < 2 || pos[0] != posVersion {
		return 0, sqlerr.New(sqlerr.DataCorrupted, "nexmark: corrupt source position %x", pos)
	}
	n, k := binary.Uvarint(pos[1:])
	if k <= 0 || 1+k != len(pos) || n < 1 || n > math.MaxInt64 {
		return 0, sqlerr.New(sqlerr.DataCorrupted, "nexmark: corrupt source position %x", pos)
	}
	return int64(n), nil
}

// source is an open Nexmark source.
type source struct {
	spec *Spec
	gen  *generator
	// next is the id of the first event not yet covered by a sent chunk:
	// the position.
	next int64
}

func (s *source) Types() []types.T { return s.spec.ts }

// chunkRows is the number of rows per chunk: the option, or about 100 ms
// of rows when the wall-clock rate is limited, so a slow source still
// delivers promptly.
func (s *source) chunkRows() int64 {
	n := int64(s.spec.chunkRows)
	if r := s.spec.wallRate; r > 0 {
		perTenth := rowsUpTo(s.spec.table, max(r/10, blockEvents))
		n = max(min(n, perTenth), 1)
	}
	return n
}

// shardResult is a generated chunk, or the error that stopped its shard.
type shardResult struct {
	c   *stream.Chunk
	err error
}

// Run sends the table's rows from the position on, in chunks of
// consecutive rows. Chunk k is made by shard k % splits, so the shards
// fill disjoint row ranges in parallel; Run sends the chunks in row order.
// A bounded source ends with a watermark of +infinity on each watermark
// column (every window closes, every EMIT ON WINDOW CLOSE result is out)
// and then only answers barriers. The final watermark is sent again after
// a restart at the end: operators ignore a watermark that does not move.
func (s *source) Run(ctx context.Context, barriers <-chan uint64, out chan<- stream.Message) error {
	table := s.spec.table
	first, end := rowsUpTo(table, s.next-1), rowsUpTo(table, s.spec.events)
	size := s.chunkRows()
	splits := int64(s.spec.splits)

	gctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	res := make([]chan shardResult, splits)
	for w := range splits {
		ch := make(chan shardResult, 1)
		res[w] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					select {
					case ch <- shardResult{err: fmt.Errorf("nexmark shard %d: internal error: %v", w, r)}:
					case <-gctx.Done():
					}
				}
			}()
			for lo := first + w*size; lo < end; lo += splits * size {
				c := s.gen.chunk(s.spec.fields, s.spec.ts, lo, int(min(size, end-lo)))
				select {
				case ch <- shardResult{c: c}:
				case <-gctx.Done():
					c.Release()
					return
				}
			}
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
		for _, ch := range res {
			select {
			case r := <-ch:
				if r.c != nil {
					r.c.Release()
				}
			default:
			}
		}
	}()

	barrier := func(epoch uint64) error {
		return stream.Send(ctx, out, stream.Message{Kind: stream.MsgBarrier, Epoch: epoch, Pos: encodePos(s.next)})
	}
	// wait blocks until a barrier arrives (and answers it), timeout
	// fires, or ctx is done.
	wait := func(timeout <-chan time.Time) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-barriers:
			if !ok {
				barriers = nil // no more barriers: run on until ctx ends
				return nil
			}
			return barrier(e)
		case <-timeout:
			return nil
		}
	}
	pace := newPacer(s.spec.wallRate, s.next)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var pending *stream.Chunk // received, not yet sent (waiting for the rate)
	defer func() {
		if pending != nil {
			pending.Release()
		}
	}()
	row, k, finished := first, int64(0), false
	for {
		// The final watermark goes before any barrier after the last row,
		// so the epoch that holds the last rows also closes every window.
		if row >= end && !finished {
			finished = true
			if s.spec.bounded {
				for _, col := range s.spec.wmCols {
					wm := stream.Message{Kind: stream.MsgWatermark, WM: stream.Watermark{Col: col, Val: types.TimestampPosInfinity}}
					if err := stream.Send(ctx, out, wm); err != nil {
						return err
					}
				}
			}
		}
		// Barriers next: they never wait behind generation.
	drain:
		for {
			select {
			case e, ok := <-barriers:
				if !ok {
					barriers = nil
					break drain
				}
				if err := barrier(e); err != nil {
					return err
				}
			default:
				break drain
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if row >= end {
			if err := wait(nil); err != nil {
				return err
			}
			continue
		}
		if pending == nil {
			select {
			case r := <-res[k%splits]:
				if r.err != nil {
					return r.err
				}
				pending = r.c
			case e, ok := <-barriers:
				if !ok {
					barriers = nil
				} else if err := barrier(e); err != nil {
					return err
				}
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		last := eventOf(table, row+int64(pending.N)-1)
		if d := pace.delay(last + 1); d > 0 {
			timer.Reset(d)
			err := wait(timer.C)
			timer.Stop()
			if err != nil {
				return err
			}
			continue
		}
		c := pending
		pending = nil
		if err := stream.Send(ctx, out, stream.Message{Kind: stream.MsgChunk, Chunk: c}); err != nil {
			return err
		}
		row += int64(c.N)
		s.next = last + 1
		k++
	}
}

// pacer keeps a wall-clock event rate: the chunk that ends before event
// e may go at start + (e - e0) / rate. A source that falls behind (a slow
// downstream) does not burst to catch up: the schedule restarts from now.
type pacer struct {
	rate  float64
	start time.Time
	e0    int64
}

func newPacer(rate, next int64) *pacer {
	return &pacer{rate: float64(rate), start: time.Now(), e0: next}
}

// delay is how long to wait before sending everything before event e.
func (p *pacer) delay(e int64) time.Duration {
	if p.rate <= 0 {
		return 0
	}
	due := p.start.Add(time.Duration(float64(e-p.e0) / p.rate * float64(time.Second)))
	now := time.Now()
	if d := due.Sub(now); d > 0 {
		return d
	}
	if now.Sub(due) > 100*time.Millisecond {
		p.start, p.e0 = now, e
	}
	return 0
}
