package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/lower"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// statement is one parsed statement of a session.
type statement struct {
	s     *Session
	st    parser.Statement
	whole string
	// lit is the statement as a literal insert (insert_literal.go).
	lit *parser.LiteralInsert
	// bodyOf is the SQL function whose body holds the statement, run per
	// call (sql_function_statements.go).
	bodyOf *catalog.Function

	params []types.T
	cols   []pgwire.Column
}

func (st *statement) SQL() string { return st.st.SQL }

// prepared is a statement planned for one execution.
type prepared struct {
	params []types.T
	cols   []pgwire.Column
	// run executes; it is nil for statements that only describe.
	run func(ctx context.Context, x *execution) (pgwire.Result, error)
	// locksFirst: run takes the statement's relation locks and then
	// calls x.startSnapshot (stmt_snapshot.go).
	locksFirst bool
}

// execution is what running one statement needs.
type execution struct {
	// ctx is the statement's context (cancel, statement_timeout); nil
	// only for executions made outside a statement.
	ctx    context.Context
	s      *Session
	args   []types.Datum
	reader storage.Reader
	txn    *storage.Txn // write transaction (block or autocommit)
	auto   bool         // txn is this statement's own
	// snap is the statement's own snapshot outside a transaction
	// (stmt_snapshot.go).
	snap *lazySnapshot
}

// context is the statement's context, or Background outside a statement.
func (x *execution) context() context.Context {
	if x.ctx != nil {
		return x.ctx
	}
	return context.Background()
}

// Prepare implements pgwire.Statement.
func (st *statement) Prepare(ctx context.Context, hints []uint32) (_ []types.T, _ []pgwire.Column, err error) {
	ctx, run := st.s.statementContext(ctx)
	defer func() {
		if r := recover(); r != nil {
			err = st.s.internalError(r)
		}
		err = canceled(ctx, err)
		run.release(err != nil)
	}()
	pts := make([]types.T, len(hints))
	for i, h := range hints {
		if h == 0 {
			pts[i] = types.TUnknown
			continue
		}
		t, ok := types.FromOID(h)
		if !ok {
			return nil, nil, sqlerr.New(sqlerr.UndefinedObject, "type with OID %d does not exist", h)
		}
		pts[i] = t
	}
	key, params, cols, ok := st.s.described(st, pts)
	if ok {
		st.params, st.cols = params, cols
		return params, cols, nil
	}
	given := slices.Clone(pts)
	// Planning reads nothing; the plan's scans read through cp when it
	// runs.
	cp := &cachedPlan{version: st.s.e.cat.Version()}
	p, err := st.s.plan(ctx, st, pts, nil, cp.read)
	if err != nil {
		return nil, nil, err
	}
	cp.p = p
	if cacheable(st) {
		st.s.e.plans.plans.Add(1)
		st.s.noteDescribed(key, cp.version, p.params, p.cols)
	}
	st.s.keepPrepared(st, cp, given)
	st.params, st.cols = p.params, p.cols
	return p.params, p.cols, nil
}

