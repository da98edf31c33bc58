package nexmark

import (
	"context"
	"strconv"
	"testing"

	"streamsql/exec/stream"
	"streamsql/internal/cputime"
)

// benchChunks measures chunk generation of a table (all its columns) on
// one goroutine, in rows per second of wall time and of CPU time (the
// garbage collector's included).
func benchChunks(b *testing.B, tt Table) {
	s := nxSpec(b, tt, nil)
	g := newGenerator(s)
	const size = 4096
	row := int64(0)
	cpu := cputime.Used()
	for b.Loop() {
		c := g.chunk(s.fields, s.ts, nil, row, size)
		c.Release()
		row += size
	}
	b.ReportMetric(float64(row)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(row)/(cputime.Used()-cpu).Seconds(), "rows/cpu-s")
}

func BenchmarkBid(b *testing.B)     { benchChunks(b, Bid) }
func BenchmarkAuction(b *testing.B) { benchChunks(b, Auction) }
func BenchmarkPerson(b *testing.B)  { benchChunks(b, Person) }

// BenchmarkBidSource measures a running bid source end to end (shards,
// ordering, channel hand-off) for 1 and 2 shards.
func BenchmarkBidSource(b *testing.B) {
	for _, splits := range []int{1, 2} {
		b.Run("splits="+strconv.Itoa(splits), func(b *testing.B) {
			s := nxSpec(b, Bid, map[string]string{optSplitNum: strconv.Itoa(splits)})
			src, err := s.Open(nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			out := make(chan stream.Message, 4)
			done := make(chan error, 1)
			go func() { done <- src.Run(ctx, nil, out) }()
			rows := 0
			b.ResetTimer()
			for b.Loop() {
				m := <-out
				rows += m.Chunk.N
				m.Chunk.Release()
			}
			b.StopTimer()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			cancel()
			for {
				select {
				case m := <-out:
					m.Chunk.Release()
					continue
				case <-done:
				}
				break
			}
		})
	}
}
