package format

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
)

// bufferPool lends a Batch the memory of its fixed-width buffers: validity
// bitmaps, boolean bits, integer, float, date, time, timestamp and interval
// values, and the offsets of text and binary columns. Batch.Finish hands
// each buffer to Arrow with the pool as its allocator
// (memory.NewBufferWithAllocator), so Arrow's reference count decides when
// the memory comes back: when the last array, slice or record that holds
// the buffer is released, Arrow calls Free and the next chunk's columns are
// written into it. A buffer that is never released is simply collected.
// The steady state of a source reader is then one set of buffers per chunk
// in flight, reused, instead of fresh zeroed memory for every chunk that
// the garbage collector has to find and free again.
//
// The data buffers of text and binary columns are not pooled: the engine's
// row-wise paths read text through types.GetDatum, whose strings and byte
// slices point into the data buffer, and keep some of them past the chunk
// (group keys of a hash aggregation). Reusing that memory after the chunk's
// release would change values someone still holds, so the garbage collector
// keeps deciding when it is free. Values read from fixed-width buffers are
// copies.
//
// A pool is shared by the Batch's goroutine (get) and whoever releases the
// last reference to a chunk (Free), so it locks. It keeps at most
// poolKeep buffers of each power-of-two size.
type bufferPool struct {
	mu   sync.Mutex
	free [poolClasses][][]byte
	// gets counts buffers taken and hits those that came from free: tests
	// and benchmarks read them.
	gets, hits atomic.Int64
}

const (
	poolMinClass = 6  // 64 bytes, the smallest buffer lent
	poolClasses  = 32 // up to 2 GiB
	poolKeep     = 16 // buffers kept per size
)

// poolClass is the size class of a buffer of at least n bytes: its
// capacity is 1<<class.
func poolClass(n int) int {
	if n <= 1<<poolMinClass {
		return poolMinClass
	}
	return bits.Len(uint(n - 1))
}

// get returns an empty buffer with room for at least n bytes. Its
// contents are whatever the last user left: callers write before they
// read.
func (p *bufferPool) get(n int) []byte {
	c := poolClass(n)
	p.gets.Add(1)
	if c < poolClasses {
		p.mu.Lock()
		if k := len(p.free[c]); k > 0 {
			b := p.free[c][k-1]
			p.free[c][k-1] = nil
			p.free[c] = p.free[c][:k-1]
			p.mu.Unlock()
			p.hits.Add(1)
			return b[:0]
		}
		p.mu.Unlock()
	}
	return make([]byte, 0, 1<<c)
}

// put takes back a buffer nobody references any more.
func (p *bufferPool) put(b []byte) {
	c := cap(b)
	if c < 1<<poolMinClass || c&(c-1) != 0 {
		return // not one of ours (or cut down): leave it to the collector
	}
	k := bits.Len(uint(c)) - 1
	if k >= poolClasses {
		return
	}
	p.mu.Lock()
	if len(p.free[k]) < poolKeep {
		p.free[k] = append(p.free[k], b[:0])
	}
	p.mu.Unlock()
}

// Allocate implements memory.Allocator (Arrow calls only Free on buffers
// handed to it; the other two methods complete the interface).
func (p *bufferPool) Allocate(size int) []byte { return p.get(size)[:size] }

// Reallocate implements memory.Allocator.
func (p *bufferPool) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := p.get(size)[:size]
	copy(nb, b)
	p.put(b)
	return nb
}

// Free implements memory.Allocator: Arrow released the last reference to
// a buffer of this pool.
func (p *bufferPool) Free(b []byte) { p.put(b) }

// fixedWidth are the value types a pool buffer holds: without pointers,
// so that the collector may see their memory as plain bytes.
type fixedWidth interface {
	~uint8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64 | arrow.MonthDayNanoInterval
}

// grow returns s with room for n elements in all, in pool memory: s
// itself when it has the room, otherwise a pooled buffer holding a copy
// of s (and s goes back to the pool; it was never handed out).
func grow[E fixedWidth](p *bufferPool, s []E, n int) []E {
	if cap(s) >= n {
		return s
	}
	var z E
	size := int(unsafe.Sizeof(z))
	ns := fromBytes[E](p.get(n * size))[:len(s)]
	copy(ns, s)
	if cap(s) > 0 {
		p.put(asBytes(s[:0]))
	}
	return ns
}

// asBytes is s as bytes, length and capacity included (the capacity is
// how the pool knows the buffer's size class again).
func asBytes[E fixedWidth](s []E) []byte {
	if cap(s) == 0 {
		return nil
	}
	var z E
	size := int(unsafe.Sizeof(z))
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s[:1]))), cap(s)*size)[:len(s)*size]
}

// fromBytes is an empty slice of E over the memory of b. Pool buffers are
// at least 64 bytes and a power of two, so the allocator aligns them for
// any fixed-width value.
func fromBytes[E fixedWidth](b []byte) []E {
	var z E
	size := int(unsafe.Sizeof(z))
	return unsafe.Slice((*E)(unsafe.Pointer(unsafe.SliceData(b[:1]))), cap(b)/size)[:0]
}
