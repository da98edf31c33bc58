package batch

// Window table functions (TUMBLE, HOP, CUMULATE) assign every input row to
// event-time windows and append window_start and window_end to it.
//
// Windows are aligned to the Unix epoch (plus an optional offset) on the
// microsecond values of the time column: for timestamptz that is UTC, for
// timestamp the wall clock. A one-day tumbling window therefore starts at
// midnight UTC. Sizes are fixed lengths (days count as 24 hours); intervals
// with months are rejected because a month has no fixed length.
//
//   - tumble(size): one window per row, [floor((ts-offset)/size)*size+offset, +size).
//   - hop(slide, size): every window of length size whose start is a
//     multiple of slide (plus offset) and which contains ts; size/slide
//     windows per row, in ascending window_start.
//   - cumulate(step, max_size): windows share the start of the max_size
//     window that contains ts and end at start+step, start+2*step, ...,
//     start+max_size; a row belongs to each of them whose end is after ts,
//     in ascending window_end.
//
// A NULL time has no window: tumble keeps the row with NULL window columns
// (it is a projection), hop and cumulate drop it. An infinite time gets the
// single window [ts, ts].
//
// The expansion (WindowTVFParams.Assign) is shared with the streaming
// operator, which adds the changelog handling on top.

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// WindowKind is the window table function (sql/plan's).
type WindowKind = plan.WindowKind

const (
	// TumbleWindow: fixed, non-overlapping windows.
	TumbleWindow = plan.TumbleWindow
	// HopWindow: fixed windows that overlap, starting every slide.
	HopWindow = plan.HopWindow
	// CumulateWindow: windows growing by step from a common start up to
	// max_size.
	CumulateWindow = plan.CumulateWindow
)

// maxWindowMicros bounds sizes and offsets (about 36,000 years) so that
// window arithmetic on finite timestamps cannot overflow int64.
const maxWindowMicros = int64(1) << 60

// maxWindowsPerRow bounds size/slide so that one row's windows fit in
// one batch.
const maxWindowsPerRow = exec.BatchSize

// WindowTVFParams are the parameters of a window table function, in
// microseconds.
type WindowTVFParams struct {
	Kind WindowKind
	// TSCol is the time column of the input; TSType its type (timestamp or
	// timestamptz), which is also the type of window_start and window_end.
	TSCol  int
	TSType types.T
	// Slide is the distance between window starts: the size for tumble,
	// the slide for hop and the step for cumulate.
	Slide int64
	// Size is the window length: max_size for cumulate.
	Size int64
	// Offset shifts window starts away from the epoch.
	Offset int64
}

// Validate checks the parameters; its errors are for the user (22023).
func (p WindowTVFParams) Validate() error {
	switch p.TSType.Kind {
	case types.TimestampKind, types.TimestampTZ:
	default:
		return sqlerr.New(sqlerr.InvalidParameterValue, "the time column of %s must be of type timestamp or timestamp with time zone, not %s", p.Kind, p.TSType)
	}
	names := map[WindowKind][2]string{
		TumbleWindow:   {"size", "size"},
		HopWindow:      {"slide", "size"},
		CumulateWindow: {"step", "max_size"},
	}[p.Kind]
	if p.Slide <= 0 {
		return sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must be positive", p.Kind, names[0])
	}
	if p.Size <= 0 {
		return sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must be positive", p.Kind, names[1])
	}
	if p.Size > maxWindowMicros || p.Offset > maxWindowMicros || p.Offset < -maxWindowMicros {
		return sqlerr.New(sqlerr.InvalidParameterValue, "%s window size or offset is too large", p.Kind)
	}
	if p.Size%p.Slide != 0 {
		return sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must be a multiple of the %s", p.Kind, names[1], names[0]).
			WithDetail("%s is %s, %s is %s.", names[1], FormatMicros(p.Size), names[0], FormatMicros(p.Slide))
	}
	if n := p.Size / p.Slide; n > maxWindowsPerRow {
		return sqlerr.New(sqlerr.InvalidParameterValue, "%s gives %d windows per row; at most %d are supported", p.Kind, n, maxWindowsPerRow).
			WithHint("Use a larger %s.", names[0])
	}
	if p.Kind == TumbleWindow && p.Slide != p.Size {
		return sqlerr.New(sqlerr.InternalError, "tumble slide %d differs from size %d", p.Slide, p.Size)
	}
	return nil
}

