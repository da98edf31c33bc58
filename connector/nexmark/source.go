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
	"io"
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

// Open returns the source positioned at pos (nil: the first event). The
// source driver runs it: the event sequence is one split, read by one
// reader whose generator shards work in parallel.
func (s *Spec) Open(_ *stream.BuildCtx, pos []byte) (stream.Source, error) {
	if pos != nil {
		if _, err := decodePos(pos); err != nil {
			return nil, err
		}
	}
	return stream.DriveSource(s, stream.DriverOptions{Rate: float64(s.wallRate)}, pos)
}

// PruneColumns returns a copy of s that makes the columns no operator
// reads (not used, and not a watermark column) as NULLs
// (stream.ColumnPruner).
func (s *Spec) PruneColumns(used []bool) (stream.SourceSpec, bool) {
	c := *s
	var ok bool
	if c.pruned, ok = stream.PrunedColumns(used, len(s.fields), s.wmCols); !ok {
		return s, false
	}
	return &c, true
}

var _ stream.ColumnPruner = (*Spec)(nil)

// Types are the declared columns.
func (s *Spec) Types() []types.T { return s.ts }

// Splits: the event sequence is one split.
func (s *Spec) Splits(context.Context) ([]string, error) { return []string{"0"}, nil }

// NewReader returns the reader of the one split.
func (s *Spec) NewReader(int) (stream.SplitReader, error) {
	return &source{spec: s, gen: newGenerator(s), next: 1}, nil
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

// source is the Nexmark split reader.
type source struct {
	spec *Spec
	gen  *generator
	// next is the id of the first event not yet covered by a returned
	// chunk: the position.
	next int64

	// Generation state, set up by the first Next.
	started     bool
	row, end, k int64
	finished    bool
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	res         []chan shardResult
	opened      bool
}

var _ stream.SplitReader = (*source)(nil)

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

// Assign positions the reader on its one split.
func (s *source) Assign(splits []stream.Split) ([]stream.Split, error) {
	if len(splits) != 1 || s.opened {
		return nil, fmt.Errorf("nexmark: one split expected, got %d more", len(splits))
	}
	s.opened = true
	if p := splits[0].Pos; p != nil {
		next, err := decodePos(p)
		if err != nil {
			return nil, err
		}
		s.next = next
	}
	return s.Positions(), nil
}

// Positions is the next event id.
func (s *source) Positions() []stream.Split {
	return []stream.Split{{ID: "0", Pos: encodePos(s.next)}}
}

// start launches the shards: chunk k of consecutive rows from the
// position is made by shard k % splits, so the shards fill disjoint row
// ranges in parallel while Next hands the chunks out in row order.
func (s *source) start() {
	s.started = true
	table := s.spec.table
	first, end := rowsUpTo(table, s.next-1), rowsUpTo(table, s.spec.events)
	s.row, s.end = first, end
	size := s.chunkRows()
	splits := int64(s.spec.splits)
	gctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.res = make([]chan shardResult, splits)
	for w := range splits {
		ch := make(chan shardResult, 1)
		s.res[w] = ch
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				if r := recover(); r != nil {
					select {
					case ch <- shardResult{err: fmt.Errorf("nexmark shard %d: internal error: %v", w, r)}:
					case <-gctx.Done():
					}
				}
			}()
			for lo := first + w*size; lo < end; lo += splits * size {
				c := s.gen.chunk(s.spec.fields, s.spec.ts, s.spec.pruned, lo, int(min(size, end-lo)))
				select {
				case ch <- shardResult{c: c}:
				case <-gctx.Done():
					c.Release()
					return
				}
			}
		}()
	}
}

// Next returns the table's next chunk. A bounded source ends with a
// watermark of +infinity on each watermark column (every window closes,
// every EMIT ON WINDOW CLOSE result is out), then io.EOF. The final
// watermark is sent again after a restart at the end: operators ignore a
// watermark that does not move.
func (s *source) Next(ctx context.Context) (stream.Batch, error) {
	if !s.started {
		s.start()
	}
	if s.row >= s.end {
		if !s.finished {
			s.finished = true
			if b := s.final(); len(b.Watermarks) > 0 {
				return b, nil
			}
		}
		return stream.Batch{}, io.EOF
	}
	var r shardResult
	select {
	case r = <-s.res[s.k%int64(len(s.res))]:
	case <-ctx.Done():
		return stream.Batch{}, ctx.Err()
	}
	if r.err != nil {
		return stream.Batch{}, r.err
	}
	last := eventOf(s.spec.table, s.row+int64(r.c.N)-1)
	events := last + 1 - s.next
	s.row += int64(r.c.N)
	s.next = last + 1
	s.k++
	b := stream.Batch{Chunk: r.c, Events: events}
	if s.row >= s.end {
		// The final watermark travels with the last rows, so the epoch
		// that holds them also closes every window.
		s.finished = true
		b.Watermarks = s.final().Watermarks
	}
	return b, nil
}

// final is the end of a bounded source: +infinity on each watermark
// column.
func (s *source) final() stream.Batch {
	var b stream.Batch
	if s.spec.bounded {
		for _, col := range s.spec.wmCols {
			b.Watermarks = append(b.Watermarks, stream.Watermark{Col: col, Val: types.TimestampPosInfinity})
		}
	}
	return b
}

// Close stops the shards and frees the chunks they made ahead.
func (s *source) Close() error {
	if !s.started {
		return nil
	}
	s.cancel()
	s.wg.Wait()
	for _, ch := range s.res {
		select {
		case r := <-ch:
			if r.c != nil {
				r.c.Release()
			}
		default:
		}
	}
	return nil
}
