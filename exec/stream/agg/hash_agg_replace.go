package agg

// Two-phase aggregation by replacement (HashAggSpec.Replace), for user
// aggregates with merge over retracting input.
//
// The contribution scheme of hash_agg_phase.go does not fit them: a
// user's merge combines states that were accumulated, and a state an
// epoch built from deletes alone (retract called on create_state()) may
// mean nothing to it. Here every half keeps whole states instead:
//
// The local half runs in every instance of its input as a single
// aggregate does, with durable state (tables 1 and 2 as in hash_agg.go),
// so its deletes retract from the rows this instance accumulated. At
// the barrier, and before it forwards a watermark that closes windows,
// it emits one Insert per group changed since:
//
//	group columns, the instance's row count of the group (bigint), the
//	instance number (integer), and per aggregate the instance's whole
//	state (bytea; NULL once the group has no rows in the instance)
//
// The global half keeps, per group, the latest partial of each instance
// (at most one per instance of the local half) and replaces it when a
// new one arrives. The group's state is rebuilt from them: the first
// partial decoded, the others merged into it; its row count is the sum
// of theirs. The group's output is then diffed against the row emitted
// before, as in a single aggregate. The partials are stored in the
// group's row of table 1 after the aggregate states:
//
//	count (uvarint), then per partial: instance (uvarint), row count
//	(varint), and per aggregate its state (uvarint length, bytes)
//
// Exactly once: both halves write their state in the same epoch commit
// and the global half has merged every partial the local half emitted
// before the barrier, so after a restart the stored partials are the
// local states that were restored. Instance numbers are stable: a job
// whose parallelism changes does not resume over its state.
//
// A merge that fails (the user's merge threw, or ran out of time or
// memory) leaves that partial out of the group's state and sends it to
// the rejects once, when the partial arrives; the group is rebuilt
// without it until the instance sends another.

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// aggPart is the latest partial of one local instance of a group.
type aggPart struct {
	inst int32
	rows int64
	st   [][]byte // per aggregate, its encoded state
	// fresh: arrived in the chunk being merged (a failed merge of it is
	// reported).
	fresh bool
}

// ReplaceNeeded reports whether aggregate calls over an input that is
// append-only or not split only by replacement: a user aggregate over
// retracting input.
func ReplaceNeeded(s *HashAggSpec) bool {
	if s.AppendOnly {
		return false
	}
	for _, a := range s.Aggs {
		if a.Agg.User {
			return true
		}
	}
	return false
}

// emitPartial emits group g's whole state as a partial row (local half
// of a replacing split).
func (h *hashAgg) emitPartial(g uint32) error {
	if h.outBuf.Len()+1 > exec.BatchSize {
		if err := h.flushOut(); err != nil {
			return err
		}
	}
	row := make([]types.Datum, 0, len(h.outTypes))
	row = append(row, h.keys[g]...)
	n := max(h.rowCount[g], 0)
	row = append(row, n, int64(h.instance))
	for _, st := range h.states {
		if n == 0 {
			row = append(row, nil)
			continue
		}
		row = append(row, st.encode(nil, g))
	}
	h.emit(stream.Insert, row)
	return nil
}

// replaceParts takes in a chunk of partials (global half of a replacing
// split): each replaces its instance's partial of the group, and every
// group whose partials changed is rebuilt once.
func (h *hashAgg) replaceParts(c *stream.Chunk) error {
	k := len(h.spec.GroupCols)
	w, ids, err := h.groupIDs(c)
	if err != nil {
		return err
	}
	rows, ok1 := c.Cols[k].(*array.Int64)
	insts, ok2 := c.Cols[k+1].(*array.Int32)
	if !ok1 || !ok2 {
		return fmt.Errorf("hash aggregate: partial columns are %s, %s", c.Cols[k].DataType(), c.Cols[k+1].DataType())
	}
	cols := make([]*array.Binary, len(h.states))
	for j := range h.states {
		col, ok := c.Cols[k+2+j].(*array.Binary)
		if !ok {
			return fmt.Errorf("aggregate %s: partial states are %s", h.spec.Aggs[j].Agg.Name, c.Cols[k+2+j].DataType())
		}
		cols[j] = col
	}
	h.fresh = h.fresh[:0]
	for i, g := range ids {
		if w[i] == 0 {
			continue
		}
		if w[i] < 0 {
			return fmt.Errorf("hash aggregate: a partial state was retracted")
		}
		if !h.dirty[g] {
			h.dirty[g] = true
			h.dirtyList = append(h.dirtyList, g)
		}
		h.ref[g] = true
		p := aggPart{inst: insts.Value(i), rows: rows.Value(i), fresh: true}
		if p.rows > 0 {
			p.st = make([][]byte, len(cols))
			for j, col := range cols {
				if col.IsValid(i) {
					p.st[j] = append([]byte(nil), col.Value(i)...)
				}
			}
		}
		if !h.setPart(g, p) {
			h.fresh = append(h.fresh, g)
		}
	}
	for _, g := range h.fresh {
		if err := h.rebuild(g); err != nil {
			return err
		}
	}
	return nil
}