// Execute implements pgwire.Statement.
func (st *statement) Execute(ctx context.Context, args []types.Datum) (res pgwire.Result, err error) {
	s := st.s
	if s.txnFailed && !isTxnEnd(st.st) {
		return nil, sqlerr.New(sqlerr.InFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	}
	s.noteActive(st.SQL())
	ctx, run := s.statementContext(ctx)
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, s.internalError(r)
		}
		err = canceled(ctx, err)
		if errors.Is(err, storage.ErrTxnTooLarge) {
			err = s.txnTooLarge()
		}
		if err != nil && s.txn != nil {
			s.txnFailed = true
		}
		if err != nil || res == nil {
			run.release(true)
		} else {
			res = withStatement(s, res, ctx, run)
		}
	}()
	if s.e.beforeExecute != nil {
		s.e.beforeExecute(st.st.SQL)
	}
	x := &execution{ctx: ctx, s: s, args: args}
	// A statement's own snapshot is taken once it holds its relation
	// locks (stmt_snapshot.go).
	var snap *lazySnapshot
	if s.txn != nil {
		if s.txnReadOnly && writes(st.st) {
			return nil, sqlerr.New(sqlerr.ReadOnlySQLTransaction, "cannot execute %s in a read-only transaction", commandName(st.st))
		}
		if !isTxnControl(st.st) {
			s.txn.StartSnapshot()
		}
		x.reader, x.txn = s.txn, s.txn
	} else if writes(st.st) || s.callsWritingFunction(st.st) {
		x.txn = s.beginTxn()
		x.txn.StartSnapshot()
		x.reader, x.auto = x.txn, true
	} else {
		snap = &lazySnapshot{db: s.e.db}
		x.reader, x.snap = snap, snap
	}
	if x.txn != nil {
		s.lockTxn.Store(x.txn.ID())
	}
	release := func() {
		if snap != nil {
			snap.close()
			snap = nil
		}
	}
	// A panic below (recovered by the deferred handler above as XX000)
	// must not leave the statement's snapshot open, nor its own
	// transaction with its row locks: nothing else would close them, and
	// the engine's Close would find the snapshot still open.
	defer func() {
		if r := recover(); r != nil {
			release()
			if x.auto {
				x.txn.Rollback()
			}
			panic(r)
		}
	}()
	p, planDone, err := s.cachedPlan(st, func(rd func() storage.Reader) (*prepared, error) {
		return s.plan(ctx, st, slices.Clone(st.params), args, rd)
	}, x.reader)
	if err != nil {
		if x.auto {
			x.txn.Rollback()
		}
		release()
		return nil, err
	}
	if !p.locksFirst {
		x.startSnapshot()
	}
	s.pendingNotices = nil
	res, err = p.run(ctx, x)
	if ns := s.takeNotices(); len(ns) > 0 && err == nil {
		res = withNotices(res, ns)
	}
	if _, isRows := res.(*rowsResult); isRows && err == nil {
		// The rows come from the plan's operators until the result is
		// closed.
		snapRelease := release
		release = func() {
			snapRelease()
			planDone()
		}
	} else {
		// Done with the plan: another session may run it while this one
		// waits for its commit.
		planDone()
	}
	if x.auto {
		if err == nil {
			err = s.tempBeforeCommit(x.txn)
		}
		if err != nil {
			x.txn.Rollback()
		} else if cerr := x.txn.Commit(); cerr != nil {
			err = commitError(cerr)
		}
	}
	if s.txn == nil && st.st.AST != nil && st.st.AST.GetTransactionStmt() == nil {
		// The statement was its own transaction.
		s.tempTxnEnd(err == nil)
	}
	if err == nil && s.txn == nil && (x.txn != nil || isTxnEnd(st.st)) && s.implicitFlush() {
		// The write committed; wait until the views show it.
		err = s.e.coord.Flush(ctx)
	}
	if err != nil {
		release()
		return nil, err
	}
	rr, isRows := res.(*rowsResult)
	if isRows {
		// The rows are read from the snapshot by the plan's operators
		// until the result is closed.
		rr.onClose = release
	} else {
		release()
	}
	if isRows && s.txn != nil {
		rr.onErr = func() { s.txnFailed = true }
	}
	return res, nil
}

// isTxnControl reports statements that do not read: transaction control,
// SET/SHOW and LOCK, which must not take a snapshot transaction's snapshot
// (PostgreSQL runs LOCK without one, so that a REPEATABLE READ transaction
// that begins with LOCK reads what committed before the lock was granted).
func isTxnControl(st parser.Statement) bool {
	if st.AST == nil {
		return false
	}
	return st.AST.GetTransactionStmt() != nil || st.AST.GetVariableSetStmt() != nil || st.AST.GetVariableShowStmt() != nil ||
		st.AST.GetLockStmt() != nil
}

