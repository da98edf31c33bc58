package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
)

// window builds the window operator of a logical Window; its frame
// offsets compile to expressions the operator evaluates when it opens.
func (l *batchLowering) window(w *plan.Window) (exec.Operator, error) {
	c := l.c
	in, err := l.lower(w.Input)
	if err != nil {
		return nil, err
	}
	fns, err := windowFuncs(w, c)
	if err != nil {
		return nil, err
	}
	return batch.NewWindow(in, w.Partition, w.Order, fns), nil
}

// windowFuncs gives the window operators' form of w's calls, with their
// frame offsets compiled.
func windowFuncs(w *plan.Window, c *expr.Compiler) ([]batch.WindowFunc, error) {
	inTypes := w.Input.OutputTypes()
	fns := make([]batch.WindowFunc, len(w.Funcs))
	var err error
	for i, f := range w.Funcs {
		wf := batch.WindowFunc{Name: f.Name, Agg: f.Agg, Args: f.Args, T: f.T, Filter: f.Filter,
			Frame: batch.Frame{Mode: f.Frame.Mode, ExcludeCurrentRow: f.Frame.ExcludeCurrentRow}}
		for _, a := range f.Args {
			wf.ArgTypes = append(wf.ArgTypes, inTypes[a])
		}
		if wf.Frame.Start, err = frameBound(f.Frame.Start, c); err != nil {
			return nil, err
		}
		if wf.Frame.End, err = frameBound(f.Frame.End, c); err != nil {
			return nil, err
		}
		fns[i] = wf
	}
	return fns, nil
}

func frameBound(b plan.FrameBound, c *expr.Compiler) (batch.FrameBound, error) {
	out := batch.FrameBound{Kind: b.Kind}
	if b.Offset != nil {
		off, err := c.Compile(b.Offset)
		if err != nil {
			return out, err
		}
		out.Offset = off
	}
	return out, nil
}
