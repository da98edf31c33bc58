package cputime

import (
	"os"
	"testing"
	"time"
)

// Busy work shows up as CPU time, and the clock keeps counting; sleeping
// adds next to nothing.
func TestUsedCountsWorkNotSleep(t *testing.T) {
	t0 := Used()
	if t0 <= 0 {
		t.Fatalf("Used() = %v at start, want > 0", t0)
	}
	x := uint64(1)
	deadline := time.Now().Add(10 * time.Second)
	for Used()-t0 < 20*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("10 s of busy work used %v of CPU", Used()-t0)
		}
		for i := 0; i < 100_000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	t1 := Used()
	time.Sleep(100 * time.Millisecond)
	if d := Used() - t1; d > 50*time.Millisecond {
		t.Fatalf("sleeping 100 ms used %v of CPU (x=%d)", d, x)
	}
}

// Process reads another process's CPU time from /proc: for this process
// it agrees with Used to within the clock ticks /proc counts in, and a
// process that does not exist has used none.
func TestProcessReadsProc(t *testing.T) {
	x := uint64(1)
	for t0 := Used(); Used()-t0 < 50*time.Millisecond; {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	_ = x
	used, proc := Used(), Process(os.Getpid())
	if proc <= 0 {
		t.Fatalf("Process(own pid) = %v, want > 0 (Used says %v)", proc, used)
	}
	if d := used - proc; d < -30*time.Millisecond || d > 30*time.Millisecond {
		t.Fatalf("Process(own pid) = %v, Used() = %v: more than three ticks apart", proc, used)
	}
	if got := Process(1 << 30); got != 0 {
		t.Fatalf("Process of a pid that does not exist = %v, want 0", got)
	}
}
