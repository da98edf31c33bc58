package engine

import (
	"streamsql/internal/gctune"
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
	if total := gctune.PhysicalMemory(); total > 0 {
		return total / 2
	}
	return 4 << 30
}

// StateMemory returns the budget of operator state in bytes (0: none) and
// the bytes in use.
func (e *Engine) StateMemory() (limit, used int64) {
	return e.stateMemory.Limit(), e.stateMemory.Used()
}
