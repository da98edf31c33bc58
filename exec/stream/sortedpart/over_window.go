package sortedpart

// General over window: window functions (row_number, rank, lag, lead,
// aggregates over ROWS and RANGE frames, ...) with one PARTITION BY and
// ORDER BY, maintained incrementally over a retracting input. The output
// is every input row plus one column per function; when a change of the
// input changes the value of a function for other rows of its partition
// (a running sum, the row numbers after an insert), those rows are
// updated.
//
// # State
//
// One table, every live input row:
//
//	key:   partition key ++ order key ++ stream key
//	value: the row (types.EncodeRow)
//
// The keys use the group top-N's column encodings (top_n_keys.go): the
// order key honours DESC and NULLS FIRST/LAST, so a partition's rows lie
// in window order and ties in the ORDER BY fall to the stream key, the
// streaming tie-break. The table changes with every input row and is
// cleaned by the input's deletes. The function values emitted last are
// not stored: they follow from the rows of the last committed epoch, so a
// restart recomputes them from the loaded rows.
//
// # Memory
//
// A partition in memory is its rows in window order, each with the
// function values emitted for it. Under the state memory budget
// (exec/stream/state_cache.go) whole partitions are evicted once their last write
// has committed and the clock hand finds them unused; a row of a
// partition not in memory reads the partition back by a prefix scan of
// the state table and recomputes its function values from its rows, as
// a restart does (over_window_cache.go). A partition left empty stays in
// memory until its deletes have committed, so such a read never finds
// stale rows. A restart loads partitions up to its share of the budget.
//
// # Barrier
//
// Changes are applied to the rows as they arrive and only remembered as
// the range of keys they touched. At the barrier each changed partition
// is recomputed over the positions whose values may have changed
// (over_window_range.go): from the first change for row numbers, ranks
// and running aggregates; from the first change to the last plus n for
// a frame "n PRECEDING AND CURRENT ROW"; the whole partition for
// functions of its size (ntile, percent_rank, cume_dist) and for RANGE
// or GROUPS offsets. The functions are computed by the batch window
// operator over the rows the recomputed frames can reach, one operator
// for all the partitions of the epoch (each a partition of its own); row_number,
// rank and dense_rank are counted directly. New values are compared with
// the emitted ones: rows whose values changed are updated (U-/U+), rows
// that came and went are inserted and deleted (a row deleted and
// inserted with the same stream key in a partition is an update). All
// deletes of an epoch go out before its inserts, so a row moving between
// partitions is never present twice downstream.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// OverWindowSpec computes window functions sharing one PARTITION BY and
// ORDER BY over a changelog.
type OverWindowSpec struct {
	Partition []int
	Order     []batch.SortKey
	// Funcs are the window functions; their Args and Filter are input
	// columns.
	Funcs []batch.WindowFunc
	// Offsets[i] is the constant row offset of a lag or lead (1 when not
	// given), or -1 when it is not a constant: then every change
	// recomputes the whole partition.
	Offsets []int64
	// Types and StreamKey describe the input.
	Types     []types.T
	StreamKey []int
	// EmitOnClose emits each row once, when its values are final under
	// the watermark on the only ORDER BY column (over_window_eowc.go).
	EmitOnClose bool
}

func (s *OverWindowSpec) Explain() string {
	var sb strings.Builder
	sb.WriteString("StreamOverWindow")
	if s.EmitOnClose {
		sb.WriteString(" (emit on window close)")
	}
	if len(s.Partition) > 0 {
		sb.WriteString(" partition by " + batch.ColList(s.Partition))
	}
	if len(s.Order) > 0 {
		keys := make([]string, len(s.Order))
		for i, k := range s.Order {
			keys[i] = k.String()
		}
		sb.WriteString(" order by " + strings.Join(keys, ", "))
	}
	sb.WriteString(" functions: ")
	for i, f := range s.Funcs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(overWindowFuncName(f) + "(" + batch.ColList(f.Args) + ")")
		if overWindowUsesFrame(f) {
			sb.WriteString(" " + overWindowFrameString(f.Frame))
		}
	}
	return sb.String()
}

