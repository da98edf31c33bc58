package planner

import (
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec/batch"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
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

// ConflictArbiter says which unique constraint INSERT ... ON CONFLICT
// checks for an existing row.
type ConflictArbiter struct {
	// Any is DO NOTHING without a conflict target: every unique
	// constraint (the primary key and each unique index) is an arbiter.
	Any bool
	// Index is the arbiter unique index; nil means the primary key.
	Index *catalog.Index
}

// conflictArbiter resolves the conflict target of ON CONFLICT: a set of
// columns that a unique constraint or unique index covers exactly (in any
// order), or ON CONSTRAINT name.
func (p *Planner) conflictArbiter(r *catalog.Relation, oc *pg.OnConflictClause) (ConflictArbiter, error) {
	inf := oc.Infer
	if inf == nil {
		return ConflictArbiter{Any: true}, nil
	}
	if inf.Conname != "" {
		if len(r.PrimaryKey) > 0 && inf.Conname == r.Name+"_pkey" {
			return ConflictArbiter{}, nil
		}
		for i := range r.Indexes {
			if ix := &r.Indexes[i]; ix.Constraint && ix.Name == inf.Conname {
				return ConflictArbiter{Index: ix}, nil
			}
		}
		return ConflictArbiter{}, sqlerr.New(sqlerr.UndefinedObject, "constraint %q for table %q does not exist", inf.Conname, r.Name)
	}
	if len(inf.IndexElems) == 0 {
		return ConflictArbiter{Any: true}, nil
	}
	var cols []int
	for _, e := range inf.IndexElems {
		ie := e.GetIndexElem()
		i := r.ColumnIndex(ie.Name)
		if ie.Expr != nil || i < 0 {
			return ConflictArbiter{}, noArbiter()
		}
		if !slices.Contains(cols, i) {
			cols = append(cols, i)
		}
	}
	if sameSet(cols, r.PrimaryKey) {
		return ConflictArbiter{}, nil
	}
	for i := range r.Indexes {
		if ix := &r.Indexes[i]; ix.Unique && sameSet(cols, ix.Columns) {
			return ConflictArbiter{Index: ix}, nil
		}
	}
	return ConflictArbiter{}, noArbiter()
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
// equality, or range bounds (nil when open).
type colBound struct {
	eq, lo, hi   types.Datum
	loInc, hiInc bool
}

// columnBounds collects, per physical column of the scan, the constant
// comparisons among pred's conjuncts, with the constants converted to the
// column's type (comparisons that would not survive the conversion are
// left to the filter).
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
		v, ok := p.constValue(val)
		if !ok || v == nil {
			continue
		}
		phys := si.cols[col.Idx]
		ct := si.tbl.Types[phys]
		cv, err := types.Cast(v, val.Type(), ct, nil)
		if err != nil {
			continue
		}
		if back, err := types.Cast(cv, ct, val.Type(), nil); err != nil || types.Compare(back, v, val.Type()) != 0 {
			continue
		}
		b := out[phys]
		if b == nil {
			b = &colBound{}
			out[phys] = b
		}
		switch op {
		case "=":
			b.eq = cv
		case ">", ">=":
			if b.lo == nil || types.Compare(cv, b.lo, ct) > 0 {
				b.lo, b.loInc = cv, op == ">="
			}
		case "<", "<=":
			if b.hi == nil || types.Compare(cv, b.hi, ct) < 0 {
				b.hi, b.hiInc = cv, op == "<="
			}
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
	pkSpan, pkOK := p.keySpan(si, pred)
	if pkOK && pkSpan.Lo != nil && pkSpan.LoInclusive && pkSpan.HiInclusive && string(pkSpan.Lo) == string(pkSpan.Hi) {
		return false // a primary key equality
	}
	bounds := p.columnBounds(si, pred)
	if len(bounds) == 0 {
		return false
	}
	bestEq, best := -1, -1
	var bestSpan storage.KeySpan
	for i := range si.rel.Indexes {
		ix := si.rel.Indexes[i].Storage()
		span, eqs, ok := indexSpan(si.tbl, ix, bounds)
		if !ok || eqs == 0 && pkOK {
			continue
		}
		if eqs > bestEq {
			bestEq, best, bestSpan = eqs, i, span
		}
	}
	if best < 0 {
		return false
	}
	ix := si.rel.Indexes[best].Storage()
	fi.rel.node = built(batch.NewIndexScan(si.tbl, ix, p.Reader, si.cols, bestSpan, si.name))
	return true
}

// indexSpan derives the range of ix's entries that can satisfy bounds:
// equalities on its leading columns, then a range on the next one. eqs is
// the number of leading equalities; ok is false when the leading column
// is not constrained at all.
func indexSpan(t *storage.Table, ix *storage.Index, bounds map[int]*colBound) (span storage.KeySpan, eqs int, ok bool) {
	var prefix []types.Datum
	for _, c := range ix.Cols {
		b := bounds[c]
		if b == nil || b.eq == nil {
			break
		}
		prefix = append(prefix, b.eq)
	}
	eqs = len(prefix)
	if eqs < len(ix.Cols) {
		if b := bounds[ix.Cols[eqs]]; b != nil && (b.lo != nil || b.hi != nil) {
			lo, loInc, hi, hiInc := b.lo, b.loInc, b.hi, b.hiInc
			if eqs < len(ix.Desc) && ix.Desc[eqs] {
				// Descending keys: the largest value comes first.
				lo, loInc, hi, hiInc = hi, hiInc, lo, loInc
			}
			span.Lo, span.LoInclusive = ix.EncodeValues([]byte{}, t, prefix), true
			span.Hi, span.HiInclusive = ix.EncodeValues([]byte{}, t, prefix), true
			if lo != nil {
				span.Lo = types.AppendKey(span.Lo, lo, t.Types[ix.Cols[eqs]], eqs < len(ix.Desc) && ix.Desc[eqs])
				span.LoInclusive = loInc
			}
			if hi != nil {
				span.Hi = types.AppendKey(span.Hi, hi, t.Types[ix.Cols[eqs]], eqs < len(ix.Desc) && ix.Desc[eqs])
				span.HiInclusive = hiInc
			}
			if len(span.Lo) == 0 {
				span.Lo = nil
			}
			if len(span.Hi) == 0 {
				span.Hi = nil
			}
			return span, eqs, true
		}
	}
	if eqs == 0 {
		return span, 0, false
	}
	enc := ix.EncodeValues([]byte{}, t, prefix)
	return storage.KeySpan{Lo: enc, Hi: enc, LoInclusive: true, HiInclusive: true}, eqs, true
}
