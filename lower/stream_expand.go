package lower

import (
	"slices"

	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// expand plans an Expand as a StreamExpand: the input's columns pass
// through untouched (so its stream key and watermarks hold), the columns
// some set nulls are copied after them and nulled in the copies, and the
// sets' constants follow; the first constant, the set's number, joins
// the input's stream key.
func (sp *streamPlanner) expand(x *plan.Expand) (*stream.Node, []int, error) {
	child, cm, err := sp.convert(x.Input)
	if err != nil {
		return nil, nil, err
	}
	nIn, inW := len(child.Types), len(x.Input.OutputTypes())
	nulled := x.Nulled()
	spec := &stream.ExpandSpec{}
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{child}, AppendOnly: child.AppendOnly,
		Types: slices.Clone(child.Types), Names: slices.Clone(child.Names),
		StreamKey: slices.Clone(child.StreamKey), Watermarks: slices.Clone(child.Watermarks)}
	m := slices.Clone(cm[:inW])
	for k, c := range nulled {
		spec.Copy = append(spec.Copy, cm[c])
		n.Types = append(n.Types, child.Types[cm[c]])
		n.Names = append(n.Names, child.Names[cm[c]])
		m[c] = nIn + k
	}
	for _, s := range x.Sets {
		set := batch.ExpandSet{Consts: s.Consts}
		for _, c := range s.Nulls {
			set.Nulls = append(set.Nulls, m[c])
		}
		spec.Sets = append(spec.Sets, set)
	}
	for k := range x.Sets[0].Consts {
		m = append(m, len(n.Types))
		n.Types = append(n.Types, types.TInt4)
		if k == 0 {
			n.StreamKey = append(n.StreamKey, len(n.Types)-1)
			n.Names = append(n.Names, "_set")
		} else {
			n.Names = append(n.Names, "grouping")
		}
	}
	return n, m, nil
}
