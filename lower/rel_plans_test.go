package lower_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/lower"
	"streamsql/sql/parser"
	"streamsql/sql/plan"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// TestRelPlans plans queries and prints their logical plans
// (sql/planner/testdata/rel; regenerate with -rewrite) over a catalog on a real pebble
// store holding t(a int4 primary key, b text, c int8 CHECK (c <> 0)) and u(k int8
// primary key, x int4, y text) with the index u_x_y_idx on (x, y DESC),
// the APPEND ONLY table ev(id int8 primary key, ts timestamp, v int4) with
// a WATERMARK FOR ts, and the sources src(x int8, s text) and bids(item
// int8, price int8, at timestamp) with a WATERMARK FOR at. Commands:
//
//	build [props]
//	        input: a query; prints its logical relational tree as bound
//	        (before the rewrites), with props each node's stream
//	        properties (key, append-only, watermark and monotonic
//	        columns; see plan.StreamProps)
//	lower   input: a query; prints the batch executors lower.Batch
//	        makes of it after the rewrites, one per line, indented by
//	        depth
//
// Both also take INSERT, UPDATE and DELETE: build prints the statement's
// plan (plan.Insert, plan.Update, plan.Delete), lower what lower.Write
// makes of it (sql/planner/testdata/rel/dml).
//
// Operators the planner still builds itself show as "executor ..."
// leaves of the logical tree.
func TestRelPlans(t *testing.T) {
	db, cat := openCatalog(t)
	if _, err := cat.CreateRelation(&catalog.Relation{Schema: "public", Name: "t", Kind: catalog.KindTable,
		Columns: []catalog.Column{{Name: "a", Type: types.TInt4, AttNum: 1, NotNull: true},
			{Name: "b", Type: types.TText, AttNum: 2}, {Name: "c", Type: types.TInt8, AttNum: 3}},
		PrimaryKey: []int{0}, Checks: []catalog.Check{{Name: "t_c_check", Expr: "c <> 0", Columns: []int{2}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateRelation(&catalog.Relation{Schema: "public", Name: "u", Kind: catalog.KindTable,
		Columns: []catalog.Column{{Name: "k", Type: types.TInt8, AttNum: 1, NotNull: true},
			{Name: "x", Type: types.TInt4, AttNum: 2}, {Name: "y", Type: types.TText, AttNum: 3}},
		PrimaryKey: []int{0}, Indexes: []catalog.Index{{Name: "u_x_y_idx", Columns: []int{1, 2}, Desc: []bool{false, true}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateRelation(&catalog.Relation{Schema: "public", Name: "src", Kind: catalog.KindSource,
		Columns: []catalog.Column{{Name: "x", Type: types.TInt8, AttNum: 1}, {Name: "s", Type: types.TText, AttNum: 2}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateRelation(&catalog.Relation{Schema: "public", Name: "ev", Kind: catalog.KindTable, AppendOnly: true,
		Columns: []catalog.Column{{Name: "id", Type: types.TInt8, AttNum: 1, NotNull: true},
			{Name: "ts", Type: types.TTimestamp, AttNum: 2}, {Name: "v", Type: types.TInt4, AttNum: 3}},
		PrimaryKey: []int{0}, Watermarks: []catalog.Watermark{{Column: "ts", Expr: "ts - INTERVAL '1' SECOND"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateRelation(&catalog.Relation{Schema: "public", Name: "bids", Kind: catalog.KindSource, AppendOnly: true,
		Columns: []catalog.Column{{Name: "item", Type: types.TInt8, AttNum: 1}, {Name: "price", Type: types.TInt8, AttNum: 2},
			{Name: "at", Type: types.TTimestamp, AttNum: 3}},
		Watermarks: []catalog.Watermark{{Column: "at", Expr: "at - INTERVAL '5' SECOND"}}}); err != nil {
		t.Fatal(err)
	}
	datadriven.Walk(t, "../sql/planner/testdata/rel", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			stmts, err := parser.Parse(d.Input)
			if err != nil {
				return relErrorText(err)
			}
			if len(stmts) != 1 {
				t.Fatalf("not one statement: %s", d.Input)
			}
			read := func() storage.Reader { return db.Latest() }
			p := &planner.Planner{Catalog: cat, SearchPath: []string{"public"}, SQL: d.Input, NoRewrites: d.Cmd == "build"}
			if d.Cmd != "build" && d.Cmd != "lower" {
				t.Fatalf("unknown command %s", d.Cmd)
			}
			ast := stmts[0].AST
			if ast.GetSelectStmt() == nil {
				return relWrite(t, p, ast, d, read)
			}
			q, err := p.PlanSelect(ast.GetSelectStmt())
			if err != nil {
				return relErrorText(err)
			}
			if d.Cmd == "build" {
				if d.HasArg("props") {
					return plan.RelTreeProps(q.Plan)
				}
				return plan.RelTree(q.Plan)
			}
			op, err := (&lower.Statement{Read: read, Rewrite: p.Rewrite}).Batch(q.Plan)
			if err != nil {
				return relErrorText(err)
			}
			var sb strings.Builder
			writeOps(&sb, op, 0)
			return sb.String()
		})
	})
	if matches, _ := filepath.Glob("../sql/planner/testdata/rel/*"); len(matches) == 0 {
		t.Fatal("no test files under testdata/rel")
	}
}

// relWrite plans INSERT, UPDATE or DELETE: build prints its logical
// plan; lower prints what lower.Write makes of it, the INSERT's source
// executors below a line that says how it handles conflicts.
func relWrite(t *testing.T, p *planner.Planner, ast *pg.Node, d *datadriven.TestData, read func() storage.Reader) string {
	var w *planner.Write
	var err error
	switch {
	case ast.GetInsertStmt() != nil:
		w, err = p.PlanInsert(ast.GetInsertStmt())
	case ast.GetUpdateStmt() != nil:
		w, err = p.PlanUpdate(ast.GetUpdateStmt())
	case ast.GetDeleteStmt() != nil:
		w, err = p.PlanDelete(ast.GetDeleteStmt())
	default:
		t.Fatalf("not a query, INSERT, UPDATE or DELETE: %s", d.Input)
	}
	if err != nil {
		return relErrorText(err)
	}
	if d.Cmd == "build" {
		return plan.RelTree(w.Plan) + subqueryTrees(w.Plan)
	}
	lw, err := (&lower.Statement{Read: read, Rewrite: p.Rewrite}).Write(w.Plan)
	if err != nil {
		return relErrorText(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "write %s conflict=%d set=%d where=%t bounds=%t filter=%t returning=%d checks=%d\n", lw.Table.Name,
		lw.Conflict, len(lw.Set), lw.Where != nil, lw.Bounds != nil, lw.Filter != nil, len(lw.Returning), len(lw.Checks))
	if lw.Source != nil {
		writeOps(&sb, lw.Source, 1)
	}
	return sb.String()
}

// subqueryTrees prints the plans of the subqueries in the scalars of an
// UPDATE or DELETE (UPDATE ... FROM and DELETE ... USING become
// correlated subqueries), each after a line naming it.
func subqueryTrees(r plan.Rel) string {
	var es []plan.Scalar
	switch x := r.(type) {
	case *plan.Update:
		es = append(append([]plan.Scalar{x.Filter}, x.Set...), x.Returning...)
	case *plan.Delete:
		es = append([]plan.Scalar{x.Filter}, x.Returning...)
	}
	var sb strings.Builder
	n := 0
	for _, e := range es {
		if e == nil {
			continue
		}
		plan.Visit(e, func(x plan.Scalar) {
			if sq, ok := x.(*plan.Subquery); ok {
				n++
				fmt.Fprintf(&sb, "subquery %d:\n", n)
				for _, line := range strings.SplitAfter(plan.RelTree(sq.Plan), "\n") {
					if line != "" {
						sb.WriteString("  " + line)
					}
				}
			}
		})
	}
	return sb.String()
}

// openCatalog opens a catalog on a real pebble store in a temporary
// directory, closed when the test ends.
func openCatalog(t *testing.T) (*storage.DB, *catalog.Catalog) {
	t.Helper()
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := catalog.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	return db, cat
}

// writeOps prints an executor tree, one operator a line.
func writeOps(sb *strings.Builder, op exec.Operator, depth int) {
	fmt.Fprintf(sb, "%s%s\n", strings.Repeat("  ", depth), op.Explain())
	for _, c := range op.Children() {
		writeOps(sb, c, depth+1)
	}
}

func relErrorText(err error) string {
	if e := sqlerr.From(err); e != nil {
		return fmt.Sprintf("error (%s): %s\n", e.Code, e.Message)
	}
	return "error: " + err.Error() + "\n"
}
