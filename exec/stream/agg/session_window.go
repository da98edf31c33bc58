package agg

// Streaming session windows: an aggregation over SESSION(rel, ts, gap),
// grouped by the partition columns and window_start/window_end, kept
// incrementally over a changelog.
//
// A session of a partition is a maximal run of rows whose consecutive
// times are less than Gap apart (batch.SessionContinues); window_start is
// its first time, window_end its last time plus Gap. The sessions of a
// partition are disjoint, ordered, and at least Gap apart.
//
// # Changes
//
// An insert that falls within Gap of no session opens one; within Gap of
// one session it extends that session (its window may move); within Gap of
// two or more it bridges them into one. A delete shrinks its session, may
// split it in two where it leaves a hole of Gap or more, and removes it
// with its last row. Extensions and deletes that keep the session whole
// fold into the aggregate states (agg_state.go) with one vectorized update
// per chunk and aggregate; merges and splits recompute the sessions they
// make from their rows. At each barrier every changed session emits a
// Delete of the row it emitted before and an Insert of its new row, all
// Deletes first: a merged session may take the key of a session it
// absorbed.
//
// # Watermarks
//
// A watermark W on the time column closes every session whose end (last
// time + Gap) is at or before W: no row at or after W can join it. A
// closed session emits its pending change right away (with EmitOnClose:
// its one final Insert, and nothing before) and its rows are freed. Rows
// behind the watermark are dropped and counted in Stats.LateRows. The
// watermark is forwarded on the window_end output columns: a session that
// can still change ends after W.
//
// With EmitOnClose and Reopen (a view WITH (late_rows = 'reopen') EMIT ON
// WINDOW CLOSE) the watermark's Emit, the watermark as declared, shows a
// session and Val, lowered by the allowed lateness, closes it: a session
// is shown (Insert) once Emit passes its end, and keeps its rows until
// Val does. A row that comes in between may extend a shown session, even
// past Emit again, or bridge it with others: at the barrier every changed
// session is compared with the row it shows, so the view retracts the
// rows of shown sessions that changed, merged away or no longer end
// before Emit, and inserts the rows of the sessions that do. A session
// counts as shown when its end is at or before the emit watermark, which
// is stored with the state, so a restart shows nothing twice and loses no
// change. The output is not append-only.
//
// # State
//
//	table 1 (rows)  key:   partition key (types.AppendKey of each partition
//	                       column), time (AppendKey), argument key (AppendKey
//	                       of each aggregate argument and filter column)
//	                value: count (varint), then the partition values, the
//	                       time and the argument values (types.EncodeRow);
//	                       a row some copies of which a user aggregate
//	                       rejected has the count negated, followed by
//	                       the number of (aggregate, copies) pairs and the
//	                       pairs (uvarints), then the row
//	table 2 (meta)  key:   empty; value: the last watermark (EncodeRow)
//	                key:   0x02; value: the last emit watermark (Reopen)
//
// Rows whose count drops to 0 are deleted; a closed session's rows are
// deleted with one range deletion. On restart (Env.Fresh false) the rows
// are loaded, the sessions derived from them and their aggregates
// recomputed; without EmitOnClose each session's current row counts as
// emitted, which holds because every change is emitted before the barrier
// that commits it.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Values of SessionAggSpec.Group that are not partition columns.
const (
	SessionStartCol = -1
	SessionEndCol   = -2
)

// sessionEmitKey is where the meta table keeps the emit watermark.
var sessionEmitKey = []byte{0x02}

// SessionAggSpec aggregates the sessions of its input.
type SessionAggSpec struct {
	// PartCols are the input columns a session is kept per.
	PartCols []int
	// TSCol is the input's time column (timestamp or timestamptz).
	TSCol int
	// Gap in microseconds.
	Gap int64
	// Group describes the leading output columns (the stream key): an
	// index into PartCols, SessionStartCol or SessionEndCol.
	Group []int
	// Aggs are the aggregate calls (arguments and filters are input
	// columns): output columns after the group columns.
	Aggs []batch.AggSpec
	// AppendOnly: the input never retracts (min/max keep the extreme).
	AppendOnly bool
	// EmitOnClose emits each session once, final, when the watermark
	// passes its end.
	EmitOnClose bool
	// Reopen, with EmitOnClose, shows a session when the watermark's Emit
	// passes its end and keeps it open until its Val does, emitting the
	// changes of rows that come in between (see the file comment).
	Reopen bool
	// LateSpec says what becomes of the rows dropped because they were
	// behind the watermark.
	stream.LateSpec
}

func (s *SessionAggSpec) Explain() string {
	var sb strings.Builder
	sb.WriteString("StreamSessionAgg")
	if len(s.PartCols) > 0 {
		sb.WriteString(" partition by " + batch.ColList(s.PartCols))
	}
	fmt.Fprintf(&sb, " session(#%d, gap %s)", s.TSCol, batch.FormatMicros(s.Gap))
	batch.ExplainAggsWith(&sb, s.Aggs, sessionAggExplain)
	if s.AppendOnly {
		sb.WriteString(" append-only")
	}
	if s.EmitOnClose {
		sb.WriteString(" emit on window close")
		if s.Reopen {
			sb.WriteString(" reopen")
		}
	}
	return sb.String()
}

