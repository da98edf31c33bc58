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
	// seen are the last watermarks of each side's columns.
	seen [2]map[int]int64
	// out is the last emitted value of each rule, emitted whether one was.
	out     []int64
	emitted []bool
	nl      int
}

func newJoinWatermarks(rules []JoinWatermark, nl int) *joinWatermarks {
	if len(rules) == 0 {
		return nil
	}
	return &joinWatermarks{rules: rules, seen: [2]map[int]int64{{}, {}}, out: make([]int64, len(rules)),
		emitted: make([]bool, len(rules)), nl: nl}
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
// moved forward.
func (j *joinWatermarks) add(side int, w stream.Watermark, out func(stream.Watermark) error) error {
	v, ok := joinDatumInt(w.Val)
	if !ok {
		return nil
	}
	if old, had := j.seen[side][w.Col]; had && old >= v {
		return nil
	}
	j.seen[side][w.Col] = v
	for i, r := range j.rules {
		own, ok1 := j.seen[r.Side][r.Col]
		other, ok2 := j.seen[1-r.Side][r.OtherCol]
		if !ok1 || !ok2 {
			continue
		}
		b := min(own, other+r.Offset)
		if j.emitted[i] && b <= j.out[i] {
			continue
		}
		j.out[i], j.emitted[i] = b, true
		col := r.Col
		if r.Side == 1 {
			col += j.nl
		}
		if err := out(stream.Watermark{Col: col, Val: stream.IntDatum(b, r.T)}); err != nil {
			return err
		}
	}
	return nil
}
