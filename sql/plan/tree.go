package plan

import (
	"fmt"
	"strings"
)

// Tree renders e as an indented tree, one node a line with its result
// type: the form plan tests print, where String gives the SQL-like one.
//
//	call + [int4]
//	  col x#0 [int4]
//	  const 1 [int4]
func Tree(e Scalar) string {
	var sb strings.Builder
	writeTree(&sb, e, 0)
	return sb.String()
}

func writeTree(sb *strings.Builder, e Scalar, depth int) {
	sb.WriteString(strings.Repeat("  ", depth))
	if e == nil {
		sb.WriteString("<nil>\n")
		return
	}
	head, kids := describe(e)
	fmt.Fprintf(sb, "%s [%s]\n", head, e.Type())
	for _, k := range kids {
		writeTree(sb, k, depth+1)
	}
}

// describe names a node and lists its children in order.
func describe(e Scalar) (string, []Scalar) {
	opt := func(es ...Scalar) []Scalar {
		var out []Scalar
		for _, x := range es {
			if x != nil {
				out = append(out, x)
			}
		}
		return out
	}
	switch x := e.(type) {
	case *ColRef:
		return fmt.Sprintf("col %s#%d", x.Name, x.Idx), nil
	case *OuterRef:
		return fmt.Sprintf("outer %s depth=%d #%d", x.Name, x.Depth, x.Idx), nil
	case *Const:
		return "const " + x.String(), nil
	case *Param:
		return x.String(), nil
	case *Cast:
		if x.Assign {
			return "assign-cast", opt(x.Input)
		}
		return "cast", opt(x.Input)
	case *Call:
		return "call " + x.Fn.Name, x.Args
	case *And:
		return "and", x.Args
	case *Or:
		return "or", x.Args
	case *Not:
		return "not", opt(x.Input)
	case *IsNull:
		if x.Negate {
			return "is-not-null", opt(x.Input)
		}
		return "is-null", opt(x.Input)
	case *BoolTest:
		s := strings.TrimPrefix(x.String(), operand(x.Input)+" ")
		return strings.ToLower(strings.ReplaceAll(s, " ", "-")), opt(x.Input)
	case *IsDistinct:
		if x.Negate {
			return "is-not-distinct", opt(x.Left, x.Right)
		}
		return "is-distinct", opt(x.Left, x.Right)
	case *Case:
		kids := opt(x.Operand)
		for i := range x.Whens {
			kids = append(kids, x.Whens[i], x.Thens[i])
		}
		head := fmt.Sprintf("case whens=%d", len(x.Whens))
		if x.Operand != nil {
			head += " operand"
		}
		if x.Else != nil {
			head += " else"
			kids = append(kids, x.Else)
		}
		return head, kids
	case *Coalesce:
		return "coalesce", x.Args
	case *NullIf:
		return "nullif", opt(x.Left, x.Right)
	case *MinMax:
		if x.Least {
			return "least", x.Args
		}
		return "greatest", x.Args
	case *InList:
		head := "in"
		if x.Negate {
			head = "not-in"
		}
		return head, append(opt(x.Input), x.List...)
	case *ArrayCompare:
		q := "any"
		if x.All {
			q = "all"
		}
		return fmt.Sprintf("array-%s %s elem=%s", q, x.Op.Name, x.ElemT), opt(x.Left, x.Array)
	case *ArraySubscript:
		return "subscript", opt(x.Array, x.Index)
	case *RecordField:
		return fmt.Sprintf("field %s#%d", x.Name, x.Idx), opt(x.Input)
	case *ArrayCtor:
		return "array", x.Elems
	case ProcTime:
		return "proctime", nil
	case *Subquery:
		kind := [...]string{"scalar", "exists", "any", "all", "array"}[x.Kind]
		head := "subquery " + kind
		if x.Correlated {
			head += " correlated"
		}
		if x.Op != nil {
			head += " " + x.Op.Name
		}
		return head, append(opt(x.Left), x.Lefts...)
	}
	return e.String(), nil
}
