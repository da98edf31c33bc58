package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/storage"
)

// batchSessionWindow builds the operator of SESSION; its gap compiles to
// an expression the operator evaluates and checks when it opens.
func batchSessionWindow(s *plan.SessionWindow, c *expr.Compiler, read func() storage.Reader) (exec.Operator, error) {
	in, err := Batch(s.Input, c, read)
	if err != nil {
		return nil, err
	}
	gap, err := c.Compile(s.Gap)
	if err != nil {
		return nil, err
	}
	return batch.NewSessionWindowArgs(in, s.TSCol, s.TSType, gap, s.Partition), nil
}