func overWindowFuncName(f batch.WindowFunc) string {
	if f.Agg != nil {
		return f.Agg.Name
	}
	return f.Name
}

// overWindowUsesFrame reports whether f's value depends on its frame.
func overWindowUsesFrame(f batch.WindowFunc) bool {
	switch f.Name {
	case "", "first_value", "last_value", "nth_value":
		return true
	}
	return false
}

// overWindowFrameString renders a frame as SQL ("rows between 10
// preceding and current row").
func overWindowFrameString(fr batch.Frame) string {
	if fr.Start.Kind == batch.UnboundedPreceding && fr.End.Kind == batch.UnboundedPreceding {
		return "range between unbounded preceding and current row"
	}
	mode := "range"
	switch fr.Mode {
	case batch.RowsFrame:
		mode = "rows"
	case batch.GroupsFrame:
		mode = "groups"
	}
	bound := func(b batch.FrameBound) string {
		switch b.Kind {
		case batch.UnboundedPreceding:
			return "unbounded preceding"
		case batch.UnboundedFollowing:
			return "unbounded following"
		case batch.CurrentRow:
			return "current row"
		case batch.OffsetPreceding:
			return fmt.Sprint(b.Offset) + " preceding"
		}
		return fmt.Sprint(b.Offset) + " following"
	}
	s := mode + " between " + bound(fr.Start) + " and " + bound(fr.End)
	if fr.ExcludeCurrentRow {
		s += " exclude current row"
	}
	return s
}

func (s *OverWindowSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	w := &overWindow{spec: s, env: b.Env, out: out,
		state: b.NewStateTable(partitionedKeys(s.Types, s.Partition, s.Order, s.StreamKey), s.Types)}
	w.nIn = len(s.Types)
	w.outTypes = slices.Clone(s.Types)
	var fts []types.T
	for i, f := range s.Funcs {
		w.outTypes = append(w.outTypes, f.T)
		fts = append(fts, f.T)
		if f.Agg == nil && (f.Name == "row_number" || f.Name == "rank" || f.Name == "dense_rank") {
			w.native = append(w.native, i)
			continue
		}
		w.batchFuncs = append(w.batchFuncs, f)
		w.batchIdx = append(w.batchIdx, i)
	}
	w.outBuf = stream.NewChunkBuilder(w.outTypes)
	if len(w.native)+len(w.batchFuncs) == 0 {
		return nil, sqlerr.New(sqlerr.InternalError, "over window without functions")
	}
	w.isNative = make([]bool, len(s.Funcs))
	for _, i := range w.native {
		w.isNative[i] = true
	}
	rc, err := overWindowReaches(b.Env.Ctx, s)
	if err != nil {
		return nil, err
	}
	w.reach = rc
	all := make([]int, len(s.Types))
	for i := range all {
		all[i] = i
	}
	w.dec = storage.NewRowDecoder(s.Types, all)
	fall := make([]int, len(fts))
	for i := range fall {
		fall[i] = i
	}
	w.outDec = storage.NewRowDecoder(fts, fall)
	w.cache = stream.NewPartCache[*owPart](b.Env, w.state.Account())
	if s.EmitOnClose {
		if len(s.Order) != 1 || s.Order[0].Desc {
			return nil, sqlerr.New(sqlerr.InternalError, "over window: EMIT ON WINDOW CLOSE needs one ascending ORDER BY column")
		}
		ahead, err := OverWindowLookahead(b.Env.Ctx, s)
		if err != nil {
			return nil, err
		}
		w.eowc = &eowcState{ahead: ahead,
			persisted: stream.PersistedWatermark{Table: b.NewStateTable(nil, nil), T: s.Types[s.Order[0].Col]}}
		w.eowc.behind, w.eowc.trim = eowcTrim(rc)
		if !w.eowc.trim {
			if w.eowc.behind, w.eowc.running, w.eowc.trim, err = eowcTrimRunning(b.Env.Ctx, s); err != nil {
				return nil, err
			}
		}
		w.eowc.bases = w.eowc.persisted.Table
		if !b.Env.Fresh {
			wm, err := w.eowc.persisted.Load(b.Env.State)
			if err != nil {
				return nil, fmt.Errorf("over window: load watermark: %w", err)
			}
			if wm != nil {
				w.eowc.wm = wm
				w.setEmitted(wm)
			}
		}
	}
	if !b.Env.Fresh {
		if err := w.load(b.Env.State); err != nil {
			return nil, fmt.Errorf("over window: load state: %w", err)
		}
	}
	return w, nil
}

