package planner_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"streamsql/catalog"
	"streamsql/lower"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/planner"
	"streamsql/sql/types"
	"streamsql/storage"
)

// TestOptPlans runs the logical rewrites (sql/plan's rules) on planned
// queries and prints the plan before and after them (testdata/opt;
// regenerate with -rewrite). The catalog, on a real pebble store, holds
// t(a int4 primary key, b text, c int8) and u(x int4 primary key,
// y numeric, z text). Commands:
//
//	opt [rules=(name,...)]
//	        input: a query; prints the plan as bound, the plan after the
//	        rules (all of plan.DefaultRules unless named) and the rules
//	        that changed it, or "no change"
func TestOptPlans(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cat, err := catalog.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*catalog.Relation{
		{Schema: "public", Name: "t", Kind: catalog.KindTable,
			Columns: []catalog.Column{{Name: "a", Type: types.TInt4, AttNum: 1, NotNull: true},
				{Name: "b", Type: types.TText, AttNum: 2}, {Name: "c", Type: types.TInt8, AttNum: 3}},
			PrimaryKey: []int{0}},
		{Schema: "public", Name: "u", Kind: catalog.KindTable,
			Columns: []catalog.Column{{Name: "x", Type: types.TInt4, AttNum: 1, NotNull: true},
				{Name: "y", Type: types.T{Kind: types.Numeric}, AttNum: 2}, {Name: "z", Type: types.TText, AttNum: 3}},
			PrimaryKey: []int{0}},
	} {
		if _, err := cat.CreateRelation(r); err != nil {
			t.Fatal(err)
		}
	}
	datadriven.Walk(t, "testdata/opt", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "opt" {
				t.Fatalf("unknown command %s", d.Cmd)
			}
			rules := plan.DefaultRules()
			if arg, ok := d.Arg("rules"); ok {
				rules = nil
				for _, name := range arg.Vals {
					r, ok := plan.RuleByName(name)
					if !ok {
						t.Fatalf("no rule %q", name)
					}
					rules = append(rules, r)
				}
			}
			stmts, err := parser.Parse(d.Input)
			if err != nil {
				return relErrorText(err)
			}
			if len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
				t.Fatalf("not one query: %s", d.Input)
			}
			p := &planner.Planner{Catalog: cat, Reader: func() storage.Reader { return db.Latest() },
				SearchPath: []string{"public"}, SQL: d.Input, LowerBatch: lower.Batch, NoRewrites: true}
			q, err := p.PlanSelect(stmts[0].AST.GetSelectStmt())
			if err != nil {
				return relErrorText(err)
			}
			before := plan.RelTree(q.Plan)
			after, fired := plan.Optimize(q.Plan, rules)
			var sb strings.Builder
			sb.WriteString(before)
			if len(fired) == 0 {
				sb.WriteString("no change\n")
				return sb.String()
			}
			sb.WriteString("=> " + strings.Join(fired, ", ") + "\n")
			sb.WriteString(plan.RelTree(after))
			if !sameTypes(q.Plan.OutputTypes(), after.OutputTypes()) {
				t.Fatalf("the rules changed the output columns: %v -> %v", q.Plan.OutputTypes(), after.OutputTypes())
			}
			return sb.String()
		})
	})
	if matches, _ := filepath.Glob("testdata/opt/*"); len(matches) == 0 {
		t.Fatal("no test files under testdata/opt")
	}
}

func sameTypes(a, b []types.T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
