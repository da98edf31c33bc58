package agg

// Streaming hash aggregation: GROUP BY over a changelog.
//
// The operator keeps the state of every live group in memory and folds
// each chunk in with one vectorized pass per aggregate (agg_state.go): the
// group key columns are hashed per chunk into dense group ids, each row
// gets a weight (+1 insert, -1 delete, 0 filtered out), and every
// aggregate updates its per-group slots over the typed Arrow values.
//
// # Output
//
// Columns: the group columns in order, then one column per aggregate.
// Stream key: the group columns. At each barrier the operator emits, for
// every group changed in the epoch, one change against the row it emitted
// before: a new group is an Insert, a changed result an adjacent
// UpdateDelete/UpdateInsert pair, a group whose last row was deleted a
// Delete; an unchanged result emits nothing. Without group columns there
// is exactly one output row, inserted at the first barrier even over empty
// input (count(*) = 0, sum = NULL) and never deleted.
//
// # Windows
//
// With WindowCol set, a watermark on that group column closes every group
// whose window value is below it. Without EmitOnClose the group's pending
// change is emitted right away and its state freed; its row stays in the
// downstream view. With EmitOnClose nothing of a window is emitted before
// it closes, and each closed group is emitted once, as an Insert, when the
// watermark arrives (before the watermark is forwarded), so the output is
// append-only. Later rows of closed windows are dropped and counted in
// Stats.LateRows. The watermark is forwarded on the window's output column.
//
// With EmitOnClose and Reopen (a view WITH (late_rows = 'reopen') EMIT ON
// WINDOW CLOSE) the watermark's Emit, the watermark as declared, emits a
// window, and Val, lowered by the allowed lateness, closes it: a group
// is emitted (Insert) when Emit passes its window, its state stays until
// Val does, and a row that reaches it in between is emitted at the
// barrier as a change against the row emitted (UpdateDelete of it, then
// UpdateInsert of the corrected row; a new group of an emitted window is
// an Insert). A group counts as emitted when its window is below the
// emit watermark, which is stored with the state, so a restart emits
// nothing twice and every change once. The output is not append-only.
//
// # State
//
// Two state tables, written incrementally: only the groups changed in an
// epoch are written at its barrier.
//
//	table 1 (groups)   key:   group key (types.AppendKey of each group
//	                          column; empty without group columns)
//	                   value: the group values (types.AppendValue each, so a
//	                          numeric keeps its scale), the row count
//	                          (varint), then each aggregate's compact state
//	                          (counts, sums; see agg_state.go)
//	                   key 0x00 0x01: the last window watermark
//	                   key 0x00 0x02: the last emit watermark (Reopen)
//	table 2 (multisets) key:  group key, aggregate index (2 bytes, big
//	                          endian), value key (types.AppendKey of the
//	                          aggregate's arguments)
//	                   value: count (varint), then the arguments
//	                          (AppendValue each) as first seen
//
// Table 2 holds the entries of min/max over retracting input, string_agg,
// DISTINCT and recomputed aggregates. A group whose row count drops to 0,
// or whose window closes, is deleted from both tables. When the job
// restarts (Env.Fresh false) both tables are loaded into memory at Build,
// as far as the state memory budget allows.
//
// # State larger than memory
//
// Under a state memory budget (Env.Memory, state_cache.go) the groups in
// memory are a cache over table 1 and 2. At a barrier, while the budget
// is exceeded, a clock hand evicts groups that are clean, whose last write
// has committed and that were not used since the hand last passed. A row
// whose group is not in memory then reads it back from pebble (one point
// read, plus a prefix scan of table 2 for aggregates with multisets).
// Groups deleted in an epoch that may not have committed yet are
// remembered, so such a read never finds their stale state. Evicted
// groups of windows are remembered by window, so closing a window still
// finds them.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// HashAggSpec groups its input by GroupCols and computes Aggs per group,
// incrementally.
type HashAggSpec struct {
	// GroupCols are the input columns grouped by: output columns
	// 0..len-1, in this order, and the output's stream key.
	GroupCols  []int
	GroupTypes []types.T
	// Aggs are the aggregate calls: output columns after the group
	// columns.
	Aggs []batch.AggSpec
	// AppendOnly: the input never retracts, so min/max keep only the
	// extreme.
	AppendOnly bool
	// WindowCol is the index into GroupCols of a window_start/window_end
	// column that carries watermarks, or -1.
	WindowCol int
	// EmitOnClose emits each group once, final, when the watermark on
	// WindowCol passes it (the output is append-only).
	EmitOnClose bool
	// Reopen, with EmitOnClose, emits a window when the watermark's Emit
	// passes it and keeps it open until its Val does, emitting the
	// changes of rows that come in between (see the file comment).
	Reopen bool
	// LateSpec says what becomes of the rows dropped because their
	// window had closed.
	stream.LateSpec
	// Phase is the half of a two-phase aggregation this is
	// (hash_agg_phase.go), or PhaseSingle.
	Phase AggPhase
	// Replace: the halves exchange whole partial states instead of
	// per-epoch contributions, for user aggregates over retracting input
	// (hash_agg_replace.go).
	Replace bool
	// NoSplit says, for EXPLAIN, why the aggregation runs in one phase
	// though two were asked for.
	NoSplit string
}

func (s *HashAggSpec) Explain() string {
	var sb strings.Builder
	sb.WriteString("StreamHashAgg")
	if s.Phase == PhaseGlobal {
		s.explainPhase(&sb)
	} else {
		if s.Phase == PhaseLocal {
			s.explainPhase(&sb)
		}
		if len(s.GroupCols) > 0 {
			sb.WriteString(" group by " + batch.ColList(s.GroupCols))
		}
		batch.ExplainAggsWith(&sb, s.Aggs, streamAggExplain)
	}
	if s.AppendOnly {
		sb.WriteString(" append-only")
	}
	if s.WindowCol >= 0 && s.WindowCol < len(s.GroupCols) {
		fmt.Fprintf(&sb, " window #%d", s.GroupCols[s.WindowCol])
		if s.EmitOnClose {
			sb.WriteString(" emit on window close")
			if s.Reopen {
				sb.WriteString(" reopen")
			}
		}
	}
	if s.NoSplit != "" {
		sb.WriteString(" one phase: " + s.NoSplit)
	}
	return sb.String()
}

