package lower

import (
	"streamsql/exec"
	"streamsql/sql/plan"
)

// lookupJoin builds the batch form of a plan.LookupJoin: a query run once
// reads the table's current contents, so the lookup join runs as the
// plain join it wraps.
func (l *batchLowering) lookupJoin(x *plan.LookupJoin) (exec.Operator, error) {
	return l.join(x.Join)
}
