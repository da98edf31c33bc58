package batch

import (
	"cmp"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// SQLSTATEs of window function argument errors (PostgreSQL's errcodes.txt).
const (
	codeInvalidPrecedingFollowing = "22013"
	codeInvalidNtile              = "22014"
	codeInvalidNthValue           = "22016"
)

// BoundKind is the kind of one end of a window frame (sql/plan's).
type BoundKind = plan.BoundKind

const (
	UnboundedPreceding = plan.UnboundedPreceding
	OffsetPreceding    = plan.OffsetPreceding
	CurrentRow         = plan.CurrentRow
	OffsetFollowing    = plan.OffsetFollowing
	UnboundedFollowing = plan.UnboundedFollowing
)

// FrameMode says how frame offsets count: rows, values of the ORDER BY
// key (RANGE), or peer groups (GROUPS) (sql/plan's).
type FrameMode = plan.FrameMode

const (
	RangeFrame  = plan.RangeFrame
	RowsFrame   = plan.RowsFrame
	GroupsFrame = plan.GroupsFrame
)

// FrameBound is one end of a frame; Offset is set for the Offset kinds.
type FrameBound struct {
	Kind   BoundKind
	Offset expr.Expr
}

// Frame is a window frame. The zero Frame (both bounds UNBOUNDED
// PRECEDING, which SQL does not allow for an end) stands for the default
// frame, RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
type Frame struct {
	Mode              FrameMode
	Start, End        FrameBound
	ExcludeCurrentRow bool
}

// WindowFunc is one window function call: a built-in window function by
// Name, or an aggregate (Agg set, Name empty) over the frame. Args are
// input columns; Filter is a boolean input column or -1.
type WindowFunc struct {
	Name     string
	Agg      *udf.Aggregate
	Args     []int
	ArgTypes []types.T
	Frame    Frame
	T        types.T
	Filter   int
}

// Window computes window functions. It materializes its input, sorts it
// by (partition, order) and appends one column per function; rows come out
// in that sorted order. Semantics are PostgreSQL's: peers (rows equal on
// the ORDER BY keys) share ranks and, in RANGE and GROUPS frames, frame
// ends; without ORDER BY every row of a partition is a peer of every other.
//
// Aggregates over frames use the groups accumulators three ways: frames
// equal for a whole partition are one group per partition; frames that
// start at the partition start are fed incrementally, with Finish at each
// new frame end; other frames give each row its own group and feed each
// input row to every frame containing it, one Update per layer (frame
// width), so no per-row accumulator is created.
type Window struct {
	in        exec.Operator
	partition []int
	order     []SortKey
	funcs     []WindowFunc
	ts        []types.T

	offsets [][2]types.Datum // evaluated frame offsets per func (start, end)
	out     tableReader
	done    bool
}

// NewWindow returns a window operator over in.
func NewWindow(in exec.Operator, partition []int, order []SortKey, funcs []WindowFunc) exec.Operator {
	ts := append([]types.T(nil), in.Types()...)
	for _, f := range funcs {
		ts = append(ts, f.T)
	}
	return &Window{in: in, partition: partition, order: order, funcs: funcs, ts: ts}
}

func (w *Window) Open(ctx *exec.Ctx) error {
	w.out.release()
	w.done = false
	w.offsets = make([][2]types.Datum, len(w.funcs))
	for i, f := range w.funcs {
		for k, b := range []FrameBound{f.Frame.Start, f.Frame.End} {
			if b.Kind != OffsetPreceding && b.Kind != OffsetFollowing || b.Offset == nil {
				continue
			}
			d, err := evalConst(ctx, b.Offset)
			if err != nil {
				return err
			}
			which := "starting"
			if k == 1 {
				which = "ending"
			}
			if d == nil {
				return sqlerr.New(sqlerr.NullValueNotAllowed, "frame %s offset must not be null", which)
			}
			if negativeOffset(d) {
				if f.Frame.Mode == RangeFrame {
					return sqlerr.New(codeInvalidPrecedingFollowing, "invalid preceding or following size in window function")
				}
				return sqlerr.New(codeInvalidPrecedingFollowing, "frame %s offset must not be negative", which)
			}
			w.offsets[i][k] = d
		}
	}
	return w.in.Open(ctx)
}

func negativeOffset(d types.Datum) bool {
	switch v := d.(type) {
	case int64:
		return v < 0
	case float64:
		return v < 0
	case *apd.Decimal:
		return v.Negative && !v.IsZero()
	case types.IntervalValue:
		return v.Months < 0 || v.Days < 0 || v.Micros < 0
	}
	return false
}

func (w *Window) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if !w.done {
		if err := w.run(ctx); err != nil {
			return nil, err
		}
		w.done = true
	}
	if w.out.done() {
		return nil, nil
	}
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	return w.out.next(), nil
}

