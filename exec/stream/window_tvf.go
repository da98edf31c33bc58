package stream

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// WindowTVFSpec is a window table function (TUMBLE, HOP, CUMULATE) on a
// stream: each input row becomes one row per window it belongs to, with
// window_start and window_end appended to the input columns (see
// exec/batch/window_tvf.go for the window arithmetic, shared with ad-hoc
// queries). Durations are microseconds; Slide is the size for tumble and
// the step for cumulate.
//
// Ops: every window row carries its input row's op. An update (U-/U+)
// becomes, per window, a U-/U+ pair when the old and the new version fall
// in the same window, and a Delete or an Insert for a window only one of
// them falls in; so every U- is still followed by its U+ and an update
// never moves a row between windows.
//
// Stream key (the planner sets Node.StreamKey with OutputKey): tumble
// keeps the input key (one row per input row); hop adds window_start;
// cumulate adds window_end (the windows of one row share their start).
//
// Watermarks: a watermark on TSCol is forwarded and also becomes a
// watermark on window_start (the smallest window_start any later row can
// get) and on window_end (likewise); other watermarks pass unchanged.
//
// State: none.
type WindowTVFSpec struct {
	Kind   batch.WindowKind
	TSCol  int
	Slide  int64
	Size   int64
	Offset int64
}

// OutputKey returns the output stream key given the input's key and
// number of columns.
func (s *WindowTVFSpec) OutputKey(inKey []int, nIn int) []int {
	key := append([]int{}, inKey...)
	switch s.Kind {
	case batch.HopWindow:
		key = append(key, nIn)
	case batch.CumulateWindow:
		key = append(key, nIn+1)
	}
	return key
}

// OutputWatermarks returns the output watermark columns given the input's.
func (s *WindowTVFSpec) OutputWatermarks(inWM []int, nIn int) []int {
	out := append([]int{}, inWM...)
	for _, c := range inWM {
		if c == s.TSCol {
			out = append(out, nIn, nIn+1)
		}
	}
	return out
}

func (s *WindowTVFSpec) params(tsType types.T) batch.WindowTVFParams {
	return batch.WindowTVFParams{Kind: s.Kind, TSCol: s.TSCol, TSType: tsType, Slide: s.Slide, Size: s.Size, Offset: s.Offset}
}

func (s *WindowTVFSpec) Explain() string {
	return "StreamWindowTVF " + s.params(types.TTimestamp).Explain()
}

func (s *WindowTVFSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	if len(b.Inputs) != 1 {
		return nil, fmt.Errorf("window table function: %d inputs", len(b.Inputs))
	}
	in := b.Inputs[0].Types
	if s.TSCol < 0 || s.TSCol >= len(in) {
		return nil, fmt.Errorf("window table function: time column #%d of %d", s.TSCol, len(in))
	}
	p := s.params(in[s.TSCol])
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &windowTVF{p: p, nIn: len(in), out: out}, nil
}

type windowTVF struct {
	p   batch.WindowTVFParams
	nIn int
	out Output

	w      batch.WindowRows // windows of the rows being processed
	paired batch.WindowRows // w reordered for update pairs
}

func (o *windowTVF) Chunk(_ int, c *Chunk) error {
	ts, ok := c.Cols[o.p.TSCol].(*array.Timestamp)
	if !ok {
		c.Release()
		return fmt.Errorf("window table function: time column is %s", c.Cols[o.p.TSCol].DataType())
	}
	updates := false
	for _, op := range c.Ops {
		if op == UpdateDelete {
			updates = true
			break
		}
	}
	if o.p.Kind == batch.TumbleWindow {
		return o.tumble(c, ts, updates)
	}
	if o.p.Kind == batch.HopWindow && !updates && ts.NullN() == 0 {
		if done, err := o.hopShared(c, ts); done {
			return err
		}
	}
	defer c.Release()
	for lo := 0; lo < c.N; {
		// Expand a slice of the chunk at a time to keep output chunks
		// near exec.BatchSize, never cutting an update pair.
		o.w.Reset()
		hi := o.p.Assign(ts, lo, exec.BatchSize, &o.w)
		if hi < c.N && c.Ops[hi-1] == UpdateDelete {
			hi = o.p.Assign(ts, hi, 0, &o.w)
		}
		lo = hi
		if o.w.Len() == 0 {
			continue
		}
		w := &o.w
		var ops []Op
		if updates {
			w, ops = o.pairUpdates(c.Ops)
		} else {
			ops = make([]Op, w.Len())
			for k, r := range w.Rows {
				ops[k] = c.Ops[r]
			}
		}
		cols := make([]arrow.Array, 0, o.nIn+2)
		for _, col := range c.Cols {
			cols = append(cols, expr.TakeArray(col, w.Rows))
		}
		start, end := o.p.WindowColumns(w)
		if err := o.out.Chunk(NewChunk(append(cols, start, end), ops)); err != nil {
			return err
		}
	}
	return nil
}

// hopShared sends a chunk whose every row has the same number k of hop
// windows as k chunks that share the input's columns, the j-th holding
// every row's j-th window: nothing of the input is copied (taking each row
// k times copied every text column k times). It reports false, having
// sent nothing, when some row has another number of windows (an infinite
// time).
func (o *windowTVF) hopShared(c *Chunk, ts *array.Timestamp) (bool, error) {
	per := o.p.WindowsPerRow()
	o.w.Reset()
	if per < 2 || o.p.Assign(ts, 0, per*c.N, &o.w) != c.N || o.w.Len() != per*c.N {
		return false, nil
	}
	// The input's columns go to every chunk: one reference each.
	for range per - 1 {
		for _, col := range c.Cols {
			col.Retain()
		}
	}
	w, m := &o.w, &o.paired
	for j := range per {
		m.Reset()
		for i := j; i < w.Len(); i += per {
			m.Starts = append(m.Starts, w.Starts[i])
			m.Ends = append(m.Ends, w.Ends[i])
			m.Valid = append(m.Valid, true)
		}
		start, end := o.p.WindowColumns(m)
		cols := append(slices.Clip(c.Cols), start, end)
		if err := o.out.Chunk(NewChunk(cols, slices.Clone(c.Ops[:c.N]))); err != nil {
			for range per - 1 - j {
				c.Release()
			}
			return true, err
		}
	}
	return true, nil
}

