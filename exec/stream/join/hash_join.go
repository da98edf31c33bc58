package join

// HashJoin is the streaming equi-join: a symmetric hash join over two
// changelogs. A change on one side probes the other side's state by join
// key and emits the resulting change of the join's output at once; the
// row is then added to or removed from its own side's state.
//
// # Output
//
// Left columns then right columns (SEMI and ANTI: left columns only); the
// output stream key is the left stream key followed by the right one.
// Outer joins emit a preserved row padded with NULLs while it has no
// match. Each preserved row carries its degree, the number of rows of the
// other side that match it (equal key and residual true): when the degree
// goes from 0 to 1 the padded row is retracted and the joined row inserted
// (an adjacent U-/U+ pair), and when it falls back to 0 the joined row is
// retracted and the padded row comes back. NULL keys never match.
//
// # State layout
//
// Two state tables, left then right (one b.NewStateTable each). Key:
//
//	storage.StateKey(id, join key ++ stream key [++ seq])
//
// The join key is the types.AppendKey encoding of each key column
// converted to the pair's common type (int2/int4/int8 as int8; int with
// numeric as numeric; float with int or numeric as float8; text-like as
// text with char's trailing spaces dropped), so rows of one key are
// adjacent. The stream key is the AppendKey encoding of the side's stream
// key columns; an input without a stream key uses all its columns and an
// 8-byte sequence number that keeps duplicate rows apart. Value: the row in
// types.EncodeRow encoding. Degrees are not stored: recovery replays the
// stored rows of both sides through the join with its output discarded,
// which recomputes them. Rows with a NULL join key are stored only for
// sides whose unmatched rows are emitted (their padded rows must be
// retractable); rows leave the state when they are deleted, and rows of
// an append-only side leave it when a watermark of the other side shows
// they can never match again (cleanup rules, join_cleanup.go).
//
// # State larger than memory
//
// Under a state memory budget (Env.Memory, state_cache.go) the rows in
// memory are a cache over the two tables. At a barrier, while the budget
// is exceeded, a clock hand evicts whole join keys (the key's rows of both
// sides) that were not used since the hand last passed and whose last
// write has committed. A row whose join key is in neither side's memory
// reads the key's rows of both sides back (a prefix scan of each table)
// and replays them, which recomputes the degrees. After a restart the
// join loads keys in key order up to its share of the budget and leaves
// the rest in storage (join_cache.go).
//
// In memory each side keeps its live rows column by column in an arena
// addressed by slot, a map from join-key hash to the slots of the key's
// rows and a map from stream-key hash to slot (join_state.go). A chunk is
// processed in ranges: encode every row's keys, collect the candidate
// pairs of the range by probing the other side, evaluate the residual over
// all pairs at once, then walk the rows in order updating degrees and
// state and recording output rows as slot pairs, and finally gather the
// output columns from both arenas.

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// HashJoinSpec describes a streaming equi-join.
type HashJoinSpec struct {
	Kind batch.JoinKind
	// LeftKeys[i] = RightKeys[i] are the equi-join conditions.
	LeftKeys, RightKeys   []int
	LeftTypes, RightTypes []types.T
	// LeftStreamKey and RightStreamKey identify a row of each input's
	// changelog (empty: every column).
	LeftStreamKey, RightStreamKey []int
	// Residual is the rest of the ON condition over the concatenated row
	// (left columns, then right), or nil.
	Residual expr.Expr
	// ResidualCols are the columns of the concatenated row that Residual
	// reads; only they are gathered for it. Nil: every column.
	ResidualCols []int
	// LeftAppendOnly, RightAppendOnly: the input never deletes, so no
	// stream-key index is kept for it.
	LeftAppendOnly, RightAppendOnly bool
	// LeftCleanup and RightCleanup are the rules that remove rows of each
	// side from the state once the other side's watermark shows they can
	// never match again (join_cleanup.go). A side with rules must be
	// append-only or have Own rules, and the other side's rows must carry
	// no degrees.
	LeftCleanup, RightCleanup []JoinCleanup
	// Watermarks derive the output watermarks of interval joins
	// (join_watermark.go); the columns they read are not forwarded as
	// they are.
	Watermarks []JoinWatermark

	// oneRowRight: the right input has at most one row (set by
	// NestedLoopJoinSpec for a DynamicFilter).
	oneRowRight bool
}

