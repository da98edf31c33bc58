package stream

import (
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// WatermarkFilterSpec generates the watermark of a source column from
// `WATERMARK FOR col AS expr`: the watermark is the largest value of Expr
// seen so far. Rows whose Col is behind the current watermark are late:
// they are dropped and counted (Stats.LateRows). After each chunk that
// moves the watermark a Watermark message on Col follows the chunk.
//
// With FromSource the source generates the watermark per split
// (source_watermark.go): the filter takes the source's watermarks on Col
// instead of a maximum of its own, drops the rows behind the current one,
// and passes on only watermarks above it, so a restart, which derives the
// splits' watermarks afresh, never moves it back.
//
// With Lateness (a view WITH (late_rows = 'reopen', allowed_lateness =
// ...)) the filter's watermark is the watermark the table or source
// declares minus the allowed lateness, in the column's units
// (microseconds for timestamps). Rows up to that much behind the
// declared watermark still pass, and since every operator downstream
// closes windows, sessions and top-N partitions and frees state by this
// watermark, such a row updates the result it belongs to: the view
// retracts the old row and inserts the corrected one. Rows behind it are
// late as without it.
//
// With IdleTimeout (a view, table or source WITH (idle_timeout = ...))
// an input that brings no row for that long still moves time on: from
// the first barrier whose epoch time is IdleTimeout or more after the
// last epoch with a row, the watermark is the watermark of that epoch
// plus the epoch time passed since, so windows close and an EMIT ON
// WINDOW CLOSE result goes out without new data. Such watermarks are
// marked Idle: a union or join leaves the input out of the minimum of
// its inputs' watermarks until it brings a row again. A row that then
// arrives behind the watermark is late, as any other. Epoch times come
// from the coordinator and never go back; the advanced watermark is
// stored like any other, so a restart never moves it back, and the
// idle clock starts again at the first barrier after a restart (the
// time a server was down does not count as idle). An input that has
// never brought a row has no watermark to move on: after the timeout it
// sends an idle mark instead (a watermark without a value, stream.go),
// so unions and joins leave it out all the same.
//
// State: one state table holding the current watermark under the empty
// key, written at each barrier where it moved. A job that resumes loads it
// and sends it on again before its first barrier passes (unless a higher
// one went out first): the operators downstream keep no copy of their
// inputs' watermarks, so without it an interval join whose other side
// stays quiet, or an EMIT ON WINDOW CLOSE view over it, would wait for a
// watermark that had already passed before the restart.
type WatermarkFilterSpec struct {
	Col        int
	Expr       expr.Expr
	Type       types.T
	FromSource bool
	// KeepLate writes the late rows into the job's late row log
	// (late_rows.go), named as rows of Relation, instead of only
	// counting them.
	KeepLate bool
	Relation string
	// Lateness is the allowed lateness subtracted from the watermark (0:
	// none); only for integer-like columns (IntLike).
	Lateness int64
	// IdleTimeout, when positive, advances the watermark of an input
	// without rows with the epoch time (timestamp columns only).
	IdleTimeout time.Duration
}

func (s *WatermarkFilterSpec) Explain() string {
	e := "StreamWatermarkFilter #" + strconv.Itoa(s.Col) + " >= " + s.Expr.String()
	if s.FromSource {
		e += " per split"
	}
	if s.Lateness != 0 {
		e += " lateness " + strconv.FormatInt(s.Lateness, 10)
	}
	if s.IdleTimeout > 0 {
		e += " idle " + s.IdleTimeout.String()
	}
	return e
}

// mark is the watermark v the filter sends: with an allowed lateness v
// is lowered by it and Emit is the declared watermark.
func (s *WatermarkFilterSpec) mark(v types.Datum, idle bool) Watermark {
	w := Watermark{Col: s.Col, Val: v, Idle: idle}
	if s.Lateness != 0 && v != nil {
		w.Emit = IntDatum(IntOf(v)+s.Lateness, s.Type)
	}
	return w
}

// shift subtracts the allowed lateness from a watermark value.
func (s *WatermarkFilterSpec) shift(v types.Datum) types.Datum {
	if s.Lateness == 0 || v == nil {
		return v
	}
	return IntDatum(IntOf(v)-s.Lateness, s.Type)
}

func (s *WatermarkFilterSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	if s.Lateness != 0 && !IntLike(s.Type) {
		return nil, fmt.Errorf("watermark filter: allowed lateness on a %s column", s.Type)
	}
	if s.IdleTimeout > 0 && !IdleTimeoutType(s.Type) {
		return nil, fmt.Errorf("watermark filter: idle timeout on a %s column", s.Type)
	}
	w := &watermarkFilter{spec: s, env: b.Env, out: out,
		state: PersistedWatermark{Table: b.NewStateTable(nil, nil), T: s.Type}}
	if s.KeepLate {
		if b.Env.lateErr != nil {
			return nil, fmt.Errorf("late rows of %s: %w", s.Relation, b.Env.lateErr)
		}
		if b.Env.Late == nil || len(b.Inputs) == 0 {
			return nil, fmt.Errorf("late rows of %s: no late row log", s.Relation)
		}
		w.types, w.names = b.Inputs[0].Types, b.Inputs[0].Names
	}
	if !b.Env.Fresh {
		var err error
		if w.wm, err = w.state.Load(b.Env.State); err != nil {
			return nil, err
		}
		w.resend = w.wm != nil
	}
	return w, nil
}

type watermarkFilter struct {
	spec  *WatermarkFilterSpec
	env   *Env
	out   Output
	state PersistedWatermark
	wm    types.Datum
	dirty bool
	// resend is set while the watermark loaded at a restart has not yet
	// been sent on.
	resend bool
	idx    []int
	// types and names are the input's columns, pending the late rows
	// kept in this epoch (KeepLate).
	types   []types.T
	names   []string
	pending []LateRow
	// Idle timeout (spec.IdleTimeout): rows is set when a row came in
	// the current epoch; activeAt is the time of the last epoch with a
	// row (or of the first barrier after a start), base the watermark
	// then.
	rows     bool
	activeAt time.Time
	base     types.Datum
	// marked: an idle mark went out since the last epoch with a row.
	marked bool
}

// IdleTimeoutType reports whether a watermark column of type t can move
// with the epoch time when its input is idle: timestamps.
func IdleTimeoutType(t types.T) bool {
	return t.Kind == types.TimestampKind || t.Kind == types.TimestampTZ
}

// idleTick runs at a barrier of epoch time now: it restarts the idle
// clock when rows came during the epoch, and once the input has been
// idle for the timeout sends the watermark moved on by the time passed.
func (w *watermarkFilter) idleTick(now time.Time) error {
	if w.spec.IdleTimeout <= 0 || now.IsZero() {
		return nil
	}
	if w.rows || w.activeAt.IsZero() {
		w.rows, w.activeAt, w.base, w.marked = false, now, w.wm, false
		return nil
	}
	passed := now.Sub(w.activeAt)
	if passed < w.spec.IdleTimeout {
		return nil
	}
	if w.base == nil {
		if w.wm != nil || w.marked {
			return nil
		}
		// No row yet, so no watermark to move on: an idle mark lets
		// unions and joins leave this input out (Output.Watermark).
		w.marked = true
		return w.out.Watermark(Watermark{Col: w.spec.Col, Idle: true})
	}
	next := IntDatum(IntOf(w.base)+passed.Microseconds(), w.spec.Type)
	if w.wm != nil && types.Compare(next, w.wm, w.spec.Type) <= 0 {
		return nil
	}
	w.wm, w.dirty, w.resend = next, true, false
	return w.out.Watermark(w.spec.mark(next, true))
}

// keepLate queues the rows of c that are not in kept (ascending) as late
// rows that missed the watermark w.wm.
func (w *watermarkFilter) keepLate(c *Chunk, kept []int) {
	if !w.spec.KeepLate {
		return
	}
	now := time.Now()
	var loc *time.Location
	if w.env.Ctx != nil {
		loc = w.env.Ctx.Location
	}
	wm := types.FormatText(w.wm, w.spec.Type, loc)
	k := 0
	for i := 0; i < c.N; i++ {
		if k < len(kept) && kept[k] == i {
			k++
			continue
		}
		row := c.Row(i, w.types)
		w.pending = append(w.pending, LateRow{Relation: w.spec.Relation, Row: lateRowJSON(row, w.types, w.names, loc),
			EventTime: types.FormatText(row[w.spec.Col], w.spec.Type, loc), Watermark: wm, Arrived: now})
	}
}

func (w *watermarkFilter) Chunk(_ int, c *Chunk) error {
	if c.N > 0 {
		w.rows = true
	}
	if w.spec.FromSource {
		return w.dropLate(c)
	}
	vals, err := w.spec.Expr.Eval(w.env.Ctx, c.Batch())
	if err != nil {
		c.Release()
		return err
	}
	defer vals.Release()
	col := c.Cols[w.spec.Col]
	t := w.spec.Type
	w.idx = w.idx[:0]
	var ops []Op
	var late int64
	next := w.wm
	if l, n, ok := w.scanInts(col, vals); ok {
		late, next = l, n
		if late > 0 {
			ops = make([]Op, len(w.idx))
			for k, i := range w.idx {
				ops[k] = c.Ops[i]
			}
		}
	} else {
		for i := 0; i < c.N; i++ {
			if w.wm != nil {
				d := types.GetDatum(col, i, t)
				if d != nil && types.Compare(d, w.wm, t) < 0 {
					late++
					continue
				}
			}
			w.idx = append(w.idx, i)
			ops = append(ops, c.Ops[i])
			if v := types.GetDatum(vals, i, t); v != nil && (next == nil || types.Compare(v, next, t) > 0) {
				next = v
			}
		}
	}
	if late > 0 {
		w.env.CountLate(late)
		w.keepLate(c, w.idx)
		b := expr.Take(c.Batch(), w.idx)
		c.Release()
		c = &Chunk{Cols: b.Cols, Ops: ops, N: b.N}
	}
	if err := w.out.Chunk(c); err != nil {
		return err
	}
	// next is the larger of the current watermark and the largest value
	// of the expression; only the latter moves it, less the lateness.
	if w.spec.Lateness != 0 && next != nil && next != w.wm {
		next = w.spec.shift(next)
	}
	if next != nil && (w.wm == nil || types.Compare(next, w.wm, t) > 0) {
		w.wm, w.dirty, w.resend = next, true, false
		return w.out.Watermark(w.spec.mark(next, false))
	}
	return nil
}

func (w *watermarkFilter) Watermark(_ int, wm Watermark) error {
	if w.spec.FromSource && wm.Col == w.spec.Col {
		wm.Val = w.spec.shift(wm.Val)
		if wm.Val == nil || (w.wm != nil && types.Compare(wm.Val, w.wm, w.spec.Type) <= 0) {
			return nil
		}
		w.wm, w.dirty, w.resend = wm.Val, true, false
		wm = w.spec.mark(wm.Val, wm.Idle)
	}
	return w.out.Watermark(wm)
}

// dropLate passes on the rows of c that are not behind the watermark.
func (w *watermarkFilter) dropLate(c *Chunk) error {
	if w.wm == nil {
		return w.out.Chunk(c)
	}
	col := c.Cols[w.spec.Col]
	t := w.spec.Type
	w.idx = w.idx[:0]
	done := false
	if IntLike(t) {
		s := wmIntScan{wm: IntOf(w.wm), hasWM: true}
		done = true
		switch a := col.(type) {
		case *array.Timestamp:
			w.idx = wmScanInts(&s, a.TimestampValues(), a.TimestampValues(), col, col, w.idx)
		case *array.Int64:
			w.idx = wmScanInts(&s, a.Int64Values(), a.Int64Values(), col, col, w.idx)
		case *array.Date32:
			w.idx = wmScanInts(&s, a.Date32Values(), a.Date32Values(), col, col, w.idx)
		case *array.Int32:
			w.idx = wmScanInts(&s, a.Int32Values(), a.Int32Values(), col, col, w.idx)
		default:
			done = false
		}
	}
	if !done {
		for i := 0; i < c.N; i++ {
			if d := types.GetDatum(col, i, t); d != nil && types.Compare(d, w.wm, t) < 0 {
				continue
			}
			w.idx = append(w.idx, i)
		}
	}
	if late := int64(c.N - len(w.idx)); late > 0 {
		w.env.CountLate(late)
		w.keepLate(c, w.idx)
		ops := make([]Op, len(w.idx))
		for k, i := range w.idx {
			ops[k] = c.Ops[i]
		}
		b := expr.Take(c.Batch(), w.idx)
		c.Release()
		c = &Chunk{Cols: b.Cols, Ops: ops, N: b.N}
	}
	return w.out.Chunk(c)
}

func (w *watermarkFilter) Barrier(b *Barrier) error {
	if w.resend {
		w.resend = false
		if err := w.out.Watermark(w.spec.mark(w.wm, false)); err != nil {
			return err
		}
	}
	if err := w.idleTick(b.Time); err != nil {
		return err
	}
	if len(w.pending) > 0 {
		if err := w.env.Late.Append(b.Writes, w.pending); err != nil {
			return fmt.Errorf("late rows of %s: %w", w.spec.Relation, err)
		}
		w.pending = w.pending[:0]
	}
	if w.dirty {
		if err := w.state.Store(b.Writes, w.wm); err != nil {
			return err
		}
		w.dirty = false
	}
	return w.out.Barrier(b)
}

// scanInts is Chunk's loop for integer-like time columns (timestamps,
// dates, integers), over their typed values: it fills w.idx with the rows
// that are not late and returns the late count and the new maximum of the
// watermark expression. ok is false for other column types.
func (w *watermarkFilter) scanInts(col, vals arrow.Array) (late int64, next types.Datum, ok bool) {
	t := w.spec.Type
	if !IntLike(t) {
		return 0, nil, false
	}
	var s wmIntScan
	if w.wm != nil {
		s.wm, s.hasWM = IntOf(w.wm), true
	}
	switch c := col.(type) {
	case *array.Timestamp:
		v, ok2 := vals.(*array.Timestamp)
		if !ok2 {
			return 0, nil, false
		}
		w.idx = wmScanInts(&s, c.TimestampValues(), v.TimestampValues(), col, vals, w.idx)
	case *array.Int64:
		v, ok2 := vals.(*array.Int64)
		if !ok2 {
			return 0, nil, false
		}
		w.idx = wmScanInts(&s, c.Int64Values(), v.Int64Values(), col, vals, w.idx)
	case *array.Date32:
		v, ok2 := vals.(*array.Date32)
		if !ok2 {
			return 0, nil, false
		}
		w.idx = wmScanInts(&s, c.Date32Values(), v.Date32Values(), col, vals, w.idx)
	case *array.Int32:
		v, ok2 := vals.(*array.Int32)
		if !ok2 {
			return 0, nil, false
		}
		w.idx = wmScanInts(&s, c.Int32Values(), v.Int32Values(), col, vals, w.idx)
	default:
		return 0, nil, false
	}
	next = w.wm
	if s.hasNext && (w.wm == nil || s.next > s.wm) {
		next = IntDatum(s.next, t)
	}
	return s.late, next, true
}

// wmIntScan carries scanInts' running values.
type wmIntScan struct {
	wm, next       int64
	hasWM, hasNext bool
	late           int64
}

func wmScanInts[V ~int32 | ~int64](s *wmIntScan, col, vals []V, colArr, valArr arrow.Array, idx []int) []int {
	colNulls, valNulls := colArr.NullN() > 0, valArr.NullN() > 0
	for i, v := range col {
		if s.hasWM && int64(v) < s.wm && !(colNulls && colArr.IsNull(i)) {
			s.late++
			continue
		}
		idx = append(idx, i)
		if x := int64(vals[i]); (!s.hasNext || x > s.next) && !(valNulls && valArr.IsNull(i)) {
			s.next, s.hasNext = x, true
		}
	}
	return idx
}
