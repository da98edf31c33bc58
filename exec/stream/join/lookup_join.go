package join

// LookupJoin is the processing-time lookup join (`JOIN t FOR SYSTEM_TIME
// AS OF PROCTIME() ON ...`): each row of the stream (the left input) is
// joined, when it is processed, with the row of table t whose primary key
// the ON condition gives. The table is not an input of the dataflow: it is
// read by point lookups in pebble, and its later changes do not touch
// results already emitted. That is the semantics users choose it for
// (enrichment with a dimension table that changes slowly, without keeping
// the stream in state to re-join it).
//
// # Which table contents a row sees
//
// The latest committed contents of the table at the moment the row's chunk
// is processed: every chunk opens one pebble iterator (an implicit
// snapshot), so the rows of a chunk all see the same version of the table.
// Table writes commit on their own, not with epochs, so a lookup sees a
// write as soon as its transaction has committed. After a crash, rows
// replayed from the last committed epoch are looked up again and may meet
// newer table contents; their earlier results were never committed.
//
// # Output
//
// Left columns, then the table's RightCols. INNER emits a row only when
// the key is found (and the residual holds); LEFT emits every left row,
// padded with NULLs when there is no match. At most one table row matches
// (the key is the whole primary key), so the output stream key is the left
// stream key and the output is append-only when the left input is.
//
// # State layout
//
// None when the left input is append-only. Otherwise one state table, so
// that a left delete retracts exactly what its insert emitted (the table
// may have changed since):
//
//	key:   left stream key                         (a StateTable key)
//	value: 0x00                                    the row was emitted padded with NULLs (LEFT)
//	       0x01 ++ the table row as stored         the row was emitted with this table row
//
// An INNER row that found nothing has no entry. Entries leave when their
// left row is deleted. In memory the state is a stream.PartCache of the
// same keys and values (one entry per left row), under the state memory
// budget: at barriers, entries written in committed epochs are evicted,
// and a delete whose entry is not in memory reads it from storage.

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// LookupJoinSpec describes a processing-time lookup join.
type LookupJoinSpec struct {
	// Kind is InnerJoin or LeftJoin.
	Kind batch.JoinKind
	// Table is the looked-up table; its whole primary key is given by Keys.
	Table *storage.Table
	// Keys[i], over the left input's columns, is the value of the table's
	// i-th primary key column (types.LookupKeyType says which types fit).
	Keys []expr.Expr
	// RightCols are the table's physical columns output after the left ones.
	RightCols []int
	// Residual is the rest of the ON condition over the output row (left
	// columns, then RightCols), or nil.
	Residual expr.Expr
	// LeftTypes and LeftStreamKey describe the left input.
	LeftTypes     []types.T
	LeftStreamKey []int
	// LeftAppendOnly: the left input never deletes, so no state is kept.
	LeftAppendOnly bool
}

// Explain implements Spec.
func (s *LookupJoinSpec) Explain() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "LookupJoin %s %s on ", s.Kind, s.Table.Name)
	for i, k := range s.Keys {
		if i > 0 {
			sb.WriteString(" AND ")
		}
		fmt.Fprintf(&sb, "%s = %s", k, s.Table.ColNames[s.Table.PK[i]])
	}
	if s.Residual != nil {
		sb.WriteString(" filter ")
		sb.WriteString(s.Residual.String())
	}
	sb.WriteString(" (as of processing time)")
	return sb.String()
}

