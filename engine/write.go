package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/lower"
	"streamsql/pgwire"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/table/constraint"
	"streamsql/table/index"
)

// planWrite plans INSERT, UPDATE or DELETE; its scans read through rd.
func (s *Session) planWrite(p *planner.Planner, n *pg.Node, rd func() storage.Reader) (*prepared, error) {
	var pw *planner.Write
	var err error
	var verb string
	switch {
	case n.GetInsertStmt() != nil:
		pw, err = p.PlanInsert(n.GetInsertStmt())
		verb = "INSERT"
	case n.GetUpdateStmt() != nil:
		pw, err = p.PlanUpdate(n.GetUpdateStmt())
		verb = "UPDATE"
	default:
		pw, err = p.PlanDelete(n.GetDeleteStmt())
		verb = "DELETE"
	}
	if err != nil {
		return nil, err
	}
	w, err := lowering(p, rd).Write(pw.Plan)
	if err != nil {
		return nil, err
	}
	// DELETE and key-changing UPDATE take FOR UPDATE, other updates FOR
	// NO KEY UPDATE, as in PostgreSQL.
	lockMode := storage.LockUpdate
	if u := n.GetUpdateStmt(); u != nil && !setsKey(u, w.Rel) {
		lockMode = storage.LockNoKeyUpdate
	}
	var cols []pgwire.Column
	if len(w.Returning) > 0 {
		cols = outputColumns(pw.Cols)
	}
	// Privileges (privilege.go): the verb's on the target (on the
	// columns it assigns, for INSERT and UPDATE), SELECT on the target's
	// columns the statement reads (WHERE, SET expressions, RETURNING) and
	// on everything else it reads.
	priv := privLetter[strings.ToLower(verb)]
	if len(p.ColDeps[w.Rel.OID]) > 0 {
		p.Deps[w.Rel.OID] = true
	}
	reads, readCols, viewReads := depList(p.Deps), p.ColDeps, p.ViewReads
	insertCols, updateCols := attnumSet(pw.InsertCols), attnumSet(pw.UpdateCols)
	// Row-level security (rowsecurity.go), planned for the current role
	// like the rest of the plan.
	sec, err := s.planWriteSecurity(p, lowering(p, rd).Compiler(), w, verb, len(p.ColDeps[w.Rel.OID]) > 0)
	if err != nil {
		return nil, err
	}
	return &prepared{params: p.FinishParams(), cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		// The relation as it is now, not as planned: a REVOKE since
		// counts.
		target := w.Rel
		if cur, ok := x.s.e.cat.ByOID(w.Rel.OID); ok {
			target = cur
		}
		err := x.s.checkUsage(target.Schema)
		switch {
		case err != nil:
		case verb == "INSERT":
			err = x.s.checkColumns(target, priv, insertCols)
			if err == nil && w.Conflict == lower.ConflictUpdate {
				err = x.s.checkColumns(target, 'w', updateCols)
			}
		case verb == "UPDATE":
			err = x.s.checkColumns(target, priv, updateCols)
		default:
			err = x.s.checkPrivilege(target, priv)
		}
		if err != nil {
			return nil, err
		}
		if err := x.s.checkReads(reads, readCols, viewReads); err != nil {
			return nil, err
		}
		if err := x.s.lockRelation(ctx, target, lockRowExclusive); err != nil {
			return nil, err
		}
		if err := x.s.lockRelations(ctx, reads, lockAccessShare); err != nil {
			return nil, err
		}
		// x.s, not s: a cached plan runs in any session (plancache.go).
		wr := &writer{s: x.s, x: x, w: w, ctx: x.s.execCtx(ctx, x.args), lockMode: lockMode, sec: sec}
		switch verb {
		case "INSERT":
			err = wr.insert()
		case "UPDATE":
			err = wr.update()
		default:
			err = wr.delete()
		}
		if err != nil {
			for _, b := range wr.returned {
				b.Release()
			}
			return nil, err
		}
		tag := fmt.Sprintf("%s %d", verb, wr.count)
		if verb == "INSERT" {
			tag = fmt.Sprintf("INSERT 0 %d", wr.count)
		}
		if cols == nil {
			return tagResult(tag), nil
		}
		return batchesResult(cols, wr.returned, tag), nil
	}}, nil
}