// setPart replaces (or adds, or with no rows removes) the partial of
// p's instance in group g; it reports whether g already had a fresh
// partial in this chunk.
func (h *hashAgg) setPart(g uint32, p aggPart) (seen bool) {
	ps := h.parts[g]
	for _, q := range ps {
		seen = seen || q.fresh
	}
	for i := range ps {
		if ps[i].inst != p.inst {
			continue
		}
		if p.rows <= 0 {
			h.parts[g] = append(ps[:i], ps[i+1:]...)
		} else {
			ps[i] = p
		}
		return seen
	}
	if p.rows > 0 {
		h.parts[g] = append(ps, p)
	}
	return seen
}

// rebuild makes group g's state the merge of its partials.
func (h *hashAgg) rebuild(g uint32) error {
	h.rowCount[g] = 0
	for _, st := range h.states {
		st.reset(g)
	}
	first := true
	for pi := range h.parts[g] {
		p := &h.parts[g][pi]
		h.rowCount[g] += p.rows
		for j, st := range h.states {
			if _, ok := st.(*aggRowCount); ok {
				continue
			}
			name := h.spec.Aggs[j].Agg.Name
			if p.st[j] == nil {
				continue // no state (count(*) keeps none)
			}
			if first {
				if _, err := st.decode(p.st[j], g); err != nil {
					return fmt.Errorf("aggregate %s: partial state: %w", name, err)
				}
				continue
			}
			m, ok := st.(aggMerger)
			if !ok {
				return fmt.Errorf("aggregate %s: state does not merge", name)
			}
			st.reset(h.scratch)
			if _, err := st.decode(p.st[j], h.scratch); err != nil {
				return fmt.Errorf("aggregate %s: partial state: %w", name, err)
			}
			done, err := m.merge(g, h.scratch)
			st.reset(h.scratch)
			if err != nil {
				return fmt.Errorf("aggregate %s: %w", name, err)
			}
			if done {
				continue
			}
			// The merge failed: the group's state is rebuilt without
			// this partial.
			if p.fresh {
				if err := h.rejectPartialOf(st, j, h.keys[g]); err != nil {
					return err
				}
			}
			p.fresh = false
			return h.rebuildWithout(g, pi)
		}
		first = false
	}
	for pi := range h.parts[g] {
		h.parts[g][pi].fresh = false
	}
	return nil
}

// rebuildWithout rebuilds group g leaving out its partial pi (whose
// merge failed) but keeping it stored: the instance's next partial
// replaces it.
func (h *hashAgg) rebuildWithout(g uint32, pi int) error {
	ps := h.parts[g]
	bad := ps[pi]
	h.parts[g] = append(append([]aggPart(nil), ps[:pi]...), ps[pi+1:]...)
	err := h.rebuild(g)
	h.rowCount[g] += bad.rows // its rows still count: the group lives
	h.parts[g] = append(h.parts[g], bad)
	return err
}

// encodeParts appends group g's partials to its table-1 row.
func (h *hashAgg) encodeParts(buf []byte, g uint32) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(h.parts[g])))
	for _, p := range h.parts[g] {
		buf = binary.AppendUvarint(buf, uint64(p.inst))
		buf = binary.AppendVarint(buf, p.rows)
		for _, st := range p.st {
			buf = binary.AppendUvarint(buf, uint64(len(st)))
			buf = append(buf, st...)
		}
	}
	return buf
}

// decodeGroup restores group g's aggregate states (and partials) from
// its table-1 row after the row count, and returns the rest.
func (h *hashAgg) decodeGroup(buf []byte, g uint32) ([]byte, error) {
	var err error
	for k, s := range h.states {
		if buf, err = s.decode(buf, g); err != nil {
			return buf, fmt.Errorf("aggregate %d: %w", k, err)
		}
	}
	if h.parts == nil {
		return buf, nil
	}
	corrupt := sqlerr.New(sqlerr.DataCorrupted, "corrupt partial states of a two-phase aggregate")
	n, k := binary.Uvarint(buf)
	if k <= 0 || n > uint64(len(buf)) {
		return buf, corrupt
	}
	buf = buf[k:]
	ps := make([]aggPart, n)
	for i := range ps {
		inst, k1 := binary.Uvarint(buf)
		if k1 <= 0 {
			return buf, corrupt
		}
		rows, k2 := binary.Varint(buf[k1:])
		if k2 <= 0 {
			return buf, corrupt
		}
		buf = buf[k1+k2:]
		ps[i] = aggPart{inst: int32(inst), rows: rows, st: make([][]byte, len(h.states))}
		for j := range h.states {
			l, k := binary.Uvarint(buf)
			if k <= 0 || uint64(len(buf)-k) < l {
				return buf, corrupt
			}
			if l > 0 {
				ps[i].st[j] = append([]byte(nil), buf[k:k+int(l)]...)
			}
			buf = buf[k+int(l):]
		}
	}
	h.parts[g] = ps
	return buf, nil
}
