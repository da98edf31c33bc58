package sortedpart

// Group top-N: the rows ranked 1..N by ROW_NUMBER() OVER (PARTITION BY p
// ORDER BY o) in each partition, kept up to date as rows come and go. It
// covers deduplication (N = 1) and "top N per key" queries.
//
// # State
//
// One table, every live row of the input that can still reach the top N:
//
//	key:   partition key ++ order key ++ stream key
//	value: the row (types.EncodeRow)
//
// The partition and stream keys are types.AppendKey of their columns;
// the order key encodes each ORDER BY column ascending or descending with
// NULL first or last as the key says (top_n_keys.go), so the rows of a
// partition lie in rank order and ties fall to the stream key. Over
// append-only input a row beyond the N-th can never rise again: the table
// holds exactly the top N of each partition and a row that cannot enter
// it is dropped at once. Over retracting input the table holds every live
// row (a deleted top row lets the next one in).
//
// # Memory
//
// In memory a partition is a cache of its first rows in order: every row
// of the partition while it is small, otherwise the first K (K = N over
// append-only input, else max(2N, N+16), trimmed back to K when inserts
// grow it to 2K) plus a bound, the last cached key: every live row up to
// the bound is cached, rows ranked beyond it go to the state table only.
// When deletes leave fewer than N rows cached, the barrier refills the
// cache from the table by a range scan past the bound, merged with the
// partition's state changes not known to be committed yet (the overlay:
// Env.State reads the last committed epoch, the epoch's own writes are
// still in memory and the previous epoch's may not have committed).
//
// Whole partitions are evicted under the state memory budget
// (exec/stream/state_cache.go) once their last write has committed and the clock hand
// finds them unused; a row of a partition not in memory reads the first K
// rows of the partition back by a prefix scan (top_n_cache.go). A
// partition left empty stays in memory until its deletes have committed,
// so such a read never finds stale rows.
//
// # Watermark cleanup
//
// When the first PARTITION BY column carries a watermark (window_start of
// a windowed aggregation or of a window over a source with WATERMARK
// FOR), a partition whose value is behind the watermark can never change
// again: the rows behind it are dropped upstream. At the next barrier,
// after that epoch's changes are out, such partitions leave memory and
// their state rows are deleted (one DeleteRange: the partition key starts
// with the column, so they lie below the watermark's key), and nothing
// is emitted: the view keeps their top N. A row that arrives behind the
// watermark all the same is counted as late and dropped. The watermark
// goes on downstream (the column keeps its index) at the barrier, after
// the changes it covers.
//
// # Output
//
// The input columns plus the row number when WithRank. Changes are
// emitted at the barrier: for each partition that changed, the difference
// between the ranked rows emitted before and now, matched by stream key,
// so a row whose rank or value changed is an update (U-/U+) and rows
// entering or leaving the top N are inserts and deletes.

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

// TopNSpec ranks rows per partition and keeps the first Limit.
type TopNSpec struct {
	Partition []int
	Order     []batch.SortKey
	Limit     int64
	// Offset skips the first Offset rows of each partition: the operator
	// keeps the first Offset+Limit and emits those ranked past Offset
	// (a view's ORDER BY ... LIMIT n OFFSET m).
	Offset int64
	// Types and StreamKey describe the input.
	Types     []types.T
	StreamKey []int
	// AppendOnly: the input never deletes.
	AppendOnly bool
	// WithRank appends the row number (bigint) to every output row; with
	// WithTies, the rank (rank(): one more than the rows ranked strictly
	// before).
	WithRank bool
	// WithTies keeps, past the Offset+Limit-th row, the rows that tie with
	// it on the order key (FETCH FIRST n ROWS WITH TIES; rank() <= n).
	WithTies bool
	// WatermarkPartCol is the input column, the first of Partition, whose
	// watermark frees the partitions behind it; -1: none.
	WatermarkPartCol int
	// LateSpec says what becomes of the rows dropped because their
	// partition was behind the watermark.
	stream.LateSpec
}

func (s *TopNSpec) Explain() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "StreamGroupTopN limit %d", s.Limit)
	if s.Offset > 0 {
		fmt.Fprintf(&sb, " offset %d", s.Offset)
	}
	if len(s.Partition) > 0 {
		sb.WriteString(" partition by " + batch.ColList(s.Partition))
	}
	keys := make([]string, len(s.Order))
	for i, k := range s.Order {
		keys[i] = k.String()
	}
	sb.WriteString(" order by " + strings.Join(keys, ", "))
	if s.WithTies {
		sb.WriteString(" with ties")
	}
	if s.AppendOnly {
		sb.WriteString(" append-only")
	}
	if s.WatermarkPartCol >= 0 {
		fmt.Fprintf(&sb, " cleaned by watermark on #%d", s.WatermarkPartCol)
	}
	return sb.String()
}