// commandName names a statement in "cannot execute X" errors.
func commandName(st parser.Statement) string {
	n := st.AST
	switch v := planner.StatementVerb(st); {
	case v != "" && v != "SELECT":
		return v
	case n.GetTruncateStmt() != nil:
		return "TRUNCATE TABLE"
	case n.GetAlterTableStmt() != nil:
		return "ALTER TABLE"
	case n.GetDropStmt() != nil:
		return "DROP"
	case hasLocking(n):
		return "SELECT " + parseLocking(n.GetSelectStmt().LockingClause).name
	}
	return "this statement"
}

func isTxnEnd(st parser.Statement) bool {
	if t := st.AST.GetTransactionStmt(); t != nil {
		switch t.Kind {
		case pg.TransactionStmtKind_TRANS_STMT_COMMIT, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
			return true
		}
	}
	return false
}

// writes reports whether a statement outside a transaction block needs a
// write transaction of its own.
func writes(st parser.Statement) bool {
	if st.Ext != nil || st.AST == nil {
		return false
	}
	n := st.AST
	return n.GetInsertStmt() != nil || n.GetUpdateStmt() != nil || n.GetDeleteStmt() != nil ||
		n.GetTruncateStmt() != nil || n.GetAlterTableStmt() != nil || n.GetDropStmt() != nil || n.GetDropOwnedStmt() != nil ||
		hasLocking(n) || // its locks need a transaction
		writesTable(n)
}

func (s *Session) newPlanner(st *statement, params []types.T, args []types.Datum, r storage.Reader) *planner.Planner {
	return s.newPlannerFn(st, params, args, func() storage.Reader { return r })
}

// newPlannerFn is newPlanner with the plan's scans reading through rd.
func (s *Session) newPlannerFn(st *statement, params []types.T, args []types.Datum, rd func() storage.Reader) *planner.Planner {
	p := &planner.Planner{
		Catalog:       s.e.cat,
		SearchPath:    s.searchPath(),
		ParamTypes:    params,
		SQL:           st.whole,
		Offset:        0,
		UserFuncs:     s.e.udfs,
		GoFuncs:       s.e.goFuncs,
		CompileScalar: compileScalar,
		RecursiveCall: s.recursiveCall(rd),
		PerCallSet:    s.perCallSet(rd),
		RowSecurity:   s.readQual(st.st.AST != nil && hasLocking(st.st.AST)),
		BodyOf:        st.bodyOf,
	}
	return p
}

// lowering is what lowering the plans p makes needs: their scans read
// through rd.
func lowering(p *planner.Planner, rd func() storage.Reader) *lower.Statement {
	return &lower.Statement{Read: rd, Rewrite: p.Rewrite}
}

// planBatchSelect plans sel and lowers it to batch executors, recording
// in p what it reads (p.Deps, p.ColDeps, p.ViewReads).
func planBatchSelect(p *planner.Planner, rd func() storage.Reader, sel *pg.SelectStmt) (*planner.Query, exec.Operator, error) {
	p.Deps, p.ColDeps = map[uint32]bool{}, map[uint32]map[int16]bool{}
	return lowerSelect(p, rd, sel)
}

// lowerSelect plans sel and lowers it to batch executors.
func lowerSelect(p *planner.Planner, rd func() storage.Reader, sel *pg.SelectStmt) (*planner.Query, exec.Operator, error) {
	q, err := p.PlanSelect(sel)
	if err != nil {
		return nil, nil, err
	}
	op, err := lowering(p, rd).Batch(q.Plan)
	if err != nil {
		return nil, nil, err
	}
	return q, op, nil
}

// lowerCheck lowers r, which p planned, only for the errors that the
// lowering alone reports; the executors are dropped unopened, so nothing
// is read.
func lowerCheck(p *planner.Planner, r plan.Rel) error {
	_, err := lowering(p, nil).Batch(r)
	return err
}

// execCtx builds the execution context of one statement.
func (s *Session) execCtx(ctx context.Context, args []types.Datum) *exec.Ctx {
	now := time.Now()
	txnTime := now
	if s.txn != nil {
		txnTime = s.txnStart
	}
	return &exec.Ctx{
		Env: udf.Env{
			Context:  ctx,
			Location: s.location(),
			TxnTime:  txnTime,
			StmtTime: now,
			Settings: s.get,
			Catalog:  catalogReader{s},
			Sessions: sessionSignals{s},
		},
		Params: args,
		Cache:  map[any]any{},
		Mem:    s.newMemAccount(),
	}
}