// Build implements Spec. It takes one state table unless the left input
// is append-only.
func (s *LookupJoinSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	if s.Kind != batch.InnerJoin && s.Kind != batch.LeftJoin {
		return nil, fmt.Errorf("lookup join %s: unsupported join kind %s", s.Table.Name, s.Kind)
	}
	if len(s.Table.PK) == 0 || len(s.Keys) != len(s.Table.PK) {
		return nil, fmt.Errorf("lookup join %s: %d key values for a %d-column primary key", s.Table.Name, len(s.Keys), len(s.Table.PK))
	}
	if b.Env.DB == nil {
		return nil, fmt.Errorf("lookup join %s: no database to read the table from", s.Table.Name)
	}
	j := &lookupJoin{spec: s, env: b.Env, out: out, prefix: storage.TableKey(s.Table.ID, nil)}
	j.spanLo, j.spanHi = storage.TableSpan(s.Table.ID)
	for i, k := range s.Keys {
		pk := s.Table.Types[s.Table.PK[i]]
		kt, ok := types.LookupKeyType(k.Type(), pk)
		if !ok {
			return nil, fmt.Errorf("lookup join %s: key %s of type %s cannot look up a %s key", s.Table.Name, k, k.Type(), pk)
		}
		j.keyCols = append(j.keyCols, hjKeyCol{col: i, src: k.Type(), keyT: kt})
	}
	// The decoder reads each physical column once; decode repeats a
	// column wanted twice.
	j.pick = make([]int, len(s.RightCols))
	var uniq []int
	for k, c := range s.RightCols {
		at := slices.Index(uniq, c)
		if at < 0 {
			at = len(uniq)
			uniq = append(uniq, c)
		}
		j.pick[k] = at
	}
	j.dec = storage.NewRowDecoder(s.Table.Types, uniq)
	for _, c := range uniq {
		j.builders = append(j.builders, types.NewBuilder(s.Table.Types[c]))
	}
	if !s.LeftAppendOnly {
		if len(s.LeftStreamKey) == 0 {
			return nil, fmt.Errorf("lookup join %s: a retracting left input needs a stream key", s.Table.Name)
		}
		for _, c := range s.LeftStreamKey {
			kt, _ := types.JoinKeyType(s.LeftTypes[c], s.LeftTypes[c])
			j.skCols = append(j.skCols, hjKeyCol{col: c, src: s.LeftTypes[c], keyT: kt})
		}
		var keys []stream.KeyCol
		for _, kc := range j.skCols {
			keys = append(keys, stream.KeyCol{T: kc.keyT})
		}
		j.stateTable = b.NewStateTable(keys, nil)
		j.state = stream.NewPartCache[*ljEntry](b.Env, j.stateTable.Account())
		j.dirty = map[string]struct{}{}
		if !b.Env.Fresh {
			if err := j.load(b.Env.State); err != nil {
				return nil, fmt.Errorf("lookup join %s: load state: %w", s.Table.Name, err)
			}
		}
	}
	return j, nil
}

// Values of the state table.
const (
	ljPadded  byte = 0x00
	ljMatched byte = 0x01
)

type lookupJoin struct {
	spec   *LookupJoinSpec
	env    *stream.Env
	out    stream.Output
	prefix []byte // the table's key prefix
	// spanLo, spanHi bound the table's rows.
	spanLo, spanHi []byte
	keyCols        []hjKeyCol
	skCols         []hjKeyCol
	dec            storage.RowDecoder
	pick           []int // builder of each right column
	builders       []array.Builder

	stateTable *stream.StateTable
	// state holds the entries in memory (nil Parts: an append-only left
	// input keeps no state); LastWrite dates the entries written in
	// epochs that may not have committed yet (they stay in memory).
	state stream.PartCache[*ljEntry]
	dirty map[string]struct{}

	// Per-chunk buffers, reused.
	keys    hjKeys
	sks     hjKeys
	arena   []byte
	spans   []ljSpan
	emit    []bool
	idx     []int32
	keyArrs []arrow.Array
}

// ljSpan locates row i's table row in the arena (has is false: none).
type ljSpan struct {
	start, end int32
	has        bool
}

func (j *lookupJoin) Chunk(_ int, c *stream.Chunk) error {
	right, err := j.chunk(c)
	if err != nil {
		c.Release()
		return err
	}
	return j.send(c, right)
}