// topNMaxLimit caps the cache sizes derived from the limit (a limit
// above it still ranks correctly, the cache just holds fewer rows).
const topNMaxLimit = 1 << 24

func (s *TopNSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	if s.Limit < 1 {
		return nil, sqlerr.New(sqlerr.InternalError, "top-N: limit %d below 1", s.Limit)
	}
	if s.Offset < 0 {
		return nil, sqlerr.New(sqlerr.InternalError, "top-N: offset %d below 0", s.Offset)
	}
	if s.WatermarkPartCol >= 0 && (len(s.Partition) == 0 || s.Partition[0] != s.WatermarkPartCol) {
		// The cleanup's range delete needs the column first in the key.
		return nil, sqlerr.New(sqlerr.InternalError, "top-N: watermark column #%d is not the first partition column", s.WatermarkPartCol)
	}
	t := &topN{spec: s, env: b.Env, out: out, state: b.NewStateTable(s.stateKeys(), s.Types)}
	if s.WatermarkPartCol >= 0 {
		var err error
		if t.late, err = s.NewKeeper(b); err != nil {
			return nil, fmt.Errorf("top-N: %w", err)
		}
	}
	// The operator ranks the first Offset+Limit rows; limit counts them.
	t.limit = int(min(s.Limit+s.Offset, topNMaxLimit))
	t.offset = int(min(s.Offset, int64(t.limit-1)))
	t.keep = t.limit
	if !s.AppendOnly {
		t.keep = max(2*t.limit, t.limit+16)
	}
	t.maxCache = 2 * t.keep
	t.outTypes = append([]types.T(nil), s.Types...)
	if s.WithRank {
		t.outTypes = append(t.outTypes, types.TInt8)
	}
	t.outBuf = stream.NewChunkBuilder(t.outTypes)
	all := make([]int, len(s.Types))
	for i := range all {
		all[i] = i
	}
	t.dec = storage.NewRowDecoder(s.Types, all)
	t.cache = stream.NewPartCache[*topNPart](b.Env, t.state.Account())
	if !b.Env.Fresh {
		if err := t.load(b.Env.State); err != nil {
			return nil, fmt.Errorf("top-N: load state: %w", err)
		}
	}
	return t, nil
}

// stateKeys is the layout of the state table: partition columns, order
// keys, stream key columns.
func (s *TopNSpec) stateKeys() []stream.KeyCol {
	return partitionedKeys(s.Types, s.Partition, s.Order, s.StreamKey)
}

// partitionedKeys is the state key layout of top-N and OVER windows: the
// partition columns (ascending), the order keys as ordered, then the
// stream key columns (ascending) that make the key unique.
func partitionedKeys(ts []types.T, partition []int, order []batch.SortKey, streamKey []int) []stream.KeyCol {
	var ks []stream.KeyCol
	for _, c := range partition {
		ks = append(ks, stream.KeyCol{T: ts[c]})
	}
	for _, k := range order {
		ks = append(ks, stream.KeyCol{T: k.T, Desc: k.Desc, NullsFirst: k.NullsFirst})
	}
	for _, c := range streamKey {
		ks = append(ks, stream.KeyCol{T: ts[c]})
	}
	return ks
}

// topNRow is a row of a partition: its sort key (order key ++ stream
// key, without the partition key) followed by its encoded value, in one
// immutable allocation.
type topNRow struct {
	kv []byte
	id int32 // start of the stream key in kv
	kl int32 // length of the sort key
}

func (r topNRow) key() []byte { return r.kv[:r.kl] }
func (r topNRow) ord() []byte { return r.kv[:r.id] } // the order key alone
func (r topNRow) sid() []byte { return r.kv[r.id:r.kl] }
func (r topNRow) val() []byte { return r.kv[r.kl:] }

// topNWrite is a state change of a partition over retracting input.
type topNWrite struct {
	row   topNRow // for a delete only its key counts
	del   bool
	epoch uint64 // the barrier that wrote it; 0: not written yet
}

