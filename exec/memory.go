package exec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"streamsql/sql/sqlerr"
)

// Query memory: every ad-hoc statement gets a MemAccount with a limit (the
// query_mem setting), drawn from one server-wide MemPool (the total all
// running statements may hold). Operators that hold rows (sort, hash
// aggregation, hash join build sides, distinct, set operations, windows,
// buffers) reserve what they hold, a batch at a time, from Arrow buffer
// sizes, and give it back when they drop it. An operator that can spill
// asks with TryGrow and, refused, writes part of its state to temporary
// files (CreateTemp); one that cannot calls Grow and the statement fails
// with 53200 out of memory, never the process.
//
// A nil *MemAccount is an unlimited account without a spill area, so code
// that runs outside a statement (streaming jobs, tests) needs none.

// MemPool is memory that several statements share: the server's pool
// (all statements) and, under it, one per connection (its open
// statements, as with several portals). A reservation counts in the pool
// and every parent.
type MemPool struct {
	name    string // for errors: "-total-query-mem" or "query_mem"
	parent  *MemPool
	limit   atomic.Int64 // 0: no limit
	used    atomic.Int64
	spilled atomic.Int64
}

// SpilledBytes is the bytes statements have written to temporary files.
func (p *MemPool) SpilledBytes() int64 { return p.spilled.Load() }

// NewMemPool returns the server's pool of limit bytes (0 or less: no
// limit).
func NewMemPool(limit int64) *MemPool {
	p := &MemPool{name: "-total-query-mem"}
	p.limit.Store(max(limit, 0))
	return p
}

// NewConnPool returns the pool of one connection's statements, under
// the server's pool parent.
func NewConnPool(parent *MemPool, limit int64) *MemPool {
	p := &MemPool{name: "query_mem", parent: parent}
	p.limit.Store(max(limit, 0))
	return p
}

// SetLimit changes the pool's size (a connection's query_mem changed).
func (p *MemPool) SetLimit(limit int64) { p.limit.Store(max(limit, 0)) }

// Limit is the pool's size in bytes (0: no limit).
func (p *MemPool) Limit() int64 { return p.limit.Load() }

// Used is the bytes held by every account of the pool.
func (p *MemPool) Used() int64 { return p.used.Load() }

// tryGrow reserves n bytes in p and its parents, or returns the pool that
// refused (nothing reserved then).
func (p *MemPool) tryGrow(n int64) *MemPool {
	for q := p; q != nil; q = q.parent {
		lim := q.limit.Load()
		if u := q.used.Add(n); lim > 0 && u > lim {
			for r := p; r != q.parent; r = r.parent {
				r.used.Add(-n)
			}
			return q
		}
	}
	return nil
}

// add counts n bytes (negative: gives them back) in p and its parents.
func (p *MemPool) add(n int64) {
	for q := p; q != nil; q = q.parent {
		q.used.Add(n)
	}
}

func (p *MemPool) addSpilled(n int64) {
	for q := p; q != nil; q = q.parent {
		q.spilled.Add(n)
	}
}

// MemAccount is one statement's memory and temporary files.
type MemAccount struct {
	pool  *MemPool
	limit int64 // 0: no limit of its own
	used  atomic.Int64
	peak  atomic.Int64

	tmpRoot string // where the statement's spill directory goes; "" = no spilling

	mu      sync.Mutex
	prefix  string   // of the statement's file names, set on first CreateTemp
	files   []string // created (some removed already)
	spilled atomic.Int64
	// spillers counts the operators of the statement that can spill;
	// each keeps to its share of the limit (SpillBudget).
	spillers atomic.Int64
	closed   bool
	done     atomic.Bool // closed: the pool no longer counts this account
	refused  atomic.Pointer[MemPool]
}

// inPool reports whether the account's bytes count in its pool.
func (a *MemAccount) inPool() bool { return a.pool != nil && !a.done.Load() }

// NewMemAccount returns an account of limit bytes (0: unlimited) drawing
// on pool (nil: none) whose temporary files go in a directory of its own
// under tmpRoot ("" disables spilling).
func NewMemAccount(pool *MemPool, limit int64, tmpRoot string) *MemAccount {
	return &MemAccount{pool: pool, limit: max(limit, 0), tmpRoot: tmpRoot}
}

// Limit is the account's limit in bytes (0: none).
func (a *MemAccount) Limit() int64 {
	if a == nil {
		return 0
	}
	return a.limit
}

// Used is the bytes the statement holds now.
func (a *MemAccount) Used() int64 {
	if a == nil {
		return 0
	}
	return a.used.Load()
}

