package expr

import (
	"fmt"

	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Compiler turns logical scalar expressions (sql/plan) into evaluators.
// What a scalar cannot evaluate by itself comes from the compiler's
// hook: the operator a subquery runs.
type Compiler struct {
	// Rel lowers a subquery's relation into an operator. A relation that
	// is already an OperatorRel needs no hook.
	Rel func(plan.Rel) (exec.Operator, error)
}

// OperatorRel is a relation that is already an executable operator.
type OperatorRel struct{ Op exec.Operator }

// OutputTypes returns the operator's column types.
func (r OperatorRel) OutputTypes() []types.T { return r.Op.Types() }

// String names the operator, for plan trees.
func (r OperatorRel) String() string { return "executor " + r.Op.Explain() }

// Compile compiles one scalar expression (nil gives nil).
func (c *Compiler) Compile(s plan.Scalar) (Expr, error) {
	if s == nil {
		return nil, nil
	}
	switch x := s.(type) {
	case *plan.ColRef:
		return &ColRef{Idx: x.Idx, T: x.T, Name: x.Name}, nil
	case *plan.OuterRef:
		return &OuterRef{Depth: x.Depth, Idx: x.Idx, T: x.T, Name: x.Name}, nil
	case *plan.Const:
		return &Const{Value: x.Value, T: x.T}, nil
	case *plan.Param:
		return &Param{Idx: x.Idx, T: x.T}, nil
	case *plan.Cast:
		in, err := c.Compile(x.Input)
		if err != nil {
			return nil, err
		}
		return &Cast{Input: in, To: x.To, Assign: x.Assign}, nil
	case *plan.Call:
		args, err := c.CompileAll(x.Args)
		if err != nil {
			return nil, err
		}
		return &Call{Fn: x.Fn, Args: args, T: x.T}, nil
	case *plan.And:
		args, err := c.CompileAll(x.Args)
		if err != nil {
			return nil, err
		}
		return &And{Args: args}, nil
	case *plan.Or:
		args, err := c.CompileAll(x.Args)
		if err != nil {
			return nil, err
		}
		return &Or{Args: args}, nil
	case *plan.Not:
		in, err := c.Compile(x.Input)
		if err != nil {
			return nil, err
		}
		return &Not{Input: in}, nil
	case *plan.IsNull:
		in, err := c.Compile(x.Input)
		if err != nil {
			return nil, err
		}
		return &IsNull{Input: in, Negate: x.Negate}, nil
	case *plan.BoolTest:
		in, err := c.Compile(x.Input)
		if err != nil {
			return nil, err
		}
		return &BoolTest{Input: in, Want: x.Want, Negate: x.Negate}, nil
	case *plan.IsDistinct:
		lr, err := c.CompileAll([]plan.Scalar{x.Left, x.Right})
		if err != nil {
			return nil, err
		}
		return &IsDistinct{Left: lr[0], Right: lr[1], Negate: x.Negate}, nil
	case *plan.Case:
		ops, err := c.CompileAll([]plan.Scalar{x.Operand, x.Else})
		if err != nil {
			return nil, err
		}
		whens, err := c.CompileAll(x.Whens)
		if err != nil {
			return nil, err
		}
		thens, err := c.CompileAll(x.Thens)
		if err != nil {
			return nil, err
		}
		return &Case{Operand: ops[0], Eq: x.Eq, Whens: whens, Thens: thens, Else: ops[1], T: x.T}, nil
	case *plan.Coalesce:
		args, err := c.CompileAll(x.Args)
		if err != nil {
			return nil, err
		}
		return &Coalesce{Args: args, T: x.T}, nil
	case *plan.NullIf:
		lr, err := c.CompileAll([]plan.Scalar{x.Left, x.Right})
		if err != nil {
			return nil, err
		}
		return &NullIf{Left: lr[0], Right: lr[1], Eq: x.Eq, T: x.T}, nil
	case *plan.MinMax:
		args, err := c.CompileAll(x.Args)
		if err != nil {
			return nil, err
		}
		return &MinMax{Args: args, Least: x.Least, T: x.T}, nil
	case *plan.InList:
		in, err := c.Compile(x.Input)
		if err != nil {
			return nil, err
		}
		l, err := c.CompileAll(x.List)
		if err != nil {
			return nil, err
		}
		return &InList{Input: in, List: l, Eq: x.Eq, Negate: x.Negate}, nil
	case *plan.ArrayCompare:
		lr, err := c.CompileAll([]plan.Scalar{x.Left, x.Array})
		if err != nil {
			return nil, err
		}
		return &ArrayCompare{Left: lr[0], Array: lr[1], Op: x.Op, ElemT: x.ElemT, All: x.All}, nil
	case *plan.ArraySubscript:
		ai, err := c.CompileAll([]plan.Scalar{x.Array, x.Index})
		if err != nil {
			return nil, err
		}
		return &ArraySubscript{Array: ai[0], Index: ai[1], T: x.T}, nil
	case *plan.RecordField:
		in, err := c.Compile(x.Input)
		if err != nil {
			return nil, err
		}
		return &RecordField{Input: in, Idx: x.Idx, Name: x.Name, T: x.T}, nil
	case *plan.ArrayCtor:
		elems, err := c.CompileAll(x.Elems)
		if err != nil {
			return nil, err
		}
		return &ArrayCtor{Elems: elems, T: x.T}, nil
	case plan.ProcTime:
		return ProcTime{}, nil
	case *plan.Subquery:
		return c.subquery(x)
	case *Opaque:
		return x.Expr, nil
	}
	return nil, sqlerr.New(sqlerr.InternalError, "cannot compile expression %s (%T)", s.String(), s)
}

// CompileAll compiles a list of expressions (nil entries stay nil).
func (c *Compiler) CompileAll(ss []plan.Scalar) ([]Expr, error) {
	if ss == nil {
		return nil, nil
	}
	out := make([]Expr, len(ss))
	for i, s := range ss {
		e, err := c.Compile(s)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func (c *Compiler) subquery(x *plan.Subquery) (Expr, error) {
	var op exec.Operator
	switch r := x.Plan.(type) {
	case OperatorRel:
		op = r.Op
	default:
		if c.Rel == nil {
			return nil, fmt.Errorf("compile subquery: no lowering for %T", x.Plan)
		}
		var err error
		if op, err = c.Rel(x.Plan); err != nil {
			return nil, err
		}
	}
	left, err := c.Compile(x.Left)
	if err != nil {
		return nil, err
	}
	lefts, err := c.CompileAll(x.Lefts)
	if err != nil {
		return nil, err
	}
	return &Subquery{Kind: x.Kind, Plan: op, Correlated: x.Correlated, Left: left, Op: x.Op,
		Lefts: lefts, Ops: x.Ops, RowEqs: x.RowEqs, T: x.T, OuterTypes: x.OuterTypes}, nil
}
