package engine

// SAVEPOINT, ROLLBACK TO SAVEPOINT and RELEASE SAVEPOINT inside a
// transaction block. A savepoint is a mark of the block's storage.Txn
// (its buffered writes, pending uniqueness and foreign key rechecks, and
// changelog entries); rolling back to it discards everything written
// since, so streaming views never see those writes, and clears the
// aborted state of a block that failed after the savepoint was set.
// SET ROLE and SET SESSION AUTHORIZATION done after the savepoint are
// undone too, as PostgreSQL does, and the locks taken since (row,
// relation and transaction-level advisory locks) are released. DDL on
// relations is not transactional and is not undone; changes of routines
// are (routine_txn.go).

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// savepoint is a named mark in the open transaction block.
type savepoint struct {
	name string
	mark storage.Savepoint
	// auth is who the session acted as when the savepoint was set (its
	// session user and role, and whether SET LOCAL ROLE had run).
	auth authState
	// tables and advisory mark the relation locks and transaction-level
	// advisory locks held then: ROLLBACK TO releases those taken since.
	tables, advisory int
	// temp marks the temporary relations made then (temp_tables.go).
	temp int
	// routines marks the routine changes made then (routine_txn.go).
	routines int
}

// execSavepoint runs the savepoint statements; handled is false for other
// transaction statements.
func (s *Session) execSavepoint(t *pg.TransactionStmt) (res pgwire.Result, handled bool, err error) {
	var verb, tag string
	switch t.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		verb, tag = "SAVEPOINT", "SAVEPOINT"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		verb, tag = "ROLLBACK TO SAVEPOINT", "ROLLBACK"
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		verb, tag = "RELEASE SAVEPOINT", "RELEASE"
	default:
		return nil, false, nil
	}
	if s.txn == nil {
		return nil, true, sqlerr.New(sqlerr.NoActiveSQLTransaction, "%s can only be used in transaction blocks", verb)
	}
	name := t.SavepointName
	if t.Kind == pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT {
		s.savepoints = append(s.savepoints, savepoint{name: name, mark: s.txn.Savepoint(), auth: s.currentAuth(),
			tables: len(s.tables.log), advisory: s.advisoryHoldMark(), temp: len(s.temp.created), routines: len(s.routines)})
		return tagResult(tag), true, nil
	}
	// The most recent savepoint of that name.
	i := len(s.savepoints) - 1
	for i >= 0 && s.savepoints[i].name != name {
		i--
	}
	if i < 0 {
		return nil, true, sqlerr.New(sqlerr.InvalidSavepoint, "savepoint %q does not exist", name)
	}
	if t.Kind == pg.TransactionStmtKind_TRANS_STMT_RELEASE {
		s.savepoints = s.savepoints[:i]
		return tagResult(tag), true, nil
	}
	// ROLLBACK TO keeps the savepoint itself and drops the later ones.
	if err := s.txn.RollbackTo(s.savepoints[i].mark); err != nil {
		return nil, true, err
	}
	s.restoreAuth(s.savepoints[i].auth)
	s.releaseTableLocks(s.savepoints[i].tables)
	s.releaseAdvisorySince(s.savepoints[i].advisory)
	s.tempRollbackTo(s.savepoints[i].temp)
	s.routinesRollbackTo(s.savepoints[i].routines)
	s.savepoints = s.savepoints[:i+1]
	s.txnFailed = false
	return tagResult(tag), true, nil
}
