package stream

// MATCH_RECOGNIZE in views: the incremental form of the ad-hoc operator
// (exec/batch/match_recognize.go), over an append-only input with a
// watermark on the ORDER BY time column.
//
// Rows arrive in any order; a row waits in the buffer of its partition
// until the watermark passes it (no row of a smaller time can come after
// that), and the rows the watermarks released are then fed to the shared
// matcher (exec/match) in (time, arrival) order, every partition's next
// row in one Step, so that DEFINE conditions are evaluated as vectors
// across partitions. After feeding, the watermark also ends the partial
// matches WITHIN forbids to take any later row (Expire), and every
// partition drops the rows no partial match or navigation can read any
// more (Trim). Matches are emitted once, as inserts (ONE ROW PER MATCH),
// with a hidden match number that with the partition columns is the
// output's stream key. A row behind the watermark is late: it is counted
// and kept in the late_rows relation, never matched.
//
// The matcher is fed in rounds: a watermark only records how far rows
// are released, and the rows go to the matcher once mrRound rows have
// arrived since the last round, or at the next barrier. A source moves
// its watermark with nearly every chunk, and feeding every chunk's few
// rows per partition on their own cost a Step, a sort and a pass over
// the open partitions each time; in rounds the same work covers many
// chunks, and matches still reach the view by the barrier that follows
// their last row's watermark.
//
// State, three tables:
//
//   - rows: block number -> the rows that arrived in one epoch, every row
//     buffered or kept by the matcher (match_recognize_rows.go); written
//     at the barrier that ends the epoch, deleted at the barrier after its
//     last row is trimmed;
//   - partitions: partition key -> the matcher's encoded state of the
//     partition (match.Partition.EncodeState), rewritten at every barrier
//     after which it changed; a partition's kept rows are its handles in
//     that state, the other rows of the partition wait in the buffer;
//   - meta: the last watermark.
//
// Under the state memory budget (StateMemory) the unit that is evicted
// and read back is a partition. A partition without rows buffered for the
// watermark may go, with or without partial matches: it keeps the rows
// its partial matches hold and the few rows navigation reads back from
// its next row (at most maxBack). Such a partition is written in a
// self-contained form, its kept rows' values inside its entry, so that
// once that write has committed the partition and its rows can leave
// memory (their rows free their blocks) and its key is remembered in a
// set; a row of an evicted partition reads the entry back and keeps its
// rows again under new handles. A partition evicted with partial matches
// that WITHIN ends is also read back by the watermark that ends the
// first of them: its entry carries that deadline (the match's first
// row's time plus WITHIN), and the evicted partitions wait for it in a
// heap. A restart under a budget loads the partitions with buffered rows
// and only the keys (and deadlines) of the others.

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/match"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// MatchRecognizeSpec is MATCH_RECOGNIZE over an append-only input whose
// time column TimeCol (the first ORDER BY column) carries watermarks.
type MatchRecognizeSpec struct {
	// Match is the matcher's spec: pattern, conditions, measures,
	// partition columns (Match.Partition) and WITHIN.
	Match match.Spec
	// TimeCol is the input's ORDER BY time column (timestamp or
	// timestamptz).
	TimeCol int
	// OrderCols are the further ORDER BY columns: rows of one time are
	// matched in their order (NULLs last), then in arrival order.
	OrderCols []int
	// Types are the input's column types.
	Types []types.T
	// Desc is the plan's description, for EXPLAIN.
	Desc string
	// LateSpec says what becomes of the rows behind the watermark.
	LateSpec
}

func (s *MatchRecognizeSpec) Explain() string { return "StreamMatchRecognize " + s.Desc }

// mrPart is one partition: its key, the matcher's state and the rows
// waiting for the watermark.
type mrPart struct {
	key string
	p   *match.Partition
	buf []mrRow

	// With a budget: the position in matchRecognize.list, used since the
	// clock hand last passed (ref), the epoch of the last write and
	// whether it was the self-contained form, and the estimated bytes.
	pos       int
	ref       bool
	embedded  bool
	lastWrite uint64
	bytes     int64
}

