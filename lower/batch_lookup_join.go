package lower

import (
	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/storage"
)

// batchLookupJoin builds the batch form of a plan.LookupJoin: a query run
// once reads the table's current contents, so the lookup join runs as the
// plain join it wraps.
func batchLookupJoin(x *plan.LookupJoin, c *expr.Compiler, read func() storage.Reader) (exec.Operator, error) {
	return batchJoin(x.Join, c, read)
}