// WindowsPerRow is the largest number of windows one row belongs to.
func (p WindowTVFParams) WindowsPerRow() int { return int(p.Size / p.Slide) }

// Explain renders the function for EXPLAIN, e.g. "hop(#3, slide 00:15:00, size 00:30:00)".
func (p WindowTVFParams) Explain() string {
	s := fmt.Sprintf("%s(#%d", p.Kind, p.TSCol)
	switch p.Kind {
	case TumbleWindow:
		s += ", size " + FormatMicros(p.Size)
	case HopWindow:
		s += ", slide " + FormatMicros(p.Slide) + ", size " + FormatMicros(p.Size)
	case CumulateWindow:
		s += ", step " + FormatMicros(p.Slide) + ", max_size " + FormatMicros(p.Size)
	}
	if p.Offset != 0 {
		s += ", offset " + FormatMicros(p.Offset)
	}
	return s + ")"
}

// FormatMicros renders a duration in microseconds as interval text.
func FormatMicros(us int64) string {
	iv := types.IntervalValue{Days: int32(us / types.MicrosPerDay), Micros: us % types.MicrosPerDay}
	return types.FormatText(iv, types.TInterval, nil)
}

// alignment returns the period windows starts are aligned to and the
// offset normalized into [0, period).
func (p WindowTVFParams) alignment() (period, off int64) {
	period = p.Size
	if p.Kind == HopWindow {
		period = p.Slide
	}
	off = p.Offset % period
	if off < 0 {
		off += period
	}
	return period, off
}

// alignDown returns the largest t' <= t with t' ≡ off (mod period).
func alignDown(t, period, off int64) int64 {
	m := (t - off) % period
	if m < 0 {
		m += period
	}
	return t - m
}

func isInfinite(t int64) bool { return t == math.MaxInt64 || t == math.MinInt64 }

// FirstWindow returns the smallest window_start and the smallest
// window_end that a row with time ts or later can be assigned: what a
// watermark on the time column means for the window columns.
func (p WindowTVFParams) FirstWindow(ts int64) (start, end int64) {
	if isInfinite(ts) {
		return ts, ts
	}
	period, off := p.alignment()
	base := alignDown(ts, period, off)
	switch p.Kind {
	case HopWindow:
		start = base - p.Size + p.Slide
		return start, start + p.Size
	case CumulateWindow:
		return base, base + ((ts-base)/p.Slide+1)*p.Slide
	}
	return base, base + p.Size
}

// WindowRows is the expansion of input rows into window rows: output row
// k is input row Rows[k] with window [Starts[k], Ends[k]), NULL where
// Valid[k] is false. The rows of one input row are adjacent and in input
// order.
type WindowRows struct {
	Rows         []int
	Starts, Ends []int64
	Valid        []bool
	Nulls        int
}

// Reset empties w, keeping its buffers.
func (w *WindowRows) Reset() {
	w.Rows, w.Starts, w.Ends, w.Valid, w.Nulls = w.Rows[:0], w.Starts[:0], w.Ends[:0], w.Valid[:0], 0
}

// Len is the number of window rows.
func (w *WindowRows) Len() int { return len(w.Rows) }

func (w *WindowRows) add(row int, start, end int64) {
	w.Rows = append(w.Rows, row)
	w.Starts = append(w.Starts, start)
	w.Ends = append(w.Ends, end)
	w.Valid = append(w.Valid, true)
}

func (w *WindowRows) addNull(row int) {
	w.Rows = append(w.Rows, row)
	w.Starts = append(w.Starts, 0)
	w.Ends = append(w.Ends, 0)
	w.Valid = append(w.Valid, false)
	w.Nulls++
}

// Assign appends to w the windows of input rows lo, lo+1, ... of the time
// column ts, stopping before a row that could bring w above limit rows
// (but always taking at least one row when lo < ts.Len()). It returns the
// next unassigned row.
func (p WindowTVFParams) Assign(ts *array.Timestamp, lo, limit int, w *WindowRows) int {
	vals := ts.TimestampValues()
	n := ts.Len()
	nullable := ts.NullN() > 0
	period, off := p.alignment()
	perRow := p.WindowsPerRow()
	i := lo
	for ; i < n; i++ {
		if i > lo && len(w.Rows)+perRow > limit {
			break
		}
		if nullable && ts.IsNull(i) {
			if p.Kind == TumbleWindow {
				w.addNull(i)
			}
			continue
		}
		t := int64(vals[i])
		if isInfinite(t) {
			w.add(i, t, t)
			continue
		}
		base := alignDown(t, period, off)
		switch p.Kind {
		case TumbleWindow:
			w.add(i, base, base+p.Size)
		case HopWindow:
			// base is the latest start at or before t; the windows
			// containing t start at base-(perRow-1)*slide ... base.
			s := base - int64(perRow-1)*p.Slide
			for k := 0; k < perRow; k++ {
				w.add(i, s, s+p.Size)
				s += p.Slide
			}
		case CumulateWindow:
			for e := base + ((t-base)/p.Slide+1)*p.Slide; e <= base+p.Size; e += p.Slide {
				w.add(i, base, e)
			}
		}
	}
	return i
}

