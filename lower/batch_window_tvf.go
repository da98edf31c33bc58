package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/plan"
)

// batchWindowTVF builds the operator of TUMBLE, HOP or CUMULATE; its
// durations compile to expressions the operator evaluates and checks when
// it opens.
func (l *batchLowering) windowTVF(w *plan.WindowTVF) (exec.Operator, error) {
	in, err := l.lower(w.Input)
	if err != nil {
		return nil, err
	}
	args, err := l.c.CompileAll(w.Durations())
	if err != nil {
		return nil, err
	}
	return batch.NewWindowTVFArgs(in, w.Kind, w.TSCol, w.TSType, args), nil
}