// streamAggExplain adds to an aggregate's EXPLAIN text its ordering and
// how a view keeps a user aggregate.
var streamAggExplain = batch.AggExplain{Inside: explainAggOrder, After: UserAggMode}

// Group ids: 0 is a sink for rows that feed no group (late rows); without
// group columns the one group is 1.
const (
	hashAggTrash  uint32 = 0
	hashAggGlobal uint32 = 1
)

// The table-1 key of the persisted watermark: no group key starts with
// 0x00. Data directories of earlier versions hold it under
// hashAggWMKeyV1 as a bare value (types.AppendValue); it is read from
// there and moved at the next barrier that writes the watermark.
var (
	hashAggWMKey   = []byte{0x00, 0x01}
	hashAggWMKeyV1 = []byte{0x00}
	// hashAggEmitKey holds the emit watermark (Reopen).
	hashAggEmitKey = []byte{0x00, 0x02}
)

// watermark is the persisted watermark of the window column.
func (h *hashAgg) watermark() stream.PersistedWatermark {
	return stream.PersistedWatermark{Table: h.groups.groups, Key: hashAggWMKey, T: h.spec.GroupTypes[h.spec.WindowCol]}
}

// emitMark is the persisted emit watermark (Reopen).
func (h *hashAgg) emitMark() stream.PersistedWatermark {
	return stream.PersistedWatermark{Table: h.groups.groups, Key: hashAggEmitKey, T: h.spec.GroupTypes[h.spec.WindowCol]}
}

// emitted reports whether group g's window has been emitted (Reopen): its
// row went out and later changes go out as changes against it.
func (h *hashAgg) emitted(g uint32) bool {
	return h.hasEmit && h.winOK[g] && h.win[g] < h.emitWM
}

func (s *HashAggSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	if len(s.GroupTypes) != len(s.GroupCols) {
		return nil, fmt.Errorf("hash aggregate: %d group columns, %d types", len(s.GroupCols), len(s.GroupTypes))
	}
	h := &hashAgg{
		spec:   s,
		env:    b.Env,
		out:    out,
		global: len(s.GroupCols) == 0,
		eoc:    s.EmitOnClose && s.WindowCol >= 0,
		reopen: s.Reopen && s.EmitOnClose && s.WindowCol >= 0,
		winCol: -1,
	}
	// A local half keeps no state across epochs unless it replaces.
	local := s.Phase == PhaseLocal && !s.Replace
	switch {
	case local:
		h.outTypes = s.PartialTypes()
	case s.Phase == PhaseLocal:
		h.groups = hashAggTables{
			b.NewStateTable(stream.AscKeys(s.GroupTypes...), s.GroupTypes),
			b.NewStateTable(stream.AscKeys(s.GroupTypes...), nil)}
		h.outTypes = s.PartialTypes()
		h.instance = int32(b.Instance)
	default:
		h.groups = hashAggTables{
			b.NewStateTable(stream.AscKeys(s.GroupTypes...), s.GroupTypes),
			b.NewStateTable(stream.AscKeys(s.GroupTypes...), nil)}
		h.outTypes = append(slices.Clone(s.GroupTypes), make([]types.T, len(s.Aggs))...)
		for i, a := range s.Aggs {
			h.outTypes[len(s.GroupTypes)+i] = a.T
		}
	}
	h.outBuf = stream.NewChunkBuilder(h.outTypes)
	if s.WindowCol >= 0 {
		if s.WindowCol >= len(s.GroupCols) || !stream.IntLike(s.GroupTypes[s.WindowCol]) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "window column of a streaming aggregate must be a timestamp, date or integer group column")
		}
		h.winCol = s.GroupCols[s.WindowCol]
		h.winIndex = map[int64][]uint32{}
		var err error
		if h.keep, err = s.NewKeeper(b); err != nil {
			return nil, fmt.Errorf("hash aggregate: %w", err)
		}
	}
	h.fixed = len(s.GroupTypes) <= 2
	for _, t := range s.GroupTypes {
		if !hashAggFixedKind(t) {
			h.fixed = false
		}
	}
	if h.fixed {
		h.fmap.init(64)
	} else {
		h.smap = map[string]uint32{}
	}
	h.states = make([]aggState, len(s.Aggs))
	for i, a := range s.Aggs {
		st, err := newAggState(a, s.AppendOnly, &h.rowCount, b.Env)
		if err != nil {
			return nil, err
		}
		if d, ok := st.(aggDelta); ok && local {
			d.keepDeltas()
		}
		h.states[i] = st
	}
	h.dedups = shareDistinct(s.Aggs, h.states, s.AppendOnly)
	// Group 0 collects rows that feed no group; it is never emitted.
	h.allocID()
	h.dirty[hashAggTrash] = true
	if h.global {
		g := h.allocID()
		h.alive[g] = true
		h.skey[g] = []byte{}
	}
	if s.Phase == PhaseGlobal {
		// The slot partial states are decoded into before they merge.
		h.scratch = h.allocID()
		h.dirty[h.scratch] = true
	}
	if local {
		return h, nil
	}
	h.withSets = h.hasSets()
	if !h.global {
		if h.cache = stream.NewStateCache(b.Env, h.groups.groups.Account()); h.cache.Acct != nil {
			h.removed = stream.NewRemovedKeys()
			if h.winCol >= 0 {
				h.evictedWin = map[int64]map[string]struct{}{}
			}
		}
	}
	if !b.Env.Fresh {
		if err := h.load(b.Env.State); err != nil {
			return nil, fmt.Errorf("hash aggregate: load state: %w", err)
		}
	}
	if h.global && h.prev[hashAggGlobal] == nil {
		// The one row is inserted at the first barrier, even over empty
		// input.
		h.dirty[hashAggGlobal] = true
		h.dirtyList = append(h.dirtyList, hashAggGlobal)
	}
	return h, nil
}

type hashAggTables struct{ groups, sets *stream.StateTable }

// hashAggKey is a group key of at most two fixed-width columns: their
// values as words and a bit per NULL column.
type hashAggKey struct {
	a, b  uint64
	nulls uint64
}

func hashAggFixedKind(t types.T) bool {
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Oid, types.Float4, types.Float8,
		types.DateKind, types.Time, types.TimestampKind, types.TimestampTZ:
		return true
	}
	return false
}

