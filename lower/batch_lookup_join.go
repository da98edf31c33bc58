package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/plan"
	"streamsql/storage"
)

// lookupJoin is the batch form of a plan.LookupJoin: it runs as the plain
// join it wraps, and carries what the stream lowering reads to build the
// lookup operator (left is the left side lowered on its own, read but
// never run).
type lookupJoin struct {
	exec.Operator
	kind  batch.JoinKind
	left  exec.Operator
	table *storage.Table
	// keys[i], over the left columns, gives the i-th primary key column.
	keys      []plan.Scalar
	rightCols []int
	residual  plan.Scalar
}

func (l *batchLowering) lookupJoin(x *plan.LookupJoin) (exec.Operator, error) {
	op, err := l.join(x.Join)
	if err != nil {
		return nil, err
	}
	left, err := l.lower(x.Join.Left)
	if err != nil {
		return nil, err
	}
	return &lookupJoin{Operator: op, kind: x.Join.Kind, left: left, table: x.Table.Table(), keys: x.Keys,
		rightCols: x.RightCols, residual: x.Residual}, nil
}
