package planner

import (
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// Secondary indexes in plans: a scan whose predicate pins the leading
// columns of an index (equalities, then at most one range) reads the
// index's entries in that range and fetches their rows by primary key,
// instead of reading the whole table. The predicate stays as a filter
// above the scan, so the index only has to narrow, never to decide. A
// primary key equality is cheaper still and wins; a primary key range
// wins over an index range.
//
// There are no table statistics: an index that applies is used whatever
// the table's size, since for a small table the cost of either path is a
// few microseconds.

// conflictArbiter resolves the conflict target of ON CONFLICT: a set of
// columns that a unique constraint or unique index covers exactly (in any
// order), or ON CONSTRAINT name.
func (p *Planner) conflictArbiter(r *catalog.Relation, oc *pg.OnConflictClause) (plan.ConflictArbiter, error) {
	inf := oc.Infer
	if inf == nil {
		return plan.ConflictArbiter{Any: true}, nil
	}
	if inf.Conname != "" {
		if len(r.PrimaryKey) > 0 && inf.Conname == r.Name+"_pkey" {
			return plan.ConflictArbiter{}, nil
		}
		for i := range r.Indexes {
			if ix := &r.Indexes[i]; ix.Constraint && ix.Name == inf.Conname {
				return plan.ConflictArbiter{Index: ix}, nil
			}
		}
		return plan.ConflictArbiter{}, sqlerr.New(sqlerr.UndefinedObject, "constraint %q for table %q does not exist", inf.Conname, r.Name)
	}
	if len(inf.IndexElems) == 0 {
		return plan.ConflictArbiter{Any: true}, nil
	}
	var cols []int
	for _, e := range inf.IndexElems {
		ie := e.GetIndexElem()
		i := r.ColumnIndex(ie.Name)
		if ie.Expr != nil || i < 0 {
			return plan.ConflictArbiter{}, noArbiter()
		}
		if !slices.Contains(cols, i) {
			cols = append(cols, i)
		}
	}
	if sameSet(cols, r.PrimaryKey) {
		return plan.ConflictArbiter{}, nil
	}
	for i := range r.Indexes {
		if ix := &r.Indexes[i]; ix.Unique && sameSet(cols, ix.Columns) {
			return plan.ConflictArbiter{Index: ix}, nil
		}
	}
	return plan.ConflictArbiter{}, noArbiter()
}

func noArbiter() error {
	return sqlerr.New(sqlerr.InvalidColumnReference, "there is no unique or exclusion constraint matching the ON CONFLICT specification")
}

// sameSet reports whether a and b hold the same columns.
func sameSet(a, b []int) bool {
	if len(b) == 0 {
		return false
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// colBound is what a predicate's conjuncts say about one column: an
// equality, or candidate range bounds.
type colBound struct {
	eq     plan.Scalar
	lo, hi []plan.Bound
}

// columnBounds collects, per physical column of the scan, the comparisons
// with constants and parameters among pred's conjuncts (see boundValue).
func (p *Planner) columnBounds(si *scanInfo, pred plan.Scalar) map[int]*colBound {
	out := map[int]*colBound{}
	for _, c := range plan.SplitAnd(pred, nil) {
		call, ok := c.(*plan.Call)
		if !ok || len(call.Args) != 2 {
			continue
		}
		col, cok := call.Args[0].(*plan.ColRef)
		val, op := call.Args[1], call.Fn.Name
		if !cok {
			col, cok = call.Args[1].(*plan.ColRef)
			val, op = call.Args[0], flipOp(op)
		}
		if !cok || col.Idx < 0 || col.Idx >= len(si.cols) {
			continue
		}
		phys := si.cols[col.Idx]
		v, ok := p.boundValue(val, si.rel.Columns[phys].Type)
		if !ok {
			continue
		}
		b := out[phys]
		if b == nil {
			b = &colBound{}
			out[phys] = b
		}
		switch op {
		case "=":
			b.eq = v
		case ">", ">=":
			b.lo = append(b.lo, plan.Bound{Value: v, Inclusive: op == ">="})
		case "<", "<=":
			b.hi = append(b.hi, plan.Bound{Value: v, Inclusive: op == "<="})
		}
	}
	return out
}

// indexScan turns the scan of fi into an index scan when pred pins the
// leading columns of one of the table's indexes and the primary key does
// not serve better. It reports whether it did.
func (p *Planner) indexScan(fi *fromItem, pred plan.Scalar) bool {
	si := fi.scan
	// Stream plans turn table scans into changelog readers; an index scan
	// means nothing there.
	if si == nil || si.rel == nil || len(si.rel.Indexes) == 0 || p.Stream {
		return false
	}
	pk, pkOK := p.keyBounds(si, pred)
	if pkOK && len(pk.Eq) > 0 {
		return false // a primary key equality
	}
	bounds := p.columnBounds(si, pred)
	if len(bounds) == 0 {
		return false
	}
	bestEq, best := -1, -1
	var bestBounds plan.KeyBounds
	for i := range si.rel.Indexes {
		kb, eqs, ok := indexBounds(si.rel.Indexes[i].Columns, bounds)
		if !ok || eqs == 0 && pkOK {
			continue
		}
		if eqs > bestEq {
			bestEq, best, bestBounds = eqs, i, kb
		}
	}
	if best < 0 {
		return false
	}
	si.node.Index, si.node.Bounds = best, bestBounds
	return true
}

// indexBounds derives the bounds of an index on columns cols that bounds
// give: equalities on its leading columns, then a range on the next one.
// eqs is the number of leading equalities; ok is false when the leading
// column is not constrained at all.
func indexBounds(cols []int, bounds map[int]*colBound) (kb plan.KeyBounds, eqs int, ok bool) {
	for _, c := range cols {
		b := bounds[c]
		if b == nil || b.eq == nil {
			break
		}
		kb.Eq = append(kb.Eq, b.eq)
	}
	eqs = len(kb.Eq)
	if eqs < len(cols) {
		if b := bounds[cols[eqs]]; b != nil && (b.lo != nil || b.hi != nil) {
			kb.Lo, kb.Hi = b.lo, b.hi
			return kb, eqs, true
		}
	}
	return kb, eqs, eqs > 0
}
