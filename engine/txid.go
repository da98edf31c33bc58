package engine

import "context"

// txid_current(): the id of the session's transaction, assigned on first
// use from a durable counter, so that ids only grow, across restarts and
// kill -9 too (migration and replication tools compare them). A
// transaction block keeps its id until it ends; outside a block each
// statement is a transaction of its own.

// TxidCurrent implements udf.Sessions.
func (g sessionSignals) TxidCurrent() (int64, error) {
	s := g.s
	if s.txid != 0 {
		if s.txn != nil && s.txidTxn == s.txn || s.txn == nil && s.txidTxn == nil && s.txidGen == s.stmtGen {
			return s.txid, nil
		}
	}
	id, err := s.e.db.NextTxid()
	if err != nil {
		return 0, err
	}
	s.txid, s.txidTxn, s.txidGen = int64(id), s.txn, s.stmtGen
	return s.txid, nil
}

// AdvisoryLock implements udf.Sessions.
func (g sessionSignals) AdvisoryLock(ctx context.Context, keys []int64, shared, xact, try bool) (bool, error) {
	return g.s.AdvisoryLock(ctx, keys, shared, xact, try)
}

// AdvisoryUnlock implements udf.Sessions.
func (g sessionSignals) AdvisoryUnlock(keys []int64, shared bool) bool {
	return g.s.AdvisoryUnlock(keys, shared)
}

// AdvisoryUnlockAll implements udf.Sessions.
func (g sessionSignals) AdvisoryUnlockAll() { g.s.AdvisoryUnlockAll() }
