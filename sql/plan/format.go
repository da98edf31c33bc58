package plan

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"streamsql/sql/types"
)

// String renderings for EXPLAIN: SQL-like, with parentheses around nested
// operators so that precedence is never in doubt.

func (e *ColRef) String() string {
	if e.Name != "" {
		return e.Name
	}
	return fmt.Sprintf("#%d", e.Idx)
}

func (e *OuterRef) String() string {
	if e.Name != "" {
		return e.Name
	}
	return fmt.Sprintf("outer%d.#%d", e.Depth, e.Idx)
}

func (e *Const) String() string {
	if e.Value == nil {
		return "NULL"
	}
	s := types.FormatText(e.Value, e.T, nil)
	switch e.T.Kind {
	case types.Int2, types.Int4, types.Int8, types.Float8, types.Numeric:
		return s
	case types.Bool:
		if e.Value.(bool) {
			return "true"
		}
		return "false"
	case types.Text, types.Unknown:
		return quoteLiteral(s)
	}
	return quoteLiteral(s) + "::" + e.T.String()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (e *Param) String() string { return fmt.Sprintf("$%d", e.Idx+1) }

func (e *Cast) String() string { return operand(e.Input) + "::" + e.To.String() }

// IsOperatorName reports whether a function name is an operator symbol.
func IsOperatorName(name string) bool {
	if name == "" {
		return false
	}
	r := rune(name[0])
	return !unicode.IsLetter(r) && r != '_'
}

// operand renders e, parenthesized when it is itself an operator
// expression.
func operand(e Scalar) string {
	switch x := e.(type) {
	case *Call:
		if IsOperatorName(x.Fn.Name) {
			return "(" + x.String() + ")"
		}
	case *And, *Or, *Not, *IsNull, *BoolTest, *IsDistinct, *InList:
		return "(" + x.String() + ")"
	case *Subquery:
		if x.Kind == AnySubquery || x.Kind == AllSubquery {
			return "(" + x.String() + ")"
		}
	}
	return e.String()
}

func (e *Call) String() string {
	if IsOperatorName(e.Fn.Name) {
		if len(e.Args) == 1 {
			return e.Fn.Name + operand(e.Args[0])
		}
		if len(e.Args) == 2 {
			return operand(e.Args[0]) + " " + displayOp(e.Fn.Name) + " " + operand(e.Args[1])
		}
	}
	return e.Fn.Name + "(" + list(e.Args) + ")"
}

// displayOp shows LIKE operators by their keywords.
func displayOp(op string) string {
	switch op {
	case "~~":
		return "LIKE"
	case "!~~":
		return "NOT LIKE"
	case "~~*":
		return "ILIKE"
	case "!~~*":
		return "NOT ILIKE"
	}
	return op
}

// list renders xs comma separated: "#0, a + 1".
func list[S fmt.Stringer](xs []S) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.String()
	}
	return strings.Join(parts, ", ")
}

// prefixed is prefix + s, or "" for an empty s.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// cols renders column indexes comma separated: "#0, #3".
func cols(cs []int) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = "#" + strconv.Itoa(c)
	}
	return strings.Join(parts, ", ")
}

func joinOps(es []Scalar, sep string) string {
	parts := make([]string, len(es))
	for i, a := range es {
		parts[i] = operand(a)
	}
	return strings.Join(parts, sep)
}

func (e *And) String() string { return joinOps(e.Args, " AND ") }
func (e *Or) String() string  { return joinOps(e.Args, " OR ") }
func (e *Not) String() string { return "NOT " + operand(e.Input) }

func (e *IsNull) String() string {
	if e.Negate {
		return operand(e.Input) + " IS NOT NULL"
	}
	return operand(e.Input) + " IS NULL"
}

func (e *BoolTest) String() string {
	s := operand(e.Input) + " IS "
	if e.Negate {
		s += "NOT "
	}
	switch {
	case e.Want == nil:
		return s + "UNKNOWN"
	case *e.Want:
		return s + "TRUE"
	}
	return s + "FALSE"
}

func (e *IsDistinct) String() string {
	if e.Negate {
		return operand(e.Left) + " IS NOT DISTINCT FROM " + operand(e.Right)
	}
	return operand(e.Left) + " IS DISTINCT FROM " + operand(e.Right)
}

func (e *Case) String() string {
	var sb strings.Builder
	sb.WriteString("CASE")
	if e.Operand != nil {
		sb.WriteString(" " + e.Operand.String())
	}
	for i := range e.Whens {
		sb.WriteString(" WHEN " + e.Whens[i].String() + " THEN " + e.Thens[i].String())
	}
	if e.Else != nil {
		sb.WriteString(" ELSE " + e.Else.String())
	}
	sb.WriteString(" END")
	return sb.String()
}

func (e *Coalesce) String() string { return "COALESCE(" + list(e.Args) + ")" }

func (e *NullIf) String() string {
	return "NULLIF(" + e.Left.String() + ", " + e.Right.String() + ")"
}

func (e *MinMax) String() string {
	if e.Least {
		return "LEAST(" + list(e.Args) + ")"
	}
	return "GREATEST(" + list(e.Args) + ")"
}

func (e *InList) String() string {
	op := " IN ("
	if e.Negate {
		op = " NOT IN ("
	}
	return operand(e.Input) + op + list(e.List) + ")"
}

func (e *ArrayCompare) String() string {
	q := " ANY ("
	if e.All {
		q = " ALL ("
	}
	return operand(e.Left) + " " + e.Op.Name + q + e.Array.String() + ")"
}

func (e *ArraySubscript) String() string {
	return operand(e.Array) + "[" + e.Index.String() + "]"
}

func (e *RecordField) String() string { return "(" + e.Input.String() + ")." + e.Name }

func (e *ArrayCtor) String() string { return "ARRAY[" + list(e.Elems) + "]" }

func (ProcTime) String() string { return "proctime()" }

func (e *Subquery) String() string {
	plan := "SubPlan"
	if !e.Correlated {
		plan = "InitPlan"
	}
	left, op := "", ""
	switch {
	case e.Lefts != nil:
		// A row comparison: (a, b) = ANY (...).
		left = "(" + list(e.Lefts) + ")"
		if len(e.Ops) > 0 {
			op = e.Ops[len(e.Ops)-1].Name // an ordering's strict ones come first
		}
	case e.Left != nil:
		left = operand(e.Left)
	}
	if e.Op != nil {
		op = e.Op.Name
	}
	switch e.Kind {
	case ExistsSubquery:
		return "EXISTS(" + plan + ")"
	case AnySubquery:
		return left + " " + op + " ANY (" + plan + ")"
	case AllSubquery:
		return left + " " + op + " ALL (" + plan + ")"
	case ArraySubquery:
		return "ARRAY(" + plan + ")"
	}
	return "(" + plan + ")"
}