func (s *SessionAggSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	if len(b.Inputs) != 1 {
		return nil, fmt.Errorf("session aggregate: %d inputs", len(b.Inputs))
	}
	in := b.Inputs[0].Types
	if s.TSCol < 0 || s.TSCol >= len(in) {
		return nil, fmt.Errorf("session aggregate: time column #%d of %d", s.TSCol, len(in))
	}
	o := &sessionAgg{spec: s, env: b.Env, out: out, gap: s.Gap, tsType: in[s.TSCol],
		parts: map[string]*sessionPart{}, reopen: s.Reopen && s.EmitOnClose}
	if err := (batch.SessionParams{TSCol: s.TSCol, TSType: o.tsType, Gap: s.Gap}).Validate(); err != nil {
		return nil, err
	}
	for _, c := range s.PartCols {
		if c < 0 || c >= len(in) {
			return nil, fmt.Errorf("session aggregate: partition column #%d of %d", c, len(in))
		}
		o.partTypes = append(o.partTypes, in[c])
	}
	if len(s.PartCols) == 1 && in[s.PartCols[0]].ArrowType().ID() == arrow.INT64 {
		o.intParts = map[int64]*sessionPart{}
	}
	for _, g := range s.Group {
		switch {
		case g == SessionStartCol || g == SessionEndCol:
			o.outTypes = append(o.outTypes, o.tsType)
		case g >= 0 && g < len(s.PartCols):
			o.outTypes = append(o.outTypes, o.partTypes[g])
		default:
			return nil, fmt.Errorf("session aggregate: group column %d", g)
		}
	}
	// The argument and filter columns the rows keep, in input order.
	for _, a := range s.Aggs {
		o.valCols = append(o.valCols, a.Args...)
		if a.Filter >= 0 {
			o.valCols = append(o.valCols, a.Filter)
		}
	}
	slices.Sort(o.valCols)
	o.valCols = slices.Compact(o.valCols)
	for _, c := range o.valCols {
		if c < 0 || c >= len(in) {
			return nil, fmt.Errorf("session aggregate: argument column #%d of %d", c, len(in))
		}
		o.valTypes = append(o.valTypes, in[c])
	}
	o.rowTypes = append(append(append([]types.T{}, o.partTypes...), o.tsType), o.valTypes...)
	o.rows = b.NewStateTable(stream.AscKeys(o.rowTypes...), o.rowTypes)
	if o.acct = o.rows.Account(); o.acct != nil {
		o.cache = stream.NewPartCache[*sessionPart](b.Env, o.acct)
		o.evictedKeys = map[string]struct{}{}
	}
	o.meta = stream.PersistedWatermark{Table: b.NewStateTable(nil, nil), T: o.tsType}
	o.emitMeta = stream.PersistedWatermark{Table: o.meta.Table, Key: sessionEmitKey, T: o.tsType}
	o.states = make([]aggState, len(s.Aggs))
	o.aggArgs = make([][]int, len(s.Aggs))
	o.aggFilter = make([]int, len(s.Aggs))
	for k, a := range s.Aggs {
		st, err := newAggState(a, s.AppendOnly, nil, b.Env)
		if err != nil {
			return nil, err
		}
		o.states[k] = st
		for _, c := range a.Args {
			o.aggArgs[k] = append(o.aggArgs[k], slices.Index(o.valCols, c))
		}
		o.aggFilter[k] = -1
		if a.Filter >= 0 {
			o.aggFilter[k] = slices.Index(o.valCols, a.Filter)
		}
		o.outTypes = append(o.outTypes, a.T)
	}
	o.allocSlot() // slot 0 takes the rows that feed no session
	var err error
	if o.keep, err = s.NewKeeper(b); err != nil {
		return nil, fmt.Errorf("session aggregate: %w", err)
	}
	if !b.Env.Fresh {
		if err := o.load(b.Env.State); err != nil {
			return nil, fmt.Errorf("session aggregate: load state: %w", err)
		}
	}
	return o, nil
}

type sessionAgg struct {
	spec      *SessionAggSpec
	keep      *stream.LateKeeper
	env       *stream.Env
	out       stream.Output
	gap       int64
	tsType    types.T
	partTypes []types.T
	valCols   []int     // input columns kept with each row
	valTypes  []types.T // their types
	rowTypes  []types.T // partition, time, values: a persisted row
	outTypes  []types.T
	states    []aggState
	aggArgs   [][]int // per aggregate: its arguments' positions in valCols
	aggFilter []int   // per aggregate: its filter's position in valCols, or -1

	rows     *stream.StateTable        // the rows (key: partition, time, values)
	meta     stream.PersistedWatermark // the last watermark
	emitMeta stream.PersistedWatermark // the last emit watermark (Reopen)

	// Partitions by encoded key; intParts instead for a single BIGINT
	// partition column (its non-NULL values).
	parts    map[string]*sessionPart
	intParts map[int64]*sessionPart

	nslots int
	free   stream.FreeList[uint32]

	wm      int64
	hasWM   bool
	wmDirty bool
	closing stream.Heap[*sessionWin] // sessions by last time, for the watermark; entries whose session moved on are stale
	queued  []*sessionWin            // sessions whose last time changed since the last watermark

	// The emit watermark (Reopen): sessions that end at or before it are
	// shown; showing holds the sessions not shown yet by last time
	// (entries whose session moved on are stale).
	reopen    bool
	emitWM    int64
	hasEmit   bool
	emitDirty bool
	showing   stream.Heap[*sessionWin]

	changed   []*sessionWin      // sessions changed since they last emitted
	retired   [][]types.Datum    // emitted rows of sessions that are gone
	dirtyRows []sessionRowRef    // rows changed in this epoch
	rangeDels [][2][]byte        // closed sessions' rows, as state-key spans
	dirtySeen map[string]bool    // scratch for the barrier
	emitBuf   [2][][]types.Datum // scratch: deletes, inserts

	// Under a state memory budget (session_window_cache.go).
	cache       stream.PartCache[*sessionPart]
	acct        *stream.StateAccount
	dirtyParts  []*sessionPart      // partitions changed in this epoch
	evictedKeys map[string]struct{} // partitions left in storage
	evicted     stream.Heap[string] // their sessions by last time, for the watermark
	evictedShow stream.Heap[string] // those not shown, for the emit watermark (Reopen)

	// Scratch for chunks.
	ids    []uint32
	w, wf  []int64
	keyBuf []byte
	args   []types.Datum
}

type sessionPart struct {
	stream.CachedPart
	bytes int64         // estimated resident bytes, as last reported
	gone  bool          // dropped: no session left
	key   []byte        // AppendKey of the partition values
	vals  []types.Datum // the partition values
	ikey  int64         // the key in intParts
	isInt bool
	rows  []sessionRow  // by (ts, key)
	wins  []*sessionWin // by start
}

type sessionRow struct {
	ts   int64
	key  string        // AppendKey of vals
	vals []types.Datum // the valCols values
	n    int64
	// rejected holds, per aggregate, how many of the row's copies a user
	// aggregate rejected (nil: none); persisted with the row so that the
	// sessions rebuilt after a restart do not reject them again.
	rejected []int64
}

