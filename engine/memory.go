package engine

import (
	"bufio"
	"os"
	"strconv"
	"strings"
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
