package lower

import (
	"slices"
	"strings"

	"streamsql/exec"
	"streamsql/exec/stream"
	"streamsql/exec/stream/sortedpart"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// overWindow plans window functions (OVER) in a materialized view as a
// StreamOverWindow: the input rows with one column per function, kept up
// to date as rows come, go and change. The logical plan already stacks one
// window operator per distinct PARTITION BY/ORDER BY, so each becomes one
// stream operator. The row_number() ... WHERE rn <= N pattern never gets
// here: the filter above it plans it as a group top-N.
func (sp *streamPlanner) overWindow(x *plan.Window) (*stream.Node, []int, error) {
	in, part, order := x.Input, x.Partition, x.Order
	funcs, err := windowFuncs(x, sp.compiler)
	if err != nil {
		return nil, nil, err
	}
	child, cm, err := sp.convert(in)
	if err != nil {
		return nil, nil, err
	}
	// The window's arguments are columns of the projection below it;
	// a constant lag/lead offset lets a change recompute only the rows
	// near it.
	var proj []plan.Scalar
	if p, ok := in.(*plan.Project); ok {
		proj = p.Exprs
	}
	spec := &sortedpart.OverWindowSpec{Types: child.Types, StreamKey: child.StreamKey}
	for _, p := range part {
		spec.Partition = append(spec.Partition, cm[p])
	}
	for _, k := range order {
		k.Col = cm[k.Col]
		spec.Order = append(spec.Order, k)
	}
	for _, f := range funcs {
		off := int64(-1)
		if f.Name == "lag" || f.Name == "lead" {
			off = 1
			if len(f.Args) > 1 {
				off = -1
				if f.Args[1] < len(proj) {
					if c, ok := proj[f.Args[1]].(*plan.Const); ok {
						if v, ok := c.Value.(int64); ok && v >= 0 {
							off = v
						}
					}
				}
			}
		}
		spec.Offsets = append(spec.Offsets, off)
		g := f
		g.Args = make([]int, len(f.Args))
		for i, a := range f.Args {
			g.Args[i] = cm[a]
		}
		if f.Filter >= 0 {
			g.Filter = cm[f.Filter]
		}
		spec.Funcs = append(spec.Funcs, g)
	}
	nIn := len(child.Types)
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{child},
		Types:     slices.Clone(child.Types),
		Names:     slices.Clone(child.Names),
		StreamKey: slices.Clone(child.StreamKey),
		StateTables: []string{"rows by (partition, order key, stream key): every live input row; " +
			"a row is deleted with its input row"}}
	inW := len(in.OutputTypes())
	m := make([]int, 0, inW+len(funcs))
	for i := 0; i < inW; i++ {
		m = append(m, cm[i])
	}
	for k, f := range spec.Funcs {
		n.Types = append(n.Types, f.T)
		name := f.Name
		if f.Agg != nil {
			name = f.Agg.Name
		}
		n.Names = append(n.Names, name)
		m = append(m, nIn+k)
	}
	if sp.eowc && !sp.eowcDone {
		if err := eowcOverWindow(child, spec); err != nil {
			return nil, nil, err
		}
		if err := sp.reopenEOWC("window functions (OVER)"); err != nil {
			return nil, nil, err
		}
		spec.EmitOnClose = true
		sp.eowcDone = true
		n.AppendOnly = true
		n.StateTables = append(n.StateTables, "the watermark up to which rows were emitted (a row is emitted once its position and every row its functions read lie below the watermark)")
	}
	if sp.parallel {
		// Keep one output key in one instance (see join).
		n.StreamKey = appendMissing(n.StreamKey, spec.Partition, 0)
	}
	return n, m, nil
}

// eowcOverWindow checks that window functions can EMIT ON WINDOW CLOSE
// over child: an append-only input ordered by one column, ascending,
// that carries a watermark; rows below the watermark then have their
// final positions in their partitions.
func eowcOverWindow(child *stream.Node, spec *sortedpart.OverWindowSpec) error {
	if !child.AppendOnly {
		return sqlerr.New(sqlerr.FeatureNotSupported,
			"EMIT ON WINDOW CLOSE over window functions needs an append-only input: rows of the input can be updated or deleted, which would change values already emitted")
	}
	if len(spec.Order) != 1 || spec.Order[0].Desc || !slices.Contains(child.Watermarks, spec.Order[0].Col) {
		var wm []string
		for _, w := range child.Watermarks {
			wm = append(wm, colLabel(child, w))
		}
		have := "the input has no watermark"
		if len(wm) > 0 {
			have = "the input's watermark is on " + strings.Join(wm, ", ")
		}
		return sqlerr.New(sqlerr.FeatureNotSupported,
			"EMIT ON WINDOW CLOSE over window functions needs ORDER BY one column with a watermark, ascending; %s", have)
	}
	_, err := sortedpart.OverWindowLookahead(&exec.Ctx{}, spec)
	return err
}