// mrEmbedded marks a partition entry in the self-contained form: the
// matcher's state (which starts with its version byte, never this one),
// then the rows the partition keeps. mrEmbeddedOpen marks that form for a
// partition with partial matches: the deadline (varint, mrNoDeadline
// without WITHIN) comes first, then the same.
const (
	mrEmbedded     = 0xfe
	mrEmbeddedOpen = 0xfd
	mrNoDeadline   = math.MaxInt64
)

// mrPartBytes estimates a partition's memory besides its key and state.
const mrPartBytes = 192

// mrRow is a buffered row: its time and handle.
type mrRow struct {
	ts     int64
	handle int64
}

type matchRecognize struct {
	spec *MatchRecognizeSpec
	env  *Env
	out  Output
	keep *LateKeeper
	m    *match.Matcher

	rows    *mrRows
	parts   *StateTable
	wmState PersistedWatermark

	partByKey  map[string]*mrPart
	waiting    map[*mrPart]struct{} // partitions with buffered rows
	open       map[*mrPart]struct{} // partitions with partial matches
	byMatcher  map[*match.Partition]*mrPart
	dirtyParts map[*mrPart]struct{} // partitions whose matcher state changed
	wm         int64
	hasWM      bool
	wmDirty    bool
	maxBack    int64
	// behind: the watermark moved since the last round fed the matcher;
	// arrived counts the rows buffered since that round.
	behind  bool
	arrived int

	// With a budget (cache.Acct not nil): the partitions in memory, for
	// the clock hand, the keys of those left in storage only, and the
	// estimated bytes of the partitions in memory.
	cache   StateCache
	list    []*mrPart
	evicted map[string]struct{}
	pbytes  int64
	// deadlines are the evicted partitions with partial matches that
	// WITHIN ends, by the watermark that ends the first (key -> deadline,
	// and a heap of them; an entry whose key has another deadline or none
	// is stale).
	deadlines map[string]int64
	dueHeap   mrDueHeap

	keyBuf []byte
	valBuf []byte
	kv     []types.Datum
	// scratch of Chunk
	sel     []int32
	handles []int64
	keys    [][]byte
	keyCols []arrow.Array
}

func (s *MatchRecognizeSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	t := s.Types[s.TimeCol]
	if t.Kind != types.TimestampKind && t.Kind != types.TimestampTZ {
		return nil, fmt.Errorf("match_recognize: time column #%d is %s", s.TimeCol, t)
	}
	partTypes := make([]types.T, len(s.Match.Partition))
	for i, c := range s.Match.Partition {
		partTypes[i] = s.Types[c]
	}
	o := &matchRecognize{spec: s, env: b.Env, out: out,
		parts:     b.NewStateTable(AscKeys(partTypes...), []types.T{types.TBytea}),
		partByKey: map[string]*mrPart{}, waiting: map[*mrPart]struct{}{},
		open: map[*mrPart]struct{}{}, dirtyParts: map[*mrPart]struct{}{}, byMatcher: map[*match.Partition]*mrPart{},
		maxBack: s.Match.MaxBack()}
	o.rows = newMRRows(s.Types, s.TimeCol, b.NewStateTable(AscKeys(types.TInt8), s.Types))
	meta := b.NewStateTable(nil, nil)
	o.wmState = PersistedWatermark{Table: meta, Key: []byte{'w'}, T: t}
	o.m = match.New(b.Env.Ctx, s.Match, o)
	o.cache = NewStateCache(b.Env, o.parts.Account())
	o.evicted = map[string]struct{}{}
	o.deadlines = map[string]int64{}
	var err error
	if o.keep, err = s.NewKeeper(b); err != nil {
		return nil, fmt.Errorf("match_recognize: %w", err)
	}
	if !b.Env.Fresh {
		if err := o.load(b.Env.State); err != nil {
			return nil, fmt.Errorf("match_recognize: load state: %w", err)
		}
	}
	return o, nil
}