// tumble handles tumbling windows, one per row: the input columns pass
// through and only an update that changes window changes its ops.
func (o *windowTVF) tumble(c *Chunk, ts *array.Timestamp, updates bool) error {
	o.w.Reset()
	o.p.Assign(ts, 0, c.N, &o.w)
	ops := c.Ops
	if updates {
		ops = append([]Op(nil), c.Ops...)
		for i := 0; i+1 < c.N; i++ {
			if ops[i] == UpdateDelete && ops[i+1] == UpdateInsert && windowCompare(&o.w, i, &o.w, i+1) != 0 {
				ops[i], ops[i+1] = Delete, Insert
			}
		}
	}
	start, end := o.p.WindowColumns(&o.w)
	cols := append(c.Cols[:len(c.Cols):len(c.Cols)], start, end)
	return o.out.Chunk(&Chunk{Cols: cols, Ops: ops, N: c.N})
}

// pairUpdates reorders o.w so that the windows of an update's two
// versions are merged: windows of both become U-/U+ pairs, the old
// version's other windows Deletes and the new version's Inserts. in are
// the input ops.
func (o *windowTVF) pairUpdates(in []Op) (*batch.WindowRows, []Op) {
	w, m := &o.w, &o.paired
	m.Reset()
	ops := make([]Op, 0, w.Len())
	emit := func(k int, op Op) {
		m.Rows = append(m.Rows, w.Rows[k])
		m.Starts = append(m.Starts, w.Starts[k])
		m.Ends = append(m.Ends, w.Ends[k])
		m.Valid = append(m.Valid, w.Valid[k])
		if !w.Valid[k] {
			m.Nulls++
		}
		ops = append(ops, op)
	}
	group := func(k int) int { // end of the windows of row w.Rows[k]
		r := w.Rows[k]
		for k < w.Len() && w.Rows[k] == r {
			k++
		}
		return k
	}
	for k := 0; k < w.Len(); {
		r, g := w.Rows[k], group(k)
		switch in[r] {
		case UpdateDelete:
			g2 := g
			if g < w.Len() && w.Rows[g] == r+1 && in[r+1] == UpdateInsert {
				g2 = group(g)
			}
			// Merge the two ascending window lists.
			i, j := k, g
			for i < g || j < g2 {
				c := 0
				switch {
				case j >= g2:
					c = -1
				case i >= g:
					c = 1
				default:
					c = windowCompare(w, i, w, j)
				}
				switch {
				case c < 0:
					emit(i, Delete)
					i++
				case c > 0:
					emit(j, Insert)
					j++
				default:
					emit(i, UpdateDelete)
					emit(j, UpdateInsert)
					i++
					j++
				}
			}
			k = g2
		case UpdateInsert:
			// Its old version had no window (a NULL time).
			for ; k < g; k++ {
				emit(k, Insert)
			}
		default:
			for ; k < g; k++ {
				emit(k, in[r])
			}
		}
	}
	return m, ops
}

// windowCompare orders window a[i] against b[j] by (start, end), NULL
// first.
func windowCompare(a *batch.WindowRows, i int, b *batch.WindowRows, j int) int {
	switch va, vb := a.Valid[i], b.Valid[j]; {
	case !va && !vb:
		return 0
	case !va:
		return -1
	case !vb:
		return 1
	}
	switch {
	case a.Starts[i] < b.Starts[j]:
		return -1
	case a.Starts[i] > b.Starts[j]:
		return 1
	case a.Ends[i] < b.Ends[j]:
		return -1
	case a.Ends[i] > b.Ends[j]:
		return 1
	}
	return 0
}

func (o *windowTVF) Watermark(_ int, w Watermark) error {
	if err := o.out.Watermark(w); err != nil {
		return err
	}
	if w.Col != o.p.TSCol {
		return nil
	}
	if w.Val == nil {
		// An idle mark: the windows' bounds are as idle as the time.
		if err := o.out.Watermark(Watermark{Col: o.nIn, Idle: true}); err != nil {
			return err
		}
		return o.out.Watermark(Watermark{Col: o.nIn + 1, Idle: true})
	}
	t, ok := w.Val.(types.Timestamp)
	if !ok {
		return fmt.Errorf("window table function: watermark %T on the time column", w.Val)
	}
	start, end := o.p.FirstWindow(int64(t))
	var emitStart, emitEnd types.Datum
	if et, ok := w.Emit.(types.Timestamp); ok {
		s, e := o.p.FirstWindow(int64(et))
		emitStart, emitEnd = types.Timestamp(s), types.Timestamp(e)
	}
	if err := o.out.Watermark(Watermark{Col: o.nIn, Val: types.Timestamp(start), Idle: w.Idle, Emit: emitStart}); err != nil {
		return err
	}
	return o.out.Watermark(Watermark{Col: o.nIn + 1, Val: types.Timestamp(end), Idle: w.Idle, Emit: emitEnd})
}

func (o *windowTVF) Barrier(b *Barrier) error { return o.out.Barrier(b) }

// TakesIdleMarks: an idle mark on the time column passes on, and on the
// window bounds (see Output.Watermark).
func (o *windowTVF) TakesIdleMarks() bool { return true }