func outputColumns(outs []planner.Output) []pgwire.Column {
	cols := make([]pgwire.Column, len(outs))
	for i, o := range outs {
		cols[i] = pgwire.Column{Name: o.Name, Type: o.Type, TableOID: o.TableOID, ColumnNo: o.AttNum}
	}
	return cols
}

// plan plans st; with args it is ready to run. Its scans read through rd.
func (s *Session) plan(ctx context.Context, st *statement, params []types.T, args []types.Datum, rd func() storage.Reader) (*prepared, error) {
	if st.st.Ext != nil {
		return s.auditDDL(s.planExt(st))
	}
	if st.lit != nil {
		return s.planLiteralInsert(st), nil
	}
	n := st.st.AST
	p := s.newPlannerFn(st, params, args, rd)
	p.Context = ctx
	switch {
	case n.GetSelectStmt() != nil && n.GetSelectStmt().IntoClause != nil:
		return s.auditDDL(s.planCreateTableAs(st, selectInto(n.GetSelectStmt())))
	case hasLocking(n):
		return s.planLockingSelect(st, p, rd, n.GetSelectStmt())
	case n.GetSelectStmt() != nil:
		q, op, err := planBatchSelect(p, rd, n.GetSelectStmt())
		if err != nil {
			return nil, err
		}
		cols := outputColumns(q.Cols)
		reads, readCols, viewReads := depList(p.Deps), p.ColDeps, p.ViewReads
		return &prepared{params: p.FinishParams(), cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
			// x.s: a cached plan runs in any session (plancache.go).
			if err := x.s.checkReads(reads, readCols, viewReads); err != nil {
				return nil, err
			}
			if err := x.s.lockRelations(ctx, reads, lockAccessShare); err != nil {
				return nil, err
			}
			x.startSnapshot()
			rr := newRowsResult(ctx, x.s.execCtx(ctx, x.args), op, cols, "SELECT")
			if x.auto {
				// The statement's own transaction (it calls a function
				// that writes) commits once run returns: run it now.
				return drainRows(ctx, rr)
			}
			return rr, nil
		}, locksFirst: true}, nil
	case n.GetInsertStmt() != nil, n.GetUpdateStmt() != nil, n.GetDeleteStmt() != nil:
		p.Deps = map[uint32]bool{}
		p.ColDeps = map[uint32]map[int16]bool{}
		return s.planWrite(p, n, rd)
	case n.GetCallStmt() != nil:
		return s.planCall(p, rd, n.GetCallStmt())
	case n.GetExplainStmt() != nil:
		return s.planExplain(st, p, rd, n.GetExplainStmt())
	case n.GetVariableSetStmt() != nil:
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			return s.execSet(n.GetVariableSetStmt())
		}), nil
	case n.GetVariableShowStmt() != nil:
		return s.planShow(n.GetVariableShowStmt().Name)
	case n.GetTransactionStmt() != nil:
		return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
			return s.execTxn(n.GetTransactionStmt())
		}), nil
	case n.GetCopyStmt() != nil:
		return s.planCopy(n.GetCopyStmt())
	case n.GetDeclareCursorStmt() != nil:
		return s.planDeclare(st, n.GetDeclareCursorStmt())
	case n.GetFetchStmt() != nil:
		return s.planFetch(n.GetFetchStmt(), nil)
	case n.GetClosePortalStmt() != nil:
		return s.planClose(n.GetClosePortalStmt())
	}
	if run, _, _ := s.roleStmt(n); run != nil {
		return s.planUtility(st, p, n) // audited as role statements
	}
	return s.auditDDL(s.planUtility(st, p, n))
}

func simple(run func(ctx context.Context, x *execution) (pgwire.Result, error)) *prepared {
	return &prepared{run: run}
}

