package engine

// Table locks: PostgreSQL's eight relation lock modes, taken explicitly by
// LOCK TABLE and implicitly by every statement (SELECT takes ACCESS SHARE,
// INSERT/UPDATE/DELETE ROW EXCLUSIVE, SELECT ... FOR UPDATE/SHARE ROW
// SHARE, CREATE INDEX SHARE, DROP, TRUNCATE and ALTER TABLE ACCESS
// EXCLUSIVE), with PostgreSQL's conflict table:
//
//	                      AS  RS  RX  SUX  S  SRX  X  AX
//	ACCESS SHARE                                       x
//	ROW SHARE                                       x  x
//	ROW EXCLUSIVE                      x   x   x    x  x
//	SHARE UPDATE EXCLUSIVE         x   x   x   x    x  x
//	SHARE                      x   x       x   x    x  x
//	SHARE ROW EXCLUSIVE        x   x   x   x   x    x  x
//	EXCLUSIVE              x   x   x   x   x   x    x  x
//	ACCESS EXCLUSIVE   x   x   x   x   x   x   x    x  x
//
// A lock belongs to the session's transaction (the statement's, outside a
// block) and is released when it ends, or by ROLLBACK TO a savepoint set
// before it was taken. A session never conflicts with itself. A request
// that conflicts with another session's hold, or with a request queued
// before it, waits in the relation's first-in first-out queue; waits
// honour NOWAIT and lock_timeout (55P03), cancel and statement_timeout
// (57014) and are checked for deadlocks (deadlock.go).
//
// The hot path is one session-local map lookup when the transaction holds
// the mode already, else one mutex of one of 64 shards (by relation OID)
// to record the hold: no lock is shared by all statements.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
)

// tableLockMode is a relation lock mode, weakest first (PostgreSQL's
// numbering: AccessShareLock is 1).
type tableLockMode uint8

const (
	lockAccessShare tableLockMode = iota + 1
	lockRowShare
	lockRowExclusive
	lockShareUpdateExclusive
	lockShare
	lockShareRowExclusive
	lockExclusive
	lockAccessExclusive
)

