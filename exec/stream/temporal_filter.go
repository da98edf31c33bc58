package stream

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// TemporalFilterSpec keeps the rows for which every bound holds at the
// current epoch's time: a WHERE clause that compares a row's value with
// now() (`ts > now() - INTERVAL '1 hour'`). The view follows the clock:
// as epochs pass, rows leave it (a lower bound, `row > now()...`, stops
// holding) and enter it (an upper bound, `row < now()...`, starts
// holding). now() is the time of the epoch's barrier (Barrier.Time), the
// same for every view of the epoch, and the thresholds of the last
// committed epoch are state: after a restart the view goes on from them.
//
// A bound holds for a row while `Row op Now` is true, with Now evaluated
// at the epoch's time: Now is monotone in time (now() plus or minus
// constants, date_trunc, casts), so a lower bound, once false, stays
// false (the row is gone for good) and an upper bound, once true, stays
// true. Chunks between two barriers are judged by the thresholds of the
// last barrier; at a barrier the thresholds move and only the rows whose
// bound flipped are visited, taken in bound order from a heap per bound.
// Before the first barrier of a new view the thresholds are not known:
// the rows wait, and the first barrier decides each one.
//
// State, two tables:
//   - rows: (first bound's row value, stream key) -> row, for the rows
//     not gone for good that are either waiting to enter or may still
//     leave (a row in the view is kept only when a lower bound can
//     remove it); in memory as a map by stream key plus a heap per bound,
//     so expiry and entry cost the rows that move, not a scan;
//   - thresholds: () -> the bounds' Now values at the last barrier.
//
// Under the state memory budget the rows with the largest values of the
// bounds' row expression live in the rows table only, behind a cut
// (temporal_filter_cache.go).
type TemporalFilterSpec struct {
	Types   []types.T
	KeyCols []int
	Bounds  []TemporalBound
}

// TemporalBound is one `Row Op Now` conjunct of a temporal filter: Row
// reads the input row, Now only the time (now(), current_date, ...).
// Both have type T, an integer-ordered time type (timestamp,
// timestamptz, date).
type TemporalBound struct {
	Row, Now expr.Expr
	Op       string // ">", ">=", "<", "<="
	T        types.T
}

// lower reports whether the bound stops holding as time passes.
func (b TemporalBound) lower() bool { return b.Op == ">" || b.Op == ">=" }

// holds reports whether v Op t.
func (b TemporalBound) holds(v, t int64) bool {
	switch b.Op {
	case ">":
		return v > t
	case ">=":
		return v >= t
	case "<":
		return v < t
	}
	return v <= t
}

func (s *TemporalFilterSpec) Explain() string {
	parts := make([]string, len(s.Bounds))
	for i, b := range s.Bounds {
		parts[i] = b.Row.String() + " " + b.Op + " " + b.Now.String()
	}
	return "StreamTemporalFilter " + strings.Join(parts, " AND ")
}

func (s *TemporalFilterSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	for _, bd := range s.Bounds {
		if !IntLike(bd.T) {
			return nil, fmt.Errorf("temporal filter: bound of type %s is not an ordered time type", bd.T)
		}
	}
	keys := []KeyCol{{T: s.Bounds[0].T}}
	for _, k := range s.KeyCols {
		keys = append(keys, KeyCol{T: s.Types[k]})
	}
	f := &temporalFilter{spec: s, env: b.Env, out: out, state: b.NewStateTable(keys, s.Types),
		rows: map[string]*temporalRow{}, dirty: map[string][]types.Datum{}, heaps: make([]Heap[temporalRef], len(s.Bounds)),
		th: make([]int64, len(s.Bounds))}
	thTypes := make([]types.T, len(s.Bounds))
	for i, bd := range s.Bounds {
		thTypes[i] = bd.T
		f.hasLower = f.hasLower || bd.lower()
	}
	f.meta = b.NewStateTable(nil, thTypes)
	f.acct, f.spillable = f.state.Account(), s.spillable()
	if b.Env.Fresh {
		return f, nil
	}
	v, found, err := f.meta.Get(b.Env.State, nil)
	if err != nil {
		return nil, err
	}
	if found {
		ths, err := f.meta.DecodeValue(v)
		if err != nil {
			return nil, err
		}
		for i, d := range ths {
			f.th[i] = IntOf(d)
		}
		f.known = true
	}
	budget := int64(-1)
	if f.spillable {
		budget = f.acct.LoadBudget()
	}
	err = f.state.Scan(b.Env.State, nil, func(_, v []byte) error {
		row, err := f.state.DecodeValue(v)
		if err != nil {
			return err
		}
		vals, ok, err := f.rowValues(row)
		if err != nil || !ok {
			return err
		}
		if budget >= 0 && f.bytes > budget {
			// Rows are in key order: the rest stay behind a cut.
			f.cut, f.cold = vals[0], true
			return ErrLoadBudget
		}
		f.keep(f.streamKey(row), row, vals, false)
		return nil
	})
	if err != nil && err != ErrLoadBudget {
		return nil, err
	}
	f.acct.Report(f.bytes)
	return f, nil
}

