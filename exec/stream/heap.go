package stream

// Heap is a binary min-heap of values ordered by an int64 key: the
// watermark-driven parts of the runtime (join cleanup, cold join rows,
// session windows) all pop what falls below a bound. The zero value is
// an empty heap; equal keys pop in no particular order.
type Heap[V any] struct {
	items []HeapItem[V]
}

// HeapItem is one entry of a Heap.
type HeapItem[V any] struct {
	Key int64
	Val V
}

// Len returns the number of items.
func (h *Heap[V]) Len() int { return len(h.items) }

// Min returns the item with the smallest key; the heap must not be empty.
func (h *Heap[V]) Min() HeapItem[V] { return h.items[0] }

// Items returns the items in heap order (not sorted), for accounting.
func (h *Heap[V]) Items() []HeapItem[V] { return h.items }

// Push adds v under key.
func (h *Heap[V]) Push(key int64, v V) {
	items := append(h.items, HeapItem[V]{key, v})
	i := len(items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if items[p].Key <= items[i].Key {
			break
		}
		items[p], items[i] = items[i], items[p]
		i = p
	}
	h.items = items
}

// Pop removes and returns the item with the smallest key; the heap must
// not be empty.
func (h *Heap[V]) Pop() HeapItem[V] {
	items := h.items
	top := items[0]
	n := len(items) - 1
	items[0] = items[n]
	var zero HeapItem[V]
	items[n] = zero // drop the reference
	items = items[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && items[r].Key < items[l].Key {
			m = r
		}
		if items[i].Key <= items[m].Key {
			break
		}
		items[i], items[m] = items[m], items[i]
		i = m
	}
	h.items = items
	return top
}