// writer applies one planned write to its transaction.
type writer struct {
	s        *Session
	x        *execution
	w        *lower.Write
	ctx      *exec.Ctx
	count    int64
	returned []*exec.Batch
	cons     *constraint.Table     // see constraints
	ixt      *storage.IndexedTable // see indexed
	// lockMode is the row lock UPDATE and DELETE take (locks.go).
	lockMode storage.LockMode
	// sec is the statement's row-level security, nil when no policy
	// binds its role (rowsecurity.go).
	sec *writeSecurity
}

// checkPolicies checks rows against the row-level security checks cs.
func (wr *writer) checkPolicies(cs []policyCheck, rows [][]types.Datum) error {
	if len(cs) == 0 || len(rows) == 0 {
		return nil
	}
	b := constraint.RowsBatch(wr.w.Rel, rows)
	defer b.Release()
	return checkPolicies(wr.ctx, wr.w.Rel, cs, b)
}

func (wr *writer) types() []types.T {
	ts := make([]types.T, len(wr.w.Rel.Columns))
	for i, c := range wr.w.Rel.Columns {
		ts[i] = c.Type
	}
	return ts
}

// indexed returns the write path of the written table: rows and indexes.
func (wr *writer) indexed() *storage.IndexedTable {
	if wr.ixt == nil {
		wr.ixt = index.Writer(wr.w.Rel, wr.w.Table)
	}
	return wr.ixt
}

// constraints returns the writer's prepared constraints, preparing them
// on first use.
func (wr *writer) constraints() (*constraint.Table, error) {
	if wr.cons == nil {
		env := wr.s.constraintEnv(wr.ctx)
		if wr.w.ChecksPlanned {
			// The target's checks came with the plan; a cascade to
			// another table binds that table's.
			bind := env.PlanChecks
			env.PlanChecks = func(rel *catalog.Relation, r storage.Reader) ([]lower.Check, error) {
				if rel == wr.w.Rel {
					return wr.w.Checks, nil
				}
				return bind(rel, r)
			}
		}
		tc, err := constraint.Prepare(env, wr.w.Rel, wr.x.reader)
		if err != nil {
			return nil, err
		}
		wr.cons = tc
	}
	return wr.cons, nil
}

// constraintEnv is the session's side of constraint checking in a
// statement evaluating with ctx.
func (s *Session) constraintEnv(ctx *exec.Ctx) *constraint.Env {
	return &constraint.Env{
		Catalog: s.e.cat,
		Ctx:     ctx,
		PlanChecks: func(rel *catalog.Relation, r storage.Reader) ([]lower.Check, error) {
			p := s.newPlanner(&statement{s: s}, nil, nil, r)
			cs, err := p.PlanChecks(rel)
			if err != nil {
				return nil, err
			}
			return lowering(p, func() storage.Reader { return r }).Checks(cs)
		},
	}
}

func (wr *writer) pk(row []types.Datum) []types.Datum {
	out := make([]types.Datum, len(wr.w.Table.PK))
	for i, k := range wr.w.Table.PK {
		out[i] = row[k]
	}
	return out
}

// returning evaluates RETURNING over written rows.
func (wr *writer) returning(rows [][]types.Datum) error {
	if len(wr.w.Returning) == 0 || len(rows) == 0 {
		return nil
	}
	b := constraint.RowsBatch(wr.w.Rel, rows)
	defer b.Release()
	out := make([]arrow.Array, len(wr.w.Returning))
	for i, e := range wr.w.Returning {
		a, err := e.Eval(wr.ctx, b)
		if err != nil {
			return err
		}
		out[i] = a
	}
	wr.returned = append(wr.returned, exec.NewBatch(out, len(rows)))
	return nil
}