// chunk looks up and tracks the rows of c and returns the right columns
// of its rows; emit says which rows are output.
func (j *lookupJoin) chunk(c *stream.Chunk) ([]arrow.Array, error) {
	n := c.N
	j.arena = j.arena[:0]
	j.spans = slices.Grow(j.spans[:0], n)[:n]
	clear(j.spans)
	j.emit = slices.Grow(j.emit[:0], n)[:n]
	clear(j.emit)
	inserts, deletes := 0, 0
	for _, op := range c.Ops {
		if op.IsInsert() {
			inserts++
		} else {
			deletes++
		}
	}
	if deletes > 0 && j.state.Parts == nil {
		return nil, sqlerr.New(sqlerr.InternalError, "lookup join %s: an append-only input delivered a delete", j.spec.Table.Name)
	}
	if inserts > 0 {
		if err := j.lookup(c); err != nil {
			return nil, err
		}
	}
	var right []arrow.Array
	if j.spec.Residual != nil && inserts > 0 {
		var err error
		if right, err = j.residual(c); err != nil {
			return nil, err
		}
	}
	rebuild := right == nil
	if j.state.Parts != nil {
		replayed, err := j.track(c)
		if err != nil {
			ljRelease(right)
			return nil, err
		}
		if replayed {
			rebuild = true
		}
	} else {
		for i := 0; i < n; i++ {
			j.emit[i] = j.spans[i].has || j.spec.Kind == batch.LeftJoin
		}
	}
	if rebuild {
		ljRelease(right)
		return j.decode(n)
	}
	return right, nil
}

// lookup finds the table row of every insert of c.
func (j *lookupJoin) lookup(c *stream.Chunk) error {
	n := c.N
	bt := c.Batch()
	j.keyArrs = j.keyArrs[:0]
	defer func() {
		ljRelease(j.keyArrs)
		j.keyArrs = j.keyArrs[:0]
	}()
	for _, k := range j.spec.Keys {
		a, err := k.Eval(j.env.Ctx, bt)
		if err != nil {
			return err
		}
		j.keyArrs = append(j.keyArrs, a)
	}
	j.keys.reset(n)
	for i := range j.keys.keys {
		j.keys.keys[i] = append(j.keys.keys[i], j.prefix...)
	}
	for _, kc := range j.keyCols {
		if err := hjAppendKeys(j.keys.keys, j.keys.hasNull, j.keyArrs[kc.col], kc, j.env.Ctx.Location); err != nil {
			return err
		}
	}
	// One iterator per chunk: every row of the chunk sees one version of
	// the table.
	it, err := j.env.DB.Latest().NewIter(j.spanLo, j.spanHi)
	if err != nil {
		return fmt.Errorf("lookup join %s: %w", j.spec.Table.Name, err)
	}
	for i := 0; i < n; i++ {
		if !c.Ops[i].IsInsert() || j.keys.hasNull[i] {
			continue
		}
		key := j.keys.keys[i]
		if it.SeekGE(key) && bytes.Equal(it.Key(), key) {
			j.spans[i] = j.put(it.Value())
		}
	}
	return it.Close()
}

// put copies v into the arena.
func (j *lookupJoin) put(v []byte) ljSpan {
	s := ljSpan{start: int32(len(j.arena)), has: true}
	j.arena = append(j.arena, v...)
	s.end = int32(len(j.arena))
	return s
}

// residual evaluates the residual over the inserts that found a row and
// drops the matches it rejects. It returns the right columns when they
// are still valid (nothing rejected), else nil.
func (j *lookupJoin) residual(c *stream.Chunk) ([]arrow.Array, error) {
	right, err := j.decode(c.N)
	if err != nil {
		return nil, err
	}
	cols := append(append(make([]arrow.Array, 0, len(c.Cols)+len(right)), c.Cols...), right...)
	keep, err := expr.EvalBool(j.env.Ctx, j.spec.Residual, &exec.Batch{Cols: cols, N: c.N})
	if err != nil {
		ljRelease(right)
		return nil, err
	}
	changed := false
	for i := 0; i < c.N; i++ {
		if c.Ops[i].IsInsert() && j.spans[i].has && !keep[i] {
			j.spans[i] = ljSpan{}
			changed = true
		}
	}
	if changed {
		ljRelease(right)
		return nil, nil
	}
	return right, nil
}