// tagged is a statement whose result is only the command tag that run
// returns.
func tagged(run func(ctx context.Context) (string, error)) *prepared {
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		tag, err := run(ctx)
		if err != nil {
			return nil, err
		}
		return tagResult(tag), nil
	})
}

func (s *Session) execTxn(t *pg.TransactionStmt) (pgwire.Result, error) {
	switch t.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		if s.txn != nil {
			// PostgreSQL warns and goes on in the open block.
			return tagResult("BEGIN"), nil
		}
		s.txn = s.beginTxn()
		s.txnStart = time.Now()
		s.txnFailed = false
		s.savepoints = nil
		s.txnAuth = authState{sessionUser: s.sessionUser, role: s.role, saved: true}
		s.txnIso, s.txnReadOnly = "", s.defaultReadOnly()
		if err := s.txnOptions(t.Options); err != nil {
			s.txn.Rollback()
			s.txn = nil
			return nil, err
		}
		return tagResult("BEGIN"), nil
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		if s.txn == nil {
			return tagResult("COMMIT"), nil
		}
		s.closeCursors(false)
		txn, failed := s.txn, s.txnFailed
		s.txn, s.txnFailed = nil, false
		if !failed {
			if err := s.tempBeforeCommit(txn); err != nil {
				txn.Rollback()
				s.endTxnAuth(false)
				s.tempTxnEnd(false)
				s.routinesTxnEnd(false)
				return nil, err
			}
		}
		if failed {
			txn.Rollback()
			s.endTxnAuth(false)
			s.tempTxnEnd(false)
			s.routinesTxnEnd(false)
			return tagResult("ROLLBACK"), nil
		}
		if err := txn.Commit(); err != nil {
			s.endTxnAuth(false)
			s.tempTxnEnd(false)
			s.routinesTxnEnd(false)
			return nil, commitError(err)
		}
		s.endTxnAuth(true)
		s.tempTxnEnd(true)
		s.routinesTxnEnd(true)
		return tagResult("COMMIT"), nil
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		s.closeCursors(false)
		if s.txn != nil {
			s.txn.Rollback()
			s.endTxnAuth(false)
		}
		s.txn, s.txnFailed = nil, false
		s.tempTxnEnd(false)
		s.routinesTxnEnd(false)
		return tagResult("ROLLBACK"), nil
	}
	if res, ok, err := s.execSavepoint(t); ok {
		return res, err
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "two-phase commit is not supported")
}

func (s *Session) execSet(v *pg.VariableSetStmt) (pgwire.Result, error) {
	name := settingAlias(strings.ToLower(v.Name))
	if name == "role" {
		return s.setRole(v)
	}
	if name == "session_authorization" {
		return s.setSessionAuthorization(v)
	}
	switch v.Kind {
	case pg.VariableSetKind_VAR_RESET_ALL:
		s.role = ""
		for k := range s.vars {
			if settings[k].reported {
				s.changed[displayName(k)] = settings[k].def
			}
		}
		s.vars = map[string]string{}
		s.settingsChanged()
		return tagResult("RESET"), nil
	case pg.VariableSetKind_VAR_RESET, pg.VariableSetKind_VAR_SET_DEFAULT:
		if _, ok := settings[name]; !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", name)
		}
		delete(s.vars, name)
		s.settingsChanged()
		if settings[name].reported {
			s.changed[displayName(name)] = settings[name].def
		}
		if v.Kind == pg.VariableSetKind_VAR_RESET {
			return tagResult("RESET"), nil
		}
		return tagResult("SET"), nil
	case pg.VariableSetKind_VAR_SET_MULTI:
		return s.setTransaction(v)
	}
	parts, err := setValues(v, name)
	if err != nil {
		return nil, err
	}
	value := strings.Join(parts, ", ")
	if name == "search_path" {
		for i, p := range parts {
			if p != "$user" && strings.ToLower(p) != p {
				parts[i] = `"` + p + `"`
			}
		}
		value = strings.Join(parts, ", ")
	}
	switch name {
	case "transaction_isolation", "transaction_read_only":
		return s.setTransaction(&pg.VariableSetStmt{Name: "TRANSACTION", Args: []*pg.Node{
			{Node: &pg.Node_DefElem{DefElem: &pg.DefElem{Defname: name, Arg: pg.MakeStrNode(value)}}}}})
	case "default_transaction_isolation":
		_, canon, err := parseIsolationOf(name, value)
		if err != nil {
			return nil, err
		}
		value = canon
	}
	if err := s.set(name, value); err != nil {
		return nil, err
	}
	return tagResult("SET"), nil
}