func (w *Window) Close() {
	w.out.release()
	w.in.Close()
}

func (w *Window) Types() []types.T { return w.ts }
func (w *Window) Explain() string {
	var sb strings.Builder
	sb.WriteString("Window")
	if len(w.partition) > 0 {
		sb.WriteString(" partition by " + ColList(w.partition))
	}
	if len(w.order) > 0 {
		sb.WriteString(" order by " + sortKeyList(w.order))
	}
	for i, f := range w.funcs {
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString(", ")
		}
		name := f.Name
		if f.Agg != nil {
			name = f.Agg.Name
		}
		sb.WriteString(name + "(" + ColList(f.Args) + ")")
	}
	return sb.String()
}
func (w *Window) Children() []exec.Operator { return []exec.Operator{w.in} }

// winState is the sorted input and its partition and peer structure.
type winState struct {
	ctx   *exec.Ctx
	cols  []arrow.Array // sorted input columns
	n     int
	part  []int32 // partition of each row
	pLo   []int32 // partition p is rows [pLo[p], pHi[p])
	pHi   []int32
	peer  []int32 // peer group of each row (global numbering)
	gLo   []int32 // peer group g is rows [gLo[g], gHi[g])
	gHi   []int32
	gPart []int32 // first peer group of each partition
}

func (w *Window) run(ctx *exec.Ctx) error {
	t, err := materialize(ctx, w.in, w.in.Types(), "WindowAgg")
	if err != nil {
		return err
	}
	keys := make([]SortKey, 0, len(w.partition)+len(w.order))
	inTs := w.in.Types()
	for _, c := range w.partition {
		keys = append(keys, SortKey{Col: c, T: inTs[c]})
	}
	keys = append(keys, w.order...)
	perm := sortPerm(t, keys, nil)
	sorted := takeCols(t.cols, perm)
	t.release()
	st := &winState{ctx: ctx, cols: sorted.Cols, n: t.n}
	st.structure(keys[:len(w.partition)], w.order)

	cols := append([]arrow.Array(nil), st.cols...)
	for i := range w.funcs {
		if err := checkCtx(ctx); err != nil {
			releaseAll(cols)
			return err
		}
		c, err := w.compute(st, i)
		if err != nil {
			releaseAll(cols)
			return err
		}
		cols = append(cols, c)
	}
	w.out.set(&table{cols: cols, n: st.n})
	return nil
}

// structure finds partitions and peer groups of the sorted rows.
func (st *winState) structure(partKeys, orderKeys []SortKey) {
	n := st.n
	st.part = make([]int32, n)
	st.peer = make([]int32, n)
	pc := newRowCmp(st.cols, partKeys)
	oc := newRowCmp(st.cols, orderKeys)
	p, g := int32(-1), int32(-1)
	for i := 0; i < n; i++ {
		newPart := i == 0 || pc.compare(i-1, i) != 0
		if newPart {
			p++
			st.pLo = append(st.pLo, int32(i))
			st.pHi = append(st.pHi, int32(i))
			st.gPart = append(st.gPart, g+1)
		}
		if newPart || oc.compare(i-1, i) != 0 {
			g++
			st.gLo = append(st.gLo, int32(i))
			st.gHi = append(st.gHi, int32(i))
		}
		st.part[i], st.peer[i] = p, g
		st.pHi[p] = int32(i + 1)
		st.gHi[g] = int32(i + 1)
	}
}

