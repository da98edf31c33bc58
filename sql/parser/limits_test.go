package parser

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"streamsql/sql/sqlerr"
)

// Shapes of hostile statements: n operators, n levels, n set operations.
func plusChain(n int) string   { return "SELECT 1" + strings.Repeat("+1", n) }
func concatChain(n int) string { return "SELECT 'a'" + strings.Repeat("||'a'", n) }
func castChain(n int) string   { return "SELECT 1" + strings.Repeat("::int", n) }
func notChain(n int) string    { return "SELECT " + strings.Repeat("NOT ", n) + "true" }
func unionChain(n int) string  { return "SELECT 1" + strings.Repeat(" UNION ALL SELECT 1", n) }
func joinChain(n int) string {
	return "SELECT * FROM t" + strings.Repeat(" JOIN t ON true", n)
}
func parens(n int) string { return "SELECT " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }
func funcs(n int) string  { return "SELECT " + strings.Repeat("abs(", n) + "1" + strings.Repeat(")", n) }
func subqueries(n int) string {
	return "SELECT " + strings.Repeat("(SELECT ", n) + "1" + strings.Repeat(")", n)
}
func cases(n int) string {
	return "SELECT " + strings.Repeat("CASE WHEN true THEN ", n) + "1" + strings.Repeat(" END", n)
}

// parensAroundChain nests a chain of chain operators inside n parentheses.
func parensAroundChain(n, chain int) string {
	return "SELECT " + strings.Repeat("(", n) + "1" + strings.Repeat("+1", chain) + strings.Repeat(")", n)
}

// parenthesizedChain is ((a + 1) + 1) + ...: a chain as PostgreSQL's
// deparser writes it.
func parenthesizedChain(n int) string {
	return "SELECT " + strings.Repeat("(", n-1) + "1" + strings.Repeat(" + 1)", n-1) + " + 1"
}

// chainOfParens is 1+1+(1+1+(...)): every level adds a parenthesis and
// two operators.
func chainOfParens(n int) string {
	return "SELECT " + strings.Repeat("1+1+(", n) + "1" + strings.Repeat(")", n)
}

func wantTooComplex(t *testing.T, sql string, lim Limits, detail string) {
	t.Helper()
	_, err := ParseWithLimits(sql, lim)
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != sqlerr.StatementTooComplex || e.Message != "statement too complex" {
		t.Fatalf("%.60s...: got %v, want 54001 statement too complex", sql, err)
	}
	if !strings.Contains(e.Detail, detail) || e.Hint == "" || e.Position < 1 || e.Position > len(sql)+1 {
		t.Fatalf("%.60s...: detail %q (want %q), hint %q, position %d", sql, e.Detail, detail, e.Hint, e.Position)
	}
}

// TestLimitsRefuse: every hostile shape beyond a limit is 54001 with a
// detail naming the limit, whatever its size (the sizes that crashed the
// process through the cgo parser included).
func TestLimitsRefuse(t *testing.T) {
	lim := DefaultLimits()
	for _, tc := range []struct {
		name, sql, detail string
	}{
		{"plus 24000", plusChain(24000), "chain of operators is longer than 2000"},
		{"plus 100000", plusChain(100000), "chain of operators"},
		{"concat 50000", concatChain(50000), "chain of operators"},
		{"casts", castChain(lim.MaxChain + 1), "chain of operators"},
		{"not", notChain(lim.MaxChain + 1), "chain of operators"},
		{"union 100000", unionChain(100000), "chain of UNION, INTERSECT or EXCEPT operations"},
		{"joins", joinChain(lim.MaxChain + 1), "chain of JOINs"},
		{"funcs", funcs(lim.MaxNesting + 1), "nest more than 1000 levels"},
		{"rows", "SELECT " + strings.Repeat("(", lim.MaxDepth+1) + "1" + strings.Repeat(", 1)", lim.MaxDepth+1), "levels deep"},
		{"subscripts", "SELECT (" + strings.Repeat("(", lim.MaxDepth) + "ARRAY[1]" + strings.Repeat(")[1]", lim.MaxDepth) + ")", "levels deep"},
		{"brackets", "SELECT " + strings.Repeat("ARRAY[", lim.MaxNesting+1) + "1" + strings.Repeat("]", lim.MaxNesting+1), "nest more than 1000 levels"},
		{"cases", cases(lim.MaxNesting + 1), "nest more than 1000 levels"},
		{"subqueries", subqueries(lim.MaxDepth/3 + 1), "levels deep (each operator of a chain counts as a level)"},
		{"calls around chain", "SELECT " + strings.Repeat("abs(", 900) + "1" + strings.Repeat("+1", lim.MaxDepth-899) + strings.Repeat(")", 900), "levels deep"},
		{"chain of parens", chainOfParens(lim.MaxDepth/2 + 1), "levels deep"},
		{"parenthesized left-deep chain", parenthesizedChain(lim.MaxDepth + 1), "levels deep"},
		{"second statement", "SELECT 1; " + plusChain(lim.MaxChain+1), "chain of operators"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantTooComplex(t, tc.sql, lim, tc.detail) })
	}
	small := lim
	small.MaxBytes = 100
	wantTooComplex(t, "SELECT '"+strings.Repeat("x", 100)+"'", small, "is 109 bytes long; the limit is 100 bytes")
	wantTooComplex(t, "SELECT 1"+strings.Repeat(",1", 500_000), lim, "has 1000002 tokens; the limit is 1000000")
	wantTooComplex(t, "SELECT '"+strings.Repeat("x", 5<<20)+"'", lim, "the limit is 4194304 bytes")
}