// Peak is the most bytes the statement held at once.
func (a *MemAccount) Peak() int64 {
	if a == nil {
		return 0
	}
	return a.peak.Load()
}

// SpilledBytes is the bytes written to temporary files so far.
func (a *MemAccount) SpilledBytes() int64 {
	if a == nil {
		return 0
	}
	return a.spilled.Load()
}

// AddSpiller registers an operator that spills past its share of the
// limit (sort, hash aggregation, hash join). Operators register in Open,
// so by the first Next every share is known.
func (a *MemAccount) AddSpiller() {
	if a != nil {
		a.spillers.Add(1)
	}
}

// SpillBudget is the share of the limit one spilling operator keeps to
// before it spills (0: none, the statement has no limit). Shares leave
// the statement's memory to the operators that cannot spill and to the
// growth of state that cannot move (a group's string_agg).
func (a *MemAccount) SpillBudget() int64 {
	if a == nil || a.limit <= 0 {
		return 0
	}
	return a.limit / max(1, a.spillers.Load())
}

// overBudget reports whether an operator holding held bytes would pass
// its share by taking n more.
func (a *MemAccount) OverBudget(held, n int64) bool {
	b := a.SpillBudget()
	return b > 0 && a.CanSpill() && held+n > b
}

// CanSpill reports whether the statement has a spill area.
func (a *MemAccount) CanSpill() bool { return a != nil && a.tmpRoot != "" }

// TryGrow reserves n more bytes and reports whether they fitted under the
// statement's limit and the server's total; refused, nothing is reserved.
func (a *MemAccount) TryGrow(n int64) bool {
	if a == nil {
		return true
	}
	if n <= 0 {
		a.Shrink(-n)
		return true
	}
	u := a.used.Add(n)
	if a.limit > 0 && u > a.limit {
		a.used.Add(-n)
		return false
	}
	if a.inPool() {
		if q := a.pool.tryGrow(n); q != nil {
			a.used.Add(-n)
			a.refused.Store(q)
			return false
		}
	}
	for {
		p := a.peak.Load()
		if u <= p || a.peak.CompareAndSwap(p, u) {
			break
		}
	}
	return true
}

// Grow reserves n more bytes for operator op, or fails with PostgreSQL's
// out of memory error (53200) naming op and the limit.
func (a *MemAccount) Grow(op string, n int64) error {
	if a.TryGrow(n) {
		return nil
	}
	return a.OutOfMemory(op, n)
}

// ForceGrow counts n bytes the statement has taken already, past the
// limits if need be; the next TryGrow then refuses.
func (a *MemAccount) ForceGrow(n int64) {
	if a == nil {
		return
	}
	u := a.used.Add(n)
	if a.inPool() {
		a.pool.add(n)
	}
	for {
		p := a.peak.Load()
		if u <= p || a.peak.CompareAndSwap(p, u) {
			break
		}
	}
}

// Shrink gives back n bytes.
func (a *MemAccount) Shrink(n int64) {
	if a == nil || n == 0 {
		return
	}
	a.used.Add(-n)
	if a.inPool() {
		a.pool.add(-n)
	}
}

// OutOfMemory is the error of a request of n bytes that operator op could
// neither fit nor spill.
func (a *MemAccount) OutOfMemory(op string, n int64) error {
	e := &sqlerr.Error{Code: sqlerr.OutOfMemory, Message: "out of memory"}
	if a != nil && a.limit > 0 && a.used.Load()+n > a.limit {
		e.Detail = fmt.Sprintf("Failed on request of size %d in operator %s; query_mem is %s.", n, op, FormatMemSize(a.limit))
		e.Hint = "Raise query_mem (for example SET query_mem = '1GB') or make the query hold fewer rows at once."
		return e
	}
	q := (*MemPool)(nil)
	if a != nil {
		q = a.refused.Load()
	}
	if q != nil && q.parent != nil {
		e.Detail = fmt.Sprintf("Failed on request of size %d in operator %s; the connection's open statements together hold query_mem %s.", n, op, FormatMemSize(q.Limit()))
		e.Hint = "Close other portals of this connection, or raise query_mem."
		return e
	}
	limit := int64(0)
	if q != nil {
		limit = q.Limit()
	}
	e.Detail = fmt.Sprintf("Failed on request of size %d in operator %s; the server's memory for all queries (-total-query-mem %s) is in use.", n, op, FormatMemSize(limit))
	e.Hint = "Retry when fewer queries run, lower query_mem, or raise the server's -total-query-mem."
	return e
}