func (w *Window) compute(st *winState, fi int) (arrow.Array, error) {
	f := &w.funcs[fi]
	if f.Agg != nil {
		s, e, err := w.frameBounds(st, fi)
		if err != nil {
			return nil, err
		}
		return w.aggregate(st, f, s, e)
	}
	n := st.n
	switch f.Name {
	case "row_number", "rank", "dense_rank":
		vals := make([]int64, n)
		for i := 0; i < n; i++ {
			p, g := st.part[i], st.peer[i]
			switch f.Name {
			case "row_number":
				vals[i] = int64(int32(i)-st.pLo[p]) + 1
			case "rank":
				vals[i] = int64(st.gLo[g]-st.pLo[p]) + 1
			default:
				vals[i] = int64(g-st.gPart[p]) + 1
			}
		}
		return intColumn(f.T, vals, nil), nil
	case "percent_rank", "cume_dist":
		b := array.NewFloat64Builder(types.Mem)
		defer b.Release()
		b.Reserve(n)
		for i := 0; i < n; i++ {
			p, g := st.part[i], st.peer[i]
			size := float64(st.pHi[p] - st.pLo[p])
			if f.Name == "percent_rank" {
				if size <= 1 {
					b.Append(0)
				} else {
					b.Append(float64(st.gLo[g]-st.pLo[p]) / (size - 1))
				}
			} else {
				b.Append(float64(st.gHi[g]-st.pLo[p]) / size)
			}
		}
		return b.NewArray(), nil
	case "ntile":
		return w.ntile(st, f)
	case "lag", "lead":
		return w.lagLead(st, f)
	case "first_value", "last_value", "nth_value":
		s, e, err := w.frameBounds(st, fi)
		if err != nil {
			return nil, err
		}
		return w.valueAt(st, f, s, e)
	}
	return nil, sqlerr.New(sqlerr.UndefinedFunction, "window function %s does not exist", f.Name)
}

// intColumn builds an integer column of t from vals (valid nil: all valid).
func intColumn(t types.T, vals []int64, valid []bool) arrow.Array {
	b := types.NewBuilder(t)
	defer b.Release()
	b.Reserve(len(vals))
	for i, v := range vals {
		if valid != nil && !valid[i] {
			b.AppendNull()
			continue
		}
		switch bb := b.(type) {
		case *array.Int64Builder:
			bb.Append(v)
		case *array.Int32Builder:
			bb.Append(int32(v))
		case *array.Int16Builder:
			bb.Append(int16(v))
		case *array.Float64Builder:
			bb.Append(float64(v))
		default:
			types.AppendDatum(b, v)
		}
	}
	return b.NewArray()
}

// intArg reads row i of an integer argument column; ok false for NULL.
func intArg(arr arrow.Array, i int) (int64, bool) {
	if arr.IsNull(i) {
		return 0, false
	}
	switch a := arr.(type) {
	case *array.Int64:
		return a.Value(i), true
	case *array.Int32:
		return int64(a.Value(i)), true
	case *array.Int16:
		return int64(a.Value(i)), true
	}
	return 0, false
}

// ntile splits each partition into n buckets as evenly as possible, the
// first ones one row larger; n is read at the partition's first row.
func (w *Window) ntile(st *winState, f *WindowFunc) (arrow.Array, error) {
	vals := make([]int64, st.n)
	valid := make([]bool, st.n)
	arg := st.cols[f.Args[0]]
	for p := range st.pLo {
		lo, hi := int(st.pLo[p]), int(st.pHi[p])
		buckets, ok := intArg(arg, lo)
		if !ok {
			continue
		}
		if buckets <= 0 {
			return nil, sqlerr.New(codeInvalidNtile, "argument of ntile must be greater than zero")
		}
		size := int64(hi - lo)
		per, extra := size/buckets, size%buckets
		bucket, left := int64(1), per
		if extra > 0 {
			left++
		}
		for i := lo; i < hi; i++ {
			if left == 0 {
				bucket++
				left = per
				if bucket <= extra {
					left++
				}
			}
			vals[i], valid[i] = bucket, true
			left--
		}
	}
	return intColumn(f.T, vals, valid), nil
}