// owRow is a row of a partition: its sort key (order key ++ stream key,
// without the partition key) followed by its encoded value, in one
// immutable allocation, and the function values emitted for it.
type owRow struct {
	kv  []byte
	ol  int32  // length of the order key
	kl  int32  // length of the sort key
	out []byte // emitted function values (types.EncodeRow); nil: not emitted
}

func (r *owRow) key() []byte   { return r.kv[:r.kl] }
func (r *owRow) order() []byte { return r.kv[:r.ol] }
func (r *owRow) sid() []byte   { return r.kv[r.ol:r.kl] }
func (r *owRow) val() []byte   { return r.kv[r.kl:] }

// owWrite is a state change of the epoch: a row stored or deleted.
type owWrite struct {
	key []byte // sort key
	val []byte // nil: delete
}

// owPart is a partition: its rows in window order and the epoch's changes.
type owPart struct {
	stream.CachedPart
	rows []owRow
	// Dirty (stream.CachedPart): changed in this epoch; lo and hi are the
	// smallest and largest sort keys the epoch inserted or deleted, loOl
	// and hiOl the lengths of their order keys.
	lo, hi     []byte
	loOl, hiOl int
	// removed are emitted rows the epoch deleted.
	removed []owRow
	writes  []owWrite

	emptied bool // empty, in overWindow.emptied until its deletes commit

	// EMIT ON WINDOW CLOSE: the leading rows emitted, and whether the
	// partition is in eowcState.pending.
	emitted int
	pending bool
	// base and denseBase count the rows trimmed before rows[0] and their
	// peer groups (over_window_eowc.go); zero unless trimmed.
	base, denseBase int64
	// runBase are the running aggregates' values at the last trimmed row
	// (over_window_running.go); nil unless trimmed.
	runBase []types.Datum
}

type overWindow struct {
	spec     *OverWindowSpec
	env      *stream.Env
	out      stream.Output
	state    *stream.StateTable
	nIn      int
	outTypes []types.T
	dec      storage.RowDecoder // input rows
	outDec   storage.RowDecoder // function values
	reach    owReach
	eowc     *eowcState // nil unless EmitOnClose

	// native are the functions counted directly (row_number, rank,
	// dense_rank); batchFuncs the others, computed by the batch window
	// operator, at positions batchIdx among Funcs.
	native     []int
	isNative   []bool
	batchFuncs []batch.WindowFunc
	batchIdx   []int

	cache stream.PartCache[*owPart] // the partitions in memory (over_window_cache.go)
	dirty []*owPart
	// emptied are empty partitions whose deletes may not have committed.
	emptied []*owPart

	// Per-chunk scratch.
	pk, sk, vals [][]byte
	ol           []int32
	sel          []int32
	// Barrier scratch.
	outBuf   stream.ChunkBuilder
	dels     []owChange
	rest     []owChange
	kbuf     []byte
	match    sidMatch
	outVals  [][]byte
	outSel   []int32
	natVals  [][]int64
	newOut   [][]byte
	jobs     []owJob
	ctxBuild []array.Builder
}

// owChange is an output row: op, the row's value and function values.
type owChange struct {
	op  stream.Op
	val []byte
	out []byte
}

// ---------------------------------------------------------------- input

