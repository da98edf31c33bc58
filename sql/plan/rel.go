package plan

import (
	"fmt"
	"strings"

	"streamsql/sql/types"
)

// Relational nodes. A query is a tree of them: each node reads the rows of
// its inputs and produces rows of OutputTypes. The batch lowering
// (lower.Batch) turns a tree into batch executors.
//
// The planner emits Scan (scan.go), SourceScan, VirtualScan,
// TableFunction and ProjectSet (table_function.go), Aggregate and Expand
// (expand.go), Window,
// WindowTVF and SessionWindow (window_tvf.go, session_window.go),
// RecursiveUnion and WorkTableScan (recursive.go), LookupJoin, Values,
// Filter, Project, Limit, Sort, Distinct, SetOp and Join. The only
// executor in a logical tree is the plan of a compiled subquery turned
// back into a scalar (exec/expr.Logical), an opaque leaf
// (exec/expr.OperatorRel) that the batch lowering passes through as it
// is.

// Values is a literal relation: every row is a list of scalars, one per
// column (VALUES, and the one empty row of a SELECT without FROM).
type Values struct {
	Rows  [][]Scalar
	Types []types.T
}

// Filter keeps the rows of Input on which Pred is true.
type Filter struct {
	Input Rel
	Pred  Scalar
}

// Project computes Exprs over every row of Input: its columns are the
// results of Exprs, in order.
type Project struct {
	Input Rel
	Exprs []Scalar
}

// Limit skips the first Offset rows of Input and returns at most Count of
// the rest. Count and Offset are int8 scalars evaluated once, when the
// limit opens (they may hold parameters); nil means no limit (no offset),
// and so does a NULL Count.
//
// WithTies (FETCH FIRST n ROWS WITH TIES) also returns the rows after
// the last counted one that tie with it on the ORDER BY keys: Input is
// then a Sort (the planner puts none between them), whose keys decide.
type Limit struct {
	Input         Rel
	Count, Offset Scalar
	WithTies      bool
}

// SortKey is one ORDER BY key: column Col of type T, descending when Desc,
// NULLs before values when NullsFirst (PostgreSQL's default is NULLS LAST
// for ASC and NULLS FIRST for DESC; the planner sets it explicitly).
type SortKey struct {
	Col        int
	Desc       bool
	NullsFirst bool
	T          types.T
}

func (k SortKey) String() string {
	s := fmt.Sprintf("#%d", k.Col)
	if k.Desc {
		s += " DESC"
	}
	if k.NullsFirst != k.Desc {
		if k.NullsFirst {
			s += " NULLS FIRST"
		} else {
			s += " NULLS LAST"
		}
	}
	return s
}

// Sort orders the rows of Input by Keys.
type Sort struct {
	Input Rel
	Keys  []SortKey
}

// Distinct removes duplicate rows of Input: rows equal in every column,
// or, with On, keeps the first row of each run of rows equal in the On
// columns (DISTINCT ON, over input sorted by them).
type Distinct struct {
	Input Rel
	On    []int
}

// SetOpKind is UNION, INTERSECT or EXCEPT.
type SetOpKind int

const (
	Union SetOpKind = iota
	Intersect
	Except
)

func (k SetOpKind) String() string {
	switch k {
	case Union:
		return "Union"
	case Intersect:
		return "Intersect"
	}
	return "Except"
}

// SetOp is UNION, INTERSECT or EXCEPT of Left and Right, whose columns
// have the same types, with PostgreSQL's semantics (rows compare as IS NOT
// DISTINCT FROM; without All the result has no duplicates).
type SetOp struct {
	Kind        SetOpKind
	All         bool
	Left, Right Rel
}

// JoinKind is the kind of a join.
type JoinKind int

const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
	SemiJoin // left rows with at least one match, once each
	AntiJoin // left rows without a match
)

func (k JoinKind) String() string {
	switch k {
	case InnerJoin:
		return "inner"
	case LeftJoin:
		return "left"
	case RightJoin:
		return "right"
	case FullJoin:
		return "full"
	case SemiJoin:
		return "semi"
	case AntiJoin:
		return "anti"
	}
	return fmt.Sprintf("JoinKind(%d)", int(k))
}

// Join joins Left and Right: its rows are Left's columns then Right's.
// Keys are the equalities of the condition (a hash join's keys, over
// each side's own columns) and Residual the rest, over the concatenated
// columns. A Lateral join evaluates Right once per left row, with the
// left row as the outer row of depth 1.
type Join struct {
	Kind        JoinKind
	Left, Right Rel
	Lateral     bool
	Keys        EquiKeys
	Residual    Scalar
	// Names are the output columns' names, for EXPLAIN.
	Names []string
	// Func is the signature of the set-returning SQL function whose
	// inlined body is Right, for errors; "" otherwise.
	Func string
}

// OutputTypes returns the column types of the rows.
func (v *Values) OutputTypes() []types.T { return v.Types }

// OutputTypes returns Input's column types.
func (f *Filter) OutputTypes() []types.T { return f.Input.OutputTypes() }