// load reads the committed state: the watermark, the next handle, the
// partitions' matcher states and the rows; rows no partition keeps are
// the buffered ones.
func (o *matchRecognize) load(r storage.Reader) error {
	wm, err := o.wmState.Load(r)
	if err != nil {
		return err
	}
	if wm != nil {
		o.wm, o.hasWM = int64(wm.(types.Timestamp)), true
	}
	kept := map[int64]bool{}
	// Self-contained partitions keep their rows in their entries: under a
	// budget they stay there, without one they are read once the blocks
	// are (their rows take new handles after the blocks' numbers).
	var later [][2]string
	err = o.parts.Scan(r, nil, func(k, v []byte) error {
		key := string(k)
		st, err := o.partState(v)
		if err != nil {
			return fmt.Errorf("partition %x: %w", k, err)
		}
		if len(st) > 0 && (st[0] == mrEmbedded || st[0] == mrEmbeddedOpen) {
			if o.cache.Acct != nil {
				o.evicted[key] = struct{}{}
				o.cache.Evicted = true
				if st[0] == mrEmbeddedOpen {
					d, k := binary.Varint(st[1:])
					if k <= 0 {
						return fmt.Errorf("match_recognize: corrupt partition %x", key)
					}
					o.due(key, d)
				}
			} else {
				later = append(later, [2]string{key, string(st)})
			}
			return nil
		}
		mp, err := o.m.DecodeState(key, st)
		if err != nil {
			return fmt.Errorf("partition %x: %w", k, err)
		}
		p := &mrPart{key: key, p: mp}
		o.addPart(p, len(v), 0)
		if mp.Open() {
			o.open[p] = struct{}{}
		}
		for _, h := range mp.Handles() {
			kept[h] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A partition read back for a waiting row that fails to read fails
	// the load (the row is not dropped as gone).
	var partErr error
	err = o.rows.table.Scan(r, nil, func(k, v []byte) error {
		return o.rows.Load(k, v, func(h int64, row []types.Datum, ts int64) bool {
			if kept[h] {
				return true
			}
			if o.hasWM && ts < o.wm {
				return false // fed to the matcher and trimmed since
			}
			p, err := o.part(row)
			if err != nil {
				partErr = err
				return true
			}
			p.buf = append(p.buf, mrRow{ts: ts, handle: h})
			o.waiting[p] = struct{}{}
			return true
		})
	})
	if err == nil {
		err = partErr
	}
	if err != nil {
		return err
	}
	for _, kv := range later {
		if _, err := o.restorePart(kv[0], []byte(kv[1]), 0); err != nil {
			return err
		}
	}
	if o.cache.Acct != nil {
		// Partitions without buffered rows stored with references to
		// rows (by a run without a budget) are written again
		// self-contained.
		for _, p := range o.list {
			if !p.embedded && len(p.buf) == 0 {
				o.dirtyParts[p] = struct{}{}
			}
		}
	}
	o.cache.Report()
	return nil
}

// partState returns the partition state of an entry of the partitions
// table: the matcher's state, or the self-contained form.
func (o *matchRecognize) partState(v []byte) ([]byte, error) {
	row, err := o.parts.DecodeValue(v)
	if err != nil {
		return nil, err
	}
	st, _ := row[0].([]byte)
	return st, nil
}

// restorePart makes partition key from its self-contained form st: the
// matcher's state, and its kept rows under new handles. lastWrite is the
// epoch of the entry's write (0 when loaded at start).
func (o *matchRecognize) restorePart(key string, st []byte, lastWrite uint64) (*mrPart, error) {
	corrupt := fmt.Errorf("match_recognize: corrupt partition %x", key)
	if st[0] == mrEmbeddedOpen {
		_, k := binary.Varint(st[1:])
		if k <= 0 {
			return nil, corrupt
		}
		st = st[1+k:] // after the deadline, the form of mrEmbedded
	}
	n, k := binary.Uvarint(st[1:])
	if k <= 0 || n > uint64(len(st)-1-k) {
		return nil, corrupt
	}
	rest := st[1+k:]
	mp, err := o.m.DecodeState(key, rest[:n])
	if err != nil {
		return nil, fmt.Errorf("partition %x: %w", key, err)
	}
	rest = rest[n:]
	count, k := binary.Uvarint(rest)
	if k <= 0 || count > uint64(len(rest)) {
		return nil, corrupt
	}
	rest = rest[k:]
	rows := make([][]types.Datum, count)
	for i := range rows {
		if rows[i], rest, err = o.rows.DecodeRow(rest); err != nil {
			return nil, err
		}
	}
	if len(rest) != 0 {
		return nil, corrupt
	}
	if err := mp.SetHandles(o.rows.AddRows(rows, nil)); err != nil {
		return nil, err
	}
	p := &mrPart{key: key, p: mp, embedded: true}
	o.addPart(p, len(st), lastWrite)
	if mp.Open() {
		o.open[p] = struct{}{}
	}
	return p, nil
}

// addPart puts p in memory; size is the length of its stored state.
func (o *matchRecognize) addPart(p *mrPart, size int, lastWrite uint64) {
	o.partByKey[p.key] = p
	o.byMatcher[p.p] = p
	if o.cache.Acct == nil {
		return
	}
	p.pos, p.ref, p.lastWrite = len(o.list), true, lastWrite
	o.list = append(o.list, p)
	p.bytes = mrPartBytes + 2*int64(len(p.key)+size)
	o.pbytes += p.bytes
}

// part returns the partition of row, made when new.
func (o *matchRecognize) part(row []types.Datum) (*mrPart, error) {
	o.kv = o.kv[:0]
	for _, c := range o.spec.Match.Partition {
		o.kv = append(o.kv, row[c])
	}
	o.keyBuf = o.parts.AppendKey(o.keyBuf[:0], o.kv...)
	return o.partFor(o.keyBuf)
}

// partFor returns the partition of key: in memory, read back from
// storage when evicted, or made when new.
func (o *matchRecognize) partFor(k []byte) (*mrPart, error) {
	if p, ok := o.partByKey[string(k)]; ok {
		p.ref = true
		return p, nil
	}
	key := string(k)
	if o.cache.Evicted {
		if _, ok := o.evicted[key]; ok {
			return o.readBack(key)
		}
	}
	p := &mrPart{key: key, p: &match.Partition{Key: key}}
	o.addPart(p, 0, 0)
	o.dirtyParts[p] = struct{}{}
	return p, nil
}

// readBack reads evicted partition key from storage, whose committed
// state holds it in the self-contained form.
func (o *matchRecognize) readBack(key string) (*mrPart, error) {
	delete(o.evicted, key)
	delete(o.deadlines, key)
	v, ok, err := o.parts.Get(o.env.State, []byte(key))
	if err == nil && !ok {
		err = fmt.Errorf("an evicted partition is not in storage")
	}
	var st []byte
	if err == nil {
		st, err = o.partState(v)
	}
	if err == nil && (len(st) == 0 || st[0] != mrEmbedded && st[0] != mrEmbeddedOpen) {
		err = fmt.Errorf("an evicted partition was stored with references to rows")
	}
	if err != nil {
		return nil, sqlerr.Wrap(fmt.Errorf("match_recognize: read back partition %x: %w", key, err), sqlerr.DataCorrupted)
	}
	o.cache.CountRead()
	// Clean as of its last write, which committed.
	return o.restorePart(key, st, o.env.CommittedEpoch())
}

// evictable reports whether p may leave memory: no rows buffered,
// written in the self-contained form and committed since.
func (o *matchRecognize) evictable(p *mrPart, committed uint64) bool {
	if len(p.buf) > 0 || !p.embedded || p.lastWrite > committed {
		return false
	}
	_, dirty := o.dirtyParts[p]
	return !dirty
}

// evict leaves p in storage only: its rows are freed and its key goes to
// the evicted set.
func (o *matchRecognize) evict(p *mrPart) {
	// (the deadline reads the time of a kept row: before they go)
	if d, ok := o.m.Deadline(p.p); ok {
		o.due(p.key, d)
	}
	delete(o.open, p)
	before := o.rows.Bytes()
	for _, h := range p.p.Handles() {
		o.rows.Free(h)
	}
	delete(o.partByKey, p.key)
	delete(o.byMatcher, p.p)
	o.evicted[p.key] = struct{}{}
	o.pbytes -= p.bytes
	o.cache.Bytes -= p.bytes + before - o.rows.Bytes()
	last := o.list[len(o.list)-1]
	o.list[p.pos], last.pos = last, p.pos
	o.list[len(o.list)-1] = nil
	o.list = o.list[:len(o.list)-1]
}

// shrink runs at the barrier after the epoch's writes: while the
// instance is over its share of the budget, idle partitions whose
// self-contained form has committed leave memory.
func (o *matchRecognize) shrink() {
	if o.cache.Acct == nil {
		return
	}
	o.cache.Bytes = o.pbytes + o.rows.Bytes()
	o.cache.Shrink(Entries{
		Len:    func() int { return len(o.list) },
		Pinned: func(i int, committed uint64) bool { return !o.evictable(o.list[i], committed) },
		TakeRef: func(i int) bool {
			p := o.list[i]
			r := p.ref
			p.ref = false
			return r
		},
		Drop: func(i int) bool {
			o.evict(o.list[i])
			return i < len(o.list)
		},
	})
}

// encodePart appends p's entry of the partitions table to buf: the
// matcher's state, or with a budget for a partition without buffered
// rows the self-contained form.
func (o *matchRecognize) encodePart(buf []byte, p *mrPart) ([]byte, bool) {
	st := p.p.EncodeState(nil)
	embed := o.cache.Acct != nil && len(p.buf) == 0
	if embed {
		hs := p.p.Handles()
		var v []byte
		if p.p.Open() {
			d, ok := o.m.Deadline(p.p)
			if !ok {
				d = mrNoDeadline
			}
			v = binary.AppendVarint([]byte{mrEmbeddedOpen}, d)
		}
		v = append(binary.AppendUvarint(append(v, mrEmbedded), uint64(len(st))), st...)
		v = binary.AppendUvarint(v, uint64(len(hs)))
		for _, h := range hs {
			v = o.rows.AppendRow(v, h)
		}
		st = v
	}
	return o.parts.AppendValue(buf, []types.Datum{st}), embed
}

// Gather implements match.Rows over the kept rows.
func (o *matchRecognize) Gather(col int, handles []int64) (arrow.Array, error) {
	return o.rows.Gather(col, handles)
}

// Time implements match.Rows.
func (o *matchRecognize) Time(h int64) int64 {
	if h < 0 {
		return 0
	}
	return o.rows.Time(h)
}

func (o *matchRecognize) Chunk(_ int, c *Chunk) error {
	defer c.Release()
	ts, ok := c.Cols[o.spec.TimeCol].(*array.Timestamp)
	if !ok {
		return fmt.Errorf("match_recognize: time column is %s", c.Cols[o.spec.TimeCol].DataType())
	}
	tv := ts.TimestampValues()
	var late int64
	o.sel = o.sel[:0]
	for i := 0; i < c.N; i++ {
		if !c.Ops[i].IsInsert() {
			return fmt.Errorf("match_recognize: the input is append-only but retracts a row")
		}
		if ts.IsNull(i) {
			continue // no place in the sequence, as ad hoc
		}
		if o.hasWM && int64(tv[i]) < o.wm {
			late++
			o.keep.Add(c, i, o.spec.TimeCol, types.Timestamp(o.wm), o.spec.Types[o.spec.TimeCol])
			continue
		}
		o.sel = append(o.sel, int32(i))
	}
	if len(o.sel) > 0 {
		// The partition keys of the whole chunk, column by column.
		o.keys = slices.Grow(o.keys[:0], c.N)[:c.N]
		for i := range o.keys {
			o.keys[i] = o.keys[i][:0]
		}
		o.keyCols = o.keyCols[:0]
		for _, col := range o.spec.Match.Partition {
			o.keyCols = append(o.keyCols, c.Cols[col])
		}
		o.parts.AppendKeys(o.keys, o.keyCols)
		o.handles = o.rows.Add(c, o.sel, o.handles[:0])
		var p *mrPart
		for k, i := range o.sel {
			if p == nil || p.key != string(o.keys[i]) {
				var err error
				if p, err = o.partFor(o.keys[i]); err != nil {
					return err
				}
			}
			if len(p.buf) == 0 { // a partition waits while it has rows buffered
				o.waiting[p] = struct{}{}
			}
			p.buf = append(p.buf, mrRow{ts: int64(tv[i]), handle: o.handles[k]})
		}
		o.arrived += len(o.sel)
	}
	if late > 0 && o.env.Stats != nil {
		o.env.Stats.LateRows.Add(late)
	}
	if o.behind && o.arrived >= mrRound {
		return o.advance()
	}
	return nil
}

// mrRound is how many rows arrive between two rounds of the matcher
// (besides the round at every barrier).
const mrRound = 16384

func (o *matchRecognize) Watermark(_ int, w Watermark) error {
	if w.Col != o.spec.TimeCol || w.Val == nil {
		return nil // the output carries no input column's watermark
	}
	t, ok := w.Val.(types.Timestamp)
	if !ok {
		return fmt.Errorf("match_recognize: watermark %T on the time column", w.Val)
	}
	if o.hasWM && int64(t) <= o.wm {
		return nil
	}
	o.wm, o.hasWM, o.wmDirty, o.behind = int64(t), true, true, true
	if o.arrived >= mrRound {
		return o.advance()
	}
	return nil
}

// advance feeds the matcher the rows the watermark passed, ends the
// partial matches WITHIN closes, emits the matches and trims the rows no
// longer needed.
func (o *matchRecognize) advance() error {
	o.behind, o.arrived = false, 0
	var active []*match.Partition
	for p := range o.waiting {
		slices.SortFunc(p.buf, o.compareRows)
		k := 0
		for k < len(p.buf) && p.buf[k].ts < o.wm {
			p.p.Append(p.buf[k].handle)
			k++
		}
		if k == 0 {
			continue
		}
		p.buf = append(p.buf[:0], p.buf[k:]...)
		if len(p.buf) == 0 {
			delete(o.waiting, p)
		}
		o.dirtyParts[p] = struct{}{}
		active = append(active, p.p)
	}
	touched := slices.Clone(active)
	// More rows may come: a partition that runs out waits for them.
	if err := o.m.StepAll(active, nil, nil); err != nil {
		return err
	}
	o.noteOpen(touched)
	if o.spec.Match.Within > 0 {
		// Evicted partitions whose partial matches end come back.
		if err := o.readBackDue(o.wm - 1); err != nil {
			return err
		}
		// The next row of any partition comes at the watermark or later.
		for p := range o.open {
			if d, ok := o.m.Deadline(p.p); !ok || d > o.wm-1 {
				continue // nothing ends yet
			}
			o.m.Expire(p.p, o.wm-1)
			o.dirtyParts[p] = struct{}{}
			touched = append(touched, p.p)
		}
	}
	if err := o.emit(); err != nil {
		return err
	}
	o.noteOpen(touched)
	for _, mp := range touched {
		for _, h := range mp.Trim(o.maxBack) {
			o.rows.Free(h)
		}
	}
	return nil
}

// noteOpen records which of the partitions ps have partial matches.
func (o *matchRecognize) noteOpen(ps []*match.Partition) {
	for _, mp := range ps {
		p := o.byMatcher[mp]
		if mp.Open() {
			o.open[p] = struct{}{}
		} else {
			delete(o.open, p)
		}
	}
}

// emit sends the matches found as inserts: the partition columns, the
// measures and the hidden match number.
func (o *matchRecognize) emit() error {
	ms := o.m.TakeMatches()
	for len(ms) > 0 {
		n := min(len(ms), 4096)
		b, err := o.m.Output(ms[:n])
		if err != nil {
			return err
		}
		nb := array.NewInt64Builder(types.Mem)
		for _, mt := range ms[:n] {
			nb.Append(mt.Number)
		}
		cols := append(b.Cols, nb.NewArray())
		nb.Release()
		if err := o.out.Chunk(NewChunk(cols, make([]Op, n))); err != nil {
			return err
		}
		ms = ms[n:]
	}
	return nil
}

// compareRows orders buffered rows by time, the further ORDER BY columns
// and arrival.
func (o *matchRecognize) compareRows(a, b mrRow) int {
	if a.ts != b.ts {
		return cmpInt64(a.ts, b.ts)
	}
	if len(o.spec.OrderCols) > 0 {
		for _, c := range o.spec.OrderCols {
			x, y := o.rows.Datum(a.handle, c), o.rows.Datum(b.handle, c)
			switch {
			case x == nil && y == nil:
				continue
			case x == nil:
				return 1
			case y == nil:
				return -1
			}
			if d := types.Compare(x, y, o.spec.Types[c]); d != 0 {
				return d
			}
		}
	}
	return cmpInt64(a.handle, b.handle)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (o *matchRecognize) Barrier(b *Barrier) error {
	if o.behind {
		if err := o.advance(); err != nil {
			return err
		}
	}
	if err := o.keep.Flush(b); err != nil {
		return fmt.Errorf("match_recognize: late rows: %w", err)
	}
	if err := o.rows.Flush(b.Writes); err != nil {
		return err
	}
	for p := range o.dirtyParts {
		var embed bool
		o.valBuf, embed = o.encodePart(o.valBuf[:0], p)
		if err := o.parts.Insert(b.Writes, []byte(p.key), o.valBuf); err != nil {
			return err
		}
		if o.cache.Acct != nil {
			p.embedded, p.lastWrite = embed, b.Epoch
			o.pbytes -= p.bytes
			p.bytes = mrPartBytes + 2*int64(len(p.key)+len(o.valBuf))
			o.pbytes += p.bytes
		}
	}
	clear(o.dirtyParts)
	if o.wmDirty && o.hasWM {
		if err := o.wmState.Store(b.Writes, types.Timestamp(o.wm)); err != nil {
			return err
		}
		o.wmDirty = false
	}
	o.shrink()
	return o.out.Barrier(b)
}

// due records that evicted partition key has partial matches that the
// watermark d ends.
func (o *matchRecognize) due(key string, d int64) {
	if d == mrNoDeadline {
		return
	}
	o.deadlines[key] = d
	heap.Push(&o.dueHeap, mrDue{d: d, key: key})
}

// readBackDue reads back the evicted partitions whose partial matches the
// watermark wm ends, so that Expire ends them.
func (o *matchRecognize) readBackDue(wm int64) error {
	for len(o.dueHeap) > 0 && o.dueHeap[0].d <= wm {
		e := heap.Pop(&o.dueHeap).(mrDue)
		if d, ok := o.deadlines[e.key]; !ok || d != e.d {
			continue // read back since, or due at another time
		}
		if _, err := o.readBack(e.key); err != nil {
			return err
		}
	}
	return nil
}

// mrDue is an evicted partition's deadline.
type mrDue struct {
	d   int64
	key string
}

// mrDueHeap is a min-heap of deadlines.
type mrDueHeap []mrDue

func (h mrDueHeap) Len() int           { return len(h) }
func (h mrDueHeap) Less(i, j int) bool { return h[i].d < h[j].d }
func (h mrDueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mrDueHeap) Push(x any)        { *h = append(*h, x.(mrDue)) }
func (h *mrDueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
