package plan

import (
	"streamsql/sql/types"
	"streamsql/udf"
)

// The fields of the scalar nodes that have operands, generic in the type
// of the operand: the logical nodes of this package are these shapes over
// Scalar (type Cast CastNode[Scalar]), and the evaluators of exec/expr
// the same shapes over their own expression type, so that a node's fields
// are declared once and a compiled node mirrors its logical one. The
// node types document what each node computes.

// CastNode is the shape of Cast.
type CastNode[E any] struct {
	Input  E
	To     types.T
	Assign bool
}

// CallNode is the shape of Call.
type CallNode[E any] struct {
	Fn   *udf.Scalar
	Args []E
	T    types.T // Fn.ResultType(arg types)
}

// AndNode is the shape of And.
type AndNode[E any] struct{ Args []E }

// OrNode is the shape of Or.
type OrNode[E any] struct{ Args []E }

// NotNode is the shape of Not.
type NotNode[E any] struct{ Input E }

// IsNullNode is the shape of IsNull.
type IsNullNode[E any] struct {
	Input  E
	Negate bool
}

// BoolTestNode is the shape of BoolTest.
type BoolTestNode[E any] struct {
	Input  E
	Want   *bool // nil = UNKNOWN
	Negate bool
}

// IsDistinctNode is the shape of IsDistinct.
type IsDistinctNode[E any] struct {
	Left, Right E
	Negate      bool // IS NOT DISTINCT FROM
}

// CaseNode is the shape of Case.
type CaseNode[E any] struct {
	Operand E
	Eq      []*udf.Scalar
	Whens   []E
	Thens   []E
	Else    E
	T       types.T
}

// CoalesceNode is the shape of Coalesce.
type CoalesceNode[E any] struct {
	Args []E
	T    types.T
}

// NullIfNode is the shape of NullIf.
type NullIfNode[E any] struct {
	Left, Right E
	Eq          *udf.Scalar
	T           types.T
}

// MinMaxNode is the shape of MinMax.
type MinMaxNode[E any] struct {
	Args  []E
	Least bool
	T     types.T
}

// InListNode is the shape of InList.
type InListNode[E any] struct {
	Input  E
	List   []E
	Eq     *udf.Scalar
	Negate bool
}

// ArrayCompareNode is the shape of ArrayCompare.
type ArrayCompareNode[E any] struct {
	Left  E
	Array E
	Op    *udf.Scalar
	ElemT types.T
	All   bool
}

// ArraySubscriptNode is the shape of ArraySubscript.
type ArraySubscriptNode[E any] struct {
	Array E
	Index E
	T     types.T
}

// RecordFieldNode is the shape of RecordField.
type RecordFieldNode[E any] struct {
	Input E
	Idx   int
	Name  string
	T     types.T
}

// ArrayCtorNode is the shape of ArrayCtor.
type ArrayCtorNode[E any] struct {
	Elems []E
	T     types.T
}

// SubqueryNode is the shape of Subquery.
type SubqueryNode[E, R any] struct {
	Kind       SubqueryKind
	Plan       R
	Correlated bool
	Left       E
	Op         *udf.Scalar
	Lefts      []E
	Ops        []*udf.Scalar
	// RowEqs, set for an ordering (a, b) < ANY|ALL (...), are the
	// equalities of the columns: the rows compare left to right, Ops[k]
	// (strict but for the last column) deciding at the first column
	// that is not equal.
	RowEqs []*udf.Scalar
	T      types.T
	// OuterTypes are the column types of the row the subquery is
	// evaluated for (the outer row of its OuterRefs).
	OuterTypes []types.T
	// Func is the signature of the SQL function whose query body this
	// subquery is, for messages ("" for a subquery written as such).
	Func string
}