type hashAgg struct {
	spec     *HashAggSpec
	keep     *stream.LateKeeper
	env      *stream.Env
	out      stream.Output
	outTypes []types.T
	states   []aggState
	dedups   []*distinctInts // the DISTINCT aggregates' shared dedup tables (agg_state_distinct.go)
	groups   hashAggTables
	global   bool
	eoc      bool
	reopen   bool        // eoc with Reopen
	scratch  uint32      // the global half's decoding slot (hash_agg_phase.go)
	instance int32       // the instance of a replacing local half
	parts    [][]aggPart // per group: a replacing global half's partials (hash_agg_replace.go)
	fresh    []uint32    // groups whose partials changed in the chunk (replacing global half)

	// The group table: fixed-width keys in fmap, others encoded in smap.
	fixed bool
	fmap  hashAggTable
	smap  map[string]uint32

	// Per group id.
	rowCount  []int64
	keys      [][]types.Datum // group values
	skey      [][]byte        // state key (AppendKey of keys), built lazily
	fkey      []hashAggKey
	hkey      []string
	alive     []bool
	persisted []bool          // its row is in table 1
	dirty     []bool          // changed in this epoch
	prev      [][]types.Datum // the row last emitted (not with EmitOnClose)
	win       []int64         // window value
	winOK     []bool          // window value not NULL
	free      stream.FreeList[uint32]

	dirtyList []uint32

	// Windows.
	winCol     int // input column of the window, -1 if none
	winIndex   map[int64][]uint32
	wm         int64
	wmVal      types.Datum
	wmLegacy   bool // the watermark was loaded from hashAggWMKeyV1
	hasWM      bool
	wmDirty    bool
	pendingDel [][]byte
	// The emit watermark (Reopen): windows below it have been emitted.
	emitWM    int64
	emitVal   types.Datum
	hasEmit   bool
	emitDirty bool

	// State cache (see the file comment).
	cache      stream.StateCache             // Evicted: committed groups exist that are not in memory
	withSets   bool                          // some aggregate keeps multiset entries (table 2)
	lastWrite  []uint64                      // per group: epoch of its last write
	ref        []bool                        // per group: used since the hand last passed
	gbytes     []int32                       // per group: estimated bytes in memory
	removed    *stream.RemovedKeys           // state keys deleted at an epoch perhaps not committed
	evictedWin map[int64]map[string]struct{} // evicted groups' state keys by window
	missed     []uint32

	// Scratch.
	w, aw   []int64
	ids     []uint32
	late    []bool
	fk      []hashAggKey
	enc     [][]byte
	args    []arrow.Array
	keyCols []arrow.Array
	keyBuf  []byte
	sideBuf []byte
	valBuf  []byte
	outBuf  stream.ChunkBuilder
}

// allocID returns a free group id, growing the per-group slices.
func (h *hashAgg) allocID() uint32 {
	if g, ok := h.free.Take(); ok {
		return g
	}
	g := uint32(len(h.rowCount))
	n := int(g) + 1
	h.rowCount = stream.Grow(h.rowCount, n)
	h.keys = stream.Grow(h.keys, n)
	h.skey = stream.Grow(h.skey, n)
	if h.fixed {
		h.fkey = stream.Grow(h.fkey, n)
	} else {
		h.hkey = stream.Grow(h.hkey, n)
	}
	h.alive = stream.Grow(h.alive, n)
	h.persisted = stream.Grow(h.persisted, n)
	h.dirty = stream.Grow(h.dirty, n)
	h.prev = stream.Grow(h.prev, n)
	h.lastWrite = stream.Grow(h.lastWrite, n)
	h.ref = stream.Grow(h.ref, n)
	h.gbytes = stream.Grow(h.gbytes, n)
	if h.spec.Replace && h.spec.Phase == PhaseGlobal {
		h.parts = stream.Grow(h.parts, n)
	}
	if h.winCol >= 0 {
		h.win = stream.Grow(h.win, n)
		h.winOK = stream.Grow(h.winOK, n)
	}
	for _, s := range h.states {
		s.grow(n)
	}
	return g
}

// newGroup creates the group of row i of the key columns.
func (h *hashAgg) newGroup(keyCols []arrow.Array, i int) uint32 {
	g := h.allocID()
	ks := make([]types.Datum, len(keyCols))
	for j, c := range keyCols {
		ks[j] = types.GetDatum(c, i, h.spec.GroupTypes[j])
	}
	h.keys[g] = ks
	h.alive[g] = true
	if h.winCol >= 0 {
		if d := ks[h.spec.WindowCol]; d != nil {
			v := stream.IntOf(d)
			h.win[g], h.winOK[g] = v, true
			h.winIndex[v] = append(h.winIndex[v], g)
		}
	}
	return g
}

// freeGroup forgets group g and makes its id reusable.
func (h *hashAgg) freeGroup(g uint32) {
	if !h.global {
		if h.fixed {
			h.fmap.delete(h.fkey[g])
		} else {
			delete(h.smap, h.hkey[g])
			h.hkey[g] = ""
		}
	}
	for _, s := range h.states {
		s.reset(g)
	}
	h.rowCount[g] = 0
	if h.parts != nil {
		h.parts[g] = nil
	}
	h.keys[g], h.skey[g], h.prev[g] = nil, nil, nil
	h.alive[g], h.persisted[g], h.dirty[g], h.ref[g] = false, false, false, false
	h.cache.Bytes -= int64(h.gbytes[g])
	h.gbytes[g], h.lastWrite[g] = 0, 0
	if h.winCol >= 0 {
		h.winOK[g] = false
	}
	h.free.Put(g)
}

// stateKey returns group g's key in table 1 (without the table prefix).
func (h *hashAgg) stateKey(g uint32) []byte {
	if h.skey[g] == nil {
		var k []byte
		for j, d := range h.keys[g] {
			k = types.AppendKey(k, d, h.spec.GroupTypes[j], false)
		}
		h.skey[g] = k
	}
	return h.skey[g]
}

// ---------------------------------------------------------------- chunks

