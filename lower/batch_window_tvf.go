package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/storage"
)

// batchWindowTVF builds the operator of TUMBLE, HOP or CUMULATE; its
// durations compile to expressions the operator evaluates and checks when
// it opens.
func batchWindowTVF(w *plan.WindowTVF, c *expr.Compiler, read func() storage.Reader) (exec.Operator, error) {
	in, err := Batch(w.Input, c, read)
	if err != nil {
		return nil, err
	}
	args, err := c.CompileAll(w.Durations())
	if err != nil {
		return nil, err
	}
	return batch.NewWindowTVFArgs(in, w.Kind, w.TSCol, w.TSType, args), nil
}
