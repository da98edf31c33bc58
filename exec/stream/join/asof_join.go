package join

// AsofJoin is the streaming ASOF join (`l ASOF [LEFT] JOIN r
// MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k`): each left row is
// paired with the right row of its key that is nearest in time on the
// side Op names (batch.AsofJoin says which), and the pairing follows
// both inputs. A right row inserted or deleted changes the nearest row
// of the left rows around it in time: the join retracts what it emitted
// for each of them and emits the new pairing (or, for LEFT, the row
// padded with NULLs). A left delete retracts the pairing as it stands.
//
// # Which left rows a right change touches
//
// For a backward match (">=", ">") a right row at time t is a candidate
// of the left rows at or after t (after, for ">"), in ascending time;
// the first of them whose nearest row is past the changed one in (time,
// stream key) order ends the walk, since every later left row's nearest
// row is at least as far on. A forward match ("<=", "<") walks the left
// rows at or before t downwards. Among right rows of one key and time,
// the last in stream key order is the nearest for a backward match and
// the first for a forward one, so output is a function of the inputs'
// contents, whatever the order of arrival.
//
// # State layout
//
//	left:  (join key, left time, left stream key)   -> left row
//	right: (join key, right time, right stream key) -> right row
//
// Rows whose key or time is NULL never match and are not stored. Both
// tables are ordered by time within a key, which is the order the
// operator searches in. In memory the operator holds every key's rows,
// sorted as stored; the state tables receive the epoch's changes at
// barriers and give them back at a restart. Under a state memory budget
// a join key is the unit that is cached, evicted and read back
// (asof_join_cache.go).
//
// # Cleanup by watermarks
//
// When both inputs are append-only and both time columns carry
// watermarks (wl on the left time, wr on the right time), state that no
// future row can change goes:
//
//   - backward match: a left row before wr (at or before wr for ">"): no
//     later right row can qualify for it; a right row followed, in its
//     key, by one no later than both wl and wr (before wl for ">"): every
//     stored and future left row prefers the later one.
//   - forward match: a left row whose nearest right row is before wr:
//     no later right row can be nearer; a right row before both wl and
//     wr: no stored or future left row can pair with it.
//
// Otherwise the state grows with both inputs, and the view's CREATE
// issues the unbounded-state notice.

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// AsofJoinSpec describes a streaming ASOF join.
type AsofJoinSpec struct {
	// Kind is InnerJoin or LeftJoin.
	Kind batch.JoinKind
	// LeftKeys[i] of the left input equals RightKeys[i] of the right.
	LeftKeys, RightKeys []int
	// LeftTime Op RightTime is the match condition (columns of one type).
	LeftTime, RightTime int
	Op                  string
	// The inputs' columns and stream keys.
	LeftTypes, RightTypes         []types.T
	LeftNames, RightNames         []string
	LeftStreamKey, RightStreamKey []int
	// Cleanup: both inputs are append-only and both time columns carry
	// watermarks.
	Cleanup bool
}

// AsofJoinStateTables describes the join's state tables for
// Node.StateTables.
func AsofJoinStateTables(cleanup bool) []string {
	if cleanup {
		return []string{
			"left rows by (join key, time, stream key) (cleaned when the right watermark passes them)",
			"right rows by (join key, time, stream key) (cleaned when a later right row is behind both watermarks)",
		}
	}
	return []string{
		"left rows by (join key, time, stream key) (removed on delete; unbounded without watermarks on both times)",
		"right rows by (join key, time, stream key) (removed on delete; unbounded without watermarks on both times)",
	}
}

// Explain implements Spec.
func (s *AsofJoinSpec) Explain() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "AsofJoin %s on ", s.Kind)
	name := func(names []string, c int) string {
		if c < len(names) && names[c] != "" {
			return names[c]
		}
		return fmt.Sprintf("#%d", c)
	}
	for i := range s.LeftKeys {
		fmt.Fprintf(&sb, "%s = %s AND ", name(s.LeftNames, s.LeftKeys[i]), name(s.RightNames, s.RightKeys[i]))
	}
	fmt.Fprintf(&sb, "match %s %s %s", name(s.LeftNames, s.LeftTime), s.Op, name(s.RightNames, s.RightTime))
	if s.Cleanup {
		sb.WriteString(" (state cleaned by watermarks)")
	}
	return sb.String()
}

