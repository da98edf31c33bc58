package lower

import (
	"slices"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/plan"
)

// windowTVF plans TUMBLE, HOP or CUMULATE as a stream WindowTVF. A view's
// windows are fixed when it is created: the duration scalars are
// evaluated here, without statement arguments, and checked like the
// batch operator checks them when it opens.
func (sp *streamPlanner) windowTVF(x *plan.WindowTVF) (*stream.Node, []int, error) {
	args, err := sp.compiler.CompileAll(x.Durations())
	if err != nil {
		return nil, nil, err
	}
	wp, err := batch.ResolveWindowTVF(&exec.Ctx{}, batch.WindowTVFParams{Kind: x.Kind, TSCol: x.TSCol, TSType: x.TSType}, args)
	if err != nil {
		return nil, nil, err
	}
	child, cm, err := sp.convert(x.Input)
	if err != nil {
		return nil, nil, err
	}
	spec := &stream.WindowTVFSpec{Kind: wp.Kind, TSCol: cm[wp.TSCol], Slide: wp.Slide, Size: wp.Size, Offset: wp.Offset}
	nIn := len(child.Types)
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{child},
		Types:      append(slices.Clone(child.Types), wp.TSType, wp.TSType),
		Names:      append(slices.Clone(child.Names), "window_start", "window_end"),
		StreamKey:  spec.OutputKey(child.StreamKey, nIn),
		AppendOnly: child.AppendOnly,
		Watermarks: spec.OutputWatermarks(child.Watermarks, nIn)}
	return n, append(slices.Clone(cm), nIn, nIn+1), nil
}