// track walks the rows in order, recording what each insert emits under
// its stream key and replaying for each delete what its insert emitted.
// It reports whether a delete took a table row from the state (the right
// columns must then be decoded again).
func (j *lookupJoin) track(c *stream.Chunk) (bool, error) {
	n := c.N
	j.sks.reset(n)
	for _, kc := range j.skCols {
		// Stream key columns are plain columns of the input's own types:
		// the encoding cannot fail.
		_ = hjAppendKeys(j.sks.keys, j.sks.hasNull, c.Cols[kc.col], kc, j.env.Ctx.Location)
	}
	replayed := false
	for i := 0; i < n; i++ {
		sk := j.sks.keys[i]
		if c.Ops[i].IsInsert() {
			sp := j.spans[i]
			var v []byte
			switch {
			case sp.has:
				v = append(append(make([]byte, 0, 1+sp.end-sp.start), ljMatched), j.arena[sp.start:sp.end]...)
			case j.spec.Kind == batch.LeftJoin:
				v = []byte{ljPadded}
			}
			j.emit[i] = v != nil
			j.forget(sk)
			if v != nil {
				e := &ljEntry{val: v}
				e.PKey = string(sk)
				j.state.Add(e)
				j.state.Bytes += ljEntryBytes(sk, v)
			}
			j.dirty[string(sk)] = struct{}{}
			continue
		}
		var v []byte
		e, ok := j.state.Get(sk)
		if ok {
			v = e.val
		} else if j.state.Evicted {
			var err error
			if v, ok, err = j.fetch(sk); err != nil {
				return false, err
			}
		}
		if !ok {
			continue
		}
		j.emit[i] = true
		if v[0] == ljMatched {
			j.spans[i] = j.put(v[1:])
			replayed = true
		}
		j.forget(sk)
		j.dirty[string(sk)] = struct{}{}
	}
	return replayed, nil
}

// ljEntry is one left row's state entry in memory.
type ljEntry struct {
	stream.CachedPart
	val []byte
}

// ljEntryBytes estimates the memory of one state entry.
func ljEntryBytes(k, v []byte) int64 { return int64(len(k)+len(v)) + 64 }

// forget removes sk's entry from memory.
func (j *lookupJoin) forget(sk []byte) {
	if e, ok := j.state.Get(sk); ok {
		j.drop(e)
	}
}

// drop removes e from memory.
func (j *lookupJoin) drop(e *ljEntry) {
	j.state.Bytes -= ljEntryBytes([]byte(e.PKey), e.val)
	j.state.Remove(e)
}

// fetch reads the committed entry of sk, evicted from memory: it was
// clean and committed when evicted, so storage holds it.
func (j *lookupJoin) fetch(sk []byte) ([]byte, bool, error) {
	v, ok, err := j.stateTable.Get(j.env.State, sk)
	if err != nil || !ok {
		return nil, false, err
	}
	if len(v) == 0 || (v[0] != ljPadded && v[0] != ljMatched) {
		return nil, false, sqlerr.New(sqlerr.DataCorrupted, "lookup join %s: corrupt state entry", j.spec.Table.Name)
	}
	j.state.CountRead()
	return v, true, nil
}

// shrink reports the resident bytes and, while they exceed the
// instance's share of the budget, evicts entries written in committed
// epochs (stream.StateCache's policy; an entry is read once, by its
// row's delete, so none is ever marked used).
func (j *lookupJoin) shrink() {
	j.state.Shrink(func(*ljEntry) bool { return false }, j.drop)
}

