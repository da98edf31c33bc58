package storage

// Serializable transactions.
//
// A Serializable transaction reads one snapshot (like RepeatableRead) and
// records what it read: the keys of point reads and the key ranges of its
// iterators. While any Serializable transaction is open, every commit
// records the keys and ranges it wrote. A Serializable transaction that
// writes commits only if no transaction that committed after its snapshot
// wrote anything it read; otherwise Commit fails with ErrSerialization
// (SQLSTATE 40001) and the client retries. Passing that check means the
// transaction's reads are what they would have been at its commit, so the
// committed Serializable transactions are equivalent to running one at a
// time in commit order. A read-only Serializable transaction needs no
// check: its snapshot is the state after a prefix of that order.
//
// This is backward-validating optimistic concurrency control over snapshot
// reads. It is stricter than PostgreSQL's SSI, which fails a transaction
// only on a dangerous cycle of read-write dependencies: here one
// dependency on a later commit is enough, so it may ask for more retries,
// never fewer. Ranges are recorded as the bounds an iterator was opened
// with, so a scan conflicts with any write in the range it could have
// seen.

import (
	"bytes"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// readSet is what a Serializable transaction read.
type readSet struct {
	keys   map[string]struct{}
	ranges [][2][]byte
}

func (r *readSet) empty() bool { return len(r.keys) == 0 && len(r.ranges) == 0 }

func (r *readSet) addKey(k []byte) {
	if r.keys == nil {
		r.keys = map[string]struct{}{}
	}
	r.keys[string(k)] = struct{}{}
}

func (r *readSet) addRange(lo, hi []byte) {
	r.ranges = append(r.ranges, [2][]byte{bytes.Clone(lo), bytes.Clone(hi)})
}

// inRange reports whether k is in [lo, hi) (nil bounds are open).
func inRange(k, lo, hi []byte) bool {
	return (lo == nil || bytes.Compare(k, lo) >= 0) && (hi == nil || bytes.Compare(k, hi) < 0)
}

// overlaps reports whether [alo, ahi) and [blo, bhi) share a key.
func overlaps(alo, ahi, blo, bhi []byte) bool {
	return (ahi == nil || blo == nil || bytes.Compare(blo, ahi) < 0) &&
		(bhi == nil || alo == nil || bytes.Compare(alo, bhi) < 0)
}

// hasKey reports whether the read set covers k.
func (r *readSet) hasKey(k []byte) bool {
	if _, ok := r.keys[string(k)]; ok {
		return true
	}
	for _, rg := range r.ranges {
		if inRange(k, rg[0], rg[1]) {
			return true
		}
	}
	return false
}

// hasRange reports whether the read set meets [lo, hi).
func (r *readSet) hasRange(lo, hi []byte) bool {
	for k := range r.keys {
		if inRange([]byte(k), lo, hi) {
			return true
		}
	}
	for _, rg := range r.ranges {
		if overlaps(rg[0], rg[1], lo, hi) {
			return true
		}
	}
	return false
}

// writeSet is what one commit wrote, and the commit count after it.
type writeSet struct {
	seq    uint64
	keys   [][]byte
	ranges [][2][]byte
}

// ssiTracker keeps the write sets that open Serializable transactions may
// have to validate against.
type ssiTracker struct {
	mu sync.Mutex
	// active maps each open Serializable transaction with a snapshot to
	// the commit count of its snapshot.
	active map[uint64]uint64
	// log holds the write sets of commits after the oldest active
	// snapshot, in commit order.
	log []writeSet
}

// begin registers t, whose snapshot was just taken; the caller holds
// commitMu so no commit slips between the snapshot and the registration.
func (s *ssiTracker) begin(t *Txn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		s.active = map[uint64]uint64{}
	}
	s.active[t.id] = t.snapCommits
}

// end forgets t and the write sets no open transaction needs.
func (s *ssiTracker) end(t *Txn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, t.id)
	if len(s.active) == 0 {
		s.log = nil
		return
	}
	oldest := ^uint64(0)
	for _, c := range s.active {
		oldest = min(oldest, c)
	}
	i := 0
	for i < len(s.log) && s.log[i].seq <= oldest {
		i++
	}
	s.log = append(s.log[:0], s.log[i:]...)
}

// committed records t's writes if a Serializable transaction may need them;
// the caller holds commitMu, after the commit.
func (s *ssiTracker) committed(t *Txn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.active) == 0 {
		return
	}
	ws := writeSet{seq: t.db.commits.Load()}
	r := t.batch.Reader()
	for {
		kind, k, v, ok, err := r.Next()
		if err != nil || !ok {
			break
		}
		switch kind {
		case pebble.InternalKeyKindRangeDelete:
			ws.ranges = append(ws.ranges, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
		default:
			ws.keys = append(ws.keys, bytes.Clone(k))
		}
	}
	s.log = append(s.log, ws)
}

// validate fails with ErrSerialization when a commit after t's snapshot
// wrote something t read; the caller holds commitMu.
func (s *ssiTracker) validate(t *Txn) error {
	if t.snap == nil || t.reads == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ws := range s.log {
		if ws.seq <= t.snapCommits {
			continue
		}
		for _, k := range ws.keys {
			if t.reads.hasKey(k) {
				return ErrSerialization
			}
		}
		for _, rg := range ws.ranges {
			if t.reads.hasRange(rg[0], rg[1]) {
				return ErrSerialization
			}
		}
	}
	return nil
}
