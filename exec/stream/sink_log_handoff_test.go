package stream

import "testing"

// TestHandoffGap checks that the drainer takes epochs from the hand-off
// only when every logged epoch after its position is there: a full
// hand-off makes a gap, read from the log, until the drainer passes it.
func TestHandoffGap(t *testing.T) {
	var h handoff
	h.skip(3) // the log held epochs up to 3 when the writer started
	part := func(n int) [][]byte { return [][]byte{make([]byte, n)} }
	if !h.offer(5, part(10), 1, 5) || !h.offer(6, part(10), 1, 5) {
		t.Fatal("offer refused below the bound")
	}
	if got := h.next(nil, 2, 10, drainBatch); len(got) != 0 {
		t.Fatalf("epochs 3 and before are only in the log, got %d epochs from the hand-off", len(got))
	}
	got := h.next(nil, 3, 5, drainBatch)
	if len(got) != 1 || got[0].epoch != 5 {
		t.Fatalf("after epoch 3, committed 5: want epoch 5, got %+v", got)
	}
	h.drop(5)
	if h.offer(7, part(handoffMax), 1, 5) {
		t.Fatal("offer above the bound taken")
	}
	if !h.offer(8, part(10), 1, 5) {
		t.Fatal("offer after the gap refused")
	}
	if got := h.next(nil, 6, 10, drainBatch); len(got) != 0 {
		t.Fatalf("epoch 7 is only in the log, got %d epochs from the hand-off", len(got))
	}
	got = h.next(nil, 7, 10, drainBatch)
	if len(got) != 1 || got[0].epoch != 8 {
		t.Fatalf("after the gap: want epoch 8, got %+v", got)
	}
	if h.bytes != 10 {
		t.Fatalf("hand-off holds %d bytes, want 10 (epoch 8)", h.bytes)
	}
}
