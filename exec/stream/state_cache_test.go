package stream_test

import (
	"fmt"
	"slices"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
)

// cacheEntry is one entry of the operator-side cache the tests evict
// from.
type cacheEntry struct {
	name      int
	dirty     bool
	lastWrite uint64
	ref       bool
	pinned    bool // held by the operator
}

// testCache is an operator's cache of 100-byte entries over the shared
// StateCache, on a budget of limit bytes with epoch committed committed.
type testCache struct {
	stream.StateCache
	env     *stream.Env
	entries []*cacheEntry
	dropped []int
	compact bool // Drop moves the last entry into the hole
}

func newTestCache(t *testing.T, n int, limit int64, committed uint64, compact bool) *testCache {
	env, _ := streamtest.Env(t)
	env.Memory = stream.NewStateMemory(limit)
	env.Committed = func() uint64 { return committed }
	c := &testCache{env: env, compact: compact}
	c.StateCache = stream.NewStateCache(env, env.StateAccount())
	for i := range n {
		c.entries = append(c.entries, &cacheEntry{name: i})
		c.Bytes += 100
	}
	return c
}

func (c *testCache) shrink() int64 {
	return c.Shrink(stream.Entries{
		Len: func() int { return len(c.entries) },
		Pinned: func(i int, committed uint64) bool {
			e := c.entries[i]
			return e == nil || e.dirty || e.lastWrite > committed || e.pinned
		},
		TakeRef: func(i int) bool { e := c.entries[i]; r := e.ref; e.ref = false; return r },
		Drop: func(i int) bool {
			c.dropped = append(c.dropped, c.entries[i].name)
			c.Bytes -= 100
			if !c.compact {
				c.entries[i] = nil
				return false
			}
			last := len(c.entries) - 1
			c.entries[i] = c.entries[last]
			c.entries = c.entries[:last]
			return i < last
		},
	})
}

// TestStateCacheShrink runs the one eviction policy of operator state:
// nothing goes while the budget holds; over it, the clock hand passes
// dirty, uncommitted and operator-pinned entries, gives recently used
// ones a second chance and drops the rest down to 80% of the instance's
// share, counting them in the job's stats and the budget; an entry moved
// into a dropped one's place is looked at next.
func TestStateCacheShrink(t *testing.T) {
	setup := func(c *testCache) {
		c.entries[0].dirty = true
		c.entries[1].lastWrite = 5 // committed is 3
		c.entries[2].ref = true
		c.entries[3].pinned = true
	}
	for _, tc := range []struct {
		compact bool
		want    []int
	}{
		{false, []int{4, 5, 6, 7, 8, 9}},
		{true, []int{4, 9, 8, 7, 6, 5}},
	} {
		t.Run(fmt.Sprintf("compact=%v", tc.compact), func(t *testing.T) {
			c := newTestCache(t, 10, 500, 3, tc.compact)
			setup(c)
			// 1000 bytes against 500: the target is 1000*500/1000*0.8.
			if n := c.shrink(); n != int64(len(tc.want)) || !slices.Equal(c.dropped, tc.want) {
				t.Fatalf("dropped %v (%d), want %v", c.dropped, n, tc.want)
			}
			if c.Bytes != 400 || !c.Evicted {
				t.Fatalf("bytes %d, evicted %v; want 400, true", c.Bytes, c.Evicted)
			}
			if got := c.env.Memory.Used(); got != 400 {
				t.Fatalf("budget used %d, want 400", got)
			}
			if got := c.env.Stats.StateEvicted.Load(); got != 6 {
				t.Fatalf("stats: %d evicted, want 6", got)
			}
			for _, e := range c.entries {
				if e != nil && e.ref {
					t.Fatalf("entry %d kept its reference mark past the hand", e.name)
				}
			}
		})
	}
	t.Run("within budget", func(t *testing.T) {
		c := newTestCache(t, 10, 1000, 3, false)
		if n := c.shrink(); n != 0 || c.Evicted || c.env.Memory.Used() != 1000 {
			t.Fatalf("dropped %v within the budget (used %d)", c.dropped, c.env.Memory.Used())
		}
	})
	t.Run("unlimited", func(t *testing.T) {
		env, _ := streamtest.Env(t)
		c := &testCache{env: env, StateCache: stream.NewStateCache(env, env.StateAccount())}
		c.entries = []*cacheEntry{{name: 0}}
		c.Bytes = 1 << 40
		if n := c.shrink(); n != 0 {
			t.Fatalf("dropped %v without a budget", c.dropped)
		}
	})
	t.Run("second pass", func(t *testing.T) {
		// Every entry was used: the first pass takes the marks, the
		// second evicts from where the hand began.
		c := newTestCache(t, 4, 100, 0, false)
		for _, e := range c.entries {
			e.ref = true
		}
		c.shrink() // target 400*100/400*0.8 = 80
		if !slices.Equal(c.dropped, []int{0, 1, 2, 3}) {
			t.Fatalf("dropped %v, want [0 1 2 3]", c.dropped)
		}
	})
	t.Run("hand resumes", func(t *testing.T) {
		// The hand continues where it stopped: the next shrink starts
		// after the last entry it looked at.
		c := newTestCache(t, 10, 900, 0, false)
		c.shrink() // 1000 against 900: target 720, drops 0, 1, 2
		c.Bytes += 300
		for i := range 3 {
			c.entries[i] = &cacheEntry{name: 10 + i}
		}
		c.shrink()
		if want := []int{0, 1, 2, 3, 4, 5}; !slices.Equal(c.dropped, want) {
			t.Fatalf("dropped %v, want %v", c.dropped, want)
		}
	})
}

// TestRemovedKeys checks the memory of keys removed in epochs that may
// not have committed: a key stays removed until the epoch of its last
// removal has committed.
func TestRemovedKeys(t *testing.T) {
	r := stream.NewRemovedKeys()
	r.AddNow("a")
	if !r.Has([]byte("a")) {
		t.Fatal("a key removed in the current epoch is not known removed")
	}
	r.Date(4)
	r.Add("b", 5)
	r.Forget(3)
	if !r.Has([]byte("a")) || !r.Has([]byte("b")) {
		t.Fatal("forgot keys before their epochs committed")
	}
	r.Forget(4)
	if r.Has([]byte("a")) || !r.Has([]byte("b")) {
		t.Fatal("epoch 4 committed: want a forgotten, b kept")
	}
	r.Add("b", 6) // removed again after it came back
	r.Forget(5)
	if !r.Has([]byte("b")) {
		t.Fatal("b removed again at epoch 6 was forgotten when epoch 5 committed")
	}
	r.Forget(6)
	if r.Has([]byte("b")) {
		t.Fatal("b kept after epoch 6 committed")
	}
	var none *stream.RemovedKeys
	none.Forget(9)
	if none.Has([]byte("a")) {
		t.Fatal("a nil set has keys")
	}
}
