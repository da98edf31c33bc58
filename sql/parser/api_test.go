package parser

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

func mustParse(t *testing.T, sql string) []Statement {
	t.Helper()
	stmts, err := Parse(sql)
	if err != nil {
		t.Fatalf("Parse(%q): %v", sql, err)
	}
	return stmts
}

// TestErrors checks code, message and character position of errors, in
// the first and in later statements, with multi-byte text before them.
func TestErrors(t *testing.T) {
	tests := []struct {
		sql, code, msg string
		pos            int
	}{
		{"SELECT 1 +", sqlerr.SyntaxError, "syntax error at end of input", 11},
		{"SELECT 'é', 1 +;", sqlerr.SyntaxError, `syntax error at or near ";"`, 16},
		{"SELECT 'é'; SELEC 1", sqlerr.SyntaxError, `syntax error at or near "SELEC"`, 13},
		{"FLUSH; CREATE SOURCE s (a int,)", sqlerr.SyntaxError, `syntax error at or near ")"`, 31},
		{"SELECT 'ü'; CREATE SOURCE s (a int) WITH (x = )", sqlerr.SyntaxError, `syntax error at or near ")"`, 47},
		{"SELECT 'ü'; CREATE SOURCE s (a int) FORMAT XML ENCODE JSON", sqlerr.InvalidParameterValue, `unknown FORMAT "XML"`, 44},
		{"CREATE SOURCE s (ts timestamp, WATERMARK FOR ts AS ts +)", sqlerr.SyntaxError, `syntax error at or near ")"`, 56},
		{"CREATE SOURCE s (ts timestamp, WATERMARK FOR ts AS ts +)  ;", sqlerr.SyntaxError, `syntax error at or near ")"`, 56},
		{"CREATE SOURCE s (ts timestamp, WATERMARK FOR AS ts)", sqlerr.SyntaxError, `syntax error at or near "AS"`, 46},
		{"CREATE SOURCE s (ts timestamp, WATERMARK FOR ts AS ts FROM t)", sqlerr.SyntaxError, `syntax error at or near "FROM"`, 55},
		{"CREATE SINK k AS SELECT 'é' FROM WITH (connector = 'x')", sqlerr.SyntaxError, `syntax error at or near "WITH"`, 34},
		{"CREATE SINK k FROM", sqlerr.SyntaxError, "syntax error at end of input", 19},
		{"CREATE SINK k FROM;", sqlerr.SyntaxError, `syntax error at or near ";"`, 19},
		{"CREATE MATERIALIZED VIEW v AS SELECT 1 FROM t WHERE EMIT ON WINDOW CLOSE", sqlerr.SyntaxError, `syntax error at or near "EMIT"`, 53},
		{"CREATE TABLE t (a int, WATERMARK FOR a AS a) APPEND ONLY garbage", sqlerr.SyntaxError, `syntax error at or near "garbage"`, 58},
		{"SELECT 'abc", sqlerr.SyntaxError, `unterminated quoted string at or near "'abc"`, 8},
		{"SELECT 1; SELECT $$abc", sqlerr.SyntaxError, `unterminated dollar-quoted string at or near "$$abc"`, 18},
		{"SELECT 'é\x00'", sqlerr.CharacterNotInRepertoire, `invalid byte sequence for encoding "UTF8": 0x00`, 10},
		{"SELECT '\xff'", sqlerr.CharacterNotInRepertoire, `invalid byte sequence for encoding "UTF8": 0xff`, 9},
		{"DROP SOURCE a.b.c.d", sqlerr.SyntaxError, "improper qualified name (too many dotted names): a.b.c.d", 13},
		{"SHOW SOURCES FROM", sqlerr.SyntaxError, "syntax error at end of input", 18},
		{"SUBSCRIBE (SELECT 1", sqlerr.SyntaxError, "syntax error at end of input", 20},
		{"SUBSCRIBE (SELECT 1; SELECT 2)", sqlerr.SyntaxError, `syntax error at or near ";"`, 20},
		{"SUBSCRIBE (;)", sqlerr.SyntaxError, `syntax error at or near ";"`, 12},
		{"EXPLAIN (VERBOSE) CREATE SINK k", sqlerr.SyntaxError, "syntax error at end of input", 32},
	}
	for _, tc := range tests {
		_, err := Parse(tc.sql)
		var e *sqlerr.Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q): error %v is not *sqlerr.Error", tc.sql, err)
			continue
		}
		if e.Code != tc.code || e.Message != tc.msg || e.Position != tc.pos {
			t.Errorf("Parse(%q) = %s %q at %d, want %s %q at %d", tc.sql, e.Code, e.Message, e.Position, tc.code, tc.msg, tc.pos)
		}
	}
}

