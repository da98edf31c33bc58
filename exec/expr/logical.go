package expr

import (
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// Logical returns the logical form of a compiled expression: the inverse
// of Compile. EXPLAIN renders expressions through it, so that the batch,
// stream and logical plans print expressions the same way. An evaluator
// without a logical form (an operator's own) becomes an Opaque leaf.
func Logical(e Expr) plan.Scalar {
	all := func(es []Expr) []plan.Scalar {
		if es == nil {
			return nil
		}
		out := make([]plan.Scalar, len(es))
		for i, x := range es {
			out[i] = Logical(x)
		}
		return out
	}
	switch x := e.(type) {
	case nil:
		return nil
	case *ColRef:
		return &plan.ColRef{Idx: x.Idx, T: x.T, Name: x.Name}
	case *OuterRef:
		return &plan.OuterRef{Depth: x.Depth, Idx: x.Idx, T: x.T, Name: x.Name}
	case *Const:
		return &plan.Const{Value: x.Value, T: x.T}
	case *Param:
		return &plan.Param{Idx: x.Idx, T: x.T}
	case *Cast:
		return &plan.Cast{Input: Logical(x.Input), To: x.To, Assign: x.Assign}
	case *Call:
		return &plan.Call{Fn: x.Fn, Args: all(x.Args), T: x.T}
	case *And:
		return &plan.And{Args: all(x.Args)}
	case *Or:
		return &plan.Or{Args: all(x.Args)}
	case *Not:
		return &plan.Not{Input: Logical(x.Input)}
	case *IsNull:
		return &plan.IsNull{Input: Logical(x.Input), Negate: x.Negate}
	case *BoolTest:
		return &plan.BoolTest{Input: Logical(x.Input), Want: x.Want, Negate: x.Negate}
	case *IsDistinct:
		return &plan.IsDistinct{Left: Logical(x.Left), Right: Logical(x.Right), Negate: x.Negate}
	case *Case:
		return &plan.Case{Operand: Logical(x.Operand), Eq: x.Eq, Whens: all(x.Whens), Thens: all(x.Thens), Else: Logical(x.Else), T: x.T}
	case *Coalesce:
		return &plan.Coalesce{Args: all(x.Args), T: x.T}
	case *NullIf:
		return &plan.NullIf{Left: Logical(x.Left), Right: Logical(x.Right), Eq: x.Eq, T: x.T}
	case *MinMax:
		return &plan.MinMax{Args: all(x.Args), Least: x.Least, T: x.T}
	case *InList:
		return &plan.InList{Input: Logical(x.Input), List: all(x.List), Eq: x.Eq, Negate: x.Negate}
	case *ArrayCompare:
		return &plan.ArrayCompare{Left: Logical(x.Left), Array: Logical(x.Array), Op: x.Op, ElemT: x.ElemT, All: x.All}
	case *ArraySubscript:
		return &plan.ArraySubscript{Array: Logical(x.Array), Index: Logical(x.Index), T: x.T}
	case *RecordField:
		return &plan.RecordField{Input: Logical(x.Input), Idx: x.Idx, Name: x.Name, T: x.T}
	case *ArrayCtor:
		return &plan.ArrayCtor{Elems: all(x.Elems), T: x.T}
	case ProcTime:
		return plan.ProcTime{}
	case *Subquery:
		return &plan.Subquery{Kind: x.Kind, Plan: OperatorRel{Op: x.Plan}, Correlated: x.Correlated,
			Left: Logical(x.Left), Op: x.Op, Lefts: all(x.Lefts), Ops: x.Ops, RowEqs: x.RowEqs, T: x.T, OuterTypes: x.OuterTypes}
	}
	return &Opaque{Expr: e}
}

// Opaque is the logical stand-in for an evaluator that has no logical
// form of its own; it compiles back to that evaluator.
type Opaque struct {
	plan.Extension
	Expr Expr
}

func (o *Opaque) Type() types.T  { return o.Expr.Type() }
func (o *Opaque) String() string { return o.Expr.String() }