type sessionWin struct {
	part        *sessionPart
	start, last int64
	slot        uint32
	n           int64         // rows (with multiplicity)
	out         []types.Datum // the row last emitted, or nil
	changed     bool          // in sessionAgg.changed
	closed      bool          // the watermark passed it: closing
	queued      bool          // in sessionAgg.queued
	dead        bool
}

type sessionRowRef struct {
	part *sessionPart
	ts   int64
	key  string
}

func (o *sessionAgg) allocSlot() uint32 {
	if s, ok := o.free.Take(); ok {
		return s
	}
	s := uint32(o.nslots)
	o.nslots++
	for _, st := range o.states {
		st.grow(o.nslots)
	}
	return s
}

func (o *sessionAgg) freeSlot(s uint32) {
	for _, st := range o.states {
		st.reset(s)
	}
	o.free.Put(s)
}

// part returns row i's partition, reading it back from storage when it
// was evicted, or creating it.
func (o *sessionAgg) part(cols []arrow.Array, i int) (*sessionPart, error) {
	if o.intParts != nil {
		a := cols[o.spec.PartCols[0]].(*array.Int64)
		if a.IsValid(i) {
			v := a.Value(i)
			p := o.intParts[v]
			if p == nil {
				key := o.rows.AppendKeyValue(nil, 0, v)
				if len(o.evictedKeys) > 0 {
					if err := o.readBack(string(key)); err != nil {
						return nil, err
					}
					if p = o.intParts[v]; p != nil {
						return o.used(p), nil
					}
				}
				p = &sessionPart{vals: []types.Datum{v}, ikey: v, isInt: true, key: key}
				o.intParts[v] = p
				o.cached(p)
			}
			return o.used(p), nil
		}
	}
	o.keyBuf = o.keyBuf[:0]
	for j, c := range o.spec.PartCols {
		o.keyBuf = o.rows.AppendKeyValue(o.keyBuf, j, types.GetDatum(cols[c], i, o.partTypes[j]))
	}
	p := o.parts[string(o.keyBuf)]
	if p == nil && len(o.evictedKeys) > 0 {
		if err := o.readBack(string(o.keyBuf)); err != nil {
			return nil, err
		}
		p = o.parts[string(o.keyBuf)]
	}
	if p == nil {
		p = &sessionPart{key: slices.Clone(o.keyBuf)}
		for j, c := range o.spec.PartCols {
			p.vals = append(p.vals, types.GetDatum(cols[c], i, o.partTypes[j]))
		}
		o.parts[string(p.key)] = p
		o.cached(p)
	}
	return o.used(p), nil
}

// partOf returns the partition of the values vals (loading), creating it.
func (o *sessionAgg) partOf(vals []types.Datum) *sessionPart {
	if o.intParts != nil && vals[0] != nil {
		v := vals[0].(int64)
		p := o.intParts[v]
		if p == nil {
			p = &sessionPart{vals: vals, ikey: v, isInt: true, key: o.rows.AppendKeyValue(nil, 0, v)}
			o.intParts[v] = p
			o.cached(p)
		}
		return p
	}
	key := o.rows.AppendKey(nil, vals...)
	p := o.parts[string(key)]
	if p == nil {
		p = &sessionPart{key: key, vals: vals}
		o.parts[string(key)] = p
		o.cached(p)
	}
	return p
}

func (o *sessionAgg) dropPart(p *sessionPart) {
	o.uncached(p)
	if p.isInt {
		delete(o.intParts, p.ikey)
	} else {
		delete(o.parts, string(p.key))
	}
}

// rowIndex finds (ts, key) in p.rows.
func (p *sessionPart) rowIndex(ts int64, key string) (int, bool) {
	n := len(p.rows)
	if n > 0 && (p.rows[n-1].ts < ts || (p.rows[n-1].ts == ts && p.rows[n-1].key < key)) {
		return n, false // appending in time order: the common case
	}
	i := sort.Search(n, func(i int) bool {
		r := &p.rows[i]
		return r.ts > ts || (r.ts == ts && r.key >= key)
	})
	return i, i < n && p.rows[i].ts == ts && p.rows[i].key == key
}

// firstRow is the index of the first row at or after ts.
func (p *sessionPart) firstRow(ts int64) int {
	return sort.Search(len(p.rows), func(i int) bool { return p.rows[i].ts >= ts })
}

// winIndex is the index of the session containing ts, or -1.
func (p *sessionPart) winIndex(ts int64) int {
	j := sort.Search(len(p.wins), func(j int) bool { return p.wins[j].last >= ts })
	if j < len(p.wins) && p.wins[j].start <= ts {
		return j
	}
	return -1
}

// touch records that w changed: it emits at the next barrier (or close)
// and goes back into the watermark's heap.
func (o *sessionAgg) touch(w *sessionWin) {
	if !w.changed {
		w.changed = true
		o.changed = append(o.changed, w)
	}
	if !w.queued {
		w.queued = true
		o.queued = append(o.queued, w)
	}
}

// kill frees a session that merged away or lost its last row.
func (o *sessionAgg) kill(w *sessionWin) {
	if w.out != nil {
		o.retired = append(o.retired, w.out)
		w.out = nil
	}
	o.freeSlot(w.slot)
	w.dead = true
}

// recompute rebuilds w's aggregate states (and row count) from its rows;
// carry are the reject counts of the sessions its rows come from
// (rejectCounts).
func (o *sessionAgg) recompute(w *sessionWin, carry []map[string]int64) error {
	return o.recomputeSome(w, nil, nil, carry)
}

// rejectCounts adds to counts (one map per aggregate, made when nil) how
// many copies of each of its rows w's states rejected at earlier folds:
// the states of an aggregate without retraction fold the session's rows
// again at each change and reject only the copies beyond those counts
// (fold), which a rebuilt state must therefore get back.
func (o *sessionAgg) rejectCounts(counts []map[string]int64, w *sessionWin) []map[string]int64 {
	for k, st := range o.states {
		set := st.set(w.slot)
		if set == nil {
			continue
		}
		for key, e := range set.m {
			if e.rejected == 0 {
				continue
			}
			if counts == nil {
				counts = make([]map[string]int64, len(o.states))
			}
			if counts[k] == nil {
				counts[k] = map[string]int64{}
			}
			counts[k][key] += e.rejected
		}
	}
	return counts
}