// lagLead returns the value offset rows before (lag) or after (lead)
// within the partition, or the default (NULL if none) past its edges.
func (w *Window) lagLead(st *winState, f *WindowFunc) (arrow.Array, error) {
	src := st.cols[f.Args[0]]
	n := st.n
	var offCol, defCol arrow.Array
	if len(f.Args) > 1 {
		offCol = st.cols[f.Args[1]]
	}
	if len(f.Args) > 2 {
		defCol = st.cols[f.Args[2]]
		combined, err := array.Concatenate([]arrow.Array{src, defCol}, types.Mem)
		if err != nil {
			return nil, err
		}
		defer combined.Release()
		src = combined
	}
	idx := make([]int32, n)
	for i := 0; i < n; i++ {
		off := int64(1)
		if offCol != nil {
			v, ok := intArg(offCol, i)
			if !ok {
				idx[i] = -1
				continue
			}
			off = v
		}
		if f.Name == "lag" {
			off = -off
		}
		p := st.part[i]
		t := int64(i) + off
		switch {
		case t >= int64(st.pLo[p]) && t < int64(st.pHi[p]):
			idx[i] = int32(t)
		case defCol != nil:
			idx[i] = int32(n + i)
		default:
			idx[i] = -1
		}
	}
	return takeColumn(src, idx), nil
}

// valueAt computes first_value, last_value and nth_value over frames
// [s[i], e[i]) (minus the current row when the frame excludes it).
func (w *Window) valueAt(st *winState, f *WindowFunc, s, e []int32) (arrow.Array, error) {
	excl := f.Frame.ExcludeCurrentRow
	idx := make([]int32, st.n)
	for i := range idx {
		lo, hi := s[i], e[i]
		cur := int32(i)
		switch f.Name {
		case "first_value":
			if excl && lo == cur {
				lo++
			}
			idx[i] = -1
			if lo < hi {
				idx[i] = lo
			}
		case "last_value":
			if excl && hi-1 == cur {
				hi--
			}
			idx[i] = -1
			if lo < hi {
				idx[i] = hi - 1
			}
		default:
			nth, ok := intArg(st.cols[f.Args[1]], i)
			idx[i] = -1
			if !ok {
				continue
			}
			if nth <= 0 {
				return nil, sqlerr.New(codeInvalidNthValue, "argument of nth_value must be greater than zero")
			}
			t := int64(lo) + nth - 1
			if excl && lo <= cur && int64(cur) <= t {
				t++
			}
			if t < int64(hi) {
				idx[i] = int32(t)
			}
		}
	}
	return takeColumn(st.cols[f.Args[0]], idx), nil
}

// frameBounds returns each row's frame as [s[i], e[i]), e >= s, both
// non-decreasing within a partition.
func (w *Window) frameBounds(st *winState, fi int) (s, e []int32, err error) {
	f := &w.funcs[fi]
	fr := f.Frame
	if fr.Start.Kind == UnboundedPreceding && fr.End.Kind == UnboundedPreceding {
		fr = Frame{Mode: RangeFrame, Start: FrameBound{Kind: UnboundedPreceding}, End: FrameBound{Kind: CurrentRow}, ExcludeCurrentRow: fr.ExcludeCurrentRow}
	}
	n := st.n
	s, e = make([]int32, n), make([]int32, n)
	var rs, re *rangeBounds
	if fr.Mode == RangeFrame && (isOffset(fr.Start.Kind) || isOffset(fr.End.Kind)) {
		if len(w.order) != 1 {
			return nil, nil, sqlerr.New(sqlerr.WindowingError, "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column")
		}
		if rs, err = newRangeBounds(st, w.order[0], w.offsets[fi][0]); err != nil {
			return nil, nil, err
		}
		if re, err = newRangeBounds(st, w.order[0], w.offsets[fi][1]); err != nil {
			return nil, nil, err
		}
	}
	for i := 0; i < n; i++ {
		s[i], err = w.bound(st, fr, fr.Start, w.offsets[fi][0], rs, i, true)
		if err != nil {
			return nil, nil, err
		}
		e[i], err = w.bound(st, fr, fr.End, w.offsets[fi][1], re, i, false)
		if err != nil {
			return nil, nil, err
		}
		if e[i] < s[i] {
			e[i] = s[i]
		}
	}
	return s, e, nil
}

func isOffset(k BoundKind) bool { return k == OffsetPreceding || k == OffsetFollowing }

