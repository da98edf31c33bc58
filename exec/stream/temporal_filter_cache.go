package stream

import (
	"math"
	"slices"
	"sort"

	"streamsql/sql/types"
)

// The temporal filter's rows under the state memory budget.
//
// When every bound of the filter reads the same row expression (`ts >
// now() - INTERVAL '1 hour'`, `ts BETWEEN now() - ... AND now()`), the
// next rows to move, whichever bound moves them, are those with the
// smallest value of it, which is also the first column of the rows
// table's key. Over the budget, the filter keeps the rows below a cut in
// memory and leaves those at or above it in storage only: it evicts the
// rows with the largest values whose writes have committed, and lowers
// the cut to the smallest value it evicted, never below the largest
// threshold (rows below it may move at any barrier: those between a
// lower and an upper bound, the window itself, stay in memory). At a
// barrier whose
// thresholds reach the cut, it reads the rows between the cut and the
// thresholds back by a range scan of the rows table before moving them,
// and raises the cut past them. Rows that arrive at or above the cut stay
// in memory until their writes have committed; a delete of a row that
// is not in memory deletes its key in storage. A restart loads rows in
// key order up to its load budget and leaves the rest behind a cut.
// Filters whose bounds read different expressions keep every row in
// memory.

// tfPending marks a row whose write has not reached a barrier yet.
const tfPending = math.MaxUint64

// rowBytes estimates the resident bytes of a kept row.
func tfRowBytes(row []types.Datum) int64 {
	n := int64(96 + 24*len(row))
	for _, d := range row {
		switch v := d.(type) {
		case string:
			n += int64(len(v))
		case []byte:
			n += int64(len(v))
		}
	}
	return n
}

// spillable reports whether the filter may keep rows in storage only.
func (s *TemporalFilterSpec) spillable() bool {
	for _, b := range s.Bounds[1:] {
		if b.Row.String() != s.Bounds[0].Row.String() {
			return false
		}
	}
	return true
}

// cutKey is the rows table key prefix of value v of the first bound.
func (f *temporalFilter) cutKey(v int64) []byte {
	return f.state.AppendKeyValue(nil, 0, IntDatum(v, f.spec.Bounds[0].T))
}

// loadUpTo reads back the rows of value below hi that are in storage
// only, and raises the cut to hi.
func (f *temporalFilter) loadUpTo(hi int64) error {
	if !f.cold || hi <= f.cut {
		return nil
	}
	var loaded int64
	err := f.state.ScanRange(f.env.State, f.cutKey(f.cut), f.cutKey(hi), func(k, v []byte) error {
		if row, ok := f.dirty[string(k)]; ok && row == nil {
			return nil // deleted this epoch
		}
		row, err := f.state.DecodeValue(v)
		if err != nil {
			return err
		}
		sk := f.streamKey(row)
		if _, ok := f.rows[sk]; ok {
			return nil // the newer version is in memory
		}
		vals, ok, err := f.rowValues(row)
		if err != nil || !ok {
			return err
		}
		f.keep(sk, row, vals, false)
		loaded++
		return nil
	})
	if err != nil {
		return err
	}
	if loaded > 0 {
		f.env.Stats.StateReads.Add(loaded)
	}
	f.cut = hi
	return nil
}

// shrink evicts the committed rows with the largest values until the
// kept rows fit the account's target, and lowers the cut to them.
func (f *temporalFilter) shrink() {
	if f.acct == nil || !f.spillable {
		return
	}
	f.acct.Report(f.bytes)
	target := f.acct.Target()
	if target < 0 || f.bytes <= target {
		return
	}
	committed := f.env.CommittedEpoch()
	type cand struct {
		sk string
		r  *temporalRow
	}
	var cs []cand
	for sk, r := range f.rows {
		if r.epoch <= committed && r.vals[0] >= f.need {
			cs = append(cs, cand{sk, r})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].r.vals[0] != cs[j].r.vals[0] {
			return cs[i].r.vals[0] > cs[j].r.vals[0]
		}
		return cs[i].sk > cs[j].sk
	})
	var n int64
	for i := 0; i < len(cs) && f.bytes > target; {
		// Evict whole runs of one value: rows below the cut must all be
		// in memory.
		v := cs[i].r.vals[0]
		for ; i < len(cs) && cs[i].r.vals[0] == v; i++ {
			delete(f.rows, cs[i].sk)
			f.bytes -= cs[i].r.size
			n++
		}
		if !f.cold || v < f.cut {
			f.cut, f.cold = v, true
		}
	}
	if n > 0 {
		f.env.countEvicted(n)
		f.acct.Report(f.bytes)
		f.compact()
	}
}

// written marks the rows kept during the epoch as written by epoch e.
func (f *temporalFilter) written(e uint64) {
	for _, r := range f.fresh {
		if r.epoch == tfPending {
			r.epoch = e
		}
	}
	f.fresh = slices.Delete(f.fresh, 0, len(f.fresh))
}
