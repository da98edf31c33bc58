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

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/match"
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
}

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

	keyBuf []byte
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
	err = o.parts.Scan(r, nil, func(k, v []byte) error {
		row, err := o.parts.DecodeValue(v)
		if err != nil {
			return err
		}
		st, _ := row[0].([]byte)
		key := string(k)
		mp, err := o.m.DecodeState(key, st)
		if err != nil {
			return fmt.Errorf("partition %x: %w", k, err)
		}
		p := &mrPart{key: key, p: mp}
		o.partByKey[key] = p
		o.byMatcher[mp] = p
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
	return o.rows.table.Scan(r, nil, func(k, v []byte) error {
		return o.rows.Load(k, v, func(h int64, row []types.Datum, ts int64) bool {
			if kept[h] {
				return true
			}
			if o.hasWM && ts < o.wm {
				return false // fed to the matcher and trimmed since
			}
			p := o.part(row)
			p.buf = append(p.buf, mrRow{ts: ts, handle: h})
			o.waiting[p] = struct{}{}
			return true
		})
	})
}

// part returns the partition of row, made when new.
func (o *matchRecognize) part(row []types.Datum) *mrPart {
	o.kv = o.kv[:0]
	for _, c := range o.spec.Match.Partition {
		o.kv = append(o.kv, row[c])
	}
	o.keyBuf = o.parts.AppendKey(o.keyBuf[:0], o.kv...)
	return o.partFor(o.keyBuf)
}

// partFor returns the partition of key, made when new.
func (o *matchRecognize) partFor(k []byte) *mrPart {
	if p, ok := o.partByKey[string(k)]; ok {
		return p
	}
	key := string(k)
	p := &mrPart{key: key, p: &match.Partition{Key: key}}
	o.partByKey[key] = p
	o.dirtyParts[p] = struct{}{}
	o.byMatcher[p.p] = p
	return p
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
				p = o.partFor(o.keys[i])
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
		// The next row of any partition comes at the watermark or later.
		for p := range o.open {
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
		st := p.p.EncodeState(nil)
		if err := o.parts.Insert(b.Writes, []byte(p.key), o.parts.AppendValue(nil, []types.Datum{st})); err != nil {
			return err
		}
	}
	clear(o.dirtyParts)
	if o.wmDirty && o.hasWM {
		if err := o.wmState.Store(b.Writes, types.Timestamp(o.wm)); err != nil {
			return err
		}
		o.wmDirty = false
	}
	return o.out.Barrier(b)
}