// bound computes one end of row i's frame: the first row in the frame for
// a start, one past the last for an end.
func (w *Window) bound(st *winState, fr Frame, b FrameBound, off types.Datum, rb *rangeBounds, i int, start bool) (int32, error) {
	p, g := st.part[i], st.peer[i]
	lo, hi := st.pLo[p], st.pHi[p]
	clamp := func(v int64) int32 { return int32(max(int64(lo), min(int64(hi), v))) }
	switch b.Kind {
	case UnboundedPreceding:
		return lo, nil
	case UnboundedFollowing:
		return hi, nil
	case CurrentRow:
		if fr.Mode == RowsFrame {
			if start {
				return int32(i), nil
			}
			return int32(i + 1), nil
		}
		if start {
			return st.gLo[g], nil
		}
		return st.gHi[g], nil
	}
	k, _ := off.(int64)
	if b.Kind == OffsetPreceding {
		k = -k
	}
	switch fr.Mode {
	case RowsFrame:
		if start {
			return clamp(int64(i) + k), nil
		}
		return clamp(int64(i) + k + 1), nil
	case GroupsFrame:
		first, last := int64(st.gPart[p]), int64(st.peer[hi-1])
		t := int64(g) + k
		if start {
			switch {
			case t < first:
				return lo, nil
			case t > last:
				return hi, nil
			}
			return st.gLo[t], nil
		}
		switch {
		case t < first:
			return lo, nil
		case t > last:
			return hi, nil
		}
		return st.gHi[t], nil
	}
	return rb.bound(st, i, b.Kind == OffsetPreceding, start)
}

// rangeBounds finds RANGE offset frame ends by value: the sorted ORDER BY
// column as int64 (integers, dates and timestamps in microseconds),
// float64 or decimal, with the offset applied toward the frame end.
type rangeBounds struct {
	key   SortKey
	col   arrow.Array
	ints  []int64
	flts  []float64
	decs  []apd.Decimal
	iv    *types.IntervalValue // offset of a date/timestamp column
	ioff  int64
	foff  float64
	doff  apd.Decimal
	isTS  bool
	tz    bool
	dates bool
}

func newRangeBounds(st *winState, key SortKey, off types.Datum) (*rangeBounds, error) {
	rb := &rangeBounds{key: key, col: st.cols[key.Col]}
	if off == nil {
		return rb, nil
	}
	switch a := rb.col.(type) {
	case *array.Int16, *array.Int32, *array.Int64:
		rb.ints, _ = loadInts(a, nil, nil)
		rb.ioff, _ = off.(int64)
	case *array.Float32:
		rb.flts = make([]float64, a.Len())
		for i, v := range a.Float32Values() {
			rb.flts[i] = float64(v)
		}
		rb.foff = toFloat(off)
	case *array.Float64:
		rb.flts = a.Float64Values()
		rb.foff = toFloat(off)
	case *array.Date32:
		rb.ints = make([]int64, a.Len())
		for i, v := range a.Date32Values() {
			rb.ints[i] = int64(v) * types.MicrosPerDay
		}
		rb.isTS, rb.dates = true, true
	case *array.Timestamp:
		rb.ints = make([]int64, a.Len())
		for i, v := range a.TimestampValues() {
			rb.ints[i] = int64(v)
		}
		rb.isTS, rb.tz = true, key.T.Kind == types.TimestampTZ
	case *array.String:
		if key.T.Kind != types.Numeric {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "RANGE with offset PRECEDING/FOLLOWING is not supported for column type %s", key.T)
		}
		rb.decs = parseNumerics(a)
		switch v := off.(type) {
		case *apd.Decimal:
			rb.doff.Set(v)
		case int64:
			rb.doff.SetInt64(v)
		}
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "RANGE with offset PRECEDING/FOLLOWING is not supported for column type %s", key.T)
	}
	if rb.isTS {
		iv, ok := off.(types.IntervalValue)
		if !ok {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "RANGE offset for %s must be an interval", key.T)
		}
		rb.iv = &iv
	}
	return rb, nil
}

func toFloat(d types.Datum) float64 {
	switch v := d.(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case *apd.Decimal:
		f, _ := v.Float64()
		return f
	}
	return math.NaN()
}

