// Package plan holds the logical plan: what a statement computes, bound
// and typed, but not yet how. The planner (sql/planner) builds it from the
// AST; rewrites run on it; the lowerings turn it into batch executors and
// stream jobs (exec/expr compiles its scalar expressions).
//
// Scalar expressions are plain data here: every node knows its result
// type, and every argument already has the type its consumer expects (the
// binder inserts Cast nodes). Nothing in this package evaluates anything;
// exec/expr.Compile turns a Scalar into an evaluator over batches.
package plan

import "streamsql/sql/types"

// Scalar is a typed scalar expression.
type Scalar interface {
	Type() types.T
	// String renders the expression SQL-like, for EXPLAIN.
	String() string
	// scalar keeps evaluators (which also have Type and String) from
	// passing for logical expressions.
	scalar()
}

// Extension is embedded by scalar nodes defined outside this package:
// binder placeholders that are resolved before the plan is lowered, and
// stand-ins for evaluators without a logical form.
type Extension struct{}

//lint:ignore U1000 the marker method a node outside this package gets by embedding Extension
func (Extension) scalar() {}

// Rel is the relation a subquery reads. The lowering that compiles a
// Subquery turns it into something it can run.
type Rel interface {
	// OutputTypes are the types of the relation's columns.
	OutputTypes() []types.T
}

// ColRef is column Idx of the input row.
type ColRef struct {
	Idx  int
	T    types.T
	Name string // for EXPLAIN only
}

// OuterRef is column Idx of an enclosing query's current row: Depth 1 is
// the innermost enclosing query, 2 the next, ...
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
// (22001) instead of being truncated.
type Cast CastNode[Scalar]

// Call applies a scalar function or operator overload to Args.
type Call CallNode[Scalar]

// And is an n-ary conjunction with SQL three-valued logic.
type And AndNode[Scalar]

// Or is an n-ary disjunction with SQL three-valued logic.
type Or OrNode[Scalar]

// Not is boolean negation (NULL stays NULL).
type Not NotNode[Scalar]

// IsNull is "Input IS NULL" (or IS NOT NULL when Negate).
type IsNull IsNullNode[Scalar]

// BoolTest is "Input IS [NOT] TRUE|FALSE|UNKNOWN".
type BoolTest BoolTestNode[Scalar]

// IsDistinct is "Left IS [NOT] DISTINCT FROM Right" (same-typed inputs).
type IsDistinct IsDistinctNode[Scalar]

// Case is CASE [Operand] WHEN Whens[i] THEN Thens[i] ... ELSE Else END.
// With an Operand, Whens are values compared with Eq (one "=" overload
// per WHEN); without, Whens are booleans. Else nil means NULL. Branches
// not taken for a row must not raise errors for that row.
type Case CaseNode[Scalar]

// Coalesce returns the first non-NULL argument, lazily per row.
type Coalesce CoalesceNode[Scalar]

// NullIf is NULLIF(Left, Right): NULL when Eq(Left, Right) is true.
type NullIf NullIfNode[Scalar]

// MinMax is GREATEST (Least false) or LEAST over same-typed Args.
type MinMax MinMaxNode[Scalar]

// InList is "Input [NOT] IN (List...)": Eq is the "=" overload between
// Input's type and the list's (common) type.
type InList InListNode[Scalar]

// ArrayCompare is "Left Op ANY (Array)" or, with All, "Left Op ALL
// (Array)"; ElemT is the type the elements are converted to.
type ArrayCompare ArrayCompareNode[Scalar]

// ArraySubscript is Array[Index]: the element converted to T, NULL when
// the index is NULL or outside the array.
type ArraySubscript ArraySubscriptNode[Scalar]

// RecordField is (Input).Name: field Idx of a record value, converted to T.
type RecordField RecordFieldNode[Scalar]

// ArrayCtor is ARRAY[Elems...], an array of type T.
type ArrayCtor ArrayCtorNode[Scalar]

// ProcTime is proctime() in a stream plan: the wall-clock time at which
// each chunk passes (a batch query binds proctime() as a plain Call).
type ProcTime struct{}

// SubqueryKind says what a subquery expression computes.
type SubqueryKind int

const (
	ScalarSubquery SubqueryKind = iota // (SELECT x ...): its one value or NULL; error 21000 on more rows
	ExistsSubquery                     // EXISTS (SELECT ...)
	AnySubquery                        // Left op ANY (SELECT ...), which is also IN
	AllSubquery                        // Left op ALL (SELECT ...)
	ArraySubquery                      // ARRAY(SELECT ...)
)

// ResultType is the type of a subquery expression of kind k whose
// relation's (single) column, or its array, has type t: EXISTS, ANY and
// ALL are boolean.
func (k SubqueryKind) ResultType(t types.T) types.T {
	switch k {
	case ExistsSubquery, AnySubquery, AllSubquery:
		return types.TBool
	}
	return t
}

// Subquery runs Plan, once per statement if not Correlated, otherwise once
// per input row (the plan's OuterRefs of depth 1 read that row). For
// ANY/ALL, Left is compared with the plan's single column using Op, with
// SQL NULL semantics; Lefts and Ops, when set, make it a row comparison
// (Lefts...) against each row, Ops[k] comparing column k (with RowEqs
// for an ordering, see SubqueryNode).
type Subquery SubqueryNode[Scalar, Rel]

func (e *ColRef) Type() types.T         { return e.T }
func (e *OuterRef) Type() types.T       { return e.T }
func (e *Const) Type() types.T          { return e.T }
func (e *Param) Type() types.T          { return e.T }
func (e *Cast) Type() types.T           { return e.To }
func (e *Call) Type() types.T           { return e.T }
func (e *And) Type() types.T            { return types.TBool }
func (e *Or) Type() types.T             { return types.TBool }
func (e *Not) Type() types.T            { return types.TBool }
func (e *IsNull) Type() types.T         { return types.TBool }
func (e *BoolTest) Type() types.T       { return types.TBool }
func (e *IsDistinct) Type() types.T     { return types.TBool }
func (e *Case) Type() types.T           { return e.T }
func (e *Coalesce) Type() types.T       { return e.T }
func (e *NullIf) Type() types.T         { return e.T }
func (e *MinMax) Type() types.T         { return e.T }
func (e *InList) Type() types.T         { return types.TBool }
func (e *ArrayCompare) Type() types.T   { return types.TBool }
func (e *ArraySubscript) Type() types.T { return e.T }
func (e *RecordField) Type() types.T    { return e.T }
func (e *ArrayCtor) Type() types.T      { return e.T }
func (ProcTime) Type() types.T          { return types.TTimestampTZ }
func (e *Subquery) Type() types.T       { return e.Kind.ResultType(e.T) }

func (*ColRef) scalar()         {}
func (*OuterRef) scalar()       {}
func (*Const) scalar()          {}
func (*Param) scalar()          {}
func (*Cast) scalar()           {}
func (*Call) scalar()           {}
func (*And) scalar()            {}
func (*Or) scalar()             {}
func (*Not) scalar()            {}
func (*IsNull) scalar()         {}
func (*BoolTest) scalar()       {}
func (*IsDistinct) scalar()     {}
func (*Case) scalar()           {}
func (*Coalesce) scalar()       {}
func (*NullIf) scalar()         {}
func (*MinMax) scalar()         {}
func (*InList) scalar()         {}
func (*ArrayCompare) scalar()   {}
func (*ArraySubscript) scalar() {}
func (*RecordField) scalar()    {}
func (*ArrayCtor) scalar()      {}
func (*Subquery) scalar()       {}
func (ProcTime) scalar()        {}
