// Package gctune sets how often the Go garbage collector runs in a server
// process, the knob a JVM database sets with its heap size.
//
// Go's default target (GOGC=100) starts a collection whenever the heap has
// grown by as much as survived the last one. A streaming server keeps a
// small live heap (state is in pebble and in bounded caches) while it
// allocates fast: every chunk a source decodes is fresh memory (Kafka fetch
// bodies, text columns handed to Arrow). With a small live heap the default
// target means a collection every few chunks, and the marking, the write
// barriers it turns on and the scavenger returning pages that are asked for
// again right after cost about a sixth of a Kafka source's CPU. A higher target
// (Percent, 400: a collection when the heap has grown fourfold) makes
// collections rarer; a soft memory limit (SoftLimit: nine tenths of the
// machine's or the container's memory) keeps that from growing the heap
// past what the machine has, because the collector runs as often as it
// must near the limit, whatever the target.
//
// The environment wins: with GOGC or GOMEMLIMIT set, the runtime already
// took them and Apply leaves that setting alone.
package gctune

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Percent is the garbage collection target a server runs with.
const Percent = 400

// Settings are the collector settings in force after Apply.
type Settings struct {
	Percent       int
	SoftLimit     int64 // bytes; math.MaxInt64 when there is none
	FromEnvGOGC   bool  // GOGC was set in the environment
	FromEnvMemLim bool  // GOMEMLIMIT was set in the environment
}

// Apply sets the collection target to percent (Percent when 0; negative
// turns collection off, as GOGC=off does) and the soft memory limit to
// limit bytes (SoftLimit() when 0; negative: none), except for what the
// environment sets. It is for a process's main function: the settings
// are the process's.
func Apply(percent int, limit int64) Settings {
	var s Settings
	if _, ok := os.LookupEnv("GOGC"); ok {
		s.FromEnvGOGC = true
		s.Percent = debug.SetGCPercent(100)
		debug.SetGCPercent(s.Percent)
	} else {
		if percent == 0 {
			percent = Percent
		}
		debug.SetGCPercent(percent)
		s.Percent = percent
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		s.FromEnvMemLim = true
		s.SoftLimit = debug.SetMemoryLimit(-1)
	} else {
		if limit == 0 {
			limit = SoftLimit()
		}
		if limit > 0 {
			debug.SetMemoryLimit(limit)
		}
		s.SoftLimit = debug.SetMemoryLimit(-1)
	}
	return s
}

// SoftLimit is nine tenths of the memory the process may use: the
// container's limit (cgroup v2 memory.max) when it has one below the
// machine's memory, else the machine's; 0 when neither is known.
func SoftLimit() int64 {
	m := PhysicalMemory()
	if c := cgroupLimit(); c > 0 && (m == 0 || c < m) {
		m = c
	}
	return m / 10 * 9
}

// PhysicalMemory returns MemTotal from /proc/meminfo, or 0.
func PhysicalMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit returns the memory limit of the process's cgroup (v2), or 0.
func cgroupLimit() int64 {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0 // "max": no limit
	}
	return v
}