// WindowColumns builds the window_start and window_end columns of w.
func (p WindowTVFParams) WindowColumns(w *WindowRows) (start, end arrow.Array) {
	return timestampColumn(p.TSType, w.Starts, w.Valid, w.Nulls), timestampColumn(p.TSType, w.Ends, w.Valid, w.Nulls)
}

// timestampColumn copies vals (NULL where !valid) into a timestamp array
// of type t.
func timestampColumn(t types.T, vals []int64, valid []bool, nulls int) arrow.Array {
	n := len(vals)
	data := make([]int64, n)
	copy(data, vals)
	var bitmap *memory.Buffer
	if nulls > 0 {
		bits := make([]byte, (n+7)/8)
		for k, v := range valid {
			if v {
				bits[k/8] |= 1 << (k % 8)
			}
		}
		bitmap = memory.NewBufferBytes(bits)
	}
	d := array.NewData(t.ArrowType(), n, []*memory.Buffer{bitmap, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(data))}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// WindowTVF is the batch operator of a window table function: its output
// is the input's columns followed by window_start and window_end.
type WindowTVF struct {
	in exec.Operator
	p  WindowTVFParams
	ts []types.T
	// args, when set, are the duration arguments (see NewWindowTVFArgs),
	// evaluated into p when the operator opens.
	args []expr.Expr

	cur *exec.Batch // input batch being expanded (hop, cumulate)
	pos int         // next row of cur
	w   WindowRows
}

// NewWindowTVF returns the window table function kind over in, windowing
// column tsCol of type tsType. slide equals size for tumble and is the
// step for cumulate; all durations are microseconds. The parameters must
// have passed Validate.
func NewWindowTVF(in exec.Operator, kind WindowKind, tsCol int, tsType types.T, slide, size, offset int64) *WindowTVF {
	ts := append(append([]types.T{}, in.Types()...), tsType, tsType)
	return &WindowTVF{in: in, ts: ts, p: WindowTVFParams{Kind: kind, TSCol: tsCol, TSType: tsType, Slide: slide, Size: size, Offset: offset}}
}

// NewWindowTVFArgs returns the window table function kind over in whose
// durations are interval expressions of constants and parameters, as
// written (plan.WindowTVF.Durations: tumble's size, or the slide and the
// size, then an optional offset). They are evaluated and checked when the
// operator opens, so one operator tree serves any arguments.
func NewWindowTVFArgs(in exec.Operator, kind WindowKind, tsCol int, tsType types.T, args []expr.Expr) *WindowTVF {
	ts := append(append([]types.T{}, in.Types()...), tsType, tsType)
	return &WindowTVF{in: in, ts: ts, args: args, p: WindowTVFParams{Kind: kind, TSCol: tsCol, TSType: tsType}}
}

// resolve evaluates the duration arguments and checks the result.
func (o *WindowTVF) resolve(ctx *exec.Ctx) (WindowTVFParams, error) {
	if o.args == nil {
		return o.p, nil
	}
	return ResolveWindowTVF(ctx, o.p, o.args)
}

// ResolveWindowTVF fills the durations of p (its kind, time column and
// type set) from the duration arguments as written (tumble's size, or the
// slide and the size, then an optional offset: plan.WindowTVF.Durations),
// evaluated in ctx, and checks the result (Validate). The batch operator
// does it when it opens; the stream lowering once, when a view is created.
func ResolveWindowTVF(ctx *exec.Ctx, p WindowTVFParams, args []expr.Expr) (WindowTVFParams, error) {
	names := p.Kind.DurationNames()
	vals := make([]int64, 3)
	for i, a := range args {
		what := "offset"
		if i < len(names) {
			what = names[i]
		}
		v, err := WindowDuration(ctx, a, p.Kind, what)
		if err != nil {
			return p, err
		}
		vals[i] = v
	}
	if p.Kind == TumbleWindow {
		p.Slide, p.Size, p.Offset = vals[0], vals[0], vals[1]
	} else {
		p.Slide, p.Size, p.Offset = vals[0], vals[1], vals[2]
	}
	return p, p.Validate()
}

// WindowDuration evaluates the duration argument what of a window table
// function (an interval expression without column references) to
// microseconds; a NULL, a month or a length too large for window
// arithmetic is refused (22023).
func WindowDuration(ctx *exec.Ctx, e expr.Expr, kind WindowKind, what string) (int64, error) {
	d, err := evalConst(ctx, e)
	if err != nil {
		return 0, err
	}
	if d == nil {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must not be NULL", kind, what)
	}
	iv, ok := d.(types.IntervalValue)
	if !ok {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must be an interval, not %s", kind, what, e.Type())
	}
	if iv.Months != 0 {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s must not contain months or years", kind, what).
			WithDetail("A month has no fixed length; use days instead.")
	}
	const maxDays = 100_000_000 // far above any valid window, far below overflow
	if iv.Days > maxDays || iv.Days < -maxDays {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "%s %s is too large", kind, what)
	}
	return int64(iv.Days)*types.MicrosPerDay + iv.Micros, nil
}