// OutputTypes returns the types of Exprs.
func (p *Project) OutputTypes() []types.T {
	ts := make([]types.T, len(p.Exprs))
	for i, e := range p.Exprs {
		ts[i] = e.Type()
	}
	return ts
}

// OutputTypes returns Input's column types.
func (l *Limit) OutputTypes() []types.T { return l.Input.OutputTypes() }

// OutputTypes returns Left's column types then Right's (only Left's for
// a semi or anti join).
func (j *Join) OutputTypes() []types.T {
	if j.Kind == SemiJoin || j.Kind == AntiJoin {
		return j.Left.OutputTypes()
	}
	return append(append([]types.T{}, j.Left.OutputTypes()...), j.Right.OutputTypes()...)
}

// OutputTypes returns Left's column types.
func (s *SetOp) OutputTypes() []types.T { return s.Left.OutputTypes() }

// OutputTypes returns Input's column types.
func (s *Sort) OutputTypes() []types.T { return s.Input.OutputTypes() }

// OutputTypes returns Input's column types.
func (d *Distinct) OutputTypes() []types.T { return d.Input.OutputTypes() }

// Inputs lists the relational inputs of r (none for a leaf or a node this
// package does not know).
func Inputs(r Rel) []Rel {
	switch x := r.(type) {
	case *Filter:
		return []Rel{x.Input}
	case *Project:
		return []Rel{x.Input}
	case *Limit:
		return []Rel{x.Input}
	case *Sort:
		return []Rel{x.Input}
	case *Distinct:
		return []Rel{x.Input}
	case *ProjectSet:
		return []Rel{x.Input}
	case *Expand:
		return []Rel{x.Input}
	case *Aggregate:
		return []Rel{x.Input}
	case *Window:
		return []Rel{x.Input}
	case *WindowTVF:
		return []Rel{x.Input}
	case *SessionWindow:
		return []Rel{x.Input}
	case *MatchRecognize:
		return []Rel{x.Input}
	case *SetOp:
		return []Rel{x.Left, x.Right}
	case *RecursiveUnion:
		return []Rel{x.Anchor, x.Recursive}
	case *Join:
		return []Rel{x.Left, x.Right}
	case *LookupJoin:
		return []Rel{x.Join.Left, x.Join.Right}
	case *AsofJoin:
		return []Rel{x.Left, x.Right}
	case *Insert:
		return []Rel{x.Input}
	}
	return nil
}

// RelTree renders a relational tree with one node a line, indented by
// depth, each with its output types and its scalars, the form plan tests
// print:
//
//	limit count=10
//	  filter (a > 1)
//	    values rows=2 [int4]
func RelTree(r Rel) string {
	var sb strings.Builder
	writeRel(&sb, r, 0, nil)
	return sb.String()
}

// writeRel writes r and its inputs; annotate, when set, adds text after
// each node's types.
func writeRel(sb *strings.Builder, r Rel, depth int, annotate func(Rel) string) {
	sb.WriteString(strings.Repeat("  ", depth))
	switch x := r.(type) {
	case nil:
		sb.WriteString("<nil>\n")
		return
	case *Values:
		fmt.Fprintf(sb, "values rows=%d", len(x.Rows))
		for _, row := range x.Rows {
			sb.WriteString(" (" + list(row) + ")")
		}
	case *Filter:
		fmt.Fprintf(sb, "filter %s", x.Pred)
	case *Project:
		fmt.Fprintf(sb, "project %s", list(x.Exprs))
	case *Limit:
		sb.WriteString("limit")
		if x.Count != nil {
			fmt.Fprintf(sb, " count=%s", x.Count)
		}
		if x.Offset != nil {
			fmt.Fprintf(sb, " offset=%s", x.Offset)
		}
		if x.WithTies {
			sb.WriteString(" with ties")
		}
	case *Sort:
		sb.WriteString("sort " + list(x.Keys))
	case *Distinct:
		sb.WriteString("distinct")
		if x.On != nil {
			fmt.Fprintf(sb, " on %v", x.On)
		}
	case *SetOp:
		sb.WriteString(strings.ToLower(x.Kind.String()))
		if x.All {
			sb.WriteString(" all")
		}
	case *Join:
		sb.WriteString("join " + x.Kind.String())
		if x.Lateral {
			sb.WriteString(" lateral")
		}
		for i := range x.Keys.Left {
			fmt.Fprintf(sb, " key %s = %s", x.Keys.Left[i], x.Keys.Right[i])
		}
		if x.Residual != nil {
			fmt.Fprintf(sb, " filter %s", x.Residual)
		}
	case fmt.Stringer:
		sb.WriteString(x.String())
	default:
		fmt.Fprintf(sb, "%T", r)
	}
	fmt.Fprintf(sb, " %s", typeList(r.OutputTypes()))
	if annotate != nil {
		sb.WriteString(" " + annotate(r))
	}
	sb.WriteString("\n")
	for _, in := range Inputs(r) {
		writeRel(sb, in, depth+1, annotate)
	}
}

func typeList(ts []types.T) string {
	return "[" + list(ts) + "]"
}