type temporalFilter struct {
	spec *TemporalFilterSpec
	env  *Env
	out  Output
	// state holds the kept rows, meta the thresholds.
	state, meta *StateTable
	// rows are the kept rows by stream key.
	rows map[string]*temporalRow
	// heaps[i] orders the kept rows by bound i's row value: for a
	// lower bound every kept row (the next to leave first), for an upper
	// bound the rows it keeps out (the next to enter first). Entries of
	// rows deleted since are skipped when they come up (gen).
	heaps []Heap[temporalRef]
	// th are the bounds' thresholds (Now at the last barrier) once known.
	th       []int64
	known    bool
	hasLower bool
	// dirty are the state keys changed this epoch: the row, or nil for a
	// deletion.
	dirty map[string][]types.Datum
	gen   uint64
	buf   []byte
	// Under the budget (temporal_filter_cache.go): acct is the state
	// account, bytes the kept rows' estimated size; when cold, rows whose
	// first value is at or above cut may be in storage only. fresh are
	// the rows kept this epoch.
	acct      *StateAccount
	spillable bool
	bytes     int64
	cut       int64
	cold      bool
	// need is the value below which rows may move at the next barrier:
	// they are not evicted.
	need  int64
	fresh []*temporalRow
}

type temporalRow struct {
	row  []types.Datum
	vals []int64
	gen  uint64
	// epoch is the epoch that wrote the row (tfPending: none yet; 0:
	// loaded from storage); size its estimated bytes.
	epoch uint64
	size  int64
}

type temporalRef struct {
	key string
	gen uint64
}

// streamKey encodes row's stream key.
func (f *temporalFilter) streamKey(row []types.Datum) string {
	f.buf = f.buf[:0]
	for j, k := range f.spec.KeyCols {
		f.buf = f.state.AppendKeyValue(f.buf, j+1, row[k])
	}
	return string(f.buf)
}

// stateKey is the row's key in the rows table.
func (f *temporalFilter) stateKey(sk string, r *temporalRow) string {
	b := f.state.AppendKeyValue(nil, 0, IntDatum(r.vals[0], f.spec.Bounds[0].T))
	return string(append(b, sk...))
}

// rowValues evaluates the bounds' row sides over one row (restart path);
// ok is false when one is NULL.
func (f *temporalFilter) rowValues(row []types.Datum) ([]int64, bool, error) {
	cols := make([]arrow.Array, len(row))
	for j, t := range f.spec.Types {
		cols[j] = types.ArrayFromDatums(t, []types.Datum{row[j]})
	}
	b := &exec.Batch{Cols: cols, N: 1}
	defer b.Release()
	vals := make([]int64, len(f.spec.Bounds))
	for i, bd := range f.spec.Bounds {
		arr, err := bd.Row.Eval(f.env.Ctx, b)
		if err != nil {
			return nil, false, err
		}
		d := types.GetDatum(arr, 0, bd.T)
		arr.Release()
		if d == nil {
			return nil, false, nil
		}
		vals[i] = IntOf(d)
	}
	return vals, true, nil
}

// judge reports whether every bound holds under the thresholds th
// (visible), and whether a lower bound failed (the row never returns).
func (f *temporalFilter) judge(vals, th []int64) (visible, gone bool) {
	visible = true
	for i, bd := range f.spec.Bounds {
		if !bd.holds(vals[i], th[i]) {
			visible = false
			if bd.lower() {
				gone = true
			}
		}
	}
	return visible, gone
}

// keep adds a row to the kept rows (and, when dirty, to the epoch's
// writes), pushing it on the heaps of the bounds that may move it.
func (f *temporalFilter) keep(sk string, row []types.Datum, vals []int64, dirty bool) {
	f.gen++
	r := &temporalRow{row: row, vals: vals, gen: f.gen, size: tfRowBytes(row)}
	if old, ok := f.rows[sk]; ok {
		f.drop(sk, old)
	}
	f.rows[sk] = r
	f.bytes += r.size
	if dirty {
		f.dirty[f.stateKey(sk, r)] = row
		r.epoch = tfPending
		f.fresh = append(f.fresh, r)
	}
	f.push(sk, r)
}

