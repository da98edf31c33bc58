package parser

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// An ASOF join survives Deparse and Parse again (stored view definitions
// are deparsed text), with its kind, its right relation and its match
// condition.
func TestAsofJoinRoundTrip(t *testing.T) {
	sql := `SELECT * FROM trades t ASOF JOIN quotes q MATCH_CONDITION (t.ts >= q.ts) ON t.sym = q.sym ` +
		`ASOF LEFT OUTER JOIN "My".book AS b MATCH_CONDITION(t.ts < b.ts) ON b.sym = t.sym OR false JOIN x ON true`
	for round := 0; round < 2; round++ {
		stmts, err := Parse(sql)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var got []string
		walkJoins(stmts[0].AST, func(j *pg_query.JoinExpr) {
			rv, cond, ok := AsofJoin(j)
			if !ok {
				return
			}
			c, err := DeparseExpr(cond)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, j.Jointype.String()+" "+rv.Schemaname+"."+rv.Relname+" "+c)
		})
		want := "JOIN_LEFT My.book t.ts < b.ts|JOIN_INNER .quotes t.ts >= q.ts"
		if strings.Join(got, "|") != want {
			t.Fatalf("round %d: %q, want %q (from %s)", round, strings.Join(got, "|"), want, sql)
		}
		if sql, err = Deparse(stmts[0].AST); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sql, "ASOF JOIN \"quotes\" q MATCH_CONDITION (t.ts >= q.ts) ON") || !strings.Contains(sql, `ASOF LEFT JOIN "My".book b MATCH_CONDITION (`) {
			t.Fatalf("round %d: deparsed %s", round, sql)
		}
	}
}

// A table named asof stays a table; ASOF joins of other kinds and
// without their clauses are refused with a position.
func TestAsofJoinErrors(t *testing.T) {
	if _, err := Parse(`SELECT * FROM asof JOIN b ON true`); err != nil {
		t.Fatalf("table named asof: %v", err)
	}
	for _, c := range []struct{ sql, code, msg string }{
		{`SELECT * FROM a ASOF JOIN b ON a.k = b.k`, sqlerr.SyntaxError, "needs MATCH_CONDITION"},
		{`SELECT * FROM a ASOF RIGHT JOIN b MATCH_CONDITION (a.t >= b.t) ON true`, sqlerr.FeatureNotSupported, "ASOF RIGHT JOIN"},
		{`SELECT * FROM a ASOF JOIN (SELECT * FROM b) b MATCH_CONDITION (a.t >= b.t) ON true`, sqlerr.FeatureNotSupported, "must be a table"},
		{`SELECT * FROM a ASOF JOIN b MATCH_CONDITION (a.t >= b.t)`, sqlerr.SyntaxError, "needs an ON condition"},
		{`SELECT * FROM a JOIN b MATCH_CONDITION (a.t >= b.t) ON true`, sqlerr.SyntaxError, "belongs to an ASOF JOIN"},
	} {
		_, err := Parse(c.sql)
		if err == nil {
			t.Errorf("%s: no error", c.sql)
			continue
		}
		e := sqlerr.From(err)
		if e.Code != c.code || !strings.Contains(e.Message, c.msg) || e.Position == 0 {
			t.Errorf("%s: %v", c.sql, err)
		}
	}
}
