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
	a := &StateAccount{mem: e.Memory, stats: e.Stats}
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

// ShrinkPartitions reports the instance's resident bytes and, while they
// exceed its target, runs a CLOCK hand over *list (at most two passes):
// partitions pinned at the last committed epoch (changed since, or
// otherwise not evictable yet) are passed, partitions used since the
// hand's last pass lose their reference bit (second chance), and the
// others are dropped by drop, which removes the partition at the hand by
// moving the last one there and lowers *bytes. It runs at barriers,
// after the epoch's writes, and counts the partitions dropped.
func ShrinkPartitions[P any](env *Env, a *StateAccount, bytes *int64, list *[]P, hand *int,
	pinned func(p P, committed uint64) bool, takeRef func(P) bool, drop func(P)) {
	if a == nil {
		return
	}
	a.Report(*bytes)
	target := a.Target()
	if target < 0 || *bytes <= target {
		return
	}
	committed := env.CommittedEpoch()
	var evicted int64
	for steps, n := 0, 2*len(*list); steps < n && *bytes > target && len(*list) > 0; steps++ {
		if *hand >= len(*list) {
			*hand = 0
		}
		p := (*list)[*hand]
		if pinned(p, committed) || takeRef(p) {
			*hand++
			continue
		}
		drop(p)
		evicted++
	}
	env.Stats.StateEvicted.Add(evicted)
	a.Report(*bytes)
}