// decode builds the right columns of n rows from the spans (NULLs where a
// row has none).
func (j *lookupJoin) decode(n int) ([]arrow.Array, error) {
	for _, b := range j.builders {
		b.Reserve(n)
	}
	for i := 0; i < n; i++ {
		sp := j.spans[i]
		if !sp.has {
			for _, b := range j.builders {
				b.AppendNull()
			}
			continue
		}
		if err := j.dec.DecodeInto(j.arena[sp.start:sp.end], j.builders); err != nil {
			// Leave the builders empty for the next chunk.
			for _, b := range j.builders {
				b.NewArray().Release()
			}
			return nil, fmt.Errorf("lookup join %s: decode row: %w", j.spec.Table.Name, err)
		}
	}
	arrs := make([]arrow.Array, len(j.builders))
	for k, b := range j.builders {
		arrs[k] = b.NewArray()
	}
	out := make([]arrow.Array, len(j.pick))
	for k, at := range j.pick {
		if slices.Index(j.pick, at) != k {
			arrs[at].Retain()
		}
		out[k] = arrs[at]
	}
	return out, nil
}

// send emits the rows marked in emit: left columns then right. An update
// pair of which one half emits nothing becomes a lone delete or insert.
func (j *lookupJoin) send(c *stream.Chunk, right []arrow.Array) error {
	n := c.N
	j.idx = j.idx[:0]
	ops := make([]stream.Op, 0, n)
	for i := 0; i < n; i++ {
		if !j.emit[i] {
			continue
		}
		op := c.Ops[i]
		switch {
		case op == stream.UpdateDelete && (i+1 >= n || c.Ops[i+1] != stream.UpdateInsert || !j.emit[i+1]):
			op = stream.Delete
		case op == stream.UpdateInsert && (i == 0 || c.Ops[i-1] != stream.UpdateDelete || !j.emit[i-1]):
			op = stream.Insert
		}
		j.idx = append(j.idx, int32(i))
		ops = append(ops, op)
	}
	if len(j.idx) == 0 {
		ljRelease(right)
		c.Release()
		return nil
	}
	var cols []arrow.Array
	if len(j.idx) == n {
		cols = append(append(make([]arrow.Array, 0, len(c.Cols)+len(right)), c.Cols...), right...)
	} else {
		cols = append(stream.TakeRows(c.Cols, j.idx, n), stream.TakeRows(right, j.idx, n)...)
		ljRelease(right)
		c.Release()
	}
	return j.out.Chunk(&stream.Chunk{Cols: cols, Ops: ops, N: len(ops)})
}

func (j *lookupJoin) Watermark(_ int, w stream.Watermark) error { return j.out.Watermark(w) }

func (j *lookupJoin) Barrier(b *stream.Barrier) error {
	if j.state.Parts != nil && len(j.dirty) > 0 {
		for k := range j.dirty {
			var err error
			if e, ok := j.state.Get([]byte(k)); ok {
				err = j.stateTable.Insert(b.Writes, []byte(k), e.val)
				e.LastWrite = b.Epoch
			} else {
				err = j.stateTable.Delete(b.Writes, []byte(k))
			}
			if err != nil {
				return fmt.Errorf("lookup join %s: write state: %w", j.spec.Table.Name, err)
			}
		}
		clear(j.dirty)
	}
	if j.state.Parts != nil {
		j.shrink()
	}
	return j.out.Barrier(b)
}

// load reads the state of the last committed epoch, up to the load
// budget under a state memory budget.
func (j *lookupJoin) load(r storage.Reader) error {
	budget := j.state.Acct.LoadBudget()
	err := j.stateTable.Scan(r, nil, func(k, v []byte) error {
		if len(v) == 0 || (v[0] != ljPadded && v[0] != ljMatched) {
			return sqlerr.New(sqlerr.DataCorrupted, "lookup join %s: corrupt state entry", j.spec.Table.Name)
		}
		if budget >= 0 && j.state.Bytes > budget {
			// The rest stays in storage, read by the deletes that need it.
			j.state.Evicted = true
			return stream.ErrLoadBudget
		}
		e := &ljEntry{val: bytes.Clone(v)}
		e.PKey = string(k)
		j.state.Add(e)
		j.state.Bytes += ljEntryBytes(k, v)
		return nil
	})
	if err == stream.ErrLoadBudget {
		err = nil
	}
	j.state.Report()
	return err
}

func ljRelease(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// TakesIdleMarks: idle marks pass through or count (see stream.Output.Watermark).
func (j *lookupJoin) TakesIdleMarks() bool { return true }
