package stream

import (
	"math/rand"
	"slices"
	"testing"
)

// TestHeap pushes and pops random keys, interleaved, and checks that
// every pop returns the smallest key left with its value.
func TestHeap(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var h Heap[int]
	var model []int64
	for step := 0; step < 20000; step++ {
		if len(model) == 0 || r.Intn(3) > 0 {
			k := int64(r.Intn(500) - 250)
			h.Push(k, int(k)*7)
			model = append(model, k)
			continue
		}
		slices.Sort(model)
		if got := h.Min(); got.Key != model[0] {
			t.Fatalf("step %d: min %d, want %d", step, got.Key, model[0])
		}
		it := h.Pop()
		if it.Key != model[0] || it.Val != int(it.Key)*7 {
			t.Fatalf("step %d: popped %v, want key %d", step, it, model[0])
		}
		model = model[1:]
		if h.Len() != len(model) || len(h.Items()) != len(model) {
			t.Fatalf("step %d: %d items, want %d", step, h.Len(), len(model))
		}
	}
}