type topNPart struct {
	stream.CachedPart
	// rows caches the partition's first rows in order: all of them when
	// complete, else every live row up to bound.
	rows     []topNRow
	complete bool
	bound    []byte
	// emitted are the ranked rows emitted at the last barrier.
	emitted []topNRow
	// over holds, over retracting input, the partition's state changes
	// since before the last committed barrier, oldest first.
	over     []topNWrite
	bytes    int64 // estimated memory
	settling bool  // in topN.settling
}

type topN struct {
	// late keeps the late rows (KeepLate); nil: only counted.
	late     *stream.LateKeeper
	spec     *TopNSpec
	env      *stream.Env
	out      stream.Output
	state    *stream.StateTable
	outTypes []types.T
	dec      storage.RowDecoder

	limit    int // N: the rows ranked, those skipped by the offset included
	offset   int // the first offset of the N are not emitted
	keep     int // K: cached rows per partition after a trim or a read
	maxCache int // a cache longer than this is trimmed to keep

	cache stream.PartCache[*topNPart] // the partitions in memory (top_n_cache.go)
	dirty []*topNPart
	// settling are the partitions written at a barrier perhaps not
	// committed yet: their overlay is kept, and an empty one stays.
	settling []*topNPart

	// Watermark cleanup: wmKey is the latest watermark of the partition
	// column as a key (nil: none yet), wmVal its value; wmClean: it
	// advanced since the last cleanup; wmSend: forward it at the
	// barrier; cleaned is the key below which the state is deleted.
	wmKey   []byte
	wmVal   types.Datum
	wmClean bool
	wmSend  bool
	cleaned []byte

	// Per-chunk scratch.
	pk, sk, vals [][]byte
	idOff        []int32
	rowPart      []*topNPart
	take         []bool
	sel          []int32
	// Barrier scratch.
	oldRank, newRank []int
	outBuf           stream.ChunkBuilder
	match            sidMatch
	kbuf             []byte
}

// ---------------------------------------------------------------- input

func (t *topN) Chunk(_ int, c *stream.Chunk) error {
	defer c.Release()
	n := c.N
	if n == 0 {
		return nil
	}
	t.encodeKeys(c)
	t.rowPart = slices.Grow(t.rowPart[:0], n)[:n]
	t.take = slices.Grow(t.take[:0], n)[:n]
	t.sel = t.sel[:0]
	late := int64(0)
	for i := range n {
		if t.wmKey != nil && bytes.Compare(t.pk[i], t.wmKey) < 0 {
			// Behind the watermark: its partition is freed or will be.
			t.rowPart[i], t.take[i] = nil, false
			late++
			t.late.Add(c, i, t.spec.WatermarkPartCol, t.wmVal, t.spec.Types[t.spec.WatermarkPartCol])
			continue
		}
		p, err := t.part(t.pk[i])
		if err != nil {
			return err
		}
		t.rowPart[i] = p
		t.take[i] = true
		if !c.Ops[i].IsInsert() {
			continue
		}
		// Over append-only input the cache is the whole partition's top
		// N, and the N-th row only ever gets better: a row behind it is
		// gone for good.
		if t.spec.AppendOnly && len(p.rows) >= t.limit && t.behind(i, p.rows[t.limit-1]) {
			t.take[i] = false
			continue
		}
		t.sel = append(t.sel, int32(i))
	}
	if late > 0 {
		t.env.CountLate(late)
	}
	t.encodeValues(c)
	for i := range n {
		if !t.take[i] {
			continue
		}
		p := t.rowPart[i]
		t.touch(p)
		var err error
		if c.Ops[i].IsInsert() {
			t.insert(p, i)
		} else {
			err = t.delete(p, i)
		}
		if err != nil {
			return err
		}
	}
	clear(t.rowPart)
	return nil
}

// behind reports whether input row i ranks after last, the N-th row of
// its partition, and cannot tie with it.
func (t *topN) behind(i int, last topNRow) bool {
	if t.spec.WithTies {
		return bytes.Compare(t.sk[i][:t.idOff[i]], last.ord()) > 0
	}
	return bytes.Compare(t.sk[i], last.key()) > 0
}

// rankedEnd returns how many of rows, the first rows of a partition in
// order, are ranked: the first N, and with ties those that tie with the
// N-th. When it returns len(rows) of a partial cache, ties may lie past
// the cache.
func (t *topN) rankedEnd(rows []topNRow) int {
	n := min(len(rows), t.limit)
	if !t.spec.WithTies || n < t.limit {
		return n
	}
	last := rows[n-1].ord()
	for n < len(rows) && bytes.Equal(rows[n].ord(), last) {
		n++
	}
	return n
}

