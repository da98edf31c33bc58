package plan

import (
	"fmt"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// LookupJoin is a processing-time lookup join (JOIN t FOR SYSTEM_TIME AS
// OF PROCTIME() ON ...): each left row is joined with the row of Table
// whose primary key Keys give. A query run once reads the table's current
// contents, so in a batch plan it is Join, a plain join of the left side
// and a scan of the table; a materialized view looks each row up as it is
// processed, and later changes of the table do not revise emitted rows.
type LookupJoin struct {
	Join  *Join
	Table *catalog.Relation
	// Keys[i], over the left columns, gives the i-th primary key column.
	Keys []Scalar
	// RightCols are the table's physical columns after the left ones.
	RightCols []int
	// Residual is the rest of the ON condition, over the left columns
	// then the right ones.
	Residual Scalar
}

// OutputTypes returns the left columns' types, then the table columns'.
func (l *LookupJoin) OutputTypes() []types.T { return l.Join.OutputTypes() }

// String renders the join for plan trees: "lookup join inner t key #0,
// #2 filter ...".
func (l *LookupJoin) String() string {
	s := fmt.Sprintf("lookup join %s %s key %s", l.Join.Kind, l.Table.Name, list(l.Keys))
	if l.Residual != nil {
		s += " filter " + l.Residual.String()
	}
	return s
}
