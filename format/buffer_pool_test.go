package format

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// poolMsgs are n JSON messages with ids from first on.
func poolMsgs(first, n int) []Message {
	ms := make([]Message, n)
	for i := range ms {
		id := first + i
		v := fmt.Sprintf(`{"id": %d, "x": %d.5, "ok": %t, "name": "n%d"}`, id, id, id%2 == 0, id)
		if id%5 == 0 {
			v = fmt.Sprintf(`{"id": %d, "x": null, "name": null}`, id)
		}
		ms[i] = Message{Value: []byte(v), Offset: int64(id)}
	}
	return ms
}

// checkPoolCols checks that cols hold the rows of poolMsgs(first, n).
func checkPoolCols(t *testing.T, cols []arrow.Array, first, n int) {
	t.Helper()
	ids, xs, oks, names := cols[0].(*array.Int64), cols[1].(*array.Float64), cols[2].(*array.Boolean), cols[3].(*array.String)
	if ids.Len() != n {
		t.Fatalf("%d rows, want %d", ids.Len(), n)
	}
	for i := 0; i < n; i++ {
		id := first + i
		if ids.Value(i) != int64(id) {
			t.Fatalf("row %d: id %d, want %d", i, ids.Value(i), id)
		}
		if id%5 == 0 {
			if !xs.IsNull(i) || !names.IsNull(i) || !oks.IsNull(i) {
				t.Fatalf("row %d (id %d): want NULLs, got %v %v %v", i, id, xs.IsNull(i), names.IsNull(i), oks.IsNull(i))
			}
			continue
		}
		if xs.IsNull(i) || xs.Value(i) != float64(id)+0.5 || oks.Value(i) != (id%2 == 0) || names.Value(i) != fmt.Sprintf("n%d", id) {
			t.Fatalf("row %d (id %d): %v %v %q", i, id, xs.Value(i), oks.Value(i), names.Value(i))
		}
	}
}

func bufAddr(a arrow.Array, i int) uintptr {
	b := a.Data().Buffers()[i]
	if b == nil || b.Len() == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b.Bytes()[0]))
}

// A chunk's fixed-width buffers come back to its Batch only when the last
// reference to them is released: a slice of a column that outlives the
// column keeps its values while later chunks are decoded, and once it is
// released the next chunk is written into the same memory.
func TestPooledBuffersWaitForRelease(t *testing.T) {
	dec, schema := mustDecoder(t, Spec{Format: "PLAIN", Encode: "JSON"}, "id bigint\nx double precision\nok boolean\nname text\n")
	out := NewBatch(schema)
	const n = 1000
	dec.DecodeBatch(poolMsgs(0, n), out)
	a, _ := out.Finish()
	idsA := bufAddr(a[0], 1)
	// Keep rows 10..19 of every column past the release of the chunk.
	kept := make([]arrow.Array, len(a))
	for j, c := range a {
		kept[j] = array.NewSlice(c, 10, 20)
		c.Release()
	}
	for round := 1; round <= 4; round++ {
		dec.DecodeBatch(poolMsgs(round*n, n), out)
		b, _ := out.Finish()
		checkPoolCols(t, b, round*n, n)
		for j := range b {
			for i := range b[j].Data().Buffers() {
				if x := bufAddr(b[j], i); x != 0 && x == bufAddr(kept[j], i) {
					t.Fatalf("round %d: column %d buffer %d reused while a slice of it is alive", round, j, i)
				}
			}
		}
		for _, c := range b {
			c.Release()
		}
		checkPoolCols(t, kept, 10, 10)
	}
	for _, c := range kept {
		c.Release()
	}
	// Nothing holds chunk a's buffers now: they are lent again.
	reused := false
	for round := 5; round <= 8 && !reused; round++ {
		dec.DecodeBatch(poolMsgs(round*n, n), out)
		c, _ := out.Finish()
		checkPoolCols(t, c, round*n, n)
		reused = bufAddr(c[0], 1) == idsA
		for _, x := range c {
			x.Release()
		}
	}
	if !reused {
		t.Errorf("the id buffer of the first chunk was not reused after its release")
	}
	// In the steady state every fixed-width buffer comes from the pool.
	g0, h0 := out.pool.gets.Load(), out.pool.hits.Load()
	for round := 9; round < 20; round++ {
		dec.DecodeBatch(poolMsgs(round*n, n), out)
		c, _ := out.Finish()
		for _, x := range c {
			x.Release()
		}
	}
	if g, h := out.pool.gets.Load()-g0, out.pool.hits.Load()-h0; g == 0 || g != h {
		t.Errorf("steady state: %d buffers taken, %d from the pool", g, h)
	}
}

// Chunks released by another goroutine, as the stream runtime does, while
// the next ones are decoded: each keeps its values until its release
// (run with -race too).
func TestPooledBuffersReleasedElsewhere(t *testing.T) {
	dec, schema := mustDecoder(t, Spec{Format: "PLAIN", Encode: "JSON"}, "id bigint\nx double precision\nok boolean\nname text\n")
	out := NewBatch(schema)
	type chunk struct {
		cols  []arrow.Array
		first int
	}
	ch := make(chan chunk, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range ch {
			checkPoolCols(t, c.cols, c.first, 300)
			for _, x := range c.cols {
				x.Release()
			}
		}
	}()
	for k := 0; k < 60; k++ {
		out.Reset()
		dec.DecodeBatch(poolMsgs(k*300, 300), out)
		cols, _ := out.Finish()
		ch <- chunk{cols, k * 300}
	}
	close(ch)
	<-done
	if out.pool.hits.Load() == 0 {
		t.Errorf("no buffer came back to the pool")
	}
}

// An envelope whose messages are two rows each (Debezium updates) reserves
// for two rows a message once it has seen a chunk of them, so its columns
// take every buffer from the pool rather than growing by append.
func TestPooledBuffersTwoRowsPerMessage(t *testing.T) {
	dec, schema := mustDecoder(t, Spec{Format: "DEBEZIUM", Encode: "JSON"}, "id bigint\nname text\nprimary key id\n")
	msgs := make([]Message, 500)
	for i := range msgs {
		msgs[i] = Message{Offset: int64(i), Value: fmt.Appendf(nil,
			`{"before":{"id":%d,"name":"a%d"},"after":{"id":%d,"name":"b%d"},"op":"u"}`, i, i, i, i)}
	}
	out := NewBatch(schema)
	var g0, h0 int64
	for round := 0; round < 10; round++ {
		if round == 3 {
			g0, h0 = out.pool.gets.Load(), out.pool.hits.Load()
		}
		out.Reset()
		dec.DecodeBatch(msgs, out)
		cols, ops := out.Finish()
		if len(ops) != 2*len(msgs) {
			t.Fatalf("%d rows", len(ops))
		}
		for _, c := range cols {
			c.Release()
		}
	}
	if g, h := out.pool.gets.Load()-g0, out.pool.hits.Load()-h0; g == 0 || g != h {
		t.Errorf("steady state: %d buffers taken, %d from the pool", g, h)
	}
}
