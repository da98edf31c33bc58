package stream

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/sql/types"
)

// seqSource has splits "s0", "s1", ...; split k holds the values
// k*1000+0 .. k*1000+rows-1, read in chunks of 7. Splits can be added
// while it runs (as partitions are added to a topic).
type seqSource struct {
	mu     sync.Mutex
	splits int
	rows   int64
}

func (s *seqSource) Types() []types.T { return []types.T{types.TInt8} }

func (s *seqSource) Splits(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for k := range s.splits {
		ids = append(ids, fmt.Sprintf("s%d", k))
	}
	return ids, nil
}

func (s *seqSource) NewReader(int) (SplitReader, error) {
	return &seqReader{rows: s.rows, next: map[string]int64{}, wake: make(chan struct{}, 1)}, nil
}

type seqReader struct {
	rows int64
	mu   sync.Mutex
	ids  []string
	next map[string]int64
	wake chan struct{}
	rr   int
}

func (r *seqReader) Assign(splits []Split) ([]Split, error) {
	r.mu.Lock()
	var out []Split
	for _, s := range splits {
		n := int64(0)
		if s.Pos != nil {
			n = int64(binary.BigEndian.Uint64(s.Pos))
		}
		r.ids = append(r.ids, s.ID)
		r.next[s.ID] = n
		out = append(out, Split{ID: s.ID, Pos: binary.BigEndian.AppendUint64(nil, uint64(n))})
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return out, nil
}

func (r *seqReader) Next(ctx context.Context) (Batch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.ids {
		id := r.ids[(r.rr+i)%len(r.ids)]
		n := r.next[id]
		if n >= r.rows {
			continue
		}
		r.rr = (r.rr + i + 1) % len(r.ids)
		k := int64(0)
		fmt.Sscanf(id, "s%d", &k)
		m := min(7, r.rows-n)
		b := array.NewInt64Builder(memory.DefaultAllocator)
		for j := int64(0); j < m; j++ {
			b.Append(k*1000 + n + j)
		}
		r.next[id] = n + m
		return Batch{Chunk: NewChunk([]arrow.Array{b.NewArray()}, make([]Op, m))}, nil
	}
	return Batch{}, io.EOF
}

func (r *seqReader) Positions() []Split {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Split
	for _, id := range r.ids {
		out = append(out, Split{ID: id, Pos: binary.BigEndian.AppendUint64(nil, uint64(r.next[id]))})
	}
	return out
}

func (r *seqReader) Close() error { return nil }

// drive runs src until a barrier finds want values sent, and returns the
// values and that barrier's position.
func drive(t *testing.T, src Source, want int, during func(got int)) ([]int64, []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Message, 4)
	barriers := make(chan uint64, 1)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, barriers, out) }()
	var got []int64
	deadline := time.Now().Add(10 * time.Second)
	for epoch := uint64(1); ; epoch++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d values", len(got), want)
		}
		barriers <- epoch
		for {
			m := <-out
			if m.Kind == MsgChunk {
				got = append(got, m.Chunk.Cols[0].(*array.Int64).Int64Values()...)
				m.Chunk.Release()
				continue
			}
			if m.Kind == MsgBarrier {
				if m.Epoch != epoch {
					t.Fatalf("barrier %d answered as %d", epoch, m.Epoch)
				}
				if during != nil {
					during(len(got))
				}
				if len(got) >= want {
					cancel()
					<-done
					return got, m.Pos
				}
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDriverSplitsAndResume spreads four splits over two readers, stops
// at a barrier, resumes from its position with three readers, and picks
// up a split added while running: every value arrives exactly once.
func TestDriverSplitsAndResume(t *testing.T) {
	src := &seqSource{splits: 4, rows: 50}
	s1, err := DriveSource(src, DriverOptions{Parallelism: 2, Discover: 5 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, pos := drive(t, s1, 60, nil)
	s2, err := DriveSource(src, DriverOptions{Parallelism: 3, Discover: 5 * time.Millisecond}, pos)
	if err != nil {
		t.Fatal(err)
	}
	added := false
	rest, _ := drive(t, s2, 250-len(first), func(got int) {
		if !added {
			src.mu.Lock()
			src.splits = 5
			src.mu.Unlock()
			added = true
		}
	})
	all := append(first, rest...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	var want []int64
	for k := range int64(5) {
		for n := range int64(50) {
			want = append(want, k*1000+n)
		}
	}
	if !slices.Equal(all, want) {
		t.Fatalf("got %d values, want %d exactly once", len(all), len(want))
	}
}

// TestDriverRate limits a source to 2,000 events per second.
func TestDriverRate(t *testing.T) {
	src := &seqSource{splits: 1, rows: 400}
	s, err := DriveSource(src, DriverOptions{Rate: 2000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, _ := drive(t, s, 400, nil)
	if d := time.Since(start); len(got) != 400 || d < 150*time.Millisecond || d > 3*time.Second {
		t.Fatalf("%d rows in %v at 2000/s, want about 200ms", len(got), d)
	}
}

// eofRaceSource is a seqSource whose reader, when it first finds all its
// splits read, makes a new split appear and returns io.EOF only after
// the driver has assigned that split to it: the end it reports was
// decided before the split arrived.
type eofRaceSource struct{ seqSource }

func (s *eofRaceSource) NewReader(int) (SplitReader, error) {
	return &eofRaceReader{seqReader: seqReader{rows: s.rows, next: map[string]int64{}, wake: make(chan struct{}, 1)}, src: s}, nil
}

type eofRaceReader struct {
	seqReader
	src   *eofRaceSource
	raced bool
}

func (r *eofRaceReader) Next(ctx context.Context) (Batch, error) {
	b, err := r.seqReader.Next(ctx)
	if err != io.EOF || r.raced {
		return b, err
	}
	r.raced = true
	select {
	case <-r.wake: // the assignment of the splits read so far
	default:
	}
	r.src.mu.Lock()
	r.src.splits++
	r.src.mu.Unlock()
	select {
	case <-r.wake: // the new split's assignment
	case <-time.After(5 * time.Second):
	}
	return Batch{}, io.EOF
}

// TestDriverSplitAssignedAtReaderEnd gives a reader a new split while it
// is reporting its end: the driver reads the split anyway.
func TestDriverSplitAssignedAtReaderEnd(t *testing.T) {
	src := &eofRaceSource{seqSource{splits: 1, rows: 20}}
	s, err := DriveSource(src, DriverOptions{Parallelism: 1, Discover: 2 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := drive(t, s, 40, nil)
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	var want []int64
	for k := range int64(2) {
		for n := range int64(20) {
			want = append(want, k*1000+n)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
