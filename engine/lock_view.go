package engine

// pg_locks and pg_blocking_pids: the locks every session holds and awaits,
// read from the relation lock table, the advisory lock table and the row
// lock waits of storage. As in PostgreSQL every role sees every lock.
//
// A session in a transaction holds its virtual transaction id
// ("virtualxid", ExclusiveLock) and, once the transaction has a
// transaction number (a write, a row lock, or any statement of a block),
// its "transactionid" (ExclusiveLock). A row lock is not listed while it
// is merely held. As in PostgreSQL, the first session waiting for a row
// holds the row's "tuple" lock and waits for a ShareLock on the
// transactionid of the transaction holding the row; the sessions queued
// behind it wait for the tuple lock. So the usual self-join of pg_locks
// finds who blocks whom.

import (
	"encoding/binary"
	"hash/fnv"
	"sort"
	"strconv"

	"streamsql/catalog/pgcatalog"
	"streamsql/storage"
)

// vxid is the session's virtual transaction id, PostgreSQL's
// "backend/local" form.
func (s *Session) vxid() string {
	return strconv.Itoa(int(s.pid())) + "/" + strconv.FormatUint(s.lxid.Load()+1, 10)
}

// clientSessions are the sessions with a connection.
func (e *Engine) clientSessions() []*Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		if s.pid() != 0 {
			out = append(out, s)
		}
	}
	return out
}

// Locks returns pg_locks' rows, by process id.
func (c catalogReader) Locks() []pgcatalog.LockRow {
	e := c.s.e
	sessions := e.clientSessions()
	known := make(map[*Session]bool, len(sessions))
	byTxn := map[uint64]*Session{}
	for _, s := range sessions {
		known[s] = true
		if id := s.lockTxn.Load(); id != 0 {
			byTxn[id] = s
		}
	}
	var out []pgcatalog.LockRow
	inTxn := map[*Session]bool{}
	add := func(s *Session, r pgcatalog.LockRow) {
		if !known[s] {
			return
		}
		inTxn[s] = true
		r.PID, r.VirtualTransaction = s.pid(), s.vxid()
		out = append(out, r)
	}
	// Relation locks.
	for i := range e.tables.shards {
		sh := &e.tables.shards[i]
		sh.mu.Lock()
		for _, l := range sh.rels {
			for s, bits := range l.holds {
				for _, m := range modeNames(bits) {
					add(s, pgcatalog.LockRow{LockType: "relation", Relation: l.oid, Mode: m.String(), Granted: true, FastPath: m <= lockRowExclusive})
				}
			}
			for _, w := range l.waiters {
				add(w.s, pgcatalog.LockRow{LockType: "relation", Relation: l.oid, Mode: w.mode.String(), WaitStart: w.since.UnixMicro()})
			}
		}
		sh.mu.Unlock()
	}
	// Advisory locks.
	a := e.advisory
	a.mu.Lock()
	for key, l := range a.locks {
		r := pgcatalog.LockRow{LockType: "advisory", ClassID: key.hi, ObjID: key.lo, ObjSubID: 1}
		if key.pair {
			r.ObjSubID = 2
		}
		for s, h := range l.holds {
			if h.ex > 0 {
				r.Mode, r.Granted = "ExclusiveLock", true
				add(s, r)
			}
			if h.sh > 0 {
				r.Mode, r.Granted = "ShareLock", true
				add(s, r)
			}
		}
		for _, w := range l.waiters {
			r.Mode, r.Granted, r.WaitStart = "ExclusiveLock", false, w.since.UnixMicro()
			if w.shared {
				r.Mode = "ShareLock"
			}
			add(w.s, r)
		}
		r.WaitStart = 0
	}
	a.mu.Unlock()
	// Row lock waits, as PostgreSQL shows them: the first waiter for a
	// row holds its tuple lock and waits for the transaction holding the
	// row; the waiters queued behind it wait for the tuple lock.
	for _, w := range e.db.RowLockWaits() {
		s := byTxn[w.Txn]
		if s == nil || len(w.Blockers) == 0 {
			continue
		}
		tuple, isRow := tupleLockRow(w)
		switch {
		case isRow && w.Queued:
			tuple.WaitStart = w.Since.UnixMicro()
			add(s, tuple)
			continue
		case isRow:
			tuple.Granted = true
			add(s, tuple)
		}
		add(s, pgcatalog.LockRow{LockType: "transactionid", TransactionID: w.Blockers[0], Mode: "ShareLock", WaitStart: w.Since.UnixMicro()})
	}
	// Each transaction's own ids.
	for _, s := range sessions {
		id := s.lockTxn.Load()
		if id != 0 {
			add(s, pgcatalog.LockRow{LockType: "transactionid", TransactionID: id, Mode: "ExclusiveLock", Granted: true})
		}
		if inTxn[s] {
			add(s, pgcatalog.LockRow{LockType: "virtualxid", VirtualXID: s.vxid(), Mode: "ExclusiveLock", Granted: true, FastPath: true})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// tupleLockModes are the modes of PostgreSQL's tuple lock for each row
// lock strength (heapam.c's tupleLockExtraInfo).
var tupleLockModes = map[storage.LockMode]tableLockMode{
	storage.LockKeyShare: lockAccessShare, storage.LockShare: lockRowShare,
	storage.LockNoKeyUpdate: lockExclusive, storage.LockUpdate: lockAccessExclusive,
}

// tupleLockRow is the "tuple" row of a row lock wait, false for a key
// that is not a table row's. Rows have no ctid: page and tuple are a hash
// of the row's key, the same for every session waiting for the row.
func tupleLockRow(w storage.RowLockWait) (pgcatalog.LockRow, bool) {
	if len(w.Key) < 5 || w.Key[0] != storage.PrefixTable {
		return pgcatalog.LockRow{}, false
	}
	h := fnv.New32a()
	h.Write(w.Key[5:])
	sum := h.Sum32()
	return pgcatalog.LockRow{LockType: "tuple", Relation: binary.BigEndian.Uint32(w.Key[1:5]),
		Page: int32(sum >> 16), Tuple: int16(sum&0x7fff) + 1, Mode: tupleLockModes[w.Mode].String()}, true
}

// BlockingPIDs implements udf.Sessions.
func (g sessionSignals) BlockingPIDs(pid int32) []int32 {
	e := g.s.e
	t := e.sessionByPID(pid)
	if t == nil {
		return nil
	}
	seen := map[int32]bool{}
	var out []int32
	for _, b := range e.waitGraph()[t] {
		if p := b.pid(); p != 0 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
