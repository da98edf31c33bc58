package agg

// Merging the states of two groups (aggMerger) for the built-in
// aggregates whose state is a sum of per-row contributions: counts, sums,
// the exact moments of the variance family, bit counts, bool counts, and
// the extreme of min/max over append-only input. A delete contributes
// with weight -1, so a state built from an epoch's inserts and deletes is
// itself a contribution, and merging it into a group's state is exactly
// folding those rows in. Two users: bridged session windows
// (session_window.go) and the global half of a two-phase aggregation
// (hash_agg_phase.go), which merges the partial states of its local
// halves.
//
// In the local half the count of a group's state is the net change of
// an epoch, which can be zero while the sums are not (a delete of 3 and
// an insert of 5): the states that drop themselves when their count
// reaches zero keep them there (aggDelta).
//
// Aggregates that keep a multiset (min/max over retracting input,
// string_agg, DISTINCT, recomputed aggregates) do not merge.

import (
	"math/bits"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// aggDelta is a state that drops a group's sums when its count reaches
// zero unless told to keep them, as a partial state must.
type aggDelta interface{ keepDeltas() }

func (a *aggSumFloat) keepDeltas() { a.delta = true }
func (a *aggMoments) keepDeltas()  { a.delta = true }
func (a *aggNumVar) keepDeltas()   { a.delta = true }
func (a *aggBits) keepDeltas()     { a.delta = true }

func (s *aggSpecials) merge(o aggSpecials) {
	s.nan += o.nan
	s.pinf += o.pinf
	s.ninf += o.ninf
}

func (a *aggCount) merge(dst, src uint32) (bool, error) {
	a.v[dst] += a.v[src]
	return true, nil
}

func (a *aggSumInt) merge(dst, src uint32) (bool, error) {
	d, s := &a.v[dst], a.v[src]
	d.cnt += s.cnt
	lo, c := bits.Add64(d.sum.lo, s.sum.lo, 0)
	d.sum.lo, d.sum.hi = lo, d.sum.hi+s.sum.hi+int64(c)
	return true, nil
}

func (a *aggSumFloat) merge(dst, src uint32) (bool, error) {
	d, s := &a.v[dst], a.v[src]
	d.cnt += s.cnt
	d.sum += s.sum
	d.sp.merge(s.sp)
	if d.cnt == 0 {
		d.sum = 0 // nothing left: drop the rounding residue
	}
	return true, nil
}

func (a *aggSumNumeric) merge(dst, src uint32) (bool, error) {
	s := a.v[src]
	if s == nil {
		return true, nil
	}
	d := a.slot(dst)
	if _, err := types.DecimalCtx.Add(&d.sum, &d.sum, &s.sum); err != nil {
		return false, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	d.cnt += s.cnt
	d.sp.merge(s.sp)
	for sc, n := range s.scales {
		if d.scales[sc] += n; d.scales[sc] == 0 {
			delete(d.scales, sc)
		}
	}
	return true, nil
}

func (a *aggSumInterval) merge(dst, src uint32) (bool, error) {
	d, s := &a.v[dst], a.v[src]
	d.cnt += s.cnt
	d.months += s.months
	d.days += s.days
	d.micros += s.micros
	return true, nil
}

func (a *aggBool) merge(dst, src uint32) (bool, error) {
	a.v[dst].trues += a.v[src].trues
	a.v[dst].all += a.v[src].all
	return true, nil
}

// merge keeps the extreme of both: the input never retracts.
func (a *aggMinMaxAppend) merge(dst, src uint32) (bool, error) {
	d, err := a.result(src)
	if err != nil || d == nil {
		return err == nil, err
	}
	return true, a.updateRow(dst, []types.Datum{d}, 1)
}

func (a *aggMoments) merge(dst, src uint32) (bool, error) {
	s := a.v[src]
	if s == nil {
		return true, nil
	}
	d := a.slot(dst)
	d.n += s.n
	d.spx.merge(s.spx)
	d.spy.merge(s.spy)
	d.sx.Add(&d.sx, &s.sx)
	d.sy.Add(&d.sy, &s.sy)
	d.sxx.Add(&d.sxx, &s.sxx)
	d.syy.Add(&d.syy, &s.syy)
	d.sxy.Add(&d.sxy, &s.sxy)
	return true, nil
}

func (a *aggNumVar) merge(dst, src uint32) (bool, error) {
	s := a.v[src]
	if s == nil {
		return true, nil
	}
	d := a.v[dst]
	if d == nil {
		d = &aggNumVarSlot{}
		a.v[dst] = d
	}
	d.n += s.n
	_, err1 := types.DecimalCtx.Add(&d.sx, &d.sx, &s.sx)
	_, err2 := types.DecimalCtx.Add(&d.sxx, &d.sxx, &s.sxx)
	if err1 != nil || err2 != nil {
		return false, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	if d.n == 0 {
		a.v[dst] = nil
	}
	return true, nil
}

func (a *aggBits) merge(dst, src uint32) (bool, error) {
	s := a.v[src]
	if s == nil {
		return true, nil
	}
	d := a.v[dst]
	if d == nil {
		d = &aggBitSlot{}
		a.v[dst] = d
	}
	d.n += s.n
	for i := range d.ones {
		d.ones[i] += s.ones[i]
	}
	if d.n == 0 {
		a.v[dst] = nil
	}
	return true, nil
}