// TestLocationsAreWholeInput checks that node Locations of every kind of
// statement are byte offsets in the whole input.
func TestLocationsAreWholeInput(t *testing.T) {
	sql := "SELECT 'é'; SELECT abc FROM t; CREATE SINK k AS SELECT xyz FROM t WITH (connector='x');\n" +
		"CREATE SOURCE s (ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (connector='x');\n" +
		"CREATE TABLE u (qqq int, ts timestamp, WATERMARK FOR ts AS ts) APPEND ONLY"
	stmts := mustParse(t, sql)
	if len(stmts) != 5 {
		t.Fatalf("got %d statements", len(stmts))
	}
	colRef := func(n *pg_query.Node) int {
		return int(n.GetSelectStmt().TargetList[0].GetResTarget().Val.GetColumnRef().Location)
	}
	if got, want := colRef(stmts[1].AST), strings.Index(sql, "abc"); got != want {
		t.Errorf("ColumnRef location %d, want %d", got, want)
	}
	sink := stmts[2].Ext.(*CreateSink)
	if got, want := colRef(sink.Query), strings.Index(sql, "xyz"); got != want {
		t.Errorf("sink query location %d, want %d", got, want)
	}
	if sink.QueryPos != strings.Index(sql, "SELECT xyz") || sink.Name.Pos != strings.Index(sql, "k AS") {
		t.Errorf("sink positions %d %d", sink.QueryPos, sink.Name.Pos)
	}
	src := stmts[3].Ext.(*CreateSource)
	wm := src.Watermarks[0]
	if got, want := int(wm.Expr.GetAExpr().Location), strings.Index(sql, "- INTERVAL"); got != want {
		t.Errorf("watermark expr location %d, want %d", got, want)
	}
	if wm.ExprSQL != "ts - INTERVAL '1' SECOND" || wm.Column != "ts" {
		t.Errorf("watermark %+v", wm)
	}
	if got, want := int(src.Table.TableElts[0].GetColumnDef().Location), strings.Index(sql, "ts timestamp"); got != want {
		t.Errorf("source column location %d, want %d", got, want)
	}
	tbl := stmts[4].AST.GetCreateStmt()
	if got, want := int(tbl.TableElts[0].GetColumnDef().Location), strings.Index(sql, "qqq"); got != want {
		t.Errorf("table column location %d, want %d", got, want)
	}
	if len(tbl.TableElts) != 2 {
		t.Errorf("table has %d elements, want 2 (watermark removed)", len(tbl.TableElts))
	}
	if ext := stmts[4].Ext.(*CreateTableExt); !ext.AppendOnly || len(ext.Watermarks) != 1 {
		t.Errorf("table ext %+v", ext)
	}
	for _, st := range stmts {
		if sql[st.Pos:st.Pos+len(st.SQL)] != st.SQL || strings.HasSuffix(st.SQL, ";") {
			t.Errorf("statement text %q at %d does not match the input", st.SQL, st.Pos)
		}
	}
}

func TestCharPosition(t *testing.T) {
	sql := "SELECT 'é' x"
	if got := CharPosition(sql, strings.Index(sql, "x")); got != 12 {
		t.Errorf("CharPosition = %d, want 12", got)
	}
}

func TestSplitStatements(t *testing.T) {
	texts, offs, err := SplitStatements("SELECT 1; /* c */ FLUSH ;; CREATE SOURCE s (a int) WITH (x = 'a;b') -- end")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SELECT 1", "FLUSH", "CREATE SOURCE s (a int) WITH (x = 'a;b')"}
	if strings.Join(texts, "|") != strings.Join(want, "|") || len(offs) != 3 || offs[1] != 18 {
		t.Errorf("SplitStatements = %q %v", texts, offs)
	}
}