// backward reports whether the nearest right row is at or before the
// left row's time.
func (s *AsofJoinSpec) backward() bool { return s.Op == ">=" || s.Op == ">" }

// Build implements Spec. It takes two state tables, left then right.
func (s *AsofJoinSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	if s.Kind != batch.InnerJoin && s.Kind != batch.LeftJoin {
		return nil, fmt.Errorf("asof join: unsupported join kind %s", s.Kind)
	}
	switch s.Op {
	case ">=", ">", "<=", "<":
	default:
		return nil, fmt.Errorf("asof join: unsupported match operator %q", s.Op)
	}
	j := &asofJoin{spec: s, env: b.Env, out: out, parts: map[string]*asofPart{}}
	for side := 0; side < 2; side++ {
		ts, keys, tcol, sk := s.LeftTypes, s.LeftKeys, s.LeftTime, s.LeftStreamKey
		if side == 1 {
			ts, keys, tcol, sk = s.RightTypes, s.RightKeys, s.RightTime, s.RightStreamKey
		}
		var kc []stream.KeyCol
		for _, c := range keys {
			kc = append(kc, stream.AscKeys(ts[c])...)
		}
		kc = append(kc, stream.AscKeys(ts[tcol])...)
		for _, c := range sk {
			kc = append(kc, stream.AscKeys(ts[c])...)
		}
		j.sides[side] = asofSide{types: ts, keys: keys, time: tcol, streamKey: sk,
			state: b.NewStateTable(kc, ts), dirty: map[string][]byte{}}
	}
	if j.acct = j.sides[0].state.Account(); j.acct != nil {
		j.cache = stream.NewPartCache[*asofPart](b.Env, j.acct)
		j.evicted = map[string]struct{}{}
	}
	if !b.Env.Fresh {
		if j.acct != nil {
			// Under a budget the rows stay in storage until a row or a
			// watermark needs their join key.
			if err := j.index(b.Env.State); err != nil {
				return nil, fmt.Errorf("asof join: index state: %w", err)
			}
			return j, nil
		}
		for side := range j.sides {
			if err := j.load(side, b.Env.State); err != nil {
				return nil, fmt.Errorf("asof join: load state: %w", err)
			}
		}
	}
	return j, nil
}

// asofSide is one input's layout and state.
type asofSide struct {
	types     []types.T
	keys      []int
	time      int
	streamKey []int
	state     *stream.StateTable
	// dirty holds the epoch's state changes: key -> value, nil for a
	// delete.
	dirty map[string][]byte
	// wm is the latest watermark of the time column, key-encoded (nil:
	// none yet).
	wm []byte
}

// asofRow is a stored row: sk is its state key past the join key (time,
// then stream key), tl the length of the time's encoding in it.
type asofRow struct {
	sk  []byte
	tl  int
	row []types.Datum
}

func (r *asofRow) time() []byte { return r.sk[:r.tl] }

// asofPart is the rows of one join key, each side in state key order.
type asofPart struct {
	// CachedPart is its entry in the state cache (a budget only).
	stream.CachedPart
	rows [2][]asofRow
	// bytes is its estimated resident size as last accounted; gone: it
	// left memory (emptied or evicted) after it was marked dirty.
	bytes int64
	gone  bool
}

type asofJoin struct {
	spec  *AsofJoinSpec
	env   *stream.Env
	out   stream.Output
	sides [2]asofSide
	parts map[string]*asofPart
	// Under a state memory budget (asof_join_cache.go); acct is nil
	// without one.
	acct       *stream.StateAccount
	cache      stream.PartCache[*asofPart]
	dirtyParts []*asofPart
	evicted    map[string]struct{}
	cold       [2]asofColdHeap

	kbuf    []byte
	outRows [][]types.Datum
	outOps  []stream.Op
}

