package plan

import (
	"fmt"

	"streamsql/sql/types"
	"streamsql/udf"
)

// Window computes window functions (OVER) for one PARTITION BY / ORDER BY:
// its rows are Input's rows, each with one more column per call in Funcs.
// Partition and the columns of Order are columns of Input; the planner
// projects the partition and order expressions and the calls' arguments
// as columns of Input, and stacks one Window per distinct window
// specification. Rows come out sorted by (partition, order).
type Window struct {
	Input     Rel
	Partition []int
	Order     []SortKey
	Funcs     []WindowCall
}

// WindowCall is one window function call: a built-in window function by
// Name (row_number, rank, lag, ...), or an aggregate Agg (Name empty) over
// the frame. Args are columns of the window's input; Filter is a boolean
// column of it or -1; T is the result type.
type WindowCall struct {
	Name   string
	Agg    *udf.Aggregate
	Args   []int
	Frame  Frame
	T      types.T
	Filter int
}

// BoundKind is the kind of one end of a window frame.
type BoundKind int

const (
	UnboundedPreceding BoundKind = iota
	OffsetPreceding
	CurrentRow
	OffsetFollowing
	UnboundedFollowing
)

func (k BoundKind) String() string {
	switch k {
	case UnboundedPreceding:
		return "UNBOUNDED PRECEDING"
	case OffsetPreceding:
		return "PRECEDING"
	case CurrentRow:
		return "CURRENT ROW"
	case OffsetFollowing:
		return "FOLLOWING"
	case UnboundedFollowing:
		return "UNBOUNDED FOLLOWING"
	}
	return fmt.Sprintf("BoundKind(%d)", int(k))
}

// FrameMode says how frame offsets count: rows, values of the ORDER BY
// key (RANGE), or peer groups (GROUPS).
type FrameMode int

const (
	RangeFrame FrameMode = iota
	RowsFrame
	GroupsFrame
)

func (m FrameMode) String() string {
	switch m {
	case RangeFrame:
		return "RANGE"
	case RowsFrame:
		return "ROWS"
	case GroupsFrame:
		return "GROUPS"
	}
	return fmt.Sprintf("FrameMode(%d)", int(m))
}

// FrameBound is one end of a frame; Offset is set for the Offset kinds. It
// is evaluated once when the window operator opens (it may be a
// parameter), so one plan serves every execution.
type FrameBound struct {
	Kind   BoundKind
	Offset Scalar
}

func (b FrameBound) String() string {
	if b.Kind == OffsetPreceding || b.Kind == OffsetFollowing {
		return b.Offset.String() + " " + b.Kind.String()
	}
	return b.Kind.String()
}

// Frame is a window frame. The zero Frame (both bounds UNBOUNDED
// PRECEDING, which SQL does not allow for an end) stands for the default
// frame, RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
type Frame struct {
	Mode              FrameMode
	Start, End        FrameBound
	ExcludeCurrentRow bool
}

func (f Frame) String() string {
	s := f.Mode.String() + " BETWEEN " + f.Start.String() + " AND " + f.End.String()
	if f.ExcludeCurrentRow {
		s += " EXCLUDE CURRENT ROW"
	}
	return s
}

// FuncName is the call's function name (the aggregate's for an
// aggregate).
func (c WindowCall) FuncName() string {
	if c.Agg != nil {
		return c.Agg.Name
	}
	return c.Name
}

func (c WindowCall) String() string {
	args := cols(c.Args)
	if c.Agg != nil && len(c.Args) == 0 {
		args = "*"
	}
	s := c.FuncName() + "(" + args + ")"
	if c.Filter >= 0 {
		s += fmt.Sprintf(" FILTER (WHERE #%d)", c.Filter)
	}
	return s + " " + c.Frame.String()
}

// OutputTypes returns Input's column types, then one per call.
func (w *Window) OutputTypes() []types.T {
	ts := append([]types.T{}, w.Input.OutputTypes()...)
	for _, f := range w.Funcs {
		ts = append(ts, f.T)
	}
	return ts
}

// StreamProps: maintained incrementally, a window changes the function
// columns of rows already emitted, so its output is not append-only; a
// row is still identified by its input row.
func (w *Window) StreamProps() Props {
	in := StreamProps(w.Input)
	return Props{Key: in.Key, KeyKnown: in.KeyKnown}
}

// String renders the window for plan trees: "window partition by #3
// order by #4: rank() RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW".
func (w *Window) String() string {
	return "window" + prefixed(" partition by ", cols(w.Partition)) + prefixed(" order by ", list(w.Order)) +
		prefixed(": ", list(w.Funcs))
}
