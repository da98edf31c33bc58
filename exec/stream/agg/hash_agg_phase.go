package agg

// Two-phase aggregation: a GROUP BY split into a local half in front of
// the hash exchange and a global half behind it, so that a key carrying
// most of the rows does not put them all through one instance.
//
// The local half (PhaseLocal) runs in every instance of its input. It
// folds the rows of an epoch into per-group states exactly as a single
// aggregate does (inserts with weight +1, deletes with -1), and at the
// barrier, or before it passes a watermark of the window column on,
// emits one row per changed group, as an Insert:
//
//	group columns, the group's row count change (bigint), and per
//	aggregate its state in the aggregate's own compact encoding (bytea)
//
// and forgets the group: it keeps no state across epochs and has no
// state tables. The global half (PhaseGlobal) groups these rows by the
// group columns (0..k-1 of its input), adds the row counts and merges
// each partial state into the group's (aggMerger, agg_state_merge.go);
// everything else (durable state, output changes, windows, emit on
// window close, the state cache) is the single aggregate's.
//
// Retraction stays exact because a partial state is a signed
// contribution: a delete in the local half is subtracted from it, and the
// merge adds it. Aggregates whose state cannot be merged like that are
// not split (CombineRefusal). User aggregates over retracting input
// split differently: the halves exchange whole states
// (hash_agg_replace.go).
//
// Late rows: the local half tracks the watermark of the window column
// and drops (and keeps or counts) rows of closed windows itself; since it
// emits its partial states before passing a watermark on, the global half
// sees no partial of a closed window.

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// AggPhase says which half of a two-phase aggregation a HashAgg is.
type AggPhase uint8

const (
	// PhaseSingle aggregates rows into durable state (no split).
	PhaseSingle AggPhase = iota
	// PhaseLocal folds each epoch's rows into partial states and emits
	// them at the barrier.
	PhaseLocal
	// PhaseGlobal merges partial states into durable state.
	PhaseGlobal
)

// PartialTypes are the output columns of a local aggregate: the group
// columns, the row count change, one partial state per aggregate.
func (s *HashAggSpec) PartialTypes() []types.T {
	ts := append([]types.T{}, s.GroupTypes...)
	ts = append(ts, types.TInt8)
	if s.Replace {
		ts = append(ts, types.TInt4) // the local instance (hash_agg_replace.go)
	}
	for range s.Aggs {
		ts = append(ts, types.TBytea)
	}
	return ts
}

// Halves returns the local and global halves of the aggregation s.
func (s *HashAggSpec) Halves() (local, global *HashAggSpec) {
	l := *s
	l.Phase, l.EmitOnClose, l.NoSplit = PhaseLocal, false, ""
	g := *s
	g.Phase, g.KeepLate, g.NoSplit = PhaseGlobal, false, ""
	g.GroupCols = make([]int, len(s.GroupCols))
	for i := range g.GroupCols {
		g.GroupCols[i] = i
	}
	return &l, &g
}

// CombineRefusal says why aggregate a over an input that is append-only
// or not cannot run in two phases, or "" when it can.
func CombineRefusal(a batch.AggSpec, appendOnly bool) string {
	name := a.Agg.Name
	switch {
	case a.Distinct:
		return name + "(DISTINCT) needs every value of a group in one place"
	case a.Agg.WithinGroup || a.Agg.OrderedSet:
		return "ordered-set aggregate " + name + " needs every value of a group in one place"
	case a.Ordered():
		return name + " with ORDER BY folds its inputs in order"
	case a.Agg.User && !a.Agg.Merges:
		return "user aggregate " + name + " has no merge function"
	case a.Agg.User && UserAggMode(a) != "retract":
		return "user aggregate " + name + " keeps its inputs (no retract)"
	case a.Agg.User:
		return ""
	}
	var rows []int64
	st, err := newAggState(a, appendOnly, &rows, nil)
	if err != nil {
		return err.Error()
	}
	switch st.(type) {
	case aggMerger, *aggRowCount:
		return ""
	case *aggMinMax:
		return name + " over retracting input keeps every value"
	}
	return name + " keeps every input"
}

// explainPhase writes the EXPLAIN text of a local or global half.
func (s *HashAggSpec) explainPhase(sb *strings.Builder) {
	if s.Phase == PhaseLocal {
		if s.Replace {
			sb.WriteString(" (local, whole states)")
		} else {
			sb.WriteString(" (local)")
		}
		return
	}
	sb.WriteString(" (global")
	if s.Replace {
		sb.WriteString(", latest state per instance")
	}
	sb.WriteString(")")
	if len(s.GroupCols) > 0 {
		sb.WriteString(" group by " + batch.ColList(s.GroupCols))
	}
	k := len(s.GroupCols)
	fmt.Fprintf(sb, ": rows #%d", k)
	first := k + 1
	if s.Replace {
		fmt.Fprintf(sb, ", instance #%d", k+1)
		first++
	}
	for i, a := range s.Aggs {
		fmt.Fprintf(sb, ", %s(partial #%d)", a.Agg.Name, first+i)
	}
}

