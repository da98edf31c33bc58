package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"streamsql/engine"
)

// defaultGCPercent is the server's GOGC when the environment sets none.
// The Go heap of a server holds little that lives long (pebble's block
// cache and memtables are outside it), so the default of 100 collects
// after every few megabytes of short-lived statement garbage: under
// bench/pgbench at 50 and 200 clients, 400 cut server CPU per
// transaction by 12-24 % (docs/benchmarks.md).
const defaultGCPercent = 400

// tuneGC sets the garbage collector's defaults unless GOGC or GOMEMLIMIT
// say otherwise: GOGC 400, and a soft memory limit of three quarters of
// the machine's memory, so that the larger heap target never grows the
// heap into what the machine has (the collector runs more often near the
// limit).
func tuneGC(log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	limit := int64(-1)
	if os.Getenv("GOMEMLIMIT") == "" {
		if total := engine.PhysicalMemory(); total > 0 {
			limit = total / 4 * 3
			debug.SetMemoryLimit(limit)
		}
	}
	log.Debug("garbage collector", "gogc_env", os.Getenv("GOGC"), "memory_limit", limit)
}
