package nexmark

// The generator outside a running job: tools that need the very events a
// source would send (the benchmark loads them into a baseline database and
// reads source positions to measure freshness) use these instead of
// re-implementing the generator.

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Generate calls fn with every row of the source's table in event order,
// in chunks of the source's chunk size, as Arrow arrays of the declared
// columns. The arrays are released when fn returns; fn must retain any it
// keeps. The wall-clock rate and the shard count do not apply: rows are
// made as fast as one goroutine can.
func (s *Spec) Generate(fn func(cols []arrow.Array, rows int) error) error {
	g := newGenerator(s)
	end := rowsUpTo(s.table, s.events)
	size := int64(s.chunkRows)
	for lo := int64(0); lo < end; lo += size {
		c := g.chunk(s.fields, s.ts, nil, lo, int(min(size, end-lo)))
		err := fn(c.Cols, c.N)
		c.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// Covered reads a source position of a source that stops after event n
// (its nexmark.event.num): it returns the highest event id c such that the
// source has sent every event up to c of its table. Between a sent row and
// the table's next row there are only other tables' events, so the three
// sources of one run agree that every event up to the least of their
// Covered values has been sent. A source that sent everything covers n.
func Covered(pos []byte, n int64) (int64, error) {
	next, err := decodePos(pos)
	if err != nil {
		return 0, err
	}
	if next <= 1 {
		return 0, nil // nothing sent: the table is not known yet
	}
	// The position follows the last event sent, whose id says its table.
	var t Table
	switch r := (next - 1) % blockEvents; {
	case r == 0:
		t = Person
	case r <= blockAuctions:
		t = Auction
	default:
		t = Bid
	}
	rows := rowsUpTo(t, next-1)
	if rows >= rowsUpTo(t, n) {
		return n, nil
	}
	return eventOf(t, rows) - 1, nil
}