func (wr *writer) insert() error {
	src := wr.w.Source
	if v, ok := src.(*batch.Values); ok {
		// Rows of VALUES (INSERT ... VALUES, COPY's batches) go to the
		// table as rows, not through columns and back, in the batches
		// Next would make.
		rows, ok, err := v.Rows(wr.ctx)
		if err != nil {
			return err
		}
		if ok {
			for len(rows) > 0 {
				n := min(len(rows), exec.BatchSize)
				if err := wr.insertRows(rows[:n:n]); err != nil {
					return err
				}
				rows = rows[n:]
			}
			return nil
		}
	}
	if err := src.Open(wr.ctx); err != nil {
		return err
	}
	defer src.Close()
	ts := wr.types()
	for {
		b, err := src.Next(wr.ctx)
		if err != nil {
			return err
		}
		if b == nil {
			return nil
		}
		rows := make([][]types.Datum, 0, b.N)
		for i := 0; i < b.N; i++ {
			rows = append(rows, b.Row(i, ts))
		}
		b.Release()
		if err := wr.insertRows(rows); err != nil {
			return err
		}
	}
}

func (wr *writer) insertRows(rows [][]types.Datum) error {
	if wr.sec != nil {
		// Policies first, then constraints, as in PostgreSQL.
		if err := wr.checkPolicies(wr.sec.insert, rows); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := constraint.NotNull(wr.w.Rel, r, wr.ctx); err != nil {
			return err
		}
	}
	tc, err := wr.constraints()
	if err != nil {
		return err
	}
	if err := tc.CheckChecks(rows); err != nil {
		return err
	}
	tbl, txn := wr.w.Table, wr.x.txn
	if wr.w.Conflict == lower.ConflictError || len(tbl.PK) == 0 && len(wr.w.Rel.Indexes) == 0 {
		if err := wr.indexed().Insert(txn, rows); err != nil {
			return err
		}
		if err := tc.CheckParents(txn, rows); err != nil {
			return err
		}
		wr.count += int64(len(rows))
		return wr.returning(rows)
	}
	var written [][]types.Datum
	seen := map[string]bool{}
	// With the primary key as arbiter under READ COMMITTED, the arbiter
	// read sees the key's newest version: an absent key is inserted
	// without reading it again.
	pkSeen := wr.w.Arbiter.Index == nil && len(tbl.PK) > 0 && txn.Isolation() == storage.ReadCommitted
	for _, r := range rows {
		since := wr.s.e.db.CommitCount()
		key, oldKey, old, exists, err := wr.lockedConflictRow(r)
		if err != nil {
			return err
		}
		if key != "" && seen[key] && wr.w.Conflict == lower.ConflictUpdate {
			return sqlerr.New(sqlerr.CardinalityViolation, "ON CONFLICT DO UPDATE command cannot affect row a second time").
				WithHint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
		}
		seen[key] = true
		if !exists {
			if pkSeen {
				err = wr.indexed().InsertSeen(txn, r, since)
			} else {
				err = wr.indexed().Insert(txn, [][]types.Datum{r})
			}
			if err != nil {
				return err
			}
			written = append(written, r)
			continue
		}
		if wr.w.Conflict == lower.ConflictNothing {
			continue
		}
		if wr.sec != nil {
			if err := wr.checkPolicies(wr.sec.conflict, [][]types.Datum{old}); err != nil {
				return err
			}
		}
		// DO UPDATE over [existing, excluded].
		pair := wr.pairBatch(old, r)
		ok := true
		if wr.w.Where != nil {
			m, err := wr.w.Where.Eval(wr.ctx, pair)
			if err != nil {
				pair.Release()
				return err
			}
			bm := m.(*array.Boolean)
			ok = bm.IsValid(0) && bm.Value(0)
			m.Release()
		}
		if !ok {
			pair.Release()
			continue
		}
		nr, err := wr.evalRow(wr.w.Set, pair)
		pair.Release()
		if err != nil {
			return err
		}
		if wr.sec != nil {
			if err := wr.checkPolicies(wr.sec.update, [][]types.Datum{nr}); err != nil {
				return err
			}
		}
		if err := constraint.NotNull(wr.w.Rel, nr, wr.ctx); err != nil {
			return err
		}
		if err := tc.CheckChecks([][]types.Datum{nr}); err != nil {
			return err
		}
		if err := wr.replace(oldKey, old, nr); err != nil {
			return err
		}
		written = append(written, nr)
	}
	if err := tc.CheckParents(txn, written); err != nil {
		return err
	}
	wr.count += int64(len(written))
	return wr.returning(written)
}

