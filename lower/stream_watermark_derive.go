package lower

import (
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// Watermarks through expressions. A projection passes a column's
// watermark on to an output column that copies it, and also to one whose
// expression never decreases as that one column grows: if every later row
// has ts >= W, then every later row has f(ts) >= f(W). monotoneIn
// recognises such expressions of one column (the rest constants):
//
//   - x + c, c + x and x - c for a constant c (timestamps and intervals,
//     dates and days, numbers);
//   - date_trunc('unit', x);
//   - casts that keep order: integer to a wider integer, numeric or
//     float8; date to timestamp or timestamptz; timestamp to timestamp and
//     timestamptz to timestamptz (precision); and compositions of these.
//
// Conversions between timestamp and timestamptz are left out: around a
// daylight saving change the session's time zone can reorder local times.

// monotoneIn returns the input column e is monotonically non-decreasing
// in, when it is one of the forms above of exactly one column.
func monotoneIn(e plan.Scalar) (int, bool) {
	switch x := e.(type) {
	case *plan.ColRef:
		return x.Idx, true
	case *plan.Call:
		if x.Fn == nil {
			return 0, false
		}
		switch x.Fn.Name {
		case "+":
			if len(x.Args) != 2 {
				return 0, false
			}
			if isConst(x.Args[1]) {
				return monotoneIn(x.Args[0])
			}
			if isConst(x.Args[0]) {
				return monotoneIn(x.Args[1])
			}
		case "-":
			if len(x.Args) == 2 && isConst(x.Args[1]) {
				return monotoneIn(x.Args[0])
			}
		case "date_trunc":
			if len(x.Args) == 2 && isConst(x.Args[0]) {
				return monotoneIn(x.Args[1])
			}
		}
	case *plan.Cast:
		if orderPreservingCast(x.Input.Type(), x.To) {
			return monotoneIn(x.Input)
		}
	}
	return 0, false
}

func isConst(e plan.Scalar) bool {
	c, ok := e.(*plan.Const)
	return ok && c.Value != nil
}

// orderPreservingCast reports whether a cast from one type to the other
// keeps the order of values (ties allowed).
func orderPreservingCast(from, to types.T) bool {
	ints := func(k types.Kind) int {
		switch k {
		case types.Int2:
			return 1
		case types.Int4:
			return 2
		case types.Int8:
			return 3
		}
		return 0
	}
	switch {
	case ints(from.Kind) > 0 && ints(to.Kind) >= ints(from.Kind):
		return true
	case ints(from.Kind) > 0 && (to.Kind == types.Numeric && to.Precision == 0 || to.Kind == types.Float8):
		return true
	case from.Kind == types.DateKind && (to.Kind == types.TimestampKind || to.Kind == types.TimestampTZ):
		return true
	case from.Kind == types.TimestampKind && to.Kind == types.TimestampKind,
		from.Kind == types.TimestampTZ && to.Kind == types.TimestampTZ:
		return true
	}
	return false
}
