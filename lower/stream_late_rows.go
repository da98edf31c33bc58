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