// pairBatch is a one-row batch of [existing row, excluded row].
func (wr *writer) pairBatch(old, excluded []types.Datum) *exec.Batch {
	ts := wr.types()
	cols := make([]arrow.Array, 0, 2*len(ts))
	for j, t := range ts {
		cols = append(cols, types.ArrayFromDatums(t, []types.Datum{old[j]}))
	}
	for j, t := range ts {
		cols = append(cols, types.ArrayFromDatums(t, []types.Datum{excluded[j]}))
	}
	return exec.NewBatch(cols, 1)
}

func (wr *writer) evalRow(es []expr.Expr, b *exec.Batch) ([]types.Datum, error) {
	row := make([]types.Datum, len(es))
	for j, e := range es {
		a, err := e.Eval(wr.ctx, b)
		if err != nil {
			return nil, err
		}
		row[j] = types.GetDatum(a, 0, e.Type())
		a.Release()
	}
	return row, nil
}

// replace writes nr in place of old, stored under oldKey, moving it if
// its key changed.
func (wr *writer) replace(oldKey []byte, old, nr []types.Datum) error {
	tbl, txn := wr.indexed(), wr.x.txn
	if len(tbl.PK) == 0 {
		return tbl.Update(txn, oldKey, old, nr)
	}
	newKey := tbl.EncodePK(nil, wr.pk(nr))
	if string(oldKey) == string(newKey) {
		return tbl.Update(txn, oldKey, old, nr)
	}
	if err := tbl.Delete(txn, oldKey, old); err != nil {
		return err
	}
	return tbl.Insert(txn, [][]types.Datum{nr})
}

// filterRows returns the rows that pass the statement's filter, and
// before it the row-level security filter: the statement's own
// conditions never see a row the policies hide.
func (wr *writer) filterRows(keys [][]byte, rows [][]types.Datum) ([][]byte, [][]types.Datum, error) {
	if wr.sec != nil && wr.sec.filter != nil {
		var err error
		if keys, rows, err = wr.filterBy(wr.sec.filter, keys, rows); err != nil {
			return nil, nil, err
		}
	}
	if wr.w.Filter == nil {
		return slices.Clone(keys), slices.Clone(rows), nil
	}
	return wr.filterBy(wr.w.Filter, keys, rows)
}

// filterBy returns the keys and rows for which f is true.
func (wr *writer) filterBy(f expr.Expr, keys [][]byte, rows [][]types.Datum) ([][]byte, [][]types.Datum, error) {
	if len(rows) == 0 {
		return nil, nil, nil
	}
	b := constraint.RowsBatch(wr.w.Rel, rows)
	m, err := f.Eval(wr.ctx, b)
	b.Release()
	if err != nil {
		return nil, nil, err
	}
	defer m.Release()
	bm := m.(*array.Boolean)
	var outK [][]byte
	var outR [][]types.Datum
	for i := range rows {
		if bm.IsValid(i) && bm.Value(i) {
			outK, outR = append(outK, keys[i]), append(outR, rows[i])
		}
	}
	return outK, outR, nil
}