func (h *hashAgg) Chunk(_ int, c *stream.Chunk) error {
	defer c.Release()
	n := c.N
	if n == 0 {
		return nil
	}
	if h.spec.Phase == PhaseGlobal {
		if h.spec.Replace {
			return h.replaceParts(c)
		}
		return h.combine(c)
	}
	w, ids, err := h.groupIDs(c)
	if err != nil {
		return err
	}
	dirty, rc := h.dirty, h.rowCount
	for i, g := range ids {
		if !dirty[g] {
			dirty[g] = true
			h.ref[g] = true
			h.dirtyList = append(h.dirtyList, g)
		}
		rc[g] += w[i]
	}
	for _, d := range h.dedups {
		if err := h.updateDistinct(d, c, w); err != nil {
			return err
		}
	}
	for k, a := range h.spec.Aggs {
		if _, shared := h.states[k].(*aggDistinctMember); shared {
			continue // folded above
		}
		aw := w
		if a.Filter >= 0 {
			h.aw = stream.Grow(h.aw, n)
			aw = h.aw[:n]
			if err := hashAggFilter(aw, w, c.Cols[a.Filter]); err != nil {
				return err
			}
		}
		h.args = h.args[:0]
		for _, col := range a.Args {
			h.args = append(h.args, c.Cols[col])
		}
		if err := h.states[k].update(ids, aw, h.args); err != nil {
			return fmt.Errorf("aggregate %s: %w", a.Agg.Name, err)
		}
	}
	return nil
}

// groupIDs returns the weight of every row of c (0 for late rows) and
// its group, creating groups as needed.
func (h *hashAgg) groupIDs(c *stream.Chunk) (w []int64, ids []uint32, err error) {
	n := c.N
	h.w = stream.Grow(h.w, n)
	h.ids = stream.Grow(h.ids, n)
	w, ids = h.w[:n], h.ids[:n]
	for i, op := range c.Ops[:n] {
		w[i] = aggWeights[op&3]
	}
	late := h.markLate(c, w)
	if h.global {
		for i := range ids {
			ids[i] = hashAggGlobal
		}
	} else if err := h.assign(c, ids, late); err != nil {
		return nil, nil, err
	}
	return w, ids, nil
}

// updateDistinct folds chunk c into every member of dedup table d, each
// with the weights w after its FILTER.
func (h *hashAgg) updateDistinct(d *distinctInts, c *stream.Chunk, w []int64) error {
	n := len(w)
	if len(d.ws) != len(d.aggs) {
		d.ws = make([][]int64, len(d.aggs))
		d.bufs = make([][]int64, len(d.aggs))
	}
	for m, k := range d.aggs {
		a := h.spec.Aggs[k]
		if a.Filter < 0 {
			d.ws[m] = w
			continue
		}
		d.bufs[m] = stream.Grow(d.bufs[m], n)
		buf := d.bufs[m][:n]
		if err := hashAggFilter(buf, w, c.Cols[a.Filter]); err != nil {
			return err
		}
		d.ws[m] = buf
	}
	if err := d.update(h.ids[:n], d.ws, c.Cols[d.col]); err != nil {
		return fmt.Errorf("aggregate %s: %w", h.spec.Aggs[d.aggs[0]].Agg.Name, err)
	}
	return nil
}

// hashAggFilter sets aw to w where filter is true and to 0 elsewhere.
func hashAggFilter(aw, w []int64, filter arrow.Array) error {
	f, ok := filter.(*array.Boolean)
	if !ok {
		if _, null := filter.(*array.Null); null {
			clear(aw)
			return nil
		}
		return fmt.Errorf("aggregate FILTER column is %s, not boolean", filter.DataType())
	}
	nulls := f.NullN() > 0
	for i := range aw {
		if f.Value(i) && !(nulls && f.IsNull(i)) {
			aw[i] = w[i]
		} else {
			aw[i] = 0
		}
	}
	return nil
}

// markLate zeroes the weight of rows whose window has closed and returns
// a mask of them (nil when there are none).
func (h *hashAgg) markLate(c *stream.Chunk, w []int64) []bool {
	if h.winCol < 0 || !h.hasWM {
		return nil
	}
	h.late = stream.Grow(h.late, c.N)
	late := h.late[:c.N]
	col := c.Cols[h.winCol]
	var n int64
	switch a := col.(type) {
	case *array.Timestamp:
		n = hashAggLate(late, w, a.TimestampValues(), col, h.wm)
	case *array.Date32:
		n = hashAggLate(late, w, a.Date32Values(), col, h.wm)
	case *array.Int64:
		n = hashAggLate(late, w, a.Int64Values(), col, h.wm)
	case *array.Int32:
		n = hashAggLate(late, w, a.Int32Values(), col, h.wm)
	case *array.Int16:
		n = hashAggLate(late, w, a.Int16Values(), col, h.wm)
	}
	if n == 0 {
		return nil
	}
	h.env.CountLate(n)
	if h.keep != nil {
		wm := stream.IntDatum(h.wm, h.spec.GroupTypes[h.spec.WindowCol])
		for i, l := range late {
			if l {
				h.keep.Add(c, i, h.winCol, wm, h.spec.GroupTypes[h.spec.WindowCol])
			}
		}
	}
	return late
}

// hashAggLate marks the rows whose window value is below wm and returns
// how many there are.
func hashAggLate[V ~int16 | ~int32 | ~int64](late []bool, w []int64, vals []V, col arrow.Array, wm int64) int64 {
	var n int64
	nulls := col.NullN() > 0
	for i, v := range vals[:len(late)] {
		l := int64(v) < wm && !(nulls && col.IsNull(i))
		late[i] = l
		if l {
			w[i] = 0
			n++
		}
	}
	return n
}

