package stream

// The memory budget of operator state.
//
// Stateful operators keep their state in memory as a cache over their
// state tables in pebble. Every epoch's changes are written at the
// barrier, so once that epoch has committed, the in-memory copy of a
// state entry that has not changed since is redundant: it can be dropped
// and read back from pebble when a row needs it again. That is how state
// larger than memory works.
//
// StateMemory is the budget shared by every operator instance of every
// job. Each instance reports its estimated resident bytes to its account
// at every barrier. While the sum exceeds the limit, every instance that
// reaches a barrier shrinks to its proportional share of the limit (less
// a margin, so that eviction runs every few epochs rather than every
// one), evicting entries that are clean, committed and not recently used.

import (
	"errors"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
)

// ErrLoadBudget stops a state scan at restart when the instance's load
// budget is spent; the rest of the state stays in storage.
var ErrLoadBudget = errors.New("state load budget spent")

// StateMemory is the memory budget of all operator state.
type StateMemory struct {
	limit int64
	used  atomic.Int64
}

// NewStateMemory returns a budget of limit bytes; limit <= 0 means no
// limit.
func NewStateMemory(limit int64) *StateMemory {
	return &StateMemory{limit: limit}
}

// Limit returns the budget in bytes (0: unlimited).
func (m *StateMemory) Limit() int64 {
	if m == nil || m.limit <= 0 {
		return 0
	}
	return m.limit
}

// Used returns the bytes all operators last reported.
func (m *StateMemory) Used() int64 {
	if m == nil {
		return 0
	}
	return m.used.Load()
}

// stateMargin is the share of its proportional budget an operator shrinks
// to when the budget is exceeded.
const stateMargin = 0.8

// StateAccount is one operator instance's share of the budget.
type StateAccount struct {
	mem   *StateMemory
	stats *Stats
	// node counts the bytes for the operator that opened the account.
	node  *nodeCounters
	bytes atomic.Int64
}

// Report records the instance's estimated resident bytes.
func (a *StateAccount) Report(bytes int64) {
	if a == nil {
		return
	}
	old := a.bytes.Swap(bytes)
	a.mem.used.Add(bytes - old)
	if a.stats != nil {
		a.stats.StateBytes.Add(bytes - old)
	}
	if a.node != nil {
		a.node.stateBytes.Add(bytes - old)
	}
}

// Target returns the bytes the instance should shrink to, or -1 while the
// budget holds.
func (a *StateAccount) Target() int64 {
	if a == nil || a.mem.limit <= 0 {
		return -1
	}
	used := a.mem.used.Load()
	if used <= a.mem.limit {
		return -1
	}
	own := a.bytes.Load()
	return int64(float64(own) * float64(a.mem.limit) / float64(used) * stateMargin)
}

// LoadBudget returns how many bytes an instance may load at restart
// before it leaves the rest of its state in storage: its share is not
// known yet, so it takes at most half of what is left.
func (a *StateAccount) LoadBudget() int64 {
	if a == nil || a.mem.limit <= 0 {
		return -1
	}
	return max(0, (a.mem.limit-a.mem.used.Load())/2)
}

// StateAccounts are the accounts of one job, released when it stops.
type StateAccounts struct {
	mu   sync.Mutex
	list []*StateAccount
}

// StateAccount opens an account for one operator instance of the job, or
// returns nil when state memory is unlimited.
func (e *Env) StateAccount() *StateAccount {
	if e == nil || e.Memory == nil || e.Memory.limit <= 0 {
		return nil
	}
	a := &StateAccount{mem: e.Memory, stats: e.Stats, node: e.node()}
	if e.accounts != nil {
		e.accounts.mu.Lock()
		e.accounts.list = append(e.accounts.list, a)
		e.accounts.mu.Unlock()
	}
	return a
}

// releaseState returns every account's bytes to the budget (the job
// stopped and its operators are gone).
func (e *Env) releaseState() {
	if e.accounts == nil {
		return
	}
	e.accounts.mu.Lock()
	defer e.accounts.mu.Unlock()
	for _, a := range e.accounts.list {
		a.Report(0)
	}
	e.accounts.list = nil
}

// CommittedEpoch returns the last committed epoch, 0 when unknown (then only
// state loaded from storage counts as committed).
func (e *Env) CommittedEpoch() uint64 {
	if e == nil || e.Committed == nil {
		return 0
	}
	return e.Committed()
}

// StateCache is the bookkeeping every operator instance keeps for its
// state cache under the memory budget: the estimate of its resident
// bytes, reported to its account, and the one eviction policy of the
// runtime (Shrink), a CLOCK hand with second chance over the operator's
// cache entries. What an entry is (a group, a join key, a partition, a
// session) and how it is read back belong to the operator; the policy,
// the accounting and the eviction metrics are here. Operators embed it.
type StateCache struct {
	env *Env
	// Acct is the instance's account; nil when state memory is
	// unlimited, and then nothing is evicted.
	Acct *StateAccount
	// Bytes is the operator's estimate of its resident state.
	Bytes int64
	// Evicted: committed state was left in storage (evicted, or not
	// loaded at restart), so an entry not in memory must be read.
	Evicted bool
	hand    int
}

