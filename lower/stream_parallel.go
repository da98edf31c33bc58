package lower

import (
	"fmt"
	"strings"

	"streamsql/exec/stream"
	"streamsql/exec/stream/agg"
	"streamsql/exec/stream/join"
	"streamsql/exec/stream/sortedpart"
)

// parallelize spreads a stream plan over p instances per keyed operator:
// every hash aggregation with a GROUP BY, every session aggregation with
// partition columns, every equi-join and every top-N, over window and
// MATCH_RECOGNIZE with PARTITION BY runs as p instances, each fed by a hash exchange on
// its keys, so one view uses p cores. Stateless operators
// run in the instances of their input. Operators whose state is not keyed
// (a global aggregate, the EMIT ON WINDOW CLOSE buffer, row ids, watermark
// generation, the view itself) run once, behind a gathering exchange.
// The aggregations in splits run in two phases (stream_two_phase.go).
func parallelize(n *stream.Node, p int, splits map[*agg.HashAggSpec]bool) *stream.Node {
	return parallelizeShared(n, p, splits, map[*stream.Node]*stream.Node{})
}

// parallelizeShared is parallelize with the nodes done already: a node
// that several consumers read (stream_share.go) is spread once.
func parallelizeShared(n *stream.Node, p int, splits map[*agg.HashAggSpec]bool, done map[*stream.Node]*stream.Node) *stream.Node {
	if d, ok := done[n]; ok {
		return d
	}
	d := parallelizeNode(n, p, splits, done)
	done[n] = d
	return d
}

func parallelizeNode(n *stream.Node, p int, splits map[*agg.HashAggSpec]bool, done map[*stream.Node]*stream.Node) *stream.Node {
	if n.Source != nil {
		return n
	}
	for i, in := range n.Inputs {
		n.Inputs[i] = parallelizeShared(in, p, splits, done)
	}
	// keys[i]: the columns of input i that partition the operator's state.
	var keys [][]int
	switch s := n.Spec.(type) {
	case *agg.HashAggSpec:
		if splits[s] && p > 1 {
			return splitAgg(n, s, p)
		}
		keys = [][]int{s.GroupCols}
	case *join.HashJoinSpec:
		keys = [][]int{s.LeftKeys, s.RightKeys}
	case *join.AsofJoinSpec:
		keys = [][]int{s.LeftKeys, s.RightKeys}
	case *agg.SessionAggSpec:
		keys = [][]int{s.PartCols}
	case *sortedpart.TopNSpec:
		keys = [][]int{s.Partition}
	case *sortedpart.OverWindowSpec:
		keys = [][]int{s.Partition}
	case *stream.MatchRecognizeSpec:
		keys = [][]int{s.Match.Partition}
	case *stream.EowcBufferSpec, *stream.RowIDSpec, *stream.WatermarkFilterSpec, *stream.MaterializeSpec,
		*join.NestedLoopJoinSpec, *stream.RecursiveUnionSpec:
	default:
		// Stateless: run alongside the inputs when they agree.
		same := true
		for _, in := range n.Inputs[1:] {
			if in.Instances() != n.Inputs[0].Instances() {
				same = false
			}
		}
		if same {
			n.Parallelism = n.Inputs[0].Parallelism
			return n
		}
	}
	if p > 1 && len(keys) > 0 && len(keys[0]) > 0 {
		// Hash each input on its keys into p instances.
		for i, k := range keys {
			n.Inputs[i] = exchange(n.Inputs[i], k, p)
		}
		n.Parallelism = p
		return n
	}
	gatherInputs(n)
	return n
}

// gatherInputs makes n run once, gathering the inputs that run in
// several instances.
func gatherInputs(n *stream.Node) {
	n.Parallelism = 0
	for i, in := range n.Inputs {
		if in.Instances() > 1 {
			n.Inputs[i] = exchange(in, nil, 0)
		}
	}
}

// exchange puts an exchange on top of in: hashing on keys into p
// instances, or gathering into one when keys is nil.
func exchange(in *stream.Node, keys []int, p int) *stream.Node {
	return &stream.Node{Spec: &stream.ExchangeSpec{Keys: keys, Types: in.Types}, Inputs: []*stream.Node{in},
		Types: in.Types, Names: in.Names, StreamKey: in.StreamKey, AppendOnly: in.AppendOnly,
		Watermarks: in.Watermarks, Parallelism: p}
}

// explainExchange names an exchange's key columns.
func explainExchange(n *stream.Node, s *stream.ExchangeSpec) string {
	if len(s.Keys) == 0 {
		return "Exchange gather"
	}
	names := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		names[i] = colLabel(n, k)
	}
	return fmt.Sprintf("Exchange hash(%s) into %d", strings.Join(names, ", "), n.Instances())
}