func (w *overWindow) Chunk(_ int, c *stream.Chunk) error {
	defer c.Release()
	n := c.N
	if n == 0 {
		return nil
	}
	w.pk, w.sk, w.ol = encodePartKeys(w.state, c, w.spec.Partition, w.spec.Order, w.spec.StreamKey, w.pk, w.sk, w.ol)
	w.sel = w.sel[:0]
	for i := range n {
		if c.Ops[i].IsInsert() {
			w.sel = append(w.sel, int32(i))
		}
	}
	if len(w.sel) > 0 {
		w.vals = topNReset(w.vals, n)
		for _, i := range w.sel {
			w.vals[i] = binary.AppendUvarint(w.vals[i], uint64(len(c.Cols)))
		}
		for j, col := range c.Cols {
			types.AppendValues(w.vals, w.sel, col, w.spec.Types[j])
		}
	}
	var p *owPart
	for i := range n {
		// Consecutive rows of one partition (the common case of a
		// clustered input) skip the map lookup.
		if p == nil || p.PKey != string(w.pk[i]) {
			var err error
			if p, err = w.part(w.pk[i]); err != nil {
				return err
			}
		}
		w.touch(p, w.sk[i], int(w.ol[i]))
		if c.Ops[i].IsInsert() {
			w.insert(p, i)
			if w.eowc != nil {
				w.markPending(p)
			}
			continue
		}
		if err := w.delete(p, i); err != nil {
			return err
		}
	}
	return nil
}

// touch marks p changed and widens its changed key range to key.
func (w *overWindow) touch(p *owPart, key []byte, ol int) {
	p.Ref = true
	if !p.Dirty {
		p.Dirty = true
		w.dirty = append(w.dirty, p)
		p.lo = append(p.lo[:0], key...)
		p.hi = append(p.hi[:0], key...)
		p.loOl, p.hiOl = ol, ol
		return
	}
	if bytes.Compare(key, p.lo) < 0 {
		p.lo, p.loOl = append(p.lo[:0], key...), ol
	}
	if bytes.Compare(key, p.hi) > 0 {
		p.hi, p.hiOl = append(p.hi[:0], key...), ol
	}
}

func (p *owPart) search(key []byte) (int, bool) {
	return slices.BinarySearchFunc(p.rows, key, func(r owRow, k []byte) int { return bytes.Compare(r.key(), k) })
}

func (w *overWindow) insert(p *owPart, i int) {
	k, v := w.sk[i], w.vals[i]
	kv := make([]byte, len(k)+len(v))
	copy(kv, k)
	copy(kv[len(k):], v)
	r := owRow{kv: kv, ol: w.ol[i], kl: int32(len(k))}
	p.writes = append(p.writes, owWrite{key: r.key(), val: r.val()})
	w.cache.Bytes += int64(len(kv)) + owRowBytes
	// Rows mostly come in window order (an event-time ORDER BY): a row
	// that sorts last is appended without a search.
	if n := len(p.rows); n == 0 || bytes.Compare(p.rows[n-1].key(), r.key()) < 0 {
		p.rows = append(p.rows, r)
		return
	}
	at, found := p.search(r.key())
	if found {
		// The input inserted a live key again: the new row replaces it.
		old := p.rows[at]
		if old.out != nil {
			p.removed = append(p.removed, old)
		}
		w.cache.Bytes -= int64(len(old.kv)+len(old.out)) + owRowBytes
		p.rows[at] = r
		return
	}
	p.rows = slices.Insert(p.rows, at, r)
}

func (w *overWindow) delete(p *owPart, i int) error {
	at, found := p.search(w.sk[i])
	if !found {
		return sqlerr.New(sqlerr.InternalError, "over window: delete of a row not in its partition")
	}
	r := p.rows[at]
	if r.out != nil {
		p.removed = append(p.removed, r)
	}
	p.writes = append(p.writes, owWrite{key: r.key()})
	w.cache.Bytes -= int64(len(r.kv)+len(r.out)) + owRowBytes
	p.rows = slices.Delete(p.rows, at, at+1)
	return nil
}

// Watermark drops watermarks: a later change can update the function
// values of any row, however old. Under EMIT ON WINDOW CLOSE a watermark
// on the ORDER BY column closes rows; the next barrier emits them.
func (w *overWindow) Watermark(_ int, wm stream.Watermark) error {
	if w.eowc == nil || wm.Col != w.spec.Order[0].Col || wm.Val == nil {
		return nil
	}
	if w.eowc.wm == nil || types.Compare(wm.Val, w.eowc.wm, w.spec.Types[wm.Col]) > 0 {
		w.eowc.wm = wm.Val
	}
	return nil
}

