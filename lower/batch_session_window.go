package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/plan"
)

// batchSessionWindow builds the operator of SESSION; its gap compiles to
// an expression the operator evaluates and checks when it opens.
func (l *batchLowering) sessionWindow(s *plan.SessionWindow) (exec.Operator, error) {
	in, err := l.lower(s.Input)
	if err != nil {
		return nil, err
	}
	gap, err := l.c.Compile(s.Gap)
	if err != nil {
		return nil, err
	}
	return batch.NewSessionWindowArgs(in, s.TSCol, s.TSType, gap, s.Partition), nil
}
