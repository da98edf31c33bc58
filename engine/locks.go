package engine

// Row locks and isolation levels in statements.
//
// UPDATE and DELETE lock every row they are about to change (FOR NO KEY
// UPDATE, or FOR UPDATE when the key changes or the row goes away), and
// SELECT ... FOR UPDATE/SHARE the rows it returns, until the transaction
// ends. Under READ COMMITTED a row that another transaction changed after
// the statement read it, found by re-reading it once the lock is held, is
// checked against the statement's WHERE again at its newest version, and
// the change applies to that version (PostgreSQL's EvalPlanQual): so twenty
// clients running `UPDATE t SET v = v + 1` never lose an increment. Under
// REPEATABLE READ and SERIALIZABLE such a row fails the statement with
// 40001 instead.

import (
	"context"
	"errors"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/table/index"
)

// lockError turns a storage lock or conflict error into its SQLSTATE.
func lockError(err error, rel string) error {
	var de *storage.DeadlockError
	switch {
	case errors.As(err, &de):
		var parts []string
		for i, t := range de.Cycle {
			next := de.Cycle[(i+1)%len(de.Cycle)]
			parts = append(parts, "Transaction "+strconv.FormatUint(t, 10)+" waits for transaction "+strconv.FormatUint(next, 10)+".")
		}
		return sqlerr.New(sqlerr.DeadlockDetected, "deadlock detected").
			WithDetail("%s", strings.Join(parts, "\n")).
			WithHint("See server log for query details.")
	case errors.Is(err, storage.ErrLockNotAvailable):
		return sqlerr.New(sqlerr.LockNotAvailable, "could not obtain lock on row in relation %q", rel)
	case errors.Is(err, storage.ErrLockTimeout):
		return sqlerr.New(sqlerr.LockNotAvailable, "canceling statement due to lock timeout")
	case errors.Is(err, storage.ErrSerialization):
		return serializationError(err)
	}
	return err
}

// txnTooLarge is 54000 for a transaction past its write-set bound.
func (s *Session) txnTooLarge() error {
	return sqlerr.New(sqlerr.ProgramLimitExceeded, "transaction is too large").
		WithDetail("Its buffered writes exceed %d bytes (-max-transaction-size).", s.e.db.MaxTxnBytes()).
		WithHint("Split the work into smaller transactions, or start the server with a larger -max-transaction-size.")
}

// serializationError is 40001 for a snapshot transaction's conflict.
func serializationError(err error) error {
	return sqlerr.New(sqlerr.SerializationFailure, "%s", err.Error()).
		WithHint("The transaction might succeed if retried.")
}

// commitError maps the errors of storage.Txn.Commit.
func commitError(err error) error {
	if errors.Is(err, storage.ErrSerialization) {
		return sqlerr.New(sqlerr.SerializationFailure, "could not serialize access due to read/write dependencies among transactions").
			WithDetail("A transaction that committed after this one's snapshot changed rows it read.").
			WithHint("The transaction might succeed if retried.")
	}
	return err
}

// parseIsolation reads an isolation level name.
func parseIsolation(v string) (storage.Isolation, string, error) {
	return parseIsolationOf("transaction_isolation", v)
}

// parseIsolationOf is parseIsolation with the parameter named in errors.
func parseIsolationOf(param, v string) (storage.Isolation, string, error) {
	switch strings.ToLower(strings.Join(strings.Fields(strings.Trim(v, "'\"")), " ")) {
	case "read uncommitted":
		// As in PostgreSQL, READ UNCOMMITTED behaves as READ COMMITTED.
		return storage.ReadCommitted, "read uncommitted", nil
	case "read committed":
		return storage.ReadCommitted, "read committed", nil
	case "repeatable read":
		return storage.RepeatableRead, "repeatable read", nil
	case "serializable":
		return storage.Serializable, "serializable", nil
	}
	return 0, "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter %q: %q", param, v).
		WithHint("Available values: serializable, repeatable read, read committed, read uncommitted.")
}

// defaultIsolation is the level new transactions get.
func (s *Session) defaultIsolation() storage.Isolation { return s.settings().isolation }

// beginTxn starts a transaction at the session's default level.
func (s *Session) beginTxn() *storage.Txn {
	return s.e.db.BeginIso(s.defaultIsolation())
}

