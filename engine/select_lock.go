package engine

// SELECT ... FOR UPDATE | FOR NO KEY UPDATE | FOR SHARE | FOR KEY SHARE
// [OF t] [NOWAIT | SKIP LOCKED].
//
// The rows of every table in FROM are locked (of those named in OF t, if
// given), over joins too, as PostgreSQL does; a table on the nullable side
// of an outer join cannot be locked (0A000). The query runs with each
// locked table's primary key (or row id) appended to its target list and without its
// LIMIT/OFFSET; its rows are then locked in the query's order, each
// table's row in FROM order, as PostgreSQL's LockRows does below its
// Limit: a row skipped by SKIP LOCKED does not count towards the limit
// (a row of a join is skipped when any of its tables' rows is locked,
// keeping the locks it took on the others). A table without a primary
// key is locked by the hidden row id its rows are stored under (the
// planner's hidden column ctid, read only by locking queries). Under READ
// COMMITTED, when a lock had to wait (or anything committed since the
// query read), the query runs again: the rows already locked stay put, the
// newest versions are returned, and rows that no longer match drop out.
// Under REPEATABLE READ and SERIALIZABLE a locked row changed since the
// snapshot fails with 40001.

import (
	"context"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/pgwire"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// lockSpec is a SELECT's locking clause.
type lockSpec struct {
	mode   storage.LockMode
	policy storage.WaitPolicy
	name   string // "FOR UPDATE" etc., for errors
}

// rowLockModes are the row lock modes of the locking clauses weaker than
// FOR UPDATE.
var rowLockModes = map[pg.LockClauseStrength]storage.LockMode{
	pg.LockClauseStrength_LCS_FORKEYSHARE:    storage.LockKeyShare,
	pg.LockClauseStrength_LCS_FORSHARE:       storage.LockShare,
	pg.LockClauseStrength_LCS_FORNOKEYUPDATE: storage.LockNoKeyUpdate,
}

// hasLocking reports whether a SELECT statement (top level) locks rows.
func hasLocking(n *pg.Node) bool {
	sel := n.GetSelectStmt()
	return sel != nil && len(sel.LockingClause) > 0
}

func parseLocking(cl []*pg.Node) lockSpec {
	spec := lockSpec{}
	for _, n := range cl {
		lc := n.GetLockingClause()
		if lc == nil {
			continue
		}
		m, ok := rowLockModes[lc.Strength]
		if !ok {
			m = storage.LockUpdate // FOR UPDATE
		}
		if m > spec.mode {
			spec.mode = m
		}
		switch lc.WaitPolicy {
		case pg.LockWaitPolicy_LockWaitSkip:
			spec.policy = storage.WaitSkip
		case pg.LockWaitPolicy_LockWaitError:
			if spec.policy != storage.WaitSkip {
				spec.policy = storage.WaitNoWait
			}
		}
	}
	spec.name = spec.mode.String()
	return spec
}

// planLockingSelect plans a SELECT with a locking clause.
func (s *Session) planLockingSelect(st *statement, p *planner.Planner, rd func() storage.Reader, sel *pg.SelectStmt) (*prepared, error) {
	spec := parseLocking(sel.LockingClause)
	switch {
	case sel.Op != pg.SetOperation_SETOP_NONE:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed with UNION/INTERSECT/EXCEPT", spec.name)
	case len(sel.GroupClause) > 0:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed with GROUP BY clause", spec.name)
	case sel.HavingClause != nil:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed with HAVING clause", spec.name)
	case len(sel.DistinctClause) > 0:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed with DISTINCT clause", spec.name)
	case len(sel.WindowClause) > 0:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed with window functions", spec.name)
	}
	targets, err := s.lockTargets(sel, spec)
	if err != nil {
		return nil, err
	}
	inner := proto.Clone(sel).(*pg.SelectStmt)
	inner.LockingClause, inner.LimitCount, inner.LimitOffset = nil, nil, nil
	nKeys := 0
	for _, t := range targets {
		for _, name := range t.keyColumns() {
			inner.TargetList = append(inner.TargetList, &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{
				Val: &pg.Node{Node: &pg.Node_ColumnRef{ColumnRef: &pg.ColumnRef{Fields: []*pg.Node{
					pg.MakeStrNode(t.qual), pg.MakeStrNode(name)}}}}}}})
		}
		nKeys += t.keyLen()
	}
	p.RowIDs = true
	q, op, err := planBatchSelect(p, rd, inner)
	if err != nil {
		return nil, err
	}
	// Privileges (privilege.go): SELECT on what it reads, and UPDATE (on
	// the table or some column of it) on every table it locks, as in
	// PostgreSQL, whatever the lock strength.
	reads, readCols, viewReads := depList(p.Deps), p.ColDeps, p.ViewReads
	nOut := len(q.Cols) - nKeys
	off := nOut
	for i := range targets {
		targets[i].off = off
		off += targets[i].keyLen()
	}
	cols := outputColumns(q.Cols[:nOut])
	colTypes := make([]types.T, len(q.Cols))
	for i, c := range q.Cols {
		colTypes[i] = c.Type
	}
	params := p.FinishParams()
	// x.s, not s, below: a cached plan runs in any session (plancache.go).
	return &prepared{params: params, cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		if err := x.s.checkReads(reads, readCols, viewReads); err != nil {
			return nil, err
		}
		for _, t := range targets {
			rel := t.rel
			if cur, ok := x.s.e.cat.ByOID(rel.OID); ok {
				rel = cur
			}
			if err := x.s.checkColumns(rel, 'w', nil); err != nil {
				return nil, err
			}
			if err := x.s.lockRelation(ctx, rel, lockRowShare); err != nil {
				return nil, err
			}
		}
		if err := x.s.lockRelations(ctx, reads, lockAccessShare); err != nil {
			return nil, err
		}
		limit, offset, err := limitValues(sel, x.args)
		if err != nil {
			return nil, err
		}
		lr := &lockingRun{s: x.s, x: x, spec: spec, targets: targets, nOut: nOut, colTypes: colTypes}
		rows, err := lr.run(ctx, func() (exec.Operator, error) {
			if lr.passes == 0 {
				return op, nil
			}
			// Each pass plans anew: operators run once.
			pts := append([]types.T{}, params...)
			np := x.s.newPlanner(st, pts, x.args, x.reader)
			np.RowIDs = true
			nq, err := np.PlanSelect(proto.Clone(inner).(*pg.SelectStmt))
			if err != nil {
				return nil, err
			}
			return lowering(np, func() storage.Reader { return x.reader }).Batch(nq.Plan)
		}, limit, offset)
		if err != nil {
			return nil, err
		}
		return memResult(cols, rows, "SELECT"), nil
	}}, nil
}

