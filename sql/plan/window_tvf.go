package plan

import (
	"fmt"

	"streamsql/sql/types"
)

// Window table functions in FROM: TUMBLE, HOP and CUMULATE assign every
// row of a relation to event-time windows of fixed length and append
// window_start and window_end to it (one row per window the row belongs
// to); SESSION (session_window.go) groups rows into sessions instead.
// The durations are interval scalars made of constants and parameters:
// they are evaluated when the operator opens, so one plan serves every
// set of arguments, and a bad value (a size that is not positive, a
// month) is an error of that execution.

// WindowKind is the window table function.
type WindowKind uint8

const (
	// TumbleWindow: fixed, non-overlapping windows.
	TumbleWindow WindowKind = iota
	// HopWindow: fixed windows that overlap, starting every slide.
	HopWindow
	// CumulateWindow: windows growing by step from a common start up to
	// max_size.
	CumulateWindow
	// SessionWindowKind: sessions of rows less than a gap apart (the
	// SessionWindow node).
	SessionWindowKind
)

func (k WindowKind) String() string {
	switch k {
	case TumbleWindow:
		return "tumble"
	case HopWindow:
		return "hop"
	case CumulateWindow:
		return "cumulate"
	case SessionWindowKind:
		return "session"
	}
	return "?"
}

// DurationNames names the duration arguments of a window table function
// in order (the offset, which every fixed-size kind takes last, aside).
func (k WindowKind) DurationNames() []string {
	switch k {
	case TumbleWindow:
		return []string{"size"}
	case HopWindow:
		return []string{"slide", "size"}
	case CumulateWindow:
		return []string{"step", "max_size"}
	case SessionWindowKind:
		return []string{"gap"}
	}
	return nil
}

// WindowTVF is TUMBLE, HOP or CUMULATE over Input: its rows are Input's
// rows, once per window, each followed by window_start and window_end of
// type TSType (the type of the time column TSCol). Slide is the distance
// between window starts (the size for tumble, the step for cumulate),
// Size the window length (max_size for cumulate) and Offset, when not
// nil, shifts window starts away from the epoch; all three are interval
// scalars without column references.
type WindowTVF struct {
	Input               Rel
	Kind                WindowKind
	TSCol               int
	TSType              types.T
	Slide, Size, Offset Scalar
}

// Durations lists the duration arguments as written: tumble's size, or
// hop's slide and size, or cumulate's step and max_size, then the offset
// when there is one.
func (w *WindowTVF) Durations() []Scalar {
	var ds []Scalar
	if w.Kind == TumbleWindow {
		ds = []Scalar{w.Size}
	} else {
		ds = []Scalar{w.Slide, w.Size}
	}
	if w.Offset != nil {
		ds = append(ds, w.Offset)
	}
	return ds
}

// OutputTypes returns Input's column types, then window_start and
// window_end.
func (w *WindowTVF) OutputTypes() []types.T {
	return append(append([]types.T{}, w.Input.OutputTypes()...), w.TSType, w.TSType)
}

// StreamProps: a window table function is a projection that may repeat
// rows, so it is append-only when its input is. Tumble gives one row per
// input row and keeps the input's key; hop adds window_start to it and
// cumulate window_end (the windows of one row share their start). A
// watermark on the time column also holds for window_start and
// window_end, which no later row can make smaller; under tumble a
// monotonic time column makes both window columns monotonic.
func (w *WindowTVF) StreamProps() Props {
	in := StreamProps(w.Input)
	n := len(w.Input.OutputTypes())
	out := Props{KeyKnown: in.KeyKnown, AppendOnly: in.AppendOnly,
		Watermarks: append([]int{}, in.Watermarks...), Monotonic: append([]int{}, in.Monotonic...)}
	if in.KeyKnown {
		out.Key = append([]int{}, in.Key...)
		switch w.Kind {
		case HopWindow:
			out.Key = append(out.Key, n)
		case CumulateWindow:
			out.Key = append(out.Key, n+1)
		}
	}
	if contains(in.Watermarks, w.TSCol) {
		out.Watermarks = append(out.Watermarks, n, n+1)
	}
	if w.Kind == TumbleWindow && contains(in.Monotonic, w.TSCol) {
		out.Monotonic = append(out.Monotonic, n, n+1)
	}
	return out
}

// String renders the function for plan trees: "window tvf hop(#1, slide
// '00:10:00', size '00:30:00')".
func (w *WindowTVF) String() string {
	s := fmt.Sprintf("window tvf %s(#%d", w.Kind, w.TSCol)
	names := w.Kind.DurationNames()
	for i, d := range w.Durations() {
		name := "offset"
		if i < len(names) {
			name = names[i]
		}
		s += ", " + name + " " + d.String()
	}
	return s + ")"
}
