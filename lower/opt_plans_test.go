package lower_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/lower"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/planner"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// TestOptPlans runs the logical rewrites (sql/plan's rules) on planned
// queries and prints the plan before and after them (sql/planner/testdata/opt;
// regenerate with -rewrite). The catalog, on a real pebble store, holds
// t(a int4 primary key, b text, c int8) and u(x int4 primary key,
// y numeric, z text) with a few rows each (NULLs, numerics equal but
// written differently). Commands:
//
//	opt [rules=(name,...)] [norun]
//	        input: a query; prints the plan as bound, the plan after the
//	        rules (all of plan.DefaultRules unless named; the stream
//	        decorrelation is named decorrelate-stream) and the rules
//	        that changed it, or "no change". Both plans are then lowered
//	        with lower.Batch and run (unless norun: volatile queries);
//	        the test fails unless they return the same rows, which are
//	        printed (sorted) after the plans.
func TestOptPlans(t *testing.T) {
	db, cat := openCatalog(t)
	data := map[string][][]string{
		"t": {{"1", "k", "10"}, {"2", "k", "20"}, {"3", "m", ""}, {"4", "", "40"}},
		"u": {{"1", "1.0", "q"}, {"2", "1.00", "q"}, {"3", "2", ""}, {"5", "", "r"}},
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
		rel, err := cat.CreateRelation(r)
		if err != nil {
			t.Fatal(err)
		}
		insertRows(t, db, rel, data[r.Name])
	}
	datadriven.Walk(t, "../sql/planner/testdata/opt", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "opt" {
				t.Fatalf("unknown command %s", d.Cmd)
			}
			rules := plan.DefaultRules()
			if arg, ok := d.Arg("rules"); ok {
				rules = nil
				for _, name := range arg.Vals {
					r, ok := plan.RuleByName(name)
					if sd := plan.StreamDecorrelate(); !ok && name == sd.Name {
						r, ok = sd, true
					}
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
			p := &planner.Planner{Catalog: cat, SearchPath: []string{"public"}, SQL: d.Input, NoRewrites: true}
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
			} else {
				sb.WriteString("=> " + strings.Join(fired, ", ") + "\n")
				sb.WriteString(plan.RelTree(after))
			}
			if !sameTypes(q.Plan.OutputTypes(), after.OutputTypes()) {
				t.Fatalf("the rules changed the output columns: %v -> %v", q.Plan.OutputTypes(), after.OutputTypes())
			}
			switch {
			case len(p.ParamTypes) > 0:
				sb.WriteString("(not run: parameters)\n")
				return sb.String()
			case d.HasArg("norun"):
				sb.WriteString("(not run: volatile)\n")
				return sb.String()
			}
			// The plans share their executor leaves; they run one after
			// the other.
			rd := func() storage.Reader { return db.Latest() }
			want, got := runRel(t, q.Plan, rd), runRel(t, after, rd)
			if want != got {
				t.Fatalf("the rules changed the result:\n%s\nbefore:\n%s\nafter:\n%s", sb.String(), want, got)
			}
			sb.WriteString("rows:\n" + want)
			return sb.String()
		})
	})
	if matches, _ := filepath.Glob("../sql/planner/testdata/opt/*"); len(matches) == 0 {
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

// insertRows stores rows, given as text ("" for NULL), into rel's table.
func insertRows(t *testing.T, db *storage.DB, rel *catalog.Relation, rows [][]string) {
	tbl := rel.Table()
	txn := db.Begin()
	for _, row := range rows {
		vals := make([]types.Datum, len(row))
		for i, s := range row {
			if s == "" {
				continue
			}
			v, err := types.ParseText(s, rel.Columns[i].Type, nil)
			if err != nil {
				t.Fatal(err)
			}
			vals[i] = v
		}
		if err := tbl.Insert(txn, [][]types.Datum{vals}); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
}

// runRel lowers r into batch executors, runs it and returns its rows as
// text, sorted, one a line.
func runRel(t *testing.T, r plan.Rel, rd func() storage.Reader) string {
	c := &expr.Compiler{}
	c.Rel = func(r plan.Rel) (exec.Operator, error) { return lower.Batch(r, c, rd) }
	op, err := lower.Batch(r, c, rd)
	if err != nil {
		t.Fatalf("lower: %v", err)
	}
	ctx := &exec.Ctx{Env: udf.Env{Context: context.Background()}}
	bs, err := batch.Collect(ctx, op)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	ts := op.Types()
	var lines []string
	for _, b := range bs {
		for i := 0; i < b.N; i++ {
			parts := make([]string, len(ts))
			for j, typ := range ts {
				v := types.GetDatum(b.Cols[j], i, typ)
				if v == nil {
					parts[j] = "NULL"
				} else {
					parts[j] = types.FormatText(v, typ, nil)
				}
			}
			lines = append(lines, strings.Join(parts, " "))
		}
		b.Release()
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return "(none)\n"
	}
	return strings.Join(lines, "\n") + "\n"
}