// CreateTemp creates a temporary file in the spill area, named after the
// statement. The caller closes and removes it; Close removes whatever is
// left.
func (a *MemAccount) CreateTemp(what string) (*os.File, error) {
	if !a.CanSpill() {
		return nil, errors.New("statement has no spill area")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errors.New("statement finished")
	}
	if a.prefix == "" {
		if err := os.MkdirAll(a.tmpRoot, 0o700); err != nil {
			return nil, SpillError("create spill area", err)
		}
		a.prefix = fmt.Sprintf("stmt-%d-%p-", os.Getpid(), a)
	}
	f, err := os.CreateTemp(a.tmpRoot, a.prefix+what+"-*.arrow")
	if err != nil {
		return nil, SpillError("create temporary file", err)
	}
	a.files = append(a.files, f.Name())
	return f, nil
}

// AddSpilled counts n bytes written to temporary files.
func (a *MemAccount) AddSpilled(n int64) {
	if a != nil {
		a.spilled.Add(n)
		if a.pool != nil {
			a.pool.addSpilled(n)
		}
	}
}

// Close ends the statement: its temporary files are removed and whatever
// it still holds goes back to the pool (operators normally give back
// their reservations when they close; this covers those that did not).
// The account stays usable, without spilling, for operators closing after
// it.
func (a *MemAccount) Close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	files := a.files
	a.files, a.closed = nil, true
	a.mu.Unlock()
	if a.pool != nil && !a.done.Swap(true) {
		a.pool.add(-a.used.Load())
	}
	for _, f := range files {
		os.Remove(f)
	}
}

// SpillError wraps a failure of temporary file I/O; running out of space
// is PostgreSQL's 53100 disk full.
func SpillError(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return &sqlerr.Error{Code: sqlerr.DiskFull, Message: fmt.Sprintf("could not %s: No space left on device", what), Cause: err}
	}
	return &sqlerr.Error{Code: sqlerr.IOError, Message: fmt.Sprintf("could not %s: %v", what, err), Cause: err}
}

// CleanTempRoot removes spill files left behind by a previous run (a
// crash mid-statement) under root.
func CleanTempRoot(root string) error {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "stmt-") {
			if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// What a number without a unit counts in ParseSize.
const (
	// PlainBytes: command-line flags and the config file (512 is 512
	// bytes).
	PlainBytes int64 = 1
	// PlainKB: PostgreSQL's memory settings (SET work_mem = 512 is 512kB).
	PlainKB int64 = 1 << 10
)

// ParseSize reads a size: a number with an optional unit B, kB, MB, GB,
// TB (powers of 1024, as in PostgreSQL; the common spellings k, KiB, mb,
// ... too), where a number without a unit counts plain bytes each
// (PlainBytes or PlainKB). Quotes and spaces around are ignored.
func ParseSize(s string, plain int64) (int64, error) {
	v := strings.Trim(strings.TrimSpace(s), "'\"")
	v = strings.TrimSpace(v)
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	num, unit := v[:i], strings.TrimSpace(v[i:])
	if num == "" {
		return 0, fmt.Errorf("invalid value for a memory size: %q", s)
	}
	var n float64
	if _, err := fmt.Sscanf(num, "%g", &n); err != nil {
		return 0, fmt.Errorf("invalid value for a memory size: %q", s)
	}
	mult := map[string]float64{"": float64(plain), "B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
	m, ok := mult[unit]
	if !ok {
		// PostgreSQL's units are case sensitive; accept common spellings.
		m, ok = map[string]float64{"b": 1, "kb": 1 << 10, "k": 1 << 10, "kib": 1 << 10, "mb": 1 << 20, "m": 1 << 20, "mib": 1 << 20,
			"gb": 1 << 30, "g": 1 << 30, "gib": 1 << 30, "tb": 1 << 40, "t": 1 << 40, "tib": 1 << 40}[strings.ToLower(unit)]
	}
	if !ok {
		return 0, fmt.Errorf("invalid unit %q for a memory size: valid units are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\"", unit)
	}
	return int64(n * m), nil
}

// ParseMemSize reads a memory size as PostgreSQL spells it: a plain
// integer is kilobytes (ParseSize with PlainKB).
func ParseMemSize(s string) (int64, error) { return ParseSize(s, PlainKB) }

// FormatMemSize renders bytes as PostgreSQL shows memory settings: the
// largest unit that divides the value exactly.
func FormatMemSize(n int64) string {
	switch {
	case n == 0:
		return "0"
	case n%(1<<40) == 0:
		return fmt.Sprintf("%dTB", n>>40)
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dkB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