// lockTarget is a table whose rows a locking SELECT locks: its key
// columns are appended to the query's output, from off on.
type lockTarget struct {
	rel   *catalog.Relation
	table *storage.Table
	qual  string // the name the query gives it (its alias)
	off   int
}

// keyColumns are the columns that identify a row of the target: its
// primary key, or for a table without one the hidden row id column.
func (t *lockTarget) keyColumns() []string {
	if len(t.rel.PrimaryKey) == 0 {
		return []string{planner.RowIDColumn}
	}
	names := make([]string, len(t.rel.PrimaryKey))
	for i, k := range t.rel.PrimaryKey {
		names[i] = t.rel.Columns[k].Name
	}
	return names
}

func (t *lockTarget) keyLen() int { return max(len(t.rel.PrimaryKey), 1) }

// lockingRun is one execution of a locking SELECT.
type lockingRun struct {
	s        *Session
	x        *execution
	spec     lockSpec
	targets  []lockTarget
	nOut     int
	colTypes []types.T
	passes   int
}

func (lr *lockingRun) run(ctx context.Context, plan func() (exec.Operator, error), limit, offset int64) ([][]types.Datum, error) {
	for {
		since := lr.s.e.db.CommitCount()
		op, err := plan()
		if err != nil {
			return nil, err
		}
		lr.passes++
		out, waited, err := lr.lockRows(ctx, op, limit, offset)
		if err != nil {
			return nil, err
		}
		if lr.x.txn.Isolation() >= storage.RepeatableRead || !waited && lr.s.e.db.CommitCount() == since {
			if int64(len(out)) <= offset {
				return nil, nil
			}
			return out[offset:], nil
		}
		// Read committed after a wait: read again at the newest versions.
	}
}

// lockRows runs op and locks its rows in order as they come, until
// limit+offset rows are locked (limit < 0: all of them); it stops reading
// the query there, so LIMIT 1 ... SKIP LOCKED reads only up to the first
// row it can take. waited reports whether a lock had to wait.
func (lr *lockingRun) lockRows(ctx context.Context, op exec.Operator, limit, offset int64) (out [][]types.Datum, waited bool, err error) {
	txn, timeout := lr.x.txn, lr.s.LockTimeout()
	ec := lr.s.execCtx(ctx, lr.x.args)
	if err := op.Open(ec); err != nil {
		return nil, false, err
	}
	defer op.Close()

	for limit < 0 || int64(len(out)) < limit+offset {
		b, err := op.Next(ec)
		if err != nil {
			return nil, false, err
		}
		if b == nil {
			break
		}
	rows:
		for i := 0; i < b.N && (limit < 0 || int64(len(out)) < limit+offset); i++ {
			row := b.Row(i, lr.colTypes)
			// The row of each table named, in the order of FROM.
			for _, t := range lr.targets {
				key := t.table.EncodePK(storage.TableKey(t.table.ID, nil), row[t.off:t.off+t.keyLen()])
				ok, w, err := txn.Lock(ctx, key, lr.spec.mode, lr.spec.policy, timeout)
				if err == nil && ok {
					err = txn.CheckSnapshotConflict(key)
				}
				if err != nil {
					b.Release()
					return nil, false, lockError(err, t.rel.Name)
				}
				if !ok {
					continue rows // SKIP LOCKED
				}
				waited = waited || w
			}
			out = append(out, row[:lr.nOut])
		}
		b.Release()
	}
	return out, waited, nil
}