// encode returns the row's join key (pk) and its state key past it (sk,
// with the time's length tl); ok is false when a key column or the time
// is NULL.
func (j *asofJoin) encode(side int, row []types.Datum) (pk string, r asofRow, ok bool) {
	s := &j.sides[side]
	buf := j.kbuf[:0]
	for i, c := range s.keys {
		if row[c] == nil {
			return "", asofRow{}, false
		}
		buf = s.state.AppendKeyValue(buf, i, row[c])
	}
	if row[s.time] == nil {
		return "", asofRow{}, false
	}
	pl := len(buf)
	buf = s.state.AppendKeyValue(buf, len(s.keys), row[s.time])
	tl := len(buf) - pl
	for i, c := range s.streamKey {
		buf = s.state.AppendKeyValue(buf, len(s.keys)+1+i, row[c])
	}
	j.kbuf = buf
	return string(buf[:pl]), asofRow{sk: bytes.Clone(buf[pl:]), tl: tl, row: row}, true
}

// find returns the position of sk in rows (sorted) and whether it is
// there.
func find(rows []asofRow, sk []byte) (int, bool) {
	return sort.Find(len(rows), func(k int) int { return bytes.Compare(sk, rows[k].sk) })
}

// nearest returns the position in right of the nearest right row to a
// left row at time t, or -1.
func (j *asofJoin) nearest(right []asofRow, t []byte) int {
	n := len(right)
	switch j.spec.Op {
	case ">=":
		return sort.Search(n, func(k int) bool { return bytes.Compare(right[k].time(), t) > 0 }) - 1
	case ">":
		return sort.Search(n, func(k int) bool { return bytes.Compare(right[k].time(), t) >= 0 }) - 1
	case "<=":
		if k := sort.Search(n, func(k int) bool { return bytes.Compare(right[k].time(), t) >= 0 }); k < n {
			return k
		}
	case "<":
		if k := sort.Search(n, func(k int) bool { return bytes.Compare(right[k].time(), t) > 0 }); k < n {
			return k
		}
	}
	return -1
}

// emit queues an output row: left joined with right (nil: padded, or
// nothing for an INNER join).
func (j *asofJoin) emit(op stream.Op, left, right []types.Datum) {
	if right == nil && j.spec.Kind != batch.LeftJoin {
		return
	}
	row := make([]types.Datum, 0, len(left)+len(j.spec.RightTypes))
	row = append(row, left...)
	if right == nil {
		row = append(row, make([]types.Datum, len(j.spec.RightTypes))...)
	} else {
		row = append(row, right...)
	}
	j.outRows = append(j.outRows, row)
	j.outOps = append(j.outOps, op)
}

// rightOf returns the row at position k of right, or nil for -1.
func rightOf(right []asofRow, k int) []types.Datum {
	if k < 0 {
		return nil
	}
	return right[k].row
}

// Chunk implements Operator.
func (j *asofJoin) Chunk(side int, c *stream.Chunk) error {
	defer c.Release()
	ts := j.sides[side].types
	for i := 0; i < c.N; i++ {
		row := c.Row(i, ts)
		ins := c.Ops[i].IsInsert()
		var err error
		if side == 0 {
			err = j.leftChange(row, ins)
		} else {
			err = j.rightChange(row, ins)
		}
		if err != nil {
			return err
		}
	}
	return j.flush()
}

func insertOp(ins bool) stream.Op {
	if ins {
		return stream.Insert
	}
	return stream.Delete
}

func (j *asofJoin) leftChange(row []types.Datum, ins bool) error {
	pk, r, ok := j.encode(0, row)
	if !ok {
		j.emit(insertOp(ins), row, nil)
		return nil
	}
	p, err := j.part(pk, true)
	if err != nil {
		return err
	}
	j.emit(insertOp(ins), row, rightOf(p.rows[1], j.nearest(p.rows[1], r.time())))
	return j.store(0, pk, p, r, ins)
}

