package join

import (
	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// Output watermarks of interval joins.
//
// A join forwards a side's watermark on the matching output column only
// when no stored row of that side can still produce output below it. In
// an interval join, "l.ts >= r.ts + c" (a BETWEEN gives two such
// conditions), a stored left row still matches every future right row
// with a small enough r.ts, so the output's l.ts is bounded by both
// sides: a future output row comes either from a future left row (l.ts
// at least wm(l.ts)) or from a future right row (l.ts at least
// wm(r.ts) + c). The output watermark of l.ts is the smaller of the two.
// Both inputs must be append-only: a retraction would carry an old l.ts.
//
// A side whose last watermark was marked Idle (its source brought no row
// for its idle timeout) is left out: the bound is the other side's term
// alone, the idle side's term when only it remains, and the smaller of
// both when both are idle. What the join then promises holds on: rows
// the idle side brings later that could produce output below an emitted
// bound are late, dropped and counted (floors), and the idle side's
// implied watermark cleans the other side's state as its own would. A
// side that never brought a row sends an idle mark instead (no value):
// it is left out the same way.
//
// The declared watermarks (Watermark.Emit, with an allowed lateness) give
// a declared bound by the same rule, each side's being its Val where it
// sent no Emit; the bound goes out as the Emit of the derived watermark
// when it is ahead of it.

// JoinWatermark derives the output watermark of one column of side
// Side: Col >= other side's OtherCol + Offset holds for every output row.
type JoinWatermark struct {
	Side, Col, OtherCol int
	Offset              int64
	T                   types.T
}

// joinWatermarks is the run-time state of the derived watermarks.
type joinWatermarks struct {
	rules []JoinWatermark
	// seen are the last watermarks of each side's columns, seenEmit
	// their last declared ones (Emit, else Val).
	seen, seenEmit [2]map[int]int64
	// out is the last emitted value of each rule, emitted whether one was;
	// outEmit its last declared bound sent, hasEmit whether one was.
	out     []int64
	emitted []bool
	outEmit []int64
	hasEmit []bool
	nl      int
	// idle marks the sides whose last watermark was idle.
	idle [2]bool
	// floors are, per side and column, the values below which a row of
	// the side is late: it could join into output below a bound already
	// emitted while the side was idle.
	floors [2]map[int]int64
}

func newJoinWatermarks(rules []JoinWatermark, nl int) *joinWatermarks {
	if len(rules) == 0 {
		return nil
	}
	return &joinWatermarks{rules: rules, seen: [2]map[int]int64{{}, {}}, seenEmit: [2]map[int]int64{{}, {}}, out: make([]int64, len(rules)),
		emitted: make([]bool, len(rules)), outEmit: make([]int64, len(rules)), hasEmit: make([]bool, len(rules)), nl: nl, floors: [2]map[int]int64{{}, {}}}
}

// covers reports whether a watermark of side's column col feeds a rule
// (then it is not forwarded as it is).
func (j *joinWatermarks) covers(side, col int) bool {
	for _, r := range j.rules {
		if (r.Side == side && r.Col == col) || (r.Side != side && r.OtherCol == col) {
			return true
		}
	}
	return false
}

// add records a side's watermark and emits the derived watermarks that
// moved forward. implied receives, for each bound emitted while a side
// was left out as idle, the watermark that bound implies for that side's
// column (for cleaning the other side's state).
func (j *joinWatermarks) add(side int, w stream.Watermark, out func(stream.Watermark) error, implied func(side int, w stream.Watermark) error) error {
	v, ok := joinDatumInt(w.Val)
	mark := w.Val == nil && w.Idle // an idle mark: the side never brought a row
	if !ok && !mark {
		return nil
	}
	idleChanged := j.idle[side] != w.Idle
	j.idle[side] = w.Idle
	if mark {
		if !idleChanged {
			return nil
		}
	} else {
		e := v
		if ev, ok := joinDatumInt(w.Emit); ok && ev > v {
			e = ev
		}
		oldE, hadE := j.seenEmit[side][w.Col]
		if old, had := j.seen[side][w.Col]; had && old >= v && !idleChanged && hadE && oldE >= e {
			return nil
		}
		if old, had := j.seen[side][w.Col]; !had || v > old {
			j.seen[side][w.Col] = v
		}
		if !hadE || e > oldE {
			j.seenEmit[side][w.Col] = e
		}
	}
	for i, r := range j.rules {
		ownIdle, otherIdle := j.idle[r.Side], j.idle[1-r.Side]
		b, ok := r.bound(j.seen, ownIdle, otherIdle)
		if !ok {
			continue
		}
		be, _ := r.bound(j.seenEmit, ownIdle, otherIdle)
		moved := !j.emitted[i] || b > j.out[i]
		val := b
		if !moved {
			val = j.out[i]
		}
		emitMoved := be > val && (!j.hasEmit[i] || be > j.outEmit[i])
		if !moved && !emitMoved {
			continue
		}
		if emitMoved {
			j.outEmit[i], j.hasEmit[i] = be, true
		}
		if moved {
			j.out[i], j.emitted[i] = b, true
			// Rows below these could still join into output below b.
			j.raise(r.Side, r.Col, b)
			j.raise(1-r.Side, r.OtherCol, b-r.Offset)
		}
		col := r.Col
		if r.Side == 1 {
			col += j.nl
		}
		ow := stream.Watermark{Col: col, Val: stream.IntDatum(j.out[i], r.T), Idle: ownIdle && otherIdle}
		if j.hasEmit[i] && j.outEmit[i] > j.out[i] {
			ow.Emit = stream.IntDatum(j.outEmit[i], r.T)
		}
		if err := out(ow); err != nil {
			return err
		}
		if !moved || implied == nil || ownIdle == otherIdle {
			continue
		}
		iw := stream.Watermark{Col: r.OtherCol, Val: stream.IntDatum(b-r.Offset, r.T), Idle: true}
		is := 1 - r.Side
		if ownIdle {
			iw.Col, iw.Val, is = r.Col, stream.IntDatum(b, r.T), r.Side
		}
		if err := implied(is, iw); err != nil {
			return err
		}
	}
	return nil
}

// bound is the output bound of rule r from the side watermarks seen,
// given which sides are idle; ok is false while it has none.
func (r JoinWatermark) bound(seen [2]map[int]int64, ownIdle, otherIdle bool) (int64, bool) {
	own, ok1 := seen[r.Side][r.Col]
	other, ok2 := seen[1-r.Side][r.OtherCol]
	switch {
	case ok1 && otherIdle && !ownIdle:
		return own, true
	case ok2 && ownIdle && !otherIdle:
		return other + r.Offset, true
	case ok1 && ok2:
		return min(own, other+r.Offset), true
	}
	return 0, false
}

// raise lifts the floor of a side's column to v.
func (j *joinWatermarks) raise(side, col int, v int64) {
	if f, ok := j.floors[side][col]; !ok || v > f {
		j.floors[side][col] = v
	}
}

// active notes that side brought rows: it is no longer idle.
func (j *joinWatermarks) active(side int) { j.idle[side] = false }

// behind reports whether a row of side with value v in column col is
// below the side's floor there, given the side's own watermark on col
// (rows below that never reach the join).
func (j *joinWatermarks) behind(side, col int, v int64) bool {
	f, ok := j.floors[side][col]
	return ok && v < f
}

// lagging reports whether side has a column whose floor is above its own
// last watermark there: only then can a row of it be behind.
func (j *joinWatermarks) lagging(side int) bool {
	for col, f := range j.floors[side] {
		if w, ok := j.seen[side][col]; !ok || w < f {
			return true
		}
	}
	return false
}
