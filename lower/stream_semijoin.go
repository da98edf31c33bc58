package lower

import (
	"streamsql/exec/stream"
	"streamsql/exec/stream/join"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Semi and anti joins, and joins without an equality condition, in views.
//
// The stream decorrelation (plan.StreamDecorrelate) turns IN, NOT IN,
// EXISTS, NOT EXISTS and scalar subqueries into joins; a query may also
// join on inequalities alone. A join with equality keys runs as the
// stream hash join (semi and anti joins output the left columns only,
// keyed by the left stream key); a join without keys runs as the nested
// loop join (join.NestedLoopJoinSpec), which EXPLAIN calls a
// DynamicFilter when its right side has at most one row, and a
// NestedLoopJoin, whose state keeps both inputs whole, otherwise.

// otherJoin plans the joins join leaves to this file: semi and anti
// joins, and joins without keys.
func (sp *streamPlanner) otherJoin(j *plan.Join) (*stream.Node, []int, error) {
	h := hashJoinOf(j)
	h.left, h.right = mergeProjects(h.left), mergeProjects(h.right)
	semi := j.Kind == plan.SemiJoin || j.Kind == plan.AntiJoin
	if !semi {
		n, m, err := sp.hashJoin(h, j.Kind)
		if err != nil {
			return nil, nil, err
		}
		n = sp.nestedLoop(n, j)
		if h.out == nil {
			return n, m, nil
		}
		return sp.project(n, m, h.out)
	}
	spec, left, right, m, _, err := sp.hashJoinSpec(h, j.Kind)
	if err != nil {
		return nil, nil, err
	}
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{left, right},
		Types: append([]types.T(nil), left.Types...), Names: append([]string(nil), left.Names...),
		StreamKey: append([]int(nil), left.StreamKey...), Watermarks: append([]int(nil), left.Watermarks...)}
	if sp.parallel {
		// As for the hash join: the routing keys join the stream key.
		n.StreamKey = appendMissing(n.StreamKey, spec.LeftKeys, 0)
	}
	// A semi join's row appears with its first match; matches of an
	// append-only right side never go away. An anti join's row goes
	// when a match comes.
	n.AppendOnly = j.Kind == plan.SemiJoin && left.AppendOnly && right.AppendOnly
	n.StateTables = []string{"left rows by join key, with their match counts", "right rows by join key"}
	n = sp.nestedLoop(n, j)
	// The join's columns are the left input's; key expressions the left
	// side gained (hashJoinOf) stay hidden.
	return n, m[:len(j.Left.OutputTypes())], nil
}

// nestedLoop turns the hash join node n of j into a nested loop join
// when j has no keys.
func (sp *streamPlanner) nestedLoop(n *stream.Node, j *plan.Join) *stream.Node {
	hs, ok := n.Spec.(*join.HashJoinSpec)
	if !ok || len(hs.LeftKeys) > 0 {
		return n
	}
	oneRow := plan.AtMostOneRow(j.Right)
	n.Spec = &join.NestedLoopJoinSpec{HashJoinSpec: *hs, OneRowRight: oneRow}
	n.StateTables = join.NestedLoopJoinStateTables(oneRow)
	return n
}

// subqueryRefusal is the error for a subquery the stream decorrelation
// left in an expression: which form it is, and what a view does maintain.
func subqueryRefusal(sq *plan.Subquery) error {
	var err *sqlerr.Error
	switch {
	case sq.Func != "":
		err = sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot yet maintain a call of SQL function %s: its body is a query that may return more than one row per call", sq.Func).
			WithHint("A view maintains a SQL function whose body is correlated with its arguments by equalities in WHERE and is an aggregate without GROUP BY, or fixes the primary key of the table it reads.")
	case sq.Kind == plan.ScalarSubquery && sq.Correlated:
		err = notIncremental("this correlated scalar subquery").(*sqlerr.Error).
			WithHint("A view maintains a correlated scalar subquery correlated by equalities in its WHERE: over an aggregate without GROUP BY, or fixing the primary key of the table it reads.")
	case sq.Kind == plan.ScalarSubquery:
		err = notIncremental("a scalar subquery that may return more than one row").(*sqlerr.Error).
			WithHint("A view maintains a scalar subquery that returns at most one row: an aggregate without GROUP BY.")
	case sq.Kind == plan.AllSubquery || (sq.Kind == plan.AnySubquery && (sq.Lefts != nil || sq.Op == nil || sq.Op.Name != "=")):
		err = notIncremental("this ALL or ANY (subquery)").(*sqlerr.Error).
			WithHint("A view maintains x op ALL|ANY (SELECT y ...) of one column correlated by equalities in the subquery's WHERE, and any such comparison that is a condition of WHERE joined with AND.")
	case sq.Kind == plan.ArraySubquery:
		err = notIncremental("ARRAY (subquery)").(*sqlerr.Error)
	default:
		err = notIncremental("this IN or EXISTS subquery").(*sqlerr.Error).
			WithHint("A view maintains IN, NOT IN, EXISTS and NOT EXISTS correlated in the subquery's WHERE (by equalities, unless the subquery is a condition of WHERE joined with AND), and IN over one column unless it is such a condition.")
	}
	return err
}