// matching collects the keys and rows that the filter selects, before any
// change is made (so an update never sees its own writes).
func (wr *writer) matching() ([][]byte, [][]types.Datum, error) {
	since := wr.s.e.db.CommitCount()
	var span storage.KeySpan
	if wr.w.Bounds != nil {
		var none bool
		if span, none = wr.w.Bounds.Span(wr.ctx, nil, nil); none {
			return nil, nil, nil
		}
	}
	it, err := wr.w.Table.Scan(wr.x.reader, span)
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var keys [][]byte
	var rows [][]types.Datum
	var pendK [][]byte
	var pendR [][]types.Datum
	flush := func() error {
		if len(pendR) == 0 {
			return nil
		}
		mk, mr, err := wr.filterRows(pendK, pendR)
		if err != nil {
			return err
		}
		if mk, mr, err = wr.lockRows(mk, mr, since); err != nil {
			return err
		}
		keys, rows = append(keys, mk...), append(rows, mr...)
		pendK, pendR = pendK[:0], pendR[:0]
		return wr.ctx.Err()
	}
	for it.Next() {
		pendK = append(pendK, append([]byte(nil), it.Key()...))
		pendR = append(pendR, it.Row())
		if len(pendR) >= exec.BatchSize {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return nil, nil, err
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	return keys, rows, nil
}

func (wr *writer) update() error {
	keys, rows, err := wr.matching()
	if err != nil {
		return err
	}
	tbl, txn := wr.indexed(), wr.x.txn
	var written [][]types.Datum
	for start := 0; start < len(rows); start += exec.BatchSize {
		end := min(start+exec.BatchSize, len(rows))
		b := constraint.RowsBatch(wr.w.Rel, rows[start:end])
		newCols := make([]arrow.Array, len(wr.w.Set))
		for j, e := range wr.w.Set {
			a, err := e.Eval(wr.ctx, b)
			if err != nil {
				b.Release()
				return err
			}
			newCols[j] = a
		}
		b.Release()
		nb := exec.NewBatch(newCols, end-start)
		if wr.sec != nil {
			if err := checkPolicies(wr.ctx, wr.w.Rel, wr.sec.update, nb); err != nil {
				nb.Release()
				return err
			}
		}
		ts := wr.types()
		// Delete moved keys first so that swapping keys works.
		var moved [][]types.Datum
		for i := start; i < end; i++ {
			nr := nb.Row(i-start, ts)
			if err := constraint.NotNull(wr.w.Rel, nr, wr.ctx); err != nil {
				nb.Release()
				return err
			}
			if len(tbl.PK) > 0 {
				nk := tbl.EncodePK(nil, wr.pk(nr))
				if string(nk) != string(keys[i]) {
					if err := tbl.Delete(txn, keys[i], rows[i]); err != nil {
						nb.Release()
						return err
					}
					moved = append(moved, nr)
					written = append(written, nr)
					continue
				}
			}
			if err := tbl.Update(txn, keys[i], rows[i], nr); err != nil {
				nb.Release()
				return err
			}
			written = append(written, nr)
		}
		nb.Release()
		if len(moved) > 0 {
			if err := tbl.Insert(txn, moved); err != nil {
				return err
			}
		}
	}
	tc, err := wr.constraints()
	if err != nil {
		return err
	}
	if err := tc.AfterUpdate(txn, rows, written); err != nil {
		return err
	}
	wr.count = int64(len(written))
	return wr.returning(written)
}

func (wr *writer) delete() error {
	keys, rows, err := wr.matching()
	if err != nil {
		return err
	}
	for i, k := range keys {
		if err := wr.indexed().Delete(wr.x.txn, k, rows[i]); err != nil {
			return err
		}
	}
	tc, err := wr.constraints()
	if err != nil {
		return err
	}
	if err := tc.AfterDelete(wr.x.txn, rows); err != nil {
		return err
	}
	wr.count = int64(len(keys))
	return wr.returning(rows)
}

var _ = catalog.KindTable
