package parser

import (
	"errors"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// mrOf parses sql and returns the MATCH_RECOGNIZE clause of the first
// marked RangeVar.
func mrOf(t *testing.T, sql string) (*pg_query.RangeVar, *MatchRecognize) {
	t.Helper()
	stmts, err := Parse(sql)
	if err != nil {
		t.Fatalf("Parse(%q): %v", sql, err)
	}
	var rv *pg_query.RangeVar
	walkRangeVars(stmts[0].AST.ProtoReflect(), false, func(r *pg_query.RangeVar, _ bool) {
		if IsMatchRecognize(r) {
			rv = r
		}
	})
	if rv == nil {
		t.Fatalf("no MATCH_RECOGNIZE in %q", sql)
	}
	mr, err := MatchRecognizeOf(rv, sql)
	if err != nil {
		t.Fatalf("MatchRecognizeOf: %v", err)
	}
	return rv, mr
}

func TestMatchRecognizeParse(t *testing.T) {
	sql := `SELECT * FROM ticks MATCH_RECOGNIZE (
		PARTITION BY sym ORDER BY ts
		MEASURES FIRST(a.price) AS start_price, LAST(b.price, 1) AS low, count(b.*) AS n
		ONE ROW PER MATCH
		AFTER MATCH SKIP TO LAST b
		PATTERN (a b+? (c | d){2,3} e* f{1,})
		WITHIN INTERVAL '10' SECOND
		DEFINE b AS b.price < PREV(b.price), c AS c.price > 10
	) AS m WHERE m.n > 1`
	rv, mr := mrOf(t, sql)
	if rv.Relname != "ticks" || rv.Alias.GetAliasname() != "m" {
		t.Errorf("relation %q alias %q", rv.Relname, rv.Alias.GetAliasname())
	}
	if got := mr.Pattern.String(); got != "a b+? (c | d){2,3} e* f+" {
		t.Errorf("pattern %q", got)
	}
	if len(mr.PartitionBy) != 1 || len(mr.OrderBy) != 1 || len(mr.Measures) != 3 || len(mr.Defines) != 2 || mr.Within == nil {
		t.Fatalf("clause %+v", mr)
	}
	if mr.Skip != SkipToLast || mr.SkipVar != "b" {
		t.Errorf("skip %v %q", mr.Skip, mr.SkipVar)
	}
	if mr.Measures[2].Name != "n" || mr.Defines[1].Var != "c" {
		t.Errorf("names %q %q", mr.Measures[2].Name, mr.Defines[1].Var)
	}
	// Locations are offsets in the input.
	if loc := int(mr.Defines[1].Expr.GetAExpr().Location); !strings.HasPrefix(sql[loc:], "> 10") {
		t.Errorf("location %d: %q", loc, sql[loc:])
	}
	// The definition deparses and parses back to the same clause.
	stmts, _ := Parse(sql)
	text, err := Deparse(stmts[0].AST)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "FROM ticks MATCH_RECOGNIZE (") || !strings.Contains(text, ") m WHERE") {
		t.Fatalf("deparsed %q", text)
	}
	rv2, mr2 := mrOf(t, text)
	if rv2.Relname != "ticks" || mr2.Pattern.String() != mr.Pattern.String() || len(mr2.Defines) != 2 {
		t.Errorf("reparsed %q: %v", text, mr2.Pattern)
	}
	// From a stored text only (no input at the offset).
	mr3, err := MatchRecognizeOf(rv2, "")
	if err != nil || mr3.Pattern.String() != mr.Pattern.String() {
		t.Errorf("from the mark alone: %v %v", mr3, err)
	}
}

func TestMatchRecognizeInView(t *testing.T) {
	sql := `CREATE MATERIALIZED VIEW v AS SELECT * FROM s MATCH_RECOGNIZE (ORDER BY ts MEASURES a.x AS x PATTERN (a) DEFINE a AS a.x > 0) AS m`
	rv, mr := mrOf(t, sql)
	if rv.Relname != "s" || mr.Pattern.String() != "a" {
		t.Errorf("%q %v", rv.Relname, mr.Pattern)
	}
}

func TestMatchRecognizeErrors(t *testing.T) {
	for _, tc := range []struct {
		sql, code, msg, at string
	}{
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (a b DEFINE a AS true) m`, sqlerr.SyntaxError, "syntax error", ""},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (a |) DEFINE a AS true) m`, sqlerr.SyntaxError, `syntax error at or near ")"`, ") DEFINE"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (a{3,1}) DEFINE a AS true) m`, sqlerr.SyntaxError, "upper bound", "{3,1}"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (a**) DEFINE a AS true) m`, sqlerr.SyntaxError, "quantifier cannot follow", "*)"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (a) DEFINE b AS true) m`, sqlerr.SyntaxError, "DEFINE names b", "b AS"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (a) DEFINE a AS true, a AS false) m`, sqlerr.SyntaxError, "more than once", "a AS false"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts ALL ROWS PER MATCH PATTERN (a)) m`, sqlerr.FeatureNotSupported, "ALL ROWS PER MATCH", "ALL ROWS"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (PERMUTE(a, b))) m`, sqlerr.FeatureNotSupported, "PERMUTE", "PERMUTE"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts DESC PATTERN (a)) m`, sqlerr.FeatureNotSupported, "DESC", "DESC"},
		{`SELECT * FROM t MATCH_RECOGNIZE (PATTERN (a)) m`, sqlerr.SyntaxError, "needs ORDER BY", "PATTERN"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts MEASURES a.x PATTERN (a)) m`, sqlerr.SyntaxError, "needs a name", "PATTERN"},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts AFTER MATCH SKIP TO FIRST z PATTERN (a)) m`, sqlerr.SyntaxError, "SKIP TO names z", "SKIP"},
		{`SELECT * FROM (SELECT 1) q MATCH_RECOGNIZE (ORDER BY ts PATTERN (a)) m`, sqlerr.SyntaxError, "", ""},
		{`SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (a) DEFINE a AS a.x >) m`, sqlerr.SyntaxError, "syntax error", ""},
	} {
		_, err := Parse(tc.sql)
		var se *sqlerr.Error
		if !errors.As(err, &se) {
			t.Errorf("%s: error %v", tc.sql, err)
			continue
		}
		if se.Code != tc.code || !strings.Contains(se.Message, tc.msg) {
			t.Errorf("%s: %s %s", tc.sql, se.Code, se.Message)
		}
		if tc.at != "" {
			if se.Position <= 0 || !strings.HasPrefix(tc.sql[byteOffset(tc.sql, se.Position-1):], tc.at) {
				t.Errorf("%s: position %d, want at %q", tc.sql, se.Position, tc.at)
			}
		}
	}
}
