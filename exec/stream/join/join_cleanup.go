package join

// State cleanup of the streaming hash join by watermarks.
//
// An interval join (`b.t BETWEEN a.t AND a.expires`) or a window join
// (`a.window_start = b.window_start`) bounds a time column of one side by
// a column of the other side that carries a watermark. Each such bound is
// a rule "A.x >= B.y + c" (or ">"): future B rows have B.y >= wm(B.y), so
// an A row with A.x < wm(B.y) + c can never match again. The join removes
// such rows from its state (memory, and storage at the next barrier)
// without emitting anything: their joined rows already exist and stay,
// and an outer join's NULL-padded row of a row that never matched was
// emitted when it arrived.
//
// A rule cleans an append-only side, or (Own) a side that retracts but has
// a watermark of its own on the rule's column: a later delete of a cleaned
// row could not retract what the row joined with, and a watermark on a
// changelog means that no change of a row below it comes any more (the
// watermark filter drops late changes, a windowed aggregation closes its
// groups by it), so such a row also waits for its own side's watermark.
// This is what cleans a join of two windowed aggregations on window_start
// (the "maximum per window" pattern).
//
// Each rule keeps a min-heap of (value, slot) of its column over the
// side's rows, so a watermark pops exactly the rows it frees. An entry may
// outlive its row (the row was cleaned by another rule, or evicted) and
// its slot may hold a new row by then: a popped entry removes the slot's
// current row only if that row's own value is below the bound.

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// JoinCleanup is one cleanup rule of a side of a hash join: a row of the
// side whose column Col is below wm(other side's OtherWMCol) + Offset (at
// or below, when Strict) never matches again and leaves the state.
type JoinCleanup struct {
	// Col is the cleaned side's column, OtherWMCol the other side's
	// column with a watermark (input column indexes of each side).
	Col, OtherWMCol int
	// Offset is c of "Col >= other + c", in the column's integer unit
	// (microseconds for timestamps, days for dates).
	Offset int64
	// Strict: the condition is "Col > other + c", so a row at the bound
	// is cleaned too.
	Strict bool
	// Own: the side retracts rows; a row leaves only once the side's own
	// watermark on Col is above it too.
	Own bool
}

// explainCleanup renders the rules of one side for EXPLAIN, with columns
// numbered as in the join's output.
func explainCleanup(sb *strings.Builder, name string, rules []JoinCleanup, self []types.T, selfOff, otherOff int) {
	for _, r := range rules {
		op := "<"
		if r.Strict {
			op = "<="
		}
		fmt.Fprintf(sb, ", clean %s when #%d %s wm(#%d)", name, selfOff+r.Col, op, otherOff+r.OtherWMCol)
		if r.Offset != 0 {
			sb.WriteString(" + ")
			sb.WriteString(joinOffsetText(r.Offset, self[r.Col]))
		}
		if r.Own {
			fmt.Fprintf(sb, " and < wm(#%d)", selfOff+r.Col)
		}
	}
}

// joinOffsetText formats an offset in the unit of a column of type t.
func joinOffsetText(off int64, t types.T) string {
	switch t.Kind {
	case types.TimestampKind, types.TimestampTZ:
		return "'" + types.FormatText(types.IntervalValue{Micros: off}, types.TInterval, nil) + "'"
	}
	return fmt.Sprint(off)
}

// JoinCleanupType reports whether a column of type t can be cleaned by a
// rule: its values are integers of a unit (timestamps, dates, integers).
func JoinCleanupType(t types.T) bool {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8, types.DateKind, types.TimestampKind, types.TimestampTZ:
		return true
	}
	return false
}

// joinDatumInt returns a watermark value as the integer its column
// stores.
func joinDatumInt(d types.Datum) (int64, bool) {
	switch v := d.(type) {
	case int64:
		return v, true
	case types.Timestamp:
		return int64(v), true
	case types.Date:
		return int64(v), true
	case int32:
		return int64(v), true
	}
	return 0, false
}

// hjCleaner is one rule at run time.
type hjCleaner struct {
	rule JoinCleanup
	// bound: rows with value < bound (<= when strict) are cleaned; set
	// once the other side's watermark arrived.
	bound    int64
	hasBound bool
	// own: rows with value < own may go as far as their own side is
	// concerned (Own rules); set once that side's watermark arrived.
	own    int64
	hasOwn bool
	heap   stream.Heap[int32] // the rows' values of the rule's column, and slots
}

// below reports whether v is cleaned under the current bound.
func (c *hjCleaner) below(v int64) bool {
	if !c.hasBound || c.rule.Own && (!c.hasOwn || v >= c.own) {
		return false
	}
	if c.rule.Strict {
		return v <= c.bound
	}
	return v < c.bound
}

// hjIntValues gives integer access to an arena column of a cleanable
// type, or nil.
func hjIntValues(col hjCol) func(slot int32) (int64, bool) {
	switch c := col.(type) {
	case *hjFixedCol[int64]:
		return func(s int32) (int64, bool) { return c.vals[s], c.valid[s] }
	case *hjFixedCol[int32]:
		return func(s int32) (int64, bool) { return int64(c.vals[s]), c.valid[s] }
	case *hjFixedCol[int16]:
		return func(s int32) (int64, bool) { return int64(c.vals[s]), c.valid[s] }
	case *hjFixedCol[arrow.Timestamp]:
		return func(s int32) (int64, bool) { return int64(c.vals[s]), c.valid[s] }
	case *hjFixedCol[arrow.Date32]:
		return func(s int32) (int64, bool) { return int64(c.vals[s]), c.valid[s] }
	}
	return nil
}

