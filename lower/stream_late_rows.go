package lower

import (
	"slices"
	"strings"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Late rows in a stream plan. The watermark filters over tables and
// sources hold back the rows behind their watermark; the operators that
// close state by a watermark (window aggregates, session windows, top-N
// by window, MATCH_RECOGNIZE) hold back the rows that reach them behind
// theirs. Both kinds name, in the late_rows relation, where the rows came
// from. With an allowed lateness (late_rows = 'reopen') every watermark
// filter lowers its watermark by it, so the whole job keeps its state
// that much longer and a row within it updates the result it belongs to.
// Its watermarks also carry the watermark as declared (Watermark.Emit):
// an EMIT ON WINDOW CLOSE aggregation over windows or sessions emits a
// window by it and corrects the window's row while the lowered watermark
// keeps it open (agg.HashAggSpec.Reopen, agg.SessionAggSpec.Reopen);
// other EMIT ON WINDOW CLOSE operators cannot correct a row they emitted
// and refuse the option.

// allowedLateness is the lateness of the watermark filter over column w
// of r, of type t, in the column's units.
func (sp *streamPlanner) allowedLateness(r *catalog.Relation, w catalog.Watermark, t types.T) (int64, error) {
	if sp.lateness == 0 {
		return 0, nil
	}
	if t.Kind != types.TimestampKind && t.Kind != types.TimestampTZ {
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "allowed_lateness needs a timestamp watermark column: %q of %q is %s", w.Column, r.Name, t).
			WithHint("Declare the watermark on a timestamp or timestamptz column, or drop allowed_lateness.")
	}
	return sp.lateness, nil
}

// nameLateRelation names, in the late-row keeping operators of n's plan
// that have no name yet, the relations r reads.
func nameLateRelation(n *stream.Node, r plan.Rel) {
	if n == nil {
		return
	}
	var name string
	var walk func(n *stream.Node)
	walk = func(n *stream.Node) {
		if s, ok := n.Spec.(interface{ Late() *stream.LateSpec }); ok && s.Late().LateRelation == "" {
			if name == "" {
				name = strings.Join(relationNames(r, nil), ", ")
			}
			s.Late().LateRelation = name
		}
		for _, in := range n.Inputs {
			walk(in)
		}
	}
	walk(n)
}

// relationNames appends the names of the tables, sources and views r
// scans, each once, in plan order.
func relationNames(r plan.Rel, out []string) []string {
	add := func(name string) []string {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
		return out
	}
	switch x := r.(type) {
	case *plan.Scan:
		return add(x.Rel.Name)
	case *plan.SourceScan:
		return add(x.Rel.Name)
	}
	for _, in := range plan.Inputs(r) {
		out = relationNames(in, out)
	}
	return out
}

// reopenEOWC refuses late_rows = 'reopen' in an EMIT ON WINDOW CLOSE view
// whose closing operator, op, cannot correct a row it emitted.
func (sp *streamPlanner) reopenEOWC(op string) error {
	if sp.lateness == 0 {
		return nil
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "late_rows = 'reopen' with EMIT ON WINDOW CLOSE is not supported for %s", op).
		WithHint("Only an aggregation grouped by a TUMBLE, HOP or SESSION window corrects the windows it emitted; drop EMIT ON WINDOW CLOSE, or use late_rows = 'keep'.")
}

// operatorName names, for an error, the operator of plan n that holds
// its rows back under EMIT ON WINDOW CLOSE: the first one from the top
// that is not a projection, filter or exchange of rows.
func operatorName(n *stream.Node) string {
	for ; n != nil; n = firstInput(n) {
		if n.Spec == nil {
			break
		}
		name, _, _ := strings.Cut(n.Spec.Explain(), " ")
		switch name {
		case "StreamProject", "StreamFilter", "StreamExpand", "StreamWatermarkFilter", "StreamRowIdGen", "StreamExchange", "StreamMaterialize", "":
			continue
		}
		return name
	}
	return "rows held until the watermark passes them (StreamEowcBuffer)"
}

// firstInput is n's first input, or nil.
func firstInput(n *stream.Node) *stream.Node {
	if len(n.Inputs) == 0 {
		return nil
	}
	return n.Inputs[0]
}