// assign sets ids[i] to the group of row i, creating groups as needed
// (or reading them back from storage); late rows go to the trash group.
func (h *hashAgg) assign(c *stream.Chunk, ids []uint32, late []bool) error {
	n := c.N
	h.keyCols = h.keyCols[:0]
	for _, col := range h.spec.GroupCols {
		h.keyCols = append(h.keyCols, c.Cols[col])
	}
	keyCols := h.keyCols
	if h.fixed {
		h.fk = stream.Grow(h.fk, n)
		fk := h.fk[:n]
		clear(fk)
		for j, col := range keyCols {
			hashAggFixedCol(fk, j, col)
		}
		m := &h.fmap
		for i := range fk {
			if late != nil && late[i] {
				ids[i] = hashAggTrash
				continue
			}
			g := m.find(&fk[i])
			if g == 0 {
				g = h.newGroup(keyCols, i)
				h.fkey[g] = fk[i]
				m.insert(&fk[i], g)
				if h.cache.Evicted {
					h.missed = append(h.missed, g)
				}
			}
			ids[i] = g
		}
		return h.fetchMissed()
	}
	// Other keys: their state-key encoding, equal exactly for rows of
	// one group (1.0 = 1.00, NaN = NaN, '1 mon' = '30 days').
	h.enc = stream.Grow(h.enc, n)
	for i := range h.enc[:n] {
		h.enc[i] = h.enc[i][:0]
	}
	for j, c := range keyCols {
		types.AppendKeys(h.enc[:n], c, h.spec.GroupTypes[j], false, false)
	}
	m := h.smap
	for i, k := range h.enc[:n] {
		if late != nil && late[i] {
			ids[i] = hashAggTrash
			continue
		}
		g, ok := m[string(k)]
		if !ok {
			g = h.newGroup(keyCols, i)
			h.hkey[g] = string(k)
			m[h.hkey[g]] = g
			if h.cache.Evicted {
				h.missed = append(h.missed, g)
			}
		}
		ids[i] = g
	}
	return h.fetchMissed()
}

// hashAggFixedCol writes column j of every row's fixed key.
func hashAggFixedCol(fk []hashAggKey, j int, col arrow.Array) {
	switch a := col.(type) {
	case *array.Int64:
		hashAggWords(fk, j, a.Int64Values())
	case *array.Timestamp:
		hashAggWords(fk, j, a.TimestampValues())
	case *array.Int32:
		hashAggWords(fk, j, a.Int32Values())
	case *array.Int16:
		hashAggWords(fk, j, a.Int16Values())
	case *array.Date32:
		hashAggWords(fk, j, a.Date32Values())
	case *array.Time64:
		hashAggWords(fk, j, a.Time64Values())
	case *array.Float64:
		vals := a.Float64Values()
		for i := range fk {
			fk[i].set(j, types.FloatKeyBits(vals[i]))
		}
	case *array.Float32:
		vals := a.Float32Values()
		for i := range fk {
			fk[i].set(j, types.FloatKeyBits(float64(vals[i])))
		}
	case *array.Boolean:
		for i := range fk {
			if a.Value(i) {
				fk[i].set(j, 1)
			}
		}
	case *array.Null:
		for i := range fk {
			fk[i].nulls |= 1 << j
		}
		return
	}
	if col.NullN() > 0 {
		for i := range fk {
			if col.IsNull(i) {
				fk[i].set(j, 0)
				fk[i].nulls |= 1 << j
			}
		}
	}
}

// hashAggTable maps fixed keys to group ids: open addressing with linear
// probing over a power-of-two slot array, deletion by shifting back (no
// tombstones). Id 0 (the trash group, never a key) marks an empty slot.
type hashAggTable struct {
	slots []hashAggSlot
	mask  uint64
	n     int
}

type hashAggSlot struct {
	k  hashAggKey
	id uint32
}

func (t *hashAggTable) init(size int) {
	t.slots = make([]hashAggSlot, size)
	t.mask = uint64(size - 1)
	t.n = 0
}

func (k *hashAggKey) hash() uint64 {
	h := k.a*0x9E3779B97F4A7C15 ^ bits.RotateLeft64(k.b*0xC2B2AE3D27D4EB4F, 31) ^ k.nulls
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	return h ^ h>>32
}

// find returns k's id, or 0.
func (t *hashAggTable) find(k *hashAggKey) uint32 {
	for i := k.hash() & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.id == 0 || s.k == *k {
			return s.id
		}
	}
}

// insert adds k (not present) with id.
func (t *hashAggTable) insert(k *hashAggKey, id uint32) {
	if (t.n+1)*4 > len(t.slots)*3 {
		old := t.slots
		t.init(2 * len(old))
		for i := range old {
			if old[i].id != 0 {
				t.insert(&old[i].k, old[i].id)
			}
		}
	}
	i := k.hash() & t.mask
	for t.slots[i].id != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = hashAggSlot{k: *k, id: id}
	t.n++
}

// delete removes k if present.
func (t *hashAggTable) delete(k hashAggKey) {
	i := k.hash() & t.mask
	for {
		s := &t.slots[i]
		if s.id == 0 {
			return
		}
		if s.k == k {
			break
		}
		i = (i + 1) & t.mask
	}
	// Shift later entries of the probe run back into the hole.
	for j := (i + 1) & t.mask; t.slots[j].id != 0; j = (j + 1) & t.mask {
		home := t.slots[j].k.hash() & t.mask
		// Move j into the hole at i unless its home lies cyclically in (i, j].
		if (j-home)&t.mask >= (j-i)&t.mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = hashAggSlot{}
	t.n--
}

func (k *hashAggKey) set(j int, v uint64) {
	if j == 0 {
		k.a = v
	} else {
		k.b = v
	}
}

func hashAggWords[V ~int16 | ~int32 | ~int64](fk []hashAggKey, j int, vals []V) {
	vals = vals[:len(fk)]
	if j == 0 {
		for i, v := range vals {
			fk[i].a = uint64(v)
		}
		return
	}
	for i, v := range vals {
		fk[i].b = uint64(v)
	}
}

// ---------------------------------------------------------------- output

// outputRow returns group g's output row: group values, then results.
func (h *hashAgg) outputRow(g uint32) ([]types.Datum, error) {
	row := make([]types.Datum, 0, len(h.outTypes))
	row = append(row, h.keys[g]...)
	for k, s := range h.states {
		d, err := s.result(g)
		if err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", h.spec.Aggs[k].Agg.Name, err)
		}
		row = append(row, d)
	}
	return row, nil
}

// reserveOut makes room for about n more output rows.
func (h *hashAgg) reserveOut(n int) {
	h.outBuf.Reserve(min(n, exec.BatchSize))
}

// emit appends one output row.
func (h *hashAgg) emit(op stream.Op, row []types.Datum) {
	cols := h.outBuf.Cols()
	for j, d := range row {
		types.AppendDatum(cols[j], d)
	}
	h.outBuf.Add(op)
}

// flushOut sends the rows emitted so far as a chunk.
func (h *hashAgg) flushOut() error {
	return h.outBuf.Flush(h.out)
}

