package engine

import (
	"bufio"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"streamsql/storage"
)

// stateMemoryLimit turns Options.StateMemory into the budget of operator
// state: the value given, half of the machine's memory by default, no
// limit for a negative value.
func stateMemoryLimit(opt int64) int64 {
	switch {
	case opt > 0:
		return opt
	case opt < 0:
		return 0
	}
	if total := physicalMemory(); total > 0 {
		return total / 2
	}
	return 4 << 30
}

// physicalMemory returns MemTotal from /proc/meminfo, or 0.
func physicalMemory() int64 {
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

// StateMemory returns the budget of operator state in bytes (0: none) and
// the bytes in use.
func (e *Engine) StateMemory() (limit, used int64) {
	return e.stateMemory.Limit(), e.stateMemory.Used()
}

// storageMemory returns pebble's block cache and memtable size for the
// state budget opt (Options.StateMemory): a quarter and an eighth of a
// budget that was set, within storage's defaults, so that a small budget
// is not dwarfed by caches outside it; storage's defaults otherwise.
func storageMemory(opt int64) (cache, memTable int64) {
	if opt <= 0 {
		return storage.DefaultCacheSize, storage.DefaultMemTableSize
	}
	return min(max(opt/4, 16<<20), storage.DefaultCacheSize), min(max(opt/8, 8<<20), storage.DefaultMemTableSize)
}

// goMemoryMargin is the Go heap a server needs besides operator state:
// chunks in flight between fragments, write batches of the epoch being
// committed, sessions, and the collector's own headroom.
const goMemoryMargin = 256 << 20

// GoMemoryLimit returns the Go runtime's memory limit that fits the state
// budget stateMemory (as Options.StateMemory reads it): the budget plus
// goMemoryMargin or half the budget, whichever is larger; 0 when state
// memory is unlimited. pebble's cache and memtables live outside the Go
// heap and are not part of it. With the limit the collector runs more
// often as the heap nears it, instead of letting the heap grow to twice
// the live data (GOGC=100).
func GoMemoryLimit(stateMemory int64) int64 {
	state := stateMemoryLimit(stateMemory)
	if state <= 0 {
		return 0
	}
	return state + max(goMemoryMargin, state/2)
}

// applyGoMemoryLimit sets the process's Go memory limit to limit bytes
// (Options.GoMemoryLimit), unless limit is not positive or GOMEMLIMIT is
// set in the environment, which then wins.
func applyGoMemoryLimit(limit int64, log *slog.Logger) {
	if limit <= 0 {
		return
	}
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		log.Info("Go memory limit taken from GOMEMLIMIT", "GOMEMLIMIT", v)
		return
	}
	debug.SetMemoryLimit(limit)
	log.Info("Go memory limit set", "bytes", limit)
}
