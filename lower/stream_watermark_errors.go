package lower

import (
	"fmt"
	"strings"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
)

// Errors of EMIT ON WINDOW CLOSE without a watermark: they name the
// columns that lack one and the operator where the input's watermark
// stopped.

// noOutputWatermark is the error of a view whose output carries no
// watermark.
func noOutputWatermark(n *stream.Node) error {
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"EMIT ON WINDOW CLOSE needs a watermark: no column of the query's output (%s) carries one: %s",
		strings.Join(visibleNames(n), ", "), whyNoWatermark(n)).
		WithHint("Declare WATERMARK FOR on the source's time column and keep that column, or a window_start/window_end of it, in the output.")
}

// noGroupWatermark is the error of an EMIT ON WINDOW CLOSE aggregation
// none of whose GROUP BY columns carries a watermark.
func noGroupWatermark(child *stream.Node, group []int) error {
	names := make([]string, len(group))
	for i, g := range group {
		names[i] = colLabel(child, g)
	}
	why := whyNoWatermark(child)
	if len(child.Watermarks) > 0 {
		wm := make([]string, len(child.Watermarks))
		for i, w := range child.Watermarks {
			wm[i] = colLabel(child, w)
		}
		why = fmt.Sprintf("the input's watermark is on %s, which is not grouped by", strings.Join(wm, ", "))
	}
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"EMIT ON WINDOW CLOSE needs a GROUP BY column with a watermark (window_start or window_end of a TUMBLE/HOP over a source with WATERMARK FOR): none of the GROUP BY columns (%s) carries one, because %s; without one, no group ever closes and its state would grow forever",
		strings.Join(names, ", "), why)
}

// whyNoWatermark says where the watermarks of n's inputs end: the
// operator that does not pass one on, or that nothing below declares
// one.
func whyNoWatermark(n *stream.Node) string {
	if lost := watermarkLostAt(n); lost != nil {
		var wm []string
		for _, in := range lost.Inputs {
			for _, w := range in.Watermarks {
				wm = append(wm, colLabel(in, w))
			}
		}
		why := "which does not pass it on"
		if _, ok := lost.Spec.(*stream.ProjectSpec); ok {
			why = "which does not keep that column"
		}
		return fmt.Sprintf("the watermark on %s ends at %s, %s", strings.Join(wm, ", "), lost.Spec.Explain(), why)
	}
	return "no table, source or view it reads has a watermark"
}

// watermarkLostAt returns the highest node under n (n included) without
// a watermark whose input has one.
func watermarkLostAt(n *stream.Node) *stream.Node {
	if len(n.Watermarks) > 0 {
		return nil
	}
	for _, in := range n.Inputs {
		if len(in.Watermarks) > 0 && n.Spec != nil {
			return n
		}
	}
	for _, in := range n.Inputs {
		if x := watermarkLostAt(in); x != nil {
			return x
		}
	}
	return nil
}

// visibleNames are n's column names without the hidden ones.
func visibleNames(n *stream.Node) []string {
	var out []string
	for i, name := range n.Names {
		if !strings.HasPrefix(name, "_") {
			out = append(out, colLabel(n, i))
		}
	}
	return out
}