func (o *WindowTVF) Open(ctx *exec.Ctx) error {
	o.release()
	if o.args != nil {
		p, err := o.resolve(ctx)
		if err != nil {
			return err
		}
		o.p = p
	}
	return o.in.Open(ctx)
}

func (o *WindowTVF) release() {
	if o.cur != nil {
		o.cur.Release()
		o.cur = nil
	}
	o.pos = 0
}

func (o *WindowTVF) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	for {
		if o.cur == nil {
			b, err := nextRows(ctx, o.in)
			if err != nil || b == nil {
				return nil, err
			}
			if o.p.Kind == TumbleWindow {
				return o.tumble(b), nil
			}
			o.cur, o.pos = b, 0
		}
		// Hop and cumulate multiply rows: expand a slice of the input at
		// a time so that output batches stay near exec.BatchSize.
		o.w.Reset()
		ts := o.cur.Cols[o.p.TSCol].(*array.Timestamp)
		o.pos = o.p.Assign(ts, o.pos, exec.BatchSize, &o.w)
		var out *exec.Batch
		if o.w.Len() > 0 {
			out = o.gather(o.cur)
		}
		if o.pos >= o.cur.N {
			o.release()
		}
		if out != nil {
			return out, nil
		}
	}
}

// tumble appends the window columns to b, sharing its columns: tumble
// keeps every row in place.
func (o *WindowTVF) tumble(b *exec.Batch) *exec.Batch {
	o.w.Reset()
	o.p.Assign(b.Cols[o.p.TSCol].(*array.Timestamp), 0, b.N, &o.w)
	start, end := o.p.WindowColumns(&o.w)
	cols := append(b.Cols[:len(b.Cols):len(b.Cols)], start, end)
	return exec.NewBatch(cols, b.N)
}

// gather returns the rows of o.w taken from b with their windows.
func (o *WindowTVF) gather(b *exec.Batch) *exec.Batch {
	cols := make([]arrow.Array, 0, len(b.Cols)+2)
	for _, c := range b.Cols {
		cols = append(cols, expr.TakeArray(c, o.w.Rows))
	}
	start, end := o.p.WindowColumns(&o.w)
	return exec.NewBatch(append(cols, start, end), o.w.Len())
}

func (o *WindowTVF) Close() {
	o.release()
	o.in.Close()
}

func (o *WindowTVF) Types() []types.T { return o.ts }

// Explain renders the operator; durations that need the statement's
// arguments show as the expressions they are.
func (o *WindowTVF) Explain() string {
	if p, err := o.resolve(&exec.Ctx{}); err == nil {
		return "WindowTVF " + p.Explain()
	}
	s := fmt.Sprintf("WindowTVF %s(#%d", o.p.Kind, o.p.TSCol)
	names := o.p.Kind.DurationNames()
	for i, a := range o.args {
		what := "offset"
		if i < len(names) {
			what = names[i]
		}
		s += ", " + what + " " + a.String()
	}
	return s + ")"
}
func (o *WindowTVF) Children() []exec.Operator { return []exec.Operator{o.in} }
