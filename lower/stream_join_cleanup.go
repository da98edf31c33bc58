package lower

// Watermark cleanup rules of streaming joins (exec/stream/join/join_cleanup.go).
//
// A conjunct "A.x >= B.y + c" (or ">", or the mirrored "<=", "<"; BETWEEN
// is two of them) between a column of one side and a column of the other
// that carries a watermark bounds A.x from below for every future B row,
// so A rows under wm(B.y) + c can go. An equi-join key pair of time
// columns (window joins on window_start) gives the rule in both
// directions. Rules are derived from the ON condition for every join kind
// and from a WHERE filter directly above an inner join; the condition
// still evaluates as before: the rules only free state.

import (
	"slices"

	"streamsql/exec/stream"
	"streamsql/exec/stream/join"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// joinCleanupKeys adds the rules of n's equi-join key pairs.
func joinCleanupKeys(n *stream.Node) {
	spec, ok := n.Spec.(*join.HashJoinSpec)
	if !ok || len(n.Inputs) != 2 {
		return
	}
	for i := range spec.LeftKeys {
		lc, rc := spec.LeftKeys[i], spec.RightKeys[i]
		addJoinCleanup(n, spec, 0, lc, rc, 0, false)
		addJoinCleanup(n, spec, 1, rc, lc, 0, false)
	}
}

// joinCleanupCond adds the rules of cond, an expression over n's output
// (left columns, then right).
func joinCleanupCond(n *stream.Node, cond plan.Scalar) {
	spec, ok := n.Spec.(*join.HashJoinSpec)
	if !ok || len(n.Inputs) != 2 || cond == nil {
		return
	}
	nl := len(spec.LeftTypes)
	for _, c := range plan.SplitAnd(cond, nil) {
		call, ok := c.(*plan.Call)
		if !ok || len(call.Args) != 2 {
			continue
		}
		// Normalize to hi >= lo (or hi > lo).
		var hi, lo plan.Scalar
		strict := false
		switch call.Fn.Name {
		case ">=", ">":
			hi, lo, strict = call.Args[0], call.Args[1], call.Fn.Name == ">"
		case "<=", "<":
			hi, lo, strict = call.Args[1], call.Args[0], call.Fn.Name == "<"
		default:
			continue
		}
		hc, hoff, ok1 := cleanupOperand(hi)
		lc, loff, ok2 := cleanupOperand(lo)
		if !ok1 || !ok2 || (hc < nl) == (lc < nl) {
			continue
		}
		// hc + hoff >= lc + loff: hc >= lc + (loff - hoff).
		off := loff - hoff
		if hc < nl {
			addJoinCleanup(n, spec, 0, hc, lc-nl, off, strict)
		} else {
			addJoinCleanup(n, spec, 1, hc-nl, lc, off, strict)
		}
	}
}

// cleanupOperand reads e as column + constant offset, the offset in the
// column's unit. Offsets that are not a fixed amount of the unit (months,
// days of a timestamptz) give no rule.
func cleanupOperand(e plan.Scalar) (col int, off int64, ok bool) {
	switch x := e.(type) {
	case *plan.ColRef:
		return x.Idx, 0, join.JoinCleanupType(x.T)
	case *plan.Call:
		if len(x.Args) != 2 || (x.Fn.Name != "+" && x.Fn.Name != "-") {
			return 0, 0, false
		}
		ref, k := x.Args[0], x.Args[1]
		if _, isConst := ref.(*plan.Const); isConst && x.Fn.Name == "+" {
			ref, k = k, ref
		}
		c, ok1 := ref.(*plan.ColRef)
		kc, ok2 := k.(*plan.Const)
		if !ok1 || !ok2 || kc.Value == nil || !join.JoinCleanupType(c.T) || !sameCleanupUnit(c.T, x.T) {
			return 0, 0, false
		}
		var v int64
		switch d := kc.Value.(type) {
		case int64:
			v = d
		case int32:
			v = int64(d)
		case types.IntervalValue:
			if d.Months != 0 || (d.Days != 0 && c.T.Kind != types.TimestampKind) {
				return 0, 0, false
			}
			v = int64(d.Days)*86_400_000_000 + d.Micros
		default:
			return 0, 0, false
		}
		if c.T.Kind == types.DateKind && kc.T.Kind == types.Interval {
			return 0, 0, false
		}
		if x.Fn.Name == "-" {
			v = -v
		}
		return c.Idx, v, true
	}
	return 0, 0, false
}

// sameCleanupUnit reports whether values of a and b compare as the same
// integers (timestamps with timestamps, dates with dates, integers with
// integers).
func sameCleanupUnit(a, b types.T) bool {
	isInt := func(k types.Kind) bool { return k == types.Int2 || k == types.Int4 || k == types.Int8 }
	return a.Kind == b.Kind || isInt(a.Kind) && isInt(b.Kind)
}

// addJoinCleanup adds the rule "side's col >= other side's wmCol + off"
// when the other side has a watermark on wmCol, the side is append-only
// (or, in an inner join, has a watermark of its own on col: an Own rule)
// and the other side's rows carry no match degrees (see
// HashJoinSpec.LeftCleanup).
func addJoinCleanup(n *stream.Node, spec *join.HashJoinSpec, side, col, wmCol int, off int64, strict bool) {
	in, other := n.Inputs[side], n.Inputs[1-side]
	if col < 0 || col >= len(in.Types) || wmCol < 0 || wmCol >= len(other.Types) {
		return
	}
	own := !in.AppendOnly
	if own && (spec.Kind != plan.InnerJoin || !slices.Contains(in.Watermarks, col)) {
		return
	}
	if !slices.Contains(other.Watermarks, wmCol) ||
		!join.JoinCleanupType(in.Types[col]) || !sameCleanupUnit(in.Types[col], other.Types[wmCol]) {
		return
	}
	// The other side's rows carry degrees when they are preserved.
	switch spec.Kind {
	case plan.InnerJoin:
	case plan.LeftJoin:
		if side != 0 {
			return
		}
	case plan.RightJoin:
		if side != 1 {
			return
		}
	default:
		return
	}
	rules := &spec.LeftCleanup
	if side == 1 {
		rules = &spec.RightCleanup
	}
	r := join.JoinCleanup{Col: col, OtherWMCol: wmCol, Offset: off, Strict: strict, Own: own}
	if !slices.Contains(*rules, r) {
		*rules = append(*rules, r)
	}
}

// joinCleanupStates says in EXPLAIN which state tables are cleaned.
func joinCleanupStates(n *stream.Node) {
	spec, ok := n.Spec.(*join.HashJoinSpec)
	if !ok || len(n.StateTables) != 2 {
		return
	}
	if len(spec.LeftCleanup) > 0 {
		n.StateTables[0] = "left rows by join key (cleaned by the right watermark)"
	}
	if len(spec.RightCleanup) > 0 {
		n.StateTables[1] = "right rows by join key (cleaned by the left watermark)"
	}
}

// joinWatermarks derives the output watermarks of an interval join from
// its cleanup rules: a rule "A.x >= B.y + c" of a join over append-only
// inputs bounds every future output row's A.x by wm(B.y) + c, so the
// output watermark of A.x is min(wm(A.x), wm(B.y) + c)
// (exec/stream/join/join_watermark.go). The columns such a rule reads
// are no longer forwarded as they are: a stored row can still produce
// output below its own side's watermark.
func joinWatermarks(n *stream.Node) {
	spec, ok := n.Spec.(*join.HashJoinSpec)
	if !ok || len(n.Inputs) != 2 || !n.Inputs[0].AppendOnly || !n.Inputs[1].AppendOnly {
		return
	}
	nl := len(spec.LeftTypes)
	fwd := [2]bool{spec.Kind == plan.InnerJoin || spec.Kind == plan.LeftJoin || spec.Kind == plan.FullJoin,
		spec.Kind == plan.InnerJoin || spec.Kind == plan.RightJoin || spec.Kind == plan.FullJoin}
	spec.Watermarks = nil
	for side, rules := range [2][]join.JoinCleanup{spec.LeftCleanup, spec.RightCleanup} {
		if !fwd[side] {
			continue
		}
		for _, r := range rules {
			if !slices.Contains(n.Inputs[side].Watermarks, r.Col) {
				continue
			}
			spec.Watermarks = append(spec.Watermarks, join.JoinWatermark{Side: side, Col: r.Col, OtherCol: r.OtherWMCol,
				Offset: r.Offset, T: n.Inputs[side].Types[r.Col]})
		}
	}
	if len(spec.Watermarks) == 0 {
		return
	}
	// The output watermarks: each side's own (hashJoin), less the
	// columns the rules read, plus the derived ones.
	var wms []int
	for side := range 2 {
		off := 0
		if side == 1 {
			off = nl
		}
		for _, c := range n.Inputs[side].Watermarks {
			own, read := false, false
			for _, r := range spec.Watermarks {
				own = own || (r.Side == side && r.Col == c)
				read = read || (r.Side != side && r.OtherCol == c)
			}
			if own || (fwd[side] && !read) {
				wms = append(wms, c+off)
			}
		}
	}
	n.Watermarks = wms
}