// bound returns the frame start (first row with value at or past the
// bound) or end (first row past the bound) of row i. A NULL current row's
// frame ends are its NULL peers; non-NULL rows never include NULLs.
func (rb *rangeBounds) bound(st *winState, i int, preceding, start bool) (int32, error) {
	p, g := st.part[i], st.peer[i]
	lo, hi := int(st.pLo[p]), int(st.pHi[p])
	if rb.col.IsNull(i) {
		if start {
			return st.gLo[g], nil
		}
		return st.gHi[g], nil
	}
	// The non-NULL rows of the partition.
	nlo, nhi := lo, hi
	if rb.col.NullN() > 0 {
		if rb.key.NullsFirst {
			nlo = lo + sort.Search(hi-lo, func(k int) bool { return !rb.col.IsNull(lo + k) })
		} else {
			nhi = lo + sort.Search(hi-lo, func(k int) bool { return rb.col.IsNull(lo + k) })
		}
	}
	// Moving toward the frame's start is subtracting for ASC, adding for DESC.
	sign := 1
	if preceding != rb.key.Desc {
		sign = -1
	}
	var cmpB func(r int) int // row r's value against the bound, in sort direction
	switch {
	case rb.ints != nil && rb.isTS:
		iv := *rb.iv
		if sign < 0 {
			iv = types.IntervalValue{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}
		}
		bv, err := types.AddInterval(types.Timestamp(rb.ints[i]), iv, st.ctx.Location, rb.tz)
		if err != nil {
			return 0, err
		}
		b := int64(bv)
		cmpB = func(r int) int { return cmp.Compare(rb.ints[r], b) }
	case rb.ints != nil:
		b := satAdd(rb.ints[i], int64(sign)*rb.ioff)
		cmpB = func(r int) int { return cmp.Compare(rb.ints[r], b) }
	case rb.flts != nil:
		b := rb.flts[i] + float64(sign)*rb.foff
		cmpB = func(r int) int { return types.CompareFloat(rb.flts[r], b) }
	default:
		var b apd.Decimal
		if sign > 0 {
			types.DecimalCtx.Add(&b, &rb.decs[i], &rb.doff)
		} else {
			types.DecimalCtx.Sub(&b, &rb.decs[i], &rb.doff)
		}
		cmpB = func(r int) int { return types.CompareDecimal(&rb.decs[r], &b) }
	}
	desc := rb.key.Desc
	k := sort.Search(nhi-nlo, func(k int) bool {
		c := cmpB(nlo + k)
		if desc {
			c = -c
		}
		if start {
			return c >= 0
		}
		return c > 0
	})
	return int32(nlo + k), nil
}

// satAdd adds without wrapping: an offset past the int64 range reaches
// every row on that side.
func satAdd(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return math.MaxInt64
	}
	if b < 0 && s > a {
		return math.MinInt64
	}
	return s
}

// aggregate computes an aggregate over each row's frame [s[i], e[i]).
func (w *Window) aggregate(st *winState, f *WindowFunc, s, e []int32) (arrow.Array, error) {
	n := st.n
	args := make([]arrow.Array, len(f.Args))
	for k, c := range f.Args {
		args[k] = st.cols[c]
	}
	// skip marks rows that feed no frame (FILTER false).
	var skip []bool
	if f.Filter >= 0 {
		var err error
		if skip, err = boolsOf(st.cols[f.Filter], nil); err != nil {
			return nil, err
		}
		for i := range skip {
			skip[i] = !skip[i]
		}
	}
	excl := f.Frame.ExcludeCurrentRow
	samePerPartition, prefix := !excl, !excl
	for i := 0; i < n; i++ {
		lo := int(st.pLo[st.part[i]])
		if s[i] != s[lo] || e[i] != e[lo] {
			samePerPartition = false
		}
		if s[i] != int32(lo) {
			prefix = false
		}
	}
	env := &st.ctx.Env
	switch {
	case samePerPartition:
		acc := f.Agg.Start(&st.ctx.Env, f.ArgTypes)
		defer acc.Release()
		gv := make([]uint32, n)
		for i := range gv {
			p := st.part[i]
			lo := st.pLo[p]
			if int32(i) < s[lo] || int32(i) >= e[lo] || skip != nil && skip[i] {
				gv[i] = udf.SkipRow
			} else {
				gv[i] = uint32(p)
			}
		}
		if n > 0 {
			if err := acc.Update(gv, len(st.pLo), args, n); err != nil {
				return nil, err
			}
		}
		res, err := acc.Finish(env, len(st.pLo))
		if err != nil {
			return nil, err
		}
		defer res.Release()
		return takeColumn(res, st.part), nil
	case prefix:
		return w.aggregatePrefix(st, f, args, skip, e)
	}
	return w.aggregateLayers(st, f, args, skip, s, e)
}