// fillTies reads more of p's rows from storage while the rows that tie
// with the N-th may go past its cache.
func (t *topN) fillTies(p *topNPart) error {
	for t.spec.WithTies && !p.complete && len(p.rows) >= t.limit && t.rankedEnd(p.rows) == len(p.rows) {
		if err := t.refill(p, t.keep); err != nil {
			return err
		}
	}
	return nil
}

// encodeKeys encodes every row's partition key and sort key.
func (t *topN) encodeKeys(c *stream.Chunk) {
	t.pk, t.sk, t.idOff = encodePartKeys(t.state, c, t.spec.Partition, t.spec.Order, t.spec.StreamKey, t.pk, t.sk, t.idOff)
}

// encodeValues encodes the rows in t.sel.
func (t *topN) encodeValues(c *stream.Chunk) {
	if len(t.sel) == 0 {
		return
	}
	t.vals = topNReset(t.vals, c.N)
	for _, i := range t.sel {
		t.vals[i] = binary.AppendUvarint(t.vals[i], uint64(len(c.Cols))) // types.EncodeRow's column count
	}
	for j, col := range c.Cols {
		types.AppendValues(t.vals, t.sel, col, t.spec.Types[j])
	}
}

// topNReset returns bufs with n empty (reused) buffers.
func topNReset(bufs [][]byte, n int) [][]byte {
	if cap(bufs) < n {
		bufs = append(bufs[:cap(bufs)], make([][]byte, n-cap(bufs))...)
	}
	bufs = bufs[:n]
	for i := range bufs {
		bufs[i] = bufs[i][:0]
	}
	return bufs
}

// newRow copies row i of the chunk into a row of its own.
func (t *topN) newRow(i int) topNRow {
	k, v := t.sk[i], t.vals[i]
	kv := make([]byte, len(k)+len(v))
	copy(kv, k)
	copy(kv[len(k):], v)
	return topNRow{kv: kv, id: t.idOff[i], kl: int32(len(k))}
}

// touch marks p changed in this epoch.
func (t *topN) touch(p *topNPart) {
	p.Ref = true
	if !p.Dirty {
		p.Dirty = true
		t.dirty = append(t.dirty, p)
	}
}

// search finds key in p's cache.
func (p *topNPart) search(key []byte) (int, bool) {
	return slices.BinarySearchFunc(p.rows, key, func(r topNRow, k []byte) int { return bytes.Compare(r.key(), k) })
}

// beyond reports whether key ranks past the cached rows of a partial
// partition.
func (p *topNPart) beyond(key []byte) bool {
	return !p.complete && bytes.Compare(key, p.bound) > 0
}

func (t *topN) insert(p *topNPart, i int) {
	r := t.newRow(i)
	if !t.spec.AppendOnly {
		p.over = append(p.over, topNWrite{row: r})
	}
	if p.beyond(r.key()) {
		return
	}
	at, found := p.search(r.key())
	if found {
		p.rows[at] = r
	} else {
		p.rows = slices.Insert(p.rows, at, r)
	}
	switch {
	case t.spec.AppendOnly && len(p.rows) > t.limit:
		// The rows past the N-th (and its ties) are out for good.
		if end := t.rankedEnd(p.rows); end < len(p.rows) {
			clear(p.rows[end:])
			p.rows = p.rows[:end]
		}
	case len(p.rows) > t.maxCache:
		cut := t.keep
		if t.spec.WithTies {
			// Keep the ranked rows whole: they are emitted.
			cut = max(cut, t.rankedEnd(p.rows))
		}
		if cut < len(p.rows) {
			clear(p.rows[cut:])
			p.rows = p.rows[:cut]
			p.complete = false
			p.bound = p.rows[cut-1].key()
		}
	}
}

func (t *topN) delete(p *topNPart, i int) error {
	key := t.sk[i]
	if p.beyond(key) {
		p.over = append(p.over, topNWrite{row: topNRow{kv: bytes.Clone(key), id: t.idOff[i], kl: int32(len(key))}, del: true})
		return nil
	}
	at, found := p.search(key)
	if !found {
		// Over append-only input a row beyond the N-th is gone already;
		// otherwise the input deleted a row it never sent.
		if t.spec.AppendOnly {
			return nil
		}
		return sqlerr.New(sqlerr.InternalError, "top-N: delete of a row not in its partition")
	}
	if !t.spec.AppendOnly {
		p.over = append(p.over, topNWrite{row: p.rows[at], del: true})
	}
	p.rows = slices.Delete(p.rows, at, at+1)
	return nil
}

