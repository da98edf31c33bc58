package lower

import (
	"slices"

	"streamsql/exec/stream"
	"streamsql/exec/stream/agg"
	"streamsql/sql/sqlerr"
)

// Two-phase aggregation (agg/hash_agg_phase.go): in a parallel plan a
// GROUP BY (or an aggregate without one) can run as a local half in every
// instance of its input, folding each epoch's rows into partial states,
// and a global half behind the exchange on the group key that merges
// them. A key with most of the rows then no longer puts them all through
// one instance. The logical plan keeps one Aggregate; parallelize splits
// it.
//
// StreamOptions.TwoPhaseAgg (the session's streaming_two_phase_agg when
// the view was created, recorded with it):
//
//	off   never split
//	on    split every aggregation whose aggregates all merge their states
//	auto  as on, but only when every aggregation of the view can split
//
// An aggregation that is not split says why in EXPLAIN ("one phase: ...").

// Values of StreamOptions.TwoPhaseAgg.
const (
	TwoPhaseOff  = "off"
	TwoPhaseOn   = "on"
	TwoPhaseAuto = "auto"
)

// CheckTwoPhaseAgg validates a value of streaming_two_phase_agg.
func CheckTwoPhaseAgg(v string) (string, error) {
	switch v {
	case TwoPhaseOff, TwoPhaseOn, TwoPhaseAuto:
		return v, nil
	case "false", "0", "no":
		return TwoPhaseOff, nil
	case "true", "1", "yes":
		return TwoPhaseOn, nil
	}
	return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"streaming_two_phase_agg\": %q", v).
		WithHint("Available values: auto, on, off.")
}

// twoPhase records whether the aggregation spec over an input that is
// append-only or not can be split, when splits are asked for.
func (sp *streamPlanner) twoPhase(spec *agg.HashAggSpec) {
	if !sp.parallel || sp.splitMode == "" || sp.splitMode == TwoPhaseOff {
		return
	}
	for _, a := range spec.Aggs {
		if r := agg.CombineRefusal(a, spec.AppendOnly); r != "" {
			spec.NoSplit = r
			sp.splitRefused = true
			return
		}
	}
	// User aggregates over retracting input exchange whole states
	// (agg/hash_agg_replace.go).
	spec.Replace = agg.ReplaceNeeded(spec)
	if sp.splits == nil {
		sp.splits = map[*agg.HashAggSpec]bool{}
	}
	sp.splits[spec] = true
}

// settleSplits applies auto: no split unless every aggregation splits.
func (sp *streamPlanner) settleSplits() {
	if sp.splitMode != TwoPhaseAuto || !sp.splitRefused {
		return
	}
	for s := range sp.splits {
		s.NoSplit, s.Replace = "another aggregation of the view does not merge its states", false
	}
	sp.splits = nil
}

// splitAgg replaces the aggregation n (spec s, its input already
// parallelized) by a local half in the input's instances (p of them: an
// input that runs once is spread by its stream key first) and a global
// half behind an exchange on the group key.
func splitAgg(n *stream.Node, s *agg.HashAggSpec, p int) *stream.Node {
	in := n.Inputs[0]
	if in.Instances() < p {
		keys := in.StreamKey
		if len(keys) == 0 {
			keys = make([]int, len(in.Types))
			for i := range keys {
				keys[i] = i
			}
		}
		in = exchange(in, keys, p)
	}
	local, global := s.Halves()
	ln := &stream.Node{Spec: local, Inputs: []*stream.Node{in}, Types: local.PartialTypes(), AppendOnly: true,
		Parallelism: in.Parallelism}
	for _, g := range s.GroupCols {
		ln.Names = append(ln.Names, in.Names[g])
	}
	ln.Names = append(ln.Names, "_rows")
	if s.Replace {
		// The local half keeps its groups' states (hash_agg_replace.go).
		ln.Names = append(ln.Names, "_instance")
		ln.StateTables = n.StateTables
		n.StateTables = append([]string{"groups: group key -> row count, aggregate states and the latest partial state of each local instance (a window's groups are deleted once the watermark passes it)"},
			n.StateTables[1:]...)
	}
	for _, a := range s.Aggs {
		ln.Names = append(ln.Names, a.Agg.Name+"_partial")
	}
	if s.WindowCol >= 0 {
		ln.Watermarks = []int{s.WindowCol}
	}
	n.Spec = global
	if len(s.GroupCols) == 0 {
		n.Inputs = []*stream.Node{exchange(ln, nil, 0)}
		n.Parallelism = 0
		return n
	}
	n.Inputs = []*stream.Node{exchange(ln, slices.Clone(global.GroupCols), p)}
	n.Parallelism = p
	return n
}