// aggregatePrefix feeds each partition's rows in order into one
// accumulator and finishes it at every distinct frame end.
func (w *Window) aggregatePrefix(st *winState, f *WindowFunc, args []arrow.Array, skip []bool, e []int32) (arrow.Array, error) {
	env := &st.ctx.Env
	var results []arrow.Array
	defer func() { releaseAll(results) }()
	which := make([]int32, st.n)
	gv := make([]uint32, 0, exec.BatchSize)
	sliced := make([]arrow.Array, len(args))
	for p := range st.pLo {
		lo, hi := int(st.pLo[p]), int(st.pHi[p])
		acc := f.Agg.Start(&st.ctx.Env, f.ArgTypes)
		fed := lo
		last := int32(-1)
		for i := lo; i < hi; i++ {
			if e[i] != last || len(results) == 0 {
				for fed < int(e[i]) {
					end := min(int(e[i]), fed+exec.BatchSize)
					gv = gv[:0]
					for r := fed; r < end; r++ {
						if skip != nil && skip[r] {
							gv = append(gv, udf.SkipRow)
						} else {
							gv = append(gv, 0)
						}
					}
					for k, a := range args {
						sliced[k] = array.NewSlice(a, int64(fed), int64(end))
					}
					err := acc.Update(gv, 1, sliced, end-fed)
					releaseAll(sliced)
					if err != nil {
						acc.Release()
						return nil, err
					}
					fed = end
				}
				r, err := acc.Finish(env, 1)
				if err != nil {
					acc.Release()
					return nil, err
				}
				results = append(results, r)
				last = e[i]
			}
			which[i] = int32(len(results) - 1)
		}
		acc.Release()
	}
	if len(results) == 0 {
		return emptyColumn(f.T), nil
	}
	all, err := array.Concatenate(results, types.Mem)
	if err != nil {
		return nil, fmt.Errorf("window aggregate: %w", err)
	}
	defer all.Release()
	return takeColumn(all, which), nil
}

// aggregateLayers gives row i's frame group i and feeds every input row j
// to each frame containing it: rows a[j]..b[j]-1, where both are
// non-decreasing in j. Layer k feeds row j to group a[j]+k; layers run
// from the widest down so each frame sees its rows in order.
func (w *Window) aggregateLayers(st *winState, f *WindowFunc, args []arrow.Array, skip []bool, s, e []int32) (arrow.Array, error) {
	n := st.n
	a, b := make([]int32, n), make([]int32, n)
	width := 0
	for p := range st.pLo {
		lo, hi := int(st.pLo[p]), int(st.pHi[p])
		x, y := lo, lo
		for j := lo; j < hi; j++ {
			for x < hi && int(e[x]) <= j {
				x++
			}
			for y < hi && int(s[y]) <= j {
				y++
			}
			a[j], b[j] = int32(x), int32(y)
			width = max(width, y-x)
		}
	}
	acc := f.Agg.Start(&st.ctx.Env, f.ArgTypes)
	defer acc.Release()
	gv := make([]uint32, n)
	excl := f.Frame.ExcludeCurrentRow
	for k := width - 1; k >= 0; k-- {
		if err := checkCtx(st.ctx); err != nil {
			return nil, err
		}
		for j := range gv {
			g := int(a[j]) + k
			if g >= int(b[j]) || skip != nil && skip[j] || excl && g == j {
				gv[j] = udf.SkipRow
			} else {
				gv[j] = uint32(g)
			}
		}
		if err := acc.Update(gv, n, args, n); err != nil {
			return nil, err
		}
	}
	return acc.Finish(&st.ctx.Env, n)
}