// emitChange emits group g's change since the row it emitted last.
func (h *hashAgg) emitChange(g uint32) error {
	if h.outBuf.Len()+2 > exec.BatchSize {
		if err := h.flushOut(); err != nil {
			return err
		}
	}
	if h.spec.Phase == PhaseLocal {
		return h.emitPartial(g)
	}
	old := h.prev[g]
	if !h.global && h.rowCount[g] <= 0 {
		if old != nil {
			h.emit(stream.Delete, old)
			h.prev[g] = nil
		}
		return nil
	}
	row, err := h.outputRow(g)
	if err != nil {
		return err
	}
	switch {
	case old == nil:
		h.emit(stream.Insert, row)
	case !hashAggSameRow(old, row):
		h.emit(stream.UpdateDelete, old)
		h.emit(stream.UpdateInsert, row)
	default:
		return nil
	}
	h.prev[g] = row
	return nil
}

// hashAggSameRow reports whether two output rows look the same: equal
// values that print differently (numeric 1.0 and 1.00) are a change.
func hashAggSameRow(a, b []types.Datum) bool {
	for j := range a {
		if !hashAggSameDatum(a[j], b[j]) {
			return false
		}
	}
	return true
}

func hashAggSameDatum(a, b types.Datum) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case *apd.Decimal:
		y := b.(*apd.Decimal)
		return x.Form == y.Form && x.Negative == y.Negative && x.Exponent == y.Exponent && x.Coeff.Cmp(&y.Coeff) == 0
	case float64:
		return math.Float64bits(x) == math.Float64bits(b.(float64))
	case []byte:
		return bytes.Equal(x, b.([]byte))
	}
	return a == b
}

// ---------------------------------------------------------------- barriers

func (h *hashAgg) Barrier(b *stream.Barrier) error {
	if h.spec.Phase == PhaseLocal && !h.spec.Replace {
		return h.localBarrier(b)
	}
	if err := h.keep.Flush(b); err != nil {
		return fmt.Errorf("hash aggregate: late rows: %w", err)
	}
	w := b.Writes
	for _, k := range h.pendingDel {
		if err := w.Delete(k, nil); err != nil {
			return err
		}
	}
	h.pendingDel = h.pendingDel[:0]
	if !h.eoc {
		h.reserveOut(2 * len(h.dirtyList))
	}
	for _, g := range h.dirtyList {
		if !h.dirty[g] {
			continue // closed by a watermark, or listed twice
		}
		h.dirty[g] = false
		if !h.eoc || h.reopen && h.emitted(g) {
			if err := h.emitChange(g); err != nil {
				return err
			}
		}
		if h.global || h.rowCount[g] > 0 {
			if err := h.writeGroup(w, g); err != nil {
				return err
			}
			h.lastWrite[g] = b.Epoch
			continue
		}
		if err := h.dropGroup(g, func(k []byte) error { return w.Delete(k, nil) }); err != nil {
			return err
		}
		if h.removed != nil && h.persisted[g] {
			h.removed.Add(string(h.stateKey(g)), b.Epoch)
		}
		h.freeGroup(g)
	}
	h.dirtyList = h.dirtyList[:0]
	if h.wmDirty {
		if err := h.watermark().Store(w, h.wmVal); err != nil {
			return err
		}
		if h.wmLegacy {
			// a data directory of an earlier version: its watermark
			// under the old key goes
			if err := h.groups.groups.Delete(w, hashAggWMKeyV1); err != nil {
				return err
			}
			h.wmLegacy = false
		}
		h.wmDirty = false
	}
	if h.emitDirty {
		if err := h.emitMark().Store(w, h.emitVal); err != nil {
			return err
		}
		h.emitDirty = false
	}
	if err := h.flushOut(); err != nil {
		return err
	}
	h.shrink()
	return h.out.Barrier(b)
}

// writeGroup writes group g's row and its changed multiset entries.
func (h *hashAgg) writeGroup(w *pebble.Batch, g uint32) error {
	sk := h.stateKey(g)
	v := h.keyBuf[:0]
	for j, d := range h.keys[g] {
		v = types.AppendValue(v, d, h.spec.GroupTypes[j])
	}
	v = binary.AppendVarint(v, h.rowCount[g])
	for _, s := range h.states {
		v = s.encode(v, g)
	}
	if h.parts != nil {
		v = h.encodeParts(v, g)
	}
	h.keyBuf = v
	if err := h.groups.groups.Insert(w, sk, v); err != nil {
		return err
	}
	h.persisted[g] = true
	h.account(g, len(v))
	var err error
	for k, s := range h.states {
		set := s.set(g)
		if set == nil {
			continue
		}
		ts := h.spec.Aggs[k].ArgTypes
		set.flush(func(e *aggEntry) {
			if err != nil {
				return
			}
			// pebble copies key and value: the buffers are reused
			key := h.sideKeyTo(h.sideBuf[:0], sk, k)
			key = append(key, e.key...)
			h.sideBuf = key
			if e.n == 0 {
				err = w.Delete(key, nil)
				return
			}
			val := binary.AppendVarint(h.valBuf[:0], e.n)
			for j, d := range e.vals {
				val = types.AppendValue(val, d, ts[j])
			}
			if e.rejected > 0 {
				// How many copies a user aggregate rejected, after the
				// values (absent: none).
				val = binary.AppendVarint(val, e.rejected)
			}
			h.valBuf = val
			err = w.Set(key, val, nil)
		})
	}
	if err != nil {
		return err
	}
	for _, d := range h.dedups {
		if err := d.flush(g, func(m int, isNull bool, v, n int64) error {
			key := h.sideKeyTo(h.sideBuf[:0], sk, d.aggs[m])
			key = d.valueKey(key, isNull, v)
			h.sideBuf = key
			if n == 0 {
				return w.Delete(key, nil)
			}
			val := binary.AppendVarint(h.valBuf[:0], n)
			if isNull {
				val = types.AppendValue(val, nil, d.t)
			} else {
				val = types.AppendValue(val, v, d.t)
			}
			h.valBuf = val
			return w.Set(key, val, nil)
		}); err != nil {
			return err
		}
	}
	return nil
}