// push puts r on the heaps of the bounds that may move it.
func (f *temporalFilter) push(sk string, r *temporalRow) {
	for i, bd := range f.spec.Bounds {
		if bd.lower() || !f.known || !bd.holds(r.vals[i], f.th[i]) {
			f.heaps[i].Push(r.vals[i], temporalRef{sk, r.gen})
		}
	}
}

// drop removes a kept row; its heap entries become stale.
func (f *temporalFilter) drop(sk string, r *temporalRow) {
	delete(f.rows, sk)
	f.bytes -= r.size
	f.dirty[f.stateKey(sk, r)] = nil
}

func (f *temporalFilter) Chunk(_ int, c *Chunk) error {
	defer c.Release()
	b := c.Batch()
	vals := make([][]int64, len(f.spec.Bounds))
	nulls := make([]bool, c.N)
	for i, bd := range f.spec.Bounds {
		arr, err := bd.Row.Eval(f.env.Ctx, b)
		if err != nil {
			return err
		}
		vals[i] = make([]int64, c.N)
		for r := 0; r < c.N; r++ {
			d := types.GetDatum(arr, r, bd.T)
			if d == nil {
				nulls[r] = true
				continue
			}
			vals[i][r] = IntOf(d)
		}
		arr.Release()
	}
	var idx []int
	var ops []Op
	visibleAt := func(r int) bool {
		if nulls[r] || !f.known {
			return false
		}
		v := make([]int64, len(vals))
		for i := range vals {
			v[i] = vals[i][r]
		}
		vis, _ := f.judge(v, f.th)
		return vis
	}
	for r := 0; r < c.N; r++ {
		op := c.Ops[r]
		if op == UpdateDelete && r+1 < c.N {
			// An update pair: both halves apply, and the output is the
			// pair, a lone delete or insert, or nothing.
			a, z := visibleAt(r), visibleAt(r+1)
			f.apply(c, r, vals, nulls, false)
			f.apply(c, r+1, vals, nulls, true)
			switch {
			case a && z:
				idx, ops = append(idx, r, r+1), append(ops, UpdateDelete, UpdateInsert)
			case a:
				idx, ops = append(idx, r), append(ops, Delete)
			case z:
				idx, ops = append(idx, r+1), append(ops, Insert)
			}
			r++
			continue
		}
		if visibleAt(r) {
			idx, ops = append(idx, r), append(ops, op)
		}
		f.apply(c, r, vals, nulls, op.IsInsert())
	}
	if len(idx) == 0 {
		return nil
	}
	tb := expr.Take(b, idx)
	return f.out.Chunk(&Chunk{Cols: tb.Cols, Ops: ops, N: tb.N})
}

// apply changes the kept rows for chunk row r, an insert or a delete.
func (f *temporalFilter) apply(c *Chunk, r int, vals [][]int64, nulls []bool, insert bool) {
	if nulls[r] {
		return // a NULL bound is never true: the row never shows
	}
	row := c.Row(r, f.spec.Types)
	sk := f.streamKey(row)
	if !insert {
		if old, ok := f.rows[sk]; ok {
			f.drop(sk, old)
		} else if f.cold && vals[0][r] >= f.cut {
			// The row may be in storage only.
			f.dirty[string(append(f.cutKey(vals[0][r]), sk...))] = nil
		}
		return
	}
	v := make([]int64, len(vals))
	for i := range vals {
		v[i] = vals[i][r]
	}
	if f.known {
		vis, gone := f.judge(v, f.th)
		if gone || (vis && !f.hasLower) {
			return
		}
	}
	f.keep(sk, row, v, true)
}

func (f *temporalFilter) Watermark(_ int, w Watermark) error { return f.out.Watermark(w) }

func (f *temporalFilter) Barrier(b *Barrier) error {
	if !b.Time.IsZero() {
		if err := f.advance(b.Time); err != nil {
			return err
		}
	}
	for k, row := range f.dirty {
		if row != nil {
			if err := f.state.Insert(b.Writes, []byte(k), f.state.AppendValue(nil, row)); err != nil {
				return err
			}
		} else if err := f.state.Delete(b.Writes, []byte(k)); err != nil {
			return err
		}
	}
	clear(f.dirty)
	f.written(b.Epoch)
	if f.known && !b.Time.IsZero() {
		ths := make([]types.Datum, len(f.th))
		for i, bd := range f.spec.Bounds {
			ths[i] = IntDatum(f.th[i], bd.T)
		}
		if err := f.meta.Insert(b.Writes, nil, f.meta.AppendValue(nil, ths)); err != nil {
			return err
		}
	}
	f.shrink()
	return f.out.Barrier(b)
}