func (s *Session) planShow(name string) (*prepared, error) {
	name = strings.ToLower(name)
	if name == "all" {
		cols := []pgwire.Column{{Name: "name", Type: types.TText}, {Name: "setting", Type: types.TText}, {Name: "description", Type: types.TText}}
		return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
			var rows [][]types.Datum
			for _, n := range sortedSettingNames() {
				v, _ := s.get(n)
				rows = append(rows, []types.Datum{n, v, settings[n].desc})
			}
			return memResult(cols, rows, "SHOW"), nil
		}}, nil
	}
	switch name {
	case "time zone":
		name = "timezone"
	case "transaction isolation level", "transaction_isolation":
		cols := []pgwire.Column{{Name: "transaction_isolation", Type: types.TText}}
		return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
			return memResult(cols, [][]types.Datum{{s.isolationName()}}, "SHOW"), nil
		}}, nil
	case "transaction_read_only":
		cols := []pgwire.Column{{Name: "transaction_read_only", Type: types.TText}}
		return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
			ro := s.defaultReadOnly()
			if s.txn != nil {
				ro = s.txnReadOnly
			}
			return memResult(cols, [][]types.Datum{{map[bool]string{true: "on", false: "off"}[ro]}}, "SHOW"), nil
		}}, nil
	case "session authorization":
		name = "session_authorization"
	}
	if _, ok := s.get(name); !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	cols := []pgwire.Column{{Name: displayName(name), Type: types.TText}}
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		v, _ := s.get(name)
		return memResult(cols, [][]types.Datum{{v}}, "SHOW"), nil
	}}, nil
}

// catalogReader answers the catalog questions of functions.
type catalogReader struct{ s *Session }

func (c catalogReader) RelationOID(name string) (uint32, bool) {
	return relationOID(c.s.e.cat, c.s.searchPath(), name)
}
func (c catalogReader) TypeOID(name string) (uint32, bool)     { return typeOID(name) }
func (c catalogReader) RelationName(oid uint32) (string, bool) { return relationName(c.s.e.cat, oid) }
func (c catalogReader) CurrentSchema() string                  { return c.s.currentSchema() }
func (c catalogReader) CurrentUser() string                    { return c.s.currentUser() }
func (c catalogReader) SessionUser() string                    { return c.s.sessionUser }
func (c catalogReader) IsSuperuser() bool                      { return c.s.isSuperuser() }
func (c catalogReader) CurrentDatabase() string                { return c.s.info.Database }

// setValues is the text of each value of SET name = value, ...: strings
// as they are, numbers as written, booleans as on and off.
func setValues(v *pg.VariableSetStmt, name string) ([]string, error) {
	var parts []string
	for _, a := range v.Args {
		c := a.GetAConst()
		if c == nil {
			if tc := a.GetTypeCast(); tc != nil {
				c = tc.Arg.GetAConst()
			}
		}
		if c == nil {
			return nil, sqlerr.New(sqlerr.SyntaxError, "SET %s takes constant values", name)
		}
		switch val := c.Val.(type) {
		case *pg.A_Const_Sval:
			parts = append(parts, val.Sval.Sval)
		case *pg.A_Const_Ival:
			parts = append(parts, fmt.Sprint(val.Ival.Ival))
		case *pg.A_Const_Fval:
			parts = append(parts, val.Fval.Fval)
		case *pg.A_Const_Boolval:
			parts = append(parts, map[bool]string{true: "on", false: "off"}[val.Boolval.Boolval])
		}
	}
	return parts, nil
}