// underLimits are statements just within the default limits: they must
// parse (and deparse), also through the C code on a small thread stack.
func underLimits(lim Limits) map[string]string {
	return map[string]string{
		"plus":                plusChain(lim.MaxChain),
		"concat":              concatChain(lim.MaxChain),
		"not":                 notChain(lim.MaxChain),
		"union":               unionChain(lim.MaxChain),
		"joins":               joinChain(lim.MaxChain),
		"parens":              parens(lim.MaxNesting),
		"funcs":               funcs(lim.MaxNesting),
		"cases":               cases(min(lim.MaxNesting, lim.MaxDepth/2)),
		"subqueries":          subqueries(lim.MaxDepth / 3),
		"parens around chain": parensAroundChain(lim.MaxNesting, lim.MaxDepth-lim.MaxNesting),
		"chain of parens":     chainOfParens(lim.MaxDepth / 2),
		"5000 parens":         parens(5000),
		"deparsed chain":      parenthesizedChain(lim.MaxChain),
		"rows":                "SELECT " + strings.Repeat("(", lim.MaxNesting) + "1" + strings.Repeat(", 1)", lim.MaxNesting),
		"subscripts":          "SELECT (" + strings.Repeat("(", lim.MaxChain-1) + "ARRAY[1]" + strings.Repeat(")[1]", lim.MaxChain-1) + ")",
		"and chain":           "SELECT * FROM t WHERE " + strings.Repeat("a = 1 AND ", 20000) + "true",
		"in list":             "SELECT * FROM t WHERE a IN (" + strings.Repeat("$1, ", 5000) + "$2)",
		"case list":           "SELECT CASE a" + strings.Repeat(" WHEN 1 THEN 2", 5000) + " END",
		"values":              "INSERT INTO t VALUES " + strings.Repeat("(1, 'a', 2.5 * 3), ", 5000) + "(1, 'a', 2)",
	}
}

func TestLimitsAllow(t *testing.T) {
	lim := DefaultLimits()
	for name, sql := range underLimits(lim) {
		stmts, err := ParseWithLimits(sql, lim)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := Deparse(stmts[0].AST); err != nil {
			t.Fatalf("%s: deparse: %v", name, err)
		}
	}
}

// TestLimitsSmallStack runs TestLimitsAllow in a process whose threads get
// a 1 MiB stack (where the deparser overflowed at 1,300 operators and the
// grammar's output at 2,950): what the limits let through parses and
// deparses without overflowing the C stack (an overflow kills the child
// with SIGSEGV).
func TestLimitsSmallStack(t *testing.T) {
	if os.Getenv("STREAMSQL_LIMITS_CHILD") != "" {
		t.Skip("in the child")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command("sh", "-c", `ulimit -s 1024 && exec "$0" -test.run '^(TestLimitsAllow|TestRightNested)$' -test.count=1 -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "STREAMSQL_LIMITS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child with a 1 MiB stack: %v\n%s", err, lastLines(string(out), 20))
	}
	if !strings.Contains(string(out), "--- PASS: TestLimitsAllow") {
		t.Fatalf("child did not run the test:\n%s", lastLines(string(out), 20))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestRightNested: forms nested to the right are bounded by the grammar's
// own stack (10,000 entries) rather than measured exactly; whatever they
// give, it is an error with a SQLSTATE or a tree, never a crash, also in
// the child with a 1 MiB stack.
func TestRightNested(t *testing.T) {
	for name, sql := range map[string]string{
		"between": "SELECT 1" + strings.Repeat(" BETWEEN 0 AND 1", 4000),
		"minus":   "SELECT " + strings.Repeat("- ", 9000) + "1",
		"not":     "SELECT " + strings.Repeat("NOT ", 9000) + "true",
		"parens":  "SELECT " + strings.Repeat("(", 9000) + "1" + strings.Repeat(")", 9000),
		"rows":    "SELECT " + strings.Repeat("(1, ", 3000) + "1" + strings.Repeat(")", 3000),
	} {
		_, err := Parse(sql)
		var e *sqlerr.Error
		if err != nil && (!errors.As(err, &e) || e.Position < 1) {
			t.Errorf("%s: %#v", name, err)
		}
	}
}