// restoreRejects gives w's rebuilt states the counts of rejectCounts, at
// most each entry's copies.
func (o *sessionAgg) restoreRejects(w *sessionWin, counts []map[string]int64) {
	for k, m := range counts {
		set := o.states[k].set(w.slot)
		if set == nil {
			continue
		}
		for key, n := range m {
			if e := set.m[key]; e != nil {
				e.rejected = min(e.n, max(e.rejected, n))
			}
		}
	}
}

// argKey is aggregate k's entry key of row r: its arguments as
// aggSets.tupleKey encodes them.
func (o *sessionAgg) argKey(k int, r *sessionRow) string {
	var b []byte
	for j, a := range o.aggArgs[k] {
		b = types.AppendKey(b, r.vals[a], o.spec.Aggs[k].ArgTypes[j], false)
	}
	return string(b)
}

// rowRejects returns the reject counts (as rejectCounts) the rows of w
// carry.
func (o *sessionAgg) rowRejects(w *sessionWin) []map[string]int64 {
	var counts []map[string]int64
	p := w.part
	for i := p.firstRow(w.start); i < len(p.rows) && p.rows[i].ts <= w.last; i++ {
		r := &p.rows[i]
		for k, c := range r.rejected {
			if c == 0 {
				continue
			}
			if counts == nil {
				counts = make([]map[string]int64, len(o.states))
			}
			if counts[k] == nil {
				counts[k] = map[string]int64{}
			}
			counts[k][o.argKey(k, r)] += c
		}
	}
	return counts
}

// attributeRejects shares the reject counts of w's states out among its
// rows (the first rows with an entry's arguments, up to each row's
// copies), marking the rows whose share changed to be persisted.
func (o *sessionAgg) attributeRejects(w *sessionWin) {
	counts := o.rejectCounts(nil, w)
	p := w.part
	for i := p.firstRow(w.start); i < len(p.rows) && p.rows[i].ts <= w.last; i++ {
		r := &p.rows[i]
		if counts == nil && r.rejected == nil {
			continue
		}
		var share []int64
		for k, m := range counts {
			if m == nil {
				continue
			}
			key := o.argKey(k, r)
			if c := min(m[key], r.n); c > 0 {
				if share == nil {
					share = make([]int64, len(o.states))
				}
				share[k] = c
				m[key] -= c
			}
		}
		if !slices.Equal(share, r.rejected) {
			r.rejected = share
			o.dirtyRows = append(o.dirtyRows, sessionRowRef{part: p, ts: r.ts, key: r.key})
		}
	}
}

