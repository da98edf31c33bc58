// Package cputime reads the CPU time the process has used. Benchmarks on a
// shared machine report work per CPU second (user plus system time, the
// garbage collector's included): other processes competing for the cores
// change wall time, much less the CPU time the work itself takes.
package cputime

import (
	"syscall"
	"time"
)

// Used returns the user plus system CPU time the process has used so far,
// or 0 where the system does not say.
func Used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
