package planner

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// TestScalarPlans binds expressions into logical scalars and prints them
// (testdata/scalar; regenerate with -rewrite). Commands:
//
//	scope           input: "name type" lines, the columns of the input row
//	params          input: "type value" lines, the $n types and values
//	build           input: an expression; prints its bound tree
//	props           input: an expression; prints the columns it reads,
//	                whether it can be pushed down, and its folded value
//	equikeys split=N
//	                input: a join condition over the scope, whose first N
//	                columns are the left input; prints the hash join keys
//	                (right keys over the right input's columns), the key
//	                columns or projected key expressions of each side, and
//	                the residual conjuncts
func TestScalarPlans(t *testing.T) {
	datadriven.Walk(t, "testdata/scalar", func(t *testing.T, path string) {
		sc := &scope{}
		var params []types.Datum
		var paramTypes []types.T
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "scope":
				sc = &scope{}
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					name, tn, _ := strings.Cut(strings.TrimSpace(line), " ")
					tn, isArray := strings.CutSuffix(strings.TrimSpace(tn), "[]")
					dims := 0
					if isArray {
						dims = 1
					}
					typ, err := types.ParseTypeName(tn, nil, dims)
					if err != nil {
						t.Fatalf("%s: %v", line, err)
					}
					sc.cols = append(sc.cols, column{table: "t", name: name, t: typ})
				}
				return "ok"
			case "params":
				params, paramTypes = nil, nil
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					tn, val, _ := strings.Cut(strings.TrimSpace(line), " ")
					typ, err := types.ParseTypeName(tn, nil, 0)
					if err != nil {
						t.Fatalf("%s: %v", line, err)
					}
					v, err := types.ParseText(val, typ, nil)
					if err != nil {
						t.Fatalf("%s: %v", line, err)
					}
					params, paramTypes = append(params, v), append(paramTypes, typ)
				}
				return "ok"
			case "build", "props", "equikeys":
				p := &Planner{SearchPath: []string{"public"}, SQL: "SELECT " + d.Input}
				if params != nil {
					p.ParamTypes = append([]types.T(nil), paramTypes...)
				}
				e, err := bindScalar(p, sc, d.Input)
				if err != nil {
					return errorText(err)
				}
				switch d.Cmd {
				case "build":
					return plan.Tree(e)
				case "equikeys":
					var split int
					d.ScanArgs(t, "split", &split)
					return equiKeys(e, split, len(sc.cols))
				}
				refs, pushable := plan.ColRefs(e)
				out := fmt.Sprintf("reads: %v\npushable: %v\n", refs, pushable)
				// The value once the parameters are known, as a
				// scan computes its key bounds when it opens.
				known := plan.Rewrite(e, func(x plan.Scalar) (plan.Scalar, bool) {
					if pr, ok := x.(*plan.Param); ok && pr.Idx < len(params) {
						return &plan.Const{Value: params[pr.Idx], T: pr.T}, true
					}
					return nil, false
				})
				if v, ok := constValue(known); ok {
					out += "value: " + (&plan.Const{Value: v, T: e.Type()}).String() + "\n"
				}
				return out
			}
			t.Fatalf("unknown command %s", d.Cmd)
			return ""
		})
	})
	if matches, _ := filepath.Glob("testdata/scalar/*"); len(matches) == 0 {
		t.Fatal("no test files under testdata/scalar")
	}
}

// bindScalar binds one expression over sc.
func bindScalar(p *Planner, sc *scope, text string) (plan.Scalar, error) {
	stmts, err := parser.Parse("SELECT " + text)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
		return nil, fmt.Errorf("not one expression: %s", text)
	}
	n := stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val
	return p.binder(sc, "test").bind(n)
}

func errorText(err error) string {
	if e := sqlerr.From(err); e != nil {
		return fmt.Sprintf("error (%s): %s\n", e.Code, e.Message)
	}
	return "error: " + err.Error() + "\n"
}

// equiKeys renders what the join planner takes from condition e.
func equiKeys(e plan.Scalar, split, end int) string {
	var keys plan.EquiKeys
	var residual []plan.Scalar
	for _, c := range plan.SplitAnd(e, nil) {
		if !keys.Add(c, split, end) {
			residual = append(residual, c)
		}
	}
	var sb strings.Builder
	for i := range keys.Left {
		fmt.Fprintf(&sb, "key: %s = %s\n", keys.Left[i], keys.Right[i])
	}
	side := func(name string, ks []plan.Scalar, w int) {
		cols, extra := plan.KeyColumns(ks, w)
		fmt.Fprintf(&sb, "%s key columns: %v", name, cols)
		for _, x := range extra {
			fmt.Fprintf(&sb, "; projects %s", x)
		}
		sb.WriteString("\n")
	}
	if !keys.Empty() {
		side("left", keys.Left, split)
		side("right", keys.Right, end-split)
	}
	if r := plan.AndAll(residual); r != nil {
		fmt.Fprintf(&sb, "residual: %s\n", r)
	}
	return sb.String()
}