// store inserts or deletes r in the partition and records the change for
// the barrier.
func (j *asofJoin) store(side int, pk string, p *asofPart, r asofRow, ins bool) error {
	s := &j.sides[side]
	rows := p.rows[side]
	k, found := find(rows, r.sk)
	key := pk + string(r.sk)
	if ins {
		if found {
			return sqlerr.New(sqlerr.InternalError, "asof join: %s row inserted twice (duplicate stream key)", sideName(side))
		}
		p.rows[side] = slices.Insert(rows, k, r)
		s.dirty[key] = s.state.AppendValue(nil, r.row)
	} else {
		if !found {
			return sqlerr.New(sqlerr.InternalError, "asof join: delete of a %s row not in state", sideName(side))
		}
		p.rows[side] = slices.Delete(rows, k, k+1)
		s.dirty[key] = nil
	}
	j.markDirty(p)
	if len(p.rows[0]) == 0 && len(p.rows[1]) == 0 {
		j.removePart(pk, p)
	}
	return nil
}

func sideName(side int) string {
	if side == 0 {
		return "left"
	}
	return "right"
}

// better reports whether right row a is nearer than b to every left row
// both qualify for: later for a backward match, earlier for a forward one.
func (j *asofJoin) better(a, b []byte) bool {
	if j.spec.backward() {
		return bytes.Compare(a, b) > 0
	}
	return bytes.Compare(a, b) < 0
}

// rightChange re-pairs the left rows whose nearest right row r's insert
// or delete changes (see "Which left rows a right change touches").
func (j *asofJoin) rightChange(row []types.Datum, ins bool) error {
	pk, r, ok := j.encode(1, row)
	if !ok {
		return nil
	}
	p, err := j.part(pk, ins)
	if err != nil {
		return err
	}
	if p == nil {
		return sqlerr.New(sqlerr.InternalError, "asof join: delete of a right row not in state")
	}
	left, right := p.rows[0], p.rows[1]
	t := r.time()
	// The candidate left rows, nearest to r first.
	var idx func(n int) int
	var first, count int
	switch j.spec.Op {
	case ">=":
		first = sort.Search(len(left), func(k int) bool { return bytes.Compare(left[k].time(), t) >= 0 })
		count = len(left) - first
	case ">":
		first = sort.Search(len(left), func(k int) bool { return bytes.Compare(left[k].time(), t) > 0 })
		count = len(left) - first
	case "<=":
		count = sort.Search(len(left), func(k int) bool { return bytes.Compare(left[k].time(), t) > 0 })
	case "<":
		count = sort.Search(len(left), func(k int) bool { return bytes.Compare(left[k].time(), t) >= 0 })
	}
	if j.spec.backward() {
		idx = func(n int) int { return first + n }
	} else {
		idx = func(n int) int { return count - 1 - n }
	}
	type repair struct{ l, old int }
	var touched []repair
	for n := 0; n < count; n++ {
		l := idx(n)
		old := j.nearest(right, left[l].time())
		if ins {
			if old >= 0 && !j.better(r.sk, right[old].sk) {
				break
			}
		} else if old < 0 || !bytes.Equal(right[old].sk, r.sk) {
			break
		}
		touched = append(touched, repair{l, old})
	}
	// Retract the old pairings before the partition changes.
	oldRows := make([][]types.Datum, len(touched))
	for n, t := range touched {
		oldRows[n] = rightOf(right, t.old)
		j.emit(stream.Delete, left[t.l].row, oldRows[n])
	}
	if err := j.store(1, pk, p, r, ins); err != nil {
		return err
	}
	right = p.rows[1]
	for _, t := range touched {
		j.emit(stream.Insert, left[t.l].row, rightOf(right, j.nearest(right, left[t.l].time())))
	}
	return nil
}

// flush sends the queued output rows as one chunk.
func (j *asofJoin) flush() error {
	if len(j.outRows) == 0 {
		return nil
	}
	ts := append(append([]types.T{}, j.spec.LeftTypes...), j.spec.RightTypes...)
	cols := make([]arrow.Array, len(ts))
	for c, t := range ts {
		b := types.NewBuilder(t)
		for _, row := range j.outRows {
			types.AppendDatum(b, row[c])
		}
		cols[c] = b.NewArray()
		b.Release()
	}
	ops := j.outOps
	j.outRows, j.outOps = j.outRows[:0], nil
	return j.out.Chunk(stream.NewChunk(cols, ops))
}

