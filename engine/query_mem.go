package engine

import (
	"path/filepath"
	"strconv"

	"streamsql/exec"
	"streamsql/sql/sqlerr"
)

// Query memory: each ad-hoc statement runs with an exec.MemAccount of
// query_mem bytes (a session setting, work_mem is its PostgreSQL alias)
// drawn from the server's pool of -total-query-mem bytes; sorts, hash
// aggregations and hash joins beyond it spill to <data>/tmp, what cannot
// spill fails with 53200.

// Query memory defaults.
const (
	defaultQueryMemCap = 1 << 30  // query_mem: 1GB unless the pool is smaller
	minQueryMem        = 64 << 10 // PostgreSQL's minimum of work_mem
)

// queryMemory turns Options.QueryMem and Options.TotalQueryMem into the
// per-statement default and the server total (0: no limit). The total
// defaults to three quarters of the machine's memory less the streaming
// state budget, and at least an eighth of the machine.
func queryMemory(opts Options, stateLimit int64) (perQuery, total int64) {
	total = memoryOption(opts.TotalQueryMem, func() int64 {
		ram := physicalMemory()
		if ram <= 0 {
			ram = 8 << 30
		}
		return max(ram*3/4-stateLimit, ram/8)
	})
	perQuery = memoryOption(opts.QueryMem, func() int64 {
		if total > 0 {
			return min(defaultQueryMemCap, total)
		}
		return defaultQueryMemCap
	})
	return perQuery, total
}

// memoryOption reads a memory option the way Options documents them: a
// positive value is the limit, a negative one means no limit (0), and 0
// asks for the default def computes.
func memoryOption(v int64, def func() int64) int64 {
	switch {
	case v > 0:
		return v
	case v < 0:
		return 0
	default:
		return def()
	}
}

// tmpDir is where statements spill: <data>/tmp.
func tmpDir(dataDir string) string { return filepath.Join(dataDir, "tmp") }

// QueryMemory returns the per-statement default, the server total (0:
// no limit) and the bytes statements hold now.
func (e *Engine) QueryMemory() (perQuery, total, used int64) {
	return e.queryMem, e.queryPool.Limit(), e.queryPool.Used()
}

// QuerySpilledBytes is the bytes statements have written to temporary
// files since the server started.
func (e *Engine) QuerySpilledBytes() int64 { return e.queryPool.SpilledBytes() }

// queryMemSetting is query_mem's value when the session has not set it.
func (e *Engine) queryMemSetting() string {
	if e.queryMem <= 0 {
		return "-1"
	}
	return exec.FormatMemSize(e.queryMem)
}

// newMemAccount is the memory account of one statement of s: query_mem
// bytes, drawn from the connection's pool (query_mem for all its open
// statements, as several portals may be) under the server's.
func (s *Session) newMemAccount() *exec.MemAccount {
	limit := s.e.queryMem
	if v, ok := s.vars["query_mem"]; ok {
		if n, err := parseQueryMem(v); err == nil {
			limit = n
		}
	}
	if s.connMem == nil {
		s.connMem = exec.NewConnPool(s.e.queryPool, limit)
	} else {
		s.connMem.SetLimit(limit)
	}
	return exec.NewMemAccount(s.connMem, limit, s.e.tmpDir)
}

// parseQueryMem reads a query_mem value: a size as PostgreSQL spells
// memory settings (a plain number is kilobytes), or -1 for no limit of
// the statement's own.
func parseQueryMem(v string) (int64, error) {
	if v == "-1" {
		return 0, nil
	}
	return exec.ParseMemSize(v)
}

// checkQueryMem validates a SET query_mem (or work_mem) value and returns
// it as SHOW shows it.
func checkQueryMem(name, value string) (string, error) {
	if value == "-1" {
		return value, nil
	}
	n, err := exec.ParseMemSize(value)
	if err != nil {
		return "", (&sqlerr.Error{Code: sqlerr.InvalidParameterValue,
			Message: "invalid value for parameter \"" + name + "\": \"" + value + "\""}).
			WithHint("Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".")
	}
	if n < minQueryMem || n > 1<<50 {
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "%s kB is outside the valid range for parameter \"%s\" (64 kB .. 1099511627776 kB)",
			strconv.FormatInt(n>>10, 10), name)
	}
	return exec.FormatMemSize(n), nil
}