// ---------------------------------------------------------------- barrier

func (w *overWindow) Barrier(b *stream.Barrier) error {
	w.dels, w.rest = w.dels[:0], w.rest[:0]
	// One computation for every changed partition: a batch window
	// operator per partition would cost more than the rows it computes.
	w.jobs = w.jobs[:0]
	total := 0
	for _, p := range w.dirty {
		j := w.plan(p, true, total)
		total += j.b - j.a
		w.jobs = append(w.jobs, j)
	}
	if err := w.compute(w.jobs, total); err != nil {
		return err
	}
	for i, p := range w.dirty {
		if err := w.finish(w.jobs[i], true); err != nil {
			return err
		}
		if err := w.write(b, p); err != nil {
			return err
		}
		p.Dirty = false
		clear(p.removed)
		p.removed = p.removed[:0]
		clear(p.writes)
		p.writes = p.writes[:0]
		p.LastWrite = b.Epoch
		if len(p.rows) == 0 {
			switch {
			case w.cache.Acct == nil:
				// Without a budget nothing is evicted, so nothing is
				// ever read back: forget the partition at once.
				w.drop(p)
			case !p.emptied:
				p.emptied = true
				w.emptied = append(w.emptied, p)
			}
		}
	}
	clear(w.dirty)
	w.dirty = w.dirty[:0]
	clear(w.jobs)
	if w.eowc != nil {
		// Rows go out once, final: the changes of their values before
		// that are not output.
		clear(w.dels)
		clear(w.rest)
		w.dels, w.rest = w.dels[:0], w.rest[:0]
		if err := w.emitClosed(b); err != nil {
			return err
		}
	}
	if err := w.emit(); err != nil {
		return err
	}
	w.settleEmptied()
	w.shrink()
	return w.out.Barrier(b)
}

// write puts p's state changes of the epoch into the barrier's batch.
func (w *overWindow) write(b *stream.Barrier, p *owPart) error {
	for _, wr := range p.writes {
		w.kbuf = append(append(w.kbuf[:0], p.PKey...), wr.key...)
		var err error
		if wr.val == nil {
			err = w.state.Delete(b.Writes, w.kbuf)
		} else {
			err = w.state.Insert(b.Writes, w.kbuf, wr.val)
		}
		if err != nil {
			return fmt.Errorf("over window: write state: %w", err)
		}
	}
	return nil
}

// settle recomputes the function values of p's rows the epoch may have
// changed and, when emit is set, records the output changes. Without
// emit (at load) it recomputes every row.
func (w *overWindow) settle(p *owPart, emit bool) error {
	j := w.plan(p, emit, 0)
	w.jobs = append(w.jobs[:0], j)
	err := w.compute(w.jobs, j.b-j.a)
	clear(w.jobs)
	if err != nil {
		return err
	}
	return w.finish(j, emit)
}

// owJob is the recomputation of a partition: positions [a, b) reading
// rows [ca, cb), whose new values go to newOut[off:off+b-a].
type owJob struct {
	p            *owPart
	a, b, ca, cb int
	off          int
}

// plan returns the recomputation of the positions of p the epoch may
// have changed (every position without emit).
func (w *overWindow) plan(p *owPart, emit bool, off int) owJob {
	n := len(p.rows)
	j := owJob{p: p, b: n, cb: n, off: off}
	if emit && n > 0 {
		f, g := p.changed()
		j.a, j.b, j.ca, j.cb = w.reach.ranges(f, g, n)
		j.ca, j.cb = p.peerStart(j.ca), p.peerEnd(j.cb)
	}
	return j
}