// Watermark implements Operator: the left side's watermarks pass on (the
// left columns are the output's first ones); a watermark of a time
// column may clean state.
func (j *asofJoin) Watermark(side int, w stream.Watermark) error {
	s := &j.sides[side]
	if w.Col == s.time && w.Val != nil {
		s.wm = s.state.AppendKeyValue(nil, len(s.keys), w.Val)
		if j.spec.Cleanup && j.sides[0].wm != nil && j.sides[1].wm != nil {
			if err := j.readBackCold(); err != nil {
				return err
			}
			j.cleanup()
		}
	}
	if side == 0 {
		return j.out.Watermark(w)
	}
	return nil
}

// cleanup drops the rows no future input can re-pair (see "Cleanup by
// watermarks").
func (j *asofJoin) cleanup() {
	wl, wr := j.sides[0].wm, j.sides[1].wm
	lo := wl
	if bytes.Compare(wr, lo) < 0 {
		lo = wr
	}
	for pk, p := range j.parts {
		left, right := p.rows[0], p.rows[1]
		var dropL, dropR int
		switch j.spec.Op {
		case ">=":
			dropL = sort.Search(len(left), func(k int) bool { return bytes.Compare(left[k].time(), wr) >= 0 })
			// The last right row no later than both watermarks stays.
			dropR = sort.Search(len(right), func(k int) bool { return bytes.Compare(right[k].time(), lo) > 0 }) - 1
		case ">":
			dropL = sort.Search(len(left), func(k int) bool { return bytes.Compare(left[k].time(), wr) > 0 })
			dropR = sort.Search(len(right), func(k int) bool {
				return bytes.Compare(right[k].time(), wl) >= 0 || bytes.Compare(right[k].time(), wr) > 0
			}) - 1
		default:
			for dropL < len(left) {
				k := j.nearest(right, left[dropL].time())
				if k < 0 || bytes.Compare(right[k].time(), wr) >= 0 {
					break
				}
				dropL++
			}
			dropR = sort.Search(len(right), func(k int) bool { return bytes.Compare(right[k].time(), lo) >= 0 })
		}
		dropR = max(dropR, 0)
		for side, n := range [2]int{dropL, dropR} {
			for _, r := range p.rows[side][:n] {
				j.sides[side].dirty[pk+string(r.sk)] = nil
			}
			p.rows[side] = slices.Delete(p.rows[side], 0, n)
		}
		if dropL > 0 || dropR > 0 {
			j.markDirty(p)
		}
		if len(p.rows[0]) == 0 && len(p.rows[1]) == 0 {
			j.removePart(pk, p)
		}
	}
}

// Barrier implements Operator: the epoch's changes go to the state
// tables.
func (j *asofJoin) Barrier(b *stream.Barrier) error {
	for side := range j.sides {
		s := &j.sides[side]
		for k, v := range s.dirty {
			var err error
			if v == nil {
				err = s.state.Delete(b.Writes, []byte(k))
			} else {
				err = s.state.Insert(b.Writes, []byte(k), v)
			}
			if err != nil {
				return fmt.Errorf("asof join: write state: %w", err)
			}
		}
		clear(s.dirty)
	}
	j.shrink(b.Epoch)
	return j.out.Barrier(b)
}

// load reads one side's rows of the last committed epoch.
func (j *asofJoin) load(side int, r storage.Reader) error {
	s := &j.sides[side]
	return s.state.Scan(r, nil, func(k, v []byte) error {
		row, err := s.state.DecodeValue(v)
		if err != nil {
			return sqlerr.Wrap(fmt.Errorf("asof join state: %w", err), sqlerr.DataCorrupted)
		}
		pk, ar, ok := j.encode(side, row)
		if !ok || pk+string(ar.sk) != string(k) {
			return sqlerr.New(sqlerr.DataCorrupted, "asof join state: key does not match its row")
		}
		p := j.parts[pk]
		if p == nil {
			p = &asofPart{}
			j.addPart(pk, p)
		}
		// Keys come in order: appending keeps each side sorted.
		p.rows[side] = append(p.rows[side], ar)
		return nil
	})
}