// sideKey is the table-2 key of a multiset entry.
func (h *hashAgg) sideKey(groupKey []byte, agg int, valueKey string) []byte {
	return append(h.sideKeyTo(nil, groupKey, agg), valueKey...)
}

// sideKeyTo appends the table-2 key prefix of aggregate agg's entries of
// a group to buf.
func (h *hashAgg) sideKeyTo(buf, groupKey []byte, agg int) []byte {
	buf = h.groups.sets.FullKey(buf, groupKey)
	return binary.BigEndian.AppendUint16(buf, uint16(agg))
}

// dropGroup passes every key group g has in the state tables to del.
func (h *hashAgg) dropGroup(g uint32, del func([]byte) error) error {
	if !h.persisted[g] {
		return nil
	}
	sk := h.stateKey(g)
	if err := del(h.groups.groups.FullKey(nil, sk)); err != nil {
		return err
	}
	for k, s := range h.states {
		set := s.set(g)
		if set == nil {
			continue
		}
		for key := range set.m {
			if err := del(h.sideKey(sk, k, key)); err != nil {
				return err
			}
		}
	}
	for _, d := range h.dedups {
		if err := d.keys(g, func(m int, isNull bool, v int64) error {
			return del(d.valueKey(h.sideKeyTo(nil, sk, d.aggs[m]), isNull, v))
		}); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------- watermarks

func (h *hashAgg) Watermark(_ int, wm stream.Watermark) error {
	if h.winCol < 0 || wm.Col != h.winCol || wm.Val == nil {
		return nil // other columns' watermarks say nothing about the output
	}
	v := stream.IntOf(wm.Val)
	if h.spec.Phase == PhaseLocal && !h.spec.Replace {
		return h.localWatermark(v, wm)
	}
	if !h.hasWM || v > h.wm {
		h.wm, h.wmVal, h.hasWM, h.wmDirty = v, wm.Val, true, true
		if err := h.closeWindows(v); err != nil {
			return err
		}
	}
	if h.reopen {
		e := wm.Emit
		if e == nil {
			e = wm.Val
		}
		if err := h.emitWindows(e); err != nil {
			return err
		}
		return h.out.Watermark(stream.Watermark{Col: h.spec.WindowCol, Val: h.wmVal, Emit: h.emitVal})
	}
	return h.out.Watermark(stream.Watermark{Col: h.spec.WindowCol, Val: h.wmVal})
}

// emitWindows emits the groups of the windows below the emit watermark e
// not emitted yet (Reopen); their state stays until the watermark
// closes them.
func (h *hashAgg) emitWindows(e types.Datum) error {
	v := stream.IntOf(e)
	if h.hasEmit && v <= h.emitWM {
		return nil
	}
	from, ok := int64(math.MinInt64), h.hasEmit
	if ok {
		from = h.emitWM
	}
	// Evicted groups come back while the old emit watermark still says
	// they are not emitted.
	if err := h.fetchWindows(from, v); err != nil {
		return err
	}
	h.emitWM, h.emitVal, h.hasEmit, h.emitDirty = v, e, true, true
	for _, w := range windowsBelow(h.winIndex, v) {
		if ok && w < from {
			continue // emitted before
		}
		for _, g := range h.winIndex[w] {
			if !h.alive[g] || !h.winOK[g] || h.win[g] != w || h.prev[g] != nil {
				continue
			}
			if err := h.emitChange(g); err != nil {
				return err
			}
		}
	}
	return h.flushOut()
}

// closeWindows closes every group whose window is below wm.
func (h *hashAgg) closeWindows(wm int64) error {
	if err := h.fetchWindows(math.MinInt64, wm); err != nil {
		return err
	}
	for _, v := range windowsBelow(h.winIndex, wm) {
		for _, g := range h.winIndex[v] {
			if !h.alive[g] || !h.winOK[g] || h.win[g] != v {
				continue // freed, and perhaps reused for another window
			}
			if err := h.closeGroup(g); err != nil {
				return err
			}
		}
		delete(h.winIndex, v)
	}
	return h.flushOut()
}

// windowsBelow returns the windows of m below wm, in order.
func windowsBelow[V any](m map[int64]V, wm int64) []int64 {
	var out []int64
	for v := range m {
		if v < wm {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// closeGroup emits group g's final row (EmitOnClose) or its pending
// change, and frees its state.
func (h *hashAgg) closeGroup(g uint32) error {
	switch {
	case h.reopen:
		// its row if not emitted yet, else its change since
		if err := h.emitChange(g); err != nil {
			return err
		}
	case h.eoc && h.rowCount[g] > 0:
		if h.outBuf.Len()+1 > exec.BatchSize {
			if err := h.flushOut(); err != nil {
				return err
			}
		}
		row, err := h.outputRow(g)
		if err != nil {
			return err
		}
		h.emit(stream.Insert, row)
	case !h.eoc && h.dirty[g]:
		if err := h.emitChange(g); err != nil {
			return err
		}
	}
	if err := h.dropGroup(g, func(k []byte) error {
		h.pendingDel = append(h.pendingDel, k)
		return nil
	}); err != nil {
		return err
	}
	h.freeGroup(g)
	return nil
}

// ---------------------------------------------------------------- recovery

// load restores the state of the last committed epoch: all of it, or
// under a memory budget as much as the budget allows (the rest is read
// back when rows need it).
func (h *hashAgg) load(r storage.Reader) error {
	it, err := h.groups.groups.NewIter(r, nil)
	if err != nil {
		return err
	}
	defer it.Close()
	budget := h.cache.Acct.LoadBudget()
	restoreBatch := exec.BatchSize
	if budget >= 0 {
		restoreBatch = 256 // check the budget often
	}
	bySKey := map[string]uint32{}
	var rows []hashAggLoaded
	for it.First(); it.Valid(); it.Next() {
		sk := it.Key()
		val := it.Value()
		if len(sk) > 0 && sk[0] == 0x00 { // no group key starts with 0x00
			if h.spec.WindowCol < 0 {
				continue
			}
			var d types.Datum
			if bytes.Equal(sk, hashAggEmitKey) {
				if d, err = h.emitMark().Decode(val); err != nil {
					return err
				}
				if d != nil {
					h.emitWM, h.emitVal, h.hasEmit = stream.IntOf(d), d, true
				}
				continue
			}
			if bytes.Equal(sk, hashAggWMKeyV1) {
				d, _, err = types.DecodeValue(val, h.spec.GroupTypes[h.spec.WindowCol])
				h.wmLegacy = true
			} else {
				d, err = h.watermark().Decode(val)
			}
			if err != nil {
				return err
			}
			if d != nil && (!h.hasWM || stream.IntOf(d) > h.wm) {
				h.wm, h.wmVal, h.hasWM = stream.IntOf(d), d, true
			}
			continue
		}
		l := hashAggLoaded{skey: bytes.Clone(sk), keys: make([]types.Datum, len(h.spec.GroupTypes))}
		for j, t := range h.spec.GroupTypes {
			if l.keys[j], val, err = types.DecodeValue(val, t); err != nil {
				return err
			}
		}
		if h.cache.Evicted {
			// Over budget: windows must still find their groups.
			if d := l.keys[h.spec.WindowCol]; d != nil {
				h.rememberEvicted(stream.IntOf(d), l.skey)
			}
			continue
		}
		if l.count, val, err = aggVarint(val); err != nil {
			return err
		}
		l.rest = bytes.Clone(val)
		rows = append(rows, l)
		if len(rows) < restoreBatch {
			continue
		}
		if err := h.restore(rows, bySKey); err != nil {
			return err
		}
		rows = rows[:0]
		if budget >= 0 && h.cache.Bytes > budget {
			h.cache.Evicted = true
			if h.winCol < 0 {
				break
			}
		}
	}
	if err := h.restore(rows, bySKey); err != nil {
		return err
	}
	if err := it.Close(); err != nil {
		return err
	}
	if err := h.loadSets(r, bySKey); err != nil {
		return err
	}
	if h.eoc && !h.reopen || h.spec.Phase == PhaseLocal {
		return nil
	}
	// The rows emitted before the restart, to emit changes against.
	for g, ok := range h.persisted {
		if ok && (!h.eoc || h.emitted(uint32(g))) {
			row, err := h.outputRow(uint32(g))
			if err != nil {
				return err
			}
			h.prev[g] = row
		}
	}
	return nil
}

// hashAggLoaded is a group read from table 1.
type hashAggLoaded struct {
	skey  []byte
	keys  []types.Datum
	count int64
	rest  []byte
}

// restore creates the groups of rows with their stored state.
func (h *hashAgg) restore(rows []hashAggLoaded, bySKey map[string]uint32) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]uint32, len(rows))
	if h.global {
		if len(rows) != 1 || len(rows[0].skey) != 0 {
			return sqlerr.New(sqlerr.DataCorrupted, "global aggregate state has a group key")
		}
		ids[0] = hashAggGlobal
	} else {
		keys := make([][]types.Datum, len(rows))
		for i := range rows {
			keys[i] = rows[i].keys
		}
		c := h.keyChunk(keys)
		err := h.assign(c, ids, nil)
		c.Release()
		if err != nil {
			return err
		}
	}
	for i, l := range rows {
		g := ids[i]
		h.rowCount[g] = l.count
		h.skey[g] = l.skey
		h.keys[g] = l.keys
		h.persisted[g] = true
		if _, err := h.decodeGroup(l.rest, g); err != nil {
			return err
		}
		h.account(g, len(l.rest))
		bySKey[string(l.skey)] = g
	}
	return nil
}

// keyChunk returns a chunk whose group columns hold keys, one row each.
func (h *hashAgg) keyChunk(keys [][]types.Datum) *stream.Chunk {
	c := stream.NewChunk(nil, make([]stream.Op, len(keys)))
	for j, col := range h.spec.GroupCols {
		ds := make([]types.Datum, len(keys))
		for i := range keys {
			ds[i] = keys[i][j]
		}
		for len(c.Cols) <= col {
			c.Cols = append(c.Cols, nil)
		}
		c.Cols[col] = types.ArrayFromDatums(h.spec.GroupTypes[j], ds)
	}
	return c
}

// loadSets restores the multiset entries of table 2 of the groups in
// bySKey (all of them, unless the state is partly in memory).
func (h *hashAgg) loadSets(r storage.Reader, bySKey map[string]uint32) error {
	if !h.withSets {
		return nil
	}
	it, err := h.groups.sets.NewIter(r, nil)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		key := it.Key()
		rest := key
		for _, t := range h.spec.GroupTypes {
			if _, rest, err = types.DecodeKey(rest, t, false); err != nil {
				return err
			}
		}
		g, ok := bySKey[string(key[:len(key)-len(rest)])]
		if !ok {
			if h.cache.Evicted {
				continue
			}
			return hashAggCorruptSet()
		}
		if err := h.loadSetEntry(g, rest, it.Value()); err != nil {
			return err
		}
	}
	return it.Close()
}

func hashAggCorruptSet() error {
	return sqlerr.New(sqlerr.DataCorrupted, "corrupt aggregate multiset key")
}

// hasSets reports whether any aggregate keeps multiset entries.
func (h *hashAgg) hasSets() bool {
	for _, s := range h.states {
		if _, none := s.(interface{ noSets() }); !none {
			return true
		}
	}
	return false
}

// loadSetEntry restores one multiset entry of group g: rest is its key
// after the group key (aggregate index, value key), val its value.
func (h *hashAgg) loadSetEntry(g uint32, rest, val []byte) error {
	if len(rest) < 2 {
		return hashAggCorruptSet()
	}
	k := int(binary.BigEndian.Uint16(rest))
	if k >= len(h.states) {
		return hashAggCorruptSet()
	}
	vkey := rest[2:]
	n, val, err := aggVarint(val)
	if err != nil {
		return err
	}
	ts := h.spec.Aggs[k].ArgTypes
	vals := make([]types.Datum, len(ts))
	for j, t := range ts {
		if vals[j], val, err = types.DecodeValue(val, t); err != nil {
			return err
		}
	}
	if err := h.states[k].load(g, vkey, n, vals); err != nil {
		return err
	}
	if len(val) == 0 {
		return nil
	}
	rejected, _, err := aggVarint(val)
	if err != nil {
		return err
	}
	if st, ok := h.states[k].(interface{ set(uint32) *aggMultiset }); ok {
		if set := st.set(g); set != nil {
			if e := set.m[string(vkey)]; e != nil {
				e.rejected = rejected
			}
		}
	}
	return nil
}