// finish takes the values job j computed and, when emit is set, records
// the output changes.
func (w *overWindow) finish(j owJob, emit bool) error {
	p, a, bEnd := j.p, j.a, j.b
	newOut := w.newOut[j.off : j.off+bEnd-a]
	if !emit {
		for i := range p.rows {
			p.rows[i].out = slices.Clone(newOut[i])
			w.cache.Bytes += int64(len(p.rows[i].kv)+len(p.rows[i].out)) + owRowBytes
		}
		return nil
	}
	// Rows of the epoch, matched with the rows it removed by stream key.
	removed := p.removed
	w.match.reset(len(removed), 8, func(j int) []byte { return removed[j].sid() })
	for i := a; i < bEnd; i++ {
		r := &p.rows[i]
		nv := newOut[i-a]
		if r.out != nil {
			if !bytes.Equal(r.out, nv) {
				w.rest = append(w.rest, owChange{op: stream.UpdateDelete, val: r.val(), out: r.out})
				w.cache.Bytes += int64(len(nv) - len(r.out))
				r.out = slices.Clone(nv)
				w.rest = append(w.rest, owChange{op: stream.UpdateInsert, val: r.val(), out: r.out})
			}
			continue
		}
		r.out = slices.Clone(nv)
		w.cache.Bytes += int64(len(r.out))
		j := w.match.find(r.sid())
		if j < 0 {
			w.rest = append(w.rest, owChange{op: stream.Insert, val: r.val(), out: r.out})
			continue
		}
		if bytes.Equal(removed[j].val(), r.val()) && bytes.Equal(removed[j].out, r.out) {
			continue
		}
		w.rest = append(w.rest, owChange{op: stream.UpdateDelete, val: removed[j].val(), out: removed[j].out},
			owChange{op: stream.UpdateInsert, val: r.val(), out: r.out})
	}
	for j := range removed {
		if !w.match.matched[j] {
			w.dels = append(w.dels, owChange{op: stream.Delete, val: removed[j].val(), out: removed[j].out})
		}
	}
	return nil
}

// changed returns the positions [f, g) of p's rows that the epoch
// touched, widened to whole peer groups (rows equal on the ORDER BY):
// outside them the rows are the same as before, in the same order.
func (p *owPart) changed() (f, g int) {
	lo, hi := p.lo[:p.loOl], p.hi[:p.hiOl]
	f, _ = slices.BinarySearchFunc(p.rows, lo, func(r owRow, k []byte) int { return bytes.Compare(r.key(), k) })
	g = f + sortSearch(len(p.rows)-f, func(i int) bool { return bytes.Compare(p.rows[f+i].order(), hi) > 0 })
	return f, g
}

// peerStart moves position i back to the first row of its peer group.
func (p *owPart) peerStart(i int) int {
	if i <= 0 || i >= len(p.rows) {
		return max(i, 0)
	}
	o := p.rows[i].order()
	for i > 0 && bytes.Equal(p.rows[i-1].order(), o) {
		i--
	}
	return i
}

// peerEnd moves end position e forward past the peers of row e-1.
func (p *owPart) peerEnd(e int) int {
	if e <= 0 || e >= len(p.rows) {
		return min(e, len(p.rows))
	}
	o := p.rows[e-1].order()
	for e < len(p.rows) && bytes.Equal(p.rows[e].order(), o) {
		e++
	}
	return e
}

// sortSearch is sort.Search without the import of sort for one call.
func sortSearch(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !f(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// ---------------------------------------------------------------- output

func (w *overWindow) emit() error {
	if len(w.dels)+len(w.rest) == 0 {
		return nil
	}
	cols := w.outBuf.Cols()
	for _, list := range [][]owChange{w.dels, w.rest} {
		for _, ch := range list {
			if err := w.dec.DecodeInto(ch.val, cols[:w.nIn]); err != nil {
				return sqlerr.Wrap(fmt.Errorf("over window: stored row: %w", err), sqlerr.DataCorrupted)
			}
			if err := w.outDec.DecodeInto(ch.out, cols[w.nIn:]); err != nil {
				return sqlerr.Wrap(fmt.Errorf("over window: function values: %w", err), sqlerr.DataCorrupted)
			}
			w.outBuf.Add(ch.op)
		}
	}
	clear(w.dels)
	clear(w.rest)
	return w.outBuf.Flush(w.out)
}