// NewStateCache returns the cache bookkeeping of an instance whose
// resident bytes go to acct (nil: unlimited).
func NewStateCache(env *Env, acct *StateAccount) StateCache {
	return StateCache{env: env, Acct: acct}
}

// Report records the resident bytes with the account.
func (c *StateCache) Report() { c.Acct.Report(c.Bytes) }

// CountRead counts one entry read back from storage.
func (c *StateCache) CountRead() { c.env.Stats.StateReads.Add(1) }

// Entries are an operator's cache entries as the clock hand sees them,
// by position 0 to Len()-1.
type Entries struct {
	// Len returns the number of positions (an entry may leave a position
	// empty; Pinned reports such positions).
	Len func() int
	// Pinned reports that entry i may not be evicted now: it changed in
	// the current epoch, was last written in an epoch after committed
	// (storage does not hold it yet), or the operator still needs it.
	Pinned func(i int, committed uint64) bool
	// TakeRef reports whether entry i was used since the hand last
	// passed and clears the mark.
	TakeRef func(i int) bool
	// Drop evicts entry i, lowering Bytes; it reports whether another
	// entry was moved into position i (then the hand looks at it next).
	Drop func(i int) (moved bool)
}

// Shrink reports the resident bytes and, while they exceed the
// instance's target under the budget, runs the clock hand over e (at
// most two passes): pinned entries are passed, entries used since the
// hand's last pass lose their mark (second chance), and the others are
// dropped. It runs at barriers, after the epoch's writes, counts the
// entries dropped and returns how many there were.
func (c *StateCache) Shrink(e Entries) int64 {
	if c.Acct == nil {
		return 0
	}
	c.Report()
	target := c.Acct.Target()
	if target < 0 || c.Bytes <= target {
		return 0
	}
	committed := c.env.CommittedEpoch()
	var evicted int64
	for steps, n := 0, 2*e.Len(); steps < n && c.Bytes > target; steps++ {
		l := e.Len()
		if l == 0 {
			break
		}
		if c.hand >= l {
			c.hand = 0
		}
		i := c.hand
		if e.Pinned(i, committed) || e.TakeRef(i) {
			c.hand++
			continue
		}
		if !e.Drop(i) {
			c.hand++
		}
		evicted++
	}
	if evicted > 0 {
		c.Evicted = true
		c.env.countEvicted(evicted)
	}
	c.Report()
	return evicted
}

// RemovedKeys are the state keys whose state an operator deleted in an
// epoch that may not have committed yet: storage at the last committed
// epoch may still hold their old state, so reading them back must not
// happen until that epoch has committed. An operator with state only
// partly in memory asks Has before it reads a key back.
type RemovedKeys struct {
	epoch map[string]uint64 // key -> epoch of its last removal
	queue []removedKey      // in epoch order
	now   []string          // removed in the current epoch, not dated yet
}

type removedKey struct {
	epoch uint64
	key   string
}

// NewRemovedKeys returns an empty set.
func NewRemovedKeys() *RemovedKeys {
	return &RemovedKeys{epoch: map[string]uint64{}}
}

// Add records key as removed in epoch (epochs come in order).
func (r *RemovedKeys) Add(key string, epoch uint64) {
	r.epoch[key] = epoch
	r.queue = append(r.queue, removedKey{epoch, key})
}

// AddNow records key as removed in the current epoch, whose number Date
// gives at the barrier.
func (r *RemovedKeys) AddNow(key string) {
	r.epoch[key] = math.MaxUint64
	r.now = append(r.now, key)
}

// Date gives the keys removed since the last barrier the epoch of this
// one.
func (r *RemovedKeys) Date(epoch uint64) {
	for _, k := range r.now {
		r.Add(k, epoch)
	}
	r.now = r.now[:0]
}

// Has reports whether key was removed in an epoch perhaps not committed
// (never for a nil set).
func (r *RemovedKeys) Has(key []byte) bool {
	if r == nil {
		return false
	}
	_, ok := r.epoch[string(key)]
	return ok
}

// Forget drops the keys whose removal has committed.
func (r *RemovedKeys) Forget(committed uint64) {
	if r == nil {
		return
	}
	i := 0
	for ; i < len(r.queue) && r.queue[i].epoch <= committed; i++ {
		if q := r.queue[i]; r.epoch[q.key] == q.epoch {
			delete(r.epoch, q.key)
		}
	}
	r.queue = r.queue[i:]
	if len(r.queue) == 0 {
		r.queue = nil // let the backing array go
	}
}

// AllocBytes returns the bytes the Go allocator takes for an object of n
// bytes: its size rounded up to the allocator's size class (16 bytes
// apart up to 256, then about an eighth apart).
func AllocBytes(n int) int {
	switch {
	case n <= 0:
		return 0
	case n <= 8:
		return 8
	case n <= 256:
		return (n + 15) &^ 15
	}
	step := 1 << (bits.Len(uint(n-1)) - 3)
	return (n + step - 1) &^ (step - 1)
}
