package streamtest

import (
	"runtime"
	"slices"
	"testing"

	"streamsql/exec/stream"
)

// The state budget tests run one operator without a budget and one with
// a budget of a few bytes side by side over the same input: the budgeted
// one evicts state at every barrier and reads it back, and both must
// emit the same changes.

// Budget gives env a state budget of limit bytes and a committed epoch
// the test advances.
func Budget(env *stream.Env, limit int64, committed *uint64) {
	env.Memory = stream.NewStateMemory(limit)
	env.Committed = func() uint64 { return *committed }
}

// SameChanges fails unless the unlimited operator's changes of epoch, a,
// and the budgeted one's, b, are the same in any order.
func SameChanges(t testing.TB, epoch uint64, a, b []string) {
	t.Helper()
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Fatalf("epoch %d:\n budget    %q\n unlimited %q", epoch, b, a)
	}
}

// CheckEvicted fails unless the budgeted operator (stats b) evicted state
// and read it back, and the unlimited one (stats a) evicted nothing.
func CheckEvicted(t testing.TB, a, b *stream.Stats) {
	t.Helper()
	if b.StateEvicted.Load() == 0 || b.StateReads.Load() == 0 {
		t.Fatalf("evicted %d, read back %d: the budget did not take effect",
			b.StateEvicted.Load(), b.StateReads.Load())
	}
	if a.StateEvicted.Load() != 0 {
		t.Fatal("the unlimited operator evicted")
	}
}

// LiveHeap returns the bytes of live heap objects after a full
// collection.
func LiveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// StateBytesMatchHeap fails unless the state bytes an operator reported
// to its budget, reported, are within factor of the heap its state holds,
// measured (the growth of LiveHeap while the state was built).
func StateBytesMatchHeap(t testing.TB, reported, measured int64, factor float64) {
	t.Helper()
	t.Logf("reported %d bytes, heap grew by %d (%.2fx)", reported, measured, float64(reported)/float64(max(measured, 1)))
	if measured <= 0 || float64(reported) < float64(measured)/factor || float64(reported) > float64(measured)*factor {
		t.Fatalf("the operator reported %d bytes of state, the heap grew by %d: not within a factor of %g", reported, measured, factor)
	}
}