// tableLockNames are the modes as pg_locks.mode shows them.
var tableLockNames = [...]string{"", "AccessShareLock", "RowShareLock", "RowExclusiveLock",
	"ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}

func (m tableLockMode) String() string { return tableLockNames[m] }

func (m tableLockMode) bit() uint16 { return 1 << m }

// tableConflicts[m] is the set (bits 1<<mode) of modes m conflicts with.
var tableConflicts = func() [9]uint16 {
	var c [9]uint16
	set := func(m tableLockMode, others ...tableLockMode) {
		for _, o := range others {
			c[m] |= o.bit()
			c[o] |= m.bit()
		}
	}
	set(lockAccessShare, lockAccessExclusive)
	set(lockRowShare, lockExclusive, lockAccessExclusive)
	set(lockRowExclusive, lockShare, lockShareRowExclusive, lockExclusive, lockAccessExclusive)
	set(lockShareUpdateExclusive, lockShareUpdateExclusive, lockShare, lockShareRowExclusive, lockExclusive, lockAccessExclusive)
	set(lockShare, lockShareRowExclusive, lockExclusive, lockAccessExclusive)
	set(lockShareRowExclusive, lockShareRowExclusive, lockExclusive, lockAccessExclusive)
	set(lockExclusive, lockExclusive, lockAccessExclusive)
	set(lockAccessExclusive, lockAccessExclusive)
	return c
}()

// parseTableLockMode reads LOCK's mode (pg_query gives PostgreSQL's
// number).
func tableLockModeOf(n int32) (tableLockMode, bool) {
	if n < int32(lockAccessShare) || n > int32(lockAccessExclusive) {
		return 0, false
	}
	return tableLockMode(n), true
}

// relLock is the state of one relation's lock: who holds which modes and
// who waits, in arrival order.
type relLock struct {
	oid     uint32
	holds   map[*Session]uint16 // modes held, as bits
	waiters []*tableWait
}

// tableWait is a queued request.
type tableWait struct {
	s       *Session
	rel     *relLock
	shard   *tableLockShard
	mode    tableLockMode
	since   time.Time
	granted chan struct{} // closed when granted
}

type tableLockShard struct {
	mu   sync.Mutex
	rels map[uint32]*relLock
}

// tableLocks is the engine's table of relation locks.
type tableLocks struct {
	shards [64]tableLockShard
}

func newTableLocks() *tableLocks {
	t := &tableLocks{}
	for i := range t.shards {
		t.shards[i].rels = map[uint32]*relLock{}
	}
	return t
}

func (t *tableLocks) shard(oid uint32) *tableLockShard { return &t.shards[oid%uint32(len(t.shards))] }

// othersHold is the union of the modes other sessions than s hold.
func (l *relLock) othersHold(s *Session) uint16 {
	var m uint16
	for h, bits := range l.holds {
		if h != s {
			m |= bits
		}
	}
	return m
}

// grantable reports whether s may take mode now: no other session holds a
// conflicting mode and no conflicting request is queued before (a session
// that holds the relation already goes ahead of the queue, as the queued
// requests may wait for it).
func (l *relLock) grantable(s *Session, mode tableLockMode, before *tableWait) bool {
	if l.othersHold(s)&tableConflicts[mode] != 0 {
		return false
	}
	if l.holds[s] != 0 {
		return true
	}
	for _, w := range l.waiters {
		if w == before {
			break
		}
		if w.s != s && tableConflicts[mode]&w.mode.bit() != 0 {
			return false
		}
	}
	return true
}

// blockers are the sessions w waits for: conflicting holders and
// conflicting requests queued before it.
func (l *relLock) blockers(w *tableWait) []*Session {
	var out []*Session
	for h, bits := range l.holds {
		if h != w.s && bits&tableConflicts[w.mode] != 0 {
			out = append(out, h)
		}
	}
	for _, q := range l.waiters {
		if q == w {
			break
		}
		if q.s != w.s && tableConflicts[w.mode]&q.mode.bit() != 0 {
			out = append(out, q.s)
		}
	}
	return out
}

// wake grants queued requests from the front while they fit.
func (l *relLock) wake() {
	for len(l.waiters) > 0 {
		w := l.waiters[0]
		if l.othersHold(w.s)&tableConflicts[w.mode] != 0 {
			return
		}
		l.waiters = l.waiters[1:]
		l.holds[w.s] |= w.mode.bit()
		close(w.granted)
	}
}

// dropIfUnused forgets l when nobody holds or waits for it and the shard
// has many entries: a relation's entry is otherwise kept, so that the
// statements of a busy table do not allocate it anew each time.
func (sh *tableLockShard) dropIfUnused(l *relLock) {
	if len(l.holds) == 0 && len(l.waiters) == 0 && len(sh.rels) > 256 {
		delete(sh.rels, l.oid)
	}
}

// removeWaiter takes w out of its queue; requests behind it may now fit.
func (sh *tableLockShard) removeWaiter(w *tableWait) {
	l := w.rel
	for i, q := range l.waiters {
		if q == w {
			l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
			break
		}
	}
	l.wake()
	sh.dropIfUnused(l)
}

// tableHold is one lock a transaction took, in the order taken.
type tableHold struct {
	oid  uint32
	mode tableLockMode
}

// sessionTableLocks is what a session's transaction holds. held and log
// are owned by the session's goroutine; wait is read by others (deadlock
// checks, pg_locks) under the shard's mutex.
type sessionTableLocks struct {
	held map[uint32]uint16
	log  []tableHold
	wait atomic.Pointer[tableWait]
}

// lockTable takes mode on relation oid for the session's transaction,
// waiting as the policy says (nowait: 55P03 at once).
func (s *Session) lockTable(ctx context.Context, oid uint32, name string, mode tableLockMode, nowait bool) error {
	if s.tables.held[oid]&mode.bit() != 0 {
		return nil
	}
	sh := s.e.tables.shard(oid)
	sh.mu.Lock()
	l := sh.rels[oid]
	if l == nil {
		l = &relLock{oid: oid, holds: map[*Session]uint16{}}
		sh.rels[oid] = l
	}
	if l.grantable(s, mode, nil) {
		l.holds[s] |= mode.bit()
		sh.mu.Unlock()
		s.noteTableHold(oid, mode)
		return nil
	}
	if nowait {
		sh.dropIfUnused(l)
		sh.mu.Unlock()
		return sqlerr.New(sqlerr.LockNotAvailable, "could not obtain lock on relation %q", name)
	}
	w := &tableWait{s: s, rel: l, shard: sh, mode: mode, since: time.Now(), granted: make(chan struct{})}
	l.waiters = append(l.waiters, w)
	s.tables.wait.Store(w)
	sh.mu.Unlock()
	defer s.tables.wait.Store(nil)

	giveUp := func(err error) error {
		sh.mu.Lock()
		select {
		case <-w.granted:
			// Granted while giving up: keep it, the transaction ends
			// and releases it.
			sh.mu.Unlock()
			s.noteTableHold(oid, mode)
			return err
		default:
		}
		sh.removeWaiter(w)
		sh.mu.Unlock()
		return err
	}
	if err := s.e.checkDeadlock(s); err != nil {
		return giveUp(err)
	}
	var expired <-chan time.Time
	if timeout := s.LockTimeout(); timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	recheck := time.NewTimer(s.DeadlockTimeout())
	defer recheck.Stop()
	for {
		select {
		case <-w.granted:
			s.noteTableHold(oid, mode)
			return nil
		case <-ctx.Done():
			return giveUp(context.Cause(ctx))
		case <-expired:
			return giveUp(sqlerr.New(sqlerr.LockNotAvailable, "canceling statement due to lock timeout"))
		case <-recheck.C:
			// PostgreSQL's check after deadlock_timeout (deadlock.go).
			if err := s.e.checkDeadlock(s); err != nil {
				return giveUp(err)
			}
		}
	}
}

func (s *Session) noteTableHold(oid uint32, mode tableLockMode) {
	if s.tables.held == nil {
		s.tables.held = map[uint32]uint16{}
	}
	s.tables.held[oid] |= mode.bit()
	s.tables.log = append(s.tables.log, tableHold{oid, mode})
}

// releaseTableLocks gives up the holds taken since the log had length
// mark (0: all of them).
func (s *Session) releaseTableLocks(mark int) {
	if len(s.tables.log) <= mark {
		return
	}
	for _, h := range s.tables.log[mark:] {
		s.tables.held[h.oid] &^= h.mode.bit()
		sh := s.e.tables.shard(h.oid)
		sh.mu.Lock()
		if l := sh.rels[h.oid]; l != nil {
			if bits := l.holds[s] &^ h.mode.bit(); bits == 0 {
				delete(l.holds, s)
			} else {
				l.holds[s] = bits
			}
			l.wake()
			sh.dropIfUnused(l)
		}
		sh.mu.Unlock()
		if s.tables.held[h.oid] == 0 {
			delete(s.tables.held, h.oid)
		}
	}
	s.tables.log = s.tables.log[:mark]
}

// lockRelations takes mode on every relation among oids (others, such as
// functions, are skipped) for the session's transaction: the implicit lock
// of a statement that reads or writes them.
func (s *Session) lockRelations(ctx context.Context, oids []uint32, mode tableLockMode) error {
	for _, oid := range oids {
		// Any mode held conflicts with what ACCESS SHARE conflicts with
		// (ACCESS EXCLUSIVE): a transaction that holds one needs no more.
		if h := s.tables.held[oid]; h&mode.bit() != 0 || mode == lockAccessShare && h != 0 {
			continue
		}
		r, ok := s.e.cat.ByOID(oid)
		if !ok {
			continue
		}
		if err := s.lockTable(ctx, oid, r.Name, mode, false); err != nil {
			return err
		}
	}
	return nil
}

// lockRelation is lockRelations for one relation.
func (s *Session) lockRelation(ctx context.Context, r *catalog.Relation, mode tableLockMode) error {
	return s.lockTable(ctx, r.OID, r.Name, mode, false)
}

// lockNamed takes mode on the relation named by rv, if it exists (the
// statement reports a missing one itself).
func (s *Session) lockNamed(ctx context.Context, rv *pg.RangeVar, mode tableLockMode) error {
	if rv == nil {
		return nil
	}
	r, err := s.resolveName(parser.ObjectName{Schema: rv.Schemaname, Name: rv.Relname})
	if err != nil || r == nil {
		return nil
	}
	return s.lockRelation(ctx, r, mode)
}

// execLock is LOCK [TABLE] [ONLY] name [, ...] [IN mode MODE] [NOWAIT].
func (s *Session) execLock(ctx context.Context, n *pg.LockStmt) (pgwire.Result, error) {
	if s.txn == nil {
		return nil, sqlerr.New(sqlerr.NoActiveSQLTransaction, "LOCK TABLE can only be used in transaction blocks")
	}
	mode, ok := tableLockModeOf(n.Mode)
	if !ok {
		return nil, sqlerr.New(sqlerr.SyntaxError, "unknown lock mode %d", n.Mode)
	}
	for _, rn := range n.Relations {
		rv := rn.GetRangeVar()
		if rv == nil {
			continue
		}
		r, err := s.resolveName(parser.ObjectName{Schema: rv.Schemaname, Name: rv.Relname})
		if err != nil {
			return nil, err
		}
		if r.Kind != catalog.KindTable && r.Kind != catalog.KindView && r.Kind != catalog.KindMatView {
			return nil, sqlerr.New(sqlerr.WrongObjectType, "%q is not a table or view", r.Name)
		}
		if err := s.checkUsage(r.Schema); err != nil {
			return nil, err
		}
		if err := s.checkLockPrivilege(s.currentUser(), r, mode); err != nil {
			return nil, err
		}
		if err := s.lockTable(ctx, r.OID, r.Name, mode, n.Nowait); err != nil {
			return nil, err
		}
		if r.Kind == catalog.KindView {
			if err := s.lockViewRelations(ctx, r, mode, n.Nowait, []uint32{r.OID}); err != nil {
				return nil, err
			}
		}
	}
	return tagResult("LOCK TABLE"), nil
}

// lockViewRelations is PostgreSQL 15's LOCK on a view: every relation the
// view's query reads is locked in the same mode, the views among them
// recursively (a materialized view is a relation of its own and is not
// entered). Each needs the lock's privilege held by the owner of the view
// that reads it. ancestors are the views being entered, for the
// recursion check.
func (s *Session) lockViewRelations(ctx context.Context, view *catalog.Relation, mode tableLockMode, nowait bool, ancestors []uint32) error {
	owner := catalog.OwnerOf(view)
	for _, oid := range view.DependsOn {
		r, ok := s.e.cat.ByOID(oid)
		if !ok || r.Kind != catalog.KindTable && r.Kind != catalog.KindView && r.Kind != catalog.KindMatView {
			continue // functions, sequences and the like are not locked
		}
		if slices.Contains(ancestors, oid) {
			return sqlerr.New(sqlerr.InvalidObjectDefinition, "infinite recursion detected in rules for relation %q", r.Name)
		}
		if err := s.checkLockPrivilege(owner, r, mode); err != nil {
			return err
		}
		if err := s.lockTable(ctx, r.OID, r.Name, mode, nowait); err != nil {
			return err
		}
		if r.Kind == catalog.KindView {
			if err := s.lockViewRelations(ctx, r, mode, nowait, append(ancestors[:len(ancestors):len(ancestors)], oid)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLockPrivilege is PostgreSQL 15's rule for LOCK TABLE, for role:
// ACCESS SHARE needs SELECT; ROW EXCLUSIVE needs INSERT, UPDATE, DELETE or
// TRUNCATE; every other mode UPDATE, DELETE or TRUNCATE, on the relation
// as a whole.
func (s *Session) checkLockPrivilege(role string, r *catalog.Relation, mode tableLockMode) error {
	if s.roleIsSuperuser(role) {
		return nil
	}
	held := r.PrivilegesOf(s.e.cat.RolesInheritedBy(role))
	var privs string
	switch mode {
	case lockAccessShare:
		privs = "r"
	case lockRowExclusive:
		privs = "awdD"
	default:
		privs = "wdD"
	}
	if strings.ContainsAny(held, privs) {
		return nil
	}
	return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for %s %s", relKindWord(r), r.Name)
}

// tableLockDesc names what a table lock request waits for, as
// PostgreSQL's deadlock report does.
func tableLockDesc(w *tableWait) string {
	return fmt.Sprintf("%s on relation %d of database %d", w.mode, w.rel.oid, 5)
}

// modeNames lists the modes set in bits, weakest first.
func modeNames(bits uint16) []tableLockMode {
	var out []tableLockMode
	for m := lockAccessShare; m <= lockAccessExclusive; m++ {
		if bits&m.bit() != 0 {
			out = append(out, m)
		}
	}
	return out
}

// lockUtilityTargets takes the lock PostgreSQL's DDL takes on the
// relations statement n changes: ACCESS EXCLUSIVE for DROP, TRUNCATE,
// ALTER and renames, SHARE for CREATE INDEX (SHARE UPDATE EXCLUSIVE when
// CONCURRENTLY), so that they wait for transactions that use the
// relation. Names that resolve to nothing are left to the statement.
func (s *Session) lockUtilityTargets(ctx context.Context, n *pg.Node) error {
	switch {
	case n.GetDropStmt() != nil:
		d := n.GetDropStmt()
		switch d.RemoveType {
		case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_MATVIEW:
		default:
			return nil
		}
		for _, o := range d.Objects {
			var parts []string
			for _, it := range o.GetList().GetItems() {
				parts = append(parts, it.GetString_().GetSval())
			}
			if len(parts) == 0 {
				continue
			}
			rv := &pg.RangeVar{Relname: parts[len(parts)-1]}
			if len(parts) > 1 {
				rv.Schemaname = parts[len(parts)-2]
			}
			if err := s.lockNamed(ctx, rv, lockAccessExclusive); err != nil {
				return err
			}
		}
	case n.GetTruncateStmt() != nil:
		for _, rn := range n.GetTruncateStmt().Relations {
			if err := s.lockNamed(ctx, rn.GetRangeVar(), lockAccessExclusive); err != nil {
				return err
			}
		}
	case n.GetAlterTableStmt() != nil:
		return s.lockNamed(ctx, n.GetAlterTableStmt().Relation, lockAccessExclusive)
	case n.GetRenameStmt() != nil:
		return s.lockNamed(ctx, n.GetRenameStmt().Relation, lockAccessExclusive)
	case n.GetIndexStmt() != nil:
		mode := lockShare
		if n.GetIndexStmt().Concurrent {
			mode = lockShareUpdateExclusive
		}
		return s.lockNamed(ctx, n.GetIndexStmt().Relation, mode)
	}
	return nil
}