// limitValues evaluates a locking SELECT's LIMIT and OFFSET (-1: none).
func limitValues(sel *pg.SelectStmt, args []types.Datum) (limit, offset int64, err error) {
	val := func(n *pg.Node, what string) (int64, error) {
		if n == nil {
			return -1, nil
		}
		if c := n.GetAConst(); c != nil {
			if c.Isnull {
				return -1, nil
			}
			if iv, ok := c.Val.(*pg.A_Const_Ival); ok {
				return int64(iv.Ival.Ival), nil
			}
		}
		if pr := n.GetParamRef(); pr != nil && int(pr.Number) <= len(args) {
			switch v := args[pr.Number-1].(type) {
			case nil:
				return -1, nil
			case int64:
				return v, nil
			case int32:
				return int64(v), nil
			case int16:
				return int64(v), nil
			}
		}
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "%s with a locking clause takes a constant or a parameter", what)
	}
	if limit, err = val(sel.LimitCount, "LIMIT"); err != nil {
		return 0, 0, err
	}
	if offset, err = val(sel.LimitOffset, "OFFSET"); err != nil {
		return 0, 0, err
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset, nil
}

// qualifiedName is a RangeVar's name as the catalog resolves it.
func qualifiedName(rv *pg.RangeVar) string {
	if rv.Schemaname != "" {
		return rv.Schemaname + "." + rv.Relname
	}
	return rv.Relname
}

// lockTargets finds the tables whose rows a locking SELECT locks: every
// table of its FROM clause, or those named in OF, as in PostgreSQL. A
// table on the nullable side of an outer join cannot be locked, and
// neither can a subquery or a function in FROM unless OF leaves it out.
func (s *Session) lockTargets(sel *pg.SelectStmt, spec lockSpec) ([]lockTarget, error) {
	named := map[string]bool{}
	for _, n := range sel.LockingClause {
		for _, r := range n.GetLockingClause().GetLockedRels() {
			if rv := r.GetRangeVar(); rv != nil {
				named[rv.Relname] = true
			}
		}
	}
	var out []lockTarget
	var walk func(n *pg.Node, nullable bool) error
	walk = func(n *pg.Node, nullable bool) error {
		switch {
		case n.GetJoinExpr() != nil:
			j := n.GetJoinExpr()
			lnull := nullable || j.Jointype == pg.JoinType_JOIN_RIGHT || j.Jointype == pg.JoinType_JOIN_FULL
			rnull := nullable || j.Jointype == pg.JoinType_JOIN_LEFT || j.Jointype == pg.JoinType_JOIN_FULL
			if err := walk(j.Larg, lnull); err != nil {
				return err
			}
			return walk(j.Rarg, rnull)
		case n.GetRangeVar() != nil:
			rv := n.GetRangeVar()
			qual := rv.Relname
			if rv.Alias != nil && rv.Alias.Aliasname != "" {
				qual = rv.Alias.Aliasname
			}
			if len(named) > 0 && !named[qual] {
				return nil
			}
			delete(named, qual)
			if nullable {
				return sqlerr.New(sqlerr.FeatureNotSupported, "%s cannot be applied to the nullable side of an outer join", spec.name)
			}
			rel, err := s.e.cat.Resolve(s.searchPath(), qualifiedName(rv))
			if err != nil {
				return err
			}
			if rel.Kind != catalog.KindTable {
				return sqlerr.New(sqlerr.WrongObjectType, "cannot lock rows in %s %q", rel.Kind.String(), rel.Name)
			}
			if len(rel.PrimaryKey) == 0 && rel.ColumnIndex(planner.RowIDColumn) >= 0 {
				return sqlerr.New(sqlerr.FeatureNotSupported, "%s on table %q without a primary key: its column %q hides the row id", spec.name, rel.Name, planner.RowIDColumn)
			}
			out = append(out, lockTarget{rel: rel, table: rel.Table(), qual: qual})
			return nil
		}
		if len(named) > 0 {
			return nil // OF names the tables; this item is not among them
		}
		return sqlerr.New(sqlerr.FeatureNotSupported, "%s is supported on tables in FROM, not on subqueries or functions", spec.name).
			WithHint("Name the tables to lock with %s OF.", spec.name)
	}
	for _, n := range sel.FromClause {
		if err := walk(n, false); err != nil {
			return nil, err
		}
	}
	for name := range named {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q in %s clause not found in FROM clause", name, spec.name)
	}
	if len(out) == 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s needs a table in FROM", spec.name)
	}
	return out, nil
}
