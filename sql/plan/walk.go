package plan

import (
	"fmt"
	"strings"

	"streamsql/udf"
)

// Rewrite rebuilds e bottom-up, replacing any node for which f returns
// (replacement, true). Subquery plans are not entered.
func Rewrite(e Scalar, f func(Scalar) (Scalar, bool)) Scalar {
	if e == nil {
		return nil
	}
	if r, ok := f(e); ok {
		return r
	}
	all := func(es []Scalar) []Scalar {
		out := make([]Scalar, len(es))
		for i, x := range es {
			out[i] = Rewrite(x, f)
		}
		return out
	}
	switch x := e.(type) {
	case *Cast:
		return &Cast{Input: Rewrite(x.Input, f), To: x.To, Assign: x.Assign}
	case *Call:
		return &Call{Fn: x.Fn, Args: all(x.Args), T: x.T}
	case *And:
		return &And{Args: all(x.Args)}
	case *Or:
		return &Or{Args: all(x.Args)}
	case *Not:
		return &Not{Input: Rewrite(x.Input, f)}
	case *IsNull:
		return &IsNull{Input: Rewrite(x.Input, f), Negate: x.Negate}
	case *BoolTest:
		return &BoolTest{Input: Rewrite(x.Input, f), Want: x.Want, Negate: x.Negate}
	case *IsDistinct:
		return &IsDistinct{Left: Rewrite(x.Left, f), Right: Rewrite(x.Right, f), Negate: x.Negate}
	case *Case:
		return &Case{Operand: Rewrite(x.Operand, f), Eq: x.Eq, Whens: all(x.Whens), Thens: all(x.Thens), Else: Rewrite(x.Else, f), T: x.T}
	case *Coalesce:
		return &Coalesce{Args: all(x.Args), T: x.T}
	case *NullIf:
		return &NullIf{Left: Rewrite(x.Left, f), Right: Rewrite(x.Right, f), Eq: x.Eq, T: x.T}
	case *MinMax:
		return &MinMax{Args: all(x.Args), Least: x.Least, T: x.T}
	case *InList:
		return &InList{Input: Rewrite(x.Input, f), List: all(x.List), Eq: x.Eq, Negate: x.Negate}
	case *Subquery:
		c := *x
		c.Left = Rewrite(x.Left, f)
		if x.Lefts != nil {
			c.Lefts = all(x.Lefts)
		}
		return &c
	case *ArrayCompare:
		c := *x
		c.Left, c.Array = Rewrite(x.Left, f), Rewrite(x.Array, f)
		return &c
	case *ArraySubscript:
		return &ArraySubscript{Array: Rewrite(x.Array, f), Index: Rewrite(x.Index, f), T: x.T}
	case *RecordField:
		return &RecordField{Input: Rewrite(x.Input, f), Idx: x.Idx, Name: x.Name, T: x.T}
	case *ArrayCtor:
		return &ArrayCtor{Elems: all(x.Elems), T: x.T}
	}
	return e
}

// Visit calls f on every node of e (not entering subquery plans).
func Visit(e Scalar, f func(Scalar)) {
	Rewrite(e, func(x Scalar) (Scalar, bool) {
		f(x)
		return nil, false
	})
}

// ColRefs lists the input columns e reads. pushable is false when e must
// stay where it was bound: it holds a subquery, an outer reference or a
// volatile function.
func ColRefs(e Scalar) (refs []int, pushable bool) {
	pushable = true
	Visit(e, func(x Scalar) {
		switch n := x.(type) {
		case *ColRef:
			refs = append(refs, n.Idx)
		case *Subquery, *OuterRef, ProcTime:
			pushable = false
		case *Call:
			if n.Fn.Volatility == udf.Volatile {
				pushable = false
			}
		}
	})
	return refs, pushable
}

// ShiftCols moves every column reference of e by delta.
func ShiftCols(e Scalar, delta int) Scalar {
	return Rewrite(e, func(x Scalar) (Scalar, bool) {
		if c, ok := x.(*ColRef); ok {
			return &ColRef{Idx: c.Idx + delta, T: c.T, Name: c.Name}, true
		}
		return nil, false
	})
}

// Key is a structural identity of a bound expression, used to match
// GROUP BY and ORDER BY expressions with select-list expressions. Two
// volatile expressions (nextval, a subquery) are never the same.
func Key(e Scalar) string {
	var sb strings.Builder
	writeKey(&sb, e)
	return sb.String()
}

func writeKey(sb *strings.Builder, e Scalar) {
	args := func(es ...Scalar) {
		sb.WriteByte('(')
		for i, x := range es {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeKey(sb, x)
		}
		sb.WriteByte(')')
	}
	switch x := e.(type) {
	case nil:
		sb.WriteString("nil")
	case *ColRef:
		fmt.Fprintf(sb, "#%d", x.Idx)
	case *OuterRef:
		fmt.Fprintf(sb, "outer%d.%d", x.Depth, x.Idx)
	case *Const:
		fmt.Fprintf(sb, "const[%s:%v]", x.T, x.Value)
	case *Param:
		fmt.Fprintf(sb, "$%d", x.Idx)
	case *Cast:
		fmt.Fprintf(sb, "cast[%s,%v]", x.To, x.Assign)
		args(x.Input)
	case *Call:
		fmt.Fprintf(sb, "call[%s/%p]", x.Fn.Name, x.Fn)
		args(x.Args...)
	case *And:
		sb.WriteString("and")
		args(x.Args...)
	case *Or:
		sb.WriteString("or")
		args(x.Args...)
	case *Not:
		sb.WriteString("not")
		args(x.Input)
	case *IsNull:
		fmt.Fprintf(sb, "isnull[%v]", x.Negate)
		args(x.Input)
	case *BoolTest:
		fmt.Fprintf(sb, "booltest[%v,%v]", x.Want != nil && *x.Want, x.Negate)
		args(x.Input)
	case *IsDistinct:
		fmt.Fprintf(sb, "distinct[%v]", x.Negate)
		args(x.Left, x.Right)
	case *Case:
		sb.WriteString("case")
		args(x.Operand, x.Else)
		args(x.Whens...)
		args(x.Thens...)
	case *Coalesce:
		sb.WriteString("coalesce")
		args(x.Args...)
	case *NullIf:
		sb.WriteString("nullif")
		args(x.Left, x.Right)
	case *MinMax:
		fmt.Fprintf(sb, "minmax[%v]", x.Least)
		args(x.Args...)
	case *InList:
		fmt.Fprintf(sb, "in[%v]", x.Negate)
		args(x.Input)
		args(x.List...)
	case *ArrayCompare:
		fmt.Fprintf(sb, "arraycmp[%s/%p,%v]", x.Op.Name, x.Op, x.All)
		args(x.Left, x.Array)
	case *ArraySubscript:
		sb.WriteString("subscript")
		args(x.Array, x.Index)
	case *RecordField:
		fmt.Fprintf(sb, "field[%d]", x.Idx)
		args(x.Input)
	case *ArrayCtor:
		fmt.Fprintf(sb, "array[%s]", x.T)
		args(x.Elems...)
	default:
		fmt.Fprintf(sb, "%p", e)
	}
}
