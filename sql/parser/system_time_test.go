package parser

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// A marked table survives Deparse and Parse again (stored view
// definitions are deparsed text), and only the marked one is marked.
func TestSystemTimeRoundTrip(t *testing.T) {
	sql := `SELECT * FROM a JOIN "B c" FOR SYSTEM_TIME AS OF PROCTIME() AS x ON a.k = x.k LEFT JOIN d ON true JOIN e y FOR SYSTEM_TIME AS OF PROCTIME() ON y.k = a.k`
	for round := 0; round < 2; round++ {
		stmts, err := Parse(sql)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var marked []string
		walkRangeVars(stmts[0].AST.ProtoReflect(), false, func(rv *pg_query.RangeVar, _ bool) {
			if IsProcTimeLookup(rv) {
				marked = append(marked, rv.Relname)
			}
		})
		if len(marked) != 2 || marked[0] != "B c" || marked[1] != "e" {
			t.Fatalf("round %d: marked %q in %s", round, marked, sql)
		}
		if sql, err = Deparse(stmts[0].AST); err != nil {
			t.Fatal(err)
		}
	}
}
