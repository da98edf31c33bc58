package batch

// Session windows: SESSION(rel, ts, gap) groups the rows of each partition
// into sessions, maximal runs of rows whose consecutive times (in time
// order) are less than gap apart, and appends window_start (the first time
// of the row's session) and window_end (its last time plus gap) to every
// row.
//
// A session depends on every row of its partition, so the batch operator
// materializes its input, sorts it by (partition columns, time) and
// assigns sessions in one pass over the sorted order. Rows with a NULL
// time belong to no session and are dropped. Partition columns compare
// like GROUP BY keys (NULLs equal each other).
//
// The planner sets the partition columns from the enclosing query's GROUP
// BY after the FROM clause is planned (SetPartition); until then the whole
// input is one partition.

import (
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// SessionWindow is the window kind of SESSION.
const SessionWindow = plan.SessionWindowKind

// SessionParams are the parameters of a session window.
type SessionParams struct {
	// TSCol is the time column of the input and TSType its type
	// (timestamp or timestamptz), also the type of the window columns.
	TSCol  int
	TSType types.T
	// Gap in microseconds: rows less than Gap apart share a session.
	Gap int64
	// PartCols are the input columns a session is kept per.
	PartCols []int
}

// Validate checks the parameters; its errors are for the user (22023).
func (p SessionParams) Validate() error {
	switch p.TSType.Kind {
	case types.TimestampKind, types.TimestampTZ:
	default:
		return sqlerr.New(sqlerr.InvalidParameterValue, "the time column of session must be of type timestamp or timestamp with time zone, not %s", p.TSType)
	}
	if p.Gap <= 0 {
		return sqlerr.New(sqlerr.InvalidParameterValue, "session gap must be positive")
	}
	if p.Gap > maxWindowMicros {
		return sqlerr.New(sqlerr.InvalidParameterValue, "session gap is too large")
	}
	return nil
}

// Explain renders the function for EXPLAIN, e.g. "session(#5, gap 00:00:10, partition by #1)".
func (p SessionParams) Explain() string { return p.explain(FormatMicros(p.Gap)) }

// explain renders the function with the gap as gap.
func (p SessionParams) explain(gap string) string {
	s := fmt.Sprintf("session(#%d, gap %s", p.TSCol, gap)
	if len(p.PartCols) > 0 {
		s += ", partition by " + ColList(p.PartCols)
	}
	return s + ")"
}

// SessionContinues reports whether a row at time t continues a session
// whose latest time is last (t >= last): t - last < gap, computed without
// overflow for any pair of times.
func SessionContinues(last, t, gap int64) bool {
	return uint64(t)-uint64(last) < uint64(gap)
}

// SessionEnd is window_end of a session whose latest time is last; an
// infinite time stays infinite.
func SessionEnd(last, gap int64) int64 {
	if isInfinite(last) {
		return last
	}
	if last > math.MaxInt64-gap {
		return math.MaxInt64
	}
	return last + gap
}

// SessionWindowOp is the batch operator of SESSION: its output is the
// input's columns followed by window_start and window_end, in (partition,
// time) order.
type SessionWindowOp struct {
	in exec.Operator
	p  SessionParams
	ts []types.T

	// gap, when set, is the gap as an interval expression of constants
	// and parameters, evaluated into p when the operator opens.
	gap expr.Expr

	data         *table
	perm         []int32
	starts, ends []int64
	pos          int
	done         bool
}

// NewSessionWindow returns SESSION over in, windowing column tsCol of type
// tsType with gap (microseconds). The parameters must have passed
// Validate.
func NewSessionWindow(in exec.Operator, tsCol int, tsType types.T, gap int64) *SessionWindowOp {
	ts := append(append([]types.T{}, in.Types()...), tsType, tsType)
	return &SessionWindowOp{in: in, ts: ts, p: SessionParams{TSCol: tsCol, TSType: tsType, Gap: gap}}
}

// NewSessionWindowArgs returns SESSION over in, windowing column tsCol
// of type tsType, with sessions kept per partition columns part; gap is
// an interval expression of constants and parameters, evaluated and
// checked when the operator opens.
func NewSessionWindowArgs(in exec.Operator, tsCol int, tsType types.T, gap expr.Expr, part []int) *SessionWindowOp {
	ts := append(append([]types.T{}, in.Types()...), tsType, tsType)
	return &SessionWindowOp{in: in, ts: ts, gap: gap, p: SessionParams{TSCol: tsCol, TSType: tsType, PartCols: part}}
}

// SetPartition sets the partition columns (input column indexes).
func (o *SessionWindowOp) SetPartition(cols []int) { o.p.PartCols = cols }

// resolve evaluates the gap and checks the parameters.
func (o *SessionWindowOp) resolve(ctx *exec.Ctx) (SessionParams, error) {
	if o.gap == nil {
		return o.p, nil
	}
	return ResolveSession(ctx, o.p, o.gap)
}

// ResolveSession sets the gap of p (its time column, type and partition
// set) to the interval expression gap evaluated in ctx, and checks the
// result (Validate). The batch operator does it when it opens; the stream
// lowering once, when a view is created.
func ResolveSession(ctx *exec.Ctx, p SessionParams, gap expr.Expr) (SessionParams, error) {
	g, err := WindowDuration(ctx, gap, SessionWindow, "gap")
	if err != nil {
		return p, err
	}
	p.Gap = g
	return p, p.Validate()
}

func (o *SessionWindowOp) Open(ctx *exec.Ctx) error {
	o.reset()
	if o.gap != nil {
		p, err := o.resolve(ctx)
		if err != nil {
			return err
		}
		o.p = p
	}
	return o.in.Open(ctx)
}

func (o *SessionWindowOp) reset() {
	o.data.release()
	o.data, o.perm, o.starts, o.ends, o.pos, o.done = nil, o.perm[:0], o.starts[:0], o.ends[:0], 0, false
}

func (o *SessionWindowOp) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	if !o.done {
		if err := o.assign(ctx); err != nil {
			return nil, err
		}
		o.done = true
	}
	if o.pos >= len(o.perm) {
		return nil, nil
	}
	hi := min(o.pos+exec.BatchSize, len(o.perm))
	out := takeCols(o.data.cols, o.perm[o.pos:hi])
	start := timestampColumn(o.p.TSType, o.starts[o.pos:hi], nil, 0)
	end := timestampColumn(o.p.TSType, o.ends[o.pos:hi], nil, 0)
	out.Cols = append(out.Cols, start, end)
	o.pos = hi
	return out, nil
}