func TestNormalizeIdent(t *testing.T) {
	for in, want := range map[string]string{
		"Foo": "foo", `"Foo"`: "Foo", `"a""b"`: `a"b`, "ÉTÉ": "ÉtÉ",
		strings.Repeat("x", 70): strings.Repeat("x", 63),
	} {
		if got := NormalizeIdent(in); got != want {
			t.Errorf("NormalizeIdent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeparseVersion(t *testing.T) {
	res, err := pg_query.Parse("SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != pgVersion {
		t.Fatalf("pg_query grammar version %d, pgVersion %d", res.Version, pgVersion)
	}
	stmts := mustParse(t, "CREATE VIEW v AS SELECT a + 1 AS b FROM t WHERE c = 'x'")
	got, err := Deparse(stmts[0].AST)
	if err != nil || got != "CREATE VIEW v AS SELECT a + 1 AS b FROM t WHERE c = 'x'" {
		t.Errorf("Deparse = %q, %v", got, err)
	}
	stmts = mustParse(t, "CREATE SOURCE s (ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '5 seconds')")
	got, err = DeparseExpr(stmts[0].Ext.(*CreateSource).Watermarks[0].Expr)
	if err != nil || got != "ts - '5 seconds'::interval" {
		t.Errorf("DeparseExpr = %q, %v", got, err)
	}
}

// FuzzParse checks that no input panics and that every error is a
// *sqlerr.Error whose position lies within the input (or just past it).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "CREATE SOURCE s (a int, WATERMARK FOR a AS a - 1) WITH (connector='k') FORMAT PLAIN ENCODE JSON",
		"CREATE SINK k AS SELECT * FROM t WITH (x=1)", "FLUSH; SUBSCRIBE (SELECT 1)", "SHOW SOURCES",
		"EXPLAIN CREATE MATERIALIZED VIEW v AS SELECT 1 EMIT ON WINDOW CLOSE", "DROP SINK a, b",
		// Shapes that overflowed the C stack under the grammar (limits.go).
		plusChain(30000), concatChain(30000), unionChain(12000), notChain(5000),
		parens(1200), subqueries(1500), cases(1200), funcs(3000), chainOfParens(900),
		plusChain(2000), subqueries(833),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		stmts, err := Parse(sql)
		if err != nil {
			var e *sqlerr.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q): error %T %v is not *sqlerr.Error", sql, err, err)
			}
			if e.Position < 1 || e.Position > utf8.RuneCountInString(sql)+1 {
				t.Fatalf("Parse(%q): position %d out of range", sql, e.Position)
			}
			return
		}
		for _, st := range stmts {
			if st.SQL == "" || st.Pos < 0 || st.Pos+len(st.SQL) > len(sql) || sql[st.Pos:st.Pos+len(st.SQL)] != st.SQL {
				t.Fatalf("Parse(%q): statement %q at %d does not match the input", sql, st.SQL, st.Pos)
			}
			if st.AST == nil && st.Ext == nil {
				t.Fatalf("Parse(%q): empty statement %q", sql, st.SQL)
			}
		}
	})
}

// TestPrefixesAndSplices feeds every prefix of every datadriven input, and
// each input with one token dropped, to Parse: no panics, and errors
// always well-formed.
func TestPrefixesAndSplices(t *testing.T) {
	var inputs []string
	for _, f := range []string{"testdata/parse/extensions", "testdata/parse/postgres"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split(string(data), "parse\n")[1:] {
			inputs = append(inputs, strings.SplitN(block, "----\n", 2)[0])
		}
	}
	check := func(sql string) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Parse(%q) panicked: %v", sql, r)
			}
		}()
		stmts, err := Parse(sql)
		if err != nil {
			var e *sqlerr.Error
			if !errors.As(err, &e) || e.Position < 1 || e.Position > utf8.RuneCountInString(sql)+1 {
				t.Fatalf("Parse(%q): bad error %#v", sql, err)
			}
			return
		}
		for _, st := range stmts {
			if st.SQL == "" || sql[st.Pos:st.Pos+len(st.SQL)] != st.SQL {
				t.Fatalf("Parse(%q): statement %q at %d does not match the input", sql, st.SQL, st.Pos)
			}
		}
	}
	for _, in := range inputs {
		for i := range in {
			check(in[:i])
		}
		toks, err := scan(in)
		if err != nil {
			continue
		}
		for _, tk := range toks {
			check(in[:tk.start] + in[tk.end:])
		}
	}
}

// TestPsqlQueries parses the catalog queries psql sends for \d t, \df and
// \dn (captured with psql -E from PostgreSQL 15): all plain PostgreSQL.
func TestPsqlQueries(t *testing.T) {
	data, err := os.ReadFile("testdata/psql_describe.sql")
	if err != nil {
		t.Fatal(err)
	}
	stmts := mustParse(t, string(data))
	if len(stmts) != 11 {
		t.Fatalf("got %d statements, want 11", len(stmts))
	}
	for _, st := range stmts {
		if st.AST.GetSelectStmt() == nil || st.Ext != nil {
			t.Errorf("statement %q: AST %v, Ext %v", st.SQL, st.AST, st.Ext)
		}
	}
}