// advance moves the thresholds to time now and emits the rows that
// leave and enter the view.
func (f *temporalFilter) advance(now time.Time) error {
	ctx := *f.env.Ctx
	ctx.TxnTime, ctx.StmtTime = now, now
	th := make([]int64, len(f.spec.Bounds))
	for i, bd := range f.spec.Bounds {
		d, err := expr.EvalConst(&ctx, bd.Now)
		if err != nil {
			return fmt.Errorf("temporal filter %s: %w", bd.Now.String(), err)
		}
		if d == nil {
			return fmt.Errorf("temporal filter: %s is NULL", bd.Now.String())
		}
		th[i] = IntOf(d)
		if f.known && th[i] < f.th[i] {
			th[i] = f.th[i] // the clock never moves a bound back
		}
	}
	// The rows the new thresholds may move are in memory first.
	hi := int64(math.MaxInt64)
	if f.known {
		hi = slices.Max(th)
		if hi < math.MaxInt64 {
			hi++
		}
	}
	if err := f.loadUpTo(hi); err != nil {
		return err
	}
	f.need = hi
	var outRows [][]types.Datum
	var outOps []Op
	if !f.known {
		// The first barrier decides every waiting row.
		for sk, r := range f.rows {
			vis, gone := f.judge(r.vals, th)
			if vis {
				outRows, outOps = append(outRows, r.row), append(outOps, Insert)
			}
			if gone || (vis && !f.hasLower) {
				f.drop(sk, r)
			}
		}
		f.th, f.known = th, true
		f.rebuildHeaps()
		return f.emit(outRows, outOps)
	}
	old := f.th
	// Rows whose lower bound stops holding leave for good.
	for i, bd := range f.spec.Bounds {
		if !bd.lower() {
			continue
		}
		h := &f.heaps[i]
		for h.Len() > 0 && !bd.holds(h.Min().Key, th[i]) {
			ref := h.Pop().Val
			r, ok := f.rows[ref.key]
			if !ok || r.gen != ref.gen {
				continue
			}
			if vis, _ := f.judge(r.vals, old); vis {
				outRows, outOps = append(outRows, r.row), append(outOps, Delete)
			}
			f.drop(ref.key, r)
		}
	}
	// Rows whose upper bound starts holding may enter.
	for i, bd := range f.spec.Bounds {
		if bd.lower() {
			continue
		}
		h := &f.heaps[i]
		for h.Len() > 0 && bd.holds(h.Min().Key, th[i]) {
			ref := h.Pop().Val
			r, ok := f.rows[ref.key]
			if !ok || r.gen != ref.gen {
				continue
			}
			was, _ := f.judge(r.vals, old)
			vis, _ := f.judge(r.vals, th)
			if vis && !was {
				outRows, outOps = append(outRows, r.row), append(outOps, Insert)
				if !f.hasLower {
					f.drop(ref.key, r)
				}
			}
		}
	}
	f.th = th
	if err := f.emit(outRows, outOps); err != nil {
		return err
	}
	f.compact()
	return nil
}

// rebuildHeaps refills the heaps from the kept rows.
func (f *temporalFilter) rebuildHeaps() {
	for i := range f.heaps {
		f.heaps[i] = Heap[temporalRef]{}
	}
	for sk, r := range f.rows {
		f.push(sk, r)
	}
}

// compact drops stale heap entries once they outnumber the live ones.
func (f *temporalFilter) compact() {
	n := 0
	for i := range f.heaps {
		n += f.heaps[i].Len()
	}
	if n > 1024 && n > 4*len(f.rows)*len(f.heaps) {
		f.rebuildHeaps()
	}
}

func (f *temporalFilter) emit(rows [][]types.Datum, ops []Op) error {
	if len(rows) == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(f.spec.Types))
	ds := make([]types.Datum, len(rows))
	for j, t := range f.spec.Types {
		for i, r := range rows {
			ds[i] = r[j]
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	return f.out.Chunk(NewChunk(cols, ops))
}

// TakesIdleMarks: idle marks pass through (see Output.Watermark).
func (f *temporalFilter) TakesIdleMarks() bool { return true }
