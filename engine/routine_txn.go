package engine

// Changes of functions, aggregates and procedures (CREATE [OR REPLACE],
// DROP, ALTER ... RENAME TO / OWNER TO, GRANT and REVOKE EXECUTE) made
// inside a transaction block are undone by ROLLBACK, by ROLLBACK TO
// SAVEPOINT for those made after the savepoint, and when the session ends
// with the block open, as PostgreSQL's catalog changes are. The catalog
// applies each change at once; the session keeps, per change, the
// routine's version before it (nil when the change created it), and a
// rollback puts those versions back, newest change first, in the way the
// temporary relations of a block are dropped by hand at its end
// (temp_tables.go). Relations are not transactional: a view made in the
// block over a routine the rollback removes or changes goes with it, and
// DROP ... CASCADE that would drop relations is refused inside a block.

import (
	"streamsql/catalog"
	"streamsql/sql/sqlerr"
)

// routineChange is one change of a routine in the open transaction block.
type routineChange struct {
	oid uint32
	// prev is the routine as it was before the change; nil when the
	// change created it.
	prev *catalog.Function
	// deps are the relations that called it then.
	deps map[uint32]bool
}

// noteRoutine records that routine oid, which was prev before (nil: it
// did not exist), changed; outside a transaction block the change is
// final and nothing is kept.
func (s *Session) noteRoutine(oid uint32, prev *catalog.Function) {
	if s.txn == nil {
		return
	}
	deps := map[uint32]bool{}
	for _, r := range s.e.cat.FunctionDependents(oid) {
		deps[r.OID] = true
	}
	s.routines = append(s.routines, routineChange{oid: oid, prev: prev, deps: deps})
}

// putRoutine creates f, or with replace replaces the routine of its
// signature, and records the change for a rollback.
func (s *Session) putRoutine(f *catalog.Function, replace bool) error {
	prev, _ := s.e.cat.LookupFunction(f.Schema, f.Name, f.ArgTypes)
	n, err := s.e.cat.CreateFunction(f, replace, firstFunctionOID())
	if err != nil {
		return err
	}
	s.noteRoutine(n.OID, prev)
	return nil
}

// alterRoutine runs change, a catalog change of routine oid, and records
// it for a rollback.
func (s *Session) alterRoutine(oid uint32, change func() error) error {
	prev, _ := s.e.cat.Function(oid)
	if err := change(); err != nil {
		return err
	}
	s.noteRoutine(oid, prev)
	return nil
}

// refuseCascadeInBlock refuses, inside a transaction block, to drop
// routine f with CASCADE when that drops relations: their drop could not
// be undone by a rollback.
func (s *Session) refuseCascadeInBlock(f *catalog.Function, cascade bool) error {
	if s.txn == nil || !cascade {
		return nil
	}
	if deps := s.e.cat.FunctionCascadeRelations(f.OID); len(deps) > 0 {
		return sqlerr.New(sqlerr.ActiveSQLTransaction, "DROP %s %s CASCADE cannot drop %s %s inside a transaction block",
			f.KindName(), f.Signature(), deps[len(deps)-1].Kind, deps[len(deps)-1].Name).
			WithHint("Drop the relations that use it first, or run the DROP outside a transaction block.")
	}
	return nil
}

// routinesTxnEnd ends the transaction block for its routine changes:
// kept at a commit, undone otherwise.
func (s *Session) routinesTxnEnd(committed bool) {
	if !committed {
		s.routinesRollbackTo(0)
	}
	s.routines = nil
}

// routinesRollbackTo undoes the routine changes made since mark, newest
// first.
func (s *Session) routinesRollbackTo(mark int) {
	for i := len(s.routines) - 1; i >= mark; i-- {
		if err := s.undoRoutine(s.routines[i]); err != nil {
			s.e.log.Error("undoing a change of a function at a rollback", "oid", s.routines[i].oid, "err", err)
		}
	}
	s.routines = s.routines[:min(mark, len(s.routines))]
}

// undoRoutine puts the routine of ch back as it was before ch.
func (s *Session) undoRoutine(ch routineChange) error {
	s.e.udfs.Forget(ch.oid)
	cur, exists := s.e.cat.Function(ch.oid)
	if exists && ch.prev != nil && !s.routineDependentsNew(ch) {
		return s.e.cat.RestoreFunction(ch.prev)
	}
	if exists {
		// Made in the block, or calling relations made since: they go
		// with it, as the rollback would take them in PostgreSQL.
		dropped, fns, err := s.e.cat.DropFunction(cur.OID, true)
		if err != nil {
			return err
		}
		for _, d := range fns {
			s.e.udfs.Forget(d.OID)
		}
		txn := s.e.db.Begin()
		if err := s.e.dropData(txn, dropped); err != nil {
			txn.Rollback()
			return err
		}
		if err := txn.Commit(); err != nil {
			return err
		}
	}
	if ch.prev == nil {
		return nil
	}
	return s.e.cat.RestoreFunction(ch.prev)
}

// routineDependentsNew reports whether relations that did not call the
// routine of ch at the change call it now.
func (s *Session) routineDependentsNew(ch routineChange) bool {
	now := map[uint32]bool{}
	for _, r := range s.e.cat.FunctionDependents(ch.oid) {
		now[r.OID] = true
	}
	for oid := range now {
		if !ch.deps[oid] {
			return true
		}
	}
	return false
}
