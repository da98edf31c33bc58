package lower

import (
	"fmt"
	"strings"

	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/storage"
)

// batchCompiler compiles scalars for the stream job's operators; a
// subquery in one is lowered with Batch, its scans reading through read.
func (sp *streamPlanner) batchCompiler(read func() storage.Reader) *expr.Compiler {
	st := &Statement{Read: read, Rewrite: sp.p.Rewrite}
	c := &expr.Compiler{}
	c.Rel = st.Batch
	return c
}

// relKind names a logical node the stream lowering has no operator for,
// in its refusal.
func relKind(r plan.Rel) string {
	switch x := r.(type) {
	case *plan.SetOp:
		name := x.Kind.String()
		if x.All {
			name += " all"
		}
		return name
	case *plan.TableFunction:
		return "FunctionScan"
	case *plan.VirtualScan:
		return "VirtualScan"
	case *plan.WorkTableScan:
		return "WorkTableScan"
	}
	if s, ok := r.(fmt.Stringer); ok {
		if f := strings.Fields(s.String()); len(f) > 0 {
			return f[0]
		}
	}
	return fmt.Sprintf("%T", r)
}