// hjPushFixed adds the inserted slots' values of c to the rule's heap.
// It reports whether some are below the bound already.
func hjPushFixed[T int16 | int32 | int64 | arrow.Timestamp | arrow.Date32](cl *hjCleaner, c *hjFixedCol[T], slots []int32) bool {
	below := false
	for _, s := range slots {
		if c.valid[s] {
			v := int64(c.vals[s])
			cl.heap.Push(v, s)
			below = below || cl.below(v)
		}
	}
	return below
}

// track adds newly stored rows (slots) of side to the side's rules. Rows
// that arrive below a bound already (late against the other side's
// watermark) are swept once the chunk is done.
func (h *HashJoin) track(side int, slots []int32) {
	s := h.sides[side]
	below := false
	for _, cl := range h.cleaners[side] {
		switch c := s.cols[cl.rule.Col].(type) {
		case *hjFixedCol[int64]:
			below = hjPushFixed(cl, c, slots) || below
		case *hjFixedCol[int32]:
			below = hjPushFixed(cl, c, slots) || below
		case *hjFixedCol[int16]:
			below = hjPushFixed(cl, c, slots) || below
		case *hjFixedCol[arrow.Timestamp]:
			below = hjPushFixed(cl, c, slots) || below
		case *hjFixedCol[arrow.Date32]:
			below = hjPushFixed(cl, c, slots) || below
		}
	}
	h.needSweep[side] = h.needSweep[side] || below
}

// buildCleaners sets up the rules of both sides.
func (h *HashJoin) buildCleaners(s *HashJoinSpec) error {
	rules := [2][]JoinCleanup{s.LeftCleanup, s.RightCleanup}
	ts := [2][]types.T{s.LeftTypes, s.RightTypes}
	appendOnly := [2]bool{s.LeftAppendOnly, s.RightAppendOnly}
	for side := range 2 {
		for _, r := range rules[side] {
			if r.Col < 0 || r.Col >= len(ts[side]) || r.OtherWMCol < 0 || r.OtherWMCol >= len(ts[1-side]) {
				return fmt.Errorf("hash join: cleanup rule column out of range (#%d, wm #%d)", r.Col, r.OtherWMCol)
			}
			if !appendOnly[side] && !r.Own {
				return fmt.Errorf("hash join: cleanup rule on a side that is not append-only")
			}
			get := hjIntValues(h.sides[side].cols[r.Col])
			if get == nil || !JoinCleanupType(ts[side][r.Col]) {
				return fmt.Errorf("hash join: cleanup rule on column of type %s", ts[side][r.Col])
			}
			h.cleaners[side] = append(h.cleaners[side], &hjCleaner{rule: r})
			h.cleanGet[side] = append(h.cleanGet[side], get)
		}
	}
	return nil
}

// cleanup applies a watermark of side to the other side's rules: it
// raises their bounds and removes the rows below them.
func (h *HashJoin) cleanup(side int, w stream.Watermark) error {
	other := 1 - side
	v, ok := joinDatumInt(w.Val)
	if !ok {
		return nil
	}
	moved := false
	for _, cl := range h.cleaners[other] {
		if cl.rule.OtherWMCol != w.Col {
			continue
		}
		if b := v + cl.rule.Offset; !cl.hasBound || b > cl.bound {
			cl.bound, cl.hasBound, moved = b, true, true
		}
	}
	if moved {
		h.sweep(other)
	}
	return nil
}

// ownWatermark raises the own bounds of side's Own rules on the
// watermark's column and removes the rows now below both bounds.
func (h *HashJoin) ownWatermark(side int, w stream.Watermark) {
	v, ok := joinDatumInt(w.Val)
	if !ok {
		return
	}
	moved := false
	for _, cl := range h.cleaners[side] {
		if cl.rule.Own && cl.rule.Col == w.Col && (!cl.hasOwn || v > cl.own) {
			cl.own, cl.hasOwn, moved = v, true, true
		}
	}
	if moved {
		h.sweep(side)
	}
}

// sweep removes side's rows below the current bounds of its rules, and
// deletes the evicted ones from storage.
func (h *HashJoin) sweep(side int) {
	s := h.sides[side]
	before := h.cleaned
	defer func() {
		if h.env != nil && h.env.Stats != nil && h.cleaned > before {
			h.env.Stats.StateCleaned.Add(h.cleaned - before)
		}
	}()
	for k, cl := range h.cleaners[side] {
		get := h.cleanGet[side][k]
		for cl.heap.Len() > 0 && cl.below(cl.heap.Min().Key) {
			slot := cl.heap.Pop().Val
			if int(slot) >= len(s.meta) || s.meta[slot].flags&hjLive == 0 {
				continue
			}
			if cur, valid := get(slot); !valid || !cl.below(cur) {
				continue // the slot holds a newer row
			}
			s.remove(slot)
			h.cleaned++
		}
		if h.cache == nil {
			continue
		}
		cold := &h.cache.cold[side][k]
		for cold.Len() > 0 && cl.below(cold.Min().Key) {
			s.delBuf = append(s.delBuf, cold.Pop().Val...)
			s.delEnd = append(s.delEnd, len(s.delBuf))
			h.cleaned++
		}
	}
	s.releaseDeferred()
}