// HashJoinStateTables describes the join's state tables for
// Node.StateTables, in Build's order.
func HashJoinStateTables() []string {
	return []string{
		"left rows by join key and stream key (removed on delete)",
		"right rows by join key and stream key (removed on delete)",
	}
}

// Explain implements Spec.
func (s *HashJoinSpec) Explain() string {
	var sb strings.Builder
	sb.WriteString("HashJoin ")
	sb.WriteString(s.Kind.String())
	sb.WriteString(" on ")
	nl := len(s.LeftTypes)
	for i := range s.LeftKeys {
		if i > 0 {
			sb.WriteString(" AND ")
		}
		fmt.Fprintf(&sb, "#%d = #%d", s.LeftKeys[i], nl+s.RightKeys[i])
	}
	if len(s.LeftKeys) == 0 {
		sb.WriteString("true")
	}
	if s.Residual != nil {
		sb.WriteString(" filter ")
		sb.WriteString(s.Residual.String())
	}
	explainCleanup(&sb, "left", s.LeftCleanup, s.LeftTypes, 0, nl)
	explainCleanup(&sb, "right", s.RightCleanup, s.RightTypes, nl, 0)
	for _, w := range s.Watermarks {
		own, other := w.Col, nl+w.OtherCol
		if w.Side == 1 {
			own, other = nl+w.Col, w.OtherCol
		}
		fmt.Fprintf(&sb, ", watermark #%d = min(wm(#%d), wm(#%d)", own, own, other)
		if w.Offset != 0 {
			sb.WriteString(" + ")
			sb.WriteString(joinOffsetText(w.Offset, w.T))
		}
		sb.WriteString(")")
	}
	return sb.String()
}

