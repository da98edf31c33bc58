package join

// NestedLoopJoin is the streaming join without equality keys: every row
// of one side is a candidate match of every row of the other, and the
// join condition decides. It runs as the hash join with an empty join
// key (all rows of a side in one bucket), so it has the hash join's
// output, retraction, degrees, state tables and recovery; a change on
// one side evaluates the condition against every stored row of the other
// side at once (vectorized, in ranges).
//
// Two shapes are planned, and EXPLAIN names them:
//
//   - DynamicFilter: the right side has at most one row (an aggregate
//     without GROUP BY: WHERE v > (SELECT max(v) FROM t2), a scalar
//     subquery, the count of an uncorrelated EXISTS). A left row costs
//     one evaluation; a change of the one row re-evaluates the stored
//     left rows. The state is the left rows and the one row.
//   - NestedLoopJoin: both sides may be large (a.ts BETWEEN b.lo AND
//     b.hi). A change on either side costs one evaluation per stored row
//     of the other, and both sides are kept whole: the state grows with
//     both inputs.
//
// A dynamic filter of a semi or anti join outputs the left rows alone, so
// a change of the one row that leaves a left row passing (or failing)
// must emit nothing for it: the join retracts and re-inserts every such
// row within one output chunk, and netChanges cancels those pairs, so
// that the view's changelog (and SUBSCRIBE) sees only the rows that
// entered or left.
//
// # State layout
//
// That of the hash join (hash_join.go) with an empty join key: each
// side's rows by stream key, so the two tables are the two inputs.

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// NestedLoopJoinSpec describes a join without equality keys; its
// HashJoinSpec has no keys.
type NestedLoopJoinSpec struct {
	HashJoinSpec
	// OneRowRight: the right input has at most one row (DynamicFilter).
	OneRowRight bool
}

// NestedLoopJoinStateTables describes the join's state tables for
// Node.StateTables.
func NestedLoopJoinStateTables(oneRow bool) []string {
	if oneRow {
		return []string{
			"left rows by stream key (removed on delete)",
			"the right side's one row",
		}
	}
	return []string{
		"left rows by stream key (removed on delete; unbounded: every left row is kept)",
		"right rows by stream key (removed on delete; unbounded: every right row is kept)",
	}
}

// Explain implements Spec.
func (s *NestedLoopJoinSpec) Explain() string {
	var sb strings.Builder
	if s.OneRowRight {
		sb.WriteString("DynamicFilter ")
	} else {
		sb.WriteString("NestedLoopJoin ")
	}
	sb.WriteString(s.Kind.String())
	if s.Residual != nil {
		sb.WriteString(" on ")
		sb.WriteString(s.Residual.String())
	}
	if s.OneRowRight {
		sb.WriteString(" against one row")
	}
	return sb.String()
}

// Build implements Spec: the hash join with no keys.
func (s *NestedLoopJoinSpec) Build(b *stream.BuildCtx, out stream.Output) (stream.Operator, error) {
	h := s.HashJoinSpec
	h.LeftKeys, h.RightKeys = nil, nil
	h.oneRowRight = s.OneRowRight
	if s.OneRowRight && (s.Kind == batch.SemiJoin || s.Kind == batch.AntiJoin) {
		out = stream.Output{Op: &netChanges{out: out, types: s.LeftTypes}}
	}
	return h.Build(b, out)
}

// netChanges passes chunks on with the changes that cancel out removed:
// a delete and an insert of the same row (equal in every column) in one
// chunk. Rows are unique (they carry their stream key), so what remains
// of a row is one insert, one delete or nothing.
type netChanges struct {
	out   stream.Output
	types []types.T
	keys  [][]byte
	net   map[string]int
	keep  []int
}

// Chunk implements Operator.
func (n *netChanges) Chunk(_ int, c *stream.Chunk) error {
	ins, del := false, false
	for _, op := range c.Ops {
		if op.IsInsert() {
			ins = true
		} else {
			del = true
		}
	}
	if !ins || !del {
		return n.out.Chunk(c)
	}
	n.keys = n.keys[:0]
	for range c.N {
		n.keys = append(n.keys, nil)
	}
	for j, a := range c.Cols {
		n.keys = types.AppendKeys(n.keys, a, n.types[j], false, false)
	}
	if n.net == nil {
		n.net = map[string]int{}
	}
	clear(n.net)
	for i, k := range n.keys {
		n.net[string(k)] += int(c.Ops[i].Sign())
	}
	n.keep = n.keep[:0]
	ops := make([]stream.Op, 0, c.N)
	for i, k := range n.keys {
		net := n.net[string(k)]
		if net == 0 || (net > 0) != c.Ops[i].IsInsert() {
			continue
		}
		// One change per row: the first of its sign.
		n.net[string(k)] = 0
		n.keep = append(n.keep, i)
		ops = append(ops, c.Ops[i])
	}
	if len(n.keep) == c.N {
		return n.out.Chunk(c)
	}
	// Updates whose halves did not both survive become a delete or an
	// insert.
	for j := range ops {
		switch ops[j] {
		case stream.UpdateDelete:
			if j+1 >= len(ops) || ops[j+1] != stream.UpdateInsert || n.keep[j+1] != n.keep[j]+1 {
				ops[j] = stream.Delete
			}
		case stream.UpdateInsert:
			if j == 0 || ops[j-1] != stream.UpdateDelete || n.keep[j-1] != n.keep[j]-1 {
				ops[j] = stream.Insert
			}
		}
	}
	cols := make([]arrow.Array, len(c.Cols))
	for j, a := range c.Cols {
		cols[j] = expr.TakeArray(a, n.keep)
	}
	c.Release()
	return n.out.Chunk(stream.NewChunk(cols, ops))
}

// Watermark implements Operator.
func (n *netChanges) Watermark(_ int, w stream.Watermark) error { return n.out.Watermark(w) }

// Barrier implements Operator.
func (n *netChanges) Barrier(b *stream.Barrier) error { return n.out.Barrier(b) }

// TakesIdleMarks: idle marks pass through or count (see stream.Output.Watermark).
func (n *netChanges) TakesIdleMarks() bool { return true }