// assign materializes the input, orders its rows with a time by
// (partition, time) into o.perm and computes every row's session.
func (o *SessionWindowOp) assign(ctx *exec.Ctx) error {
	t, err := materialize(ctx, o.in, o.in.Types(), "SessionWindow")
	if err != nil {
		return err
	}
	o.data = t
	tsArr, ok := t.cols[o.p.TSCol].(*array.Timestamp)
	if !ok {
		return fmt.Errorf("session: time column is %s", t.cols[o.p.TSCol].DataType())
	}
	vals := tsArr.TimestampValues()
	// Drop NULL times before sorting.
	o.perm = o.perm[:0]
	for i := 0; i < t.n; i++ {
		if tsArr.IsValid(i) {
			o.perm = append(o.perm, int32(i))
		}
	}
	in := o.in.Types()
	keys := make([]SortKey, 0, len(o.p.PartCols)+1)
	for _, c := range o.p.PartCols {
		keys = append(keys, SortKey{Col: c, T: in[c]})
	}
	part := newRowCmp(t.cols, keys)
	keys = append(keys, SortKey{Col: o.p.TSCol, T: o.p.TSType})
	all := newRowCmp(t.cols, keys)
	slices.SortStableFunc(o.perm, func(a, b int32) int { return all.compare(int(a), int(b)) })

	n := len(o.perm)
	o.starts = grow64(o.starts, n)
	o.ends = grow64(o.ends, n)
	for lo := 0; lo < n; {
		// [lo, hi) is one session.
		first := int64(vals[o.perm[lo]])
		last := first
		hi := lo + 1
		for ; hi < n; hi++ {
			r := o.perm[hi]
			v := int64(vals[r])
			if (len(o.p.PartCols) > 0 && part.compare(int(o.perm[hi-1]), int(r)) != 0) || !SessionContinues(last, v, o.p.Gap) {
				break
			}
			last = v
		}
		end := SessionEnd(last, o.p.Gap)
		for k := lo; k < hi; k++ {
			o.starts[k], o.ends[k] = first, end
		}
		lo = hi
	}
	return nil
}

func grow64(s []int64, n int) []int64 {
	if cap(s) < n {
		return make([]int64, n)
	}
	return s[:n]
}

func (o *SessionWindowOp) Close() {
	o.reset()
	o.in.Close()
}

func (o *SessionWindowOp) Types() []types.T { return o.ts }

// Explain renders the operator; a gap that needs the statement's
// arguments shows as the expression it is.
func (o *SessionWindowOp) Explain() string {
	p, err := o.resolve(&exec.Ctx{})
	if err == nil {
		return "SessionWindow " + p.Explain()
	}
	return "SessionWindow " + p.explain(o.gap.String())
}
func (o *SessionWindowOp) Children() []exec.Operator { return []exec.Operator{o.in} }