// Build implements Spec. It takes two state tables: left, then right.
func (s *HashJoinSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	switch s.Kind {
	case batch.InnerJoin, batch.LeftJoin, batch.RightJoin, batch.FullJoin, batch.SemiJoin, batch.AntiJoin:
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "streaming %s join is not supported", s.Kind)
	}
	if len(s.LeftKeys) != len(s.RightKeys) {
		return nil, fmt.Errorf("hash join: %d left keys, %d right keys", len(s.LeftKeys), len(s.RightKeys))
	}
	nl, nr := len(s.LeftTypes), len(s.RightTypes)
	h := &HashJoin{
		kind:     s.Kind,
		out:      out,
		env:      b.Env,
		residual: s.Residual,
		nl:       nl,
		seed:     maphash.MakeSeed(),
		semiAnti: s.Kind == batch.SemiJoin || s.Kind == batch.AntiJoin,
	}
	for i := range s.LeftKeys {
		lc, rc := s.LeftKeys[i], s.RightKeys[i]
		if lc < 0 || lc >= nl || rc < 0 || rc >= nr {
			return nil, fmt.Errorf("hash join: key column out of range (#%d = #%d)", lc, rc)
		}
		kt, ok := types.JoinKeyType(s.LeftTypes[lc], s.RightTypes[rc])
		if !ok {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported,
				"streaming hash join on %s = %s is not supported", s.LeftTypes[lc], s.RightTypes[rc])
		}
		h.jkCols[0] = append(h.jkCols[0], hjKeyCol{col: lc, src: s.LeftTypes[lc], keyT: kt})
		h.jkCols[1] = append(h.jkCols[1], hjKeyCol{col: rc, src: s.RightTypes[rc], keyT: kt})
	}
	ts := [2][]types.T{s.LeftTypes, s.RightTypes}
	sks := [2][]int{s.LeftStreamKey, s.RightStreamKey}
	appendOnly := [2]bool{s.LeftAppendOnly, s.RightAppendOnly}
	for side := range 2 {
		sk := sks[side]
		noSK := len(sk) == 0
		if noSK {
			sk = make([]int, len(ts[side]))
			for i := range sk {
				sk[i] = i
			}
		}
		for _, c := range sk {
			if c < 0 || c >= len(ts[side]) {
				return nil, fmt.Errorf("hash join: stream key column %d out of range", c)
			}
			h.skCols[side] = append(h.skCols[side], hjKeyCol{col: c, src: ts[side][c], keyT: ts[side][c]})
		}
		var keys []stream.KeyCol
		for _, kc := range append(slices.Clip(h.jkCols[side]), h.skCols[side]...) {
			keys = append(keys, stream.KeyCol{T: kc.keyT})
		}
		h.sides[side] = newHJSide(b.NewStateTable(keys, ts[side]), ts[side], appendOnly[side], noSK)
	}
	switch s.Kind {
	case batch.LeftJoin:
		h.tracks = [2]bool{true, false}
	case batch.RightJoin:
		h.tracks = [2]bool{false, true}
	case batch.FullJoin:
		h.tracks = [2]bool{true, true}
	case batch.SemiJoin, batch.AntiJoin:
		h.tracks = [2]bool{true, false}
	}
	switch s.Kind {
	case batch.InnerJoin, batch.FullJoin:
		h.forwardWM = [2]bool{true, true}
	case batch.RightJoin:
		h.forwardWM = [2]bool{false, true}
	default:
		h.forwardWM = [2]bool{true, false}
	}
	h.derived = newJoinWatermarks(s.Watermarks, len(s.LeftTypes))
	if s.Residual != nil {
		h.resCols = [2][]bool{make([]bool, nl), make([]bool, nr)}
		for side, n := range []int{nl, nr} {
			for j := range n {
				h.resCols[side][j] = s.ResidualCols == nil
			}
		}
		for _, c := range s.ResidualCols {
			if c < 0 || c >= nl+nr {
				return nil, fmt.Errorf("hash join: residual column %d out of range", c)
			}
			if c < nl {
				h.resCols[0][c] = true
			} else {
				h.resCols[1][c-nl] = true
			}
		}
	}
	if len(s.LeftCleanup) > 0 && h.tracks[1] || len(s.RightCleanup) > 0 && h.tracks[0] {
		// Degrees are recomputed from the stored rows at restart: rows
		// cleaned from one side would be missing from the other side's.
		return nil, fmt.Errorf("hash join: cleanup rules on a side whose matches carry degrees")
	}
	if err := h.buildCleaners(s); err != nil {
		return nil, err
	}
	if acct := h.sides[0].table.Account(); acct != nil {
		h.cache = newHJCache(h, acct)
		if len(s.LeftKeys) == 0 {
			h.spill = newNLSpill(h, s.oneRowRight)
		}
	}
	if !b.Env.Fresh {
		var err error
		if h.spill != nil {
			err = h.recoverKeyless(h.cache.Acct.LoadBudget())
		} else if h.cache != nil {
			err = h.recoverPartial(h.cache.Acct.LoadBudget())
		} else {
			err = h.recover()
		}
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Limits of one processing range and of an output chunk.
const (
	hjPairLimit = 8192
	hjOutLimit  = 4096
	hjLoadBatch = 4096
)

// HashJoin is the streaming hash join operator (see the file comment).
type HashJoin struct {
	kind     batch.JoinKind
	out      stream.Output
	env      *stream.Env
	residual expr.Expr
	nl       int
	seed     maphash.Seed
	semiAnti bool
	// resCols[side][j]: the residual reads column j of side.
	resCols [2][]bool
	sides   [2]*hjSide
	jkCols  [2][]hjKeyCol
	skCols  [2][]hjKeyCol
	// tracks: the side's rows carry degrees because the side's rows are
	// emitted on their own when unmatched (outer) or by match state
	// (semi, anti).
	tracks    [2]bool
	forwardWM [2]bool
	derived   *joinWatermarks

	// cleaners are each side's watermark cleanup rules, cleanGet their
	// columns' integer values; cleaned counts the rows they removed.
	cleaners [2][]*hjCleaner
	cleanGet [2][]func(slot int32) (int64, bool)
	cleaned  int64
	// needSweep: rows below a bound were stored during the chunk.
	needSweep [2]bool

	// cache is the state cache under a memory budget (join_cache.go),
	// nil without one; missJK are a chunk's join keys it looks up.
	cache  *hjCache
	missJK hjKeys

	// spill is the keyless join's row-by-row state cache
	// (nested_loop_spill.go), nil for joins with keys or without a
	// budget; extra holds, while a chunk is processed, each row's
	// matches among the other side's rows in storage only.
	spill *nlSpill
	extra []int32

	// loading: recovery replays stored rows; output is discarded.
	loading  bool
	loadSeqs []uint64

	// per-chunk scratch
	jk, sk    hjKeys
	pairRow   []int32 // chunk row of each candidate pair
	pairSlot  []int32 // other side's slot of each candidate pair
	pairStart []int32 // first pair of each row of the range (from rangeLo)
	rangeLo   int
	matched   []bool
	takeIdx   []int
	insRows   []int32
	insSlots  []int32
	outOps    []stream.Op
	outL      []int32
	outR      []int32
}

func (h *HashJoin) loc() *time.Location {
	if h.env != nil && h.env.Ctx != nil && h.env.Ctx.Location != nil {
		return h.env.Ctx.Location
	}
	return time.UTC
}

func (h *HashJoin) ctx() *exec.Ctx {
	if h.env != nil && h.env.Ctx != nil {
		return h.env.Ctx
	}
	return &exec.Ctx{}
}

// Chunk implements Operator.
func (h *HashJoin) Chunk(side int, c *stream.Chunk) error {
	defer c.Release()
	if side != 0 && side != 1 {
		return fmt.Errorf("hash join: input side %d", side)
	}
	if len(c.Cols) != len(h.sides[side].types) {
		return fmt.Errorf("hash join: side %d chunk has %d columns, want %d", side, len(c.Cols), len(h.sides[side].types))
	}
	if h.derived != nil && c.N > 0 {
		h.derived.active(side)
		if h.derived.lagging(side) {
			if nc := h.dropBehind(side, c); nc != c {
				defer nc.Release()
				if c = nc; c.N == 0 {
					return nil
				}
			}
		}
	}
	switch {
	case h.spill != nil:
		if err := h.processKeyless(side, c); err != nil {
			return err
		}
	case h.cache != nil && h.cache.Evicted:
		if err := h.fetchMissing(side, c); err != nil {
			return err
		}
		fallthrough
	default:
		if err := h.process(side, c); err != nil {
			return err
		}
	}
	if h.needSweep[side] {
		h.needSweep[side] = false
		h.sweep(side)
	}
	return nil
}

// process applies chunk c of side to the state and emits the output.
func (h *HashJoin) process(side int, c *stream.Chunk) error {
	o := h.sides[1-side]
	n := c.N
	if err := h.jk.encode(c.Cols, h.jkCols[side], n, h.seed, h.loc()); err != nil {
		return err
	}
	if err := h.sk.encode(c.Cols, h.skCols[side], n, h.seed, h.loc()); err != nil {
		return err
	}
	for lo := 0; lo < n; {
		// A range ends after enough candidate pairs, never between the
		// two rows of an update.
		hi := lo
		h.pairRow, h.pairSlot, h.pairStart = h.pairRow[:0], h.pairSlot[:0], h.pairStart[:0]
		for hi < n && (hi == lo || len(h.pairRow) < hjPairLimit || c.Ops[hi-1] == stream.UpdateDelete) {
			h.pairStart = append(h.pairStart, int32(len(h.pairRow)))
			if !h.jk.hasNull[hi] {
				if b := o.findBucket(h.jk.hashes[hi], h.jk.keys[hi]); b >= 0 {
					o.buckets[b].ref = true
					rows := o.buckets[b].rows
					h.pairSlot = append(h.pairSlot, rows...)
					for range rows {
						h.pairRow = append(h.pairRow, int32(hi))
					}
				}
			}
			hi++
		}
		h.pairStart = append(h.pairStart, int32(len(h.pairRow)))
		if err := h.evalResidual(side, c); err != nil {
			return err
		}
		h.rangeLo = lo
		if err := h.apply(side, c, lo, hi); err != nil {
			return err
		}
		if len(h.outOps) >= hjOutLimit {
			if err := h.flush(); err != nil {
				return err
			}
		}
		lo = hi
	}
	err := h.flush()
	h.sides[side].releaseDeferred()
	return err
}

// evalResidual sets matched[p] for every candidate pair of the range.
func (h *HashJoin) evalResidual(side int, c *stream.Chunk) error {
	np := len(h.pairRow)
	h.matched = slices.Grow(h.matched[:0], np)[:np]
	if h.residual == nil || np == 0 {
		for p := range h.matched {
			h.matched[p] = true
		}
		return nil
	}
	h.takeIdx = h.takeIdx[:0]
	for _, r := range h.pairRow {
		h.takeIdx = append(h.takeIdx, int(r))
	}
	cols := make([]arrow.Array, 0, len(h.sides[0].types)+len(h.sides[1].types))
	if side == 1 {
		cols = h.sides[0].gatherSome(h.pairSlot, h.resCols[0], cols)
	}
	for j, a := range c.Cols {
		if h.resCols[side][j] {
			cols = append(cols, expr.TakeArray(a, h.takeIdx))
		} else {
			cols = append(cols, array.NewNull(np))
		}
	}
	if side == 0 {
		cols = h.sides[1].gatherSome(h.pairSlot, h.resCols[1], cols)
	}
	b := &exec.Batch{Cols: cols, N: np}
	res, err := h.residual.Eval(h.ctx(), b)
	b.Release()
	if err != nil {
		return err
	}
	defer res.Release()
	switch m := res.(type) {
	case *array.Boolean:
		for p := range h.matched {
			h.matched[p] = m.IsValid(p) && m.Value(p)
		}
	case *array.Null:
		clear(h.matched)
	default:
		return fmt.Errorf("hash join: residual is %s, not boolean", res.DataType())
	}
	return nil
}

// apply walks rows [lo, hi) of c in order: it updates the state and the
// degrees and records the output rows.
func (h *HashJoin) apply(side int, c *stream.Chunk, lo, hi int) error {
	s, o := h.sides[side], h.sides[1-side]
	other := 1 - side
	h.insRows, h.insSlots = h.insRows[:0], h.insSlots[:0]
	udStart, udEnd := -1, -1
	for i := lo; i < hi; i++ {
		op := c.Ops[i]
		start := len(h.outOps)
		if err := h.applyRow(side, s, o, other, c, i, op); err != nil {
			return err
		}
		// An update that yields one deleted and one inserted row under
		// the same output stream key stays an update.
		switch {
		case op == stream.UpdateDelete:
			udStart, udEnd = start, len(h.outOps)
		case op == stream.UpdateInsert && udEnd == start:
			end := len(h.outOps)
			if udEnd-udStart == 1 && end-start == 1 &&
				h.outOps[udStart] == stream.Delete && h.outOps[start] == stream.Insert &&
				h.otherSlot(side, udStart) == h.otherSlot(side, start) &&
				i > 0 && bytes.Equal(h.sk.keys[i-1], h.sk.keys[i]) {
				h.outOps[udStart], h.outOps[start] = stream.UpdateDelete, stream.UpdateInsert
			}
			udEnd = -1
		default:
			udEnd = -1
		}
	}
	for j, col := range s.cols {
		col.copyIn(c.Cols[j], h.insRows, h.insSlots)
	}
	if len(h.cleaners[side]) > 0 {
		h.track(side, h.insSlots)
	}
	if h.loading && h.cache != nil {
		h.cache.loaded[side] = append(h.cache.loaded[side], h.insSlots...)
	}
	return nil
}

// otherSlot returns the slot of the other side in output row k.
func (h *HashJoin) otherSlot(side, k int) int32 {
	if side == 0 {
		return h.outR[k]
	}
	return h.outL[k]
}

func (h *HashJoin) applyRow(side int, s, o *hjSide, other int, c *stream.Chunk, i int, op stream.Op) error {
	null := h.jk.hasNull[i]
	if null && !h.tracks[side] {
		// Never matches and never shows alone: not kept.
		return nil
	}
	ins := op.IsInsert()
	var slot int32
	if ins {
		slot = s.alloc()
		var seq uint64
		if s.noSK {
			if h.loadSeqs != nil {
				seq = h.loadSeqs[i]
			} else {
				seq = s.seq
				s.seq++
			}
		}
		s.insert(slot, h.jk.keys[i], h.jk.hashes[i], null, h.sk.keys[i], h.sk.hashes[i], seq)
		h.insRows = append(h.insRows, int32(i))
		h.insSlots = append(h.insSlots, slot)
	} else {
		if s.byPK == nil {
			return fmt.Errorf("hash join: delete on append-only input %d", side)
		}
		if slot = s.lookupPK(h.sk.keys[i], h.sk.hashes[i]); slot < 0 {
			// Not in the state: nothing was emitted for it.
			return nil
		}
	}
	outOp := stream.Insert
	if !ins {
		outOp = stream.Delete
	}
	cnt := h.matchPairs(side, o, other, slot, i-h.rangeLo, ins, outOp)
	if h.extra != nil {
		cnt += h.extra[i]
	}
	if h.tracks[side] {
		if ins {
			s.meta[slot].degree = cnt
		}
		switch h.kind {
		case batch.SemiJoin:
			if cnt > 0 {
				h.emit(outOp, slot, -1)
			}
		case batch.AntiJoin:
			if cnt == 0 {
				h.emit(outOp, slot, -1)
			}
		default:
			if cnt == 0 {
				h.emitPadded(outOp, side, slot)
			}
		}
	}
	if !ins {
		s.remove(slot)
	}
	return nil
}

// matchPairs applies the matching pairs of row k of the range (slot of
// side) to the other side's rows: their degrees, and the joined rows
// emitted with outOp. It returns the number of matches.
func (h *HashJoin) matchPairs(side int, o *hjSide, other int, slot int32, k int, ins bool, outOp stream.Op) int32 {
	cnt := int32(0)
	for p := h.pairStart[k]; p < h.pairStart[k+1]; p++ {
		if !h.matched[p] {
			continue
		}
		j := h.pairSlot[p]
		cnt++
		if h.tracks[other] && (h.spill == nil || !h.spill.faulting) {
			m := &o.meta[j]
			if ins {
				m.degree++
				if m.degree == 1 {
					h.firstMatch(side, slot, j)
					continue
				}
			} else {
				m.degree--
				if m.degree == 0 {
					h.lastMatch(side, slot, j)
					continue
				}
			}
		}
		if !h.semiAnti {
			h.emitJoined(outOp, side, slot, j)
		}
	}
	return cnt
}

// firstMatch handles the other side's row j gaining its first match (the
// row slot of side).
func (h *HashJoin) firstMatch(side int, slot, j int32) {
	switch h.kind {
	case batch.SemiJoin:
		h.emit(stream.Insert, j, -1)
	case batch.AntiJoin:
		h.emit(stream.Delete, j, -1)
	default:
		h.emitPadded(stream.UpdateDelete, 1-side, j)
		h.emitJoined(stream.UpdateInsert, side, slot, j)
	}
}

// lastMatch handles the other side's row j losing its last match.
func (h *HashJoin) lastMatch(side int, slot, j int32) {
	switch h.kind {
	case batch.SemiJoin:
		h.emit(stream.Delete, j, -1)
	case batch.AntiJoin:
		h.emit(stream.Insert, j, -1)
	default:
		h.emitJoined(stream.UpdateDelete, side, slot, j)
		h.emitPadded(stream.UpdateInsert, 1-side, j)
	}
}

func (h *HashJoin) emit(op stream.Op, l, r int32) {
	h.outOps = append(h.outOps, op)
	h.outL = append(h.outL, l)
	h.outR = append(h.outR, r)
}

// emitJoined emits the join of slot (of side) with j (of the other side).
func (h *HashJoin) emitJoined(op stream.Op, side int, slot, j int32) {
	if side == 0 {
		h.emit(op, slot, j)
	} else {
		h.emit(op, j, slot)
	}
}

// emitPadded emits row slot of side with NULLs for the other side.
func (h *HashJoin) emitPadded(op stream.Op, side int, slot int32) {
	if side == 0 {
		h.emit(op, slot, -1)
	} else {
		h.emit(op, -1, slot)
	}
}

// flush sends the recorded output rows as one chunk.
func (h *HashJoin) flush() error {
	if len(h.outOps) == 0 {
		return nil
	}
	if h.loading {
		h.outOps, h.outL, h.outR = h.outOps[:0], h.outL[:0], h.outR[:0]
		return nil
	}
	cols := h.sides[0].gather(h.outL, make([]arrow.Array, 0, len(h.sides[0].types)+len(h.sides[1].types)))
	if !h.semiAnti {
		cols = h.sides[1].gather(h.outR, cols)
	}
	c := stream.NewChunk(cols, slices.Clone(h.outOps))
	h.outOps, h.outL, h.outR = h.outOps[:0], h.outL[:0], h.outR[:0]
	return h.out.Chunk(c)
}

// Watermark implements Operator: it cleans the other side's rows that the
// watermark shows can never match again, and a watermark of a side whose
// columns are never padded late is forwarded on the matching output
// column.
func (h *HashJoin) Watermark(side int, w stream.Watermark) error {
	if side < 0 || side > 1 {
		return nil
	}
	if len(h.cleaners[1-side]) > 0 && w.Val != nil {
		if err := h.cleanup(side, w); err != nil {
			return err
		}
	}
	if len(h.cleaners[side]) > 0 && w.Val != nil {
		h.ownWatermark(side, w)
	}
	if h.derived != nil && h.derived.covers(side, w.Col) {
		return h.derived.add(side, w, h.out.Watermark, h.impliedWatermark)
	}
	if !h.forwardWM[side] {
		return nil
	}
	if side == 1 {
		w.Col += h.nl
	}
	return h.out.Watermark(w)
}

// impliedWatermark cleans the state that a watermark implied for a side
// left out as idle frees (join_watermark.go).
func (h *HashJoin) impliedWatermark(side int, w stream.Watermark) error {
	if len(h.cleaners[1-side]) == 0 {
		return nil
	}
	return h.cleanup(side, w)
}

// dropBehind returns the rows of chunk c of side that are not behind the
// side's floors (rows of a side that was idle, which could join into
// output below a watermark already sent); it counts the others as late.
// c itself stays the caller's to release; the result is c when no row
// is behind, else a new chunk the caller releases too.
func (h *HashJoin) dropBehind(side int, c *stream.Chunk) *stream.Chunk {
	ts := h.sides[side].types
	keep := make([]int, 0, c.N)
	for i := 0; i < c.N; i++ {
		late := false
		for col := range h.derived.floors[side] {
			if v, ok := joinDatumInt(types.GetDatum(c.Cols[col], i, ts[col])); ok && h.derived.behind(side, col, v) {
				late = true
				break
			}
		}
		if !late {
			keep = append(keep, i)
		}
	}
	if len(keep) == c.N {
		return c
	}
	if h.env != nil && h.env.Stats != nil {
		h.env.CountLate(int64(c.N - len(keep)))
	}
	ops := make([]stream.Op, len(keep))
	for k, i := range keep {
		ops[k] = c.Ops[i]
	}
	b := expr.Take(c.Batch(), keep)
	return &stream.Chunk{Cols: b.Cols, Ops: ops, N: b.N}
}

// Barrier implements Operator: it writes the rows changed during the epoch
// and forwards the barrier.
func (h *HashJoin) Barrier(b *stream.Barrier) error {
	if b.Writes != nil {
		for _, s := range h.sides {
			if err := s.flush(b.Writes, b.Epoch); err != nil {
				return err
			}
		}
		switch {
		case h.spill != nil:
			h.settleKeyless(b.Epoch)
		case h.cache != nil:
			h.settle(b.Epoch)
		}
	}
	return h.out.Barrier(b)
}

// loadChunk returns the function that feeds a chunk of side's stored
// rows (seqs: their sequence numbers when the side has no stream key)
// through the join while loading.
func (h *HashJoin) loadChunk(side int, s *hjSide) func(c *stream.Chunk, seqs []uint64) error {
	return func(c *stream.Chunk, seqs []uint64) error {
		defer c.Release()
		h.loadSeqs = nil
		if s.noSK {
			h.loadSeqs = seqs
		}
		return h.process(side, c)
	}
}

// recover loads both sides from the last committed epoch by replaying their
// rows as inserts (left first) with the output discarded, which rebuilds
// the indexes and the degrees.
func (h *HashJoin) recover() error {
	h.loading = true
	defer func() { h.loading, h.loadSeqs = false, nil }()
	for side, s := range h.sides {
		if err := s.scan(h.env.State, hjLoadBatch, h.loadChunk(side, s)); err != nil {
			return err
		}
	}
	for _, s := range h.sides {
		s.markLoaded()
	}
	return nil
}

// TakesIdleMarks: idle marks pass through or count (see stream.Output.Watermark).
func (h *HashJoin) TakesIdleMarks() bool { return true }