// txnOptions applies the options of BEGIN/START TRANSACTION/SET TRANSACTION
// (a list of DefElem) to the open block.
func (s *Session) txnOptions(opts []*pg.Node) error {
	return eachTxnOption(opts, func(opt, val string) error {
		switch opt {
		case "transaction_isolation":
			iso, name, err := parseIsolation(val)
			if err != nil {
				return err
			}
			if s.txn != nil && !s.txn.SetIsolation(iso) {
				return sqlerr.New(sqlerr.ActiveSQLTransaction, "SET TRANSACTION ISOLATION LEVEL must be called before any query")
			}
			s.txnIso = name
		case "transaction_read_only":
			ro := isTrue(val)
			if s.txn != nil && !ro && s.txnReadOnly && !s.txn.Empty() {
				return sqlerr.New(sqlerr.ActiveSQLTransaction, "transaction read-write mode must be set before any query")
			}
			s.txnReadOnly = ro
		}
		return nil
	})
}

// eachTxnOption calls f with the name and the value text of each option
// (a DefElem) in opts, in order, until f fails.
func eachTxnOption(opts []*pg.Node, f func(opt, val string) error) error {
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil {
			if err := f(d.Defname, txnOptionValue(d)); err != nil {
				return err
			}
		}
	}
	return nil
}

// txnOptionValue is a transaction option's value as text: an A_Const
// from BEGIN/SET TRANSACTION, or the plain forms defElemString reads.
func txnOptionValue(d *pg.DefElem) string {
	if d.Arg != nil {
		if c := d.Arg.GetAConst(); c != nil {
			switch v := c.Val.(type) {
			case *pg.A_Const_Sval:
				return v.Sval.Sval
			case *pg.A_Const_Ival:
				return strconv.FormatInt(int64(v.Ival.Ival), 10)
			case *pg.A_Const_Boolval:
				return strconv.FormatBool(v.Boolval.Boolval)
			}
		}
	}
	v, _ := defElemString(d)
	return v
}

// isolationName is what SHOW transaction_isolation says.
func (s *Session) isolationName() string {
	if s.txn != nil && s.txnIso != "" {
		return s.txnIso
	}
	v, _ := s.get("default_transaction_isolation")
	if _, name, err := parseIsolation(v); err == nil {
		return name
	}
	return "read committed"
}

