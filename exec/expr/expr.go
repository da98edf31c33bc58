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
	"streamsql/udf"
)

// Expr is a typed scalar expression.
type Expr interface {
	Type() types.T
	// Eval returns a column of b.N values. The caller releases it.
	Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error)
	String() string
}

// ColRef is column Idx of the input batch.
type ColRef struct {
	Idx  int
	T    types.T
	Name string // for EXPLAIN only
}

// OuterRef is column Idx of an enclosing query's current row: Depth 1 is
// the innermost enclosing query (ctx.Outer[len-1]), 2 the next, ...
type OuterRef struct {
	Depth int
	Idx   int
	T     types.T
	Name  string
}

// Const is a constant (Value nil for NULL).
type Const struct {
	Value types.Datum
	T     types.T
}

// Param is the statement parameter $(Idx+1).
type Param struct {
	Idx int
	T   types.T
}

// Cast converts Input to type To with PostgreSQL's cast semantics
// (explicit casts; errors 22P02, 22003, ...). Assign makes it a cast for
// assignment: a value too long for varchar(n) or char(n) is an error
// (22001), not truncated.
type Cast struct {
	Input  Expr
	To     types.T
	Assign bool
}

// Call applies a scalar function or operator overload to Args.
type Call struct {
	Fn   *udf.Scalar
	Args []Expr
	T    types.T // Fn.ResultType(arg types)
}

// And, Or are n-ary boolean connectives with SQL three-valued logic.
type And struct{ Args []Expr }
type Or struct{ Args []Expr }

// Not is boolean negation (NULL stays NULL).
type Not struct{ Input Expr }

// IsNull is "Input IS NULL" (or IS NOT NULL when Negate). For a row
// value PostgreSQL's rules apply, but inputs here are scalars.
type IsNull struct {
	Input  Expr
	Negate bool
}

// BoolTest is "Input IS [NOT] TRUE|FALSE|UNKNOWN".
type BoolTest struct {
	Input  Expr
	Want   *bool // nil = UNKNOWN
	Negate bool
}

// IsDistinct is "Left IS [NOT] DISTINCT FROM Right" (same-typed inputs).
type IsDistinct struct {
	Left, Right Expr
	Negate      bool // IS NOT DISTINCT FROM
}

// Case is CASE [Operand] WHEN Whens[i] THEN Thens[i] ... ELSE Else END.
// With an Operand, Whens are values compared with Eq (one "=" overload
// per WHEN, resolved by the planner); without, Whens are booleans. Else
// nil means NULL. Branches not taken for a row must not raise errors for
// that row (CASE WHEN x = 0 THEN 0 ELSE 1/x END).
type Case struct {
	Operand Expr
	Eq      []*udf.Scalar
	Whens   []Expr
	Thens   []Expr
	Else    Expr
	T       types.T
}

// Coalesce returns the first non-NULL argument, lazily per row.
type Coalesce struct {
	Args []Expr
	T    types.T
}

// NullIf is NULLIF(Left, Right): NULL when Eq(Left, Right) is true.
type NullIf struct {
	Left, Right Expr
	Eq          *udf.Scalar
	T           types.T
}

// MinMax is GREATEST (Least false) or LEAST over same-typed Args; NULLs
// are ignored, NULL only when all are NULL.
type MinMax struct {
	Args  []Expr
	Least bool
	T     types.T
}

// InList is "Input [NOT] IN (List...)": Eq is the "=" overload between
// Input's type and the list's (common) type. SQL NULL semantics: no match
// and any NULL gives NULL.
type InList struct {
	Input  Expr
	List   []Expr
	Eq     *udf.Scalar
	Negate bool
}

// SubqueryKind says what a subquery expression computes (plan.SubqueryKind).
type SubqueryKind = plan.SubqueryKind

const (
	ScalarSubquery = plan.ScalarSubquery
	ExistsSubquery = plan.ExistsSubquery
	AnySubquery    = plan.AnySubquery
	AllSubquery    = plan.AllSubquery
	ArraySubquery  = plan.ArraySubquery
)

// Subquery runs Plan, once per statement if not Correlated, otherwise once
// per input row with that row pushed on ctx.Outer (the plan's OuterRefs of
// depth 1 read it). For ANY/ALL, Left is compared with the plan's single
// column using Op (a boolean operator overload), with SQL NULL semantics.
type Subquery struct {
	Kind       SubqueryKind
	Plan       exec.Operator
	Correlated bool
	Left       Expr
	Op         *udf.Scalar
	// Lefts and Ops, when set, make ANY/ALL a row comparison: (Lefts...)
	// against each row of the plan's columns, Ops[k] comparing column k
	// (row_subquery.go); Left and Op are then unused.
	Lefts []Expr
	Ops   []*udf.Scalar
	T     types.T
	// OuterTypes are the input batch's column types (for ctx.Outer).
	OuterTypes []types.T
}

func (e *ColRef) Type() types.T     { return e.T }
func (e *OuterRef) Type() types.T   { return e.T }
func (e *Const) Type() types.T      { return e.T }
func (e *Param) Type() types.T      { return e.T }
func (e *Cast) Type() types.T       { return e.To }
func (e *Call) Type() types.T       { return e.T }
func (e *And) Type() types.T        { return types.TBool }
func (e *Or) Type() types.T         { return types.TBool }
func (e *Not) Type() types.T        { return types.TBool }
func (e *IsNull) Type() types.T     { return types.TBool }
func (e *BoolTest) Type() types.T   { return types.TBool }
func (e *IsDistinct) Type() types.T { return types.TBool }
func (e *Case) Type() types.T       { return e.T }
func (e *Coalesce) Type() types.T   { return e.T }
func (e *NullIf) Type() types.T     { return e.T }
func (e *MinMax) Type() types.T     { return e.T }
func (e *InList) Type() types.T     { return types.TBool }
func (e *Subquery) Type() types.T {
	switch e.Kind {
	case ExistsSubquery, AnySubquery, AllSubquery:
		return types.TBool
	}
	return e.T
}