// Watermark records a watermark of the partition column for the cleanup
// at the next barrier; other watermarks say nothing about the output.
func (t *topN) Watermark(_ int, w stream.Watermark) error {
	col := t.spec.WatermarkPartCol
	if col < 0 || w.Col != col || w.Val == nil {
		return nil
	}
	k := t.state.AppendKeyValue(nil, 0, w.Val)
	if t.wmKey == nil || bytes.Compare(k, t.wmKey) > 0 {
		t.wmKey, t.wmVal, t.wmClean = k, w.Val, true
	}
	t.wmSend = true
	return nil
}

// cleanup frees the partitions behind the watermark and deletes their
// state rows, in memory or not.
func (t *topN) cleanup(b *stream.Barrier) error {
	t.wmClean = false
	freed := 0
	for i := len(t.cache.List) - 1; i >= 0; i-- {
		// drop moves the last partition to i: it was visited already.
		if p := t.cache.List[i]; p.PKey < string(t.wmKey) {
			p.settling, p.over, p.emitted, p.rows = false, nil, nil, nil
			t.drop(p)
			freed++
		}
	}
	if freed > 0 {
		still := t.settling[:0]
		for _, p := range t.settling {
			if p.settling {
				still = append(still, p)
			}
		}
		clear(t.settling[len(still):])
		t.settling = still
	}
	if freed == 0 && !t.cache.Evicted {
		// Storage holds no partition that memory does not.
		return nil
	}
	lo, hi := t.cleaned, t.wmKey
	t.cleaned = t.wmKey
	if err := t.state.DeleteRange(b.Writes, lo, hi); err != nil {
		return fmt.Errorf("top-N: delete partitions behind the watermark: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------- barrier

func (t *topN) Barrier(b *stream.Barrier) error {
	if err := t.late.Flush(b); err != nil {
		return fmt.Errorf("top-N: late rows: %w", err)
	}
	for _, p := range t.dirty {
		p.Dirty = false
		if !p.complete && len(p.rows) < t.limit {
			if err := t.refill(p, t.keep-len(p.rows)); err != nil {
				return err
			}
		}
		if err := t.fillTies(p); err != nil {
			return err
		}
		top := p.rows[:t.rankedEnd(p.rows)]
		if err := t.emitChanges(p, top); err != nil {
			return err
		}
		if t.spec.AppendOnly {
			// The state is the top N: write its difference.
			if err := t.writeDiff(b, p, top); err != nil {
				return err
			}
		} else if err := t.writeOver(b, p); err != nil {
			return err
		}
		p.emitted = append(p.emitted[:0], top...)
		clear(p.emitted[len(p.emitted):cap(p.emitted)])
		p.LastWrite = b.Epoch
		if !p.settling {
			p.settling = true
			t.settling = append(t.settling, p)
		}
		t.account(p)
	}
	clear(t.dirty)
	t.dirty = t.dirty[:0]
	if err := t.outBuf.Flush(t.out); err != nil {
		return err
	}
	if t.wmClean {
		if err := t.cleanup(b); err != nil {
			return err
		}
	}
	t.settle()
	t.shrink()
	if t.wmSend {
		t.wmSend = false
		if err := t.out.Watermark(stream.Watermark{Col: t.spec.WatermarkPartCol, Val: t.wmVal}); err != nil {
			return err
		}
	}
	return t.out.Barrier(b)
}

// emitChanges emits the difference between p's emitted rows and top,
// matching rows by stream key; the rows within the offset (ranked but not
// output) take no part.
func (t *topN) emitChanges(p *topNPart, top []topNRow) error {
	old := p.emitted[min(t.offset, len(p.emitted)):]
	top = top[min(t.offset, len(top)):]
	base := t.offset + 1 // the rank of old[0] and top[0]
	oldRank, newRank := t.ranks(t.oldRank, old, base), t.ranks(t.newRank, top, base)
	t.oldRank, t.newRank = oldRank, newRank
	t.match.reset(len(old), 16, func(j int) []byte { return old[j].sid() })
	for i, r := range top {
		j := t.match.find(r.sid())
		if j < 0 {
			if err := t.emit(stream.Insert, r, newRank[i]); err != nil {
				return err
			}
			continue
		}
		if (oldRank[j] == newRank[i] || !t.spec.WithRank) && bytes.Equal(old[j].val(), r.val()) {
			continue
		}
		if err := t.emit(stream.UpdateDelete, old[j], oldRank[j]); err != nil {
			return err
		}
		if err := t.emit(stream.UpdateInsert, r, newRank[i]); err != nil {
			return err
		}
	}
	for j, r := range old {
		if !t.match.matched[j] {
			if err := t.emit(stream.Delete, r, oldRank[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// ranks returns in dst the ranks of rows, the first of which has rank
// base: row numbers, or with ties rank()'s (a row that ties with the one
// before has its rank).
func (t *topN) ranks(dst []int, rows []topNRow, base int) []int {
	dst = slices.Grow(dst[:0], len(rows))[:len(rows)]
	for i := range rows {
		dst[i] = base + i
		if t.spec.WithTies && i > 0 && bytes.Equal(rows[i].ord(), rows[i-1].ord()) {
			dst[i] = dst[i-1]
		}
	}
	return dst
}

// stateKey returns the state table key of p's row with sort key key
// (valid until the next call).
func (t *topN) stateKey(p *topNPart, key []byte) []byte {
	t.kbuf = append(append(t.kbuf[:0], p.PKey...), key...)
	return t.kbuf
}

// writeDiff writes, over append-only input, the change of p's stored top
// N from its emitted rows to top.
func (t *topN) writeDiff(b *stream.Barrier, p *topNPart, top []topNRow) error {
	for _, o := range p.emitted {
		at := slices.IndexFunc(top, func(r topNRow) bool { return bytes.Equal(r.key(), o.key()) })
		if at < 0 {
			if err := t.state.Delete(b.Writes, t.stateKey(p, o.key())); err != nil {
				return err
			}
		}
	}
	for _, r := range top {
		at := slices.IndexFunc(p.emitted, func(o topNRow) bool { return bytes.Equal(r.key(), o.key()) })
		if at >= 0 && bytes.Equal(p.emitted[at].val(), r.val()) {
			continue
		}
		if err := t.state.Insert(b.Writes, t.stateKey(p, r.key()), r.val()); err != nil {
			return err
		}
	}
	return nil
}

// writeOver writes p's changes of this epoch, over retracting input.
func (t *topN) writeOver(b *stream.Barrier, p *topNPart) error {
	for i := range p.over {
		w := &p.over[i]
		if w.epoch != 0 {
			continue
		}
		w.epoch = b.Epoch
		k := t.stateKey(p, w.row.key())
		var err error
		if w.del {
			err = t.state.Delete(b.Writes, k)
		} else {
			err = t.state.Insert(b.Writes, k, w.row.val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------- output

func (t *topN) emit(op stream.Op, r topNRow, rank int) error {
	cols := t.outBuf.Cols()
	if err := t.dec.DecodeInto(r.val(), cols[:len(t.spec.Types)]); err != nil {
		return sqlerr.Wrap(fmt.Errorf("top-N: stored row: %w", err), sqlerr.DataCorrupted)
	}
	if t.spec.WithRank {
		cols[len(t.spec.Types)].(*array.Int64Builder).Append(int64(rank))
	}
	t.outBuf.Add(op)
	return nil
}

// encodePartKeys encodes, for every row of c, its partition key into
// pk[i] and its sort key (order keys, then stream key) into sk[i], with
// ol[i] the length of the order keys, in the layout of partitionedKeys
// (state table st), reusing the buffers.
func encodePartKeys(st *stream.StateTable, c *stream.Chunk, partition []int, order []batch.SortKey, streamKey []int,
	pk, sk [][]byte, ol []int32) ([][]byte, [][]byte, []int32) {
	n := c.N
	pk = topNReset(pk, n)
	sk = topNReset(sk, n)
	np, no := len(partition), len(order)
	for j, col := range partition {
		st.AppendKeyCol(pk, j, c.Cols[col])
	}
	for j, k := range order {
		st.AppendKeyCol(sk, np+j, c.Cols[k.Col])
	}
	ol = slices.Grow(ol[:0], n)[:n]
	for i := range n {
		ol[i] = int32(len(sk[i]))
	}
	for j, col := range streamKey {
		st.AppendKeyCol(sk, np+no+j, c.Cols[col])
	}
	return pk, sk, ol
}