// setTransaction is SET TRANSACTION (in a block) and SET SESSION
// CHARACTERISTICS AS TRANSACTION (the session's defaults).
func (s *Session) setTransaction(v *pg.VariableSetStmt) (pgwire.Result, error) {
	if strings.EqualFold(v.Name, "SESSION CHARACTERISTICS") {
		err := eachTxnOption(v.Args, func(opt, val string) error {
			switch opt {
			case "transaction_isolation":
				_, name, err := parseIsolation(val)
				if err != nil {
					return err
				}
				return s.set("default_transaction_isolation", name)
			case "transaction_read_only":
				return s.set("default_transaction_read_only", map[bool]string{true: "on", false: "off"}[isTrue(val)])
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return tagResult("SET"), nil
	}
	if s.txn == nil {
		// PostgreSQL warns that it has no effect outside a block; the
		// values are still checked.
		err := eachTxnOption(v.Args, func(opt, val string) error {
			if opt == "transaction_isolation" {
				_, _, err := parseIsolation(val)
				return err
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return tagResult("SET"), nil
	}
	if err := s.txnOptions(v.Args); err != nil {
		return nil, err
	}
	return tagResult("SET"), nil
}

// defaultReadOnly is default_transaction_read_only.
func (s *Session) defaultReadOnly() bool { return s.settings().readOnly }

func isTrue(v string) bool {
	switch strings.ToLower(strings.Trim(v, "'\" ")) {
	case "on", "true", "1", "yes", "t":
		return true
	}
	return false
}

// setsKey reports whether an UPDATE assigns a primary key column.
func setsKey(u *pg.UpdateStmt, rel *catalog.Relation) bool {
	for _, t := range u.TargetList {
		rt := t.GetResTarget()
		if rt == nil {
			continue
		}
		for _, k := range rel.PrimaryKey {
			if strings.EqualFold(rel.Columns[k].Name, rt.Name) {
				return true
			}
		}
	}
	return false
}

// stmtContext is the statement's context, for lock waits.
func (wr *writer) stmtContext() context.Context {
	if c := wr.ctx.Env.Context; c != nil {
		return c
	}
	return context.Background()
}

// lockRows locks the rows an UPDATE or DELETE matched (keys are encoded
// primary keys, rows what the statement read) and returns the rows to
// change. since is the commit count before the statement read them: when
// nothing committed since and no lock had to wait, the rows read are the
// newest. Otherwise, under READ COMMITTED every row is read again at its
// newest version, dropped if it is gone, and re-checked against the filter
// if it changed; under REPEATABLE READ and SERIALIZABLE a row changed since
// the snapshot fails with 40001.
func (wr *writer) lockRows(keys [][]byte, rows [][]types.Datum, since uint64) ([][]byte, [][]types.Datum, error) {
	txn, tbl := wr.x.txn, wr.w.Table
	ctx, timeout := wr.stmtContext(), wr.s.LockTimeout()
	waited := false
	for _, k := range keys {
		_, w, err := txn.Lock(ctx, storage.TableKey(tbl.ID, k), wr.lockMode, storage.WaitBlock, timeout)
		if err != nil {
			return nil, nil, lockError(err, wr.w.Rel.Name)
		}
		waited = waited || w
	}
	if txn.Isolation() >= storage.RepeatableRead {
		for _, k := range keys {
			if err := txn.CheckSnapshotConflict(storage.TableKey(tbl.ID, k)); err != nil {
				return nil, nil, lockError(err, wr.w.Rel.Name)
			}
		}
		return keys, rows, nil
	}
	if !waited && wr.s.e.db.CommitCount() == since {
		return keys, rows, nil
	}
	var outK, changedK [][]byte
	var outR, changedR [][]types.Datum
	var at []int // where each changed row goes in the output
	var buf []byte
	for i, k := range keys {
		raw, found, err := txn.GetLatest(storage.TableKey(tbl.ID, k))
		if err != nil {
			return nil, nil, err
		}
		if !found {
			continue // deleted meanwhile
		}
		buf = types.EncodeRow(buf[:0], rows[i], tbl.Types)
		if string(buf) == string(raw) {
			outK, outR = append(outK, k), append(outR, rows[i])
			continue
		}
		cur, err := types.DecodeRow(raw, tbl.Types)
		if err != nil {
			return nil, nil, err
		}
		changedK, changedR = append(changedK, k), append(changedR, cur)
		at = append(at, len(outK))
		outK, outR = append(outK, nil), append(outR, nil)
	}
	if len(changedK) == 0 {
		return outK, outR, nil
	}
	passK, passR, err := wr.filterRows(changedK, changedR)
	if err != nil {
		return nil, nil, err
	}
	// Put the re-checked rows back in scan order, dropping those that no
	// longer match.
	j := 0
	for n, i := range at {
		if j < len(passK) && string(passK[j]) == string(changedK[n]) {
			outK[i], outR[i] = passK[j], passR[j]
			j++
		}
	}
	finalK, finalR := outK[:0], outR[:0]
	for i := range outK {
		if outK[i] != nil {
			finalK, finalR = append(finalK, outK[i]), append(finalR, outR[i])
		}
	}
	return finalK, finalR, nil
}

// lockedConflictRow is index.Conflict for INSERT ... ON
// CONFLICT, with the row that would conflict locked first, so that two
// concurrent upserts of one key take turns and the second sees the
// first's result.
func (wr *writer) lockedConflictRow(r []types.Datum) (string, []byte, []types.Datum, bool, error) {
	txn, tbl := wr.x.txn, wr.w.Table
	ctx, timeout := wr.stmtContext(), wr.s.LockTimeout()
	if len(tbl.PK) > 0 {
		key := storage.TableKey(tbl.ID, tbl.EncodePK(nil, wr.pk(r)))
		if _, _, err := txn.Lock(ctx, key, storage.LockUpdate, storage.WaitBlock, timeout); err != nil {
			return "", nil, nil, false, lockError(err, wr.w.Rel.Name)
		}
	}
	for {
		id, oldKey, old, found, err := index.Conflict(txn, wr.indexed(), wr.w.Arbiter, r)
		if err != nil || !found {
			return id, oldKey, old, found, err
		}
		_, waited, err := txn.Lock(ctx, storage.TableKey(tbl.ID, oldKey), storage.LockUpdate, storage.WaitBlock, timeout)
		if err != nil {
			return "", nil, nil, false, lockError(err, wr.w.Rel.Name)
		}
		if err := txn.CheckSnapshotConflict(storage.TableKey(tbl.ID, oldKey)); err != nil {
			return "", nil, nil, false, lockError(err, wr.w.Rel.Name)
		}
		if !waited {
			return id, oldKey, old, found, nil
		}
		// The row may have changed or gone while we waited: look again.
	}
}