// recomputeSome is recompute of the states k with !keep[k] (all of them
// for a nil keep), leaving one copy of row skip out when it is set; the
// row count is recomputed always, skip included. The rows went through
// the aggregates before, so a function that fails on one again does not
// reject it again: the states fed here are quiet, and those that fold
// their rows again later get the counts carry holds.
func (o *sessionAgg) recomputeSome(w *sessionWin, keep []bool, skip *sessionRowRef, carry []map[string]int64) error {
	defer o.quietRejects()()
	defer o.restoreRejects(w, carry)
	for k, st := range o.states {
		if keep == nil || !keep[k] {
			st.reset(w.slot)
		}
	}
	p := w.part
	w.n = 0
	for i := p.firstRow(w.start); i < len(p.rows) && p.rows[i].ts <= w.last; i++ {
		r := &p.rows[i]
		w.n += r.n
		copies := r.n
		if skip != nil && r.ts == skip.ts && r.key == skip.key {
			copies--
		}
		for k, st := range o.states {
			if keep != nil && keep[k] {
				continue
			}
			if f := o.aggFilter[k]; f >= 0 && r.vals[f] != true {
				continue
			}
			o.args = o.args[:0]
			for _, a := range o.aggArgs[k] {
				o.args = append(o.args, r.vals[a])
			}
			// The states take weights of ±1 (a sum adds its value once
			// per call), so a duplicate row goes in once per copy.
			for m := int64(0); m < copies; m++ {
				if err := st.updateRow(w.slot, o.args, 1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// quietRejects makes the user functions the operator calls leave out the
// rows they fail on without rejecting them (again), until the returned
// function restores them.
func (o *sessionAgg) quietRejects() func() {
	if o.env == nil || o.env.Ctx == nil || o.env.Ctx.Env.OnRowError == nil {
		return func() {}
	}
	prev := o.env.Ctx.Env.OnRowError
	o.env.Ctx.Env.OnRowError = func(string, error, []types.Datum, []types.T) {}
	return func() { o.env.Ctx.Env.OnRowError = prev }
}

func (o *sessionAgg) Chunk(_ int, c *stream.Chunk) error {
	defer c.Release()
	tsArr, ok := c.Cols[o.spec.TSCol].(*array.Timestamp)
	if !ok {
		return fmt.Errorf("session aggregate: time column is %s", c.Cols[o.spec.TSCol].DataType())
	}
	tsVals := tsArr.TimestampValues()
	n := c.N
	o.ids = slices.Grow(o.ids[:0], n)[:n]
	o.w = slices.Grow(o.w[:0], n)[:n]
	var late int64
	lo := 0 // rows [lo, i) wait for the vectorized update
	for i := 0; i < n; i++ {
		o.ids[i], o.w[i] = 0, 0
		if tsArr.IsNull(i) {
			continue // no session
		}
		ts := int64(tsVals[i])
		if o.hasWM && ts < o.wm {
			late++
			o.keep.Add(c, i, o.spec.TSCol, types.Timestamp(o.wm), o.tsType)
			continue
		}
		p, err := o.part(c.Cols, i)
		if err != nil {
			return err
		}
		var vals []types.Datum
		key := ""
		if len(o.valCols) > 0 {
			vals = make([]types.Datum, len(o.valCols))
			o.keyBuf = o.keyBuf[:0]
			for j, col := range o.valCols {
				vals[j] = types.GetDatum(c.Cols[col], i, o.valTypes[j])
				o.keyBuf = o.rows.AppendKeyValue(o.keyBuf, len(o.partTypes)+1+j, vals[j])
			}
			key = string(o.keyBuf)
		}
		var structural bool
		if c.Ops[i].IsInsert() {
			structural, err = o.insert(c, lo, i, p, ts, key, vals)
		} else {
			structural, err = o.delete(c, lo, i, p, ts, key)
		}
		if err != nil {
			return err
		}
		if structural {
			// The rows before i were folded in and row i is part of the
			// recomputed sessions.
			o.ids[i], o.w[i] = 0, 0
			lo = i + 1
		}
	}
	if late > 0 {
		o.env.CountLate(late)
	}
	return o.fold(c, lo, n)
}

// fold applies the weights of rows [lo, hi) of c to the aggregate states.
func (o *sessionAgg) fold(c *stream.Chunk, lo, hi int) error {
	if hi <= lo {
		return nil
	}
	whole := lo == 0 && hi == c.N
	var sliced []arrow.Array
	col := func(ci int) arrow.Array {
		if whole {
			return c.Cols[ci]
		}
		s := array.NewSlice(c.Cols[ci], int64(lo), int64(hi))
		sliced = append(sliced, s)
		return s
	}
	defer func() {
		for _, s := range sliced {
			s.Release()
		}
	}()
	ids, w := o.ids[lo:hi], o.w[lo:hi]
	for k, st := range o.states {
		a := o.spec.Aggs[k]
		args := make([]arrow.Array, len(a.Args))
		for j, ci := range a.Args {
			args[j] = col(ci)
		}
		wk := w
		if a.Filter >= 0 {
			f, ok := col(a.Filter).(*array.Boolean)
			if !ok {
				return fmt.Errorf("session aggregate: filter column is not boolean")
			}
			o.wf = slices.Grow(o.wf[:0], len(w))[:len(w)]
			for i := range w {
				o.wf[i] = 0
				if f.IsValid(i) && f.Value(i) {
					o.wf[i] = w[i]
				}
			}
			wk = o.wf
		}
		if err := st.update(ids, wk, args); err != nil {
			return err
		}
		st.reset(0)
	}
	return nil
}

// insert adds row i (time ts, argument key and values) to partition p.
// structural reports that sessions merged (and were recomputed, row i
// included); otherwise row i's session slot and weight are set for fold.
func (o *sessionAgg) insert(c *stream.Chunk, lo, i int, p *sessionPart, ts int64, key string, vals []types.Datum) (bool, error) {
	ri, found := p.rowIndex(ts, key)
	if found {
		p.rows[ri].n++
	} else {
		p.rows = slices.Insert(p.rows, ri, sessionRow{ts: ts, key: key, vals: vals, n: 1})
	}
	o.dirtyRows = append(o.dirtyRows, sessionRowRef{part: p, ts: ts, key: key})
	o.markDirty(p)

	// The sessions within gap of ts: [j, k).
	j := sort.Search(len(p.wins), func(j int) bool {
		w := p.wins[j]
		return ts <= w.last || batch.SessionContinues(w.last, ts, o.gap)
	})
	k := j
	for k < len(p.wins) && (p.wins[k].start <= ts || batch.SessionContinues(ts, p.wins[k].start, o.gap)) {
		k++
	}
	switch k - j {
	case 0:
		w := &sessionWin{part: p, start: ts, last: ts, slot: o.allocSlot(), n: 1}
		p.wins = slices.Insert(p.wins, j, w)
		o.touch(w)
		o.ids[i], o.w[i] = w.slot, 1
		return false, nil
	case 1:
		w := p.wins[j]
		w.start, w.last = min(w.start, ts), max(w.last, ts)
		w.n++
		o.touch(w)
		o.ids[i], o.w[i] = w.slot, 1
		return false, nil
	}
	// A bridge: the first session absorbs the others.
	if err := o.fold(c, lo, i); err != nil {
		return false, err
	}
	w := p.wins[j]
	w.start, w.last = min(w.start, ts), max(p.wins[k-1].last, ts)
	var carry []map[string]int64
	for _, x := range p.wins[j:k] {
		carry = o.rejectCounts(carry, x)
	}
	// States that merge (a user aggregate's merge) combine the absorbed
	// sessions' states and take row i; the others are folded again
	// from the merged session's rows, row i included.
	merged, all, err := o.mergeStates(w, p.wins[j+1:k])
	if err != nil {
		return false, err
	}
	n := w.n + 1
	for _, x := range p.wins[j+1 : k] {
		n += x.n
		o.kill(x)
	}
	p.wins = slices.Delete(p.wins, j+1, k)
	o.touch(w)
	if all {
		w.n = n
	} else if err := o.recomputeSome(w, merged, &sessionRowRef{ts: ts, key: key}, carry); err != nil {
		return false, err
	}
	// Row i goes into every state last, as the one row that is new.
	for k, st := range o.states {
		if f := o.aggFilter[k]; f >= 0 && vals[f] != true {
			continue
		}
		o.args = o.args[:0]
		for _, a := range o.aggArgs[k] {
			o.args = append(o.args, vals[a])
		}
		if err := st.updateRow(w.slot, o.args, 1); err != nil {
			return false, err
		}
	}
	return true, nil
}

// mergeStates folds the states of the sessions xs into w's, for every
// aggregate whose state merges; merged[k] says aggregate k did (nil:
// none), all that every one did.
func (o *sessionAgg) mergeStates(w *sessionWin, xs []*sessionWin) (merged []bool, all bool, err error) {
	all = true
	for k, st := range o.states {
		m, ok := st.(aggMerger)
		done := ok
		for _, x := range xs {
			if !done {
				break
			}
			if done, err = m.merge(w.slot, x.slot); err != nil {
				return nil, false, err
			}
		}
		if !done {
			all = false
			continue
		}
		if merged == nil {
			merged = make([]bool, len(o.states))
		}
		merged[k] = true
	}
	return merged, all && merged != nil, nil
}

// delete removes row i from partition p; see insert.
func (o *sessionAgg) delete(c *stream.Chunk, lo, i int, p *sessionPart, ts int64, key string) (bool, error) {
	ri, found := p.rowIndex(ts, key)
	wi := p.winIndex(ts)
	if !found || wi < 0 {
		return false, nil // not a live row: nothing to retract
	}
	o.dirtyRows = append(o.dirtyRows, sessionRowRef{part: p, ts: ts, key: key})
	o.markDirty(p)
	w := p.wins[wi]
	w.n--
	o.touch(w)
	p.rows[ri].n--
	if p.rows[ri].n > 0 {
		o.ids[i], o.w[i] = w.slot, -1
		return false, nil
	}
	p.rows = slices.Delete(p.rows, ri, ri+1)
	if w.n == 0 {
		if err := o.fold(c, lo, i); err != nil {
			return false, err
		}
		o.kill(w)
		p.wins = slices.Delete(p.wins, wi, wi+1)
		if len(p.wins) == 0 {
			o.dropPart(p)
		}
		return true, nil
	}
	// Neighbours of the removed row within the session.
	hasPrev := ri > 0 && p.rows[ri-1].ts >= w.start
	hasNext := ri < len(p.rows) && p.rows[ri].ts <= w.last
	switch {
	case hasPrev && hasNext && p.rows[ri-1].ts != ts && p.rows[ri].ts != ts && !batch.SessionContinues(p.rows[ri-1].ts, p.rows[ri].ts, o.gap):
		// A split.
		if err := o.fold(c, lo, i); err != nil {
			return false, err
		}
		nw := &sessionWin{part: p, start: p.rows[ri].ts, last: w.last, slot: o.allocSlot()}
		w.last = p.rows[ri-1].ts
		p.wins = slices.Insert(p.wins, wi+1, nw)
		o.touch(nw)
		carry := o.rejectCounts(nil, w)
		if err := o.recompute(w, carry); err != nil {
			return false, err
		}
		return true, o.recompute(nw, carry)
	case !hasNext:
		w.last = p.rows[ri-1].ts
	case !hasPrev:
		w.start = p.rows[ri].ts
	}
	o.ids[i], o.w[i] = w.slot, -1
	return false, nil
}

// result is w's output row.
func (o *sessionAgg) result(w *sessionWin) ([]types.Datum, error) {
	row := make([]types.Datum, 0, len(o.outTypes))
	for _, g := range o.spec.Group {
		switch g {
		case SessionStartCol:
			row = append(row, types.Timestamp(w.start))
		case SessionEndCol:
			row = append(row, types.Timestamp(batch.SessionEnd(w.last, o.gap)))
		default:
			row = append(row, w.part.vals[g])
		}
	}
	for _, st := range o.states {
		d, err := st.result(w.slot)
		if err != nil {
			return nil, err
		}
		row = append(row, d)
	}
	return row, nil
}

// openAt reports whether a session whose last time is last is still
// open at watermark wm: a row at or after wm may still join it.
func (o *sessionAgg) openAt(last, wm int64) bool {
	return wm < last || batch.SessionContinues(last, wm, o.gap)
}

// shown reports whether w's row is shown (Reopen): the emit watermark
// has passed its end.
func (o *sessionAgg) shown(w *sessionWin) bool {
	return o.hasEmit && !o.openAt(w.last, o.emitWM)
}

// emitChanges emits the retired rows' deletes and the changes of wins
// (those still changed and alive), deletes first. With Reopen every
// live session of wins is compared with the row it shows (none until
// it is shown), and its changed flag is left to the barrier.
func (o *sessionAgg) emitChanges(wins []*sessionWin) error {
	dels, ins := append(o.emitBuf[0][:0], o.retired...), o.emitBuf[1][:0]
	o.retired = o.retired[:0]
	for _, w := range wins {
		if w.dead || !w.changed && !o.reopen {
			continue
		}
		if !o.reopen {
			w.changed = false
		}
		var row []types.Datum
		if !o.reopen || o.shown(w) {
			var err error
			if row, err = o.result(w); err != nil {
				return err
			}
		}
		if w.out != nil {
			if row != nil && bytes.Equal(types.EncodeRow(nil, w.out, o.outTypes), types.EncodeRow(nil, row, o.outTypes)) {
				continue
			}
			dels = append(dels, w.out)
		}
		if row != nil {
			ins = append(ins, row)
		}
		w.out = row
	}
	o.emitBuf[0], o.emitBuf[1] = dels, ins
	return o.emit(dels, ins)
}

// emit sends dels as Deletes and ins as Inserts in one chunk.
func (o *sessionAgg) emit(dels, ins [][]types.Datum) error {
	n := len(dels) + len(ins)
	if n == 0 {
		return nil
	}
	ops := make([]stream.Op, n)
	for i := len(dels); i < n; i++ {
		ops[i] = stream.Insert
	}
	for i := range dels {
		ops[i] = stream.Delete
	}
	cols := make([]arrow.Array, len(o.outTypes))
	ds := make([]types.Datum, n)
	for j, t := range o.outTypes {
		for i, r := range dels {
			ds[i] = r[j]
		}
		for i, r := range ins {
			ds[len(dels)+i] = r[j]
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	return o.out.Chunk(stream.NewChunk(cols, ops))
}

func (o *sessionAgg) Watermark(_ int, wm stream.Watermark) error {
	if wm.Col != o.spec.TSCol || wm.Val == nil {
		return nil // other input columns are not output
	}
	t, ok := wm.Val.(types.Timestamp)
	if !ok {
		return fmt.Errorf("session aggregate: watermark %T on the time column", wm.Val)
	}
	if !o.hasWM || int64(t) > o.wm {
		o.wm, o.hasWM, o.wmDirty = int64(t), true, true
	}
	var emit types.Datum
	if o.reopen {
		e := o.wm
		if et, ok := wm.Emit.(types.Timestamp); ok {
			e = max(e, int64(et))
		}
		if err := o.advanceEmit(e); err != nil {
			return err
		}
		emit = types.Timestamp(o.emitWM)
	}
	if err := o.close(); err != nil {
		return err
	}
	if o.reopen {
		if err := o.showPassed(); err != nil {
			return err
		}
	}
	for i, g := range o.spec.Group {
		if g == SessionEndCol {
			if err := o.out.Watermark(stream.Watermark{Col: i, Val: types.Timestamp(o.wm), Emit: emit}); err != nil {
				return err
			}
		}
	}
	return nil
}

// advanceEmit moves the emit watermark to e (Reopen). The evicted
// partitions with a session e passes are read back first, while the old
// emit watermark still says the session is not shown.
func (o *sessionAgg) advanceEmit(e int64) error {
	if o.hasEmit && e <= o.emitWM {
		return nil
	}
	for o.evictedShow.Len() > 0 {
		top := o.evictedShow.Min()
		if o.openAt(top.Key, e) {
			break
		}
		o.evictedShow.Pop()
		if err := o.readBack(top.Val); err != nil {
			return err
		}
	}
	o.emitWM, o.hasEmit, o.emitDirty = e, true, true
	return nil
}

// showPassed shows the sessions the emit watermark has passed (Reopen).
func (o *sessionAgg) showPassed() error {
	var passed []*sessionWin
	for o.showing.Len() > 0 {
		top := o.showing.Min()
		w, last := top.Val, top.Key
		if !w.dead && w.last == last && o.openAt(last, o.emitWM) {
			break
		}
		o.showing.Pop()
		if !w.dead && w.last == last {
			passed = append(passed, w)
		}
	}
	return o.emitChanges(passed)
}

// close emits and frees the sessions the watermark has passed.
func (o *sessionAgg) close() error {
	if err := o.readBackClosing(); err != nil {
		return err
	}
	for _, w := range o.queued {
		w.queued = false
		if !w.dead {
			o.closing.Push(w.last, w)
			if o.reopen {
				o.showing.Push(w.last, w)
			}
		}
	}
	o.queued = o.queued[:0]
	var closed []*sessionWin
	for o.closing.Len() > 0 {
		top := o.closing.Min()
		w, last := top.Val, top.Key
		if !w.dead && w.last == last && o.openAt(last, o.wm) {
			break // still open
		}
		o.closing.Pop()
		if w.dead || w.last != last || w.closed {
			// The session moved on or is gone: a stale entry; or a
			// second entry of it (changed again, its last time kept).
			continue
		}
		w.closed = true
		closed = append(closed, w)
	}
	if len(closed) == 0 {
		return nil
	}
	if o.spec.EmitOnClose && !o.reopen {
		ins := make([][]types.Datum, 0, len(closed))
		for _, w := range closed {
			row, err := o.result(w)
			if err != nil {
				return err
			}
			ins = append(ins, row)
		}
		if err := o.emit(nil, ins); err != nil {
			return err
		}
	} else if err := o.emitChanges(closed); err != nil {
		return err
	}
	for _, w := range closed {
		p := w.part
		hi := p.firstRow(w.last + 1)
		lo := p.firstRow(w.start)
		p.rows = slices.Delete(p.rows, lo, hi)
		p.wins = slices.DeleteFunc(p.wins, func(x *sessionWin) bool { return x == w })
		o.rangeDels = append(o.rangeDels, [2][]byte{
			o.rows.AppendKeyValue(slices.Clone(p.key), len(o.partTypes), types.Timestamp(w.start)),
			o.rows.AppendKeyValue(slices.Clone(p.key), len(o.partTypes), types.Timestamp(w.last+1))})
		w.out = nil
		o.freeSlot(w.slot)
		w.dead = true
		o.markDirty(p)
		if len(p.wins) == 0 {
			o.dropPart(p)
		}
	}
	return nil
}

func (o *sessionAgg) Barrier(b *stream.Barrier) error {
	if err := o.keep.Flush(b); err != nil {
		return fmt.Errorf("session aggregate: late rows: %w", err)
	}
	if !o.spec.EmitOnClose || o.reopen {
		if err := o.emitChanges(o.changed); err != nil {
			return err
		}
	}
	for _, w := range o.changed {
		w.changed = false
		if w.dead {
			continue
		}
		o.attributeRejects(w)
		for _, st := range o.states {
			if s := st.set(w.slot); s != nil {
				s.flush(func(*aggEntry) {})
			}
		}
	}
	o.changed = o.changed[:0]
	if !o.hasWM {
		// No watermark drains the queue: keep only live sessions in it
		// (a first watermark still finds every session).
		o.queued = slices.DeleteFunc(o.queued, func(w *sessionWin) bool { return w.dead })
	}
	if err := o.persist(b); err != nil {
		return err
	}
	o.shrink(b.Epoch)
	return o.out.Barrier(b)
}

// persist writes the epoch's row changes and watermark.
func (o *sessionAgg) persist(b *stream.Barrier) error {
	for _, r := range o.rangeDels {
		if err := o.rows.DeleteRange(b.Writes, r[0], r[1]); err != nil {
			return err
		}
	}
	o.rangeDels = o.rangeDels[:0]
	if o.dirtySeen == nil {
		o.dirtySeen = map[string]bool{}
	}
	var key, val []byte
	for _, ref := range o.dirtyRows {
		p := ref.part
		key = o.rows.AppendKeyValue(append(key[:0], p.key...), len(o.partTypes), types.Timestamp(ref.ts))
		key = append(key, ref.key...)
		if o.dirtySeen[string(key)] {
			continue
		}
		o.dirtySeen[string(key)] = true
		ri, found := p.rowIndex(ref.ts, ref.key)
		if !found || p.rows[ri].n <= 0 {
			if err := o.rows.Delete(b.Writes, key); err != nil {
				return err
			}
			continue
		}
		r := &p.rows[ri]
		row := append(append(append(make([]types.Datum, 0, len(o.rowTypes)), p.vals...), types.Timestamp(r.ts)), r.vals...)
		if r.rejected == nil {
			val = binary.AppendVarint(val[:0], r.n)
		} else {
			val = binary.AppendVarint(val[:0], -r.n)
			pairs := 0
			for _, c := range r.rejected {
				if c > 0 {
					pairs++
				}
			}
			val = binary.AppendUvarint(val, uint64(pairs))
			for k, c := range r.rejected {
				if c > 0 {
					val = binary.AppendUvarint(binary.AppendUvarint(val, uint64(k)), uint64(c))
				}
			}
		}
		val = o.rows.AppendValue(val, row)
		if err := o.rows.Insert(b.Writes, key, val); err != nil {
			return err
		}
	}
	clear(o.dirtySeen)
	o.dirtyRows = o.dirtyRows[:0]
	if o.wmDirty {
		if err := o.meta.Store(b.Writes, types.Timestamp(o.wm)); err != nil {
			return err
		}
		o.wmDirty = false
	}
	if o.emitDirty {
		if err := o.emitMeta.Store(b.Writes, types.Timestamp(o.emitWM)); err != nil {
			return err
		}
		o.emitDirty = false
	}
	return nil
}

// load restores the rows and the watermark committed last and derives
// the sessions. Under a state budget it stops loading rows once the
// instance's load budget is spent, at a partition boundary: the sessions
// of the partitions after it stay in storage, known only by their last
// times (session_window_cache.go).
func (o *sessionAgg) load(r storage.Reader) error {
	if wm, err := o.meta.Load(r); err != nil {
		return err
	} else if t, isTS := wm.(types.Timestamp); isTS {
		o.wm, o.hasWM = int64(t), true
	}
	if o.reopen {
		if e, err := o.emitMeta.Load(r); err != nil {
			return err
		} else if t, isTS := e.(types.Timestamp); isTS {
			o.emitWM, o.hasEmit = int64(t), true
		}
	}
	budget := o.acct.LoadBudget()
	var touched []*sessionPart
	var loaded int64
	var skip sessionSkip
	err := o.rows.Scan(r, nil, func(k, v []byte) error {
		if skip.on {
			return o.skipRow(&skip, k, v)
		}
		p, err := o.loadRow(v)
		if err != nil {
			return err
		}
		if len(p.rows) == 1 {
			if budget >= 0 && loaded > budget {
				// The budget is spent: p is the first partition left
				// in storage.
				o.dropPart(p)
				skip.on = true
				return o.skipRow(&skip, k, v)
			}
			touched = append(touched, p)
		}
		loaded += sessionRowBytes(&p.rows[0])
		return nil
	})
	if err != nil {
		return err
	}
	o.endSkip(&skip)
	for _, p := range touched {
		if err := o.derive(p); err != nil {
			return err
		}
	}
	if o.acct != nil {
		for _, p := range touched {
			p.bytes = o.partBytes(p)
			o.cache.Bytes += p.bytes
		}
		o.acct.Report(o.cache.Bytes)
	}
	return nil
}

// loadRow adds the stored row with value v to its partition, which it
// returns.
func (o *sessionAgg) loadRow(v []byte) (*sessionPart, error) {
	nPart := len(o.partTypes)
	n, rejected, row, ts, err := o.decodeRow(v)
	if err != nil {
		return nil, err
	}
	p := o.partOf(row[:nPart:nPart])
	vals := row[nPart+1:]
	var key []byte
	for j, d := range vals {
		key = o.rows.AppendKeyValue(key, nPart+1+j, d)
	}
	ri, found := p.rowIndex(int64(ts), string(key))
	if found {
		r := &p.rows[ri]
		r.n += n
		for k, c := range rejected {
			if r.rejected == nil {
				r.rejected = make([]int64, len(o.states))
			}
			r.rejected[k] += c
		}
	} else {
		p.rows = slices.Insert(p.rows, ri, sessionRow{ts: int64(ts), key: string(key), vals: vals, n: n, rejected: rejected})
	}
	return p, nil
}

// decodeRow decodes the stored row value v: its count, its reject
// counts per aggregate (nil for none), the row (partition values, time,
// argument values) and its time.
func (o *sessionAgg) decodeRow(v []byte) (int64, []int64, []types.Datum, types.Timestamp, error) {
	n, rest, err := aggVarint(v)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	var rejected []int64
	if n < 0 {
		n = -n
		pairs, k := binary.Uvarint(rest)
		if k <= 0 {
			return 0, nil, nil, 0, fmt.Errorf("corrupt reject counts of a session row")
		}
		rest = rest[k:]
		rejected = make([]int64, len(o.states))
		for range pairs {
			agg, k1 := binary.Uvarint(rest)
			if k1 <= 0 {
				return 0, nil, nil, 0, fmt.Errorf("corrupt reject counts of a session row")
			}
			c, k2 := binary.Uvarint(rest[k1:])
			if k2 <= 0 || agg >= uint64(len(rejected)) {
				return 0, nil, nil, 0, fmt.Errorf("corrupt reject counts of a session row")
			}
			rejected[agg] = int64(c)
			rest = rest[k1+k2:]
		}
	}
	row, err := o.rows.DecodeValue(rest)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	ts, isTS := row[len(o.partTypes)].(types.Timestamp)
	if !isTS {
		return 0, nil, nil, 0, fmt.Errorf("row without a time")
	}
	return n, rejected, row, ts, nil
}

// derive makes the sessions of partition p from its rows (loaded or read
// back, so committed): their aggregates are recomputed, and without
// EmitOnClose (with Reopen: if the emit watermark passed them) their
// current rows count as emitted.
func (o *sessionAgg) derive(p *sessionPart) error {
	for i := 0; i < len(p.rows); {
		w := &sessionWin{part: p, start: p.rows[i].ts, last: p.rows[i].ts, slot: o.allocSlot()}
		for i++; i < len(p.rows) && batch.SessionContinues(w.last, p.rows[i].ts, o.gap); i++ {
			w.last = p.rows[i].ts
		}
		p.wins = append(p.wins, w)
		if err := o.recompute(w, o.rowRejects(w)); err != nil {
			return err
		}
		if !o.spec.EmitOnClose || o.reopen && o.shown(w) {
			var err error
			if w.out, err = o.result(w); err != nil {
				return err
			}
		}
		w.queued = true
		o.queued = append(o.queued, w)
	}
	return nil
}
