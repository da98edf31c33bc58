package stream

// The sink log's hand-off.
//
// A sink that keeps up delivers each epoch right after it commits. The
// log still has to hold the epoch (a crash between the commit and the
// delivery must not lose it), but reading it back means iterating pebble
// and decompressing what the writer compressed a moment before: about a
// sixth of the CPU of a Kafka sink that keeps up. So the writer also
// hands each logged epoch's records, uncompressed, to the drainer, which
// delivers them from memory once the epoch has committed.
//
// The log stays the truth. The drainer uses the hand-off only for an
// epoch whose log is in pebble (checked with one point read: an epoch
// whose commit failed is never delivered) and only when every logged
// epoch after the last delivered one is in the hand-off: the writer
// offers its epochs in order, and one it cannot hand off (the hand-off
// holds handoffMax bytes, so a slow or unreachable target falls back to
// the log) becomes the gap, up to which the drainer reads pebble. The log
// a writer finds when it starts is such a gap too.

import (
	"sync"
)

// handoffMax bounds the uncompressed bytes the hand-off holds.
const handoffMax = 16 << 20

// handoffFree is how many part buffers the hand-off keeps for the writer
// after their epochs are delivered.
const handoffFree = 4

// handoffEpoch is one logged epoch's records, uncompressed.
type handoffEpoch struct {
	epoch  uint64
	parts  [][]byte
	rows   int64
	stored int64 // its bytes in the log, as stored
}

// handoff passes logged epochs from a sink's writer to its drainer.
type handoff struct {
	mu    sync.Mutex
	queue []handoffEpoch
	bytes int
	// gap is the last logged epoch the queue does not hold: the drainer
	// reads the log up to it from pebble.
	gap  uint64
	free [][]byte
}

// offer hands epoch's parts over; false when the hand-off is full (the
// caller keeps the parts).
func (h *handoff) offer(epoch uint64, parts [][]byte, rows, stored int64) bool {
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bytes+size > handoffMax {
		h.gap = epoch
		return false
	}
	h.queue = append(h.queue, handoffEpoch{epoch: epoch, parts: append([][]byte(nil), parts...), rows: rows, stored: stored})
	h.bytes += size
	return true
}

// skip records that epoch is logged but not handed off.
func (h *handoff) skip(epoch uint64) {
	h.mu.Lock()
	h.gap = max(h.gap, epoch)
	h.mu.Unlock()
}

// buffer returns a part buffer of a delivered epoch, if one is free.
func (h *handoff) buffer() ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.free)
	if n == 0 {
		return nil, false
	}
	b := h.free[n-1]
	h.free[n-1] = nil
	h.free = h.free[:n-1]
	return b, true
}

// drop forgets the epochs up to upTo (the target holds them).
func (h *handoff) drop(upTo uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for ; i < len(h.queue) && h.queue[i].epoch <= upTo; i++ {
		for _, p := range h.queue[i].parts {
			h.bytes -= len(p)
			if len(h.free) < handoffFree {
				h.free = append(h.free, p[:0])
			}
		}
	}
	n := copy(h.queue, h.queue[i:])
	clear(h.queue[n:])
	h.queue = h.queue[:n]
}

// next returns the epochs after from, up to committed and about
// maxBytes, that the drainer may deliver from memory: none when the log
// holds an epoch after from that the hand-off does not. They stay in the
// hand-off until drop.
func (h *handoff) next(out []handoffEpoch, from, committed uint64, maxBytes int) []handoffEpoch {
	h.drop(from)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gap > from {
		return out
	}
	size := 0
	for _, e := range h.queue {
		if e.epoch > committed || (size > 0 && size >= maxBytes) {
			break
		}
		out = append(out, e)
		for _, p := range e.parts {
			size += len(p)
		}
	}
	return out
}
