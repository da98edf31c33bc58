// Package expr evaluates scalar expressions over a batch, a column at a
// time. The planner binds names, types and overloads into logical scalar
// expressions (sql/plan); Compile turns those into the evaluators here.
// Every node knows its result type, and every argument already has the
// type its consumer expects (the binder inserts Cast nodes). Operators and
// tests may also build evaluators directly.
package expr

import (
	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// Expr is a typed scalar expression.
type Expr interface {
	Type() types.T
	// Eval returns a column of b.N values. The caller releases it.
	Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error)
	String() string
}

// ColRef is column Idx of the input batch.
type ColRef plan.ColRef

// OuterRef is column Idx of an enclosing query's current row: Depth 1 is
// the innermost enclosing query (ctx.Outer[len-1]), 2 the next, ...
type OuterRef plan.OuterRef

// Const is a constant (Value nil for NULL).
type Const plan.Const

// Param is the statement parameter $(Idx+1).
type Param plan.Param

// Cast converts Input to type To with PostgreSQL's cast semantics
// (explicit casts; errors 22P02, 22003, ...). Assign makes it a cast for
// assignment: a value too long for varchar(n) or char(n) is an error
// (22001), not truncated.
type Cast plan.CastNode[Expr]

// Call applies a scalar function or operator overload to Args.
type Call plan.CallNode[Expr]

// And is an n-ary conjunction with SQL three-valued logic.
type And plan.AndNode[Expr]

// Or is an n-ary disjunction with SQL three-valued logic.
type Or plan.OrNode[Expr]

// Not is boolean negation (NULL stays NULL).
type Not plan.NotNode[Expr]

// IsNull is "Input IS NULL" (or IS NOT NULL when Negate). For a row
// value PostgreSQL's rules apply, but inputs here are scalars.
type IsNull plan.IsNullNode[Expr]

// BoolTest is "Input IS [NOT] TRUE|FALSE|UNKNOWN".
type BoolTest plan.BoolTestNode[Expr]

// IsDistinct is "Left IS [NOT] DISTINCT FROM Right" (same-typed inputs).
type IsDistinct plan.IsDistinctNode[Expr]

// Case is CASE [Operand] WHEN Whens[i] THEN Thens[i] ... ELSE Else END.
// With an Operand, Whens are values compared with Eq (one "=" overload
// per WHEN, resolved by the planner); without, Whens are booleans. Else
// nil means NULL. Branches not taken for a row must not raise errors for
// that row (CASE WHEN x = 0 THEN 0 ELSE 1/x END).
type Case plan.CaseNode[Expr]

// Coalesce returns the first non-NULL argument, lazily per row.
type Coalesce plan.CoalesceNode[Expr]

// NullIf is NULLIF(Left, Right): NULL when Eq(Left, Right) is true.
type NullIf plan.NullIfNode[Expr]

// MinMax is GREATEST (Least false) or LEAST over same-typed Args; NULLs
// are ignored, NULL only when all are NULL.
type MinMax plan.MinMaxNode[Expr]

// InList is "Input [NOT] IN (List...)": Eq is the "=" overload between
// Input's type and the list's (common) type. SQL NULL semantics: no match
// and any NULL gives NULL.
type InList plan.InListNode[Expr]

// Subquery runs Plan, once per statement if not Correlated, otherwise once
// per input row with that row pushed on ctx.Outer (the plan's OuterRefs of
// depth 1 read it). For ANY/ALL, Left is compared with the plan's single
// column using Op (a boolean operator overload), with SQL NULL semantics.
type Subquery plan.SubqueryNode[Expr, exec.Operator]

// ArrayCompare is "Left Op ANY (Array)" or, with All, "Left Op ALL
// (Array)" for an array-valued expression (a column, a parameter, a
// subquery). Op is the boolean operator overload between Left's type and
// ElemT, the type the elements are converted to. SQL semantics: ANY is
// true when some comparison is true, NULL when none is but one is NULL,
// false otherwise (so false over an empty array); ALL is the dual.
type ArrayCompare plan.ArrayCompareNode[Expr]

// ArraySubscript is Array[Index]: the element converted to T, NULL when
// the index is NULL or outside the array.
type ArraySubscript plan.ArraySubscriptNode[Expr]

// RecordField is (Input).Name: field Idx of a record value (text form),
// converted to T.
type RecordField plan.RecordFieldNode[Expr]

// ArrayCtor is ARRAY[Elems...] in array text form ({1,2,NULL}); T is the
// array type.
type ArrayCtor plan.ArrayCtorNode[Expr]