// flushPartials emits the partial state of every group changed since the
// last flush, as Inserts, and forgets it (local half).
func (h *hashAgg) flushPartials() error {
	h.reserveOut(len(h.dirtyList))
	row := make([]types.Datum, 0, len(h.outTypes))
	for _, g := range h.dirtyList {
		if !h.dirty[g] {
			continue
		}
		h.dirty[g] = false
		if h.outBuf.Len()+1 > exec.BatchSize {
			if err := h.flushOut(); err != nil {
				return err
			}
		}
		row = append(row[:0], h.keys[g]...)
		row = append(row, h.rowCount[g])
		for _, st := range h.states {
			row = append(row, st.encode(nil, g))
		}
		h.emit(stream.Insert, row)
		if h.global {
			for _, st := range h.states {
				st.reset(g)
			}
			h.rowCount[g] = 0
			continue
		}
		h.freeGroup(g)
	}
	h.dirtyList = h.dirtyList[:0]
	if !h.global {
		clear(h.winIndex) // every group of a window was freed
	}
	return h.flushOut()
}

// localBarrier ends an epoch of the local half.
func (h *hashAgg) localBarrier(b *stream.Barrier) error {
	if err := h.keep.Flush(b); err != nil {
		return fmt.Errorf("hash aggregate: late rows: %w", err)
	}
	if err := h.flushPartials(); err != nil {
		return err
	}
	h.shrink()
	return h.out.Barrier(b)
}

// localWatermark takes in a watermark of the window column (local half):
// the partial states so far go out before it. Its Emit goes on as it
// came (the exchange to the global half takes the minimum).
func (h *hashAgg) localWatermark(v int64, wm stream.Watermark) error {
	if !h.hasWM || v > h.wm {
		h.wm, h.wmVal, h.hasWM = v, wm.Val, true
	}
	if err := h.flushPartials(); err != nil {
		return err
	}
	return h.out.Watermark(stream.Watermark{Col: h.spec.WindowCol, Val: h.wmVal, Emit: wm.Emit, Idle: wm.Idle})
}

// rejectPartial handles a partial state of row i of c that aggregate j
// (state st) could not merge: a user aggregate's merge function failed
// on it (threw, ran out of time or memory). In a job the partial goes to
// the rejects, named by its group, and the group's state stays without
// it, as a row a user aggregate fails on is left out; the job goes on.
// Elsewhere it is an error.
func (h *hashAgg) rejectPartial(st aggState, j int, c *stream.Chunk, i int) error {
	k := len(h.spec.GroupCols)
	key := make([]types.Datum, k)
	for col := 0; col < k; col++ {
		key[col] = types.GetDatum(c.Cols[col], i, h.spec.GroupTypes[col])
	}
	return h.rejectPartialOf(st, j, key)
}

// rejectPartialOf is rejectPartial of the group with values key.
func (h *hashAgg) rejectPartialOf(st aggState, j int, key []types.Datum) error {
	name := h.spec.Aggs[j].Agg.Name
	u, user := st.(*aggUser)
	var report func(string, error, []types.Datum, []types.T)
	if h.env != nil && h.env.Ctx != nil {
		report = h.env.Ctx.Env.OnRowError
	}
	if !user || report == nil {
		return sqlerr.New(sqlerr.ExternalRoutineException, "aggregate %s could not merge a partial state", name)
	}
	err := u.mergeErr
	if err == nil {
		err = fmt.Errorf("merge failed")
	}
	report(name+" (merge of a partial state of the group)", sqlerr.New(sqlerr.ExternalRoutineException, "aggregate %s could not merge a partial state: %v", name, err), key, h.spec.GroupTypes)
	return nil
}

// combine merges a chunk of partial states into the groups (global
// half).
func (h *hashAgg) combine(c *stream.Chunk) error {
	k := len(h.spec.GroupCols)
	w, ids, err := h.groupIDs(c)
	if err != nil {
		return err
	}
	rows, ok := c.Cols[k].(*array.Int64)
	if !ok {
		return fmt.Errorf("hash aggregate: partial row counts are %s", c.Cols[k].DataType())
	}
	counts := rows.Int64Values()
	for i, g := range ids {
		if w[i] == 0 {
			continue
		}
		if w[i] < 0 {
			return fmt.Errorf("hash aggregate: a partial state was retracted")
		}
		if !h.dirty[g] {
			h.dirty[g] = true
			h.ref[g] = true
			h.dirtyList = append(h.dirtyList, g)
		}
		h.rowCount[g] += counts[i]
	}
	for j, st := range h.states {
		if _, ok := st.(*aggRowCount); ok {
			continue
		}
		m, ok := st.(aggMerger)
		if !ok {
			return fmt.Errorf("aggregate %s: state does not merge", h.spec.Aggs[j].Agg.Name)
		}
		col, ok := c.Cols[k+1+j].(*array.Binary)
		if !ok {
			return fmt.Errorf("aggregate %s: partial states are %s", h.spec.Aggs[j].Agg.Name, c.Cols[k+1+j].DataType())
		}
		for i, g := range ids {
			if w[i] == 0 {
				continue
			}
			st.reset(h.scratch)
			if _, err := st.decode(col.Value(i), h.scratch); err != nil {
				return fmt.Errorf("aggregate %s: partial state: %w", h.spec.Aggs[j].Agg.Name, err)
			}
			done, err := m.merge(g, h.scratch)
			if err != nil {
				return fmt.Errorf("aggregate %s: %w", h.spec.Aggs[j].Agg.Name, err)
			}
			if !done {
				if err := h.rejectPartial(st, j, c, i); err != nil {
					return err
				}
			}
		}
		st.reset(h.scratch)
	}
	return nil
}
